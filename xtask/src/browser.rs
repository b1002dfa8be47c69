//! The browser test's prerequisites: Chromium and a chromedriver of the same major version.
//! Where the machine allows it (Debian/Ubuntu, as root, as in CI) they come from apt; anywhere
//! else xtask stops and says what to install. A browser is never downloaded any other way.
//!
//! The paths found are passed to the tests as `SOCKETLAB_CHROMIUM` and `SOCKETLAB_CHROMEDRIVER`
//! (Debian's `/usr/bin` first, then PATH).

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::shell::Shell;
use crate::summary::Summary;
use crate::versions::{major, reported_version};

const APT_HINT: &str =
    "install Chromium and its driver: sudo apt-get install chromium chromium-driver";

/// Where the browser test finds its browser and driver (passed to it as environment variables).
#[derive(Debug, Clone)]
pub(crate) struct Browser {
    pub(crate) chromium: PathBuf,
    pub(crate) chromedriver: PathBuf,
}

/// Finds Chromium and chromedriver, installing them with apt when missing and allowed to.
pub(crate) fn prepare(shell: &Shell, summary: &mut Summary) -> Result<Browser> {
    let problem = match find(shell) {
        Ok(browser) => {
            summary.already_there("Chromium and chromedriver", describe(shell, &browser));
            return Ok(browser);
        }
        Err(problem) => problem,
    };
    println!("    {problem}");
    if !can_use_apt(shell) {
        bail!("{problem}; {}", hint(shell));
    }
    summary.step(
        "installing Chromium and chromedriver with apt",
        Some("a few minutes; once only"),
        || {
            shell.run("apt-get update", shell.cmd("apt-get").arg("update"))?;
            shell.run(
                "apt-get install chromium",
                shell
                    .cmd("apt-get")
                    .args(["install", "-y", "chromium", "chromium-driver"])
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )
        },
    )?;
    find(shell).map_err(|problem| anyhow::anyhow!("after apt-get install: {problem}; {APT_HINT}"))
}

/// Both programs, at matching major versions, or a sentence saying what is wrong.
fn find(shell: &Shell) -> Result<Browser, String> {
    let chromium = locate(shell, "chromium").ok_or("Chromium is not installed")?;
    let chromedriver = locate(shell, "chromedriver").ok_or("chromedriver is not installed")?;
    let browser_version = version(shell, &chromium)
        .ok_or_else(|| format!("`{} --version` does not run", chromium.display()))?;
    let driver_version = version(shell, &chromedriver)
        .ok_or_else(|| format!("`{} --version` does not run", chromedriver.display()))?;
    if major(&browser_version) != major(&driver_version) {
        return Err(format!(
            "Chromium {browser_version} and chromedriver {driver_version} differ in major \
             version; chromedriver only drives its own version"
        ));
    }
    Ok(Browser {
        chromium,
        chromedriver,
    })
}

/// Debian's paths first (the packages the CI installs), then anything on PATH.
fn locate(shell: &Shell, program: &str) -> Option<PathBuf> {
    let debian = PathBuf::from("/usr/bin").join(program);
    if debian.is_file() {
        return Some(debian);
    }
    shell.which(program)
}

fn version(shell: &Shell, program: &std::path::Path) -> Option<String> {
    // Debian's chromium wrapper script prints shell noise on stderr; the version is on stdout.
    let output = shell.probe(shell.cmd(program).arg("--version"))?;
    reported_version(&output).map(str::to_owned)
}

fn describe(shell: &Shell, browser: &Browser) -> String {
    let version = version(shell, &browser.chromium).unwrap_or_default();
    format!("Chromium {version} at {}", browser.chromium.display())
}

/// apt is allowed when it exists and we are root: then the install is what CI expects.
pub(crate) fn can_use_apt(shell: &Shell) -> bool {
    shell.which("apt-get").is_some() && is_root(shell)
}

/// Root, asked of `id -u` rather than libc, so xtask needs no unsafe code.
fn is_root(shell: &Shell) -> bool {
    shell
        .probe(shell.cmd("id").arg("-u"))
        .is_some_and(|uid| uid.trim() == "0")
}

fn hint(shell: &Shell) -> String {
    if shell.which("apt-get").is_some() {
        APT_HINT.to_owned()
    } else {
        "install Chromium and the chromedriver of the same version with your system's \
         package manager (Debian/Ubuntu: sudo apt-get install chromium chromium-driver)"
            .to_owned()
    }
}
