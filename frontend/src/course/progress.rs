//! The learner's progress: which exercises the kernel has seen done, with the evidence, kept in the
//! browser's localStorage under `socketlab.progress.v1` so it survives reloads and renaming a
//! lesson (it is keyed by exercise id). The JSON is `{"done":{"EXERCISE_ID":"evidence"}}`; anything
//! unreadable counts as no progress; natively (tests) nothing is stored. Nothing about it reaches
//! the relay.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The localStorage key (versioned: a new format gets a new key, the old one is ignored).
pub(crate) const STORAGE_KEY: &str = "socketlab.progress.v1";

/// Exercises done, each with what the kernel did that passed it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Progress {
    #[serde(default)]
    pub(crate) done: BTreeMap<String, String>,
}

impl Progress {
    /// Reads the stored JSON; a missing or damaged value is an empty progress.
    pub(crate) fn from_json(json: Option<&str>) -> Progress {
        json.and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or_default()
    }

    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    pub(crate) fn is_done(&self, exercise: &str) -> bool {
        self.done.contains_key(exercise)
    }

    /// Marks `exercise` done; returns whether that is news (so the caller saves only then).
    pub(crate) fn mark(&mut self, exercise: &str, evidence: &str) -> bool {
        if self.is_done(exercise) {
            return false;
        }
        self.done.insert(exercise.to_owned(), evidence.to_owned());
        true
    }

    /// A lesson is done when it has exercises and every one is done.
    pub(crate) fn lesson_done(&self, exercises: &[String]) -> bool {
        !exercises.is_empty() && exercises.iter().all(|e| self.is_done(e))
    }
}

use crate::ui::storage::local as storage;

/// The progress in this browser (empty where there is no localStorage, e.g. natively).
pub(crate) fn load() -> Progress {
    let json = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
    Progress::from_json(json.as_deref())
}

/// Records `exercise` as done in this browser. A storage that refuses (private mode, full)
/// only loses the record; the page goes on.
pub(crate) fn record(exercise: &str, evidence: &str) {
    let mut progress = load();
    if progress.mark(exercise, evidence)
        && let Some(storage) = storage()
    {
        let _ = storage.set_item(STORAGE_KEY, &progress.to_json());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_round_trips_through_json() {
        let mut progress = Progress::default();
        assert!(progress.mark("bind-port-zero", "bound to 127.0.0.1:40000"));
        assert!(
            !progress.mark("bind-port-zero", "again"),
            "first evidence is kept"
        );
        let back = Progress::from_json(Some(&progress.to_json()));
        assert_eq!(back, progress);
        assert_eq!(back.done["bind-port-zero"], "bound to 127.0.0.1:40000");
    }

    #[test]
    fn damaged_or_missing_progress_is_empty() {
        assert_eq!(Progress::from_json(None), Progress::default());
        assert_eq!(Progress::from_json(Some("not json")), Progress::default());
        assert_eq!(Progress::from_json(Some("[1]")), Progress::default());
    }

    #[test]
    fn a_lesson_is_done_when_all_its_exercises_are() {
        let mut progress = Progress::default();
        let exercises = vec!["a".to_owned(), "b".to_owned()];
        assert!(!progress.lesson_done(&exercises));
        progress.mark("a", "x");
        assert!(!progress.lesson_done(&exercises));
        progress.mark("b", "y");
        assert!(progress.lesson_done(&exercises));
        assert!(
            !progress.lesson_done(&[]),
            "a lesson without exercise is never 'done'"
        );
    }
}
