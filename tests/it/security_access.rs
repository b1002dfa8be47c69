//! Who may talk to the relay, tested the way an attacker would try: raw HTTP handshakes with
//! exactly the Host, Origin and key the test chooses (a hostile page's, a rebinding name's, a
//! guess), each refused before any upgrade; and the learner's own page, which must still work.
//!
//! Pinned here, as raw HTTP over a `TcpStream`: a foreign Origin, `null`, a foreign Host (also for
//! plain pages), the loopback Host spellings, no key and a wrong key, a missing Origin with and
//! without the key, `--allow-origin`, upgrades on other paths, `GET /ws` with a wrong or right
//! bearer key; and that the learner's session still works.

use std::collections::HashMap;

use socketlab_relay::{AccessConfig, Config, Origin};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::{Client, Relay, within};

/// A response's status code, headers (lowercase names) and, unless it is a 101, its body.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Answer {
    fn refused_by(&self) -> Option<&str> {
        self.headers.get("x-socketlab-refused").map(String::as_str)
    }
}

/// Sends `GET path` with exactly `headers` (no Host unless given) and reads the answer's head;
/// for anything but a 101 also its body.
async fn raw_request(relay: &Relay, path: &str, headers: &[(&str, String)]) -> Answer {
    assert!(relay.addr.ip().is_loopback());
    let mut stream = within("connecting to the relay", TcpStream::connect(relay.addr))
        .await
        .expect("connect to the relay");
    let mut request = format!("GET {path} HTTP/1.1\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    within("sending the request", stream.write_all(request.as_bytes()))
        .await
        .expect("write the request");

    let mut received = Vec::new();
    let head_end = loop {
        if let Some(at) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let mut chunk = [0u8; 4096];
        let n = within("the relay's answer", stream.read(&mut chunk))
            .await
            .expect("read the answer");
        assert!(n > 0, "the relay closed without answering: {received:?}");
        received.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&received[..head_end]).into_owned();
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP status line: {status_line:?}"));
    let headers: HashMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let mut body = received[head_end + 4..].to_vec();
    if status != 101 {
        // Read exactly the announced body: a refused handshake's connection may stay open.
        let length: usize = headers
            .get("content-length")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no content-length in {head:?}"));
        while body.len() < length {
            let mut chunk = [0u8; 4096];
            let n = within("the rest of the body", stream.read(&mut chunk))
                .await
                .expect("read the body");
            assert!(n > 0, "the relay closed mid-body");
            body.extend_from_slice(&chunk[..n]);
        }
    }
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// The headers of a WebSocket handshake as a browser on `origin` sends them, with `key` (if
/// any) offered as a subprotocol. `host` is the Host header.
fn handshake(host: &str, origin: Option<&str>, key: Option<&str>) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("Host", host.to_owned()),
        ("Connection", "Upgrade".to_owned()),
        ("Upgrade", "websocket".to_owned()),
        ("Sec-WebSocket-Version", "13".to_owned()),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==".to_owned()),
    ];
    if let Some(origin) = origin {
        headers.push(("Origin", origin.to_owned()));
    }
    match key {
        Some(key) => headers.push((
            "Sec-WebSocket-Protocol",
            format!("socketlab.v1, socketlab.token.{key}"),
        )),
        None => headers.push(("Sec-WebSocket-Protocol", "socketlab.v1".to_owned())),
    }
    headers
}

/// The relay's own origin, as its page has it.
fn own_origin(relay: &Relay) -> String {
    format!("http://{}", relay.addr)
}

fn assert_refused(answer: &Answer, status: u16, rule: &str) {
    assert_ne!(answer.status, 101, "the relay upgraded: {answer:?}");
    assert_eq!(answer.status, status, "{answer:?}");
    assert_eq!(answer.refused_by(), Some(rule), "{answer:?}");
    assert!(
        !answer.headers.contains_key("sec-websocket-accept"),
        "{answer:?}"
    );
}

#[tokio::test]
async fn a_handshake_from_a_foreign_origin_is_refused_with_403_and_no_upgrade() {
    let relay = Relay::start().await;
    let host = relay.addr.to_string();
    for origin in [
        "https://evil.example",
        "http://evil.example",
        "http://127.0.0.1:1",
    ] {
        let answer = raw_request(
            &relay,
            "/ws",
            &handshake(&host, Some(origin), Some(&relay.token)),
        )
        .await;
        assert_refused(&answer, 403, "origin_not_allowed");
        assert!(answer.body.contains("--allow-origin"), "{}", answer.body);
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_handshake_from_the_null_origin_is_refused() {
    let relay = Relay::start().await;
    let host = relay.addr.to_string();
    let answer = raw_request(
        &relay,
        "/ws",
        &handshake(&host, Some("null"), Some(&relay.token)),
    )
    .await;
    assert_refused(&answer, 403, "origin_not_allowed");
    relay.stop().await;
}

#[tokio::test]
async fn a_foreign_host_is_refused_for_the_websocket_and_for_the_page() {
    let relay = Relay::start().await;
    let port = relay.addr.port();
    let origin = own_origin(&relay);
    for host in [
        format!("attacker.example:{port}"),
        "attacker.example".to_owned(),
        format!("127.0.0.1.nip.io:{port}"),
    ] {
        let answer = raw_request(
            &relay,
            "/ws",
            &handshake(&host, Some(&origin), Some(&relay.token)),
        )
        .await;
        assert_refused(&answer, 403, "host_not_allowed");
        // A rebinding page would first load a page: that is refused as well.
        for path in ["/", "/index.html", "/anything.js"] {
            let page = raw_request(
                &relay,
                path,
                &[("Host", host.clone()), ("Connection", "close".to_owned())],
            )
            .await;
            assert_refused(&page, 403, "host_not_allowed");
        }
    }
    relay.stop().await;
}

#[tokio::test]
async fn loopback_host_spellings_are_accepted() {
    let relay = Relay::start().await;
    let port = relay.addr.port();
    let origin = own_origin(&relay);
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("localhost.:{port}"),
        format!("LOCALHOST:{port}"),
        format!("[::1]:{port}"),
        format!("127.0.0.2:{port}"),
    ] {
        let answer = raw_request(
            &relay,
            "/ws",
            &handshake(&host, Some(&origin), Some(&relay.token)),
        )
        .await;
        assert_eq!(answer.status, 101, "{host}: {answer:?}");
        assert_eq!(
            answer
                .headers
                .get("sec-websocket-protocol")
                .map(String::as_str),
            Some("socketlab.v1"),
            "the relay selects socketlab.v1 and never echoes the key: {answer:?}"
        );
        let page = raw_request(
            &relay,
            "/",
            &[("Host", host.clone()), ("Connection", "close".to_owned())],
        )
        .await;
        assert_eq!(page.status, 200, "{host}: {page:?}");
    }
    relay.stop().await;
}

#[tokio::test]
async fn no_key_and_a_wrong_key_are_refused() {
    let relay = Relay::start().await;
    let host = relay.addr.to_string();
    let origin = own_origin(&relay);
    let answer = raw_request(&relay, "/ws", &handshake(&host, Some(&origin), None)).await;
    assert_refused(&answer, 401, "token_missing");

    let mut wrong = relay.token.clone().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).expect("hex");
    for guess in [wrong.as_str(), &relay.token[..32], "0", ""] {
        let answer =
            raw_request(&relay, "/ws", &handshake(&host, Some(&origin), Some(guess))).await;
        assert_refused(&answer, 403, "token_wrong");
    }
    // Another relay's key is just as wrong: every launch has its own.
    let other = AccessConfig::default();
    assert_ne!(other.token(), relay.token);
    let answer = raw_request(
        &relay,
        "/ws",
        &handshake(&host, Some(&origin), Some(other.token())),
    )
    .await;
    assert_refused(&answer, 403, "token_wrong");
    relay.stop().await;
}

#[tokio::test]
async fn a_missing_origin_is_refused_without_the_key() {
    let relay = Relay::start().await;
    let host = relay.addr.to_string();
    let answer = raw_request(&relay, "/ws", &handshake(&host, None, None)).await;
    assert_refused(&answer, 401, "token_missing");
    relay.stop().await;
}

#[tokio::test]
async fn the_right_key_from_the_relays_own_origin_makes_a_working_session() {
    let relay = Relay::start().await;
    let port = relay.addr.port();
    for origin in [own_origin(&relay), format!("http://localhost:{port}")] {
        let mut request = relay.ws_request();
        request
            .headers_mut()
            .insert("origin", origin.parse().expect("header value"));
        let mut client = Client::connect_with(request).await;
        client.hello().await;
        let (_, local) = client.listener().await;
        assert!(local.starts_with("127.0.0.1:"), "{local}");
        client.hang_up().await;
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_client_without_origin_but_with_the_key_works() {
    let relay = Relay::start().await;
    // support's client is such a client: no Origin, the key as a subprotocol.
    let mut client = relay.client().await;
    client.tcp().await;
    client.hang_up().await;

    // The key may also come as a bearer token, the usual way for scripts.
    let host = relay.addr.to_string();
    let mut headers = handshake(&host, None, None);
    headers.push(("Authorization", format!("Bearer {}", relay.token)));
    let answer = raw_request(&relay, "/ws", &headers).await;
    assert_eq!(answer.status, 101, "{answer:?}");
    relay.stop().await;
}

#[tokio::test]
async fn allow_origin_admits_the_dev_server_and_nothing_more() {
    let mut config = Config::default();
    config
        .access
        .allow_origins
        .push(Origin::parse("http://127.0.0.1:8080").expect("an origin"));
    let relay = Relay::start_with(config).await;
    let host = relay.addr.to_string();
    let answer = raw_request(
        &relay,
        "/ws",
        &handshake(&host, Some("http://127.0.0.1:8080"), Some(&relay.token)),
    )
    .await;
    assert_eq!(answer.status, 101, "{answer:?}");
    let answer = raw_request(
        &relay,
        "/ws",
        &handshake(&host, Some("http://localhost:8080"), Some(&relay.token)),
    )
    .await;
    assert_refused(&answer, 403, "origin_not_allowed");
    relay.stop().await;
}

#[tokio::test]
async fn an_upgrade_on_another_path_is_checked_too() {
    let relay = Relay::start().await;
    let host = relay.addr.to_string();
    let origin = own_origin(&relay);
    for path in ["/", "/ws/", "/index.html", "/ws?x=1"] {
        let answer = raw_request(&relay, path, &handshake(&host, Some(&origin), None)).await;
        assert_refused(&answer, 401, "token_missing");
    }
    relay.stop().await;
}

#[tokio::test]
async fn refused_handshakes_leave_the_relay_serving_its_learner() {
    let relay = Relay::start().await;
    let host = relay.addr.to_string();
    for _ in 0..20 {
        let answer = raw_request(
            &relay,
            "/ws",
            &handshake(&host, Some("https://evil.example"), None),
        )
        .await;
        assert_eq!(answer.status, 403, "{answer:?}");
    }
    let mut client = relay.client().await;
    client.tcp().await;
    client.hang_up().await;
    relay.stop().await;
}

#[tokio::test]
async fn a_plain_request_to_the_websocket_path_tells_a_wrong_key_from_a_right_one() {
    // What the page asks after a failed handshake, since browsers hide the handshake's status.
    let relay = Relay::start().await;
    let host = relay.addr.to_string();
    let ask = |key: String| {
        vec![
            ("Host", host.clone()),
            ("Authorization", format!("Bearer {key}")),
        ]
    };
    let wrong = raw_request(&relay, "/ws", &ask("f".repeat(64))).await;
    assert_refused(&wrong, 403, "token_wrong");
    let right = raw_request(&relay, "/ws", &ask(relay.token.clone())).await;
    assert_eq!(right.refused_by(), None, "{right:?}");
    assert_ne!(right.status, 101, "not an upgrade request: {right:?}");
    relay.stop().await;
}

/// Class mode's teacher key reads the board and nothing else: offered for a session, in the
/// subprotocol or as a bearer, it is a wrong key (the board's own tests show the launch key
/// reading no board: `class.rs`).
#[tokio::test]
async fn the_teachers_key_opens_no_session() {
    let db = crate::class::Db::new("teacher-ws");
    let class = crate::class::class_config(&db);
    let teacher = class.teacher.as_str().to_owned();
    let relay = Relay::start_with(Config {
        class: Some(class),
        ..Config::default()
    })
    .await;
    let host = relay.addr.to_string();
    let origin = own_origin(&relay);
    let answer = raw_request(
        &relay,
        "/ws",
        &handshake(&host, Some(&origin), Some(&teacher)),
    )
    .await;
    assert_refused(&answer, 403, "token_wrong");
    let mut bearer = handshake(&host, None, None);
    bearer.push(("Authorization", format!("Bearer {teacher}")));
    let answer = raw_request(&relay, "/ws", &bearer).await;
    assert_refused(&answer, 403, "token_wrong");
    // The control: the launch key opens one.
    let answer = raw_request(
        &relay,
        "/ws",
        &handshake(&host, Some(&origin), Some(&relay.token)),
    )
    .await;
    assert_eq!(answer.status, 101, "{answer:?}");
    relay.stop().await;
}

/// A handshake as the page makes it with a class code: `socketlab.class.CODE` offered beside
/// `socketlab.v1`, from the relay's own page.
fn class_handshake(relay: &Relay, code: &str) -> Vec<(&'static str, String)> {
    let mut headers = handshake(&relay.addr.to_string(), Some(&own_origin(relay)), None);
    headers.retain(|(name, _)| *name != "Sec-WebSocket-Protocol");
    headers.push((
        "Sec-WebSocket-Protocol",
        format!("socketlab.v1, socketlab.class.{code}"),
    ));
    headers
}

#[tokio::test]
async fn the_class_code_opens_a_learners_session_and_nothing_else() {
    let db = crate::class::Db::new("class-code");
    let class = crate::class::class_config(&db);
    let code = class.code.to_string();
    let teacher = class.teacher.as_str().to_owned();
    let relay = Relay::start_with(Config {
        class: Some(class),
        ..Config::default()
    })
    .await;
    // As the teacher wrote it on the board, and as a learner may type it.
    for typed in [code.clone(), code.to_lowercase(), code.replace('-', "")] {
        let answer = raw_request(&relay, "/ws", &class_handshake(&relay, &typed)).await;
        assert_eq!(answer.status, 101, "{typed}: {answer:?}");
    }
    // A session opened with it works: the learner joins and makes a real call.
    let mut request = relay.ws_request();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        format!("socketlab.v1, socketlab.class.{code}")
            .parse()
            .expect("a header value"),
    );
    let mut learner = Client::connect_with(request).await;
    learner.hello().await;
    learner
        .send(&socketlab_shared::ToRelay::Join { name: "Ada".into() })
        .await;
    learner
        .wait_for("joined", |m| {
            matches!(m, socketlab_shared::FromRelay::Joined { .. }).then_some(())
        })
        .await;
    let socket = learner.tcp().await;
    let bound = learner.bind(socket, "127.0.0.1:0").await;
    assert!(bound.starts_with("127.0.0.1:"), "{bound}");

    // A wrong code, one character off, is refused before any upgrade.
    let mut wrong = code.clone().into_bytes();
    wrong[0] = if wrong[0] == b'A' { b'B' } else { b'A' };
    let wrong = String::from_utf8(wrong).expect("ASCII");
    let answer = raw_request(&relay, "/ws", &class_handshake(&relay, &wrong)).await;
    assert_refused(&answer, 403, "class_code_wrong");
    assert!(answer.body.contains("teacher"), "{answer:?}");
    // The page's question after a failed handshake gets the same answer.
    let answer = raw_request(
        &relay,
        "/ws",
        &[
            ("Host", relay.addr.to_string()),
            ("Authorization", format!("Class {wrong}")),
        ],
    )
    .await;
    assert_refused(&answer, 403, "class_code_wrong");
    // The code from a hostile page is still a hostile page.
    let mut hostile = class_handshake(&relay, &code);
    for (name, value) in &mut hostile {
        if *name == "Origin" {
            *value = "https://evil.example".to_owned();
        }
    }
    let answer = raw_request(&relay, "/ws", &hostile).await;
    assert_refused(&answer, 403, "origin_not_allowed");
    // The code is not the launch key, and does not read the teacher's board in any spelling.
    let mut bearer = handshake(&relay.addr.to_string(), None, None);
    bearer.push(("Authorization", format!("Bearer {code}")));
    let answer = raw_request(&relay, "/ws", &bearer).await;
    assert_refused(&answer, 403, "token_wrong");
    for path in ["/teacher/board.json", "/teacher/class.csv"] {
        for authorization in [format!("Bearer {code}"), format!("Class {code}")] {
            let (status, _) =
                crate::class::get_with_authorization(&relay, path, &authorization).await;
            assert!(
                status.contains(" 401 ") || status.contains(" 403 "),
                "{path} with {authorization}: {status}"
            );
        }
        // The control: the teacher's key reads it.
        let (status, _) =
            crate::class::get_with_authorization(&relay, path, &format!("Bearer {teacher}")).await;
        assert!(status.contains(" 200 "), "{path}: {status}");
    }
    learner.hang_up().await;
    relay.stop().await;
}

#[tokio::test]
async fn a_class_code_opens_nothing_on_a_relay_without_a_class() {
    let relay = Relay::start().await;
    let answer = raw_request(&relay, "/ws", &class_handshake(&relay, "K7QM-2XRP")).await;
    assert_refused(&answer, 403, "class_code_wrong");
    assert!(answer.body.contains("keeps no class"), "{answer:?}");
    // The control: the launch key opens one on the same relay.
    let answer = raw_request(
        &relay,
        "/ws",
        &handshake(
            &relay.addr.to_string(),
            Some(&own_origin(&relay)),
            Some(&relay.token),
        ),
    )
    .await;
    assert_eq!(answer.status, 101, "{answer:?}");
    relay.stop().await;
}
