//! The one refusal of the relay's own rules, whichever made it: the address policy (`policy`,
//! through `checkpoint`) or a limit (`limits`). Both answer with a stable rule name and a
//! sentence for the learner that names the flag that would allow it, and both reach the browser
//! the same way: as `Outcome::Refused` for a call (never a fake errno), or as the reason of a
//! `malformed` message for a frame that had no call id (docs/protocol.md).

use socketlab_shared::Outcome;

/// A refusal by the relay's policy or a limit: the kernel was never asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} ({rule})")]
pub(crate) struct Refusal {
    /// The stable name of the rule (`connect_not_loopback`, `rate_limit`...), in the reply.
    pub(crate) rule: &'static str,
    /// The sentence for the learner.
    pub(crate) reason: String,
}

impl Refusal {
    pub(crate) fn new(rule: &'static str, reason: impl Into<String>) -> Self {
        Refusal {
            rule,
            reason: reason.into(),
        }
    }
}

impl From<Refusal> for Outcome {
    fn from(refusal: Refusal) -> Self {
        Outcome::Refused {
            rule: refusal.rule.into(),
            reason: refusal.reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_a_refused_outcome_with_its_rule_and_reason() {
        let outcome = Outcome::from(Refusal::new("rate_limit", "slow down"));
        assert_eq!(
            outcome,
            Outcome::Refused {
                rule: "rate_limit".into(),
                reason: "slow down".into()
            }
        );
    }
}
