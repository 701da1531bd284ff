//! Logins driven by the `sasl` crate's client mechanisms (an implementation we did not
//! write): the XML exchange is ours, the SCRAM messages and the server-signature check are
//! the crate's. Works for any served host.

use base64::Engine;
use rookery_proto::{Element, ns};
use sasl::client::Mechanism;
use sasl::client::mechanisms::Scram;
use sasl::common::ChannelBinding;
use sasl::common::scram::{Sha1, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};

use super::Raw;

/// Which SCRAM hash to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScramKind {
    /// SCRAM-SHA-1 (what Smack, hence jicofo and JVB, use).
    Sha1,
    /// SCRAM-SHA-256.
    Sha256,
}

/// A SCRAM client mechanism; `binding` selects the gs2 flag (`None` → `n`,
/// `Unsupported` → `y`).
pub(crate) fn scram(
    kind: ScramKind,
    user: &str,
    pass: &str,
    binding: ChannelBinding,
) -> Box<dyn Mechanism> {
    match kind {
        ScramKind::Sha1 => Box::new(Scram::<Sha1>::new(user, pass, binding).unwrap()),
        ScramKind::Sha256 => Box::new(Scram::<Sha256>::new(user, pass, binding).unwrap()),
    }
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap()
}

impl<S: AsyncRead + AsyncWrite + Unpin> Raw<S> {
    /// Opens a stream to `host` and returns its features.
    pub(crate) async fn open_host(&mut self, host: &str) -> Element {
        self.parser.reset();
        self.send(&format!(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='{host}' version='1.0'>"
        ))
        .await;
        let f = self.element().await;
        assert_eq!(f.name, "features", "{}", f.to_xml_string());
        f
    }

    /// Runs one SASL exchange on an open stream: `<auth/>`, challenges answered by `mech`,
    /// then `<success/>` (whose additional data `mech` must accept) or `<failure/>`, which is
    /// returned.
    pub(crate) async fn sasl_exchange(&mut self, mech: &mut dyn Mechanism) -> Element {
        let initial = mech.initial();
        self.send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='{}'>{}</auth>",
            mech.name(),
            b64(&initial)
        ))
        .await;
        loop {
            let e = self.element().await;
            assert_eq!(e.ns, ns::SASL, "{}", e.to_xml_string());
            match e.name.as_str() {
                "challenge" => {
                    let reply = mech.response(&unb64(&e.text())).unwrap();
                    self.send(&format!(
                        "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</response>",
                        b64(&reply)
                    ))
                    .await;
                }
                "success" => {
                    mech.success(&unb64(&e.text()))
                        .expect("the server signature must verify");
                    return e;
                }
                "failure" => return e,
                other => panic!("unexpected SASL element {other}"),
            }
        }
    }

    /// Restarts the stream to `host` after SASL success and binds a resource.
    pub(crate) async fn bind_host(&mut self, host: &str, resource: Option<&str>) -> String {
        let f = self.open_host(host).await;
        assert!(f.has_child("bind", ns::BIND));
        let r = resource
            .map(|r| format!("<resource>{r}</resource>"))
            .unwrap_or_default();
        self.send(&format!(
            "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>{r}</bind></iq>"
        ))
        .await;
        let res = self.element().await;
        assert_eq!(res.attr("type"), Some("result"), "{}", res.to_xml_string());
        res.get_child("bind", ns::BIND)
            .unwrap()
            .child_text("jid", ns::BIND)
            .unwrap()
    }

    /// SCRAM login to `user@host` and bind; returns the bound full JID.
    pub(crate) async fn login_scram(
        &mut self,
        kind: ScramKind,
        user: &str,
        host: &str,
        pass: &str,
        resource: Option<&str>,
    ) -> String {
        self.open_host(host).await;
        let mut mech = scram(kind, user, pass, ChannelBinding::None);
        let outcome = self.sasl_exchange(mech.as_mut()).await;
        assert_eq!(outcome.name, "success", "{}", outcome.to_xml_string());
        self.bind_host(host, resource).await
    }
}
