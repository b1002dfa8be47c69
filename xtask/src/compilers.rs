//! What the program checks need (issue 13: each program written from a recorded session is
//! compiled and run): a C compiler (`cc`, with POSIX threads) and Python 3. Rust is this
//! toolchain. Where the machine allows it (Debian/Ubuntu, as root, as in CI) a missing one comes
//! from apt (gcc, python3); anywhere else xtask stops and says what to install.

use anyhow::{Result, bail};

use crate::browser::can_use_apt;
use crate::shell::Shell;
use crate::summary::Summary;

/// The programs, and the Debian package each comes in.
const NEEDED: [(&str, &str); 2] = [("cc", "gcc"), ("python3", "python3")];

/// Finds `cc` and `python3`, installing the missing ones with apt when allowed to.
pub(crate) fn prepare(shell: &Shell, summary: &mut Summary) -> Result<()> {
    let missing: Vec<(&str, &str)> = NEEDED
        .into_iter()
        .filter(|(program, _)| shell.which(program).is_none())
        .collect();
    if missing.is_empty() {
        summary.already_there(
            "cc and python3 (the program checks)",
            "both on PATH".to_owned(),
        );
        return Ok(());
    }
    let packages: Vec<&str> = missing.iter().map(|(_, package)| *package).collect();
    let names: Vec<&str> = missing.iter().map(|(program, _)| *program).collect();
    if !can_use_apt(shell) {
        bail!(
            "{} not found: the program checks compile and run C and Python; install them (Debian/Ubuntu: sudo apt-get install {})",
            names.join(" and "),
            packages.join(" ")
        );
    }
    summary.step(
        &format!("installing {} with apt", packages.join(" ")),
        Some("once only"),
        || {
            shell.run("apt-get update", shell.cmd("apt-get").arg("update"))?;
            shell.run(
                "apt-get install",
                shell
                    .cmd("apt-get")
                    .args(["install", "-y"])
                    .args(&packages)
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )
        },
    )?;
    if let Some((program, _)) = NEEDED.iter().find(|(p, _)| shell.which(p).is_none()) {
        bail!("{program} is still not on PATH after apt-get install");
    }
    Ok(())
}
