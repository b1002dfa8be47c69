//! `cargo xtask bench`: builds the release relay, the page and the bench, then runs
//! `socketlab-bench` (bench/) at full size; it prints every figure with its ratio and writes
//! `target/bench/summary.txt`. `cargo xtask test` runs the same bench once at a tiny size
//! against the debug relay (`smoke`), so it compiles and runs in CI without its noisy timings
//! deciding anything.

use std::path::Path;

use anyhow::Result;

use crate::shell::Shell;
use crate::summary::Summary;

/// The whole bench, at the sizes of issue 12: 1,000 and 10,000 idle sessions, 1,000 busy.
pub(crate) fn full(shell: &Shell, summary: &mut Summary, dist: &Path) -> Result<()> {
    summary.step(
        "building the release relay and the bench",
        Some("a few minutes the first time"),
        || {
            shell.run(
                "cargo build --release",
                shell.cmd("cargo").args([
                    "build",
                    "--release",
                    "-p",
                    "socketlab-relay",
                    "-p",
                    "socketlab-bench",
                ]),
            )
        },
    )?;
    let root = shell.root();
    summary.step(
        "cargo xtask bench (socketlab-bench)",
        Some("a few minutes"),
        || {
            shell.run(
                "socketlab-bench",
                shell
                    .cmd(root.join("target/release/socketlab-bench"))
                    .arg("--relay")
                    .arg(root.join("target/release/socketlab-relay"))
                    .arg("--dist")
                    .arg(dist),
            )
        },
    )
}

/// The bench once at a tiny size, against debug builds: it must still run end to end.
pub(crate) fn smoke(shell: &Shell, summary: &mut Summary, dist: &Path) -> Result<()> {
    summary.step(
        "the bench at a tiny size (it must run; figures not judged)",
        None,
        || {
            shell.run(
                "cargo build -p socketlab-relay -p socketlab-bench",
                shell.cmd("cargo").args([
                    "build",
                    "-p",
                    "socketlab-relay",
                    "-p",
                    "socketlab-bench",
                ]),
            )?;
            let root = shell.root();
            shell.run(
                "socketlab-bench (tiny)",
                shell
                    .cmd(root.join("target/debug/socketlab-bench"))
                    .arg("--relay")
                    .arg(root.join("target/debug/socketlab-relay"))
                    .arg("--dist")
                    .arg(dist)
                    .args(["--sessions", "20", "--busy", "10", "--calls", "50"])
                    .arg("--out")
                    .arg(root.join("target/bench/smoke.txt")),
            )
        },
    )
}
