//! Stream parsing throughput (MB/s) and stanza serialisation, the per-stanza hot paths of
//! every connection. `cargo bench -p rookery-proto`.
// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rookery_proto::{Element, Limits, Prepared, StreamEvent, StreamParser, ns};

const HEADER: &str = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";

fn jitsi_presence(i: usize) -> String {
    format!(
        "<presence to='room@conference.localhost/nick{i}'><x xmlns='http://jabber.org/protocol/muc'/><stats-id>Kenny-{i}</stats-id><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://jitsi.org/jitsi-meet' ver='cvjWXufsg4xT62Ec2mlATkFZ9lk='/><audiomuted>false</audiomuted><videomuted>true</videomuted><nick xmlns='http://jabber.org/protocol/nick'>User {i} &amp; co</nick></presence>"
    )
}

fn groupchat(i: usize) -> String {
    format!(
        "<message to='room@conference.localhost' type='groupchat' id='m{i}'><body>1700000000000 message number {i} with some text</body></message>"
    )
}

fn parse(c: &mut Criterion) {
    let mut body = String::new();
    for i in 0..1000 {
        body.push_str(&groupchat(i));
        body.push_str(&jitsi_presence(i));
    }
    let bytes = body.into_bytes();
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("2000 stanzas, 4 KiB reads", |b| {
        b.iter(|| {
            let mut p = StreamParser::new_stream(Limits::default());
            p.feed(HEADER.as_bytes());
            let _ = p.next_event().unwrap();
            let mut n = 0;
            for chunk in bytes.chunks(4096) {
                p.feed(chunk);
                while let Some(ev) = p.next_event().unwrap() {
                    if let StreamEvent::Element(_) = ev {
                        n += 1;
                    }
                }
            }
            assert_eq!(n, 2000);
        })
    });
    g.finish();
}

fn serialise(c: &mut Criterion) {
    let el = Element::new("message", ns::CLIENT)
        .with_attr("from", "room@conference.localhost/nick")
        .with_attr("type", "groupchat")
        .with_child(Element::new("body", ns::CLIENT).with_text("hello <world> & friends"));
    let mut g = c.benchmark_group("serialise");
    g.bench_function("element", |b| b.iter(|| el.to_bytes_in(ns::CLIENT)));
    let prepared = Prepared::new(&el);
    g.bench_function("prepared splice", |b| {
        let mut out = Vec::with_capacity(256);
        b.iter(|| {
            out.clear();
            prepared.write_to(&mut out, "user@localhost/resource");
        })
    });
    g.finish();
}

criterion_group!(benches, parse, serialise);
criterion_main!(benches);
