//! The Rookery server: configuration, host table, routing, transports, account store.
//!
//! Harnesses start a server with [`start`] from a [`Config`] (listen on port 0 to get free
//! ports) and get back the bound addresses and a handle that shuts it down.

// The embedding API is `start`, `start_with_store`, `Running`, `Config` (with `config::jitsi`
// for docker-jitsi-meet's variables), `Store`, the `token` tools and the `metrics` types
// `Running` hands out; everything else is the server's own.
pub mod config;
pub(crate) mod core;
pub mod metrics;
pub(crate) mod routing;
pub(crate) mod services;
pub(crate) mod session;
pub mod store;
pub mod token;
pub(crate) mod transport;

pub use crate::services::component::handshake_digest;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rookery_c2s::{HostAuth, HostPolicy};
use tokio_util::sync::CancellationToken;

use crate::config::Authentication;
pub use crate::config::Config;
use crate::core::Core;
use crate::routing::table::Router;
use crate::store::Store;

/// Startup failures.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// TLS could not be configured.
    #[error(transparent)]
    Tls(#[from] transport::tls::TlsError),
    /// A token host could not be set up.
    #[error("token host '{0}': {1}")]
    Token(String, String),
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

/// What kind of listener an address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    /// Client TCP (STARTTLS).
    C2s,
    /// HTTP: WebSocket, BOSH, health and metrics.
    Http,
    /// XEP-0114 external components.
    Component,
}

/// A running server.
#[derive(Debug)]
pub struct Running {
    /// Every bound listener.
    pub listeners: Vec<(ListenerKind, SocketAddr)>,
    core: Arc<Core>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// The first client TCP address.
    pub fn c2s_addr(&self) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|(k, _)| *k == ListenerKind::C2s)
            .map(|(_, a)| *a)
    }

    /// The first HTTP (WebSocket/BOSH) address.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|(k, _)| *k == ListenerKind::Http)
            .map(|(_, a)| *a)
    }

    /// The first XEP-0114 component listener address.
    pub fn component_addr(&self) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|(k, _)| *k == ListenerKind::Component)
            .map(|(_, a)| *a)
    }

    /// The `/metrics` page as it would be served now.
    pub fn metrics_text(&self) -> String {
        self.core.metrics.render(&self.core)
    }

    /// The stream-management counters (enabled, resumed, hibernated, evicted, ...).
    pub fn sm_counters(&self) -> &metrics::SmCounters {
        &self.core.metrics.sm
    }

    /// Whether a session is bound to this full JID.
    pub fn is_bound(&self, jid: &rookery_proto::Jid) -> bool {
        self.core.router.is_bound(jid)
    }

    /// How many sessions were disconnected because their mailbox overflowed.
    pub fn overflow_disconnects(&self) -> u64 {
        self.core.router.overflow_disconnects()
    }

    /// Whether no session is registered for resumption (live or hibernating).
    pub fn no_resumable_sessions(&self) -> bool {
        self.core.sm.is_empty()
    }

    /// Tells every session `system-shutdown`, stops listening and waits (at most 2 s) for
    /// sessions to close.
    pub async fn shutdown(self) {
        self.core.shutdown.cancel();
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(1), t).await;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
        while self.core.router.session_count() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn host_policy(cfg: &Config, h: &config::HostConfig) -> HostPolicy {
    HostPolicy {
        domain: h.domain.to_lowercase(),
        auth: match h.authentication {
            Authentication::Anonymous => HostAuth::Anonymous,
            Authentication::InternalHashed => HostAuth::InternalHashed {
                allow_anonymous: h.allow_anonymous,
            },
            Authentication::Token => HostAuth::Token {
                oauthbearer_over_http: h.token.as_ref().is_some_and(|t| t.oauthbearer_over_http),
            },
        },
        require_encryption: h
            .c2s_require_encryption
            .unwrap_or(cfg.c2s_require_encryption),
        allow_unencrypted_plain: h
            .allow_unencrypted_plain_auth
            .unwrap_or(cfg.allow_unencrypted_plain_auth),
    }
}

async fn bind(addr: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), StartError> {
    let l = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    let local = l
        .local_addr()
        .map_err(|source| StartError::Bind { addr, source })?;
    Ok((l, local))
}

/// Registers client proxies and external components as domain services (a component and a
/// proxy may share a domain: the component serves it while connected) and binds the
/// component listener when components exist.
async fn register_components(
    config: &Config,
    services: &mut HashMap<String, Arc<dyn core::DomainService>>,
    listeners: &mut Vec<(ListenerKind, SocketAddr)>,
) -> Result<(services::component::Registry, Vec<tokio::net::TcpListener>), StartError> {
    let mut proxies = HashMap::new();
    for p in &config.client_proxies {
        if let Some(proxy) = services::client_proxy::ClientProxy::from_config(p) {
            let proxy = Arc::new(proxy);
            proxies.insert(proxy.domain().to_string(), proxy.clone());
            services.insert(proxy.domain().to_string(), proxy);
        }
    }
    let mut registry = services::component::Registry::new();
    for c in &config.components {
        let Ok(domain) = rookery_proto::Jid::parse(&c.domain) else {
            continue;
        };
        let fallback = proxies.get(domain.as_str()).cloned();
        let svc = Arc::new(
            services::component::ComponentService::new(domain.clone(), c.secret.clone(), fallback)
                .with_subdomains(c.subdomains),
        );
        services.insert(domain.to_string(), svc.clone());
        registry.insert(domain.to_string(), svc);
    }
    let mut sockets = Vec::new();
    if !registry.is_empty() {
        for addr in &config.component_listener.listen {
            let (l, local) = bind(*addr).await?;
            listeners.push((ListenerKind::Component, local));
            sockets.push(l);
        }
    }
    Ok((registry, sockets))
}

/// Opens the store, binds every listener and starts serving.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let store = Store::open(&config.data_dir)?;
    start_with_store(config, store).await
}

/// Like [`start`] with a given store (tests use an in-memory one).
pub async fn start_with_store(config: Config, store: Store) -> Result<Running, StartError> {
    for a in config.jitsi.iter().flat_map(|j| j.startup_accounts()) {
        store.set_password(
            &a.domain,
            &a.user,
            a.password.expose(),
            config.scram_iterations,
        )?;
        tracing::info!(account = %format!("{}@{}", a.user, a.domain), "account ready");
    }
    let mut hosts = HashMap::new();
    let mut tls = HashMap::new();
    for h in &config.hosts {
        let p = host_policy(&config, h);
        tls.insert(p.domain.clone(), transport::tls::acceptor_for(h)?);
        hosts.insert(p.domain.clone(), Arc::new(p));
    }
    let mut token_hosts = HashMap::new();
    for h in &config.hosts {
        if let (Authentication::Token, Some(t)) = (h.authentication, &h.token) {
            let th = core::TokenHost::new(t).map_err(|e| StartError::Token(h.domain.clone(), e))?;
            token_hosts.insert(h.domain.to_lowercase(), Arc::new(th));
        }
    }
    let limits = rookery_proto::Limits {
        max_stanza_bytes: config.c2s_stanza_size_limit,
        max_depth: 64,
    };
    let mut listeners = Vec::new();
    let mut sockets = Vec::new();
    for addr in &config.c2s.listen {
        let (l, local) = bind(*addr).await?;
        listeners.push((ListenerKind::C2s, local));
        sockets.push(l);
    }
    let mut http_sockets = Vec::new();
    for addr in config.http.iter().flat_map(|h| h.listen.iter()) {
        let (l, local) = bind(*addr).await?;
        listeners.push((ListenerKind::Http, local));
        http_sockets.push(l);
    }
    let mut services: HashMap<String, Arc<dyn core::DomainService>> = HashMap::new();
    let mut mucs = Vec::new();
    for m in &config.mucs {
        let domain = m.domain.to_string();
        let parent_admins = config
            .hosts
            .iter()
            .filter(|h| domain.ends_with(&format!(".{}", h.domain.to_lowercase())))
            .flat_map(|h| h.admins.iter().cloned())
            .collect();
        let svc = Arc::new(services::muc::MucDomain::new(
            m.clone(),
            parent_admins,
            &config.admins,
        ));
        services.insert(domain, svc.clone());
        mucs.push(svc);
    }
    let (components, component_sockets) =
        register_components(&config, &mut services, &mut listeners).await?;
    let core = Arc::new(Core {
        config,
        router: Router::new(),
        store,
        hosts,
        services,
        token_hosts,
        limits,
        shutdown: CancellationToken::new(),
        metrics: metrics::Metrics::default(),
        sm: session::stream_management::Registry::default(),
    });
    for m in &mucs {
        m.load_persistent(&core);
    }
    let tls = Arc::new(tls);
    let mut tasks: Vec<_> = sockets
        .into_iter()
        .map(|l| tokio::spawn(transport::tcp::accept_loop(core.clone(), tls.clone(), l)))
        .collect();
    if !http_sockets.is_empty() {
        let http = transport::http::HttpService::new(core.clone());
        tasks.extend(
            http_sockets
                .into_iter()
                .map(|l| tokio::spawn(http.clone().serve(l))),
        );
    }
    let components = Arc::new(components);
    tasks.extend(component_sockets.into_iter().map(|l| {
        tokio::spawn(transport::component::accept_loop(
            core.clone(),
            components.clone(),
            l,
        ))
    }));
    Ok(Running {
        listeners,
        core,
        tasks,
    })
}
