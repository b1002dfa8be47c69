//! Headless Chromium, for the browser tests (`it/browser.rs`) and the bench's page-load figures
//! (`socketlab-bench`): chromedriver on a kernel-chosen port, one WebDriver session per fresh
//! profile, the headless flags these machines need. A missing Chromium or chromedriver is a
//! failure that says what to install, never a skip.
//!
//! Chromium and chromedriver are `$SOCKETLAB_CHROMIUM` / `$SOCKETLAB_CHROMEDRIVER` (xtask passes
//! what it found), else `/usr/bin/chromium` / `/usr/bin/chromedriver`, else PATH.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;

const INSTALL: &str = "install Chromium and its driver (Debian/Ubuntu: sudo apt-get install \
                       chromium chromium-driver), or run `cargo xtask test` or `cargo xtask bench`, which install them \
                       where it may";

/// How long chromedriver may take to say which port it chose, and Chromium to start.
const START: Duration = Duration::from_secs(30);

/// When a navigation command returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageLoad {
    /// Once the page has loaded (WebDriver's default), as the browser tests want.
    Wait,
    /// At once, for a caller that times the load with the page's own clock.
    Return,
}

/// A running chromedriver; dropping it kills the process.
#[derive(Debug)]
pub struct Chromedriver {
    child: Child,
    port: u16,
    chromium: PathBuf,
}

impl Chromedriver {
    /// Finds Chromium (so a missing one fails before anything starts) and starts chromedriver
    /// with `--port=0`, reading the port from the line it prints once it listens.
    pub fn start() -> Result<Self> {
        let chromium = locate("chromium", "SOCKETLAB_CHROMIUM")?;
        let program = locate("chromedriver", "SOCKETLAB_CHROMEDRIVER")?;
        let mut child = Command::new(&program)
            .args(["--port=0", "--log-level=WARNING"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let stdout = child.stdout.take().context("chromedriver's stdout")?;
        // Sends the port once, then keeps draining, so chromedriver never blocks on a full pipe.
        let (port_tx, port_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut port_tx = Some(port_tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = announced_port(&line)
                    && let Some(tx) = port_tx.take()
                {
                    let _ = tx.send(port);
                }
            }
        });
        let mut driver = Chromedriver {
            child,
            port: 0,
            chromium,
        };
        driver.port = port_rx.recv_timeout(START).with_context(|| {
            format!(
                "chromedriver ({}) did not report a listening port within {START:?}",
                program.display()
            )
        })?;
        Ok(driver)
    }

    /// Opens a session: a new headless Chromium with the fresh profile in `profile`. With
    /// `PageLoad::Return`, navigation commands return at once (`pageLoadStrategy` none), for the
    /// bench: the page's own clock times the load, and the script that watches for the live lab
    /// must be in place before the lab is.
    pub async fn session(&self, profile: &Path, load: PageLoad) -> Result<Client> {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "chrome".into());
        if load == PageLoad::Return {
            caps.insert("pageLoadStrategy".into(), "none".into());
        }
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": self.chromium,
                "args": [
                    "--headless",
                    // Root (as in CI) cannot use Chromium's sandbox.
                    "--no-sandbox",
                    "--disable-gpu",
                    // These keep Chromium from calling home on a machine with no network.
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--window-size=1400,1000",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{}", self.port);
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(caps);
        tokio::time::timeout(START, builder.connect(&url))
            .await
            .with_context(|| format!("no WebDriver session from {url} within {START:?}"))?
            .with_context(|| {
                format!(
                    "opening a WebDriver session with {}",
                    self.chromium.display()
                )
            })
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh Chromium profile directory, removed on drop, so no run (and no cold load) sees
/// another's state.
#[derive(Debug)]
pub struct Profile(PathBuf);

impl Profile {
    pub fn new() -> Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let dir = std::env::temp_dir().join(format!(
            "socketlab-bench-chromium-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Profile(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The port in chromedriver's "ChromeDriver was started successfully on port 41099." line.
fn announced_port(line: &str) -> Option<u16> {
    let rest = line.split("started successfully on port ").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|port| *port != 0)
}

/// `$env_var` if set (xtask passes what it found), else Debian's `/usr/bin/NAME`, else PATH.
fn locate(name: &str, env_var: &str) -> Result<PathBuf> {
    if let Some(path) = std::env::var_os(env_var).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
        bail!(
            "{env_var} names {}, which does not exist; {INSTALL}",
            path.display()
        );
    }
    let debian = Path::new("/usr/bin").join(name);
    if debian.is_file() {
        return Ok(debian);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .with_context(|| format!("`{name}` is not installed; {INSTALL}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chromedrivers_port_line_is_read() {
        assert_eq!(
            announced_port("ChromeDriver was started successfully on port 41099."),
            Some(41099)
        );
        assert_eq!(announced_port("Only local connections are allowed."), None);
        assert_eq!(announced_port("... on port 0."), None);
    }
}
