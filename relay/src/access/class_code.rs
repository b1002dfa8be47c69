//! The class code (class mode, `--class`): what a teacher writes on the board so that learners
//! get a session without the launch key. It opens a session and nothing else: the teacher's
//! routes want the teacher's key, and the Origin and Host rules still apply to a session asked
//! for with it.
//!
//! A generated code is 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), over
//! 39 bits, shown as `ABCD-EFGH`. What a learner types is read leniently: case, spaces and dashes
//! do not matter. The code is kept in the class's store, so a restart keeps it (the board keeps
//! working for the learners who have it); `--class-code` chooses one.

use std::fmt;

use socketlab_shared::class::{MAX_CODE_CHARS, normal_code, shown_code};

use super::token::constant_time_eq;

/// How a page presents the class code: as a WebSocket subprotocol `socketlab.class.CODE`.
pub(crate) const CLASS_PROTOCOL_PREFIX: &str = "socketlab.class.";

/// How other clients (and the page's question after a failed handshake) present it:
/// `Authorization: Class CODE`.
pub(crate) const CLASS_AUTHORIZATION_SCHEME: &[u8] = b"Class ";

/// The characters of a generated code: digits and capitals without 0, 1, I, L and O, which
/// are read wrong from a whiteboard.
const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// Characters in a generated code: 8 × log2(31), over 39 bits.
const GENERATED_CHARS: usize = 8;

/// The shortest code an operator may choose.
pub(crate) const MIN_CHOSEN_CHARS: usize = 8;

/// A class code, in its normal form: capitals and digits only, no dashes.
#[derive(Clone, PartialEq, Eq)]
pub struct ClassCode(String);

impl fmt::Debug for ClassCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClassCode(<{} characters, not shown>)", self.0.len())
    }
}

impl fmt::Display for ClassCode {
    /// Groups of four joined by `-`, as it is written on the board: `ABCD-EFGH`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&shown_code(&self.0))
    }
}

/// `text` in the normal form (`shared::class::normal_code`), if it is text at all.
fn normal_form(text: &[u8]) -> Option<String> {
    std::str::from_utf8(text).ok().and_then(normal_code)
}

impl ClassCode {
    /// A fresh code: 8 characters drawn uniformly from the 31-character alphabet with the
    /// OS CSPRNG (5 bits of a random byte each, a 31 drawn again, so there is no bias).
    pub fn random() -> std::io::Result<ClassCode> {
        let mut code = String::with_capacity(GENERATED_CHARS);
        let mut bytes = [0u8; 16];
        while code.len() < GENERATED_CHARS {
            getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
            for byte in bytes {
                if let Some(&c) = ALPHABET.get(usize::from(byte & 0x1f))
                    && code.len() < GENERATED_CHARS
                {
                    code.push(char::from(c));
                }
            }
        }
        Ok(ClassCode(code))
    }

    /// A code the operator chose (`--class-code`), read as a learner's would be: at least
    /// [`MIN_CHOSEN_CHARS`] letters and digits once spaces and dashes are dropped.
    pub fn parse(text: &str) -> Result<ClassCode, String> {
        let Some(code) = normal_form(text.trim().as_bytes()) else {
            return Err(format!(
                "{text:?} is not a class code: use letters and digits (dashes and spaces are \
                 ignored), at most {MAX_CODE_CHARS}"
            ));
        };
        if code.len() < MIN_CHOSEN_CHARS {
            return Err(format!(
                "{text:?} is too short for a class code: anyone who reaches the relay could \
                 guess it. Use at least {MIN_CHOSEN_CHARS} letters and digits, or leave \
                 --class-code out and the relay makes one"
            ));
        }
        Ok(ClassCode(code))
    }

    /// The normal form (capitals and digits), as stored and as the page sends it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a presented code is this one, as a learner may type it, in time that depends
    /// only on the lengths.
    pub(crate) fn matches(&self, presented: &[u8]) -> bool {
        normal_form(presented)
            .is_some_and(|code| constant_time_eq(code.as_bytes(), self.0.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_code_has_eight_characters_without_look_alikes() {
        for _ in 0..200 {
            let code = ClassCode::random().unwrap();
            assert_eq!(code.as_str().len(), 8);
            assert!(
                code.as_str()
                    .chars()
                    .all(|c| !"01ILO".contains(c) && c.is_ascii_alphanumeric()),
                "{}",
                code.as_str()
            );
            let shown = code.to_string();
            assert_eq!(shown.len(), 9);
            assert_eq!(&shown[4..5], "-");
        }
    }

    #[test]
    fn generated_codes_use_the_whole_alphabet() {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..400 {
            seen.extend(ClassCode::random().unwrap().as_str().chars());
        }
        assert_eq!(seen.len(), 31, "{seen:?}");
    }

    #[test]
    fn a_code_matches_however_the_learner_types_it() {
        let code = ClassCode::parse("ABCD-EFGH").unwrap();
        assert_eq!(code.as_str(), "ABCDEFGH");
        for typed in ["ABCDEFGH", "abcd-efgh", " abcd efgh ", "AbCd-EfGh"] {
            assert!(code.matches(typed.as_bytes()), "{typed:?}");
        }
        for wrong in [
            "ABCD-EFGI",
            "ABCDEFG",
            "ABCDEFGHA",
            "",
            "ABCD.EFGH",
            "ABCDEFGH,",
        ] {
            assert!(!code.matches(wrong.as_bytes()), "{wrong:?}");
        }
    }

    #[test]
    fn a_chosen_code_must_be_long_enough_and_plain() {
        assert!(
            ClassCode::parse("net101")
                .unwrap_err()
                .contains("too short")
        );
        assert!(ClassCode::parse("net 101 - autumn").is_ok());
        assert!(
            ClassCode::parse("net101!x")
                .unwrap_err()
                .contains("letters")
        );
        assert!(ClassCode::parse(&"A".repeat(33)).is_err());
        assert_eq!(
            ClassCode::parse("netlab-2026").unwrap().to_string(),
            "NETL-AB20-26"
        );
    }

    #[test]
    fn debug_does_not_show_the_code() {
        let code = ClassCode::parse("ABCD-EFGH").unwrap();
        assert!(!format!("{code:?}").contains("ABCD"));
    }
}
