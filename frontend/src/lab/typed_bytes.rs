//! What a learner types into a data field, turned into bytes: text with the same escapes the
//! log shows (`\n`, `\r`, `\t`, `\\`, `\xNN`), or hex pairs.

use socketlab_shared::Payload;

/// How the data field is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Text,
    Hex,
}

impl Encoding {
    pub(crate) fn from_name(name: &str) -> Encoding {
        if name == "hex" {
            Encoding::Hex
        } else {
            Encoding::Text
        }
    }
}

/// The bytes of `input`, or a sentence saying why it is not valid.
pub(crate) fn parse(input: &str, encoding: Encoding) -> Result<Payload, String> {
    match encoding {
        Encoding::Hex => Payload::from_hex(input).map_err(|e| format!("not hex: {e}")),
        Encoding::Text => unescape(input).map(Payload),
    }
}

fn unescape(input: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(input.len());
    let mut chars = input.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('n') => out.push(b'\n'),
            Some('r') => out.push(b'\r'),
            Some('t') => out.push(b'\t'),
            Some('0') => out.push(0),
            Some('\\') => out.push(b'\\'),
            Some('x') => {
                let pair: String = chars.by_ref().take(2).collect();
                let byte = u8::from_str_radix(&pair, 16)
                    .ok()
                    .filter(|_| pair.len() == 2)
                    .ok_or_else(|| format!("\\x needs two hex digits, got \"{pair}\""))?;
                out.push(byte);
            }
            Some(other) => {
                return Err(format!(
                    "unknown escape \\{other}; use \\n \\r \\t \\\\ or \\xNN"
                ));
            }
            None => return Err("a lone \\ at the end; write \\\\ for a backslash".into()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_takes_the_escapes_the_log_shows() {
        let p = parse(r"hi\r\n\x00\\", Encoding::Text).unwrap();
        assert_eq!(p.as_bytes(), b"hi\r\n\x00\\");
        assert_eq!(p.to_text(), r"hi\r\n\x00\\");
    }

    #[test]
    fn hex_mode_reads_pairs() {
        assert_eq!(parse("68 69", Encoding::Hex).unwrap().as_bytes(), b"hi");
        assert!(parse("6", Encoding::Hex).is_err());
    }

    #[test]
    fn a_bad_escape_is_a_message_not_a_panic() {
        assert!(parse(r"\q", Encoding::Text).is_err());
        assert!(parse(r"\x4", Encoding::Text).is_err());
        assert!(parse("\\", Encoding::Text).is_err());
    }
}
