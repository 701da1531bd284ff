//! Reading and writing XMPP over TCP or WebSocket, behind one reader and one writer type.
//!
//! TCP bytes go through the [`Scanner`]; on WebSocket every text frame is one element
//! (RFC 7395), and `<open/>`/`<close/>` stand for the stream header and footer.

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::BenchError;
use crate::scan::{Item, Scanner, element_name};
use crate::target::{Target, Transport};

/// A client WebSocket stream.
pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Initial size of a connection's read buffer; it doubles while reads fill it.
const READ_BUF_INITIAL: usize = 8 * 1024;
/// Largest read buffer (and so largest element) accepted.
const READ_BUF_MAX: usize = 4 * 1024 * 1024;
/// Namespace of RFC 7395 framing elements.
pub const FRAMING_NS: &str = "urn:ietf:params:xml:ns:xmpp-framing";

/// An owned copy of a stream item, for the (rare) negotiation steps.
#[derive(Clone, PartialEq, Eq)]
pub enum OwnedItem {
    /// Stream header (`<stream:stream>` or `<open/>`), raw bytes.
    Open(Vec<u8>),
    /// Stream footer.
    Close,
    /// A first-level element, raw bytes.
    Element(Vec<u8>),
}

impl std::fmt::Debug for OwnedItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OwnedItem::Open(b) => write!(f, "Open({})", String::from_utf8_lossy(b)),
            OwnedItem::Close => f.write_str("Close"),
            OwnedItem::Element(b) => write!(f, "Element({})", String::from_utf8_lossy(b)),
        }
    }
}

impl OwnedItem {
    fn from_item(item: Item<'_>) -> Self {
        match item {
            Item::StreamOpen(b) => OwnedItem::Open(b.to_vec()),
            Item::StreamClose => OwnedItem::Close,
            Item::Element(b) => OwnedItem::Element(b.to_vec()),
        }
    }
}

/// Classifies one WebSocket frame payload as a stream item.
pub fn ws_item(payload: &[u8]) -> Item<'_> {
    match element_name(payload) {
        b"open" => Item::StreamOpen(payload),
        b"close" => Item::StreamClose,
        _ => Item::Element(payload),
    }
}

/// The receiving half of a client connection.
pub enum Reader {
    /// TCP: raw reads cut into items by a scanner.
    Tcp {
        /// Socket read half.
        half: OwnedReadHalf,
        /// Buffer and scanner state.
        scan: Scanner,
    },
    /// WebSocket: one element per frame.
    Ws(SplitStream<WsStream>),
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Reader::Tcp { .. } => "Reader::Tcp",
            Reader::Ws(_) => "Reader::Ws",
        })
    }
}

/// The sending half of a client connection.
pub enum Writer {
    /// TCP socket write half.
    Tcp(OwnedWriteHalf),
    /// WebSocket sink; each send is one text frame.
    Ws(SplitSink<WsStream, Message>),
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Writer::Tcp(_) => "Writer::Tcp",
            Writer::Ws(_) => "Writer::Ws",
        })
    }
}

/// Opens a connection of the given transport to the target (no XMPP yet).
pub async fn open(target: &Target, transport: Transport) -> Result<(Reader, Writer), BenchError> {
    match transport {
        Transport::Tcp => {
            let stream = TcpStream::connect(target.addr()).await?;
            stream.set_nodelay(true)?;
            let (r, w) = stream.into_split();
            Ok((
                Reader::Tcp {
                    half: r,
                    scan: Scanner::new(READ_BUF_INITIAL, READ_BUF_MAX),
                },
                Writer::Tcp(w),
            ))
        }
        Transport::Ws => {
            let url = target
                .ws_url
                .as_deref()
                .ok_or_else(|| BenchError::Config("the ws scenario needs --ws-url".into()))?;
            let mut req = url.into_client_request()?;
            req.headers_mut()
                .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("xmpp"));
            let (ws, _resp) = tokio_tungstenite::connect_async_with_config(req, None, true).await?;
            let (w, r) = ws.split();
            Ok((Reader::Ws(r), Writer::Ws(w)))
        }
    }
}

impl Reader {
    /// Waits for the next item and returns an owned copy.
    pub async fn next_owned(&mut self) -> Result<OwnedItem, BenchError> {
        let item = self.next_owned_inner().await;
        if trace_enabled() {
            eprintln!("{} RECV {item:?}", crate::clock::now_us());
        }
        item
    }

    async fn next_owned_inner(&mut self) -> Result<OwnedItem, BenchError> {
        match self {
            Reader::Tcp { half, scan } => loop {
                if let Some(item) = scan.next_item()? {
                    return Ok(OwnedItem::from_item(item));
                }
                let n = half.read(scan.spare()?).await?;
                if n == 0 {
                    return Err(BenchError::Closed);
                }
                scan.commit(n);
            },
            Reader::Ws(stream) => loop {
                match stream.next().await {
                    None => return Err(BenchError::Closed),
                    Some(msg) => {
                        if let Some(payload) = frame_payload(&msg?)? {
                            return Ok(OwnedItem::from_item(ws_item(payload)));
                        }
                    }
                }
            },
        }
    }

    /// Performs one read and hands every complete item to `f`; the cheap receive path.
    ///
    /// Items already buffered are delivered first without reading. Returns
    /// [`BenchError::Closed`] at end of stream. Cancel-safe: no item is lost if the future
    /// is dropped before it completes.
    pub async fn read_batch<F: FnMut(Item<'_>)>(&mut self, mut f: F) -> Result<(), BenchError> {
        match self {
            Reader::Tcp { half, scan } => {
                let mut any = false;
                while let Some(item) = scan.next_item()? {
                    f(item);
                    any = true;
                }
                if any {
                    return Ok(());
                }
                let n = half.read(scan.spare()?).await?;
                if n == 0 {
                    return Err(BenchError::Closed);
                }
                scan.commit(n);
                while let Some(item) = scan.next_item()? {
                    f(item);
                }
                Ok(())
            }
            Reader::Ws(stream) => match stream.next().await {
                None => Err(BenchError::Closed),
                Some(msg) => {
                    if let Some(payload) = frame_payload(&msg?)? {
                        f(ws_item(payload));
                    }
                    Ok(())
                }
            },
        }
    }

    /// Releases the read buffer if nothing is pending (for holding many idle connections).
    pub fn shrink(&mut self) {
        if let Reader::Tcp { scan, .. } = self {
            scan.release_if_empty();
        }
    }
}

/// True when `ROOKERY_BENCH_TRACE` is set: negotiation and sends are printed to stderr.
fn trace_enabled() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("ROOKERY_BENCH_TRACE").is_some())
}

/// The XML payload of a WebSocket frame; `None` for control frames.
fn frame_payload(msg: &Message) -> Result<Option<&[u8]>, BenchError> {
    match msg {
        Message::Text(t) => Ok(Some(t.as_bytes())),
        Message::Binary(b) => Ok(Some(b)),
        Message::Close(_) => Err(BenchError::Closed),
        _ => Ok(None),
    }
}

impl Writer {
    /// Sends one or more serialized elements (on WebSocket: exactly one element).
    pub async fn send(&mut self, data: String) -> Result<(), BenchError> {
        if trace_enabled() {
            eprintln!("{} SEND {data}", crate::clock::now_us());
        }
        match self {
            Writer::Tcp(w) => w.write_all(data.as_bytes()).await?,
            Writer::Ws(w) => w.send(Message::text(data)).await?,
        }
        Ok(())
    }

    /// Sends the stream header for `domain` in this transport's framing.
    pub async fn open_stream(&mut self, domain: &str) -> Result<(), BenchError> {
        let header = match self {
            Writer::Tcp(_) => format!(
                "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
                 xmlns:stream='http://etherx.jabber.org/streams' to='{domain}' version='1.0'>"
            ),
            Writer::Ws(_) => format!("<open xmlns='{FRAMING_NS}' to='{domain}' version='1.0'/>"),
        };
        self.send(header).await
    }

    /// Sends the stream footer (`</stream:stream>` or `<close/>`).
    pub async fn close_stream(&mut self) -> Result<(), BenchError> {
        let footer = match self {
            Writer::Tcp(_) => "</stream:stream>".to_string(),
            Writer::Ws(_) => format!("<close xmlns='{FRAMING_NS}'/>"),
        };
        self.send(footer).await
    }

    /// Shuts the connection down after the footer was sent.
    pub async fn shutdown(&mut self) {
        match self {
            Writer::Tcp(w) => {
                let _ = w.shutdown().await;
            }
            Writer::Ws(w) => {
                let _ = w.close().await;
            }
        }
    }
}
