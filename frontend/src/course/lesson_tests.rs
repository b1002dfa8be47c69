//! Tests of the lesson file format, and of every lesson the repository ships: each file
//! `course.txt` lists parses, with a title and a summary, and no slug appears twice.

use super::*;
use crate::course::lesson_tests_support::shipped_lessons;

const SAMPLE: &str = "# Ports\n\nOne address, many programs.\nA second line.\n\nMore text.\n\n{{lab}}\n\n```\n{{exercise not-a-widget}}\n```\n\n  {{exercise bind-port-zero answer=port}}  \nAfter.\n";

#[test]
fn title_summary_and_widgets_come_from_their_lines() {
    let lesson = parse(2, "02-port-numbers.md", SAMPLE);
    assert_eq!(lesson.number, 2);
    assert_eq!(lesson.slug, "port-numbers");
    assert_eq!(lesson.title, "Ports");
    assert_eq!(lesson.summary, "One address, many programs. A second line.");
    let widgets: Vec<&Widget> = lesson
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Widget(w) => Some(w),
            Block::Text(_) => None,
        })
        .collect();
    assert_eq!(widgets.len(), 2, "a widget inside a code fence is text");
    assert_eq!(widgets[0].name, "lab");
    assert_eq!(widgets[0].line, 8);
    assert_eq!(widgets[1].positional(), Some("bind-port-zero"));
    assert_eq!(widgets[1].args, vec!["bind-port-zero", "answer=port"]);
    assert_eq!(lesson.exercises(), vec!["bind-port-zero".to_owned()]);
}

#[test]
fn course_txt_lists_files_in_order_without_comments() {
    let files = course_files("# the course\n01-a.md\n\n02-b.md # second\n  # nothing\n");
    assert_eq!(files, vec!["01-a.md", "02-b.md"]);
}

#[test]
fn slug_drops_the_number_and_extension() {
    assert_eq!(slug("07-server-life.md"), "server-life");
    assert_eq!(slug("intro.md"), "intro");
    assert_eq!(slug("two-words.md"), "two-words");
}

#[test]
fn site_links_keep_the_key_and_others_do_not_change() {
    let html = markdown_html(
        "[next](/lessons/port-ranges) [out](https://example.org/) [here](/#x) [near](five-tuple) [mail](mailto:a@example.org)",
        "#token=abc",
    );
    assert!(
        html.contains("href=\"/lessons/port-ranges#token=abc\""),
        "{html}"
    );
    assert!(html.contains("href=\"https://example.org/\""), "{html}");
    assert!(html.contains("href=\"/#x\""), "{html}");
    assert!(html.contains("href=\"five-tuple#token=abc\""), "{html}");
    assert!(html.contains("href=\"mailto:a@example.org\""), "{html}");
}

#[test]
fn every_shipped_lesson_has_a_title_a_summary_and_text() {
    let lessons = shipped_lessons();
    assert!(!lessons.is_empty(), "course.txt lists no lesson");
    let mut slugs = std::collections::BTreeSet::new();
    for lesson in &lessons {
        assert!(!lesson.title.is_empty(), "{} has no title", lesson.slug);
        assert!(!lesson.summary.is_empty(), "{} has no summary", lesson.slug);
        assert!(
            lesson.blocks.iter().any(|b| matches!(b, Block::Text(_))),
            "{} has no text",
            lesson.slug
        );
        assert!(
            slugs.insert(lesson.slug.clone()),
            "slug {} twice",
            lesson.slug
        );
    }
}
