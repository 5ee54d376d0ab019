//! A bad network between a tablet and the server, for tests: a TCP proxy on 127.0.0.1 that
//! understands just enough HTTP/1.1 (request and response heads, `Content-Length` and chunked
//! bodies) to know where each exchange begins and ends, and injects a fault into a configured
//! share of the exchanges — per request, even on a reused keep-alive connection:
//!
//! - [`Fault::ResetBeforeForward`]: the request is read whole and the connection reset; the
//!   server never sees it.
//! - [`Fault::CutRequestBody`]: part of the request body reaches the server, then both sides are
//!   reset (an upload cut mid-way: the server keeps what arrived).
//! - [`Fault::ResetAfterResponse`]: the server answered, the tablet gets a reset instead (the
//!   push was applied but the ack is lost).
//! - [`Fault::TruncatedResponse`]: half the answer, then the connection closes.
//! - [`Fault::StalledBody`]: half the answer, then nothing until the client gives up (or the
//!   stall bound passes).
//! - [`Fault::StalledRequest`]: part of the request body reaches the server, then the client's
//!   side is reset while the server's side stays open and silent (half-open), for a while.
//! - [`Fault::Http500`], [`Fault::Http503`]: a canned error answer instead of the server's
//!   (503 with `Retry-After: 0` or `1`); the server never sees the request.
//! - [`Fault::SlowBytes`]: the whole answer, trickled a few bytes at a time.
//!
//! Every fault ends its connection (but slow bytes); every injected fault is counted by kind.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One kind of injected fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// Reset before anything reaches the server.
    ResetBeforeForward,
    /// Part of the request body reaches the server, then both connections are reset.
    CutRequestBody,
    /// The server answered; the client gets a reset.
    ResetAfterResponse,
    /// Half of the server's answer, then the connection is closed.
    TruncatedResponse,
    /// Half of the server's answer, then silence.
    StalledBody,
    /// Part of the request body reaches the server, then the line goes silent: the client's
    /// side is reset, the server's side stays open (half-open, as when a tablet loses signal
    /// mid-upload) until the stall bound passes.
    StalledRequest,
    /// A canned `500 Internal Server Error`.
    Http500,
    /// A canned `503 Service Unavailable` with `Retry-After: 0` or `1`.
    Http503,
    /// The server's answer, trickled.
    SlowBytes,
}

impl Fault {
    /// Every kind, in order.
    pub const ALL: [Fault; 9] = [
        Fault::ResetBeforeForward,
        Fault::CutRequestBody,
        Fault::ResetAfterResponse,
        Fault::TruncatedResponse,
        Fault::StalledBody,
        Fault::StalledRequest,
        Fault::Http500,
        Fault::Http503,
        Fault::SlowBytes,
    ];

    fn index(self) -> usize {
        Fault::ALL.iter().position(|f| *f == self).expect("listed")
    }
}

/// How the proxy misbehaves.
#[derive(Clone, Debug)]
pub struct FaultConfig {
    /// Share of requests that get a fault, 0.0-1.0 (changeable later with
    /// [`FaultProxy::set_rate`]).
    pub rate: f64,
    /// Share of photo uploads (`PATCH` requests) that get a fault while faults are on (when
    /// higher than `rate`); half of these are cut mid-body, so that uploads must resume.
    pub upload_rate: f64,
    /// Relative weight of each kind, in the order of [`Fault::ALL`].
    pub weights: [u32; 9],
    /// Longest a stalled answer stays silent before the proxy closes it (the client is
    /// expected to give up sooner).
    pub stall: Duration,
    /// Seed of the fault draws.
    pub seed: u64,
}

impl Default for FaultConfig {
    fn default() -> FaultConfig {
        FaultConfig {
            rate: 0.3,
            upload_rate: 0.0,
            weights: [1; 9],
            stall: Duration::from_secs(5),
            seed: 0,
        }
    }
}

/// Counts of what went through the proxy.
#[derive(Clone, Debug, Default)]
pub struct FaultCounts {
    /// Requests read from clients.
    pub requests: u64,
    /// Faults injected, by kind (every kind present, maybe 0).
    pub faults: BTreeMap<Fault, u64>,
    /// Requests by route: method and path, with a SHA-256 segment written `{sha256}`.
    pub routes: BTreeMap<String, u64>,
}

impl FaultCounts {
    /// All faults injected.
    pub fn total(&self) -> u64 {
        self.faults.values().sum()
    }
}

struct Shared {
    upstream: SocketAddr,
    rate_ppm: AtomicU32,
    upload_ppm: u32,
    weights: [u32; 9],
    stall: Duration,
    rng: Mutex<StdRng>,
    requests: AtomicU64,
    counts: [AtomicU64; 9],
    routes: Mutex<BTreeMap<String, u64>>,
}

impl Shared {
    /// Whether and how to spoil the next request (`upload`: a photo upload, `PATCH`).
    fn draw(&self, upload: bool) -> Option<Fault> {
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let rate = self.rate_ppm.load(Ordering::Relaxed);
        if rate == 0 {
            return None;
        }
        let rate = if upload {
            rate.max(self.upload_ppm)
        } else {
            rate
        };
        if rng.random_range(0..1_000_000) >= rate {
            return None;
        }
        if upload && self.weights[Fault::CutRequestBody.index()] > 0 && rng.random_bool(0.5) {
            return Some(Fault::CutRequestBody);
        }
        let total: u32 = self.weights.iter().sum();
        if total == 0 {
            return None;
        }
        let mut pick = rng.random_range(0..total);
        for (f, w) in Fault::ALL.iter().zip(self.weights) {
            if pick < w {
                return Some(*f);
            }
            pick -= w;
        }
        None
    }

    fn count(&self, f: Fault) {
        self.counts[f.index()].fetch_add(1, Ordering::Relaxed);
    }

    fn random(&self, range: std::ops::Range<usize>) -> usize {
        self.rng
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .random_range(range)
    }
}

/// A running fault proxy; stops (with all its connections) when dropped.
pub struct FaultProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream` (which must be on
    /// 127.0.0.1 too), on the current tokio runtime.
    pub async fn start(upstream: SocketAddr, config: FaultConfig) -> io::Result<FaultProxy> {
        assert!(
            upstream.ip().is_loopback(),
            "the fault proxy forwards to loopback only"
        );
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            rate_ppm: AtomicU32::new(ppm(config.rate)),
            upload_ppm: ppm(config.upload_rate),
            weights: config.weights,
            stall: config.stall,
            rng: Mutex::new(StdRng::seed_from_u64(config.seed)),
            requests: AtomicU64::new(0),
            counts: Default::default(),
            routes: Mutex::default(),
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { continue };
                        let s = s.clone();
                        conns.spawn(async move {
                            let _ = serve(client, &s).await;
                        });
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        Ok(FaultProxy { addr, shared, task })
    }

    /// The proxy's base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes the share of requests that get a fault (0.0 turns faults off).
    pub fn set_rate(&self, rate: f64) {
        self.shared.rate_ppm.store(ppm(rate), Ordering::Relaxed);
    }

    /// What went through so far.
    pub fn counts(&self) -> FaultCounts {
        FaultCounts {
            requests: self.shared.requests.load(Ordering::Relaxed),
            faults: Fault::ALL
                .iter()
                .map(|f| (*f, self.shared.counts[f.index()].load(Ordering::Relaxed)))
                .collect(),
            routes: self
                .shared
                .routes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn ppm(rate: f64) -> u32 {
    (rate.clamp(0.0, 1.0) * 1_000_000.0) as u32
}

/// How a message body is delimited.
#[derive(Clone, Copy, Debug)]
enum Framing {
    Length(usize),
    Chunked,
    /// Until the connection closes (responses only).
    UntilClose,
}

struct Head {
    bytes: Vec<u8>,
    framing: Framing,
    close: bool,
}

/// Reads one message head (through the blank line). `None` on a clean end of stream before it.
async fn read_head<R: AsyncRead + Unpin>(
    r: &mut BufReader<R>,
    request: bool,
) -> io::Result<Option<Head>> {
    let mut bytes = Vec::new();
    loop {
        let before = bytes.len();
        let n = r.read_until(b'\n', &mut bytes).await?;
        if n == 0 {
            return if bytes.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        if bytes.len() > 64 * 1024 {
            return Err(io::Error::other("head too long"));
        }
        let line = &bytes[before..];
        if line == b"\r\n" || line == b"\n" {
            if before == 0 {
                // A stray blank line between messages.
                bytes.clear();
                continue;
            }
            break;
        }
    }
    let text = String::from_utf8_lossy(&bytes).to_ascii_lowercase();
    let mut length = None;
    let mut chunked = false;
    let mut close = false;
    for line in text.lines().skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim() {
            "content-length" => length = value.parse().ok(),
            "transfer-encoding" => chunked = value.contains("chunked"),
            "connection" => close = value.contains("close"),
            _ => {}
        }
    }
    let status_without_body = !request
        && text
            .split_whitespace()
            .nth(1)
            .is_some_and(|s| s.starts_with('1') || s == "204" || s == "304");
    let framing = if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else if request || status_without_body {
        Framing::Length(0)
    } else {
        Framing::UntilClose
    };
    Ok(Some(Head {
        bytes,
        framing,
        close,
    }))
}

/// Reads a body as it is on the wire (chunk framing kept).
async fn read_body<R: AsyncRead + Unpin>(
    r: &mut BufReader<R>,
    framing: Framing,
) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    match framing {
        Framing::Length(n) => {
            out.resize(n, 0);
            r.read_exact(&mut out).await?;
        }
        Framing::UntilClose => {
            r.read_to_end(&mut out).await?;
        }
        Framing::Chunked => loop {
            let start = out.len();
            if r.read_until(b'\n', &mut out).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let line = String::from_utf8_lossy(&out[start..]).to_string();
            let size_hex = line
                .trim()
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            let size = usize::from_str_radix(&size_hex, 16)
                .map_err(|_| io::Error::other(format!("bad chunk size {line:?}")))?;
            if size == 0 {
                // Trailers, then the blank line.
                loop {
                    let at = out.len();
                    if r.read_until(b'\n', &mut out).await? == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                    if out[at..] == *b"\r\n" || out[at..] == *b"\n" {
                        return Ok(out);
                    }
                }
            }
            let at = out.len();
            out.resize(at + size + 2, 0);
            r.read_exact(&mut out[at..]).await?;
        },
    }
    Ok(out)
}

/// `METHOD /path` of a request head, with 64-hex segments written `{sha256}`.
fn route(head: &[u8]) -> String {
    let line =
        String::from_utf8_lossy(head.split(|b| *b == b'\n').next().unwrap_or_default()).to_string();
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or("?");
    let path = words.next().unwrap_or("?").split('?').next().unwrap_or("?");
    let path: Vec<&str> = path
        .split('/')
        .map(|seg| {
            if seg.len() == 64 && seg.bytes().all(|b| b.is_ascii_hexdigit()) {
                "{sha256}"
            } else {
                seg
            }
        })
        .collect();
    format!("{method} {}", path.join("/"))
}

fn reset(stream: &TcpStream) {
    let _ = stream.set_zero_linger();
}

fn canned(status: &str, extra: &str, message: &str) -> Vec<u8> {
    let body = format!("{{\"error\":\"proxy_fault\",\"message\":\"{message}\"}}");
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serves one client connection, one exchange after another, until it ends or a fault ends it.
async fn serve(client: TcpStream, shared: &Shared) -> io::Result<()> {
    let _ = client.set_nodelay(true);
    let mut client = BufReader::new(client);
    loop {
        let Some(head) = read_head(&mut client, true).await? else {
            return Ok(());
        };
        let body = read_body(&mut client, head.framing).await?;
        shared.requests.fetch_add(1, Ordering::Relaxed);
        *shared
            .routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(route(&head.bytes))
            .or_default() += 1;
        let mut fault = shared.draw(head.bytes.starts_with(b"PATCH "));
        if matches!(fault, Some(Fault::CutRequestBody | Fault::StalledRequest)) && body.len() < 2 {
            fault = Some(Fault::ResetBeforeForward);
        }
        match fault {
            Some(Fault::ResetBeforeForward) => {
                shared.count(Fault::ResetBeforeForward);
                reset(client.get_ref());
                return Ok(());
            }
            Some(Fault::Http500) => {
                shared.count(Fault::Http500);
                client
                    .get_mut()
                    .write_all(&canned("500 Internal Server Error", "", "injected 500"))
                    .await?;
                return client.get_mut().shutdown().await;
            }
            Some(Fault::Http503) => {
                shared.count(Fault::Http503);
                let extra = format!("retry-after: {}\r\n", shared.random(0..2));
                client
                    .get_mut()
                    .write_all(&canned("503 Service Unavailable", &extra, "injected 503"))
                    .await?;
                return client.get_mut().shutdown().await;
            }
            _ => {}
        }

        // One fresh upstream connection per exchange: the server's keep-alive timing never
        // leaks into the client's view.
        let upstream = TcpStream::connect(shared.upstream).await?;
        let _ = upstream.set_nodelay(true);
        let mut upstream = BufReader::new(upstream);
        if fault == Some(Fault::CutRequestBody) {
            shared.count(Fault::CutRequestBody);
            let cut = shared.random(1..body.len());
            upstream.get_mut().write_all(&head.bytes).await?;
            upstream.get_mut().write_all(&body[..cut]).await?;
            upstream.get_mut().flush().await?;
            // Let the server take in what arrived before the line goes dead.
            tokio::time::sleep(Duration::from_millis(30)).await;
            reset(upstream.get_ref());
            reset(client.get_ref());
            return Ok(());
        }
        if fault == Some(Fault::StalledRequest) {
            shared.count(Fault::StalledRequest);
            let cut = shared.random(1..body.len());
            upstream.get_mut().write_all(&head.bytes).await?;
            upstream.get_mut().write_all(&body[..cut]).await?;
            upstream.get_mut().flush().await?;
            reset(client.get_ref());
            drop(client);
            // The server's side of the line stays open, silent, until the stall bound.
            let mut sink = [0u8; 1024];
            let until = Instant::now() + shared.stall;
            while let Ok(Ok(n)) =
                tokio::time::timeout_at(until.into(), upstream.read(&mut sink)).await
            {
                if n == 0 {
                    break;
                }
            }
            return Ok(());
        }
        upstream.get_mut().write_all(&head.bytes).await?;
        upstream.get_mut().write_all(&body).await?;
        upstream.get_mut().flush().await?;
        let Some(answer) = read_head(&mut upstream, false).await? else {
            return Err(io::ErrorKind::UnexpectedEof.into());
        };
        // The answer to a HEAD has no body, whatever its Content-Length says.
        let framing = if head.bytes.starts_with(b"HEAD ") {
            Framing::Length(0)
        } else {
            answer.framing
        };
        let answer_body = read_body(&mut upstream, framing).await?;
        drop(upstream);
        let mut whole = answer.bytes.clone();
        whole.extend_from_slice(&answer_body);
        let out = client.get_mut();
        match fault {
            Some(Fault::ResetAfterResponse) => {
                shared.count(Fault::ResetAfterResponse);
                reset(client.get_ref());
                return Ok(());
            }
            Some(Fault::TruncatedResponse) => {
                shared.count(Fault::TruncatedResponse);
                let cut = answer.bytes.len().saturating_sub(4) + answer_body.len() / 2;
                out.write_all(&whole[..cut.max(1)]).await?;
                out.flush().await?;
                return out.shutdown().await;
            }
            Some(Fault::StalledBody) => {
                shared.count(Fault::StalledBody);
                let cut = answer.bytes.len() + answer_body.len() / 2;
                out.write_all(&whole[..cut]).await?;
                out.flush().await?;
                // Silence until the client hangs up (bounded).
                let mut sink = [0u8; 1024];
                let until = Instant::now() + shared.stall;
                while Instant::now() < until {
                    match tokio::time::timeout_at(until.into(), client.read(&mut sink)).await {
                        Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                        Ok(Ok(_)) => {}
                    }
                }
                return Ok(());
            }
            Some(Fault::SlowBytes) => {
                shared.count(Fault::SlowBytes);
                // Up to ~250 ms of trickle, then the rest at once.
                let mut at = 0;
                let started = Instant::now();
                while at < whole.len() && started.elapsed() < Duration::from_millis(250) {
                    let n = shared.random(1..48).min(whole.len() - at);
                    out.write_all(&whole[at..at + n]).await?;
                    out.flush().await?;
                    at += n;
                    tokio::time::sleep(Duration::from_millis(shared.random(1..8) as u64)).await;
                }
                out.write_all(&whole[at..]).await?;
                out.flush().await?;
            }
            _ => {
                out.write_all(&whole).await?;
                out.flush().await?;
            }
        }
        if head.close || answer.close || matches!(answer.framing, Framing::UntilClose) {
            return client.get_mut().shutdown().await;
        }
    }
}
