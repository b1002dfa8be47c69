//! The kernel's view in the lab, in a real browser: a server (socket, bind, listen, accept) and
//! a client (socket, connect) made through the UI; the page must then show the three-way
//! handshake in the packet view (SYN, SYN,ACK, ACK, in that order), both ends ESTABLISHED in
//! the kernel table, and ESTABLISHED lit in the TCP state diagram. Capture needs root or
//! CAP_NET_RAW: without it the test fails saying so, it is never skipped.
//!
//! Then it sends from the client and receives on the accepted socket (a close with unread data
//! would send an RST), closes the client (CLOSE_WAIT on the server's end, FIN_WAIT1 or FIN_WAIT2 on
//! the client's) and the server's end: TIME_WAIT in the kernel table and a FIN from each side in
//! the packet view. Screenshots `lab-kernel.png`, `lab-kernel-close.png`. A page that shows
//! `capture-unavailable` or `kernel-view-unavailable` fails at once, saying to run as root (or
//! setcap) or that the kernel view is Linux only.

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use fantoccini::Client;

use super::page::{attribute, click_call, command, exists, wait_for, wait_for_row};
use super::{
    has_state, in_chromium, listening_server, relay_serving_the_page, screenshot, wait_for_status,
};

const SERVER_PANEL: &str = r#"[data-testid="panel-server"]"#;
const CLIENT_PANEL: &str = r#"[data-testid="panel-client"]"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_shows_the_handshake_in_the_packet_view_and_established_in_the_kernel_view() {
    let relay = relay_serving_the_page().await.unwrap();
    let url = relay.page_url();
    let done = in_chromium("lab-kernel-failure.png", async |client: &Client| {
        kernel_scenario(client, &url).await
    })
    .await;
    relay.stop().await;
    done.unwrap();
}

/// Fails at once, with what to do, if the page says an instrument is off.
async fn instruments_on(client: &Client) -> Result<()> {
    if exists(client, r#"[data-testid="capture-unavailable"]"#).await? {
        bail!(
            "the relay cannot capture packets (the page shows capture-unavailable): run the \
             tests as root (CI does), or grant the test binary the capability with \
             `sudo setcap cap_net_raw+ep <path of the test binary>`"
        );
    }
    if exists(client, r#"[data-testid="kernel-view-unavailable"]"#).await? {
        bail!(
            "the relay has no kernel view (the page shows kernel-view-unavailable): it is Linux only"
        );
    }
    Ok(())
}

/// The flags of every packet the packet view shows, top to bottom.
async fn packet_flags(client: &Client) -> Result<Vec<String>> {
    let script = r#"
        return Array.from(document.querySelectorAll('[data-testid="packet-view"] [data-testid="packet"]'))
            .map(p => p.getAttribute("data-flags") || "");
    "#;
    let value = command("read the packet view", client.execute(script, vec![])).await?;
    let list = value
        .as_array()
        .context("the packet view script returned no list")?;
    Ok(list
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect())
}

/// How many kernel-table rows are in `state`.
async fn kernel_rows_in(client: &Client, state: &str) -> Result<usize> {
    let script = "return document.querySelectorAll(
        `[data-testid=\"kernel-table\"] tr[data-kernel-state=\"${arguments[0]}\"]`).length;";
    let value = command(
        &format!("count the kernel table's {state} rows"),
        client.execute(script, vec![state.into()]),
    )
    .await?;
    Ok(value.as_u64().unwrap_or(0) as usize)
}

async fn kernel_scenario(client: &Client, url: &str) -> Result<()> {
    command(&format!("open {url}"), client.goto(url)).await?;
    wait_for_status(client, "live").await?;

    // The server: socket, bind, listen, accept (which waits).
    let (_, server_addr) = listening_server(client).await?;
    instruments_on(client).await?;
    wait_for(
        r#"the kernel table's LISTEN row (tr[data-kernel-state="LISTEN"])"#,
        Duration::from_secs(20),
        || async { Ok((kernel_rows_in(client, "LISTEN").await? >= 1).then_some(())) },
    )
    .await?;
    click_call(client, SERVER_PANEL, "accept").await?;

    // The client: socket, then connect to the address the page pre-filled (the server's).
    click_call(client, CLIENT_PANEL, "socket").await?;
    let client_id = wait_for(
        "the client panel to carry its socket's id (data-socket)",
        Duration::from_secs(20),
        || async { attribute(client, CLIENT_PANEL, "data-socket").await },
    )
    .await?;
    let selector = format!(r#"{CLIENT_PANEL} input[data-arg="address"]"#);
    let prefilled = command(
        "read the client's connect address",
        client.execute(
            "const e = document.querySelector(arguments[0]); return e ? e.value : null;",
            vec![selector.into()],
        ),
    )
    .await?;
    ensure!(
        prefilled.as_str() == Some(server_addr.to_string().as_str()),
        "the client's connect address is {prefilled:?}, not the server's {server_addr}"
    );
    click_call(client, CLIENT_PANEL, "connect").await?;
    wait_for_row(client, "the client connected", &client_id, |row| {
        has_state(row, "connected")
    })
    .await?;

    // The handshake on the wire, in order.
    let flags = wait_for(
        r#"SYN, SYN,ACK, ACK as the first packets of the packet view ([data-testid="packet"][data-flags])"#,
        Duration::from_secs(20),
        || async {
            instruments_on(client).await?;
            let flags = packet_flags(client).await?;
            Ok((flags.len() >= 3).then_some(flags))
        },
    )
    .await?;
    ensure!(
        flags[..3] == ["SYN", "SYN,ACK", "ACK"],
        "the packet view starts with {flags:?}, not the handshake SYN, SYN,ACK, ACK"
    );

    // Both ends of the connection ESTABLISHED in the kernel, and lit in the diagram.
    wait_for(
        r#"two ESTABLISHED rows in the kernel table (tr[data-kernel-state="ESTABLISHED"])"#,
        Duration::from_secs(20),
        || async { Ok((kernel_rows_in(client, "ESTABLISHED").await? >= 2).then_some(())) },
    )
    .await?;
    let node = r#"svg[data-testid="tcp-states"] [data-state="ESTABLISHED"]"#;
    let class = attribute(client, node, "class").await?.unwrap_or_default();
    ensure!(
        class.split_whitespace().any(|c| c == "lit"),
        "the TCP diagram's ESTABLISHED node is not lit (class {class:?})"
    );

    let saved = screenshot(client, "lab-kernel.png").await?;
    println!("screenshot of the kernel view: {}", saved.display());

    goodbye_scenario(client, &client_id).await
}

/// Data, then the client closes first and the server after it: the packet view shows the data
/// and FINs, and the kernel keeps the client's end in TIME_WAIT with no descriptor.
async fn goodbye_scenario(client: &Client, client_id: &str) -> Result<()> {
    click_call(client, CLIENT_PANEL, "send").await?;
    wait_for(
        "a data segment (len > 0, flags with PSH) in the packet view",
        Duration::from_secs(20),
        || async {
            Ok(packet_flags(client)
                .await?
                .iter()
                .any(|f| f.contains("PSH"))
                .then_some(()))
        },
    )
    .await?;
    // Found while the client's row still shows its address (a closed row shows none).
    let accepted = accepted_panel(client, client_id).await?;
    // Read the data first: close() with unread data would abort with an RST, not a FIN.
    click_call(client, &accepted, "recv").await?;
    wait_for(
        "the server's recv() to return the bytes (its result in the panel)",
        Duration::from_secs(20),
        || async {
            let text = command(
                "read the accepted panel",
                client.execute(
                    "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';",
                    vec![accepted.clone().into()],
                ),
            )
            .await?;
            Ok(text
                .as_str()
                .unwrap_or_default()
                .contains("→ 6 bytes")
                .then_some(()))
        },
    )
    .await?;
    click_call(client, CLIENT_PANEL, "close").await?;
    // FIN_WAIT1 lasts as long as one loopback round trip: either it or FIN_WAIT2 is seen.
    wait_for(
        "CLOSE_WAIT on the server's end and FIN_WAIT1 or FIN_WAIT2 on the client's, in the kernel table",
        Duration::from_secs(20),
        || async {
            let waiting = kernel_rows_in(client, "CLOSE_WAIT").await?;
            let closing = kernel_rows_in(client, "FIN_WAIT2").await?
                + kernel_rows_in(client, "FIN_WAIT1").await?;
            Ok((waiting >= 1 && closing >= 1).then_some(()))
        },
    )
    .await?;
    click_call(client, &accepted, "close").await?;
    wait_for(
        r#"the client's end in TIME_WAIT (tr[data-kernel-state="TIME_WAIT"])"#,
        Duration::from_secs(20),
        || async { Ok((kernel_rows_in(client, "TIME_WAIT").await? >= 1).then_some(())) },
    )
    .await?;
    let flags = packet_flags(client).await?;
    ensure!(
        flags.iter().filter(|f| f.contains("FIN")).count() >= 2,
        "the packet view shows no FIN from each side: {flags:?}"
    );
    let saved = screenshot(client, "lab-kernel-close.png").await?;
    println!("screenshot after both closed: {}", saved.display());
    Ok(())
}

/// The panel of the socket accept() made for the client `client_id`: the row whose peer is the
/// client's local address.
async fn accepted_panel(client: &Client, client_id: &str) -> Result<String> {
    let rows = super::page::socket_rows(client).await?;
    let ours = rows
        .iter()
        .find(|r| r.id == client_id)
        .with_context(|| format!("socket {client_id}'s row"))?;
    let accepted = rows
        .iter()
        .find(|r| r.id != client_id && r.peer == ours.local)
        .with_context(|| {
            format!(
                "no socket-table row has the client's {} as peer",
                ours.local
            )
        })?;
    Ok(format!(r#"[data-testid="panel-socket-{}"]"#, accepted.id))
}
