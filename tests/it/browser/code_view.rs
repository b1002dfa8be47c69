//! The Code view in a real browser (issue 13): two UDP sockets made and bound through the lab
//! and a datagram sent from one to the other appear as a program in C, Python and Rust; hovering
//! a line of a call lights that call's entries in the log. Each language is saved as a
//! screenshot (`target/screenshots/lab-code-c.png`, `-python.png`, `-rust.png`). Once the
//! receiver has read the datagram, the session is also a server and a client: the two programs
//! and the guide to run them (`lab-code-two.png`).

use anyhow::{Context, Result, ensure};
use fantoccini::{Client, Locator};

use super::datagram::{add_udp_socket, wait_until_text};
use super::page::{click_call, command};
use super::{in_chromium, relay_serving_the_page, screenshot, wait_for_status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_view_writes_the_session_in_three_languages_and_lights_a_call_in_the_log() {
    let relay = relay_serving_the_page().await.unwrap();
    let url = relay.page_url();
    let done = in_chromium("lab-code-failure.png", async |client: &Client| {
        command(&format!("open {url}"), client.goto(&url)).await?;
        wait_for_status(client, "live").await?;
        let receiver = add_udp_socket(client).await?;
        click_call(client, &receiver, "bind").await?;
        wait_until_text(client, "the receiver bound", "the kernel chose port").await?;
        let sender = add_udp_socket(client).await?;
        click_call(client, &sender, "bind").await?;
        click_call(client, &sender, "sendto").await?;
        wait_until_text(client, "a datagram sent", "sent as one datagram").await?;

        let c = code(client).await?;
        for line in [
            "int udp = socket(AF_INET, SOCK_DGRAM, 0);",
            "make_address(&addr, \"127.0.0.1\", 0); /* port 0: the kernel chooses */",
            "n = sendto(udp2, ",
            "(struct sockaddr *)&addr, addr_len);",
            "udp_port); /* the port the kernel chose for it */",
        ] {
            ensure!(c.contains(line), "the C program has {line:?}:\n{c}");
        }
        screenshot(client, "lab-code-c.png").await?;

        tab(client, "python").await?;
        let python = code(client).await?;
        ensure!(
            python.contains("udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)")
                && python.contains("sent = udp2.sendto(")
                && python.contains("udp_port)"),
            "the Python program:\n{python}"
        );
        screenshot(client, "lab-code-python.png").await?;

        tab(client, "rust").await?;
        let rust = code(client).await?;
        ensure!(
            rust.contains("Socket::new(Domain::IPV4, Type::DGRAM, None).map(UdpSocket::from)?")
                && rust.contains("udp2.send_to(")
                && rust.contains("fn main() -> io::Result<()>"),
            "the Rust program:\n{rust}"
        );
        let download = command(
            "find the download link",
            client.find(Locator::Css(r#"[data-testid="code-download"]"#)),
        )
        .await?;
        let file = command("read its file name", download.attr("download")).await?;
        ensure!(file.as_deref() == Some("main.rs"), "downloads as {file:?}");

        // Hovering the sendto's line lights the sendto's entries in the log, and only those.
        let lit = hover_line(client, "udp2.send_to(").await?;
        let (call, lit_entries, lit_calls) = lit;
        ensure!(
            lit_entries >= 2 && lit_calls == vec![call.clone()],
            "the call's entries (its call and its reply) are lit, no other: call {call}, {lit_entries} lit, of calls {lit_calls:?}"
        );
        screenshot(client, "lab-code-rust.png").await?;

        // The receiver reads the datagram: now a server (it received first) and a client (it
        // sent first), which the learner may see as two programs.
        click_call(client, &receiver, "recvfrom").await?;
        wait_until_text(client, "the datagram read", " from 127.0.0.1:").await?;
        tab(client, "c").await?;
        form(client, "two").await?;
        let guide = text_of(client, "code-guide").await?;
        ensure!(
            guide.contains("run the server: cc -Wall -o server server.c && ./server")
                && guide.contains("When it has printed bind: 127.0.0.1:PORT, run the client with that port: cc -Wall -o client client.c && ./client SERVER_UDP_PORT"),
            "the guide says how to run the two: {guide}"
        );
        let server = text_of(client, "code-text-server").await?;
        let client_program = text_of(client, "code-text-client").await?;
        ensure!(
            server.contains("recvfrom(udp, buf, ")
                && !server.contains("sendto(")
                && server.contains("setvbuf(stdout"),
            "the server half:\n{server}"
        );
        ensure!(
            client_program.contains("int server_udp_port = atoi(argv[1]);")
                && client_program.contains("server_udp_port); /* the server's port, from the command line */")
                && !client_program.contains("recvfrom("),
            "the client half:\n{client_program}"
        );
        let download = command(
            "find the server's download link",
            client.find(Locator::Css(r#"[data-testid="code-download-server"]"#)),
        )
        .await?;
        let file = command("read its file name", download.attr("download")).await?;
        ensure!(file.as_deref() == Some("server.c"), "downloads as {file:?}");
        screenshot(client, "lab-code-two.png").await?;
        form(client, "one").await?;
        ensure!(
            code(client).await?.contains("recvfrom(udp, buf, "),
            "back to one program"
        );
        Ok(())
    })
    .await;
    relay.stop().await;
    done.unwrap();
}

/// The program the Code view shows.
async fn code(client: &Client) -> Result<String> {
    let pre = command(
        "find the program",
        client.find(Locator::Css(r#"[data-testid="code-text"]"#)),
    )
    .await?;
    command("read the program", pre.text()).await
}

/// The text of the element with test id `id`.
async fn text_of(client: &Client, id: &str) -> Result<String> {
    let selector = format!(r#"[data-testid="{id}"]"#);
    let element = command(
        &format!("find {selector}"),
        client.find(Locator::Css(&selector)),
    )
    .await?;
    command(&format!("read {selector}"), element.text()).await
}

/// Chooses one program (`one`) or a server and a client (`two`).
async fn form(client: &Client, which: &str) -> Result<()> {
    let selector = format!(r#"[data-testid="code-form-{which}"]"#);
    let button = command("find the form", client.find(Locator::Css(&selector))).await?;
    command("click the form", button.click()).await?;
    let selected = command("read the form", button.attr("aria-selected")).await?;
    ensure!(selected.as_deref() == Some("true"), "{which} selected");
    Ok(())
}

async fn tab(client: &Client, language: &str) -> Result<()> {
    let selector = format!(r#"[data-testid="code-tab-{language}"]"#);
    let button = command("find the tab", client.find(Locator::Css(&selector))).await?;
    command("click the tab", button.click()).await?;
    let selected = command("read the tab", button.attr("aria-selected")).await?;
    ensure!(selected.as_deref() == Some("true"), "{language} selected");
    Ok(())
}

/// Moves the pointer onto the first program line containing `text`; that line's call id, how
/// many log entries are lit, and the call ids of the lit entries (each once).
async fn hover_line(client: &Client, text: &str) -> Result<(String, usize, Vec<String>)> {
    let script = r#"
        const line = Array.from(document.querySelectorAll('[data-testid="code-text"] .code-line'))
            .find(l => l.textContent.includes(arguments[0]));
        if (!line) return null;
        line.dispatchEvent(new MouseEvent("mouseenter", { bubbles: false }));
        return line.getAttribute("data-call");
    "#;
    let call = command("hover the line", client.execute(script, vec![text.into()])).await?;
    let call = call
        .as_str()
        .with_context(|| format!("no line of a call with {text:?}"))?
        .to_owned();
    let read = r#"
        const lit = Array.from(document.querySelectorAll('[data-testid="log-entry"].lit'));
        return [lit.length, [...new Set(lit.map(e => e.getAttribute("data-call")))]];
    "#;
    let value = super::page::wait_for(
        "the hovered call's log entries to light",
        std::time::Duration::from_secs(10),
        || async {
            let value = command("read the lit entries", client.execute(read, vec![])).await?;
            Ok((value[0].as_u64().unwrap_or(0) > 0).then_some(value))
        },
    )
    .await?;
    let count = usize::try_from(value[0].as_u64().unwrap_or(0)).unwrap_or(0);
    let calls = value[1]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    Ok((call, count, calls))
}
