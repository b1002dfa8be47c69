//! How xtask runs other programs (`Shell`): every child gets the same PATH (cargo's bin dir, then
//! npm's pinned wasm-opt, in front of the inherited PATH) and starts in the workspace root; `run`
//! streams the child's output and fails naming the step and the command; `probe` asks a quiet
//! `--version`.

use std::ffi::{OsStr, OsString};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// The environment shared by every child process xtask starts.
#[derive(Debug, Clone)]
pub(crate) struct Shell {
    root: PathBuf,
    path: OsString,
}

impl Shell {
    /// A shell rooted at the workspace, with cargo's bin dir (where `cargo install` puts trunk and
    /// wasm-bindgen) in front of the inherited PATH, so tools installed a moment ago are found
    /// even when the user's shell never sourced `~/.cargo/env`.
    pub(crate) fn new(root: PathBuf) -> Result<Self> {
        let mut shell = Shell {
            root,
            path: std::env::var_os("PATH").unwrap_or_default(),
        };
        shell.prepend_path(&cargo_bin_dir()?)?;
        Ok(shell)
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Puts `dir` first on the PATH of every later child.
    pub(crate) fn prepend_path(&mut self, dir: &Path) -> Result<()> {
        let mut dirs = vec![dir.to_path_buf()];
        dirs.extend(std::env::split_paths(&self.path).filter(|d| d != dir));
        self.path = std::env::join_paths(dirs)
            .with_context(|| format!("cannot put {} on PATH", dir.display()))?;
        Ok(())
    }

    /// A command for `program`, looked up on this shell's PATH, run from the workspace root.
    pub(crate) fn cmd(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.root).env("PATH", &self.path);
        cmd
    }

    /// Where `program` would be found on this shell's PATH, if anywhere.
    pub(crate) fn which(&self, program: &str) -> Option<PathBuf> {
        std::env::split_paths(&self.path)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    }

    /// Runs `cmd` with inherited stdio (its output is the progress the user watches) and fails,
    /// naming `step`, unless it exits successfully.
    pub(crate) fn run(&self, step: &str, cmd: &mut Command) -> Result<()> {
        let status = cmd
            .stdin(Stdio::inherit())
            .status()
            .map_err(|err| spawn_error(step, cmd, err))?;
        if !status.success() {
            bail!(
                "step `{step}` failed ({status}); its output is above.\n  command: {}",
                display(cmd)
            );
        }
        Ok(())
    }

    /// Runs `cmd` quietly and returns its stdout if it started and succeeded; `None` when the
    /// program is missing or fails, which callers treat as "not installed".
    pub(crate) fn probe(&self, cmd: &mut Command) -> Option<String> {
        let output = cmd
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// Cargo's bin dir: `$CARGO_HOME/bin`, else `~/.cargo/bin`, as rustup and cargo decide it.
pub(crate) fn cargo_bin_dir() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home).join("bin"));
    }
    Ok(home_dir()?.join(".cargo").join("bin"))
}

/// The user's home directory, from `$HOME` (xtask only runs on Unix-like machines).
pub(crate) fn home_dir() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .context("HOME is not set; xtask needs it to find ~/.cargo and ~/.cache")
}

/// The command line, quoted loosely, for error messages a person can copy.
pub(crate) fn display(cmd: &Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

fn spawn_error(step: &str, cmd: &Command, err: std::io::Error) -> anyhow::Error {
    let program = cmd.get_program().to_string_lossy();
    if err.kind() == ErrorKind::NotFound {
        anyhow::anyhow!(
            "step `{step}` could not start `{program}`: it is not on PATH.\n  command: {}",
            display(cmd)
        )
    } else {
        anyhow::anyhow!(
            "step `{step}` could not start `{program}`: {err}\n  command: {}",
            display(cmd)
        )
    }
}
