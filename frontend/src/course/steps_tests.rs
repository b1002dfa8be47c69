//! The steps beside the lab: reading them out of a lesson, their markers, and the progress the
//! transcript shows. Every shipped lesson's steps are checked too.

use socketlab_shared::Syscall;

use super::*;
use crate::course::lesson::parse;
use crate::course::lesson_tests_support::shipped_lessons;
use crate::lab::focus::StepFocus;
use crate::session::transcript::from_json_lines;

const LESSON: &str = "# Server\n\nSummary.\n\n## Try it\n\nFirst reload.\n\n1. Make sure the lab says **Live**. {{done live}}\n2. In the **Server** panel press **socket()**,\n   then **bind()** and **listen()**.\n   {{done server:socket server:bind server:listen}}\n3. Look at the table.\n4. Press **accept()**. {{done server:accept}}\n\nOptional: accept again.\n\n{{lab}}\n\nAfter the lab.\n";

fn practice(blocks: &[Block]) -> (Vec<Step>, String) {
    arrange(blocks)
        .into_iter()
        .find_map(|piece| match piece {
            Piece::Practice { steps, notes, .. } => Some((steps, notes.to_owned())),
            _ => None,
        })
        .expect("a lab")
}

#[test]
fn the_numbered_list_above_the_lab_becomes_its_steps_and_the_rest_stays_in_place() {
    let lesson = parse(7, "07-server.md", LESSON);
    let pieces = arrange(&lesson.blocks);
    let (steps, notes) = practice(&lesson.blocks);
    assert_eq!(steps.len(), 4);
    assert_eq!(
        steps[0].html,
        "<p>Make sure the lab says <strong>Live</strong>.</p>\n"
    );
    // Continuation lines are dedented; the marker is gone from the text.
    assert_eq!(
        steps[1].html,
        "<p>In the <strong>Server</strong> panel press <strong>socket()</strong>,\nthen <strong>bind()</strong> and <strong>listen()</strong>.</p>\n"
    );
    assert_eq!(steps[2].goals, vec![], "a step to look at has no goal");
    assert_eq!(notes, "<p>Optional: accept again.</p>\n");
    assert!(steps.iter().all(|s| s.problem.is_none()));
    // What came before the list stays above, what comes after the lab stays after it.
    match &pieces[0] {
        Piece::Text(before) => {
            assert!(before.contains("First reload."), "{before}");
            assert!(!before.contains("Make sure"), "{before}");
        }
        other => panic!("the text before the steps: {other:?}"),
    }
    assert!(
        matches!(pieces.last(), Some(Piece::Flow(Block::Text(t))) if t.html.contains("After the lab"))
    );
}

#[test]
fn a_widget_between_the_steps_and_the_lab_stays_above_the_pair() {
    let source =
        "# T\n\nS.\n\n1. Press **connect()**. {{done connect}}\n\n{{port-scan}}\n\n{{lab}}\n";
    let lesson = parse(1, "01-t.md", source);
    let pieces = arrange(&lesson.blocks);
    assert!(matches!(pieces[1], Piece::Flow(Block::Widget(w)) if w.name == "port-scan"));
    assert!(matches!(&pieces[2], Piece::Practice { steps, .. } if steps.len() == 1));
}

#[test]
fn without_a_list_right_above_it_the_lab_stands_alone() {
    for source in [
        "# T\n\nS.\n\n{{lab}}\n",
        "# T\n\nS.\n\n1. A list.\n\n## Then a heading\n\nText.\n\n{{lab}}\n",
        "# T\n\nS.\n\n- not numbered\n\n{{lab}}\n",
    ] {
        let lesson = parse(1, "01-t.md", source);
        let (steps, _) = practice(&lesson.blocks);
        assert!(steps.is_empty(), "{source}");
    }
}

#[test]
fn markers_read_every_goal_and_name_what_is_wrong() {
    assert_eq!(
        parse_goals("live client:connect bind!EADDRINUSE listen!refused close?"),
        Ok(vec![
            Goal::Live,
            Goal::Call {
                call: Syscall::Connect,
                answer: Answer::Done,
                place: Some(Place::Client)
            },
            Goal::Call {
                call: Syscall::Bind,
                answer: Answer::Errno("EADDRINUSE".into()),
                place: None
            },
            Goal::Call {
                call: Syscall::Listen,
                answer: Answer::Refused,
                place: None
            },
            Goal::Call {
                call: Syscall::Close,
                answer: Answer::Any,
                place: None
            },
        ])
    );
    for (bad, says) in [
        ("", "names no goal"),
        ("kitchen:bind", "not a place"),
        ("bnid", "not a call"),
        ("bind!eaddrinuse", "errno name"),
        ("connect*0", "a count"),
        ("connect*many", "a count"),
    ] {
        let problem = parse_goals(bad).expect_err(bad);
        assert!(problem.contains(says), "{bad}: {problem}");
    }
    let eight = parse_goals("widget:connect?*8 close").expect("goals");
    assert_eq!(eight.len(), 9);
    assert!(eight[..8].iter().all(|g| matches!(
        g,
        Goal::Call {
            call: Syscall::Connect,
            answer: Answer::Any,
            place: Some(Place::Widget)
        }
    )));
    assert_eq!(
        StepFocus(Some(Focus {
            call: Syscall::Connect,
            place: Some(Place::Widget)
        }))
        .call_on(Place::Client),
        None,
        "a widget's button is not in the lab"
    );
    // What the relay found wrong with a marker, and goals that do not read, are the step's
    // problem; a good marker's goals are its goals.
    let source = |marker: Option<&str>, problem: Option<&str>| StepSource {
        html: "<p>Press it.</p>".to_owned(),
        marker: marker.map(str::to_owned),
        problem: problem.map(str::to_owned),
    };
    let unclosed = step(&source(
        None,
        Some("a {{done ...}} marker without its closing }}"),
    ));
    assert!(unclosed.goals.is_empty());
    assert!(unclosed.problem.is_some_and(|p| p.contains("closing")));
    let bad = step(&source(Some(" bnid"), None));
    assert!(bad.problem.is_some_and(|p| p.contains("not a call")));
    let good = step(&source(Some(" server:bind"), None));
    assert_eq!(good.goals.len(), 1);
    assert_eq!(good.problem, None);
}

/// A transcript of calls answered in order, written as the fixtures are: `(op, outcome)` JSON.
fn answers(calls: &[(&str, &str)]) -> Vec<Entry> {
    let mut lines = vec![
        r#"{"message":{"os":"linux","relay":"0.1.0","type":"welcome","version":1}}"#.to_owned(),
    ];
    for (n, (op, outcome)) in calls.iter().enumerate() {
        let id = n + 1;
        lines.push(format!(r#"{{"call":{{"id":{id},"op":{op}}}}}"#));
        lines.push(format!(
            r#"{{"message":{{"id":{id},"outcome":{outcome},"type":"reply"}}}}"#
        ));
    }
    from_json_lines(&lines.join("\n")).expect("a transcript")
}

const SOCKET: (&str, &str) = (
    r#"{"family":"ipv4","syscall":"socket","type":"stream"}"#,
    r#"{"family":"ipv4","fd":15,"socket":1,"status":"ok","syscall":"socket","type":"stream"}"#,
);
const BIND: &str = r#"{"address":"127.0.0.1:0","socket":1,"syscall":"bind"}"#;
const BOUND: &str = r#"{"local":"127.0.0.1:58031","status":"ok","syscall":"bind"}"#;
const IN_USE: &str = r#"{"status":"error","errno":"EADDRINUSE","code":98,"message":"Address already in use","explanation":""}"#;
const LISTEN: (&str, &str) = (
    r#"{"backlog":16,"socket":1,"syscall":"listen"}"#,
    r#"{"local":"127.0.0.1:58031","status":"ok","syscall":"listen"}"#,
);
const ACCEPT: (&str, &str) = (
    r#"{"socket":1,"syscall":"accept"}"#,
    r#"{"fd":18,"local":"127.0.0.1:58031","peer":"127.0.0.1:33292","socket":3,"status":"ok","syscall":"accept"}"#,
);

#[test]
fn progress_marks_what_the_transcript_shows_and_points_at_the_next_control() {
    let lesson = parse(7, "07-server.md", LESSON);
    let (steps, _) = practice(&lesson.blocks);

    let nothing = progress(&steps, false, &[]);
    assert_eq!(nothing.done, vec![false, false, false, false]);
    assert_eq!(nothing.current, Some(0));
    assert_eq!(nothing.focus, None, "being live is no button");

    let live = progress(&steps, true, &[]);
    assert_eq!(live.done, vec![true, false, false, false]);
    assert_eq!(live.current, Some(1));
    assert_eq!(
        live.focus,
        Some(Focus {
            call: Syscall::Socket,
            place: Some(Place::Server)
        })
    );

    // A bind the kernel refused is not the bind step done: the highlight stays on bind().
    let refused = progress(&steps, true, &answers(&[SOCKET, (BIND, IN_USE)]));
    assert_eq!(refused.done, vec![true, false, false, false]);
    assert_eq!(refused.focus.map(|f| f.call), Some(Syscall::Bind));

    let listening = [SOCKET, (BIND, IN_USE), (BIND, BOUND), LISTEN];
    let p = progress(&steps, true, &answers(&listening));
    assert_eq!(
        p.done,
        vec![true, true, false, false],
        "a step to look at is never marked"
    );
    assert_eq!(p.current, Some(3));
    assert_eq!(p.focus.map(|f| f.call), Some(Syscall::Accept));

    let all = [SOCKET, (BIND, IN_USE), (BIND, BOUND), LISTEN, ACCEPT];
    let p = progress(&steps, true, &answers(&all));
    assert_eq!(p.done, vec![true, true, false, true]);
    assert_eq!((p.current, p.focus), (None, None));
}

#[test]
fn each_goal_takes_a_call_of_its_own() {
    let source = "# T\n\nS.\n\n1. Accept one. {{done accept}}\n2. Accept another. {{done accept}}\n3. Fail a bind. {{done bind!EADDRINUSE}}\n\n{{lab}}\n";
    let lesson = parse(1, "01-t.md", source);
    let (steps, _) = practice(&lesson.blocks);
    let one = progress(&steps, true, &answers(&[ACCEPT, (BIND, BOUND)]));
    assert_eq!(one.done, vec![true, false, false]);
    let two = progress(&steps, true, &answers(&[ACCEPT, ACCEPT, (BIND, IN_USE)]));
    assert_eq!(two.done, vec![true, true, true]);
}

#[test]
fn every_shipped_lab_has_steps_that_say_what_shows_them_done() {
    for lesson in shipped_lessons() {
        let (steps, _) = practice(&lesson.blocks);
        assert!(
            !steps.is_empty(),
            "lesson {} ({}): no numbered steps right above {{{{lab}}}}",
            lesson.number,
            lesson.slug
        );
        for (n, step) in steps.iter().enumerate() {
            assert_eq!(
                step.problem,
                None,
                "lesson {} step {}: {}",
                lesson.slug,
                n + 1,
                step.html
            );
        }
        assert!(
            steps.iter().any(|s| !s.goals.is_empty()),
            "lesson {}: no step has a {{{{done ...}}}} marker, so none can be marked done",
            lesson.slug
        );
    }
}

#[test]
fn a_call_still_waiting_moves_the_highlight_to_the_next_goal() {
    // Lesson 10's way: accept() first (it waits), then the client that it waits for.
    let source =
        "# T\n\nS.\n\n1. Server and client. {{done server:accept client:socket}}\n\n{{lab}}\n";
    let lesson = parse(1, "01-t.md", source);
    let (steps, _) = practice(&lesson.blocks);
    let before = progress(&steps, true, &[]);
    assert_eq!(before.focus.map(|f| f.call), Some(Syscall::Accept));
    let mut waiting = answers(&[]);
    waiting.extend(
        from_json_lines(&format!(r#"{{"call":{{"id":7,"op":{}}}}}"#, ACCEPT.0)).expect("a call"),
    );
    let p = progress(&steps, true, &waiting);
    assert_eq!(
        p.current,
        Some(0),
        "a waiting accept() is not an answered one"
    );
    assert_eq!(
        p.focus,
        Some(Focus {
            call: Syscall::Socket,
            place: Some(Place::Client)
        })
    );
}

#[test]
fn when_the_current_step_only_waits_the_next_steps_control_is_lit() {
    // Lesson 14's way: step 1 ends with an accept() that waits; step 2 connects the client.
    let source = "# T\n\nS.\n\n1. Accept. {{done server:accept}}\n2. Connect. {{done new:connect}}\n\n{{lab}}\n";
    let lesson = parse(1, "01-t.md", source);
    let (steps, _) = practice(&lesson.blocks);
    let mut waiting = answers(&[]);
    waiting.extend(
        from_json_lines(&format!(r#"{{"call":{{"id":7,"op":{}}}}}"#, ACCEPT.0)).expect("a call"),
    );
    let p = progress(&steps, true, &waiting);
    assert_eq!(p.current, Some(0));
    assert_eq!(
        p.focus,
        Some(Focus {
            call: Syscall::Connect,
            place: Some(Place::New)
        })
    );
}
