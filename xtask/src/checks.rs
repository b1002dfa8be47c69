//! The checks `cargo xtask test` runs after set-up, in order, stopping at the first failure: `cargo
//! fmt --all --check`; `cargo clippy --workspace --all-targets -- -D warnings`; `cargo clippy -p
//! socketlab-frontend -p socketlab-shared --target wasm32-unknown-unknown -- -D warnings`; the
//! relay's clippy on macOS (x86_64, aarch64) and Windows (x86_64, gnu and msvc):
//! `tools::OTHER_PLATFORMS`, so a change that breaks its build there fails here; trunk's
//! `dist/` against xtask's (`frontend::compare`: `trunk build --release` elsewhere, the same files
//! byte for byte, each wasm instantiated with its glue in node); the release tarball
//! (`release::build`, what `cargo xtask dist` packs); `cargo test --workspace` with
//! `SOCKETLAB_DIST`, `SOCKETLAB_RELEASE`, `SOCKETLAB_CHROMIUM` and `SOCKETLAB_CHROMEDRIVER` set
//! (so the browser tests run, the tarball's relay among them); the dev loop's test on its own
//! (`cargo xtask dev` with trunk's debug build, which would slow the timed tests beside it); the
//! bench once at a tiny size (`bench::smoke`); then the fuzz step (`fuzz`).

use std::path::Path;

use anyhow::Result;

use crate::browser::Browser;
use crate::shell::Shell;
use crate::summary::Summary;

/// Runs fmt, both clippies, the routes' comparison, the whole test suite and the decoder's fuzz
/// target. `dist` is the page xtask built, which the browser tests serve; `browser` is where
/// those tests find Chromium and its driver.
pub(crate) fn run(
    shell: &Shell,
    summary: &mut Summary,
    dist: &Path,
    browser: &Browser,
) -> Result<()> {
    summary.step("cargo fmt --all --check", None, || {
        shell.run(
            "cargo fmt --all --check",
            shell.cmd("cargo").args(["fmt", "--all", "--check"]),
        )
    })?;

    summary.step("clippy (native, all targets)", None, || {
        shell.run(
            "clippy (native)",
            shell.cmd("cargo").args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]),
        )
    })?;

    // The relay's embedded page is behind a feature no other build turns on; `dist/` is built.
    summary.step("clippy (relay with the embedded page)", None, || {
        shell.run(
            "clippy (relay, embedded-page)",
            shell.cmd("cargo").args([
                "clippy",
                "-p",
                "socketlab-relay",
                "--all-targets",
                "--features",
                "embedded-page",
                "--",
                "-D",
                "warnings",
            ]),
        )
    })?;

    // cfg mistakes in the browser-side crates only show when they are compiled for wasm32.
    summary.step("clippy (wasm32: frontend, shared)", None, || {
        shell.run(
            "clippy (wasm32)",
            shell.cmd("cargo").args([
                "clippy",
                "-p",
                "socketlab-frontend",
                "-p",
                "socketlab-shared",
                "--target",
                "wasm32-unknown-unknown",
                "--",
                "-D",
                "warnings",
            ]),
        )
    })?;

    // The relay's non-Linux code paths only compile for those targets. `--all-targets` takes
    // its unit tests too; a separate target dir keeps the native build's cache warm.
    for target in crate::tools::OTHER_PLATFORMS {
        summary.step(&format!("clippy (relay for {target})"), None, || {
            shell.run(
                &format!("clippy ({target})"),
                shell
                    .cmd("cargo")
                    .args([
                        "clippy",
                        "-p",
                        "socketlab-relay",
                        "--all-targets",
                        "--target",
                        target,
                        "--",
                        "-D",
                        "warnings",
                    ])
                    .env(
                        "CARGO_TARGET_DIR",
                        shell.root().join("target/other-platforms"),
                    ),
            )
        })?;
    }

    // trunk's route to dist/ and xtask's own must not drift: the same files, byte for byte.
    crate::frontend::compare::run(shell, summary, dist)?;

    // What people without Rust get: its test runs the tarball's relay from an empty folder.
    let release = crate::release::build(shell, summary)?;

    summary.step(
        "cargo test --workspace (browser test included)",
        None,
        || {
            shell.run(
                "cargo test --workspace",
                shell
                    .cmd("cargo")
                    .args(["test", "--workspace"])
                    .env("SOCKETLAB_DIST", dist)
                    .env("SOCKETLAB_RELEASE", &release.tarball)
                    .env("SOCKETLAB_CHROMIUM", &browser.chromium)
                    .env("SOCKETLAB_CHROMEDRIVER", &browser.chromedriver),
            )
        },
    )?;

    summary.step(
        "the dev loop: cargo xtask dev in Chromium, then Ctrl-C",
        Some("about 2 minutes on 2 cores the first time: trunk's debug build of the page"),
        || {
            shell.run(
                "the dev loop's test",
                shell
                    .cmd("cargo")
                    .args([
                        "test",
                        "-p",
                        "socketlab-tests",
                        "--test",
                        "it",
                        "--",
                        "--ignored",
                        "--exact",
                        "browser::shipping::cargo_xtask_dev_runs_trunk_and_the_relay_and_stops_both",
                    ])
                    .env("SOCKETLAB_CHROMIUM", &browser.chromium)
                    .env("SOCKETLAB_CHROMEDRIVER", &browser.chromedriver),
            )
        },
    )?;

    crate::bench::smoke(shell, summary, dist, browser)?;
    crate::fuzz::run(shell, summary)
}
