//! The "jicofo-like" flow over real sockets. An admin account on the auth host
//! (`focus@auth.localhost`, listed only in the internal MUC's own `admins`, logging in with
//! SCRAM-SHA-1 like Smack does) creates a room on an internal MUC with
//! `restrict_room_creation = true`, submits a `muc#owner` form that includes fields jicofo
//! sends and Rookery does not know, a second client (a bridge account) joins, non-admins
//! cannot create rooms, and IQs sent to occupant JIDs reach the occupant and the answers
//! come back (results and errors).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::muc::*;
use crate::common::sasl_client::ScramKind;
use crate::common::*;
use rookery_proto::ns;

const MUC: &str = "internal-muc.localhost";
const ROOM: &str = "conf1@internal-muc.localhost";

const EXTRA: &str = r#"
[[host]]
domain = "auth.localhost"
authentication = "internal_hashed"

[[muc]]
domain = "internal-muc.localhost"
admins = ["focus@auth.localhost"]
restrict_room_creation = true
muc_room_locking = false
"#;

/// A config form like jicofo's: known fields plus several this server does not implement.
const JICOFO_FORM: &str = "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>\
<field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
<field var='muc#roomconfig_whois'><value>anyone</value></field>\
<field var='muc#roomconfig_persistentroom'><value>false</value></field>\
<field var='muc#roomconfig_publicroom'><value>0</value></field>\
<field var='muc#roomconfig_changesubject'><value>0</value></field>\
<field var='muc#roomconfig_enablelogging'><value>0</value></field>\
<field var='muc#roomconfig_allowvisitornickchange'><value>1</value></field>\
<field var='muc#roomconfig_getmemberlist' type='list-multi'><value>moderator</value><value>participant</value></field>\
<field var='muc#roominfo_meetingId'><value>5f2e0c8a-jicofo</value></field>\
<field var='muc#roomconfig_lobbypassword' type='text-private'/>\
<field var='jicofo#unknown-extension' type='boolean'><value>true</value></field>\
</x></query>";

async fn refused_creation(c: &mut Raw<tokio::net::TcpStream>, room: &str) {
    let seq = c.join(&format!("{room}/intruder"), "").await;
    assert_eq!(seq.len(), 1, "{}", dump(&seq));
    assert_eq!(seq[0].attr("type"), Some("error"));
    assert_eq!(error_condition(&seq[0]).as_deref(), Some("not-allowed"));
    assert_eq!(error_type(&seq[0]).as_deref(), Some("cancel"));
    // Nothing else follows, and the room still does not exist.
    let info = c
        .iq(
            &format!("<iq type='get' id='ri' to='{room}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
            "ri",
        )
        .await;
    assert_eq!(
        error_condition(&info).as_deref(),
        Some("item-not-found"),
        "{}",
        info.to_xml_string()
    );
}

#[tokio::test]
async fn jicofo_like_flow_on_a_restricted_internal_muc() {
    let srv = start_accounts(
        config(EXTRA),
        &[
            ("focus", "auth.localhost", "focus-secret"),
            ("jvb", "auth.localhost", "jvb-secret"),
        ],
    )
    .await;
    let addr = srv.c2s_addr().unwrap();
    let mut focus = connect(addr).await;
    let mut jvb = connect(addr).await;
    let mut web = connect(addr).await;
    let jf = focus
        .login_scram(
            ScramKind::Sha1,
            "focus",
            "auth.localhost",
            "focus-secret",
            Some("focus1"),
        )
        .await;
    assert_eq!(jf, "focus@auth.localhost/focus1");
    let jj = jvb
        .login_scram(
            ScramKind::Sha1,
            "jvb",
            "auth.localhost",
            "jvb-secret",
            Some("jvb1"),
        )
        .await;
    let _jw = web.login_anonymous(Some("web")).await;

    // Before focus: no one else may create the room.
    refused_creation(&mut jvb, ROOM).await;
    refused_creation(&mut web, ROOM).await;

    // Focus creates it (owner, moderator, 201; the service is unlocked).
    let seq = focus.join(&format!("{ROOM}/focus"), "").await;
    assert_eq!(seq.len(), 2, "{}", dump(&seq));
    assert_eq!(statuses(&seq[0]), vec![110, 201]);
    assert_eq!(
        aff_role(&seq[0]),
        ("owner".to_owned(), "moderator".to_owned())
    );
    assert!(is_subject(&seq[1]));

    // The config form with jicofo's unknown fields is accepted; whois changed to anyone:
    // 104 and 172 to the room (only focus is there).
    let res = focus
        .iq(
            &format!("<iq type='set' id='conf' to='{ROOM}'>{JICOFO_FORM}</iq>"),
            "conf",
        )
        .await;
    assert_eq!(res.attr("type"), Some("result"), "{}", res.to_xml_string());
    let notes = focus.until_pong(ROOM).await;
    assert_eq!(notes.len(), 1, "{}", dump(&notes));
    assert_eq!(statuses(&notes[0]), vec![104, 172]);
    // The form reads back with the submitted known values.
    let form = focus
        .iq(
            &format!("<iq type='get' id='get' to='{ROOM}'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>"),
            "get",
        )
        .await;
    let q = form.get_child("query", ns::MUC_OWNER).unwrap();
    assert_eq!(
        form_value(q, "muc#roomconfig_whois").as_deref(),
        Some("anyone")
    );
    assert_eq!(
        form_value(q, "muc#roomconfig_publicroom").as_deref(),
        Some("0")
    );

    // The bridge joins the existing room (joining is not creating): it sees focus with
    // its real JID (non-anonymous now), then itself with 100 and 110, then the subject.
    let seq = jvb.join(&format!("{ROOM}/jvb"), "").await;
    assert_eq!(seq.len(), 3, "{}", dump(&seq));
    assert_eq!(seq[0].attr("from"), Some(format!("{ROOM}/focus").as_str()));
    assert_eq!(item(&seq[0]).attr("jid"), Some(jf.as_str()));
    assert_eq!(statuses(&seq[1]), vec![100, 110]);
    assert_eq!(
        aff_role(&seq[1]),
        ("none".to_owned(), "participant".to_owned())
    );
    assert!(is_subject(&seq[2]));
    let seen = focus.until_pong(ROOM).await;
    assert_eq!(seen.len(), 1, "{}", dump(&seen));
    assert_eq!(item(&seen[0]).attr("jid"), Some(jj.as_str()));

    // Non-admins still cannot create other rooms; the existing room is unaffected.
    refused_creation(&mut jvb, "conf2@internal-muc.localhost").await;
    refused_creation(&mut web, "conf2@internal-muc.localhost").await;
    focus.expect_quiet(ROOM).await;

    // Hidden (publicroom = 0): not listed, but disco#info answers with the room's features.
    let items = web
        .iq(
            &format!("<iq type='get' id='it' to='{MUC}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>"),
            "it",
        )
        .await;
    assert!(
        !items.to_xml_string().contains(ROOM),
        "{}",
        items.to_xml_string()
    );
    let info = jvb
        .iq(
            &format!("<iq type='get' id='inf' to='{ROOM}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
            "inf",
        )
        .await;
    let f = features(&info);
    assert!(f.contains(&"muc_nonanonymous".to_owned()), "{f:?}");
    assert!(f.contains(&"muc_hidden".to_owned()), "{f:?}");
    let q = info.get_child("query", ns::DISCO_INFO).unwrap();
    assert_eq!(
        form_value(q, "muc#roominfo_occupants").as_deref(),
        Some("2")
    );

    // Focus → occupant JID: a Jingle-like IQ reaches the bridge's real JID from focus's
    // occupant JID; the answer comes back from the bridge's occupant JID with focus's id.
    focus
        .send(&format!(
            "<iq type='set' id='colibri-1' to='{ROOM}/jvb'><conference-modify xmlns='jitsi:colibri2' meeting-id='m1'><endpoint id='e1'/></conference-modify></iq>"
        ))
        .await;
    let req = jvb.until(|e| e.name == "iq").await;
    assert_eq!(req.attr("from"), Some(format!("{ROOM}/focus").as_str()));
    assert_eq!(req.attr("to"), Some(jj.as_str()));
    assert_eq!(req.attr("type"), Some("set"));
    let payload = req
        .get_child("conference-modify", "jitsi:colibri2")
        .unwrap();
    assert_eq!(payload.attr("meeting-id"), Some("m1"));
    assert!(payload.has_child("endpoint", "jitsi:colibri2"));
    jvb.send(&format!(
        "<iq type='result' id='{}' to='{ROOM}/focus'><conference-modified xmlns='jitsi:colibri2'/></iq>",
        req.attr("id").unwrap()
    ))
    .await;
    let ans = focus.until(|e| e.name == "iq").await;
    assert_eq!(ans.attr("type"), Some("result"), "{}", ans.to_xml_string());
    assert_eq!(ans.attr("id"), Some("colibri-1"));
    assert_eq!(ans.attr("from"), Some(format!("{ROOM}/jvb").as_str()));
    assert_eq!(ans.attr("to"), Some(jf.as_str()));
    assert!(ans.has_child("conference-modified", "jitsi:colibri2"));

    // The other way, answered with an error: the error returns to the requester.
    jvb.send(&format!(
        "<iq type='get' id='q-2' to='{ROOM}/focus'><query xmlns='urn:example:health'/></iq>"
    ))
    .await;
    let req = focus.until(|e| e.name == "iq").await;
    assert_eq!(req.attr("from"), Some(format!("{ROOM}/jvb").as_str()));
    focus
        .send(&format!(
            "<iq type='error' id='{}' to='{ROOM}/jvb'><error type='cancel'><feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
            req.attr("id").unwrap()
        ))
        .await;
    let ans = jvb.until(|e| e.name == "iq").await;
    assert_eq!(ans.attr("id"), Some("q-2"));
    assert_eq!(
        error_condition(&ans).as_deref(),
        Some("feature-not-implemented")
    );
    assert_eq!(ans.attr("from"), Some(format!("{ROOM}/focus").as_str()));

    // Focus grants the bridge ownership through muc#admin (as jicofo does for
    // authenticated participants): everyone sees the new affiliation.
    let res = focus
        .iq(
            &format!("<iq type='set' id='own' to='{ROOM}'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='owner' jid='jvb@auth.localhost'/></query></iq>"),
            "own",
        )
        .await;
    assert_eq!(res.attr("type"), Some("result"), "{}", res.to_xml_string());
    let me = jvb.until(|e| e.name == "presence").await;
    assert_eq!(statuses(&me), vec![110]);
    assert_eq!(aff_role(&me), ("owner".to_owned(), "moderator".to_owned()));
    let seen = focus.until_pong(ROOM).await;
    assert_eq!(seen.len(), 1, "{}", dump(&seen));
    assert_eq!(
        aff_role(&seen[0]),
        ("owner".to_owned(), "moderator".to_owned())
    );

    // Focus leaves; the bridge is still served in the room.
    focus
        .send(&format!("<presence to='{ROOM}/focus' type='unavailable'/>"))
        .await;
    let gone = jvb.until(|e| e.name == "presence").await;
    assert_eq!(gone.attr("type"), Some("unavailable"));
    assert_eq!(gone.attr("from"), Some(format!("{ROOM}/focus").as_str()));
    jvb.send(&format!(
        "<message to='{ROOM}' type='groupchat'><body>still here</body></message>"
    ))
    .await;
    let m = jvb.until(|e| e.name == "message").await;
    assert_eq!(
        m.child_text("body", ns::CLIENT).as_deref(),
        Some("still here")
    );
    srv.shutdown().await;
}
