//! The knowledge widgets rendered natively (yew's server renderer): the port classifier with and
//! without the relay's machine facts, the services table with this machine's list, the quiz.

use socketlab_shared::{Machine, ServiceName, Transport};
use yew::{BaseComponent, LocalServerRenderer};

use super::port_classifier::{PortClassifier, PortClassifierProps};
use super::quiz_widget::{QuizWidget, QuizWidgetProps};
use super::services::WELL_KNOWN;
use super::services_table::{ServicesTable, ServicesTableProps};

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
        pid: 1,
        user: None,
    };
    let html = render::<PortClassifier>(PortClassifierProps {
        machine: Some(machine),
        service_names: ssh(),
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
        service_names: vec![],
    })
    .await;
    assert!(offline.contains("not known yet"), "{offline}");
}

#[tokio::test]
async fn the_services_table_has_every_row_and_this_machines_names() {
    let html = render::<ServicesTable>(ServicesTableProps {
        service_names: ssh(),
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
