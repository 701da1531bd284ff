//! How sessions ending affect rooms, over real sockets: a client that disconnects leaves
//! every room it was in (under its current nick), an IQ forwarded to an occupant whose
//! session ends is failed back to the requester instead of hanging, and a slow occupant
//! disconnected for not reading leaves the room while the others go on.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::muc::*;
use crate::common::*;
use rookery_proto::ns;

const MUC: &str = "[[muc]]\ndomain = \"conference.localhost\"\nmuc_room_locking = false\n";

#[tokio::test]
async fn disconnect_leaves_every_room_under_the_current_nick() {
    let srv = start(config(MUC), &[]).await;
    let addr = srv.c2s_addr().unwrap();
    let mut watcher = connect(addr).await;
    let mut leaver = connect(addr).await;
    watcher.login_anonymous(Some("w")).await;
    leaver.login_anonymous(Some("l")).await;
    for room in ["one@conference.localhost", "two@conference.localhost"] {
        watcher.join(&format!("{room}/watcher"), "").await;
        leaver.join(&format!("{room}/leaver"), "").await;
        watcher.until_pong(room).await;
    }
    // A nick change in room one, then the connection drops without a word.
    leaver
        .send("<presence to='one@conference.localhost/renamed'/>")
        .await;
    leaver
        .until(|e| {
            e.attr("from") == Some("one@conference.localhost/renamed") && e.attr("type").is_none()
        })
        .await;
    // The watcher sees the rename (303 from the old nick, then the new nick).
    let old = watcher
        .until(|e| e.attr("from") == Some("one@conference.localhost/leaver"))
        .await;
    assert_eq!(statuses(&old), vec![303]);
    watcher
        .until(|e| e.attr("from") == Some("one@conference.localhost/renamed"))
        .await;
    drop(leaver);
    // Both rooms announce the exit (in either order), each under the current nick.
    let mut gone = Vec::new();
    while gone.len() < 2 {
        let e = watcher.until(|e| e.name == "presence").await;
        assert_eq!(e.attr("type"), Some("unavailable"), "{}", e.to_xml_string());
        assert_eq!(aff_role(&e).1, "none");
        gone.push(e.attr("from").unwrap().to_owned());
    }
    gone.sort();
    assert_eq!(
        gone,
        vec![
            "one@conference.localhost/renamed".to_owned(),
            "two@conference.localhost/leaver".to_owned()
        ]
    );
    for room in ["one@conference.localhost", "two@conference.localhost"] {
        watcher.expect_quiet(room).await;
        // Exactly one occupant is left.
        let id = unique_id("n");
        let info = watcher
            .iq(
                &format!("<iq type='get' id='{id}' to='{room}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
                &id,
            )
            .await;
        let q = info.get_child("query", ns::DISCO_INFO).unwrap();
        assert_eq!(
            form_value(q, "muc#roominfo_occupants").as_deref(),
            Some("1")
        );
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn forwarded_iq_fails_back_when_the_responder_goes_away() {
    let srv = start(config(MUC), &[]).await;
    let addr = srv.c2s_addr().unwrap();
    let room = "iq@conference.localhost";
    let mut asker = connect(addr).await;
    let mut mute = connect(addr).await;
    asker.login_anonymous(Some("a")).await;
    mute.login_anonymous(Some("m")).await;
    asker.join(&format!("{room}/asker"), "").await;
    mute.join(&format!("{room}/mute"), "").await;
    asker.until_pong(room).await;
    asker
        .send(&format!(
            "<iq type='get' id='pending' to='{room}/mute'><query xmlns='urn:example:slow'/></iq>"
        ))
        .await;
    let req = mute.until(|e| e.name == "iq").await;
    assert_eq!(req.attr("from"), Some(format!("{room}/asker").as_str()));
    // It never answers: its connection ends instead.
    drop(mute);
    let mut got = Vec::new();
    let answer = loop {
        let e = asker.element().await;
        if e.name == "iq" {
            break e;
        }
        got.push(e);
    };
    assert_eq!(answer.attr("id"), Some("pending"));
    assert_eq!(
        answer.attr("type"),
        Some("error"),
        "{}",
        answer.to_xml_string()
    );
    assert_eq!(answer.attr("from"), Some(format!("{room}/mute").as_str()));
    assert!(error_condition(&answer).is_some());
    // The leave was announced (before or after the failure, but exactly once).
    got.extend(asker.until_pong(room).await);
    let leaves: Vec<_> = got
        .iter()
        .filter(|e| e.attr("type") == Some("unavailable"))
        .collect();
    assert_eq!(leaves.len(), 1, "{}", dump(&got));
    // Asking again: nobody by that nick.
    let r = asker
        .iq(
            &format!(
                "<iq type='get' id='again' to='{room}/mute'><query xmlns='urn:example:slow'/></iq>"
            ),
            "again",
        )
        .await;
    assert_eq!(error_condition(&r).as_deref(), Some("item-not-found"));
    srv.shutdown().await;
}

#[tokio::test]
async fn a_slow_occupant_is_disconnected_and_leaves_the_room() {
    let srv = start(
        crate::common::test_config(&format!("c2s_send_queue = 64\n{MUC}")),
        &[],
    )
    .await;
    let addr = srv.c2s_addr().unwrap();
    let room = "busy@conference.localhost";
    let mut talker = connect(addr).await;
    let mut listener = connect(addr).await;
    let mut sleeper = connect(addr).await;
    talker.login_anonymous(Some("t")).await;
    listener.login_anonymous(Some("l")).await;
    sleeper.login_anonymous(Some("s")).await;
    talker.join(&format!("{room}/talker"), "").await;
    listener.join(&format!("{room}/listener"), "").await;
    sleeper.join(&format!("{room}/sleeper"), "").await;
    talker.until_pong(room).await;
    listener.until_pong(room).await;
    // The sleeper stops reading. The talker sends until the room reports the sleeper gone;
    // the listener keeps reading everything. Bounded: at most 4000 messages of 4 KiB.
    let body = "z".repeat(4096);
    let mut sent = 0;
    let mut sleeper_left = false;
    while sent < 4000 && !sleeper_left {
        let mut batch = String::new();
        for _ in 0..50 {
            batch.push_str(&format!(
                "<message to='{room}' type='groupchat'><body>{sent} {body}</body></message>"
            ));
            sent += 1;
        }
        talker.send(&batch).await;
        // Drain both readers up to the room barrier, watching for the sleeper's exit.
        for c in [&mut talker, &mut listener] {
            for e in c.until_pong(room).await {
                if e.name == "presence"
                    && e.attr("type") == Some("unavailable")
                    && e.attr("from") == Some(format!("{room}/sleeper").as_str())
                {
                    sleeper_left = true;
                }
            }
        }
    }
    println!("slow occupant removed after {sent} messages");
    assert!(sleeper_left, "the slow occupant was never removed");
    // The others are still served.
    talker
        .send(&format!(
            "<message to='{room}' type='groupchat'><body>fin</body></message>"
        ))
        .await;
    for c in [&mut talker, &mut listener] {
        let m = c
            .until(|e| e.child_text("body", ns::CLIENT).as_deref() == Some("fin"))
            .await;
        assert_eq!(m.attr("from"), Some(format!("{room}/talker").as_str()));
    }
    drop(sleeper);
    srv.shutdown().await;
}

#[tokio::test]
async fn no_ghost_occupant_when_the_session_has_many_directed_presences() {
    let srv = start(config(MUC), &[]).await;
    let addr = srv.c2s_addr().unwrap();
    let room = "ghosts@conference.localhost";
    let mut watcher = connect(addr).await;
    let mut busy = connect(addr).await;
    watcher.login_anonymous(Some("w")).await;
    busy.login_anonymous(Some("b")).await;
    watcher.join(&format!("{room}/watcher"), "").await;
    // Directed presence to many other addresses (the server remembers whom to tell when
    // the session ends; that memory is bounded).
    let mut burst = String::new();
    for i in 0..1100 {
        burst.push_str(&format!("<presence to='someone{i}@localhost/x'/>"));
    }
    busy.send(&burst).await;
    busy.send(&format!(
        "<presence to='{room}/busy'><x xmlns='http://jabber.org/protocol/muc'/></presence>"
    ))
    .await;
    let outcome = busy
        .until(|e| e.name == "presence" && e.attr("from") == Some(format!("{room}/busy").as_str()))
        .await;
    let joined = outcome.attr("type").is_none();
    drop(busy);
    if joined {
        // It got in: its exit must be announced when the connection drops.
        let gone = watcher
            .until(|e| {
                e.attr("from") == Some(format!("{room}/busy").as_str())
                    && e.attr("type") == Some("unavailable")
            })
            .await;
        assert_eq!(aff_role(&gone).1, "none");
    } else {
        // Refused: the error says why, and the room never saw it.
        assert_eq!(
            error_condition(&outcome).as_deref(),
            Some("resource-constraint")
        );
    }
    watcher.until_pong(room).await;
    let info = watcher
        .iq(
            &format!("<iq type='get' id='n' to='{room}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
            "n",
        )
        .await;
    let q = info.get_child("query", ns::DISCO_INFO).unwrap();
    assert_eq!(
        form_value(q, "muc#roominfo_occupants").as_deref(),
        Some("1"),
        "a ghost occupant stayed behind"
    );
    srv.shutdown().await;
}
