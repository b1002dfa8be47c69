//! Who may talk to the relay: the per-launch key (token), the Origin allowlist and the Host
//! allowlist, checked in one place ([`guard`], a middleware in front of every route, with its
//! [`Gate`]: the rules and the relay's own address), and the rule that the relay listens on
//! loopback unless the operator says otherwise. A request it will not serve gets a [`Denial`]:
//! 401 or 403, `x-socketlab-refused: RULE` and a sentence with the way out. It also makes the
//! URLs the relay prints ([`browser_url`] and the page URLs with the key).
//!
//! Why each check: browsers do not apply the same-origin policy to WebSocket handshakes, so
//! any page the learner opens could try `ws://127.0.0.1:7878/ws`. The Origin allowlist stops
//! those pages; DNS rebinding (a hostile name that resolves to 127.0.0.1, so the page *is*
//! same-origin with it) is stopped by the Host allowlist; and the key, which only the URL the
//! relay printed carries, stops everything else that is not the learner's own page. The key
//! travels in the URL's fragment (never sent to a server, never in a Referer) and, from the
//! page, in the WebSocket subprotocol header (never logged, never in a URL).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

mod class_code;
mod names;
mod token;

pub use class_code::ClassCode;
use class_code::{CLASS_AUTHORIZATION_SCHEME, CLASS_PROTOCOL_PREFIX};
pub use names::{AllowedHost, Origin};
use names::{host_of, own_origins};
use token::TOKEN_PROTOCOL_PREFIX;
pub use token::Token;

/// The path of the WebSocket. Every request to it (upgrade or not) needs the key and an
/// allowed Origin; so does any request, on any path, that asks for an upgrade.
pub(crate) const WS_PATH: &str = "/ws";

/// The subprotocol the relay selects in its handshake answer. A browser that offered
/// subprotocols fails the handshake unless the server selects one of them.
pub(crate) const PROTOCOL: &str = "socketlab.v1";

/// The response header naming the rule that refused a request, for the page and for tests.
pub(crate) const REFUSED_HEADER: &str = "x-socketlab-refused";

/// Access rules. There is no "open" configuration: a config always holds a key, and
/// `Default` makes a fresh random one.
#[derive(Debug, Clone)]
pub struct AccessConfig {
    /// The key a session must present.
    pub token: Token,
    /// Origins allowed besides the relay's own (`http://127.0.0.1:PORT`, `http://localhost:PORT`).
    pub allow_origins: Vec<Origin>,
    /// Host names allowed besides loopback IP literals and `localhost`.
    pub allow_hosts: Vec<AllowedHost>,
}

impl Default for AccessConfig {
    /// A fresh random key, nothing allowed beyond the defaults.
    ///
    /// # Panics
    /// If the operating system's random number generator cannot be read, which leaves no safe
    /// way to make a key. (The binary uses the fallible [`AccessArgs::into_config`].)
    fn default() -> Self {
        AccessConfig::with_token(
            Token::random().expect("the OS random number generator (/dev/urandom) is readable"),
        )
    }
}

impl AccessConfig {
    /// Only `token`, nothing allowed beyond the defaults.
    pub fn with_token(token: Token) -> Self {
        AccessConfig {
            token,
            allow_origins: Vec::new(),
            allow_hosts: Vec::new(),
        }
    }

    /// The key, as the page and the tests present it.
    pub fn token(&self) -> &str {
        self.token.as_str()
    }

    /// The URL a learner opens for a relay listening on `local`: the page, with the key in the
    /// fragment (browsers never send the fragment to a server or put it in a Referer).
    pub fn page_url(&self, local: SocketAddr) -> String {
        format!("{}#token={}", browser_url(local), self.token.as_str())
    }

    /// The URLs for pages that `--allow-origin` admits but another server serves (`trunk
    /// serve` in the dev loop): that origin's page, with the key and this relay's address in
    /// the fragment, so the page connects straight to the relay (trunk's WebSocket proxy
    /// cannot pass a subprotocol on).
    pub fn other_page_urls(&self, local: SocketAddr) -> Vec<String> {
        let page = browser_url(local);
        let relay = page
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        self.allow_origins
            .iter()
            .map(|origin| format!("{origin}/#token={}&relay={relay}", self.token.as_str()))
            .collect()
    }
}

/// Why the access configuration could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("cannot make a random key: {0}")]
    Random(#[source] std::io::Error),
    #[error("cannot read the key file {path}: {source}")]
    TokenFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the key in {path} is unusable: {reason}")]
    BadToken { path: PathBuf, reason: String },
    #[error(
        "refusing to listen on {addr}: it is not a loopback address, so other machines could \
         make socket calls through this relay. Listen on 127.0.0.1 or [::1], or pass \
         --expose-to-network if that is really what you want"
    )]
    NotLoopback { addr: SocketAddr },
}

/// The access flags of `socketlab-relay`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AccessArgs {
    /// Use the key in this file (trimmed; at least 32 characters of A-Z a-z 0-9 . _ ~ -)
    /// instead of a new random key per launch.
    #[arg(long, value_name = "PATH", env = "SOCKETLAB_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Also accept sessions from pages of this origin, e.g. http://127.0.0.1:8080 for
    /// `trunk serve` (repeatable). Always accepted: the relay's own http://127.0.0.1:PORT and
    /// http://localhost:PORT.
    #[arg(long, value_name = "ORIGIN", value_parser = parse_origin)]
    pub allow_origin: Vec<Origin>,
    /// Also answer requests whose Host is this name (repeatable). Always accepted: loopback IP
    /// literals and localhost; anything else is refused, against DNS rebinding.
    #[arg(long, value_name = "NAME", value_parser = parse_host)]
    pub allow_host: Vec<AllowedHost>,
    /// Allow --listen on an address that is not loopback. Anyone who can reach it and holds
    /// the key can then make socket calls as the user running the relay.
    #[arg(long, default_value_t = false)]
    pub expose_to_network: bool,
}

fn parse_origin(value: &str) -> Result<Origin, String> {
    Origin::parse(value)
}

fn parse_host(value: &str) -> Result<AllowedHost, String> {
    AllowedHost::parse(value)
}

impl AccessArgs {
    /// The access configuration: the key from `--token-file`, else a fresh random one.
    pub fn into_config(self) -> Result<AccessConfig, AccessError> {
        let token = match &self.token_file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| AccessError::TokenFile {
                        path: path.clone(),
                        source,
                    })?;
                Token::parse(text.trim()).map_err(|reason| AccessError::BadToken {
                    path: path.clone(),
                    reason,
                })?
            }
            None => Token::random().map_err(AccessError::Random)?,
        };
        Ok(AccessConfig {
            token,
            allow_origins: self.allow_origin,
            allow_hosts: self.allow_host,
        })
    }

    /// Whether the relay may listen on `addr`: loopback always; anything else (including the
    /// wildcard 0.0.0.0 or ::) only with `--expose-to-network`, and then with a warning to print.
    pub fn check_listen(&self, addr: SocketAddr) -> Result<Option<String>, AccessError> {
        check_listen(addr, self.expose_to_network)
    }
}

/// See [`AccessArgs::check_listen`]: `Ok(Some(warning))` when allowed only by the flag.
pub(crate) fn check_listen(addr: SocketAddr, expose: bool) -> Result<Option<String>, AccessError> {
    if addr.ip().is_loopback() {
        Ok(None)
    } else if expose {
        Ok(Some(format!(
            "WARNING: listening on {addr}, which is not loopback. Anyone who can reach this \
             address and holds the key can make real socket calls as this user. Keep the \
             printed URL secret, and add --allow-host / --allow-origin for the name students use."
        )))
    } else {
        Err(AccessError::NotLoopback { addr })
    }
}

/// The URL a learner opens for a relay listening on `local`: an unspecified listen address
/// (0.0.0.0 or ::) is reached through loopback.
pub fn browser_url(local: SocketAddr) -> String {
    let ip = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/", SocketAddr::new(ip, local.port()))
}

/// A request the relay will not serve, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Denial {
    /// No Host (and no authority in the request line), or one that is not allowed.
    HostNotAllowed(String),
    /// `Origin: null` (sandboxed frames, file pages) or an origin not on the list.
    OriginNotAllowed(String),
    /// The request asks for a session but carries no key.
    TokenMissing,
    /// The request carries a key, and it is not this launch's.
    TokenWrong,
    /// The request carries a class code, and it is not the class's (or the relay keeps no
    /// class: `class` is false).
    ClassCodeWrong { class: bool },
}

impl Denial {
    /// The stable rule name, sent in [`REFUSED_HEADER`].
    pub(crate) fn rule(&self) -> &'static str {
        match self {
            Denial::HostNotAllowed(_) => "host_not_allowed",
            Denial::OriginNotAllowed(_) => "origin_not_allowed",
            Denial::TokenMissing => "token_missing",
            Denial::TokenWrong => "token_wrong",
            Denial::ClassCodeWrong { .. } => "class_code_wrong",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Denial::TokenMissing => StatusCode::UNAUTHORIZED,
            _ => StatusCode::FORBIDDEN,
        }
    }

    /// What the refused client (or the learner reading the body) is told.
    pub(crate) fn reason(&self) -> String {
        match self {
            Denial::HostNotAllowed(host) => format!(
                "This socketlab relay answers only to loopback addresses and localhost, not to \
                 the host {host:?} (a defence against DNS rebinding). To reach it by that name, \
                 start the relay with --allow-host NAME."
            ),
            Denial::OriginNotAllowed(origin) => format!(
                "A page from {origin:?} may not drive this socketlab relay. If that page is \
                 yours (for example `trunk serve`), start the relay with --allow-origin ORIGIN."
            ),
            Denial::TokenMissing => "No key: open the exact URL the socketlab relay printed; \
                 the part after #token= is the key that proves the page is yours."
                .to_owned(),
            Denial::TokenWrong => "Wrong key: the socketlab relay makes a new key every time \
                 it starts. Open the URL it printed this time."
                .to_owned(),
            Denial::ClassCodeWrong { class: true } => "Wrong class code: ask your teacher for \
                 the class code again (letters and digits; case and dashes do not matter)."
                .to_owned(),
            Denial::ClassCodeWrong { class: false } => "This socketlab relay keeps no class, \
                 so a class code opens nothing here: open the URL the relay printed (with \
                 #token=), or ask your teacher for the address of the class's relay."
                .to_owned(),
        }
    }
}

impl IntoResponse for Denial {
    fn into_response(self) -> Response {
        (
            self.status(),
            [
                (REFUSED_HEADER, HeaderValue::from_static(self.rule())),
                (
                    header::CACHE_CONTROL.as_str(),
                    HeaderValue::from_static("no-store"),
                ),
            ],
            format!("{}\n", self.reason()),
        )
            .into_response()
    }
}

/// What the guard checks against: the access rules, the class code (class mode only) and the
/// relay's own address.
#[derive(Debug)]
pub(crate) struct Gate {
    pub(crate) access: AccessConfig,
    pub(crate) class_code: Option<ClassCode>,
    pub(crate) local: SocketAddr,
}

/// The middleware in front of every route: [`check`], then the route or the refusal.
pub(crate) async fn guard(State(gate): State<Arc<Gate>>, request: Request, next: Next) -> Response {
    let checked = check(&gate, request.method(), request.uri(), request.headers());
    match checked {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            // Never log the key; the Host and Origin are what tell the learner who knocked.
            tracing::warn!(
                rule = refusal.rule(),
                path = request.uri().path(),
                host = ?request.headers().get(header::HOST),
                origin = ?request.headers().get(header::ORIGIN),
                "refused a request"
            );
            refusal.into_response()
        }
    }
}

/// Every access rule for one request, in order: Host (every request), then for a session
/// request the Origin and the key or class code.
pub(crate) fn check(
    gate: &Gate,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(), Denial> {
    let (access, local) = (&gate.access, gate.local);
    check_host(access, local, uri, headers)?;
    let asks_for_session = uri.path() == WS_PATH
        || headers.contains_key(header::UPGRADE)
        || headers.contains_key(header::SEC_WEBSOCKET_KEY)
        || method == Method::CONNECT;
    if !asks_for_session {
        return Ok(());
    }
    check_origin(access, local, headers)?;
    check_credentials(access, gate.class_code.as_ref(), headers)
}

/// Every authority the request names (the Host header, and the request line's authority when
/// it has one) must be allowed.
fn check_host(
    access: &AccessConfig,
    local: SocketAddr,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(), Denial> {
    let mut hosts: Vec<&str> = Vec::new();
    for value in headers.get_all(header::HOST) {
        hosts.push(
            value
                .to_str()
                .map_err(|_| Denial::HostNotAllowed("(not text)".into()))?,
        );
    }
    if let Some(authority) = uri.authority() {
        hosts.push(authority.as_str());
    }
    if hosts.is_empty() {
        return Err(Denial::HostNotAllowed("(none)".into()));
    }
    for host in hosts {
        let allowed = host_of(host).is_some_and(|name| {
            name.is_loopback()
                || name == AllowedHost::Ip(local.ip())
                || access.allow_hosts.contains(&name)
        });
        if !allowed {
            return Err(Denial::HostNotAllowed(host.to_owned()));
        }
    }
    Ok(())
}

/// A present Origin must be one of the relay's own or an allowed one; `null` never is. A
/// missing Origin (not a browser) passes here and must then hold the key.
fn check_origin(
    access: &AccessConfig,
    local: SocketAddr,
    headers: &HeaderMap,
) -> Result<(), Denial> {
    let mut values = headers.get_all(header::ORIGIN).iter();
    let Some(value) = values.next() else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("(not text)");
    if values.next().is_some() {
        return Err(Denial::OriginNotAllowed(format!("{text} (and more)")));
    }
    let allowed = Origin::parse(text).is_ok_and(|origin| {
        own_origins(local).contains(&origin) || access.allow_origins.contains(&origin)
    });
    if allowed {
        Ok(())
    } else {
        Err(Denial::OriginNotAllowed(text.to_owned()))
    }
}

/// The credentials: the launch key, from the subprotocol header (`socketlab.token.KEY`, what a
/// page can send) or `Authorization: Bearer KEY` (what other clients find natural); and in
/// class mode the class code, as `socketlab.class.CODE` or `Authorization: Class CODE`. There
/// must be one, and every one presented must be right: a right code does not excuse a wrong
/// key beside it, nor the other way round.
fn check_credentials(
    access: &AccessConfig,
    class_code: Option<&ClassCode>,
    headers: &HeaderMap,
) -> Result<(), Denial> {
    let protocols = || {
        headers
            .get_all(header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .flat_map(|value| value.as_bytes().split(|&b| b == b','))
            .map(<[u8]>::trim_ascii)
    };
    let authorizations = || {
        headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .map(HeaderValue::as_bytes)
    };
    let keys = protocols()
        .filter_map(|protocol| protocol.strip_prefix(TOKEN_PROTOCOL_PREFIX.as_bytes()))
        .chain(
            authorizations()
                .filter_map(|value| value.strip_prefix(b"Bearer "))
                .map(<[u8]>::trim_ascii),
        );
    let codes = protocols()
        .filter_map(|protocol| protocol.strip_prefix(CLASS_PROTOCOL_PREFIX.as_bytes()))
        .chain(
            authorizations()
                .filter_map(|value| value.strip_prefix(CLASS_AUTHORIZATION_SCHEME))
                .map(<[u8]>::trim_ascii),
        );
    let mut presented = 0usize;
    let (mut keys_right, mut codes_right) = (true, true);
    for key in keys {
        presented += 1;
        // No early exit: every credential presented is compared, in constant time.
        keys_right &= access.token.matches(key);
    }
    for code in codes {
        presented += 1;
        codes_right &= class_code.is_some_and(|class_code| class_code.matches(code));
    }
    match (presented, keys_right, codes_right) {
        (0, _, _) => Err(Denial::TokenMissing),
        (_, false, _) => Err(Denial::TokenWrong),
        (_, true, false) => Err(Denial::ClassCodeWrong {
            class: class_code.is_some(),
        }),
        (_, true, true) => Ok(()),
    }
}

#[cfg(test)]
mod tests;
