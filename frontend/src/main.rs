//! The socketlab page: a yew app compiled to WebAssembly, the lab and the course. `session`
//! holds all state in one pure reducer, `relay_link` owns the WebSocket, `route` says which
//! page the address names, `course` loads lessons, and one component per file draws the page.

mod add_socket;
mod app;
mod call_controls;
mod capability_note;
mod course;
mod course_index;
mod course_page;
#[cfg(test)]
mod course_render_tests;
#[cfg(test)]
mod dom_contract_tests;
mod event_log;
mod exercise_widget;
mod kernel_table;
mod kernel_watch;
mod knock_widget;
mod lab;
mod lesson_page;
mod lesson_steps;
mod lesson_widget;
mod lifecycle_diagram;
mod link_status;
mod machine_facts;
mod narration;
mod nav_bar;
mod packet_view;
mod page_address;
mod port_scan;
mod probe_driver;
mod relay_link;
mod route;
#[cfg(test)]
mod scanning_widgets_tests;
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
