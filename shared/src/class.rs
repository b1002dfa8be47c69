//! The teacher's board of a class (`--class`): one row a learner, as the relay computes it from
//! its record and sends to the teacher's page (`GET /teacher/board.json`), and as the CSV
//! export lists it.

use serde::{Deserialize, Serialize};

/// Every learner of the class, in the order they joined.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Board {
    pub learners: Vec<BoardRow>,
}

/// One learner on the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardRow {
    /// The relay's number for the learner (for a reset).
    pub id: i64,
    pub name: String,
    /// Whether a session of theirs is open now.
    pub online: bool,
    /// The lesson they last opened (its slug), if any.
    pub lesson: Option<String>,
    /// The exercises they passed, in the order they first passed them.
    pub done: Vec<String>,
    /// When they last made progress (joined, opened a lesson, passed an exercise), Unix ms.
    pub last_progress_ms: i64,
    /// Calls the kernel or the policy refused in their current lesson since they opened it or
    /// last passed an exercise.
    pub failures: u32,
    /// Why they look stuck, in a sentence for the teacher; `None` if they do not.
    pub stuck: Option<String>,
}
