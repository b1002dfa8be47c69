//! The program writer against recorded sessions (the course's fixtures, real relay sessions):
//! golden programs in each language (`program/golden/`, rewritten with
//! `SOCKETLAB_BLESS_PROGRAMS=1`), and each program compiled and run on loopback, its output
//! held against what the relay recorded (port numbers aside).

use super::*;
use crate::{FromRelay, Op, Outcome};

/// A recorded session: its calls and replies, in order.
struct Recorded {
    calls: Vec<(CallId, Op)>,
    replies: Vec<(CallId, Outcome)>,
    /// In order: (is a call, index into `calls` or `replies`).
    order: Vec<(bool, usize)>,
}

impl Recorded {
    fn read(name: &str) -> Recorded {
        let path = format!(
            "{}/../frontend/src/course/exercises/fixtures/{name}.jsonl",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut recorded = Recorded {
            calls: Vec::new(),
            replies: Vec::new(),
            order: Vec::new(),
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            if let Some(call) = value.get("call") {
                let id: CallId = serde_json::from_value(call["id"].clone()).expect("an id");
                let op: Op = serde_json::from_value(call["op"].clone()).expect("an op");
                recorded.order.push((true, recorded.calls.len()));
                recorded.calls.push((id, op));
            } else if let Some(message) = value.get("message") {
                let message: FromRelay =
                    serde_json::from_value(message.clone()).expect("a message");
                if let FromRelay::Reply { id, outcome } = message {
                    recorded.order.push((false, recorded.replies.len()));
                    recorded.replies.push((id, outcome));
                }
            }
        }
        recorded
    }

    fn happened(&self) -> Vec<Happened<'_>> {
        self.order
            .iter()
            .map(|&(call, at)| {
                if call {
                    let (id, op) = &self.calls[at];
                    Happened::Call { id: *id, op }
                } else {
                    let (id, outcome) = &self.replies[at];
                    Happened::Reply { id: *id, outcome }
                }
            })
            .collect()
    }
}

/// The lifecycle lessons' sessions: a server and its clients, UDP, EADDRINUSE, ECONNREFUSED (an
/// IPv4 client at an IPv6-only server's port), a restart with SO_REUSEADDR.
const SESSIONS: [&str; 6] = [
    "accept-two-clients",
    "client-round-trip.after-lessons-1-7",
    "three-datagrams",
    "conflict-then-share",
    "ipv6-only-server",
    "restart-with-reuseaddr",
];

fn golden_path(session: &str, language: Language) -> std::path::PathBuf {
    let extension = match language {
        Language::C => "c",
        Language::Python => "py",
        Language::Rust => "rs",
    };
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/program/golden")
        .join(format!("{session}.{extension}"))
}

#[test]
fn each_recorded_session_is_written_as_its_golden_program() {
    let bless = std::env::var_os("SOCKETLAB_BLESS_PROGRAMS").is_some();
    for session in SESSIONS {
        let recorded = Recorded::read(session);
        for language in Language::ALL {
            let text = write(language, &recorded.happened()).text();
            let path = golden_path(session, language);
            if bless {
                std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
                std::fs::write(&path, &text).expect("write the golden program");
                continue;
            }
            let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (write it with SOCKETLAB_BLESS_PROGRAMS=1 cargo test -p socketlab-shared program)",
                    path.display()
                )
            });
            assert_eq!(text, golden, "{session} in {}", language.name());
        }
    }
}

#[test]
fn every_line_of_a_call_names_it_and_the_frame_names_none() {
    let recorded = Recorded::read("accept-two-clients");
    for language in Language::ALL {
        let program = write(language, &recorded.happened());
        let calls: std::collections::BTreeSet<CallId> =
            program.lines.iter().filter_map(|l| l.call).collect();
        let asked: std::collections::BTreeSet<CallId> =
            recorded.calls.iter().map(|(id, _)| *id).collect();
        assert_eq!(calls, asked, "{}: every call has lines", language.name());
        assert!(program.lines.first().is_some_and(|l| l.call.is_none()));
    }
}

#[test]
fn a_waiting_accept_runs_on_a_thread_joined_where_it_was_answered() {
    let recorded = Recorded::read("accept-two-clients");
    let program = write(Language::Python, &recorded.happened()).text();
    let start = program
        .find("accept_1 = Waiting(")
        .expect("a thread for the accept");
    let connect = program.find(".connect(").expect("the client's connect");
    let join = program.find("accept_1.answer()").expect("joined");
    assert!(start < connect && connect < join, "{program}");
}

/// Port numbers in a line of output, as `:PORT` (the kernel chooses them again).
fn without_ports(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == ':' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('P');
        }
    }
    out
}

/// Runs `command` with a timeout of 20 s; its stdout.
fn run(command: &mut std::process::Command, what: &str) -> String {
    use std::io::Read as _;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {what}: {e} (install it: apt-get install gcc python3)")
        });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        match child.try_wait().expect("wait") {
            Some(status) => {
                let mut out = String::new();
                let mut err = String::new();
                child.stdout.take().map(|mut s| s.read_to_string(&mut out));
                child.stderr.take().map(|mut s| s.read_to_string(&mut err));
                assert!(status.success(), "{what} failed ({status}):\n{err}\n{out}");
                return out;
            }
            None if std::time::Instant::now() > deadline => {
                let _ = child.kill();
                panic!("{what} took more than 20 s");
            }
            // Polling a child process: there is no other way to wait with a timeout in std.
            None => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
}

/// The sessions whose programs run on their own: every peer is a socket of the session. (The
/// client lesson's talks to the relay's echo service, whose port is the relay's: its program
/// runs only beside a relay, so it is checked as golden text only.)
const RUNNABLE: [&str; 5] = [
    "accept-two-clients",
    "three-datagrams",
    "conflict-then-share",
    "ipv6-only-server",
    "restart-with-reuseaddr",
];

#[test]
fn each_program_compiles_runs_on_loopback_and_prints_what_the_lab_recorded() {
    let dir = std::env::temp_dir().join(format!("socketlab-programs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    for session in RUNNABLE {
        let recorded = Recorded::read(session);
        let happened = recorded.happened();
        let expected: Vec<String> = expected(&happened)
            .iter()
            .map(|l| without_ports(l))
            .collect();
        for language in Language::ALL {
            let source = dir.join(format!("{session}-{}", language.file_name()));
            std::fs::write(&source, write(language, &happened).text()).expect("write");
            let output = match language {
                Language::C => {
                    let binary = dir.join(session);
                    run(
                        std::process::Command::new("cc")
                            .args(["-Wall", "-Werror", "-pthread", "-o"])
                            .arg(&binary)
                            .arg(&source),
                        &format!("cc on {session}"),
                    );
                    run(
                        &mut std::process::Command::new(&binary),
                        &format!("{session} (C)"),
                    )
                }
                Language::Rust => rust_output(&dir, session, &write(language, &happened).text()),
                Language::Python => {
                    run(
                        std::process::Command::new("python3")
                            .args(["-m", "py_compile"])
                            .arg(&source),
                        &format!("py_compile on {session}"),
                    );
                    run(
                        std::process::Command::new("python3").arg(&source),
                        &format!("{session} (Python)"),
                    )
                }
            };
            let printed: Vec<String> = output.lines().map(without_ports).collect();
            assert_eq!(printed, expected, "{session} in {}", language.name());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Builds the Rust program in a crate of its own (socket2 from the registry cache, offline, as
/// the workspace already uses it) and runs it; its output.
fn rust_output(dir: &std::path::Path, session: &str, source: &str) -> String {
    let name = session.replace(['-', '.'], "_");
    let crate_dir = dir.join(format!("rust-{name}"));
    std::fs::create_dir_all(crate_dir.join("src")).expect("a crate folder");
    std::fs::write(
        crate_dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\nsocket2 = {{ version = \"0.6\", features = [\"all\"] }}\n\n[workspace]\n"
        ),
    )
    .expect("Cargo.toml");
    std::fs::write(crate_dir.join("src/main.rs"), source).expect("main.rs");
    // One target folder for every session's crate, so socket2 is built once.
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/program-tests");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(
        std::process::Command::new(&cargo)
            .args(["build", "--quiet", "--offline", "--manifest-path"])
            .arg(crate_dir.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target)
            .env("RUSTFLAGS", "-D warnings")
            .env_remove("CARGO_ENCODED_RUSTFLAGS"),
        &format!("cargo build of {session}'s Rust program"),
    );
    run(
        &mut std::process::Command::new(target.join("debug").join(&name)),
        &format!("{session} (Rust)"),
    )
}
