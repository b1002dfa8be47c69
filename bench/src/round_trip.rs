//! The relay's call round trip, between two floors measured in the same run: a bare
//! tokio-tungstenite echo server answering a message of the same size (what a WebSocket round
//! trip costs at all), and the same syscalls made directly (what the kernel's part costs).

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

/// Through the relay, on one session.
pub(crate) async fn through_relay(address: &str, token: &str, calls: usize) -> Result<Figures> {
    let mut s = Session::start(address, token).await?;
    let socket = s.bound_udp().await?;
    let mut getsockname = Samples::default();
    for _ in 0..calls {
        let started = Instant::now();
        s.ok(Op::Getsockname { socket }).await?;
        getsockname.push(started.elapsed());
    }

    let mut socket_close = Samples::default();
    for _ in 0..calls {
        let started = Instant::now();
        let made = s.socket(SocketType::Stream).await?;
        s.ok(Op::Close { socket: made }).await?;
        socket_close.push(started.elapsed());
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
    for _ in 0..calls {
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
    s.close().await?;
    Ok(Figures {
        getsockname,
        socket_close,
        send_recv,
    })
}

/// A bare WebSocket echo (tokio-tungstenite, in this process, on loopback): each round trip
/// sends a text of the size of a getsockname call and waits for it to come back.
pub(crate) async fn bare_echo(calls: usize) -> Result<Samples> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?.to_string();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await?;
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
    let mut ws = open(&address, None).await?;
    let call = serde_json::to_string(&ToRelay::Call {
        id: CallId(1000),
        op: Op::Getsockname {
            socket: SocketId(1),
        },
    })?;
    let mut samples = Samples::default();
    for _ in 0..calls {
        let started = Instant::now();
        tokio::time::timeout(STEP, ws.send(Message::Text(call.clone().into())))
            .await
            .context("echo send timed out")??;
        tokio::time::timeout(STEP, ws.next())
            .await
            .context("no echo in time")?
            .context("the echo server closed")??;
        samples.push(started.elapsed());
    }
    ws.close(None).await?;
    tokio::time::timeout(STEP, server)
        .await
        .context("echo server")???;
    Ok(samples)
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
pub(crate) fn report(summary: &mut Summary, relay: &Figures, echo: &Samples, direct: &Figures) {
    summary.heading(&format!(
        "Relay call round trip (p50 / p99 in us; floor: bare WebSocket echo {:.0} / {:.0} us)",
        us(echo.p50()),
        us(echo.p99())
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
