//! Runs the sans-io MUC service of `rookery-muc`: one task per room with a bounded mailbox,
//! broadcasts serialised once (`Prepared`) and spliced per recipient, persistent rooms in
//! the store. The service-level directory sits behind a `std::sync::Mutex` held only for
//! short, non-async calls.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dashmap::DashMap;
use rookery_muc::{
    AddressMapper, Effect, HookChain, MucConfig, NewRoom, Room, RoomInput, RoomRecord, Service,
    Target, Timestamp,
};
use rookery_proto::{Element, Jid, SharedStanza, StanzaError, StanzaErrorCondition};
use tokio::sync::mpsc;

use crate::core::{Core, DomainService, Identity, Sender};
use crate::routing::{bounce, send_from_server};
use crate::services::muc_policy::{PolicyHook, ServerMapper, effective_policy_config};

/// Stanzas waiting for one room task before senders get `resource-constraint`.
const ROOM_MAILBOX: usize = 65536;

type Ident = Arc<Identity>;

struct RoomHandle {
    tx: mpsc::Sender<RoomInput<Ident>>,
    id: u64,
}

struct Inner {
    config: Arc<MucConfig>,
    hooks: Arc<HookChain<Ident>>,
    service: Mutex<Service<ServerMapper>>,
    mapper: ServerMapper,
    rooms: DashMap<Jid, RoomHandle>,
    next_id: AtomicU64,
    /// Occupants across all rooms (each room task adds its changes).
    occupants: std::sync::atomic::AtomicI64,
    /// Room-verification refusals of the policy hook, when there is one.
    refusals: Option<Arc<crate::metrics::Labelled>>,
    /// Token expiry deadlines (`token_expiry = "kick"`), when there is a policy hook.
    expiries: Option<Arc<crate::services::muc_policy::Expiries>>,
    /// Admins of the host this service hangs under (`conference.example.com` → `example.com`).
    parent_admins: Vec<String>,
}

/// A MUC service bound to its domain.
pub(crate) struct MucDomain {
    inner: Arc<Inner>,
}

impl MucDomain {
    /// Builds the service; persistent rooms are loaded by [`MucDomain::load_persistent`].
    pub(crate) fn new(
        config: MucConfig,
        parent_admins: Vec<String>,
        global_admins: &[String],
    ) -> Self {
        let mut hooks = HookChain::default();
        let mut mapper = ServerMapper::Plain;
        let mut refusals = None;
        let mut expiries = None;
        if let Some(policy_cfg) = effective_policy_config(&config) {
            mapper = PolicyHook::mapper(&config, &policy_cfg);
            let hook = PolicyHook::new(&config, policy_cfg, global_admins, &parent_admins);
            refusals = Some(hook.refusals.clone());
            expiries = Some(hook.expiries.clone());
            hooks.add(100, Arc::new(hook));
        }
        let config = Arc::new(config);
        MucDomain {
            inner: Arc::new(Inner {
                service: Mutex::new(Service::new(config.clone(), mapper.clone())),
                mapper,
                hooks: Arc::new(hooks),
                config,
                rooms: DashMap::new(),
                next_id: AtomicU64::new(1),
                occupants: std::sync::atomic::AtomicI64::new(0),
                refusals,
                expiries,
                parent_admins,
            }),
        }
    }

    /// Starts a task for every persistent room in the store.
    pub(crate) fn load_persistent(&self, core: &Arc<Core>) {
        let domain = self.inner.config.domain.to_string();
        let records = match core.store.rooms(&domain) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(%domain, "cannot load persistent rooms: {e}");
                return;
            }
        };
        for (name, text) in records {
            let room = serde_json::from_str::<RoomRecord>(&text)
                .map_err(|e| e.to_string())
                .and_then(|rec| {
                    Room::from_record(&rec, self.inner.config.clone(), self.inner.hooks.clone())
                        .map_err(|e| e.to_string())
                });
            match room {
                Ok(room) => {
                    if let Ok(mut s) = self.inner.service.lock() {
                        s.register(room.summary());
                    }
                    spawn_room(core, &self.inner, room);
                }
                Err(e) => {
                    tracing::warn!(%domain, room = %name, "skipping unreadable room record: {e}")
                }
            }
        }
    }
}

fn is_admin(core: &Core, inner: &Inner, jid: &Jid) -> bool {
    let bare = jid.bare_str();
    core.is_admin(jid)
        || inner
            .parent_admins
            .iter()
            .any(|a| Jid::parse(a).map(|j| j.as_str() == bare).unwrap_or(false))
}

fn spawn_room(
    core: &Arc<Core>,
    inner: &Arc<Inner>,
    room: Room<Ident>,
) -> mpsc::Sender<RoomInput<Ident>> {
    let (tx, rx) = mpsc::channel(ROOM_MAILBOX);
    let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
    inner
        .rooms
        .insert(room.jid().clone(), RoomHandle { tx: tx.clone(), id });
    tokio::spawn(room_task(core.clone(), inner.clone(), room, rx, id));
    tx
}

async fn room_task(
    core: Arc<Core>,
    inner: Arc<Inner>,
    mut room: Room<Ident>,
    mut rx: mpsc::Receiver<RoomInput<Ident>>,
    id: u64,
) {
    let mut tick = tokio::time::interval(inner.config.tick_interval());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut batch = Vec::with_capacity(64);
    // Occupants this room has added to the service-wide gauge.
    let mut counted: i64 = 0;
    loop {
        let inputs: Vec<RoomInput<Ident>> = tokio::select! {
            n = rx.recv_many(&mut batch, 64) => {
                if n == 0 { break; }
                std::mem::take(&mut batch)
            }
            _ = tick.tick() => {
                let mut inputs = vec![RoomInput::Tick];
                if let Some(exp) = &inner.expiries {
                    let now = rookery_sasl::token::unix_now() as i64;
                    for jid in exp.due(room.jid(), now) {
                        inputs.push(RoomInput::Expel {
                            jid,
                            reason: "Your token has expired".into(),
                        });
                    }
                }
                inputs
            }
            _ = core.shutdown.cancelled() => break,
        };
        let mut closed = false;
        for input in inputs {
            let effects = room.handle(input, Timestamp::now());
            let count = room.occupant_count() as i64;
            inner
                .occupants
                .fetch_add(count - counted, Ordering::Relaxed);
            counted = count;
            closed |= carry_out(&core, &inner, effects);
            if closed {
                break;
            }
        }
        if closed {
            inner.rooms.remove_if(room.jid(), |_, h| h.id == id);
            // Anything that raced into the mailbox goes through dispatch again (it may
            // create a fresh room).
            rx.close();
            while let Ok(RoomInput::Stanza { stanza, sender }) = rx.try_recv() {
                let s = Sender {
                    jid: sender.jid,
                    identity: sender.identity,
                };
                if let Some(to) = stanza.attr("to").and_then(|t| Jid::parse(t).ok()) {
                    dispatch(&core, &inner, &s, to, stanza);
                }
            }
            break;
        }
    }
    inner.occupants.fetch_sub(counted, Ordering::Relaxed);
}

/// Carries out room effects; returns true when the room closed.
fn carry_out(core: &Arc<Core>, inner: &Arc<Inner>, effects: Vec<Effect>) -> bool {
    let mut closed = false;
    for e in effects {
        match e {
            Effect::Send { to, mut stanza } => {
                if stanza.attr("to").is_none() {
                    stanza.set_attr("to", to.as_str());
                }
                send_from_server(core, stanza);
            }
            Effect::Broadcast { stanza, to } => broadcast(core, stanza, to),
            Effect::Persist(record) => match serde_json::to_string(&*record) {
                Ok(text) => {
                    if let Err(e) =
                        core.store
                            .save_room(inner.config.domain.as_str(), &record.room, &text)
                    {
                        tracing::error!(room = %record.room, "cannot persist room: {e}");
                    }
                }
                Err(e) => tracing::error!(room = %record.room, "cannot encode room record: {e}"),
            },
            Effect::Forget { ref room } => {
                if let Err(e) = core
                    .store
                    .delete_room(inner.config.domain.as_str(), room.as_str())
                {
                    tracing::error!(%room, "cannot forget room: {e}");
                }
                observe(inner, &e);
            }
            Effect::Summary(_) => observe(inner, &e),
            Effect::Closed { .. } => {
                observe(inner, &e);
                closed = true;
            }
            Effect::Idle { .. } => {}
        }
    }
    closed
}

fn observe(inner: &Inner, e: &Effect) {
    if let Ok(mut s) = inner.service.lock() {
        s.observe(e);
    }
}

/// One serialisation (done by the room) for every recipient; only `to` is spliced in.
fn broadcast(core: &Arc<Core>, stanza: SharedStanza, recipients: Vec<Jid>) {
    let prepared = stanza.prepared();
    let element = stanza.element();
    for to in recipients {
        if core.is_local_host(to.domain()) {
            let _ = core.router.deliver_shared(prepared, element, to);
        } else {
            let mut copy = Element::clone(element);
            copy.set_attr("to", to.as_str());
            send_from_server(core, copy);
        }
    }
}

fn dispatch(core: &Arc<Core>, inner: &Arc<Inner>, sender: &Sender, to: Jid, stanza: Element) {
    let target = inner.service.lock().ok().and_then(|s| s.target(&to));
    match target {
        None => bounce(
            core,
            &stanza,
            StanzaError::new(StanzaErrorCondition::ItemNotFound).with_text("no such room address"),
        ),
        Some(Target::Invalid) => {
            let effects = match inner.service.lock() {
                Ok(s) => s.refuse_invalid(&stanza, &sender.jid),
                Err(_) => Vec::new(),
            };
            carry_out(core, inner, effects);
        }
        Some(Target::Service) => {
            let effects = match inner.service.lock() {
                Ok(s) => s.handle(&stanza, &sender.jid),
                Err(_) => Vec::new(),
            };
            carry_out(core, inner, effects);
        }
        Some(Target::Room { room, .. }) => {
            let admin = is_admin(core, inner, &sender.jid);
            let input = RoomInput::Stanza {
                stanza,
                sender: rookery_muc::Sender {
                    jid: sender.jid.clone(),
                    is_admin: admin,
                    identity: sender.identity.clone(),
                },
            };
            let existing = inner.rooms.get(&room).map(|h| h.tx.clone());
            let input = match existing {
                Some(tx) => match tx.try_send(input) {
                    Ok(()) => return,
                    Err(mpsc::error::TrySendError::Full(RoomInput::Stanza { stanza, .. })) => {
                        return bounce(
                            core,
                            &stanza,
                            StanzaError::new(StanzaErrorCondition::ResourceConstraint)
                                .with_text("the room is overloaded; try again"),
                        );
                    }
                    Err(mpsc::error::TrySendError::Full(_)) => return,
                    Err(mpsc::error::TrySendError::Closed(input)) => input,
                },
                None => input,
            };
            let RoomInput::Stanza {
                stanza,
                sender: msender,
            } = input
            else {
                return;
            };
            let decision = match inner.service.lock() {
                Ok(s) => s.new_room(&stanza, &msender.jid, admin, inner.rooms.len()),
                Err(_) => NewRoom::Ignore,
            };
            match decision {
                NewRoom::Create => {
                    let r = Room::new(
                        room,
                        inner.config.clone(),
                        inner.hooks.clone(),
                        Timestamp::now(),
                    );
                    let tx = spawn_room(core, inner, r);
                    let _ = tx.try_send(RoomInput::Stanza {
                        stanza,
                        sender: msender,
                    });
                }
                NewRoom::Reply(effect) => {
                    carry_out(core, inner, vec![effect]);
                }
                NewRoom::Ignore => {}
            }
        }
    }
}

impl DomainService for MucDomain {
    fn handle(&self, core: &Arc<Core>, sender: &Sender, to: Jid, stanza: Element) {
        dispatch(core, &self.inner, sender, to, stanza);
    }

    fn serves(&self, domain: &str) -> bool {
        self.inner.mapper.serves(&self.inner.config.domain, domain)
    }

    fn muc_stats(&self) -> Option<crate::core::MucStats> {
        Some(crate::core::MucStats {
            rooms: self.inner.rooms.len(),
            occupants: self.inner.occupants.load(Ordering::Relaxed).max(0) as u64,
            refusals: self
                .inner
                .refusals
                .as_ref()
                .map(|r| r.snapshot())
                .unwrap_or_default(),
        })
    }

    fn disco_name(&self) -> Option<String> {
        Some(
            self.inner
                .config
                .name
                .clone()
                .unwrap_or_else(|| "Chatrooms".to_owned()),
        )
    }
}
