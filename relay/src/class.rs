//! Class mode (`--class`, issue 14): the relay keeps each learner's progress for the teacher.
//! A learner's session joins with a name (`join`); the page then says which lesson is open
//! (`lesson`) and which exercise passed (`passed`), and the relay itself counts the calls the
//! kernel or the policy refused meanwhile ([`Attendance`], told of every reply by the session's
//! outbox). All of it goes to an SQLite file beside the relay ([`store`]), so it survives a
//! restart; the teacher reads the board computed from it ([`board`]) as JSON or CSV with the
//! teacher's own key, printed at start (`/teacher/...`, [`teacher_routes`]).
//!
//! What a learner's page says of itself (a lesson opened, an exercise passed) is the page's
//! word: a classroom board, not an exam. The refused calls are the relay's own count.

pub(crate) mod board;
pub(crate) mod store;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use socketlab_shared::Outcome;
use tokio_util::sync::CancellationToken;

use crate::access::{ClassCode, Token};
use store::{Happening, Store};

/// The class flags of `socketlab-relay`.
#[derive(Debug, Clone, clap::Args)]
pub struct ClassArgs {
    /// Keep each learner's progress for the teacher: learners join with a name, the teacher's
    /// page (its own key, printed at start) shows who is on which lesson, what is done and who
    /// looks stuck.
    #[arg(long, default_value_t = false)]
    pub class: bool,
    /// The SQLite file the class's progress is kept in (made if missing; kept across restarts).
    #[arg(long, value_name = "PATH", default_value = "socketlab-class.sqlite")]
    pub class_db: PathBuf,
    /// A learner online with no progress for this many minutes looks stuck.
    #[arg(long, value_name = "MINUTES", default_value_t = 10)]
    pub stuck_after_mins: u64,
    /// A learner with this many refused calls in one lesson since their last progress looks
    /// stuck.
    #[arg(long, value_name = "CALLS", default_value_t = 3)]
    pub stuck_failures: u32,
    /// The class code learners type to get a session (letters and digits, at least 8; case,
    /// spaces and dashes do not matter). Without it, the code kept in the class's store, or a
    /// new one made and kept at the first start.
    #[arg(long, value_name = "CODE", value_parser = ClassCode::parse)]
    pub class_code: Option<ClassCode>,
}

/// Class mode's settings; off by default.
#[derive(Debug, Clone)]
pub struct ClassConfig {
    pub db: PathBuf,
    pub stuck_after: Duration,
    pub stuck_failures: u32,
    /// The teacher's key: it reads the board and nothing else.
    pub teacher: Token,
    /// The class code: it opens a learner's session and nothing else. Kept in the store when
    /// the class opens.
    pub code: ClassCode,
}

/// Why class mode could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ClassError {
    #[error("cannot make the teacher's key or the class code: {0}")]
    Random(#[source] std::io::Error),
    #[error("cannot open the class's store {path}: {source}")]
    Store {
        path: PathBuf,
        #[source]
        source: store::Error,
    },
}

impl ClassArgs {
    /// Class mode's settings with a fresh teacher key and the class code (`--class-code`, else
    /// the one kept in the store, else a new one), or `None` without `--class`.
    pub fn into_config(self) -> Result<Option<ClassConfig>, ClassError> {
        if !self.class {
            return Ok(None);
        }
        let store_error = |source| ClassError::Store {
            path: self.class_db.clone(),
            source,
        };
        // Kept before anything is printed, so the code learners are given is the one the next
        // start finds.
        let store = Store::open(&self.class_db).map_err(store_error)?;
        let kept = store
            .class_code()
            .map_err(store_error)?
            .and_then(|kept| ClassCode::parse(&kept).ok());
        let code = match (self.class_code, kept) {
            (Some(chosen), _) => chosen,
            (None, Some(kept)) => kept,
            (None, None) => ClassCode::random().map_err(ClassError::Random)?,
        };
        store.keep_class_code(code.as_str()).map_err(store_error)?;
        Ok(Some(ClassConfig {
            stuck_after: Duration::from_secs(self.stuck_after_mins.saturating_mul(60)),
            stuck_failures: self.stuck_failures,
            teacher: Token::random().map_err(ClassError::Random)?,
            code,
            db: self.class_db,
        }))
    }
}

impl ClassConfig {
    /// The teacher's page for a relay at `page` (its `http://HOST:PORT/`), with the key in the
    /// fragment (never sent to a server).
    pub fn teacher_url(&self, page: &str) -> String {
        format!("{page}teacher#teacher={}", self.teacher.as_str())
    }

    /// The page learners open for a relay at `page`, with the class code in the fragment
    /// (they may also open `page` and type the code).
    pub fn learner_url(&self, page: &str) -> String {
        format!("{page}#class={}", self.code)
    }

    /// How the teacher reads the class from a relay at `page` without a browser: the CSV
    /// export with the teacher's key.
    pub fn teacher_command(&self, page: &str) -> String {
        format!(
            "curl -H 'Authorization: Bearer {}' {page}teacher/class.csv",
            self.teacher.as_str()
        )
    }
}

/// The longest name a learner may give.
const MAX_NAME_CHARS: usize = 40;

/// A learner's name as given, trimmed, or why it cannot be one.
pub(crate) fn valid_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("a name is needed to join the class".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("a name has at most {MAX_NAME_CHARS} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("a name cannot hold control characters".into());
    }
    Ok(name.to_owned())
}

/// The running class: its store, its rules, and who is online.
#[derive(Debug)]
pub(crate) struct Class {
    store: Store,
    rules: board::Rules,
    teacher: Token,
    /// Each learner's open sessions: (the attendance's serial number, the token that resets
    /// it).
    online: Mutex<BTreeMap<i64, Vec<(u64, CancellationToken)>>>,
    /// The next attendance's serial number.
    serial: std::sync::atomic::AtomicU64,
}

/// Unix time in ms, now.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Class {
    /// Opens the class's store and keeps `config.code` in it (as [`ClassArgs::into_config`]
    /// did, for a config made another way), so the next start has the same code.
    pub(crate) fn open(config: &ClassConfig) -> store::Result<Class> {
        let store = Store::open(&config.db)?;
        store.keep_class_code(config.code.as_str())?;
        Ok(Class {
            store,
            rules: board::Rules {
                idle_after_ms: i64::try_from(config.stuck_after.as_millis()).unwrap_or(i64::MAX),
                failures: config.stuck_failures,
            },
            teacher: config.teacher.clone(),
            online: Mutex::default(),
            serial: std::sync::atomic::AtomicU64::new(0),
        })
    }

    fn online(&self) -> std::sync::MutexGuard<'_, BTreeMap<i64, Vec<(u64, CancellationToken)>>> {
        self.online
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The board now.
    pub(crate) fn board(&self) -> store::Result<socketlab_shared::class::Board> {
        let (learners, events) = self.store.everything()?;
        let online = self.online().keys().copied().collect();
        Ok(board::board(
            &learners,
            &events,
            &online,
            now_ms(),
            self.rules,
        ))
    }

    /// Learner `name` joins (the same learner as before for the same name); their
    /// attendance, which counts them online until it is dropped. The teacher's reset of this
    /// learner cancels `reset`.
    pub(crate) fn join(
        self: &Arc<Self>,
        name: &str,
        reset: CancellationToken,
    ) -> store::Result<Attendance> {
        let learner = self.store.join(name, now_ms())?;
        let serial = self
            .serial
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.online()
            .entry(learner.id)
            .or_default()
            .push((serial, reset));
        Ok(Attendance {
            class: self.clone(),
            learner: learner.id,
            serial,
            name: learner.name,
            lesson: Mutex::default(),
        })
    }

    /// The teacher resets learner `id`: every open session of theirs ends (the page starts a
    /// new one and joins again). How many there were.
    pub(crate) fn reset(&self, id: i64) -> usize {
        let online = self.online();
        let sessions = online.get(&id).map_or(&[][..], Vec::as_slice);
        for (_, reset) in sessions {
            reset.cancel();
        }
        sessions.len()
    }
}

/// A learner's session in the class: who, and the lesson open now. Told of every reply
/// (`outbox::ReplyWatcher`), it records the refused ones.
#[derive(Debug)]
pub(crate) struct Attendance {
    class: Arc<Class>,
    learner: i64,
    serial: u64,
    pub(crate) name: String,
    lesson: Mutex<Option<String>>,
}

impl Attendance {
    fn lesson(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.lesson
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records what the learner's page said (a lesson opened, an exercise passed). Blocking
    /// (one SQLite insert): call it off the runtime's threads.
    pub(crate) fn record(&self, what: &Happening) -> store::Result<()> {
        if let Happening::Lesson { slug } = what {
            *self.lesson() = Some(slug.clone());
        }
        self.class.store.record(self.learner, now_ms(), what)
    }
}

impl Drop for Attendance {
    fn drop(&mut self) {
        let mut online = self.class.online();
        if let Some(sessions) = online.get_mut(&self.learner) {
            sessions.retain(|(serial, _)| *serial != self.serial);
            if sessions.is_empty() {
                online.remove(&self.learner);
            }
        }
    }
}

impl crate::outbox::ReplyWatcher for Attendance {
    fn replied(&self, outcome: &Outcome) {
        if !matches!(outcome, Outcome::Error(_) | Outcome::Refused { .. }) {
            return;
        }
        let what = Happening::Failed {
            lesson: self.lesson().clone(),
        };
        let (class, learner) = (self.class.clone(), self.learner);
        // One insert, off the runtime's threads; a failed write is logged, the call's reply
        // goes out regardless.
        tokio::task::spawn_blocking(move || {
            if let Err(err) = class.store.record(learner, now_ms(), &what) {
                tracing::warn!(%err, "cannot record a refused call in the class's store");
            }
        });
    }
}

/// The teacher's routes, each behind the teacher's key (`Authorization: Bearer KEY`):
/// `GET /teacher/board.json`, `GET /teacher/class.csv` and `POST /teacher/reset/{id}`.
pub(crate) fn teacher_routes(class: Arc<Class>) -> axum::Router {
    axum::Router::new()
        .route("/teacher/board.json", axum::routing::get(board_json))
        .route("/teacher/class.csv", axum::routing::get(class_csv))
        .route("/teacher/reset/{id}", axum::routing::post(reset))
        .with_state(class)
}

async fn reset(
    State(class): State<Arc<Class>>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = refused(&class, &headers) {
        return refusal;
    }
    let sessions = class.reset(id);
    tracing::info!(
        learner = id,
        sessions,
        "the teacher reset a learner's sessions"
    );
    axum::Json(serde_json::json!({ "reset": sessions })).into_response()
}

/// The refusal of a request without the teacher's key (401 without a key, 403 with a wrong
/// one, compared in constant time); `None` when it holds it.
fn refused(class: &Class, headers: &HeaderMap) -> Option<Response> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match presented {
        None => Some(
            (
                StatusCode::UNAUTHORIZED,
                "The teacher's key is needed: open the teacher URL the relay printed.\n",
            )
                .into_response(),
        ),
        Some(key) if class.teacher.matches(key.as_bytes()) => None,
        Some(_) => Some(
            (
                StatusCode::FORBIDDEN,
                "Wrong teacher key: the relay makes a new one every time it starts.\n",
            )
                .into_response(),
        ),
    }
}

async fn board_json(State(class): State<Arc<Class>>, headers: HeaderMap) -> Response {
    if let Some(refusal) = refused(&class, &headers) {
        return refusal;
    }
    match tokio::task::spawn_blocking(move || class.board()).await {
        Ok(Ok(board)) => ([(header::CACHE_CONTROL, "no-store")], axum::Json(board)).into_response(),
        other => store_failed(&other),
    }
}

async fn class_csv(State(class): State<Arc<Class>>, headers: HeaderMap) -> Response {
    if let Some(refusal) = refused(&class, &headers) {
        return refusal;
    }
    match tokio::task::spawn_blocking(move || class.board()).await {
        Ok(Ok(board)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"socketlab-class.csv\"",
                ),
            ],
            board::csv(&board),
        )
            .into_response(),
        other => store_failed(&other),
    }
}

fn store_failed<T>(result: &Result<store::Result<T>, tokio::task::JoinError>) -> Response {
    let reason = match result {
        Ok(Err(err)) => err.to_string(),
        Err(err) => err.to_string(),
        Ok(Ok(_)) => String::new(),
    };
    tracing::error!(%reason, "cannot read the class's store");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("The relay cannot read the class's store: {reason}\n"),
    )
        .into_response()
}
