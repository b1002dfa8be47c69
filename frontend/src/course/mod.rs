//! The course: lessons read from `lessons/` (`lesson`, `library`), the learner's progress, the "Try
//! it" steps beside the lab (`steps`), and four rooms: `pages` (the index and a lesson's page),
//! `exercises` (the exercises and their checks over the session's transcript), `facts` (RFC 6335
//! port ranges, the well-known services, IPv4/IPv6 notation) and `widgets` (the knowledge widgets
//! and the live widgets that make real calls through the relay). The course's record of the session
//! (machine facts, transcript) lives with the session (`session::record`).
//!
//! Twenty lessons, from why ports exist to firewalls and port forwarding, are text files in
//! `lessons/`: `course.txt` lists them in order, each `NN-slug.md` is one lesson (format in
//! `lesson`; README "Teaching with the course"). `index.html`'s `copy-dir` puts the folder in
//! `dist/lessons/`, which the relay serves like any file; `/lessons/<slug>` has no file and falls
//! back to `index.html`, and the page fetches the lesson at run time. No lesson text, order or slug
//! is in Rust; only a new exercise or widget is code.
//!
//! Rules the lesson text keeps (the render, steps and facts tests hold it to most of them):
//!
//! - Every lesson has an explanation, a diagram (widget, table or ASCII), a live experiment in
//!   `{{lab}}` whose steps name the lab's real controls (panel names, button labels, section
//!   headings, as in `lab::socket_panel`, `lab::call_controls`, `lab::add_socket`, `lab`), and its
//!   exercise. Every experiment stays inside the relay's default policy: loopback binds, and
//!   connects/sendto only to the session's own ports or the lesson services.
//! - Facts follow their sources, and where common material is loose the lesson says what is true:
//!   RFC 6335's range names (System/User/Dynamic, with the older well-known/registered names), IANA
//!   assignments, RFC 768 (UDP source port 0 = none), RFC 793/9293, Linux's sysctls and their
//!   defaults (`ip_unprivileged_port_start` 1024, `ip_local_port_range` 32768-60999), Windows's
//!   dynamic range (49152-65535) and its lack of privileged ports.
//! - Lesson 5 explains all three answers a bind to port 80 can get (the kernel's EACCES as an
//!   ordinary user, the relay policy's `refused` as root, success where the limit is lower), and
//!   keeps the relay's refusal apart from the kernel's.
//! - The embedded `{{lab}}` already contains the kernel view, the TCP states and the packets, so
//!   lessons refer to those sections by their headings rather than placing them twice.
//! - Lessons never write a machine-specific value or port into their text (`{{machine-facts}}`
//!   shows them live).

pub(crate) mod exercises;
pub(crate) mod facts;
#[cfg(test)]
mod facts_tests;
pub(crate) mod lesson;
pub(crate) mod lesson_start;
#[cfg(test)]
pub(crate) mod lesson_tests_support;
pub(crate) mod library;
pub(crate) mod pages;
pub(crate) mod progress;
pub(crate) mod steps;
pub(crate) mod widgets;
