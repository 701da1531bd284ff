//! One BOSH session (XEP-0124/0206) as one task: it owns the sans-io session, the rid
//! window, the held requests and the bounded mailbox, and answers HTTP requests that the
//! handler hands it over a channel.
//!
//! Requests are processed in rid order. A held request is answered as soon as there is
//! something to send (everything queued goes into one body), when its `wait` expires (an
//! empty body), or when a newer request pushes it past `hold`. With nothing held for
//! `inactivity` seconds the session ends.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use rookery_c2s::Input;
use rookery_proto::StreamErrorCondition;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::HttpService;
use super::bosh_body::{self, Body, Condition};
use super::bosh_negotiate::Negotiated;
use super::bosh_window::{RidPlace, RidWindow};
use super::framed::{FramedSession, Out, header};
use super::params::TransportParams;
use crate::metrics::{ConnectionGuard, Transport};
use crate::session::stream_management;

/// One HTTP request handed to the session task; the answer goes back on `reply`.
#[derive(Debug)]
pub(super) struct Request {
    /// The parsed body.
    pub body: Body,
    /// Where the response body goes.
    pub reply: oneshot::Sender<Bytes>,
}

struct Held {
    rid: u64,
    reply: oneshot::Sender<Bytes>,
    deadline: Instant,
}

struct Task {
    svc: HttpService,
    sid: String,
    conn: FramedSession,
    mailbox: mpsc::Receiver<crate::routing::table::Outgoing>,
    neg: Negotiated,
    window: RidWindow,
    ahead: BTreeMap<u64, Request>,
    held: VecDeque<Held>,
    pending: Vec<u8>,
    /// The final body once the stream ended; the session stops after sending it.
    terminal: Option<Vec<u8>>,
    /// Creation-response attributes, until the first response carries them.
    creation: Option<Vec<(&'static str, String)>>,
    /// When the last held request was answered (inactivity runs from here).
    idle_since: Instant,
    /// The inactivity allowed now (raised by `pause`).
    inactivity: Duration,
    last_empty_poll: Option<Instant>,
    finished: bool,
}

/// Starts the task for a new session whose first request is `first`; `requests` is the
/// channel the handler feeds with later requests.
pub(super) fn spawn(
    svc: HttpService,
    sid: String,
    neg: Negotiated,
    params: TransportParams,
    first: Request,
    requests: mpsc::Receiver<Request>,
) {
    let span = tracing::info_span!("bosh", sid = %sid);
    let fut = async move {
        let _guard = ConnectionGuard::open(&svc.core, Transport::Bosh);
        let core = svc.core.clone();
        let (tx, rx) = mpsc::channel(core.config.c2s_send_queue);
        let kill = CancellationToken::new();
        let conn = FramedSession::open(core, Transport::Bosh, params, tx, kill.clone());
        let mut task = Task {
            sid: sid.clone(),
            conn,
            mailbox: rx,
            neg,
            window: RidWindow::new(first.body.rid, neg.requests),
            ahead: BTreeMap::new(),
            held: VecDeque::new(),
            pending: Vec::new(),
            terminal: None,
            creation: None,
            idle_since: Instant::now(),
            inactivity: Duration::from_secs(neg.inactivity),
            last_empty_poll: None,
            finished: false,
            svc: svc.clone(),
        };
        task.create(first);
        task.run(requests, kill).await;
        svc.bosh.remove(&sid);
    };
    tokio::spawn(tracing::Instrument::instrument(fut, span));
}

impl Task {
    fn create(&mut self, first: Request) {
        let body = &first.body;
        self.creation = Some(
            self.neg
                .creation_attributes(&self.sid, self.svc.config.consider_secure),
        );
        let to = body.attr("to").map(str::to_owned);
        let version = body.xbosh_attr("version").unwrap_or("1.0").to_owned();
        let lang = body.attr("xml:lang").map(str::to_owned);
        self.conn.input(Input::Open(header(
            to.as_deref(),
            Some(&version),
            lang.as_deref(),
        )));
        self.window.advance();
        self.hold(first.body.rid, first.reply);
        self.flush();
    }

    async fn run(&mut self, mut requests: mpsc::Receiver<Request>, mut kill: CancellationToken) {
        let core = self.svc.core.clone();
        let negotiation = Instant::now() + Duration::from_secs(core.config.c2s_negotiation_timeout);
        let mut batch = Vec::with_capacity(64);
        let mut ack_timer = stream_management::ack_timer();
        let mut takeover = None;
        while !self.finished {
            let bound = self.conn.is_bound();
            let managed = self.conn.sm_active();
            let wait_deadline = self.held.iter().map(|h| h.deadline).min();
            let idle_deadline = (self.held.is_empty() && self.ahead.is_empty())
                .then(|| self.idle_since + self.inactivity);
            tokio::select! {
                biased;
                _ = kill.cancelled() => {
                    self.conn.error(StreamErrorCondition::PolicyViolation, "too many stanzas queued for this client: it does not read");
                }
                _ = core.shutdown.cancelled() => {
                    self.conn.error(StreamErrorCondition::SystemShutdown, "the server is shutting down");
                }
                t = self.conn.next_takeover() => {
                    tracing::debug!("another connection resumed this session");
                    takeover = Some(t);
                    break;
                }
                _ = tokio::time::sleep_until(negotiation), if !bound => {
                    self.conn.error(StreamErrorCondition::ConnectionTimeout, "authentication and resource binding took too long");
                }
                r = requests.recv() => match r {
                    Some(r) => self.on_request(r),
                    None => break,
                },
                _ = sleep_until_opt(wait_deadline), if wait_deadline.is_some() => {
                    let now = Instant::now();
                    while self.held.front().map(|h| h.deadline <= now).unwrap_or(false) {
                        self.answer_oldest();
                    }
                }
                _ = sleep_until_opt(idle_deadline), if idle_deadline.is_some() => {
                    tracing::debug!("BOSH session inactive: ending it");
                    break;
                }
                n = self.mailbox.recv_many(&mut batch, 256), if bound && !self.held.is_empty() => {
                    if n == 0 { break; }
                    for item in batch.drain(..) {
                        self.conn.deliver(item);
                    }
                }
                _ = ack_timer.tick(), if managed => self.conn.ack_tick(),
            }
            if self.conn.token_pending() {
                self.conn.settle_token().await;
                self.trim();
            }
            if self.conn.resume_pending() {
                self.conn.settle_resume().await;
                if let Some((rx, k)) = self.conn.take_adopted() {
                    self.mailbox = rx;
                    kill = k;
                }
                self.trim();
            }
            self.flush();
            if self.terminal.is_some() && self.held.is_empty() {
                // Nobody left to tell.
                break;
            }
        }
        // Whatever is still held learns that the session is over.
        let last = self
            .terminal
            .take()
            .unwrap_or_else(|| bosh_body::terminate(None, b""));
        for h in self.held.drain(..) {
            let _ = h.reply.send(Bytes::from(last.clone()));
        }
        for (_, r) in std::mem::take(&mut self.ahead) {
            let _ = r.reply.send(Bytes::from(last.clone()));
        }
        let ending = self.conn.ending();
        let (_, placeholder) = mpsc::channel(1);
        let rx = std::mem::replace(&mut self.mailbox, placeholder);
        self.conn.finish(rx, ending, takeover);
    }

    fn on_request(&mut self, r: Request) {
        let rid = r.body.rid;
        match self.window.place(rid) {
            RidPlace::Answered(cached) => {
                tracing::debug!(rid, "retransmitted request answered from the cache");
                let _ = r.reply.send(cached);
            }
            RidPlace::Past => {
                if let Some(h) = self.held.iter_mut().find(|h| h.rid == rid) {
                    // The client gave up on the connection that carried it: answer here.
                    h.reply = r.reply;
                } else {
                    self.refuse(r, Condition::ItemNotFound, "rid already answered");
                }
            }
            RidPlace::Beyond => self.refuse(r, Condition::ItemNotFound, "rid beyond the window"),
            RidPlace::Ahead => {
                let outstanding = self.held.len() + self.ahead.len() + 1;
                if outstanding > self.neg.requests as usize {
                    self.refuse(
                        r,
                        Condition::PolicyViolation,
                        "too many simultaneous requests",
                    );
                } else {
                    self.ahead.insert(rid, r);
                }
            }
            RidPlace::Next => {
                self.process(r);
                self.window.advance();
                while let Some(next) = self.ahead.remove(&self.window.next()) {
                    self.process(next);
                    self.window.advance();
                }
            }
        }
    }

    /// Refuses a request with a terminal condition; the session ends.
    fn refuse(&mut self, r: Request, cond: Condition, why: &str) {
        self.refuse_reply(r.body.rid, r.reply, cond, why);
    }

    fn refuse_reply(
        &mut self,
        rid: u64,
        reply: oneshot::Sender<Bytes>,
        cond: Condition,
        why: &str,
    ) {
        tracing::debug!(rid, condition = cond.as_str(), "{why}");
        self.svc
            .core
            .metrics
            .bosh_request_errors
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let body = bosh_body::terminate(Some(cond), b"");
        let _ = reply.send(Bytes::from(body.clone()));
        self.terminal = Some(body);
        self.finished = true;
    }

    fn process(&mut self, r: Request) {
        if self.terminal.is_some() || self.finished {
            let _ = r.reply.send(Bytes::from(bosh_body::terminate(None, b"")));
            return;
        }
        let Request { mut body, reply } = r;
        let rid = body.rid;
        let stanzas = std::mem::take(&mut body.stanzas);
        if body.is_terminate() {
            for el in stanzas {
                self.conn.input(Input::Element(el));
            }
            self.conn.input(Input::Close);
            self.hold(rid, reply);
            return;
        }
        match body.number("pause") {
            Err(_) => {
                return self.refuse_reply(
                    rid,
                    reply,
                    Condition::BadRequest,
                    "pause is not a number",
                );
            }
            Ok(Some(p)) if p > self.neg.max_pause => {
                return self.refuse_reply(
                    rid,
                    reply,
                    Condition::PolicyViolation,
                    "pause beyond maxpause",
                );
            }
            Ok(Some(p)) => {
                // Answer everything now; the client will be quiet for `p` seconds.
                self.inactivity = Duration::from_secs(p.max(self.neg.inactivity));
                self.hold(rid, reply);
                while !self.held.is_empty() {
                    self.answer_oldest();
                }
                return;
            }
            Ok(None) => {}
        }
        self.inactivity = Duration::from_secs(self.neg.inactivity);
        if body.is_restart() {
            let to = body
                .attr("to")
                .map(str::to_owned)
                .or_else(|| self.conn.host());
            let lang = body.attr("xml:lang").map(str::to_owned);
            self.conn.input(Input::Open(header(
                to.as_deref(),
                Some("1.0"),
                lang.as_deref(),
            )));
        } else if stanzas.is_empty() {
            if self.neg.hold == 0 {
                let now = Instant::now();
                let too_soon = self
                    .last_empty_poll
                    .map(|t| now.duration_since(t) < Duration::from_secs(self.neg.polling))
                    .unwrap_or(false);
                self.last_empty_poll = Some(now);
                if too_soon {
                    return self.refuse_reply(
                        rid,
                        reply,
                        Condition::PolicyViolation,
                        "polling too often",
                    );
                }
            }
        } else {
            for el in stanzas {
                if self.conn.is_closing() {
                    break;
                }
                self.conn.input(Input::Element(el));
            }
        }
        self.hold(rid, reply);
    }

    /// Holds a request; the oldest ones are answered when more than `hold` are held.
    fn hold(&mut self, rid: u64, reply: oneshot::Sender<Bytes>) {
        self.held.push_back(Held {
            rid,
            reply,
            deadline: Instant::now() + Duration::from_secs(self.neg.wait),
        });
        self.trim();
    }

    /// Answers the oldest held requests beyond `hold` (not while a token is being
    /// verified: the SASL answer belongs in this response).
    fn trim(&mut self) {
        if self.conn.token_pending() || self.conn.resume_pending() {
            return;
        }
        while self.held.len() as u64 > self.neg.hold {
            self.answer_oldest();
        }
    }

    /// Moves what the session produced into the pending body (or the terminal one).
    fn collect(&mut self) {
        for out in self.conn.take_out() {
            match out {
                Out::Open { id, from } => {
                    if let Some(attrs) = self.creation.as_mut() {
                        attrs.push(("from", from));
                        attrs.push(("authid", id));
                    }
                }
                Out::Element(bytes) => self.pending.extend_from_slice(&bytes),
                Out::Close(err) => {
                    let body = match err {
                        Some(err) => {
                            let mut content = std::mem::take(&mut self.pending);
                            content.extend_from_slice(&err);
                            bosh_body::terminate(Some(Condition::RemoteStreamError), &content)
                        }
                        None => bosh_body::terminate(None, &std::mem::take(&mut self.pending)),
                    };
                    self.terminal = Some(body);
                }
            }
        }
    }

    /// Answers held requests that have something to carry.
    fn flush(&mut self) {
        self.collect();
        if (self.terminal.is_some() || !self.pending.is_empty()) && !self.held.is_empty() {
            self.answer_oldest();
        }
    }

    /// Answers the oldest held request with everything pending (possibly nothing),
    /// including whatever the mailbox holds right now; once the stream has ended, with the
    /// terminal body, and the session is finished.
    fn answer_oldest(&mut self) {
        if self.conn.is_bound() {
            while let Ok(item) = self.mailbox.try_recv() {
                self.conn.deliver(item);
            }
        }
        self.collect();
        let Some(h) = self.held.pop_front() else {
            return;
        };
        let body = if let Some(last) = self.terminal.take() {
            self.finished = true;
            // Anything else still held just learns that the session is over.
            self.terminal = Some(bosh_body::terminate(None, b""));
            last
        } else {
            let content = std::mem::take(&mut self.pending);
            if self.pending.capacity() > 64 * 1024 {
                self.pending = Vec::new();
            }
            match self.creation.take() {
                Some(attrs) => {
                    let refs: Vec<(&str, &str)> =
                        attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    bosh_body::response(&refs, &content)
                }
                None => bosh_body::response(&[], &content),
            }
        };
        let body = Bytes::from(body);
        self.window.record(h.rid, body.clone());
        let _ = h.reply.send(body);
        if self.held.is_empty() {
            self.idle_since = Instant::now();
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
