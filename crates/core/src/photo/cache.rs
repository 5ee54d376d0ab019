//! The photo cache: other tablets' photos that this tablet shows (a re-check's before-photo),
//! fetched from the server, kept under a size cap (a setting, default 1 GiB) and evicted least
//! recently used first.
//!
//! Layout: `<root>/full/<sha256>.jpg` and `<root>/thumbs/<sha256>.jpg`, indexed in the store
//! ([`Store::cache_add`]). The tablet's own photos live in the photo directory, never here, so
//! eviction can never touch a photo the server does not hold yet. Every fetched copy is checked
//! before it is kept: its name must be a photo hash, a full photo must hash to its name, a
//! thumbnail must be an image within the codec's limits.

use super::{PHOTO_LONG_EDGE, PhotoError, THUMB_LONG_EDGE, check_image};
use crate::store::Store;
use crate::store::photo_cache::{CacheEntry, CacheVariant};
use fieldcheck_domain::limits::is_sha256;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The cache directory.
#[derive(Clone, Debug)]
pub struct PhotoCache {
    root: PathBuf,
}

impl PhotoCache {
    /// Opens (creating) the cache under `root`, removing temporary files a crash left.
    pub fn open(root: impl Into<PathBuf>) -> Result<PhotoCache, PhotoError> {
        let cache = PhotoCache { root: root.into() };
        for variant in [CacheVariant::Full, CacheVariant::Thumb] {
            let dir = cache.dir(variant);
            fs::create_dir_all(&dir).map_err(PhotoError::io("create photo cache"))?;
            for entry in fs::read_dir(&dir).map_err(PhotoError::io("read photo cache"))? {
                let path = entry.map_err(PhotoError::io("read photo cache"))?.path();
                if path.extension().is_some_and(|e| e == "tmp") {
                    let _ = fs::remove_file(path);
                }
            }
        }
        Ok(cache)
    }

    fn dir(&self, variant: CacheVariant) -> PathBuf {
        self.root.join(match variant {
            CacheVariant::Full => "full",
            CacheVariant::Thumb => "thumbs",
        })
    }

    /// Where a copy lives (whether or not it is there).
    pub fn path(&self, sha256: &str, variant: CacheVariant) -> PathBuf {
        self.dir(variant).join(format!("{sha256}.jpg"))
    }

    /// The file of a cached copy, marked used at `now_ms`; `None` when it is not cached (an
    /// index row whose file is gone is dropped).
    pub fn get(
        &self,
        store: &mut Store,
        sha256: &str,
        variant: CacheVariant,
        now_ms: i64,
    ) -> Result<Option<PathBuf>, PhotoError> {
        let path = self.path(sha256, variant);
        if !store.cache_touch(sha256, variant, now_ms).map_err(record)? {
            return Ok(None);
        }
        if path.exists() {
            Ok(Some(path))
        } else {
            store.cache_remove(sha256, variant).map_err(record)?;
            Ok(None)
        }
    }

    /// Checks and keeps a fetched copy, then evicts the least recently used copies until the
    /// cache is within its cap. A copy larger than the cap is refused.
    pub fn put(
        &self,
        store: &mut Store,
        sha256: &str,
        variant: CacheVariant,
        bytes: &[u8],
        now_ms: i64,
    ) -> Result<(), PhotoError> {
        // The name comes from the server: only a photo's hash may become a file name here.
        if !is_sha256(sha256)
            || (variant == CacheVariant::Full && hex::encode(Sha256::digest(bytes)) != sha256)
        {
            return Err(PhotoError::HashMismatch {
                sha256: sha256.to_string(),
            });
        }
        let max_side = match variant {
            CacheVariant::Full => PHOTO_LONG_EDGE,
            CacheVariant::Thumb => THUMB_LONG_EDGE,
        };
        check_image(bytes, max_side)?;
        let cap = store.photo_cache_cap().map_err(record)?;
        if bytes.len() as u64 > cap {
            return Err(PhotoError::CacheTooSmall);
        }
        let path = self.path(sha256, variant);
        write_atomically(&path, bytes).map_err(PhotoError::io("write photo cache"))?;
        let entry = CacheEntry {
            sha256: sha256.to_string(),
            variant,
            bytes: bytes.len() as u64,
        };
        store.cache_add(&entry, now_ms).map_err(record)?;
        self.evict(store, cap, &entry)
    }

    /// Removes least recently used copies, never `keep`, until the cache holds at most `cap`
    /// bytes.
    fn evict(&self, store: &mut Store, cap: u64, keep: &CacheEntry) -> Result<(), PhotoError> {
        let mut total = store.cache_total().map_err(record)?;
        while total > cap {
            let oldest = store.cache_least_recent(64).map_err(record)?;
            let candidates: Vec<CacheEntry> = oldest
                .into_iter()
                .filter(|e| e.sha256 != keep.sha256 || e.variant != keep.variant)
                .collect();
            if candidates.is_empty() {
                break;
            }
            for e in candidates {
                if total <= cap {
                    break;
                }
                match fs::remove_file(self.path(&e.sha256, e.variant)) {
                    Ok(()) => {}
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => return Err(PhotoError::io("evict from photo cache")(err)),
                }
                store.cache_remove(&e.sha256, e.variant).map_err(record)?;
                total = total.saturating_sub(e.bytes);
            }
        }
        Ok(())
    }

    /// Bytes of the files in the cache directories (what the disk holds, index aside).
    pub fn bytes_on_disk(&self) -> Result<u64, PhotoError> {
        let mut total = 0;
        for variant in [CacheVariant::Full, CacheVariant::Thumb] {
            for entry in
                fs::read_dir(self.dir(variant)).map_err(PhotoError::io("read photo cache"))?
            {
                let meta = entry
                    .and_then(|e| e.metadata())
                    .map_err(PhotoError::io("read photo cache"))?;
                total += meta.len();
            }
        }
        Ok(total)
    }

    /// Deletes every cached file (a wipe; the store's index goes with the store's wipe).
    pub fn clear(&self) -> Result<(), PhotoError> {
        for variant in [CacheVariant::Full, CacheVariant::Thumb] {
            let dir = self.dir(variant);
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).map_err(PhotoError::io("clear photo cache"))?;
        }
        Ok(())
    }
}

fn record(e: crate::store::StoreError) -> PhotoError {
    PhotoError::Record(Box::new(e))
}

/// Writes through a synced temporary file and a rename: a reader sees the whole copy or none.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temp = path.with_extension("tmp");
    let mut file = fs::File::create(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&temp, path)
}
