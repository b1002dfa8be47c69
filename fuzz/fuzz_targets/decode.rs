//! Fuzz target for the relay's message decoder: any bytes a page could send as a text frame go
//! through `socketlab_relay::decode_message`, the very path the session uses (serde's decode of
//! `ToRelay`, then the search for a call id in what did not decode).
//!
//! What must hold: no panic, no stack overflow (serde_json's recursion limit), a reason for every
//! refusal, and anything that decodes survives a round trip through its own JSON.
//!
//! The crate (`fuzz/`, socketlab-fuzz) is outside the workspace: `[package.metadata] cargo-fuzz =
//! true`, its own empty `[workspace]` and `Cargo.lock`, and the root `Cargo.toml` has `exclude =
//! ["fuzz"]`, because it builds only under cargo-fuzz with libFuzzer and sanitizer flags. Seeds are
//! committed in `fuzz/seeds/decode/` (deep nesting included); `fuzz/corpus/`, `fuzz/artifacts/` and
//! `fuzz/target/` are ignored by git. `cargo xtask test` runs it for 30 s; by hand, from the
//! repository root: `RUSTC_BOOTSTRAP=1 cargo fuzz run decode fuzz/corpus/decode fuzz/seeds/decode`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A WebSocket text frame is UTF-8 by the time the relay sees it.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match socketlab_relay::decode_message(text) {
        Ok(message) => {
            let json = serde_json::to_string(&message).expect("a decoded message encodes");
            let again = socketlab_relay::decode_message(&json).expect("its own JSON decodes");
            assert_eq!(again, message, "round trip changed the message");
        }
        Err((_id, reason)) => assert!(!reason.is_empty(), "a refusal says why"),
    }
});
