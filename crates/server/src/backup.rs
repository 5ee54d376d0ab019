//! `fieldcheck-server backup DEST` and `restore SRC`: a county's ledger as one directory that
//! can be copied anywhere, taken while the server runs.
//!
//! A backup holds:
//! - `fieldcheck.sqlite3`: a consistent snapshot of the database (`VACUUM INTO`, one read
//!   transaction: the server keeps writing meanwhile);
//! - `photos/<xx>/<sha256>.jpg`: every photo the snapshot records as stored, read from the photo
//!   store (a directory or a bucket) and checked against its hash as it is copied;
//! - `manifest.json`, written last: the database file's SHA-256 and size, and each photo's
//!   size. A directory without it is an unfinished backup, and `restore` refuses it.
//!
//! `restore` checks the whole backup first (the database file's hash, every photo hashing to
//! its name) and only then writes: into a data directory that holds no database yet, the
//! photos into the configured photo store. With PostgreSQL, both commands refuse and name the
//! database's own tools (`pg_dump` / `pg_restore`, see docs/DEPLOYMENT.md).

use crate::blobs::BlobStore;
use crate::config::Config;
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The manifest's format version.
const FORMAT: u32 = 1;
/// The database file's name, in a data directory and in a backup.
const DATABASE: &str = "fieldcheck.sqlite3";

/// Why a backup or restore stopped. Each message is one Chinese sentence, then English.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The configuration uses PostgreSQL.
    #[error(
        "数据库为 PostgreSQL：请用 pg_dump / pg_restore 备份和恢复（见部署说明）/ the database is PostgreSQL: back it up with pg_dump and restore with pg_restore (see docs/DEPLOYMENT.md)"
    )]
    Postgres,
    /// The destination is not empty.
    #[error("备份目录 {0} 已存在且不为空 / the backup directory {0} exists and is not empty")]
    DestinationNotEmpty(PathBuf),
    /// The data directory already holds a database.
    #[error(
        "数据目录 {0} 已有数据库，恢复只写入空的数据目录 / the data directory {0} already holds a database; restore writes only into an empty one"
    )]
    DataDirInUse(PathBuf),
    /// The backup is unfinished or damaged.
    #[error("备份不完整或已损坏：{0} / the backup is unfinished or damaged: {0}")]
    Damaged(String),
    /// A photo the database records as stored is not in the photo store.
    #[error(
        "照片 {0} 记录为已存储，但照片存储中没有或内容不符 / photo {0} is recorded as stored but the photo store lacks it or holds other bytes"
    )]
    PhotoMissing(String),
    /// Reading or writing failed.
    #[error("读写失败 / input or output failed: {0}")]
    Io(String),
}

impl From<std::io::Error> for BackupError {
    fn from(e: std::io::Error) -> Self {
        BackupError::Io(e.to_string())
    }
}

impl From<rusqlite::Error> for BackupError {
    fn from(e: rusqlite::Error) -> Self {
        BackupError::Io(e.to_string())
    }
}

/// What a backup holds, written last into it as `manifest.json`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// When the snapshot was taken, Unix ms.
    pub taken_at_ms: i64,
    /// The database file's SHA-256, hex.
    pub database_sha256: String,
    /// Its size in bytes.
    pub database_bytes: u64,
    /// Each photo: its SHA-256 (its name) and size.
    pub photos: Vec<PhotoEntry>,
}

/// One photo of a backup.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct PhotoEntry {
    /// The photo's SHA-256, hex: its name.
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
}

fn photo_path(root: &Path, sha256: &str) -> PathBuf {
    root.join("photos")
        .join(&sha256[..2])
        .join(format!("{sha256}.jpg"))
}

/// The SHA-256 (hex) and size of a file.
fn hash_file(path: &Path) -> Result<(String, u64), BackupError> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher)?;
    Ok((hex::encode(hasher.finalize()), bytes))
}

/// Writes `bytes` to `path` and syncs it.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

/// Takes a backup of `config`'s data into `dest` (made; must be absent or empty), while the
/// server may be running. Returns the manifest written.
pub async fn backup(
    config: &Config,
    blobs: &dyn BlobStore,
    dest: &Path,
) -> Result<Manifest, BackupError> {
    if config.database_url.is_some() {
        return Err(BackupError::Postgres);
    }
    if dest.exists() && std::fs::read_dir(dest)?.next().is_some() {
        return Err(BackupError::DestinationNotEmpty(dest.to_path_buf()));
    }
    std::fs::create_dir_all(dest)?;
    let source = config.data_dir.join(DATABASE);
    let snapshot = dest.join(DATABASE);
    let taken_at_ms = crate::clock::now_ms();
    let (src, snap) = (source.clone(), snapshot.clone());
    let stored: Vec<String> = tokio::task::spawn_blocking(move || -> Result<_, BackupError> {
        if !src.exists() {
            return Err(BackupError::Io(format!("{} does not exist", src.display())));
        }
        let db = rusqlite::Connection::open_with_flags(
            &src,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        db.busy_timeout(std::time::Duration::from_secs(30))?;
        db.execute("VACUUM INTO ?1", [snap.to_string_lossy()])?;
        std::fs::File::open(&snap)?.sync_all()?;
        let copy = rusqlite::Connection::open(&snap)?;
        let mut q = copy.prepare(
            "SELECT sha256 FROM photos WHERE stored_at IS NOT NULL \
             UNION SELECT sha256 FROM dash_uploads ORDER BY 1",
        )?;
        let rows = q.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<String>, _>>()?)
    })
    .await
    .map_err(|e| BackupError::Io(e.to_string()))??;
    let mut photos = Vec::with_capacity(stored.len());
    for sha in stored {
        let blob = blobs
            .read(&sha)
            .await?
            .ok_or_else(|| BackupError::PhotoMissing(sha.clone()))?;
        let mut body = blob.body;
        let mut bytes = Vec::with_capacity(blob.size as usize);
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk?);
        }
        if hex::encode(Sha256::digest(&bytes)) != sha {
            return Err(BackupError::PhotoMissing(sha));
        }
        let path = photo_path(dest, &sha);
        let len = bytes.len() as u64;
        tokio::task::spawn_blocking(move || write_synced(&path, &bytes))
            .await
            .map_err(|e| BackupError::Io(e.to_string()))??;
        photos.push(PhotoEntry {
            sha256: sha,
            bytes: len,
        });
    }
    let (database_sha256, database_bytes) = hash_file(&snapshot)?;
    let manifest = Manifest {
        format: FORMAT,
        taken_at_ms,
        database_sha256,
        database_bytes,
        photos,
    };
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Io(e.to_string()))?;
    let partial = dest.join("manifest.json.partial");
    write_synced(&partial, &text)?;
    std::fs::rename(&partial, dest.join("manifest.json"))?;
    std::fs::File::open(dest)?.sync_all()?;
    Ok(manifest)
}

/// Reads and checks a backup whole: the manifest, the database file's hash, every photo's.
pub fn check(src: &Path) -> Result<Manifest, BackupError> {
    let text = std::fs::read(src.join("manifest.json")).map_err(|e| {
        BackupError::Damaged(format!(
            "manifest.json 无法读取 / cannot read manifest.json: {e}"
        ))
    })?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| BackupError::Damaged(format!("manifest.json: {e}")))?;
    if manifest.format != FORMAT {
        return Err(BackupError::Damaged(format!(
            "格式 {} 未知 / unknown format {}",
            manifest.format, manifest.format
        )));
    }
    let (sha, bytes) = hash_file(&src.join(DATABASE))
        .map_err(|e| BackupError::Damaged(format!("{DATABASE}: {e}")))?;
    if (sha.as_str(), bytes) != (manifest.database_sha256.as_str(), manifest.database_bytes) {
        return Err(BackupError::Damaged(format!(
            "{DATABASE} 与清单不符 / {DATABASE} differs from the manifest"
        )));
    }
    for p in &manifest.photos {
        if !fieldcheck_domain::limits::is_sha256(&p.sha256) {
            return Err(BackupError::Damaged(format!("{:?}", p.sha256)));
        }
        let (sha, bytes) = hash_file(&photo_path(src, &p.sha256))
            .map_err(|e| BackupError::Damaged(format!("{}: {e}", p.sha256)))?;
        if sha != p.sha256 || bytes != p.bytes {
            return Err(BackupError::Damaged(format!(
                "照片 {} 内容不符 / photo {} holds other bytes",
                p.sha256, p.sha256
            )));
        }
    }
    Ok(manifest)
}

/// Restores the backup in `src` into `config`'s empty data directory and photo store, after
/// checking it whole ([`check`]).
pub async fn restore(
    config: &Config,
    blobs: &dyn BlobStore,
    src: &Path,
) -> Result<Manifest, BackupError> {
    if config.database_url.is_some() {
        return Err(BackupError::Postgres);
    }
    let target = config.data_dir.join(DATABASE);
    if target.exists() {
        return Err(BackupError::DataDirInUse(config.data_dir.clone()));
    }
    let from = src.to_path_buf();
    let manifest = tokio::task::spawn_blocking(move || check(&from))
        .await
        .map_err(|e| BackupError::Io(e.to_string()))??;
    for p in &manifest.photos {
        let bytes = tokio::fs::read(photo_path(src, &p.sha256)).await?;
        blobs.put(&p.sha256, Bytes::from(bytes)).await?;
    }
    // The database last, through a file beside it: until it is there, the data directory
    // holds no database and the restore can simply be run again.
    std::fs::create_dir_all(&config.data_dir)?;
    let partial = config.data_dir.join(format!("{DATABASE}.restoring"));
    std::fs::copy(src.join(DATABASE), &partial)?;
    std::fs::File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, &target)?;
    std::fs::File::open(&config.data_dir)?.sync_all()?;
    Ok(manifest)
}
