//! `use_probes`, the hook that runs a widget's probes (`probe_run`) through the relay: after every
//! render it feeds the plan the transcript and the time and sends the calls the plan asks for
//! through `RelayHandle::call`, and while probes are under way a 250 ms timer re-renders the
//! widget, so a connect that gets no answer is given up after its timeout. The plan belongs to one
//! relay session; after a reconnect it is dropped (the relay closed its sockets).

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::Interval;
use yew::prelude::*;

use crate::course::widgets::port_probes::last_session;
use crate::course::widgets::probe_run::{ProbeRun, Target};
use crate::link::{RelayHandle, now};
use crate::session::context::SessionContext;

/// A widget's handle on its probes.
#[derive(Clone)]
pub(crate) struct Probes {
    run: Rc<RefCell<Option<ProbeRun>>>,
    session: usize,
    update: UseForceUpdateHandle,
}

impl Probes {
    /// Starts probes to `targets` (after any still under way).
    pub(crate) fn add(&self, targets: Vec<Target>) {
        {
            let mut run = self.run.borrow_mut();
            let run = run.get_or_insert_with(|| ProbeRun::new(self.session));
            for target in targets {
                run.add(target);
            }
        }
        self.update.force_update();
    }

    /// Probes are under way.
    pub(crate) fn busy(&self) -> bool {
        self.run.borrow().as_ref().is_some_and(|r| !r.finished())
    }

    /// Why probes stopped early, in words.
    pub(crate) fn problems(&self) -> Vec<String> {
        self.run
            .borrow()
            .as_ref()
            .map(ProbeRun::problems)
            .unwrap_or_default()
    }
}

#[hook]
pub(crate) fn use_probes() -> Probes {
    let session = use_context::<SessionContext>();
    let relay = use_context::<RelayHandle>();
    let run: Rc<RefCell<Option<ProbeRun>>> = use_mut_ref(|| None);
    let update = use_force_update();
    let transcript = session.as_ref().map(|s| s.course.transcript.clone());
    let current = transcript
        .as_ref()
        .map_or(0, |t| last_session(&t.entries()));
    // A plan from an earlier relay session means nothing now.
    if run
        .borrow()
        .as_ref()
        .is_some_and(|r| r.session() != current)
    {
        *run.borrow_mut() = None;
    }
    {
        let run = run.clone();
        use_effect(move || {
            let (Some(transcript), Some(relay)) = (transcript, relay) else {
                return;
            };
            let requests = match run.borrow_mut().as_mut() {
                Some(plan) => plan.pump(&transcript.entries(), now()),
                None => return,
            };
            for request in requests {
                // Sent outside the borrow: sending dispatches to the reducer.
                let call = relay.call(request.op.clone());
                if let Some(plan) = run.borrow_mut().as_mut() {
                    plan.sent(&request, call, now());
                }
            }
        });
    }
    let busy = run.borrow().as_ref().is_some_and(|r| !r.finished());
    {
        let update = update.clone();
        use_effect_with(busy, move |busy| {
            let ticker = busy.then(|| Interval::new(250, move || update.force_update()));
            move || drop(ticker)
        });
    }
    Probes {
        run,
        session: current,
        update,
    }
}
