//! The wire of the element-framed transports (WebSocket, BOSH): the shared
//! [`Conversation`] queues what must go to the client as [`Out`] items that each transport
//! frames its own way (one WebSocket message per item, or one BOSH body per response).

use std::sync::Arc;

use rookery_c2s::{TransportInfo, TransportKind};
use rookery_proto::{Element, StreamHeader, ns};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::params::TransportParams;
use crate::core::Core;
use crate::routing::table::Outgoing;
use crate::session::conversation::{Conversation, Wire};
use crate::transport::Transport;

/// One thing to send to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Out {
    /// Our stream header: `<open/>` on WebSocket, session attributes on BOSH.
    Open {
        /// The stream id.
        id: String,
        /// The host we speak for.
        from: String,
    },
    /// One serialised top-level element that declares its own namespace.
    Element(Vec<u8>),
    /// The stream ends; the stream error (already serialised, when there is one) goes
    /// first.
    Close(Option<Vec<u8>>),
}

/// A client session behind a framed transport.
pub(super) type FramedSession = Conversation<FramedWire>;

/// What a framed session has queued for its client.
#[derive(Debug, Default)]
pub(crate) struct FramedWire {
    out: Vec<Out>,
}

impl Wire for FramedWire {
    fn context_ns(&self) -> &'static str {
        ""
    }

    fn header(&mut self, id: &str, from: &str) {
        self.out.push(Out::Open {
            id: id.to_owned(),
            from: from.to_owned(),
        });
    }

    fn element(&mut self, write: &mut dyn FnMut(&mut Vec<u8>)) {
        let mut buf = Vec::with_capacity(256);
        write(&mut buf);
        self.out.push(Out::Element(buf));
    }

    fn mark(&self) -> usize {
        self.out.len()
    }

    fn rollback(&mut self, mark: usize) {
        self.out.truncate(mark);
    }

    fn end(&mut self, error: Option<&Element>) {
        let error = error.map(|e| {
            let mut buf = Vec::with_capacity(256);
            rookery_proto::serialize::write_element(&mut buf, e, "");
            buf
        });
        self.out.push(Out::Close(error));
    }

    fn restart(&mut self) {}

    fn start_tls(&mut self) -> bool {
        false
    }

    fn count_out(&mut self, core: &Core, kind: &str) {
        core.metrics.stanzas_out.count(kind);
    }
}

/// A header for [`Input::Open`] built from the attributes of an `<open/>` element or a
/// BOSH session request.
pub(super) fn header(to: Option<&str>, version: Option<&str>, lang: Option<&str>) -> StreamHeader {
    StreamHeader {
        to: to.map(str::to_owned),
        from: None,
        version: version.map(str::to_owned),
        lang: lang.map(str::to_owned),
        id: None,
        default_ns: ns::CLIENT.to_owned(),
        bindings: Vec::new(),
    }
}

impl Conversation<FramedWire> {
    /// A new session for WebSocket or BOSH; `tx` and `kill` are the mailbox and kill token
    /// the router gets at bind.
    pub(crate) fn open(
        core: Arc<Core>,
        transport: Transport,
        params: TransportParams,
        tx: mpsc::Sender<Outgoing>,
        kill: CancellationToken,
    ) -> Self {
        let encrypted = core
            .config
            .http
            .as_ref()
            .map(|h| h.consider_secure)
            .unwrap_or(false);
        let info = TransportInfo {
            starttls_available: false,
            encrypted,
            sm_available: true,
            kind: TransportKind::Http,
        };
        tracing::debug!(?params, "transport parameters");
        Conversation::new(
            core,
            transport,
            info,
            params,
            FramedWire::default(),
            tx,
            kill,
        )
    }

    /// Everything queued for the client since the last call.
    pub(crate) fn take_out(&mut self) -> Vec<Out> {
        std::mem::take(&mut self.wire.out)
    }
}
