//! The socketlab page: a yew app compiled to WebAssembly, the lab and the course. One folder
//! per concept: `link` (the WebSocket to the relay and its status), `session` (the one pure
//! reducer and its model), `lab` (the socket cards, controls, tables and log), `kernel` (what
//! the kernel shows: its table, the TCP state diagram, the packets), `course` (lessons,
//! exercises, checks and widgets) and `ui` (small pieces shared by all). `app` wires the
//! session and the link and shows the page `route` names.

mod app;
mod course;
#[cfg(test)]
mod dom_contract_tests;
mod kernel;
mod lab;
mod link;
mod route;
mod session;
mod ui;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
