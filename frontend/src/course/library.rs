//! The course as the page loads it: `/lessons/course.txt`, then every lesson file it lists, fetched
//! at run time (not compiled in, revalidated every time), so an instructor edits a text file and
//! reloads. A missing `course.txt` (the relay's SPA fallback answers with `index.html`'s HTML) is
//! an error, not a course.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCache, RequestInit, Response};
use yew::prelude::*;

use crate::course::lesson::{Lesson, course_files, parse};

/// Where trunk copies the `lessons/` folder in the built page.
const FOLDER: &str = "/lessons/";

/// The course, loading or loaded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Library {
    Loading,
    /// The files could not be fetched: what failed.
    Failed(String),
    Loaded(Rc<Vec<Lesson>>),
}

/// Fetches one file of the lessons folder as text. Revalidated every time: lessons are edited.
async fn fetch_text(name: &str) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    let init = RequestInit::new();
    init.set_cache(RequestCache::NoCache);
    let url = format!("{FOLDER}{name}");
    let response = JsFuture::from(window.fetch_with_str_and_init(&url, &init))
        .await
        .map_err(|_| format!("{url} could not be fetched: is the relay running?"))?;
    let response: Response = response
        .dyn_into()
        .map_err(|_| format!("{url}: not a response"))?;
    if !response.ok() {
        return Err(format!("{url} answered {}", response.status()));
    }
    let text = response.text().map_err(|_| format!("{url}: no body"))?;
    let text = JsFuture::from(text)
        .await
        .map_err(|_| format!("{url}: the body could not be read"))?;
    text.as_string().ok_or_else(|| format!("{url}: not text"))
}

async fn load() -> Result<Vec<Lesson>, String> {
    let course = fetch_text("course.txt").await?;
    // The single-page fallback answers index.html for a missing file: not a course.
    if course.trim_start().starts_with('<') {
        return Err(format!("{FOLDER}course.txt is missing from the built page"));
    }
    let mut lessons = Vec::new();
    for (index, file) in course_files(&course).iter().enumerate() {
        let source = fetch_text(file).await?;
        lessons.push(parse(index + 1, file, &source));
    }
    Ok(lessons)
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
