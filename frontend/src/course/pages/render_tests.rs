//! The course pages rendered natively with yew's server renderer, inside the app's contexts: every
//! lesson the repository ships renders with its widgets and exercises in place and no instructor
//! error box, and its links keep the key; an unknown widget is a visible error naming its line; and
//! the index shows progress.

use std::rc::Rc;

use socketlab_shared::{Machine, PortRange};
use yew::LocalServerRenderer;
use yew::prelude::*;

use crate::course::lesson::{Block, Lesson, parse};
use crate::course::lesson_tests_support::shipped_lessons;
use crate::course::pages::index::{CourseIndex, CourseIndexProps};
use crate::course::pages::lesson_page::{LessonPage, Neighbour};
use crate::course::progress::Progress;
use crate::link::scope::SessionScope;
use crate::session::Session;
use crate::session::transcript::from_json_lines;

#[derive(Properties, PartialEq)]
struct HarnessProps {
    lesson: Lesson,
    session: Session,
}

/// A lesson page inside the same contexts the app gives it.
#[component]
fn Harness(props: &HarnessProps) -> Html {
    html! {
        <SessionScope start={props.session.clone()}>
            <LessonPage lesson={props.lesson.clone()}
                previous={Some(Neighbour { slug: "before".into(), title: "Before".into() })}
                next={None::<Neighbour>} fragment={"#token=k".to_owned()} />
        </SessionScope>
    }
}

async fn render_lesson(lesson: Lesson, session: Session) -> String {
    LocalServerRenderer::<Harness>::with_props(HarnessProps { lesson, session })
        .render()
        .await
}

fn machine_session() -> Session {
    let mut session = Session::default();
    session.course.machine = Some(Machine {
        os: "linux".into(),
        root: false,
        unprivileged_port_start: Some(1024),
        ephemeral_ports: Some(PortRange {
            first: 32768,
            last: 60999,
        }),
        ephemeral_source: None,
        pid: 4242,
        user: Some("learner".into()),
        namespace_thread: None,
    });
    session
}

#[tokio::test]
async fn every_shipped_lesson_renders_with_its_widgets_and_no_error_box() {
    for lesson in shipped_lessons() {
        let slug = lesson.slug.clone();
        let widgets: Vec<String> = lesson
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Widget(w) => Some(w.name.clone()),
                Block::Text(_) => None,
            })
            .collect();
        let exercises = lesson.exercises();
        let title = lesson.title.clone();
        let html = render_lesson(lesson, machine_session()).await;
        assert!(
            !html.contains("widget-error"),
            "lesson {slug} shows an instructor error box: {html}"
        );
        assert!(html.contains(&format!("data-slug=\"{slug}\"")), "{slug}");
        let escaped = title
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(html.contains(&escaped), "lesson {slug} lacks its title");
        for name in &widgets {
            assert!(
                html.contains(&format!("data-widget=\"{name}\"")),
                "lesson {slug}: widget {name} not drawn"
            );
        }
        for id in &exercises {
            assert!(
                html.contains(&format!("data-exercise=\"{id}\"")),
                "lesson {slug}: exercise {id} not drawn"
            );
        }
        assert!(
            html.contains("href=\"/lessons/before#token=k\""),
            "lesson {slug}: the previous link keeps the key"
        );
    }
}

#[tokio::test]
async fn an_unknown_widget_is_an_error_box_naming_its_line() {
    let lesson = parse(1, "01-x.md", "# X\n\nSummary.\n\n{{no-such-thing}}\n");
    let html = render_lesson(lesson, Session::default()).await;
    assert!(html.contains("widget-error"), "{html}");
    assert!(
        html.contains("unknown widget no-such-thing on line 5"),
        "{html}"
    );
}

#[tokio::test]
async fn an_unknown_exercise_or_a_bad_diagram_is_an_error_box() {
    let lesson = parse(
        1,
        "01-x.md",
        "# X\n\nSummary.\n\n{{exercise nope}}\n\n{{diagram sideways}}\n",
    );
    let html = render_lesson(lesson, Session::default()).await;
    assert!(html.contains("unknown exercise nope"), "{html}");
    assert!(
        html.contains("diagram on line 7 needs server, client or datagram"),
        "{html}"
    );
}

#[tokio::test]
async fn machine_facts_read_the_relays_machine() {
    let lesson = parse(1, "01-x.md", "# X\n\nSummary.\n\n{{machine-facts}}\n");
    let html = render_lesson(lesson.clone(), machine_session()).await;
    assert!(html.contains("ports 1 to 1023 need root"), "{html}");
    assert!(html.contains("from 32768 to 60999"), "{html}");
    let html = render_lesson(lesson, Session::default()).await;
    assert!(html.contains("Waiting for the relay"), "{html}");
}

#[tokio::test]
async fn the_index_lists_every_lesson_with_its_progress() {
    let lessons = shipped_lessons();
    let mut progress = Progress::default();
    let first = lessons[0].clone();
    for id in first.exercises() {
        progress.mark(&id, "evidence");
    }
    let count = lessons.len();
    let html = LocalServerRenderer::<CourseIndex>::with_props(CourseIndexProps {
        lessons: Rc::new(lessons),
        progress,
        fragment: "#token=k".into(),
    })
    .render()
    .await;
    assert_eq!(html.matches("class=\"lesson-item").count(), count, "{html}");
    assert!(
        html.contains(&format!(
            "data-lesson=\"{}\" data-done=\"{}\"",
            first.slug,
            !first.exercises().is_empty()
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!("href=\"/lessons/{}#token=k\"", first.slug)),
        "{html}"
    );
}

#[tokio::test]
async fn an_exercise_is_done_on_a_recorded_passing_session_and_open_on_an_empty_one() {
    let lesson = parse(
        7,
        "07-x.md",
        "# X\n\nSummary.\n\n{{exercise accept-two-clients}}\n",
    );
    let html = render_lesson(lesson.clone(), Session::default()).await;
    assert!(html.contains("data-done=\"false\""), "{html}");
    assert!(html.contains("Not yet."), "{html}");

    let recorded = include_str!("../exercises/fixtures/accept-two-clients.jsonl");
    let mut session = Session::default();
    session.course.transcript = from_json_lines(recorded)
        .unwrap_or_else(|e| panic!("the fixture decodes: {e}"))
        .into_iter()
        .collect();
    let html = render_lesson(lesson, session).await;
    assert!(html.contains("data-done=\"true\""), "{html}");
    assert!(html.contains("Done ✓"), "{html}");
}

#[tokio::test]
async fn exercises_that_ask_for_an_answer_draw_its_input() {
    let lesson = parse(
        2,
        "02-x.md",
        "# X\n\nSummary.\n\n{{exercise bind-port-zero}}\n\n{{exercise bind-port-80}}\n",
    );
    let html = render_lesson(lesson, Session::default()).await;
    assert!(html.contains("data-testid=\"exercise-answer\""), "{html}");
    assert!(html.contains("type=\"radio\""), "{html}");
}

#[tokio::test]
async fn an_exercise_judged_on_the_kernel_offers_its_program_and_one_judged_on_rules_does_not() {
    let lesson = parse(
        7,
        "07-x.md",
        "# X\n\nSummary.\n\n{{exercise accept-two-clients}}\n\n{{exercise ip-conversions}}\n",
    );
    let recorded = include_str!("../exercises/fixtures/accept-two-clients.jsonl");
    let mut session = Session::default();
    session.course.transcript = from_json_lines(recorded)
        .unwrap_or_else(|e| panic!("the fixture decodes: {e}"))
        .into_iter()
        .collect();
    let html = render_lesson(lesson, session).await;
    assert_eq!(
        html.matches("data-testid=\"exercise-program\"").count(),
        1,
        "only the kernel's exercise: {html}"
    );
    assert!(html.contains("The program for this exercise"), "{html}");
    // The lesson's calls, saved under the exercise's name.
    assert!(html.contains("accept(listener"), "{html}");
    assert!(html.contains("download=\"accept-two-clients.c\""), "{html}");
}
