//! A network namespace of one session's own (`--isolate-sessions`, issue 14): a fresh Linux
//! network namespace with only `lo`, brought up, made when the session opens and gone when it
//! ends. One thread of the relay lives in it (`unshare(CLONE_NEWNET)` on that thread only) and
//! does what must happen inside: `socket()` (a socket belongs to the namespace it was made in,
//! whichever thread uses it later, so tokio drives it like any other), and reading the
//! namespace's own socket tables (`/proc/<thread>/net/...`). The namespace lives while that
//! thread or any socket made in it does: dropping [`Namespace`] ends the thread, and the kernel
//! frees the namespace when the session's last socket is closed.
//!
//! Making one needs CAP_SYS_ADMIN (root). Where it cannot be made the relay refuses
//! `--isolate-sessions` at start with the kernel's reason ([`available`]), never falling back to
//! the shared network silently. This module's `unsafe` is the two ioctls that bring `lo` up.
#![allow(unsafe_code)]

use std::io;
use std::sync::mpsc;

/// Work for the namespace's thread.
type Job = Box<dyn FnOnce() + Send>;

/// The hash-table size each session's namespace gets for its own TCP and UDP sockets.
const CHILD_HASH_ENTRIES: &str = "1024";

/// The namespace every session's namespace is made from: one of the relay's own, where
/// `net.ipv4.tcp_child_ehash_entries` and `udp_child_hash_entries` are set, so that each
/// namespace made from it gets hash tables of its own, [`CHILD_HASH_ENTRIES`] buckets, instead
/// of sharing the machine's (262,144 buckets on a 24 GiB machine, which every read of a
/// session's `/proc/<tid>/net/tcp` would walk: milliseconds each, for a session holding a few
/// sockets). The machine's own settings are not touched. `None` when it cannot be made (a
/// kernel before 6.1 has no such setting): then namespaces are made from the relay's own.
fn seed() -> Option<&'static std::fs::File> {
    static SEED: std::sync::OnceLock<Option<(Namespace, std::fs::File)>> =
        std::sync::OnceLock::new();
    SEED.get_or_init(|| {
        let made = Namespace::from(None, "socketlab-seed").and_then(|seed| {
            let file = seed.run(|| {
                for table in ["tcp_child_ehash_entries", "udp_child_hash_entries"] {
                    std::fs::write(
                        format!("/proc/sys/net/ipv4/{table}"),
                        CHILD_HASH_ENTRIES,
                    )?;
                }
                std::fs::File::open("/proc/thread-self/ns/net")
            })??;
            Ok((seed, file))
        });
        made.inspect_err(|err| {
            tracing::debug!(%err, "no seed namespace; sessions' namespaces share the machine's hash tables");
        })
        .ok()
    })
    .as_ref()
    .map(|(_, file)| file)
}

/// A network namespace and the thread that lives in it.
#[derive(Debug)]
pub(crate) struct Namespace {
    jobs: Option<mpsc::Sender<Job>>,
    /// The thread's kernel id: `/proc/<tid>/net` is the namespace's view.
    tid: i32,
    /// The namespace's inode (`/proc/<tid>/ns/net`), which names it in `ip netns identify`
    /// and lets a test see it gone.
    inode: u64,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Namespace {
    /// Makes a new network namespace with `lo` up (from the seed namespace, where there is
    /// one: see [`seed`]).
    pub(crate) fn new() -> io::Result<Namespace> {
        Namespace::from(seed(), "socketlab-netns")
    }

    /// Makes a new network namespace with `lo` up, from the namespace `from` names (the
    /// calling thread's when `None`).
    fn from(from: Option<&'static std::fs::File>, name: &str) -> io::Result<Namespace> {
        let (ready, made) = mpsc::channel::<io::Result<(i32, u64)>>();
        let (jobs, work) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let entered = enter_new_namespace(from);
                let ok = entered.is_ok();
                if ready.send(entered).is_err() || !ok {
                    return;
                }
                // Each job runs inside the namespace, in order; the thread ends (and leaves the
                // namespace to its sockets) when the session drops its sender.
                while let Ok(job) = work.recv() {
                    job();
                }
            })?;
        let (tid, inode) = match made.recv() {
            Ok(Ok(ids)) => ids,
            Ok(Err(err)) => {
                let _ = thread.join();
                return Err(err);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(io::Error::other("the namespace's thread ended at once"));
            }
        };
        Ok(Namespace {
            jobs: Some(jobs),
            tid,
            inode,
            thread: Some(thread),
        })
    }

    /// Runs `job` inside the namespace and returns what it returned. Blocking, but only for the
    /// job: these are single syscalls and `/proc` reads.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> io::Result<T> {
        let (done, answer) = mpsc::sync_channel(1);
        let jobs = self
            .jobs
            .as_ref()
            .ok_or_else(|| io::Error::other("the namespace is closing"))?;
        jobs.send(Box::new(move || {
            let _ = done.send(job());
        }))
        .map_err(|_| io::Error::other("the namespace's thread has ended"))?;
        answer
            .recv()
            .map_err(|_| io::Error::other("the namespace's thread ended during the job"))
    }

    /// A new socket inside the namespace.
    pub(crate) fn socket(
        &self,
        domain: socket2::Domain,
        ty: socket2::Type,
    ) -> io::Result<socket2::Socket> {
        self.run(move || socket2::Socket::new(domain, ty, None))?
    }

    /// The namespace thread's id, for `/proc/<tid>/net/...`.
    pub(crate) fn tid(&self) -> i32 {
        self.tid
    }

    /// The namespace's inode number (as `/proc/<pid>/ns/net` links to `net:[INODE]`).
    pub(crate) fn inode(&self) -> u64 {
        self.inode
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop; a job in progress finishes first.
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Moves the calling thread into a new network namespace (made while in `from`, when given)
/// and brings its `lo` up; the thread's id and the namespace's inode.
fn enter_new_namespace(from: Option<&std::fs::File>) -> io::Result<(i32, u64)> {
    if let Some(from) = from {
        nix::sched::setns(from, nix::sched::CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
    }
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
    loopback_up()?;
    let tid = nix::unistd::gettid().as_raw();
    let inode = nix::sys::stat::stat("/proc/thread-self/ns/net")
        .map_err(io::Error::from)?
        .st_ino;
    Ok((tid, inode))
}

/// `ip link set lo up` in the calling thread's namespace: SIOCGIFFLAGS, then SIOCSIFFLAGS with
/// IFF_UP added, on a datagram socket of that namespace.
fn loopback_up() -> io::Result<()> {
    use std::os::fd::AsRawFd as _;
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    // SAFETY: ifreq is a plain C struct (a name and a union of integers and addresses), for
    // which all zero bytes are valid.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = libc::c_char::try_from(*byte).unwrap_or(0);
    }
    // SAFETY: SIOCGIFFLAGS reads the interface name from `request` and writes its flags into
    // it; `request` is alive and writable for the whole call and the descriptor is open.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the union's flags member is the one SIOCGIFFLAGS just filled.
    unsafe {
        request.ifr_ifru.ifru_flags |= libc::c_short::try_from(libc::IFF_UP).unwrap_or(1);
    }
    // SAFETY: as above; SIOCSIFFLAGS only reads `request`.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &request) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether this relay can give each session a namespace: makes one and lets it go. The
/// error says why not, in the kernel's words and what would allow it.
pub(crate) fn available() -> Result<(), String> {
    match Namespace::new() {
        Ok(_) => Ok(()),
        Err(err) if err.raw_os_error() == Some(libc::EPERM) => Err(format!(
            "making a network namespace was refused ({err}): --isolate-sessions needs the relay \
             to run as root, or as a user the kernel gives a user namespace"
        )),
        Err(err) => Err(format!(
            "this kernel cannot make a network namespace ({err}): --isolate-sessions needs \
             CONFIG_NET_NS"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Namespaces need root here, as in CI; a machine without it fails saying so.
    fn namespace() -> Namespace {
        Namespace::new().unwrap_or_else(|err| {
            panic!("cannot make a network namespace ({err}): run the tests as root, as CI does")
        })
    }

    #[test]
    fn two_namespaces_each_bind_the_same_loopback_port() {
        let (a, b) = (namespace(), namespace());
        let bind = |ns: &Namespace| {
            let socket = ns.socket(socket2::Domain::IPV4, socket2::Type::STREAM)?;
            socket.bind(
                &"127.0.0.1:8080"
                    .parse::<std::net::SocketAddr>()
                    .unwrap()
                    .into(),
            )?;
            socket.listen(1)?;
            io::Result::Ok(socket)
        };
        let first = bind(&a).expect("8080 in the first namespace");
        let second = bind(&b).expect("8080 in the second namespace, at the same time");
        // The control: a second bind inside one namespace meets the first.
        let again = bind(&a).expect_err("8080 twice in one namespace");
        assert_eq!(again.raw_os_error(), Some(libc::EADDRINUSE));
        assert_ne!(a.inode(), b.inode());
        drop((first, second));
    }

    #[test]
    fn a_namespace_has_only_loopback_and_it_is_up() {
        let ns = namespace();
        let links = std::fs::read_to_string(format!("/proc/{}/net/dev", ns.tid())).expect("dev");
        let names: Vec<&str> = links
            .lines()
            .skip(2)
            .filter_map(|l| l.split(':').next())
            .map(str::trim)
            .collect();
        assert_eq!(names, ["lo"], "{links}");
        // Up: a connect on loopback inside reaches a listener inside.
        let listener = ns
            .socket(socket2::Domain::IPV4, socket2::Type::STREAM)
            .unwrap();
        listener
            .bind(
                &"127.0.0.1:0"
                    .parse::<std::net::SocketAddr>()
                    .unwrap()
                    .into(),
            )
            .unwrap();
        listener.listen(1).unwrap();
        let address = listener.local_addr().unwrap();
        let client = ns
            .socket(socket2::Domain::IPV4, socket2::Type::STREAM)
            .unwrap();
        client.connect(&address).expect("loopback is up inside");
    }

    #[test]
    fn a_sessions_namespace_has_small_hash_tables_of_its_own() {
        // Made from the seed namespace: its own tables, so a read of its TCP table is short,
        // and the machine's setting is untouched.
        assert!(
            seed().is_some(),
            "the seed namespace (a kernel of 6.1 or later)"
        );
        let ns = namespace();
        let read = ns
            .run(|| std::fs::read_to_string("/proc/sys/net/ipv4/tcp_ehash_entries"))
            .expect("run")
            .expect("read");
        assert_eq!(read.trim(), "1024", "the session's own hash table");
        let host = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_child_ehash_entries")
            .expect("the machine's setting");
        assert_eq!(host.trim(), "0", "the machine's setting untouched");
    }

    #[test]
    fn a_dropped_namespace_leaves_no_thread_behind() {
        let ns = namespace();
        let task = format!("/proc/self/task/{}", ns.tid());
        assert!(std::path::Path::new(&task).exists());
        drop(ns);
        assert!(!std::path::Path::new(&task).exists(), "{task} still there");
    }
}
