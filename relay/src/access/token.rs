//! The relay's key: made from the operating system's random number generator per launch (or
//! read from `--token-file`), never printed by `Debug`, and compared in constant time.

use std::fmt;

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
    /// A fresh key: 32 bytes from the OS CSPRNG (`getrandom`: getrandom(2) on Linux, the
    /// platform's own CSPRNG elsewhere), in lowercase hex.
    pub fn random() -> std::io::Result<Token> {
        let mut bytes = [0u8; RANDOM_BYTES];
        getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
        Ok(Token(hex::encode(bytes)))
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

/// Equality whose time depends only on the lengths (a key's length is no secret: generated
/// ones are always 64 characters), not on where the first difference is: `subtle`'s
/// `ConstantTimeEq` looks at every byte, and its result is a `Choice` the optimiser cannot see
/// through.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
