//! "SASLprep-lite": the checks Rookery applies to user names and passwords instead of full
//! RFC 4013 SASLprep. Strings must be valid UTF-8, non-empty, bounded, and free of control
//! characters; no NFKC normalisation or mapping is done, so a non-ASCII password only
//! matches when the client sends the same code points that were registered.

/// Longest accepted user name in bytes (the RFC 7622 localpart limit).
pub const MAX_USERNAME_BYTES: usize = 1023;

/// Longest accepted password in bytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Characters RFC 7622 forbids in a localpart; a name containing one can never be an
/// account, so it is refused before any lookup.
const FORBIDDEN_IN_USERNAME: &[char] = &['"', '&', '\'', '/', ':', '<', '>', '@'];

/// Checks a user name (the SASL authentication identity, used as the JID localpart).
/// Returns a short reason on refusal.
pub fn check_username(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty");
    }
    if name.len() > MAX_USERNAME_BYTES {
        return Err("too long");
    }
    if name.chars().any(char::is_control) {
        return Err("control character");
    }
    if name.chars().any(char::is_whitespace) {
        return Err("whitespace");
    }
    if name.contains(FORBIDDEN_IN_USERNAME) {
        return Err("character not allowed in a JID localpart");
    }
    Ok(())
}

/// Checks a password. Returns a short reason on refusal.
pub fn check_password(password: &str) -> Result<(), &'static str> {
    if password.is_empty() {
        return Err("empty");
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err("too long");
    }
    if password.chars().any(char::is_control) {
        return Err("control character");
    }
    Ok(())
}

/// Whether `authzid` names the same entity as the authenticated `username` on `domain`:
/// either the user name itself or the bare JID `username@domain` (domain compared
/// ASCII case-insensitively).
pub fn authzid_matches(authzid: &str, username: &str, domain: &str) -> bool {
    if authzid == username {
        return true;
    }
    match authzid.split_once('@') {
        Some((local, dom)) => local == username && dom.eq_ignore_ascii_case(domain),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        let long = "a".repeat(MAX_USERNAME_BYTES + 1);
        let cases: &[(&str, bool)] = &[
            ("user", true),
            ("jürgen", true),
            ("focus", true),
            ("", false),
            ("a b", false),
            ("a\u{0}b", false),
            ("a\u{85}b", false),
            ("user@example.com", false),
            ("a/b", false),
            (&long, false),
        ];
        for (name, ok) in cases {
            assert_eq!(check_username(name).is_ok(), *ok, "{name:?}");
        }
    }

    #[test]
    fn passwords() {
        let long = "p".repeat(MAX_PASSWORD_BYTES + 1);
        let cases: &[(&str, bool)] = &[
            ("pencil", true),
            ("with space", true),
            ("ünïcödé", true),
            ("", false),
            ("tab\there", false),
            ("del\u{7f}", false),
            (&long, false),
        ];
        for (pw, ok) in cases {
            assert_eq!(check_password(pw).is_ok(), *ok, "{pw:?}");
        }
    }

    #[test]
    fn authzids() {
        let cases: &[(&str, bool)] = &[
            ("user", true),
            ("user@example.com", true),
            ("user@EXAMPLE.com", true),
            ("other", false),
            ("other@example.com", false),
            ("user@example.org", false),
            ("user@example.com/res", false),
        ];
        for (authzid, ok) in cases {
            assert_eq!(
                authzid_matches(authzid, "user", "example.com"),
                *ok,
                "{authzid:?}"
            );
        }
    }
}
