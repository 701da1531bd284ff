//! Parsers for the two SCRAM client messages (RFC 5802 §7 grammar), strict about order
//! and encoding, tolerant of optional (non-mandatory) extensions, which are ignored.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::{SaslCondition, SaslError, ScramServerError};
use crate::mechanisms::gs2::{Gs2Error, decode_saslname, split_gs2_header};
use crate::saslprep;

/// Longest accepted client nonce in bytes.
pub(crate) const MAX_NONCE_BYTES: usize = 512;

/// The parts of a client-first-message the rest of the exchange needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientFirst {
    /// The GS2 header exactly as sent (`n,,`, `y,,`, `n,a=...,`): `c=` must echo it.
    pub gs2_header: String,
    /// The decoded `a=` authorization identity.
    pub authzid: Option<String>,
    /// The decoded `n=` user name.
    pub username: String,
    /// The `r=` client nonce.
    pub client_nonce: String,
    /// client-first-message-bare, the first part of the AuthMessage.
    pub bare: String,
}

/// The parts of a client-final-message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientFinal {
    /// The decoded `c=` value.
    pub channel_binding: Vec<u8>,
    /// The `r=` nonce (client nonce + server nonce).
    pub nonce: String,
    /// client-final-message-without-proof, the last part of the AuthMessage.
    pub without_proof: String,
    /// The decoded `p=` client proof.
    pub proof: Vec<u8>,
}

fn malformed(text: &str, e: ScramServerError) -> SaslError {
    SaslError::malformed(format!("SCRAM: {text}")).with_scram_error(e)
}

fn utf8(input: &[u8]) -> Result<&str, SaslError> {
    std::str::from_utf8(input)
        .map_err(|_| malformed("message is not UTF-8", ScramServerError::InvalidEncoding))
}

/// Decodes a `saslname`, mapping failure to SCRAM's `invalid-username-encoding`.
fn saslname(value: &str) -> Result<String, SaslError> {
    decode_saslname(value).map_err(|()| {
        malformed(
            "invalid user name encoding",
            ScramServerError::InvalidUsernameEncoding,
        )
    })
}

/// Whether `nonce` is a valid `c-nonce`: printable ASCII except `,`, bounded.
fn valid_nonce(nonce: &str) -> bool {
    !nonce.is_empty()
        && nonce.len() <= MAX_NONCE_BYTES
        && nonce
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

/// Checks optional extensions: each must look like `ALPHA "=" value`. A mandatory
/// extension can only appear first in the bare message and is handled there.
fn check_extensions<'a>(attrs: impl Iterator<Item = &'a str>) -> Result<(), SaslError> {
    for attr in attrs {
        let mut chars = attr.chars();
        let ok = matches!(
            (chars.next(), chars.next()),
            (Some(k), Some('=')) if k.is_ascii_alphabetic()
        );
        if !ok {
            return Err(malformed("bad attribute", ScramServerError::OtherError));
        }
    }
    Ok(())
}

/// Parses a client-first-message.
pub(crate) fn parse_client_first(input: &[u8]) -> Result<ClientFirst, SaslError> {
    let text = utf8(input)?;
    let (header, bare) = split_gs2_header(text).map_err(|e| match e {
        Gs2Error::Truncated => malformed("truncated GS2 header", ScramServerError::OtherError),
        Gs2Error::ChannelBindingRequired => malformed(
            "channel binding (p=) requested, but only SCRAM without -PLUS is offered",
            ScramServerError::ChannelBindingNotSupported,
        ),
        Gs2Error::BadFlag => {
            malformed("invalid channel binding flag", ScramServerError::OtherError)
        }
        Gs2Error::BadAuthzid => malformed(
            "invalid authzid in GS2 header",
            ScramServerError::OtherError,
        ),
        Gs2Error::BadSaslname => malformed(
            "invalid authzid encoding",
            ScramServerError::InvalidUsernameEncoding,
        ),
    })?;
    let mut attrs = bare.split(',');
    let first = attrs.next().unwrap_or_default();
    if first.starts_with("m=") {
        return Err(malformed(
            "mandatory extensions are not supported",
            ScramServerError::ExtensionsNotSupported,
        ));
    }
    let Some(raw_name) = first.strip_prefix("n=") else {
        return Err(malformed(
            "expected n=username",
            ScramServerError::OtherError,
        ));
    };
    let username = saslname(raw_name)?;
    let Some(client_nonce) = attrs.next().and_then(|a| a.strip_prefix("r=")) else {
        return Err(malformed("expected r=nonce", ScramServerError::OtherError));
    };
    if !valid_nonce(client_nonce) {
        return Err(malformed(
            "nonce must be 1 to 512 printable characters without ','",
            ScramServerError::OtherError,
        ));
    }
    check_extensions(attrs)?;
    check_username(&username)?;
    Ok(ClientFirst {
        gs2_header: header.raw.to_owned(),
        authzid: header.authzid,
        username,
        client_nonce: client_nonce.to_owned(),
        bare: bare.to_owned(),
    })
}

fn check_username(username: &str) -> Result<(), SaslError> {
    saslprep::check_username(username).map_err(|why| {
        let text = format!("SCRAM: invalid user name ({why})");
        let condition = match why {
            "empty" | "too long" => SaslCondition::MalformedRequest,
            _ => SaslCondition::NotAuthorized,
        };
        SaslError::new(condition, text)
    })
}

/// Parses a client-final-message.
pub(crate) fn parse_client_final(input: &[u8]) -> Result<ClientFinal, SaslError> {
    let text = utf8(input)?;
    let Some((without_proof, proof_attr)) = text.rsplit_once(',') else {
        return Err(malformed(
            "truncated final message",
            ScramServerError::OtherError,
        ));
    };
    let Some(proof_b64) = proof_attr.strip_prefix("p=") else {
        return Err(malformed(
            "the proof (p=) must be the last attribute",
            ScramServerError::OtherError,
        ));
    };
    let mut attrs = without_proof.split(',');
    let Some(cb_b64) = attrs.next().and_then(|a| a.strip_prefix("c=")) else {
        return Err(malformed("expected c=", ScramServerError::OtherError));
    };
    let Some(nonce) = attrs.next().and_then(|a| a.strip_prefix("r=")) else {
        return Err(malformed("expected r=nonce", ScramServerError::OtherError));
    };
    check_extensions(attrs)?;
    let decode = |v: &str, what: &str| {
        STANDARD.decode(v).map_err(|_| {
            malformed(
                &format!("{what} is not valid base64"),
                ScramServerError::InvalidEncoding,
            )
        })
    };
    let channel_binding = decode(cb_b64, "c=")?;
    let proof = decode(proof_b64, "p=")?;
    Ok(ClientFinal {
        channel_binding,
        nonce: nonce.to_owned(),
        without_proof: without_proof.to_owned(),
        proof,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_first_fields() {
        let m = parse_client_first(b"y,a=user,n=us=3Der,r=abc,x=ext").unwrap();
        assert_eq!(m.gs2_header, "y,a=user,");
        assert_eq!(m.authzid.as_deref(), Some("user"));
        assert_eq!(m.username, "us=er");
        assert_eq!(m.client_nonce, "abc");
        assert_eq!(m.bare, "n=us=3Der,r=abc,x=ext");
    }

    #[test]
    fn client_first_errors() {
        use ScramServerError::*;
        let cases: &[(&[u8], SaslCondition, Option<ScramServerError>)] = &[
            (b"", SaslCondition::MalformedRequest, Some(OtherError)),
            (b"n", SaslCondition::MalformedRequest, Some(OtherError)),
            (b"n,", SaslCondition::MalformedRequest, Some(OtherError)),
            (b"n,,", SaslCondition::MalformedRequest, Some(OtherError)),
            (
                b"n,,n=user",
                SaslCondition::MalformedRequest,
                Some(OtherError),
            ),
            (
                b"n,,n=user,r=",
                SaslCondition::MalformedRequest,
                Some(OtherError),
            ),
            (
                b"n,,r=abc,n=user",
                SaslCondition::MalformedRequest,
                Some(OtherError),
            ),
            (
                b"p=tls-unique,,n=user,r=abc",
                SaslCondition::MalformedRequest,
                Some(ChannelBindingNotSupported),
            ),
            (
                b"q,,n=user,r=abc",
                SaslCondition::MalformedRequest,
                Some(OtherError),
            ),
            (
                b"n,b=x,n=user,r=abc",
                SaslCondition::MalformedRequest,
                Some(OtherError),
            ),
            (
                b"n,a=,n=user,r=abc",
                SaslCondition::MalformedRequest,
                Some(OtherError),
            ),
            (
                b"n,,m=ext,n=user,r=abc",
                SaslCondition::MalformedRequest,
                Some(ExtensionsNotSupported),
            ),
            (
                b"n,,n=us=er,r=abc",
                SaslCondition::MalformedRequest,
                Some(InvalidUsernameEncoding),
            ),
            (b"n,,n=,r=abc", SaslCondition::MalformedRequest, None),
            (b"n,,n=a b,r=abc", SaslCondition::NotAuthorized, None),
            (
                b"n,,n=user,r=a\x7fb",
                SaslCondition::MalformedRequest,
                Some(OtherError),
            ),
            (
                b"n,,n=user,r=abc,",
                SaslCondition::MalformedRequest,
                Some(OtherError),
            ),
            (
                b"n,,n=user,r=abc,1=x",
                SaslCondition::MalformedRequest,
                Some(OtherError),
            ),
            (
                b"n,,n=us\xffer,r=abc",
                SaslCondition::MalformedRequest,
                Some(InvalidEncoding),
            ),
        ];
        for (input, condition, scram) in cases {
            let err = parse_client_first(input).unwrap_err();
            assert_eq!(
                err.condition(),
                *condition,
                "{}",
                String::from_utf8_lossy(input)
            );
            assert_eq!(
                err.scram_error(),
                *scram,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn client_final_fields_and_errors() {
        let m = parse_client_final(b"c=biws,r=abcdef,p=AAAA").unwrap();
        assert_eq!(m.channel_binding, b"n,,");
        assert_eq!(m.nonce, "abcdef");
        assert_eq!(m.without_proof, "c=biws,r=abcdef");
        assert_eq!(m.proof, [0, 0, 0]);
        let bad: &[&[u8]] = &[
            b"",
            b"c=biws",
            b"c=biws,r=abc",
            b"r=abc,c=biws,p=AAAA",
            b"c=biws,p=AAAA,r=abc",
            b"c=b!ws,r=abc,p=AAAA",
            b"c=biws,r=abc,p=AA*A",
            b"c=biws,r=abc,p=AAA",
            b"c=biws,r=abc,9=x,p=AAAA",
            b"c=biws,r=a\xffbc,p=AAAA",
        ];
        for input in bad {
            let err = parse_client_final(input).unwrap_err();
            assert_eq!(
                err.condition(),
                SaslCondition::MalformedRequest,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }
}
