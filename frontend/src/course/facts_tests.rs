//! The course's facts, checked against its text: for each sentence a careful reader found wrong
//! (issue 10), a test that fails on the old wording and names the source of the right one in a
//! comment (close() and the port, FreeBSD's range, a port is not a process, the weak host model and
//! SO_BINDTODEVICE, RFC 5952 4.2.3, REJECT and EHOSTUNREACH, `dnat ip to`, the ephemeral parity and
//! per-destination rules, 465 vs 587, somaxconn and the SYN queue). They read the lesson files as
//! shipped, so an edit that brings a wrong sentence back fails here.

use crate::course::lesson_tests_support::lessons_dir;

/// The text of the lesson whose slug is `slug` (`"what-is-a-socket"` is `06-what-is-a-socket.md`):
/// by slug, so renumbering the course does not move a test onto another lesson.
fn lesson(slug: &str) -> String {
    let dir = lessons_dir();
    let file = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .find(|name| socketlab_shared::lesson::slug(name) == slug && name.ends_with(".md"))
        .unwrap_or_else(|| panic!("no lesson {slug}"));
    std::fs::read_to_string(dir.join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The lesson's text with line breaks and runs of spaces made single spaces, so a sentence
/// can be looked for across the file's line wrapping.
fn prose(slug: &str) -> String {
    lesson(slug)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn close_frees_the_descriptor_but_not_always_the_port() {
    // A port outlives close(): TIME_WAIT (RFC 9293 3.6.1), accepted connections of a closed
    // listener, and dup()ed or inherited descriptors (close(2): the socket goes with its last
    // descriptor).
    let text = prose("what-is-a-socket");
    assert!(
        !text.contains("and so does the port"),
        "lesson 6 says close() frees the port"
    );
    for needed in ["TIME_WAIT", "accepted", "dup()"] {
        assert!(
            text.contains(needed),
            "lesson 6 should say why the port can stay: {needed}"
        );
    }
}

#[test]
fn freebsds_ephemeral_range_is_its_own() {
    // FreeBSD <netinet/in.h>: IPPORT_EPHEMERALFIRST 10000, IPPORT_EPHEMERALLAST 65535.
    let text = lesson("ephemeral-ports");
    assert!(
        !text.contains("macOS, FreeBSD | 49152"),
        "lesson 11 gives FreeBSD IANA's range"
    );
    let row = text
        .lines()
        .find(|line| line.starts_with("| FreeBSD"))
        .expect("a FreeBSD row in lesson 11's table");
    assert!(
        row.contains("10000-65535") && row.contains("IPPORT_EPHEMERALFIRST"),
        "{row}"
    );
}

#[test]
fn a_port_names_an_endpoint_not_a_process() {
    let text = prose("why-ports-exist");
    assert!(
        !text.contains("the port finds the program"),
        "lesson 1 says a port finds a program"
    );
    assert!(
        !text.contains("the program on that machine"),
        "lesson 1's table says so too"
    );
    for saying in [
        "A port identifies a running process.",
        "A socket is uniquely identified by its 5-tuple.",
        "Registered ports must not be used by your programs.",
        "Ports below 1024 should generally not be used.",
    ] {
        assert!(
            text.contains(saying),
            "lesson 1 should correct by name: {saying}"
        );
    }
    assert!(
        text.contains("hardware port"),
        "lesson 1 should say a port is not a hardware port"
    );
}

#[test]
fn binding_an_address_is_not_binding_an_interface() {
    // RFC 1122 3.3.4.2 (the weak end-system model, Linux's); socket(7): SO_BINDTODEVICE.
    let text = prose("binding-addresses");
    assert!(
        !text.contains("(one interface's address)"),
        "binding-addresses equates address and interface"
    );
    for needed in ["3.3.4.2", "weak", "SO_BINDTODEVICE", "fe80::"] {
        assert!(
            text.contains(needed),
            "binding-addresses should say: {needed}"
        );
    }
}

#[test]
fn the_longest_run_is_rfc_5952_section_4_2_3() {
    // RFC 5952: 4.2.1 "Shorten as Much as Possible", 4.2.3 "Choice in Placement of '::'".
    let text = lesson("ip-addresses");
    let row = text
        .lines()
        .find(|line| line.contains("**longest**"))
        .expect("ip-addresses's row for the longest run");
    assert!(row.contains("| 4.2.3 |"), "{row}");
}

#[test]
fn a_reject_is_econnrefused_only_with_a_reset_or_port_unreachable() {
    // Linux net/ipv4/icmp.c icmp_err_convert: port unreachable -> ECONNREFUSED, host
    // prohibited (code 10) and administratively prohibited (code 13) -> EHOSTUNREACH.
    for number in ["port-scanning", "firewalls-and-forwarding"] {
        let text = prose(number);
        assert!(
            text.contains("EHOSTUNREACH"),
            "lesson {number} should name EHOSTUNREACH"
        );
    }
    // nft(8): in an inet table, dnat needs the family (`dnat ip to`).
    assert!(
        prose("firewalls-and-forwarding").contains("dnat ip to"),
        "firewalls-and-forwarding's inet dnat"
    );
}

#[test]
fn the_ephemeral_port_rules_say_where_they_hold() {
    // Linux net/ipv4/inet_hashtables.c __inet_hash_connect: "In first pass we try ports of
    // @low parity. inet_csk_get_port() does the opposite choice" (TCP; UDP's bind picks at
    // random); the random increment of the perturbation table: Linux 5.18, 2022.
    let text = prose("ephemeral-ports");
    assert!(
        text.contains("same parity as the range's first port"),
        "parity relative to low"
    );
    assert!(
        text.contains("UDP has no such preference"),
        "the preference is TCP's"
    );
    assert!(text.contains("5.18"), "the random step since 2022");
    assert!(
        text.contains("For a `connect()` without `bind()`, the limit"),
        "the per-destination limit holds for connect() without bind() only"
    );
}

#[test]
fn submission_and_the_backlog_are_stated_as_they_are() {
    // RFC 8314 3.3: implicit TLS (465) is preferred over STARTTLS (587) for submission.
    let row = lesson("well-known-services")
        .lines()
        .find(|line| line.starts_with("| 587"))
        .expect("lesson 4's row for 587")
        .to_owned();
    assert!(row.contains("RFC 8314"), "{row}");
    // listen(2): the backlog is capped at somaxconn; the SYN queue is separate.
    let text = prose("server-life");
    assert!(
        text.contains("somaxconn") && text.contains("SYN queue"),
        "lesson 7's backlog"
    );
}

#[test]
fn the_missing_paragraphs_are_there() {
    // send(2): the return value is the number of bytes sent, possibly fewer than asked.
    let client = prose("client-life");
    assert!(client.contains("fewer bytes than you gave it") && client.contains("sendall()"));
    // udp(7): connect() sets the default peer and filters; Linux's __udp4_lib_err reports
    // ICMP errors to connected sockets only, unless IP_RECVERR.
    let datagrams = prose("stream-vs-datagram");
    for needed in [
        "default peer",
        "from that peer only",
        "ECONNREFUSED",
        "IP_RECVERR",
    ] {
        assert!(
            datagrams.contains(needed),
            "lesson 10 on UDP connect(): {needed}"
        );
    }
    // inet_bind_conflict: [::]:P without V6ONLY overlaps 0.0.0.0:P.
    let conflicts = lesson("port-conflicts");
    let row = conflicts
        .lines()
        .find(|line| line.starts_with("| TCP `[::]:P`"))
        .expect("port-conflicts's dual-stack row");
    assert!(
        row.contains("EADDRINUSE") && row.contains("IPV6_V6ONLY"),
        "{row}"
    );
    // macOS 10.14 release notes: no privileged ports for binds to the wildcard.
    assert!(
        prose("privileged-ports").contains("macOS since 10.14"),
        "lesson 5 on macOS"
    );
}

#[test]
fn time_wait_and_the_syn_scan_are_told_to_their_edges() {
    // RFC 9293 3.6: a simultaneous close goes through CLOSING to TIME_WAIT on both sides; a
    // RST ends a connection at once.
    let time_wait = prose("time-wait");
    assert!(time_wait.contains("simultaneous close") && time_wait.contains("skips TIME_WAIT"));
    // A raw-socket SYN has no TCP socket behind it: the scanning host's kernel answers the
    // SYN-ACK with RST (RFC 9293 3.10.7.1, a segment for no connection).
    let scanning = prose("port-scanning");
    assert!(
        !scanning.contains("on a SYN-ACK sends a RST"),
        "port-scanning credits nmap with the RST"
    );
    assert!(
        scanning.contains("own kernel does, with a RST"),
        "port-scanning on the SYN scan's RST"
    );
}

#[test]
fn the_server_lesson_teaches_the_handshake_before_it_names_its_packets() {
    // Issue 10: lesson 7 named SYN / SYN-ACK in its table before any lesson had said what a
    // handshake is (lesson 8 taught it). The short explanation comes first now.
    let text = prose("server-life");
    let taught = text
        .find("every TCP connection begins with a **three-way handshake**")
        .expect("lesson 7 says what the handshake is");
    let first_syn = text.find("SYN").expect("lesson 7 names SYN");
    assert!(
        taught < first_syn,
        "lesson 7 names SYN before it says what the handshake is"
    );
    for packet in ["**SYN**", "**SYN-ACK**", "**ACK**"] {
        assert!(text.contains(packet), "lesson 7 explains {packet}");
    }
}

#[test]
fn the_port_pool_is_named_for_what_it_shows_and_exhaustion_for_why_it_is_not_shown() {
    // bind(2): EADDRINUSE, the address is in use (a port held in TIME_WAIT refuses an explicit
    // bind); connect(2): EADDRNOTAVAIL, no ephemeral port left. The relay's defaults are
    // `--max-sockets 64` and `--connects-per-second 10` (relay/src/limits.rs), and
    // net.ipv4.tcp_tw_reuse is 2 (loopback only) since Linux 4.19 (ip-sysctl.rst).
    let text = prose("restarting-a-server");
    for needed in [
        "Each refusal is an explicit `bind()` to a port held in TIME_WAIT: **EADDRINUSE**",
        "It is *not* a client running out of ports",
        "**EADDRNOTAVAIL**",
        "The lab cannot show that safely, and does not pretend to",
        "64 sockets at once and 10 `connect()` calls a second",
        "`net.ipv4.tcp_tw_reuse` is 2 by default",
        "needs root and changes it for every program on the machine",
    ] {
        assert!(text.contains(needed), "lesson 13 should say: {needed}");
    }
    assert!(
        !text.to_lowercase().contains("pool is exhausted"),
        "lesson 13 calls ports held in TIME_WAIT an exhausted pool"
    );
}

#[test]
fn a_connect_to_a_silent_port_gives_up_when_linux_really_does() {
    // Linux 6.5 added net.ipv4.tcp_syn_linear_timeouts (ip-sysctl.rst; default 4): the first
    // SYN retransmissions keep the initial 1 s RTO, then it doubles. Measured on Linux 6.18 with
    // tcp_syn_retries = 6 and tcp_syn_linear_timeouts = 4 (loopback, in a network namespace,
    // SYNs dropped by a listener whose accept queue was full): resends at 1, 2, 3, 4, 5, 7,
    // 11, 19, 35, 69 s, ETIMEDOUT after 135.3 s. Before 6.5: 1+2+4+8+16+32+64 = 127 s.
    let text = prose("port-scanning");
    assert!(
        !text.contains("the time that `net.ipv4.tcp_syn_retries` = 6 doubling retries take"),
        "lesson 18 still puts the timeout on six doubling retries alone"
    );
    for needed in [
        "1, 2, 3, 4, 5, 7, 11, 19, 35 and 69 s",
        "after about **135 seconds**",
        "give up after about 127 seconds",
        "`net.ipv4.tcp_syn_linear_timeouts`, 4 by default",
    ] {
        assert!(text.contains(needed), "lesson 18 should say: {needed}");
    }
}
