//! What the project ships, run as its users run it.
//!
//! `the_release_tarball_serves_the_lab_from_an_empty_folder`: the tarball `cargo xtask dist`
//! packs (`$SOCKETLAB_RELEASE`, which `cargo xtask test` sets; else the one in
//! `target/dist/`) holds the relay, README.md and both licences in one folder. Its relay, started
//! from an empty folder with no `--dist` and no `SOCKETLAB_DIST`, says it serves the page built
//! into it and serves the lab: Chromium opens the printed URL, the page goes live, socket(),
//! bind() and listen() get the kernel's answers, and the course index lists the lessons (`release-lab.png`,
//! `release-course.png`). Then the instructor's path: `--write-page` copies the page out (and
//! refuses a folder that is not empty), `--dist` on that copy serves an edited lesson, and
//! `--dist` on a folder with no page says how to serve the built-in one.
//!
//! `cargo_xtask_dev_runs_trunk_and_the_relay_and_stops_both` (`#[ignore]`d: `cargo xtask test`
//! runs it as a step of its own after the others, because trunk's build of the page would slow
//! the timed tests beside it): `cargo xtask dev` prints one URL with a key, trunk's page at it
//! goes live against the relay, its course index lists the lessons the relay read from trunk's
//! copy (`dev-loop.png`), and SIGINT to its process group (what the terminal's Ctrl-C
//! sends) stops xtask, trunk and the relay: both ports refuse afterwards.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use fantoccini::Client;
use tokio::time::timeout;

use super::page::{command, exists, wait_for};
use super::{
    in_chromium, listening_server, page_text, screenshot, wait_for_status, workspace_root,
};
use crate::relay_binary::{Running, lines_until};

/// A temporary folder of this test's own, removed at the end.
struct Folder(PathBuf);

impl Folder {
    fn new(name: &str) -> Folder {
        let dir = std::env::temp_dir().join(format!("socketlab-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        Folder(dir)
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The release tarball: `$SOCKETLAB_RELEASE`, else the only one in `target/dist/`.
fn release_tarball() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("SOCKETLAB_RELEASE") {
        return Ok(PathBuf::from(path));
    }
    let dir = workspace_root().join("target/dist");
    let found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.to_string_lossy().ends_with(".tar.gz"))
                .collect()
        })
        .unwrap_or_default();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        _ => bail!(
            "no release tarball: run `cargo xtask dist` (it writes {}/socketlab-relay-*.tar.gz), \
             or set SOCKETLAB_RELEASE to one; `cargo xtask test` does both",
            dir.display()
        ),
    }
}

/// Unpacks `tarball` into `into` and returns the names in it with their modes, in order.
fn unpack(tarball: &Path, into: &Path) -> Result<Vec<(String, u32)>> {
    let file = std::fs::File::open(tarball)
        .with_context(|| format!("cannot open {}", tarball.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut names = Vec::new();
    for entry in archive.entries().context("reading the tarball")? {
        let mut entry = entry.context("an entry of the tarball")?;
        names.push((
            entry.path()?.to_string_lossy().into_owned(),
            entry.header().mode()?,
        ));
        ensure!(
            entry.unpack_in(into)?,
            "an entry would land outside the folder"
        );
    }
    Ok(names)
}

/// The relay started from the unpacked tarball in `cwd` with `args`; its stdout up to the URL.
async fn start_release(binary: &Path, cwd: &Path, args: &[&str]) -> Result<(Running, Vec<String>)> {
    let mut child = Command::new(binary)
        .args(args)
        .current_dir(cwd)
        .env_remove("SOCKETLAB_DIST")
        .env_remove("SOCKETLAB_LISTEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let stdout = child.stdout.take().context("piped stdout")?;
    let running = Running::new(child);
    let lines = lines_until(stdout, Duration::from_secs(20), "the relay's URL", |line| {
        line.starts_with("http://")
    })
    .await?;
    Ok((running, lines))
}

#[tokio::test]
async fn the_release_tarball_serves_the_lab_from_an_empty_folder() {
    let tarball = release_tarball().unwrap();
    let unpacked = Folder::new("release");
    let names = unpack(&tarball, &unpacked.0).unwrap();
    let folder = tarball
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.strip_suffix(".tar.gz"))
        .expect("a .tar.gz name")
        .to_owned();
    assert_eq!(
        names,
        vec![
            (format!("{folder}/"), 0o755),
            (format!("{folder}/socketlab-relay"), 0o755),
            (format!("{folder}/README.md"), 0o644),
            (format!("{folder}/LICENSE-MIT"), 0o644),
            (format!("{folder}/LICENSE-APACHE"), 0o644),
        ]
    );
    let top = unpacked.0.join(&folder);
    let readme = std::fs::read_to_string(top.join("README.md")).expect("README.md");
    assert!(
        readme.contains("./socketlab-relay") && readme.contains("## This build"),
        "{readme}"
    );
    let binary = top.join("socketlab-relay");

    // From an empty folder: nothing there for it to serve but what it carries.
    let empty = Folder::new("release-cwd");
    let (relay, lines) = start_release(&binary, &empty.0, &["--listen", "127.0.0.1:0"])
        .await
        .unwrap();
    assert!(
        lines
            .iter()
            .any(|line| line == "socketlab relay: serving the page built into this binary."),
        "{lines:?}"
    );
    let url = lines.last().expect("the URL").clone();
    in_chromium("release-failure.png", async |client: &Client| {
        command(&format!("open {url}"), client.goto(&url)).await?;
        wait_for_status(client, "live").await?;
        // socket(), bind() to a port the kernel chooses, listen(): each answer in the table.
        listening_server(client).await?;
        screenshot(client, "release-lab.png").await?;
        course_index(client, &url, "the course index from the embedded lessons").await?;
        screenshot(client, "release-course.png").await?;
        Ok(())
    })
    .await
    .unwrap();
    // Every spelling of a path out of the page answers with the page's index, never a file.
    let addr = address_in(&url);
    let (_, index_html) = crate::relay_binary::get_with(addr, "/", "").await;
    assert!(index_html.contains("<html"), "{index_html}");
    for path in [
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/lessons/../../Cargo.toml",
        "/lessons/..%5c..%5cCargo.toml",
        "//etc/passwd",
        "/etc/passwd",
    ] {
        let (head, body) = crate::relay_binary::get_with(addr, path, "").await;
        assert!(
            head.contains("200") && body == index_html,
            "{path}: {head}\n{body}"
        );
    }
    drop(relay);
    assert_eq!(
        std::fs::read_dir(&empty.0).expect("the folder").count(),
        0,
        "the relay wrote into the folder it ran from"
    );

    // The instructor's path: the page copied out, a lesson edited, that copy served.
    let work = Folder::new("release-page");
    let copy = work.0.join("my-lab");
    let wrote = Command::new(&binary)
        .arg("--write-page")
        .arg(&copy)
        .current_dir(&empty.0)
        .output()
        .expect("run --write-page");
    assert!(wrote.status.success(), "{wrote:?}");
    assert!(copy.join("index.html").is_file());
    let course_txt = std::fs::read_to_string(copy.join("lessons/course.txt")).expect("course.txt");
    let first = course_txt
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .expect("a lesson in course.txt")
        .to_owned();
    let lesson = copy.join("lessons").join(&first);
    let text = std::fs::read_to_string(&lesson).expect("the first lesson");
    let (_, rest) = text.split_once('\n').expect("a title line");
    std::fs::write(&lesson, format!("# Edited by the instructor\n{rest}")).expect("edit");
    let again = Command::new(&binary)
        .arg("--write-page")
        .arg(&copy)
        .output()
        .expect("run --write-page again");
    assert!(!again.status.success(), "it wrote over a folder in use");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("is not empty"),
        "{again:?}"
    );
    let copy_arg = copy.to_string_lossy().into_owned();
    let (relay, lines) = start_release(
        &binary,
        &empty.0,
        &["--listen", "127.0.0.1:0", "--dist", &copy_arg],
    )
    .await
    .unwrap();
    assert!(
        lines
            .iter()
            .any(|line| line.contains("serving the page folder")),
        "{lines:?}"
    );
    let addr = address_in(lines.last().expect("the URL"));
    let (head, body) = crate::relay_binary::get_with(addr, "/course.json", "").await;
    assert!(head.contains("200"), "{head}");
    assert!(body.contains("Edited by the instructor"), "{body}");
    drop(relay);

    // A --dist folder without a page (a typo, say): the relay says how to get back its own.
    let nowhere = work.0.join("no-page-here");
    let nowhere = nowhere.to_string_lossy().into_owned();
    let (relay, lines) = start_release(
        &binary,
        &empty.0,
        &["--listen", "127.0.0.1:0", "--dist", &nowhere],
    )
    .await
    .unwrap();
    let addr = address_in(lines.last().expect("the URL"));
    let (head, body) = crate::relay_binary::get_with(addr, "/", "").await;
    assert!(
        head.contains("200") && body.contains("carries the page inside it"),
        "{head}\n{body}"
    );
    drop(relay);
}

/// Opens the course index of the lab at `url` (the page URL with its key) and waits for its
/// first lesson, which the relay renders from the lessons it reads.
async fn course_index(client: &Client, url: &str, what: &str) -> Result<()> {
    let index = url.replacen("/#token=", "/lessons#token=", 1);
    command(&format!("open {index}"), client.goto(&index)).await?;
    wait_for(what, Duration::from_secs(20), || async {
        Ok(exists(client, r#"li[data-lesson="why-ports-exist"]"#)
            .await?
            .then_some(()))
    })
    .await
}

/// The relay's address in the URL it printed, `http://ADDR/#token=…`.
fn address_in(url: &str) -> SocketAddr {
    url.strip_prefix("http://")
        .and_then(|rest| rest.split_once('/'))
        .and_then(|(addr, _)| addr.parse().ok())
        .unwrap_or_else(|| panic!("no address in {url:?}"))
}

/// A port nobody listens on at this moment, for trunk: it prints `:0` instead of the port the
/// kernel chose, so it cannot be given port 0. The kernel hands out a free port and this test
/// passes it on at once.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

#[tokio::test]
#[ignore = "cargo xtask test runs it as a step of its own: trunk builds the page in it"]
async fn cargo_xtask_dev_runs_trunk_and_the_relay_and_stops_both() {
    use std::os::unix::process::CommandExt;

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let port = free_port();
    let mut child = Command::new(&cargo)
        .args(["xtask", "dev", "--port", &port.to_string()])
        .args(["--listen", "127.0.0.1:0"])
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .expect("start cargo xtask dev");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut running = Running { child, group: true };
    let origin = format!("http://127.0.0.1:{port}/#token=");
    let wanted = origin.clone();
    // Its first run installs nothing here (xtask test did) but builds the page in debug.
    let (lines, stdout) = {
        let reader = tokio::task::spawn_blocking(move || {
            let mut reader = BufReader::new(stdout);
            let mut lines = Vec::new();
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                let done = line.starts_with(&wanted);
                print!("{line}");
                lines.push(std::mem::take(&mut line).trim_end().to_owned());
                if done {
                    break;
                }
            }
            (lines, reader)
        });
        timeout(Duration::from_secs(900), reader)
            .await
            .expect("cargo xtask dev printed no URL within 15 minutes")
            .expect("the reader thread")
    };
    let url = lines.last().expect("a line").clone();
    assert!(
        url.starts_with(&origin),
        "no URL to open in:\n{}",
        lines.join("\n")
    );
    let with_key: Vec<&String> = lines.iter().filter(|l| l.contains("#token=")).collect();
    assert_eq!(with_key, vec![&url], "one URL to open, not several");
    let relay: SocketAddr = url
        .split_once("&relay=")
        .and_then(|(_, addr)| addr.parse().ok())
        .expect("the relay's address after &relay=");

    in_chromium("dev-loop-failure.png", async |client: &Client| {
        command(&format!("open {url}"), client.goto(&url)).await?;
        wait_for_status(client, "live").await?;
        let text = page_text(client).await?;
        ensure!(text.contains("Server"), "the lab is not shown: {text}");
        screenshot(client, "dev-loop.png").await?;
        // The course comes from the relay, which reads the lessons trunk copied.
        course_index(
            client,
            &url,
            "the course index, from the lessons trunk copied",
        )
        .await?;
        Ok(())
    })
    .await
    .unwrap();

    // Ctrl-C: the terminal sends SIGINT to the whole foreground process group.
    let pid = i32::try_from(running.child.id()).expect("a pid");
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("SIGINT to the group");
    let rest = tokio::task::spawn_blocking(move || {
        let mut rest = String::new();
        let mut stdout = stdout;
        let _ = stdout.read_to_string(&mut rest);
        rest
    });
    let rest = timeout(Duration::from_secs(60), rest)
        .await
        .expect("cargo xtask dev did not finish its output within 60 s of Ctrl-C")
        .expect("the reader thread");
    let status = timeout(
        Duration::from_secs(30),
        // Dropping `running` afterwards kills whatever of the group is left (nothing should be).
        tokio::task::spawn_blocking(move || running.child.wait()),
    )
    .await
    .expect("cargo xtask dev did not exit within 30 s of Ctrl-C")
    .expect("the waiting thread")
    .expect("its status");
    assert!(
        rest.contains("stopped the relay and trunk serve"),
        "after Ctrl-C it printed:\n{rest}"
    );
    // `cargo run` has replaced itself with xtask, which stops both and exits cleanly.
    assert!(
        status.success(),
        "cargo xtask dev ended with {status} after Ctrl-C"
    );
    for (what, addr) in [
        ("the relay", relay),
        ("trunk", SocketAddr::from(([127, 0, 0, 1], port))),
    ] {
        assert!(
            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(),
            "{what} still listens on {addr} after Ctrl-C"
        );
    }
}
