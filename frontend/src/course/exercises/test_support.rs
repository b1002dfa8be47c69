//! What every exercise test file shares: a fixture read as a transcript, and the two
//! judgements, a pass (returning its evidence) and a miss (returning its hint).

use crate::course::exercises::check;
use socketlab_shared::{Done, FromRelay, Outcome, SocketType};

use crate::session::transcript::{Entry, from_json_lines};

/// A recorded session (`fixtures/*.jsonl`) as the transcript the page would hold.
pub(super) fn load(text: &str) -> Vec<Entry> {
    let transcript = from_json_lines(text).expect("a fixture reads as a transcript");
    assert!(!transcript.is_empty());
    transcript
}

/// Exercise `id` passes on `transcript` (and `answer`); returns the evidence it quotes.
pub(super) fn passes(id: &str, transcript: &[Entry], answer: Option<&str>) -> String {
    let verdict = check(id, transcript, answer);
    assert!(verdict.passed, "{id} should pass: {verdict:?}");
    assert!(verdict.hint.is_none(), "a pass gives no hint");
    verdict.evidence.expect("a pass quotes its evidence")
}

/// Exercise `id` does not pass; returns the hint that says what is missing.
pub(super) fn fails(id: &str, transcript: &[Entry], answer: Option<&str>) -> String {
    let verdict = check(id, transcript, answer);
    assert!(!verdict.passed, "{id} must not pass: {verdict:?}");
    assert!(verdict.evidence.is_none(), "a miss quotes no evidence");
    verdict.hint.expect("a miss says what is missing")
}

/// An edited copy of `transcript` in which every socket() was answered as a UDP socket: the
/// same calls on datagram sockets, for checks whose task is about TCP.
pub(super) fn as_udp(transcript: &[Entry]) -> Vec<Entry> {
    let mut udp = transcript.to_vec();
    for entry in &mut udp {
        if let Entry::Message(FromRelay::Reply {
            outcome: Outcome::Ok(Done::Socket { kind, .. }),
            ..
        }) = entry
        {
            *kind = SocketType::Datagram;
        }
    }
    udp
}

/// Index of the `n`th (from 0) reply whose outcome `pick` accepts.
pub(super) fn nth_reply(transcript: &[Entry], n: usize, pick: impl Fn(&Outcome) -> bool) -> usize {
    transcript
        .iter()
        .enumerate()
        .filter(
            |(_, e)| matches!(e, Entry::Message(FromRelay::Reply { outcome, .. }) if pick(outcome)),
        )
        .nth(n)
        .map(|(at, _)| at)
        .expect("the recording has that reply")
}

/// The local address of the `n`th successful bind in the recording.
pub(super) fn bind_local(transcript: &[Entry], n: usize) -> String {
    let at = nth_reply(transcript, n, |o| {
        matches!(o, Outcome::Ok(Done::Bind { .. }))
    });
    match &transcript[at] {
        Entry::Message(FromRelay::Reply {
            outcome: Outcome::Ok(Done::Bind { local }),
            ..
        }) => local.clone(),
        other => panic!("not a bind reply: {other:?}"),
    }
}
