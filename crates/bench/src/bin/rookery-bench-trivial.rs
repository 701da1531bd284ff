//! `rookery-bench-trivial`: the trivial fan-out server, the ceiling measured beside real
//! servers. Listens on loopback until SIGTERM or Ctrl-C.

use anyhow::Context;
use clap::Parser;
use tokio::net::TcpListener;

/// Trivial XMPP fan-out server (no checks, no real state) for benchmarks.
#[derive(Debug, Parser)]
#[command(name = "rookery-bench-trivial", version)]
struct Args {
    /// Address to listen on (loopback).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// c2s TCP port (0 picks a free one).
    #[arg(long, default_value_t = 17222)]
    port: u16,
    /// WebSocket port (RFC 7395, any path); omit to serve TCP only.
    #[arg(long)]
    ws_port: Option<u16>,
    /// Tokio worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = rt
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    rt.block_on(async {
        let tcp = TcpListener::bind((args.host.as_str(), args.port))
            .await
            .context("binding the c2s port")?;
        let ws = match args.ws_port {
            Some(p) => Some(
                TcpListener::bind((args.host.as_str(), p))
                    .await
                    .context("binding the websocket port")?,
            ),
            None => None,
        };
        let ws_addr = ws.as_ref().and_then(|l| l.local_addr().ok());
        eprintln!(
            "rookery-bench-trivial listening tcp={} ws={:?}",
            tcp.local_addr()?,
            ws_addr
        );
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let shutdown = async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        };
        rookery_bench::trivial::serve(tcp, ws, shutdown).await;
        Ok(())
    })
}
