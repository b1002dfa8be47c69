//! The DOM contract the browser tests rely on, pinned by rendering the leaf components to HTML
//! natively with yew's server renderer: no browser needed. The kernel view's and the capture's
//! parts are fed with the golden JSON of the protocol tests. Change a selector here and in
//! `tests/it/browser/` together.
//!
//! The contract: `data-testid` on every part a test finds, `data-call` on each call's button and
//! `data-arg` on its fields, `data-col` on table cells, the lifecycle diagram's classes `current` /
//! `waiting`; `[data-testid="link-status"]` with `data-status` = `connecting` | `live` | `lost` |
//! `no-key` | `key-refused` | `code-refused` (with the last three the boxes
//! `[data-testid="no-key"]` / `[data-testid="key-refused"]` / `[data-testid="code-refused"]`, the
//! first and last holding the class-code form `[data-testid="class-code"]` with
//! `class-code-input` and `class-code-button`, pinned by `link::status`'s own tests);
//! `[data-testid="kernel-table"]` with `tr[data-kernel-state="STATE"]` (`KernelState::name()`, e.g.
//! `ESTABLISHED`, `TIME_WAIT`) and `td[data-col="ss"]`; `[data-testid="packet-view"]` with one
//! `[data-testid="packet"]` per packet shown, `data-flags` = its flags joined by commas in the
//! packet's order (`SYN`, `SYN,ACK`, `ACK`, `ACK,PSH`, empty for UDP);
//! `svg[data-testid="tcp-states"]` with one `[data-state="STATE"]` node per state (CLOSED is
//! `data-state="CLOSE"`, the end box also `data-end="true"`), class `lit` where a live connection
//! is; `[data-testid="kernel-view-unavailable"]` and `[data-testid="capture-unavailable"]`.

use std::collections::BTreeMap;

use socketlab_shared::{
    Availability, Family, FromRelay, KernelSocket, Packet, Path, SocketId, SocketState, SocketType,
    Syscall,
};
use yew::LocalServerRenderer;
use yew::prelude::*;

use crate::kernel::packet_view::{PacketView, PacketViewProps};
use crate::kernel::table::{KernelTable, KernelTableProps};
use crate::kernel::tcp_state_diagram::{TcpStateDiagram, TcpStateDiagramProps};
use crate::lab::call_controls::{CallControls, CallControlsProps};
use crate::lab::event_log::{EventLog, EventLogProps};
use crate::lab::lifecycle_diagram::{LifecycleDiagram, LifecycleDiagramProps};
use crate::lab::socket_panel::{SocketPanel, SocketPanelProps};
use crate::lab::socket_table::{SocketTable, SocketTableProps};
use crate::link::status::{LinkStatus, LinkStatusProps};
use crate::session::journal::Journal;
use crate::session::kernel_watch::KernelWatch;
use crate::session::{Link, LogEntry, LogKind, Role, Slot, SocketView};

fn view(id: u32, state: SocketState, role: Role) -> SocketView {
    SocketView {
        id: SocketId(id),
        fd: 10 + id as i32,
        family: Family::Ipv4,
        kind: SocketType::Stream,
        state,
        local: Some("127.0.0.1:41000".into()),
        peer: (state == SocketState::Connected).then(|| "127.0.0.1:53712".to_owned()),
        role,
        has_listened: state == SocketState::Listening,
        last_ok: None,
        accepted: Vec::new(),
        data_waiting: None,
        connection_waiting: false,
        peer_closed_seen: false,
        results: BTreeMap::new(),
    }
}

async fn render<C>(props: C::Properties) -> String
where
    C: BaseComponent,
{
    LocalServerRenderer::<C>::with_props(props).render().await
}

#[tokio::test]
async fn the_link_status_names_its_state() {
    let html = render::<LinkStatus>(LinkStatusProps {
        link: Link::Live {
            relay: "0.1.0".into(),
            os: "linux".into(),
        },
        last_failure: None,
        on_retry: Callback::noop(),
    })
    .await;
    assert!(html.contains(r#"data-testid="link-status""#), "{html}");
    assert!(html.contains(r#"data-status="live""#), "{html}");
}

#[tokio::test]
async fn a_lost_link_says_how_to_start_a_relay() {
    let html = render::<LinkStatus>(LinkStatusProps {
        link: Link::Lost {
            attempt: 1,
            retry_at: 500.0,
            reason: "no relay answered at ws://127.0.0.1:8080/ws".into(),
        },
        last_failure: None,
        on_retry: Callback::noop(),
    })
    .await;
    assert!(html.contains(r#"data-status="lost""#), "{html}");
    assert!(html.contains("cargo xtask serve"), "{html}");
}

#[tokio::test]
async fn the_fixed_panels_exist_before_their_socket_and_offer_socket() {
    let html = render::<SocketPanel>(SocketPanelProps {
        slot: Slot::Server,
        socket: None,
        pending: Vec::new(),
        creating: false,
        accepted: Vec::new(),
        suggested_peer: None,
        live: true,
        on_call: Callback::noop(),
        on_create: Callback::noop(),
    })
    .await;
    assert!(html.contains(r#"data-testid="panel-server""#), "{html}");
    assert!(!html.contains("data-socket="), "{html}");
    assert!(html.contains(r#"data-call="socket""#), "{html}");
    assert!(html.contains(r#"data-arg="family""#), "{html}");
    assert!(html.contains(r#"data-arg="type""#), "{html}");
    assert!(html.contains(r#"data-testid="lifecycle""#), "{html}");
}

#[tokio::test]
async fn an_accepted_socket_gets_a_panel_named_by_its_id() {
    let html = render::<SocketPanel>(SocketPanelProps {
        slot: Slot::New,
        socket: Some(view(
            3,
            SocketState::Connected,
            Role::Accepted { from: SocketId(1) },
        )),
        pending: Vec::new(),
        creating: false,
        accepted: Vec::new(),
        suggested_peer: None,
        live: true,
        on_call: Callback::noop(),
        on_create: Callback::noop(),
    })
    .await;
    assert!(html.contains(r#"data-testid="panel-socket-3""#), "{html}");
    assert!(html.contains(r#"data-socket="3""#), "{html}");
    assert!(html.contains(r#"data-call="recv""#), "{html}");
}

#[tokio::test]
async fn a_bound_server_offers_listen_with_its_backlog_and_bind_with_its_default() {
    let mut server = view(1, SocketState::Fresh, Role::Server);
    server.local = None;
    let html = render::<CallControls>(CallControlsProps {
        socket: server,
        pending: Vec::new(),
        suggested_peer: None,
        live: true,
        show_all: false,
        on_call: Callback::noop(),
        lit: None,
    })
    .await;
    assert!(!html.contains("step-target"), "no step, no outline: {html}");
    for call in ["bind", "listen", "accept", "close", "getsockname"] {
        assert!(
            html.contains(&format!(r#"data-call="{call}""#)),
            "{call}: {html}"
        );
    }
    assert!(html.contains(r#"data-arg="address""#), "{html}");
    assert!(html.contains(r#"value="127.0.0.1:0""#), "{html}");
    assert!(html.contains(r#"data-arg="backlog""#), "{html}");
    assert!(html.contains(r#"value="16""#), "{html}");
}

#[tokio::test]
async fn the_client_connect_address_is_the_servers_real_address() {
    let mut client = view(2, SocketState::Fresh, Role::Client);
    client.local = None;
    let html = render::<CallControls>(CallControlsProps {
        socket: client,
        pending: Vec::new(),
        suggested_peer: Some("127.0.0.1:41000".into()),
        live: true,
        show_all: false,
        on_call: Callback::noop(),
        lit: Some(socketlab_shared::Syscall::Connect),
    })
    .await;
    assert!(html.contains(r#"data-call="connect""#), "{html}");
    // The lesson's current step names connect(): its button, and only it, is outlined.
    assert_eq!(html.matches("step-target").count(), 1, "{html}");
    let button = html
        .split("<button")
        .find(|b| b.contains(r#"data-call="connect""#))
        .expect("a connect button");
    assert!(button.contains("step-target"), "{button}");
    assert!(html.contains(r#"value="127.0.0.1:41000""#), "{html}");
}

#[tokio::test]
async fn the_socket_table_has_one_row_per_socket_with_its_addresses() {
    let html = render::<SocketTable>(SocketTableProps {
        sockets: vec![
            view(1, SocketState::Listening, Role::Server),
            view(
                3,
                SocketState::Connected,
                Role::Accepted { from: SocketId(1) },
            ),
        ],
    })
    .await;
    assert!(html.contains(r#"data-testid="socket-table""#), "{html}");
    assert!(html.contains(r#"<tr data-socket="1""#), "{html}");
    assert!(html.contains(r#"<tr data-socket="3""#), "{html}");
    for col in ["id", "fd", "type", "state", "local", "peer"] {
        assert!(
            html.contains(&format!(r#"data-col="{col}""#)),
            "{col}: {html}"
        );
    }
    assert!(
        html.contains(r#"<td data-col="peer">127.0.0.1:53712</td>"#),
        "{html}"
    );
}

#[tokio::test]
async fn the_diagram_marks_the_current_step_and_the_waiting_call() {
    let html = render::<LifecycleDiagram>(LifecycleDiagramProps {
        path: Path::Server,
        current: Some(2),
        waiting: vec![Syscall::Accept],
        accepted: Vec::new(),
    })
    .await;
    assert!(html.contains(r#"data-testid="lifecycle""#), "{html}");
    assert!(
        html.contains(r#"<g data-step="listen()" class="step current">"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<g data-step="accept()" class="step waiting">"#),
        "{html}"
    );
    assert!(html.contains("accept() is waiting for a client"), "{html}");
}

fn entry(kind: LogKind, headline: &str) -> LogEntry {
    LogEntry {
        at: 1234.0,
        kind,
        call: None,
        socket: None,
        headline: headline.into(),
        detail: None,
        data: None,
    }
}

#[tokio::test]
async fn every_log_entry_is_one_element_and_bytes_show_as_text_and_hex() {
    let mut recv = entry(LogKind::Reply, "recv() → 3 bytes");
    recv.data = Some("hi\n".into());
    let html = render::<EventLog>(EventLogProps {
        entries: [entry(LogKind::Call, "recv(s3, max 4096)"), recv]
            .into_iter()
            .collect(),
        lit: None,
        on_hover: Callback::noop(),
    })
    .await;
    assert!(html.contains(r#"data-testid="event-log""#), "{html}");
    assert_eq!(
        html.matches(r#"data-testid="log-entry""#).count(),
        2,
        "{html}"
    );
    assert!(html.contains("68 69 0a"), "{html}");
    assert!(html.contains("00:01.234"), "{html}");
    assert!(!html.contains("log-dropped"), "nothing was dropped: {html}");
}

#[tokio::test]
async fn the_event_log_says_how_many_older_entries_it_dropped() {
    let mut entries: Journal<LogEntry> = (0..5)
        .map(|n| entry(LogKind::Call, &format!("close(s{n})")))
        .collect();
    entries.drop_oldest(3);
    let html = render::<EventLog>(EventLogProps {
        entries,
        lit: None,
        on_hover: Callback::noop(),
    })
    .await;
    assert!(
        html.contains(
            r#"data-testid="log-dropped" class="dropped">3 older entries dropped: the log keeps the newest 1000.<"#
        ),
        "{html}"
    );
    assert_eq!(html.matches(r#"data-testid="log-entry""#).count(), 2);
    assert!(
        html.contains("close(s3)") && !html.contains("close(s2)"),
        "{html}"
    );
}

#[tokio::test]
async fn the_lit_call_lights_its_log_entries_and_its_program_lines() {
    use socketlab_shared::{CallId, Done, Family, FromRelay, Op, Outcome, SocketId, SocketType};

    use crate::lab::code_view::{CodeView, CodeViewProps};
    use crate::session::transcript::Entry;

    let mut call = entry(LogKind::Call, "socket(AF_INET, SOCK_DGRAM)");
    call.call = Some(CallId(1));
    let other = entry(LogKind::Link, "relay: live");
    let html = render::<EventLog>(EventLogProps {
        entries: [call, other].into_iter().collect(),
        lit: Some(CallId(1)),
        on_hover: Callback::noop(),
    })
    .await;
    assert!(
        html.contains(r#"data-call="1" class="entry k-call lit""#),
        "{html}"
    );
    assert_eq!(
        html.matches(" lit\"").count(),
        1,
        "only the call's entry: {html}"
    );

    let transcript: Journal<Entry> = [
        Entry::Call {
            id: CallId(1),
            op: Op::Socket {
                family: Family::Ipv4,
                kind: SocketType::Datagram,
            },
        },
        Entry::Message(FromRelay::Reply {
            id: CallId(1),
            outcome: Outcome::Ok(Done::Socket {
                socket: SocketId(1),
                fd: 20,
                family: Family::Ipv4,
                kind: SocketType::Datagram,
            }),
        }),
    ]
    .into_iter()
    .collect();
    let html = render::<CodeView>(CodeViewProps {
        transcript,
        services: Vec::new(),
        since: 0,
        appended: 2,
        lit: Some(CallId(1)),
        on_hover: Some(Callback::noop()),
        exercise: None,
    })
    .await;
    assert!(html.contains(r#"data-testid="code-view""#), "{html}");
    assert!(
        html.contains(r#"data-call="1" class="code-line of-call lit""#),
        "{html}"
    );
    assert!(
        html.contains("socket(AF_INET, SOCK_DGRAM, 0)"),
        "C by default: {html}"
    );
    assert!(html.contains(r#"download="session.c""#), "{html}");
    assert!(!html.contains("No calls yet"), "{html}");
}

/// The golden kernel message of shared/src/protocol_tests.rs: a listener with one connection
/// in its accept queue, the client, and a TIME_WAIT left over.
const GOLDEN_KERNEL: &str = r#"{"type":"kernel","sockets":[{"socket":1,"detached":null,"transport":"tcp","state":"LISTEN","local":"127.0.0.1:41000","remote":"0.0.0.0:*","recv_q":1,"send_q":16},{"socket":null,"detached":{"kind":"accept_queue","listener":1},"transport":"tcp","state":"ESTABLISHED","local":"127.0.0.1:41000","remote":"127.0.0.1:53712","recv_q":0,"send_q":0},{"socket":2,"detached":null,"transport":"tcp","state":"ESTABLISHED","local":"127.0.0.1:53712","remote":"127.0.0.1:41000","recv_q":0,"send_q":0},{"socket":null,"detached":{"kind":"closed"},"transport":"tcp","state":"TIME_WAIT","local":"127.0.0.1:53700","remote":"127.0.0.1:41000","recv_q":0,"send_q":0}]}"#;

fn golden_rows() -> Vec<KernelSocket> {
    match serde_json::from_str(GOLDEN_KERNEL) {
        Ok(FromRelay::Kernel { sockets }) => sockets,
        other => panic!("the golden kernel message does not decode: {other:?}"),
    }
}

/// A connect's handshake and 3 bytes, as the capture sends them (the first and the data
/// packet are the protocol's goldens).
fn handshake() -> Vec<Packet> {
    let packet = |at: u64,
                  src: &str,
                  dst: &str,
                  flags: &str,
                  seq: u32,
                  ack: &str,
                  len: u32,
                  head: &str| {
        let json = format!(
            r#"{{"at_us":{at},"transport":"tcp","src":"{src}","dst":"{dst}","flags":[{flags}],"seq":{seq},"ack":{ack},"window":65495,"len":{len},"head":"{head}"}}"#
        );
        serde_json::from_str::<Packet>(&json).unwrap()
    };
    let (c, s) = ("127.0.0.1:53712", "127.0.0.1:41000");
    vec![
        packet(1042, c, s, r#""SYN""#, 0, "null", 0, ""),
        packet(1060, s, c, r#""SYN","ACK""#, 0, "1", 0, ""),
        packet(1071, c, s, r#""ACK""#, 1, "1", 0, ""),
        packet(2210, c, s, r#""ACK","PSH""#, 1, "1", 3, "68690a"),
        packet(2230, s, c, r#""ACK""#, 1, "4", 0, ""),
    ]
}

fn unavailable(reason: &str, remedy: Option<&str>) -> Option<Availability> {
    Some(Availability::Unavailable {
        reason: reason.into(),
        remedy: remedy.map(str::to_owned),
    })
}

#[tokio::test]
async fn the_kernel_table_has_a_row_per_kernel_socket_with_its_state_and_ss_line() {
    let rows = golden_rows();
    let html = render::<KernelTable>(KernelTableProps {
        rows: rows.clone(),
        availability: Some(Availability::Available),
        namespace_thread: None,
    })
    .await;
    assert!(html.contains(r#"data-testid="kernel-table""#), "{html}");
    for state in ["LISTEN", "ESTABLISHED", "TIME_WAIT"] {
        assert!(
            html.contains(&format!(r#"<tr data-kernel-state="{state}""#)),
            "{state}: {html}"
        );
    }
    assert_eq!(html.matches(r#"data-col="ss""#).count(), 4, "{html}");
    assert!(html.contains(&rows[0].ss_line()), "{html}");
    assert!(
        html.contains(
            "in the accept queue of s1: the handshake is done, accept() has not taken it yet"
        ),
        "{html}"
    );
    assert!(
        html.contains("TIME_WAIT: left after close(), the kernel keeps it ~60 s"),
        "{html}"
    );
    assert!(
        html.contains("ss -tan &#x27;( sport = :41000 or sport = :53700 or sport = :53712 )&#x27;")
            || html.contains("ss -tan '( sport = :41000 or sport = :53700 or sport = :53712 )'"),
        "{html}"
    );
    assert!(!html.contains("kernel-view-unavailable"), "{html}");
    assert!(!html.contains("nsenter"), "{html}");

    // A session in a network namespace of its own: the command enters it first.
    let html = render::<KernelTable>(KernelTableProps {
        rows,
        availability: Some(Availability::Available),
        namespace_thread: Some(4300),
    })
    .await;
    assert!(
        html.contains("sudo nsenter -t 4300 -n ss -tan &#x27;( sport = :41000")
            || html.contains("sudo nsenter -t 4300 -n ss -tan '( sport = :41000"),
        "{html}"
    );
}

#[tokio::test]
async fn without_the_kernel_view_the_table_says_linux_only_and_that_the_rest_works() {
    let html = render::<KernelTable>(KernelTableProps {
        rows: Vec::new(),
        availability: unavailable(
            "the kernel view reads Linux's socket tables; this relay runs on macos",
            None,
        ),
        namespace_thread: None,
    })
    .await;
    assert!(
        html.contains(r#"data-testid="kernel-view-unavailable""#),
        "{html}"
    );
    assert!(html.contains("Linux only"), "{html}");
    assert!(
        html.contains("Everything else in the lab still works"),
        "{html}"
    );
}

#[tokio::test]
async fn the_packet_view_draws_one_arrow_per_packet_with_its_flags() {
    let html = render::<PacketView>(PacketViewProps {
        packets: handshake().into_iter().collect(),
        dropped: 0,
        availability: Some(Availability::Available),
        sockets: vec![view(2, SocketState::Connected, Role::Client)],
    })
    .await;
    assert!(html.contains(r#"data-testid="packet-view""#), "{html}");
    assert_eq!(html.matches(r#"data-testid="packet""#).count(), 5, "{html}");
    let syn = html.find(r#"data-flags="SYN""#);
    let syn_ack = html.find(r#"data-flags="SYN,ACK""#);
    let ack = html.find(r#"data-flags="ACK""#);
    assert!(
        syn.is_some() && syn < syn_ack && syn_ack < ack,
        "SYN, SYN,ACK, ACK in order: {html}"
    );
    assert!(html.contains(r#"data-flags="ACK,PSH""#), "{html}");
    assert!(html.contains("handshake 3/3"), "{html}");
    assert!(html.contains("len 3"), "{html}");
    assert!(
        html.contains(r#"&quot;hi\n&quot;"#) || html.contains(r#""hi\n""#),
        "{html}"
    );
}

#[tokio::test]
async fn without_capture_the_packet_view_gives_the_exact_command_and_the_root_way() {
    let remedy = "sudo setcap cap_net_raw+ep /usr/local/bin/socketlab-relay";
    let html = render::<PacketView>(PacketViewProps {
        packets: Default::default(),
        dropped: 0,
        availability: unavailable(
            "capturing packets needs CAP_NET_RAW, which this relay does not have",
            Some(remedy),
        ),
        sockets: Vec::new(),
    })
    .await;
    assert!(
        html.contains(r#"data-testid="capture-unavailable""#),
        "{html}"
    );
    assert!(html.contains(remedy), "{html}");
    assert!(html.contains("as root"), "{html}");
}

#[tokio::test]
async fn the_tcp_diagram_lights_the_states_connections_are_in() {
    let mut watch = KernelWatch::default();
    watch.kernel(golden_rows());
    let html = render::<TcpStateDiagram>(TcpStateDiagramProps {
        tracks: watch.tracks,
    })
    .await;
    assert!(html.contains(r#"data-testid="tcp-states""#), "{html}");
    for state in socketlab_shared::KernelState::TCP {
        assert!(
            html.contains(&format!(r#"data-state="{}""#, state.name())),
            "{state}: {html}"
        );
    }
    for lit in ["ESTABLISHED", "LISTEN", "TIME_WAIT"] {
        assert!(
            html.contains(&format!(r#"data-state="{lit}" class="tstate lit""#)),
            "{lit} lit: {html}"
        );
    }
    assert!(
        html.contains(r#"data-state="SYN_RECV" class="tstate""#),
        "SYN_RECV not lit: {html}"
    );
    assert!(html.contains("rcv SYN / snd SYN,ACK"), "{html}");
    assert!(
        html.contains("(SYN_RECV)"),
        "the unseen step is in brackets: {html}"
    );
}
