//! `cargo xtask bench`: builds the release relay, the page and the bench, then runs
//! `socketlab-bench` (bench/) at full size; it prints every figure with its ratio and writes
//! `target/bench/summary.txt`. `cargo xtask test` runs the same bench once at a tiny size
//! against the debug relay (`smoke`), so it compiles and runs in CI without its noisy timings
//! deciding anything. Both pass the bench the Chromium and chromedriver `browser::prepare`
//! found, for the page-load figures.

use std::path::Path;

use anyhow::Result;

use crate::browser::Browser;
use crate::shell::Shell;
use crate::summary::Summary;

/// The whole bench, at the sizes of issues 12 and 14: 1,000 and 10,000 idle sessions, 1,000
/// busy, a class of 60 isolated learners, 5 cold and 5 warm page loads.
pub(crate) fn full(
    shell: &Shell,
    summary: &mut Summary,
    dist: &Path,
    browser: &Browser,
) -> Result<()> {
    summary.step(
        "building the release relay and the bench",
        Some("a few minutes the first time"),
        || build(shell, true),
    )?;
    summary.step(
        "cargo xtask bench (socketlab-bench)",
        Some("a few minutes"),
        || run(shell, "release", dist, browser, &[]),
    )
}

/// The bench once at a tiny size, against debug builds: it must still run end to end.
pub(crate) fn smoke(
    shell: &Shell,
    summary: &mut Summary,
    dist: &Path,
    browser: &Browser,
) -> Result<()> {
    summary.step(
        "the bench at a tiny size (it must run; figures not judged)",
        None,
        || {
            build(shell, false)?;
            let out = shell.root().join("target/bench/smoke.txt");
            let out = out.to_string_lossy();
            let tiny = [
                "--sessions",
                "20",
                "--busy",
                "10",
                "--learners",
                "4",
                "--calls",
                "50",
                "--loads",
                "1",
                "--load-seconds",
                "0.3",
                "--out",
                &out,
            ];
            run(shell, "debug", dist, browser, &tiny)
        },
    )
}

/// `cargo build` of the relay and the bench, in release or not.
fn build(shell: &Shell, release: bool) -> Result<()> {
    let mut args = vec!["build", "-p", "socketlab-relay", "-p", "socketlab-bench"];
    if release {
        args.push("--release");
    }
    shell.run(
        &format!("cargo {}", args.join(" ")),
        shell.cmd("cargo").args(&args),
    )
}

/// The built bench (`target/PROFILE/`) against the relay built beside it, with `extra` flags.
fn run(shell: &Shell, profile: &str, dist: &Path, browser: &Browser, extra: &[&str]) -> Result<()> {
    let built = shell.root().join("target").join(profile);
    shell.run(
        &format!("socketlab-bench ({profile})"),
        shell
            .cmd(built.join("socketlab-bench"))
            .arg("--relay")
            .arg(built.join("socketlab-relay"))
            .arg("--dist")
            .arg(dist)
            .args(extra)
            .env("SOCKETLAB_CHROMIUM", &browser.chromium)
            .env("SOCKETLAB_CHROMEDRIVER", &browser.chromedriver),
    )
}
