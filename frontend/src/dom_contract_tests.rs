//! The DOM contract the browser test relies on (data-testid, data-call, data-arg, data-col and
//! the diagram's classes), pinned by rendering the leaf components to HTML natively with yew's
//! server renderer: no browser needed.

use std::collections::BTreeMap;

use socketlab_shared::{Family, Path, SocketId, SocketState, SocketType, Syscall};
use yew::LocalServerRenderer;
use yew::prelude::*;

use crate::call_controls::{CallControls, CallControlsProps};
use crate::event_log::{EventLog, EventLogProps};
use crate::lifecycle_diagram::{LifecycleDiagram, LifecycleDiagramProps};
use crate::link_status::{LinkStatus, LinkStatusProps};
use crate::session::{Link, LogEntry, LogKind, Role, Slot, SocketView};
use crate::socket_panel::{SocketPanel, SocketPanelProps};
use crate::socket_table::{SocketTable, SocketTableProps};

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
    })
    .await;
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
    })
    .await;
    assert!(html.contains(r#"data-call="connect""#), "{html}");
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

#[tokio::test]
async fn every_log_entry_is_one_element_and_bytes_show_as_text_and_hex() {
    let entry = |kind, headline: &str| LogEntry {
        at: 1234.0,
        kind,
        call: None,
        socket: None,
        headline: headline.into(),
        detail: None,
        data: None,
    };
    let mut recv = entry(LogKind::Reply, "recv() → 3 bytes");
    recv.data = Some("hi\n".into());
    let html = render::<EventLog>(EventLogProps {
        entries: vec![entry(LogKind::Call, "recv(s3, max 4096)"), recv],
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
}
