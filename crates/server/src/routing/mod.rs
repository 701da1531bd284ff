//! Where a stanza goes (RFC 6120 §10, RFC 6121 §8 basics without rosters or offline storage).

pub(crate) mod server_iq;
pub(crate) mod table;

use std::sync::Arc;

use rookery_proto::{Element, Jid, StanzaError, StanzaErrorCondition, error_reply};

use crate::core::{Core, Sender};
use crate::routing::table::Outgoing;

/// Routes a stanza sent by `sender` (its `from` already stamped).
pub(crate) fn route(core: &Arc<Core>, sender: &Sender, stanza: Element) {
    let to = match stanza.attr("to") {
        None => None,
        Some(t) => match Jid::parse(t) {
            Ok(j) => Some(j),
            Err(e) => {
                bounce(
                    core,
                    &stanza,
                    StanzaError::new(StanzaErrorCondition::JidMalformed)
                        .with_text(format!("bad 'to': {e}")),
                );
                return;
            }
        },
    };
    let to = match to {
        Some(to) => to,
        None => {
            if stanza.name == "presence" {
                // Broadcast presence: there are no rosters, so nobody to tell.
                return;
            }
            // No `to`: the server answers on behalf of the account.
            sender.jid.to_bare()
        }
    };
    if let Some(svc) = core.service_for(to.domain()) {
        svc.handle(core, sender, to, stanza);
        return;
    }
    if core.is_local_host(to.domain()) {
        deliver_local(core, sender, &to, stanza);
        return;
    }
    bounce(
        core,
        &stanza,
        StanzaError::new(StanzaErrorCondition::RemoteServerNotFound).with_text(format!(
            "'{}' is not served here and federation is off",
            to.domain()
        )),
    );
}

/// Sends the error reply for `stanza` back to its sender (never for errors/results).
pub(crate) fn bounce(core: &Arc<Core>, stanza: &Element, err: StanzaError) {
    if let Some(reply) = error_reply(stanza, &err) {
        send_from_server(core, reply);
    }
}

/// Delivers a stanza the server (or a service) produced, by its `to`.
pub(crate) fn send_from_server(core: &Arc<Core>, stanza: Element) {
    let Some(to) = stanza.attr("to").and_then(|t| Jid::parse(t).ok()) else {
        return;
    };
    if let Some(svc) = core.service_for(to.domain()) {
        let from = stanza
            .attr("from")
            .and_then(|f| Jid::parse(f).ok())
            .unwrap_or_else(|| to.to_bare());
        svc.handle(core, &Sender::server(&from), to, stanza);
        return;
    }
    if to.is_full() {
        let _ = core.router.deliver(&to, Outgoing::stanza(stanza));
    } else {
        for r in core.router.resources_of(&to) {
            let _ = core.router.deliver(&r, Outgoing::stanza(stanza.clone()));
        }
    }
}

fn deliver_local(core: &Arc<Core>, sender: &Sender, to: &Jid, stanza: Element) {
    let kind = stanza.name.as_str();
    let ty = stanza.attr("type").unwrap_or("");
    if to.node().is_none() {
        // Addressed to the host itself.
        if kind == "iq" {
            server_iq::handle(core, sender, to, stanza);
        }
        return;
    }
    if to.is_full() {
        if core.router.is_bound(to) {
            let _ = core.router.deliver(to, Outgoing::stanza(stanza));
            return;
        }
        // RFC 6121 §8.5.3.2: no such resource. Chat/normal messages fall back to the bare
        // JID's resources; IQ requests get an error; the rest is dropped.
        match (kind, ty) {
            ("message", "" | "normal" | "chat") => {
                let resources = core.router.resources_of(&to.to_bare());
                if resources.is_empty() {
                    bounce(
                        core,
                        &stanza,
                        StanzaError::new(StanzaErrorCondition::ServiceUnavailable)
                            .with_text("the recipient is offline"),
                    );
                } else {
                    fan_out(core, &resources, stanza);
                }
            }
            ("iq", "get" | "set") => bounce(
                core,
                &stanza,
                StanzaError::new(StanzaErrorCondition::ServiceUnavailable)
                    .with_text("no such session"),
            ),
            _ => {}
        }
        let _ = sender;
        return;
    }
    // Bare JID.
    match kind {
        "iq" => server_iq::handle_for_account(core, sender, to, stanza),
        "message" => {
            let resources = core.router.resources_of(to);
            if resources.is_empty() {
                if !matches!(ty, "groupchat" | "headline" | "error") {
                    bounce(
                        core,
                        &stanza,
                        StanzaError::new(StanzaErrorCondition::ServiceUnavailable)
                            .with_text("the recipient is offline and offline storage is off"),
                    );
                }
                return;
            }
            fan_out(core, &resources, stanza);
        }
        _ => {
            // Presence: subscriptions need rosters (not served); directed presence goes to
            // every resource.
            if matches!(ty, "" | "unavailable") {
                let resources = core.router.resources_of(to);
                fan_out(core, &resources, stanza);
            }
        }
    }
}

fn fan_out(core: &Arc<Core>, resources: &[Jid], stanza: Element) {
    if let Some((last, rest)) = resources.split_last() {
        for r in rest {
            let _ = core.router.deliver(r, Outgoing::stanza(stanza.clone()));
        }
        let _ = core.router.deliver(last, Outgoing::stanza(stanza));
    }
}
