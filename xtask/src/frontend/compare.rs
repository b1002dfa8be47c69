//! The check that the two routes to `dist/` have not drifted (a step of `cargo xtask test`):
//! `trunk build --release` writes its `dist/` into `<target>/xtask-page/trunk-dist`, and it must
//! equal xtask's `dist/` file for file and byte for byte, names included. The hashed names are
//! equal, not merely alike: both routes build the same wasm (same cargo target directory,
//! manifest, binary, target and profile, so cargo does not even rebuild it for trunk), the names
//! hash that wasm and the CSS, and wasm-bindgen 0.2.129 and wasm-opt 132 are deterministic. A
//! difference in a name therefore means the routes built different things. Then node
//! instantiates each `dist/`'s wasm with its own JS glue: every import the wasm asks for is one
//! the glue provides, and the app's entry point is exported.
//!
//! trunk, wasm-bindgen-cli and node are prerequisites; a missing one fails saying what to install.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::shell::Shell;
use crate::summary::Summary;

/// Builds trunk's `dist/` and compares it with `dist` (xtask's), then instantiates both wasms.
pub(crate) fn run(shell: &Shell, summary: &mut Summary, dist: &Path) -> Result<()> {
    for (program, install) in [
        (
            "trunk",
            "cargo xtask setup (it installs trunk 0.21.14 and wasm-bindgen-cli)",
        ),
        ("wasm-bindgen", "cargo xtask setup"),
        (
            "node",
            "Node.js (Debian/Ubuntu: sudo apt-get install nodejs npm)",
        ),
    ] {
        if shell.probe(shell.cmd(program).arg("--version")).is_none() {
            bail!(
                "comparing trunk's dist/ with xtask's needs `{program}`, which does not run: \
                 install it with {install}"
            );
        }
    }
    let work = super::target_dir(shell)?.join("xtask-page");
    let trunk_dist = work.join("trunk-dist");
    summary.step(
        "trunk build --release into target/xtask-page/trunk-dist",
        Some("about 30 seconds: the wasm is already built, wasm-opt runs again"),
        || {
            shell.run(
                "trunk build --release",
                shell
                    .cmd("trunk")
                    .args(["build", "--release", "--dist"])
                    .arg(&trunk_dist),
            )
        },
    )?;
    summary.step("trunk's dist/ and xtask's are the same files", None, || {
        let found = differences(&tree(&trunk_dist)?, &tree(dist)?);
        if !found.is_empty() {
            bail!(
                "trunk's {} and xtask's {} differ: the routes have drifted (xtask's is \
                 xtask/src/frontend.rs, driven by index.html's data-trunk tags):\n  {}",
                trunk_dist.display(),
                dist.display(),
                found.join("\n  ")
            );
        }
        Ok(())
    })?;
    let script = work.join("instantiate.mjs");
    std::fs::write(&script, INSTANTIATE)
        .with_context(|| format!("cannot write {}", script.display()))?;
    summary.step(
        "each dist/'s wasm instantiates with its glue (node)",
        None,
        || {
            for dir in [dist, trunk_dist.as_path()] {
                let (js, wasm) = app_files(dir)?;
                shell.run(
                    "instantiate the wasm",
                    shell.cmd("node").arg(&script).arg(js).arg(wasm),
                )?;
            }
            Ok(())
        },
    )
}

/// A folder's files: path relative to it -> bytes.
type Tree = BTreeMap<PathBuf, Vec<u8>>;

fn tree(dir: &Path) -> Result<Tree> {
    fn walk(root: &Path, dir: &Path, files: &mut Tree) -> Result<()> {
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                walk(root, &path, files)?;
            } else {
                let bytes = std::fs::read(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                files.insert(relative, bytes);
            }
        }
        Ok(())
    }
    let mut files = Tree::new();
    walk(dir, dir, &mut files)?;
    Ok(files)
}

/// Every way `theirs` (trunk's) and `ours` (xtask's) differ, one sentence each; empty if none.
fn differences(theirs: &Tree, ours: &Tree) -> Vec<String> {
    let mut found = Vec::new();
    for (path, bytes) in theirs {
        match ours.get(path) {
            None => found.push(format!("{} is only in trunk's", path.display())),
            Some(mine) if mine != bytes => found.push(describe(path, bytes, mine)),
            Some(_) => {}
        }
    }
    for path in ours.keys().filter(|path| !theirs.contains_key(*path)) {
        found.push(format!("{} is only in xtask's", path.display()));
    }
    if found.iter().any(|f| f.contains("is only in")) {
        found.push(
            "(a hashed name that differs means the two routes built different bytes: a cargo \
             flag or profile, or the CSS)"
                .to_owned(),
        );
    }
    found
}

fn describe(path: &Path, theirs: &[u8], ours: &[u8]) -> String {
    let (Ok(theirs), Ok(ours)) = (std::str::from_utf8(theirs), std::str::from_utf8(ours)) else {
        return format!(
            "{} differs ({} bytes in trunk's, {} in xtask's)",
            path.display(),
            theirs.len(),
            ours.len()
        );
    };
    let line = theirs
        .lines()
        .zip(ours.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| theirs.lines().count().min(ours.lines().count()));
    format!(
        "{} differs from line {}: trunk's {:?}, xtask's {:?}",
        path.display(),
        line + 1,
        theirs.lines().nth(line).unwrap_or("(end of file)"),
        ours.lines().nth(line).unwrap_or("(end of file)"),
    )
}

/// The app's glue and wasm in a `dist/`: the one `*_bg.wasm` and the `.js` of the same base.
fn app_files(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let mut wasms = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.to_string_lossy().ends_with("_bg.wasm"));
    let wasm = wasms
        .next()
        .with_context(|| format!("{} holds no *_bg.wasm", dir.display()))?;
    if wasms.next().is_some() {
        bail!("{} holds more than one *_bg.wasm", dir.display());
    }
    let name = wasm.to_string_lossy();
    let js = PathBuf::from(format!("{}.js", name.trim_end_matches("_bg.wasm")));
    if !js.is_file() {
        bail!("{} has no glue {}", wasm.display(), js.display());
    }
    Ok((js, wasm))
}

/// Instantiates the wasm with the glue's own imports, the way the page does (`init`), and stops
/// right after: the app's `main` needs a browser's `window`, which node has not. A `LinkError`
/// (an import the glue does not provide) or a `CompileError` fails; so does a missing entry point.
const INSTANTIATE: &str = r#"// Written by cargo xtask test (xtask/src/frontend/compare.rs).
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

const [glue, wasmPath] = process.argv.slice(2);
const bytes = await readFile(wasmPath);
class Instantiated extends Error {}
const instantiate = WebAssembly.instantiate;
let exports = null;
WebAssembly.instantiate = async (source, imports) => {
  const result = await instantiate.call(WebAssembly, source, imports);
  // node instantiates wasm of its own too (undici's HTTP parser, when the glue looks at Response).
  if (source !== bytes) return result;
  exports = WebAssembly.Module.exports(result.module).map((e) => e.name);
  throw new Instantiated();
};
const { default: init } = await import(pathToFileURL(glue).href);
try {
  await init({ module_or_path: bytes });
} catch (error) {
  if (!(error instanceof Instantiated)) throw error;
}
if (exports === null) throw new Error(`${glue} never instantiated ${wasmPath}`);
for (const needed of ['memory', '__wbindgen_start']) {
  if (!exports.includes(needed)) throw new Error(`${wasmPath} exports no ${needed}`);
}
console.log(`    ${wasmPath}: instantiated with its glue (${exports.length} exports)`);
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn dist() -> Tree {
        [
            ("index.html", "<head>\n<link a>\n</head>\n"),
            ("app-1.js", "glue"),
            ("app-1_bg.wasm", "wasm"),
            ("lessons/01.md", "# One"),
        ]
        .into_iter()
        .map(|(p, b)| (PathBuf::from(p), b.as_bytes().to_vec()))
        .collect()
    }

    #[test]
    fn equal_trees_have_no_differences() {
        assert!(differences(&dist(), &dist()).is_empty());
    }

    #[test]
    fn a_changed_lesson_is_a_difference() {
        let mut ours = dist();
        ours.insert("lessons/01.md".into(), b"# Uno".to_vec());
        let found = differences(&dist(), &ours);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("lessons/01.md differs from line 1"),
            "{found:?}"
        );
    }

    #[test]
    fn a_renamed_file_is_reported_from_both_sides() {
        let mut ours = dist();
        let wasm = ours.remove(Path::new("app-1_bg.wasm")).unwrap();
        ours.insert("app-2_bg.wasm".into(), wasm);
        let found = differences(&dist(), &ours).join("\n");
        assert!(
            found.contains("app-1_bg.wasm is only in trunk's"),
            "{found}"
        );
        assert!(
            found.contains("app-2_bg.wasm is only in xtask's"),
            "{found}"
        );
        assert!(found.contains("different bytes"), "{found}");
    }

    #[test]
    fn an_index_html_difference_names_the_line() {
        let mut ours = dist();
        ours.insert("index.html".into(), b"<head>\n<link b>\n</head>\n".to_vec());
        let found = differences(&dist(), &ours);
        assert_eq!(
            found,
            ["index.html differs from line 2: trunk's \"<link a>\", xtask's \"<link b>\""]
        );
    }

    #[test]
    fn a_binary_difference_gives_the_sizes() {
        let mut ours = dist();
        ours.insert("app-1_bg.wasm".into(), vec![0, 159, 146, 150]);
        let found = differences(&dist(), &ours);
        assert_eq!(
            found,
            ["app-1_bg.wasm differs (4 bytes in trunk's, 4 in xtask's)"]
        );
    }
}
