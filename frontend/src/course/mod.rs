//! The course: lessons read from `lessons/` (lesson, library), the learner's progress, what the
//! course keeps of the relay session (record, transcript), the exercises and their checks over
//! that transcript, the port facts (RFC 6335 ranges, the well-known services table), the
//! services quiz, and the knowledge widgets that show them.

mod checks_addresses;
#[cfg(test)]
mod checks_addresses_tests;
mod checks_ports_in_use;
mod checks_scanning;
#[cfg(test)]
mod checks_scanning_tests;
mod exercise_checks;
#[cfg(test)]
mod exercise_test_support;
#[cfg(test)]
mod exercise_tests;
pub(crate) mod exercises;
#[cfg(test)]
mod facts_tests;
pub(crate) mod ip_address;
#[cfg(test)]
mod ip_address_tests;
pub(crate) mod ip_widget;
pub(crate) mod lesson;
#[cfg(test)]
pub(crate) mod lesson_tests_support;
pub(crate) mod library;
#[cfg(test)]
mod near_miss_tests;
pub(crate) mod pool_run;
#[cfg(test)]
mod pool_run_tests;
pub(crate) mod port_classifier;
pub(crate) mod port_listing;
#[cfg(test)]
mod port_listing_tests;
pub(crate) mod port_listing_view;
pub(crate) mod port_pool;
pub(crate) mod port_probes;
#[cfg(test)]
mod port_probes_tests;
pub(crate) mod ports;
pub(crate) mod probe_run;
pub(crate) mod progress;
pub(crate) mod quiz;
pub(crate) mod quiz_widget;
pub(crate) mod record;
pub(crate) mod services;
pub(crate) mod services_table;
mod socket_model;
pub(crate) mod steps;
pub(crate) mod transcript;
#[cfg(test)]
mod widget_tests;
