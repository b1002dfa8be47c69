//! One session to the relay, as the page makes it: the WebSocket handshake with the key as a
//! subprotocol, `hello`, then calls numbered from 1 whose one reply each is awaited. Messages the
//! relay sends on its own (capabilities, machine, events, kernel rows) are read past.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use socketlab_shared::{
    Availability, CallId, Done, Family, FromRelay, Op, Outcome, PROTOCOL_VERSION, SocketId,
    SocketType, ToRelay,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any one step may take before the bench gives up with an error.
pub(crate) const STEP: Duration = Duration::from_secs(30);

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a WebSocket to `ws://ADDRESS/ws`, offering `protocols` if any (no Nagle, as
/// browsers do).
pub(crate) async fn open(address: &str, protocols: Option<&str>) -> Result<Ws> {
    let mut request = format!("ws://{address}/ws").into_client_request()?;
    if let Some(protocols) = protocols {
        request
            .headers_mut()
            .insert("sec-websocket-protocol", protocols.parse()?);
    }
    let (ws, _) = tokio::time::timeout(
        STEP,
        tokio_tungstenite::connect_async_with_config(request, None, true),
    )
    .await
    .context("the WebSocket handshake timed out")??;
    Ok(ws)
}

/// A session that has said hello and got welcome.
pub(crate) struct Session {
    ws: Ws,
    next: u64,
}

impl Session {
    pub(crate) async fn start(address: &str, token: &str) -> Result<Session> {
        let protocols = format!("socketlab.v1, socketlab.token.{token}");
        let ws = open(address, Some(&protocols)).await?;
        let mut session = Session { ws, next: 0 };
        session
            .send(&ToRelay::Hello {
                version: PROTOCOL_VERSION,
            })
            .await?;
        loop {
            if let FromRelay::Welcome { .. } = session.next_message().await? {
                return Ok(session);
            }
        }
    }

    /// Class mode: joins as `name` and waits for `joined`.
    pub(crate) async fn join(&mut self, name: &str) -> Result<()> {
        self.send(&ToRelay::Join {
            name: name.to_owned(),
        })
        .await?;
        loop {
            match self.next_message().await? {
                FromRelay::Joined { .. } => return Ok(()),
                FromRelay::Malformed { reason } => bail!("could not join: {reason}"),
                _ => {}
            }
        }
    }

    /// Sends a message that has no answer (class mode's `lesson`, `passed`).
    pub(crate) async fn tell(&mut self, message: &ToRelay) -> Result<()> {
        self.send(message).await
    }

    async fn send(&mut self, message: &ToRelay) -> Result<()> {
        let text = serde_json::to_string(message)?;
        tokio::time::timeout(STEP, self.ws.send(Message::Text(text.into())))
            .await
            .context("sending timed out")??;
        Ok(())
    }

    async fn next_message(&mut self) -> Result<FromRelay> {
        loop {
            let frame = tokio::time::timeout(STEP, self.ws.next())
                .await
                .context("no message from the relay in time")?
                .context("the relay closed the session")??;
            if let Message::Text(text) = frame {
                return Ok(serde_json::from_str(&text)?);
            }
        }
    }

    /// Sends a call without waiting for its reply; returns its id.
    pub(crate) async fn call(&mut self, op: Op) -> Result<CallId> {
        self.next += 1;
        let id = CallId(self.next);
        self.send(&ToRelay::Call { id, op }).await?;
        Ok(id)
    }

    /// Waits for the reply to `id`; an error unless the kernel did it.
    pub(crate) async fn done(&mut self, id: CallId) -> Result<Done> {
        loop {
            if let FromRelay::Reply { id: got, outcome } = self.next_message().await?
                && got == id
            {
                return match outcome {
                    Outcome::Ok(done) => Ok(done),
                    other => bail!("call {id:?} was not done: {other:?}"),
                };
            }
        }
    }

    /// A call and its reply.
    pub(crate) async fn ok(&mut self, op: Op) -> Result<Done> {
        let id = self.call(op).await?;
        self.done(id).await
    }

    /// `socket()` of this type (IPv4); its id.
    pub(crate) async fn socket(&mut self, kind: SocketType) -> Result<SocketId> {
        match self
            .ok(Op::Socket {
                family: Family::Ipv4,
                kind,
            })
            .await?
        {
            Done::Socket { socket, .. } => Ok(socket),
            other => bail!("socket() returned {other:?}"),
        }
    }

    /// Whether the relay can capture packets, from the `capabilities` it sends after
    /// `welcome` (call right after [`Session::start`]).
    pub(crate) async fn capture(&mut self) -> Result<Availability> {
        loop {
            if let FromRelay::Capabilities { capture, .. } = self.next_message().await? {
                return Ok(capture);
            }
        }
    }

    /// A UDP socket bound to a loopback port the kernel picks.
    pub(crate) async fn bound_udp(&mut self) -> Result<SocketId> {
        Ok(self.bound_udp_at().await?.0)
    }

    /// A UDP socket bound to a loopback port the kernel picks, and its address.
    pub(crate) async fn bound_udp_at(&mut self) -> Result<(SocketId, String)> {
        let socket = self.socket(SocketType::Datagram).await?;
        let bound = self
            .ok(Op::Bind {
                socket,
                address: "127.0.0.1:0".into(),
            })
            .await?;
        match bound {
            Done::Bind { local } => Ok((socket, local)),
            other => bail!("bind() returned {other:?}"),
        }
    }

    pub(crate) async fn close(mut self) -> Result<()> {
        tokio::time::timeout(STEP, self.ws.close(None))
            .await
            .context("closing timed out")??;
        Ok(())
    }
}
