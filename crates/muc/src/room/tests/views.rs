//! Tenant views: each occupant sees the room under the address it used.

use super::harness::*;

const CLIENT_VIEW: &str = "standup@muc.acme.example";

fn tenant_room() -> T {
    let mut t = T::new();
    t.room = Room::new(
        Jid::parse("[acme]standup@muc.example").unwrap(),
        service(|_| {}),
        std::sync::Arc::new(HookChain::new()),
        t.now,
    );
    t
}

#[test]
fn every_stanza_uses_the_recipients_view() {
    let internal = "[acme]standup@muc.example";
    let mut t = tenant_room();
    t.send("web", &format!("<presence to='{CLIENT_VIEW}/web'><x xmlns='http://jabber.org/protocol/muc'/></presence>"));
    let fx = t.send(
        "focus",
        &format!(
            "<presence to='{internal}/focus'><x xmlns='http://jabber.org/protocol/muc'/></presence>"
        ),
    );
    let web_sees: Vec<String> = to(&fx, "web")
        .iter()
        .map(|s| s.attr("from").unwrap().to_owned())
        .collect();
    assert_eq!(web_sees, [format!("{CLIENT_VIEW}/focus")]);
    let focus_sees: Vec<String> = to(&fx, "focus")
        .iter()
        .map(|s| s.attr("from").unwrap().to_owned())
        .collect();
    assert_eq!(
        focus_sees,
        [
            format!("{internal}/web"),
            format!("{internal}/focus"),
            internal.to_owned()
        ]
    );

    // a groupchat becomes one broadcast per view
    let fx = t.send(
        "focus",
        &format!("<message to='{internal}' type='groupchat'><body>hi</body></message>"),
    );
    assert_eq!(fx.len(), 2);
    assert_eq!(
        to(&fx, "web")[0].attr("from"),
        Some(format!("{CLIENT_VIEW}/focus").as_str())
    );
    assert_eq!(
        to(&fx, "focus")[0].attr("from"),
        Some(format!("{internal}/focus").as_str())
    );

    // IQs carry the recipient's view both ways
    let fx = t.send(
        "focus",
        &format!(
            "<iq to='{internal}/web' type='set' id='j'><jingle xmlns='urn:xmpp:jingle:1'/></iq>"
        ),
    );
    let fwd = &to(&fx, "web")[0];
    assert_eq!(
        fwd.attr("from"),
        Some(format!("{CLIENT_VIEW}/focus").as_str())
    );
    let id = fwd.attr("id").unwrap().to_owned();
    let fx = t.send(
        "web",
        &format!("<iq to='{CLIENT_VIEW}/focus' type='result' id='{id}'/>"),
    );
    assert_eq!(
        to(&fx, "focus")[0].attr("from"),
        Some(format!("{internal}/web").as_str())
    );

    // history and delay stamps too
    let fx = t.send("late", &format!("<presence to='{CLIENT_VIEW}/late'><x xmlns='http://jabber.org/protocol/muc'/></presence>"));
    let hist = to(&fx, "late")
        .into_iter()
        .find(|s| s.has_child("body", ns::CLIENT))
        .unwrap();
    assert_eq!(
        hist.attr("from"),
        Some(format!("{CLIENT_VIEW}/focus").as_str())
    );
    assert_eq!(
        hist.get_child("delay", ns::DELAY).unwrap().attr("from"),
        Some(CLIENT_VIEW)
    );
}
