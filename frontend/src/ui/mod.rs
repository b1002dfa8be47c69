//! Small pieces every page shares: the nav bar, the note for an instrument this relay cannot
//! offer, downloads the page makes itself, and the browser's localStorage.

pub(crate) mod capability_note;
pub(crate) mod download;
pub(crate) mod nav_bar;
pub(crate) mod storage;
