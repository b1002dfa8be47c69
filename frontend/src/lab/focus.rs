//! Which control of the lab to light: a lesson's current step names a call and where its
//! button is (`course::steps` works it out from the transcript), and the lesson page provides
//! it as the `StepFocus` context to the lab inside it. The lab's cards read it; a lab without
//! it (the lab page) lights nothing.

use socketlab_shared::Syscall;

/// Where the control a goal names is, in the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// The **Server** card.
    Server,
    /// The **Client** card.
    Client,
    /// A card added with "+ add socket" (not one accept() made).
    New,
    /// A card accept() made.
    Accepted,
    /// The "+ add socket" form.
    Add,
    /// A widget of the lesson outside the lab (the scan's or the knock's buttons): nothing in
    /// the lab is lit.
    Widget,
}

impl Place {
    /// The place a goal's `PLACE:` names (`server`, `client`, `new`, `accepted`, `add`,
    /// `widget`).
    pub(crate) fn parse(word: &str) -> Option<Place> {
        Some(match word {
            "server" => Place::Server,
            "client" => Place::Client,
            "new" => Place::New,
            "accepted" => Place::Accepted,
            "add" => Place::Add,
            "widget" => Place::Widget,
            _ => return None,
        })
    }
}

/// A control to highlight: this call's button, in this place (any card when `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Focus {
    pub(crate) call: Syscall,
    pub(crate) place: Option<Place>,
}

/// What the lab should light: the control the current step names, if any.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StepFocus(pub(crate) Option<Focus>);

impl StepFocus {
    /// The call to light on a card, given where the card is.
    pub(crate) fn call_on(self, card: Place) -> Option<Syscall> {
        let focus = self.0?;
        match focus.place {
            None if !matches!(card, Place::Add | Place::Widget) => Some(focus.call),
            Some(place) if place == card => Some(focus.call),
            _ => None,
        }
    }
}
