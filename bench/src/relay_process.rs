//! The relay under measurement: the release binary started as its own process, so its memory
//! and descriptors can be read from `/proc/PID` without the bench's own in the figures.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A key the bench gives the relay (`--token-file`), so its sessions can present it.
const TOKEN: &str = "benchbenchbenchbenchbenchbenchbenchbench";

/// A running relay process; killed when dropped.
pub(crate) struct RelayProcess {
    child: Child,
    /// `127.0.0.1:PORT`, read from the URL line it prints.
    pub(crate) address: String,
    _scratch: Scratch,
}

/// A folder the bench owns for the key file, removed at the end.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

impl RelayProcess {
    /// Starts `binary` on a port the kernel chooses, with limits high enough for `sessions`
    /// sessions, serving `dist`.
    pub(crate) fn start(binary: &Path, dist: &Path, sessions: usize) -> Result<RelayProcess> {
        RelayProcess::start_with(binary, dist, sessions, &[])
    }

    /// As [`start`](Self::start), with more flags (`--isolate-sessions`).
    pub(crate) fn start_with(
        binary: &Path,
        dist: &Path,
        sessions: usize,
        flags: &[&str],
    ) -> Result<RelayProcess> {
        let scratch = std::env::temp_dir().join(format!("socketlab-bench-{}", std::process::id()));
        fs::create_dir_all(&scratch)?;
        let token_file = scratch.join("key");
        fs::write(&token_file, TOKEN)?;
        let room = (sessions + 16).to_string();
        let mut child = Command::new(binary)
            .args(["--listen", "127.0.0.1:0", "--dist"])
            .arg(dist)
            .arg("--token-file")
            .arg(&token_file)
            .args(["--max-sessions", &room, "--max-connections", &room])
            .args([
                "--calls-per-second",
                "1000000",
                "--connects-per-second",
                "1000000",
            ])
            .args(["--idle-timeout-secs", "3600", "--max-session-secs", "7200"])
            .args(flags)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("the relay's stdout")?;
        // The URL line, read on a thread so a relay that prints nothing cannot hang the bench.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("http://") {
                    let _ = tx.send(line);
                }
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .context("the relay printed no URL within 30 s")?;
        let address = line
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        if !address.starts_with("127.0.0.1:") {
            bail!("unexpected URL line from the relay: {line}");
        }
        Ok(RelayProcess {
            child,
            address,
            _scratch: Scratch(scratch),
        })
    }

    pub(crate) fn token(&self) -> &'static str {
        TOKEN
    }

    /// The relay's resident memory now, in KiB (`VmRSS`).
    pub(crate) fn rss_kib(&self) -> Result<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("VmRSS in /proc/PID/status")
    }

    /// How many descriptors the relay holds now.
    pub(crate) fn descriptors(&self) -> Result<usize> {
        Ok(fs::read_dir(format!("/proc/{}/fd", self.child.id()))?.count())
    }

    /// Waits until the relay holds at most `count` descriptors (its sessions are gone), for at
    /// most `within`; the count then.
    pub(crate) fn settle_to(&self, count: usize, within: Duration) -> Result<usize> {
        settle(|| self.descriptors(), count, within)
    }

    /// Waits until the relay's RSS is at most `kib` (it gives free memory back a few seconds
    /// after sessions end), for at most `within`; the RSS then.
    pub(crate) fn rss_settle_to(&self, kib: u64, within: Duration) -> Result<u64> {
        settle(|| self.rss_kib(), kib, within)
    }

    /// The CPU time the relay has used so far, user and system (`/proc/PID/stat`).
    pub(crate) fn cpu(&self) -> Result<Duration> {
        let stat = fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // After the command's name in parentheses: state is field 3, utime 14, stime 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |field: usize| -> Result<u64> {
            fields
                .get(field - 3)
                .and_then(|v| v.parse().ok())
                .with_context(|| format!("field {field} of /proc/PID/stat"))
        };
        let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)?
            .and_then(|t| u64::try_from(t).ok())
            .filter(|&t| t > 0)
            .context("the clock ticks per second (sysconf CLK_TCK)")?;
        let total = ticks(14)? + ticks(15)?;
        Ok(Duration::from_secs_f64(total as f64 / per_second as f64))
    }
}

/// Polls `read` every 50 ms until it is at most `target`, for at most `within`; the last value.
fn settle<T: PartialOrd>(read: impl Fn() -> Result<T>, target: T, within: Duration) -> Result<T> {
    let deadline = Instant::now() + within;
    loop {
        let now = read()?;
        if now <= target || Instant::now() > deadline {
            return Ok(now);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
