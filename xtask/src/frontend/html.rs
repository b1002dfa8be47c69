//! index.html as trunk 0.21 rewrites it for `dist/`, character for character: each `data-trunk`
//! tag replaced in place (the CSS link by a hashed stylesheet link with its integrity, the
//! copy-dir link by nothing, the rust link by the module script that loads the wasm), and the
//! preload links for the app's JS and wasm appended at the end of `<head>`. Everything else in
//! the file is kept as written. Pure: the texts come from trunk's own format strings
//! (`pipelines/css.rs`, `pipelines/rust/output.rs`, `pipelines/rust/sri.rs`).

use std::ops::Range;

use anyhow::{Result, bail};

/// trunk's `public_url` default; Trunk.toml does not change it. Every href starts with it.
const PUBLIC_URL: &str = "/";

/// The stylesheet link that replaces a `rel="css"` tag.
pub(crate) fn css_link(file: &str, integrity: &str) -> String {
    format!(r#"<link rel="stylesheet" href="{PUBLIC_URL}{file}" integrity="{integrity}"/>"#)
}

/// The module script that replaces the `rel="rust"` tag: import the glue, instantiate the wasm,
/// expose the bindings as `window.wasmBindings` and fire `TrunkApplicationStarted`.
pub(crate) fn loader_script(js: &str, wasm: &str) -> String {
    format!(
        r#"
<script type="module">
import init, * as bindings from '{PUBLIC_URL}{js}';
const wasm = await init({{ module_or_path: '{PUBLIC_URL}{wasm}' }});


window.wasmBindings = bindings;


dispatchEvent(new CustomEvent("TrunkApplicationStarted", {{detail: {{wasm}}}}));

</script>"#
    )
}

/// The links appended to `<head>`: the glue as a module preload, then the wasm as a fetch.
pub(crate) fn preloads(js: &str, js_integrity: &str, wasm: &str, wasm_integrity: &str) -> String {
    format!(
        r#"<link rel="modulepreload" href="{PUBLIC_URL}{js}" crossorigin="anonymous" integrity="{js_integrity}"><link rel="preload" href="{PUBLIC_URL}{wasm}" crossorigin="anonymous" integrity="{wasm_integrity}" as="fetch" type="application/wasm">"#
    )
}

/// `html` with each range replaced by its text (an empty range inserts). Ranges must not overlap.
pub(crate) fn splice(html: &str, mut edits: Vec<(Range<usize>, String)>) -> Result<String> {
    edits.sort_by_key(|(range, _)| (range.start, range.end));
    let mut out = String::with_capacity(html.len() + 1024);
    let mut at = 0;
    for (range, text) in edits {
        if range.start < at || range.end < range.start || html.get(range.clone()).is_none() {
            bail!("index.html edits overlap or fall outside the file: {range:?}");
        }
        out.push_str(&html[at..range.start]);
        out.push_str(&text);
        at = range.end;
    }
    out.push_str(&html[at..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_in_document_order_whatever_the_order_given() {
        let html = "<head><a/><b/></head>";
        let out = splice(
            html,
            vec![
                (14..14, "P".into()),
                (6..10, "A".into()),
                (10..14, String::new()),
            ],
        )
        .unwrap();
        assert_eq!(out, "<head>AP</head>");
    }

    #[test]
    fn overlapping_or_outside_edits_are_errors() {
        assert!(splice("abcdef", vec![(0..3, "x".into()), (2..4, "y".into())]).is_err());
        assert!(splice("abc", vec![(2..9, "x".into())]).is_err());
    }

    #[test]
    fn the_loader_script_is_trunks_text() {
        // As trunk 0.21.14 writes it into dist/index.html (`default_initializer` with
        // `init_with_object`, bindings imported as `wasmBindings`).
        let expected = "\n<script type=\"module\">\nimport init, * as bindings from '/a-1.js';\n\
                        const wasm = await init({ module_or_path: '/a-1_bg.wasm' });\n\n\n\
                        window.wasmBindings = bindings;\n\n\n\
                        dispatchEvent(new CustomEvent(\"TrunkApplicationStarted\", {detail: {wasm}}));\n\n\
                        </script>";
        assert_eq!(loader_script("a-1.js", "a-1_bg.wasm"), expected);
    }
}
