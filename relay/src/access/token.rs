//! The relay's key: made from the operating system's random number generator per launch (or
//! read from `--token-file`), never printed by `Debug`, and compared in constant time.

use std::fmt;
use std::io::Read as _;

/// How a page presents the key: as a WebSocket subprotocol `socketlab.token.KEY`, because the
/// browser's WebSocket API cannot set any other header.
pub(crate) const TOKEN_PROTOCOL_PREFIX: &str = "socketlab.token.";

/// Random bytes in a generated key: 256 bits, twice the 128 the rules ask for.
const RANDOM_BYTES: usize = 32;

/// The shortest key accepted from a file: 32 characters, 128 bits even if they are only hex.
pub(crate) const MIN_TOKEN_CHARS: usize = 32;

/// The longest key accepted from a file (it travels in a header).
const MAX_TOKEN_CHARS: usize = 512;

/// A key. Every value has passed [`Token::parse`] or came from [`Token::random`], so it is
/// long enough and safe in a URL fragment and in a subprotocol name.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(<{} characters, not shown>)", self.0.len())
    }
}

impl Token {
    /// A fresh key: 32 bytes from the OS CSPRNG (`/dev/urandom`), in lowercase hex.
    pub fn random() -> std::io::Result<Token> {
        let mut bytes = [0u8; RANDOM_BYTES];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        Ok(Token(hex(&bytes)))
    }

    /// A key given by the operator (already trimmed): at least [`MIN_TOKEN_CHARS`] characters,
    /// each a letter, digit, `.`, `_`, `~` or `-` (unreserved in a URL, and valid in a
    /// subprotocol name).
    pub fn parse(text: &str) -> Result<Token, String> {
        let chars = text.chars().count();
        if chars < MIN_TOKEN_CHARS {
            return Err(format!(
                "it has {chars} characters; a key needs at least {MIN_TOKEN_CHARS} (128 bits \
                 as hex). Make one with: head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'"
            ));
        }
        if chars > MAX_TOKEN_CHARS {
            return Err(format!(
                "it has {chars} characters; at most {MAX_TOKEN_CHARS} are accepted"
            ));
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '-')))
        {
            return Err(format!(
                "it contains {bad:?}; a key may hold only letters, digits, '.', '_', '~' and '-'"
            ));
        }
        Ok(Token(text.to_owned()))
    }

    /// The key as text (for the printed URL, and for tests).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this key, in time that does not depend on where they differ.
    pub(crate) fn matches(&self, presented: &[u8]) -> bool {
        constant_time_eq(presented, self.0.as_bytes())
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// Equality whose time depends only on the lengths (a key's length is no secret: generated
/// ones are always 64 characters), not on the position of the first difference: every byte is
/// looked at, and the differences are folded together before the one comparison.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}
