//! Small pieces every page shares: the nav bar and the note for an instrument this relay
//! cannot offer.

pub(crate) mod capability_note;
pub(crate) mod nav_bar;
