//! The socketlab lab page: a yew app compiled to WebAssembly. `session` holds all state in one
//! pure reducer, `relay_link` owns the WebSocket, and one component per file draws the page.

mod add_socket;
mod app;
mod call_controls;
mod capability_note;
#[cfg(test)]
mod dom_contract_tests;
mod event_log;
mod kernel_table;
mod kernel_watch;
mod lab;
mod lifecycle_diagram;
mod link_status;
mod narration;
mod packet_view;
mod page_address;
mod relay_link;
mod session;
mod socket_panel;
mod socket_table;
mod socket_view;
mod tcp_graph;
mod tcp_state_diagram;
mod typed_bytes;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
