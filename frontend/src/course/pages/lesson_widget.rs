//! A widget placed in a lesson (`{{name ...}}` on a line of its own), drawn by its component: `lab`
//! (the lab, `embedded`), `exercise ID`, `diagram server|client|datagram` (the lifecycle diagram,
//! static), `kernel-view`, `tcp-states`, `packets` (the lab's views, from the same session),
//! `machine-facts`, `port-classifier`, `services-table`, `quiz TOPIC` (`services`), `port-pool`,
//! `ip-address`, `port-listing`, `port-scan`, `knock`. Anything else is a red box "unknown widget
//! NAME on line N", and a widget missing its argument (or a diagram of another kind) a red box
//! saying what to write, for the instructor.

use socketlab_shared::Path;
use yew::prelude::*;

use crate::course::exercises::widget::ExerciseWidget;
use crate::course::lesson::Widget;
use crate::course::widgets::ip_widget::IpAddressWidget;
use crate::course::widgets::knock_widget::KnockWidget;
use crate::course::widgets::machine_facts::MachineFacts;
use crate::course::widgets::port_listing_view::PortListingView;
use crate::course::widgets::port_pool::PortPool;
use crate::course::widgets::port_scan::PortScan;
use crate::course::widgets::quiz_widget::QuizWidget;
use crate::course::widgets::service_names::{LivePortClassifier, LiveServicesTable};
use crate::kernel::packet_view::PacketView;
use crate::kernel::table::KernelTable;
use crate::kernel::tcp_state_diagram::TcpStateDiagram;
use crate::lab::Lab;
use crate::lab::lifecycle_diagram::LifecycleDiagram;
use crate::session::SocketView;
use crate::session::context::SessionContext;

#[derive(Properties, PartialEq)]
pub(crate) struct LessonWidgetProps {
    pub(crate) widget: Widget,
}

/// The instructor's error box.
fn problem(text: String) -> Html {
    html! { <div class="widget-error" data-testid="widget-error">{ text }</div> }
}

#[component]
pub(crate) fn LessonWidget(props: &LessonWidgetProps) -> Html {
    let session = use_context::<SessionContext>();
    let widget = &props.widget;
    let line = widget.line;
    let arg = widget.positional();
    let body = match widget.name.as_str() {
        "lab" => html! { <Lab embedded=true /> },
        "exercise" => match arg {
            Some(id) => html! { <ExerciseWidget id={id.to_owned()} /> },
            None => problem(format!(
                "exercise on line {line} names no exercise: write {{{{exercise ID}}}}"
            )),
        },
        "diagram" => {
            let path = match arg {
                Some("server") => Some(Path::Server),
                Some("client") => Some(Path::Client),
                Some("datagram") => Some(Path::Datagram),
                _ => None,
            };
            match path {
                Some(path) => html! {
                    <figure class="lesson-diagram" data-diagram={arg.unwrap_or_default().to_owned()}>
                        <LifecycleDiagram path={path} current={None} waiting={vec![]} accepted={vec![]} />
                    </figure>
                },
                None => problem(format!(
                    "diagram on line {line} needs server, client or datagram"
                )),
            }
        }
        "kernel-view" | "tcp-states" | "packets" => {
            let Some(session) = session else {
                return problem("the session is missing (a bug)".to_owned());
            };
            let kernel = &session.kernel;
            match widget.name.as_str() {
                "kernel-view" => html! {
                    <KernelTable rows={kernel.rows.clone()} availability={kernel.kernel_view.clone()}
                        namespace_thread={session.course.machine.as_ref().and_then(|m| m.namespace_thread)} />
                },
                "tcp-states" => html! { <TcpStateDiagram tracks={kernel.tracks.clone()} /> },
                _ => {
                    let sockets: Vec<SocketView> = session.sockets.values().cloned().collect();
                    html! {
                        <PacketView packets={kernel.packets.clone()} dropped={kernel.packets.dropped()}
                            availability={kernel.capture.clone()} sockets={sockets} />
                    }
                }
            }
        }
        "machine-facts" => html! { <MachineFacts /> },
        "port-pool" => html! { <PortPool /> },
        "port-classifier" => html! { <LivePortClassifier /> },
        "services-table" => html! { <LiveServicesTable /> },
        "port-scan" => html! { <PortScan /> },
        "knock" => html! { <KnockWidget /> },
        "ip-address" => html! { <IpAddressWidget /> },
        "port-listing" => html! { <PortListingView /> },
        "quiz" => match arg {
            Some(topic) => html! { <QuizWidget topic={topic.to_owned()} /> },
            None => problem(format!(
                "quiz on line {line} names no topic: write {{{{quiz services}}}}"
            )),
        },
        name => problem(format!("unknown widget {name} on line {line}")),
    };
    html! { <div class="widget" data-widget={widget.name.clone()}>{ body }</div> }
}
