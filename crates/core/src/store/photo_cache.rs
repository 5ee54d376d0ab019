//! The photo cache's index: which photos of other tablets (a re-check's before-photos) are
//! held, in which size, how many bytes, and when each was last shown. The files themselves are
//! [`crate::photo::PhotoCache`]'s.

use super::{Result, Store};
use rusqlite::{OptionalExtension, params};

/// Default cap of the photo cache, in bytes (1 GiB).
pub const DEFAULT_PHOTO_CACHE_CAP: u64 = 1 << 30;

/// Which copy of a photo a cache entry holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CacheVariant {
    /// The photo as stored on the server.
    Full,
    /// Its 320-pixel thumbnail.
    Thumb,
}

impl CacheVariant {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheVariant::Full => "full",
            CacheVariant::Thumb => "thumb",
        }
    }
}

/// A cache entry, as eviction sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheEntry {
    /// The photo.
    pub sha256: String,
    /// Which copy.
    pub variant: CacheVariant,
    /// Its size in bytes.
    pub bytes: u64,
}

impl Store {
    /// The cache's size cap in bytes (the setting, else [`DEFAULT_PHOTO_CACHE_CAP`]).
    pub fn photo_cache_cap(&self) -> Result<u64> {
        let v: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'photo_cache_cap_bytes'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_PHOTO_CACHE_CAP))
    }

    /// Sets the cache's size cap in bytes.
    pub fn set_photo_cache_cap(&mut self, bytes: u64) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES ('photo_cache_cap_bytes', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [bytes.to_string()],
        )?;
        Ok(())
    }

    /// Whether the cache holds this copy; marks it used at `now_ms` if so.
    pub fn cache_touch(
        &mut self,
        sha256: &str,
        variant: CacheVariant,
        now_ms: i64,
    ) -> Result<bool> {
        Ok(self.conn.execute(
            "UPDATE photo_cache SET last_used = ?3 WHERE sha256 = ?1 AND variant = ?2",
            params![sha256, variant.as_str(), now_ms],
        )? > 0)
    }

    /// Whether the cache holds this copy (without marking it used).
    pub fn cache_has(&self, sha256: &str, variant: CacheVariant) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM photo_cache WHERE sha256 = ?1 AND variant = ?2",
                params![sha256, variant.as_str()],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .is_some())
    }

    /// Records a copy placed in the cache.
    pub fn cache_add(&mut self, entry: &CacheEntry, now_ms: i64) -> Result<()> {
        self.conn.execute(
            "INSERT INTO photo_cache (sha256, variant, bytes, last_used) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (sha256, variant) DO UPDATE SET bytes = excluded.bytes, last_used = excluded.last_used",
            params![entry.sha256, entry.variant.as_str(), entry.bytes as i64, now_ms],
        )?;
        Ok(())
    }

    /// Forgets a copy (its file is gone or going).
    pub fn cache_remove(&mut self, sha256: &str, variant: CacheVariant) -> Result<()> {
        self.conn.execute(
            "DELETE FROM photo_cache WHERE sha256 = ?1 AND variant = ?2",
            params![sha256, variant.as_str()],
        )?;
        Ok(())
    }

    /// Bytes the cache holds.
    pub fn cache_total(&self) -> Result<u64> {
        let n: i64 =
            self.conn
                .query_row("SELECT COALESCE(SUM(bytes), 0) FROM photo_cache", [], |r| {
                    r.get(0)
                })?;
        Ok(n as u64)
    }

    /// The least recently used entries, oldest first, at most `limit`.
    pub fn cache_least_recent(&self, limit: u32) -> Result<Vec<CacheEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sha256, variant, bytes FROM photo_cache ORDER BY last_used, sha256 LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            let variant = match r.get::<_, String>(1)?.as_str() {
                "full" => CacheVariant::Full,
                _ => CacheVariant::Thumb,
            };
            Ok(CacheEntry {
                sha256: r.get(0)?,
                variant,
                bytes: r.get::<_, i64>(2)? as u64,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Photos pulled from the server (other tablets' photos of findings held here) whose
    /// thumbnail the cache does not hold, at most `limit`.
    pub fn remote_photos_without_thumb(&self, limit: u32) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.sha256 FROM photos p WHERE p.remote = 1 AND NOT EXISTS
             (SELECT 1 FROM photo_cache c WHERE c.sha256 = p.sha256 AND c.variant = 'thumb')
             ORDER BY p.rowid LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| r.get(0))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Photos worth having whole before going out today: other tablets' photos of the open
    /// findings at the sites assigned for `date` (`YYYY-MM-DD`), not cached whole yet.
    pub fn prefetch_candidates(&self, date: &str, limit: u32) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT p.sha256 FROM photos p
             JOIN findings f ON f.id = p.finding_id
             JOIN assignments a ON a.site_id = f.site_id
             WHERE p.remote = 1 AND f.status <> 'closed' AND a.date = ?1 AND a.cancelled = 0
               AND NOT EXISTS (SELECT 1 FROM photo_cache c
                               WHERE c.sha256 = p.sha256 AND c.variant = 'full')
             ORDER BY p.sha256 LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![date, limit], |r| r.get(0))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Whether a photo record came from the server (its bytes live in the cache, if anywhere).
    pub fn is_remote_photo(&self, sha256: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT remote FROM photos WHERE sha256 = ?1",
                [sha256],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            == Some(1))
    }
}
