//! What every session shares: the relay's configuration ([`Config`], public: the binary and the
//! tests build it) and [`Relay`], read by every session: its own address, the ownership
//! registry, the packet capture, the session slots and the lesson services started with it.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::access::AccessConfig;
use crate::isolation::Isolation;
use crate::lesson_services::LessonConfig;
use crate::limits::Limits;
use crate::policy::PolicyConfig;

/// How the relay serves. Every field has a default, so tests can start from `Config::default()`.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The lab page: a built folder (trunk's or xtask's `dist/`) or the one compiled into the
    /// binary. `None`, or a folder without `index.html`, makes `/` a page that says how to
    /// build it.
    pub page: Option<crate::page::Page>,
    /// Who may open a session (token, Origin, Host).
    pub access: AccessConfig,
    /// What the learner's sockets may bind and reach.
    pub policy: PolicyConfig,
    /// Sizes, counts, rates and timeouts.
    pub limits: Limits,
    /// The lesson services' settings that have no flag (tests shorten the knock door's time).
    pub lessons: LessonConfig,
    /// Whether each session gets a network namespace of its own (`--isolate-sessions`).
    pub isolation: Isolation,
    /// Class mode (`--class`): each learner's progress kept for the teacher; `None` is off.
    pub class: Option<crate::class::ClassConfig>,
}

/// What every session may read about the relay it runs in: the configuration and the relay's
/// own address (which, for one, the learner's sockets may never connect to).
#[derive(Debug)]
pub(crate) struct Relay {
    pub(crate) config: Config,
    pub(crate) local: SocketAddr,
    /// `config.policy`, shared with every session's checkpoint.
    pub(crate) policy: Arc<PolicyConfig>,
    /// One permit per open session (`limits.max_sessions`).
    pub(crate) sessions: Arc<tokio::sync::Semaphore>,
    /// Which session holds which port (the policy keeps sessions apart with it).
    pub(crate) ownership: Arc<crate::ownership::Ownership>,
    /// The one packet capture on `lo` that every session's trace comes from.
    pub(crate) captures: Arc<crate::capture::Captures>,
    /// Whether the relay runs as root (euid 0), read once at start: the policy then refuses
    /// ports below 1024 itself.
    pub(crate) root: bool,
    /// The lesson services running with this relay (issue 5), advertised in `machine`.
    pub(crate) services: Vec<socketlab_shared::LessonService>,
    /// The port-scanning lesson's targets, if they could be set up.
    pub(crate) scan: Option<socketlab_shared::ScanTargets>,
    /// The knock ports, from which each session gets its own knock door.
    pub(crate) knock: Option<crate::lesson_services::knock::KnockPorts>,
    /// This machine's `/etc/services`, read once at start.
    pub(crate) service_names: Vec<socketlab_shared::ServiceName>,
    /// Whether a return of free memory to the OS is already scheduled (`after_session`).
    trim_scheduled: Arc<std::sync::atomic::AtomicBool>,
    /// Class mode's store and board, when `config.class` is set (`run` opens it).
    pub(crate) class: Option<Arc<crate::class::Class>>,
}

/// How long after a session ends the relay gives free memory back: long enough for the ended
/// session's tasks (its writer's close grace included) to have freed theirs, and one return
/// for every session that ends meanwhile, so a class leaving at once costs one.
const TRIM_AFTER: std::time::Duration = std::time::Duration::from_secs(3);

impl Relay {
    /// The relay serving on `local`; its tasks end with `token` and are waited for by
    /// `tracker` (the server's).
    pub(crate) fn new(
        config: Config,
        local: SocketAddr,
        token: &tokio_util::sync::CancellationToken,
        tracker: &tokio_util::task::TaskTracker,
    ) -> Self {
        let sessions = Arc::new(tokio::sync::Semaphore::new(config.limits.max_sessions));
        let ownership = Arc::<crate::ownership::Ownership>::default();
        let captures = Arc::new(crate::capture::Captures::new(
            ownership.clone(),
            local.port(),
            token.clone(),
            tracker.clone(),
            crate::isolation::Place::default(),
        ));
        Relay {
            policy: Arc::new(config.policy.clone()),
            config,
            local,
            sessions,
            ownership,
            captures,
            root: crate::policy::running_as_root(),
            services: Vec::new(),
            scan: None,
            knock: None,
            service_names: Vec::new(),
            trim_scheduled: Arc::default(),
            class: None,
        }
    }

    /// A session ended: schedule one return of the heap's free memory to the OS
    /// (`kernel::give_memory_back`) `TRIM_AFTER` from now, unless one is already scheduled, so
    /// the relay's resident size falls again after a peak of sessions.
    pub(crate) fn after_session(&self) {
        use std::sync::atomic::Ordering;
        if self.trim_scheduled.swap(true, Ordering::AcqRel) {
            return;
        }
        let scheduled = self.trim_scheduled.clone();
        tokio::spawn(async move {
            tokio::time::sleep(TRIM_AFTER).await;
            // Cleared first: a session ending during the trim schedules the next one.
            scheduled.store(false, Ordering::Release);
            let released = tokio::task::spawn_blocking(crate::kernel::give_memory_back).await;
            tracing::debug!(?released, "gave free memory back to the OS");
        });
    }

    /// What the policy knows about the relay itself.
    pub(crate) fn facts(&self) -> crate::policy::Facts {
        crate::policy::Facts {
            root: self.root,
            relay: self.local,
        }
    }
}
