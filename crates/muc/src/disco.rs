//! XEP-0030 answers for the service and for rooms (XEP-0045 §6).

use rookery_proto::{Element, Jid, ns};

use crate::form::{FormField, build_form};
use crate::room_config::{RoomConfig, Whois};

/// XEP-0045 §7.4 stable message ids are reflected.
pub const FEATURE_STABLE_ID: &str = "http://jabber.org/protocol/muc#stable_id";
/// XEP-0410 self-ping is answered by the service.
pub const FEATURE_SELF_PING: &str = "http://jabber.org/protocol/muc#self-ping-optimization";
/// The `muc#roominfo` form type.
pub const ROOMINFO: &str = "http://jabber.org/protocol/muc#roominfo";

fn identity(name: &str) -> Element {
    Element::new("identity", ns::DISCO_INFO)
        .with_attr("category", "conference")
        .with_attr("type", "text")
        .with_attr("name", name)
}

fn feature(var: &str) -> Element {
    Element::new("feature", ns::DISCO_INFO).with_attr("var", var)
}

/// The service's disco#info: a `conference/text` identity and the MUC features.
pub fn service_info(name: &str) -> Element {
    let mut q = Element::new("query", ns::DISCO_INFO).with_child(identity(name));
    for f in [
        ns::DISCO_INFO,
        ns::DISCO_ITEMS,
        ns::MUC,
        FEATURE_STABLE_ID,
        FEATURE_SELF_PING,
        ns::PING,
    ] {
        q.push_child(feature(f));
    }
    q
}

/// A disco#items answer listing `(jid, name)` pairs.
pub fn items<'a>(list: impl IntoIterator<Item = (Jid, Option<&'a str>)>) -> Element {
    let mut q = Element::new("query", ns::DISCO_ITEMS);
    for (jid, name) in list {
        q.push_child(
            Element::new("item", ns::DISCO_ITEMS)
                .with_attr("jid", jid.as_str())
                .with_opt_attr("name", name),
        );
    }
    q
}

/// The room-type features of a configuration, in a fixed order.
pub fn room_features(config: &RoomConfig) -> [&'static str; 6] {
    [
        if config.public {
            "muc_public"
        } else {
            "muc_hidden"
        },
        if config.members_only {
            "muc_membersonly"
        } else {
            "muc_open"
        },
        match config.whois {
            Whois::Anyone => "muc_nonanonymous",
            Whois::Moderators => "muc_semianonymous",
        },
        if config.password_required() {
            "muc_passwordprotected"
        } else {
            "muc_unsecured"
        },
        if config.persistent {
            "muc_persistent"
        } else {
            "muc_temporary"
        },
        if config.moderated {
            "muc_moderated"
        } else {
            "muc_unmoderated"
        },
    ]
}

/// What a room's disco#info shows.
#[derive(Debug)]
pub struct RoomInfoView<'a> {
    /// The room's node as the asker addressed it (the identity name when unnamed).
    pub node: &'a str,
    /// Its configuration.
    pub config: &'a RoomConfig,
    /// Current occupant count.
    pub occupants: usize,
    /// Current subject, if any.
    pub subject: Option<&'a str>,
    /// Fixed and hook-provided extra fields.
    pub extra: &'a [FormField],
}

/// A room's disco#info: identity, features and the `muc#roominfo` form.
pub fn room_info(view: &RoomInfoView<'_>) -> Element {
    let c = view.config;
    let name = c
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(view.node);
    let mut q = Element::new("query", ns::DISCO_INFO).with_child(identity(name));
    for f in [
        ns::MUC,
        FEATURE_STABLE_ID,
        FEATURE_SELF_PING,
        ns::DISCO_INFO,
        ns::PING,
    ] {
        q.push_child(feature(f));
    }
    for f in room_features(c) {
        q.push_child(feature(f));
    }
    let mut fields = vec![
        FormField::form_type(ROOMINFO),
        FormField::new(
            "muc#roominfo_description",
            "text-single",
            c.description.clone().unwrap_or_default(),
        )
        .with_label("Description"),
        FormField::new(
            "muc#roominfo_occupants",
            "text-single",
            view.occupants.to_string(),
        )
        .with_label("Number of occupants"),
        FormField::new("muc#roomconfig_roomname", "text-single", name).with_label("Title"),
        FormField::boolean("muc#roomconfig_changesubject", c.change_subject)
            .with_label("Occupants may change the subject"),
        FormField::new(
            "muc#roominfo_subject",
            "text-single",
            view.subject.unwrap_or_default(),
        )
        .with_label("Subject"),
    ];
    fields.extend(view.extra.iter().cloned());
    q.push_child(build_form("result", None, &fields));
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::SubmittedForm;

    fn vars(q: &Element) -> Vec<String> {
        q.children()
            .filter(|c| c.name == "feature")
            .filter_map(|c| c.attr("var").map(str::to_owned))
            .collect()
    }

    #[test]
    fn room_type_features_table() {
        let base = RoomConfig::default();
        assert_eq!(
            room_features(&base),
            [
                "muc_public",
                "muc_open",
                "muc_semianonymous",
                "muc_unsecured",
                "muc_temporary",
                "muc_unmoderated"
            ]
        );
        let other = RoomConfig {
            public: false,
            members_only: true,
            whois: Whois::Anyone,
            password_protected: true,
            password: Some("x".into()),
            persistent: true,
            moderated: true,
            ..RoomConfig::default()
        };
        assert_eq!(
            room_features(&other),
            [
                "muc_hidden",
                "muc_membersonly",
                "muc_nonanonymous",
                "muc_passwordprotected",
                "muc_persistent",
                "muc_moderated"
            ]
        );
    }

    #[test]
    fn room_info_has_form_with_count_and_extras() {
        let cfg = RoomConfig::default();
        let extra = [FormField::new(
            "muc#roominfo_meetingId",
            "text-single",
            "uuid-1",
        )];
        let q = room_info(&RoomInfoView {
            node: "room",
            config: &cfg,
            occupants: 7,
            subject: Some("topic"),
            extra: &extra,
        });
        let id = q.get_child("identity", ns::DISCO_INFO).unwrap();
        assert_eq!(id.attr("category"), Some("conference"));
        assert_eq!(id.attr("name"), Some("room"));
        assert!(vars(&q).contains(&ns::MUC.to_owned()));
        let form = SubmittedForm::parse(q.get_child("x", ns::DATA_FORMS).unwrap()).unwrap();
        assert_eq!(form.kind, "result");
        assert_eq!(form.first("FORM_TYPE"), Some(ROOMINFO));
        assert_eq!(form.first("muc#roominfo_occupants"), Some("7"));
        assert_eq!(form.first("muc#roominfo_subject"), Some("topic"));
        assert_eq!(form.first("muc#roominfo_meetingId"), Some("uuid-1"));
    }

    #[test]
    fn service_info_and_items() {
        let q = service_info("Chatrooms");
        assert!(vars(&q).contains(&ns::MUC.to_owned()));
        assert_eq!(
            q.get_child("identity", ns::DISCO_INFO)
                .unwrap()
                .attr("type"),
            Some("text")
        );
        let i = items([
            (Jid::parse("a@m").unwrap(), Some("A")),
            (Jid::parse("b@m").unwrap(), None),
        ]);
        let list: Vec<_> = i
            .children()
            .map(|c| (c.attr("jid"), c.attr("name")))
            .collect();
        assert_eq!(list, [(Some("a@m"), Some("A")), (Some("b@m"), None)]);
    }
}
