//! A download the page makes itself: a `data:` URL of a text, for an `<a download>` link (the
//! Code view's programs, the teacher's CSV), without asking the browser for a Blob.

/// A `data:` URL of the text, for the Download link: every byte but the unreserved ones of
/// RFC 3986 percent-encoded (what `encodeURIComponent` does, without asking the browser).
pub(crate) fn data_url(text: &str) -> String {
    let mut url = String::from("data:text/plain;charset=utf-8,");
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_download_link_carries_the_text_byte_for_byte() {
        assert_eq!(
            data_url("a b\n\"é\""),
            "data:text/plain;charset=utf-8,a%20b%0A%22%C3%A9%22"
        );
    }
}
