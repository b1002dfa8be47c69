//! `cargo xtask dist`: the release artefact for people without Rust. After the page build
//! (`frontend::build`, into `<root>/dist`), the relay is built in release with the
//! `embedded-page` feature, which compiles that `dist/` into the binary (`relay/src/page.rs`),
//! and packed with the tarball's README (`docs/release/README.md` plus a "This build" section
//! naming the version, target, commit and C library) and both licences into
//! `target/dist/socketlab-relay-VERSION-TARGET.tar.gz`, with its SHA-256 beside it in a `.sha256`
//! file as `sha256sum -c` reads it.
//!
//! The archive is reproducible: entries in a fixed order, owned by 0:0, with the last commit's
//! time as their time (`SOURCE_DATE_EPOCH` if set), modes 0755 for the binary and 0644 for the
//! rest, gzip without a name or time in its header.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, Result, bail};
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use crate::shell::{self, Shell};
use crate::summary::Summary;

/// The relay's version: the workspace's, which xtask shares.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What `dist` made.
#[derive(Debug)]
pub(crate) struct Release {
    pub(crate) tarball: PathBuf,
    pub(crate) sha256: String,
    pub(crate) bytes: u64,
}

/// Builds the relay with the page in `<root>/dist` inside it and packs the tarball.
pub(crate) fn build(shell: &Shell, summary: &mut Summary) -> Result<Release> {
    let binary = summary.step(
        "building the relay with the page inside (cargo build --release --features embedded-page)",
        Some("about 2 minutes on 2 cores the first time; under a minute after `serve`"),
        || relay_with_page(shell),
    )?;
    summary.step("packing the release tarball", None, || pack(shell, &binary))
}

/// `cargo build --release -p socketlab-relay --features embedded-page`, its diagnostics shown
/// as usual; returns the binary cargo reports.
fn relay_with_page(shell: &Shell) -> Result<PathBuf> {
    let mut cmd = shell.cmd("cargo");
    cmd.args([
        "build",
        "--release",
        "-p",
        "socketlab-relay",
        "--features",
        "embedded-page",
        "--message-format",
        "json-render-diagnostics",
    ])
    .stdout(Stdio::piped());
    let command = shell::display(&cmd);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start `{command}`"))?;
    let stdout = child.stdout.take().context("cargo's output")?;
    let mut binary = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo's messages")?;
        if let Some(found) = executable(&line, "socketlab-relay") {
            binary = Some(found);
        }
    }
    let status = child.wait().context("waiting for cargo")?;
    if !status.success() {
        bail!("`{command}` failed ({status}); its errors are above");
    }
    binary.with_context(|| format!("`{command}` reported no socketlab-relay executable"))
}

/// The executable of binary target `bin` in one line of cargo's JSON messages.
fn executable(line: &str, bin: &str) -> Option<PathBuf> {
    crate::frontend::artifact(line, bin)?["executable"]
        .as_str()
        .map(PathBuf::from)
}

/// One file of the archive: its name inside the top folder, its bytes and its mode.
struct Entry {
    name: &'static str,
    data: Vec<u8>,
    mode: u32,
}

fn pack(shell: &Shell, binary: &Path) -> Result<Release> {
    let root = shell.root();
    let target = host_target(shell)?;
    let folder = format!("socketlab-relay-{VERSION}-{target}");
    let read = |path: &Path| {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let commit = commit(shell);
    let mut readme = read(&root.join("docs/release/README.md"))?;
    readme.extend_from_slice(this_build(&target, commit.as_ref(), &c_library(shell)).as_bytes());
    let entries = [
        Entry {
            name: "socketlab-relay",
            data: read(binary)?,
            mode: 0o755,
        },
        Entry {
            name: "README.md",
            data: readme,
            mode: 0o644,
        },
        Entry {
            name: "LICENSE-MIT",
            data: read(&root.join("LICENSE-MIT"))?,
            mode: 0o644,
        },
        Entry {
            name: "LICENSE-APACHE",
            data: read(&root.join("LICENSE-APACHE"))?,
            mode: 0o644,
        },
    ];
    let time = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .or(commit.as_ref().map(|c| c.time))
        .unwrap_or(0);

    let out_dir = crate::frontend::target_dir(shell)?.join("dist");
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let tarball = out_dir.join(format!("{folder}.tar.gz"));
    let bytes = archive(&folder, &entries, time)?;
    std::fs::write(&tarball, &bytes)
        .with_context(|| format!("cannot write {}", tarball.display()))?;
    let sha256 = hex(&Sha256::digest(&bytes));
    let sums = out_dir.join(format!("{folder}.tar.gz.sha256"));
    std::fs::write(&sums, format!("{sha256}  {folder}.tar.gz\n"))
        .with_context(|| format!("cannot write {}", sums.display()))?;
    let release = Release {
        tarball,
        sha256,
        bytes: bytes.len() as u64,
    };
    println!(
        "    {} ({:.1} MB; the relay alone {:.1} MB)\n    sha256 {}",
        release.tarball.display(),
        release.bytes as f64 / 1e6,
        entries[0].data.len() as f64 / 1e6,
        release.sha256
    );
    Ok(release)
}

/// The gzipped tar of `entries` under `folder/`, the same bytes for the same input.
fn archive(folder: &str, entries: &[Entry], time: u64) -> Result<Vec<u8>> {
    // GzBuilder with no file name and mtime 0: the gzip header carries nothing of this run.
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::best());
    let mut tar = tar::Builder::new(gz);
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_mtime(time);
    dir.set_size(0);
    dir.set_uid(0);
    dir.set_gid(0);
    tar.append_data(&mut dir, format!("{folder}/"), std::io::empty())
        .context("packing the folder")?;
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(entry.mode);
        header.set_mtime(time);
        header.set_size(entry.data.len() as u64);
        header.set_uid(0);
        header.set_gid(0);
        tar.append_data(
            &mut header,
            format!("{folder}/{}", entry.name),
            entry.data.as_slice(),
        )
        .with_context(|| format!("packing {}", entry.name))?;
    }
    let gz: GzEncoder<Vec<u8>> = tar.into_inner().context("finishing the tar")?;
    gz.finish().context("finishing the gzip")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// rustc's host triple: the platform the release binary is for.
fn host_target(shell: &Shell) -> Result<String> {
    let out = shell
        .probe(shell.cmd("rustc").arg("-vV"))
        .context("`rustc -vV` failed")?;
    out.lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(|host| host.trim().to_owned())
        .context("`rustc -vV` names no host")
}

/// The last commit, if this is a git checkout.
struct Commit {
    hash: String,
    time: u64,
}

fn commit(shell: &Shell) -> Option<Commit> {
    let out = shell.probe(shell.cmd("git").args(["log", "-1", "--format=%H %ct"]))?;
    let (hash, time) = out.trim().split_once(' ')?;
    Some(Commit {
        hash: hash.to_owned(),
        time: time.parse().ok()?,
    })
}

/// The C library the binary was linked against, as `ldd --version` names it (glibc's first
/// line), for the README's "runs on" sentence; empty where there is none to ask.
fn c_library(shell: &Shell) -> String {
    shell
        .probe(shell.cmd("ldd").arg("--version"))
        .and_then(|out| out.lines().next().map(str::to_owned))
        .unwrap_or_default()
}

/// The README's closing section: what this tarball holds and what it was built on.
fn this_build(target: &str, commit: Option<&Commit>, c_library: &str) -> String {
    let mut text = String::from("\n## This build\n\n");
    text.push_str(&format!(
        "- socketlab-relay {VERSION}, for `{target}`, with the lab page and the course built in.\n"
    ));
    if let Some(commit) = commit {
        text.push_str(&format!("- From commit `{}`.\n", commit.hash));
    }
    if !c_library.is_empty() {
        text.push_str(&format!(
            "- Linked against the C library of the machine that built it ({c_library}): it runs \
             where that library, or a newer one, is installed.\n"
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::{Entry, archive, executable, this_build};

    fn entries() -> Vec<Entry> {
        vec![
            Entry {
                name: "socketlab-relay",
                data: b"\x7fELF...".to_vec(),
                mode: 0o755,
            },
            Entry {
                name: "README.md",
                data: b"# socketlab\n".to_vec(),
                mode: 0o644,
            },
        ]
    }

    #[test]
    fn the_archive_is_the_same_bytes_every_time_and_holds_the_folder() {
        let one = archive("socketlab-relay-0.1.0-x", &entries(), 1_700_000_000).expect("tar");
        let two = archive("socketlab-relay-0.1.0-x", &entries(), 1_700_000_000).expect("tar");
        assert_eq!(one, two);
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(one.as_slice()));
        let mut seen = Vec::new();
        for entry in tar.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            let path = entry.path().expect("path").to_string_lossy().into_owned();
            let mode = entry.header().mode().expect("mode");
            assert_eq!(entry.header().mtime().expect("mtime"), 1_700_000_000);
            assert_eq!(entry.header().uid().expect("uid"), 0);
            let mut data = Vec::new();
            entry.read_to_end(&mut data).expect("data");
            seen.push((path, mode, data.len()));
        }
        assert_eq!(
            seen,
            vec![
                ("socketlab-relay-0.1.0-x/".to_owned(), 0o755, 0),
                (
                    "socketlab-relay-0.1.0-x/socketlab-relay".to_owned(),
                    0o755,
                    7
                ),
                ("socketlab-relay-0.1.0-x/README.md".to_owned(), 0o644, 12),
            ]
        );
    }

    #[test]
    fn cargo_names_the_relay_executable() {
        let line = r#"{"reason":"compiler-artifact","target":{"name":"socketlab-relay"},"executable":"/t/release/socketlab-relay"}"#;
        assert_eq!(
            executable(line, "socketlab-relay"),
            Some("/t/release/socketlab-relay".into())
        );
        let lib = r#"{"reason":"compiler-artifact","target":{"name":"socketlab_relay"},"executable":null}"#;
        assert_eq!(executable(lib, "socketlab-relay"), None);
        assert_eq!(executable("not json", "socketlab-relay"), None);
    }

    #[test]
    fn the_readme_says_what_the_build_is_and_needs() {
        let text = this_build(
            "x86_64-unknown-linux-gnu",
            Some(&super::Commit {
                hash: "abc".into(),
                time: 0,
            }),
            "ldd (Debian GLIBC 2.41-12) 2.41",
        );
        assert!(text.contains("for `x86_64-unknown-linux-gnu`"), "{text}");
        assert!(text.contains("`abc`"), "{text}");
        assert!(text.contains("GLIBC 2.41"), "{text}");
        assert!(!this_build("t", None, "").contains("C library"));
    }
}
