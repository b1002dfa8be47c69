//! Small pieces every page shares: the nav bar, the note for an instrument this relay cannot
//! offer, and downloads the page makes itself.

pub(crate) mod capability_note;
pub(crate) mod download;
pub(crate) mod nav_bar;
