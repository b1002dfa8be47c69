//! Lesson 17 in a real browser: a learner opens `/lessons/looking-at-ports`, makes a listener
//! and a connected client through the lab embedded in the lesson, and the `{{port-listing}}`
//! widget must then print, for `ss -tan`, exactly the lines the real `ss -tan` prints on this
//! machine for that port (same rows, same columns, byte for byte; only the order of the rows
//! may differ). The learner reads the server's ESTAB line's Peer Address:Port off the listing,
//! types it as the answer, and the exercise `read-the-ss-line` is marked done. The listing is
//! saved as `target/screenshots/course-lesson-17-listing-live.png`. A missing `ss` (iproute2)
//! fails the test saying what to install.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use fantoccini::{Client, Locator};

use super::course::{page, wait_for_lesson};
use super::page::{click_call, command, socket_rows, wait_for, wait_for_exercise};
use super::{in_chromium, listening_server, relay_serving_the_page, wait_for_status};

const CLIENT_PANEL: &str = r#"[data-testid="panel-client"]"#;
const SS_TAN: &str = r#"[data-testid="listing"][data-command="ss -tan"] .listing-output"#;
const EXERCISE: &str = r#"[data-exercise="read-the-ss-line"]"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ss_listing_matches_the_real_ss_and_its_peer_answers_the_exercise() {
    let relay = relay_serving_the_page().await.unwrap();
    let done = in_chromium("course-lesson-17-failure.png", async |client: &Client| {
        command("size the window", client.set_window_size(1400, 1200)).await?;
        let url = page(&relay, "/lessons/looking-at-ports");
        command(&format!("open {url}"), client.goto(&url)).await?;
        wait_for_lesson(client, "looking-at-ports").await?;
        wait_for_status(client, "live").await?;
        let (_, server) = listening_server(client).await?;
        click_call(client, CLIENT_PANEL, "socket").await?;
        click_call(client, CLIENT_PANEL, "connect").await?;

        // The listener, the client's end and the server's end (still in the accept queue),
        // exactly as the real ss, filtered to the server's port, prints them (sorted: only the
        // order of the rows may differ). The kernel view looks every 100 ms and one look can
        // catch /proc mid-change, so the comparison is retried until it holds.
        let sorted = |mut lines: Vec<String>| {
            if lines.len() > 1 {
                lines[1..].sort();
            }
            lines
        };
        let port = server.port();
        let matched = wait_for(
            "the ss -tan listing to show the listener and both ends, as the real ss does",
            Duration::from_secs(20),
            || async {
                let lines = listing_lines(client, SS_TAN).await?;
                let estab = lines.iter().filter(|l| l.starts_with("ESTAB")).count();
                let same = sorted(lines.clone()) == sorted(real_ss(port)?);
                Ok((estab == 2 && same).then_some(lines))
            },
        )
        .await;
        let shown = match matched {
            Ok(lines) => lines,
            Err(err) => bail!(
                "{err:#}\npage:\n{}\nss:\n{}",
                listing_lines(client, SS_TAN).await?.join("\n"),
                real_ss(port)?.join("\n")
            ),
        };

        // The learner's reading: the server's end has the listener's address as Local.
        let server_text = server.to_string();
        let peer = shown
            .iter()
            .filter(|l| l.starts_with("ESTAB"))
            .find_map(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                (words.get(3) == Some(&server_text.as_str()))
                    .then(|| words.get(4).map(|w| (*w).to_owned()))
            })
            .flatten()
            .context("no ESTAB line with the listener's address as Local Address:Port")?;
        let client_row = socket_rows(client)
            .await?
            .into_iter()
            .find(|row| row.peer == server_text)
            .context("the client's row in the socket table")?;
        ensure!(
            peer.parse::<SocketAddr>().ok() == client_row.local.trim().parse().ok(),
            "the server's line shows peer {peer}, the client's socket is at {}",
            client_row.local
        );

        let input = format!(r#"{EXERCISE} [data-testid="exercise-answer"]"#);
        let field = command("find the answer field", client.find(Locator::Css(&input))).await?;
        command("type the answer", field.send_keys(&peer)).await?;
        wait_for_exercise(client, "read-the-ss-line", "true").await?;

        // Tall enough for the whole widget: an element's screenshot shows only what is in view.
        command("size the window", client.set_window_size(1400, 4000)).await?;
        let widget = command(
            "find the port listing",
            client.find(Locator::Css(r#"[data-testid="port-listing"]"#)),
        )
        .await?;
        let png = command("screenshot the listing", widget.screenshot()).await?;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("course-lesson-17-listing-live.png");
        std::fs::write(&path, png)?;
        println!("screenshot of lesson 17's listing: {}", path.display());
        Ok(())
    })
    .await;
    relay.stop().await;
    done.unwrap();
}

/// The lines of the `<pre>` at `selector`, as the page shows them.
async fn listing_lines(client: &Client, selector: &str) -> Result<Vec<String>> {
    let script = format!(
        "const e = document.querySelector({}); return e ? e.textContent : '';",
        serde_json::to_string(selector)?
    );
    let text = command("read the listing", client.execute(&script, vec![])).await?;
    Ok(text
        .as_str()
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect())
}

/// `ss -tan` on this machine, only the sockets with `port` at either end, TIME-WAIT left out:
/// nothing of this session closed, and the kernel may have handed out a port number whose
/// TIME-WAIT from an earlier test's connection still lingers (a row of no one here, which the
/// lesson's listing rightly does not show; it would also widen ss's State column).
fn real_ss(port: u16) -> Result<Vec<String>> {
    let filter = format!("( sport = :{port} or dport = :{port} )");
    let args = ["-tan", "exclude", "time-wait", &filter];
    let output = match Command::new("ss").args(args).output() {
        Ok(output) => output,
        Err(err) => bail!(
            "running `ss` failed ({err}): install iproute2 (apt-get install iproute2), which this test compares the lesson's listing with"
        ),
    };
    ensure!(
        output.status.success(),
        "ss -tan failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}
