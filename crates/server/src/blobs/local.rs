//! Photos in a directory on this machine: verified photos as
//! `<dir>/<first two hex digits>/<sha256>.jpg`, uploads in progress as
//! `<dir>/partial/<sha256>.part`, derived files under `<dir>/derived/`. One server process
//! owns the directory; it lets one request at a time append to an upload.

use super::{AppendOutcome, Blob, BlobStore, ByteStream, next_chunk};
use async_trait::async_trait;
use bytes::Bytes;
use fieldcheck_domain::limits::is_sha256;
use futures_util::StreamExt;
use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tokio::io::AsyncWriteExt;

/// Photos in a local directory (the default store).
pub struct LocalBlobs {
    dir: PathBuf,
    /// Uploads a request is appending to right now.
    appending: Mutex<HashSet<String>>,
}

impl LocalBlobs {
    /// A store rooted at `dir` (created when needed).
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            appending: Mutex::new(HashSet::new()),
        }
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(&sha256[..2]).join(format!("{sha256}.jpg"))
    }

    fn staged_path(&self, sha256: &str) -> PathBuf {
        self.dir.join("partial").join(format!("{sha256}.part"))
    }

    /// Writes `bytes` to `dest` through a file beside it and a rename, so a reader never sees
    /// half a file; with `durable`, the file and the rename are synced before returning.
    async fn write_whole(dest: PathBuf, bytes: Bytes, durable: bool) -> io::Result<()> {
        let parent = dest
            .parent()
            .expect("a store path has a parent")
            .to_path_buf();
        tokio::fs::create_dir_all(&parent).await?;
        let tmp = dest.with_extension(format!("tmp{}", std::process::id()));
        let mut file = tokio::fs::File::create(&tmp).await?;
        file.write_all(&bytes).await?;
        if durable {
            file.sync_all().await?;
        }
        drop(file);
        tokio::fs::rename(&tmp, &dest).await?;
        if durable {
            tokio::task::spawn_blocking(move || std::fs::File::open(parent)?.sync_all())
                .await
                .map_err(io::Error::other)??;
        }
        Ok(())
    }
}

/// Reads a whole file, `None` when it does not exist.
async fn read_if_there(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match tokio::fs::read(path).await {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Marks an upload as being appended to until dropped.
struct Appending<'a> {
    store: &'a LocalBlobs,
    sha256: String,
}

impl Drop for Appending<'_> {
    fn drop(&mut self) {
        let mut busy = self
            .store
            .appending
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        busy.remove(&self.sha256);
    }
}

#[async_trait]
impl BlobStore for LocalBlobs {
    fn describe(&self) -> String {
        format!("本地目录 / local directory {}", self.dir.display())
    }

    async fn held(&self, sha256: &str) -> io::Result<u64> {
        match tokio::fs::metadata(self.staged_path(sha256)).await {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    async fn append(
        &self,
        sha256: &str,
        offset: u64,
        max_len: u64,
        mut body: ByteStream,
    ) -> io::Result<AppendOutcome> {
        if !self
            .appending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(sha256.to_string())
        {
            return Ok(AppendOutcome::Busy);
        }
        let _appending = Appending {
            store: self,
            sha256: sha256.to_string(),
        };
        let path = self.staged_path(sha256);
        tokio::fs::create_dir_all(path.parent().expect("partial dir")).await?;
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await?;
        if file.metadata().await?.len() != offset {
            return Ok(AppendOutcome::Busy);
        }
        let mut len = offset;
        while let Some(chunk) = next_chunk(&mut body, sha256, len).await {
            if len + chunk.len() as u64 > max_len {
                file.set_len(offset).await?;
                return Ok(AppendOutcome::TooLong);
            }
            file.write_all(&chunk).await?;
            len += chunk.len() as u64;
        }
        file.flush().await?;
        file.sync_data().await?;
        Ok(AppendOutcome::Written(len))
    }

    async fn staged(&self, sha256: &str) -> io::Result<Vec<u8>> {
        tokio::fs::read(self.staged_path(sha256)).await
    }

    async fn discard(&self, sha256: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.staged_path(sha256)).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    async fn put(&self, sha256: &str, bytes: Bytes) -> io::Result<()> {
        if !is_sha256(sha256) {
            return Err(io::Error::other(format!("{sha256:?} is not a photo hash")));
        }
        Self::write_whole(self.path(sha256), bytes, true).await
    }

    async fn read(&self, sha256: &str) -> io::Result<Option<Blob>> {
        if !is_sha256(sha256) {
            return Ok(None);
        }
        let file = match tokio::fs::File::open(self.path(sha256)).await {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let size = file.metadata().await?.len();
        Ok(Some(Blob {
            size,
            body: tokio_util::io::ReaderStream::new(file).boxed(),
        }))
    }

    async fn put_derived(&self, name: &str, bytes: Bytes) -> io::Result<()> {
        Self::write_whole(self.dir.join("derived").join(name), bytes, false).await
    }

    async fn read_derived(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        read_if_there(&self.dir.join("derived").join(name)).await
    }

    async fn remove_derived(&self, name: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.dir.join("derived").join(name)).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    async fn sweep(&self, stale_after: std::time::Duration) -> io::Result<usize> {
        let mut entries = match tokio::fs::read_dir(self.dir.join("partial")).await {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        while let Some(entry) = entries.next_entry().await? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(sha) = name.strip_suffix(".part").filter(|s| is_sha256(s)) else {
                continue;
            };
            let age = entry
                .metadata()
                .await?
                .modified()?
                .elapsed()
                .unwrap_or_default();
            let stored = tokio::fs::try_exists(self.path(sha)).await?;
            if stored || age > stale_after {
                self.discard(sha).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    async fn probe(&self) -> io::Result<Option<String>> {
        let name = format!(".probe-{}", std::process::id());
        self.put_derived(&name, Bytes::from_static(b"probe"))
            .await?;
        let back = self.read_derived(&name).await?;
        self.remove_derived(&name).await?;
        match back.as_deref() {
            Some(b"probe") => Ok(None),
            _ => Err(io::Error::other("the probe file read back differently")),
        }
    }
}
