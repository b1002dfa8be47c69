//! The course's pages: the index of lessons and one lesson's page, with its widgets in place
//! and its steps beside the lab.

pub(crate) mod course_page;
pub(crate) mod index;
pub(crate) mod lesson_page;
pub(crate) mod lesson_steps;
pub(crate) mod lesson_widget;
#[cfg(test)]
mod render_tests;
