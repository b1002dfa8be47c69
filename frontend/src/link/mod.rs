//! The one owner of the page's WebSocket to the relay (`use_relay`): it says hello, decodes every
//! message and hands each one to the session reducer in order, reconnects with backoff when the
//! link is lost, and gives components a cheap handle whose `call` numbers and sends a syscall.
//! Nothing else in the page touches `web_sys::WebSocket`.
//!
//! The relay only talks to the page that holds its key: the URL it prints ends with `#token=KEY`.
//! The fragment never leaves the browser (no request, no Referer carries it); the page reads it
//! here and offers it as a WebSocket subprotocol, `socketlab.token.KEY`, next to `socketlab.v1`,
//! which the relay selects. The key lives only in the fragment and that offer (and the one
//! `Authorization` header below): never in a query string, a URL the page requests, or the log.
//!
//! Where it connects: `ws(s)://{location.host}/ws`, or the loopback relay named by
//! `&relay=HOST:PORT` in the fragment, for a page `trunk serve` serves (`page_address` reads both,
//! and refuses a relay off loopback, so a crafted link cannot point the page at another machine).
//! The key is kept for reconnects; a new fragment (`hashchange`: pasting the newly printed URL into
//! the same tab) reconnects at once with the new key, without a reload. With no key it opens no
//! WebSocket (`Link::NoKey`). In a class, the page may hold the class code instead (`#class=CODE`,
//! typed into the no-key box or in the URL the teacher gave), offered as `socketlab.class.CODE`.
//!
//! After a failed handshake it asks its own server once (`GET /ws` with `Authorization: Bearer
//! KEY`, or `Class CODE`, a `fetch`): `x-socketlab-refused: token_wrong` means the key was
//! refused (`Link::KeyRefused`), `class_code_wrong` the class code (`Link::ClassCodeRefused`),
//! with no retries; anything else is a lost link. That header and its rule names
//! (`host_not_allowed`, `origin_not_allowed`, `token_missing`, `token_wrong`, `class_code_wrong`)
//! are a contract with `relay/src/access.rs`.
//!
//! Every frame is decoded into `FromRelay` and dispatched; an undecodable frame becomes a log line,
//! never a panic. Reconnects back off 0.5, 1, 2, then every 4 s (`backoff`). `RelayHandle`, an `Rc`
//! clone provided as context, has `call`: it numbers the call (`CallId`, which it returns, so a
//! lesson widget can find the reply in the transcript), logs it as sent and sends it. A call while
//! the link is not live is logged as "not sent", never queued (`call` returns `None`). Browser-only
//! calls (`web_sys::window`, `WebSocket`, timers) stay in this hook and in component effects, so
//! the crate compiles and tests natively.

pub(crate) mod class_code;
pub(crate) mod class_join;
pub(crate) mod page_address;
pub(crate) mod scope;
pub(crate) mod status;

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use socketlab_shared::{CallId, Family, FromRelay, Op, PROTOCOL_VERSION, SocketType, ToRelay};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    CloseEvent, Event, Headers, MessageEvent, RequestCache, RequestInit, Response, WebSocket,
};
use yew::prelude::*;

use crate::link::page_address::{
    Credential, credential_in_address, on_hash_change, relay_from_fragment,
};
use crate::session::{Action, Millis, Session, Slot};

/// The subprotocol the relay selects: this page speaks socketlab's protocol. The key or class
/// code is offered beside it as another subprotocol name (`Credential::protocol`), because a
/// page cannot set other headers on a WebSocket handshake.
const PROTOCOL: &str = "socketlab.v1";

/// Milliseconds before reconnect attempt `attempt` (counted from 1): quick at first, then
/// every few seconds so a relay started later is found soon.
pub(crate) fn backoff(attempt: u32) -> u32 {
    let doubled = 500u32.saturating_mul(1 << attempt.saturating_sub(1).min(10));
    doubled.min(4000)
}

/// Milliseconds since the page started, the clock of every log line.
pub(crate) fn now() -> Millis {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// What components hold to make calls: cloning it is cloning an `Rc`.
#[derive(Clone)]
pub(crate) struct RelayHandle {
    link: Rc<Connection>,
}

impl PartialEq for RelayHandle {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.link, &other.link)
    }
}

impl RelayHandle {
    /// Makes `op` on the relay: numbers it, logs it as sent, and sends it. Returns the call's
    /// id, by which its reply is found in the transcript; `None` when it could not be sent
    /// (the relay is not connected), which the log says.
    pub(crate) fn call(&self, op: Op) -> Option<CallId> {
        self.link.send_call(op, None)
    }

    /// Makes `socket()` for the panel `slot`.
    pub(crate) fn create(&self, slot: Slot, family: Family, kind: SocketType) {
        self.link.send_call(Op::Socket { family, kind }, Some(slot));
    }

    /// Sends `message` if a relay session is open (welcomed); whether it was sent.
    fn tell(&self, message: &ToRelay) -> bool {
        self.link.welcomed.get() && self.link.send(message).is_ok()
    }

    /// Asks the relay for this machine's services list (answered by `service_names`); does
    /// nothing while no relay session is open. Returns whether it was sent.
    pub(crate) fn ask_service_names(&self) -> bool {
        self.tell(&ToRelay::ServiceNames)
    }

    /// Asks the relay for this session's knock door (answered by `knock_door`; the relay makes
    /// the door then); does nothing while no relay session is open. Returns whether it was sent.
    pub(crate) fn ask_knock_door(&self) -> bool {
        self.tell(&ToRelay::KnockDoor)
    }

    /// Class mode: joins the relay's class as `name`; whether it was sent.
    pub(crate) fn join(&self, name: &str) -> bool {
        self.tell(&ToRelay::Join {
            name: name.to_owned(),
        })
    }

    /// Class mode: tells the relay which lesson is open.
    pub(crate) fn lesson_opened(&self, slug: &str) -> bool {
        self.tell(&ToRelay::Lesson {
            slug: slug.to_owned(),
        })
    }

    /// Class mode: tells the relay an exercise passed, with the page's evidence.
    pub(crate) fn exercise_passed(&self, exercise: &str, evidence: &str) -> bool {
        self.tell(&ToRelay::Passed {
            exercise: exercise.to_owned(),
            evidence: evidence.to_owned(),
        })
    }

    /// Reads the page's address again and connects with the key or class code it holds now
    /// (the class-code form sets the fragment and calls this, for the case where the fragment
    /// did not change).
    pub(crate) fn use_address(&self) {
        Connection::rekey(&self.link);
    }

    /// Reconnects now instead of waiting for the next retry.
    pub(crate) fn retry_now(&self) {
        if self.link.socket.borrow().is_none() {
            self.link.retry.borrow_mut().take();
            Connection::open(&self.link);
        }
    }
}

/// The callbacks of the HTTP question asked after a failed handshake; kept alive until the
/// next one replaces them.
struct Probe {
    _answered: Closure<dyn FnMut(JsValue)>,
    _failed: Closure<dyn FnMut(JsValue)>,
}

/// Event handlers of the open WebSocket; kept alive here for as long as the socket lives.
struct Handlers {
    _open: Closure<dyn FnMut(Event)>,
    _message: Closure<dyn FnMut(MessageEvent)>,
    _close: Closure<dyn FnMut(CloseEvent)>,
}

struct Connection {
    dispatch: UseReducerDispatcher<Session>,
    /// The key or class code from the address, kept for every reconnect (also if the
    /// fragment is edited away); replaced when the address gets a new one.
    key: RefCell<Option<Credential>>,
    socket: RefCell<Option<WebSocket>>,
    handlers: RefCell<Option<Handlers>>,
    retry: RefCell<Option<Timeout>>,
    next_id: Cell<u64>,
    /// Which connection attempt this is since the last welcome, from 1.
    attempt: Cell<u32>,
    /// The relay answered hello on the current WebSocket: calls may go out.
    welcomed: Cell<bool>,
    opened: Cell<bool>,
    /// Counts connection attempts, so a late answer about an older one is ignored.
    generation: Cell<u64>,
    /// The question asked after the last failed handshake.
    probe: RefCell<Option<Probe>>,
    /// The page is going away: do not reconnect.
    stopped: Cell<bool>,
}

impl Connection {
    /// The relay's WebSocket: on the page's own host, or on the loopback relay the fragment
    /// names (`&relay=127.0.0.1:7878`, for a page that `trunk serve` serves).
    fn url() -> Option<String> {
        let location = web_sys::window()?.location();
        if let Some(relay) = location
            .hash()
            .ok()
            .and_then(|fragment| relay_from_fragment(&fragment))
        {
            return Some(format!("ws://{relay}/ws"));
        }
        let scheme = match location.protocol().ok()?.as_str() {
            "https:" => "wss",
            _ => "ws",
        };
        Some(format!("{scheme}://{}/ws", location.host().ok()?))
    }

    fn open(this: &Rc<Self>) {
        if this.stopped.get() {
            return;
        }
        let attempt = this.attempt.get();
        this.dispatch
            .dispatch(Action::LinkConnecting { attempt, at: now() });
        this.welcomed.set(false);
        this.opened.set(false);
        this.generation.set(this.generation.get() + 1);
        if let Some(key) = credential_in_address() {
            *this.key.borrow_mut() = Some(key);
        }
        let Some(key) = this.key.borrow().clone() else {
            // Without the key the relay refuses the handshake: say so once, and wait for the
            // learner to open the printed URL (a new fragment reconnects, see `use_relay`).
            this.dispatch.dispatch(Action::LinkNoKey { at: now() });
            return;
        };
        let Some(url) = Self::url() else {
            this.lost("the page has no address to connect to".into());
            return;
        };
        let protocols = js_sys::Array::of2(&PROTOCOL.into(), &key.protocol().into());
        let socket = match WebSocket::new_with_str_sequence(&url, &protocols) {
            Ok(socket) => socket,
            Err(_) => {
                this.lost(format!("the browser refused to open {url}"));
                return;
            }
        };

        let weak = Rc::downgrade(this);
        let open = Closure::<dyn FnMut(Event)>::new({
            let weak = weak.clone();
            move |_: Event| {
                if let Some(link) = weak.upgrade() {
                    link.opened.set(true);
                    let hello = ToRelay::Hello {
                        version: PROTOCOL_VERSION,
                    };
                    if let Err(reason) = link.send(&hello) {
                        link.lost(format!("could not say hello: {reason}"));
                    }
                }
            }
        });
        let message = Closure::<dyn FnMut(MessageEvent)>::new({
            let weak = weak.clone();
            move |event: MessageEvent| {
                if let Some(link) = weak.upgrade() {
                    link.received(event);
                }
            }
        });
        let close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            if let Some(link) = weak.upgrade() {
                let reason = if link.opened.get() {
                    let said = event.reason();
                    if said.is_empty() {
                        format!("the WebSocket closed (code {})", event.code())
                    } else {
                        format!("the WebSocket closed: {said}")
                    }
                } else {
                    // A refused handshake and an absent relay look the same from a page:
                    // ask the relay over plain HTTP which one it was.
                    link.handshake_failed(format!("no relay answered at {url}"));
                    return;
                };
                link.lost(reason);
            }
        });
        socket.set_onopen(Some(open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(close.as_ref().unchecked_ref()));
        *this.handlers.borrow_mut() = Some(Handlers {
            _open: open,
            _message: message,
            _close: close,
        });
        *this.socket.borrow_mut() = Some(socket);
    }

    /// Decodes one frame and dispatches it: every message, in the order it came.
    fn received(&self, event: MessageEvent) {
        let at = now();
        let Some(text) = event.data().as_string() else {
            self.dispatch.dispatch(Action::Undecodable {
                error: "a binary frame; the protocol uses text frames".into(),
                at,
            });
            return;
        };
        match serde_json::from_str::<FromRelay>(&text) {
            Ok(msg) => {
                if matches!(msg, FromRelay::Welcome { .. }) {
                    self.welcomed.set(true);
                    self.attempt.set(1);
                }
                self.dispatch.dispatch(Action::Received { msg, at });
            }
            Err(error) => self.dispatch.dispatch(Action::Undecodable {
                error: format!("{error}: {text}"),
                at,
            }),
        }
    }

    /// Forgets the current WebSocket, if any, so none of its handlers fires again.
    fn drop_socket(&self) {
        if let Some(socket) = self.socket.borrow_mut().take() {
            socket.set_onopen(None);
            socket.set_onmessage(None);
            socket.set_onclose(None);
            let _ = socket.close();
        }
        self.handlers.borrow_mut().take();
        self.welcomed.set(false);
    }

    /// The handshake failed. Browsers hide why, so when the relay is the page's own server,
    /// ask it: a plain `GET /ws` with the key as `Authorization: Bearer` (a class code as
    /// `Class`). A relay that refuses it answers `x-socketlab-refused: token_wrong` (or
    /// `class_code_wrong`); anything else (no answer, another answer, a relay elsewhere) is
    /// treated as no relay.
    fn handshake_failed(self: &Rc<Self>, reason: String) {
        self.drop_socket();
        let key = self.key.borrow().clone();
        let own_server = web_sys::window()
            .and_then(|w| w.location().hash().ok())
            .is_none_or(|fragment| relay_from_fragment(&fragment).is_none());
        let (Some(key), true, Some(window)) = (key, own_server, web_sys::window()) else {
            self.lost(reason);
            return;
        };
        let Ok(headers) = Headers::new() else {
            self.lost(reason);
            return;
        };
        if headers.set("Authorization", &key.authorization()).is_err() {
            self.lost(reason);
            return;
        }
        let init = RequestInit::new();
        init.set_method("GET");
        init.set_headers(&headers);
        init.set_cache(RequestCache::NoStore);
        let promise = window.fetch_with_str_and_init("/ws", &init);

        let generation = self.generation.get();
        let weak = Rc::downgrade(self);
        let answered = Closure::<dyn FnMut(JsValue)>::new({
            let weak = weak.clone();
            let reason = reason.clone();
            move |response: JsValue| {
                let Some(link) = weak.upgrade() else { return };
                if link.generation.get() != generation || link.stopped.get() {
                    return; // A newer attempt (or the end of the page) overtook this one.
                }
                let refused = response
                    .dyn_into::<Response>()
                    .ok()
                    .and_then(|r| r.headers().get("x-socketlab-refused").ok().flatten());
                match refused.as_deref() {
                    Some("token_wrong") => link.key_refused(),
                    Some("class_code_wrong") => link.class_code_refused(),
                    _ => link.lost(reason.clone()),
                }
            }
        });
        let failed = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
            if let Some(link) = weak.upgrade()
                && link.generation.get() == generation
                && !link.stopped.get()
            {
                link.lost(reason.clone());
            }
        });
        let _ = promise.then2(&answered, &failed);
        *self.probe.borrow_mut() = Some(Probe {
            _answered: answered,
            _failed: failed,
        });
    }

    /// The relay refused this page's key: say so, and do not retry, since the same key will
    /// not become right. A new key in the address (`hashchange`) or "Try again" starts over.
    fn key_refused(&self) {
        self.dispatch.dispatch(Action::LinkKeyRefused { at: now() });
    }

    /// The relay refused this page's class code: the same, with the learner asked to type it
    /// again (a new code in the address starts over).
    fn class_code_refused(&self) {
        let code = match self.key.borrow().as_ref() {
            Some(Credential::ClassCode(code)) => code.clone(),
            _ => String::new(),
        };
        self.dispatch
            .dispatch(Action::LinkClassCodeRefused { code, at: now() });
    }

    /// The WebSocket is gone (or never came): say so and schedule the next attempt.
    fn lost(self: &Rc<Self>, reason: String) {
        self.drop_socket();
        if self.stopped.get() {
            return;
        }
        let attempt = self.attempt.get();
        let delay = backoff(attempt);
        self.dispatch.dispatch(Action::LinkLost {
            attempt,
            retry_at: now() + f64::from(delay),
            reason,
            at: now(),
        });
        self.attempt.set(attempt.saturating_add(1));
        let weak = Rc::downgrade(self);
        *self.retry.borrow_mut() = Some(Timeout::new(delay, move || {
            if let Some(link) = Weak::upgrade(&weak) {
                link.retry.borrow_mut().take();
                Connection::open(&link);
            }
        }));
    }

    fn send(&self, msg: &ToRelay) -> Result<(), String> {
        let text = serde_json::to_string(msg).map_err(|e| e.to_string())?;
        let socket = self.socket.borrow();
        let socket = socket.as_ref().ok_or("the relay is not connected")?;
        if socket.ready_state() != WebSocket::OPEN {
            return Err("the relay is not connected".into());
        }
        socket
            .send_with_str(&text)
            .map_err(|_| "the browser could not send on the WebSocket".to_owned())
    }

    fn send_call(&self, op: Op, slot: Option<Slot>) -> Option<CallId> {
        let at = now();
        if !self.welcomed.get() {
            self.dispatch.dispatch(Action::CallNotSent {
                op,
                reason: "the relay is not connected".into(),
                at,
            });
            return None;
        }
        let id = CallId(self.next_id.get());
        self.next_id.set(id.0 + 1);
        let msg = ToRelay::Call { id, op: op.clone() };
        match self.send(&msg) {
            Ok(()) => {
                self.dispatch
                    .dispatch(Action::CallSent { id, op, slot, at });
                Some(id)
            }
            Err(reason) => {
                self.dispatch
                    .dispatch(Action::CallNotSent { op, reason, at });
                None
            }
        }
    }

    /// Starts over with the key (or class code) now in the address: a learner who pastes the
    /// newly printed URL into this tab, or types a class code, changes only the fragment, which
    /// does not reload the page.
    fn rekey(this: &Rc<Self>) {
        let Some(key) = credential_in_address() else {
            return;
        };
        // The same key on a link that is up, or still opening, needs nothing done.
        if this.key.borrow().as_ref() == Some(&key)
            && (this.welcomed.get() || this.socket.borrow().is_some())
        {
            return;
        }
        if let Some(socket) = this.socket.borrow_mut().take() {
            socket.set_onopen(None);
            socket.set_onmessage(None);
            socket.set_onclose(None);
            let _ = socket.close();
        }
        this.handlers.borrow_mut().take();
        this.retry.borrow_mut().take();
        *this.key.borrow_mut() = Some(key);
        this.attempt.set(1);
        Connection::open(this);
    }

    fn stop(&self) {
        self.stopped.set(true);
        self.retry.borrow_mut().take();
        if let Some(socket) = self.socket.borrow_mut().take() {
            socket.set_onclose(None);
            let _ = socket.close();
        }
        self.handlers.borrow_mut().take();
    }
}

/// Opens the link to the relay for the lifetime of the calling component and returns its handle.
#[hook]
pub(crate) fn use_relay(dispatch: UseReducerDispatcher<Session>) -> RelayHandle {
    let link = use_memo((), move |_| Connection {
        dispatch,
        key: RefCell::new(None),
        socket: RefCell::new(None),
        handlers: RefCell::new(None),
        retry: RefCell::new(None),
        next_id: Cell::new(1),
        attempt: Cell::new(1),
        welcomed: Cell::new(false),
        opened: Cell::new(false),
        generation: Cell::new(0),
        probe: RefCell::new(None),
        stopped: Cell::new(false),
    });
    {
        let link = link.clone();
        use_effect_with((), move |_| {
            Connection::open(&link);
            let weak = Rc::downgrade(&link);
            let listener = on_hash_change(move || {
                if let Some(link) = weak.upgrade() {
                    Connection::rekey(&link);
                }
            });
            move || {
                drop(listener);
                link.stop();
            }
        });
    }
    RelayHandle { link }
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn reconnects_quickly_then_every_four_seconds() {
        assert_eq!(backoff(1), 500);
        assert_eq!(backoff(2), 1000);
        assert_eq!(backoff(3), 2000);
        assert_eq!(backoff(4), 4000);
        assert_eq!(backoff(40), 4000);
    }
}
