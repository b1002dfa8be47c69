//! A class on one relay (issue 14): `learners` sessions of a relay that isolates them
//! (`--isolate-sessions`: each session a network namespace of its own, with its lesson
//! services) and keeps their progress (`--class`, in a scratch SQLite file), all joining and
//! doing lesson 7's exercise at once: a listener on 127.0.0.1:8080 (the same
//! port in every session, as only isolation allows), two clients connected and two accept()s,
//! then everything closed. Reported: the reply time of every call, p50 and p99, against the
//! same exercise by one learner alone on the same relay; and how long opening a session takes
//! (its namespace and lesson services are made then), p50 and p99.

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, bail};
use socketlab_shared::{Done, Op, SocketType, ToRelay};

use crate::client::Session;
use crate::measure::{Samples, Summary, ms, us};
use crate::relay_process::RelayProcess;

/// The class: `learners` at once against one lone learner, on an isolating relay.
pub(crate) async fn report(
    summary: &mut Summary,
    binary: &Path,
    dist: &Path,
    learners: usize,
) -> Result<()> {
    summary.heading(
        "A class on one relay (--isolate-sessions: a namespace per session; --class: progress kept)",
    );
    let db = std::env::temp_dir().join(format!(
        "socketlab-bench-class-{}.sqlite",
        std::process::id()
    ));
    let db_text = db.to_string_lossy().into_owned();
    let relay = RelayProcess::start_with(
        binary,
        dist,
        learners,
        &["--isolate-sessions", "--class", "--class-db", &db_text],
    )?;
    let (alone, _) = class(&relay, 1).await?;
    let (loaded, opening) = class(&relay, learners).await?;
    summary.line(format!(
        "{learners:6} learners doing lesson 7's exercise at once: reply p50 {:.0} us, p99 {:.0} us (one learner alone: p50 {:.0} us, p99 {:.0} us; x{:.1} at p99); opening a session p50 {:.1} ms, p99 {:.1} ms",
        us(loaded.p50()),
        us(loaded.p99()),
        us(alone.p50()),
        us(alone.p99()),
        us(loaded.p99()) / us(alone.p99()).max(1.0),
        ms(opening.p50()),
        ms(opening.p99()),
    ));
    drop(relay);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{db_text}{suffix}"));
    }
    Ok(())
}

/// `learners` sessions opened and doing the exercise at once, each in its own task: every
/// reply time, and every session's opening time.
async fn class(relay: &RelayProcess, learners: usize) -> Result<(Samples, Samples)> {
    let mut tasks = Vec::with_capacity(learners);
    for learner in 0..learners {
        let address = relay.address.clone();
        let token = relay.token();
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            let mut session = Session::start(&address, token).await?;
            // As the page does in class mode: join, say the lesson, then the exercise passed.
            session.join(&format!("learner {learner}")).await?;
            let opened = started.elapsed();
            session
                .tell(&ToRelay::Lesson {
                    slug: "server-life".into(),
                })
                .await?;
            let replies = lesson_seven(&mut session).await?;
            session
                .tell(&ToRelay::Passed {
                    exercise: "accept-two-clients".into(),
                    evidence: "two accepted".into(),
                })
                .await?;
            session.close().await?;
            anyhow::Ok((replies, opened))
        }));
    }
    let (mut replies, mut opening) = (Samples::default(), Samples::default());
    for task in tasks {
        let (samples, opened) = task.await??;
        replies.extend(samples);
        opening.push(opened);
    }
    Ok((replies, opening))
}

/// Lesson 7's exercise: socket, bind 127.0.0.1:8080, listen; twice a client's socket and
/// connect, and an accept; then close every socket. Each call's reply time.
async fn lesson_seven(session: &mut Session) -> Result<Samples> {
    let mut samples = Samples::default();
    let mut timed = async |session: &mut Session, op: Op| {
        let started = Instant::now();
        let done = session.ok(op).await;
        samples.push(started.elapsed());
        done
    };
    let listener = session.socket(SocketType::Stream).await?;
    timed(
        session,
        Op::Bind {
            socket: listener,
            address: "127.0.0.1:8080".into(),
        },
    )
    .await?;
    timed(
        session,
        Op::Listen {
            socket: listener,
            backlog: 16,
        },
    )
    .await?;
    let mut sockets = vec![listener];
    for _ in 0..2 {
        let client = session.socket(SocketType::Stream).await?;
        timed(
            session,
            Op::Connect {
                socket: client,
                address: "127.0.0.1:8080".into(),
            },
        )
        .await?;
        match timed(session, Op::Accept { socket: listener }).await? {
            Done::Accept { socket, .. } => sockets.push(socket),
            other => bail!("accept() returned {other:?}"),
        }
        sockets.push(client);
    }
    for socket in sockets {
        timed(session, Op::Close { socket }).await?;
    }
    Ok(samples)
}
