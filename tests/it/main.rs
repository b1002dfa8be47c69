//! socketlab's integration tests: one binary (like ripgrep's), one module per area. A virtual
//! manifest cannot own a root `tests/` folder, so `tests/` is a crate of its own
//! (`socketlab-tests`), and this file only lists the modules.
//!
//! The standards every module keeps: all traffic is loopback (the one exception, `security_netns`,
//! runs in a network namespace that has nothing but `lo`); ports are always 0 (kernel-chosen), and
//! a closed port for a refusal is made by binding port 0 in the same session and closing it (the
//! policy lets a session reach only its own ports); no sleeps as synchronisation: a test waits for
//! the reply or event that proves the thing happened, each await under a timeout whose message
//! names what was not seen (the only pacing is the bounded retry in `support::eventually`, used
//! where the relay's own ordering already guarantees the answer). A missing prerequisite (Chromium,
//! the built frontend, CAP_NET_RAW, `ss`, `unshare`) fails with what to install, run or grant;
//! nothing is skipped. A test that proves something did not arrive shows in the same run, as its
//! control, that it would have under the condition that allows it.

mod support;

mod browser;
mod capture;
mod class;
mod course_recordings;
mod isolation;
mod kernel_view;
mod lesson_knock;
mod lesson_scan;
mod lesson_services;
mod programs;
mod relay_binary;
mod relay_errors;
mod relay_protocol;
mod relay_session;
mod relay_tcp;
mod relay_udp;
mod security_access;
mod security_limits;
mod security_netns;
mod security_ownership;
mod security_policy;
