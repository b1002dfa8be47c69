//! What the kernel shows about the session, drawn: its socket table as `ss` prints it, the TCP
//! state diagram of RFC 793 with each connection's path, and the packets on the wire. The model
//! they draw (`session::kernel_watch`) is the session's; these are its views.

pub(crate) mod packet_view;
pub(crate) mod table;
pub(crate) mod tcp_state_diagram;
