//! Unit tests of the access rules: Host and Origin parsing, the key, the listen rule, and the
//! one decision `check` makes for a request.

use std::net::SocketAddr;

use axum::http::{HeaderMap, HeaderValue, Method, Uri};

use super::names::{host_and_port, own_origins};
use super::token::constant_time_eq;
use super::*;

const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn config() -> AccessConfig {
    AccessConfig::with_token(Token::parse(KEY).unwrap())
}

fn local() -> SocketAddr {
    "127.0.0.1:7878".parse().unwrap()
}

fn request(path: &str, headers: &[(&str, &str)]) -> (Method, Uri, HeaderMap) {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    (Method::GET, path.parse().unwrap(), map)
}

fn decide(access: &AccessConfig, path: &str, headers: &[(&str, &str)]) -> Result<(), Denial> {
    decide_in(access, None, path, headers)
}

/// [`decide`] for a relay whose class has `class_code` (class mode), or none.
fn decide_in(
    access: &AccessConfig,
    class_code: Option<&str>,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(), Denial> {
    let (method, uri, headers) = request(path, headers);
    let gate = Gate {
        access: access.clone(),
        class_code: class_code.map(|code| ClassCode::parse(code).unwrap()),
        local: local(),
    };
    check(&gate, &method, &uri, &headers)
}

const CODE: &str = "K7QM-2XRP";

#[test]
fn the_class_code_opens_a_session_in_class_mode_however_it_is_typed() {
    let host = ("host", "127.0.0.1:7878");
    let origin = ("origin", "http://127.0.0.1:7878");
    for offered in ["K7QM-2XRP", "K7QM2XRP", "k7qm-2xrp"] {
        let protocols = format!("socketlab.v1, socketlab.class.{offered}");
        assert_eq!(
            decide_in(
                &config(),
                Some(CODE),
                "/ws",
                &[host, origin, ("sec-websocket-protocol", &protocols)]
            ),
            Ok(()),
            "{offered}"
        );
    }
    let authorization = format!("Class {CODE}");
    assert_eq!(
        decide_in(
            &config(),
            Some(CODE),
            "/ws",
            &[host, ("authorization", &authorization)]
        ),
        Ok(())
    );
}

#[test]
fn a_class_code_is_refused_when_wrong_when_there_is_no_class_and_beside_a_wrong_key() {
    let host = ("host", "127.0.0.1:7878");
    let offer = |code: &str| format!("socketlab.v1, socketlab.class.{code}");
    let wrong = decide_in(
        &config(),
        Some(CODE),
        "/ws",
        &[host, ("sec-websocket-protocol", &offer("K7QM-2XRQ"))],
    );
    assert_eq!(wrong, Err(Denial::ClassCodeWrong { class: true }));
    // The right code on a relay that keeps no class opens nothing.
    let no_class = decide_in(
        &config(),
        None,
        "/ws",
        &[host, ("sec-websocket-protocol", &offer(CODE))],
    );
    assert_eq!(no_class, Err(Denial::ClassCodeWrong { class: false }));
    // Every credential presented must be right: a right code beside a wrong key, or a right
    // key beside a wrong code, is refused.
    let wrong_key = format!("socketlab.class.{CODE}, socketlab.token.{}", "f".repeat(64));
    assert_eq!(
        decide_in(
            &config(),
            Some(CODE),
            "/ws",
            &[host, ("sec-websocket-protocol", &wrong_key)]
        ),
        Err(Denial::TokenWrong)
    );
    let wrong_code = format!("socketlab.token.{KEY}, socketlab.class.K7QM-2XRQ");
    assert_eq!(
        decide_in(
            &config(),
            Some(CODE),
            "/ws",
            &[host, ("sec-websocket-protocol", &wrong_code)]
        ),
        Err(Denial::ClassCodeWrong { class: true })
    );
    // The code is not the key: as a bearer it is a wrong key.
    let bearer = format!("Bearer {CODE}");
    assert_eq!(
        decide_in(
            &config(),
            Some(CODE),
            "/ws",
            &[host, ("authorization", &bearer)]
        ),
        Err(Denial::TokenWrong)
    );
    // A prefix of the code, or the code with something after it, is not the code.
    for near in ["K7QM-2XR", "K7QM-2XRPA", "K7QM-2XRP.", "K7QM_2XRP"] {
        assert!(
            decide_in(
                &config(),
                Some(CODE),
                "/ws",
                &[host, ("sec-websocket-protocol", &offer(near))]
            )
            .is_err(),
            "{near}"
        );
    }
}

#[test]
fn the_class_code_does_not_excuse_a_foreign_origin_or_host() {
    let offer = format!("socketlab.v1, socketlab.class.{CODE}");
    let foreign_origin = decide_in(
        &config(),
        Some(CODE),
        "/ws",
        &[
            ("host", "127.0.0.1:7878"),
            ("origin", "https://evil.example"),
            ("sec-websocket-protocol", &offer),
        ],
    );
    assert!(matches!(foreign_origin, Err(Denial::OriginNotAllowed(_))));
    let rebinding = decide_in(
        &config(),
        Some(CODE),
        "/ws",
        &[
            ("host", "evil.example:7878"),
            ("sec-websocket-protocol", &offer),
        ],
    );
    assert!(matches!(rebinding, Err(Denial::HostNotAllowed(_))));
}

fn key_protocols() -> String {
    format!("socketlab.v1, socketlab.token.{KEY}")
}

#[test]
fn host_values_parse_with_brackets_ports_and_trailing_dots() {
    let ip = |s: &str| AllowedHost::Ip(s.parse().unwrap());
    let name = |s: &str| AllowedHost::Name(s.into());
    assert_eq!(
        host_and_port("127.0.0.1:7878"),
        Some((ip("127.0.0.1"), Some(7878)))
    );
    assert_eq!(host_and_port("[::1]:7878"), Some((ip("::1"), Some(7878))));
    assert_eq!(host_and_port("[::1]"), Some((ip("::1"), None)));
    assert_eq!(
        host_and_port("localhost.:80"),
        Some((name("localhost"), Some(80)))
    );
    assert_eq!(host_and_port("LocalHost"), Some((name("localhost"), None)));
    for bad in [
        "",
        "::1",
        "[::1",
        "[::1]x",
        "[::1]:",
        "127.0.0.1:",
        "127.0.0.1:99999",
        "127.0.0.1:+80",
        "a b",
        "user@127.0.0.1",
        "127.0.0.1/x",
        "[not-ip]:1",
        "..",
    ] {
        assert_eq!(host_and_port(bad), None, "{bad:?} must not parse");
    }
}

#[test]
fn loopback_hosts_are_ip_literals_and_localhost_only() {
    for host in [
        "127.0.0.1",
        "127.9.8.7",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "localhost",
        "localhost.",
    ] {
        let parsed = super::names::host_of(host).unwrap();
        assert!(parsed.is_loopback(), "{host} is loopback");
    }
    for host in [
        "10.0.0.1",
        "0.0.0.0",
        "[::]",
        "attacker.example",
        "localhost.attacker.example",
        "127.0.0.1.nip.io",
        "127.1",
    ] {
        let loopback = super::names::host_of(host).is_some_and(|h| h.is_loopback());
        assert!(!loopback, "{host} is not loopback");
    }
}

#[test]
fn origins_normalise_like_browsers_serialise_them() {
    let origin = |s: &str| Origin::parse(s).unwrap().as_str().to_owned();
    assert_eq!(origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    assert_eq!(origin("HTTP://LocalHost:8080/"), "http://localhost:8080");
    assert_eq!(origin("http://example.org:80"), "http://example.org");
    assert_eq!(origin("https://example.org:443"), "https://example.org");
    assert_eq!(origin("http://[::1]:7878"), "http://[::1]:7878");
    for bad in [
        "null",
        "NULL",
        "file://",
        "ftp://example.org",
        "http://",
        "127.0.0.1:8080",
        "http://127.0.0.1:8080/path",
        "http://user@127.0.0.1",
        "http://[::1",
    ] {
        assert!(Origin::parse(bad).is_err(), "{bad:?} must not parse");
    }
}

#[test]
fn own_origins_follow_the_listen_address() {
    let names = |addr: &str| -> Vec<String> {
        own_origins(addr.parse().unwrap())
            .iter()
            .map(|o| o.to_string())
            .collect()
    };
    assert_eq!(
        names("127.0.0.1:7878"),
        ["http://127.0.0.1:7878", "http://localhost:7878"]
    );
    assert_eq!(names("[::1]:9"), ["http://[::1]:9", "http://localhost:9"]);
    assert_eq!(
        names("0.0.0.0:80"),
        ["http://127.0.0.1", "http://localhost"]
    );
}

#[test]
fn the_key_compare_is_plain_equality() {
    assert!(constant_time_eq(b"", b""));
    assert!(constant_time_eq(KEY.as_bytes(), KEY.as_bytes()));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"bbc"));
    assert!(!constant_time_eq(b"abc", b"abcd"));
    assert!(!constant_time_eq(b"abcd", b"abc"));
    assert!(!constant_time_eq(b"", b"a"));
    let token = Token::parse(KEY).unwrap();
    assert!(token.matches(KEY.as_bytes()));
    assert!(!token.matches(&KEY.as_bytes()[1..]));
}

#[test]
fn random_keys_are_256_bits_of_hex_and_differ() {
    let a = Token::random().unwrap();
    let b = Token::random().unwrap();
    assert_eq!(a.as_str().len(), 64);
    assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a, b, "two launches never share a key");
    assert_ne!(
        AccessConfig::default().token(),
        AccessConfig::default().token()
    );
}

#[test]
fn the_key_never_shows_in_debug_output() {
    let shown = format!("{:?}", config());
    assert!(!shown.contains(KEY), "{shown}");
}

#[test]
fn keys_from_a_file_must_be_long_and_url_safe() {
    assert!(Token::parse(&"a".repeat(32)).is_ok());
    assert!(Token::parse("a-b.c_d~e".repeat(4).as_str()).is_ok());
    let short = Token::parse(&"a".repeat(31)).unwrap_err();
    assert!(short.contains("at least 32"), "{short}");
    assert!(Token::parse("").is_err());
    assert!(Token::parse(&format!("{} x", "a".repeat(32))).is_err());
    assert!(Token::parse(&format!("{},x", "a".repeat(32))).is_err());
    assert!(Token::parse(&"a".repeat(513)).is_err());
}

#[test]
fn a_token_file_is_read_and_trimmed() {
    let dir = std::env::temp_dir().join(format!("socketlab-token-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("key");
    std::fs::write(&path, format!("  {KEY}\n")).unwrap();
    let args = AccessArgs {
        token_file: Some(path.clone()),
        ..AccessArgs::default()
    };
    assert_eq!(args.into_config().unwrap().token(), KEY);

    std::fs::write(&path, "short\n").unwrap();
    let args = AccessArgs {
        token_file: Some(path.clone()),
        ..AccessArgs::default()
    };
    let err = args.into_config().unwrap_err().to_string();
    assert!(err.contains("at least 32"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn listening_beyond_loopback_needs_the_flag_and_warns() {
    for addr in ["127.0.0.1:0", "127.1.2.3:7878", "[::1]:0"] {
        assert!(
            check_listen(addr.parse().unwrap(), false)
                .unwrap()
                .is_none()
        );
    }
    for addr in ["0.0.0.0:7878", "[::]:0", "192.168.1.5:7878"] {
        let err = check_listen(addr.parse().unwrap(), false).unwrap_err();
        assert!(err.to_string().contains("--expose-to-network"), "{err}");
        let warning = check_listen(addr.parse().unwrap(), true).unwrap();
        assert!(warning.unwrap().contains("WARNING"));
    }
}

#[test]
fn a_page_with_the_key_from_its_own_origin_is_let_in() {
    let protocols = key_protocols();
    for origin in ["http://127.0.0.1:7878", "http://localhost:7878"] {
        let headers = [
            ("host", "127.0.0.1:7878"),
            ("origin", origin),
            ("upgrade", "websocket"),
            ("sec-websocket-protocol", protocols.as_str()),
        ];
        assert_eq!(decide(&config(), "/ws", &headers), Ok(()), "{origin}");
    }
}

#[test]
fn a_foreign_or_null_origin_is_refused_even_with_the_key() {
    let protocols = key_protocols();
    for origin in [
        "https://evil.example",
        "null",
        "http://127.0.0.1:8080",
        "http://127.0.0.1:7879",
        "https://127.0.0.1:7878",
        "garbage",
    ] {
        let headers = [
            ("host", "127.0.0.1:7878"),
            ("origin", origin),
            ("sec-websocket-protocol", protocols.as_str()),
        ];
        let refused = decide(&config(), "/ws", &headers).unwrap_err();
        assert_eq!(refused.rule(), "origin_not_allowed", "{origin}");
    }
}

#[test]
fn allow_origin_adds_exactly_that_origin() {
    let mut access = config();
    access
        .allow_origins
        .push(Origin::parse("http://127.0.0.1:8080").unwrap());
    let protocols = key_protocols();
    let with = |origin| {
        [
            ("host", "127.0.0.1:7878"),
            ("origin", origin),
            ("sec-websocket-protocol", protocols.as_str()),
        ]
    };
    assert_eq!(
        decide(&access, "/ws", &with("http://127.0.0.1:8080")),
        Ok(())
    );
    assert!(decide(&access, "/ws", &with("http://localhost:8080")).is_err());
}

#[test]
fn two_origin_headers_are_refused() {
    let protocols = key_protocols();
    let headers = [
        ("host", "127.0.0.1:7878"),
        ("origin", "http://127.0.0.1:7878"),
        ("origin", "https://evil.example"),
        ("sec-websocket-protocol", protocols.as_str()),
    ];
    assert!(decide(&config(), "/ws", &headers).is_err());
}

#[test]
fn the_key_is_required_and_every_key_presented_must_be_right() {
    let host = ("host", "127.0.0.1:7878");
    let missing = decide(
        &config(),
        "/ws",
        &[host, ("sec-websocket-protocol", "socketlab.v1")],
    );
    assert_eq!(missing, Err(Denial::TokenMissing));
    let wrong = format!("socketlab.v1, socketlab.token.{}", "f".repeat(64));
    let refused = decide(
        &config(),
        "/ws",
        &[host, ("sec-websocket-protocol", &wrong)],
    );
    assert_eq!(refused, Err(Denial::TokenWrong));
    let both = format!("socketlab.token.{KEY}, socketlab.token.{}", "f".repeat(64));
    let refused = decide(&config(), "/ws", &[host, ("sec-websocket-protocol", &both)]);
    assert_eq!(refused, Err(Denial::TokenWrong));
    let bearer = format!("Bearer {KEY}");
    assert_eq!(
        decide(&config(), "/ws", &[host, ("authorization", &bearer)]),
        Ok(())
    );
    let prefix = format!("socketlab.token.{}", &KEY[..63]);
    let refused = decide(
        &config(),
        "/ws",
        &[host, ("sec-websocket-protocol", &prefix)],
    );
    assert_eq!(refused, Err(Denial::TokenWrong));
}

#[test]
fn an_upgrade_on_any_path_is_a_session_request() {
    let headers = [("host", "127.0.0.1:7878"), ("upgrade", "websocket")];
    assert_eq!(
        decide(&config(), "/index.html", &headers),
        Err(Denial::TokenMissing)
    );
    // A plain page request needs neither key nor Origin.
    let plain = [
        ("host", "127.0.0.1:7878"),
        ("origin", "https://evil.example"),
    ];
    assert_eq!(decide(&config(), "/index.html", &plain), Ok(()));
}

#[test]
fn foreign_hosts_are_refused_on_every_path() {
    let protocols = key_protocols();
    for host in [
        "attacker.example",
        "attacker.example:7878",
        "127.0.0.1.nip.io:7878",
        "10.0.0.1:7878",
        "",
        "[::1",
    ] {
        for path in ["/", "/ws", "/index.html"] {
            let headers = [
                ("host", host),
                ("sec-websocket-protocol", protocols.as_str()),
            ];
            let refused = decide(&config(), path, &headers).unwrap_err();
            assert_eq!(refused.rule(), "host_not_allowed", "{host} {path}");
        }
    }
    assert!(decide(&config(), "/", &[]).is_err(), "no Host at all");
    // An absolute request line names the host too, and it is checked as well.
    let (method, _, headers) = request("/", &[("host", "127.0.0.1:7878")]);
    let uri: Uri = "http://attacker.example/".parse().unwrap();
    let gate = Gate {
        access: config(),
        class_code: None,
        local: local(),
    };
    assert!(check(&gate, &method, &uri, &headers).is_err());
}

#[test]
fn loopback_spellings_and_allowed_names_are_accepted_hosts() {
    for host in [
        "127.0.0.1:7878",
        "localhost:7878",
        "localhost.:7878",
        "[::1]:7878",
        "localhost",
    ] {
        assert_eq!(decide(&config(), "/", &[("host", host)]), Ok(()), "{host}");
    }
    let mut access = config();
    access
        .allow_hosts
        .push(AllowedHost::parse("Lab.School.Example.").unwrap());
    assert_eq!(
        decide(&access, "/", &[("host", "lab.school.example:7878")]),
        Ok(())
    );
}

#[test]
fn every_refusal_names_its_rule_and_the_way_out() {
    let refusals = [
        Denial::HostNotAllowed("x".into()),
        Denial::OriginNotAllowed("x".into()),
        Denial::TokenMissing,
        Denial::TokenWrong,
        Denial::ClassCodeWrong { class: true },
        Denial::ClassCodeWrong { class: false },
    ];
    for refusal in refusals {
        let reason = refusal.reason();
        assert!(
            reason.contains("--allow-") || reason.contains("URL") || reason.contains("teacher"),
            "{reason}"
        );
        let response = refusal.clone().into_response();
        assert!(response.status().is_client_error());
        assert_eq!(
            response.headers().get(REFUSED_HEADER).unwrap(),
            refusal.rule()
        );
    }
}

#[test]
fn the_page_url_carries_the_key_in_its_fragment() {
    assert_eq!(
        config().page_url(local()),
        format!("http://127.0.0.1:7878/#token={KEY}")
    );
}

#[test]
fn pages_served_elsewhere_get_the_key_and_the_relay_in_their_fragment() {
    let mut access = config();
    assert!(access.other_page_urls(local()).is_empty());
    access
        .allow_origins
        .push(Origin::parse("http://127.0.0.1:8080").unwrap());
    assert_eq!(
        access.other_page_urls(local()),
        [format!(
            "http://127.0.0.1:8080/#token={KEY}&relay=127.0.0.1:7878"
        )]
    );
}

#[test]
fn the_url_to_open_uses_loopback_for_an_unspecified_address() {
    assert_eq!(
        browser_url("127.0.0.1:7878".parse().unwrap()),
        "http://127.0.0.1:7878/"
    );
    assert_eq!(
        browser_url("0.0.0.0:80".parse().unwrap()),
        "http://127.0.0.1:80/"
    );
    assert_eq!(browser_url("[::]:9".parse().unwrap()), "http://[::1]:9/");
}
