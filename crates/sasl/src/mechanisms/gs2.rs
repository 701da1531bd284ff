//! The GS2 header shared by SCRAM (RFC 5802 §7) and OAUTHBEARER (RFC 7628 §3.1):
//! `gs2-cbind-flag "," [ "a=" saslname ] ","`, and the `saslname` escaping.

/// A parsed GS2 header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Gs2Header<'a> {
    /// The header exactly as sent, trailing comma included (SCRAM's `c=` must echo it).
    pub raw: &'a str,
    /// The decoded `a=` authorization identity.
    pub authzid: Option<String>,
}

/// Why a GS2 header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gs2Error {
    /// No complete header (fewer than two commas).
    Truncated,
    /// The client requires channel binding (`p=`), which is not offered.
    ChannelBindingRequired,
    /// The flag is not `n`, `y` or `p=...`.
    BadFlag,
    /// The authzid part is neither empty nor `a=<non-empty>`.
    BadAuthzid,
    /// The authzid contains an `=` not followed by `2C` or `3D`, or a NUL.
    BadSaslname,
}

/// Splits `text` into its GS2 header and the rest of the message.
pub(crate) fn split_gs2_header(text: &str) -> Result<(Gs2Header<'_>, &str), Gs2Error> {
    let (flag, rest) = text.split_once(',').ok_or(Gs2Error::Truncated)?;
    match flag {
        "n" | "y" => {}
        f if f.starts_with("p=") => return Err(Gs2Error::ChannelBindingRequired),
        _ => return Err(Gs2Error::BadFlag),
    }
    let (authz, body) = rest.split_once(',').ok_or(Gs2Error::Truncated)?;
    let authzid = match authz {
        "" => None,
        a => match a.strip_prefix("a=") {
            Some(v) if !v.is_empty() => {
                Some(decode_saslname(v).map_err(|()| Gs2Error::BadSaslname)?)
            }
            _ => return Err(Gs2Error::BadAuthzid),
        },
    };
    let raw = text.get(..flag.len() + authz.len() + 2).unwrap_or_default();
    Ok((Gs2Header { raw, authzid }, body))
}

/// Decodes a `saslname`: `=2C` is `,`, `=3D` is `=`; any other `=` or a NUL is an error.
pub(crate) fn decode_saslname(value: &str) -> Result<String, ()> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(pos) = rest.find(['=', '\0']) {
        let (head, tail) = rest.split_at(pos);
        out.push_str(head);
        if let Some(after) = tail.strip_prefix("=2C") {
            out.push(',');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("=3D") {
            out.push('=');
            rest = after;
        } else {
            return Err(());
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saslname_decoding() {
        let cases: &[(&str, Option<&str>)] = &[
            ("user", Some("user")),
            ("a=2Cb", Some("a,b")),
            ("a=3Db", Some("a=b")),
            ("=3D=2C", Some("=,")),
            ("", Some("")),
            ("a=b", None),
            ("a=2c", None),
            ("a=", None),
            ("a=3", None),
            ("a\0b", None),
        ];
        for (input, want) in cases {
            let got = decode_saslname(input).ok();
            assert_eq!(got.as_deref(), *want, "{input:?}");
        }
    }

    #[test]
    fn headers() {
        let ok = |raw: &'static str, authzid: Option<&str>, body: &'static str| {
            Ok((
                Gs2Header {
                    raw,
                    authzid: authzid.map(str::to_owned),
                },
                body,
            ))
        };
        type Case<'a> = (&'a str, Result<(Gs2Header<'a>, &'a str), Gs2Error>);
        let cases: &[Case<'_>] = &[
            ("n,,rest", ok("n,,", None, "rest")),
            ("y,,", ok("y,,", None, "")),
            ("n,a=u=2Cv,x,y", ok("n,a=u=2Cv,", Some("u,v"), "x,y")),
            ("", Err(Gs2Error::Truncated)),
            ("n", Err(Gs2Error::Truncated)),
            ("n,", Err(Gs2Error::Truncated)),
            ("p=tls-unique,,x", Err(Gs2Error::ChannelBindingRequired)),
            ("N,,x", Err(Gs2Error::BadFlag)),
            ("n,b=x,", Err(Gs2Error::BadAuthzid)),
            ("n,a=,", Err(Gs2Error::BadAuthzid)),
            ("n,a=x=y,", Err(Gs2Error::BadSaslname)),
        ];
        for (input, want) in cases {
            assert_eq!(&split_gs2_header(input), want, "{input:?}");
        }
    }
}
