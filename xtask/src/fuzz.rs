//! The fuzz step of `cargo xtask test`: the cargo-fuzz target `decode` (fuzz/) feeds arbitrary
//! bytes to the relay's message decoder for a fixed, short time. A crash (panic, overflow,
//! sanitizer report) fails the run; libFuzzer leaves the input in fuzz/artifacts/decode/.
//!
//! It checks for a C++ compiler first (`c++`, `g++` or `clang++`: libfuzzer-sys builds libFuzzer
//! from source) and fails saying what to install if there is none, installs cargo-fuzz if missing,
//! then runs, from the workspace root, `cargo fuzz run decode fuzz/corpus/decode fuzz/seeds/decode
//! -- -max_total_time=30` with `RUSTC_BOOTSTRAP=1` (cargo-fuzz passes nightly flags such as
//! `-Zsanitizer=address`; this lets the stable toolchain accept them for that build only). The
//! sanitizer build takes about 6 minutes on 2 cores the first time.

use anyhow::{Context, Result, bail};

use crate::shell::Shell;
use crate::summary::Summary;
use crate::tools;

/// How long the decoder is fuzzed on each `cargo xtask test`: enough to catch a shallow crash,
/// short enough for CI's budget (the sanitizer build itself takes a few minutes, once).
const FUZZ_SECONDS: u32 = 30;
const TARGET: &str = "decode";

/// Installs cargo-fuzz if missing, then fuzzes `decode` for [`FUZZ_SECONDS`].
pub(crate) fn run(shell: &Shell, summary: &mut Summary) -> Result<()> {
    // libfuzzer-sys compiles libFuzzer (C++) from source.
    if ["c++", "g++", "clang++"]
        .iter()
        .all(|compiler| shell.which(compiler).is_none())
    {
        bail!(
            "the fuzz step needs a C++ compiler to build libFuzzer, and none is on PATH \
             (c++, g++ or clang++): install one (Debian/Ubuntu: `sudo apt-get install g++`), \
             then run this again"
        );
    }
    tools::cargo_fuzz(shell, summary)?;
    let fuzz = shell.root().join("fuzz");
    // New inputs go to the ignored corpus/; the committed seeds/ only start it off.
    let corpus = fuzz.join("corpus").join(TARGET);
    let seeds = fuzz.join("seeds").join(TARGET);
    std::fs::create_dir_all(&corpus)
        .with_context(|| format!("cannot create {}", corpus.display()))?;
    summary.step(
        &format!("fuzzing the message decoder for {FUZZ_SECONDS} s"),
        Some("the sanitizer build takes about 6 minutes on 2 cores the first time"),
        || {
            shell.run(
                "cargo fuzz run decode",
                shell
                    .cmd("cargo")
                    .args(["fuzz", "run", TARGET])
                    .arg(&corpus)
                    .arg(&seeds)
                    .arg("--")
                    .arg(format!("-max_total_time={FUZZ_SECONDS}"))
                    // cargo-fuzz passes nightly-only flags (-Zsanitizer); this lets the stable
                    // toolchain accept them for this build only.
                    .env("RUSTC_BOOTSTRAP", "1"),
            )
        },
    )
}
