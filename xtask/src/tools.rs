//! The build toolchain, found or installed at exact versions. xtask's own page build needs only
//! the wasm32 target (rustup) and wasm-opt 132 from npm's `binaryen@132` in
//! `$XDG_CACHE_HOME/socketlab/binaryen-132` (else `~/.cache/socketlab/...`) (`for_the_page`).
//! trunk's route, the dev loop and `test`'s comparison of the two, needs besides trunk 0.21.14
//! (`cargo install --locked`) and wasm-bindgen-cli at the Cargo.lock version of `wasm-bindgen`
//! (`cargo install --locked --version =X`; the workspace pins 0.2.129 because 0.2.130's own lock
//! names a webpki-roots the registries here lack) (`for_trunk`). Also rustfmt and clippy for
//! `test` (`lint_components`), and cargo-fuzz 0.13.2 for its fuzz step (`cargo_fuzz`). Every
//! install is skipped when the right version is already there. The facts behind each choice (why
//! these versions, why npm) are in the comments on each constant and step.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::shell::{Shell, home_dir};
use crate::summary::Summary;
use crate::versions::{locked_version, reported_version};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// trunk 0.22 needs a newer rustc than these machines have; Trunk.toml assumes 0.21's format.
const TRUNK_VERSION: &str = "0.21.14";
/// Older wasm-opt (Debian's 108) rejects what rustc 1.95 emits; Trunk.toml pins `version_132`.
pub(crate) const WASM_OPT_VERSION: &str = "132";
/// cargo-fuzz for the decoder's fuzz target (fuzz/); `cargo fuzz --version` reports it.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Makes every build tool present at its pinned version, and puts wasm-opt first on `shell`'s PATH:
/// what xtask's own page build needs, then what trunk needs besides (`setup` and `test`).
pub(crate) fn set_up(shell: &mut Shell, summary: &mut Summary) -> Result<()> {
    for_the_page(shell, summary)?;
    for_trunk(shell, summary)
}

/// What xtask's own page build needs (`serve`, `build`, `bench`): the wasm32 target and
/// wasm-opt 132, put first on `shell`'s PATH. wasm-bindgen is a library inside xtask.
pub(crate) fn for_the_page(shell: &mut Shell, summary: &mut Summary) -> Result<()> {
    wasm_target(shell, summary)?;
    wasm_opt(shell, summary)
}

/// What trunk needs besides, for the dev loop (`trunk serve`) and for `test`'s comparison of
/// the two routes: trunk itself and the wasm-bindgen CLI it runs.
pub(crate) fn for_trunk(shell: &Shell, summary: &mut Summary) -> Result<()> {
    trunk(shell, summary)?;
    wasm_bindgen(shell, summary)
}

/// Makes rustfmt and clippy present, which `cargo xtask test` runs. rustup's default profile
/// has both; a minimal profile (common on CI images) does not.
pub(crate) fn lint_components(shell: &Shell, summary: &mut Summary) -> Result<()> {
    let has = |tool: &str| {
        shell
            .probe(shell.cmd("cargo").args([tool, "--version"]))
            .is_some()
    };
    if has("fmt") && has("clippy") {
        summary.already_there("rustfmt and clippy", "installed".to_owned());
        return Ok(());
    }
    summary.step("adding rustfmt and clippy", Some("once only"), || {
        shell.run(
            "rustup component add",
            shell
                .cmd("rustup")
                .args(["component", "add", "rustfmt", "clippy"]),
        )
    })
}

/// Makes cargo-fuzz present at its pinned version (`cargo install --locked`, skipped when that
/// version is there). It builds with the stable toolchain; running it needs nightly features,
/// which `fuzz::run` unlocks with RUSTC_BOOTSTRAP=1.
pub(crate) fn cargo_fuzz(shell: &Shell, summary: &mut Summary) -> Result<()> {
    let title = format!("cargo-fuzz {CARGO_FUZZ_VERSION}");
    let found = shell
        .probe(shell.cmd("cargo").args(["fuzz", "--version"]))
        .and_then(|out| reported_version(&out).map(str::to_owned));
    if let Some(found) = found {
        if found == CARGO_FUZZ_VERSION {
            summary.already_there(&title, "installed".to_owned());
            return Ok(());
        }
        println!(
            "    cargo-fuzz {found} is installed; socketlab needs exactly {CARGO_FUZZ_VERSION}"
        );
    }
    summary.step(
        &format!("installing {title}"),
        Some("about 2 minutes on 2 cores; once only"),
        || {
            shell.run(
                "cargo install cargo-fuzz",
                shell.cmd("cargo").args([
                    "install",
                    "--locked",
                    "cargo-fuzz",
                    "--version",
                    &format!("={CARGO_FUZZ_VERSION}"),
                ]),
            )
        },
    )?;
    match shell
        .probe(shell.cmd("cargo").args(["fuzz", "--version"]))
        .as_deref()
        .and_then(reported_version)
    {
        Some(CARGO_FUZZ_VERSION) => Ok(()),
        other => bail!(
            "installed cargo-fuzz {CARGO_FUZZ_VERSION}, but `cargo fuzz --version` reports {other:?}"
        ),
    }
}

fn wasm_target(shell: &Shell, summary: &mut Summary) -> Result<()> {
    rust_target(shell, summary, WASM_TARGET, "the frontend")
}

/// The relay's other platforms, checked (clippy) but not built or run here: their standard
/// libraries are enough for that, and no linker or SDK of theirs is needed (toolchain.md).
pub(crate) const OTHER_PLATFORMS: [&str; 4] = [
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-gnu",
    "x86_64-pc-windows-msvc",
];

/// Makes the standard libraries of [`OTHER_PLATFORMS`] present, for `test`'s clippy of the
/// relay on them.
pub(crate) fn other_platforms(shell: &Shell, summary: &mut Summary) -> Result<()> {
    for target in OTHER_PLATFORMS {
        rust_target(
            shell,
            summary,
            target,
            "the relay's check on other platforms",
        )?;
    }
    Ok(())
}

/// Makes rustup's standard library for `target` present (`rustup target add`, once).
fn rust_target(shell: &Shell, summary: &mut Summary, target: &str, for_what: &str) -> Result<()> {
    let title = format!("{target} target");
    let Some(installed) = shell.probe(shell.cmd("rustup").args(["target", "list", "--installed"]))
    else {
        bail!(
            "cannot list installed targets with rustup; {for_what} needs the {target} target: \
             install rustup (https://rustup.rs), then `rustup target add {target}`"
        );
    };
    if installed.lines().any(|line| line.trim() == target) {
        summary.already_there(&title, "installed".to_owned());
        return Ok(());
    }
    summary.step(
        &format!("adding the {title}"),
        Some("under a minute; once only"),
        || {
            shell.run(
                "rustup target add",
                shell.cmd("rustup").args(["target", "add", target]),
            )
        },
    )
}

fn trunk(shell: &Shell, summary: &mut Summary) -> Result<()> {
    let title = format!("trunk {TRUNK_VERSION}");
    if let Some(found) = version_of(shell, "trunk") {
        if found == TRUNK_VERSION {
            summary.already_there(&title, "installed".to_owned());
            return Ok(());
        }
        println!("    trunk {found} is installed; socketlab needs exactly {TRUNK_VERSION}");
    }
    summary.step(
        &format!("installing {title}"),
        Some("about 9 minutes on 2 cores; once only"),
        || {
            shell.run(
                "cargo install trunk",
                shell.cmd("cargo").args([
                    "install",
                    "--locked",
                    "trunk",
                    "--version",
                    TRUNK_VERSION,
                ]),
            )
        },
    )?;
    expect_version(shell, "trunk", TRUNK_VERSION)
}

fn wasm_bindgen(shell: &Shell, summary: &mut Summary) -> Result<()> {
    let lock_path = shell.root().join("Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path)
        .with_context(|| format!("cannot read {}", lock_path.display()))?;
    // The CLI must match the crate byte for byte in its generated glue, so its version comes
    // from the lock file, never from a constant here.
    let wanted = locked_version(&lock, "wasm-bindgen")?;
    let title = format!("wasm-bindgen-cli {wanted}");
    if let Some(found) = version_of(shell, "wasm-bindgen") {
        if found == wanted {
            summary.already_there(&title, "installed (matches Cargo.lock)".to_owned());
            return Ok(());
        }
        println!("    wasm-bindgen {found} is installed; Cargo.lock needs exactly {wanted}");
    }
    summary.step(
        &format!("installing {title}"),
        Some("about 3 minutes on 2 cores; once per wasm-bindgen version"),
        || {
            // `--locked`: the CLI is built from exactly the dependencies its authors tested.
            // (Which is why the workspace pins 0.2.129: 0.2.130's lock names webpki-roots
            // 1.0.11, which the registries these machines reach do not have.)
            shell.run(
                "cargo install --locked wasm-bindgen-cli",
                shell.cmd("cargo").args([
                    "install",
                    "--locked",
                    "wasm-bindgen-cli",
                    "--version",
                    &format!("={wanted}"),
                ]),
            )
        },
    )?;
    expect_version(shell, "wasm-bindgen", &wanted)
}

fn wasm_opt(shell: &mut Shell, summary: &mut Summary) -> Result<()> {
    let title = format!("wasm-opt {WASM_OPT_VERSION}");
    let prefix = binaryen_dir()?;
    let bin = prefix.join("node_modules").join(".bin");
    let cached = bin.join("wasm-opt");
    if cached.is_file() && probe_version(shell, &cached) {
        shell.prepend_path(&bin)?;
        summary.already_there(&title, format!("in {}", bin.display()));
        return Ok(());
    }
    // A wasm-opt already on PATH is fine only at exactly this version (Debian's is too old).
    if let Some(found) = version_of(shell, "wasm-opt") {
        if found == WASM_OPT_VERSION {
            summary.already_there(&title, "on PATH".to_owned());
            return Ok(());
        }
        println!("    wasm-opt {found} on PATH is not {WASM_OPT_VERSION}; using npm's binaryen");
    }
    if shell.which("npm").is_none() {
        bail!(
            "wasm-opt {WASM_OPT_VERSION} comes from the npm package binaryen@{WASM_OPT_VERSION}, \
             and npm is not on PATH: install Node.js and npm (Debian/Ubuntu: \
             `sudo apt-get install nodejs npm`), then run this again"
        );
    }
    summary.step(
        &format!("installing {title} from npm's binaryen@{WASM_OPT_VERSION}"),
        Some("a 23 MB download, seconds on a fast network; once only"),
        || {
            std::fs::create_dir_all(&prefix)
                .with_context(|| format!("cannot create {}", prefix.display()))?;
            shell.run(
                "npm install binaryen",
                shell
                    .cmd("npm")
                    // No install scripts: binaryen ships wasm-opt as JavaScript and needs
                    // none, and a dependency's script is code we never read.
                    .args([
                        "install",
                        "--no-audit",
                        "--no-fund",
                        "--ignore-scripts",
                        "--prefix",
                    ])
                    .arg(&prefix)
                    .arg(format!("binaryen@{WASM_OPT_VERSION}")),
            )
        },
    )?;
    if !probe_version(shell, &cached) {
        bail!(
            "npm installed binaryen, but {} does not report version {WASM_OPT_VERSION}",
            cached.display()
        );
    }
    shell.prepend_path(&bin)
}

/// `$XDG_CACHE_HOME/socketlab/binaryen-132`, else `~/.cache/socketlab/binaryen-132`: a cache
/// outside the repo, so a fresh clone or `cargo clean` does not pay for it again.
fn binaryen_dir() -> Result<PathBuf> {
    let cache = match std::env::var_os("XDG_CACHE_HOME").filter(|c| !c.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => home_dir()?.join(".cache"),
    };
    Ok(cache
        .join("socketlab")
        .join(format!("binaryen-{WASM_OPT_VERSION}")))
}

/// The version `program --version` reports, or `None` if it is missing or says nothing usable.
fn version_of(shell: &Shell, program: &str) -> Option<String> {
    let output = shell.probe(shell.cmd(program).arg("--version"))?;
    reported_version(&output).map(str::to_owned)
}

fn probe_version(shell: &Shell, wasm_opt: &std::path::Path) -> bool {
    shell
        .probe(shell.cmd(wasm_opt).arg("--version"))
        .is_some_and(|out| reported_version(&out) == Some(WASM_OPT_VERSION))
}

/// After an install, the program found on PATH must be the one just installed.
fn expect_version(shell: &Shell, program: &str, wanted: &str) -> Result<()> {
    match version_of(shell, program) {
        Some(found) if found == wanted => Ok(()),
        Some(found) => bail!(
            "installed {program} {wanted}, but the `{program}` first on PATH reports {found}; \
             remove the other one or put cargo's bin dir first on PATH"
        ),
        None => bail!("installed {program} {wanted}, but `{program} --version` does not run"),
    }
}
