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
    /// Address to listen on (port 0 lets the kernel choose).
    #[arg(long, default_value = "127.0.0.1:7878", env = "SOCKETLAB_LISTEN")]
    listen: SocketAddr,
    /// The built frontend to serve (trunk's output directory).
    #[arg(long, default_value = "dist", env = "SOCKETLAB_DIST")]
    dist: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    println!("socketlab relay is running. Open this in your browser:");
    println!("{}", socketlab_relay::browser_url(local));

    let config = socketlab_relay::Config {
        dist: Some(args.dist),
    };
    socketlab_relay::run(listener, config, shutdown_signal()).await
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
