//! Golden JSON for every message: these strings are the protocol's spec. Each one must
//! serialize exactly so, decode back to the same value, and appear in docs/protocol.md.

use super::*;
use crate::kernel::{
    Availability, Detached, KernelSocket, KernelState, Packet, TcpFlag, Transport,
};
use crate::machine::{
    FactSource, KnockDoor, LessonService, Machine, PortRange, ScanTargets, ServiceName,
};

fn s(n: u32) -> SocketId {
    SocketId(n)
}

/// Every variant of every message, with its exact JSON.
pub(crate) fn goldens() -> Vec<(&'static str, Golden)> {
    use Golden::{From, To};
    vec![
        // Browser -> relay.
        (
            r#"{"type":"hello","version":7}"#,
            To(ToRelay::Hello { version: 7 }),
        ),
        (r#"{"type":"service_names"}"#, To(ToRelay::ServiceNames)),
        (r#"{"type":"knock_door"}"#, To(ToRelay::KnockDoor)),
        (
            r#"{"type":"join","name":"Ada"}"#,
            To(ToRelay::Join { name: "Ada".into() }),
        ),
        (
            r#"{"type":"lesson","slug":"server-life"}"#,
            To(ToRelay::Lesson { slug: "server-life".into() }),
        ),
        (
            r#"{"type":"passed","exercise":"accept-two-clients","evidence":"Listening s1 accepted s2 and s3"}"#,
            To(ToRelay::Passed {
                exercise: "accept-two-clients".into(),
                evidence: "Listening s1 accepted s2 and s3".into(),
            }),
        ),
        (
            r#"{"type":"call","id":1,"op":{"syscall":"socket","family":"ipv4","type":"stream"}}"#,
            To(call(
                1,
                Op::Socket {
                    family: Family::Ipv4,
                    kind: SocketType::Stream,
                },
            )),
        ),
        (
            r#"{"type":"call","id":2,"op":{"syscall":"setsockopt","socket":1,"option":"SO_REUSEADDR","value":1}}"#,
            To(call(
                2,
                Op::Setsockopt {
                    socket: s(1),
                    option: SockOpt::SoReuseaddr,
                    value: 1,
                },
            )),
        ),
        (
            r#"{"type":"call","id":3,"op":{"syscall":"getsockopt","socket":1,"option":"SO_RCVBUF"}}"#,
            To(call(
                3,
                Op::Getsockopt {
                    socket: s(1),
                    option: SockOpt::SoRcvbuf,
                },
            )),
        ),
        (
            r#"{"type":"call","id":4,"op":{"syscall":"bind","socket":1,"address":"127.0.0.1:0"}}"#,
            To(call(
                4,
                Op::Bind {
                    socket: s(1),
                    address: "127.0.0.1:0".into(),
                },
            )),
        ),
        (
            r#"{"type":"call","id":5,"op":{"syscall":"listen","socket":1,"backlog":16}}"#,
            To(call(
                5,
                Op::Listen {
                    socket: s(1),
                    backlog: 16,
                },
            )),
        ),
        (
            r#"{"type":"call","id":6,"op":{"syscall":"accept","socket":1}}"#,
            To(call(6, Op::Accept { socket: s(1) })),
        ),
        (
            r#"{"type":"call","id":7,"op":{"syscall":"connect","socket":2,"address":"127.0.0.1:41000"}}"#,
            To(call(
                7,
                Op::Connect {
                    socket: s(2),
                    address: "127.0.0.1:41000".into(),
                },
            )),
        ),
        (
            r#"{"type":"call","id":8,"op":{"syscall":"send","socket":2,"data":"68690a"}}"#,
            To(call(
                8,
                Op::Send {
                    socket: s(2),
                    data: Payload::from("hi\n"),
                },
            )),
        ),
        (
            r#"{"type":"call","id":9,"op":{"syscall":"recv","socket":3,"max":4096}}"#,
            To(call(
                9,
                Op::Recv {
                    socket: s(3),
                    max: 4096,
                },
            )),
        ),
        (
            r#"{"type":"call","id":10,"op":{"syscall":"sendto","socket":4,"data":"70696e67","address":"[::1]:41001"}}"#,
            To(call(
                10,
                Op::Sendto {
                    socket: s(4),
                    data: Payload::from("ping"),
                    address: "[::1]:41001".into(),
                },
            )),
        ),
        (
            r#"{"type":"call","id":11,"op":{"syscall":"recvfrom","socket":5,"max":2048}}"#,
            To(call(
                11,
                Op::Recvfrom {
                    socket: s(5),
                    max: 2048,
                },
            )),
        ),
        (
            r#"{"type":"call","id":12,"op":{"syscall":"shutdown","socket":2,"how":"write"}}"#,
            To(call(
                12,
                Op::Shutdown {
                    socket: s(2),
                    how: Shutdown::Write,
                },
            )),
        ),
        (
            r#"{"type":"call","id":13,"op":{"syscall":"close","socket":2}}"#,
            To(call(13, Op::Close { socket: s(2) })),
        ),
        (
            r#"{"type":"call","id":14,"op":{"syscall":"getsockname","socket":2}}"#,
            To(call(14, Op::Getsockname { socket: s(2) })),
        ),
        (
            r#"{"type":"call","id":15,"op":{"syscall":"getpeername","socket":2}}"#,
            To(call(15, Op::Getpeername { socket: s(2) })),
        ),
        // Relay -> browser.
        (
            r#"{"type":"welcome","version":7,"relay":"0.1.0","os":"linux"}"#,
            From(FromRelay::Welcome {
                version: 7,
                relay: "0.1.0".into(),
                os: "linux".into(),
            }),
        ),
        (
            r#"{"type":"reply","id":1,"outcome":{"status":"ok","syscall":"socket","socket":1,"fd":12,"family":"ipv4","type":"stream"}}"#,
            From(ok(
                1,
                Done::Socket {
                    socket: s(1),
                    fd: 12,
                    family: Family::Ipv4,
                    kind: SocketType::Stream,
                },
            )),
        ),
        (
            r#"{"type":"reply","id":2,"outcome":{"status":"ok","syscall":"setsockopt","option":"SO_REUSEADDR","value":1}}"#,
            From(ok(
                2,
                Done::Setsockopt {
                    option: SockOpt::SoReuseaddr,
                    value: 1,
                },
            )),
        ),
        (
            r#"{"type":"reply","id":3,"outcome":{"status":"ok","syscall":"getsockopt","option":"SO_RCVBUF","value":131072}}"#,
            From(ok(
                3,
                Done::Getsockopt {
                    option: SockOpt::SoRcvbuf,
                    value: 131072,
                },
            )),
        ),
        (
            r#"{"type":"reply","id":4,"outcome":{"status":"ok","syscall":"bind","local":"127.0.0.1:41000"}}"#,
            From(ok(
                4,
                Done::Bind {
                    local: "127.0.0.1:41000".into(),
                },
            )),
        ),
        (
            r#"{"type":"reply","id":5,"outcome":{"status":"ok","syscall":"listen","local":"127.0.0.1:41000"}}"#,
            From(ok(
                5,
                Done::Listen {
                    local: "127.0.0.1:41000".into(),
                },
            )),
        ),
        (
            r#"{"type":"reply","id":6,"outcome":{"status":"ok","syscall":"accept","socket":3,"fd":14,"local":"127.0.0.1:41000","peer":"127.0.0.1:53712"}}"#,
            From(ok(
                6,
                Done::Accept {
                    socket: s(3),
                    fd: 14,
                    local: "127.0.0.1:41000".into(),
                    peer: "127.0.0.1:53712".into(),
                },
            )),
        ),
        (
            r#"{"type":"reply","id":7,"outcome":{"status":"ok","syscall":"connect","local":"127.0.0.1:53712","peer":"127.0.0.1:41000"}}"#,
            From(ok(
                7,
                Done::Connect {
                    local: "127.0.0.1:53712".into(),
                    peer: "127.0.0.1:41000".into(),
                },
            )),
        ),
        (
            r#"{"type":"reply","id":8,"outcome":{"status":"ok","syscall":"send","sent":3}}"#,
            From(ok(8, Done::Send { sent: 3 })),
        ),
        (
            r#"{"type":"reply","id":9,"outcome":{"status":"ok","syscall":"recv","data":"68690a"}}"#,
            From(ok(
                9,
                Done::Recv {
                    data: Payload::from("hi\n"),
                },
            )),
        ),
        (
            r#"{"type":"reply","id":10,"outcome":{"status":"ok","syscall":"sendto","sent":4,"local":"[::1]:39000"}}"#,
            From(ok(
                10,
                Done::Sendto {
                    sent: 4,
                    local: "[::1]:39000".into(),
                },
            )),
        ),
        (
            r#"{"type":"reply","id":11,"outcome":{"status":"ok","syscall":"recvfrom","data":"70696e67","from":"[::1]:39000","truncated":false}}"#,
            From(ok(
                11,
                Done::Recvfrom {
                    data: Payload::from("ping"),
                    from: "[::1]:39000".into(),
                    truncated: false,
                },
            )),
        ),
        (
            r#"{"type":"reply","id":12,"outcome":{"status":"ok","syscall":"shutdown"}}"#,
            From(ok(12, Done::Shutdown)),
        ),
        (
            r#"{"type":"reply","id":13,"outcome":{"status":"ok","syscall":"close"}}"#,
            From(ok(13, Done::Close)),
        ),
        (
            r#"{"type":"reply","id":14,"outcome":{"status":"ok","syscall":"getsockname","address":"127.0.0.1:53712"}}"#,
            From(ok(
                14,
                Done::Getsockname {
                    address: "127.0.0.1:53712".into(),
                },
            )),
        ),
        (
            r#"{"type":"reply","id":15,"outcome":{"status":"ok","syscall":"getpeername","address":"127.0.0.1:41000"}}"#,
            From(ok(
                15,
                Done::Getpeername {
                    address: "127.0.0.1:41000".into(),
                },
            )),
        ),
        (
            r#"{"type":"reply","id":4,"outcome":{"status":"error","errno":"EADDRINUSE","code":98,"message":"Address already in use","explanation":"Another socket already holds this address and port."}}"#,
            From(FromRelay::Reply {
                id: CallId(4),
                outcome: Outcome::Error(SysError {
                    errno: "EADDRINUSE".into(),
                    code: 98,
                    message: "Address already in use".into(),
                    explanation: "Another socket already holds this address and port.".into(),
                }),
            }),
        ),
        (
            r#"{"type":"reply","id":7,"outcome":{"status":"invalid","reason":"\"127.0.0.1\" is not an address with a port, such as 127.0.0.1:8080 or [::1]:8080"}}"#,
            From(FromRelay::invalid(
                CallId(7),
                "\"127.0.0.1\" is not an address with a port, such as 127.0.0.1:8080 or [::1]:8080",
            )),
        ),
        (
            r#"{"type":"reply","id":6,"outcome":{"status":"cancelled","reason":"socket s1 was closed while accept() was waiting"}}"#,
            From(FromRelay::Reply {
                id: CallId(6),
                outcome: Outcome::Cancelled {
                    reason: "socket s1 was closed while accept() was waiting".into(),
                },
            }),
        ),
        (
            r#"{"type":"reply","id":7,"outcome":{"status":"refused","rule":"connect_not_loopback","reason":"connect() to 10.0.0.1:80 was refused by the relay: by default it reaches only loopback (127.0.0.0/8 and ::1). An instructor can open more with --allow-connect."}}"#,
            From(FromRelay::Reply {
                id: CallId(7),
                outcome: Outcome::Refused {
                    rule: "connect_not_loopback".into(),
                    reason: "connect() to 10.0.0.1:80 was refused by the relay: by default it reaches only loopback (127.0.0.0/8 and ::1). An instructor can open more with --allow-connect.".into(),
                },
            }),
        ),
        (
            r#"{"type":"event","socket":3,"event":{"kind":"data_waiting","queued":3}}"#,
            From(FromRelay::Event {
                socket: s(3),
                event: Event::DataWaiting { queued: 3 },
            }),
        ),
        (
            r#"{"type":"event","socket":1,"event":{"kind":"connection_waiting"}}"#,
            From(FromRelay::Event {
                socket: s(1),
                event: Event::ConnectionWaiting,
            }),
        ),
        (
            r#"{"type":"event","socket":3,"event":{"kind":"peer_closed"}}"#,
            From(FromRelay::Event {
                socket: s(3),
                event: Event::PeerClosed,
            }),
        ),
        (
            r#"{"type":"capabilities","kernel_view":{"status":"available"},"capture":{"status":"unavailable","reason":"capturing packets needs CAP_NET_RAW, which this relay does not have","remedy":"sudo setcap cap_net_raw+ep /usr/local/bin/socketlab-relay"}}"#,
            From(FromRelay::Capabilities {
                kernel_view: Availability::Available,
                capture: Availability::Unavailable {
                    reason: "capturing packets needs CAP_NET_RAW, which this relay does not have".into(),
                    remedy: Some("sudo setcap cap_net_raw+ep /usr/local/bin/socketlab-relay".into()),
                },
            }),
        ),
        (
            r#"{"type":"kernel","sockets":[{"socket":1,"detached":null,"transport":"tcp","state":"LISTEN","local":"127.0.0.1:41000","remote":"0.0.0.0:*","recv_q":1,"send_q":16,"inode":81231},{"socket":null,"detached":{"kind":"accept_queue","listener":1},"transport":"tcp","state":"ESTABLISHED","local":"127.0.0.1:41000","remote":"127.0.0.1:53712","recv_q":0,"send_q":0,"inode":0},{"socket":2,"detached":null,"transport":"tcp","state":"ESTABLISHED","local":"127.0.0.1:53712","remote":"127.0.0.1:41000","recv_q":0,"send_q":0,"inode":81232},{"socket":null,"detached":{"kind":"closed"},"transport":"tcp","state":"TIME_WAIT","local":"127.0.0.1:53700","remote":"127.0.0.1:41000","recv_q":0,"send_q":0,"inode":0}]}"#,
            From(FromRelay::Kernel {
                sockets: vec![
                    kernel_socket(Some(1), None, KernelState::Listen, "127.0.0.1:41000", "0.0.0.0:*", 1, 16),
                    kernel_socket(
                        None,
                        Some(Detached::AcceptQueue { listener: s(1) }),
                        KernelState::Established,
                        "127.0.0.1:41000",
                        "127.0.0.1:53712",
                        0,
                        0,
                    ),
                    kernel_socket(Some(2), None, KernelState::Established, "127.0.0.1:53712", "127.0.0.1:41000", 0, 0),
                    kernel_socket(None, Some(Detached::Closed), KernelState::TimeWait, "127.0.0.1:53700", "127.0.0.1:41000", 0, 0),
                ],
            }),
        ),
        (
            r#"{"type":"packet","packet":{"at_us":1042,"transport":"tcp","src":"127.0.0.1:53712","dst":"127.0.0.1:41000","flags":["SYN"],"seq":0,"ack":null,"window":65495,"len":0,"head":""}}"#,
            From(FromRelay::Packet {
                packet: Packet {
                    at_us: 1042,
                    transport: Transport::Tcp,
                    src: "127.0.0.1:53712".into(),
                    dst: "127.0.0.1:41000".into(),
                    flags: vec![TcpFlag::Syn],
                    seq: Some(0),
                    ack: None,
                    window: Some(65495),
                    len: 0,
                    head: Payload::default(),
                },
            }),
        ),
        (
            r#"{"type":"packet","packet":{"at_us":2210,"transport":"tcp","src":"127.0.0.1:53712","dst":"127.0.0.1:41000","flags":["ACK","PSH"],"seq":1,"ack":1,"window":512,"len":3,"head":"68690a"}}"#,
            From(FromRelay::Packet {
                packet: Packet {
                    at_us: 2210,
                    transport: Transport::Tcp,
                    src: "127.0.0.1:53712".into(),
                    dst: "127.0.0.1:41000".into(),
                    flags: vec![TcpFlag::Ack, TcpFlag::Psh],
                    seq: Some(1),
                    ack: Some(1),
                    window: Some(512),
                    len: 3,
                    head: Payload::from("hi\n"),
                },
            }),
        ),
        (
            r#"{"type":"packet","packet":{"at_us":5000,"transport":"udp","src":"127.0.0.1:39000","dst":"127.0.0.1:41001","flags":[],"seq":null,"ack":null,"window":null,"len":4,"head":"70696e67"}}"#,
            From(FromRelay::Packet {
                packet: Packet {
                    at_us: 5000,
                    transport: Transport::Udp,
                    src: "127.0.0.1:39000".into(),
                    dst: "127.0.0.1:41001".into(),
                    flags: vec![],
                    seq: None,
                    ack: None,
                    window: None,
                    len: 4,
                    head: Payload::from("ping"),
                },
            }),
        ),
        (
            r#"{"type":"machine","machine":{"os":"linux","root":false,"unprivileged_port_start":1024,"ephemeral_ports":{"first":32768,"last":60999},"ephemeral_source":{"kind":"setting","name":"net.ipv4.ip_local_port_range"},"pid":4242,"user":"learner","namespace_thread":null},"services":[{"name":"echo_tcp","transport":"tcp","address":"127.0.0.1:40123","about":"sends back every byte it receives"}],"scan":{"host":"127.0.0.1","ports":{"first":41000,"last":41007},"about":"eight ports to scan"}}"#,
            From(FromRelay::Machine {
                machine: Machine {
                    os: "linux".into(),
                    root: false,
                    unprivileged_port_start: Some(1024),
                    ephemeral_ports: Some(PortRange { first: 32768, last: 60999 }),
                    ephemeral_source: Some(FactSource::Setting {
                        name: "net.ipv4.ip_local_port_range".into(),
                    }),
                    pid: 4242,
                    user: Some("learner".into()),
                    namespace_thread: None,
                },
                services: vec![LessonService {
                    name: "echo_tcp".into(),
                    transport: Transport::Tcp,
                    address: "127.0.0.1:40123".into(),
                    about: "sends back every byte it receives".into(),
                }],
                scan: Some(ScanTargets {
                    host: "127.0.0.1".into(),
                    ports: PortRange { first: 41000, last: 41007 },
                    about: "eight ports to scan".into(),
                }),
            }),
        ),
        (
            r#"{"type":"machine","machine":{"os":"linux","root":true,"unprivileged_port_start":1024,"ephemeral_ports":{"first":32768,"last":60999},"ephemeral_source":{"kind":"setting","name":"net.ipv4.ip_local_port_range"},"pid":4242,"user":"root","namespace_thread":4300},"services":[],"scan":null}"#,
            From(FromRelay::Machine {
                machine: Machine {
                    os: "linux".into(),
                    root: true,
                    unprivileged_port_start: Some(1024),
                    ephemeral_ports: Some(PortRange { first: 32768, last: 60999 }),
                    ephemeral_source: Some(FactSource::Setting {
                        name: "net.ipv4.ip_local_port_range".into(),
                    }),
                    pid: 4242,
                    user: Some("root".into()),
                    namespace_thread: Some(4300),
                },
                services: vec![],
                scan: None,
            }),
        ),
        (
            r#"{"type":"machine","machine":{"os":"windows","root":false,"unprivileged_port_start":null,"ephemeral_ports":{"first":49152,"last":65535},"ephemeral_source":{"kind":"documented_default","reference":"Microsoft KB 929851: Windows Vista and later"},"pid":4242,"user":null,"namespace_thread":null},"services":[],"scan":null}"#,
            From(FromRelay::Machine {
                machine: Machine {
                    os: "windows".into(),
                    root: false,
                    unprivileged_port_start: None,
                    ephemeral_ports: Some(PortRange { first: 49152, last: 65535 }),
                    ephemeral_source: Some(FactSource::DocumentedDefault {
                        reference: "Microsoft KB 929851: Windows Vista and later".into(),
                    }),
                    pid: 4242,
                    user: None,
                    namespace_thread: None,
                },
                services: vec![],
                scan: None,
            }),
        ),
        (
            r#"{"type":"knock_door","knock":{"knocks":["127.0.0.1:41010","127.0.0.1:41011","127.0.0.1:41012"],"door":"127.0.0.1:41013","open_secs":30,"about":"knock on three closed ports in order"}}"#,
            From(FromRelay::KnockDoor {
                knock: Some(KnockDoor {
                    knocks: vec![
                        "127.0.0.1:41010".into(),
                        "127.0.0.1:41011".into(),
                        "127.0.0.1:41012".into(),
                    ],
                    door: "127.0.0.1:41013".into(),
                    open_secs: 30,
                    about: "knock on three closed ports in order".into(),
                }),
            }),
        ),
        (
            r#"{"type":"knock_door","knock":null}"#,
            From(FromRelay::KnockDoor { knock: None }),
        ),
        (r#"{"type":"class"}"#, From(FromRelay::Class {})),
        (
            r#"{"type":"joined","name":"Ada"}"#,
            From(FromRelay::Joined { name: "Ada".into() }),
        ),
        (
            r#"{"type":"service_names","names":[{"name":"ssh","port":22,"transport":"tcp","aliases":[]},{"name":"domain","port":53,"transport":"udp","aliases":[]}]}"#,
            From(FromRelay::ServiceNames {
                names: vec![
                    ServiceName { name: "ssh".into(), port: 22, transport: Transport::Tcp, aliases: vec![] },
                    ServiceName { name: "domain".into(), port: 53, transport: Transport::Udp, aliases: vec![] },
                ],
            }),
        ),
        (
            r#"{"type":"malformed","reason":"expected value at line 1 column 1"}"#,
            From(FromRelay::Malformed {
                reason: "expected value at line 1 column 1".into(),
            }),
        ),
        (
            r#"{"type":"goodbye","reason":"this relay speaks protocol version 2, the page speaks 1: reload the page"}"#,
            From(FromRelay::Goodbye {
                reason: "this relay speaks protocol version 2, the page speaks 1: reload the page"
                    .into(),
            }),
        ),
    ]
}

pub(crate) enum Golden {
    To(ToRelay),
    From(FromRelay),
}

fn call(id: u64, op: Op) -> ToRelay {
    ToRelay::Call { id: CallId(id), op }
}

fn kernel_socket(
    socket: Option<u32>,
    detached: Option<Detached>,
    state: KernelState,
    local: &str,
    remote: &str,
    recv_q: u32,
    send_q: u32,
) -> KernelSocket {
    KernelSocket {
        socket: socket.map(SocketId),
        detached,
        transport: Transport::Tcp,
        state,
        local: local.into(),
        remote: remote.into(),
        recv_q,
        send_q,
        // Made-up inode numbers: 81231 for s1, 81232 for s2; 0 without a descriptor.
        inode: socket.map_or(0, |s| 81230 + u64::from(s)),
    }
}

fn ok(id: u64, done: Done) -> FromRelay {
    FromRelay::Reply {
        id: CallId(id),
        outcome: Outcome::Ok(done),
    }
}

#[test]
fn every_message_has_its_golden_json_and_round_trips() {
    for (json, value) in goldens() {
        match value {
            Golden::To(msg) => {
                assert_eq!(serde_json::to_string(&msg).unwrap(), json);
                assert_eq!(
                    serde_json::from_str::<ToRelay>(json).unwrap(),
                    msg,
                    "{json}"
                );
            }
            Golden::From(msg) => {
                assert_eq!(serde_json::to_string(&msg).unwrap(), json);
                assert_eq!(
                    serde_json::from_str::<FromRelay>(json).unwrap(),
                    msg,
                    "{json}"
                );
            }
        }
    }
}

#[test]
fn goldens_cover_every_syscall_both_ways_and_every_outcome_and_event() {
    let goldens = goldens();
    let mut calls = Vec::new();
    let mut dones = Vec::new();
    let mut kinds = Vec::new();
    for (json, value) in &goldens {
        match value {
            Golden::To(ToRelay::Call { op, .. }) => calls.push(op.syscall()),
            Golden::From(FromRelay::Reply {
                outcome: Outcome::Ok(done),
                ..
            }) => dones.push(done.syscall()),
            _ => {}
        }
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        kinds.push(format!(
            "{}/{}/{}",
            v["type"].as_str().unwrap_or(""),
            v["outcome"]["status"].as_str().unwrap_or(""),
            v["event"]["kind"].as_str().unwrap_or("")
        ));
    }
    for syscall in Syscall::ALL {
        assert!(calls.contains(&syscall), "no golden call for {syscall}");
        assert!(dones.contains(&syscall), "no golden reply for {syscall}");
    }
    for kind in [
        "hello//",
        "welcome//",
        "reply/error/",
        "reply/invalid/",
        "reply/cancelled/",
        "reply/refused/",
        "event//data_waiting",
        "event//connection_waiting",
        "event//peer_closed",
        "capabilities//",
        "machine//",
        "service_names//",
        "kernel//",
        "packet//",
        "malformed//",
        "goodbye//",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no golden for {kind}");
    }
}

#[test]
fn docs_protocol_md_shows_every_golden_message() {
    let doc = include_str!("../../docs/protocol.md");
    for (json, _) in goldens() {
        assert!(
            doc.contains(json),
            "docs/protocol.md lacks the example\n{json}"
        );
    }
}

#[test]
fn unknown_syscalls_and_wrong_types_do_not_decode() {
    for bad in [
        r#"{"type":"call","id":1,"op":{"syscall":"fork"}}"#,
        r#"{"type":"call","id":1,"op":{"syscall":"listen","socket":1,"backlog":"many"}}"#,
        r#"{"type":"call","id":-1,"op":{"syscall":"close","socket":1}}"#,
        r#"{"type":"call","id":1,"op":{"syscall":"send","socket":1,"data":"xyz"}}"#,
        r#"{"type":"teleport"}"#,
        r#"[]"#,
    ] {
        assert!(serde_json::from_str::<ToRelay>(bad).is_err(), "{bad}");
    }
}
