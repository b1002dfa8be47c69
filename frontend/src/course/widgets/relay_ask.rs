//! What the relay sends only when asked (this machine's services list, the session's knock door):
//! `use_relay_ask` asks once per relay session, when the link is live and the answer is missing,
//! and again after a restart of the relay if it is still missing.

use yew::prelude::*;

use crate::link::RelayHandle;
use crate::session::context::SessionContext;

/// Sends `ask` to the relay whenever the link is live, `missing` holds, and the relay session
/// (or one of those) changed since the last time.
#[hook]
pub(crate) fn use_relay_ask(
    session: Option<&SessionContext>,
    missing: bool,
    ask: fn(&RelayHandle) -> bool,
) {
    let relay = use_context::<RelayHandle>();
    let live = session.is_some_and(|s| s.link.is_live());
    let relay_session = session.map_or(0, |s| s.sessions);
    use_effect_with(
        (live, relay_session, missing),
        move |&(live, _, missing)| {
            if live
                && missing
                && let Some(relay) = relay
            {
                ask(&relay);
            }
        },
    );
}
