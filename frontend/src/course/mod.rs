//! The course: lessons read from `lessons/` (`lesson`, `library`), the learner's progress, the
//! "Try it" steps beside the lab (`steps`), and four rooms: `pages` (the index and a lesson's
//! page), `exercises` (the exercises and their checks over the session's transcript), `facts`
//! (RFC 6335 port ranges, the well-known services, IPv4/IPv6 notation) and `widgets` (the
//! knowledge widgets and the live widgets that make real calls through the relay).

pub(crate) mod exercises;
pub(crate) mod facts;
#[cfg(test)]
mod facts_tests;
pub(crate) mod lesson;
#[cfg(test)]
pub(crate) mod lesson_tests_support;
pub(crate) mod library;
pub(crate) mod pages;
pub(crate) mod progress;
pub(crate) mod steps;
pub(crate) mod widgets;
