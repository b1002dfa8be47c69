//! Lessons 18 and 19 in a real browser, through their widgets only. Lesson 18
//! (`/lessons/port-scanning`): the learner presses Scan; all eight ports of the relay's scan
//! targets end open, closed or filtered (exactly one filtered: the listener whose accept queue the
//! relay keeps full); typing the filtered port marks `scan-the-targets` done. Lesson 19
//! (`/lessons/port-knocking`): the door refuses first, the three knocks (each refused) fill the
//! sequence, then the door connects and greets; `knock-knock` turns done. Screenshots under
//! `target/screenshots/`: `lesson-18-port-scanning-{scan,done}.png`,
//! `lesson-19-port-knocking-{knocks,done}.png`.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use fantoccini::{Client, Locator};

use super::course::{page, wait_for_lesson};
use super::page::{attribute, command, exists, wait_for, wait_for_exercise};
use super::{in_chromium, relay_serving_the_page, screenshot, wait_for_status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lessons_eighteen_and_nineteen_scan_and_knock_through_their_widgets() {
    let relay = relay_serving_the_page().await.unwrap();
    let scan = page(&relay, "/lessons/port-scanning");
    let knock = page(&relay, "/lessons/port-knocking");
    let done = in_chromium("lesson-18-19-failure.png", async |client: &Client| {
        scan_the_targets(client, &scan).await?;
        knock_knock(client, &knock).await
    })
    .await;
    relay.stop().await;
    done.unwrap();
}

/// Clicks the button `selector` as a user would, once it exists and is enabled.
async fn click(client: &Client, selector: &str) -> Result<()> {
    wait_for(
        &format!("an enabled button {selector} to click"),
        Duration::from_secs(20),
        || async {
            if !exists(client, selector).await? {
                return Ok(None);
            }
            let button = command(
                &format!("find {selector}"),
                client.find(Locator::Css(selector)),
            )
            .await?;
            if !command("is the button enabled", button.is_enabled()).await? {
                return Ok(None);
            }
            command(&format!("click {selector}"), button.click()).await?;
            Ok(Some(()))
        },
    )
    .await
}

/// Scrolls the first element matching `selector` to the top of the window, so a screenshot
/// shows it and what follows.
async fn scroll_to(client: &Client, selector: &str) -> Result<()> {
    let script = "const e = document.querySelector(arguments[0]); if (e) { e.scrollIntoView(); }";
    command(
        &format!("scroll to {selector}"),
        client.execute(script, vec![selector.into()]),
    )
    .await?;
    Ok(())
}

/// The scan widget's ports and their states, read in one script.
async fn port_states(client: &Client) -> Result<Vec<(String, String)>> {
    let script = r#"return Array.from(document.querySelectorAll('[data-testid="port-scan"] li[data-port]'))
        .map(li => [li.getAttribute("data-port"), li.getAttribute("data-state")]);"#;
    let value = command("read the scan's ports", client.execute(script, vec![])).await?;
    let rows = value
        .as_array()
        .context("the scan script returned no list")?;
    Ok(rows
        .iter()
        .map(|row| {
            let text = |i: usize| row.get(i).and_then(|v| v.as_str()).unwrap_or("").to_owned();
            (text(0), text(1))
        })
        .collect())
}

async fn scan_the_targets(client: &Client, url: &str) -> Result<()> {
    command(&format!("open {url}"), client.goto(url)).await?;
    wait_for_lesson(client, "port-scanning").await?;
    wait_for_status(client, "live").await?;
    wait_for_exercise(client, "scan-the-targets", "false").await?;
    click(client, r#"[data-testid="scan-button"]"#).await?;
    // The silent port is given up after 2 s; the rest answer at once.
    let states = wait_for(
        "all eight ports of the scan to end open, closed or filtered",
        Duration::from_secs(20),
        || async {
            let states = port_states(client).await?;
            let finished = states.len() == 8
                && states
                    .iter()
                    .all(|(_, s)| ["open", "closed", "filtered"].contains(&s.as_str()));
            Ok(finished.then_some(states))
        },
    )
    .await?;
    let filtered: Vec<&str> = states
        .iter()
        .filter(|(_, s)| s == "filtered")
        .map(|(p, _)| p.as_str())
        .collect();
    ensure!(filtered.len() == 1, "one filtered port, saw {states:?}");
    ensure!(
        states.iter().any(|(_, s)| s == "open") && states.iter().any(|(_, s)| s == "closed"),
        "open and closed ports too, saw {states:?}"
    );
    scroll_to(client, r#"[data-testid="port-scan"]"#).await?;
    let saved = screenshot(client, "lesson-18-port-scanning-scan.png").await?;
    println!("screenshot of lesson 18's scan: {}", saved.display());
    let field = r#"[data-exercise="scan-the-targets"] [data-testid="exercise-answer"]"#;
    let input = command("find the answer field", client.find(Locator::Css(field))).await?;
    command("type the filtered port", input.send_keys(filtered[0])).await?;
    wait_for_exercise(client, "scan-the-targets", "true").await?;
    let saved = screenshot(client, "lesson-18-port-scanning-done.png").await?;
    println!("screenshot of lesson 18 done: {}", saved.display());
    Ok(())
}

/// The knock widget's history lines with `attribute` (`data-door` or `data-knock`) and
/// `data-answer` = `answer`.
async fn history_count(client: &Client, which: &str, answer: &str) -> Result<usize> {
    let script = r#"return document.querySelectorAll(
        `[data-testid="knock-history"] li[${arguments[0]}][data-answer="${arguments[1]}"]`).length;"#;
    let value = command(
        "count the knock history's lines",
        client.execute(script, vec![which.into(), answer.into()]),
    )
    .await?;
    Ok(value.as_u64().unwrap_or(0) as usize)
}

async fn wait_for_history(client: &Client, which: &str, answer: &str, count: usize) -> Result<()> {
    wait_for(
        &format!("{count} knock-history line(s) {which} answered {answer}"),
        Duration::from_secs(20),
        || async { Ok((history_count(client, which, answer).await? >= count).then_some(())) },
    )
    .await
}

async fn knock_knock(client: &Client, url: &str) -> Result<()> {
    command(&format!("open {url}"), client.goto(url)).await?;
    wait_for_lesson(client, "port-knocking").await?;
    wait_for_status(client, "live").await?;
    wait_for_exercise(client, "knock-knock", "false").await?;
    // The door before any knock: refused by the kernel.
    click(client, r#"[data-testid="knock-door"]"#).await?;
    wait_for_history(client, "data-door", "ECONNREFUSED", 1).await?;
    for n in 1..=3 {
        click(client, &format!(r#"[data-testid="knock-{n}"]"#)).await?;
        wait_for_history(client, "data-knock", "ECONNREFUSED", n).await?;
    }
    ensure!(
        attribute(client, r#"[data-testid="knock-progress"]"#, "data-in-order")
            .await?
            .as_deref()
            == Some("0"),
        "the third right knock completes the sequence and starts it over"
    );
    wait_for_exercise(client, "knock-knock", "false").await?;
    click(client, r#"[data-testid="knock-door"]"#).await?;
    wait_for_history(client, "data-door", "connected", 1).await?;
    wait_for_exercise(client, "knock-knock", "true").await?;
    scroll_to(client, r#"[data-testid="knock"]"#).await?;
    let saved = screenshot(client, "lesson-19-port-knocking-knocks.png").await?;
    println!("screenshot of lesson 19's knocks: {}", saved.display());
    let saved = screenshot(client, "lesson-19-port-knocking-done.png").await?;
    println!("screenshot of lesson 19 done: {}", saved.display());
    Ok(())
}
