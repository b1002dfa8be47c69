//! The teacher's board, computed from the class's record (pure): for each learner the lesson
//! they are on, the exercises they passed, when they last made progress, the refused calls in
//! their current lesson, and whether they look stuck: online with no progress for
//! `Rules::idle_after`, or `Rules::failures` refused calls or more in one lesson since they
//! opened it or last passed an exercise. Also the CSV export of the same rows.

use std::collections::{BTreeSet, HashMap};

use socketlab_shared::class::{Board, BoardRow};

use super::store::{Event, Happening, Learner};

/// When a learner looks stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rules {
    /// Online, and no progress for this long (ms).
    pub(crate) idle_after_ms: i64,
    /// This many refused calls in one lesson without progress.
    pub(crate) failures: u32,
}

/// The board at `now_ms`, `online` being the learners with a session open.
pub(crate) fn board(
    learners: &[Learner],
    events: &[Event],
    online: &BTreeSet<i64>,
    now_ms: i64,
    rules: Rules,
) -> Board {
    let mut rows: Vec<BoardRow> = learners
        .iter()
        .map(|learner| BoardRow {
            id: learner.id,
            name: learner.name.clone(),
            online: online.contains(&learner.id),
            lesson: None,
            done: Vec::new(),
            last_progress_ms: learner.joined_ms,
            failures: 0,
            stuck: None,
        })
        .collect();
    let at: HashMap<i64, usize> = rows.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    for event in events {
        let Some(row) = at.get(&event.learner).and_then(|&i| rows.get_mut(i)) else {
            continue;
        };
        match &event.what {
            Happening::Lesson { slug } => {
                if row.lesson.as_deref() != Some(slug) {
                    row.failures = 0;
                }
                row.lesson = Some(slug.clone());
                row.last_progress_ms = row.last_progress_ms.max(event.at_ms);
            }
            Happening::Passed { exercise, .. } => {
                // Passing one again is not new progress, but it is not failing either.
                if !row.done.contains(exercise) {
                    row.done.push(exercise.clone());
                    row.last_progress_ms = row.last_progress_ms.max(event.at_ms);
                }
                row.failures = 0;
            }
            Happening::Failed { lesson } => {
                if lesson.is_some() && *lesson == row.lesson {
                    row.failures += 1;
                }
            }
        }
    }
    for row in &mut rows {
        let idle = now_ms.saturating_sub(row.last_progress_ms);
        row.stuck = if row.failures >= rules.failures {
            Some(format!(
                "{} refused calls in {} since the last progress",
                row.failures,
                row.lesson.as_deref().unwrap_or("the lab")
            ))
        } else if row.online && idle >= rules.idle_after_ms {
            Some(format!("no progress for {} minutes", idle / 60_000))
        } else {
            None
        };
    }
    Board { learners: rows }
}

/// The board as CSV (RFC 4180): a header, then one line a learner.
pub(crate) fn csv(board: &Board) -> String {
    let mut text = String::from(
        "learner,online,lesson,exercises_done,done,last_progress_ms,failures,stuck\r\n",
    );
    for row in &board.learners {
        let fields = [
            row.name.clone(),
            row.online.to_string(),
            row.lesson.clone().unwrap_or_default(),
            row.done.len().to_string(),
            row.done.join(" "),
            row.last_progress_ms.to_string(),
            row.failures.to_string(),
            row.stuck.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| quoted(f)).collect();
        text.push_str(&line.join(","));
        text.push_str("\r\n");
    }
    text
}

/// A CSV field: quoted when it holds a comma, quote or line break, quotes doubled; a field
/// a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) gets a `'` in front.
fn quoted(field: &str) -> String {
    let field = if field.starts_with(['=', '+', '-', '@']) {
        format!("'{field}")
    } else {
        field.to_owned()
    };
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules {
        idle_after_ms: 10 * 60_000,
        failures: 3,
    };

    fn learner(id: i64, name: &str) -> Learner {
        Learner {
            id,
            name: name.into(),
            joined_ms: 0,
        }
    }

    fn event(learner: i64, at_ms: i64, what: Happening) -> Event {
        Event {
            learner,
            at_ms,
            what,
        }
    }

    fn lesson(slug: &str) -> Happening {
        Happening::Lesson { slug: slug.into() }
    }

    fn failed(slug: &str) -> Happening {
        Happening::Failed {
            lesson: Some(slug.into()),
        }
    }

    fn passed(exercise: &str) -> Happening {
        Happening::Passed {
            exercise: exercise.into(),
            evidence: String::new(),
        }
    }

    #[test]
    fn the_board_shows_each_learners_lesson_and_exercises_in_order() {
        let learners = [learner(1, "Ada"), learner(2, "Grace")];
        let events = [
            event(1, 10, lesson("server-life")),
            event(1, 20, passed("accept-two-clients")),
            event(1, 30, passed("accept-two-clients")),
            event(2, 15, lesson("client-life")),
        ];
        let board = board(&learners, &events, &BTreeSet::from([1]), 40, RULES);
        let ada = &board.learners[0];
        assert_eq!(ada.lesson.as_deref(), Some("server-life"));
        assert_eq!(
            ada.done,
            ["accept-two-clients"],
            "once, however often passed"
        );
        assert_eq!(ada.last_progress_ms, 20);
        assert!(ada.online && !board.learners[1].online);
        assert_eq!(board.learners[1].lesson.as_deref(), Some("client-life"));
    }

    #[test]
    fn repeated_refusals_in_one_lesson_mark_a_learner_stuck_until_they_progress() {
        let learners = [learner(1, "Ada")];
        let mut events = vec![event(1, 10, lesson("port-conflicts"))];
        events.extend((0..2).map(|i| event(1, 20 + i, failed("port-conflicts"))));
        // A refusal in another lesson does not count here.
        events.push(event(1, 25, failed("server-life")));
        let online = BTreeSet::from([1]);
        let two = board(&learners, &events, &online, 30, RULES);
        assert_eq!(two.learners[0].failures, 2);
        assert_eq!(two.learners[0].stuck, None, "two are not yet stuck");
        events.push(event(1, 26, failed("port-conflicts")));
        let three = board(&learners, &events, &online, 30, RULES);
        assert_eq!(
            three.learners[0].stuck.as_deref(),
            Some("3 refused calls in port-conflicts since the last progress")
        );
        events.push(event(1, 27, passed("conflict-then-share")));
        let after = board(&learners, &events, &online, 30, RULES);
        assert_eq!(after.learners[0].failures, 0);
        assert_eq!(after.learners[0].stuck, None);
    }

    #[test]
    fn an_online_learner_without_progress_for_the_idle_time_is_stuck_an_offline_one_not() {
        let learners = [learner(1, "Ada"), learner(2, "Grace")];
        let events = [
            event(1, 0, lesson("server-life")),
            event(2, 0, lesson("server-life")),
        ];
        let online = BTreeSet::from([1]);
        let later = RULES.idle_after_ms;
        let board = board(&learners, &events, &online, later, RULES);
        assert_eq!(
            board.learners[0].stuck.as_deref(),
            Some("no progress for 10 minutes")
        );
        assert_eq!(board.learners[1].stuck, None, "Grace went home");
        // The control: a minute earlier Ada is not stuck yet.
        let sooner = super::board(&learners, &events, &online, later - 60_000, RULES);
        assert_eq!(sooner.learners[0].stuck, None);
    }

    #[test]
    fn the_csv_has_a_line_a_learner_and_quotes_what_needs_it() {
        let learners = [learner(1, "Lovelace, Ada"), learner(2, "=HYPERLINK(\"x\")")];
        let events = [
            event(1, 10, lesson("server-life")),
            event(1, 20, passed("accept-two-clients")),
            event(1, 30, passed("bind-port-zero")),
        ];
        let text = csv(&board(&learners, &events, &BTreeSet::new(), 40, RULES));
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "learner,online,lesson,exercises_done,done,last_progress_ms,failures,stuck"
        );
        assert_eq!(
            lines[1],
            "\"Lovelace, Ada\",false,server-life,2,accept-two-clients bind-port-zero,30,0,"
        );
        assert_eq!(lines[2], "\"'=HYPERLINK(\"\"x\"\")\",false,,0,,0,0,");
        assert_eq!(lines.len(), 4, "two learners and the final line break");
    }
}
