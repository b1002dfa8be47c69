//! The teacher's page (`/teacher#teacher=KEY`, class mode): the class's board from the relay
//! (`GET /teacher/board.json` with the teacher's key, read every half second, so what a learner
//! does shows within a second), one row a learner: online or not, the lesson they are on, the
//! exercises they finished, their last progress, and why they look stuck; a **Reset** for each
//! (their sessions end and start again), and the CSV export. It opens no relay session: the
//! teacher's key reads the board and nothing else.

use socketlab_shared::class::{Board, BoardRow};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestCache, RequestInit, Response};
use yew::prelude::*;

use crate::ui::download::data_url;

/// How often the board is read again.
const POLL_MS: u32 = 500;

/// The teacher's key from the page's fragment (`#teacher=KEY`).
pub(crate) fn key_from_fragment(fragment: &str) -> Option<String> {
    fragment
        .trim_start_matches('#')
        .split('&')
        .find_map(|part| part.strip_prefix("teacher="))
        .filter(|key| !key.is_empty())
        .map(str::to_owned)
}

/// A request to the relay with the teacher's key; the response's text, or what failed.
async fn ask(method: &str, path: &str, key: &str) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    let headers = Headers::new().map_err(|_| "no headers")?;
    headers
        .set("Authorization", &format!("Bearer {key}"))
        .map_err(|_| "the key cannot be sent")?;
    let init = RequestInit::new();
    init.set_method(method);
    init.set_headers(&headers);
    init.set_cache(RequestCache::NoStore);
    let response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(|_| format!("{path} could not be fetched: is the relay running?"))?;
    let response: Response = response.dyn_into().map_err(|_| "not a response")?;
    let (ok, status) = (response.ok(), response.status());
    let text = JsFuture::from(response.text().map_err(|_| "no body")?)
        .await
        .ok()
        .and_then(|t| t.as_string())
        .unwrap_or_default();
    if ok {
        Ok(text)
    } else {
        Err(format!("{path} answered {status}: {}", text.trim()))
    }
}

/// What the page holds: the board and its CSV, or why they could not be read.
#[derive(Debug, Clone, PartialEq, Default)]
struct Read {
    board: Option<Board>,
    csv: String,
    failed: Option<String>,
}

/// "now", "3 min ago", "2 h ago".
fn ago(now_ms: f64, then_ms: i64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let minutes = ((now_ms as i64).saturating_sub(then_ms) / 60_000).max(0);
    match minutes {
        0 => "just now".into(),
        m if m < 120 => format!("{m} min ago"),
        m => format!("{} h ago", m / 60),
    }
}

fn now_ms() -> f64 {
    if cfg!(target_arch = "wasm32") {
        js_sys::Date::now()
    } else {
        0.0
    }
}

#[derive(Properties, PartialEq)]
pub(crate) struct TeacherPageProps {
    pub(crate) fragment: String,
}

#[component]
pub(crate) fn TeacherPage(props: &TeacherPageProps) -> Html {
    let key = key_from_fragment(&props.fragment);
    let read = use_state(Read::default);
    {
        let read = read.clone();
        let key = key.clone();
        use_effect_with(key, move |key| {
            let poll = key.clone().map(|key| {
                let tick = move || {
                    let (read, key) = (read.clone(), key.clone());
                    wasm_bindgen_futures::spawn_local(async move {
                        let board = ask("GET", "/teacher/board.json", &key).await;
                        let csv = ask("GET", "/teacher/class.csv", &key).await;
                        read.set(match (board, csv) {
                            (Ok(board), Ok(csv)) => match serde_json::from_str(&board) {
                                Ok(board) => Read {
                                    board: Some(board),
                                    csv,
                                    failed: None,
                                },
                                Err(err) => Read {
                                    failed: Some(format!("the board did not decode: {err}")),
                                    ..Read::default()
                                },
                            },
                            (Err(failed), _) | (_, Err(failed)) => Read {
                                failed: Some(failed),
                                ..Read::default()
                            },
                        });
                    });
                };
                tick();
                gloo_timers::callback::Interval::new(POLL_MS, tick)
            });
            move || drop(poll)
        });
    }
    let Some(key) = key else {
        return html! {
            <main class="teacher" data-testid="teacher">
                <h1>{ "The class" }</h1>
                <p class="verdict open">{ "This page needs the teacher's key: open the teacher's URL the relay printed (…/teacher#teacher=KEY)." }</p>
            </main>
        };
    };
    let now = now_ms();
    let rows = read.board.iter().flat_map(|b| b.learners.iter()).map(|row: &BoardRow| {
        let onclick = {
            let key = key.clone();
            let id = row.id;
            Callback::from(move |_| {
                let key = key.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = ask("POST", &format!("/teacher/reset/{id}"), &key).await;
                });
            })
        };
        html! {
            <tr data-learner={row.name.clone()} data-online={row.online.to_string()}
                data-done={row.done.join(" ")} class={classes!(row.stuck.is_some().then_some("stuck"))}>
                <td>{ &row.name }</td>
                <td>{ if row.online { "online" } else { "away" } }</td>
                <td>{ row.lesson.clone().unwrap_or_else(|| "—".into()) }</td>
                <td>{ format!("{}: {}", row.done.len(), row.done.join(", ")) }</td>
                <td>{ ago(now, row.last_progress_ms) }</td>
                <td class="stuck-why">{ row.stuck.clone().unwrap_or_default() }</td>
                <td>
                    <button type="button" data-testid="reset" disabled={!row.online} onclick={onclick}
                        title="End this learner's sessions: their sockets close and their page starts a new session">{ "Reset" }</button>
                </td>
            </tr>
        }
    });
    let count = read.board.as_ref().map_or(0, |b| b.learners.len());
    html! {
        <main class="teacher" data-testid="teacher">
            <h1>{ "The class" }</h1>
            <p class="caption">
                { format!("{count} learners. Read from the relay every half second: the lesson each is on, the exercises they finished, and who looks stuck (no progress for a while, or refused calls piling up in one lesson). What a learner's page reports is its own word: a classroom board, not an exam.") }
            </p>
            if let Some(failed) = &read.failed {
                <p class="verdict open" data-testid="teacher-failed">{ failed }</p>
            }
            <p>
                <a class="code-download" data-testid="teacher-csv" href={data_url(&read.csv)}
                    download="socketlab-class.csv">{ "Download the class as CSV" }</a>
            </p>
            <table class="sockets teacher-board" data-testid="teacher-board">
                <thead>
                    <tr><th>{ "Learner" }</th><th>{ "Now" }</th><th>{ "Lesson" }</th><th>{ "Exercises done" }</th><th>{ "Last progress" }</th><th>{ "Stuck?" }</th><th></th></tr>
                </thead>
                <tbody>
                    if count == 0 {
                        <tr><td colspan="7" class="empty">{ "No learner has joined yet." }</td></tr>
                    }
                    { for rows }
                </tbody>
            </table>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_comes_from_the_fragment_only() {
        assert_eq!(key_from_fragment("#teacher=abc").as_deref(), Some("abc"));
        assert_eq!(
            key_from_fragment("#token=t&teacher=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(key_from_fragment("#teacher="), None);
        assert_eq!(key_from_fragment("#token=abc"), None);
    }

    #[test]
    fn progress_reads_as_time_ago() {
        assert_eq!(ago(120_000.0, 100_000), "just now");
        assert_eq!(ago(600_000.0, 0), "10 min ago");
        assert_eq!(ago(3.0 * 3_600_000.0, 0), "3 h ago");
    }
}
