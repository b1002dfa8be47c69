//! What a busy loopback costs the relay: its CPU while a program outside it pushes 1 Gbit/s
//! over a TCP connection on `lo`, with one session capturing (the relay then reads every frame
//! on `lo`, its filter cut to the headers, and decides it is no session's), against the same
//! traffic with no session capturing (the floor: the relay has no packet socket open then).
//!
//! The program is this process: two threads, one writing 128 KiB at a time paced to the rate,
//! one reading and discarding. CPU is the relay's user + system time from `/proc/PID/stat`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use socketlab_shared::Availability;

use crate::client::Session;
use crate::measure::Summary;
use crate::relay_process::RelayProcess;

/// The rate the program outside the relay pushes (issue 12: 1 Gbit/s).
const BITS_PER_SECOND: u64 = 1_000_000_000;

/// Bytes per write (what iperf writes at a time on TCP).
const CHUNK: usize = 128 * 1024;

/// The relay's CPU while `seconds` of 1 Gbit/s go over loopback, without and with one session
/// capturing.
pub(crate) async fn report(
    summary: &mut Summary,
    binary: &Path,
    dist: &Path,
    seconds: f64,
) -> Result<()> {
    let relay = RelayProcess::start(binary, dist, 4)?;
    let window = Duration::from_secs_f64(seconds);
    let mut session = Session::start(&relay.address, relay.token()).await?;
    if let Availability::Unavailable { reason, remedy } = session.capture().await? {
        bail!(
            "the relay cannot capture packets ({reason}){}: run the bench as root, or leave this part out (--only round-trip,sessions,page)",
            remedy.map(|r| format!("; {r}")).unwrap_or_default()
        );
    }
    // The floor: the same traffic while no session has a socket, so no capture runs.
    let (floor, floor_rate) = relay_cpu_under_load(&relay, window).await?;
    // One socket makes the session follow the capture (from its bind on).
    let _socket = session.bound_udp().await?;
    let (capturing, rate) = relay_cpu_under_load(&relay, window).await?;
    session.close().await?;
    summary.heading("A busy loopback (the relay's CPU, user + system, from /proc)");
    summary.line(format!(
        "{:.2} Gbit/s over lo by a program outside the relay: relay CPU {:.1}% of a core with one session capturing, {:.1}% with none ({:.2} Gbit/s then); +{:.1} points",
        rate,
        capturing * 100.0,
        floor * 100.0,
        floor_rate,
        (capturing - floor) * 100.0,
    ));
    Ok(())
}

/// The relay's CPU (a fraction of one core) over `window` while the traffic runs, and the rate
/// the traffic reached (Gbit/s).
async fn relay_cpu_under_load(relay: &RelayProcess, window: Duration) -> Result<(f64, f64)> {
    let traffic = Traffic::start()?;
    // The first writes fill the socket buffers at full speed: measure after them.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (cpu_before, bytes_before, started) = (relay.cpu()?, traffic.received(), Instant::now());
    tokio::time::sleep(window).await;
    let (cpu_after, bytes_after, took) = (relay.cpu()?, traffic.received(), started.elapsed());
    traffic.stop()?;
    let cpu = (cpu_after - cpu_before).as_secs_f64() / took.as_secs_f64();
    let rate = (bytes_after - bytes_before) as f64 * 8.0 / took.as_secs_f64() / 1e9;
    Ok((cpu, rate))
}

/// A TCP connection on loopback between two threads of this process, the writer paced to
/// [`BITS_PER_SECOND`].
struct Traffic {
    stop: Arc<AtomicBool>,
    received: Arc<AtomicU64>,
    threads: Vec<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Traffic {
    fn start() -> Result<Traffic> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let mut writer = TcpStream::connect(listener.local_addr()?)?;
        let (mut reader, _) = listener.accept()?;
        let timeout = Some(Duration::from_secs(5));
        writer.set_write_timeout(timeout)?;
        reader.set_read_timeout(timeout)?;
        let stop = Arc::new(AtomicBool::new(false));
        let received = Arc::new(AtomicU64::new(0));
        let writing = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let chunk = vec![b'x'; CHUNK];
                let started = Instant::now();
                let mut sent: u64 = 0;
                while !stop.load(Ordering::Relaxed) {
                    writer.write_all(&chunk)?;
                    sent += CHUNK as u64;
                    // Pacing, not synchronisation: the writer keeps to the rate.
                    let due = Duration::from_secs_f64(sent as f64 * 8.0 / BITS_PER_SECOND as f64);
                    if let Some(ahead) = due.checked_sub(started.elapsed()) {
                        std::thread::sleep(ahead);
                    }
                }
                Ok(())
            })
        };
        let reading = {
            let received = received.clone();
            // Reads until the writer, stopped, closes its end.
            std::thread::spawn(move || {
                let mut buffer = vec![0_u8; 256 * 1024];
                loop {
                    let n = reader.read(&mut buffer)?;
                    if n == 0 {
                        break;
                    }
                    received.fetch_add(n as u64, Ordering::Relaxed);
                }
                Ok(())
            })
        };
        Ok(Traffic {
            stop,
            received,
            threads: vec![writing, reading],
        })
    }

    fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    fn stop(self) -> Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            thread
                .join()
                .map_err(|_| anyhow::anyhow!("a traffic thread panicked"))?
                .context("the loopback traffic")?;
        }
        Ok(())
    }
}
