//! Measures the room state machine alone (no sockets) at size: the cost of the Nth join,
//! of a groupchat fan-out and of a presence update in an N-occupant room.
//!
//! `cargo run -p rookery-muc --example room_scale -- 1000` (add `--release` for optimised
//! numbers). Prints one line per measurement; asserts nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;
use std::time::Instant;

use rookery_muc::{Effect, HookChain, MucConfig, Room, RoomInput, Sender, Timestamp};
use rookery_proto::{Element, Jid, ns};

fn sender(i: usize) -> Sender<()> {
    Sender::plain(
        Jid::parse(&format!("user{i}@example.com/web")).unwrap(),
        false,
    )
}

fn join(i: usize) -> Element {
    // a presence shaped like a Jitsi web client's
    Element::new("presence", ns::CLIENT)
        .with_attr("to", format!("room@muc.example/nick{i}"))
        .with_child(Element::new("x", ns::MUC))
        .with_child(Element::new("stats-id", ns::CLIENT).with_text("Kenny-8Hj"))
        .with_child(
            Element::new("c", "http://jabber.org/protocol/caps")
                .with_attr("hash", "sha-1")
                .with_attr("node", "https://jitsi.org/jitsi-meet")
                .with_attr("ver", "cvjWXufsg4xT62Ec2mlATkFZ9lk="),
        )
        .with_child(Element::new("audiomuted", ns::CLIENT).with_text("false"))
        .with_child(Element::new("videomuted", ns::CLIENT).with_text("true"))
        .with_child(
            Element::new("nick", "http://jabber.org/protocol/nick").with_text(format!("User {i}")),
        )
}

fn stanzas(effects: &[Effect]) -> usize {
    effects
        .iter()
        .map(|e| match e {
            Effect::Send { .. } => 1,
            Effect::Broadcast { to, .. } => to.len(),
            _ => 0,
        })
        .sum()
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let mut config = MucConfig::new(Jid::parse("muc.example").unwrap());
    config.muc_room_locking = false;
    config.muc_room_default_public_jids = true;
    let now = Timestamp::from_unix_secs(1_700_000_000);
    let mut room: Room<()> = Room::new(
        Jid::parse("room@muc.example").unwrap(),
        Arc::new(config),
        Arc::new(HookChain::new()),
        now,
    );
    let feed = |room: &mut Room<()>, stanza: Element, who: &Sender<()>| {
        let mut stanza = stanza;
        stanza.set_attr("from", who.jid.as_str());
        room.handle(
            RoomInput::Stanza {
                stanza,
                sender: who.clone(),
            },
            now,
        )
    };
    let start = Instant::now();
    for i in 0..n.saturating_sub(1) {
        feed(&mut room, join(i), &sender(i));
    }
    let fill = start.elapsed();
    let last = n.saturating_sub(1);
    let t = Instant::now();
    let fx = feed(&mut room, join(last), &sender(last));
    let nth = t.elapsed();
    println!("filled {} occupants in {fill:?}", n.saturating_sub(1));
    println!(
        "join of occupant {n}: {nth:?}, {} stanzas to deliver",
        stanzas(&fx)
    );

    let msg = Element::new("message", ns::CLIENT)
        .with_attr("to", "room@muc.example")
        .with_attr("type", "groupchat")
        .with_child(Element::new("body", ns::CLIENT).with_text("hello"));
    let t = Instant::now();
    let fx = feed(&mut room, msg, &sender(0));
    println!(
        "groupchat fan-out: {:?}, {} effect(s), {} deliveries",
        t.elapsed(),
        fx.len(),
        stanzas(&fx)
    );
    let mut update = join(0);
    update.remove_children("x", ns::MUC);
    let t = Instant::now();
    let fx = feed(&mut room, update, &sender(0));
    println!(
        "presence update: {:?}, {} effect(s), {} deliveries",
        t.elapsed(),
        fx.len(),
        stanzas(&fx)
    );
    if let Some(Effect::Broadcast { stanza, to }) = fx.first() {
        let t = Instant::now();
        let prepared = rookery_proto::Prepared::new(stanza);
        let mut out = Vec::with_capacity(to.len() * (prepared.len() + 48));
        for r in to {
            prepared.write_to(&mut out, r.as_str());
        }
        println!(
            "serialise once + splice {} recipients: {:?}, {} bytes",
            to.len(),
            t.elapsed(),
            out.len()
        );
    }
}
