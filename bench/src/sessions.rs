//! What sessions cost the relay: resident memory and descriptors for many idle authenticated
//! sessions, the p99 reply time while many sessions run an echo loop at once, and the memory left
//! after they all closed. Each size runs against a fresh relay process.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use socketlab_shared::{Op, Payload};
use tokio::sync::Semaphore;

use crate::client::Session;
use crate::measure::{Samples, Summary, us};
use crate::relay_process::RelayProcess;

/// How many handshakes run at once while sessions are opened.
const OPENING_AT_ONCE: usize = 64;

/// The idle figure a session should stay within (issue 12's target).
const TARGET_KIB_PER_SESSION: f64 = 10.0;

/// Opens `count` sessions to `relay`, each welcomed.
async fn open_many(relay: &RelayProcess, count: usize) -> Result<Vec<Session>> {
    let gate = Arc::new(Semaphore::new(OPENING_AT_ONCE));
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let gate = Arc::clone(&gate);
        let address = relay.address.clone();
        let token = relay.token();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await?;
            Session::start(&address, token).await
        }));
    }
    let mut sessions = Vec::with_capacity(count);
    for task in tasks {
        sessions.push(task.await??);
    }
    Ok(sessions)
}

/// Idle sessions: the relay's RSS and descriptors before, with `count` sessions, and after
/// they closed.
pub(crate) async fn idle(
    summary: &mut Summary,
    binary: &Path,
    dist: &Path,
    count: usize,
) -> Result<()> {
    let relay = RelayProcess::start(binary, dist, count)?;
    // One session opened and closed first, so what every session shares (the lesson services,
    // the first allocations) is in the baseline, not in the per-session figure.
    let fresh = relay.descriptors()?;
    open_many(&relay, 1)
        .await?
        .pop()
        .context("one session")?
        .close()
        .await?;
    let base_fds = relay.settle_to(fresh, Duration::from_secs(10))?;
    let base_rss = relay.rss_kib()?;
    let started = Instant::now();
    let sessions = open_many(&relay, count).await?;
    let opened_in = started.elapsed();
    let rss = relay.rss_kib()?;
    let fds = relay.descriptors()?;
    for session in sessions {
        session.close().await?;
    }
    let after_fds = relay.settle_to(base_fds, Duration::from_secs(60))?;
    // The one figure judged at every size, the tiny run of `cargo xtask test` too: an idle
    // session holds its WebSocket and nothing else (a few more for the relay's own reads).
    let extra = fds.saturating_sub(base_fds);
    anyhow::ensure!(
        extra <= count + 4,
        "{count} idle sessions hold {extra} descriptors in the relay: an idle session must hold only its WebSocket (is something per session made eagerly again, like the knock door?)"
    );
    // Back within 2 MB of the baseline, or what is left after 15 s.
    let after_rss = relay.rss_settle_to(base_rss + 2048, Duration::from_secs(15))?;
    let per_session = (rss.saturating_sub(base_rss)) as f64 / count as f64;
    summary.line(format!(
        "{count:6} idle sessions: RSS {:.1} MB ({per_session:.1} KiB a session, x{:.1} the {TARGET_KIB_PER_SESSION} KiB target), {:.2} descriptors a session; opened in {:.1} s; after all closed: RSS {:.1} MB (baseline {:.1} MB), {after_fds} descriptors (baseline {base_fds})",
        rss as f64 / 1024.0,
        per_session / TARGET_KIB_PER_SESSION,
        fds.saturating_sub(base_fds) as f64 / count as f64,
        opened_in.as_secs_f64(),
        after_rss as f64 / 1024.0,
        base_rss as f64 / 1024.0,
    ));
    Ok(())
}

/// `count` sessions each running an echo loop of `rounds` rounds, all at once: the p50 and p99
/// reply time under that load, against the same loop on a lone session.
pub(crate) async fn busy(
    summary: &mut Summary,
    binary: &Path,
    dist: &Path,
    count: usize,
    rounds: usize,
) -> Result<()> {
    let relay = RelayProcess::start(binary, dist, count)?;
    let alone = echo_loop(open_many(&relay, 1).await?, rounds).await?;
    let sessions = open_many(&relay, count).await?;
    let rss = relay.rss_kib()?;
    let started = Instant::now();
    let loaded = echo_loop(sessions, rounds).await?;
    let took = started.elapsed();
    summary.line(format!(
        "{count:6} sessions in an echo loop at once: {:.0} calls/s, reply p50 {:.0} us, p99 {:.0} us (one session alone: p50 {:.0} us, p99 {:.0} us; x{:.1} at p99); RSS {:.1} MB",
        loaded.len() as f64 / took.as_secs_f64(),
        us(loaded.p50()),
        us(loaded.p99()),
        us(alone.p50()),
        us(alone.p99()),
        us(loaded.p99()) / us(alone.p99()).max(1.0),
        rss as f64 / 1024.0,
    ));
    Ok(())
}

/// Each session binds two UDP sockets on loopback and, `rounds` times, sends 64 bytes from one
/// to the other (sendto) and receives them (recvfrom); all sessions run at once, each in its
/// own task. The reply time of every call, and the sessions closed.
async fn echo_loop(sessions: Vec<Session>, rounds: usize) -> Result<Samples> {
    let mut tasks = Vec::with_capacity(sessions.len());
    for mut session in sessions {
        tasks.push(tokio::spawn(async move {
            let (from, _) = session.bound_udp_at().await?;
            let (to, address) = session.bound_udp_at().await?;
            let data = Payload::from(vec![b'e'; 64]);
            let mut samples = Samples::default();
            for _ in 0..rounds {
                let send = Op::Sendto {
                    socket: from,
                    data: data.clone(),
                    address: address.clone(),
                };
                let receive = Op::Recvfrom {
                    socket: to,
                    max: 64,
                };
                for op in [send, receive] {
                    let started = Instant::now();
                    session.ok(op).await?;
                    samples.push(started.elapsed());
                }
            }
            session.close().await?;
            anyhow::Ok(samples)
        }));
    }
    let mut all = Samples::default();
    for task in tasks {
        all.extend(task.await??);
    }
    Ok(all)
}
