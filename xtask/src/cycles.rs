//! Import circles between the top-level modules of a crate: `cargo xtask cycles <crate>/src`
//! prints which top-level module names which, and fails on a circle.
//!
//! A top-level module is a file `src/X.rs` or a folder `src/X/` (every file below it, and any
//! file a `#[path]` attribute puts inside it, counts as X). An arrow X -> Y is any `crate::Y`
//! in X's files, in `use` lines or paths, grouped ones (`crate::{Y::a, Z}`) included; comments
//! are skipped. The crate root (`lib.rs`, else `main.rs`) declares every module, so a module
//! that names an item of the root (`crate::Relay`) closes a circle with it. Deliberately
//! simple (no macro expansion, no `super::` chains): it reads what a reader sees.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The name the crate root has in the graph.
pub(crate) const ROOT: &str = "(crate root)";

/// Which top-level module names which others, for the crate whose sources are in `src`.
pub(crate) type Graph = BTreeMap<String, BTreeSet<String>>;

/// Reads every `.rs` file under `src` and returns the arrows between top-level modules.
pub(crate) fn graph(src: &Path) -> Result<Graph> {
    let root_file = ["lib.rs", "main.rs"]
        .iter()
        .map(|name| src.join(name))
        .find(|path| path.is_file())
        .with_context(|| format!("no lib.rs or main.rs in {}", src.display()))?;
    let mut files = Vec::new();
    collect(src, &mut files)?;
    // A crate with a lib.rs has its binaries (main.rs, bin/) as separate crates.
    files.retain(|file| {
        let rel = file.strip_prefix(src).unwrap_or(file);
        !(root_file.ends_with("lib.rs") && (rel == Path::new("main.rs") || rel.starts_with("bin")))
    });
    let texts: BTreeMap<PathBuf, String> = files
        .into_iter()
        .map(|file| {
            let text =
                fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            Ok((file, strip_comments(&text)))
        })
        .collect::<Result<_>>()?;
    // Files placed by `#[path]` belong to the module that declares them.
    let mut owner: BTreeMap<PathBuf, String> = BTreeMap::new();
    for (file, text) in &texts {
        let module = top_module(src, &root_file, file);
        let dir = file.parent().unwrap_or(src);
        for target in path_attributes(text) {
            owner.insert(normal(&dir.join(target)), module.clone());
        }
    }
    let module_of = |file: &Path| {
        owner
            .get(&normal(file))
            .cloned()
            .unwrap_or_else(|| top_module(src, &root_file, file))
    };
    let modules: BTreeSet<String> = texts.keys().map(|file| module_of(file)).collect();
    let mut graph = Graph::new();
    for (file, text) in &texts {
        let from = module_of(file);
        let arrows = graph.entry(from.clone()).or_default();
        for name in crate_references(text) {
            let to = if modules.contains(&name) && name != ROOT {
                name
            } else {
                ROOT.to_owned()
            };
            if to != from {
                arrows.insert(to);
            }
        }
    }
    // The root declares every module.
    let all: BTreeSet<String> = modules.iter().filter(|m| *m != ROOT).cloned().collect();
    graph.entry(ROOT.to_owned()).or_default().extend(all);
    Ok(graph)
}

/// Every circle: the strongly connected components with more than one module (Tarjan).
pub(crate) fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, node: &'g str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.graph.get(node).into_iter().flatten() {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    component.push(top.to_owned());
                    if top == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    walk.found.sort();
    walk.found
}

/// The arrows between the modules of one circle, for the report.
pub(crate) fn arrows_within<'g>(
    graph: &'g Graph,
    circle: &'g [String],
) -> impl Iterator<Item = (&'g str, &'g str)> + 'g {
    circle.iter().flat_map(move |from| {
        graph
            .get(from)
            .into_iter()
            .flatten()
            .filter(|to| circle.contains(to))
            .map(move |to| (from.as_str(), to.as_str()))
    })
}

/// `cargo xtask cycles <src>`: prints the graph and every circle; fails if there is one.
pub(crate) fn report(src: &Path) -> Result<()> {
    let graph = graph(src)?;
    println!(
        "top-level modules of {} and what each names:",
        src.display()
    );
    for (from, to) in &graph {
        if from != ROOT {
            let to: Vec<&str> = to.iter().map(String::as_str).collect();
            println!("  {from} -> {}", to.join(", "));
        }
    }
    let circles = cycles(&graph);
    if circles.is_empty() {
        println!("no import circle among {} modules", graph.len());
        return Ok(());
    }
    for circle in &circles {
        println!("circle: {}", circle.join(", "));
        if circle.iter().any(|m| m == ROOT) {
            println!("    {ROOT} declares every module");
        }
        for (from, to) in arrows_within(&graph, circle).filter(|(from, _)| *from != ROOT) {
            println!("    {from} -> {to}");
        }
    }
    anyhow::bail!("{} import circle(s) in {}", circles.len(), src.display())
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// `src/a.rs` and `src/a/b.rs` are module `a`; the root file is [`ROOT`].
fn top_module(src: &Path, root_file: &Path, file: &Path) -> String {
    if file == root_file {
        return ROOT.to_owned();
    }
    let rel = file.strip_prefix(src).unwrap_or(file);
    let first = rel.components().next().map_or_else(String::new, |c| {
        c.as_os_str().to_string_lossy().into_owned()
    });
    first.strip_suffix(".rs").unwrap_or(&first).to_owned()
}

/// `a/./b/../c` as `a/c`, without touching the file system.
fn normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The text without `//` and `/* */` comments (doc comments included); string literals (raw
/// ones too) are kept as they are, with `//` inside them left alone.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let skip = if rest.starts_with("//") {
            rest.find('\n').unwrap_or(rest.len())
        } else if rest.starts_with("/*") {
            rest.find("*/").map_or(rest.len(), |end| end + 2)
        } else if let Some(len) = literal(rest) {
            out.push_str(&rest[..len]);
            len
        } else {
            out.push(c);
            c.len_utf8()
        };
        rest = &rest[skip..];
    }
    out
}

/// The length of the string or char literal `text` starts with, if it starts with one.
fn literal(text: &str) -> Option<usize> {
    if text.starts_with("'\"'") {
        return Some(3);
    }
    let raw = text.strip_prefix('r').or_else(|| text.strip_prefix("br"));
    if let Some(raw) = raw {
        let hashes = raw.chars().take_while(|c| *c == '#').count();
        if raw[hashes..].starts_with('"') {
            let close = format!("\"{}", "#".repeat(hashes));
            let body = &raw[hashes + 1..];
            let end = body.find(&close).map_or(body.len(), |at| at + close.len());
            return Some(text.len() - raw.len() + hashes + 1 + end);
        }
        return None;
    }
    let body = text.strip_prefix('"')?;
    let mut escaped = false;
    for (at, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(1 + at + 1),
            _ => {}
        }
    }
    Some(text.len())
}

/// The files named by `#[path = "..."]` attributes.
fn path_attributes(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[path") {
        rest = &rest[at + 6..];
        let Some(open) = rest.find('"') else { break };
        let after = &rest[open + 1..];
        let Some(close) = after.find('"') else { break };
        found.push(after[..close].to_owned());
        rest = &after[close + 1..];
    }
    found
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The first path segment after every `crate::`, with `crate::{a, b::c}` giving `a` and `b`.
fn crate_references(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut search = 0;
    while let Some(found) = text[search..].find("crate::") {
        let at = search + found;
        search = at + "crate::".len();
        if text[..at].chars().next_back().is_some_and(is_ident) {
            continue;
        }
        let rest = &text[search..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut piece = String::new();
            let mut pieces = Vec::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => pieces.push(std::mem::take(&mut piece)),
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                if depth == 1 && c != ',' {
                    piece.push(c);
                }
            }
            pieces.push(piece);
            for piece in pieces {
                let name: String = piece.trim().chars().take_while(|c| is_ident(*c)).collect();
                if !name.is_empty() && name != "self" {
                    names.push(name);
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
            if !name.is_empty() {
                names.push(name);
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, files: &[(&str, &str)]) {
        for (path, text) in files {
            let path = dir.join(path);
            fs::create_dir_all(path.parent().expect("a parent")).expect("a folder");
            fs::write(path, text).expect("a file");
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-cycles-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn references_are_read_from_paths_and_groups_but_not_comments() {
        let text = strip_comments(
            "use crate::a::X;\n// crate::b\n/* crate::c */\nlet s = \"// x\"; crate::d::f();\n\
             use crate::{e::Y, f, self};\nmy_crate::g();",
        );
        assert_eq!(crate_references(&text), ["a", "d", "e", "f"]);
    }

    #[test]
    fn a_circle_through_a_submodule_file_is_found() {
        let dir = scratch("circle");
        write(
            &dir,
            &[
                ("lib.rs", "mod a; mod b; mod c;"),
                (
                    "a.rs",
                    "use crate::b::B;\n#[path = \"a/inner.rs\"] mod inner;",
                ),
                ("a/inner.rs", "use crate::c::C;"),
                ("b.rs", "pub struct B;"),
                ("c.rs", "use crate::{a::A, b};"),
            ],
        );
        let graph = graph(&dir).expect("a graph");
        assert_eq!(cycles(&graph), [vec!["a".to_owned(), "c".to_owned()]]);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn naming_a_root_item_is_a_circle_with_the_root_and_layers_are_not() {
        let dir = scratch("root");
        write(
            &dir,
            &[
                ("lib.rs", "mod a; mod b; pub struct Top;"),
                ("a.rs", "use crate::b::B;"),
                ("b.rs", "pub struct B;"),
                ("main.rs", "use crate::a;"),
            ],
        );
        let layered = graph(&dir).expect("a graph");
        assert!(cycles(&layered).is_empty(), "{layered:?}");
        write(&dir, &[("b.rs", "pub struct B(crate::Top);")]);
        let up = graph(&dir).expect("a graph");
        let circle = [ROOT, "a", "b"].map(str::to_owned).to_vec();
        assert_eq!(cycles(&up), [circle]);
        let _ = fs::remove_dir_all(&dir);
    }

    /// Issue 11: the relay's modules call down, never up (ARCHITECTURE.md).
    #[test]
    fn the_relay_has_no_import_circle() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../relay/src");
        let graph = graph(&src).expect("the relay's sources");
        assert!(graph.len() > 10, "found the relay's modules: {graph:?}");
        assert_eq!(cycles(&graph), Vec::<Vec<String>>::new(), "{graph:#?}");
    }
}
