//! `{{port-pool}}`, lesson 13's experiment on ports held in TIME_WAIT: a button that runs
//! `pool_run::PoolRun` through the relay with real calls (one at a time, each made when the last
//! one's reply is in the transcript), the calls and the kernel's answers as they come, the pool's
//! ports with the state the kernel view shows for each, and what the result means: a bind() refused
//! a port held in TIME_WAIT (EADDRINUSE), which is not connect() running out of the ephemeral range
//! (EADDRNOTAVAIL). Without a relay it says how to start one.
//!
//! DOM: `[data-testid="port-pool"]` with `data-state` = `idle` | `running` | `all-held` |
//! `one-free` | `failed`; the button `[data-testid="pool-run"]`.

use std::cell::RefCell;
use std::rc::Rc;

use socketlab_shared::{KernelSocket, Transport};
use yew::prelude::*;

use crate::course::widgets::pool_run::{End, POOL_SIZE, PoolRun};
use crate::link::RelayHandle;
use crate::session::context::SessionContext;
use crate::session::transcript::port_of;

/// Makes the run's next call, if it wants one now.
fn step(run: &mut PoolRun, relay: &RelayHandle) {
    if let Some(op) = run.next_op() {
        let id = relay.call(op.clone());
        run.sent(&op, id);
    }
}

/// What the widget says before a run: what it does, and what it shows and does not.
pub(crate) fn description() -> String {
    format!(
        "A pool of {POOL_SIZE} client ports. For each: socket(), bind(127.0.0.1:0) (the kernel picks the port), connect() to the relay's echo service, close(). The client closes first, so each port is left in TIME_WAIT on the client's side. Then one more socket tries to bind() each pool port itself. This shows ports held in TIME_WAIT refusing a bind() (EADDRINUSE); it does not show connect() running out of ephemeral ports (EADDRNOTAVAIL), which would take thousands of connections open at once (the lesson says why)."
    )
}

/// What the widget says when every pool port was refused.
pub(crate) fn all_held(refused: usize, ports: usize) -> (String, &'static str) {
    (
        format!(
            "Every pool port is still held: bind() got EADDRINUSE {refused} times out of {ports}."
        ),
        " Each port still belongs to a connection in TIME_WAIT (or, for a moment, FIN_WAIT2), so a socket that asks for one of these ports by number is refused. That is not the ephemeral range running out: a connect() that lets the kernel choose would get another port, and fails (with EADDRNOTAVAIL) only when none is left for that destination. On Linux each port comes free 60 seconds after its close() (TCP_TIMEWAIT_LEN, fixed in the kernel's source). Run the experiment again after a minute: the kernel picks new ports, and binding the old ones works again.",
    )
}

/// What the kernel view shows for a pool port right now, as `ss` names the state.
fn kernel_state(rows: &[KernelSocket], port: u16) -> Option<&'static str> {
    rows.iter()
        .find(|row| row.transport == Transport::Tcp && port_of(&row.local) == Some(port))
        .map(|row| row.state.ss_name())
}

fn verdict(end: &End, run: &PoolRun) -> Html {
    match end {
        End::AllHeld => {
            let (headline, why) = all_held(run.refused.len(), run.ports.len());
            html! {
                <p class="pool-verdict held" data-testid="pool-verdict">
                    <strong>{ headline }</strong>
                    { why }
                </p>
            }
        }
        End::OneFree(port) => html! {
            <p class="pool-verdict" data-testid="pool-verdict">
                { format!("The kernel let the new socket bind port {port}: that port was free again. Its TIME_WAIT was over already (did a minute pass?), or the connection never reached it. Run the experiment again.") }
            </p>
        },
        End::Failed(why) => html! {
            <p class="pool-verdict failed" data-testid="pool-verdict">
                { format!("The experiment stopped: {why}.") }
            </p>
        },
    }
}

#[component]
pub(crate) fn PortPool() -> Html {
    let session = use_context::<SessionContext>();
    let relay = use_context::<RelayHandle>();
    let run: Rc<RefCell<Option<PoolRun>>> = use_mut_ref(|| None);
    let redraw = use_force_update();
    let appended = session.as_ref().map(|s| s.course.appended);
    {
        // Every change of the transcript may be the reply the run waits for.
        let (run, session, relay, redraw) =
            (run.clone(), session.clone(), relay.clone(), redraw.clone());
        use_effect_with(appended, move |_| {
            if let (Some(session), Some(relay)) = (session, relay) {
                let mut current = run.borrow_mut();
                if let Some(pool) = current.as_mut()
                    && pool.pump(&session.course.transcript.entries())
                {
                    step(pool, &relay);
                    drop(current);
                    redraw.force_update();
                }
            }
        });
    }
    let (Some(session), Some(relay)) = (session, relay) else {
        return html! { <p>{ "socketlab: the session or the relay link is missing (a bug)." }</p> };
    };
    let echo = session
        .course
        .services
        .iter()
        .find(|s| s.name == "echo_tcp" && s.transport == Transport::Tcp)
        .map(|s| s.address.clone());
    let live = session.link.is_live();
    let running = run.borrow().as_ref().is_some_and(PoolRun::running);
    let onclick = {
        let (run, relay, echo, redraw) = (run.clone(), relay.clone(), echo.clone(), redraw.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(echo) = echo.clone() else { return };
            let mut pool = PoolRun::new(echo);
            step(&mut pool, &relay);
            *run.borrow_mut() = Some(pool);
            redraw.force_update();
        })
    };
    let current = run.borrow();
    let state = match current.as_ref() {
        None => "idle",
        Some(pool) if pool.running() => "running",
        Some(pool) => match pool.end {
            Some(End::AllHeld) => "all-held",
            Some(End::OneFree(_)) => "one-free",
            _ => "failed",
        },
    };
    let rows = &session.kernel.rows;
    let kernel_on = session.kernel.kernel_view.is_some();
    html! {
        <div class="port-pool" data-testid="port-pool" data-state={state}>
            <p>{ description() }</p>
            if !live || echo.is_none() {
                <p class="pool-offline" data-testid="pool-offline">
                    { "This experiment makes real calls through the relay, on your machine. Start the relay with " }
                    <code>{ "cargo xtask serve" }</code>
                    { " and open the address it prints; the button wakes up when the lab says Live." }
                </p>
            }
            <button class="pool-run" data-testid="pool-run" disabled={!live || echo.is_none() || running} onclick={onclick}>
                { if current.is_some() { "Run it again" } else { "Run the experiment" } }
            </button>
            if let Some(pool) = current.as_ref() {
                if !pool.ports.is_empty() {
                    <ul class="pool-ports" data-testid="pool-ports">
                        { for pool.ports.iter().map(|port| {
                            let refused = pool.refused.contains(port);
                            let now = kernel_state(rows, *port);
                            html! {
                                <li data-port={port.to_string()} class={classes!(refused.then_some("refused"))}>
                                    <code>{ format!("127.0.0.1:{port}") }</code>
                                    if kernel_on {
                                        { format!(" kernel: {}", now.unwrap_or("no row (free)")) }
                                    }
                                    if refused {
                                        { " · bind: EADDRINUSE" }
                                    }
                                </li>
                            }
                        }) }
                    </ul>
                }
                <ol class="pool-steps" data-testid="pool-steps">
                    { for pool.lines.iter().map(|line| html! {
                        <li class={classes!(match &line.result { None => "waiting", Some((true, _)) => "ok", Some((false, _)) => "err" })}>
                            <code>{ &line.call }</code>
                            { match &line.result {
                                None => " …".to_owned(),
                                Some((_, text)) => format!(" {text}"),
                            } }
                        </li>
                    }) }
                </ol>
                if let Some(end) = &pool.end {
                    { verdict(end, pool) }
                }
                <p class="hint">{ "These are ordinary sockets of your session: the lab shows them too, in Sockets of this session, the log and What the kernel has (they get no panels of their own)." }</p>
            }
        </div>
    }
}
