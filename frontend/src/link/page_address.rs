//! What the page's own address says to the relay link: the key after `#token=` (the relay prints
//! it; the fragment never leaves the browser; only `A-Z a-z 0-9 . _ ~ -`), and, for a page served
//! by someone else (`trunk serve`), the relay named after `&relay=`: loopback only (`127.x.y.z`,
//! `localhost`, `[::1]`, with a port). Pure, unit-tested.

/// The key in a location's fragment (`#token=KEY`; other `&`-separated parts are ignored).
/// Only characters a key can have are accepted, so nothing odd reaches a header.
pub(crate) fn key_from_fragment(fragment: &str) -> Option<String> {
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    fragment
        .split('&')
        .filter_map(|part| part.strip_prefix("token="))
        .find(|key| {
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '-'))
        })
        .map(str::to_owned)
}

/// A relay named in the fragment (`relay=HOST:PORT`), for a page served by someone else
/// (`trunk serve` during development, whose WebSocket proxy cannot pass on a subprotocol).
/// Only a loopback relay is accepted, so a crafted link cannot point the page elsewhere.
pub(crate) fn relay_from_fragment(fragment: &str) -> Option<String> {
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    let relay = fragment
        .split('&')
        .find_map(|part| part.strip_prefix("relay="))?;
    let (host, port) = relay.rsplit_once(':')?;
    let loopback = host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    let port_ok = !port.is_empty() && port.len() <= 5 && port.parse::<u16>().is_ok_and(|p| p > 0);
    (loopback && port_ok).then(|| relay.to_owned())
}

/// The key in the page's own address, if it has one.
pub(crate) fn key_in_address() -> Option<String> {
    let fragment = web_sys::window()?.location().hash().ok()?;
    key_from_fragment(&fragment)
}

#[cfg(test)]
mod tests {
    use super::{key_from_fragment, relay_from_fragment};

    #[test]
    fn the_key_comes_from_the_fragment() {
        let key = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            key_from_fragment(&format!("#token={key}")).as_deref(),
            Some(key)
        );
        assert_eq!(
            key_from_fragment(&format!("#x=1&token={key}")).as_deref(),
            Some(key)
        );
        assert_eq!(key_from_fragment(""), None);
        assert_eq!(key_from_fragment("#"), None);
        assert_eq!(key_from_fragment("#token="), None);
        assert_eq!(key_from_fragment("#tokens=abc"), None);
        assert_eq!(key_from_fragment("#token=a,b"), None, "no header tricks");
        assert_eq!(key_from_fragment("#token=a b"), None);
    }

    #[test]
    fn a_relay_named_in_the_fragment_must_be_on_loopback() {
        let relay = |f: &str| relay_from_fragment(f);
        assert_eq!(
            relay("#token=k&relay=127.0.0.1:7878").as_deref(),
            Some("127.0.0.1:7878")
        );
        assert_eq!(relay("#relay=localhost:1").as_deref(), Some("localhost:1"));
        assert_eq!(relay("#relay=[::1]:7878").as_deref(), Some("[::1]:7878"));
        assert_eq!(relay("#token=k"), None);
        assert_eq!(relay("#relay=evil.example:80"), None);
        assert_eq!(relay("#relay=10.0.0.1:7878"), None);
        assert_eq!(relay("#relay=127.0.0.1"), None);
        assert_eq!(relay("#relay=127.0.0.1:0"), None);
        assert_eq!(relay("#relay=127.0.0.1:7878/x"), None);
        assert_eq!(relay("#relay=localhost@evil.example:80"), None);
    }
}
