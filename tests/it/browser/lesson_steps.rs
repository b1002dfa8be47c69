//! A lesson's steps beside its lab, in a real browser (issue 10). Lesson 7 at 1400 px: the steps
//! stand left of the lab, stay in the window while the page scrolls down to the kernel's table,
//! tick off as the kernel answers (being live, then socket/bind/listen in the Server card), and
//! outline the control the current step names (the Server card's socket(), then bind(), then
//! the Client card's socket()). At 800 px the steps stand above the lab and stick to the top of
//! the window, and folds down to the current step. Screenshots of the window as the learner sees it: `lesson-steps-1400.png`,
//! `lesson-steps-800.png`.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use fantoccini::Client;
use serde_json::Value;

use super::course::{page, wait_for_lesson};
use super::page::{attribute, click_call, command, wait_for};
use super::{in_chromium, relay_serving_the_page, wait_for_status, workspace_root};

const SERVER: &str = r#"[data-testid="panel-server"]"#;
const CLIENT: &str = r#"[data-testid="panel-client"]"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lesson_steps_stand_beside_the_lab_tick_off_and_point_at_the_next_control() {
    let relay = relay_serving_the_page().await.unwrap();
    let url = page(&relay, "/lessons/server-life");
    let done = in_chromium("lesson-steps-failure.png", async |client: &Client| {
        command("resize the window", client.set_window_size(1400, 1000)).await?;
        command(&format!("open {url}"), client.goto(&url)).await?;
        wait_for_lesson(client, "server-life").await?;
        wait_for_status(client, "live").await?;

        // Side by side: the steps' box left of the lab's, their tops level.
        let (steps, lab) = (
            boxes(client, ".steps").await?,
            boxes(client, ".practice-lab").await?,
        );
        ensure!(
            steps.right <= lab.left && (steps.top - lab.top).abs() < 4.0,
            "at 1400 px the steps stand beside the lab: steps {steps:?}, lab {lab:?}"
        );

        // Live is step 1, done; step 2 is current and lights the Server card's socket().
        wait_for_step(client, 1, "done").await?;
        wait_for_step(client, 2, "current").await?;
        wait_for_lit(client, SERVER, "socket").await?;
        click_call(client, SERVER, "socket").await?;
        wait_for_lit(client, SERVER, "bind").await?;
        ensure!(
            step_state(client, 2).await?.as_deref() == Some("current"),
            "socket() alone does not finish step 2"
        );
        click_call(client, SERVER, "bind").await?;
        wait_for_lit(client, SERVER, "listen").await?;
        click_call(client, SERVER, "listen").await?;
        wait_for_step(client, 2, "done").await?;
        wait_for_step(client, 3, "current").await?;
        wait_for_lit(client, CLIENT, "socket").await?;
        let lit = lit_controls(client).await?;
        ensure!(
            lit == vec!["panel-client socket".to_owned()],
            "only the current step's control is outlined: {lit:?}"
        );
        let count = attribute_text(client, r#"[data-testid="steps-count"]"#).await?;
        ensure!(
            count.starts_with("2 of "),
            "the count says two steps done: {count}"
        );

        // Scrolled down to the kernel's table, the steps are still in the window.
        scroll_to(client, r#"[data-testid="kernel-table"]"#, 0.0).await?;
        let steps = boxes(client, ".steps").await?;
        ensure!(
            steps.top >= 0.0 && steps.top < 40.0,
            "the steps stay at the top of the window while the lab scrolls: {steps:?}"
        );
        // The picture: the steps beside the two cards, the Client's socket() outlined.
        scroll_to(client, ".panels", 8.0).await?;
        window_shot(client, "lesson-steps-1400.png").await?;

        // Narrow: above the lab, stuck to the top of the window once the lab scrolls by.
        command("resize the window", client.set_window_size(800, 1000)).await?;
        scroll_to(client, ".practice", 0.0).await?;
        let (steps, lab) = (
            boxes(client, ".steps").await?,
            boxes(client, ".practice-lab").await?,
        );
        ensure!(
            steps.bottom <= lab.top + 1.0 && steps.left < 40.0,
            "at 800 px the steps stand above the lab: steps {steps:?}, lab {lab:?}"
        );
        scroll_to(client, r#"[data-testid="kernel-table"]"#, 0.0).await?;
        let steps = boxes(client, ".steps").await?;
        ensure!(
            steps.top.abs() < 2.0 && steps.bottom < 1000.0 * 0.5,
            "at 800 px the steps stick to the top in a short box: {steps:?}"
        );
        // The picture: the Client card just below the stuck steps, its socket() outlined.
        scroll_to(
            client,
            r#"[data-testid="panel-client"]"#,
            steps.bottom + 8.0,
        )
        .await?;
        wait_for_lit(client, CLIENT, "socket").await?;
        window_shot(client, "lesson-steps-800.png").await?;
        // Folded, the stuck box holds the current step alone.
        let fold = r#"[data-testid="steps-fold"]"#;
        let button = command(
            "find the fold button",
            client.find(fantoccini::Locator::Css(fold)),
        )
        .await?;
        command("fold the steps", button.click()).await?;
        let shown = visible_steps(client).await?;
        ensure!(
            shown == vec!["3".to_owned()],
            "folded, only the current step shows: {shown:?}"
        );
        Ok(())
    })
    .await;
    relay.stop().await;
    done.unwrap();
}

/// An element's box in the window, in CSS pixels.
#[derive(Debug, Clone, Copy)]
struct Box {
    top: f64,
    bottom: f64,
    left: f64,
    right: f64,
}

async fn boxes(client: &Client, selector: &str) -> Result<Box> {
    let script = "const e = document.querySelector(arguments[0]);
                  if (!e) return null;
                  const r = e.getBoundingClientRect();
                  return [r.top, r.bottom, r.left, r.right];";
    let value = command(
        &format!("measure {selector}"),
        client.execute(script, vec![selector.into()]),
    )
    .await?;
    let n = |i: usize| value.get(i).and_then(Value::as_f64);
    match (n(0), n(1), n(2), n(3)) {
        (Some(top), Some(bottom), Some(left), Some(right)) => Ok(Box {
            top,
            bottom,
            left,
            right,
        }),
        _ => anyhow::bail!("{selector} is not on the page"),
    }
}

async fn step_state(client: &Client, n: usize) -> Result<Option<String>> {
    attribute(
        client,
        &format!(r#".steps [data-step="{n}"]"#),
        "data-state",
    )
    .await
}

async fn wait_for_step(client: &Client, n: usize, state: &str) -> Result<()> {
    wait_for(
        &format!("step {n} marked {state}"),
        Duration::from_secs(20),
        || async { Ok((step_state(client, n).await?.as_deref() == Some(state)).then_some(())) },
    )
    .await
}

/// The numbers of the steps the learner can see (not hidden by the fold).
async fn visible_steps(client: &Client) -> Result<Vec<String>> {
    let script = r#"return Array.from(document.querySelectorAll(".steps [data-step]"))
                      .filter(e => e.getClientRects().length > 0)
                      .map(e => e.getAttribute("data-step"));"#;
    let value = command("list the visible steps", client.execute(script, vec![])).await?;
    strings(value)
}

/// Every outlined control, as "CARD CALL" (the card's data-testid, the button's data-call).
async fn lit_controls(client: &Client) -> Result<Vec<String>> {
    let script = r#"return Array.from(document.querySelectorAll("button.step-target")).map(b => {
                      const card = b.closest("[data-testid]");
                      return (card ? card.getAttribute("data-testid") : "?") + " " + (b.getAttribute("data-call") || b.textContent.trim());
                  });"#;
    let value = command("find the outlined controls", client.execute(script, vec![])).await?;
    strings(value)
}

async fn wait_for_lit(client: &Client, card: &str, call: &str) -> Result<()> {
    let selector = format!(r#"{card} button.step-target[data-call="{call}"]"#);
    wait_for(
        &format!("the outlined control {selector}"),
        Duration::from_secs(20),
        || async {
            let lit = lit_controls(client).await?;
            Ok(super::page::exists(client, &selector)
                .await?
                .then_some(())
                .filter(|()| lit.len() == 1))
        },
    )
    .await
}

async fn attribute_text(client: &Client, selector: &str) -> Result<String> {
    let script = "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';";
    let value = command(
        &format!("read {selector}"),
        client.execute(script, vec![selector.into()]),
    )
    .await?;
    Ok(value.as_str().unwrap_or_default().trim().to_owned())
}

/// Scrolls the window so that the first element matching `selector` is `below` px under the
/// window's top, as a learner scrolling down would.
async fn scroll_to(client: &Client, selector: &str, below: f64) -> Result<()> {
    let script = "const e = document.querySelector(arguments[0]);
                  if (!e) return false;
                  window.scrollTo(0, window.scrollY + e.getBoundingClientRect().top - arguments[1]);
                  return true;";
    let found = command(
        &format!("scroll to {selector}"),
        client.execute(script, vec![selector.into(), below.into()]),
    )
    .await?;
    ensure!(
        found.as_bool() == Some(true),
        "{selector} is not on the page"
    );
    Ok(())
}

/// The window as it is (not the whole page): what the learner sees at this scroll position.
async fn window_shot(client: &Client, name: &str) -> Result<()> {
    let png = command("take a screenshot", client.screenshot()).await?;
    let dir = workspace_root().join("target").join("screenshots");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))
}

/// A script's list of strings.
fn strings(value: Value) -> Result<Vec<String>> {
    Ok(value
        .as_array()
        .context("a list")?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect())
}
