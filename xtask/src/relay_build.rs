//! `serve`'s relay build, run beside the page's: `cargo build --release -p socketlab-relay`
//! starts first, in the background, its output going to `<target>/xtask-relay-build.log`, and
//! `wait` follows it to the end once the page is built. The page's build is mostly one chain of
//! crates (syn, wasm-bindgen's macro, js-sys, web-sys, the app's LTO), so on 2 cores the relay
//! gets the other core instead of waiting its turn (issue 16: the first `serve` in five minutes).
//! The two builds do not block each other: cargo locks each profile's directory, and they use
//! different ones (`release` and `wasm-release`).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::shell::{self, Shell};
use crate::summary::Summary;

/// The running build; dropping it unfinished (the page's build failed) stops it.
#[derive(Debug)]
pub(crate) struct RelayBuild {
    child: Option<Child>,
    log: PathBuf,
    command: String,
    started: Instant,
}

/// Starts the relay's release build in the background.
pub(crate) fn start(shell: &Shell) -> Result<RelayBuild> {
    let log = crate::frontend::target_dir(shell)?.join("xtask-relay-build.log");
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let out = File::create(&log).with_context(|| format!("cannot write {}", log.display()))?;
    let err = out
        .try_clone()
        .context("cannot share the relay build's log")?;
    let mut cmd = shell.cmd("cargo");
    cmd.args(["build", "--release", "-p", "socketlab-relay"])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    let command = shell::display(&cmd);
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start `{command}`"))?;
    println!(
        "==> building the relay in the background ({command}; about 3 minutes on 2 cores the \
         first time, beside the page's build; its output goes to {})",
        log.display()
    );
    Ok(RelayBuild {
        child: Some(child),
        log,
        command,
        started: Instant::now(),
    })
}

impl RelayBuild {
    /// Waits for the build, showing the lines it writes from now on; fails with its log's end.
    pub(crate) fn wait(mut self, summary: &mut Summary) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            bail!("the relay's build was already waited for");
        };
        let started = self.started;
        let log = self.log.clone();
        let command = self.command.clone();
        summary.step(
            "finishing the relay's release build (started in the background)",
            Some("whatever is left of about 3 minutes the first time; seconds after"),
            || {
                println!(
                    "    (running for {}s already; its output:)",
                    started.elapsed().as_secs()
                );
                let mut reader = BufReader::new(
                    File::open(&log).with_context(|| format!("cannot read {}", log.display()))?,
                );
                // Show only the newest line written so far, then each new one as it comes.
                let mut line = String::new();
                let mut newest = String::new();
                while reader.read_line(&mut line)? > 0 {
                    newest = std::mem::take(&mut line);
                }
                print!("{newest}");
                let status = loop {
                    while reader.read_line(&mut line)? > 0 {
                        print!("{}", std::mem::take(&mut line));
                    }
                    if let Some(status) = child.try_wait()? {
                        break status;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                };
                while reader.read_line(&mut line)? > 0 {
                    print!("{}", std::mem::take(&mut line));
                }
                if !status.success() {
                    // Only the newest line was shown before following; the compiler's own words
                    // came earlier: show the log from its first error.
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    println!("    the relay's build, from its first error:");
                    print!("{}", from_first_error(&text));
                    bail!(
                        "the relay's build failed ({status}); the whole output is in {}.\n  \
                         command: {command}",
                        log.display()
                    );
                }
                Ok(())
            },
        )
    }
}

/// The log from its first `error` line (at most 200 lines), or its last 40 lines if none.
fn from_first_error(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    let first = lines
        .iter()
        .position(|line| line.starts_with("error"))
        .unwrap_or(lines.len().saturating_sub(40));
    let mut shown: String = lines[first..]
        .iter()
        .take(200)
        .map(|line| format!("{line}\n"))
        .collect();
    if lines.len() - first > 200 {
        shown.push_str("    ... (the rest is in the log)\n");
    }
    shown
}

impl Drop for RelayBuild {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            // Only reached when `serve` fails before waiting: stop the build we started. Its
            // compilers in flight finish the crate they are on and exit.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_build_shows_its_log_from_the_first_error() {
        let log = "   Compiling a\n   Compiling b\nerror[E0308]: mismatched types\n --> x.rs:1\n\
                   error: could not compile `b`\n";
        assert_eq!(
            from_first_error(log),
            "error[E0308]: mismatched types\n --> x.rs:1\nerror: could not compile `b`\n"
        );
    }

    #[test]
    fn without_an_error_line_the_end_of_the_log_is_shown() {
        let log: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let shown = from_first_error(&log);
        assert!(
            shown.starts_with("line 60\n") && shown.ends_with("line 99\n"),
            "{shown}"
        );
    }
}
