//! Every lesson the repository ships: each file `course.txt` lists parses, with a title and a
//! summary, and no slug appears twice. (The file format's own tests are beside the renderer, in
//! `socketlab_shared::lesson::render`.)

use super::Block;
use crate::course::lesson_tests_support::shipped_lessons;

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
