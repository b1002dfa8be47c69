//! `cargo xtask`: socketlab's automation in Rust, so the README's two commands work on a fresh
//! machine with nothing but rustup and Node/npm. The alias in `.cargo/config.toml` runs `cargo run
//! --quiet --package socketlab-xtask --`. Plain Rust with `std::process::Command`, anyhow and clap,
//! plus what the page build needs: `wasm-bindgen-cli-support` (wasm-bindgen as a library),
//! serde_json (cargo's messages), seahash, sha2 and base64 (trunk's file names and integrity);
//! ctrlc and nix for the dev loop's signals; tar and flate2 for the release tarball.
//!
//! - `serve [--listen ADDR] [-- RELAY_FLAGS...]`: the relay's release build started in the
//!   background (`relay_build`), the page's tools (the wasm32 target and wasm-opt; not trunk), the
//!   page build (`frontend`: xtask's own route to the `dist/` trunk would write), the end of the
//!   relay's build, then it `exec`s
//!   `cargo run --release -p socketlab-relay -- --dist <root>/dist --listen ADDR RELAY_FLAGS...`
//!   (default 127.0.0.1:7878; flags after `--` go to the relay, e.g. `-- --token-file key.txt` or
//!   `-- --allow-origin http://127.0.0.1:8080`). The process replaces itself with cargo (and cargo
//!   with the relay), so Ctrl-C reaches the relay directly and the relay's
//!   `http://127.0.0.1:PORT/#token=KEY` line is the last thing printed (with `--allow-origin`, the
//!   admitted origins' lines follow it).
//! - `test`: what CI runs: Chromium first (`browser`, so a machine that cannot get it fails in
//!   seconds, not after the tool installs), `cc` and `python3` for the program checks
//!   (`compilers`), the build tools (trunk too, for the comparison), rustfmt and clippy, the page
//!   build, then `checks` (which compares trunk's `dist/` with xtask's, packs the release
//!   tarball for its test, and runs the dev loop's test on its own). It stops at the first
//!   failing step and names it; a missing prerequisite is an error that says what to install,
//!   never a skipped test.
//! - `dev [--port 8080] [--listen ADDR] [-- RELAY_FLAGS...]`: the dev loop (`dev`): trunk and
//!   wasm-bindgen-cli installed if needed, the relay built (debug) and run admitting
//!   `http://127.0.0.1:PORT`, beside `trunk serve --port PORT`; one URL to open is printed once
//!   trunk serves; Ctrl-C stops both.
//! - `dist`: the page build, then the release tarball (`release`): the relay with the page
//!   compiled into it, a README and the licences, in `target/dist/`.
//! - `build`: the page's tools and the page build into `dist/`, as `serve` does.
//! - `setup`: every build tool (trunk and wasm-bindgen-cli too), enough for `trunk serve`.
//!
//! Nothing is downloaded except through a package registry's own client (cargo, npm, apt): no tool
//! fetches its own binary. Trunk.toml's `offline = true` and `[tools]` versions, the `=`-pinned
//! `wasm-bindgen` and `wasm-bindgen-cli-support` in the workspace and xtask's reading of
//! Cargo.lock keep the crate, the library, the CLI and trunk's expectations equal; Debian's older
//! wasm-opt is never used. Every install is idempotent: a second run installs nothing.

mod bench;
mod browser;
mod checks;
mod compilers;
mod dev;
mod frontend;
mod fuzz;
mod imports;
mod relay_build;
mod release;
mod shell;
mod summary;
mod tools;
mod versions;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::shell::Shell;
use crate::summary::Summary;

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    about = "Set up, build, serve and test socketlab."
)]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Install what the page needs (not trunk), build it into dist/, and run the relay serving it.
    Serve {
        /// Address the relay listens on (port 0 lets the kernel choose).
        #[arg(long, default_value = "127.0.0.1:7878")]
        listen: String,
        /// More relay flags, after `--`: e.g. `-- --token-file key.txt` or
        /// `-- --allow-origin http://127.0.0.1:8080` (see `cargo run -p socketlab-relay -- --help`).
        #[arg(last = true, value_name = "RELAY_FLAGS")]
        relay_flags: Vec<String>,
    },
    /// The dev loop: install trunk if needed, build the relay, then run it (admitting trunk's
    /// page) beside `trunk serve` (the page rebuilt on save), print the one URL to open, and
    /// stop both on Ctrl-C.
    Dev {
        /// The port trunk serves the page on (its origin is http://127.0.0.1:PORT).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Address the relay listens on (port 0 lets the kernel choose).
        #[arg(long, default_value = "127.0.0.1:7878")]
        listen: String,
        /// More relay flags, after `--`.
        #[arg(last = true, value_name = "RELAY_FLAGS")]
        relay_flags: Vec<String>,
    },
    /// Install what is missing (Chromium and trunk too), build the page, then run fmt, clippy
    /// (native and wasm32), the comparison of trunk's dist/ with xtask's, and every test, the
    /// browser tests included. CI runs this.
    Test,
    /// Install what the page needs (not trunk) and build it into dist/, nothing else.
    Build,
    /// Build the release relay, the page and the bench, then measure: the relay's round trip
    /// against a bare WebSocket echo and the bare syscalls, its memory and descriptors for
    /// 1,000 and 10,000 idle sessions and 1,000 busy ones, the page's gzipped size and how soon
    /// it is live in headless Chromium, cold and warm (Chromium is installed where allowed, as
    /// for `test`). Writes target/bench/summary.txt.
    Bench,
    /// Build the page, then the release relay with the page inside it, and pack it with a
    /// README and the licences into target/dist/socketlab-relay-VERSION-TARGET.tar.gz: one
    /// program that serves the lab from any folder, for people without Rust.
    Dist,
    /// Install every build tool (trunk and wasm-bindgen-cli too), nothing else: enough for
    /// `trunk serve`.
    Setup,
    /// Show which top-level modules of a crate name which, and fail on an import circle:
    /// e.g. `cargo xtask cycles relay/src` (each file or folder at `src/`'s root is one part).
    Cycles {
        /// The crate's source folder (the one holding lib.rs or main.rs).
        src: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!();
            eprintln!("xtask failed: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(task: Task) -> Result<()> {
    if let Task::Cycles { src } = &task {
        return imports::report(src);
    }
    let mut shell = Shell::new(workspace_root()?)?;
    let mut summary = Summary::new();
    match task {
        Task::Serve {
            listen,
            relay_flags,
        } => {
            // The relay's build needs nothing from the page's, and the page's leaves one of two
            // cores idle most of the time: run them side by side.
            let relay = relay_build::start(&shell)?;
            tools::for_the_page(&mut shell, &mut summary)?;
            let dist = frontend::build(&shell, &mut summary)?;
            relay.wait(&mut summary)?;
            summary.print("ready");
            serve(&shell, &dist, &listen, &relay_flags)
        }
        Task::Dev {
            port,
            listen,
            relay_flags,
        } => dev::run(&mut shell, &mut summary, port, &listen, &relay_flags),
        Task::Test => {
            let tested = test(&mut shell, &mut summary);
            match &tested {
                Ok(()) => summary.print("all checks passed"),
                Err(_) => summary.print("stopped at the first failure (see below)"),
            }
            tested
        }
        Task::Setup => {
            tools::set_up(&mut shell, &mut summary)?;
            summary.print("the build tools are ready");
            Ok(())
        }
        Task::Build => {
            tools::for_the_page(&mut shell, &mut summary)?;
            let dist = frontend::build(&shell, &mut summary)?;
            summary.print(&format!("built {}", dist.display()));
            Ok(())
        }
        Task::Dist => {
            tools::for_the_page(&mut shell, &mut summary)?;
            frontend::build(&shell, &mut summary)?;
            let release = release::build(&shell, &mut summary)?;
            summary.print(&format!(
                "the release is {} (unpack it anywhere and run ./socketlab-relay inside)",
                release.tarball.display()
            ));
            Ok(())
        }
        Task::Bench => {
            // The page-load figures need a browser: where none can be installed, fail first.
            let browser = browser::prepare(&shell, &mut summary)?;
            tools::for_the_page(&mut shell, &mut summary)?;
            let dist = frontend::build(&shell, &mut summary)?;
            bench::full(&shell, &mut summary, &dist, &browser)?;
            summary.print("bench done: target/bench/summary.txt");
            Ok(())
        }
        Task::Cycles { .. } => Ok(()),
    }
}

/// Everything `cargo xtask test` does, in order, stopping at the first failure.
fn test(shell: &mut Shell, summary: &mut Summary) -> Result<()> {
    // The browser comes first: where it cannot be installed, fail in seconds rather than after
    // a quarter of an hour of compiling tools.
    let browser = browser::prepare(shell, summary)?;
    compilers::prepare(shell, summary)?;
    tools::set_up(shell, summary)?;
    tools::lint_components(shell, summary)?;
    tools::other_platforms(shell, summary)?;
    let dist = frontend::build(shell, summary)?;
    checks::run(shell, summary, &dist, &browser)
}

/// Hands the terminal to `cargo run` of the relay: the process is replaced, so Ctrl-C reaches
/// the relay directly and the relay's URL line (with this launch's key after `#token=`) is the
/// last thing printed.
fn serve(shell: &Shell, dist: &Path, listen: &str, relay_flags: &[String]) -> Result<()> {
    use std::os::unix::process::CommandExt;

    println!("==> starting the relay (cargo run --release -p socketlab-relay); Ctrl-C stops it");
    let mut cmd = shell.cmd("cargo");
    cmd.args(["run", "--release", "-p", "socketlab-relay", "--", "--dist"])
        .arg(dist)
        .args(["--listen", listen])
        .args(relay_flags);
    let err = cmd.exec();
    Err(err).with_context(|| format!("could not start `{}`", shell::display(&cmd)))
}

/// The workspace root: xtask lives one level below it, wherever the clone is.
fn workspace_root() -> Result<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .context("xtask's manifest dir has no parent")
}
