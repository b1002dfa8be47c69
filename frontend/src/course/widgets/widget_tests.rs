//! The knowledge widgets rendered natively (yew's server renderer): the port classifier with and
//! without the relay's machine facts, the services table with this machine's list, the quiz,
//! the IPv4/IPv6 address widget.

use std::rc::Rc;

use socketlab_shared::{Machine, ServiceName, Transport};
use yew::{BaseComponent, LocalServerRenderer};

use crate::course::facts::services::WELL_KNOWN;
use crate::course::widgets::ip_widget::{IpAddressWidget, IpAddressWidgetProps};
use crate::course::widgets::port_classifier::{PortClassifier, PortClassifierProps};
use crate::course::widgets::quiz_widget::{QuizWidget, QuizWidgetProps};
use crate::course::widgets::services_table::{ServicesTable, ServicesTableProps};

async fn render<C: BaseComponent>(props: C::Properties) -> String {
    LocalServerRenderer::<C>::with_props(props).render().await
}

fn ssh() -> Vec<ServiceName> {
    vec![ServiceName {
        name: "ssh".into(),
        port: 22,
        transport: Transport::Tcp,
        aliases: vec![],
    }]
}

#[tokio::test]
async fn the_classifier_shows_the_range_and_this_machines_rule() {
    let machine = Machine {
        os: "linux".into(),
        root: false,
        unprivileged_port_start: Some(1024),
        ephemeral_ports: None,
        ephemeral_source: None,
        pid: 1,
        user: None,
        namespace_thread: None,
    };
    let html = render::<PortClassifier>(PortClassifierProps {
        machine: Some(machine),
        service_names: ssh().into(),
    })
    .await;
    // The widget starts at 8080: a user (registered) port any program may bind here.
    assert!(
        html.contains("1024-49151, user (registered) ports"),
        "{html}"
    );
    assert!(html.contains("ip_unprivileged_port_start = 1024"), "{html}");
    let offline = render::<PortClassifier>(PortClassifierProps {
        machine: None,
        service_names: Rc::from([]),
    })
    .await;
    assert!(offline.contains("not known yet"), "{offline}");
}

#[tokio::test]
async fn the_services_table_has_every_row_and_this_machines_names() {
    let html = render::<ServicesTable>(ServicesTableProps {
        service_names: ssh().into(),
    })
    .await;
    for row in WELL_KNOWN {
        assert!(
            html.contains(&format!(r#"data-port="{}""#, row.port)),
            "{}",
            row.port
        );
    }
    assert!(html.contains("ssh/tcp"), "{html}");
    assert!(html.contains("whole /etc/services (1 lines)"), "{html}");
}

#[tokio::test]
async fn the_quiz_asks_a_question_with_choices() {
    let html = render::<QuizWidget>(QuizWidgetProps {
        topic: "services".into(),
    })
    .await;
    assert!(html.contains(r#"data-testid="quiz-question""#), "{html}");
    assert!(html.matches("quiz-choice").count() >= 3, "{html}");
    let unknown = render::<QuizWidget>(QuizWidgetProps {
        topic: "planets".into(),
    })
    .await;
    assert!(unknown.contains("unknown quiz planets"), "{unknown}");
}

/// The IPv4/IPv6 address widget, rendered natively (yew's server renderer), starting at `initial`.
async fn ip_widget(initial: &str) -> String {
    render::<IpAddressWidget>(IpAddressWidgetProps {
        initial: initial.to_owned(),
    })
    .await
}

#[tokio::test]
async fn the_widget_shows_each_rule_the_canonical_form_and_the_kind() {
    let html = ip_widget("2001:0DB8:0000:0000:0000:FF00:0042:8329").await;
    assert_eq!(
        html.matches(r#"data-testid="ip-step""#).count(),
        4,
        "{html}"
    );
    assert!(html.contains("2001:0db8:0000:0000:0000:ff00:0042:8329"));
    assert!(
        html.contains(r#"data-testid="ip-canonical">2001:db8::ff00:42:8329<"#),
        "{html}"
    );
    assert!(html.contains(r#"data-kind="documentation""#));
    let mapped = ip_widget("::ffff:127.0.0.1").await;
    assert!(
        mapped.contains(r#"data-kind="IPv4-mapped""#) && mapped.contains(r#"data-kind="loopback""#)
    );
    let v4 = ip_widget("192.168.1.10").await;
    assert!(v4.contains("3232235786") && v4.contains("11000000.10101000.00000001.00001010"));
    assert!(v4.contains(r#"data-kind="private""#));
    let bad = ip_widget("01.2.3.4").await;
    assert!(
        bad.contains(r#"data-testid="ip-error""#) && bad.contains("leading zero"),
        "{bad}"
    );
}
