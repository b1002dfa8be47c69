//! How soon the lab is live: from navigation to `[data-testid="link-status"][data-status="live"]`
//! (the marker the browser tests wait for: the relay's `welcome` was handled; `capabilities`
//! and `machine` are sent right behind it) in headless Chromium, cold and warm, against the
//! 500 ms target. Every figure is the browser's own clock: the navigation's `startTime` is 0,
//! and the moment the marker appears is `performance.now()` in a `MutationObserver`, so no
//! WebDriver round trip is in it.
//!
//! How: the sessions run with `pageLoadStrategy` none, so `goto` returns at once; a script
//! (`WATCH`), run again until it runs in the lab's document, starts the observer there and
//! resolves with the time and the navigation and wasm resource entries. Nothing is injected
//! before the page's own scripts, so the script starts only when the page's main thread lets it
//! (often after DOMContentLoaded, 40 to 200 ms in). When the lab is live already by then, the
//! time is the page's own: its event log's welcome line (`performance.now()` when the page
//! handled `welcome`, to the millisecond; the marker is drawn in the same render), and the
//! summary says how many loads that was.
//!
//! Cold: the first navigation of a new Chromium with a fresh profile (empty cache). Warm: the
//! same browser goes to about:blank and opens the lab again (its cache, and the wasm code cache,
//! as they are after one visit). Each round is one cold and one warm load.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use fantoccini::Client;
use serde_json::Value;

use crate::measure::{Samples, Summary, ms};
use crate::relay_process::RelayProcess;
use socketlab_tests::chrome::{Chromedriver, PageLoad, Profile};

/// Issue 12's target for navigation to a live lab.
const TARGET_MS: f64 = 500.0;

/// The longest any one WebDriver command, or the wait for the live lab, may take.
const STEP: Duration = Duration::from_secs(20);

/// Run in the page by `execute_async`: resolves with `{retry}` when this is not yet the lab's
/// document, `{stuck}` when it is not live within 15 s, else with `{live}` (`performance.now()`
/// when the marker appeared, or the welcome line's time when it was there already, `fromLog`)
/// and the entries; `{missed}` when it was there already and the log has no welcome line.
const WATCH: &str = r#"
const origin = arguments[0];
const done = arguments[arguments.length - 1];
if (location.origin !== origin) {
  done({ retry: location.href });
  return;
}
const marker = '[data-testid="link-status"][data-status="live"]';
const watching = performance.now();
const entries = (live, fromLog) => {
  const nav = performance.getEntriesByType('navigation')[0] || {};
  const wasm = performance.getEntriesByType('resource').find((r) => r.name.endsWith('.wasm'));
  return {
    live,
    fromLog,
    watching,
    responseEnd: nav.responseEnd,
    domContentLoaded: nav.domContentLoadedEventEnd,
    wasm: wasm && {
      start: wasm.startTime,
      end: wasm.responseEnd,
      transfer: wasm.transferSize,
      body: wasm.encodedBodySize,
    },
  };
};
if (document.querySelector(marker)) {
  // Live already: the page's own log line for the welcome says when (MM:SS.mmm).
  const line = [...document.querySelectorAll('[data-testid="log-entry"]')].find((e) =>
    (e.querySelector('.headline')?.textContent || '').startsWith('Connected to the relay'));
  const time = line?.querySelector('.time')?.textContent || '';
  const [minutes, seconds] = time.split(':').map(Number);
  done(Number.isFinite(minutes) && Number.isFinite(seconds)
    ? entries((minutes * 60 + seconds) * 1000, true)
    : { missed: time || 'no welcome line in the event log' });
  return;
}
const observer = new MutationObserver(() => {
  if (document.querySelector(marker)) {
    const live = performance.now();
    observer.disconnect();
    done(entries(live, false));
  }
});
observer.observe(document, {
  subtree: true,
  childList: true,
  attributes: true,
  attributeFilter: ['data-status'],
});
setTimeout(() => {
  observer.disconnect();
  const status = document.querySelector('[data-testid="link-status"]');
  done({ stuck: status ? status.getAttribute('data-status') : 'no link-status element' });
}, 15000);
"#;

/// One load, in milliseconds from the navigation's start.
struct Load {
    live: f64,
    /// When the observer started: how much room there was before the lab went live.
    watching: f64,
    /// The lab was live before the observer started: `live` is the event log's welcome line
    /// (`performance.now()` when the page handled `welcome`, to the millisecond).
    from_log: bool,
    response_end: f64,
    dom_content_loaded: f64,
    wasm: Option<Wasm>,
}

/// The wasm's resource timing entry.
struct Wasm {
    start: f64,
    end: f64,
    /// Bytes over the wire: 0 from the cache, headers only for a 304.
    transfer: f64,
    body: f64,
}

impl Wasm {
    fn source(&self) -> &'static str {
        if self.transfer == 0.0 {
            "the cache"
        } else if self.transfer < self.body {
            "the cache after a 304"
        } else {
            "the network"
        }
    }
}

/// `loads` cold and `loads` warm loads of the lab the relay `binary` serves from `dist`.
pub(crate) async fn report(
    summary: &mut Summary,
    binary: &Path,
    dist: &Path,
    loads: usize,
) -> Result<()> {
    if loads == 0 {
        return Ok(());
    }
    if !dist.join("index.html").is_file() {
        bail!(
            "{} holds no index.html: build the page first (cargo xtask build)",
            dist.display()
        );
    }
    let driver = Chromedriver::start()?;
    let relay = RelayProcess::start(binary, dist, 4)?;
    let origin = format!("http://{}", relay.address);
    let url = format!("{origin}/#token={}", relay.token());
    let mut cold = Vec::with_capacity(loads);
    let mut warm = Vec::with_capacity(loads);
    for _ in 0..loads {
        let (c, w) = round(&driver, &origin, &url).await?;
        cold.push(c);
        warm.push(w);
    }
    drop(relay);

    summary.heading(&format!(
        "Page load (navigation to a live lab, data-status=\"live\"; headless Chromium's own clock; {loads} cold in a fresh profile, {loads} warm in the same browser)"
    ));
    describe(summary, "cold", &cold);
    describe(summary, "warm", &warm);
    let late = cold.iter().chain(&warm).filter(|l| l.from_log).count();
    if late > 0 {
        summary.line(format!(
            "({late} of {} loads were live before the watch began: their time is the event log's welcome line, to the millisecond)",
            2 * loads
        ));
    }
    Ok(())
}

/// One cold load in a new browser with a fresh profile, then one warm load in it.
async fn round(driver: &Chromedriver, origin: &str, url: &str) -> Result<(Load, Load)> {
    let profile = Profile::new()?;
    let client = driver.session(profile.path(), PageLoad::Return).await?;
    let outcome = async {
        let cold = load(&client, origin, url).await?;
        blank(&client).await?;
        let warm = load(&client, origin, url).await?;
        anyhow::Ok((cold, warm))
    }
    .await;
    // Closed whatever happened, so Chromium never outlives the bench.
    let closed = tokio::time::timeout(STEP, client.close()).await;
    let loads = outcome?;
    closed
        .context("closing the WebDriver session timed out")?
        .context("closing the WebDriver session failed")?;
    Ok(loads)
}

/// Opens `url` and waits for the live lab.
async fn load(client: &Client, origin: &str, url: &str) -> Result<Load> {
    within(&format!("open {url}"), client.goto(url)).await?;
    let deadline = tokio::time::Instant::now() + STEP;
    let mut last = String::from("no script ran");
    loop {
        if tokio::time::Instant::now() > deadline {
            bail!(
                "the page at {url} did not become the lab's document within {STEP:?} (last: {last})"
            );
        }
        // While the navigation commits, a script may find no document to run in: try again.
        let answer = match within(
            "watch for the live lab",
            client.execute_async(WATCH, vec![origin.into()]),
        )
        .await
        {
            Ok(answer) => answer,
            Err(err) => {
                last = format!("{err:#}");
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        if let Some(href) = answer.get("retry") {
            last = format!("the script ran in {href}");
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        if let Some(what) = answer.get("missed") {
            bail!(
                "the lab at {url} was live before the watch began, and its event log gives no time for the welcome ({what})"
            );
        }
        if let Some(status) = answer.get("stuck") {
            bail!("the lab at {url} was not live within 15 s (link status: {status})");
        }
        return parse(&answer);
    }
}

/// Goes to about:blank and waits until it is the document, so the next load's document is the
/// only one on the lab's origin.
async fn blank(client: &Client) -> Result<()> {
    within("open about:blank", client.goto("about:blank")).await?;
    let deadline = tokio::time::Instant::now() + STEP;
    while tokio::time::Instant::now() < deadline {
        let here = within(
            "read the location",
            client.execute("return location.href;", vec![]),
        )
        .await;
        if here.is_ok_and(|href| href == "about:blank") {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    bail!("about:blank did not open within {STEP:?}")
}

fn parse(answer: &Value) -> Result<Load> {
    let number = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_f64)
            .with_context(|| format!("no {key} in the page's answer {answer}"))
    };
    let wasm = match answer.get("wasm").filter(|w| !w.is_null()) {
        Some(w) => Some(Wasm {
            start: number(w, "start")?,
            end: number(w, "end")?,
            transfer: number(w, "transfer")?,
            body: number(w, "body")?,
        }),
        None => None,
    };
    Ok(Load {
        live: number(answer, "live")?,
        watching: number(answer, "watching")?,
        from_log: answer
            .get("fromLog")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        response_end: number(answer, "responseEnd")?,
        dom_content_loaded: number(answer, "domContentLoaded")?,
        wasm,
    })
}

/// A WebDriver command, failing after `STEP`.
async fn within<T, E>(what: &str, command: impl Future<Output = Result<T, E>>) -> Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    tokio::time::timeout(STEP, command)
        .await
        .with_context(|| format!("{what}: no answer within {STEP:?}"))?
        .with_context(|| format!("{what} failed"))
}

fn samples(values: impl Iterator<Item = f64>) -> Samples {
    let mut samples = Samples::default();
    for v in values {
        samples.push(Duration::from_secs_f64(v.max(0.0) / 1e3));
    }
    samples
}

/// Two lines for `kind`: median and max to the live lab against the target, then the medians
/// of the steps on the way and where the wasm came from.
fn describe(summary: &mut Summary, kind: &str, loads: &[Load]) {
    let live = samples(loads.iter().map(|l| l.live));
    let (median, max) = (ms(live.p50()), ms(live.quantile(1.0)));
    summary.line(format!(
        "{kind}: live lab at median {median:6.1} ms, max {max:6.1} ms: x{:.2} the {TARGET_MS:.0} ms target (max x{:.2})",
        median / TARGET_MS,
        max / TARGET_MS
    ));
    let median_of = |f: fn(&Load) -> Option<f64>| {
        let values: Vec<f64> = loads.iter().filter_map(f).collect();
        (!values.is_empty()).then(|| ms(samples(values.into_iter()).p50()))
    };
    let html = median_of(|l| Some(l.response_end)).unwrap_or_default();
    let dcl = median_of(|l| Some(l.dom_content_loaded)).unwrap_or_default();
    let watching = median_of(|l| Some(l.watching)).unwrap_or_default();
    let wasm = match (
        median_of(|l| l.wasm.as_ref().map(|w| w.start)),
        median_of(|l| l.wasm.as_ref().map(|w| w.end)),
        median_of(|l| l.wasm.as_ref().map(|w| w.end - w.start)),
    ) {
        (Some(start), Some(end), Some(took)) => {
            let mut from: Vec<&str> = loads
                .iter()
                .filter_map(|l| l.wasm.as_ref().map(Wasm::source))
                .collect();
            from.sort_unstable();
            from.dedup();
            format!(
                "wasm fetch {took:.1} ms ({start:.1} -> {end:.1} ms, from {})",
                from.join(" or ")
            )
        }
        _ => "no wasm in the resource timing".to_owned(),
    };
    summary.line(format!(
        "{:width$}  medians: HTML responseEnd {html:.1} ms, DOMContentLoaded {dcl:.1} ms, {wasm}; watched from {watching:.1} ms",
        "",
        width = kind.len()
    ));
}
