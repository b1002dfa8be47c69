//! The widgets a lesson places with `{{name}}`: knowledge widgets that work without a relay
//! (port classifier, services table and quiz, IPv4/IPv6 address widget) and live ones that make
//! real calls through the relay and read the kernel's answers (port listing, port pool, port
//! scan, knock door, the machine's facts), with the probe plans they run.

pub(crate) mod ip_widget;
pub(crate) mod knock_widget;
pub(crate) mod machine_facts;
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
pub(crate) mod port_scan;
pub(crate) mod probe_driver;
pub(crate) mod probe_run;
pub(crate) mod quiz;
pub(crate) mod quiz_widget;
pub(crate) mod relay_ask;
#[cfg(test)]
mod scanning_widgets_tests;
pub(crate) mod service_names;
pub(crate) mod services_table;
#[cfg(test)]
mod widget_tests;
