//! What the page's own address says to the relay link: the key after `#token=` (the relay prints
//! it; the fragment never leaves the browser; only `A-Z a-z 0-9 . _ ~ -`), or in class mode the
//! class code after `#class=` (what the teacher gives: letters and digits, case, spaces and
//! dashes aside); and, for a page served by someone else (`trunk serve`), the relay named after
//! `&relay=`: loopback only (`127.x.y.z`, `localhost`, `[::1]`, with a port). Pure, unit-tested.

/// What the page presents to the relay to get a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credential {
    /// The launch key the relay printed.
    Key(String),
    /// A class's code, in its normal form (capitals and digits).
    ClassCode(String),
}

impl Credential {
    /// The subprotocol that carries it in the WebSocket handshake (a page can set no other
    /// header there).
    pub(crate) fn protocol(&self) -> String {
        match self {
            Credential::Key(key) => format!("socketlab.token.{key}"),
            Credential::ClassCode(code) => format!("socketlab.class.{code}"),
        }
    }

    /// The `Authorization` header that carries it in a plain request.
    pub(crate) fn authorization(&self) -> String {
        match self {
            Credential::Key(key) => format!("Bearer {key}"),
            Credential::ClassCode(code) => format!("Class {code}"),
        }
    }
}

pub(crate) use socketlab_shared::class::{
    normal_code as normal_class_code, shown_code as shown_class_code,
};

/// The class code in a location's fragment (`#class=CODE`), in its normal form.
pub(crate) fn class_code_from_fragment(fragment: &str) -> Option<String> {
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    fragment
        .split('&')
        .filter_map(|part| part.strip_prefix("class="))
        .find_map(normal_class_code)
}

/// What the fragment gives to present to the relay: the key if it has one, else a class code.
pub(crate) fn credential_from_fragment(fragment: &str) -> Option<Credential> {
    key_from_fragment(fragment)
        .map(Credential::Key)
        .or_else(|| class_code_from_fragment(fragment).map(Credential::ClassCode))
}

/// The fragment with `code` as its class code, in place of any key or code it had; what else
/// it says (`relay=`) is kept.
pub(crate) fn fragment_with_class_code(fragment: &str, code: &str) -> String {
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    let mut parts: Vec<String> = vec![format!("class={}", shown_class_code(code))];
    parts.extend(
        fragment
            .split('&')
            .filter(|part| {
                !part.is_empty() && !part.starts_with("token=") && !part.starts_with("class=")
            })
            .map(str::to_owned),
    );
    format!("#{}", parts.join("&"))
}

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

/// Calls `changed` at each `hashchange` of the page (a new fragment without a reload) until
/// the returned listener is dropped.
pub(crate) fn on_hash_change(changed: impl FnMut() + 'static) -> HashListener {
    use wasm_bindgen::JsCast as _;
    let mut changed = changed;
    let closure = wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::Event)>::new(
        move |_: web_sys::Event| changed(),
    );
    let window = web_sys::window();
    if let Some(window) = &window {
        let _ =
            window.add_event_listener_with_callback("hashchange", closure.as_ref().unchecked_ref());
    }
    HashListener { window, closure }
}

/// A `hashchange` listener; dropping it removes it.
pub(crate) struct HashListener {
    window: Option<web_sys::Window>,
    closure: wasm_bindgen::closure::Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for HashListener {
    fn drop(&mut self) {
        use wasm_bindgen::JsCast as _;
        if let Some(window) = &self.window {
            let _ = window.remove_event_listener_with_callback(
                "hashchange",
                self.closure.as_ref().unchecked_ref(),
            );
        }
    }
}

/// What the page's own address gives to present to the relay, if anything.
pub(crate) fn credential_in_address() -> Option<Credential> {
    let fragment = web_sys::window()?.location().hash().ok()?;
    credential_from_fragment(&fragment)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_key_comes_before_a_class_code_in_the_fragment() {
        let key = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            credential_from_fragment("#class=k7qm-2xrp"),
            Some(Credential::ClassCode("K7QM2XRP".into()))
        );
        assert_eq!(
            credential_from_fragment(&format!("#class=K7QM-2XRP&token={key}")),
            Some(Credential::Key(key.into()))
        );
        assert_eq!(credential_from_fragment("#class="), None);
        assert_eq!(credential_from_fragment("#class=a%2Cb"), None);
        assert_eq!(credential_from_fragment("#relay=127.0.0.1:7878"), None);
        assert_eq!(
            Credential::ClassCode("K7QM2XRP".into()).protocol(),
            "socketlab.class.K7QM2XRP"
        );
        assert_eq!(
            Credential::ClassCode("K7QM2XRP".into()).authorization(),
            "Class K7QM2XRP"
        );
        assert_eq!(
            Credential::Key(key.into()).authorization(),
            format!("Bearer {key}")
        );
    }

    #[test]
    fn a_typed_class_code_replaces_the_key_and_keeps_the_relay() {
        assert_eq!(fragment_with_class_code("", "K7QM2XRP"), "#class=K7QM-2XRP");
        assert_eq!(
            fragment_with_class_code("#token=old&relay=127.0.0.1:7878", "K7QM2XRP"),
            "#class=K7QM-2XRP&relay=127.0.0.1:7878"
        );
        assert_eq!(
            fragment_with_class_code("#class=OLD12345", "K7QM2XRP"),
            "#class=K7QM-2XRP"
        );
    }
}
