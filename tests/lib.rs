//! Nothing lives here: the tests are the `it` binary in `it/` (one binary, like ripgrep's).
