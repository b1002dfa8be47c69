//! Lesson 13 (`/lessons/restarting-a-server`) in a real browser: a learner restarts a server both ways
//! through the lab embedded in the lesson, only with its buttons and fields. SO_REUSEADDR=1 on
//! the server socket, bind (the kernel picks port P), listen; a client connects; accept; the
//! accepted socket closes first, the client reads the end of stream and closes, and the
//! kernel table shows the TIME_WAIT; the listener closes. Then "socket() again": bind() to P
//! without the option gets EADDRINUSE, setsockopt(SO_REUSEADDR=1), bind() to P works, listen().
//! The exercise `restart-with-reuseaddr` must turn done (not before the listen), stay done
//! after a reload, and the page is saved as `target/screenshots/lesson-13-restarting-a-server-done.png`.
//! Then the lesson's `{{port-pool}}` button runs its experiment in the new session: it must
//! end with every pool port held, four binds refused with EADDRINUSE (`lesson-13-port-pool.png`).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use fantoccini::{Client, Locator};

use super::course::{page, wait_for_lesson};
use super::page::{
    attribute, click_call, command, exists, socket_rows, wait_for, wait_for_exercise, wait_for_row,
};
use super::{address, has_state, in_chromium, relay_serving_the_page, screenshot, wait_for_status};

const SERVER_PANEL: &str = r#"[data-testid="panel-server"]"#;
const CLIENT_PANEL: &str = r#"[data-testid="panel-client"]"#;
const EXERCISE: &str = r#"[data-exercise="restart-with-reuseaddr"]"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lesson_thirteen_restarts_a_server_both_ways_and_marks_restart_with_reuseaddr_done() {
    let relay = relay_serving_the_page().await.unwrap();
    let url = page(&relay, "/lessons/restarting-a-server");
    let done = in_chromium(
        "lesson-13-restarting-a-server-failure.png",
        async |client: &Client| learner_path(client, &url).await,
    )
    .await;
    relay.stop().await;
    done.unwrap();
}

async fn exercise_done(client: &Client) -> Result<bool> {
    Ok(attribute(client, EXERCISE, "data-done").await?.as_deref() == Some("true"))
}

/// The panel's socket id (`data-socket`), once it is there and not `old`.
async fn panel_socket(client: &Client, panel: &str, old: Option<&str>) -> Result<String> {
    wait_for(
        &format!("{panel} to carry a new socket's id (data-socket, not {old:?})"),
        Duration::from_secs(20),
        || async {
            let id = attribute(client, panel, "data-socket").await?;
            Ok(id.filter(|id| Some(id.as_str()) != old))
        },
    )
    .await
}

/// The text of the last result shown under `call` in `panel`, once its class has `kind`
/// (`ok` or `err`) and its text contains `needle`.
async fn wait_for_result(
    client: &Client,
    panel: &str,
    call: &str,
    kind: &str,
    needle: &str,
) -> Result<String> {
    let selector = format!(r#"{panel} .call[data-for="{call}"] .result.{kind}"#);
    let script = "const e = document.querySelector(arguments[0]);
                  return e ? e.textContent : null;";
    wait_for(
        &format!("{selector} saying {needle:?}"),
        Duration::from_secs(20),
        || async {
            let text = command(
                &format!("read {selector}"),
                client.execute(script, vec![selector.clone().into()]),
            )
            .await?;
            Ok(text
                .as_str()
                .filter(|t| t.contains(needle))
                .map(str::to_owned))
        },
    )
    .await
}

/// Replaces what the field shows with `text`, as a user types it, and waits until the field
/// holds exactly that.
async fn type_into(client: &Client, selector: &str, text: &str) -> Result<()> {
    let field = command(
        &format!("find {selector}"),
        client.find(Locator::Css(selector)),
    )
    .await?;
    command(&format!("clear {selector}"), field.clear()).await?;
    command(&format!("type into {selector}"), field.send_keys(text)).await?;
    let script = "const e = document.querySelector(arguments[0]); return e ? e.value : null;";
    wait_for(
        &format!("{selector} to hold {text:?}"),
        Duration::from_secs(20),
        || async {
            let value = command(
                &format!("read {selector}"),
                client.execute(script, vec![selector.into()]),
            )
            .await?;
            Ok((value.as_str() == Some(text)).then_some(()))
        },
    )
    .await
}

/// Opens the panel's "Ask the kernel" box (where setsockopt is) unless it is open, and
/// presses setsockopt() with its defaults, SO_REUSEADDR = 1; waits for the kernel's yes.
async fn set_reuseaddr(client: &Client, panel: &str) -> Result<()> {
    let details = format!("{panel} details.ask");
    let script = "const d = document.querySelector(arguments[0]);
                  if (!d) return false;
                  if (!d.open) d.querySelector('summary').click();
                  return d.open;";
    wait_for(
        &format!("{details} to be open"),
        Duration::from_secs(20),
        || async {
            let open = command(
                &format!("open {details}"),
                client.execute(script, vec![details.clone().into()]),
            )
            .await?;
            Ok(open.as_bool().unwrap_or(false).then_some(()))
        },
    )
    .await?;
    let option = format!(r#"{panel} .call[data-for="setsockopt"] select[data-arg="option"]"#);
    ensure!(
        command(
            "read the option menu",
            client.execute(
                "const s = document.querySelector(arguments[0]); return s ? s.value : null;",
                vec![option.clone().into()]
            )
        )
        .await?
        .as_str()
            == Some("SO_REUSEADDR"),
        "the setsockopt() row does not offer SO_REUSEADDR first ({option})"
    );
    click_call(client, panel, "setsockopt").await?;
    wait_for_result(client, panel, "setsockopt", "ok", "1").await?;
    Ok(())
}

async fn learner_path(client: &Client, url: &str) -> Result<()> {
    command(&format!("open {url}"), client.goto(url)).await?;
    wait_for_lesson(client, "restarting-a-server").await?;
    wait_for_status(client, "live").await?;
    wait_for_exercise(client, "restart-with-reuseaddr", "false").await?;

    // The first server, with SO_REUSEADDR set before bind().
    click_call(client, SERVER_PANEL, "socket").await?;
    let listener = panel_socket(client, SERVER_PANEL, None).await?;
    wait_for_row(client, "the server socket, fresh", &listener, |r| {
        has_state(r, "fresh")
    })
    .await?;
    set_reuseaddr(client, SERVER_PANEL).await?;
    click_call(client, SERVER_PANEL, "bind").await?;
    let bound = wait_for_row(client, "the server bound to a port", &listener, |r| {
        has_state(r, "bound") && address(&r.local).is_some_and(|a| a.port() != 0)
    })
    .await?;
    let server: SocketAddr = address(&bound.local).context("the bound address")?;
    ensure!(server.ip().is_loopback(), "the server is bound to {server}");
    click_call(client, SERVER_PANEL, "listen").await?;
    wait_for_row(client, "the server listening", &listener, |r| {
        has_state(r, "listening")
    })
    .await?;

    // A client connects, the server accepts.
    click_call(client, CLIENT_PANEL, "socket").await?;
    let client_socket = panel_socket(client, CLIENT_PANEL, None).await?;
    click_call(client, CLIENT_PANEL, "connect").await?;
    let connected = wait_for_row(client, "the client connected", &client_socket, |r| {
        has_state(r, "connected") && address(&r.peer) == Some(server)
    })
    .await?;
    click_call(client, SERVER_PANEL, "accept").await?;
    let accepted = wait_for(
        "a socket-table row for the accepted connection",
        Duration::from_secs(20),
        || async {
            let rows = socket_rows(client).await?;
            Ok(rows
                .into_iter()
                .find(|r| r.id != listener && r.id != client_socket && r.peer == connected.local)
                .map(|r| r.id))
        },
    )
    .await?;

    // The server's end closes first; the client reads the end of the stream and closes.
    let accepted_panel = format!(r#"[data-testid="panel-socket-{accepted}"]"#);
    click_call(client, &accepted_panel, "close").await?;
    wait_for_row(client, "the accepted socket closed", &accepted, |r| {
        has_state(r, "closed")
    })
    .await?;
    click_call(client, CLIENT_PANEL, "recv").await?;
    wait_for_result(client, CLIENT_PANEL, "recv", "ok", "end of stream").await?;
    click_call(client, CLIENT_PANEL, "close").await?;
    wait_for_row(client, "the client closed", &client_socket, |r| {
        has_state(r, "closed")
    })
    .await?;
    let time_wait = r#"[data-testid="kernel-table"] tr[data-kernel-state="TIME_WAIT"]"#;
    wait_for(
        "a TIME_WAIT row in the kernel table (the kernel view needs Linux)",
        Duration::from_secs(20),
        || async { Ok(exists(client, time_wait).await?.then_some(())) },
    )
    .await?;
    click_call(client, SERVER_PANEL, "close").await?;
    wait_for_row(client, "the listener closed", &listener, |r| {
        has_state(r, "closed")
    })
    .await?;

    // Restart without the option: EADDRINUSE.
    click_call(client, SERVER_PANEL, "socket").await?;
    let restarted = panel_socket(client, SERVER_PANEL, Some(&listener)).await?;
    let bind_field = format!(r#"{SERVER_PANEL} .call[data-for="bind"] input[data-arg="address"]"#);
    let again = server.to_string();
    type_into(client, &bind_field, &again).await?;
    click_call(client, SERVER_PANEL, "bind").await?;
    wait_for_result(client, SERVER_PANEL, "bind", "err", "EADDRINUSE").await?;
    ensure!(
        !exercise_done(client).await?,
        "restart-with-reuseaddr is done before the restart worked"
    );

    // Restart with the option: bind and listen work on the same port.
    set_reuseaddr(client, SERVER_PANEL).await?;
    type_into(client, &bind_field, &again).await?;
    click_call(client, SERVER_PANEL, "bind").await?;
    wait_for_row(
        client,
        "the restarted server bound to the old port",
        &restarted,
        |r| has_state(r, "bound") && address(&r.local) == Some(server),
    )
    .await?;
    ensure!(
        !exercise_done(client).await?,
        "restart-with-reuseaddr is done before the restarted server listens"
    );
    click_call(client, SERVER_PANEL, "listen").await?;
    wait_for_row(client, "the restarted server listening", &restarted, |r| {
        has_state(r, "listening")
    })
    .await?;
    wait_for_exercise(client, "restart-with-reuseaddr", "true").await?;

    let scroll = "const e = document.querySelector(arguments[0]); if (e) e.scrollIntoView({block: 'center'}); return e !== null;";
    command(
        "scroll to the exercise",
        client.execute(scroll, vec![EXERCISE.into()]),
    )
    .await?;
    let saved = screenshot(client, "lesson-13-restarting-a-server-done.png").await?;
    println!("screenshot of lesson 13 done: {}", saved.display());

    command("reload the lesson", client.refresh()).await?;
    wait_for_lesson(client, "restarting-a-server").await?;
    wait_for_status(client, "live").await?;
    wait_for_exercise(client, "restart-with-reuseaddr", "true").await?;
    hold_every_pool_port(client).await
}

/// The lesson's `{{port-pool}}` experiment, run by its button in a fresh session: four
/// client ports left in TIME_WAIT, then the new socket's bind() to each refused.
async fn hold_every_pool_port(client: &Client) -> Result<()> {
    let pool = r#"[data-testid="port-pool"]"#;
    let button = format!(r#"{pool} button[data-testid="pool-run"]"#);
    wait_for(
        "an enabled Run the experiment button",
        Duration::from_secs(20),
        || async {
            let found =
                command("find the pool's button", client.find(Locator::Css(&button))).await?;
            if !command("is the pool's button enabled", found.is_enabled()).await? {
                return Ok(None);
            }
            command("click the pool's button", found.click()).await?;
            Ok(Some(()))
        },
    )
    .await?;
    wait_for(
        &format!("{pool}[data-state=\"all-held\"]"),
        Duration::from_secs(30),
        || async {
            let state = attribute(client, pool, "data-state").await?;
            ensure!(
                state.as_deref() != Some("failed") && state.as_deref() != Some("one-free"),
                "the pool experiment ended {state:?}"
            );
            Ok((state.as_deref() == Some("all-held")).then_some(()))
        },
    )
    .await?;
    let refused = command(
        "count the refused pool ports",
        client.execute(
            "return document.querySelectorAll(arguments[0]).length;",
            vec![format!("{pool} .pool-ports li.refused").into()],
        ),
    )
    .await?;
    ensure!(
        refused.as_u64() == Some(4),
        "{refused} pool ports shown refused, not 4"
    );
    let scroll = "const e = document.querySelector(arguments[0]); if (e) e.scrollIntoView({block: 'center'}); return e !== null;";
    command(
        "scroll to the pool",
        client.execute(scroll, vec![pool.into()]),
    )
    .await?;
    let saved = screenshot(client, "lesson-13-port-pool.png").await?;
    println!("screenshot of the port pool: {}", saved.display());
    Ok(())
}
