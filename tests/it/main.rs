//! socketlab's integration tests: one binary (like ripgrep's), one module per area.

mod support;

mod browser;
mod capture;
mod course_recordings;
mod kernel_view;
mod lesson_knock;
mod lesson_scan;
mod lesson_services;
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
