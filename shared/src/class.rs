//! The teacher's board of a class (`--class`): one row a learner, as the relay computes it from
//! its record and sends to the teacher's page (`GET /teacher/board.json`), and as the CSV
//! export lists it. And the class code as both sides read and show it ([`normal_code`],
//! [`shown_code`]).

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

/// The longest class code accepted, typed or chosen (without spaces and dashes).
pub const MAX_CODE_CHARS: usize = 32;

/// A class code as a learner typed it, in its normal form: spaces, tabs and dashes dropped, in
/// capitals; `None` if anything but ASCII letters and digits is left, or nothing, or more than
/// [`MAX_CODE_CHARS`].
pub fn normal_code(typed: &str) -> Option<String> {
    let mut code = String::with_capacity(typed.len());
    for c in typed.chars() {
        match c {
            ' ' | '-' | '\t' => {}
            c if c.is_ascii_alphanumeric() => code.push(c.to_ascii_uppercase()),
            _ => return None,
        }
    }
    (!code.is_empty() && code.len() <= MAX_CODE_CHARS).then_some(code)
}

/// A class code (normal form) as it is written on the board: groups of four joined by `-`.
pub fn shown_code(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(String::from_utf8_lossy)
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod code_tests {
    use super::*;

    #[test]
    fn a_class_code_is_read_as_a_learner_types_it() {
        assert_eq!(normal_code("k7qm-2xrp").as_deref(), Some("K7QM2XRP"));
        assert_eq!(normal_code(" K7QM 2XRP ").as_deref(), Some("K7QM2XRP"));
        assert_eq!(normal_code(""), None);
        assert_eq!(normal_code(" - "), None);
        assert_eq!(normal_code("K7QM,2XRP"), None, "no header tricks");
        assert_eq!(normal_code("K7QM.2XRP"), None);
        assert_eq!(normal_code("K\u{d6}QM2XRP"), None);
        assert_eq!(normal_code(&"A".repeat(33)), None);
        assert_eq!(shown_code("K7QM2XRP"), "K7QM-2XRP");
        assert_eq!(shown_code("NETLAB2026X"), "NETL-AB20-26X");
    }
}
