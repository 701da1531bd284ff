//! One XMPP client of the load generator: login (stream, SASL, restart, bind) and the
//! MUC steps it needs, plus the stanza builders and classifiers shared by the scenarios.

use std::time::Duration;

use base64::Engine;
use tokio::time::timeout;

use crate::error::BenchError;
use crate::scan::{attr, child_text, contains, element_name};
use crate::target::{Auth, Target, Transport};
use crate::transport::{OwnedItem, Reader, Writer, open};

/// A bound client session.
#[derive(Debug)]
pub struct Client {
    /// Receiving half.
    pub reader: Reader,
    /// Sending half.
    pub writer: Writer,
    /// Full JID the server bound.
    pub jid: String,
}

/// What a presence stanza means to the occupant that received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceKind {
    /// Our own presence in the room (status 110); `created` when status 201 came too.
    SelfJoined {
        /// The room was created by this join (it may need an instant configuration).
        created: bool,
    },
    /// Our own unavailable presence: we left.
    SelfLeft,
    /// A presence error (join refused), with a short description.
    Error(String),
    /// Someone else's presence.
    Other,
}

/// Classifies a received `<presence>` element.
pub fn classify_presence(elem: &[u8]) -> PresenceKind {
    let kind = attr(elem, b"type");
    if kind == Some(b"error") {
        return PresenceKind::Error(describe(elem));
    }
    if contains(elem, b"code='110'") || contains(elem, b"code=\"110\"") {
        if kind == Some(b"unavailable") {
            return PresenceKind::SelfLeft;
        }
        let created = contains(elem, b"code='201'") || contains(elem, b"code=\"201\"");
        return PresenceKind::SelfJoined { created };
    }
    PresenceKind::Other
}

/// A short printable excerpt of an element, for error reports.
pub fn describe(elem: &[u8]) -> String {
    let cut = elem.get(..elem.len().min(300)).unwrap_or(elem);
    String::from_utf8_lossy(cut).into_owned()
}

/// Presence that joins `room` (bare JID) as `nick`, asking for no history.
pub fn join_presence(room: &str, nick: &str) -> String {
    format!(
        "<presence xmlns='jabber:client' to='{room}/{nick}'><x xmlns='http://jabber.org/protocol/muc'>\
         <history maxstanzas='0'/></x></presence>"
    )
}

/// Presence that leaves `room` (bare JID).
pub fn leave_presence(room: &str, nick: &str) -> String {
    format!("<presence xmlns='jabber:client' type='unavailable' to='{room}/{nick}'/>")
}

/// Owner IQ that accepts the default configuration (XEP-0045 instant room).
pub fn instant_room_iq(room: &str, id: &str) -> String {
    format!(
        "<iq xmlns='jabber:client' type='set' id='{id}' to='{room}'><query xmlns='http://jabber.org/protocol/muc#owner'>\
         <x xmlns='jabber:x:data' type='submit'/></query></iq>"
    )
}

/// A groupchat message whose body carries `sender seq timestamp_us`.
pub fn groupchat(room: &str, sender: usize, seq: u64, ts_us: u64) -> String {
    format!(
        "<message xmlns='jabber:client' to='{room}' type='groupchat'><body>{sender} {seq} {ts_us}</body></message>"
    )
}

/// Parses the `sender seq timestamp_us` body written by [`groupchat`].
pub fn parse_body(body: &[u8]) -> Option<(u64, u64, u64)> {
    let mut parts = body.split(|&b| b == b' ');
    let a = parse_u64(parts.next()?)?;
    let b = parse_u64(parts.next()?)?;
    let c = parse_u64(parts.next()?)?;
    Some((a, b, c))
}

fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        if d.is_ascii_digit() {
            Some(acc * 10 + u64::from(d - b'0'))
        } else {
            None
        }
    })
}

/// Logs client number `idx` in: stream, SASL, stream restart, resource binding.
pub async fn login(
    target: &Target,
    transport: Transport,
    idx: usize,
) -> Result<Client, BenchError> {
    timeout(target.timeout, login_steps(target, transport, idx))
        .await
        .map_err(|_| BenchError::Timeout("logging in"))?
}

async fn login_steps(
    target: &Target,
    transport: Transport,
    idx: usize,
) -> Result<Client, BenchError> {
    let (mut reader, mut writer) = open(target, transport).await?;
    writer.open_stream(&target.domain).await?;
    let features = wait_features(&mut reader).await?;
    let (mech, auth) = match target.auth {
        Auth::Anonymous => (
            "ANONYMOUS",
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'>=</auth>"
                .to_string(),
        ),
        Auth::Plain => {
            let (user, pw) = Target::credentials(idx);
            let payload =
                base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pw}"));
            (
                "PLAIN",
                format!(
                    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>"
                ),
            )
        }
    };
    if !contains(
        &features,
        format!("<mechanism>{mech}</mechanism>").as_bytes(),
    ) {
        return Err(BenchError::Refused(format!(
            "server does not offer SASL {mech}: {}",
            describe(&features)
        )));
    }
    writer.send(auth).await?;
    loop {
        match reader.next_owned().await? {
            OwnedItem::Element(el) => match element_name(&el) {
                b"success" => break,
                b"failure" => {
                    return Err(BenchError::Refused(format!(
                        "SASL {mech}: {}",
                        describe(&el)
                    )));
                }
                _ => {
                    return Err(BenchError::Protocol(format!(
                        "during SASL: {}",
                        describe(&el)
                    )));
                }
            },
            OwnedItem::Open(_) => {}
            OwnedItem::Close => return Err(BenchError::Closed),
        }
    }
    writer.open_stream(&target.domain).await?;
    let features = wait_features(&mut reader).await?;
    if !contains(&features, b"urn:ietf:params:xml:ns:xmpp-bind") {
        return Err(BenchError::Protocol(format!(
            "no bind feature: {}",
            describe(&features)
        )));
    }
    writer
        .send(
            "<iq xmlns='jabber:client' type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>"
                .into(),
        )
        .await?;
    let el = wait_iq(&mut reader, b"bind1").await?;
    let jid = child_text(&el, b"jid")
        .map(|j| String::from_utf8_lossy(j).into_owned())
        .unwrap_or_default();
    Ok(Client {
        reader,
        writer,
        jid,
    })
}

async fn wait_features(reader: &mut Reader) -> Result<Vec<u8>, BenchError> {
    loop {
        match reader.next_owned().await? {
            OwnedItem::Open(_) => {}
            OwnedItem::Close => return Err(BenchError::Closed),
            OwnedItem::Element(el) => {
                let name = element_name(&el);
                if name.ends_with(b"features") {
                    return Ok(el);
                }
                if name.ends_with(b"error") {
                    return Err(BenchError::Refused(describe(&el)));
                }
            }
        }
    }
}

/// Reads until the IQ response with `id`; an error response becomes [`BenchError::Refused`].
async fn wait_iq(reader: &mut Reader, id: &[u8]) -> Result<Vec<u8>, BenchError> {
    loop {
        match reader.next_owned().await? {
            OwnedItem::Open(_) => {}
            OwnedItem::Close => return Err(BenchError::Closed),
            OwnedItem::Element(el) => {
                if element_name(&el) == b"iq" && attr(&el, b"id") == Some(id) {
                    if attr(&el, b"type") == Some(b"result") {
                        return Ok(el);
                    }
                    return Err(BenchError::Refused(describe(&el)));
                }
                if element_name(&el).ends_with(b"error") {
                    return Err(BenchError::Refused(describe(&el)));
                }
            }
        }
    }
}

impl Client {
    /// Joins `room` as `nick` and waits for the self-presence; configures a new locked room.
    pub async fn join(&mut self, room: &str, nick: &str, wait: Duration) -> Result<(), BenchError> {
        self.writer.send(join_presence(room, nick)).await?;
        let created = timeout(wait, self.wait_self(true))
            .await
            .map_err(|_| BenchError::Timeout("joining"))??;
        if created {
            self.writer.send(instant_room_iq(room, "cfg1")).await?;
            timeout(wait, wait_iq(&mut self.reader, b"cfg1"))
                .await
                .map_err(|_| BenchError::Timeout("configuring room"))??;
        }
        Ok(())
    }

    /// Leaves `room` and waits for the server to confirm.
    pub async fn leave(
        &mut self,
        room: &str,
        nick: &str,
        wait: Duration,
    ) -> Result<(), BenchError> {
        self.writer.send(leave_presence(room, nick)).await?;
        timeout(wait, self.wait_self(false))
            .await
            .map_err(|_| BenchError::Timeout("leaving"))??;
        Ok(())
    }

    async fn wait_self(&mut self, joining: bool) -> Result<bool, BenchError> {
        loop {
            match self.reader.next_owned().await? {
                OwnedItem::Open(_) => {}
                OwnedItem::Close => return Err(BenchError::Closed),
                OwnedItem::Element(el) => {
                    if element_name(&el) != b"presence" {
                        continue;
                    }
                    match classify_presence(&el) {
                        PresenceKind::SelfJoined { created } if joining => return Ok(created),
                        PresenceKind::SelfLeft if !joining => return Ok(false),
                        PresenceKind::Error(e) => return Err(BenchError::Refused(e)),
                        _ => {}
                    }
                }
            }
        }
    }

    /// Sends the stream footer and closes at once, as most clients do; the server finishes
    /// its teardown on its own (some servers answer the footer only after a delay).
    pub async fn quit(mut self) {
        if self.writer.close_stream().await.is_ok() {
            self.writer.shutdown().await;
        }
    }

    /// Sends the stream footer, waits (bounded) for the server's footer or EOF, and closes.
    pub async fn close(mut self, wait: Duration) {
        if self.writer.close_stream().await.is_ok() {
            let _ = timeout(wait, async {
                loop {
                    match self.reader.next_owned().await {
                        Ok(OwnedItem::Close) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
            })
            .await;
        }
        self.writer.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_classification() {
        let cases: &[(&[u8], PresenceKind)] = &[
            (
                b"<presence from='r@m/a'><x xmlns='http://jabber.org/protocol/muc#user'><status code='110'/></x></presence>",
                PresenceKind::SelfJoined { created: false },
            ),
            (
                b"<presence from='r@m/a'><x><status code=\"201\"/><status code=\"110\"/></x></presence>",
                PresenceKind::SelfJoined { created: true },
            ),
            (b"<presence type='unavailable'><x><status code='110'/></x></presence>", PresenceKind::SelfLeft),
            (b"<presence from='r@m/b'><x><item role='participant'/></x></presence>", PresenceKind::Other),
        ];
        for (el, want) in cases {
            assert_eq!(&classify_presence(el), want);
        }
        assert!(matches!(
            classify_presence(b"<presence type='error'><error/></presence>"),
            PresenceKind::Error(_)
        ));
    }

    #[test]
    fn body_round_trip() {
        let msg = groupchat("r@m", 12, 34, 5_678_901);
        let body = child_text(msg.as_bytes(), b"body").unwrap();
        assert_eq!(parse_body(body), Some((12, 34, 5_678_901)));
        for bad in [&b""[..], b"1 2", b"1 x 3", b"1  3"] {
            assert_eq!(parse_body(bad), None, "{bad:?}");
        }
    }
}
