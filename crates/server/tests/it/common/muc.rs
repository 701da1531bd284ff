//! MUC test support: server configs with `[[muc]]` blocks, reading `muc#user` items and
//! status codes, joins that read the whole join sequence, and a room barrier (a ping to the
//! room, answered by the room task after everything it sent before).

use std::sync::atomic::{AtomicU64, Ordering};

use rookery_proto::{Element, ns};
use rookery_server::Config;
use tokio::io::{AsyncRead, AsyncWrite};

use super::Raw;

/// A config with host `localhost` (accounts and anonymous), PLAIN allowed on loopback,
/// port 0, plus `extra` (typically `[[muc]]` and further `[[host]]` blocks).
pub(crate) fn config(extra: &str) -> Config {
    let text = format!(
        "data_dir = \"unused\"\nallow_unencrypted_plain_auth = true\n[c2s]\nlisten = [\"127.0.0.1:0\"]\n\n[[host]]\ndomain = \"localhost\"\nauthentication = \"internal_hashed\"\nallow_anonymous = true\n\n{extra}\n"
    );
    Config::parse(&text, "muc-test").unwrap()
}

/// The status codes of a stanza's `muc#user` element, in document order.
pub(crate) fn statuses(p: &Element) -> Vec<u16> {
    p.get_child("x", ns::MUC_USER)
        .map(|x| {
            x.children()
                .filter(|c| c.name == "status")
                .filter_map(|c| c.attr("code").and_then(|v| v.parse().ok()))
                .collect()
        })
        .unwrap_or_default()
}

/// The `muc#user` `<item/>` of a presence.
pub(crate) fn item(p: &Element) -> &Element {
    p.get_child("x", ns::MUC_USER)
        .and_then(|x| x.get_child("item", ns::MUC_USER))
        .unwrap_or_else(|| panic!("no muc#user item in {}", p.to_xml_string()))
}

/// (affiliation, role) of a presence's item.
pub(crate) fn aff_role(p: &Element) -> (String, String) {
    let i = item(p);
    (
        i.attr("affiliation").unwrap_or("").to_owned(),
        i.attr("role").unwrap_or("").to_owned(),
    )
}

/// The defined condition of an error stanza (`None` when it is not one).
pub(crate) fn error_condition(e: &Element) -> Option<String> {
    if e.attr("type") != Some("error") {
        return None;
    }
    e.get_child("error", ns::CLIENT)
        .and_then(|err| {
            err.children()
                .find(|c| c.ns == ns::STANZAS && c.name != "text")
        })
        .map(|c| c.name.clone())
}

/// The `type` attribute of an error stanza's `<error/>`.
pub(crate) fn error_type(e: &Element) -> Option<String> {
    e.get_child("error", ns::CLIENT)
        .and_then(|err| err.attr("type"))
        .map(str::to_owned)
}

/// One line per stanza, for assertion messages.
pub(crate) fn dump(els: &[Element]) -> String {
    els.iter()
        .map(|e| e.to_xml_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// True when `e` is a message carrying a `<subject/>` (and no body): the end of a join.
pub(crate) fn is_subject(e: &Element) -> bool {
    e.name == "message" && e.has_child("subject", ns::CLIENT) && !e.has_child("body", ns::CLIENT)
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A process-unique stanza id with a readable prefix.
pub(crate) fn unique_id(prefix: &str) -> String {
    format!("{prefix}-{}", NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

/// The var attributes of a disco#info result's `<feature/>`s.
pub(crate) fn features(info: &Element) -> Vec<String> {
    info.get_child("query", ns::DISCO_INFO)
        .map(|q| {
            q.children()
                .filter(|c| c.name == "feature")
                .filter_map(|c| c.attr("var").map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The value of field `var` in the first data form of `parent` (searched one level down).
pub(crate) fn form_value(parent: &Element, var: &str) -> Option<String> {
    let form = parent.get_child("x", ns::DATA_FORMS).or_else(|| {
        parent
            .children()
            .find_map(|c| c.get_child("x", ns::DATA_FORMS))
    })?;
    form.children()
        .find(|f| f.name == "field" && f.attr("var") == Some(var))
        .and_then(|f| f.child_text("value", ns::DATA_FORMS))
}

impl<S: AsyncRead + AsyncWrite + Unpin> Raw<S> {
    /// Sends a join presence (`x_extra` goes inside `<x xmlns='…muc'>`) and returns every
    /// stanza up to and including the subject, or up to the error presence from `occupant`.
    pub(crate) async fn join(&mut self, occupant: &str, x_extra: &str) -> Vec<Element> {
        self.send(&format!(
            "<presence to='{occupant}'><x xmlns='http://jabber.org/protocol/muc'>{x_extra}</x></presence>"
        ))
        .await;
        self.read_join(occupant).await
    }

    /// Reads the rest of a join sequence (see [`Raw::join`]).
    pub(crate) async fn read_join(&mut self, occupant: &str) -> Vec<Element> {
        let mut got = Vec::new();
        loop {
            let e = self.element().await;
            let from_me = e.attr("from") == Some(occupant);
            let failed = e.name == "presence" && from_me && e.attr("type") == Some("error");
            let done = is_subject(&e);
            got.push(e);
            if failed || done {
                return got;
            }
        }
    }

    /// Pings `to` (a room answers it from its own task, after everything it sent this
    /// client before) and returns what arrived before the answer.
    pub(crate) async fn until_pong(&mut self, to: &str) -> Vec<Element> {
        let id = unique_id("barrier");
        self.send(&format!(
            "<iq type='get' id='{id}' to='{to}'><ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        .await;
        let mut got = Vec::new();
        loop {
            let e = self.element().await;
            if e.name == "iq" && e.attr("id") == Some(id.as_str()) {
                assert_eq!(e.attr("type"), Some("result"), "{}", e.to_xml_string());
                return got;
            }
            got.push(e);
        }
    }

    /// Asserts that the room sent nothing more to this client (room barrier).
    pub(crate) async fn expect_quiet(&mut self, room: &str) {
        let got = self.until_pong(room).await;
        assert!(got.is_empty(), "unexpected stanzas:\n{}", dump(&got));
    }

    /// Reads elements until one matches `pred`, returning it (skipped ones are dropped).
    pub(crate) async fn until(&mut self, mut pred: impl FnMut(&Element) -> bool) -> Element {
        loop {
            let e = self.element().await;
            if pred(&e) {
                return e;
            }
        }
    }
}
