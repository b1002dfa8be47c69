//! Class mode in a real browser (issue 14): on a relay started with a class, a learner opens the
//! relay's address with no key and types the class code (a wrong one first, which is refused and
//! asked for again); the course's links keep the code, and the lesson page shows the join bar; the learner types a name and joins, and the teacher's board shows them
//! on lesson 7; they do lesson 7's experiment through the lab (two real connections from the
//! test) and within a second of the exercise turning done the board, and its CSV, show it
//! passed. Then the teacher's page: a second learner finishes an exercise while it is open and
//! it shows within a second; its CSV download is the relay's; its Reset ends that learner's
//! session. Screenshots: `class-code.png` (the form), `class-code-refused.png`, `class-join.png` (the bar), `class-joined.png` (after the exercise),
//! `teacher.png`.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use fantoccini::{Client, Locator};
use socketlab_relay::Config;

use super::course::{accept_one, wait_for_lesson};
use super::page::{command, exists, wait_for, wait_for_exercise};
use super::{built_frontend, in_chromium, listening_server, screenshot, wait_for_status};
use crate::class::{Db, board_until, class_config, row, teacher_get};
use crate::support::Relay;

/// Types `code` into the class-code form (replacing what is there) and presses Join the class.
async fn type_class_code(client: &Client, code: &str) -> anyhow::Result<()> {
    let input = command(
        "find the class code field",
        client.find(Locator::Css(r#"[data-testid="class-code-input"]"#)),
    )
    .await?;
    command("clear the class code field", input.clear()).await?;
    command("type the class code", input.send_keys(code)).await?;
    let join = command(
        "find Join the class",
        client.find(Locator::Css(r#"[data-testid="class-code-button"]"#)),
    )
    .await?;
    command("press Join the class", join.click()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_who_joins_the_class_shows_on_the_teachers_board_within_a_second_of_passing() {
    let db = Db::new("browser");
    let class = class_config(&db);
    let key = class.teacher.as_str().to_owned();
    let code = class.code.to_string();
    let relay = Relay::start_with(Config {
        page: Some(socketlab_relay::Page::Folder(built_frontend().unwrap())),
        class: Some(class),
        ..Config::default()
    })
    .await;
    let done = in_chromium("class-failure.png", async |client: &Client| {
        // The learner has what the teacher gave: the relay's address and the class code, not
        // the launch key.
        let url = format!("http://{}/", relay.addr);
        command(&format!("open {url}"), client.goto(&url)).await?;
        wait_for_status(client, "no-key").await?;
        screenshot(client, "class-code.png").await?;
        // One character off first: refused, and asked for again.
        let mut wrong = code.clone().into_bytes();
        wrong[0] = if wrong[0] == b'A' { b'B' } else { b'A' };
        let wrong = String::from_utf8(wrong).context("an ASCII code")?;
        type_class_code(client, &wrong).await?;
        wait_for_status(client, "code-refused").await?;
        let said = command(
            "read the refusal",
            client.find(Locator::Css(r#"[data-testid="code-refused"] h2"#)),
        )
        .await?
        .text()
        .await
        .context("the refusal's heading")?;
        ensure!(said.contains(&wrong), "{said}");
        screenshot(client, "class-code-refused.png").await?;
        // Then as a learner may type the right one: in small letters, without the dash.
        type_class_code(client, &code.to_lowercase().replace('-', "")).await?;
        wait_for_status(client, "live").await?;
        // The fragment now holds the code, and the course's links keep it.
        let course = command(
            "find the Course link",
            client.find(Locator::Css(r#"a[data-nav="course"]"#)),
        )
        .await?;
        command("open the course", course.click()).await?;
        let lesson_link = r#"a[href^="/lessons/server-life"]"#;
        wait_for("the course's list of lessons", Duration::from_secs(20), || async {
            Ok(exists(client, lesson_link).await?.then_some(()))
        })
        .await?;
        let lesson = command(
            "find lesson 7's link",
            client.find(Locator::Css(lesson_link)),
        )
        .await?;
        command("open lesson 7", lesson.click()).await?;
        wait_for_lesson(client, "server-life").await?;
        wait_for_status(client, "live").await?;
        let address = client.current_url().await.context("the page's address")?;
        ensure!(
            address.fragment() == Some(format!("class={code}").as_str()),
            "{address}"
        );
        let bar = r#"[data-testid="class-join"]"#;
        wait_for("the join bar", Duration::from_secs(20), || async {
            Ok(exists(client, bar).await?.then_some(()))
        })
        .await?;
        screenshot(client, "class-join.png").await?;
        let input = command(
            "find the name field",
            client.find(Locator::Css(r#"[data-testid="class-name"]"#)),
        )
        .await?;
        command("type a name", input.send_keys("Ada Lovelace")).await?;
        let join = command(
            "find Join class",
            client.find(Locator::Css(r#"[data-testid="class-join-button"]"#)),
        )
        .await?;
        command("press Join class", join.click()).await?;
        wait_for(
            "the bar to say who joined",
            Duration::from_secs(20),
            || async {
                let found = client
                    .find_all(Locator::Css(r#"[data-testid="class-joined"]"#))
                    .await
                    .context("look for the joined bar")?;
                match found.first() {
                    Some(bar) => Ok(bar
                        .text()
                        .await
                        .ok()
                        .filter(|t| t.contains("Ada Lovelace"))
                        .map(|_| ())),
                    None => Ok(None),
                }
            },
        )
        .await?;
        // The teacher sees the learner on lesson 7, nothing done yet.
        let board = board_until(&relay, &key, "Ada on lesson 7", |b| {
            b.learners.len() == 1 && b.learners[0].lesson.as_deref() == Some("server-life")
        })
        .await;
        ensure!(row(&board, "Ada Lovelace").done.is_empty(), "{board:?}");

        // Lesson 7's experiment, with two real connections from this test.
        let (_, server) = listening_server(client).await?;
        let first = accept_one(client, server).await?;
        let second = accept_one(client, server).await?;
        wait_for_exercise(client, "accept-two-clients", "true").await?;
        let passed = Instant::now();
        let board = board_until(&relay, &key, "Ada's exercise on the board", |b| {
            row(b, "Ada Lovelace").done == ["accept-two-clients"]
        })
        .await;
        let took = passed.elapsed();
        ensure!(
            took < Duration::from_secs(1),
            "the board showed the exercise {took:?} after the page did"
        );
        ensure!(row(&board, "Ada Lovelace").online, "{board:?}");
        let (status, csv) = teacher_get(&relay, "/teacher/class.csv", Some(&key)).await;
        ensure!(status.contains(" 200 "), "{status}");
        ensure!(
            csv.contains("Ada Lovelace,true,server-life,1,accept-two-clients,"),
            "{csv}"
        );
        screenshot(client, "class-joined.png").await?;
        drop((first, second));

        // The teacher's page, in this browser now: Ada there, with her exercise.
        let teacher = format!("http://{}/teacher#teacher={key}", relay.addr);
        command(&format!("open {teacher}"), client.goto(&teacher)).await?;
        let ada = r#"[data-testid="teacher-board"] tr[data-learner="Ada Lovelace"][data-done="accept-two-clients"]"#;
        wait_for("Ada on the teacher's page", Duration::from_secs(10), || async {
            Ok(exists(client, ada).await?.then_some(()))
        })
        .await?;
        // A second learner, joined by the protocol, finishes an exercise while the teacher
        // watches: it shows within a second.
        let mut grace = crate::class::learner(&relay, "Grace Hopper").await;
        grace
            .send(&socketlab_shared::ToRelay::Lesson {
                slug: "bind-port-zero".into(),
            })
            .await;
        let grace_row = r#"[data-testid="teacher-board"] tr[data-learner="Grace Hopper"][data-online="true"]"#;
        wait_for("Grace on the teacher's page", Duration::from_secs(10), || async {
            Ok(exists(client, grace_row).await?.then_some(()))
        })
        .await?;
        grace
            .send(&socketlab_shared::ToRelay::Passed {
                exercise: "bind-port-zero".into(),
                evidence: "the kernel chose port 41234".into(),
            })
            .await;
        let sent = Instant::now();
        let done = r#"[data-testid="teacher-board"] tr[data-learner="Grace Hopper"][data-done="bind-port-zero"]"#;
        wait_for("Grace's exercise on the teacher's page", Duration::from_secs(10), || async {
            Ok(exists(client, done).await?.then_some(()))
        })
        .await?;
        let took = sent.elapsed();
        ensure!(
            took < Duration::from_secs(1),
            "the teacher's page showed Grace's exercise after {took:?}"
        );
        // The page's CSV is the relay's.
        let (_, expected) = teacher_get(&relay, "/teacher/class.csv", Some(&key)).await;
        let href = wait_for("the page's CSV to match", Duration::from_secs(10), || async {
            let link = command(
                "find the CSV link",
                client.find(Locator::Css(r#"[data-testid="teacher-csv"]"#)),
            )
            .await?;
            let href = command("read its href", link.attr("href")).await?.unwrap_or_default();
            let text = decode(&href);
            Ok((text == expected).then_some(text))
        })
        .await?;
        ensure!(href.contains("Grace Hopper,true,bind-port-zero,1,bind-port-zero,"), "{href}");
        screenshot(client, "teacher.png").await?;
        // Reset Grace from the page: her session is told and ends.
        let reset = command(
            "find Grace's Reset",
            client.find(Locator::Css(&format!("{grace_row} button[data-testid=\"reset\"]"))),
        )
        .await?;
        command("press Reset", reset.click()).await?;
        let reason = grace
            .wait_for("the goodbye", |m| match m {
                socketlab_shared::FromRelay::Goodbye { reason } => Some(reason.clone()),
                _ => None,
            })
            .await;
        ensure!(reason.contains("your teacher reset"), "{reason}");
        Ok(())
    })
    .await;
    relay.stop().await;
    done.unwrap();
}

/// The text of a `data:text/plain;charset=utf-8,...` URL (percent-decoded).
fn decode(url: &str) -> String {
    let body = url.split_once(',').map_or("", |(_, body)| body);
    let mut bytes = Vec::new();
    let mut chars = body.bytes();
    while let Some(b) = chars.next() {
        if b == b'%' {
            let hex: Vec<u8> = chars.by_ref().take(2).collect();
            let value = std::str::from_utf8(&hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .unwrap_or(b'?');
            bytes.push(value);
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
