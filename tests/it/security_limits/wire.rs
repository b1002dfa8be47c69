//! A bare WebSocket session for the hostile tests: raw frames in both directions, the close
//! code the relay ends with, and calls whose replies are collected by id. `support::Client`
//! hides frames and close codes, which is exactly what these tests look at.
//!
//! `Wire::open` expects `capabilities` and `machine` right after `welcome`.

use futures_util::{SinkExt as _, StreamExt as _};
use socketlab_shared::{CallId, Done, FromRelay, Op, Outcome, PROTOCOL_VERSION, ToRelay};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::within;

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One session on a raw WebSocket.
pub(crate) struct Wire {
    pub(crate) ws: Ws,
    next: u64,
}

impl Wire {
    /// Connects with `request` (which carries the key), says hello and expects welcome.
    pub(crate) async fn open(request: Request) -> Wire {
        let mut wire = Wire::connect(request).await;
        wire.send(&ToRelay::Hello {
            version: PROTOCOL_VERSION,
        })
        .await;
        match wire.message().await {
            Some(FromRelay::Welcome { .. }) => {}
            other => panic!("expected welcome, got {other:?}"),
        }
        match wire.message().await {
            Some(FromRelay::Capabilities { .. }) => {}
            other => panic!("expected capabilities right after welcome, got {other:?}"),
        }
        // Issue 5: the machine's facts (the services list only when asked).
        match wire.message().await {
            Some(FromRelay::Machine { .. }) => wire,
            other => panic!("expected machine right after capabilities, got {other:?}"),
        }
    }

    /// Connects, without hello.
    pub(crate) async fn connect(request: Request) -> Wire {
        let (ws, _) = within(
            "the WebSocket handshake",
            // No Nagle, as browsers do: a call sent while an earlier one waits would otherwise sit
            // out the relay's delayed ACK (40 ms).
            tokio_tungstenite::connect_async_with_config(request, None, true),
        )
        .await
        .expect("WebSocket connects to the relay");
        Wire { ws, next: 1000 }
    }

    pub(crate) async fn send(&mut self, message: &ToRelay) {
        let json = serde_json::to_string(message).expect("encode");
        self.send_text(json).await;
    }

    pub(crate) async fn send_text(&mut self, text: String) {
        within("sending a frame", self.ws.send(Message::Text(text.into())))
            .await
            .expect("send a frame");
    }

    /// The next protocol message; `None` once the relay closed (close frame or end).
    pub(crate) async fn message(&mut self) -> Option<FromRelay> {
        loop {
            match within("a message from the relay", self.ws.next()).await? {
                Ok(Message::Text(text)) => {
                    return Some(
                        serde_json::from_str(text.as_str())
                            .unwrap_or_else(|err| panic!("relay sent {text:?}: {err}")),
                    );
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Sends a call without waiting for its reply.
    pub(crate) async fn start(&mut self, op: Op) -> CallId {
        self.next += 1;
        let id = CallId(self.next);
        self.send(&ToRelay::Call { id, op }).await;
        id
    }

    /// Makes a call and returns its reply; other messages (events) are skipped.
    pub(crate) async fn call(&mut self, op: Op) -> Outcome {
        let id = self.start(op).await;
        loop {
            match self.message().await {
                Some(FromRelay::Reply { id: got, outcome }) if got == id => return outcome,
                Some(_) => continue,
                None => panic!("the relay closed the session before replying to {id}"),
            }
        }
    }

    pub(crate) async fn done(&mut self, op: Op) -> Done {
        match self.call(op).await {
            Outcome::Ok(done) => done,
            other => panic!("the call failed: {other:?}"),
        }
    }

    /// Reads until the relay's close frame and returns its code; `None` if the connection
    /// ended without one. Messages on the way are returned too, in order.
    pub(crate) async fn close_code(&mut self) -> (Option<u16>, Vec<FromRelay>) {
        let mut seen = Vec::new();
        loop {
            match within("the relay's close frame", self.ws.next()).await {
                Some(Ok(Message::Close(frame))) => {
                    return (frame.map(|f| u16::from(f.code)), seen);
                }
                Some(Ok(Message::Text(text))) => {
                    if let Ok(message) = serde_json::from_str(text.as_str()) {
                        seen.push(message);
                    }
                }
                Some(Ok(_)) => {}
                None | Some(Err(_)) => return (None, seen),
            }
        }
    }
}
