//! The page build, xtask's own route: what index.html's `data-trunk` tags ask for (`plan`, the
//! one definition trunk reads too), made without trunk: cargo builds the wasm exactly as trunk
//! has it built, wasm-bindgen runs as a library inside xtask (`bindgen`), wasm-opt 132 from
//! `tools` optimises, and `dist/` gets trunk's file names, copies and index.html (`digest`,
//! `html`). A fresh machine so skips compiling trunk and wasm-bindgen-cli (about 11 minutes on
//! 2 cores). `compare` is the check that trunk's `trunk build --release` writes the same `dist/`.

mod bindgen;
pub(crate) mod compare;
mod digest;
mod html;
mod plan;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, Result, bail};

use crate::shell::{self, Shell};
use crate::summary::Summary;
use crate::tools::WASM_OPT_VERSION;
use plan::{AssetKind, Plan, RustApp};

const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Builds the page into `<root>/dist` and returns that directory, which the relay serves.
pub(crate) fn build(shell: &Shell, summary: &mut Summary) -> Result<PathBuf> {
    let root = shell.root();
    let index = read_text(&root.join("index.html"))?;
    let plan = plan::read(&index).context("reading index.html's data-trunk tags")?;
    let app = plan.rust_app()?;
    let bindgen_version = bindgen::check_versions(&read_text(&root.join("Cargo.lock"))?)?;
    let work = target_dir(shell)?.join("xtask-page");

    let cargo_wasm = summary.step(
        &format!(
            "building the page's wasm (cargo build --target {WASM_TARGET} --profile {})",
            app.profile
        ),
        Some("about 2 minutes on 2 cores the first time, beside the relay's build; seconds after"),
        || cargo_build(shell, app),
    )?;
    let bindgen_dir = work.join("wasm-bindgen");
    summary.step(
        &format!("wasm-bindgen {bindgen_version} (the library, inside xtask)"),
        Some("a few seconds"),
        || {
            fresh_dir(&bindgen_dir)?;
            bindgen::generate(&cargo_wasm, &app.bin, &bindgen_dir)
        },
    )?;

    let dist = root.join("dist");
    let stage = dist.join(".stage");
    fresh_dir(&stage)?;
    let base = digest::hashed_app_base(&app.bin, open(&cargo_wasm)?)?;
    let js = format!("{base}.js");
    let wasm = format!("{base}_bg.wasm");
    copy(
        &bindgen_dir.join(format!("{}.js", app.bin)),
        &stage.join(&js),
    )?;
    if bindgen_dir.join("snippets").exists() {
        bail!(
            "wasm-bindgen wrote snippets/ (a crate's inline JS); xtask's page build does not copy \
             them yet: teach xtask/src/frontend.rs to, as trunk does (modulepreload each)"
        );
    }
    let bindgen_wasm = bindgen_dir.join(format!("{}_bg.wasm", app.bin));
    match &app.wasm_opt {
        Some(level) => {
            let optimised = wasm_opt(shell, summary, &bindgen_wasm, level, &work)?;
            copy(&optimised, &stage.join(&wasm))?;
        }
        None => copy(&bindgen_wasm, &stage.join(&wasm))?,
    }

    summary.step(
        "writing dist/ (hashed names, copies, index.html)",
        None,
        || {
            let mut edits: Vec<(Range<usize>, String)> = Vec::new();
            for asset in &plan.assets {
                let text = match &asset.kind {
                    AssetKind::Css { href } => {
                        let source = root.join(href);
                        let bytes = std::fs::read(&source)
                            .with_context(|| format!("cannot read {}", source.display()))?;
                        let (stem, ext) = stem_and_ext(&source)?;
                        let name = digest::hashed_asset_name(stem, ext, &bytes);
                        write(&stage.join(&name), &bytes)?;
                        html::css_link(&name, &digest::integrity(&bytes))
                    }
                    AssetKind::CopyDir { href } => {
                        let source = root.join(href).canonicalize().with_context(|| {
                            format!("copy-dir: cannot find {}", root.join(href).display())
                        })?;
                        let name = source
                            .file_name()
                            .with_context(|| format!("copy-dir: {} has no name", href))?;
                        copy_dir(&source, &stage.join(name))?;
                        String::new()
                    }
                    AssetKind::Rust(_) => html::loader_script(&js, &wasm),
                };
                edits.push((asset.span.clone(), text));
            }
            let preloads = html::preloads(
                &js,
                &digest::integrity(&read_bytes(&stage.join(&js))?),
                &wasm,
                &digest::integrity(&read_bytes(&stage.join(&wasm))?),
            );
            edits.push((plan.head_end..plan.head_end, preloads));
            write(
                &stage.join("index.html"),
                html::splice(&index, edits)?.as_bytes(),
            )?;
            replace_with_stage(&dist, &stage)
        },
    )?;
    check_written(&dist, &plan)?;
    Ok(dist)
}

/// `wasm-opt --output=OUT -O<level> IN`, as trunk runs it, into a cache keyed by the input's
/// hash, the level and binaryen's version: a `serve` with an unchanged wasm skips the tool's
/// 20 seconds (the output is deterministic, so the cached file is the file it would write).
fn wasm_opt(
    shell: &Shell,
    summary: &mut Summary,
    input: &Path,
    level: &str,
    work: &Path,
) -> Result<PathBuf> {
    let title = format!("wasm-opt -O{level} (binaryen {WASM_OPT_VERSION})");
    let key = digest::stream_hash(open(input)?)?;
    let cache = work.join("wasm-opt");
    let optimised = cache.join(format!("{key:x}-O{level}-binaryen{WASM_OPT_VERSION}.wasm"));
    if optimised.is_file() {
        summary.already_there(&title, "the same wasm was optimised before".to_owned());
        return Ok(optimised);
    }
    summary.step(&title, Some("about 20 seconds"), || {
        // Only the latest output is kept; a partial one never gets the final name.
        fresh_dir(&cache)?;
        let partial = cache.join("partial.wasm");
        shell.run(
            "wasm-opt",
            shell
                .cmd("wasm-opt")
                .arg(format!("--output={}", partial.display()))
                .arg(format!("-O{level}"))
                .arg(input),
        )?;
        std::fs::rename(&partial, &optimised)
            .with_context(|| format!("cannot move {} into place", optimised.display()))
    })?;
    Ok(optimised)
}

/// `cargo build` of the app as trunk runs it (same manifest, binary, target and profile, so
/// the same wasm, which names the files), streaming cargo's progress; returns the wasm's path.
fn cargo_build(shell: &Shell, app: &RustApp) -> Result<PathBuf> {
    let mut cmd = shell.cmd("cargo");
    cmd.args(["build", "--target", WASM_TARGET, "--manifest-path"])
        .arg(&app.manifest)
        .args(["--bin", &app.bin, "--profile", &app.profile])
        // Diagnostics and progress as usual on stderr; the JSON on stdout names the artifact.
        .arg("--message-format=json-render-diagnostics")
        .stdout(Stdio::piped());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start `{}`", shell::display(&cmd)))?;
    let stdout = child
        .stdout
        .take()
        .context("cargo's stdout was not piped")?;
    let mut wasm = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo's JSON messages")?;
        if let Some(path) = wasm_artifact(&line, &app.bin) {
            wasm = Some(path);
        }
    }
    let status = child.wait().context("waiting for cargo build")?;
    if !status.success() {
        bail!(
            "step `cargo build` of the page failed ({status}); its output is above.\n  command: {}",
            shell::display(&cmd)
        );
    }
    wasm.with_context(|| format!("cargo built no .wasm for the binary `{}`", app.bin))
}

/// The `.wasm` file of a `compiler-artifact` message for binary `bin`, if this line is one.
fn wasm_artifact(line: &str, bin: &str) -> Option<PathBuf> {
    artifact(line, bin)?["filenames"]
        .as_array()?
        .iter()
        .filter_map(|file| file.as_str())
        .find(|file| Path::new(file).extension() == Some(OsStr::new("wasm")))
        .map(PathBuf::from)
}

/// One line of cargo's JSON messages, if it reports the built artifact of target `name`.
pub(crate) fn artifact(line: &str, name: &str) -> Option<serde_json::Value> {
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    (message["reason"] == "compiler-artifact" && message["target"]["name"] == name)
        .then_some(message)
}

/// cargo's target directory, as cargo itself decides it (CARGO_TARGET_DIR, config, `target/`).
pub(crate) fn target_dir(shell: &Shell) -> Result<PathBuf> {
    let out = shell
        .probe(
            shell
                .cmd("cargo")
                .args(["metadata", "--format-version", "1", "--no-deps"]),
        )
        .context("`cargo metadata` failed; run it by hand to see why")?;
    let metadata: serde_json::Value =
        serde_json::from_str(&out).context("`cargo metadata` printed something not JSON")?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("`cargo metadata` names no target_directory")
}

/// trunk's last step: everything in `dist` but the stage goes, the stage's entries move up.
fn replace_with_stage(dist: &Path, stage: &Path) -> Result<()> {
    for entry in read_dir(dist)? {
        let path = entry.path();
        if path == stage {
            continue;
        }
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        }
        .with_context(|| format!("cannot remove {}", path.display()))?;
    }
    for entry in read_dir(stage)? {
        let to = dist.join(entry.file_name());
        std::fs::rename(entry.path(), &to)
            .with_context(|| format!("cannot move {} into place", to.display()))?;
    }
    std::fs::remove_dir(stage).with_context(|| format!("cannot remove {}", stage.display()))
}

/// A last look: index.html names files that are there, and every copied folder arrived.
fn check_written(dist: &Path, plan: &Plan) -> Result<()> {
    if !dist.join("index.html").is_file() {
        bail!(
            "the page build wrote no {}",
            dist.join("index.html").display()
        );
    }
    for asset in &plan.assets {
        if let AssetKind::CopyDir { href } = &asset.kind {
            let name = Path::new(href).file_name().unwrap_or_default();
            if !dist.join(name).is_dir() {
                bail!("the page build did not copy {href} into {}", dist.display());
            }
        }
    }
    Ok(())
}

fn stem_and_ext(path: &Path) -> Result<(&str, &str)> {
    let stem = path.file_stem().and_then(OsStr::to_str);
    let ext = path.extension().and_then(OsStr::to_str);
    stem.zip(ext).with_context(|| {
        format!(
            "{}: a CSS file needs a name and an extension",
            path.display()
        )
    })
}

/// Copies a folder as trunk's `copy_dir_recursive` does: folders recursively, all else copied.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in read_dir(from)? {
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            copy(&entry.path(), &target)?;
        }
    }
    Ok(())
}

fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot empty {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

fn read_dir(dir: &Path) -> Result<Vec<std::fs::DirEntry>> {
    std::fs::read_dir(dir)
        .and_then(Iterator::collect)
        .with_context(|| format!("cannot list {}", dir.display()))
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn open(path: &Path) -> Result<std::fs::File> {
    std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .map(drop)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_wasm_of_the_named_binary_in_cargos_messages() {
        let line = r#"{"reason":"compiler-artifact","target":{"name":"app","kind":["bin"]},"filenames":["/t/wasm32-unknown-unknown/wasm-release/app.wasm"]}"#;
        assert_eq!(
            wasm_artifact(line, "app"),
            Some(PathBuf::from(
                "/t/wasm32-unknown-unknown/wasm-release/app.wasm"
            ))
        );
        assert_eq!(wasm_artifact(line, "other"), None);
        let lib = r#"{"reason":"compiler-artifact","target":{"name":"app"},"filenames":["/t/libapp.rlib"]}"#;
        assert_eq!(wasm_artifact(lib, "app"), None);
        assert_eq!(wasm_artifact("not json", "app"), None);
        assert_eq!(
            wasm_artifact(r#"{"reason":"build-finished","success":true}"#, "app"),
            None
        );
    }
}
