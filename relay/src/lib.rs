//! The socketlab relay: performs, for real, the socket calls a learner makes in the browser,
//! and streams the kernel's answers back over one WebSocket per browser session.
//!
//! # Shape and why
//!
//! - [`run`] (`server`) is the whole server (as in tokio's mini-redis): it takes a bound
//!   listener, so the binary and the tests start it the same way, on any port including 0, and
//!   returns its own [`RunError`]. `relay`: [`Config`] and what every session reads of the
//!   relay. The crate root only declares modules and re-exports; no module names it.
//! - `connections`: the accept loop (hyper's HTTP/1 per connection, a deadline for the request
//!   head, a cap on connections). `server`: also the axum router; `/ws` upgrades to a session,
//!   everything else is the built frontend. `access`: the one guard in front of every request
//!   (Host allowlist; Origin allowlist and the per-launch key for every session request).
//! - `session`: one task per browser session reads calls in order and wires up its parts, each
//!   with the narrow handle it needs (mini-redis's `Db`, `Connection`, `Shutdown`); no other
//!   module names the session. `outbox`: the bounded channel every part sends the browser
//!   through, drained by the session's one writer task.
//! - `syscalls`: each call goes to the kernel at once, in arrival order, on the socket's one
//!   descriptor, with a `syscalls::Context` (the socket table, the policy checkpoint, the
//!   outbox, the session's token, a connect observer). Only a call the kernel says would block
//!   (EAGAIN, EINPROGRESS) continues in a task of its socket (`syscalls::blocking`), waiting on
//!   tokio readiness (`AsyncFd`) and retrying. So the kernel sees the learner's order, the
//!   session never blocks, and a pending recv never delays a send. (The design sketch had one
//!   actor per socket and split TCP halves; readiness waits on one shared `AsyncFd` give the
//!   same independence of the two directions with less machinery, and keep every call on the
//!   very descriptor `socket()` returned.)
//! - `sockets`: the per-session table (ids from 1, never reused, never shared between sessions)
//!   and per-socket state. `events`: a watcher per socket reports what no call asked for,
//!   without reading anything. `errors`: the kernel's errno as data. `arguments`: the pure
//!   checks (address syntax, size limits) made before anything reaches the kernel. `kernel`:
//!   the two read-only looks (poll level, FIONREAD) that need `unsafe`.
//! - Safety: `policy` holds every address rule (pure), `checkpoint` puts it in front of bind,
//!   connect and sendto, `ownership` records which session holds which endpoint (protocol and
//!   address), `outside` looks up other programs' sockets in the kernel's tables, `limits` holds
//!   the counts, sizes, rates and timeouts. Both answer with the one `refusal::Refusal`, a
//!   `refused` reply, never an errno.
//! - The course (issue 5): `machine` reads the machine's port facts and `/etc/services` for
//!   the lessons; `lesson_services` runs the services on loopback that every session may
//!   reach (echo, a port forward, scan targets, knock ports: their (protocol, address) are the
//!   policy's `lesson_services`), and each session's knock door, which hears the session's
//!   connects as the connect observer the session gives its syscall context.
//! - What the kernel sees (observation only, never a change to a socket): `kernel_view` reads
//!   the kernel's socket tables for the session's sockets and sends them when they change;
//!   `capture` follows the session's packets on the loopback interface (needs CAP_NET_RAW).
//!   Both take the session's table, its ports and its outbox.
//! - Layers call down, never up: `cargo xtask cycles relay/src` shows which module names which,
//!   and a unit test of xtask fails on an import circle.
//!
//! # Cancellation tree
//!
//! server token -> one child per session -> one child per socket, with `TaskTracker`s at each
//! level. `connections` serves each HTTP connection in a tracked task and hands an upgraded one
//! to a session task (also tracked); the tokens are what end sessions: shutdown cancels the
//! server token, every session sends a close frame and closes every socket,
//! and [`run`] returns once all session tasks have finished. Closing a socket cancels its token,
//! waits for its tasks (each waiting call replies `cancelled`, exactly once), then closes the fd.
//! An HTTP connection gets hyper's graceful shutdown on the server token (2 s at most); axum's
//! `on_upgrade` task is tracked too (`track_future`). A session's kernel-view and capture tasks
//! run in the server's tracker (the kernel view ends with the session token, capture with its
//! own child of it), and so do the lesson services' accept loops, echo connections and UDP
//! loop: `run` returns only after they have all closed their sockets.
//!
//! # Failure tiers
//!
//! A refused syscall is a normal reply, and so is a refusal by the policy or a limit. A message
//! that cannot be decoded gets an `invalid` reply (if it has an id) or `malformed`, and the
//! session goes on. A bug (panic) or a broken
//! transport ends that one session, whose sockets are closed; never the process.

mod access;
mod arguments;
mod capture;
mod checkpoint;
mod class;
mod connect_grant;
mod connections;
mod course;
mod errors;
mod events;
mod isolation;
mod kernel;
mod kernel_view;
mod lesson_services;
mod limits;
mod machine;
mod os_codes;
mod outbox;
mod outside;
mod ownership;
mod page;
mod policy;
mod refusal;
mod relay;
mod server;
mod session;
mod sockets;
mod syscalls;

pub use access::{
    AccessArgs, AccessConfig, AccessError, AllowedHost, ClassCode, Origin, Token, browser_url,
};
pub use class::{ClassArgs, ClassConfig, ClassError};
pub use isolation::{
    Isolation, IsolationArgs, IsolationError, check as check_isolation,
    prepare as prepare_isolation,
};
pub use lesson_services::LessonConfig;
pub use limits::{LimitArgs, Limits, raise_descriptor_limit};
pub use page::{EmbeddedPage, Page, write_embedded};
pub use policy::{ConnectGrant, PolicyArgs, PolicyConfig};
pub use relay::Config;
pub use server::{RunError, run};
pub use session::decode_message;
