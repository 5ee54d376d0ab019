//! Photo bytes: uploads in progress (staged so that they resume from the byte the server
//! holds, whichever server process receives the next piece) and verified photos named by
//! hash, behind one [`BlobStore`] trait with two implementations:
//!
//! - [`LocalBlobs`], a directory on this machine: the zero-configuration default, for one
//!   server process;
//! - [`ObjectBlobs`], an S3-compatible bucket (Aliyun OSS, Tencent COS, Huawei OBS, MinIO,
//!   Ceph, Garage, AWS) through the `object_store` crate: staged pieces live in the bucket too,
//!   so several server processes share uploads in progress.
//!
//! A photo is recorded as stored only after [`BlobStore::put`] returned: a store that fails
//! half-way leaves the staged bytes (the tablet resumes) and no record that says otherwise.

mod local;
mod object;

pub use local::LocalBlobs;
pub use object::{ObjectBlobs, S3Config};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use std::io;

/// How long an upload body may send nothing before the server stops waiting for it.
pub const BODY_IDLE: std::time::Duration = std::time::Duration::from_secs(30);

/// A request body or a stored photo, as a stream of chunks.
pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

/// A stored photo being read: its size and its bytes, streamed from the store.
pub struct Blob {
    /// Bytes in all.
    pub size: u64,
    /// The bytes.
    pub body: ByteStream,
}

impl Blob {
    /// Reads the whole photo into memory (for decoding), refusing one larger than `max`.
    pub async fn bytes(mut self, max: u64) -> io::Result<Vec<u8>> {
        if self.size > max {
            return Err(io::Error::other(format!(
                "stored photo of {} bytes is over the {max}-byte limit",
                self.size
            )));
        }
        let mut out = Vec::with_capacity(self.size as usize);
        while let Some(chunk) = self.body.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }
}

/// How an append ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The body ended (or broke off); the store now holds this many bytes of the upload.
    Written(u64),
    /// The body would have gone past the declared size; this request's bytes were dropped.
    TooLong,
    /// Another request is appending to this upload right now; nothing was written.
    Busy,
}

/// Where uploads in progress and verified photos are kept.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// What this store is, for logs and `check-config` (no secrets).
    fn describe(&self) -> String;
    /// Bytes held of an upload in progress (0 when none).
    async fn held(&self, sha256: &str) -> io::Result<u64>;
    /// Appends a body at `offset` (the caller checked it equals [`BlobStore::held`]), never
    /// holding more than one piece in memory and never growing past `max_len`. A body that
    /// breaks off or goes silent for [`BODY_IDLE`] keeps what arrived, so the client can
    /// resume.
    async fn append(
        &self,
        sha256: &str,
        offset: u64,
        max_len: u64,
        body: ByteStream,
    ) -> io::Result<AppendOutcome>;
    /// The whole staged upload, for verification (at most the upload limit).
    async fn staged(&self, sha256: &str) -> io::Result<Vec<u8>>;
    /// Drops an upload in progress (nothing when there is none).
    async fn discard(&self, sha256: &str) -> io::Result<()>;
    /// Stores verified bytes under their hash, durably: once this returns, the photo survives
    /// a crash of this process and of this machine's page cache.
    async fn put(&self, sha256: &str, bytes: Bytes) -> io::Result<()>;
    /// A stored photo, streamed; `None` when it is not stored.
    async fn read(&self, sha256: &str) -> io::Result<Option<Blob>>;
    /// Keeps a file derived from photos (a dashboard thumbnail, an export) under a plain name. Not
    /// necessarily durable: a derived file lost is made again.
    async fn put_derived(&self, name: &str, bytes: Bytes) -> io::Result<()>;
    /// A derived file; `None` when there is none yet.
    async fn read_derived(&self, name: &str) -> io::Result<Option<Vec<u8>>>;
    /// Removes a derived file (nothing when there is none).
    async fn remove_derived(&self, name: &str) -> io::Result<()>;
    /// Removes uploads in progress that are of no more use: those of photos already stored (a
    /// removal that failed after the photo was stored), and those untouched for `stale_after`
    /// (a tablet that comes back asks for the offset and starts again from 0). Returns how
    /// many uploads were removed.
    async fn sweep(&self, stale_after: std::time::Duration) -> io::Result<usize>;
    /// Writes, reads back and removes a probe object: whether the store answers and takes
    /// writes (`check-config`). `Some` names a promise the store answers without keeping
    /// (a bucket that ignores `If-None-Match: *`), which the administrator should know of.
    async fn probe(&self) -> io::Result<Option<String>>;
}

/// How long an upload in progress may sit untouched before [`BlobStore::sweep`] removes it.
pub const STALE_UPLOAD: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Sweeps `store` now and then every hour, for as long as the server runs; failures are
/// logged and tried again at the next hour.
pub async fn sweep_now_and_hourly(store: std::sync::Arc<dyn BlobStore>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every.tick().await;
        match store.sweep(STALE_UPLOAD).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "photo store: unfinished uploads removed"),
            Err(e) => tracing::warn!(error = %e, "photo store: sweeping unfinished uploads failed"),
        }
    }
}

/// The next chunk of an upload body, or `None` when it ended, broke off or went silent for
/// [`BODY_IDLE`] (logged: what arrived is kept for the resume).
async fn next_chunk<S>(body: &mut S, sha256: &str, len: u64) -> Option<Bytes>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    // A tablet that loses signal mid-upload leaves a half-open connection: give up on a body
    // that sends nothing for BODY_IDLE, keeping what arrived, so the photo is not held busy
    // until the operating system notices the dead peer.
    match tokio::time::timeout(BODY_IDLE, body.next()).await {
        Ok(None) => None,
        Ok(Some(Ok(c))) => Some(c),
        Ok(Some(Err(e))) => {
            tracing::info!(sha256, len, error = %e, "upload broke off; keeping bytes for resume");
            None
        }
        Err(_) => {
            tracing::info!(sha256, len, "upload went silent; keeping bytes for resume");
            None
        }
    }
}
