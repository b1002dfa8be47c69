//! This machine's services list for the widgets that show it (the port classifier, the
//! services table, the port scan's names). The relay sends it only when asked (it is tens of
//! kilobytes, and a session that never shows it should not carry it): `use_service_names`
//! asks once per relay session, when the link is live and the list is not known yet
//! (`relay_ask`).

use std::rc::Rc;

use socketlab_shared::ServiceName;
use yew::prelude::*;

use crate::course::widgets::port_classifier::PortClassifier;
use crate::course::widgets::relay_ask::use_relay_ask;
use crate::course::widgets::services_table::ServicesTable;
use crate::link::RelayHandle;
use crate::session::context::SessionContext;

/// The list as known now (empty until it arrives), asking the relay for it when it is missing.
#[hook]
pub(crate) fn use_service_names() -> Rc<[ServiceName]> {
    let session = use_context::<SessionContext>();
    let known = session
        .as_ref()
        .and_then(|s| s.course.service_names.clone());
    use_relay_ask(
        session.as_ref(),
        known.is_none(),
        RelayHandle::ask_service_names,
    );
    known.unwrap_or_default()
}

/// `{{port-classifier}}` with the relay's machine facts and this machine's services list.
#[component]
pub(crate) fn LivePortClassifier() -> Html {
    let session = use_context::<SessionContext>();
    let machine = session.as_ref().and_then(|s| s.course.machine.clone());
    let service_names = use_service_names();
    html! { <PortClassifier machine={machine} service_names={service_names} /> }
}

/// `{{services-table}}` with this machine's services list.
#[component]
pub(crate) fn LiveServicesTable() -> Html {
    let service_names = use_service_names();
    html! { <ServicesTable service_names={service_names} /> }
}
