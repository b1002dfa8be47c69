//! The frontend build: `trunk build --release` from the workspace root into `dist/`, with the
//! tools that `tools::set_up` put on the shell's PATH (Trunk.toml keeps trunk offline).

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::shell::Shell;
use crate::summary::Summary;

/// Builds the frontend and returns the `dist/` directory the relay serves.
pub(crate) fn build(shell: &Shell, summary: &mut Summary) -> Result<PathBuf> {
    let dist = shell.root().join("dist");
    summary.step(
        "building the frontend (trunk build --release)",
        Some("a few minutes the first time"),
        || {
            // trunk's own output streams through, so a failure shows the compiler's words.
            shell.run(
                "trunk build --release",
                shell.cmd("trunk").args(["build", "--release"]),
            )
        },
    )?;
    if !dist.join("index.html").is_file() {
        bail!(
            "trunk build --release succeeded but wrote no {}; check `dist` in Trunk.toml",
            dist.join("index.html").display()
        );
    }
    Ok(dist)
}
