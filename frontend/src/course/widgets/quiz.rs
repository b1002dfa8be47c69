//! The services quiz: questions drawn from the well-known table (`facts::services::WELL_KNOWN`),
//! each with four choices and one right answer. Drawing is a pure function of a seed (xorshift64*,
//! no dependency), so a quiz can be tested and replayed; the widget seeds it at random.

use crate::course::facts::services::{WELL_KNOWN, WellKnown, transports_label};

/// One multiple-choice question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Question {
    pub(crate) text: String,
    pub(crate) choices: Vec<String>,
    /// Index of the right choice in `choices`.
    pub(crate) answer: usize,
    /// Said after answering: the row's note, or the fact itself.
    pub(crate) explanation: String,
}

/// A small deterministic generator (xorshift64*): no dependency, same questions for a seed.
#[derive(Debug, Clone)]
pub(crate) struct Draw(u64);

impl Draw {
    pub(crate) fn new(seed: u64) -> Draw {
        // xorshift never leaves 0, so 0 is mapped to a fixed odd constant.
        Draw(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The three kinds of question the table can answer.
fn ask(row: &WellKnown, kind: usize, draw: &mut Draw) -> Question {
    let explanation = row.note.map_or_else(
        || {
            format!(
                "{} is port {} over {}.",
                row.protocol,
                row.port,
                transports_label(row.transports)
            )
        },
        str::to_owned,
    );
    let (text, right, others): (String, String, Vec<String>) = match kind {
        0 => (
            format!("Which port is registered for {}?", row.protocol),
            row.port.to_string(),
            WELL_KNOWN
                .iter()
                .filter(|r| r.port != row.port)
                .map(|r| r.port.to_string())
                .collect(),
        ),
        1 => (
            format!("What is on port {}?", row.port),
            row.protocol.to_owned(),
            WELL_KNOWN
                .iter()
                .filter(|r| r.port != row.port)
                .map(|r| r.protocol.to_owned())
                .collect(),
        ),
        _ => (
            format!(
                "Which transport does {} (port {}) use?",
                row.protocol, row.port
            ),
            transports_label(row.transports),
            ["TCP", "UDP", "TCP and UDP"]
                .into_iter()
                .filter(|t| *t != transports_label(row.transports))
                .map(str::to_owned)
                .collect(),
        ),
    };
    let mut pool = others;
    let mut choices = vec![right.clone()];
    while choices.len() < 4 && !pool.is_empty() {
        let pick = pool.swap_remove(draw.below(pool.len()));
        if !choices.contains(&pick) {
            choices.push(pick);
        }
    }
    // Shuffle (Fisher-Yates) so the right answer is not always first.
    for i in (1..choices.len()).rev() {
        let j = draw.below(i + 1);
        choices.swap(i, j);
    }
    let answer = choices.iter().position(|c| *c == right).unwrap_or(0);
    Question {
        text,
        choices,
        answer,
        explanation,
    }
}

/// `count` questions about different rows of the table, drawn from `seed`.
pub(crate) fn questions(seed: u64, count: usize) -> Vec<Question> {
    let mut draw = Draw::new(seed);
    let mut rows: Vec<&WellKnown> = WELL_KNOWN.iter().collect();
    let mut out = Vec::new();
    while out.len() < count && !rows.is_empty() {
        let row = rows.swap_remove(draw.below(rows.len()));
        let kind = draw.below(3);
        out.push(ask(row, kind, &mut draw));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::facts::services::well_known;

    #[test]
    fn every_question_has_one_right_answer_that_the_table_supports() {
        for seed in 0..200 {
            for q in questions(seed, 5) {
                assert!(q.choices.len() >= 3, "{q:?}");
                let mut unique = q.choices.clone();
                unique.sort();
                unique.dedup();
                assert_eq!(unique.len(), q.choices.len(), "no repeated choice: {q:?}");
                let right = &q.choices[q.answer];
                if let Some(protocol) = q.text.strip_prefix("Which port is registered for ") {
                    let port: u16 = right.parse().expect("a port");
                    let row = well_known(port).expect("in the table");
                    assert_eq!(format!("{}?", row.protocol), protocol);
                } else if let Some(rest) = q.text.strip_prefix("What is on port ") {
                    let port: u16 = rest.trim_end_matches('?').parse().expect("a port");
                    assert_eq!(well_known(port).map(|r| r.protocol), Some(right.as_str()));
                }
            }
        }
    }

    #[test]
    fn the_same_seed_draws_the_same_quiz_and_rows_do_not_repeat() {
        assert_eq!(questions(42, 5), questions(42, 5));
        let quiz = questions(7, WELL_KNOWN.len());
        assert_eq!(quiz.len(), WELL_KNOWN.len());
        let mut texts: Vec<&str> = quiz.iter().map(|q| q.text.as_str()).collect();
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), WELL_KNOWN.len());
    }

    #[test]
    fn dns_is_answered_as_tcp_and_udp() {
        let row = well_known(53).expect("DNS");
        let q = ask(row, 2, &mut Draw::new(1));
        assert_eq!(q.choices[q.answer], "TCP and UDP");
    }

    /// HTTPS is HTTP over TLS over TCP: QUIC on UDP 443 is HTTP/3's own transport, not TLS
    /// records over UDP, so "TCP" is the right answer (issue 10).
    #[test]
    fn https_is_answered_as_tcp() {
        let row = well_known(443).expect("HTTPS");
        let q = ask(row, 2, &mut Draw::new(1));
        assert_eq!(q.choices[q.answer], "TCP");
    }
}
