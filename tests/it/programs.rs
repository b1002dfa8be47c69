//! The lab's sessions as programs (`socketlab_shared::program`), run for real: each lifecycle
//! lesson's session (a server and two clients, the client's round trip through the relay's
//! echo service, UDP, EADDRINUSE, ECONNREFUSED, the SO_REUSEADDR restart) is recorded from the
//! relay by `course_recordings`, and while that relay still runs (its lesson services with it)
//! the session's program is written in C, Python and Rust, compiled (`cc -Wall -Werror
//! -pthread`; `python3 -m py_compile`; cargo, offline, with `-D warnings`), run on loopback
//! with a timeout, and its printed lines held against what the relay recorded, port numbers
//! aside (the kernel chooses them again). The session is ended first, so the ports it typed
//! are free again for the program. A session that splits into a server and a client program
//! (`program::split`) is run that way too: the server first, the client once the server printed
//! what the guide says, with the ports from those lines as its arguments, then the server's
//! Enter (its standard input closed).
//!
//! A missing compiler fails with what to install (`cargo xtask test` installs gcc and python3
//! where it may).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use socketlab_shared::program::{self, Happened, Language};
use socketlab_shared::{CallId, FromRelay, Op};

/// The sessions whose programs are run: the lifecycle lessons'.
pub(crate) const LIFECYCLE: [&str; 6] = [
    "accept-two-clients",
    "client-round-trip.after-lessons-1-7",
    "three-datagrams",
    "conflict-then-share",
    "ipv6-only-server",
    "restart-with-reuseaddr",
];

/// A program runs this long at most; a compiler longer (cargo builds socket2 once for all).
const RUN: Duration = Duration::from_secs(20);
const BUILD: Duration = Duration::from_secs(300);

/// One line of a recorded transcript.
enum Entry {
    Call(CallId, Op),
    Message(FromRelay),
}

fn entries(lines: &[String]) -> Vec<Entry> {
    lines
        .iter()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            if let Some(call) = value.get("call") {
                let id = serde_json::from_value(call["id"].clone()).expect("a call id");
                let op = serde_json::from_value(call["op"].clone()).expect("an op");
                Entry::Call(id, op)
            } else {
                let message = serde_json::from_value(value["message"].clone()).expect("a message");
                Entry::Message(message)
            }
        })
        .collect()
}

fn happened(entries: &[Entry]) -> Vec<Happened<'_>> {
    entries
        .iter()
        .filter_map(|entry| match entry {
            Entry::Call(id, op) => Some(Happened::Call { id: *id, op }),
            Entry::Message(message) => Happened::of_message(message),
        })
        .collect()
}

/// Writes session `name` (its transcript `lines`) as a program in each language, builds and
/// runs each, and checks what it printed against the relay's record. Blocking: compilers and
/// programs are child processes, each under its own deadline.
pub(crate) fn run_each_language(name: &str, lines: &[String]) {
    let entries = entries(lines);
    let happened = happened(&entries);
    let expected: Vec<String> = program::expected(&happened)
        .iter()
        .map(|line| without_ports(line))
        .collect();
    assert!(
        expected.len() > 3,
        "{name}: the session made too few calls to be a lesson's"
    );
    let dir = std::env::temp_dir().join(format!(
        "socketlab-programs-{}-{}",
        std::process::id(),
        name.replace('.', "-")
    ));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    for language in Language::ALL {
        let source = program::write(language, &happened).text();
        let output = match language {
            Language::C => c_output(&dir, &source),
            Language::Python => python_output(&dir, &source),
            Language::Rust => rust_output(&dir, name, &source),
        };
        let printed: Vec<String> = output.lines().map(without_ports).collect();
        assert_eq!(
            printed,
            expected,
            "{name}: the {} program printed other results than the lab recorded (left: the \
             program, right: the relay's record). The program:\n{source}",
            language.name()
        );
    }
    if let Ok((server_expected, client_expected)) = program::expected_split(&happened) {
        for language in Language::ALL {
            let halves =
                program::split(language, &happened).expect("it splits, as expected_split said");
            let (server, client) = run_halves(&dir, name, language, &halves);
            for (half, printed, expected, source) in [
                ("server", server, &server_expected, &halves.server),
                ("client", client, &client_expected, &halves.client),
            ] {
                let printed: Vec<String> = printed.iter().map(|l| without_ports(l)).collect();
                let expected: Vec<String> = expected.iter().map(|l| without_ports(l)).collect();
                assert_eq!(
                    printed,
                    expected,
                    "{name}: the {half} half in {} printed other results than the lab recorded \
                     (left: the program, right: the relay's record). The program:\n{}",
                    language.name(),
                    source.text()
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Builds the two halves of a split session, runs the server, starts the client once the
/// server printed what the guide says (with the ports from those lines), and ends the server
/// after the client (closing its standard input: its Enter). What each printed.
fn run_halves(
    dir: &Path,
    name: &str,
    language: Language,
    halves: &program::Split,
) -> (Vec<String>, Vec<String>) {
    let half_dir = dir.join("halves");
    std::fs::create_dir_all(&half_dir).expect("a folder for the halves");
    let crate_name = format!("{}_halves", name.replace(['-', '.'], "_"));
    let mut commands = Vec::new();
    for (half, program) in [
        (program::Half::Server, &halves.server),
        (program::Half::Client, &halves.client),
    ] {
        let file = half.file_name(language);
        let stem = file.split('.').next().expect("a stem").to_owned();
        let command = match language {
            Language::C => {
                let source = half_dir.join(&file);
                std::fs::write(&source, program.text()).expect("write the C half");
                let binary = half_dir.join(&stem);
                run(
                    Command::new("cc")
                        .args(["-Wall", "-Werror", "-pthread", "-o"])
                        .arg(&binary)
                        .arg(&source),
                    &format!("cc -Wall -Werror -pthread on {file}"),
                    BUILD,
                );
                Command::new(binary)
            }
            Language::Python => {
                let source = half_dir.join(&file);
                std::fs::write(&source, program.text()).expect("write the Python half");
                run(
                    Command::new("python3")
                        .args(["-m", "py_compile"])
                        .arg(&source),
                    &format!("python3 -m py_compile {file}"),
                    BUILD,
                );
                let mut command = Command::new("python3");
                command.arg(source);
                command
            }
            Language::Rust => {
                let bin = half_dir.join("rust/src/bin");
                std::fs::create_dir_all(&bin).expect("src/bin");
                std::fs::write(bin.join(&file), program.text()).expect("write the Rust half");
                // The bins are named after the session too: every session's crate builds
                // into one target folder.
                Command::new(
                    rust_target()
                        .join("debug")
                        .join(format!("{crate_name}_{stem}")),
                )
            }
        };
        commands.push(command);
    }
    if language == Language::Rust {
        let crate_dir = half_dir.join("rust");
        std::fs::write(
            crate_dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"{crate_name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
                 [[bin]]\nname = \"{crate_name}_server\"\npath = \"src/bin/server.rs\"\n\n\
                 [[bin]]\nname = \"{crate_name}_client\"\npath = \"src/bin/client.rs\"\n\n\
                 [dependencies]\nsocket2 = {{ version = \"0.6\", features = [\"all\"] }}\n\n[workspace]\n"
            ),
        )
        .expect("Cargo.toml");
        cargo_build(&crate_dir);
    }
    let mut commands = commands.into_iter();
    let (Some(mut server), Some(mut client)) = (commands.next(), commands.next()) else {
        unreachable!("two halves");
    };
    let what = format!("{name}'s server in {}", language.name());
    let mut child = server
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let stdout = child.stdout.take().expect("the server's stdout");
    let (line_sent, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line_sent.send(line).is_err() {
                break;
            }
        }
    });
    let kill = |child: &mut std::process::Child| {
        let _ = child.kill();
        let _ = child.wait();
    };
    let mut server_lines = Vec::new();
    while server_lines.len() < halves.guide.ready_after {
        match lines.recv_timeout(RUN) {
            Ok(line) => server_lines.push(line),
            Err(_) => {
                kill(&mut child);
                panic!(
                    "{what} printed {} lines, not the {} the client waits for: {server_lines:?}",
                    server_lines.len(),
                    halves.guide.ready_after
                );
            }
        }
    }
    for argument in &halves.guide.arguments {
        let line = &server_lines[argument.printed_on];
        let port = line
            .rsplit(':')
            .next()
            .filter(|port| port.parse::<u16>().is_ok())
            .unwrap_or_else(|| panic!("no port at the end of the server's line {line:?}"));
        client.arg(port);
    }
    let client_output = run(
        &mut client,
        &format!("{name}'s client in {}", language.name()),
        RUN,
    );
    // The server's Enter: its standard input closes.
    drop(child.stdin.take());
    let deadline = Instant::now() + RUN;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => server_lines.push(line),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                kill(&mut child);
                panic!("{what} did not end after the client: {server_lines:?}");
            }
        }
    }
    let status = loop {
        if let Some(status) = child.try_wait().expect("the server's status") {
            break status;
        }
        if Instant::now() > deadline {
            kill(&mut child);
            panic!("{what} closed its output but did not exit");
        }
        // The output closed, so the process is ending: polling for its exit is the only
        // way std offers to wait with a deadline.
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(
        status.success(),
        "{what} failed ({status}): {server_lines:?}"
    );
    let client_lines = client_output.lines().map(str::to_owned).collect();
    (server_lines, client_lines)
}

/// One target folder for every program's crate, so socket2 is built once.
fn rust_target() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/program-tests")
}

/// Builds the crate in `crate_dir`, offline, with `-D warnings`.
fn cargo_build(crate_dir: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(
        Command::new(&cargo)
            .args(["build", "--quiet", "--offline"])
            .current_dir(crate_dir)
            .env("CARGO_TARGET_DIR", rust_target())
            .env("RUSTFLAGS", "-D warnings")
            .env_remove("CARGO_ENCODED_RUSTFLAGS"),
        "cargo build of a Rust program",
        BUILD,
    );
}

fn c_output(dir: &Path, source: &str) -> String {
    let file = dir.join(Language::C.file_name());
    std::fs::write(&file, source).expect("write the C program");
    let binary = dir.join("session");
    run(
        Command::new("cc")
            .args(["-Wall", "-Werror", "-pthread", "-o"])
            .arg(&binary)
            .arg(&file),
        "cc -Wall -Werror -pthread",
        BUILD,
    );
    run(&mut Command::new(&binary), "the C program", RUN)
}

fn python_output(dir: &Path, source: &str) -> String {
    let file = dir.join(Language::Python.file_name());
    std::fs::write(&file, source).expect("write the Python program");
    run(
        Command::new("python3")
            .args(["-m", "py_compile"])
            .arg(&file),
        "python3 -m py_compile",
        BUILD,
    );
    run(
        Command::new("python3").arg(&file),
        "the Python program",
        RUN,
    )
}

/// Builds the Rust program in a crate of its own (socket2 from the registry cache, offline,
/// as the workspace already uses it) and runs it.
fn rust_output(dir: &Path, name: &str, source: &str) -> String {
    let crate_name = name.replace(['-', '.'], "_");
    let crate_dir = dir.join("rust");
    std::fs::create_dir_all(crate_dir.join("src")).expect("a crate folder");
    std::fs::write(
        crate_dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{crate_name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
             [dependencies]\nsocket2 = {{ version = \"0.6\", features = [\"all\"] }}\n\n[workspace]\n"
        ),
    )
    .expect("Cargo.toml");
    std::fs::write(crate_dir.join("src/main.rs"), source).expect("main.rs");
    cargo_build(&crate_dir);
    run(
        &mut Command::new(rust_target().join("debug").join(&crate_name)),
        "the Rust program",
        RUN,
    )
}

/// Runs `command` to its end within `limit`; its standard output. A failure or an overrun
/// fails the test with what the child said.
fn run(command: &mut Command, what: &str, limit: Duration) -> String {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {what}: {e} (install it: apt-get install gcc python3)")
        });
    let id = child.id();
    // The child is waited for on a thread, so the test can give up at the deadline.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let started = Instant::now();
    match finished.recv_timeout(limit) {
        Ok(Ok(output)) => {
            let out = String::from_utf8_lossy(&output.stdout).into_owned();
            let err = String::from_utf8_lossy(&output.stderr);
            assert!(
                output.status.success(),
                "{what} failed ({}):\n{err}\n{out}",
                output.status
            );
            out
        }
        Ok(Err(e)) => panic!("waiting for {what}: {e}"),
        Err(_) => {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(i32::try_from(id).unwrap_or(i32::MAX)),
                nix::sys::signal::Signal::SIGKILL,
            );
            panic!(
                "{what} ran longer than {limit:?} (killed after {:?})",
                started.elapsed()
            )
        }
    }
}

/// Port numbers in a line of output, as `:P` (the kernel chooses them again): digits after
/// the `:` that ends an address (after `]` or an IPv4 address's last digit), not the `::1`
/// inside an IPv6 address.
fn without_ports(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let after_address = out.ends_with(']') || out.ends_with(|d: char| d.is_ascii_digit());
        out.push(c);
        if c == ':' && after_address && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('P');
        }
    }
    out
}

#[test]
fn without_ports_masks_every_port_and_nothing_else() {
    assert_eq!(
        without_ports("accept: peer [::1]:41234"),
        "accept: peer [::1]:P"
    );
    assert_eq!(
        without_ports("recvfrom: 2 bytes 6869 from 127.0.0.1:5"),
        "recvfrom: 2 bytes 6869 from 127.0.0.1:P"
    );
    assert_eq!(without_ports("bind: EADDRINUSE"), "bind: EADDRINUSE");
    assert_eq!(
        without_ports("accept: peer [::ffff:127.0.0.1]:80"),
        "accept: peer [::ffff:127.0.0.1]:P"
    );
}
