//! A groupchat broadcast to 1,000 occupants in the sans-io room: the room's share of a
//! fan-out (the server then serialises once and splices each recipient).
//! `cargo bench -p rookery-muc`.
// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use rookery_muc::{Effect, HookChain, MucConfig, Room, RoomInput, Sender, Timestamp};
use rookery_proto::{Element, Jid, Prepared, ns};

fn room_with(n: usize) -> Room<()> {
    let mut cfg = MucConfig::new(Jid::parse("conference.localhost").unwrap());
    cfg.muc_room_locking = false;
    let mut room = Room::new(
        Jid::parse("room@conference.localhost").unwrap(),
        Arc::new(cfg),
        Arc::new(HookChain::default()),
        Timestamp::now(),
    );
    for i in 0..n {
        let p = Element::new("presence", ns::CLIENT)
            .with_attr("to", format!("room@conference.localhost/n{i}"))
            .with_child(Element::new("x", ns::MUC));
        let s = Sender::plain(Jid::parse(&format!("u{i}@localhost/r")).unwrap(), false);
        room.handle(
            RoomInput::Stanza {
                stanza: p,
                sender: s,
            },
            Timestamp::now(),
        );
    }
    assert_eq!(room.occupant_count(), n);
    room
}

fn broadcast(c: &mut Criterion) {
    let mut room = room_with(1000);
    let sender = Sender::plain(Jid::parse("u0@localhost/r").unwrap(), false);
    let msg = Element::new("message", ns::CLIENT)
        .with_attr("to", "room@conference.localhost")
        .with_attr("type", "groupchat")
        .with_child(Element::new("body", ns::CLIENT).with_text("hello"));
    c.bench_function("groupchat to 1000 occupants (room only)", |b| {
        b.iter(|| {
            let fx = room.handle(
                RoomInput::Stanza {
                    stanza: msg.clone(),
                    sender: sender.clone(),
                },
                Timestamp::now(),
            );
            assert!(
                fx.iter()
                    .any(|e| matches!(e, Effect::Broadcast { to, .. } if to.len() == 1000))
            );
        })
    });
    c.bench_function(
        "groupchat to 1000 occupants (room + serialise + splice)",
        |b| {
            let mut out = Vec::with_capacity(256 * 1024);
            b.iter(|| {
                out.clear();
                let fx = room.handle(
                    RoomInput::Stanza {
                        stanza: msg.clone(),
                        sender: sender.clone(),
                    },
                    Timestamp::now(),
                );
                for e in fx {
                    if let Effect::Broadcast { stanza, to } = e {
                        let p = Prepared::new(&stanza);
                        for r in &to {
                            p.write_to(&mut out, r.as_str());
                        }
                    }
                }
            })
        },
    );
}

criterion_group!(benches, broadcast);
criterion_main!(benches);
