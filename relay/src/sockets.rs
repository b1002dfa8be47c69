//! The sockets of one session: the table from `SocketId` to OS socket ([`SocketTable`], shared
//! by the session's parts as [`Sockets`]; it refuses a socket beyond `max_sockets` and reports
//! its load), and what the relay keeps about each socket ([`SocketHandle`]: its one descriptor,
//! its readiness registration, its watch state, its addresses as the kernel reports them).
//!
//! Each socket owns exactly one descriptor, made by `socket()` or `accept()`, and every later
//! call of the learner acts on that very descriptor. Readiness (for calls that wait) comes from a
//! tokio `AsyncFd` registration that is created lazily, at the first wait: a fresh TCP socket is
//! in the kernel's CLOSE state and epoll reports it as hung up, which tokio would remember as a
//! final "closed" readiness and then every later wait would wake at once. Waits only happen once
//! a stream socket listens or connects, so a lazy registration never sees that state.
//!
//! The registration holds its own `Arc` of the socket, so the descriptor is closed only after
//! it is deregistered from epoll, never the other way round (a reused descriptor number must
//! never be deregistered by mistake).

#[cfg(windows)]
mod windows;

use std::collections::HashMap;
use std::io;
#[cfg(unix)]
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use socketlab_shared::{Family, SocketId, SocketType};
#[cfg(unix)]
use tokio::io::unix::AsyncFd;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::errors::CallError;
use crate::limits::Load;
use crate::refusal::Refusal;

/// A socket shared between its registration and the handle, so the registration can keep the
/// descriptor open until it has left epoll.
#[derive(Debug)]
pub(crate) struct SharedFd(pub(crate) Arc<socket2::Socket>);

#[cfg(unix)]
impl AsRawFd for SharedFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// The socket's readiness registration: epoll or kqueue through tokio's `AsyncFd` on Unix,
/// a second handle under a tokio socket on Windows (`sockets/windows.rs`).
#[cfg(unix)]
pub(crate) type Reactor = Arc<AsyncFd<SharedFd>>;
#[cfg(windows)]
pub(crate) type Reactor = Arc<windows::Registration>;

/// One OS socket of a session.
#[derive(Debug)]
pub(crate) struct SocketHandle {
    pub(crate) id: SocketId,
    pub(crate) family: Family,
    pub(crate) kind: SocketType,
    pub(crate) os: Arc<socket2::Socket>,
    reactor: Mutex<Option<Reactor>>,
    pub(crate) watch: Watch,
}

impl SocketHandle {
    /// The descriptor's number as the protocol carries it (`fd`): on Windows the SOCKET
    /// handle's value, which Winsock keeps small.
    pub(crate) fn fd(&self) -> i32 {
        #[cfg(unix)]
        return self.os.as_raw_fd();
        #[cfg(windows)]
        return i32::try_from(std::os::windows::io::AsRawSocket::as_raw_socket(&*self.os))
            .unwrap_or(i32::MAX);
    }

    /// The socket's local address, as the kernel reports it.
    pub(crate) fn local(&self) -> Result<String, CallError> {
        ip_address(self.os.local_addr()?)
    }

    /// The socket's peer, as the kernel reports it.
    pub(crate) fn peer(&self) -> Result<String, CallError> {
        ip_address(self.os.peer_addr()?)
    }

    /// The registration slot, locked. (Every lock of the relay takes the data even if a
    /// panicking task poisoned it: what they guard is plain bookkeeping that stays consistent
    /// between statements, and one session's bug must not spread.)
    fn slot(&self) -> MutexGuard<'_, Option<Reactor>> {
        self.reactor.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The readiness registration, made at the first wait.
    pub(crate) fn reactor(&self) -> io::Result<Reactor> {
        let mut slot = self.slot();
        if let Some(reactor) = slot.as_ref() {
            return Ok(reactor.clone());
        }
        // SAFETY: `SharedFd` owns an `Arc` of the socket, so the descriptor stays open and
        // names the same socket for as long as the registration lives; `as_raw_fd` always
        // returns that one descriptor.
        #[cfg(unix)]
        #[allow(unsafe_code)]
        let registered =
            unsafe { AsyncFd::register(SharedFd(self.os.clone())) }.map_err(io::Error::from);
        #[cfg(windows)]
        let registered = windows::Registration::register(SharedFd(self.os.clone()), self.kind);
        let reactor = Arc::new(registered?);
        *slot = Some(reactor.clone());
        Ok(reactor)
    }

    /// Drops the registration if nobody waits on it, so that the next wait starts from fresh
    /// readiness. `connect()` on a stream socket calls this: a socket whose earlier connect was
    /// refused is hung up in tokio's memory, and that would wake the new connect's wait at once.
    pub(crate) fn forget_readiness(&self) {
        let mut slot = self.slot();
        if slot.as_ref().is_some_and(|r| Arc::strong_count(r) == 1) {
            *slot = None;
        }
    }

    /// Closes the descriptor now, if this is the last reference to the socket. Returns false
    /// when something still holds it (a bug: the fd then closes when that holder goes).
    pub(crate) fn close(self: Arc<Self>) -> bool {
        let Some(handle) = Arc::into_inner(self) else {
            return false;
        };
        let SocketHandle { os, reactor, .. } = handle;
        // Leave epoll first, then close.
        let reactor = reactor.into_inner().unwrap_or_else(PoisonError::into_inner);
        if let Some(reactor) = reactor
            && Arc::into_inner(reactor).is_none()
        {
            return false;
        }
        Arc::into_inner(os).is_some()
    }
}

/// What the event watcher of a socket looks for, once the socket is in a state where read
/// readiness means something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WatchMode {
    /// Readable means a connection is in the accept queue.
    Listening,
    /// A connected stream: readable means data or end of stream.
    Stream,
    /// A bound datagram socket: readable means a datagram is queued.
    Datagram,
}

/// An address the kernel reported, as the protocol carries it.
pub(crate) fn ip_address(address: socket2::SockAddr) -> Result<String, CallError> {
    address.as_socket().map(|a| a.to_string()).ok_or_else(|| {
        CallError::invalid("the kernel reported an address that is not IPv4 or IPv6")
    })
}

/// Shared between the calls on a socket and its event watcher: whether a reading call is
/// waiting (then the watcher keeps quiet: the reply will tell) and how many reading calls have
/// ended (the watcher looks again after each).
#[derive(Debug, Default)]
pub(crate) struct Watch {
    state: Mutex<WatchState>,
    changed: Notify,
}

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct WatchState {
    pub(crate) mode: Option<WatchMode>,
    pub(crate) readers: u32,
    pub(crate) reads: u64,
    /// `shutdown(SHUT_RD)` makes the socket look hung up; that is not the peer closing.
    pub(crate) read_shut: bool,
}

impl Watch {
    fn lock(&self) -> MutexGuard<'_, WatchState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn state(&self) -> WatchState {
        *self.lock()
    }

    fn update(&self, change: impl FnOnce(&mut WatchState)) {
        change(&mut self.lock());
        self.changed.notify_waiters();
    }

    /// Starts watching in `mode` (a socket that listens, connects, or binds a datagram port).
    pub(crate) fn set_mode(&self, mode: WatchMode) {
        self.update(|s| {
            if s.mode != Some(mode) {
                s.mode = Some(mode);
                s.read_shut = false;
            }
        });
    }

    pub(crate) fn set_read_shut(&self) {
        self.update(|s| s.read_shut = true);
    }

    /// Waits until `ready` holds for the state. Wakeups come from `update`; the `Notified` is
    /// made before each check so that a change between check and wait is not lost.
    pub(crate) async fn until(&self, ready: impl Fn(&WatchState) -> bool) -> WatchState {
        loop {
            let notified = self.changed.notified();
            let state = self.state();
            if ready(&state) {
                return state;
            }
            notified.await;
        }
    }
}

/// Marks a reading call (accept, recv, recvfrom) as in progress for as long as it lives.
#[derive(Debug)]
pub(crate) struct ReadCall(Arc<SocketHandle>);

impl ReadCall {
    pub(crate) fn begin(handle: &Arc<SocketHandle>) -> Self {
        handle.watch.update(|s| s.readers += 1);
        ReadCall(handle.clone())
    }
}

impl Drop for ReadCall {
    fn drop(&mut self) {
        self.0.watch.update(|s| {
            s.readers = s.readers.saturating_sub(1);
            s.reads += 1;
        });
    }
}

/// A socket in the table: its handle, and what ends its tasks (token) and waits for them
/// (tracker) when it is closed.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) handle: Arc<SocketHandle>,
    pub(crate) token: CancellationToken,
    pub(crate) tracker: TaskTracker,
}

/// A session's socket table as its parts share it: the session loop, the syscall layer, the
/// socket tasks, the capture and the kernel view each hold an `Arc` of it.
#[derive(Debug)]
pub(crate) struct Sockets(Mutex<SocketTable>);

impl Sockets {
    pub(crate) fn new(max_sockets: usize) -> Self {
        Sockets(Mutex::new(SocketTable::new(max_sockets)))
    }

    /// The table, locked. Never held across an await.
    pub(crate) fn lock(&self) -> MutexGuard<'_, SocketTable> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The sockets of one session. Ids count from 1 and are never reused. It holds at most
/// `max_sockets` (`--max-sockets`).
#[derive(Debug)]
pub(crate) struct SocketTable {
    last: u32,
    entries: HashMap<SocketId, Entry>,
    max_sockets: usize,
}

impl Default for SocketTable {
    fn default() -> Self {
        SocketTable::new(usize::MAX)
    }
}

impl SocketTable {
    pub(crate) fn new(max_sockets: usize) -> Self {
        SocketTable {
            last: 0,
            entries: HashMap::new(),
            max_sockets,
        }
    }

    /// Adds an OS socket; its token is a child of the session's, so ending the session ends it.
    /// A full table refuses it (`too_many_sockets`) and the socket is dropped, i.e. closed: for
    /// `accept()` that closes the connection the kernel had already accepted.
    pub(crate) fn insert(
        &mut self,
        os: socket2::Socket,
        family: Family,
        kind: SocketType,
        session: &CancellationToken,
    ) -> Result<Entry, Refusal> {
        if self.entries.len() >= self.max_sockets {
            return Err(Refusal::too_many_sockets(self.max_sockets));
        }
        self.last += 1;
        let id = SocketId(self.last);
        let entry = Entry {
            handle: Arc::new(SocketHandle {
                id,
                family,
                kind,
                os: Arc::new(os),
                reactor: Mutex::new(None),
                watch: Watch::default(),
            }),
            token: session.child_token(),
            tracker: TaskTracker::new(),
        };
        self.entries.insert(id, entry.clone());
        Ok(entry)
    }

    /// How many sockets the table holds and how many of their calls wait in the kernel (each
    /// socket's tracker runs its watcher plus one task per waiting call).
    pub(crate) fn load(&self) -> Load {
        Load {
            sockets: self.entries.len(),
            waiting_calls: self
                .entries
                .values()
                .map(|entry| entry.tracker.len().saturating_sub(1))
                .sum(),
        }
    }

    pub(crate) fn get(&self, id: SocketId) -> Option<Entry> {
        self.entries.get(&id).cloned()
    }

    /// Why `id` is not in the table, in words for the `invalid` reply.
    pub(crate) fn describe_missing(&self, id: SocketId) -> String {
        if id.0 >= 1 && id.0 <= self.last {
            format!("socket {id} was closed; this session has no socket {id} any more")
        } else {
            format!("this session has no socket {id}")
        }
    }

    /// Every socket's handle (the kernel view looks at each descriptor under the lock).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub(crate) fn handles(&self) -> impl Iterator<Item = &Arc<SocketHandle>> {
        self.entries.values().map(|entry| &entry.handle)
    }

    pub(crate) fn remove(&mut self, id: SocketId) -> Option<Entry> {
        self.entries.remove(&id)
    }

    pub(crate) fn drain(&mut self) -> Vec<Entry> {
        self.entries.drain().map(|(_, entry)| entry).collect()
    }
}

impl Entry {
    /// Cancels the socket's waiting calls and watcher, waits until they have replied and let go
    /// of the socket, then closes the descriptor. Returns false if the fd could not be closed
    /// at once (logged: it means some task still held it).
    pub(crate) async fn close(self) -> bool {
        self.token.cancel();
        self.tracker.close();
        self.tracker.wait().await;
        let id = self.handle.id;
        let closed = self.handle.close();
        if !closed {
            tracing::error!(socket = %id, "socket still referenced after its tasks ended; fd closes later");
        }
        closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use socket2::{Domain, Type};

    fn os() -> socket2::Socket {
        socket2::Socket::new(Domain::IPV4, Type::STREAM, None).unwrap()
    }

    #[tokio::test]
    async fn ids_count_from_one_and_are_never_reused() {
        let token = CancellationToken::new();
        let mut table = SocketTable::default();
        let a = table
            .insert(os(), Family::Ipv4, SocketType::Stream, &token)
            .unwrap();
        let b = table
            .insert(os(), Family::Ipv4, SocketType::Stream, &token)
            .unwrap();
        assert_eq!((a.handle.id, b.handle.id), (SocketId(1), SocketId(2)));
        table.remove(SocketId(2)).unwrap().close().await;
        let c = table
            .insert(os(), Family::Ipv4, SocketType::Stream, &token)
            .unwrap();
        assert_eq!(c.handle.id, SocketId(3));
        assert!(table.get(SocketId(2)).is_none());
    }

    #[tokio::test]
    async fn a_full_table_refuses_another_socket() {
        let token = CancellationToken::new();
        let mut table = SocketTable::new(2);
        table
            .insert(os(), Family::Ipv4, SocketType::Stream, &token)
            .unwrap();
        table
            .insert(os(), Family::Ipv4, SocketType::Stream, &token)
            .unwrap();
        let refused = table.insert(os(), Family::Ipv4, SocketType::Stream, &token);
        assert_eq!(refused.unwrap_err().rule, "too_many_sockets");
        assert_eq!(table.load().sockets, 2);
        table.remove(SocketId(1)).unwrap().close().await;
        let entry = table
            .insert(os(), Family::Ipv4, SocketType::Stream, &token)
            .unwrap();
        assert_eq!(entry.handle.id, SocketId(3));
    }

    #[tokio::test]
    async fn closing_an_entry_really_closes_its_descriptor() {
        let token = CancellationToken::new();
        let mut table = SocketTable::default();
        let entry = table
            .insert(os(), Family::Ipv4, SocketType::Stream, &token)
            .unwrap();
        entry.handle.reactor().unwrap();
        let removed = table.remove(entry.handle.id).unwrap();
        drop(entry);
        assert!(removed.close().await);
    }
}
