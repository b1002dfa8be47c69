//! The session as components read it from yew's context: the reducer's handle, provided once
//! by `link::scope::SessionScope`. A leaf, so a widget anywhere can read the session without
//! importing the module that provides it.

use yew::UseReducerHandle;

use crate::session::Session;

/// The session as components read it from context.
pub(crate) type SessionContext = UseReducerHandle<Session>;
