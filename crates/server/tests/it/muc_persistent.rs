//! A persistent room survives a server restart: configured over real sockets (name,
//! description, persistent, password, non-anonymous), given a subject, a member and an
//! outcast, emptied, the server stopped and started again on the same data directory; the
//! room then answers disco#info and disco#items, keeps its password, subject, owner and
//! affiliation lists. Made temporary again and emptied, it is gone after the next restart.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;

use crate::common::muc::*;
use crate::common::*;
use rookery_proto::ns;
use rookery_server::store::Store;
use tokio::net::TcpStream;

const ROOM: &str = "hall@conference.localhost";
const OWNER_NS: &str = "http://jabber.org/protocol/muc#owner";

async fn boot(dir: &Path, register: bool) -> rookery_server::Running {
    let text = format!(
        "data_dir = {dir:?}\nallow_unencrypted_plain_auth = true\n[c2s]\nlisten = [\"127.0.0.1:0\"]\n\n[[host]]\ndomain = \"localhost\"\nauthentication = \"internal_hashed\"\nallow_anonymous = true\n\n[[muc]]\ndomain = \"conference.localhost\"\n"
    );
    let cfg = rookery_server::Config::parse(&text, "persist-test").unwrap();
    let store = Store::open(dir).unwrap();
    if register {
        for (u, p) in [("alice", "pa"), ("bob", "pb"), ("carol", "pc")] {
            store.set_password("localhost", u, p, 4096).unwrap();
        }
    }
    rookery_server::start_with_store(cfg, store).await.unwrap()
}

async fn iq_to(
    c: &mut Raw<TcpStream>,
    kind: &str,
    to: &str,
    payload: &str,
) -> rookery_proto::Element {
    let id = unique_id("p");
    c.iq(
        &format!("<iq type='{kind}' id='{id}' to='{to}'>{payload}</iq>"),
        &id,
    )
    .await
}

fn affiliation_list(r: &rookery_proto::Element) -> Vec<String> {
    r.get_child("query", ns::MUC_ADMIN)
        .unwrap()
        .children()
        .filter_map(|i| i.attr("jid").map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn persistent_room_survives_restart() {
    let dir = tempfile::tempdir().unwrap();

    // --- First run: create and configure.
    let srv = boot(dir.path(), true).await;
    let mut alice = connect(srv.c2s_addr().unwrap()).await;
    let ja = alice.login_plain("alice", "pa", Some("a")).await;
    let seq = alice.join(&format!("{ROOM}/alice"), "").await;
    assert_eq!(statuses(&seq[0]), vec![110, 201], "{}", dump(&seq));
    let form = "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>\
        <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
        <field var='muc#roomconfig_roomname'><value>Persistent Hall</value></field>\
        <field var='muc#roomconfig_roomdesc'><value>Survives restarts</value></field>\
        <field var='muc#roomconfig_persistentroom'><value>1</value></field>\
        <field var='muc#roomconfig_whois'><value>anyone</value></field>\
        <field var='muc#roomconfig_passwordprotectedroom'><value>1</value></field>\
        <field var='muc#roomconfig_roomsecret'><value>s3cret</value></field>\
        <field var='muc#roomconfig_maxusers'><value>50</value></field>\
        </x></query>";
    let res = iq_to(&mut alice, "set", ROOM, form).await;
    assert_eq!(res.attr("type"), Some("result"), "{}", res.to_xml_string());
    alice
        .send(&format!(
            "<message to='{ROOM}' type='groupchat'><subject>Kept subject</subject></message>"
        ))
        .await;
    let admin = |items: &str| {
        format!("<query xmlns='http://jabber.org/protocol/muc#admin'>{items}</query>")
    };
    let res = iq_to(
        &mut alice,
        "set",
        ROOM,
        &admin("<item affiliation='member' jid='bob@localhost'/><item affiliation='outcast' jid='carol@localhost'><reason>spam</reason></item>"),
    )
    .await;
    assert_eq!(res.attr("type"), Some("result"), "{}", res.to_xml_string());
    // Everyone leaves: a persistent room stays.
    alice
        .send(&format!("<presence to='{ROOM}/alice' type='unavailable'/>"))
        .await;
    alice
        .until(|e| e.name == "presence" && e.attr("type") == Some("unavailable"))
        .await;
    let info = iq_to(
        &mut alice,
        "get",
        ROOM,
        "<query xmlns='http://jabber.org/protocol/disco#info'/>",
    )
    .await;
    assert_eq!(
        info.attr("type"),
        Some("result"),
        "{}",
        info.to_xml_string()
    );
    drop(alice);
    srv.shutdown().await;

    // --- Second run on the same directory.
    let srv = boot(dir.path(), false).await;
    let addr = srv.c2s_addr().unwrap();
    let mut guest = connect(addr).await;
    let jg = guest.login_anonymous(Some("g")).await;
    let info = iq_to(
        &mut guest,
        "get",
        ROOM,
        "<query xmlns='http://jabber.org/protocol/disco#info'/>",
    )
    .await;
    assert_eq!(
        info.attr("type"),
        Some("result"),
        "{}",
        info.to_xml_string()
    );
    let q = info.get_child("query", ns::DISCO_INFO).unwrap();
    assert_eq!(
        q.get_child("identity", ns::DISCO_INFO)
            .unwrap()
            .attr("name"),
        Some("Persistent Hall")
    );
    let f = features(&info);
    for want in [
        "muc_persistent",
        "muc_passwordprotected",
        "muc_nonanonymous",
        "muc_public",
    ] {
        assert!(f.contains(&want.to_owned()), "{want}: {f:?}");
    }
    assert_eq!(
        form_value(q, "muc#roominfo_description").as_deref(),
        Some("Survives restarts")
    );
    assert_eq!(
        form_value(q, "muc#roominfo_occupants").as_deref(),
        Some("0")
    );
    let items = iq_to(
        &mut guest,
        "get",
        "conference.localhost",
        "<query xmlns='http://jabber.org/protocol/disco#items'/>",
    )
    .await;
    let listed: Vec<_> = items
        .get_child("query", ns::DISCO_ITEMS)
        .unwrap()
        .children()
        .map(|i| {
            (
                i.attr("jid").unwrap_or("").to_owned(),
                i.attr("name").map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![(ROOM.to_owned(), Some("Persistent Hall".to_owned()))]
    );

    // The password still guards it; with it, the join is not a creation and the subject
    // is the one set before the restart.
    let seq = guest.join(&format!("{ROOM}/guest"), "").await;
    assert_eq!(error_condition(&seq[0]).as_deref(), Some("not-authorized"));
    let seq = guest
        .join(&format!("{ROOM}/guest"), "<password>s3cret</password>")
        .await;
    let me = seq.iter().find(|e| statuses(e).contains(&110)).unwrap();
    assert_eq!(statuses(me), vec![100, 110], "no 201: {}", dump(&seq));
    assert_eq!(item(me).attr("jid"), Some(jg.as_str()));
    let subject = seq.last().unwrap();
    assert_eq!(
        subject.child_text("subject", ns::CLIENT).as_deref(),
        Some("Kept subject")
    );
    assert_eq!(subject.attr("from"), Some(format!("{ROOM}/alice").as_str()));
    assert!(subject.has_child("delay", ns::DELAY));

    // The banned account stays banned; the owner is still the owner.
    let mut carol = connect(addr).await;
    carol.login_plain("carol", "pc", Some("c")).await;
    let seq = carol
        .join(&format!("{ROOM}/carol"), "<password>s3cret</password>")
        .await;
    assert_eq!(error_condition(&seq[0]).as_deref(), Some("forbidden"));
    let mut alice = connect(addr).await;
    let ja2 = alice.login_plain("alice", "pa", Some("a2")).await;
    assert_ne!(ja, ja2);
    let seq = alice.join(&format!("{ROOM}/alice"), "").await;
    let me = seq.iter().find(|e| statuses(e).contains(&110)).unwrap();
    assert_eq!(aff_role(me), ("owner".to_owned(), "moderator".to_owned()));
    let form = iq_to(
        &mut alice,
        "get",
        ROOM,
        &format!("<query xmlns='{OWNER_NS}'/>"),
    )
    .await;
    let q = form.get_child("query", ns::MUC_OWNER).unwrap();
    for (var, want) in [
        ("muc#roomconfig_roomname", "Persistent Hall"),
        ("muc#roomconfig_persistentroom", "1"),
        ("muc#roomconfig_whois", "anyone"),
        ("muc#roomconfig_passwordprotectedroom", "1"),
        ("muc#roomconfig_roomsecret", "s3cret"),
        ("muc#roomconfig_maxusers", "50"),
    ] {
        assert_eq!(form_value(q, var).as_deref(), Some(want), "{var}");
    }
    let members = iq_to(
        &mut alice,
        "get",
        ROOM,
        &admin("<item affiliation='member'/>"),
    )
    .await;
    assert_eq!(affiliation_list(&members), vec!["bob@localhost".to_owned()]);
    let outcasts = iq_to(
        &mut alice,
        "get",
        ROOM,
        &admin("<item affiliation='outcast'/>"),
    )
    .await;
    assert_eq!(
        affiliation_list(&outcasts),
        vec!["carol@localhost".to_owned()]
    );

    // Made temporary, and emptied: the record is forgotten.
    let res = iq_to(
        &mut alice,
        "set",
        ROOM,
        &format!("<query xmlns='{OWNER_NS}'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_persistentroom'><value>0</value></field></x></query>"),
    )
    .await;
    assert_eq!(res.attr("type"), Some("result"), "{}", res.to_xml_string());
    for (c, nick) in [(&mut guest, "guest"), (&mut alice, "alice")] {
        c.send(&format!(
            "<presence to='{ROOM}/{nick}' type='unavailable'/>"
        ))
        .await;
        c.until(|e| {
            e.name == "presence"
                && e.attr("type") == Some("unavailable")
                && e.attr("from") == Some(format!("{ROOM}/{nick}").as_str())
        })
        .await;
    }
    drop((guest, alice, carol));
    srv.shutdown().await;

    // --- Third run: the room is gone.
    let srv = boot(dir.path(), false).await;
    let mut c = connect(srv.c2s_addr().unwrap()).await;
    c.login_anonymous(None).await;
    let info = iq_to(
        &mut c,
        "get",
        ROOM,
        "<query xmlns='http://jabber.org/protocol/disco#info'/>",
    )
    .await;
    assert_eq!(error_condition(&info).as_deref(), Some("item-not-found"));
    srv.shutdown().await;
}
