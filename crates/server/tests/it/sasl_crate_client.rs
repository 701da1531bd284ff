//! SCRAM-SHA-1 and SCRAM-SHA-256 over a real socket with the `sasl` crate's client
//! mechanisms computing every SCRAM message and checking the server signature: both gs2
//! flags (`n`, `y`), wrong passwords and unknown users (`not-authorized`), then bind and
//! ping on the authenticated stream.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::sasl_client::{ScramKind, scram};
use crate::common::*;
use rookery_proto::ns;
use sasl::common::ChannelBinding;

#[tokio::test]
async fn scram_logins_with_the_sasl_crate_client() {
    let srv = start(test_config(""), &[("alice", "pässwörd 1")]).await;
    let addr = srv.c2s_addr().unwrap();
    let cases = [
        // (kind, user, password, gs2 flag, expected outcome)
        (
            ScramKind::Sha1,
            "alice",
            "pässwörd 1",
            ChannelBinding::None,
            "success",
        ),
        (
            ScramKind::Sha1,
            "alice",
            "pässwörd 1",
            ChannelBinding::Unsupported,
            "success",
        ),
        (
            ScramKind::Sha256,
            "alice",
            "pässwörd 1",
            ChannelBinding::None,
            "success",
        ),
        (
            ScramKind::Sha256,
            "alice",
            "pässwörd 1",
            ChannelBinding::Unsupported,
            "success",
        ),
        (
            ScramKind::Sha1,
            "alice",
            "wrong",
            ChannelBinding::None,
            "failure",
        ),
        (
            ScramKind::Sha256,
            "alice",
            "wrong",
            ChannelBinding::None,
            "failure",
        ),
        (
            ScramKind::Sha1,
            "nobody",
            "pässwörd 1",
            ChannelBinding::None,
            "failure",
        ),
        (
            ScramKind::Sha256,
            "nobody",
            "x",
            ChannelBinding::None,
            "failure",
        ),
    ];
    for (i, (kind, user, pass, binding, want)) in cases.into_iter().enumerate() {
        let mut c = connect(addr).await;
        let f = c.open_host("localhost").await;
        let offered: Vec<String> = f
            .get_child("mechanisms", ns::SASL)
            .unwrap()
            .children()
            .map(|m| m.text())
            .collect();
        let mut mech = scram(kind, user, pass, binding);
        assert!(offered.iter().any(|m| m == mech.name()), "{offered:?}");
        let outcome = c.sasl_exchange(mech.as_mut()).await;
        assert_eq!(outcome.name, want, "case {i}: {}", outcome.to_xml_string());
        if want == "failure" {
            assert!(
                outcome.has_child("not-authorized", ns::SASL),
                "case {i}: {}",
                outcome.to_xml_string()
            );
            continue;
        }
        let jid = c.bind_host("localhost", Some("scram")).await;
        assert_eq!(jid, "alice@localhost/scram");
        let pong = c
            .iq(
                "<iq type='get' id='p' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>",
                "p",
            )
            .await;
        assert_eq!(pong.attr("type"), Some("result"), "case {i}");
    }
    srv.shutdown().await;
}
