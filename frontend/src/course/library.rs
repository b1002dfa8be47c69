//! The course as the page loads it: `GET /course.json` from the relay, which reads `course.txt`
//! and every lesson file it lists from its page folder and renders them at that moment
//! (`socketlab_shared::lesson::render`): not compiled in, revalidated every time, so an
//! instructor edits a text file and reloads. A page that `trunk serve` serves asks the relay named
//! after `&relay=` (which answers pages of its `--allow-origin` origins).

use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCache, RequestInit, Response};
use yew::prelude::*;

use crate::course::lesson::{Course, Lesson};
use crate::link::page_address::relay_from_fragment;

/// The course, loading or loaded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Library {
    Loading,
    /// The course could not be fetched: what failed.
    Failed(String),
    Loaded(Rc<Vec<Lesson>>),
}

/// Where the course comes from: this page's own server (the relay), or the relay the fragment
/// names for a page someone else serves.
fn course_url() -> String {
    let fragment = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    match relay_from_fragment(&fragment) {
        Some(relay) => format!("http://{relay}/course.json"),
        None => "/course.json".to_owned(),
    }
}

async fn text_of(response: Response, url: &str) -> Result<String, String> {
    let text = response.text().map_err(|_| format!("{url}: no body"))?;
    let text = JsFuture::from(text)
        .await
        .map_err(|_| format!("{url}: the body could not be read"))?;
    text.as_string().ok_or_else(|| format!("{url}: not text"))
}

async fn load() -> Result<Vec<Lesson>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let init = RequestInit::new();
    // Revalidated every time: lessons are edited.
    init.set_cache(RequestCache::NoCache);
    let url = course_url();
    let response = JsFuture::from(window.fetch_with_str_and_init(&url, &init))
        .await
        .map_err(|_| format!("{url} could not be fetched: is the relay running?"))?;
    let response: Response = response
        .dyn_into()
        .map_err(|_| format!("{url}: not a response"))?;
    let ok = response.ok();
    let status = response.status();
    let body = text_of(response, &url).await?;
    if !ok {
        // The relay says what is missing (course.txt, a lesson it lists) in the body.
        return Err(format!("{url} answered {status}: {}", body.trim()));
    }
    serde_json::from_str::<Course>(&body)
        .map(|course| course.lessons)
        .map_err(|e| format!("{url}: not a course ({e})"))
}

/// The course, fetched once when the component using it first renders.
#[hook]
pub(crate) fn use_library() -> Library {
    let library = use_state(|| Library::Loading);
    {
        let library = library.clone();
        use_effect_with((), move |_| {
            yew::platform::spawn_local(async move {
                library.set(match load().await {
                    Ok(lessons) => Library::Loaded(Rc::new(lessons)),
                    Err(error) => Library::Failed(error),
                });
            });
        });
    }
    (*library).clone()
}
