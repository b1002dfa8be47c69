//! The store where class mode does not run (see `store.rs`): opening it fails with the reason,
//! and since `Store` holds an uninhabited value, none of its other methods can ever be reached.

use std::convert::Infallible;
use std::path::Path;

use super::{Event, Happening, Learner};

/// Why there is no store here.
#[derive(Debug, thiserror::Error)]
#[error(
    "class mode runs on Linux only: a class's relay gives each learner a network namespace of \
     their own (--isolate-sessions), and this relay runs on {os}"
)]
pub struct Error {
    os: &'static str,
}

/// No store: it cannot be made.
#[derive(Debug)]
pub(crate) struct Store {
    never: Infallible,
}

impl Store {
    /// Fails: class mode runs on Linux only.
    pub(crate) fn open(_: &Path) -> super::Result<Store> {
        Err(Error {
            os: std::env::consts::OS,
        })
    }

    pub(crate) fn class_code(&self) -> super::Result<Option<String>> {
        match self.never {}
    }

    pub(crate) fn keep_class_code(&self, _: &str) -> super::Result<()> {
        match self.never {}
    }

    pub(crate) fn join(&self, _: &str, _: i64) -> super::Result<Learner> {
        match self.never {}
    }

    pub(crate) fn record(&self, _: i64, _: i64, _: &Happening) -> super::Result<()> {
        match self.never {}
    }

    pub(crate) fn everything(&self) -> super::Result<(Vec<Learner>, Vec<Event>)> {
        match self.never {}
    }
}
