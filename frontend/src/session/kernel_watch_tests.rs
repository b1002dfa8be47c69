//! The kernel watch's rules, fed with the relay's messages as recorded JSON (the golden
//! messages of shared/src/protocol_tests.rs and sequences like them).

use socketlab_shared::FromRelay;

use super::*;

fn rows(json: &str) -> Vec<KernelSocket> {
    match serde_json::from_str::<FromRelay>(json) {
        Ok(FromRelay::Kernel { sockets }) => sockets,
        other => panic!("not a kernel message: {other:?}"),
    }
}

fn row(socket: Option<u32>, detached: &str, state: &str, local: &str, remote: &str) -> String {
    let socket = socket.map_or("null".to_owned(), |s| s.to_string());
    format!(
        r#"{{"socket":{socket},"detached":{detached},"transport":"tcp","state":"{state}","local":"{local}","remote":"{remote}","recv_q":0,"send_q":0}}"#
    )
}

fn kernel(watch: &mut KernelWatch, list: &[String]) -> Vec<String> {
    watch.kernel(rows(&format!(
        r#"{{"type":"kernel","sockets":[{}]}}"#,
        list.join(",")
    )))
}

const SERVER: &str = "127.0.0.1:41000";
const CLIENT: &str = "127.0.0.1:53712";
const QUEUED: &str = r#"{"kind":"accept_queue","listener":1}"#;
const CLOSED: &str = r#"{"kind":"closed"}"#;

fn states(track: &Track) -> Vec<(&'static str, bool)> {
    track
        .steps
        .iter()
        .map(|s| (s.state.name(), s.seen))
        .collect()
}

/// The golden kernel message of the protocol tests: listener, queued connection, client, and a
/// TIME_WAIT left over.
const GOLDEN: &str = r#"{"type":"kernel","sockets":[{"socket":1,"detached":null,"transport":"tcp","state":"LISTEN","local":"127.0.0.1:41000","remote":"0.0.0.0:*","recv_q":1,"send_q":16},{"socket":null,"detached":{"kind":"accept_queue","listener":1},"transport":"tcp","state":"ESTABLISHED","local":"127.0.0.1:41000","remote":"127.0.0.1:53712","recv_q":0,"send_q":0},{"socket":2,"detached":null,"transport":"tcp","state":"ESTABLISHED","local":"127.0.0.1:53712","remote":"127.0.0.1:41000","recv_q":0,"send_q":0},{"socket":null,"detached":{"kind":"closed"},"transport":"tcp","state":"TIME_WAIT","local":"127.0.0.1:53700","remote":"127.0.0.1:41000","recv_q":0,"send_q":0}]}"#;

#[test]
fn the_golden_kernel_message_makes_one_track_per_row_with_its_origin() {
    let mut watch = KernelWatch::default();
    let changes = watch.kernel(rows(GOLDEN));
    assert_eq!(watch.rows.len(), 4);
    assert_eq!(watch.tracks.len(), 4);
    assert_eq!(
        states(&watch.tracks[0]),
        [("CLOSE", true), ("LISTEN", true)]
    );
    // The queued connection came out of s1's LISTEN; SYN_RECV was too quick to see.
    assert_eq!(
        states(&watch.tracks[1]),
        [("LISTEN", true), ("SYN_RECV", false), ("ESTABLISHED", true)]
    );
    assert_eq!(watch.tracks[1].name(), "in s1's accept queue");
    assert_eq!(
        states(&watch.tracks[2]),
        [("CLOSE", true), ("SYN_SENT", false), ("ESTABLISHED", true)]
    );
    assert_eq!(states(&watch.tracks[3]), [("TIME_WAIT", true)]);
    assert!(lit(&watch.tracks, KernelState::Established));
    assert!(lit(&watch.tracks, KernelState::TimeWait));
    assert!(!lit(&watch.tracks, KernelState::SynRecv));
    assert_eq!(changes[0], "s1 is LISTEN");
}

#[test]
fn accept_takes_the_queued_connection_and_its_path_goes_on() {
    let mut watch = KernelWatch::default();
    let listen = row(Some(1), "null", "LISTEN", SERVER, "0.0.0.0:*");
    kernel(&mut watch, std::slice::from_ref(&listen));
    kernel(
        &mut watch,
        &[
            listen.clone(),
            row(None, QUEUED, "ESTABLISHED", SERVER, CLIENT),
        ],
    );
    let changes = kernel(
        &mut watch,
        &[listen, row(Some(3), "null", "ESTABLISHED", SERVER, CLIENT)],
    );
    assert_eq!(watch.tracks.len(), 2, "{:?}", watch.tracks);
    let accepted = &watch.tracks[1];
    assert_eq!(accepted.name(), "s3");
    assert_eq!(accepted.listener, Some(SocketId(1)));
    assert_eq!(
        states(accepted).len(),
        3,
        "no new state: {:?}",
        accepted.steps
    );
    assert!(changes.is_empty(), "{changes:?}");
}

#[test]
fn an_accepted_connection_never_seen_queued_still_starts_at_listen() {
    let mut watch = KernelWatch::default();
    kernel(
        &mut watch,
        &[
            row(Some(1), "null", "LISTEN", SERVER, "0.0.0.0:*"),
            row(Some(3), "null", "ESTABLISHED", SERVER, CLIENT),
        ],
    );
    assert_eq!(watch.tracks[1].listener, Some(SocketId(1)));
    assert_eq!(watch.tracks[1].steps[0].state, KernelState::Listen);
}

#[test]
fn the_active_closer_goes_to_time_wait_and_then_closed_when_the_kernel_lets_go() {
    let mut watch = KernelWatch::default();
    kernel(
        &mut watch,
        &[row(Some(2), "null", "ESTABLISHED", CLIENT, SERVER)],
    );
    kernel(
        &mut watch,
        &[row(None, CLOSED, "FIN_WAIT2", CLIENT, SERVER)],
    );
    let changes = kernel(
        &mut watch,
        &[row(None, CLOSED, "TIME_WAIT", CLIENT, SERVER)],
    );
    assert_eq!(changes, ["s2 after close() is TIME_WAIT"]);
    let changes = kernel(&mut watch, &[]);
    assert_eq!(changes, ["s2 after close() is gone from the kernel"]);
    let track = &watch.tracks[0];
    assert!(track.gone);
    assert_eq!(
        states(track),
        [
            ("CLOSE", true),
            ("SYN_SENT", false),
            ("ESTABLISHED", true),
            ("FIN_WAIT1", false),
            ("FIN_WAIT2", true),
            ("TIME_WAIT", true),
            ("CLOSE", true),
        ]
    );
    assert!(
        !lit(&watch.tracks, KernelState::Close),
        "a gone track is not lit"
    );
}

#[test]
fn an_aborted_connection_ends_without_an_invented_arrow() {
    let mut watch = KernelWatch::default();
    kernel(
        &mut watch,
        &[row(Some(2), "null", "ESTABLISHED", CLIENT, SERVER)],
    );
    kernel(&mut watch, &[]);
    assert_eq!(
        watch.tracks[0].state(),
        Some(KernelState::Established),
        "no CLOSE without an arrow to it"
    );
}

#[test]
fn udp_rows_are_listed_but_have_no_tcp_path() {
    let mut watch = KernelWatch::default();
    let json = r#"{"type":"kernel","sockets":[{"socket":4,"detached":null,"transport":"udp","state":"UNCONN","local":"127.0.0.1:39000","remote":"0.0.0.0:*","recv_q":0,"send_q":0}]}"#;
    watch.kernel(rows(json));
    assert_eq!(watch.rows.len(), 1);
    assert!(watch.tracks.is_empty());
}

#[test]
fn packets_keep_their_order_and_the_oldest_go_past_the_limit() {
    let mut watch = KernelWatch::default();
    let golden = r#"{"type":"packet","packet":{"at_us":1042,"transport":"tcp","src":"127.0.0.1:53712","dst":"127.0.0.1:41000","flags":["SYN"],"seq":0,"ack":null,"window":65495,"len":0,"head":""}}"#;
    let Ok(FromRelay::Packet { packet }) = serde_json::from_str::<FromRelay>(golden) else {
        panic!("the golden packet does not decode");
    };
    for i in 0..(MAX_PACKETS as u64 + 5) {
        let mut p = packet.clone();
        p.at_us = i;
        watch.packet(p);
    }
    assert_eq!(watch.packets.len(), MAX_PACKETS);
    assert_eq!(watch.packets.dropped(), 5);
    assert_eq!(watch.packets.entries()[0].at_us, 5);
    assert_eq!(flags_text(&packet.flags), "SYN");
    assert_eq!(flags_text(&[TcpFlag::Ack, TcpFlag::Psh]), "ACK,PSH");
}

#[test]
fn both_directions_of_a_connection_are_one_conversation() {
    let json = |src: &str, dst: &str| {
        format!(
            r#"{{"at_us":1,"transport":"tcp","src":"{src}","dst":"{dst}","flags":["ACK"],"seq":1,"ack":1,"window":512,"len":0,"head":""}}"#
        )
    };
    let there: Packet = serde_json::from_str(&json(CLIENT, SERVER)).unwrap();
    let back: Packet = serde_json::from_str(&json(SERVER, CLIENT)).unwrap();
    assert_eq!(conversation(&there), conversation(&back));
}

#[test]
fn a_row_missing_from_one_list_and_back_continues_its_path() {
    let mut watch = KernelWatch::default();
    kernel(
        &mut watch,
        &[row(Some(2), "null", "ESTABLISHED", CLIENT, SERVER)],
    );
    // Between close() and the next look, one list may lack the row altogether.
    kernel(&mut watch, &[]);
    kernel(
        &mut watch,
        &[row(None, CLOSED, "FIN_WAIT2", CLIENT, SERVER)],
    );
    assert_eq!(watch.tracks.len(), 1, "{:?}", watch.tracks);
    let track = &watch.tracks[0];
    assert!(!track.gone);
    assert_eq!(track.name(), "s2 after close()");
    assert_eq!(track.state(), Some(KernelState::FinWait2));
}

#[test]
fn a_connection_that_reached_closed_is_not_revived_by_a_new_one_on_the_same_ends() {
    let mut watch = KernelWatch::default();
    kernel(
        &mut watch,
        &[row(None, CLOSED, "TIME_WAIT", CLIENT, SERVER)],
    );
    kernel(&mut watch, &[]);
    kernel(
        &mut watch,
        &[row(Some(5), "null", "ESTABLISHED", CLIENT, SERVER)],
    );
    assert_eq!(watch.tracks.len(), 2);
}
