//! The lab page the relay serves on every path but `/ws`, `/course.json` and the teacher's
//! routes ([`Page`]): a folder on disk (`--dist DIR`, read at each request, so an instructor's
//! edit to a lesson shows on reload), or the page compiled into the binary (`cargo xtask dist`
//! builds the relay with the `embedded-page` feature, which takes `<workspace>/dist` as it is at
//! compile time). Both answer alike: a file that exists is served with its type; any other path
//! gets `index.html` (the single-page fallback). The embedded files are only looked up in the
//! binary's own table, so no request path can reach the disk.
//!
//! `--write-page DIR` copies the embedded page out, so an instructor with the release binary and
//! no Rust can edit its lessons and serve them with `--dist DIR`.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// Where the lab page comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// A built page folder (trunk's or xtask's `dist/`), read at each request.
    Folder(PathBuf),
    /// The page compiled into this binary; only [`Page::embedded`] makes one.
    Embedded(EmbeddedPage),
}

/// Proof that this binary carries a page: made only where the `embedded-page` feature is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedPage(());

impl Page {
    /// The page compiled into this binary, if it was built with one.
    pub fn embedded() -> Option<Page> {
        embedded::PRESENT.then_some(Page::Embedded(EmbeddedPage(())))
    }

    /// What the relay says it serves, for its start-up lines and its errors.
    pub fn describe(&self) -> String {
        match self {
            Page::Folder(dir) => format!("the page folder {}", dir.display()),
            Page::Embedded(_) => "the page built into this binary".to_owned(),
        }
    }

    /// Whether there is a page to serve: a folder with `index.html`, or the embedded page.
    pub fn is_built(&self) -> bool {
        match self {
            Page::Folder(dir) => dir.join("index.html").is_file(),
            Page::Embedded(_) => embedded::get("index.html").is_some(),
        }
    }

    /// The text of the page's file at `path` (relative, `/`-separated, e.g.
    /// `lessons/course.txt`), or why it cannot be read.
    pub(crate) fn read_text(&self, path: &str) -> Result<String, String> {
        match self {
            Page::Folder(dir) => {
                std::fs::read_to_string(dir.join(path)).map_err(|err| err.to_string())
            }
            Page::Embedded(_) => {
                let file = embedded::get(path).ok_or("not in the page built into this binary")?;
                String::from_utf8(file.data.into_owned()).map_err(|_| "not UTF-8 text".to_owned())
            }
        }
    }
}

/// One file of the embedded page: its bytes, its media type and a strong validator.
#[derive(Debug)]
pub(crate) struct EmbeddedFile {
    pub(crate) data: Cow<'static, [u8]>,
    pub(crate) mime: String,
    /// The SHA-256 of the contents, as a quoted hex ETag.
    pub(crate) etag: String,
}

/// The embedded page's answer to `GET`/`HEAD` of `path` (a request's path, not yet decoded):
/// the file, or `index.html` for a path that names none; 304 when `If-None-Match` already
/// names it; 405 for other methods.
pub(crate) async fn serve_embedded(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_owned()
    };
    let Some(file) = embedded::get(&path).or_else(|| embedded::get("index.html")) else {
        return (
            StatusCode::NOT_FOUND,
            "this binary's page has no index.html\n",
        )
            .into_response();
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|wanted| wanted.to_str().ok())
        .is_some_and(|wanted| {
            wanted
                .split(',')
                .any(|one| matches!(one.trim(), "*") || one.trim() == file.etag)
        });
    let etag = HeaderValue::from_str(&file.etag).ok();
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else if method == Method::HEAD {
        let mut response = StatusCode::OK.into_response();
        response.headers_mut().insert(
            header::CONTENT_LENGTH,
            HeaderValue::from(file.data.len() as u64),
        );
        response
    } else {
        file.data.clone().into_response()
    };
    let out = response.headers_mut();
    if let Ok(mime) = HeaderValue::from_str(&file.mime) {
        out.insert(header::CONTENT_TYPE, mime);
    }
    if let Some(etag) = etag {
        out.insert(header::ETAG, etag);
    }
    response
}

/// Copies the embedded page into `dir`, which must not exist or be empty, and returns how many
/// files were written. Refuses on a binary without a page.
pub fn write_embedded(dir: &Path) -> Result<usize, String> {
    if !embedded::PRESENT {
        return Err("this relay was built without a page inside it (it serves --dist DIR)".into());
    }
    if let Ok(mut entries) = std::fs::read_dir(dir)
        && entries.next().is_some()
    {
        return Err(format!(
            "{} is not empty: name a new folder, so nothing of yours is overwritten",
            dir.display()
        ));
    }
    let mut written = 0;
    for name in embedded::names() {
        let Some(file) = embedded::get(&name) else {
            continue;
        };
        let to = dir.join(&name);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|err| format!("cannot create {}: {err}", parent.display()))?;
        }
        std::fs::write(&to, &file.data)
            .map_err(|err| format!("cannot write {}: {err}", to.display()))?;
        written += 1;
    }
    Ok(written)
}

#[cfg(feature = "embedded-page")]
mod embedded {
    use super::EmbeddedFile;

    /// `<workspace>/dist` at compile time (`cargo xtask dist` builds it first). `debug-embed`
    /// makes a debug build embed too, so every build of the feature behaves like the release.
    #[derive(rust_embed::Embed)]
    #[folder = "../dist"]
    #[exclude = ".stage/*"]
    struct Files;

    pub(super) const PRESENT: bool = true;

    pub(super) fn get(path: &str) -> Option<EmbeddedFile> {
        let file = Files::get(path)?;
        let etag = format!("\"{}\"", hex::encode(file.metadata.sha256_hash()));
        Some(EmbeddedFile {
            mime: file.metadata.mimetype().to_owned(),
            data: file.data,
            etag,
        })
    }

    pub(super) fn names() -> impl Iterator<Item = String> {
        Files::iter().map(|name| name.into_owned())
    }
}

#[cfg(not(feature = "embedded-page"))]
mod embedded {
    //! A relay built without the `embedded-page` feature carries no page: `Page::embedded` is
    //! `None` and nothing below is reached.
    use super::EmbeddedFile;

    pub(super) const PRESENT: bool = false;

    pub(super) fn get(_path: &str) -> Option<EmbeddedFile> {
        None
    }

    pub(super) fn names() -> impl Iterator<Item = String> {
        std::iter::empty()
    }
}

#[cfg(test)]
mod tests {
    use super::Page;

    #[test]
    fn a_folder_page_is_built_only_with_its_index() {
        let dir = std::env::temp_dir().join(format!("socketlab-page-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("lessons")).expect("temp dir");
        let page = Page::Folder(dir.clone());
        assert!(!page.is_built());
        std::fs::write(dir.join("index.html"), "<p>lab</p>").expect("index");
        std::fs::write(dir.join("lessons/course.txt"), "01.md\n").expect("course");
        assert!(page.is_built());
        assert_eq!(
            page.read_text("lessons/course.txt").as_deref(),
            Ok("01.md\n")
        );
        assert!(page.read_text("lessons/none.md").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(not(feature = "embedded-page"))]
    #[test]
    fn a_relay_without_the_feature_has_no_embedded_page() {
        assert_eq!(Page::embedded(), None);
        let dir = std::env::temp_dir().join("socketlab-never-written");
        assert!(super::write_embedded(&dir).is_err());
        assert!(!dir.exists());
    }

    #[cfg(feature = "embedded-page")]
    #[test]
    fn the_embedded_page_has_its_index_lessons_and_wasm_type() {
        let page = Page::embedded().expect("built with the feature");
        assert!(page.is_built());
        assert!(page.read_text("lessons/course.txt").is_ok());
        let wasm = super::embedded::names()
            .find(|name| name.ends_with(".wasm"))
            .expect("a wasm file");
        let file = super::embedded::get(&wasm).expect("its bytes");
        assert_eq!(file.mime, "application/wasm");
        assert!(file.etag.starts_with('"') && file.etag.len() == 66);
    }
}
