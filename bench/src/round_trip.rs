//! The relay's call round trip, between two floors measured in the same run: a bare
//! tokio-tungstenite echo server answering a message of the same size (what a WebSocket round
//! trip costs at all), and the same syscalls made directly (what the kernel's part costs).
//!
//! The echo runs as its own process, like the relay (an echo inside the bench's own runtime
//! shares its threads with the client and is not the same floor), and its round trips are
//! measured in batches that alternate with the relay's, so both see the same machine.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Instant;

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
use socketlab_shared::{CallId, Done, Op, Payload, SocketId, SocketType, ToRelay};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{STEP, Session, open};
use crate::measure::{Samples, Summary, us};

/// The three round trips, each measured `calls` times.
pub(crate) struct Figures {
    pub(crate) getsockname: Samples,
    pub(crate) socket_close: Samples,
    pub(crate) send_recv: Samples,
}

/// Calls per batch: the relay's and the echo's batches alternate, so a slower or faster
/// stretch of the machine (another process, the CPU's clock) falls on both alike.
const BATCH: usize = 100;

/// The bare echo's round trips: while the relay is idle (no session, so no capture running:
/// the floor), and in the batches between the relay's (while its session captures, the relay
/// also reads the echo's frames on `lo`).
pub(crate) struct Floors {
    pub(crate) idle: Samples,
    pub(crate) between: Samples,
}

/// Through the relay on one session, each kind of call in batches that alternate with batches
/// of the bare echo (`echo`, its own process), after as many echo batches with the relay
/// idle: the relay's figures and the echo's.
pub(crate) async fn through_relay(
    address: &str,
    token: &str,
    echo: &EchoProcess,
    calls: usize,
) -> Result<(Figures, Floors)> {
    let mut floor = Echo::open(&echo.address).await?;
    let batches = calls.div_ceil(BATCH);
    let mut idle = Samples::default();
    for _ in 0..batches * 3 {
        floor.batch(&mut idle).await?;
    }
    let mut s = Session::start(address, token).await?;
    let mut echoed = Samples::default();
    let socket = s.bound_udp().await?;
    let mut getsockname = Samples::default();
    for _ in 0..batches {
        for _ in 0..BATCH {
            let started = Instant::now();
            s.ok(Op::Getsockname { socket }).await?;
            getsockname.push(started.elapsed());
        }
        floor.batch(&mut echoed).await?;
    }

    let mut socket_close = Samples::default();
    for _ in 0..batches {
        for _ in 0..BATCH {
            let started = Instant::now();
            let made = s.socket(SocketType::Stream).await?;
            s.ok(Op::Close { socket: made }).await?;
            socket_close.push(started.elapsed());
        }
        floor.batch(&mut echoed).await?;
    }

    // A TCP connection between two of the session's sockets: send on one, recv on the other.
    let listener = s.socket(SocketType::Stream).await?;
    let local = match s
        .ok(Op::Bind {
            socket: listener,
            address: "127.0.0.1:0".into(),
        })
        .await?
    {
        Done::Bind { local } => local,
        other => anyhow::bail!("bind() returned {other:?}"),
    };
    s.ok(Op::Listen {
        socket: listener,
        backlog: 4,
    })
    .await?;
    let client = s.socket(SocketType::Stream).await?;
    s.ok(Op::Connect {
        socket: client,
        address: local,
    })
    .await?;
    let accepted = match s.ok(Op::Accept { socket: listener }).await? {
        Done::Accept { socket, .. } => socket,
        other => anyhow::bail!("accept() returned {other:?}"),
    };
    let data = Payload::from(vec![b'x'; 64]);
    let mut send_recv = Samples::default();
    for _ in 0..batches {
        for _ in 0..BATCH {
            let started = Instant::now();
            s.ok(Op::Send {
                socket: client,
                data: data.clone(),
            })
            .await?;
            let mut got = 0;
            while got < 64 {
                match s
                    .ok(Op::Recv {
                        socket: accepted,
                        max: 64,
                    })
                    .await?
                {
                    Done::Recv { data } if !data.is_empty() => got += data.as_bytes().len(),
                    other => anyhow::bail!("recv() returned {other:?}"),
                }
            }
            send_recv.push(started.elapsed());
        }
        floor.batch(&mut echoed).await?;
    }
    s.close().await?;
    floor.close().await?;
    let figures = Figures {
        getsockname,
        socket_close,
        send_recv,
    };
    let floors = Floors {
        idle,
        between: echoed,
    };
    Ok((figures, floors))
}

/// The bare WebSocket echo, as its own process (this program again, with `--echo`), so it
/// is scheduled as the relay is: a tokio-tungstenite server on a multi-threaded runtime, on
/// 127.0.0.1 port 0. Killed when dropped.
pub(crate) struct EchoProcess {
    child: std::process::Child,
    address: String,
}

impl EchoProcess {
    pub(crate) fn start() -> Result<EchoProcess> {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new(std::env::current_exe()?)
            .arg("--echo")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("starting the echo server (this program with --echo)")?;
        let stdout = child.stdout.take().context("the echo server's stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        // Read on a thread, so an echo server that prints nothing cannot hang the bench.
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(STEP)
            .context("the echo server printed no address")?;
        let address = line.trim().to_owned();
        anyhow::ensure!(
            address.starts_with("127.0.0.1:"),
            "unexpected line from the echo server: {line:?}"
        );
        Ok(EchoProcess { child, address })
    }
}

impl Drop for EchoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The echo server (`socketlab-bench --echo`): prints its address, then sends every text
/// message back on the connection it came from, until killed.
pub(crate) async fn serve_echo() -> Result<()> {
    use std::io::Write as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            stream.set_nodelay(true)?;
            let mut ws = tokio_tungstenite::accept_async(stream).await?;
            while let Some(message) = ws.next().await {
                match message? {
                    message @ Message::Text(_) => ws.send(message).await?,
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            anyhow::Ok(())
        });
    }
}

/// A connection to the echo server: each round trip sends a text of the size of a getsockname
/// call and waits for it to come back.
struct Echo {
    ws: crate::client::Ws,
    call: String,
}

impl Echo {
    async fn open(address: &str) -> Result<Echo> {
        let call = serde_json::to_string(&ToRelay::Call {
            id: CallId(1000),
            op: Op::Getsockname {
                socket: SocketId(1),
            },
        })?;
        Ok(Echo {
            ws: open(address, None).await?,
            call,
        })
    }

    /// [`BATCH`] round trips, into `samples`.
    async fn batch(&mut self, samples: &mut Samples) -> Result<()> {
        for _ in 0..BATCH {
            let started = Instant::now();
            tokio::time::timeout(STEP, self.ws.send(Message::Text(self.call.clone().into())))
                .await
                .context("echo send timed out")??;
            tokio::time::timeout(STEP, self.ws.next())
                .await
                .context("no echo in time")?
                .context("the echo server closed")??;
            samples.push(started.elapsed());
        }
        Ok(())
    }

    async fn close(mut self) -> Result<()> {
        tokio::time::timeout(STEP, self.ws.close(None))
            .await
            .context("closing the echo timed out")??;
        Ok(())
    }
}

/// The same syscalls made directly by this process: the kernel's own cost.
pub(crate) fn direct(calls: usize) -> Result<Figures> {
    let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let mut getsockname = Samples::default();
    for _ in 0..calls {
        let started = Instant::now();
        udp.local_addr()?;
        getsockname.push(started.elapsed());
    }
    let mut socket_close = Samples::default();
    for _ in 0..calls {
        let started = Instant::now();
        let fd = socket(
            AddressFamily::Inet,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        drop(fd);
        socket_close.push(started.elapsed());
    }
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let mut client = TcpStream::connect(listener.local_addr()?)?;
    client.set_nodelay(true)?;
    let (mut accepted, _) = listener.accept()?;
    let data = [b'x'; 64];
    let mut buffer = [0u8; 64];
    let mut send_recv = Samples::default();
    for _ in 0..calls {
        let started = Instant::now();
        client.write_all(&data)?;
        accepted.read_exact(&mut buffer)?;
        send_recv.push(started.elapsed());
    }
    Ok(Figures {
        getsockname,
        socket_close,
        send_recv,
    })
}

/// The round trips in the summary, each with its ratio to the floors.
pub(crate) fn report(summary: &mut Summary, relay: &Figures, floors: &Floors, direct: &Figures) {
    let echo = &floors.idle;
    summary.heading(&format!(
        "Relay call round trip (p50 / p99 in us; floor: bare WebSocket echo {:.0} / {:.0} us, its own process, the relay idle; {:.0} / {:.0} us between the relay's batches)",
        us(echo.p50()),
        us(echo.p99()),
        us(floors.between.p50()),
        us(floors.between.p99()),
    ));
    let rows: [(&str, &Samples, &Samples, f64); 3] = [
        ("getsockname", &relay.getsockname, &direct.getsockname, 1.0),
        (
            "socket+close",
            &relay.socket_close,
            &direct.socket_close,
            2.0,
        ),
        ("send+recv (64 B)", &relay.send_recv, &direct.send_recv, 2.0),
    ];
    for (name, through, bare, trips) in rows {
        summary.line(format!(
            "{name:18} relay {:7.0} / {:7.0}   x{:.2} / x{:.2} the echo ({trips:.0} round trip{})   kernel alone {:.1} / {:.1}",
            us(through.p50()),
            us(through.p99()),
            us(through.p50()) / (trips * us(echo.p50())),
            us(through.p99()) / (trips * us(echo.p99())),
            if trips > 1.0 { "s" } else { "" },
            us(bare.p50()),
            us(bare.p99()),
        ));
    }
}
