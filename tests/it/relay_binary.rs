//! The `socketlab-relay` binary and the HTTP side: the URL line it prints, the page it serves
//! without a built frontend, and the single-page fallback with one.
//!
//! The binary is built on demand with `$CARGO build` (another package's tests get no
//! `CARGO_BIN_EXE_*`); it must print exactly `http://127.0.0.1:PORT/#token=` and 64 hex digits, and
//! serve `/`: the "not built" page without a dist, and the SPA fallback with a temporary one.

use std::io::{BufRead as _, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::{Relay, STEP, within};

/// GET `path` over plain HTTP/1.1; returns (status line, body).
async fn get(addr: SocketAddr, path: &str) -> (String, String) {
    let (head, body) = get_with(addr, path, "").await;
    (head.lines().next().unwrap_or_default().to_owned(), body)
}

/// GET `path` with `extra` header lines (each ending in `\r\n`); returns (the whole head, body).
pub(crate) async fn get_with(addr: SocketAddr, path: &str, extra: &str) -> (String, String) {
    assert!(addr.ip().is_loopback());
    let mut stream = within(
        "connecting to the relay",
        tokio::net::TcpStream::connect(addr),
    )
    .await
    .expect("connect to the relay");
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n");
    within("sending the request", stream.write_all(request.as_bytes()))
        .await
        .expect("write request");
    let mut response = String::new();
    within("the response", stream.read_to_string(&mut response))
        .await
        .expect("read response");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (head.to_owned(), body.to_owned())
}

/// The relay binary of this build, built on demand: the tests crate is another package, so
/// cargo does not hand it `CARGO_BIN_EXE_socketlab-relay`.
pub(crate) fn relay_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let mut build = Command::new(&cargo);
    build.args([
        "build",
        "--quiet",
        "-p",
        "socketlab-relay",
        "--bin",
        "socketlab-relay",
        "--manifest-path",
        manifest,
    ]);
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let status = build
        .status()
        .unwrap_or_else(|err| panic!("cannot run {cargo} to build socketlab-relay: {err}"));
    assert!(
        status.success(),
        "building socketlab-relay failed: {status}"
    );
    // This test binary lives in target/<profile>/deps/; the relay in target/<profile>/.
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary in target/<profile>/deps");
    let relay = profile_dir.join(format!("socketlab-relay{}", std::env::consts::EXE_SUFFIX));
    assert!(relay.is_file(), "no relay binary at {}", relay.display());
    relay
}

/// A child process killed when the test ends, passed or failed; with `group`, its whole
/// process group (`cargo xtask dev`'s children too).
pub(crate) struct Running {
    pub(crate) child: Child,
    pub(crate) group: bool,
}

impl Running {
    pub(crate) fn new(child: Child) -> Running {
        Running {
            child,
            group: false,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.group
            && let Ok(pid) = i32::try_from(self.child.id())
        {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `from` on a blocking thread until a line satisfies `last`; every line read, within
/// `deadline`. The child keeps running, so the reader stops there.
pub(crate) async fn lines_until(
    from: impl Read + Send + 'static,
    deadline: Duration,
    what: &str,
    last: impl Fn(&str) -> bool + Send + 'static,
) -> anyhow::Result<Vec<String>> {
    let read = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            let done = last(&line);
            lines.push(line);
            if done {
                return Ok(lines);
            }
        }
        Err(lines)
    });
    match tokio::time::timeout(deadline, read).await {
        Err(_) => anyhow::bail!("waited {}s for {what}", deadline.as_secs()),
        Ok(joined) => match joined? {
            Ok(lines) => Ok(lines),
            Err(lines) => anyhow::bail!(
                "the output ended before {what}; it was:\n{}",
                lines.join("\n")
            ),
        },
    }
}

#[tokio::test]
async fn the_binary_prints_the_url_to_open_and_serves_it() {
    let binary = tokio::task::spawn_blocking(relay_binary);
    let binary = tokio::time::timeout(STEP * 30, binary)
        .await
        .expect("building the relay took too long")
        .expect("build task");
    let missing_dist = std::env::temp_dir().join("socketlab-no-such-dist");
    let child = Command::new(&binary)
        .args(["--listen", "127.0.0.1:0", "--dist"])
        .arg(&missing_dist)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start socketlab-relay");
    let mut running = Running::new(child);
    let stdout = running.child.stdout.take().expect("piped stdout");
    let lines = lines_until(stdout, STEP, "the relay's URL", |line| {
        line.starts_with("http://")
    })
    .await
    .unwrap();
    let url = lines.last().expect("the URL line");

    let (port, key) = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.split_once("/#token="))
        .and_then(|(port, key)| Some((port.parse::<u16>().ok()?, key)))
        .unwrap_or_else(|| panic!("{url:?} is not exactly http://127.0.0.1:PORT/#token=KEY"));
    assert_ne!(port, 0, "the printed port is the real one");
    assert!(
        key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()),
        "the key is 256 random bits in hex: {key:?}"
    );

    let (status, body) = get(SocketAddr::from(([127, 0, 0, 1], port)), "/").await;
    assert!(status.contains("200"), "{status}");
    assert!(body.contains("cargo xtask serve"), "{body}");
    drop(running);
}

/// Starts the relay binary with `args` and reads its stdout up to the first line that starts
/// with `last` (the relay keeps running, so that is where a reader stops): every line read.
async fn printed_until(binary: &std::path::Path, args: &[&str], last: &str) -> Vec<String> {
    let child = Command::new(binary)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start socketlab-relay");
    let mut running = Running::new(child);
    let stdout = running.child.stdout.take().expect("piped stdout");
    let last = last.to_owned();
    let lines = lines_until(
        stdout,
        STEP,
        "the relay to print what it prints at start",
        move |line| line.starts_with(&last),
    )
    .await
    .unwrap_or_else(|err| panic!("{err:#}"));
    drop(running);
    lines
}

/// The class code in the learners' URL the relay printed (`http://…/#class=CODE`).
fn printed_class_code(lines: &[String]) -> String {
    lines
        .iter()
        .find_map(|line| line.split_once("/#class=").map(|(_, code)| code.to_owned()))
        .unwrap_or_else(|| panic!("no learners' URL with #class= in {lines:#?}"))
}

#[tokio::test]
async fn a_class_relay_prints_the_learners_url_and_keeps_its_class_code_across_restarts() {
    let binary = tokio::task::spawn_blocking(relay_binary);
    let binary = tokio::time::timeout(STEP * 30, binary)
        .await
        .expect("building the relay took too long")
        .expect("build task");
    let db = crate::class::Db::new("printed-code");
    let db_path = db
        .path()
        .to_str()
        .expect("a UTF-8 temporary path")
        .to_owned();
    let args = ["--listen", "127.0.0.1:0", "--class", "--class-db", &db_path];
    let first = printed_until(&binary, &args, "or the class as CSV").await;
    let code = printed_class_code(&first);
    assert!(
        code.len() == 9
            && code.as_bytes()[4] == b'-'
            && code
                .chars()
                .all(|c| c == '-' || (c.is_ascii_alphanumeric() && !"01ILO".contains(c))),
        "a generated code is ABCD-EFGH without look-alikes: {code:?}"
    );
    assert!(
        first
            .iter()
            .any(|line| line.contains(&format!("type the class code {code}"))),
        "the code is printed to be written on the board: {first:#?}"
    );
    assert!(
        first.iter().any(|line| line.contains("/teacher#teacher=")),
        "{first:#?}"
    );
    // The next start keeps the class, and so the code the learners have.
    let again = printed_until(&binary, &args, "or the class as CSV").await;
    assert_eq!(printed_class_code(&again), code, "{again:#?}");
    // A chosen code replaces it, and is kept in turn.
    let mut chosen_args = args.to_vec();
    chosen_args.extend(["--class-code", "netlab 2026 x"]);
    let chosen = printed_until(&binary, &chosen_args, "or the class as CSV").await;
    assert_eq!(printed_class_code(&chosen), "NETL-AB20-26X");
    let after = printed_until(&binary, &args, "or the class as CSV").await;
    assert_eq!(printed_class_code(&after), "NETL-AB20-26X");
    // A guessable code is refused at start, with the way out.
    let child = Command::new(&binary)
        .args(args)
        .args(["--class-code", "net101"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start socketlab-relay");
    let mut running = Running::new(child);
    let mut stderr = running.child.stderr.take().expect("piped stderr");
    let said = within(
        "the relay to refuse a short class code and exit",
        tokio::task::spawn_blocking(move || {
            let mut said = String::new();
            std::io::Read::read_to_string(&mut stderr, &mut said).expect("utf-8 stderr");
            said
        }),
    )
    .await
    .expect("reader thread");
    let status = running.child.wait().expect("the relay's exit status");
    assert!(!status.success(), "{said}");
    assert!(said.contains("at least 8"), "{said}");
}

#[tokio::test]
async fn without_a_built_frontend_the_page_says_how_to_build_it() {
    let relay = Relay::start().await;
    let (status, body) = get(relay.addr, "/").await;
    assert!(status.contains("200"), "{status}");
    assert!(
        body.contains("not built") && body.contains("cargo xtask serve"),
        "{body}"
    );
    let (status, _) = get(relay.addr, "/nothing/here.js").await;
    assert!(status.contains("404"), "{status}");
    relay.stop().await;
}

#[tokio::test]
async fn a_page_folder_is_served_once_built_with_the_index_as_fallback() {
    let outer = std::env::temp_dir().join(format!("socketlab-dist-{}", std::process::id()));
    let dist = outer.join("page");
    std::fs::create_dir_all(&dist).expect("temp dist");
    // A file beside the page folder, which no request may reach.
    std::fs::write(outer.join("secret.txt"), "NOT-FOR-THE-WEB").expect("secret.txt");
    // Started before the page is built (the dev loop's relay, beside trunk's first build).
    let relay = Relay::start_with(socketlab_relay::Config {
        page: Some(socketlab_relay::Page::Folder(dist.clone())),
        ..socketlab_relay::Config::default()
    })
    .await;
    let (status, body) = get(relay.addr, "/").await;
    assert!(
        status.contains("200") && body.contains("not built"),
        "{status} {body}"
    );
    std::fs::write(dist.join("app.js"), "console.log(1)").expect("app.js");
    std::fs::write(dist.join("index.html"), "<p>the lab</p>").expect("index.html");
    let (status, body) = get(relay.addr, "/").await;
    assert!(
        status.contains("200") && body.contains("the lab"),
        "{status} {body}"
    );
    let (_, body) = get(relay.addr, "/app.js").await;
    assert_eq!(body, "console.log(1)");
    let (status, body) = get(relay.addr, "/lessons/ports").await;
    assert!(
        status.contains("200") && body.contains("the lab"),
        "SPA fallback: {status} {body}"
    );
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/..%5csecret.txt",
        "/lessons/../../secret.txt",
        "//secret.txt",
    ] {
        let (status, body) = get(relay.addr, path).await;
        assert!(!body.contains("NOT-FOR-THE-WEB"), "{path}: {status} {body}");
    }
    relay.stop().await;
    let _ = std::fs::remove_dir_all(&outer);
}

#[tokio::test]
async fn the_course_is_rendered_when_asked_so_an_edit_shows_on_reload() {
    let dist = std::env::temp_dir().join(format!("socketlab-course-dist-{}", std::process::id()));
    let lessons = dist.join("lessons");
    std::fs::create_dir_all(&lessons).expect("temp dist");
    std::fs::write(dist.join("index.html"), "<p>the lab</p>").expect("index.html");
    std::fs::write(lessons.join("course.txt"), "01-ports.md\n").expect("course.txt");
    std::fs::write(lessons.join("01-ports.md"), "# Ports\n\nOne **address**.\n").expect("lesson");
    let trunk = "http://127.0.0.1:8080";
    let relay = Relay::start_with(socketlab_relay::Config {
        page: Some(socketlab_relay::Page::Folder(dist.clone())),
        access: socketlab_relay::AccessConfig {
            allow_origins: vec![socketlab_relay::Origin::parse(trunk).expect("origin")],
            ..socketlab_relay::AccessConfig::default()
        },
        ..socketlab_relay::Config::default()
    })
    .await;
    let (head, body) = get_with(relay.addr, "/course.json", &format!("Origin: {trunk}\r\n")).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("cache-control: no-cache"), "{head}");
    assert!(
        head.contains(&format!("access-control-allow-origin: {trunk}")),
        "a page of an --allow-origin origin may read the course: {head}"
    );
    let course: socketlab_shared::lesson::Course = serde_json::from_str(&body).expect("JSON");
    assert_eq!(course.lessons[0].title, "Ports");
    assert!(
        body.contains("<strong>address</strong>"),
        "rendered: {body}"
    );

    // Another origin gets the same public text but no permission to read it from its page.
    let (head, _) = get_with(
        relay.addr,
        "/course.json",
        "Origin: http://evil.example\r\n",
    )
    .await;
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("access-control-allow-origin"),
        "{head}"
    );

    // The instructor edits the lesson: the next request shows it, no rebuild.
    std::fs::write(lessons.join("01-ports.md"), "# Ports, edited\n\nS.\n").expect("edit");
    let (_, body) = get(relay.addr, "/course.json").await;
    assert!(body.contains("Ports, edited"), "{body}");

    // A lesson course.txt lists but the folder lacks: a 404 that names it.
    std::fs::write(lessons.join("course.txt"), "01-ports.md\n02-gone.md\n").expect("edit");
    let (status, body) = get(relay.addr, "/course.json").await;
    assert!(
        status.contains("404") && body.contains("lessons/02-gone.md"),
        "{status} {body}"
    );
    relay.stop().await;
    let _ = std::fs::remove_dir_all(&dist);
}
