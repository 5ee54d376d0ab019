//! A TCP proxy on 127.0.0.1 that shapes traffic like a mobile link: a shared bandwidth per
//! direction and a one-way delay, and counts the bytes that cross it. Used by the sync
//! benchmarks, since this machine's kernel has no netem.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio::time::Instant;

/// The link's shape.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Bytes per second, per direction, shared by all connections.
    pub bytes_per_sec: u64,
    /// One-way delay (half the round-trip time).
    pub one_way: Duration,
}

/// Bytes that crossed the proxy.
#[derive(Default, Debug)]
pub struct Counters {
    /// Tablet to server.
    pub up: AtomicU64,
    /// Server to tablet.
    pub down: AtomicU64,
    /// Connections opened.
    pub connections: AtomicU64,
}

/// A running proxy; stops when dropped.
pub struct ShapingProxy {
    /// `http://127.0.0.1:PORT` to give the tablet.
    pub url: String,
    /// What crossed it.
    pub counters: Arc<Counters>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ShapingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// When the link in one direction is next free.
type Link = Arc<Mutex<Instant>>;

impl ShapingProxy {
    /// Starts a proxy to `upstream` (`127.0.0.1:PORT`) with `shape`.
    pub async fn start(upstream: String, shape: Shape) -> std::io::Result<ShapingProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let counters = Arc::new(Counters::default());
        let (up, down): (Link, Link) = (
            Arc::new(Mutex::new(Instant::now())),
            Arc::new(Mutex::new(Instant::now())),
        );
        let c = counters.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                c.connections.fetch_add(1, Ordering::Relaxed);
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pipe(cr, sw, up.clone(), shape, c.clone(), true));
                tokio::spawn(pipe(sr, cw, down.clone(), shape, c.clone(), false));
            }
        });
        Ok(ShapingProxy {
            url,
            counters,
            task,
        })
    }
}

/// Copies one direction: each chunk waits for its turn on the shared link, then arrives
/// `one_way` later, in order.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    link: Link,
    shape: Shape,
    counters: Arc<Counters>,
    upward: bool,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((arrival, bytes)) = rx.recv().await {
            tokio::time::sleep_until(arrival).await;
            if to.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let counter = if upward { &counters.up } else { &counters.down };
        counter.fetch_add(n as u64, Ordering::Relaxed);
        let sent = {
            let mut free = link.lock().await;
            let start = (*free).max(Instant::now());
            *free = start + Duration::from_secs_f64(n as f64 / shape.bytes_per_sec as f64);
            *free
        };
        // Hold the reader back while the link is busy, as a real link's buffers would.
        tokio::time::sleep_until(sent).await;
        if tx.send((sent + shape.one_way, buf[..n].to_vec())).is_err() {
            break;
        }
    }
    drop(tx);
    let _ = writer.await;
}
