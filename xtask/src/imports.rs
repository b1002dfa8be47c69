//! The house rule that each part of the code imports in one direction: no import circle between
//! the frontend's folders (the course's four rooms counted as folders), nor between the relay's
//! top-level modules (a module naming an item of the crate root counts as a circle, since the
//! root declares every module). Checked by reading the sources: every `crate::a::b` path (in `use` lines and in
//! code, `crate::{a, b}` groups too) is an arrow from the file's part to the part it names;
//! `//` comments are skipped. A circle is reported with the files that make each arrow, so the
//! one to move is easy to find. Run by `cargo test -p socketlab-xtask` (part of
//! `cargo xtask test`); `cargo xtask cycles <crate>/src` prints the arrows of any crate, each
//! file or folder at `src/`'s root one part, and fails on a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use anyhow::Result;

/// The arrows between parts: from each part, to each part it names, with the files naming it.
pub(crate) type Arrows = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// Which part a file belongs to (`rel` is its path under `src/`, with `/`), or `None` for the
/// crate's root file, which declares the parts and may use them all.
pub(crate) type PartOfFile = fn(&str) -> Option<String>;

/// Which part a path names (its segments after `crate::`), given the crate's top-level
/// modules (the files and folders at the root of `src/`).
pub(crate) type PartOfPath = fn(&[&str], &BTreeSet<String>) -> String;

/// Every arrow in the crate whose sources are in `src`.
pub(crate) fn arrows(src: &Path, of_file: PartOfFile, of_path: PartOfPath) -> Arrows {
    let mut files = Vec::new();
    collect(src, src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .map(|(rel, _)| {
            let first = rel.split('/').next().unwrap_or(rel);
            first.trim_end_matches(".rs").to_owned()
        })
        .collect();
    let mut arrows = Arrows::new();
    for (rel, text) in files {
        let Some(from) = of_file(&rel) else {
            continue;
        };
        for path in crate_paths(&text) {
            let segments: Vec<&str> = path.iter().map(String::as_str).collect();
            let to = of_path(&segments, &modules);
            if to != from {
                arrows
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_default()
                    .insert(rel.clone());
            }
        }
    }
    arrows
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(root, &path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .expect("under the root")
                .to_string_lossy()
                .replace('\\', "/");
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            files.push((rel, text));
        }
    }
}

/// Every `crate::...` path in `text` as its segments (a `crate::{a::b, c}` group gives `a::b`
/// and `c`), outside `//` comments.
pub(crate) fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for member in group[..end].split(',') {
                    let segments = segments(member.trim());
                    if !segments.is_empty() {
                        paths.push(segments);
                    }
                }
            } else {
                let segments = segments(rest);
                if !segments.is_empty() {
                    paths.push(segments);
                }
            }
        }
    }
    paths
}

/// The `a::b::c` at the start of `text`.
fn segments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len == 0 {
            break;
        }
        out.push(rest[..len].to_owned());
        match rest[len..].strip_prefix("::") {
            Some(next) if !next.starts_with('{') && !next.starts_with('*') => rest = next,
            _ => break,
        }
    }
    out
}

/// The circles among the parts: each a set of parts that reach one another, with the arrows
/// between them in words. Empty when every part imports in one direction.
pub(crate) fn circles(arrows: &Arrows) -> Vec<String> {
    let parts: BTreeSet<&String> = arrows
        .keys()
        .chain(arrows.values().flat_map(BTreeMap::keys))
        .collect();
    let reaches = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(part) = todo.pop() {
            for next in arrows.get(&part).into_iter().flat_map(BTreeMap::keys) {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> =
        parts.iter().map(|p| (*p, reaches(p))).collect();
    let mut reported = BTreeSet::new();
    let mut out = Vec::new();
    for part in &parts {
        if !reach[part].contains(*part) || reported.contains(*part) {
            continue;
        }
        let members: BTreeSet<&String> = parts
            .iter()
            .copied()
            .filter(|other| reach[part].contains(*other) && reach[*other].contains(*part))
            .collect();
        let mut words = format!(
            "circle: {}",
            members
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        for from in &members {
            for (to, files) in arrows.get(*from).into_iter().flatten() {
                if members.contains(to) {
                    let files: Vec<&str> = files.iter().map(String::as_str).collect();
                    words.push_str(&format!("\n  {from} -> {to}: {}", files.join(", ")));
                }
            }
        }
        reported.extend(members.iter().map(|m| (*m).clone()));
        out.push(words);
    }
    out
}

/// The part standing for the crate root (`lib.rs`, or `main.rs` without one), which declares
/// every module: an arrow to it closes a circle with the module that drew it.
pub(crate) const ROOT: &str = "(crate root)";

/// Any crate's parts: each file or folder at the root of `src/`, `session/writer.rs` as
/// `session`. A root file `X_tests.rs` is the test module `X` includes by `#[path]`, so it is
/// `X`. The crate roots (`lib.rs`, `main.rs`, `bin/`) are left out.
pub(crate) fn top_part_of_file(rel: &str) -> Option<String> {
    let parts: Vec<&str> = rel.split('/').collect();
    match parts.as_slice() {
        ["lib.rs" | "main.rs"] | ["bin", ..] => None,
        [file] => {
            let name = file.trim_end_matches(".rs");
            Some(name.strip_suffix("_tests").unwrap_or(name).to_owned())
        }
        [folder, ..] => Some((*folder).to_owned()),
        [] => None,
    }
}

/// What a path names: a top-level module, or else an item of the crate root ([`ROOT`]).
pub(crate) fn top_part_of_path(segments: &[&str], modules: &BTreeSet<String>) -> String {
    match segments {
        [first, ..] if modules.contains(*first) => (*first).to_owned(),
        _ => ROOT.to_owned(),
    }
}

/// `cargo xtask cycles <src>`: every arrow between the top-level parts of the crate in `src`,
/// then its circles; an arrow to the crate root counts as one.
pub(crate) fn report(src: &Path) -> Result<()> {
    anyhow::ensure!(src.is_dir(), "{} is not a folder", src.display());
    let arrows = arrows(src, top_part_of_file, top_part_of_path);
    println!(
        "the top-level parts of {} and the parts each names:",
        src.display()
    );
    for (from, to) in &arrows {
        let to: Vec<&str> = to.keys().map(String::as_str).collect();
        println!("  {from} -> {}", to.join(", "));
    }
    let mut found = circles(&arrows);
    found.extend(up_to_root(&arrows));
    if found.is_empty() {
        println!("no import circle");
        return Ok(());
    }
    println!("{}", found.join("\n"));
    anyhow::bail!("{} import circle(s) in {}", found.len(), src.display())
}

/// The arrows to the crate root, each a circle with the root, in words.
fn up_to_root(arrows: &Arrows) -> Vec<String> {
    arrows
        .iter()
        .filter_map(|(from, to)| {
            let files = to.get(ROOT)?;
            let files: Vec<&str> = files.iter().map(String::as_str).collect();
            Some(format!(
                "circle: {from} and the crate root, which declares it\n  {from} -> {ROOT}: {}",
                files.join(", ")
            ))
        })
        .collect()
}

/// The frontend's parts: its folders (`course/pages`, `course/exercises`, `course/facts` and
/// `course/widgets` each one of their own; the lesson engine at `course/`'s root is `course`),
/// and each file at the root of `src/` but `main.rs`.
#[cfg(test)]
pub(crate) fn frontend_part_of_file(rel: &str) -> Option<String> {
    if rel == "main.rs" {
        return None;
    }
    let parts: Vec<&str> = rel.split('/').collect();
    Some(match parts.as_slice() {
        [file] => file.trim_end_matches(".rs").to_owned(),
        ["course", room, _, ..] => format!("course/{room}"),
        [folder, ..] => (*folder).to_owned(),
        [] => unreachable!("split gives one part at least"),
    })
}

#[cfg(test)]
pub(crate) fn frontend_part_of_path(segments: &[&str], _modules: &BTreeSet<String>) -> String {
    match segments {
        ["course", room, ..] if ROOMS.contains(room) => format!("course/{room}"),
        [first, ..] => (*first).to_owned(),
        [] => String::new(),
    }
}

#[cfg(test)]
const ROOMS: [&str; 4] = ["pages", "exercises", "facts", "widgets"];

#[cfg(test)]
mod tests {
    use super::*;

    fn src(krate: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(krate)
            .join("src")
    }

    #[test]
    fn paths_are_read_from_use_lines_groups_and_code_but_not_comments() {
        let text = "use crate::a::b::{C, D};\nuse crate::{e, f::g};\n// crate::h::i\nlet x = crate::j::k(1); // crate::l\nsupercrate::m::n";
        let got: Vec<String> = crate_paths(text).iter().map(|p| p.join("::")).collect();
        assert_eq!(got, ["a::b", "e", "f::g", "j::k"]);
    }

    #[test]
    fn a_circle_is_found_and_named_with_its_files() {
        let mut arrows = Arrows::new();
        let mut arrow = |from: &str, to: &str, file: &str| {
            arrows
                .entry(from.into())
                .or_default()
                .entry(to.into())
                .or_default()
                .insert(file.into());
        };
        arrow("lab", "session", "lab/mod.rs");
        arrow("session", "course", "session/mod.rs");
        arrow("course", "lab", "course/steps.rs");
        arrow("app", "lab", "app.rs");
        let found = circles(&arrows);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("circle: course, lab, session"),
            "{}",
            found[0]
        );
        assert!(
            found[0].contains("course -> lab: course/steps.rs"),
            "{}",
            found[0]
        );
        arrows.get_mut("course").map(|to| to.remove("lab"));
        assert!(circles(&arrows).is_empty());
    }

    #[test]
    fn the_frontends_folders_import_in_one_direction() {
        let arrows = arrows(
            &src("frontend"),
            frontend_part_of_file,
            frontend_part_of_path,
        );
        assert!(arrows.contains_key("course/pages"), "the folders were read");
        let found = circles(&arrows);
        assert!(found.is_empty(), "{}", found.join("\n"));
    }

    #[test]
    fn any_crate_is_read_as_its_top_level_parts_and_the_root_counts() {
        let modules: BTreeSet<String> = ["a", "b"].map(String::from).into();
        assert_eq!(top_part_of_file("a.rs").as_deref(), Some("a"));
        assert_eq!(top_part_of_file("a/inner.rs").as_deref(), Some("a"));
        assert_eq!(top_part_of_file("b_tests.rs").as_deref(), Some("b"));
        assert_eq!(top_part_of_file("lib.rs"), None);
        assert_eq!(top_part_of_path(&["a", "X"], &modules), "a");
        assert_eq!(top_part_of_path(&["Config"], &modules), ROOT);
        let mut arrows = Arrows::new();
        arrows
            .entry("a".into())
            .or_default()
            .entry("b".into())
            .or_default()
            .insert("a.rs".into());
        assert!(up_to_root(&arrows).is_empty());
        arrows
            .entry("b".into())
            .or_default()
            .entry(ROOT.into())
            .or_default()
            .insert("b.rs".into());
        let found = up_to_root(&arrows);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("b -> (crate root): b.rs"), "{}", found[0]);
    }

    /// Issue 11: the relay's modules call down, never up, and none names the crate root.
    #[test]
    fn the_relays_modules_import_in_one_direction() {
        let arrows = arrows(&src("relay"), top_part_of_file, top_part_of_path);
        assert!(arrows.contains_key("syscalls"), "the modules were read");
        let mut found = circles(&arrows);
        found.extend(up_to_root(&arrows));
        assert!(found.is_empty(), "{}", found.join("\n"));
    }
}
