//! The course: lessons read from `lessons/` (lesson, library), the learner's progress, what the
//! course keeps of the relay session (record, transcript), the exercises and their checks over
//! that transcript, the port facts (RFC 6335 ranges, the well-known services table), the
//! services quiz, and the knowledge widgets that show them.

mod exercise_checks;
#[cfg(test)]
mod exercise_tests;
pub(crate) mod exercises;
pub(crate) mod lesson;
#[cfg(test)]
pub(crate) mod lesson_tests_support;
pub(crate) mod library;
pub(crate) mod port_classifier;
pub(crate) mod ports;
pub(crate) mod progress;
pub(crate) mod quiz;
pub(crate) mod quiz_widget;
pub(crate) mod record;
pub(crate) mod services;
pub(crate) mod services_table;
mod socket_model;
pub(crate) mod transcript;
#[cfg(test)]
mod widget_tests;
