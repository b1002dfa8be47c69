//! The lab in a real browser: headless Chromium opens the page the relay serves (the URL the relay
//! prints, with its key), makes a server socket through the UI, and the test connects to it from
//! outside with a plain TcpStream; the page must then show the accepted connection with the test's
//! own address as its peer. A missing Chromium or an unbuilt frontend fails the test with what to
//! do; it is never skipped.
//!
//! What they need: the built frontend in `$SOCKETLAB_DIST`, else `<workspace>/dist` (`cargo xtask
//! build`, or `trunk build --release`); Chromium and chromedriver from `$SOCKETLAB_CHROMIUM` and
//! `$SOCKETLAB_CHROMEDRIVER`, else `/usr/bin`, else PATH (`socketlab_tests::chrome`). `cargo xtask test`
//! sets all three. Screenshots go to `target/screenshots/`, and a `*-failure.png` when a test
//! fails.
//!
//! The three tests here: `lab_accepts_a_real_connection_and_shows_its_peer` opens exactly the URL
//! the relay prints (`page_url()`, key included), from the relay in-process on `127.0.0.1:0`.
//! Through the DOM contract it clicks socket, bind, listen, accept in `panel-server`, waiting after
//! each for the socket table's row to show the new state (and the accept to be drawn `waiting`),
//! reads the bound address (asserted to be loopback), connects a tokio `TcpStream` to it, and waits
//! for a row whose `peer` is the stream's local address: a different socket, `connected`, with the
//! server's local address, while the listener stays `listening` (`lab.png`).
//! `a_page_without_the_key_says_so_and_a_wrong_key_is_explained` opens the page without a key (the
//! no-key box, no connection attempt), then with a wrong key in the fragment (refused, the restart
//! hint), then the right one (live, without a reload) (`lab-no-key.png`, `lab-wrong-key.png`).
//! `a_page_served_elsewhere_reaches_a_relay_that_allows_its_origin` is the dev loop: a page served
//! by one relay (standing in for `trunk serve`) reaches a second relay named after `&relay=` in its
//! fragment, which admits the page's origin by `allow_origins`; it is live, its course index is
//! the one that second relay renders (`/course.json`, read cross-origin), and it is lost when that
//! second relay stops.
//!
//! The modules below hold one scenario each (`kernel`, `course`, `time_wait`, `datagram`, `code_view`,
//! `looking_at_ports`, `scanning`, `lesson_steps`, `class`, and `shipping`: the release tarball's
//! relay and `cargo xtask dev`), plus `page` (Chromium itself is
//! `socketlab_tests::chrome`, shared with the bench). What every browser
//! test shares is here: `relay_serving_the_page` (an in-process relay serving the built frontend,
//! or a failure saying how to build it) and `in_chromium` (a fresh chromedriver, profile and
//! session around one scenario; a screenshot when it fails; the session closed whatever happened).

mod class;
mod code_view;
mod course;
mod datagram;
mod kernel;
mod lesson_steps;
mod looking_at_ports;
mod page;
mod scanning;
mod shipping;
mod time_wait;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use fantoccini::Client;
use socketlab_relay::Config;
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::support::Relay;

use self::page::{
    Row, attribute, click_call, command, exists, socket_rows, wait_for, wait_for_row,
};
use socketlab_tests::chrome::{Chromedriver, PageLoad, Profile};

const SERVER_PANEL: &str = r#"[data-testid="panel-server"]"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_accepts_a_real_connection_and_shows_its_peer() {
    let relay = relay_serving_the_page().await.unwrap();
    // Exactly what the relay prints: the page, with this launch's key in the fragment.
    let url = relay.page_url();
    let done = in_chromium("lab-failure.png", async |client: &Client| {
        accept_scenario(client, &url).await
    })
    .await;
    relay.stop().await;
    done.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_without_the_key_says_so_and_a_wrong_key_is_explained() {
    let relay = relay_serving_the_page().await.unwrap();
    let done = in_chromium("lab-key-failure.png", async |client: &Client| {
        key_scenario(client, &relay).await
    })
    .await;
    relay.stop().await;
    done.unwrap();
}

/// The dev loop: a page served by another server (here a second relay stands in for `trunk
/// serve`) connects straight to the relay named in its fragment, which admits its origin
/// because of `--allow-origin`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_served_elsewhere_reaches_a_relay_that_allows_its_origin() {
    let pages = relay_serving_the_page().await.unwrap();
    // The named relay's own page folder holds a course of its own, so the index shows where the
    // course came from: the relay renders it (`/course.json`) and lets this origin's page read it.
    let named_dist = std::env::temp_dir().join(format!("socketlab-named-{}", std::process::id()));
    std::fs::create_dir_all(named_dist.join("lessons")).expect("temp dist");
    std::fs::write(named_dist.join("index.html"), "<p>not this page</p>").expect("index.html");
    std::fs::write(named_dist.join("lessons/course.txt"), "01-named.md\n").expect("course.txt");
    std::fs::write(
        named_dist.join("lessons/01-named.md"),
        "# From the named relay\n\nRendered by the relay in the fragment.\n",
    )
    .expect("lesson");
    let mut config = Config {
        page: Some(socketlab_relay::Page::Folder(named_dist.clone())),
        ..Config::default()
    };
    config.access.allow_origins.push(
        socketlab_relay::Origin::parse(&format!("http://{}", pages.addr)).expect("an origin"),
    );
    let relay = Relay::start_with(config).await;
    let url = format!(
        "http://{}/#token={}&relay={}",
        pages.addr, relay.token, relay.addr
    );
    let done = in_chromium("lab-elsewhere-failure.png", async |client: &Client| {
        let index = format!(
            "http://{}/lessons#token={}&relay={}",
            pages.addr, relay.token, relay.addr
        );
        command(&format!("open {index}"), client.goto(&index)).await?;
        wait_for(
            "the named relay's course",
            Duration::from_secs(20),
            || async {
                Ok(exists(client, r#"li[data-lesson="named"]"#)
                    .await?
                    .then_some(()))
            },
        )
        .await?;
        command(&format!("open {url}"), client.goto(&url)).await?;
        wait_for_status(client, "live").await?;
        // The session is the named relay's: stopping it (not the page's server) loses it.
        relay.stop().await;
        wait_for_status(client, "lost").await
    })
    .await;
    pages.stop().await;
    let _ = std::fs::remove_dir_all(&named_dist);
    done.unwrap();
}

/// Through the server panel: socket(), bind() to the default address and listen(), waiting for
/// the socket table to show each step. Returns the socket's id and the address the kernel
/// bound, which must be loopback: a test only ever connects there.
async fn listening_server(client: &Client) -> Result<(String, SocketAddr)> {
    click_call(client, SERVER_PANEL, "socket").await?;
    let id = wait_for(
        "the server panel to carry its new socket's id (data-socket)",
        Duration::from_secs(20),
        || async { attribute(client, SERVER_PANEL, "data-socket").await },
    )
    .await?;
    wait_for_row(
        client,
        &format!("socket {id}'s row in state fresh"),
        &id,
        |row| has_state(row, "fresh"),
    )
    .await?;

    click_call(client, SERVER_PANEL, "bind").await?;
    let bound = wait_for_row(
        client,
        &format!("socket {id}'s row bound, with the port the kernel chose"),
        &id,
        |row| has_state(row, "bound") && address(&row.local).is_some_and(|a| a.port() != 0),
    )
    .await?;
    let server_addr = address(&bound.local).context("the bound address")?;
    // The test only ever connects to loopback; refuse anything else before any packet leaves.
    ensure!(
        server_addr.ip().is_loopback(),
        "the page shows the server bound to {server_addr}, not a loopback address"
    );

    click_call(client, SERVER_PANEL, "listen").await?;
    wait_for_row(
        client,
        &format!("socket {id}'s row listening"),
        &id,
        |row| has_state(row, "listening"),
    )
    .await?;
    Ok((id, server_addr))
}

/// A relay in this process on 127.0.0.1:0, serving the built frontend.
/// Fails with what to do when the frontend is not built.
async fn relay_serving_the_page() -> Result<Relay> {
    let dist = built_frontend()?;
    // Fields the relay adds to Config later keep their defaults.
    #[allow(clippy::needless_update)]
    Ok(Relay::start_with(Config {
        page: Some(socketlab_relay::Page::Folder(dist)),
        ..Default::default()
    })
    .await)
}

/// Runs `scenario` in a fresh headless Chromium (its own chromedriver and profile). When it
/// fails, a screenshot of that moment is saved as `failure_png`, since a picture says more than
/// the message alone. The WebDriver session is closed whatever happened, so Chromium never
/// outlives the test; then the scenario's outcome, and the close's, is returned.
async fn in_chromium(
    failure_png: &str,
    scenario: impl AsyncFnOnce(&Client) -> Result<()>,
) -> Result<()> {
    let driver = Chromedriver::start()?;
    let profile = Profile::new()?;
    let client = driver.session(profile.path(), PageLoad::Wait).await?;
    let outcome = scenario(&client).await;
    if outcome.is_err() {
        let _ = screenshot(&client, failure_png).await;
    }
    let closed = timeout(Duration::from_secs(15), client.close()).await;
    outcome?;
    closed
        .context("closing the WebDriver session timed out")?
        .context("closing the WebDriver session failed")
}

/// The link status's `data-status`, once it is `status`.
async fn wait_for_status(client: &Client, status: &str) -> Result<()> {
    wait_for(
        &format!(r#"[data-testid="link-status"][data-status="{status}"]"#),
        Duration::from_secs(30),
        || async {
            let now = attribute(client, r#"[data-testid="link-status"]"#, "data-status").await?;
            Ok((now.as_deref() == Some(status)).then_some(()))
        },
    )
    .await
}

/// The visible text of the page.
async fn page_text(client: &Client) -> Result<String> {
    let text = command(
        "read the page's text",
        client.execute("return document.body.innerText;", vec![]),
    )
    .await?;
    Ok(text.as_str().unwrap_or_default().to_owned())
}

/// No key: the page says to open the printed URL and opens no WebSocket. A wrong key (pasted
/// into the same tab, which changes only the fragment): refused, and the page, having asked
/// the relay why, says the relay restarted with a new key. The right key: live, no reload.
async fn key_scenario(client: &Client, relay: &Relay) -> Result<()> {
    let bare = format!("http://{}/", relay.addr);
    command(&format!("open {bare}"), client.goto(&bare)).await?;
    wait_for_status(client, "no-key").await?;
    let text = page_text(client).await?;
    ensure!(
        text.contains("Open the exact URL the relay printed") && text.contains("#token="),
        "the page without a key does not say to open the printed URL: {text}"
    );
    // Had it tried a WebSocket, the relay's refusal would have made the link "lost".
    ensure!(
        !text.contains("Lost the relay"),
        "the page without a key tried to connect: {text}"
    );
    let saved = screenshot(client, "lab-no-key.png").await?;
    println!("screenshot without a key: {}", saved.display());

    let wrong: String = relay
        .token
        .chars()
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect();
    let set_hash = "location.hash = arguments[0]; return null;";
    command(
        "put a wrong key in the fragment",
        client.execute(set_hash, vec![format!("#token={wrong}").into()]),
    )
    .await?;
    wait_for_status(client, "key-refused").await?;
    let text = page_text(client).await?;
    ensure!(
        text.contains("The relay refused this page's key")
            && text.contains("new key every time it starts"),
        "a refused key is not explained: {text}"
    );
    let saved = screenshot(client, "lab-wrong-key.png").await?;
    println!("screenshot with a wrong key: {}", saved.display());

    command(
        "put the right key in the fragment",
        client.execute(set_hash, vec![format!("#token={}", relay.token).into()]),
    )
    .await?;
    wait_for_status(client, "live").await
}

/// socket -> bind -> listen -> accept in the server panel, then a real connect from the test.
async fn accept_scenario(client: &Client, url: &str) -> Result<()> {
    command(&format!("open {url}"), client.goto(url)).await?;
    wait_for(
        r#"the relay link to be live ([data-testid="link-status"][data-status="live"])"#,
        Duration::from_secs(30),
        || async {
            let status = attribute(client, r#"[data-testid="link-status"]"#, "data-status").await?;
            Ok((status.as_deref() == Some("live")).then_some(()))
        },
    )
    .await?;

    let (id, server_addr) = listening_server(client).await?;

    click_call(client, SERVER_PANEL, "accept").await?;
    let waiting = format!(r#"{SERVER_PANEL} svg[data-testid="lifecycle"] .waiting"#);
    wait_for(
        &format!("accept() drawn as waiting ({waiting})"),
        Duration::from_secs(20),
        || async { Ok(exists(client, &waiting).await?.then_some(())) },
    )
    .await?;

    let stream = timeout(Duration::from_secs(20), TcpStream::connect(server_addr))
        .await
        .with_context(|| format!("connecting to {server_addr} timed out"))?
        .with_context(|| format!("connecting to the lab's server socket at {server_addr}"))?;
    let ours = stream.local_addr()?.to_string();

    let accepted = wait_for(
        &format!(r#"a socket-table row whose td[data-col="peer"] is this test's address {ours}"#),
        Duration::from_secs(20),
        || async {
            let rows = socket_rows(client).await?;
            Ok(rows.into_iter().find(|row| row.peer == ours))
        },
    )
    .await?;
    ensure!(
        accepted.id != id,
        "the peer {ours} shows on the listening socket {id} itself, not on a socket accept() made"
    );
    ensure!(
        has_state(&accepted, "connected"),
        "the accepted socket {} shows state {:?}, not connected",
        accepted.id,
        accepted.state
    );
    // The accepted socket is the mirror of the test's stream: its local end is the server's.
    ensure!(
        accepted.local == server_addr.to_string(),
        "the accepted socket's local address is {}, expected the server's {server_addr}",
        accepted.local
    );
    let server_row = socket_rows(client)
        .await?
        .into_iter()
        .find(|row| row.id == id)
        .with_context(|| format!("socket {id}'s row vanished"))?;
    ensure!(
        has_state(&server_row, "listening"),
        "the listening socket {id} shows state {:?} after accept()",
        server_row.state
    );

    let saved = screenshot(client, "lab.png").await?;
    println!("screenshot of the lab: {}", saved.display());
    drop(stream);
    Ok(())
}

/// Whether the row's state cell names `state` (the cell may add a badge or words around it).
fn has_state(row: &Row, state: &str) -> bool {
    row.state
        .to_lowercase()
        .split_whitespace()
        .any(|w| w == state)
        || row.state.eq_ignore_ascii_case(state)
}

fn address(text: &str) -> Option<SocketAddr> {
    text.trim().parse().ok()
}

/// Saves the whole page as `target/screenshots/NAME` and returns the path. The window is first
/// made as tall as the page (within reason), so the picture shows the socket table and the log
/// below the panels, not just the first screenful.
async fn screenshot(client: &Client, name: &str) -> Result<PathBuf> {
    // Back to a short window first: a page is never shorter than the window, so measuring in
    // the tall window of the last screenshot would only measure that window.
    command("resize the window", client.set_window_size(1400, 1000)).await?;
    let height = command(
        "measure the page",
        client.execute("return document.documentElement.scrollHeight;", vec![]),
    )
    .await?
    .as_u64()
    .unwrap_or(1000);
    // The window includes Chromium's own frame, hence the margin above the page's height;
    // up to 12,000 px, so that the longest lesson is whole.
    let height = u32::try_from(height.clamp(1000, 12_000)).unwrap_or(12_000) + 150;
    command("resize the window", client.set_window_size(1400, height)).await?;
    let png = command("take a screenshot", client.screenshot()).await?;
    let dir = workspace_root().join("target").join("screenshots");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The built frontend: `$SOCKETLAB_DIST` (xtask sets it), else the workspace's `dist/`.
fn built_frontend() -> Result<PathBuf> {
    let dist = std::env::var_os("SOCKETLAB_DIST")
        .filter(|d| !d.is_empty())
        .map_or_else(|| workspace_root().join("dist"), PathBuf::from);
    if !dist.join("index.html").is_file() {
        bail!(
            "the frontend is not built: run `cargo xtask test` (it builds it) or \
             `trunk build --release` (no {})",
            dist.join("index.html").display()
        );
    }
    Ok(dist)
}

fn workspace_root() -> &'static Path {
    // This crate lives in `tests/`, one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new(env!("CARGO_MANIFEST_DIR")))
}
