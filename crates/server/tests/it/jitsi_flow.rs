//! A scripted Jitsi conference over real sockets with the configuration docker-jitsi-meet's
//! environment variables produce (JWT auth): jicofo and the bridge log in with SCRAM-SHA-1 and
//! meet in the brewery (the bridge's large stats presence reaches jicofo intact); a web client
//! on WebSocket with a token asks focus.meet.jitsi for a conference (through the client
//! proxy, or through an XEP-0114 focus component), joins before the focus and is held, is
//! released when jicofo creates and configures the room, sees the meeting id, and exchanges
//! Jingle IQs with jicofo through occupant JIDs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::SocketAddr;

use crate::common::*;
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use rookery_proto::{Element, Limits, StreamEvent, StreamParser, ns};
use rookery_server::Config;
use rookery_server::store::Store;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const FOCUS_NS: &str = "http://jitsi.org/protocol/focus";
const COLIBRI_NS: &str = "http://jitsi.org/protocol/colibri";
const JINGLE_NS: &str = "urn:xmpp:jingle:1";
const COMPONENT_SECRET: &str = "focus-component-secret";

/// The docker-jitsi-meet `.env` of this test, as the container would see it, turned into
/// the configuration with every listener on a free loopback port.
fn config(component: bool) -> Config {
    let mut vars = vec![
        ("ENABLE_AUTH", "1"),
        ("AUTH_TYPE", "jwt"),
        ("JWT_APP_ID", "jitsi-app"),
        ("JWT_APP_SECRET", "jitsi-app-secret"),
        ("JWT_ACCEPTED_AUDIENCES", "jitsi"),
        ("JICOFO_AUTH_PASSWORD", "focus-password"),
        ("JVB_AUTH_PASSWORD", "jvb-password"),
        ("PUBLIC_URL", "https://meet.example.com"),
    ];
    if component {
        vars.push(("JICOFO_COMPONENT_SECRET", COMPONENT_SECRET));
    }
    jitsi_env_config(&vars)
}

async fn server(cfg: Config) -> rookery_server::Running {
    // The focus and jvb accounts come from the environment: nothing is registered here.
    rookery_server::start_with_store(cfg, Store::in_memory().unwrap())
        .await
        .unwrap()
}

fn mint(cfg: &Config, room: &str) -> String {
    let tcfg = cfg.host("meet.jitsi").unwrap().token.clone().unwrap();
    let now = rookery_sasl::token::unix_now();
    let claims = rookery_sasl::token::default_claims(&tcfg, room, "meet.jitsi", now, 3600);
    rookery_sasl::token::mint(&tcfg, &serde_json::Value::Object(claims)).unwrap()
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap()
}

/// SCRAM-SHA-1 login (the `sasl` crate's client, as Smack would) and bind.
async fn scram_login(
    host: &str,
    addr: SocketAddr,
    user: &str,
    pass: &str,
) -> (Raw<TcpStream>, String) {
    use sasl::client::Mechanism;
    use sasl::client::mechanisms::Scram;
    use sasl::common::ChannelBinding;
    use sasl::common::scram::Sha1;

    let mut c = connect(addr).await;
    let features = c.open_to(host).await;
    let mechs: Vec<String> = features
        .get_child("mechanisms", ns::SASL)
        .unwrap()
        .children()
        .map(Element::text)
        .collect();
    assert!(mechs.iter().any(|m| m == "SCRAM-SHA-1"), "{mechs:?}");
    let mut scram = Scram::<Sha1>::new(user, pass, ChannelBinding::None).unwrap();
    c.send(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>{}</auth>",
        b64(&scram.initial())
    ))
    .await;
    let challenge = c.element().await;
    assert_eq!(challenge.name, "challenge", "{}", challenge.to_xml_string());
    let response = scram.response(&unb64(&challenge.text())).unwrap();
    c.send(&format!(
        "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</response>",
        b64(&response)
    ))
    .await;
    let success = c.element().await;
    assert_eq!(success.name, "success", "{}", success.to_xml_string());
    scram.success(&unb64(&success.text())).unwrap();
    let jid = c.bind(Some(user)).await;
    (c, jid)
}

async fn next_where(c: &mut Raw<TcpStream>, f: impl Fn(&Element) -> bool) -> Element {
    loop {
        let e = c.element().await;
        if f(&e) {
            return e;
        }
    }
}

fn item_attr(p: &Element, attr: &str) -> Option<String> {
    p.get_child("x", ns::MUC_USER)?
        .get_child("item", ns::MUC_USER)?
        .attr(attr)
        .map(str::to_owned)
}

fn statuses(p: &Element) -> Vec<String> {
    p.get_child("x", ns::MUC_USER)
        .map(|x| {
            x.children()
                .filter(|c| c.name == "status")
                .filter_map(|c| c.attr("code").map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn parse(xml: &str) -> Element {
    let bindings = vec![(String::new(), ns::CLIENT.to_owned())];
    rookery_proto::fragment::parse_element(xml.as_bytes(), &bindings).unwrap()
}

/// A web client on `/xmpp-websocket` (RFC 7395).
struct Ws {
    io: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Ws {
    async fn connect(addr: SocketAddr, query: &str) -> Ws {
        let mut req = format!("ws://{addr}/xmpp-websocket?{query}")
            .into_client_request()
            .unwrap();
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", "xmpp".parse().unwrap());
        req.headers_mut()
            .insert("Origin", "https://meet.example.com".parse().unwrap());
        let (io, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        Ws { io }
    }

    async fn send(&mut self, text: &str) {
        self.io.send(Message::text(text)).await.unwrap();
    }

    async fn element(&mut self) -> Element {
        loop {
            let m = tokio::time::timeout(STEP, self.io.next())
                .await
                .expect("timed out waiting for the server");
            match m {
                Some(Ok(Message::Text(t))) => {
                    let mut p = StreamParser::new_fragments(
                        Limits {
                            max_stanza_bytes: 1 << 20,
                            max_depth: 64,
                        },
                        "",
                    );
                    p.feed(t.as_bytes());
                    match p.next_event().unwrap() {
                        Some(StreamEvent::Element(e)) => return e,
                        other => panic!("not an element: {t}: {other:?}"),
                    }
                }
                Some(Ok(_)) => continue,
                other => panic!("connection ended: {other:?}"),
            }
        }
    }

    async fn open(&mut self) -> Element {
        self.send(
            "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='meet.jitsi' version='1.0'/>",
        )
        .await;
        let open = self.element().await;
        assert!(open.is("open", ns::FRAMING), "{}", open.to_xml_string());
        self.element().await
    }

    /// SASL ANONYMOUS with the URL's token, then bind.
    async fn login(&mut self) -> String {
        let f = self.open().await;
        let mechs: Vec<String> = f
            .get_child("mechanisms", ns::SASL)
            .unwrap()
            .children()
            .map(Element::text)
            .collect();
        assert!(mechs.iter().any(|m| m == "ANONYMOUS"), "{mechs:?}");
        self.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>")
            .await;
        let s = self.element().await;
        assert!(s.is("success", ns::SASL), "{}", s.to_xml_string());
        self.open().await;
        self.send("<iq type='set' id='b1' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>").await;
        let r = self.element().await;
        assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml_string());
        r.get_child("bind", ns::BIND)
            .unwrap()
            .child_text("jid", ns::BIND)
            .unwrap()
    }

    async fn next_where(&mut self, f: impl Fn(&Element) -> bool) -> Element {
        loop {
            let e = self.element().await;
            if f(&e) {
                return e;
            }
        }
    }
}

/// A bridge stats presence of a realistic size (jvb sends dozens of stats every few
/// seconds; this one is ~10 KB).
fn jvb_stats() -> String {
    let mut stats = format!("<stats xmlns='{COLIBRI_NS}'>");
    for i in 0..250 {
        stats.push_str(&format!("<stat name='stat_{i}' value='{}'/>", i * 7));
    }
    stats.push_str(
        "<stat name='region' value='eu-west'/><stat name='version' value='2.3.x'/></stats>",
    );
    stats
}

const BREWERY: &str = "jvbbrewery@internal-muc.meet.jitsi";
const ROOM: &str = "room1@muc.meet.jitsi";

async fn conference_flow(component: bool) {
    let cfg = config(component);
    let token = mint(&cfg, "room1");
    let srv = server(cfg).await;
    let c2s = srv.c2s_addr().unwrap();

    // jicofo and the bridge: SCRAM-SHA-1 on the auth host, then the brewery.
    let (mut jicofo, focus_jid) =
        scram_login("auth.meet.jitsi", c2s, "focus", "focus-password").await;
    assert!(focus_jid.starts_with("focus@auth.meet.jitsi/"));
    jicofo
        .send(&format!(
            "<presence to='{BREWERY}/focus'><x xmlns='{}'/></presence>",
            ns::MUC
        ))
        .await;
    let own = next_where(&mut jicofo, |e| e.name == "presence").await;
    assert_eq!(own.attr("from"), Some(format!("{BREWERY}/focus").as_str()));
    assert!(statuses(&own).contains(&"110".to_owned()));

    let (mut jvb, jvb_jid) = scram_login("auth.meet.jitsi", c2s, "jvb", "jvb-password").await;
    let stats = jvb_stats();
    jvb.send(&format!(
        "<presence to='{BREWERY}/jvb1'><x xmlns='{}'/>{stats}</presence>",
        ns::MUC
    ))
    .await;
    let seen = next_where(&mut jicofo, |e| {
        e.name == "presence" && e.attr("from") == Some(&format!("{BREWERY}/jvb1"))
    })
    .await;
    assert_eq!(
        seen.get_child("stats", COLIBRI_NS).unwrap(),
        &parse(&stats),
        "the bridge's stats reach jicofo intact"
    );
    assert_eq!(item_attr(&seen, "jid").as_deref(), Some(jvb_jid.as_str()));

    // An older jicofo also connects as the focus component.
    let mut comp = None;
    if component {
        let mut c = connect(srv.component_addr().unwrap()).await;
        c.send("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='focus.meet.jitsi'>").await;
        let id = match c.event().await {
            Some(StreamEvent::Open(h)) => h.id.unwrap(),
            other => panic!("{other:?}"),
        };
        let digest = rookery_server::handshake_digest(&id, COMPONENT_SECRET);
        c.send(&format!("<handshake>{digest}</handshake>")).await;
        assert_eq!(c.element().await.name, "handshake");
        comp = Some(c);
    }

    // The web client: WebSocket, token in the URL, SASL ANONYMOUS.
    let mut web = Ws::connect(
        srv.http_addr().unwrap(),
        &format!("token={token}&room=room1"),
    )
    .await;
    let web_jid = web.login().await;
    assert!(web_jid.contains("@meet.jitsi/"), "{web_jid}");

    // The conference request reaches jicofo (proxied) or the component.
    web.send(&format!(
        "<iq xmlns='jabber:client' type='set' id='conf1' to='focus.meet.jitsi'><conference xmlns='{FOCUS_NS}' room='{ROOM}' machine-uid='m-1'><property name='startAudioMuted' value='9'/></conference></iq>"
    ))
    .await;
    let request = match comp.as_mut() {
        Some(c) => {
            let r = next_where(c, |e| e.name == "iq").await;
            assert_eq!(r.ns, ns::COMPONENT);
            assert_eq!(r.attr("from"), Some(web_jid.as_str()));
            r
        }
        None => {
            let r = next_where(&mut jicofo, |e| e.name == "iq").await;
            assert_eq!(
                r.attr("from"),
                Some(format!("focus.meet.jitsi/{web_jid}").as_str())
            );
            assert_eq!(r.attr("to"), Some(focus_jid.as_str()));
            r
        }
    };
    assert_eq!(request.attr("id"), Some("conf1"));
    let conf = request.get_child("conference", FOCUS_NS).unwrap();
    assert_eq!(conf.attr("room"), Some(ROOM));

    // The client does not wait for the answer and joins at once: its join is held.
    web.send(&format!(
        "<presence xmlns='jabber:client' to='{ROOM}/abcd1234'><x xmlns='{}'/><nick xmlns='http://jabber.org/protocol/nick'>Alice</nick><stats-id>Alice-Xy</stats-id><audiomuted xmlns='http://jitsi.org/jitmeet/audio'>true</audiomuted><videomuted xmlns='http://jitsi.org/jitmeet/video'>false</videomuted><jitsi_participant_codecList>vp9,vp8,h264</jitsi_participant_codecList></presence>",
        ns::MUC
    ))
    .await;
    // Order the join before jicofo's: the server answers a ping only after routing the
    // join (same session, in order).
    web.send("<iq xmlns='jabber:client' type='get' id='sync' to='meet.jitsi'><ping xmlns='urn:xmpp:ping'/></iq>").await;
    web.next_where(|e| e.attr("id") == Some("sync")).await;

    // jicofo creates the room: it is the creator (201), so the client's join did not
    // create it; the held join is released right after and jicofo sees the client enter.
    jicofo
        .send(&format!(
            "<presence to='{ROOM}/focus'><x xmlns='{}'/></presence>",
            ns::MUC
        ))
        .await;
    let focus_own = next_where(&mut jicofo, |e| {
        e.name == "presence" && e.attr("from") == Some(&format!("{ROOM}/focus"))
    })
    .await;
    let codes = statuses(&focus_own);
    assert!(
        codes.contains(&"201".to_owned()) && codes.contains(&"110".to_owned()),
        "{codes:?}"
    );
    assert_eq!(
        item_attr(&focus_own, "affiliation").as_deref(),
        Some("owner")
    );
    let web_seen = next_where(&mut jicofo, |e| {
        e.name == "presence" && e.attr("from") == Some(&format!("{ROOM}/abcd1234"))
    })
    .await;
    assert_eq!(
        item_attr(&web_seen, "jid").as_deref(),
        Some(web_jid.as_str())
    );
    assert_eq!(
        web_seen
            .child_text("jitsi_participant_codecList", ns::CLIENT)
            .as_deref(),
        Some("vp9,vp8,h264")
    );

    // jicofo configures the room; the owner form carries the meeting id.
    let form = jicofo
        .iq(
            &format!(
                "<iq type='get' id='cfg1' to='{ROOM}'><query xmlns='{}'/></iq>",
                ns::MUC_OWNER
            ),
            "cfg1",
        )
        .await;
    let meeting_id = form
        .get_child("query", ns::MUC_OWNER)
        .and_then(|q| q.get_child("x", ns::DATA_FORMS))
        .and_then(|x| {
            x.children()
                .find(|f| f.attr("var") == Some("muc#roominfo_meetingId"))
        })
        .and_then(|f| f.child_text("value", ns::DATA_FORMS))
        .unwrap();
    assert_eq!(meeting_id.len(), 36, "{meeting_id}");
    let done = jicofo
        .iq(
            &format!("<iq type='set' id='cfg2' to='{ROOM}'><query xmlns='{}'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field><field var='muc#roomconfig_whois'><value>anyone</value></field></x></query></iq>", ns::MUC_OWNER),
            "cfg2",
        )
        .await;
    assert_eq!(
        done.attr("type"),
        Some("result"),
        "{}",
        done.to_xml_string()
    );

    // The conference answer goes back through the proxy (or the component).
    let answer = format!(
        "<iq type='result' id='conf1' from='focus.meet.jitsi' to='{web_jid}'><conference xmlns='{FOCUS_NS}' ready='true' room='{ROOM}' focusjid='focus@auth.meet.jitsi'/></iq>"
    );
    match comp.as_mut() {
        Some(c) => c.send(&answer).await,
        None => {
            jicofo
                .send(&answer.replace(
                    &format!("from='focus.meet.jitsi' to='{web_jid}'"),
                    &format!("to='focus.meet.jitsi/{web_jid}'"),
                ))
                .await
        }
    }

    // The client gets, in some order: the answer from focus.meet.jitsi, jicofo's presence
    // and then its own (110), proving it entered after the focus.
    let mut got_answer = false;
    let mut saw_focus = false;
    loop {
        let e = web.element().await;
        match (e.name.as_str(), e.attr("from")) {
            ("iq", Some("focus.meet.jitsi")) => {
                assert_eq!(e.attr("id"), Some("conf1"));
                assert_eq!(e.attr("type"), Some("result"));
                assert_eq!(
                    e.get_child("conference", FOCUS_NS).unwrap().attr("ready"),
                    Some("true")
                );
                got_answer = true;
            }
            ("presence", Some(f)) if f == format!("{ROOM}/focus") => saw_focus = true,
            ("presence", Some(f)) if f == format!("{ROOM}/abcd1234") => {
                assert!(saw_focus, "the focus must be in the room before the client");
                assert!(statuses(&e).contains(&"110".to_owned()));
                assert!(!statuses(&e).contains(&"201".to_owned()));
            }
            _ => {}
        }
        if got_answer && saw_focus {
            break;
        }
    }

    // The meeting id is in the room's disco#info.
    web.send(&format!(
        "<iq xmlns='jabber:client' type='get' id='disco1' to='{ROOM}'><query xmlns='{}'/></iq>",
        ns::DISCO_INFO
    ))
    .await;
    let info = web.next_where(|e| e.attr("id") == Some("disco1")).await;
    let shown = info
        .get_child("query", ns::DISCO_INFO)
        .and_then(|q| q.get_child("x", ns::DATA_FORMS))
        .and_then(|x| {
            x.children()
                .find(|f| f.attr("var") == Some("muc#roominfo_meetingId"))
        })
        .and_then(|f| f.child_text("value", ns::DATA_FORMS));
    assert_eq!(shown.as_deref(), Some(meeting_id.as_str()));

    // Jingle through the occupant JIDs, both ways.
    jicofo
        .send(&format!(
            "<iq type='set' id='jingle1' to='{ROOM}/abcd1234'><jingle xmlns='{JINGLE_NS}' action='session-initiate' sid='s1' initiator='{ROOM}/focus'><content name='audio'/></jingle></iq>"
        ))
        .await;
    let offer = web
        .next_where(|e| e.name == "iq" && e.attr("type") == Some("set"))
        .await;
    assert_eq!(offer.attr("from"), Some(format!("{ROOM}/focus").as_str()));
    assert_eq!(offer.attr("to"), Some(web_jid.as_str()));
    assert_eq!(
        offer.get_child("jingle", JINGLE_NS).unwrap().attr("action"),
        Some("session-initiate")
    );
    web.send(&format!(
        "<iq xmlns='jabber:client' type='result' id='{}' to='{ROOM}/focus'/>",
        offer.attr("id").unwrap()
    ))
    .await;
    let ack = next_where(&mut jicofo, |e| {
        e.name == "iq" && e.attr("id") == Some("jingle1")
    })
    .await;
    assert_eq!(ack.attr("type"), Some("result"));
    assert_eq!(ack.attr("from"), Some(format!("{ROOM}/abcd1234").as_str()));

    web.send(&format!(
        "<iq xmlns='jabber:client' type='set' id='jingle2' to='{ROOM}/focus'><jingle xmlns='{JINGLE_NS}' action='session-accept' sid='s1'/></iq>"
    ))
    .await;
    let accept = next_where(&mut jicofo, |e| {
        e.name == "iq" && e.attr("type") == Some("set")
    })
    .await;
    assert_eq!(
        accept.attr("from"),
        Some(format!("{ROOM}/abcd1234").as_str())
    );
    jicofo
        .send(&format!(
            "<iq type='result' id='{}' to='{ROOM}/abcd1234'/>",
            accept.attr("id").unwrap()
        ))
        .await;
    let accepted = web.next_where(|e| e.attr("id") == Some("jingle2")).await;
    assert_eq!(accepted.attr("type"), Some("result"));
    assert_eq!(
        accepted.attr("from"),
        Some(format!("{ROOM}/focus").as_str())
    );

    drop(jvb);
    srv.shutdown().await;
}

#[tokio::test]
async fn jitsi_conference_through_the_client_proxy() {
    conference_flow(false).await;
}

#[tokio::test]
async fn jitsi_conference_through_an_xep0114_focus_component() {
    conference_flow(true).await;
}

#[tokio::test]
async fn a_held_join_is_refused_when_the_focus_never_comes() {
    let mut cfg = config(false);
    cfg.mucs[0].jicofo_lock_timeout_seconds = 1;
    let token = mint(&cfg, "lonely");
    let srv = server(cfg).await;
    let mut web = Ws::connect(
        srv.http_addr().unwrap(),
        &format!("token={token}&room=lonely"),
    )
    .await;
    web.login().await;
    web.send(&format!(
        "<presence xmlns='jabber:client' to='lonely@muc.meet.jitsi/me'><x xmlns='{}'/></presence>",
        ns::MUC
    ))
    .await;
    let refused = web.next_where(|e| e.name == "presence").await;
    assert_eq!(refused.attr("type"), Some("error"));
    let err = refused.get_child("error", ns::CLIENT).unwrap();
    assert_eq!(err.attr("type"), Some("wait"));
    assert!(err.has_child("service-unavailable", ns::STANZAS));
    assert!(
        err.child_text("text", ns::STANZAS)
            .unwrap()
            .contains("focus did not join")
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn the_brewery_refuses_rooms_created_by_others() {
    let cfg = config(false);
    let token = mint(&cfg, "x");
    let srv = server(cfg).await;
    // A web participant cannot create rooms on the internal MUC (only admins: focus, jvb).
    let mut web = Ws::connect(srv.http_addr().unwrap(), &format!("token={token}&room=x")).await;
    web.login().await;
    web.send(&format!(
        "<presence xmlns='jabber:client' to='{BREWERY}/spy'><x xmlns='{}'/></presence>",
        ns::MUC
    ))
    .await;
    let p = web.next_where(|e| e.name == "presence").await;
    assert_eq!(p.attr("type"), Some("error"));
    assert!(
        p.get_child("error", ns::CLIENT)
            .unwrap()
            .has_child("not-allowed", ns::STANZAS)
    );
    srv.shutdown().await;
}
