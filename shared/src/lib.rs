//! socketlab's shared vocabulary: the wire protocol between browser and relay, the bytes it
//! carries, the socket lifecycle the lessons draw, and plain words for errnos. Compiles for
//! wasm32 and native; depends on nothing but serde (and, for the relay's `lesson::render`, pulldown-cmark behind the `markdown` feature).

pub mod class;
pub mod errno;
pub mod kernel;
pub mod lesson;
pub mod lifecycle;
pub mod machine;
pub mod payload;
pub mod program;
pub mod protocol;

pub use kernel::{Availability, Detached, KernelSocket, KernelState, Packet, TcpFlag, Transport};
pub use lifecycle::{Path, SocketState, Step};
pub use machine::{
    FactSource, KnockDoor, LessonService, Machine, PortRange, ScanTargets, ServiceName,
};
pub use payload::Payload;
pub use protocol::*;
