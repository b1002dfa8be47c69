//! The store in SQLite (see `store.rs`).

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, params};

use super::{Event, Happening, Learner};

/// The store.
#[derive(Debug)]
pub(crate) struct Store {
    connection: Mutex<Connection>,
}

impl Store {
    /// Opens (or creates) the database at `path`.
    pub(crate) fn open(path: &Path) -> super::Result<Store> {
        Store::with(Connection::open(path)?)
    }

    /// A store in memory, for tests.
    #[cfg(test)]
    pub(crate) fn in_memory() -> super::Result<Store> {
        Store::with(Connection::open_in_memory()?)
    }

    fn with(connection: Connection) -> super::Result<Store> {
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS learners (
                 id INTEGER PRIMARY KEY,
                 name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                 joined_ms INTEGER NOT NULL
             );
             CREATE TABLE IF NOT EXISTS events (
                 learner INTEGER NOT NULL REFERENCES learners(id),
                 at_ms INTEGER NOT NULL,
                 kind TEXT NOT NULL,
                 lesson TEXT,
                 exercise TEXT,
                 evidence TEXT
             );
             CREATE INDEX IF NOT EXISTS events_by_learner ON events (learner, at_ms);
             CREATE TABLE IF NOT EXISTS settings (
                 name TEXT PRIMARY KEY,
                 value TEXT NOT NULL
             );",
        )?;
        Ok(Store {
            connection: Mutex::new(connection),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The class code kept from an earlier start, if any.
    pub(crate) fn class_code(&self) -> super::Result<Option<String>> {
        use rusqlite::OptionalExtension as _;
        self.lock()
            .query_row(
                "SELECT value FROM settings WHERE name = 'class_code'",
                [],
                |row| row.get(0),
            )
            .optional()
    }

    /// Keeps `code` as the class code, for the next start.
    pub(crate) fn keep_class_code(&self, code: &str) -> super::Result<()> {
        self.lock().execute(
            "INSERT INTO settings (name, value) VALUES ('class_code', ?1)
             ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            params![code],
        )?;
        Ok(())
    }

    /// The learner called `name` (the same learner for the same name, case aside), joined at
    /// `now_ms` if new.
    pub(crate) fn join(&self, name: &str, now_ms: i64) -> super::Result<Learner> {
        let connection = self.lock();
        connection.execute(
            "INSERT INTO learners (name, joined_ms) VALUES (?1, ?2) ON CONFLICT(name) DO NOTHING",
            params![name, now_ms],
        )?;
        connection.query_row(
            "SELECT id, name, joined_ms FROM learners WHERE name = ?1",
            params![name],
            |row| {
                Ok(Learner {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    joined_ms: row.get(2)?,
                })
            },
        )
    }

    /// Records what learner `learner` did at `at_ms`.
    pub(crate) fn record(&self, learner: i64, at_ms: i64, what: &Happening) -> super::Result<()> {
        let (kind, lesson, exercise, evidence) = match what {
            Happening::Lesson { slug } => ("lesson", Some(slug.as_str()), None, None),
            Happening::Passed { exercise, evidence } => (
                "passed",
                None,
                Some(exercise.as_str()),
                Some(evidence.as_str()),
            ),
            Happening::Failed { lesson } => ("failed", lesson.as_deref(), None, None),
        };
        self.lock().execute(
            "INSERT INTO events (learner, at_ms, kind, lesson, exercise, evidence)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![learner, at_ms, kind, lesson, exercise, evidence],
        )?;
        Ok(())
    }

    /// Every learner, by when they joined, and every event, in order.
    pub(crate) fn everything(&self) -> super::Result<(Vec<Learner>, Vec<Event>)> {
        let connection = self.lock();
        let learners = connection
            .prepare("SELECT id, name, joined_ms FROM learners ORDER BY joined_ms, id")?
            .query_map([], |row| {
                Ok(Learner {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    joined_ms: row.get(2)?,
                })
            })?
            .collect::<super::Result<Vec<_>>>()?;
        let events = connection
            .prepare(
                "SELECT learner, at_ms, kind, lesson, exercise, evidence FROM events
                 ORDER BY at_ms, rowid",
            )?
            .query_map([], |row| {
                let kind: String = row.get(2)?;
                let lesson: Option<String> = row.get(3)?;
                let what = match kind.as_str() {
                    "lesson" => Happening::Lesson {
                        slug: lesson.unwrap_or_default(),
                    },
                    "passed" => Happening::Passed {
                        exercise: row.get::<_, Option<String>>(4)?.unwrap_or_default(),
                        evidence: row.get::<_, Option<String>>(5)?.unwrap_or_default(),
                    },
                    _ => Happening::Failed { lesson },
                };
                Ok(Event {
                    learner: row.get(0)?,
                    at_ms: row.get(1)?,
                    what,
                })
            })?
            .collect::<super::Result<Vec<_>>>()?;
        Ok((learners, events))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_learner_who_joins_again_by_the_same_name_is_the_same_learner() {
        let store = Store::in_memory().expect("a store");
        let ada = store.join("Ada", 1_000).expect("join");
        let again = store.join("ada", 5_000).expect("join again");
        assert_eq!(again, ada, "the name, case aside, is the learner");
        let grace = store.join("Grace", 2_000).expect("join");
        assert_ne!(grace.id, ada.id);
        let (learners, _) = store.everything().expect("read");
        assert_eq!(learners, [ada, grace], "in the order they joined");
    }

    #[test]
    fn events_come_back_in_order_with_what_they_said() {
        let store = Store::in_memory().expect("a store");
        let ada = store.join("Ada", 0).expect("join").id;
        let what = [
            Happening::Lesson {
                slug: "server-life".into(),
            },
            Happening::Failed {
                lesson: Some("server-life".into()),
            },
            Happening::Passed {
                exercise: "accept-two-clients".into(),
                evidence: "s1 accepted s2 and s3".into(),
            },
        ];
        for (at, happening) in what.iter().enumerate() {
            store
                .record(ada, i64::try_from(at).expect("small"), happening)
                .expect("record");
        }
        let (learners, events) = store.everything().expect("read");
        assert_eq!(learners.len(), 1);
        let read: Vec<Happening> = events.into_iter().map(|e| e.what).collect();
        assert_eq!(read, what);
    }

    #[test]
    fn the_record_survives_a_restart_of_the_relay() {
        let path = std::env::temp_dir().join(format!(
            "socketlab-class-{}-{:?}.sqlite",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_file(&path);
        {
            let store = Store::open(&path).expect("a new file");
            let ada = store.join("Ada", 0).expect("join").id;
            store
                .record(
                    ada,
                    1,
                    &Happening::Passed {
                        exercise: "bind-port-zero".into(),
                        evidence: "port 41234".into(),
                    },
                )
                .expect("record");
        }
        let store = Store::open(&path).expect("the same file again");
        let (learners, events) = store.everything().expect("read");
        assert_eq!(learners[0].name, "Ada");
        assert_eq!(events.len(), 1);
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
