//! Property-style robustness: random bytes and mutated valid messages fed to every
//! mechanism never panic, never authenticate a password mechanism, and an exchange that
//! failed stays failed. Deterministic seeds keep failures reproducible.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use rookery_sasl::{
    Authenticated, MAX_STEP_BYTES, Mechanism, SaslError, SaslServer, ServerMechanism, Step,
};
use sasl::client::Mechanism as ClientMechanism;
use sasl::client::mechanisms::Scram;
use sasl::common::ChannelBinding;
use sasl::common::scram::{Sha1, Sha256};
use support::{Store, answer};

const DOMAIN: &str = "example.com";

fn random_bytes(rng: &mut StdRng) -> Vec<u8> {
    let len = match rng.random_range(0..10) {
        0 => 0,
        1 => rng.random_range(MAX_STEP_BYTES - 2..MAX_STEP_BYTES + 3),
        _ => rng.random_range(1..64),
    };
    let mut bytes = vec![0u8; len];
    rng.fill_bytes(&mut bytes);
    // Bias towards the syntax the parsers look for.
    for b in bytes.iter_mut() {
        if rng.random_range(0..3) == 0 {
            const SYNTAX: &[u8] = b",=\x01\0nrpcya";
            *b = SYNTAX[rng.random_range(0..SYNTAX.len())];
        }
    }
    bytes
}

/// A changed copy of `input`: flip, delete, insert, truncate or duplicate.
fn mutate(rng: &mut StdRng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    loop {
        let at = rng.random_range(0..=out.len());
        match rng.random_range(0..5) {
            0 if at < out.len() => out[at] = rng.random(),
            1 if at < out.len() => {
                out.remove(at);
            }
            2 => out.insert(at, b",=\x01\0\xffa"[rng.random_range(0..6)]),
            3 => out.truncate(at),
            _ => {
                let tail = out[at..].to_vec();
                out.extend_from_slice(&tail);
            }
        }
        if out != input {
            return out;
        }
    }
}

fn is_password_mechanism(m: Mechanism) -> bool {
    matches!(
        m,
        Mechanism::Plain | Mechanism::ScramSha1 | Mechanism::ScramSha256
    )
}

/// Feeds the messages in turn, answering questions, and checks that a finished exchange
/// refuses further input. Returns who authenticated, if anyone.
fn feed(server: &mut SaslServer, store: &Store, messages: &[Vec<u8>]) -> Option<Authenticated> {
    let mechanism = server.mechanism();
    for (i, msg) in messages.iter().enumerate() {
        let step = if i == 0 {
            server.initial(Some(msg))
        } else {
            server.step(msg)
        };
        let step: Result<Step, SaslError> = answer(server, store, step);
        match step {
            Ok(Step::Challenge(_)) => continue,
            Ok(Step::Success { identity, .. }) => {
                if mechanism == Mechanism::OAuthBearer {
                    assert!(matches!(identity, Authenticated::Bearer { .. }));
                }
                assert!(server.step(b"").is_err(), "{mechanism}: step after success");
                return Some(identity);
            }
            Ok(other) => panic!("answer() left a question: {other:?}"),
            Err(e) => {
                assert!(!e.text().is_empty());
                assert!(server.step(msg).is_err(), "{mechanism}: step after failure");
                assert!(server.provide_credentials(None).is_err());
                return None;
            }
        }
    }
    None
}

#[test]
fn random_bytes_never_panic_or_authenticate() {
    let store = Store::with_account("user", "pencil", 16);
    let mut rng = StdRng::seed_from_u64(0x5a51);
    for mechanism in Mechanism::ALL {
        for _ in 0..1500 {
            let messages: Vec<Vec<u8>> = (0..rng.random_range(1..4))
                .map(|_| random_bytes(&mut rng))
                .collect();
            let outcome = feed(&mut SaslServer::new(mechanism, DOMAIN), &store, &messages);
            assert!(
                !(is_password_mechanism(mechanism) && outcome.is_some()),
                "{mechanism} authenticated random input {messages:?}"
            );
        }
    }
}

#[test]
fn mutated_plain_anonymous_and_oauthbearer_messages() {
    let store = Store::with_account("user", "pencil", 16);
    let mut rng = StdRng::seed_from_u64(0x0a07);
    let seeds: [(Mechanism, &[u8]); 3] = [
        (Mechanism::Plain, b"user@example.com\0user\0pencil"),
        (Mechanism::Anonymous, b"trace@example.com"),
        (
            Mechanism::OAuthBearer,
            b"n,a=user@example.com,\x01host=example.com\x01port=5222\x01auth=Bearer bad\x01\x01",
        ),
    ];
    for (mechanism, valid) in seeds {
        for _ in 0..1500 {
            let first = mutate(&mut rng, valid);
            // The second message is the OAUTHBEARER error acknowledgement, mutated or not.
            let ack = if rng.random() {
                vec![1]
            } else {
                mutate(&mut rng, b"\x01")
            };
            let outcome = feed(
                &mut SaslServer::new(mechanism, DOMAIN),
                &store,
                &[first.clone(), ack],
            );
            // A mutated authzid may still name the user; a mutated user name or password
            // must never authenticate.
            if mechanism == Mechanism::Plain && outcome.is_some() {
                assert!(first.ends_with(b"\0user\0pencil"), "{first:?}");
            }
        }
    }
}

#[test]
fn mutated_scram_messages_from_a_real_client_never_authenticate() {
    let store = Store::with_account("user", "pencil", 16);
    let mut rng = StdRng::seed_from_u64(0x5c4a);
    for mechanism in [Mechanism::ScramSha1, Mechanism::ScramSha256] {
        for round in 0..400 {
            let mut client: Box<dyn ClientMechanism> = match mechanism {
                Mechanism::ScramSha1 => {
                    Box::new(Scram::<Sha1>::new("user", "pencil", ChannelBinding::None).unwrap())
                }
                _ => {
                    Box::new(Scram::<Sha256>::new("user", "pencil", ChannelBinding::None).unwrap())
                }
            };
            let mut server = SaslServer::new(mechanism, DOMAIN);
            let first = client.initial();
            let mutate_first = round % 2 == 0;
            let sent_first = if mutate_first {
                mutate(&mut rng, &first)
            } else {
                first
            };
            let started = server.initial(Some(&sent_first));
            let challenge = match answer(&mut server, &store, started) {
                Ok(Step::Challenge(c)) => c,
                Ok(other) => panic!("{mechanism}: unexpected {other:?}"),
                Err(_) => continue,
            };
            // The client only answers server-first messages it can parse.
            let Ok(last) = client.response(&challenge) else {
                continue;
            };
            let sent_last = if mutate_first {
                last
            } else {
                mutate(&mut rng, &last)
            };
            let result = server.step(&sent_last);
            assert!(
                result.is_err(),
                "{mechanism}: tampered exchange succeeded: {:?}",
                String::from_utf8_lossy(&sent_last)
            );
            assert!(server.step(&sent_last).is_err());
        }
    }
}
