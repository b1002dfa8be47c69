//! Reading and driving the lab page through the DOM contract (data-testid, data-call, data-col):
//! bounded polls that fail naming what was not seen, clicks that wait for their button, and the
//! socket table read as plain rows.
//!
//! `wait_for` is a bounded poll, 100 ms apart, that fails with "not seen within Ns: WHAT" (30 s for
//! the link to go live, 20 s per step); reads are one `execute` script each, so no element handle
//! goes stale across yew's re-renders; `socket_rows`; `click_call` clicks a real button once it is
//! enabled. Every WebDriver command has its own 15 s deadline.

use std::future::Future;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use fantoccini::{Client, Locator};
use serde_json::Value;
use tokio::time::{Instant, timeout};

/// The longest any single WebDriver command may take before the test fails.
const COMMAND: Duration = Duration::from_secs(15);
/// The pause between two looks at the page while waiting for it to change. Polling the DOM is
/// how a UI is observed; the deadline, not the pause, decides when the test gives up.
const POLL: Duration = Duration::from_millis(100);

/// One row of `table[data-testid="socket-table"]`, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) id: String,
    pub(crate) state: String,
    pub(crate) local: String,
    pub(crate) peer: String,
}

/// Runs one WebDriver command with a deadline.
pub(crate) async fn command<T, E>(what: &str, fut: impl Future<Output = Result<T, E>>) -> Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    timeout(COMMAND, fut)
        .await
        .with_context(|| format!("WebDriver did not answer within {COMMAND:?}: {what}"))?
        .with_context(|| format!("WebDriver failed: {what}"))
}

/// Polls `look` until it returns `Some`, for at most `deadline`. An error from one look (an
/// element re-rendered away mid-read) counts as "not yet"; the last one is in the failure.
pub(crate) async fn wait_for<T, F, Fut>(what: &str, deadline: Duration, mut look: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let give_up = Instant::now() + deadline;
    let mut last_error = None;
    loop {
        match look().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(err) => last_error = Some(err),
        }
        if Instant::now() >= give_up {
            match last_error {
                Some(err) => bail!("not seen within {deadline:?}: {what} (last error: {err:#})"),
                None => bail!("not seen within {deadline:?}: {what}"),
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The value of `attribute` on the first element matching `selector`, if both exist.
pub(crate) async fn attribute(
    client: &Client,
    selector: &str,
    attribute: &str,
) -> Result<Option<String>> {
    let script = "const e = document.querySelector(arguments[0]);
                  return e ? e.getAttribute(arguments[1]) : null;";
    let value = command(
        &format!("read {attribute} of {selector}"),
        client.execute(script, vec![selector.into(), attribute.into()]),
    )
    .await?;
    Ok(value.as_str().map(str::to_owned))
}

/// Whether any element matches `selector`.
pub(crate) async fn exists(client: &Client, selector: &str) -> Result<bool> {
    let script = "return document.querySelector(arguments[0]) !== null;";
    let value = command(
        &format!("look for {selector}"),
        client.execute(script, vec![selector.into()]),
    )
    .await?;
    Ok(value.as_bool().unwrap_or(false))
}

/// Every row of the socket table, read in one script so the rows are one consistent render.
pub(crate) async fn socket_rows(client: &Client) -> Result<Vec<Row>> {
    let script = r#"
        const cell = (row, col) => {
            const td = row.querySelector(`td[data-col="${col}"]`);
            return td ? td.textContent.trim() : "";
        };
        return Array.from(document.querySelectorAll('table[data-testid="socket-table"] tr[data-socket]'))
            .map(row => [row.getAttribute("data-socket"), cell(row, "state"), cell(row, "local"), cell(row, "peer")]);
    "#;
    let value = command("read the socket table", client.execute(script, vec![])).await?;
    let rows = value
        .as_array()
        .context("the socket table script returned no list")?;
    rows.iter()
        .map(|row| {
            let text = |i: usize| row.get(i).and_then(Value::as_str).unwrap_or("").to_owned();
            Ok(Row {
                id: text(0),
                state: text(1),
                local: text(2),
                peer: text(3),
            })
        })
        .collect()
}

/// The socket table's row for socket `id`, once it exists and satisfies `ready`.
pub(crate) async fn wait_for_row(
    client: &Client,
    what: &str,
    id: &str,
    ready: impl Fn(&Row) -> bool,
) -> Result<Row> {
    wait_for(what, Duration::from_secs(20), || async {
        let rows = socket_rows(client).await?;
        Ok(rows.into_iter().find(|row| row.id == id && ready(row)))
    })
    .await
}

/// Clicks `button[data-call="CALL"]` inside `panel` as a user would, once it exists and is enabled.
pub(crate) async fn click_call(client: &Client, panel: &str, call: &str) -> Result<()> {
    let selector = format!(r#"{panel} button[data-call="{call}"]"#);
    wait_for(
        &format!("an enabled {call}() button ({selector}) to click"),
        Duration::from_secs(20),
        || async {
            let button = command(
                &format!("find {selector}"),
                client.find(Locator::Css(&selector)),
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

/// Waits until the exercise `id` says `done` (`true` or `false`) in its `data-done`.
pub(crate) async fn wait_for_exercise(client: &Client, id: &str, done: &str) -> Result<()> {
    let exercise = format!(r#"[data-exercise="{id}"]"#);
    wait_for(
        &format!("{exercise}[data-done=\"{done}\"]"),
        Duration::from_secs(20),
        || async {
            let now = attribute(client, &exercise, "data-done").await?;
            Ok((now.as_deref() == Some(done)).then_some(()))
        },
    )
    .await
}
