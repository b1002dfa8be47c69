//! `cargo xtask dev`: the dev loop in one command. It installs trunk (and the wasm-bindgen CLI
//! it runs) if needed, builds the relay (debug), then runs two programs side by side:
//!
//! - the relay, `--listen ADDR --allow-origin http://127.0.0.1:PORT --dist <target>/dev-page`,
//!   so it admits trunk's page and reads the lessons trunk copies there at each rebuild;
//! - `trunk serve --port PORT --dist <target>/dev-page`, which rebuilds the page (a debug build)
//!   when a file it is made of changes, and reloads it. Its own folder keeps `dist/` the release
//!   page that `serve` serves and `dist` builds into the relay.
//!
//! Both outputs pass through (the relay's as `relay | ...`), except the addresses each would
//! have the user open: the relay's own page and trunk's bare one have no use here, the one to
//! open is the relay's URL for trunk's origin (`http://127.0.0.1:PORT/#token=KEY&relay=ADDR`).
//! Once trunk serves and that URL is known, xtask prints it, once, under "Open this".
//!
//! Ctrl-C (or SIGTERM) stops both: the terminal's Ctrl-C reaches the whole process group, and
//! xtask also sends each child SIGTERM, waits up to 10 s, then kills what is left. If either
//! program exits by itself, xtask stops the other and fails naming it.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::shell::{self, Shell};
use crate::summary::Summary;

/// How long a child gets to stop after SIGTERM before it is killed.
const GRACE: Duration = Duration::from_secs(10);

/// What the dev loop's threads report to it.
#[derive(Debug)]
enum Event {
    /// The relay printed the URL for trunk's origin.
    RelayUrl(String),
    /// trunk said it is serving (after its first build).
    TrunkServing,
    /// A child's output ended: it exited, or is about to.
    Ended(Program),
    /// Ctrl-C or SIGTERM reached xtask.
    Interrupted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Program {
    Relay,
    Trunk,
}

impl Program {
    fn name(self) -> &'static str {
        match self {
            Program::Relay => "the relay",
            Program::Trunk => "trunk serve",
        }
    }
}

/// Runs the dev loop until Ctrl-C or until either program exits.
pub(crate) fn run(
    shell: &mut Shell,
    summary: &mut Summary,
    port: u16,
    listen: &str,
    relay_flags: &[String],
) -> Result<()> {
    crate::tools::for_the_page(shell, summary)?;
    crate::tools::for_trunk(shell, summary)?;
    let target = summary.step(
        "building the relay (cargo build -p socketlab-relay)",
        Some("about 2 minutes on 2 cores the first time; seconds after"),
        || {
            shell.run(
                "cargo build -p socketlab-relay",
                shell.cmd("cargo").args(["build", "-p", "socketlab-relay"]),
            )?;
            crate::frontend::target_dir(shell)
        },
    )?;
    summary.print("starting the relay and trunk serve");

    let (events, inbox) = mpsc::channel();
    let on_signal = events.clone();
    ctrlc::set_handler(move || {
        let _ = on_signal.send(Event::Interrupted);
    })
    .context("cannot take Ctrl-C, so it could not stop both programs")?;

    let relay = target.join("debug/socketlab-relay");
    let page = target.join("dev-page");
    let origin = format!("http://127.0.0.1:{port}");
    let mut children = Children::default();
    let mut relay_cmd = shell.cmd(&relay);
    relay_cmd
        .args(["--listen", listen, "--allow-origin", &origin, "--dist"])
        .arg(&page)
        .args(relay_flags);
    children.relay = Some(spawn(&mut relay_cmd, Program::Relay, &events, &origin)?);
    let mut trunk_cmd = shell.cmd("trunk");
    trunk_cmd
        .args([
            "serve",
            "--address",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--dist",
        ])
        .arg(&page);
    println!("==> {}", shell::display(&trunk_cmd));
    children.trunk = Some(spawn(&mut trunk_cmd, Program::Trunk, &events, &origin)?);
    drop(events);

    let outcome = watch(&inbox);
    let stopped = children.stop();
    match outcome? {
        Stop::Interrupted => {
            stopped?;
            println!("==> stopped the relay and trunk serve");
            Ok(())
        }
        Stop::Ended(program) => {
            let status = stopped?
                .into_iter()
                .find(|(which, _)| *which == program)
                .map_or_else(|| "unknown".to_owned(), |(_, status)| status.to_string());
            bail!(
                "{} exited by itself ({status}), so the dev loop stopped; its output is above",
                program.name()
            )
        }
    }
}

/// Why the loop ended.
enum Stop {
    Interrupted,
    Ended(Program),
}

/// Waits for the URL and trunk's first build, prints the one address to open, then waits for
/// Ctrl-C or a child's end.
fn watch(inbox: &Receiver<Event>) -> Result<Stop> {
    let mut url = None;
    let mut serving = false;
    let mut announced = false;
    loop {
        match inbox
            .recv()
            .context("the dev loop lost its children's output")?
        {
            Event::RelayUrl(found) => url = Some(found),
            Event::TrunkServing => serving = true,
            Event::Ended(program) => {
                // Ctrl-C reaches the children too, and one may be gone before xtask's own
                // handler has spoken: an end that closely follows is Ctrl-C's.
                let soon = Instant::now() + Duration::from_secs(1);
                while let Some(left) = soon.checked_duration_since(Instant::now()) {
                    match inbox.recv_timeout(left) {
                        Ok(Event::Interrupted) => return Ok(Stop::Interrupted),
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                return Ok(Stop::Ended(program));
            }
            Event::Interrupted => return Ok(Stop::Interrupted),
        }
        if let (Some(url), true, false) = (&url, serving, announced) {
            announced = true;
            println!();
            println!("==> the dev loop is running. Open this in your browser:");
            println!("{url}");
            println!(
                "    trunk rebuilds the page when you save, and the page reloads itself; the \
                 relay reads the lessons trunk copies at each load. Ctrl-C stops both."
            );
            println!();
        }
    }
}

/// The two children, stopped on drop if `stop` was never reached (an error on the way).
#[derive(Default)]
struct Children {
    relay: Option<Child>,
    trunk: Option<Child>,
}

impl Children {
    /// SIGTERM to each child still running, up to [`GRACE`] for each to exit, then SIGKILL;
    /// returns how each ended.
    fn stop(&mut self) -> Result<Vec<(Program, ExitStatus)>> {
        let mut ended = Vec::new();
        for (program, child) in [
            (Program::Trunk, self.trunk.take()),
            (Program::Relay, self.relay.take()),
        ] {
            let Some(mut child) = child else { continue };
            ended.push((program, stop_child(&mut child, program)?));
        }
        Ok(ended)
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn stop_child(child: &mut Child, program: Program) -> Result<ExitStatus> {
    if let Some(status) = child.try_wait()? {
        return Ok(status);
    }
    if let Ok(pid) = i32::try_from(child.id()) {
        // It may have exited since: then the signal finds no one, which is fine.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    let deadline = Instant::now() + GRACE;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "{} did not stop within {}s of SIGTERM; killing it",
        program.name(),
        GRACE.as_secs()
    );
    child
        .kill()
        .with_context(|| format!("cannot kill {}", program.name()))?;
    child
        .wait()
        .with_context(|| format!("waiting for {}", program.name()))
}

/// Starts `cmd` with its output piped to threads that pass it on and report to `events`.
fn spawn(
    cmd: &mut std::process::Command,
    program: Program,
    events: &Sender<Event>,
    origin: &str,
) -> Result<Child> {
    let command = shell::display(cmd);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start `{command}`"))?;
    let stdout = child.stdout.take().context("the child's stdout")?;
    let stderr = child.stderr.take().context("the child's stderr")?;
    let filter = Filter::new(program, origin);
    pass_on(stdout, filter.clone(), events.clone(), true);
    pass_on(stderr, filter, events.clone(), false);
    Ok(child)
}

/// Reads `from` line by line on its own thread, printing what `filter` keeps and reporting what
/// it finds; reports `Ended` when the stream closes, if `report_end`.
fn pass_on(
    from: impl Read + Send + 'static,
    filter: Filter,
    events: Sender<Event>,
    report_end: bool,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            let (show, event) = filter.read(&line);
            if let Some(show) = show {
                println!("{show}");
            }
            if let Some(event) = event {
                let _ = events.send(event);
            }
        }
        if report_end {
            let _ = events.send(Event::Ended(filter.program));
        }
    });
}

/// What of a child's output is shown, and what it tells the loop.
#[derive(Debug, Clone)]
struct Filter {
    program: Program,
    /// The start of the URL to open: trunk's origin, then `/#token=`.
    wanted: String,
}

impl Filter {
    fn new(program: Program, origin: &str) -> Self {
        Filter {
            program,
            wanted: format!("{origin}/#token="),
        }
    }

    /// The line to show (if any) and the event it carries (if any).
    fn read(&self, line: &str) -> (Option<String>, Option<Event>) {
        match self.program {
            Program::Relay => {
                let trimmed = line.trim();
                if trimmed.starts_with(&self.wanted) {
                    return (None, Some(Event::RelayUrl(trimmed.to_owned())));
                }
                // The relay's banner: its own page's URL and the lines that introduce the
                // URLs are for `serve`; here they would be a second address to open.
                let banner = trimmed.starts_with("http://")
                    || trimmed.starts_with("socketlab relay is running")
                    || trimmed.starts_with("this launch's key")
                    || trimmed.starts_with("Pages that --allow-origin admits");
                ((!banner).then(|| format!("relay | {line}")), None)
            }
            Program::Trunk => {
                // trunk's "server listening at:" is followed by its addresses, none of which
                // carries the key: the loop prints the one to open instead.
                if line.contains("server listening at") {
                    return (None, Some(Event::TrunkServing));
                }
                if line.contains("http://") && !line.contains("#token=") {
                    return (None, None);
                }
                (Some(line.to_owned()), None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Event, Filter, Program};

    #[test]
    fn only_the_url_for_trunks_origin_is_taken_from_the_relay() {
        let relay = Filter::new(Program::Relay, "http://127.0.0.1:8080");
        let (show, event) = relay.read("http://127.0.0.1:8080/#token=ab12&relay=127.0.0.1:7878");
        assert!(show.is_none());
        assert!(
            matches!(event, Some(Event::RelayUrl(url)) if url == "http://127.0.0.1:8080/#token=ab12&relay=127.0.0.1:7878")
        );
        for banner in [
            "socketlab relay is running. Open this in your browser (the part after #token= is",
            "this launch's key: it proves the page is yours, so do not share the URL):",
            "http://127.0.0.1:7878/#token=ab12",
            "Pages that --allow-origin admits (e.g. `trunk serve`) open like this:",
            "http://127.0.0.1:9999/#token=ab12&relay=127.0.0.1:7878",
        ] {
            let (show, event) = relay.read(banner);
            assert!(show.is_none() && event.is_none(), "{banner}");
        }
        let (show, event) = relay.read("socketlab relay: serving the page folder dist.");
        assert_eq!(
            show.as_deref(),
            Some("relay | socketlab relay: serving the page folder dist.")
        );
        assert!(event.is_none());
    }

    #[test]
    fn trunks_addresses_are_replaced_by_the_one_to_open() {
        let trunk = Filter::new(Program::Trunk, "http://127.0.0.1:8080");
        let (show, event) = trunk.read("2026-12-06T20:40:58Z  INFO 📡 server listening at:");
        assert!(show.is_none());
        assert!(matches!(event, Some(Event::TrunkServing)));
        let (show, _) = trunk.read("2026-12-06T20:40:58Z  INFO     🏠 http://127.0.0.1:8080/");
        assert!(show.is_none());
        let (show, event) = trunk.read("   Compiling socketlab-frontend v0.1.0");
        assert_eq!(
            show.as_deref(),
            Some("   Compiling socketlab-frontend v0.1.0")
        );
        assert!(event.is_none());
    }
}
