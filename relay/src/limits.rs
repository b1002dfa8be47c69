//! Limits that hold under abuse: every count, size, rate and timeout the relay enforces, in one
//! place, each with its default and its flag (`socketlab-relay --help` prints every default).
//!
//! Why each exists is in docs/security.md; in short: no page, however hostile, can make the
//! relay hold unbounded memory, descriptors or tasks, run calls faster than a person clicks,
//! scan ports quickly, or keep a half-open HTTP request or a forgotten session forever.

use std::time::Duration;

use clap::builder::RangedU64ValueParser;
use socketlab_shared::Op;
use tokio::time::Instant;

use crate::refusal::Refusal;

/// The most bytes one `recv`/`recvfrom` may ask for, and one `send`/`sendto` may carry.
/// 64 KiB is the largest UDP datagram, so no lesson needs more in one call. Fixed (not a flag):
/// the message size limit below is derived from it.
pub(crate) const MAX_IO_BYTES: u32 = 64 * 1024;

/// How many messages may wait for a session's writer before whoever sends waits too. Each
/// holds at most one [`MAX_IO_BYTES`] payload, so a session's queue is at most 4 MiB.
pub(crate) const OUTBOX_CAPACITY: usize = 64;

/// A session's WebSocket read buffer, allocated when it opens, and the size its writes gather
/// to before they go out (each message is flushed anyway). tungstenite's default is 128 KiB
/// each, which made an idle session cost ~160 KiB; the page's calls are a few hundred bytes (a
/// read of 1 KiB holds one whole), and a larger message (up to `max_message_bytes`) still
/// arrives: the buffer grows for it. 4 KiB cost an idle session 3 KiB more.
pub(crate) const WS_BUFFER_BYTES: usize = 1024;

/// How many endpoints a session keeps as "released" (closed, still its own to connect to while
/// no one else holds them), the oldest forgotten first. Enough for every lesson's closes; few
/// enough that a sweep of bind+close over the port range leaves almost nothing behind.
pub(crate) const MAX_RELEASED: usize = 64;

const DEFAULT_MAX_SESSIONS: usize = 16;
const DEFAULT_MAX_CONNECTIONS: usize = 1024;
const DEFAULT_MAX_SOCKETS: usize = 64;
const DEFAULT_MAX_WAITING_CALLS: usize = 32;
/// A 64 KiB send is 128 KiB of hex plus a little JSON; anything far larger is not a call.
const DEFAULT_MAX_MESSAGE_BYTES: usize = 256 * 1024;
const DEFAULT_CALLS_PER_SECOND: u32 = 200;
const DEFAULT_CONNECTS_PER_SECOND: u32 = 10;
const DEFAULT_HANDSHAKE_TIMEOUT_SECS: u64 = 10;
const DEFAULT_PING_INTERVAL_SECS: u64 = 20;
const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 10 * 60;
const DEFAULT_MAX_SESSION_SECS: u64 = 8 * 60 * 60;

/// Every limit, with its default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Browser sessions (open WebSockets) at once; one more is told goodbye and closed with
    /// WebSocket close code 1013 (try again later).
    pub max_sessions: usize,
    /// HTTP connections being served at once (before a WebSocket upgrade, or serving files).
    /// At the limit the relay stops accepting until one ends; the kernel's backlog holds the
    /// rest, and the handshake timeout makes sure one ends soon.
    pub max_connections: usize,
    /// Sockets one session may hold; `socket()` or `accept()` beyond it is refused
    /// (`too_many_sockets`), like EMFILE but said as a relay limit.
    pub max_sockets: usize,
    /// Calls of one session that may wait in the kernel at once (a pending accept, connect,
    /// send or recv); more are refused (`too_many_waiting_calls`).
    pub max_waiting_calls: usize,
    /// The largest WebSocket message (and frame) the relay reads; a larger one closes the
    /// session with close code 1009 (message too big).
    pub max_message_bytes: usize,
    /// Calls per second one session may make (a token bucket holding one second's worth);
    /// beyond it a call is refused at once (`rate_limit`). 0 turns the limit off.
    pub calls_per_second: u32,
    /// `connect()` calls per second one session may make (the scan brake); beyond it the call
    /// is refused (`connect_rate`). 0 turns the limit off.
    pub connects_per_second: u32,
    /// How long a client may take to send a complete HTTP request head; a half-open request
    /// is dropped after it (and so is an idle keep-alive connection).
    pub handshake_timeout: Duration,
    /// How often the relay pings each browser (keeps the connection and proxies awake).
    pub ping_interval: Duration,
    /// A session whose page sends no message for this long is told goodbye and closed.
    pub idle_timeout: Duration,
    /// No session lives longer than this, however busy.
    pub max_session: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_sockets: DEFAULT_MAX_SOCKETS,
            max_waiting_calls: DEFAULT_MAX_WAITING_CALLS,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            calls_per_second: DEFAULT_CALLS_PER_SECOND,
            connects_per_second: DEFAULT_CONNECTS_PER_SECOND,
            handshake_timeout: Duration::from_secs(DEFAULT_HANDSHAKE_TIMEOUT_SECS),
            ping_interval: Duration::from_secs(DEFAULT_PING_INTERVAL_SECS),
            idle_timeout: Duration::from_secs(DEFAULT_IDLE_TIMEOUT_SECS),
            max_session: Duration::from_secs(DEFAULT_MAX_SESSION_SECS),
        }
    }
}

/// The limit flags of `socketlab-relay`.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Browser sessions at once; one more is closed with code 1013 (try again later).
    #[arg(long, default_value_t = DEFAULT_MAX_SESSIONS, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_sessions: usize,
    /// HTTP connections served at once (half-open requests included).
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections: usize,
    /// Sockets one session may hold (socket() and accept() beyond it are refused).
    #[arg(long, default_value_t = DEFAULT_MAX_SOCKETS)]
    pub max_sockets: usize,
    /// Calls of one session that may wait in the kernel at once.
    #[arg(long, default_value_t = DEFAULT_MAX_WAITING_CALLS)]
    pub max_waiting_calls: usize,
    /// Largest WebSocket message in bytes; a larger one closes the session with code 1009.
    #[arg(long, default_value_t = DEFAULT_MAX_MESSAGE_BYTES, value_parser = RangedU64ValueParser::<usize>::new().range(1024..))]
    pub max_message_bytes: usize,
    /// Calls per second per session (0: no limit); excess calls are refused.
    #[arg(long, default_value_t = DEFAULT_CALLS_PER_SECOND)]
    pub calls_per_second: u32,
    /// connect() calls per second per session (0: no limit), a brake on port scans.
    #[arg(long, default_value_t = DEFAULT_CONNECTS_PER_SECOND)]
    pub connects_per_second: u32,
    /// Seconds a client may take to send an HTTP request head.
    #[arg(long, default_value_t = DEFAULT_HANDSHAKE_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub handshake_timeout_secs: u64,
    /// Seconds between WebSocket pings to each browser.
    #[arg(long, default_value_t = DEFAULT_PING_INTERVAL_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub ping_interval_secs: u64,
    /// Seconds without a message from the page before its session is closed.
    #[arg(long, default_value_t = DEFAULT_IDLE_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_secs: u64,
    /// Seconds any session may last.
    #[arg(long, default_value_t = DEFAULT_MAX_SESSION_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_session_secs: u64,
}

/// The longest timeout the relay uses: a year is "never" for a lesson, and "now + timeout"
/// must stay representable (an `Instant` plus `u64::MAX` seconds would overflow).
const LONGEST: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// A flag's seconds as a duration, at most [`LONGEST`].
fn seconds(value: u64) -> Duration {
    Duration::from_secs(value).min(LONGEST)
}

/// `duration` from now, with any duration (a library user may set `Duration::MAX`) capped at
/// [`LONGEST`].
pub(crate) fn from_now(duration: Duration) -> Instant {
    Instant::now() + duration.min(LONGEST)
}

/// `duration`, capped at [`LONGEST`], for timers that add it to "now" themselves.
pub(crate) fn capped(duration: Duration) -> Duration {
    duration.min(LONGEST)
}

impl From<LimitArgs> for Limits {
    fn from(args: LimitArgs) -> Self {
        Limits {
            max_sessions: args.max_sessions,
            max_connections: args.max_connections,
            max_sockets: args.max_sockets,
            max_waiting_calls: args.max_waiting_calls,
            max_message_bytes: args.max_message_bytes,
            calls_per_second: args.calls_per_second,
            connects_per_second: args.connects_per_second,
            handshake_timeout: seconds(args.handshake_timeout_secs),
            ping_interval: seconds(args.ping_interval_secs),
            idle_timeout: seconds(args.idle_timeout_secs),
            max_session: seconds(args.max_session_secs),
        }
    }
}

/// Raises this process's soft limit on open descriptors to its hard limit. The default soft
/// limit (often 1024) is far below what `max_connections` plus `max_sessions` x
/// `max_sockets` may need; the hard limit is what the administrator allows. Failing is only
/// logged: the relay still runs, and accept errors (EMFILE) pause its accept loop. (Windows has
/// no such limit on sockets: nothing to do there.)
#[cfg(windows)]
pub fn raise_descriptor_limit() {}

/// See the Windows twin above.
#[cfg(unix)]
pub fn raise_descriptor_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => {
            if let Err(err) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                tracing::warn!(%err, soft, hard, "cannot raise the open-files limit");
            }
        }
        Ok(_) => {}
        Err(err) => tracing::warn!(%err, "cannot read the open-files limit"),
    }
}

/// The limits' refusals, each a [`Refusal`] like the policy's.
impl Refusal {
    pub(crate) fn too_many_sockets(max: usize) -> Self {
        Refusal {
            rule: "too_many_sockets",
            reason: format!(
                "this session already holds {max} sockets, the most the relay allows one session \
                 (like EMFILE, too many open files): close one first. The relay's operator can \
                 raise it with --max-sockets."
            ),
        }
    }

    pub(crate) fn too_many_waiting_calls(max: usize) -> Self {
        Refusal {
            rule: "too_many_waiting_calls",
            reason: format!(
                "this session already has {max} calls waiting in the kernel, the most the relay \
                 keeps for one session: let one finish or close its socket. The relay's operator \
                 can raise it with --max-waiting-calls."
            ),
        }
    }

    pub(crate) fn rate_limit(per_second: u32) -> Self {
        Refusal {
            rule: "rate_limit",
            reason: format!(
                "this session made more than {per_second} calls in a second, faster than anyone \
                 clicks: the call was not made. Slow down and try again. The relay's operator \
                 can change it with --calls-per-second."
            ),
        }
    }

    pub(crate) fn connect_rate(per_second: u32) -> Self {
        Refusal {
            rule: "connect_rate",
            reason: format!(
                "this session made more than {per_second} connect() calls in a second, which \
                 looks like a port scan: the call was not made. Try again in a moment. The \
                 relay's operator can change it with --connects-per-second."
            ),
        }
    }
}

/// A token bucket: holds up to one second's worth of tokens, refills continuously, and each
/// allowed event takes one. A rate of 0 allows everything.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    per_second: u32,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket: a fresh session may start with a burst of `per_second` calls.
    pub(crate) fn new(per_second: u32, now: Instant) -> Self {
        TokenBucket {
            per_second,
            tokens: f64::from(per_second),
            last: now,
        }
    }

    pub(crate) fn per_second(&self) -> u32 {
        self.per_second
    }

    /// Takes one token if there is one at `now`.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        if self.per_second == 0 {
            return true;
        }
        let rate = f64::from(self.per_second);
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * rate).min(rate);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What a session counts to admit or refuse each call before it reaches the kernel.
#[derive(Debug)]
pub(crate) struct Admission {
    calls: TokenBucket,
    connects: TokenBucket,
    max_sockets: usize,
    max_waiting_calls: usize,
}

/// What the session's socket table holds right now.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    pub(crate) sockets: usize,
    pub(crate) waiting_calls: usize,
}

impl Admission {
    pub(crate) fn new(limits: &Limits, now: Instant) -> Self {
        Admission {
            calls: TokenBucket::new(limits.calls_per_second, now),
            connects: TokenBucket::new(limits.connects_per_second, now),
            max_sockets: limits.max_sockets,
            max_waiting_calls: limits.max_waiting_calls,
        }
    }

    /// One token of the rate limit for a frame that is not a call the relay could read (it does
    /// not decode, is binary, or is a second hello): every frame costs one, so garbage cannot be
    /// sent faster than calls.
    pub(crate) fn charge(&mut self, now: Instant) -> Result<(), Refusal> {
        if self.calls.try_take(now) {
            Ok(())
        } else {
            Err(Refusal::rate_limit(self.calls.per_second()))
        }
    }

    /// Whether `op` may go to the kernel now. Every call costs a token of the rate limit, even
    /// one refused for another reason, so refusals cannot be used to spin the relay either.
    pub(crate) fn admit(&mut self, op: &Op, load: Load, now: Instant) -> Result<(), Refusal> {
        self.charge(now)?;
        if matches!(op, Op::Connect { .. }) && !self.connects.try_take(now) {
            return Err(Refusal::connect_rate(self.connects.per_second()));
        }
        if matches!(op, Op::Socket { .. }) && load.sockets >= self.max_sockets {
            return Err(Refusal::too_many_sockets(self.max_sockets));
        }
        let may_wait = matches!(
            op,
            Op::Accept { .. }
                | Op::Connect { .. }
                | Op::Send { .. }
                | Op::Sendto { .. }
                | Op::Recv { .. }
                | Op::Recvfrom { .. }
        );
        if may_wait && load.waiting_calls >= self.max_waiting_calls {
            return Err(Refusal::too_many_waiting_calls(self.max_waiting_calls));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        limits: LimitArgs,
    }

    #[test]
    fn the_flag_defaults_are_the_library_defaults() {
        let flags = Flags::try_parse_from(["relay"]).unwrap();
        assert_eq!(Limits::from(flags.limits), Limits::default());
    }

    #[test]
    fn flags_set_each_limit() {
        let flags = Flags::try_parse_from([
            "relay",
            "--max-sessions",
            "2",
            "--max-sockets",
            "3",
            "--calls-per-second",
            "0",
            "--handshake-timeout-secs",
            "4",
        ])
        .unwrap();
        let limits = Limits::from(flags.limits);
        assert_eq!(limits.max_sessions, 2);
        assert_eq!(limits.max_sockets, 3);
        assert_eq!(limits.calls_per_second, 0);
        assert_eq!(limits.handshake_timeout, Duration::from_secs(4));
        assert!(Flags::try_parse_from(["relay", "--max-sessions", "0"]).is_err());
        let forever =
            Flags::try_parse_from(["relay", "--max-session-secs", "18446744073709551615"]);
        let forever = Limits::from(forever.unwrap().limits).max_session;
        assert!(std::time::Instant::now().checked_add(forever).is_some());
        assert!(Flags::try_parse_from(["relay", "--max-message-bytes", "10"]).is_err());
    }

    #[test]
    fn a_message_can_carry_the_largest_send() {
        // A send of MAX_IO_BYTES is twice that in hex, plus the JSON around it.
        assert!(DEFAULT_MAX_MESSAGE_BYTES > 2 * MAX_IO_BYTES as usize + 1024);
    }

    #[test]
    fn a_bucket_allows_a_burst_of_one_second_then_refills() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, start);
        let allowed = (0..100).filter(|_| bucket.try_take(start)).count();
        assert_eq!(allowed, 10, "a full bucket holds one second's worth");
        assert!(!bucket.try_take(start));
        assert!(bucket.try_take(start + Duration::from_millis(100)));
        assert!(!bucket.try_take(start + Duration::from_millis(100)));
        let later = start + Duration::from_secs(60);
        let allowed = (0..100).filter(|_| bucket.try_take(later)).count();
        assert_eq!(allowed, 10, "it never holds more than one second's worth");
    }

    fn limits(calls: u32, connects: u32) -> Limits {
        Limits {
            calls_per_second: calls,
            connects_per_second: connects,
            max_sockets: 2,
            max_waiting_calls: 1,
            ..Limits::default()
        }
    }

    const IDLE: Load = Load {
        sockets: 0,
        waiting_calls: 0,
    };

    fn connect() -> Op {
        Op::Connect {
            socket: socketlab_shared::SocketId(1),
            address: "127.0.0.1:9".into(),
        }
    }

    #[test]
    fn admission_refuses_by_rule() {
        let now = Instant::now();
        let mut admission = Admission::new(&limits(100, 1), now);
        let close = Op::Close {
            socket: socketlab_shared::SocketId(1),
        };
        assert_eq!(admission.admit(&connect(), IDLE, now), Ok(()));
        let rule = |r: Result<(), Refusal>| r.err().map(|r| r.rule);
        assert_eq!(
            rule(admission.admit(&connect(), IDLE, now)),
            Some("connect_rate")
        );
        assert_eq!(rule(admission.admit(&close, IDLE, now)), None);
        let socket = Op::Socket {
            family: socketlab_shared::Family::Ipv4,
            kind: socketlab_shared::SocketType::Stream,
        };
        let full = Load {
            sockets: 2,
            waiting_calls: 1,
        };
        assert_eq!(
            rule(admission.admit(&socket, full, now)),
            Some("too_many_sockets")
        );
        let recv = Op::Recv {
            socket: socketlab_shared::SocketId(1),
            max: 1,
        };
        assert_eq!(
            rule(admission.admit(&recv, full, now)),
            Some("too_many_waiting_calls")
        );
        assert_eq!(rule(admission.admit(&close, full, now)), None);
    }

    #[test]
    fn admission_rate_limits_every_call() {
        let now = Instant::now();
        let mut admission = Admission::new(&limits(3, 0), now);
        let refused = (0..10)
            .filter(|_| admission.admit(&connect(), IDLE, now).is_err())
            .count();
        assert_eq!(refused, 7);
    }

    #[test]
    fn a_rate_of_zero_allows_everything() {
        let now = Instant::now();
        let mut bucket = TokenBucket::new(0, now);
        assert!((0..10_000).all(|_| bucket.try_take(now)));
    }
}
