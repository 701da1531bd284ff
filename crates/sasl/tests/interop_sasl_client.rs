//! Full exchanges between the independent `sasl` crate's CLIENT mechanisms (xmpp-rs) and
//! Rookery's server mechanisms, started with `SaslServer::new` as the c2s session does.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use rookery_sasl::{
    Authenticated, Mechanism, SaslCondition, SaslError, SaslServer, ServerMechanism, Step,
};
use sasl::client::Mechanism as ClientMechanism;
use sasl::client::mechanisms::{Plain, Scram};
use sasl::common::ChannelBinding;
use sasl::common::scram::{Sha1, Sha256};
use support::{Store, answer};

const DOMAIN: &str = "example.com";

fn server(name: &str) -> SaslServer {
    let mechanism = Mechanism::from_name(name).unwrap();
    SaslServer::new(mechanism, DOMAIN)
}

/// Runs a client against a server until one side finishes. Returns the server's outcome;
/// on success the client has verified the server's final message.
fn run(
    client: &mut dyn ClientMechanism,
    server: &mut SaslServer,
    store: &Store,
) -> Result<Authenticated, SaslError> {
    let first = client.initial();
    let started = server.initial(Some(&first));
    let mut step = answer(server, store, started);
    for _ in 0..4 {
        match step? {
            Step::Challenge(challenge) => {
                let response = client.response(&challenge).expect("client response");
                let next = server.step(&response);
                step = answer(server, store, next);
            }
            Step::Success {
                additional_data,
                identity,
            } => {
                client
                    .success(additional_data.as_deref().unwrap_or_default())
                    .expect("client accepts the server's final message");
                return Ok(identity);
            }
            other => panic!("unanswered question {other:?}"),
        }
    }
    panic!("exchange did not finish");
}

fn account(name: &str) -> Authenticated {
    Authenticated::Account {
        username: name.to_owned(),
    }
}

#[test]
fn scram_exchanges_with_the_sasl_client() {
    let store = Store::with_account("juliet", "r0m30myr0m30", 4096);
    // sasl's ChannelBinding::None sends gs2 flag "n", Unsupported sends "y".
    for cb in [ChannelBinding::None, ChannelBinding::Unsupported] {
        let mut c1 = Scram::<Sha1>::new("juliet", "r0m30myr0m30", cb.clone()).unwrap();
        assert_eq!(
            run(&mut c1, &mut server("SCRAM-SHA-1"), &store),
            Ok(account("juliet"))
        );
        let mut c256 = Scram::<Sha256>::new("juliet", "r0m30myr0m30", cb.clone()).unwrap();
        assert_eq!(
            run(&mut c256, &mut server("SCRAM-SHA-256"), &store),
            Ok(account("juliet"))
        );
    }
}

#[test]
fn scram_wrong_password_and_unknown_user_fail_alike() {
    let store = Store::with_account("juliet", "r0m30myr0m30", 4096);
    let cases = [
        ("SCRAM-SHA-1", "juliet", "wrong"),
        ("SCRAM-SHA-256", "juliet", "wrong"),
        ("SCRAM-SHA-1", "romeo", "r0m30myr0m30"),
        ("SCRAM-SHA-256", "romeo", "r0m30myr0m30"),
    ];
    for (mech, user, password) in cases {
        let mut client: Box<dyn ClientMechanism> = if mech == "SCRAM-SHA-1" {
            Box::new(Scram::<Sha1>::new(user, password, ChannelBinding::None).unwrap())
        } else {
            Box::new(Scram::<Sha256>::new(user, password, ChannelBinding::None).unwrap())
        };
        let err = run(client.as_mut(), &mut server(mech), &store).unwrap_err();
        assert_eq!(
            err.condition(),
            SaslCondition::NotAuthorized,
            "{mech} {user}"
        );
        assert_eq!(
            err.text(),
            "SCRAM: wrong user name or password",
            "{mech} {user}: same text for both"
        );
    }
}

#[test]
fn plain_exchanges_with_the_sasl_client() {
    let store = Store::with_account("juliet", "r0m30myr0m30", 4096);
    let mut ok = Plain::new("juliet", "r0m30myr0m30");
    assert_eq!(
        run(&mut ok, &mut server("PLAIN"), &store),
        Ok(account("juliet"))
    );
    for (user, password) in [("juliet", "wrong"), ("romeo", "r0m30myr0m30")] {
        let mut bad = Plain::new(user, password);
        let err = run(&mut bad, &mut server("PLAIN"), &store).unwrap_err();
        assert_eq!(err.condition(), SaslCondition::NotAuthorized, "{user}");
    }
}

#[test]
fn credentials_derived_here_match_the_sasl_crates_derivation() {
    // The sasl crate derives SaltedPassword independently; ClientKey/StoredKey from it
    // must equal what ScramCredentials::derive stores.
    use sasl::common::Password;
    use sasl::common::scram::ScramProvider;
    let salt = b"0123456789abcdef";
    let salted = Sha256::derive(&Password::Plain("pencil".into()), salt, 4096).unwrap();
    let client_key = Sha256::hmac(b"Client Key", &salted).unwrap();
    let server_key = Sha256::hmac(b"Server Key", &salted).unwrap();
    let ours = rookery_sasl::ScramCredentials::derive(
        rookery_sasl::ScramHash::Sha256,
        "pencil",
        salt,
        4096,
    )
    .unwrap();
    assert_eq!(ours.stored_key, Sha256::hash(&client_key));
    assert_eq!(ours.server_key, server_key);
}
