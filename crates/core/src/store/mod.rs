//! The tablet's local database: the only module that speaks SQL.
//!
//! One SQLite file in WAL mode with foreign keys on and `synchronous=FULL` (tablets die of flat
//! batteries: a write that returned is on disk). Every change the tablet makes is written in one
//! transaction together with its outbox entry, so nothing can be changed without being queued
//! for the server, and nothing queued without being changed.
//!
//! Submodules group the typed API: [`catalog`] (server-owned data: site types, sites, units,
//! taxonomy, templates), [`inspections`] (inspections and item results), [`findings`]
//! (findings, photo records and rectification events), [`drafts`] (photos of a finding not
//! saved yet), [`outbox`], scores read from the
//! stored answers, and the pulled assignments behind [`Store::assignments_for`].

mod assignments;
pub mod catalog;
mod check_ins;
pub mod drafts;
mod error;
pub mod findings;
pub mod inspections;
pub mod outbox;
pub mod photo_cache;
pub mod rechecks;
mod schema;
mod scores;
pub mod sync_state;
mod validate;
mod wipe;

pub use error::{Result, StoreError};

use fieldcheck_domain::clock::Clock;
use fieldcheck_protocol::{Hlc, Record, Template};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// An open tablet database.
///
/// Reads take `&self`; writes take `&mut self` and are each one transaction. Share it between
/// threads behind a mutex.
pub struct Store {
    conn: Connection,
    clock: Clock,
    device_id: Uuid,
    templates: Mutex<HashMap<(String, u32), Arc<Template>>>,
}

impl Store {
    /// Opens the database at `path`, creating it and its device id on first use and bringing its
    /// schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrations().to_latest(&mut conn)?;
        let device_id = device_id(&conn)?;
        let clock = Clock::new(device_id);
        let last: String = conn.query_row("SELECT last_hlc FROM outbox_state", [], |r| r.get(0))?;
        if let Ok(last) = last.parse::<Hlc>() {
            // A wall clock that jumped back beyond the allowed drift cannot be merged; the
            // outbox sequence still orders this device's own changes.
            let _ = clock.merge(last);
        }
        Ok(Store {
            conn,
            clock,
            device_id,
            templates: Mutex::default(),
        })
    }

    /// This tablet's id: a UUIDv7 made when the database was created.
    pub fn device_id(&self) -> Uuid {
        self.device_id
    }

    /// The device's hybrid logical clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Runs `PRAGMA integrity_check` and returns its report (`["ok"]` when sound).
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Runs `f` in one transaction with a fresh HLC stamp; commits only if `f` succeeds.
    fn write<T>(&mut self, f: impl FnOnce(&Transaction, Hlc) -> Result<T>) -> Result<T> {
        let hlc = self.clock.now();
        let tx = self.conn.transaction()?;
        let out = f(&tx, hlc)?;
        tx.commit()?;
        Ok(out)
    }
}

/// Appends `record` to the outbox in the caller's transaction and returns its sequence number.
fn enqueue(tx: &Transaction, hlc: Hlc, record: &Record) -> Result<u64> {
    let seq: i64 = tx.query_row(
        "UPDATE outbox_state SET last_seq = last_seq + 1, last_hlc = ?1 RETURNING last_seq",
        params![hlc.to_string()],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT INTO outbox (seq, hlc, record) VALUES (?1, ?2, ?3)",
        params![seq, hlc.to_string(), serde_json::to_string(record)?],
    )?;
    Ok(seq as u64)
}

fn device_id(conn: &Connection) -> Result<Uuid> {
    let existing: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'device_id'", [], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(id) = existing.and_then(|s| s.parse().ok()) {
        return Ok(id);
    }
    let id = Uuid::now_v7();
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('device_id', ?1)",
        [id.to_string()],
    )?;
    Ok(id)
}

/// Reads a JSON `body` column into a record type.
fn from_json<T: serde::de::DeserializeOwned>(body: String) -> Result<T> {
    Ok(serde_json::from_str(&body)?)
}

#[cfg(test)]
mod tests;
