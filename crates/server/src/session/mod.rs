//! What every client transport shares once bytes are framed: the session driver (login,
//! bind, routing, goodbye) and XEP-0198 stream management (queues, hibernation, resumption).

pub(crate) mod conversation;
pub(crate) mod driver;
pub(crate) mod stream_management;
