//! One read of the kernel's tables for every session that asked before it started. Each
//! session's view looks after each reply it sent; read apart, 1,000 busy sessions would each
//! parse the whole of `/proc/net` (a line per socket of the machine) after every call, n² in
//! all. Here a look takes a ticket (the moment it asked) and is served by the first read that
//! started at or after it: while one read runs, everyone who asks meanwhile waits for the next,
//! and that one read serves them all. No look is ever served from a read that began before it
//! asked, so a reply's effect (the socket it made, the TIME_WAIT its close left) is always in
//! the rows the look gets, exactly as when each session read alone.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use super::rows::Row;

/// The last read, and the lock that makes reads one at a time.
#[derive(Debug, Default)]
pub(super) struct SharedReads {
    last: tokio::sync::Mutex<Option<Read>>,
}

#[derive(Debug)]
struct Read {
    started: Instant,
    tcp: bool,
    udp: bool,
    rows: Arc<Vec<Row>>,
}

impl SharedReads {
    /// The rows of a read of (at least) the tables asked for that started at or after `asked`,
    /// made with `read(tcp, udp)` on a blocking thread if the last one does not qualify. A new
    /// read also covers the tables the last one did, so sessions of both kinds share it.
    pub(super) async fn since<F>(
        &self,
        asked: Instant,
        tcp: bool,
        udp: bool,
        read: F,
    ) -> io::Result<Arc<Vec<Row>>>
    where
        F: FnOnce(bool, bool) -> io::Result<Vec<Row>> + Send + 'static,
    {
        let mut last = self.last.lock().await;
        if let Some(done) = last.as_ref()
            && done.started >= asked
            && (done.tcp || !tcp)
            && (done.udp || !udp)
        {
            return Ok(done.rows.clone());
        }
        let (tcp, udp) = match last.as_ref() {
            Some(done) => (tcp || done.tcp, udp || done.udp),
            None => (tcp, udp),
        };
        let started = Instant::now();
        let rows = tokio::task::spawn_blocking(move || read(tcp, udp))
            .await
            .map_err(io::Error::other)??;
        let rows = Arc::new(rows);
        *last = Some(Read {
            started,
            tcp,
            udp,
            rows: rows.clone(),
        });
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use super::SharedReads;

    const WITHIN: Duration = Duration::from_secs(10);

    /// A read that counts itself and returns no rows.
    fn counted(
        reads: &Arc<AtomicUsize>,
    ) -> impl FnOnce(bool, bool) -> std::io::Result<Vec<super::Row>> + Send + 'static {
        let reads = reads.clone();
        move |_, _| {
            reads.fetch_add(1, Ordering::SeqCst);
            Ok(Vec::new())
        }
    }

    #[tokio::test]
    async fn looks_that_asked_before_a_read_started_share_it_and_later_ones_get_a_new_one() {
        let shared = Arc::new(SharedReads::default());
        let reads = Arc::new(AtomicUsize::new(0));
        // Eight looks that all asked before any read: one read serves them all.
        let asked = Instant::now();
        let mut looks = Vec::new();
        for _ in 0..8 {
            let (shared, read) = (shared.clone(), counted(&reads));
            looks.push(tokio::spawn(async move {
                shared.since(asked, false, true, read).await
            }));
        }
        for look in looks {
            tokio::time::timeout(WITHIN, look)
                .await
                .expect("a look")
                .expect("task")
                .expect("rows");
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1, "one read for eight looks");
        // A look that asks after that read started is never served by it.
        let later = Instant::now();
        let read = counted(&reads);
        tokio::time::timeout(WITHIN, shared.since(later, false, true, read))
            .await
            .expect("a look")
            .expect("rows");
        assert_eq!(
            reads.load(Ordering::SeqCst),
            2,
            "a fresh read for a later look"
        );
        // Nor by a read of other tables: UDP rows do not answer a look for TCP.
        let read = counted(&reads);
        tokio::time::timeout(WITHIN, shared.since(asked, true, false, read))
            .await
            .expect("a look")
            .expect("rows");
        assert_eq!(reads.load(Ordering::SeqCst), 3, "TCP was not read yet");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_socket_made_before_the_look_asked_is_in_its_rows() {
        let shared = SharedReads::default();
        let read = |tcp, udp| super::super::tables::read(crate::isolation::Network::Host, tcp, udp);
        tokio::time::timeout(WITHIN, shared.since(Instant::now(), false, true, read))
            .await
            .expect("a look")
            .expect("rows");
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let inode = crate::kernel::inode(&socket2::Socket::from(socket.try_clone().expect("dup")))
            .expect("inode");
        let rows = tokio::time::timeout(WITHIN, shared.since(Instant::now(), false, true, read))
            .await
            .expect("a look")
            .expect("rows");
        assert!(
            rows.iter().any(|row| row.inode == inode),
            "the new socket is in a look that asked after it was made"
        );
    }
}
