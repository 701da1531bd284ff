//! Sans-io XMPP wire layer: stream framing and parsing, the `Element` tree, JIDs, stanza and
//! stream errors, and serialisation. No sockets and no async here: drivers feed bytes in and
//! write the bytes this crate produces.

pub mod element;
pub mod error;
pub mod fragment;
pub mod jid;
pub mod ns;
pub mod serialize;
pub mod stream_parser;

pub use element::{Element, Node};
pub use error::{
    ErrorType, StanzaError, StanzaErrorCondition, StreamErrorCondition, XmlError, error_reply,
    stream_error,
};
pub use jid::{Jid, JidError};
pub use serialize::{Prepared, SharedStanza};
pub use stream_parser::{Limits, StreamEvent, StreamHeader, StreamParser};
