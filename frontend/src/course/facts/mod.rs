//! The facts the course teaches, as data and rules that tests pin: RFC 6335's port ranges and
//! what this machine lets a program bind (`ports`), the well-known services table (`services`),
//! and IPv4/IPv6 notation with RFC 5952's canonical form (`ip_address`).

pub(crate) mod ip_address;
#[cfg(test)]
mod ip_address_tests;
pub(crate) mod ports;
pub(crate) mod services;
