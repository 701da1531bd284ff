//! IQs the server answers itself: XEP-0199 ping, XEP-0030 disco#info/#items, XEP-0092
//! version on a host; disco#info and an empty roster on behalf of accounts. Everything else
//! gets `service-unavailable`, and results/errors are never answered.

use std::sync::Arc;

use rookery_proto::{Element, Jid, StanzaError, StanzaErrorCondition, ns};

use crate::core::{Core, Sender};
use crate::routing::{bounce, send_from_server};

/// Features the server host advertises in disco#info.
pub(crate) const HOST_FEATURES: &[&str] = &[
    ns::DISCO_INFO,
    ns::DISCO_ITEMS,
    ns::PING,
    ns::VERSION,
    "urn:xmpp:sm:3",
];

fn result_for(iq: &Element) -> Element {
    Element::new("iq", ns::CLIENT)
        .with_attr("type", "result")
        .with_opt_attr("id", iq.attr("id"))
        .with_opt_attr("from", iq.attr("to"))
        .with_opt_attr("to", iq.attr("from"))
}

fn is_request(iq: &Element) -> bool {
    matches!(iq.attr("type"), Some("get" | "set"))
}

/// An IQ addressed to a host (`to = 'localhost'`).
pub(crate) fn handle(core: &Arc<Core>, _sender: &Sender, _to: &Jid, iq: Element) {
    if !is_request(&iq) {
        return;
    }
    let get = iq.attr("type") == Some("get");
    let Some(payload) = iq.first_child() else {
        return bounce(
            core,
            &iq,
            StanzaError::new(StanzaErrorCondition::BadRequest).with_text("IQ without payload"),
        );
    };
    let reply = match (payload.ns.as_str(), payload.name.as_str(), get) {
        (ns::PING, "ping", true) => result_for(&iq),
        (ns::DISCO_INFO, "query", true) if payload.attr("node").is_none() => {
            let mut q = Element::new("query", ns::DISCO_INFO).with_child(
                Element::new("identity", ns::DISCO_INFO)
                    .with_attr("category", "server")
                    .with_attr("type", "im")
                    .with_attr("name", "Rookery"),
            );
            for f in HOST_FEATURES {
                q.push_child(Element::new("feature", ns::DISCO_INFO).with_attr("var", *f));
            }
            result_for(&iq).with_child(q)
        }
        (ns::DISCO_ITEMS, "query", true) if payload.attr("node").is_none() => {
            let mut q = Element::new("query", ns::DISCO_ITEMS);
            let mut names: Vec<(&String, String)> = core
                .services
                .iter()
                .filter_map(|(d, s)| s.disco_name().map(|n| (d, n)))
                .collect();
            names.sort();
            for (d, n) in names {
                q.push_child(
                    Element::new("item", ns::DISCO_ITEMS)
                        .with_attr("jid", d.as_str())
                        .with_attr("name", n),
                );
            }
            result_for(&iq).with_child(q)
        }
        (ns::VERSION, "query", true) => result_for(&iq).with_child(
            Element::new("query", ns::VERSION)
                .with_child(Element::new("name", ns::VERSION).with_text("Rookery"))
                .with_child(
                    Element::new("version", ns::VERSION).with_text(env!("CARGO_PKG_VERSION")),
                ),
        ),
        _ => {
            return bounce(
                core,
                &iq,
                StanzaError::new(StanzaErrorCondition::ServiceUnavailable)
                    .with_text(format!("'{}' is not served by this host", payload.ns)),
            );
        }
    };
    send_from_server(core, reply);
}

/// An IQ addressed to an account's bare JID (or with no `to`): the server answers for it.
pub(crate) fn handle_for_account(core: &Arc<Core>, sender: &Sender, to: &Jid, iq: Element) {
    if !is_request(&iq) {
        return;
    }
    let own = sender.jid.bare_str() == to.as_str();
    let get = iq.attr("type") == Some("get");
    let payload = iq.first_child();
    let reply = match payload.map(|p| (p.ns.as_str(), p.name.as_str())) {
        Some((ns::PING, "ping")) => Some(result_for(&iq).with_attr("from", to.as_str())),
        Some((ns::ROSTER, "query")) if own && get => Some(
            result_for(&iq)
                .with_attr("from", to.as_str())
                .with_child(Element::new("query", ns::ROSTER)),
        ),
        Some((ns::DISCO_INFO, "query")) if get => Some(
            result_for(&iq).with_attr("from", to.as_str()).with_child(
                Element::new("query", ns::DISCO_INFO).with_child(
                    Element::new("identity", ns::DISCO_INFO)
                        .with_attr("category", "account")
                        .with_attr("type", "registered"),
                ),
            ),
        ),
        _ => None,
    };
    match reply {
        Some(mut r) => {
            if r.attr("to").is_none() {
                r.set_attr("to", sender.jid.as_str());
            }
            send_from_server(core, r)
        }
        None => bounce(
            core,
            &iq,
            StanzaError::new(StanzaErrorCondition::ServiceUnavailable)
                .with_text("not handled for accounts"),
        ),
    }
}
