//! The `socketlab-relay` binary: parses flags, sets up logging, binds, prints the URL to open,
//! and runs the relay until Ctrl-C or SIGTERM. Everything else lives in the library.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Performs the socket calls a learner makes in the socketlab page, for real, and serves the page.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 lets the kernel choose). Loopback only, unless
    /// --expose-to-network is given too.
    #[arg(long, default_value = "127.0.0.1:7878", env = "SOCKETLAB_LISTEN")]
    listen: SocketAddr,
    /// The built page folder to serve (trunk's or `cargo xtask build`'s dist/). Without it, a
    /// relay with the page built in (the release tarball's) serves that one, and any other
    /// serves ./dist.
    #[arg(long, env = "SOCKETLAB_DIST", value_name = "DIR")]
    dist: Option<PathBuf>,
    /// Copy the page built into this binary to DIR (a new or empty folder) and exit: edit the
    /// lessons in DIR/lessons/, then serve them with --dist DIR.
    #[arg(long, value_name = "DIR")]
    write_page: Option<PathBuf>,
    #[command(flatten)]
    access: socketlab_relay::AccessArgs,
    #[command(flatten)]
    policy: socketlab_relay::PolicyArgs,
    #[command(flatten)]
    limits: socketlab_relay::LimitArgs,
    #[command(flatten)]
    isolation: socketlab_relay::IsolationArgs,
    #[command(flatten)]
    class: socketlab_relay::ClassArgs,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(dir) = &args.write_page {
        let written = socketlab_relay::write_embedded(dir).map_err(anyhow::Error::msg)?;
        println!(
            "Wrote the page ({written} files) to {}. Edit its lessons in {}, then serve them:",
            dir.display(),
            dir.join("lessons").display()
        );
        println!("socketlab-relay --dist {}", dir.display());
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    // Before any other thread: an ordinary user's isolated relay moves into a user namespace of
    // its own, which the kernel allows only a single-threaded process.
    let isolation: socketlab_relay::Isolation = args.isolation.clone().into();
    socketlab_relay::prepare_isolation(isolation)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?
        .block_on(serve(args, isolation))
}

async fn serve(args: Args, isolation: socketlab_relay::Isolation) -> anyhow::Result<()> {
    socketlab_relay::raise_descriptor_limit();

    // Loopback unless the operator says otherwise, loudly; and a key made before anything
    // listens, so there is never a moment without one.
    if let Some(warning) = args.access.check_listen(args.listen)? {
        eprintln!("{warning}");
    }
    // A classroom relay isolates its sessions, and one that cannot says why before it listens.
    socketlab_relay::check_isolation(isolation, args.access.expose_to_network)?;
    let access = args.access.into_config()?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    let page = match args.dist {
        Some(dir) => socketlab_relay::Page::Folder(dir),
        None => socketlab_relay::Page::embedded()
            .unwrap_or_else(|| socketlab_relay::Page::Folder(PathBuf::from("dist"))),
    };
    println!("socketlab relay: serving {}.", page.describe());
    println!("socketlab relay is running. Open this in your browser (the part after #token= is");
    println!("this launch's key: it proves the page is yours, so do not share the URL):");
    println!("{}", access.page_url(local));
    let class = args.class.into_config()?;
    if let Some(class) = &class {
        println!(
            "Class mode: each learner joins with a name; progress is kept in {}.",
            class.db.display()
        );
        let page = socketlab_relay::browser_url(local);
        println!(
            "Learners open this (or the page without #class=… and type the class code {}):",
            class.code
        );
        println!("{}", class.learner_url(&page));
        if local.ip().is_unspecified() {
            println!(
                "(learners on other machines put this machine's address in place of the \
                 loopback one; listening on that address, not a wildcard, lets the relay \
                 recognise it)"
            );
        }
        println!("The teacher's page (its own key: keep it to yourself):");
        println!("{}", class.teacher_url(&page));
        println!("or the class as CSV: {}", class.teacher_command(&page));
    }
    let others = access.other_page_urls(local);
    if !others.is_empty() {
        println!("Pages that --allow-origin admits (e.g. `trunk serve`) open like this:");
        for url in others {
            println!("{url}");
        }
    }

    let config = socketlab_relay::Config {
        page: Some(page),
        access,
        limits: args.limits.into(),
        policy: args.policy.into(),
        isolation,
        class,
        ..Default::default()
    };
    socketlab_relay::run(listener, config, shutdown_signal()).await?;
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM. If a handler cannot be installed, that signal simply never
/// arrives (the other still works), which beats refusing to start.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
}
