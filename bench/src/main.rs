//! `socketlab-bench`: speed and memory, each figure with its ratio to a floor measured in the
//! same run or to its target. Run by `cargo xtask bench` (which builds the release relay and
//! the page first), or once at a tiny size by `cargo xtask test`, so it cannot rot. Loopback
//! only: the relay it starts listens on 127.0.0.1 port 0, and every call stays on loopback.
//!
//! - Relay call round trip: p50 and p99 of getsockname, socket+close and a 64-byte send/recv
//!   pair through the relay, against a bare tokio-tungstenite echo of a message of the same
//!   size (the floor) and against the same syscalls made directly (the kernel's cost).
//! - Sessions: the relay's RSS and descriptors for N idle authenticated sessions, and after
//!   they all closed; p50/p99 reply time while M sessions run a UDP echo loop at once.
//! - A busy loopback: the relay's CPU while a program outside it pushes 1 Gbit/s over `lo`,
//!   with one session capturing, against the same traffic with none.
//! - A class: 60 learners of a relay that isolates sessions doing lesson 7's exercise at once,
//!   reply p50/p99 against one learner alone, and how long opening an isolated session takes.
//! - Page: the gzipped size of the wasm, JS and CSS, and the time from navigation to a live lab
//!   in headless Chromium, cold and warm, from the browser's own performance timing.
//!
//! The summary goes to stdout and to `--out` (default `target/bench/summary.txt`); `--only`
//! runs some of the parts (e.g. `--only page`).

mod class;
mod client;
mod loopback_load;
mod measure;
mod page;
mod page_load;
mod relay_process;
mod round_trip;
mod sessions;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use nix::sys::resource::{Resource, getrlimit, setrlimit};

use crate::measure::Summary;

#[derive(Parser)]
#[command(about = "socketlab's benchmarks (see the crate docs)")]
struct Args {
    /// The relay binary to measure (build it with --release for real figures).
    #[arg(long, required_unless_present = "echo")]
    relay: Option<PathBuf>,
    /// The built page (trunk's dist/).
    #[arg(long, required_unless_present = "echo")]
    dist: Option<PathBuf>,
    /// Be the bare WebSocket echo server the round trips are measured against (the bench
    /// starts itself so): print the address, echo until killed.
    #[arg(long, hide = true)]
    echo: bool,
    /// Idle session counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    sessions: Vec<usize>,
    /// Sessions running an echo loop at once.
    #[arg(long, default_value_t = 1000)]
    busy: usize,
    /// Learners of a class doing lesson 7's exercise at once on a relay that isolates sessions.
    #[arg(long, default_value_t = 60)]
    learners: usize,
    /// Round trips per figure.
    #[arg(long, default_value_t = 2000)]
    calls: usize,
    /// Seconds of 1 Gbit/s loopback traffic per CPU figure.
    #[arg(long, default_value_t = 3.0)]
    load_seconds: f64,
    /// Cold page loads (each in a new Chromium with a fresh profile), and as many warm ones.
    #[arg(long, default_value_t = 5)]
    loads: usize,
    /// Only these parts, comma-separated (all of them when not given).
    #[arg(long, value_delimiter = ',')]
    only: Vec<Part>,
    /// Where the summary is written.
    #[arg(long, default_value = "target/bench/summary.txt")]
    out: PathBuf,
}

/// The parts of the bench, for `--only`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Part {
    /// The relay call round trip.
    RoundTrip,
    /// Idle and busy sessions.
    Sessions,
    /// The relay's CPU while a program outside it pushes 1 Gbit/s over loopback.
    Loopback,
    /// The page's size and how soon it is live in headless Chromium.
    Page,
    /// A class on a relay that isolates sessions (root, or unprivileged user namespaces).
    Class,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.echo {
        return runtime.block_on(round_trip::serve_echo());
    }
    let (Some(relay), Some(dist)) = (&args.relay, &args.dist) else {
        anyhow::bail!("--relay and --dist are needed");
    };
    let runs = |part| args.only.is_empty() || args.only.contains(&part);
    if runs(Part::Sessions) {
        raise_open_files(
            args.sessions
                .iter()
                .copied()
                .max()
                .unwrap_or(0)
                .max(args.busy),
        )?;
    }
    let mut summary = Summary::default();
    runtime.block_on(async {
        if runs(Part::RoundTrip) {
            let process = relay_process::RelayProcess::start(relay, dist, 4)?;
            let echo = round_trip::EchoProcess::start()?;
            let (through, floors) =
                round_trip::through_relay(&process.address, process.token(), &echo, args.calls)
                    .await?;
            drop(process);
            let direct = round_trip::direct(args.calls)?;
            round_trip::report(&mut summary, &through, &floors, &direct);
        }
        if runs(Part::Sessions) {
            summary.heading("Sessions (the relay's own process, from /proc)");
            for &count in &args.sessions {
                sessions::idle(&mut summary, relay, dist, count).await?;
            }
            sessions::busy(&mut summary, relay, dist, args.busy, 20).await?;
        }
        if runs(Part::Class) {
            class::report(&mut summary, relay, dist, args.learners).await?;
        }
        if runs(Part::Loopback) {
            loopback_load::report(&mut summary, relay, dist, args.load_seconds).await?;
        }
        if runs(Part::Page) {
            page::report(&mut summary, dist)?;
            page_load::report(&mut summary, relay, dist, args.loads).await?;
        }
        anyhow::Ok(())
    })?;
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, summary.text().trim_start())
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!("\nwritten to {}", args.out.display());
    Ok(())
}

/// Each session is a descriptor here and one or more in the relay, which inherits this
/// process's limits: raise the open-files limit for both (the hard limit too where allowed, as
/// root), and say so when it stays too low for the sizes asked for.
fn raise_open_files(sessions: usize) -> Result<()> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    // The relay holds one per idle session (its WebSocket; the knock door is made only when a
    // session asks for it), this process one per session too.
    let need = sessions as u64 + 1024;
    if hard < need && setrlimit(Resource::RLIMIT_NOFILE, need, need).is_ok() {
        return Ok(());
    }
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    }
    if hard < need {
        anyhow::bail!(
            "{sessions} sessions need {need} open files (the relay holds 1 a session), and this shell allows {hard}: raise the hard limit (ulimit -Hn as root, or /etc/security/limits.conf) or ask for fewer sessions"
        );
    }
    Ok(())
}
