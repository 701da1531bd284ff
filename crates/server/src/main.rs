//! The `rookery` command: run the server, manage accounts, check a configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rookery_server::Config;
use rookery_server::store::Store;

/// mimalloc instead of glibc malloc: the fan-out and join paths allocate and free many small
/// buffers across worker threads, and glibc's arena locks showed up as futex waits in
/// profiles (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Rookery: an XMPP server for Jitsi Meet stacks and test harnesses.
#[derive(Debug, Parser)]
#[command(name = "rookery", version, about)]
struct Cli {
    /// Configuration file (TOML). Without it the embedded default is used.
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    /// Build the configuration from docker-jitsi-meet's environment variables (also done
    /// when XMPP_DOMAIN is set and no --config is given).
    #[arg(long, global = true, conflicts_with = "config")]
    jitsi_env: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Run,
    /// Create an account (or change its password).
    Register {
        /// User name (JID localpart).
        user: String,
        /// Host (a `[[host]]` domain).
        host: String,
        /// Password (stored only as SCRAM salted keys).
        password: String,
    },
    /// Delete an account.
    Unregister {
        /// User name.
        user: String,
        /// Host.
        host: String,
    },
    /// Parse a configuration file and report the first problem, naming key and line.
    CheckConfig {
        /// The file.
        file: PathBuf,
    },
    /// JWT helpers for token hosts.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Print a token signed with the host's configured secret.
    Mint {
        /// The token host.
        #[arg(long)]
        host: String,
        /// `room` claim (default `*`).
        #[arg(long)]
        room: Option<String>,
        /// `sub` claim (default: the host).
        #[arg(long)]
        sub: Option<String>,
        /// Lifetime, e.g. `1h`, `30m` (default 1h).
        #[arg(long, value_parser = humantime::parse_duration)]
        exp_in: Option<std::time::Duration>,
        /// Make the holder a moderator (`context.user.moderator = true`).
        #[arg(long)]
        moderator: bool,
        /// Extra claim `key=value` (dotted keys nest; JSON values allowed). Repeatable.
        #[arg(long = "claim")]
        claims: Vec<String>,
    },
    /// Check a token against a meeting URL, printing every check and the verdict.
    Explain {
        /// `https://HOST[/TENANT]/ROOM`.
        #[arg(long)]
        url: String,
        /// The token host, when the web host differs from the XMPP domain.
        #[arg(long)]
        host: Option<String>,
        /// The token.
        token: String,
    },
}

fn load(path: &Option<PathBuf>) -> Result<Config, String> {
    match path {
        Some(p) => Config::load(p).map_err(|e| e.to_string()),
        None => rookery_server::config::jitsi::env::default_config(
            std::env::args_os().any(|a| a == "--jitsi-env"),
        ),
    }
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // Colour codes only for a terminal: logs piped to a file or a container runtime stay
    // plain text.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

fn account_host(cfg: &Config, host: &str) -> Result<String, String> {
    match cfg.host(host) {
        Some(h) => Ok(h.domain.to_lowercase()),
        None => Err(format!("host '{host}' is not configured")),
    }
}

fn normalise_user(user: &str, host: &str) -> Result<String, String> {
    rookery_proto::Jid::from_parts(Some(user), host, None)
        .map(|j| j.node().unwrap_or_default().to_owned())
        .map_err(|e| format!("'{user}' is not a valid user name: {e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Run) {
        Command::Run => run(&cli.config),
        Command::Register {
            user,
            host,
            password,
        } => load(&cli.config).and_then(|cfg| {
            let host = account_host(&cfg, &host)?;
            let user = normalise_user(&user, &host)?;
            let store = Store::open(&cfg.data_dir).map_err(|e| e.to_string())?;
            store
                .set_password(&host, &user, &password, cfg.scram_iterations)
                .map_err(|e| e.to_string())?;
            println!("registered {user}@{host}");
            Ok(())
        }),
        Command::Unregister { user, host } => load(&cli.config).and_then(|cfg| {
            let host = account_host(&cfg, &host)?;
            let user = normalise_user(&user, &host)?;
            let store = Store::open(&cfg.data_dir).map_err(|e| e.to_string())?;
            if store.remove(&host, &user).map_err(|e| e.to_string())? {
                println!("removed {user}@{host}");
                Ok(())
            } else {
                Err(format!("no account {user}@{host}"))
            }
        }),
        Command::Token(cmd) => load(&cli.config).and_then(|cfg| token_command(&cfg, cmd)),
        Command::CheckConfig { file } => Config::load(&file)
            .map(|_| println!("{}: OK", file.display()))
            .map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rookery: {e}");
            ExitCode::FAILURE
        }
    }
}

fn token_command(cfg: &Config, cmd: TokenCommand) -> Result<(), String> {
    match cmd {
        TokenCommand::Mint {
            host,
            room,
            sub,
            exp_in,
            moderator,
            claims,
        } => {
            let req = rookery_server::token::cli::MintRequest {
                host,
                room,
                sub,
                exp_in,
                moderator,
                claims,
            };
            println!("{}", rookery_server::token::cli::mint_token(cfg, &req)?);
            Ok(())
        }
        TokenCommand::Explain { url, host, token } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the runtime: {e}"))?;
            let (text, allowed) = rt.block_on(rookery_server::token::cli::explain_token(
                cfg,
                &url,
                token.trim(),
                host.as_deref(),
            ))?;
            println!("{text}");
            if allowed {
                Ok(())
            } else {
                Err("refused (see the checks above)".into())
            }
        }
    }
}

fn run(config: &Option<PathBuf>) -> Result<(), String> {
    let cfg = load(config)?;
    init_logging(&cfg.log_level);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(async move {
        let running = rookery_server::start(cfg)
            .await
            .map_err(|e| e.to_string())?;
        for (kind, addr) in &running.listeners {
            println!("rookery listening: {kind:?} on {addr}");
        }
        wait_for_signal().await;
        println!("rookery: shutting down");
        running.shutdown().await;
        Ok(())
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
