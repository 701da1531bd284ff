//! Large rooms: fan-out is one element per view, never one per recipient.

use super::harness::*;

fn big_room(n: usize) -> T {
    let mut t = T::with(|c| c.muc_room_default_public_jids = true);
    for i in 0..n {
        let who = format!("u{i}");
        let fx = t.join(&who);
        assert!(error_to(&fx, &who).is_none());
    }
    t
}

#[test]
fn groupchat_to_1000_occupants_is_one_element() {
    let mut t = big_room(1000);
    let fx = t.say("u7", "hello everyone");
    assert_eq!(fx.len(), 1);
    let Effect::Broadcast { stanza, to } = &fx[0] else {
        panic!("expected a broadcast");
    };
    assert_eq!(to.len(), 1000);
    assert_eq!(stanza.attr("from"), Some(occ("u7").as_str()));
    let mut uniq: Vec<&Jid> = to.iter().collect();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), 1000, "every occupant exactly once");
}

#[test]
fn presence_update_in_a_1000_room_is_one_broadcast_plus_self() {
    let mut t = big_room(1000);
    let fx = t.send(
        "u500",
        &format!("<presence to='{ROOM}/u500'><audiomuted>true</audiomuted></presence>"),
    );
    assert_eq!(fx.len(), 2);
    assert!(matches!(&fx[0], Effect::Broadcast { to, .. } if to.len() == 999));
    assert!(matches!(&fx[1], Effect::Send { to, .. } if to.as_str() == jid("u500")));
}

#[test]
fn the_1001st_join_gets_1000_presences_then_itself() {
    let mut t = big_room(1000);
    let fx = t.join("last");
    let got = to(&fx, "last");
    assert_eq!(got.len(), 1002, "1000 presences, self, subject");
    assert_eq!(codes(&got[1000]), [100, 110]);
    assert!(got[1001].has_child("subject", ns::CLIENT));
    let last = jid("last");
    let (mut to_last, mut fan_out) = (0, Vec::new());
    for e in &fx {
        if let Effect::Broadcast { to, .. } = e {
            if to.len() == 1 && to[0].as_str() == last {
                to_last += 1;
            } else {
                fan_out.push(to.len());
            }
        }
    }
    assert_eq!(
        fan_out,
        [1000],
        "the newcomer's presence: one broadcast to the others"
    );
    assert_eq!(to_last, 1000, "each kept presence handed to the newcomer");
}
