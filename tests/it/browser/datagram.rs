//! UDP sockets in the lab, in a real browser (issue 9): a fresh datagram socket's hint says to
//! bind first, and a sendto() before bind shows the relay's policy refusal (`autobind_wildcard`,
//! the kernel was not asked) in the log; after bind() to 127.0.0.1:0 the same sendto() goes
//! through. The page is saved as `target/screenshots/lab-udp-bind-first.png`.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use fantoccini::{Client, Locator};

use super::page::{click_call, command, wait_for};
use super::{in_chromium, page_text, relay_serving_the_page, screenshot, wait_for_status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_udp_socket_is_told_to_bind_first_and_a_sendto_before_bind_is_refused() {
    let relay = relay_serving_the_page().await.unwrap();
    let url = relay.page_url();
    let done = in_chromium("lab-udp-failure.png", async |client: &Client| {
        command(&format!("open {url}"), client.goto(&url)).await?;
        wait_for_status(client, "live").await?;
        // A receiver, bound: the sender's sendto() field then holds its address.
        let receiver = add_udp_socket(client).await?;
        click_call(client, &receiver, "bind").await?;
        wait_until_text(client, "the receiver bound", "the kernel chose port").await?;
        let sender = add_udp_socket(client).await?;
        let text = page_text(client).await?;
        ensure!(
            text.contains("A sendto() before bind would make the kernel bind 0.0.0.0"),
            "the fresh UDP socket's hint says to bind first:\n{text}"
        );
        click_call(client, &sender, "sendto").await?;
        wait_until_text(client, "the relay's refusal", "autobind_wildcard").await?;
        screenshot(client, "lab-udp-bind-first.png").await?;
        // The control: bound first, the same sendto() goes through.
        click_call(client, &sender, "bind").await?;
        click_call(client, &sender, "sendto").await?;
        wait_until_text(client, "a datagram sent", "sent as one datagram").await
    })
    .await;
    relay.stop().await;
    done.unwrap();
}

/// Presses "+ add socket" (IPv4 UDP is the default) and returns the new panel's selector.
pub(super) async fn add_udp_socket(client: &Client) -> Result<String> {
    let panels = r#"[data-testid^="panel-socket-"]"#;
    let before = command("count the panels", client.find_all(Locator::Css(panels)))
        .await?
        .len();
    let add = r#"[data-testid="add-socket"] button.add"#;
    let button = command("find + add socket", client.find(Locator::Css(add))).await?;
    command("click + add socket", button.click()).await?;
    let id = wait_for(
        "the new UDP socket's panel",
        Duration::from_secs(20),
        || async {
            let found = command("look for panels", client.find_all(Locator::Css(panels))).await?;
            if found.len() <= before {
                return Ok(None);
            }
            let last = found.last().context("a panel")?;
            command("read its data-testid", last.attr("data-testid")).await
        },
    )
    .await?;
    Ok(format!(r#"[data-testid="{id}"]"#))
}

pub(super) async fn wait_until_text(client: &Client, what: &str, text: &str) -> Result<()> {
    wait_for(what, Duration::from_secs(20), || async {
        Ok(page_text(client).await?.contains(text).then_some(()))
    })
    .await
}
