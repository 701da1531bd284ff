//! Namespace URIs used across the server.

/// Client stanzas.
pub const CLIENT: &str = "jabber:client";
/// Server-to-server stanzas (unused on the wire here, kept for completeness).
pub const SERVER: &str = "jabber:server";
/// XEP-0114 component stanzas.
pub const COMPONENT: &str = "jabber:component:accept";
/// The stream element.
pub const STREAM: &str = "http://etherx.jabber.org/streams";
/// Stream error conditions.
pub const STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";
/// Stanza error conditions.
pub const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
/// STARTTLS.
pub const TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
/// SASL.
pub const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
/// Resource binding.
pub const BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
/// Legacy session establishment (RFC 3921), advertised as optional.
pub const SESSION: &str = "urn:ietf:params:xml:ns:xmpp-session";
/// RFC 7395 WebSocket framing.
pub const FRAMING: &str = "urn:ietf:params:xml:ns:xmpp-framing";
/// XEP-0124 BOSH body.
pub const HTTPBIND: &str = "http://jabber.org/protocol/httpbind";
/// XEP-0206 attributes on the BOSH body.
pub const XBOSH: &str = "urn:xmpp:xbosh";
/// XEP-0198 stream management.
pub const SM: &str = "urn:xmpp:sm:3";
/// XEP-0199 ping.
pub const PING: &str = "urn:xmpp:ping";
/// XEP-0030 service discovery, info.
pub const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
/// XEP-0030 service discovery, items.
pub const DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
/// XEP-0092 software version.
pub const VERSION: &str = "jabber:iq:version";
/// XEP-0004 data forms.
pub const DATA_FORMS: &str = "jabber:x:data";
/// XEP-0045 MUC.
pub const MUC: &str = "http://jabber.org/protocol/muc";
/// XEP-0045 MUC user.
pub const MUC_USER: &str = "http://jabber.org/protocol/muc#user";
/// XEP-0045 MUC admin.
pub const MUC_ADMIN: &str = "http://jabber.org/protocol/muc#admin";
/// XEP-0045 MUC owner.
pub const MUC_OWNER: &str = "http://jabber.org/protocol/muc#owner";
/// XEP-0203 delayed delivery.
pub const DELAY: &str = "urn:xmpp:delay";
/// Jitsi's application error codes.
pub const JITMEET: &str = "http://jitsi.org/jitmeet";
/// RFC 6121 roster (not served; answered with an empty roster).
pub const ROSTER: &str = "jabber:iq:roster";
