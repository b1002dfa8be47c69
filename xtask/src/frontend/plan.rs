//! The one definition of what goes into `dist/`: the `<link data-trunk ...>` tags of `index.html`,
//! which trunk reads for `trunk build`/`trunk serve` and which this module reads for xtask's own
//! route. A tag or attribute xtask's route does not reproduce exactly is an error naming it, so a
//! new asset added for trunk can never be silently left out of the page `cargo xtask serve`
//! builds (and `compare` checks the two outputs byte for byte). Pure: no IO.

use std::ops::Range;

use anyhow::{Context, Result, bail};

/// What index.html asks for, in document order, with where each tag sits in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Every `data-trunk` tag, in document order.
    pub(crate) assets: Vec<Asset>,
    /// Where `</head>` starts: trunk appends the preload links there.
    pub(crate) head_end: usize,
}

/// One `<link data-trunk ...>` tag and the byte range of the whole tag in index.html.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Asset {
    pub(crate) span: Range<usize>,
    pub(crate) kind: AssetKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AssetKind {
    /// `rel="css"`: the file copied under a hashed name, linked with its integrity.
    Css { href: String },
    /// `rel="copy-dir"`: the folder copied as is, under its own name; the tag is removed.
    CopyDir { href: String },
    /// `rel="rust"`: the wasm app; the tag becomes the loader script, preloads go to the head.
    Rust(RustApp),
}

/// The settings of the one `rel="rust"` tag that shape the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RustApp {
    /// `href`: the crate's manifest, relative to index.html.
    pub(crate) manifest: String,
    /// `data-bin`: the binary built, and the stem of every file name (as trunk names them).
    pub(crate) bin: String,
    /// `data-cargo-profile-release`: the cargo profile of a release build.
    pub(crate) profile: String,
    /// `data-wasm-opt`: the level passed as `-O<level>`, or `None` for "0" (no wasm-opt).
    pub(crate) wasm_opt: Option<String>,
}

impl Plan {
    /// The one rust app (trunk allows one main app; so does this route).
    pub(crate) fn rust_app(&self) -> Result<&RustApp> {
        let mut apps = self.assets.iter().filter_map(|asset| match &asset.kind {
            AssetKind::Rust(app) => Some(app),
            _ => None,
        });
        let app = apps
            .next()
            .context("index.html has no <link data-trunk rel=\"rust\" ...> tag")?;
        if apps.next().is_some() {
            bail!("index.html has more than one <link data-trunk rel=\"rust\"> tag");
        }
        Ok(app)
    }
}

/// Reads index.html's `data-trunk` tags. Fails on anything xtask's route would not reproduce.
pub(crate) fn read(html: &str) -> Result<Plan> {
    let mut assets = Vec::new();
    let mut head_end = None;
    for tag in tags(html)? {
        if tag.name.eq_ignore_ascii_case("/head") && head_end.is_none() {
            head_end = Some(tag.span.start);
        }
        if !tag.attrs.iter().any(|(name, _)| name == "data-trunk") {
            continue;
        }
        if !tag.name.eq_ignore_ascii_case("link") {
            bail!(
                "index.html has a <{} data-trunk> tag; xtask's page build (xtask/src/frontend/plan.rs) \
                 only reproduces <link data-trunk> tags: teach it this one before relying on it",
                tag.name
            );
        }
        let kind = asset_kind(&tag.attrs)
            .with_context(|| format!("in index.html: {}", &html[tag.span.clone()]))?;
        assets.push(Asset {
            span: tag.span,
            kind,
        });
    }
    let head_end = head_end.context("index.html has no </head>")?;
    let plan = Plan { assets, head_end };
    plan.rust_app()?;
    Ok(plan)
}

fn asset_kind(attrs: &Attrs) -> Result<AssetKind> {
    let rel = value(attrs, "rel")?.context("a data-trunk link needs rel=\"...\"")?;
    let known: &[&str] = match rel {
        "css" | "copy-dir" => &["data-trunk", "rel", "href"],
        "rust" => &[
            "data-trunk",
            "rel",
            "href",
            "data-bin",
            "data-wasm-opt",
            "data-cargo-profile-release",
            // Used only by trunk's debug builds; a release build never reads it.
            "data-cargo-profile-dev",
        ],
        other => bail!(
            "rel=\"{other}\": xtask's page build reproduces only rel=\"css\", \"copy-dir\" and \
             \"rust\"; teach xtask/src/frontend/plan.rs this one before relying on it"
        ),
    };
    if let Some((name, _)) = attrs
        .iter()
        .find(|(name, _)| !known.contains(&name.as_str()))
    {
        bail!(
            "attribute `{name}` on a rel=\"{rel}\" link: xtask's page build does not reproduce it \
             (xtask/src/frontend/plan.rs knows {})",
            known.join(", ")
        );
    }
    let href = || -> Result<String> {
        value(attrs, "href")?
            .map(str::to_owned)
            .with_context(|| format!("a rel=\"{rel}\" link needs href=\"...\""))
    };
    Ok(match rel {
        "css" => AssetKind::Css { href: href()? },
        "copy-dir" => AssetKind::CopyDir { href: href()? },
        _ => AssetKind::Rust(RustApp {
            manifest: href()?,
            bin: value(attrs, "data-bin")?
                .context("the rust link needs data-bin=\"...\" (the binary, and the files' name)")?
                .to_owned(),
            profile: value(attrs, "data-cargo-profile-release")?
                .context("the rust link needs data-cargo-profile-release=\"...\"")?
                .to_owned(),
            wasm_opt: wasm_opt_level(
                value(attrs, "data-wasm-opt")?
                    .context("the rust link needs data-wasm-opt=\"...\" (e.g. \"z\")")?,
            )?,
        }),
    })
}

/// trunk's levels: "" (plain `-O`), 1-4, s, z; "0" turns wasm-opt off.
fn wasm_opt_level(level: &str) -> Result<Option<String>> {
    match level {
        "0" => Ok(None),
        "" | "1" | "2" | "3" | "4" | "s" | "z" => Ok(Some(level.to_owned())),
        "S" | "Z" => Ok(Some(level.to_ascii_lowercase())),
        other => bail!("unknown data-wasm-opt level `{other}`"),
    }
}

/// The value of attribute `name`: `None` when absent, an error when present without a value.
fn value<'a>(attrs: &'a Attrs, name: &str) -> Result<Option<&'a str>> {
    match attrs.iter().find(|(n, _)| n == name) {
        None => Ok(None),
        Some((_, Some(value))) => Ok(Some(value)),
        Some((_, None)) => bail!("attribute `{name}` has no value"),
    }
}

/// A tag's attributes in order: name (lower case) and value (`None` for a bare `data-trunk`).
type Attrs = Vec<(String, Option<String>)>;

/// A start or end tag, as written: its name (`link`, `/head`), attributes and byte range.
#[derive(Debug)]
struct Tag {
    name: String,
    attrs: Attrs,
    span: Range<usize>,
}

/// Every tag outside comments, in order. Enough HTML for index.html: comments are skipped (a
/// commented-out tag is not an asset, for trunk either), quoted attribute values may hold `>`.
fn tags(html: &str) -> Result<Vec<Tag>> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(offset) = html[at..].find('<') {
        let start = at + offset;
        let rest = &html[start..];
        if rest.starts_with("<!--") {
            let end = rest
                .find("-->")
                .with_context(|| format!("index.html: comment at byte {start} never ends"))?;
            at = start + end + 3;
            continue;
        }
        // A tag name is letters, digits and `-`, after an optional `/` for an end tag.
        let after = &rest[1..];
        let slash = usize::from(after.starts_with('/'));
        let name_len = slash
            + after[slash..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(after.len() - slash);
        let name = &after[..name_len];
        if !after[slash..].starts_with(|c: char| c.is_ascii_alphabetic()) {
            // `<!doctype ...>` and a stray `<` in text.
            at = start + 1;
            continue;
        }
        let (attrs, end) = attributes(html, start + 1 + name_len)
            .with_context(|| format!("index.html: the <{name}> tag at byte {start}"))?;
        let name = name.to_ascii_lowercase();
        at = end;
        // A script's or style's text is not markup.
        if name == "script" || name == "style" {
            let close = format!("</{name}");
            at += html[at..]
                .to_ascii_lowercase()
                .find(&close)
                .unwrap_or(html.len() - at);
        }
        found.push(Tag {
            name,
            attrs,
            span: start..end,
        });
    }
    Ok(found)
}

/// Attributes from `from` up to the tag's closing `>`; returns them and the index after `>`.
fn attributes(html: &str, from: usize) -> Result<(Attrs, usize)> {
    let bytes = html.as_bytes();
    let mut attrs = Vec::new();
    let mut i = from;
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        match bytes.get(i) {
            None => bail!("the tag never ends"),
            Some(b'>') => return Ok((attrs, i + 1)),
            Some(_) => {}
        }
        let name_start = i;
        while i < bytes.len()
            && !matches!(bytes[i], b'=' | b'>' | b'/')
            && !bytes[i].is_ascii_whitespace()
        {
            i += 1;
        }
        let name = html[name_start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes.get(i) != Some(&b'=') {
            attrs.push((name, None));
            continue;
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = match bytes.get(i) {
            Some(&quote @ (b'"' | b'\'')) => {
                let open = i + 1;
                let len = html[open..]
                    .find(quote as char)
                    .with_context(|| format!("the value of `{name}` never ends"))?;
                i = open + len + 1;
                &html[open..open + len]
            }
            Some(_) => {
                let open = i;
                while i < bytes.len() && bytes[i] != b'>' && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                &html[open..i]
            }
            None => bail!("the tag never ends"),
        };
        attrs.push((name, Some(value.to_owned())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!doctype html>
<html>
  <head>
    <title>x</title>
    <link data-trunk rel="css" href="frontend/style.css" />
    <!-- <link data-trunk rel="copy-file" href="commented-out.txt" /> -->
    <link data-trunk rel="copy-dir" href='lessons'>
    <link data-trunk rel="rust" href="frontend/Cargo.toml" data-wasm-opt="z" data-bin="app" data-cargo-profile-release="wasm-release" />
  </head>
  <body></body>
</html>
"#;

    #[test]
    fn reads_the_three_kinds_in_document_order_with_their_spans() {
        let plan = read(PAGE).unwrap();
        let kinds: Vec<&AssetKind> = plan.assets.iter().map(|a| &a.kind).collect();
        assert_eq!(
            kinds,
            [
                &AssetKind::Css {
                    href: "frontend/style.css".into()
                },
                &AssetKind::CopyDir {
                    href: "lessons".into()
                },
                &AssetKind::Rust(RustApp {
                    manifest: "frontend/Cargo.toml".into(),
                    bin: "app".into(),
                    profile: "wasm-release".into(),
                    wasm_opt: Some("z".into()),
                }),
            ]
        );
        assert_eq!(
            &PAGE[plan.assets[1].span.clone()],
            "<link data-trunk rel=\"copy-dir\" href='lessons'>"
        );
        assert!(PAGE[plan.head_end..].starts_with("</head>"));
    }

    #[test]
    fn reads_the_real_index_html() {
        let plan = read(include_str!("../../../index.html")).unwrap();
        let app = plan.rust_app().unwrap();
        assert_eq!(app.bin, "socketlab-frontend");
        assert_eq!(app.manifest, "frontend/Cargo.toml");
        assert_eq!(plan.assets.len(), 3);
    }

    #[test]
    fn refuses_a_kind_it_does_not_reproduce() {
        let page = PAGE.replace("rel=\"css\"", "rel=\"sass\"");
        let err = format!("{:#}", read(&page).unwrap_err());
        assert!(err.contains("rel=\"sass\""), "{err}");
    }

    #[test]
    fn refuses_an_attribute_it_does_not_reproduce() {
        let page = PAGE.replace("data-bin=\"app\"", "data-bin=\"app\" data-typescript");
        let err = format!("{:#}", read(&page).unwrap_err());
        assert!(err.contains("data-typescript"), "{err}");
        let page = PAGE.replace("href='lessons'", "href='lessons' data-target-path='x'");
        let err = format!("{:#}", read(&page).unwrap_err());
        assert!(err.contains("data-target-path"), "{err}");
    }

    #[test]
    fn refuses_a_data_trunk_script() {
        let page = PAGE.replace(
            "<title>x</title>",
            "<script data-trunk src=\"a.js\"></script>",
        );
        let err = format!("{:#}", read(&page).unwrap_err());
        assert!(err.contains("<script data-trunk>"), "{err}");
    }

    #[test]
    fn refuses_no_rust_app_and_two() {
        let start = PAGE.find("<link data-trunk rel=\"rust\"").unwrap();
        let end = start + PAGE[start..].find('>').unwrap() + 1;
        let rust = &PAGE[start..end];
        let none = PAGE.replace(rust, "");
        assert!(
            format!("{:#}", read(&none).unwrap_err()).contains("no <link data-trunk rel=\"rust\"")
        );
        let two = PAGE.replace(rust, &format!("{rust}{rust}"));
        assert!(format!("{:#}", read(&two).unwrap_err()).contains("more than one"));
    }

    #[test]
    fn wasm_opt_zero_means_no_wasm_opt() {
        let page = PAGE.replace("data-wasm-opt=\"z\"", "data-wasm-opt=\"0\"");
        assert_eq!(read(&page).unwrap().rust_app().unwrap().wasm_opt, None);
        let page = PAGE.replace("data-wasm-opt=\"z\"", "data-wasm-opt=\"fast\"");
        assert!(read(&page).is_err());
    }

    #[test]
    fn a_gt_inside_a_quoted_value_does_not_end_the_tag() {
        let page = PAGE.replace("<title>x</title>", "<meta content=\"a > b\" />");
        let plan = read(&page).unwrap();
        assert_eq!(plan.assets.len(), 3);
    }

    #[test]
    fn an_unterminated_comment_or_tag_is_an_error_not_a_panic() {
        assert!(read("<html><head><!-- never").is_err());
        assert!(read("<html><head><link data-trunk rel=\"css").is_err());
        assert!(read("<").is_err());
    }
}
