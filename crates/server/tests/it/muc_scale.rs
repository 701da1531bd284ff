//! A 500-occupant room end to end over real sockets: 500 clients log in and join one by one
//! (each join sequence is checked: every earlier occupant, then the self-presence, then the
//! subject; every earlier occupant sees every later join), occupant 1 sends a groupchat
//! that all 500 receive, occupant 500 sends one that all 500 receive, then everyone leaves
//! and the room closes. Correctness at size, not a benchmark: the timings printed with
//! `--nocapture` are for reading, nothing asserts on them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::common::muc::*;
use crate::common::*;
use rookery_proto::ns;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

const N: usize = 500;
const ROOM: &str = "big@conference.localhost";
const MUC: &str = "[[muc]]\ndomain = \"conference.localhost\"\nmuc_room_locking = false\n";

fn nick(i: usize) -> String {
    format!("u{i:03}")
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Runs `f` on every client concurrently (one task each) and gives the clients back in
/// order, with each one's result.
async fn on_all<T, F, Fut>(clients: Vec<Raw<TcpStream>>, f: F) -> Vec<(Raw<TcpStream>, T)>
where
    T: Send + 'static,
    F: Fn(usize, Raw<TcpStream>) -> Fut,
    Fut: std::future::Future<Output = (Raw<TcpStream>, T)> + Send + 'static,
{
    let mut set = JoinSet::new();
    for (i, c) in clients.into_iter().enumerate() {
        let fut = f(i, c);
        set.spawn(async move { (i, fut.await) });
    }
    let mut out: Vec<Option<(Raw<TcpStream>, T)>> = (0..N).map(|_| None).collect();
    while let Some(r) = set.join_next().await {
        let (i, v) = r.unwrap();
        out[i] = Some(v);
    }
    out.into_iter().map(Option::unwrap).collect()
}

/// Sends a groupchat from occupant `from` and checks that every client's next room
/// stanza is exactly that message; returns the time until the last one had it.
async fn groupchat_to_all(
    clients: Vec<Raw<TcpStream>>,
    from: usize,
    text: &'static str,
) -> (Vec<Raw<TcpStream>>, Duration) {
    let mut clients = clients;
    let t0 = Instant::now();
    clients[from]
        .send(&format!(
            "<message to='{ROOM}' type='groupchat' id='g-{from}'><body>{text}</body></message>"
        ))
        .await;
    let sender = format!("{ROOM}/{}", nick(from));
    let got = on_all(clients, move |_, mut c| {
        let sender = sender.clone();
        async move {
            let m = c.element().await;
            assert_eq!(m.name, "message", "{}", m.to_xml_string());
            assert_eq!(m.attr("from"), Some(sender.as_str()));
            assert_eq!(m.attr("type"), Some("groupchat"));
            assert_eq!(m.child_text("body", ns::CLIENT).as_deref(), Some(text));
            (c, Instant::now())
        }
    })
    .await;
    let last = got.iter().map(|(_, t)| *t).max().unwrap();
    (got.into_iter().map(|(c, _)| c).collect(), last - t0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_occupants_join_talk_and_leave() {
    let t_all = Instant::now();
    let srv = start(config(MUC), &[]).await;
    let addr = srv.c2s_addr().unwrap();

    // Log in 500 anonymous clients.
    let t = Instant::now();
    let mut clients = Vec::with_capacity(N);
    let mut jids = Vec::with_capacity(N);
    for i in 0..N {
        let mut c = connect(addr).await;
        jids.push(c.login_anonymous(Some(&format!("r{i}"))).await);
        clients.push(c);
    }
    println!("login of {N} clients: {}", ms(t.elapsed()));

    // Join one by one; each joiner's sequence is exact.
    let t = Instant::now();
    let mut join_times = Vec::with_capacity(N);
    for (i, c) in clients.iter_mut().enumerate() {
        let me = format!("{ROOM}/{}", nick(i));
        let t_join = Instant::now();
        let seq = c.join(&me, "<history maxstanzas='0'/>").await;
        join_times.push(t_join.elapsed());
        assert_eq!(seq.len(), i + 2, "occupant {i}");
        let others: HashSet<String> = seq[..i]
            .iter()
            .map(|p| {
                assert_eq!(p.name, "presence");
                assert_eq!(p.attr("type"), None);
                p.attr("from").unwrap().to_owned()
            })
            .collect();
        let expected: HashSet<String> = (0..i).map(|k| format!("{ROOM}/{}", nick(k))).collect();
        assert_eq!(others, expected, "occupant {i}");
        assert_eq!(seq[i].attr("from"), Some(me.as_str()));
        let codes = statuses(&seq[i]);
        assert!(codes.contains(&110), "occupant {i}: {codes:?}");
        assert_eq!(codes.contains(&201), i == 0);
        assert!(is_subject(&seq[i + 1]));
    }
    let join_total = t.elapsed();
    for k in [1, 2, 100, 250, 400, 500] {
        println!(
            "join of occupant {k}: {} (join sequence of {} stanzas)",
            ms(join_times[k - 1]),
            k + 1
        );
    }
    println!("all {N} joins, one after another: {}", ms(join_total));

    // Every occupant saw exactly the later joins (a room barrier per client, in parallel).
    let t = Instant::now();
    let clients = on_all(clients, |i, mut c| async move {
        let seen = c.until_pong(ROOM).await;
        assert_eq!(seen.len(), N - 1 - i, "occupant {i}");
        for (k, p) in seen.iter().enumerate() {
            assert_eq!(
                p.attr("from"),
                Some(format!("{ROOM}/{}", nick(i + 1 + k)).as_str()),
                "occupant {i} saw joins out of order"
            );
        }
        (c, ())
    })
    .await;
    let clients: Vec<_> = clients.into_iter().map(|(c, ())| c).collect();
    println!(
        "drain of {} broadcast join presences + {N} room pings: {}",
        N * (N - 1) / 2,
        ms(t.elapsed())
    );

    let (clients, first) = groupchat_to_all(clients, 0, "from the first").await;
    println!("groupchat fan-out from occupant 1 to {N}: {}", ms(first));
    let (mut clients, last) = groupchat_to_all(clients, N - 1, "from the last").await;
    println!("groupchat fan-out from occupant {N} to {N}: {}", ms(last));

    // disco#info counts everyone.
    let info = clients[7]
        .iq(
            &format!("<iq type='get' id='cnt' to='{ROOM}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
            "cnt",
        )
        .await;
    let q = info.get_child("query", ns::DISCO_INFO).unwrap();
    assert_eq!(
        form_value(q, "muc#roominfo_occupants").as_deref(),
        Some(N.to_string().as_str())
    );

    // Leave from the last to the second; the first sees all of them go, then leaves too.
    let t = Instant::now();
    for i in (1..N).rev() {
        let c = &mut clients[i];
        let me = format!("{ROOM}/{}", nick(i));
        c.send(&format!("<presence to='{me}' type='unavailable'/>"))
            .await;
        let bye = c
            .until(|e| e.name == "presence" && e.attr("from") == Some(me.as_str()))
            .await;
        assert_eq!(bye.attr("type"), Some("unavailable"));
        assert_eq!(statuses(&bye), vec![110]);
    }
    let first_client = &mut clients[0];
    let gone = first_client.until_pong(ROOM).await;
    assert_eq!(gone.len(), N - 1, "{}", dump(&gone[..3.min(gone.len())]));
    for (k, p) in gone.iter().enumerate() {
        assert_eq!(p.attr("type"), Some("unavailable"));
        assert_eq!(
            p.attr("from"),
            Some(format!("{ROOM}/{}", nick(N - 1 - k)).as_str())
        );
    }
    first_client
        .send(&format!(
            "<presence to='{ROOM}/{}' type='unavailable'/>",
            nick(0)
        ))
        .await;
    let bye = first_client.element().await;
    assert_eq!(statuses(&bye), vec![110]);
    println!("{N} leaves: {}", ms(t.elapsed()));
    let info = first_client
        .iq(
            &format!("<iq type='get' id='gone' to='{ROOM}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
            "gone",
        )
        .await;
    assert_eq!(error_condition(&info).as_deref(), Some("item-not-found"));
    drop(clients);
    srv.shutdown().await;
    println!("whole test: {}", ms(t_all.elapsed()));
}
