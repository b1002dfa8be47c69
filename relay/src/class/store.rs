//! The class's record, in SQLite (a file beside the relay, `--class-db`): who joined, and what
//! each learner did that the teacher's board shows: a lesson opened, an exercise passed (with
//! the page's evidence), a call the kernel or the policy refused while in a lesson. Kept across
//! restarts of the relay; a learner who joins again by the same name (case aside) goes on where
//! they were.
//!
//! Synchronous (rusqlite, `sqlite.rs`): the relay calls it on tokio's blocking threads. One
//! connection behind a mutex; WAL journal, so a crash loses at most the last write.
//!
//! Linux only: a class's relay gives each learner a network namespace of their own, and SQLite
//! is C, which the macOS and Windows checks here could not compile. Elsewhere (`elsewhere.rs`)
//! opening the store fails with that reason, and no `Store` can exist.

#[cfg(not(target_os = "linux"))]
mod elsewhere;
#[cfg(target_os = "linux")]
mod sqlite;

#[cfg(not(target_os = "linux"))]
pub(crate) use elsewhere::{Error, Store};
#[cfg(target_os = "linux")]
pub(crate) use sqlite::Store;

/// Why the store failed: SQLite's error.
#[cfg(target_os = "linux")]
pub(crate) type Error = rusqlite::Error;

/// The store's results.
pub(crate) type Result<T> = std::result::Result<T, Error>;

/// One learner, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Learner {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) joined_ms: i64,
}

/// What a learner did, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Happening {
    /// Opened a lesson page.
    Lesson { slug: String },
    /// Passed an exercise; the page's evidence.
    Passed { exercise: String, evidence: String },
    /// A call the kernel answered with an errno, or the policy refused.
    Failed { lesson: Option<String> },
}

/// One stored event: who, when (Unix ms), what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) learner: i64,
    pub(crate) at_ms: i64,
    pub(crate) what: Happening,
}
