//! The socketlab page: a yew app compiled to WebAssembly, the lab and the course. One folder per
//! concept: `link` (the WebSocket to the relay and its status), `session` (the one pure reducer and
//! its model), `lab` (the socket cards, controls, tables and log), `kernel` (what the kernel shows:
//! its table, the TCP state diagram, the packets), `course` (lessons, exercises, checks and
//! widgets) and `ui` (small pieces shared by all). `app` wires the session and the link and shows
//! the page `route` names. No import circle runs between the folders.
//!
//! The data flow is one-way: the relay's messages and the learner's clicks become
//! `session::Action`s, one pure reducer turns them into the next `Session`, and components draw it:
//!
//! ```text
//!  click ──▶ component ──on_call(Op)──▶ RelayHandle::call ──▶ Action::CallSent ─┐
//!                                              │ ToRelay::Call (JSON) ─▶ relay   ▼
//!  relay ─▶ WebSocket onmessage ─▶ serde_json ─▶ Action::Received ──▶ Session::apply ──▶ re-render
//! ```
//!
//! The build around this crate: `index.html` is trunk's entry (`data-bin="socketlab-frontend"`,
//! `data-wasm-opt="z"`, `data-cargo-profile-release="wasm-release"`: the workspace's release
//! profile with `lto` and `panic = "abort"`, for the wasm only; the CSS link, a `<noscript>`, and `<link data-trunk rel="copy-dir"
//! href="lessons" />`, which copies `lessons/` into `dist/lessons/`). `Trunk.toml`: `dist =
//! "dist"`, `offline = true` with `wasm_bindgen = "0.2.129"` and `wasm_opt = "version_132"` (the
//! tools come from PATH, never downloaded), `release = false` (the page as shipped is `trunk build
//! --release`, or xtask's own route to the same `dist/` without trunk), `trunk serve` on
//! 127.0.0.1:8080. There is no `[[proxy]]`: trunk's WebSocket proxy answers the browser's
//! handshake itself and cannot pass on the key's subprotocol, so a page `trunk serve` serves
//! reaches the relay named in its fragment (`#token=KEY&relay=127.0.0.1:7878`), which admits it by
//! `--allow-origin http://127.0.0.1:8080`. `frontend/style.css` is the only stylesheet (CSS grid;
//! one colour per socket state).

mod app;
mod course;
#[cfg(test)]
mod dom_contract_tests;
mod kernel;
mod lab;
mod link;
mod route;
mod session;
mod teacher;
mod ui;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
