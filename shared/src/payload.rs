//! The bytes of a send or a receive (`Payload`): one wire form (a lowercase hex string, readable in
//! devtools and exact for any byte), and the two ways the lab shows them, as escaped text and as
//! hex.

use std::fmt::{self, Write as _};

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// Bytes that travel in a message. On the wire: `"68690a"` for `b"hi\n"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Payload(pub Vec<u8>);

impl Payload {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Space-separated hex pairs, as a packet dump shows them: `68 69 0a`.
    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(self.0.len() * 3);
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            let _ = write!(out, "{byte:02x}");
        }
        out
    }

    /// The bytes as text: printable ASCII as itself, and every other byte as an escape
    /// (`\n`, `\r`, `\t`, `\xNN`), so that what was sent is never hidden.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.0.len());
        for &byte in &self.0 {
            match byte {
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                b'\\' => out.push_str("\\\\"),
                0x20..=0x7e => out.push(char::from(byte)),
                _ => {
                    let _ = write!(out, "\\x{byte:02x}");
                }
            }
        }
        out
    }

    /// Parses what a learner types in hex mode: pairs of hex digits, spaces allowed.
    pub fn from_hex(text: &str) -> Result<Self, PayloadError> {
        let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if !digits.len().is_multiple_of(2) {
            return Err(PayloadError::OddLength);
        }
        digits
            .chunks(2)
            .map(|pair| Ok((hex_value(pair[0])? << 4) | hex_value(pair[1])?))
            .collect::<Result<Vec<u8>, _>>()
            .map(Payload)
    }
}

impl From<&str> for Payload {
    fn from(text: &str) -> Self {
        Payload(text.as_bytes().to_vec())
    }
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Self {
        Payload(bytes)
    }
}

fn hex_value(digit: u8) -> Result<u8, PayloadError> {
    match digit {
        b'0'..=b'9' => Ok(digit - b'0'),
        b'a'..=b'f' => Ok(digit - b'a' + 10),
        b'A'..=b'F' => Ok(digit - b'A' + 10),
        _ => Err(PayloadError::NotHex(char::from(digit))),
    }
}

/// Why a hex string is not a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadError {
    OddLength,
    NotHex(char),
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadError::OddLength => f.write_str("hex needs two digits per byte"),
            PayloadError::NotHex(c) => write!(f, "{c:?} is not a hex digit"),
        }
    }
}

impl std::error::Error for PayloadError {}

impl Serialize for Payload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut hex = String::with_capacity(self.0.len() * 2);
        for byte in &self.0 {
            let _ = write!(hex, "{byte:02x}");
        }
        serializer.serialize_str(&hex)
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HexVisitor;
        impl de::Visitor<'_> for HexVisitor {
            type Value = Payload;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string of hex digit pairs")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Payload, E> {
                if text.bytes().any(|b| b.is_ascii_whitespace()) {
                    return Err(E::custom("hex payload must not contain spaces"));
                }
                Payload::from_hex(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(HexVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_travels_as_lowercase_hex() {
        let json = serde_json::to_string(&Payload::from("hi\n")).unwrap();
        assert_eq!(json, r#""68690a""#);
        let back: Payload = serde_json::from_str(r#""68690A""#).unwrap();
        assert_eq!(back, Payload::from("hi\n"));
    }

    #[test]
    fn bad_hex_is_a_decode_error_not_a_panic() {
        assert!(serde_json::from_str::<Payload>(r#""abc""#).is_err());
        assert!(serde_json::from_str::<Payload>(r#""zz""#).is_err());
        assert!(serde_json::from_str::<Payload>("12").is_err());
    }

    #[test]
    fn text_view_escapes_what_is_not_printable() {
        let p = Payload(vec![b'h', b'i', b'\r', b'\n', 0, 0xff, b'\\']);
        assert_eq!(p.to_text(), r"hi\r\n\x00\xff\\");
        assert_eq!(p.to_hex(), "68 69 0d 0a 00 ff 5c");
    }

    #[test]
    fn typed_hex_allows_spaces() {
        assert_eq!(Payload::from_hex("68 69").unwrap(), Payload::from("hi"));
        assert_eq!(Payload::from_hex("6"), Err(PayloadError::OddLength));
        assert_eq!(Payload::from_hex("6g"), Err(PayloadError::NotHex('g')));
    }
}
