//! wasm-bindgen as a library (`wasm-bindgen-cli-support`, pinned in the workspace to exactly the
//! `wasm-bindgen` version the page links), set up as trunk 0.21 sets up the CLI: `wasm-bindgen
//! --target=web --out-dir=DIR --out-name=NAME --no-typescript WASM`. The builder calls mirror the
//! CLI's own (`wasm-bindgen-cli`'s `rmain`) for those arguments, defaults included, so the glue and
//! the wasm are the bytes the CLI writes; `compare` checks that against trunk's output.

use std::path::Path;

use anyhow::{Context, Result, bail};
use wasm_bindgen_cli_support::Bindgen;

use crate::versions::locked_version;

/// Writes `DIR/NAME.js` and `DIR/NAME_bg.wasm` from cargo's wasm.
pub(crate) fn generate(input: &Path, name: &str, out_dir: &Path) -> Result<()> {
    let mut bindgen = Bindgen::new();
    bindgen.web(true)?;
    // The CLI passes each of these explicitly; two differ from the library's own defaults
    // (`omit_default_module_path`, and `reference_types`, which the CLI resets to its flag so an
    // environment variable cannot turn it on).
    #[expect(
        deprecated,
        reason = "the CLI still calls it; its value is inferred from the wasm"
    )]
    bindgen.reference_types(false);
    bindgen
        .input_path(input)
        .debug(false)
        .demangle(true)
        .keep_lld_exports(false)
        .keep_debug(false)
        .split_debug_info(false)
        .remove_name_section(false)
        .remove_producers_section(false)
        .typescript(false)
        .omit_imports(false)
        .omit_default_module_path(false)
        .split_linked_modules(false)
        .ts_typed_array_buffers(false)
        .reset_state_function(false)
        .force_enable_abort_handler(false)
        .out_name(name);
    bindgen
        .generate(out_dir)
        .with_context(|| format!("wasm-bindgen on {}", input.display()))
}

/// The library is the same version as the crate the page links: Cargo.lock holds exactly one
/// version of each and they are equal (else the glue would not match the wasm's bindings).
pub(crate) fn check_versions(lock: &str) -> Result<String> {
    let linked = locked_version(lock, "wasm-bindgen")?;
    let library = locked_version(lock, "wasm-bindgen-cli-support")?;
    if linked != library {
        bail!(
            "Cargo.lock has wasm-bindgen {linked} but wasm-bindgen-cli-support {library}: pin both \
             to the same version with `=` in the workspace Cargo.toml"
        );
    }
    Ok(linked)
}

/// The crates that shape wasm-bindgen's output, at the versions `wasm-bindgen-cli` 0.2.129's own
/// Cargo.lock has (which `cargo install --locked` builds trunk's CLI from). They must be the
/// same in the workspace's lock, or the two routes write different wasm: walrus even names its
/// version in the wasm's `producers` section (walrus 0.27.3 instead of 0.27.2 was the one byte
/// that made them differ). When wasm-bindgen moves, copy these from the new CLI's Cargo.lock.
#[cfg(test)]
const CLI_LOCKED: [(&str, &str); 8] = [
    ("walrus", "0.27.2"),
    ("walrus-macro", "0.26.0"),
    ("wasmparser", "0.245.1"),
    ("wasm-encoder", "0.245.1"),
    ("gimli", "0.32.3"),
    ("rustc-demangle", "0.1.28"),
    ("id-arena", "2.3.0"),
    ("leb128", "0.2.7"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_locks_what_shapes_the_output_as_the_cli_does() {
        let lock = include_str!("../../../Cargo.lock");
        assert_eq!(
            check_versions(lock).unwrap(),
            "0.2.129",
            "update CLI_LOCKED too"
        );
        for (package, cli) in CLI_LOCKED {
            let ours = locked_version(lock, package).unwrap();
            assert_eq!(
                ours, cli,
                "Cargo.lock has {package} {ours}, wasm-bindgen-cli's lock {cli}: \
                 `cargo update -p {package} --precise {cli}`"
            );
        }
    }

    #[test]
    fn a_drift_between_the_library_and_the_crate_is_an_error() {
        let lock = "[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.129\"\n\n\
                    [[package]]\nname = \"wasm-bindgen-cli-support\"\nversion = \"0.2.130\"\n";
        let err = check_versions(lock).unwrap_err().to_string();
        assert!(err.contains("0.2.129") && err.contains("0.2.130"), "{err}");
    }
}
