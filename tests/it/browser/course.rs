//! The course in a real browser: a learner opens lesson 7 (`/lessons/server-life`, the server's
//! life), does its experiment through the lab embedded in the lesson (socket, bind, listen, accept
//! twice, with two real connections from the test), and sees the exercise `accept-two-clients`
//! marked done (not after one connection), with "the program for this exercise" holding the
//! lesson's calls (`course-lesson-07-exercise-program.png`); after a reload it is still done, and the course index
//! says so. Then every lesson page and the index are opened and saved as whole-page screenshots (up
//! to 12,000 px) under `target/screenshots/` (`course-index.png`, `course-lesson-NN-SLUG.png`),
//! each checked for the instructor's error box; on lesson 4 the services table shows this
//! machine's names, which the page asked the relay for.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use fantoccini::Client;
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::page::{
    attribute, click_call, command, exists, socket_rows, wait_for, wait_for_exercise,
};
use super::{in_chromium, listening_server, relay_serving_the_page, screenshot, wait_for_status};
use crate::support::Relay;

const SERVER_PANEL: &str = r#"[data-testid="panel-server"]"#;
const EXERCISE: &str = r#"[data-exercise="accept-two-clients"]"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lesson_seven_marks_accept_two_clients_done_and_remembers_it_after_reload() {
    let relay = relay_serving_the_page().await.unwrap();
    let done = in_chromium("course-failure.png", async |client: &Client| {
        learner_path(client, &relay).await?;
        every_page(client, &relay).await
    })
    .await;
    relay.stop().await;
    done.unwrap();
}

/// A page of the site, with this launch's key.
pub(super) fn page(relay: &Relay, path: &str) -> String {
    format!("http://{}{path}#token={}", relay.addr, relay.token)
}

/// Waits until the lesson `slug` is drawn.
pub(super) async fn wait_for_lesson(client: &Client, slug: &str) -> Result<()> {
    let selector = format!(r#"[data-testid="lesson"][data-slug="{slug}"]"#);
    wait_for(
        &format!("the lesson page {selector}"),
        Duration::from_secs(30),
        || async { Ok(exists(client, &selector).await?.then_some(())) },
    )
    .await
}

/// One more accept() in the server panel, answered by a real connection from the test.
pub(super) async fn accept_one(client: &Client, server: std::net::SocketAddr) -> Result<TcpStream> {
    click_call(client, SERVER_PANEL, "accept").await?;
    let waiting = format!(r#"{SERVER_PANEL} svg[data-testid="lifecycle"] .waiting"#);
    wait_for(
        &format!("accept() drawn as waiting ({waiting})"),
        Duration::from_secs(20),
        || async { Ok(exists(client, &waiting).await?.then_some(())) },
    )
    .await?;
    let stream = timeout(Duration::from_secs(20), TcpStream::connect(server))
        .await
        .with_context(|| format!("connecting to {server} timed out"))?
        .with_context(|| format!("connecting to the lesson's server socket at {server}"))?;
    let ours = stream.local_addr()?.to_string();
    wait_for(
        &format!("a socket-table row whose peer is this test's address {ours}"),
        Duration::from_secs(20),
        || async {
            let rows = socket_rows(client).await?;
            Ok(rows.into_iter().find(|row| row.peer == ours).map(|_| ()))
        },
    )
    .await?;
    Ok(stream)
}

async fn learner_path(client: &Client, relay: &Relay) -> Result<()> {
    let url = page(relay, "/lessons/server-life");
    command(&format!("open {url}"), client.goto(&url)).await?;
    wait_for_lesson(client, "server-life").await?;
    wait_for_status(client, "live").await?;
    wait_for_exercise(client, "accept-two-clients", "false").await?;

    let (_, server) = listening_server(client).await?;

    let first = accept_one(client, server).await?;
    // One client is not yet the exercise.
    ensure!(
        attribute(client, EXERCISE, "data-done").await?.as_deref() == Some("false"),
        "accept-two-clients is done after one client"
    );
    let second = accept_one(client, server).await?;
    wait_for_exercise(client, "accept-two-clients", "true").await?;
    let saved = screenshot(client, "course-lesson-07-done.png").await?;
    println!("screenshot of lesson 7 done: {}", saved.display());
    exercise_program(client).await?;
    drop((first, second));

    command("reload the lesson", client.refresh()).await?;
    wait_for_lesson(client, "server-life").await?;
    wait_for_exercise(client, "accept-two-clients", "true").await?;

    let index = page(relay, "/lessons");
    command(&format!("open {index}"), client.goto(&index)).await?;
    let item = r#"[data-lesson="server-life"]"#;
    wait_for(
        "the index to show lesson 7 done",
        Duration::from_secs(20),
        || async {
            let done = attribute(client, item, "data-done").await?;
            Ok((done.as_deref() == Some("true")).then_some(()))
        },
    )
    .await
}

/// The index and every lesson it lists, each saved as a screenshot and free of error boxes.
/// "The program for this exercise": opened, it holds the lesson's calls (the two clients were
/// this test's, not the lab's, so it stays one program and says why), saved by the exercise's
/// name.
async fn exercise_program(client: &Client) -> Result<()> {
    let details = format!(r#"{EXERCISE} details[data-testid="exercise-program"]"#);
    let open = format!(
        "const d = document.querySelector('{}'); if (!d) return false; d.open = true; \
         d.scrollIntoView(); return true;",
        details.replace('\'', "\\'")
    );
    let opened = command("open the exercise's program", client.execute(&open, vec![])).await?;
    ensure!(opened.as_bool() == Some(true), "no {details}");
    let read = |id: &'static str| {
        let selector = format!(r#"{details} [data-testid="{id}"]"#);
        async move {
            let value = command(
                &format!("read {selector}"),
                client.execute(
                    "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                    vec![selector.clone().into()],
                ),
            )
            .await?;
            value
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("no {selector}"))
        }
    };
    let program = read("code-text").await?;
    ensure!(
        program.matches("accept(listener").count() >= 2
            && program.contains("listen(listener, 16)")
            && program.contains("bind(listener")
            && program.contains("cc -Wall -o accept-two-clients accept-two-clients.c"),
        "the exercise's program has the lesson's calls:\n{program}"
    );
    let name = attribute(
        client,
        &format!(r#"{details} [data-testid="code-download"]"#),
        "download",
    )
    .await?;
    ensure!(
        name.as_deref() == Some("accept-two-clients.c"),
        "saved as {name:?}"
    );
    screenshot(client, "course-lesson-07-exercise-program.png").await?;
    click_element(
        client,
        &format!(r#"{details} [data-testid="code-form-two"]"#),
    )
    .await?;
    let note = read("code-whole").await?;
    ensure!(
        note.contains("This session stays one program")
            && note.contains("no socket here is a client"),
        "the learner is told why there is no client program: {note}"
    );
    Ok(())
}

/// Clicks the element `selector` (not a call button).
async fn click_element(client: &Client, selector: &str) -> Result<()> {
    let element = command(
        &format!("find {selector}"),
        client.find(fantoccini::Locator::Css(selector)),
    )
    .await?;
    command(&format!("click {selector}"), element.click()).await
}

async fn every_page(client: &Client, relay: &Relay) -> Result<()> {
    let index = page(relay, "/lessons");
    command(&format!("open {index}"), client.goto(&index)).await?;
    wait_for("the course index", Duration::from_secs(20), || async {
        Ok(exists(client, "li[data-lesson]").await?.then_some(()))
    })
    .await?;
    let saved = screenshot(client, "course-index.png").await?;
    println!("screenshot of the index: {}", saved.display());
    let script = r#"return Array.from(document.querySelectorAll("li[data-lesson]"))
        .map(li => li.getAttribute("data-lesson"));"#;
    let slugs = command("list the lessons", client.execute(script, vec![])).await?;
    let slugs: Vec<String> = slugs
        .as_array()
        .context("the index script returned no list")?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    ensure!(slugs.len() >= 10, "the index lists {} lessons", slugs.len());
    for (index, slug) in slugs.iter().enumerate() {
        let url = page(relay, &format!("/lessons/{slug}"));
        command(&format!("open {url}"), client.goto(&url)).await?;
        wait_for_lesson(client, slug).await?;
        wait_for_status(client, "live").await?;
        if slug == "well-known-services" {
            this_machines_names_arrive(client).await?;
        }
        ensure!(
            !exists(client, r#"[data-testid="widget-error"]"#).await?,
            "lesson {slug} shows an instructor error box"
        );
        let name = format!("course-lesson-{:02}-{slug}.png", index + 1);
        let saved = screenshot(client, &name).await?;
        println!("screenshot of lesson {slug}: {}", saved.display());
    }
    Ok(())
}

/// Lesson 4's services table asks the relay for this machine's services list (the relay sends
/// it only when asked) and shows a "this machine" column once it has arrived.
async fn this_machines_names_arrive(client: &Client) -> Result<()> {
    let services = std::fs::read_to_string("/etc/services")
        .context("this test needs /etc/services (Debian/Ubuntu: apt-get install netbase)")?;
    ensure!(
        services.lines().any(|l| l.contains("/tcp")),
        "/etc/services lists no TCP service"
    );
    let cell = r#"[data-testid="services-table"] td[data-col="this-machine"]"#;
    wait_for(
        "the services table's column of this machine's names",
        Duration::from_secs(20),
        || async { Ok(exists(client, cell).await?.then_some(())) },
    )
    .await
}
