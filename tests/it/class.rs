//! Class mode (`--class`, issue 14) through the real relay: learners join with a name, their
//! page says which lesson is open and which exercise passed, the relay counts the calls the
//! kernel or the policy refused in a lesson; the teacher's board (JSON) and its CSV show it,
//! only to the teacher's key; the record is an SQLite file that survives a restart of the relay.

use std::path::PathBuf;

use socketlab_relay::{ClassCode, ClassConfig, Config, Token};
use socketlab_shared::class::{Board, BoardRow};
use socketlab_shared::{Family, FromRelay, Op, SocketType, ToRelay};

use crate::relay_binary::get_with;
use crate::support::{Client, Relay};

/// A class database of this test's own, removed when dropped.
pub(crate) struct Db(PathBuf);

impl Db {
    pub(crate) fn new(name: &str) -> Db {
        let path = std::env::temp_dir().join(format!(
            "socketlab-class-{name}-{}.sqlite",
            std::process::id()
        ));
        Db(path).clean()
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        &self.0
    }

    fn clean(self) -> Db {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
        self
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

pub(crate) fn class_config(db: &Db) -> ClassConfig {
    ClassConfig {
        db: db.0.clone(),
        stuck_after: std::time::Duration::from_secs(600),
        stuck_failures: 3,
        teacher: Token::random().expect("a teacher key"),
        code: ClassCode::random().expect("a class code"),
    }
}

async fn class_relay(class: ClassConfig) -> Relay {
    Relay::start_with(Config {
        class: Some(class),
        ..Config::default()
    })
    .await
}

/// A learner's session, joined as `name`.
pub(crate) async fn learner(relay: &Relay, name: &str) -> Client {
    let mut client = relay.client().await;
    client.send(&ToRelay::Join { name: name.into() }).await;
    let joined = client
        .wait_for("joined", |m| match m {
            FromRelay::Joined { name } => Some(Ok(name.clone())),
            FromRelay::Malformed { reason } => Some(Err(reason.clone())),
            _ => None,
        })
        .await;
    let joined = joined.unwrap_or_else(|reason| panic!("{name} could not join: {reason}"));
    assert!(
        joined.eq_ignore_ascii_case(name),
        "joined as {joined:?}, asked {name:?}"
    );
    client
}

/// GET `path` with exactly this `Authorization` header: the status line and the body.
pub(crate) async fn get_with_authorization(
    relay: &Relay,
    path: &str,
    authorization: &str,
) -> (String, String) {
    let (head, body) = get_with(
        relay.addr,
        path,
        &format!("Authorization: {authorization}\r\n"),
    )
    .await;
    (head.lines().next().unwrap_or_default().to_owned(), body)
}

/// GET `path` with `Authorization: Bearer key` (or none): the status line and the body.
pub(crate) async fn teacher_get(relay: &Relay, path: &str, key: Option<&str>) -> (String, String) {
    let extra = key.map_or_else(String::new, |key| {
        format!("Authorization: Bearer {key}\r\n")
    });
    let (head, body) = get_with(relay.addr, path, &extra).await;
    (head.lines().next().unwrap_or_default().to_owned(), body)
}

/// The board, read until `wanted` holds (the page's messages are not answered, so the test
/// reads until the record shows them).
pub(crate) async fn board_until(
    relay: &Relay,
    key: &str,
    what: &str,
    wanted: impl Fn(&Board) -> bool,
) -> Board {
    let mut last = None;
    let found = tokio::time::timeout(crate::support::STEP, async {
        loop {
            let (status, body) = teacher_get(relay, "/teacher/board.json", Some(key)).await;
            assert!(status.contains(" 200 "), "{status}: {body}");
            let board: Board = serde_json::from_str(&body).expect("the board's JSON");
            if wanted(&board) {
                return board;
            }
            last = Some(board);
            // The relay records off its threads: read again.
            tokio::task::yield_now().await;
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("the board never showed {what}; the last was {last:#?}"))
}

pub(crate) fn row<'a>(board: &'a Board, name: &str) -> &'a BoardRow {
    board
        .learners
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("{name} is not on the board: {board:#?}"))
}

#[tokio::test]
async fn a_learners_lesson_and_passed_exercise_reach_the_teachers_board_and_csv() {
    let db = Db::new("board");
    let class = class_config(&db);
    let key = class.teacher.as_str().to_owned();
    let relay = class_relay(class).await;
    let mut ada = learner(&relay, "Ada").await;
    let mut grace = learner(&relay, "Grace").await;
    ada.send(&ToRelay::Lesson {
        slug: "server-life".into(),
    })
    .await;
    ada.send(&ToRelay::Passed {
        exercise: "accept-two-clients".into(),
        evidence: "Listening s1 accepted s2 and s3".into(),
    })
    .await;
    grace
        .send(&ToRelay::Lesson {
            slug: "client-life".into(),
        })
        .await;
    let board = board_until(&relay, &key, "Ada's exercise and Grace's lesson", |b| {
        b.learners.len() == 2 && !row(b, "Ada").done.is_empty() && row(b, "Grace").lesson.is_some()
    })
    .await;
    let (a, g) = (row(&board, "Ada"), row(&board, "Grace"));
    assert_eq!(a.lesson.as_deref(), Some("server-life"));
    assert_eq!(a.done, ["accept-two-clients"]);
    assert!(a.online && g.online);
    assert!(g.done.is_empty());
    assert_eq!(board.learners[0].name, "Ada", "in the order they joined");

    // The CSV says the same.
    let (status, csv) = teacher_get(&relay, "/teacher/class.csv", Some(&key)).await;
    assert!(status.contains(" 200 "), "{status}");
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "learner,online,lesson,exercises_done,done,last_progress_ms,failures,stuck"
    );
    assert!(
        lines[1].starts_with("Ada,true,server-life,1,accept-two-clients,"),
        "{csv}"
    );
    assert!(lines[2].starts_with("Grace,true,client-life,0,,"), "{csv}");

    // Ada leaves: offline on the board, her progress kept.
    within_hang_up(ada).await;
    let board = board_until(&relay, &key, "Ada offline", |b| !row(b, "Ada").online).await;
    assert_eq!(row(&board, "Ada").done, ["accept-two-clients"]);
    relay.stop().await;
}

async fn within_hang_up(client: Client) {
    crate::support::within("the session's end", client.hang_up()).await;
}

#[tokio::test]
async fn refused_calls_in_a_lesson_make_a_learner_look_stuck() {
    let db = Db::new("stuck");
    let class = class_config(&db);
    let key = class.teacher.as_str().to_owned();
    let relay = class_relay(class).await;
    let mut ada = learner(&relay, "Ada").await;
    ada.send(&ToRelay::Lesson {
        slug: "port-conflicts".into(),
    })
    .await;
    let first = ada.socket(Family::Ipv4, SocketType::Stream).await;
    let address = ada.bind(first, "127.0.0.1:0").await;
    // Three binds to the same address: the kernel says EADDRINUSE each time.
    for _ in 0..3 {
        let again = ada.socket(Family::Ipv4, SocketType::Stream).await;
        let id = ada
            .call(Op::Bind {
                socket: again,
                address: address.clone(),
            })
            .await;
        assert_eq!(ada.errno(id).await.errno, "EADDRINUSE");
    }
    let board = board_until(&relay, &key, "Ada stuck", |b| row(b, "Ada").stuck.is_some()).await;
    assert_eq!(
        row(&board, "Ada").stuck.as_deref(),
        Some("3 refused calls in port-conflicts since the last progress")
    );
    // Passing an exercise is progress: no longer stuck.
    ada.send(&ToRelay::Passed {
        exercise: "conflict-then-share".into(),
        evidence: "EADDRINUSE, then UDP on the same number".into(),
    })
    .await;
    board_until(&relay, &key, "Ada no longer stuck", |b| {
        row(b, "Ada").stuck.is_none()
    })
    .await;
    relay.stop().await;
}

#[tokio::test]
async fn only_the_teachers_key_reads_the_board() {
    let db = Db::new("key");
    let class = class_config(&db);
    let key = class.teacher.as_str().to_owned();
    let relay = class_relay(class).await;
    for path in ["/teacher/board.json", "/teacher/class.csv"] {
        let (status, _) = teacher_get(&relay, path, None).await;
        assert!(status.contains(" 401 "), "{path} without a key: {status}");
        let (status, _) =
            teacher_get(&relay, path, Some("not-the-key-at-all-0123456789abcdef")).await;
        assert!(
            status.contains(" 403 "),
            "{path} with a wrong key: {status}"
        );
        // The learners' key (the launch key) is not the teacher's.
        let (status, _) = teacher_get(&relay, path, Some(&relay.token)).await;
        assert!(
            status.contains(" 403 "),
            "{path} with the launch key: {status}"
        );
        // The control: the teacher's key reads it.
        let (status, _) = teacher_get(&relay, path, Some(&key)).await;
        assert!(
            status.contains(" 200 "),
            "{path} with the teacher's key: {status}"
        );
    }
    relay.stop().await;
}

#[tokio::test]
async fn the_class_is_kept_across_a_restart_of_the_relay() {
    let db = Db::new("restart");
    let relay = class_relay(class_config(&db)).await;
    let mut ada = learner(&relay, "Ada").await;
    ada.send(&ToRelay::Passed {
        exercise: "bind-port-zero".into(),
        evidence: "the kernel chose port 41234".into(),
    })
    .await;
    // The page's word is written before the session's end is (one connection, in order).
    within_hang_up(ada).await;
    relay.stop().await;

    let class = class_config(&db);
    let key = class.teacher.as_str().to_owned();
    let relay = class_relay(class).await;
    let board = board_until(&relay, &key, "Ada's exercise after the restart", |b| {
        b.learners.len() == 1
    })
    .await;
    assert_eq!(row(&board, "Ada").done, ["bind-port-zero"]);
    assert!(!row(&board, "Ada").online);
    // Joining again by the same name, case aside, goes on as the same learner.
    let _back = learner(&relay, "ada").await;
    let board = board_until(&relay, &key, "Ada back online", |b| row(b, "Ada").online).await;
    assert_eq!(board.learners.len(), 1);
    relay.stop().await;
}

#[tokio::test]
async fn class_messages_need_a_class_and_a_name() {
    let relay = Relay::start().await;
    let mut client = relay.client().await;
    client.send(&ToRelay::Join { name: "Ada".into() }).await;
    let reason = client
        .wait_for("malformed", |m| match m {
            FromRelay::Malformed { reason } => Some(reason.clone()),
            _ => None,
        })
        .await;
    assert!(reason.contains("--class"), "{reason}");
    relay.stop().await;

    let db = Db::new("names");
    let relay = class_relay(class_config(&db)).await;
    let mut client = relay.client().await;
    for (name, why) in [
        ("   ", "a name is needed"),
        (&"x".repeat(41)[..], "at most 40"),
    ] {
        client.send(&ToRelay::Join { name: name.into() }).await;
        let reason = client
            .wait_for("malformed", |m| match m {
                FromRelay::Malformed { reason } => Some(reason.clone()),
                _ => None,
            })
            .await;
        assert!(reason.contains(why), "{reason}");
    }
    // Progress before joining is refused, saying what to do.
    client
        .send(&ToRelay::Lesson {
            slug: "server-life".into(),
        })
        .await;
    let reason = client
        .wait_for("malformed", |m| match m {
            FromRelay::Malformed { reason } => Some(reason.clone()),
            _ => None,
        })
        .await;
    assert!(reason.contains("join the class first"), "{reason}");
    relay.stop().await;
}

/// POST `path` with the teacher's key: the status line and the body.
async fn teacher_post(relay: &Relay, path: &str, key: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = relay.addr;
    let mut stream = crate::support::within("connecting", tokio::net::TcpStream::connect(addr))
        .await
        .expect("connect to the relay");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    crate::support::within("sending", stream.write_all(request.as_bytes()))
        .await
        .expect("send");
    let mut response = String::new();
    crate::support::within("the answer", stream.read_to_string(&mut response))
        .await
        .expect("read");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

#[tokio::test]
async fn the_teacher_resets_one_learners_session_and_no_one_elses() {
    let db = Db::new("reset");
    let class = class_config(&db);
    let key = class.teacher.as_str().to_owned();
    let relay = class_relay(class).await;
    let mut ada = learner(&relay, "Ada").await;
    let grace = learner(&relay, "Grace").await;
    let socket = ada.socket(Family::Ipv4, SocketType::Stream).await;
    let address = ada.bind(socket, "127.0.0.1:0").await;
    let board = board_until(&relay, &key, "both online", |b| {
        b.learners.iter().filter(|r| r.online).count() == 2
    })
    .await;
    let id = row(&board, "Ada").id;
    // Without the key, nothing is reset.
    let (status, _) = teacher_post(
        &relay,
        &format!("/teacher/reset/{id}"),
        "wrong-key-0123456789abcdefghijklmn",
    )
    .await;
    assert!(status.contains(" 403 "), "{status}");
    let (status, body) = teacher_post(&relay, &format!("/teacher/reset/{id}"), &key).await;
    assert!(status.contains(" 200 "), "{status}: {body}");
    assert!(body.contains("\"reset\":1"), "{body}");
    let reason = ada
        .wait_for("the goodbye", |m| match m {
            FromRelay::Goodbye { reason } => Some(reason.clone()),
            _ => None,
        })
        .await;
    assert!(
        reason.contains("your teacher reset this session"),
        "{reason}"
    );
    // Her socket is closed with the session: its port is free again.
    crate::support::eventually("Ada's port to be free", || {
        crate::support::tcp_port_is_free(&address)
    })
    .await;
    let board = board_until(&relay, &key, "Ada offline, Grace online", |b| {
        !row(b, "Ada").online && row(b, "Grace").online
    })
    .await;
    assert_eq!(board.learners.len(), 2, "her record stays");
    drop(grace);
    relay.stop().await;
}
