//! What the tests and the bench share: headless Chromium (`chrome`). The tests themselves are the
//! `it` binary in `it/` (one binary, like ripgrep's).

pub mod chrome;
