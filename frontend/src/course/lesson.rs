//! The lessons as the page has them: the relay renders each lesson file at request time
//! (`socketlab_shared::lesson::render`, `GET /course.json`), so the page carries no Markdown
//! parser. The types are shared; native tests parse the repository's files with the same
//! renderer the relay runs (the `markdown` feature, a dev-dependency only).

pub(crate) use socketlab_shared::lesson::{Block, Course, Lesson, StepSource, Widget, keep_key};

#[cfg(test)]
pub(crate) use socketlab_shared::lesson::render::parse;

#[cfg(test)]
#[path = "lesson_tests.rs"]
mod tests;
