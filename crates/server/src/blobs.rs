//! Photo bytes. Uploads in progress are staged on local disk (`<photos>/partial/<sha>.part`)
//! so that they can resume from the byte the server holds; a verified photo is handed to a
//! [`BlobStore`]. The local-directory store is the default; an S3-compatible store is a TODO
//! (it would implement [`BlobStore::put`] by uploading the staged file).

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use std::io;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// How long an upload body may send nothing before the server stops waiting for it.
pub const BODY_IDLE: std::time::Duration = std::time::Duration::from_secs(30);

/// Where verified photos are kept, named by hash.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Moves a verified staged file into the store under its hash (durably).
    async fn put(&self, sha256: &str, staged: &Path) -> io::Result<()>;
    /// The bytes of a stored photo; `None` when it is not stored.
    async fn read(&self, sha256: &str) -> io::Result<Option<Vec<u8>>>;
    /// Keeps a file derived from photos (a dashboard thumbnail) under a plain name.
    async fn put_derived(&self, name: &str, bytes: &[u8]) -> io::Result<()>;
    /// A derived file; `None` when there is none yet.
    async fn read_derived(&self, name: &str) -> io::Result<Option<Vec<u8>>>;
}

/// Reads a whole file, `None` when it does not exist.
async fn read_if_there(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match tokio::fs::read(path).await {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Photos as files `<dir>/<first two hex digits>/<sha256>.jpg`.
pub struct LocalBlobs {
    dir: PathBuf,
}

impl LocalBlobs {
    /// A store rooted at `dir` (created when needed).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(&sha256[..2]).join(format!("{sha256}.jpg"))
    }
}

#[async_trait]
impl BlobStore for LocalBlobs {
    async fn put(&self, sha256: &str, staged: &Path) -> io::Result<()> {
        let dest = self.path(sha256);
        let parent = dest.parent().expect("blob path has a parent").to_path_buf();
        tokio::fs::create_dir_all(&parent).await?;
        tokio::fs::File::open(staged).await?.sync_all().await?;
        tokio::fs::rename(staged, &dest).await?;
        // Make the rename itself durable.
        tokio::task::spawn_blocking(move || std::fs::File::open(parent)?.sync_all())
            .await
            .map_err(io::Error::other)?
    }

    async fn read(&self, sha256: &str) -> io::Result<Option<Vec<u8>>> {
        if sha256.len() < 2 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        read_if_there(&self.path(sha256)).await
    }

    async fn put_derived(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let dir = self.dir.join("derived");
        tokio::fs::create_dir_all(&dir).await?;
        // Write beside, then rename: a reader never sees half a file. Not fsynced: a derived
        // file lost in a crash is made again.
        let tmp = dir.join(format!("{name}.tmp{}", std::process::id()));
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, dir.join(name)).await
    }

    async fn read_derived(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        read_if_there(&self.dir.join("derived").join(name)).await
    }
}

/// How an append ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The body ended; the staged file now holds this many bytes.
    Written(u64),
    /// The body would have gone past the declared size; this request's bytes were dropped.
    TooLong,
}

/// Uploads in progress, on local disk.
pub struct Staging {
    dir: PathBuf,
}

impl Staging {
    /// Staging under `dir` (created when needed).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The staged file of a photo.
    pub fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}.part"))
    }

    /// Bytes held for a photo (0 when none).
    pub async fn held(&self, sha256: &str) -> io::Result<u64> {
        match tokio::fs::metadata(self.path(sha256)).await {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Appends a body stream at `offset` (which must be the current length), never holding
    /// more than one chunk in memory and never growing past `max_len`. A body that breaks off
    /// keeps what arrived, so the client can resume.
    pub async fn append<S, E>(
        &self,
        sha256: &str,
        offset: u64,
        max_len: u64,
        mut body: S,
    ) -> io::Result<AppendOutcome>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        tokio::fs::create_dir_all(&self.dir).await?;
        let path = self.path(sha256);
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await?;
        let mut len = offset;
        loop {
            // A tablet that loses signal mid-upload leaves a half-open connection: give up on
            // a body that sends nothing for BODY_IDLE, keeping what arrived, so the photo is not
            // held busy until the operating system notices the dead peer.
            let chunk = match tokio::time::timeout(BODY_IDLE, body.next()).await {
                Ok(None) => break,
                Ok(Some(Ok(c))) => c,
                Ok(Some(Err(e))) => {
                    tracing::info!(sha256, len, error = %e, "upload broke off; keeping bytes for resume");
                    break;
                }
                Err(_) => {
                    tracing::info!(sha256, len, "upload went silent; keeping bytes for resume");
                    break;
                }
            };
            if len + chunk.len() as u64 > max_len {
                drop(file);
                let f = tokio::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .await?;
                f.set_len(offset).await?;
                return Ok(AppendOutcome::TooLong);
            }
            file.write_all(&chunk).await?;
            len += chunk.len() as u64;
        }
        file.flush().await?;
        file.sync_data().await?;
        Ok(AppendOutcome::Written(len))
    }

    /// Drops a staged upload.
    pub async fn discard(&self, sha256: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.path(sha256)).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}
