//! The names and integrity values trunk 0.21 gives the files it writes, computed the same way:
//! a cache-busting SeaHash in hex (`style-1f310ed33635989e.css`; the wasm app's files are named
//! after the hash of cargo's wasm, before wasm-bindgen and wasm-opt, so the `.js` and `_bg.wasm`
//! share one) and a SHA-384 of the final bytes in base64 for each `integrity` attribute.

use std::hash::Hasher;
use std::io::Read;

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha384};

/// `stem-HASH.ext` for a copied asset (trunk's `AssetFile::copy`: `seahash::hash` of the bytes).
pub(crate) fn hashed_asset_name(stem: &str, ext: &str, bytes: &[u8]) -> String {
    format!("{stem}-{:x}.{ext}", seahash::hash(bytes))
}

/// `name-HASH`, the base of the app's `.js` and `_bg.wasm` (trunk's `hashed_wasm_base`: a
/// streaming `SeaHasher` over cargo's wasm file).
pub(crate) fn hashed_app_base(name: &str, cargo_wasm: impl Read) -> Result<String> {
    Ok(format!("{name}-{:x}", stream_hash(cargo_wasm)?))
}

/// SeaHash of everything `source` yields, read in pieces.
pub(crate) fn stream_hash(mut source: impl Read) -> Result<u64> {
    let mut hasher = seahash::SeaHasher::new();
    std::io::copy(&mut source, &mut hasher).context("cannot read a file to hash it")?;
    Ok(hasher.finish())
}

/// The value of an `integrity` attribute: `sha384-BASE64`.
pub(crate) fn integrity(bytes: &[u8]) -> String {
    format!("sha384-{}", STANDARD.encode(Sha384::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_base_hashes_the_stream_as_trunk_does() {
        // The streaming hasher and the one-shot function agree (seahash 4), so a file read in
        // pieces is named as one read at once.
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let base = hashed_app_base("app", bytes.as_slice()).unwrap();
        assert_eq!(base, format!("app-{:x}", seahash::hash(&bytes)));
    }

    #[test]
    fn names_are_lower_hex_without_padding() {
        let name = hashed_asset_name("style", "css", b"body{}");
        let hash = name
            .strip_prefix("style-")
            .and_then(|n| n.strip_suffix(".css"))
            .unwrap();
        assert!(hash.len() <= 16 && hash.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            u64::from_str_radix(hash, 16).unwrap(),
            seahash::hash(b"body{}")
        );
    }

    #[test]
    fn integrity_is_sha384_in_standard_base64() {
        // echo -n abc | openssl dgst -sha384 -binary | base64
        assert_eq!(
            integrity(b"abc"),
            "sha384-ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn"
        );
    }
}
