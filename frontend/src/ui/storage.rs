//! The browser's localStorage, where there is one: natively (the server-rendered tests) there
//! is no JavaScript to ask, and asking would panic, so there is none. The course's progress
//! and class mode's remembered name keep their values here.

pub(crate) fn local() -> Option<web_sys::Storage> {
    if cfg!(target_arch = "wasm32") {
        web_sys::window()?.local_storage().ok().flatten()
    } else {
        None
    }
}
