//! `rookery-bench`: run one load scenario against an XMPP server on loopback and print one
//! JSON line with its figures.

use anyhow::Context;
use clap::Parser;
use rookery_bench::cli::{Cli, run};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let target = cli.target()?;
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cli.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = rt
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let report = rt.block_on(run(&cli, target))?;
    let line = report.to_json(&cli.label, &format!("{}:{}", cli.host, cli.port));
    println!("{line}");
    Ok(())
}
