//! What the sync engine keeps between sessions: the login, the pull cursor, the last outcome,
//! which photos the server has confirmed, and pulled server data applied in one transaction.

use super::{Result, Store, assignments, catalog, findings};
use fieldcheck_protocol::{Change, ChangeItem, PhotoRecord};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use uuid::Uuid;

/// The tablet's login and sync bookkeeping.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SyncState {
    /// Base URL of the county server, e.g. `https://cc.example.gov.cn`.
    pub server_url: Option<String>,
    /// Device token from the last login (kept in the app's private data dir).
    #[serde(skip)]
    pub token: Option<String>,
    /// Account name of the signed-in inspector.
    pub username: Option<String>,
    /// Pull cursor: the server change sequence applied so far.
    pub pull_cursor: u64,
    /// When the last session finished without error, milliseconds since the Unix epoch.
    pub last_success_ms: Option<i64>,
    /// The last session's error in plain words, cleared by a successful session.
    pub last_error: Option<String>,
    /// The county server's id, learnt at sign-in: a scanned site label must carry it.
    pub county_id: Option<Uuid>,
    /// The account's scope version the pulled copy was pulled under (none before the first
    /// scoped pull).
    pub scope_version: Option<u64>,
    /// The signed-in person's name (姓名) as the server gave it at sign-in (none from servers
    /// before names).
    pub display_name: Option<String>,
}

impl Store {
    /// The sync bookkeeping.
    pub fn sync_state(&self) -> Result<SyncState> {
        Ok(self.conn.query_row(
            "SELECT server_url, token, username, pull_cursor, last_success_ms, last_error, county_id, scope_version, display_name FROM sync_state",
            [],
            |r| {
                Ok(SyncState {
                    server_url: r.get(0)?,
                    token: r.get(1)?,
                    username: r.get(2)?,
                    pull_cursor: r.get::<_, i64>(3)? as u64,
                    last_success_ms: r.get(4)?,
                    last_error: r.get(5)?,
                    county_id: r
                        .get::<_, Option<String>>(6)?
                        .and_then(|c| Uuid::try_parse(&c).ok()),
                    scope_version: r.get::<_, Option<i64>>(7)?.map(|v| v as u64),
                    display_name: r.get(8)?,
                })
            },
        )?)
    }

    /// Keeps a successful login. Signing in as another account or to another server starts the
    /// pull from the beginning.
    pub fn save_login(&mut self, server_url: &str, username: &str, token: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE sync_state SET
               pull_cursor = CASE WHEN server_url IS ?1 AND username IS ?2 THEN pull_cursor ELSE 0 END,
               server_url = ?1, username = ?2, token = ?3",
            params![server_url, username, token],
        )?;
        Ok(())
    }

    /// Keeps the county server's id that the last sign-in reported (none from older servers).
    pub fn save_county(&mut self, county: Option<Uuid>) -> Result<()> {
        self.conn.execute(
            "UPDATE sync_state SET county_id = ?1",
            [county.map(|c| c.to_string())],
        )?;
        Ok(())
    }

    /// Keeps the person's name the last sign-in reported (none from older servers).
    pub fn save_display_name(&mut self, name: Option<&str>) -> Result<()> {
        self.conn
            .execute("UPDATE sync_state SET display_name = ?1", [name])?;
        Ok(())
    }

    /// Forgets the token (logout, or the server said it expired). Unsynced work stays.
    pub fn forget_token(&mut self) -> Result<()> {
        self.conn
            .execute("UPDATE sync_state SET token = NULL", [])?;
        Ok(())
    }

    /// Records how a session ended: `Ok(now_ms)` or the error in plain words.
    pub fn record_sync_outcome(&mut self, outcome: std::result::Result<i64, &str>) -> Result<()> {
        match outcome {
            Ok(at) => self.conn.execute(
                "UPDATE sync_state SET last_success_ms = ?1, last_error = NULL",
                [at],
            )?,
            Err(e) => self
                .conn
                .execute("UPDATE sync_state SET last_error = ?1", [e])?,
        };
        Ok(())
    }

    /// Photo records whose bytes the server has not confirmed yet, oldest first.
    pub fn photos_not_uploaded(&self) -> Result<Vec<PhotoRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT body FROM photos WHERE uploaded = 0 ORDER BY rowid")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.map(|r| super::from_json(r?)).collect()
    }

    /// Marks photos as held by the server (verified there).
    pub fn mark_photos_uploaded(&mut self, hashes: &[String]) -> Result<()> {
        let tx = self.conn.transaction()?;
        for h in hashes {
            tx.execute("UPDATE photos SET uploaded = 1 WHERE sha256 = ?1", [h])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Applies one page of server changes and moves the pull cursor to `page.cursor`, in one
    /// transaction: a page is applied whole or not at all, so a cut-off pull resumes cleanly.
    /// Rectification steps and photo records of findings this tablet does not hold are skipped.
    /// A page marked `reset` (the account's districts changed) first retires every finding
    /// pulled before: see [`retire_pulled`].
    pub fn apply_pull(&mut self, page: &PulledPage<'_>) -> Result<()> {
        let tx = self.conn.transaction()?;
        if page.reset {
            retire_pulled(&tx, self.device_id)?;
        }
        for change in page.changes {
            match &change.item {
                ChangeItem::SiteType(t) => catalog::upsert_site_type(&tx, t)?,
                ChangeItem::Unit(u) => catalog::upsert_unit(&tx, u)?,
                ChangeItem::Subcategory(s) => catalog::upsert_subcategory(&tx, s)?,
                ChangeItem::Template(t) => catalog::insert_template(&tx, t)?,
                ChangeItem::Site(s) => catalog::upsert_site_in(&tx, s)?,
                ChangeItem::Assignment(a) => assignments::upsert_assignment(&tx, a)?,
                ChangeItem::Finding(f) => findings::insert_remote_finding(&tx, f)?,
                ChangeItem::Rectification(e) => {
                    let known: Option<i64> = tx
                        .query_row(
                            "SELECT 1 FROM findings WHERE id = ?1",
                            [e.finding_id.to_string()],
                            |r| r.get(0),
                        )
                        .optional()?;
                    if known.is_some() {
                        findings::insert_event(&tx, e)?;
                    }
                }
                ChangeItem::Photo(p) => findings::insert_remote_photo(&tx, p)?,
                ChangeItem::FindingNumber(n) => findings::set_number(&tx, n)?,
                ChangeItem::Person(p) => catalog::upsert_person(&tx, p)?,
            }
        }
        tx.execute(
            "UPDATE sync_state SET pull_cursor = ?1, scope_version = ?2",
            params![page.cursor as i64, page.scope_version as i64],
        )?;
        tx.commit()?;
        Ok(())
    }
}

/// One pulled page, as [`Store::apply_pull`] applies it.
#[derive(Clone, Copy, Debug)]
pub struct PulledPage<'a> {
    /// The changes, in cursor order.
    pub changes: &'a [Change],
    /// The cursor after them.
    pub cursor: u64,
    /// The account's scope version the page was cut for.
    pub scope_version: u64,
    /// Whether the page starts again from cursor 0 under a new scope.
    pub reset: bool,
}

/// Drops every finding this tablet pulled (another device's), with its steps and photo
/// records, except those this tablet's unsent work refers to (a step or photo still in the
/// outbox, a photo whose bytes the server does not hold yet): the pull that follows brings back what is still in scope. Cached photo files of
/// retired records stay until the cache evicts them.
fn retire_pulled(tx: &rusqlite::Transaction, device: Uuid) -> Result<()> {
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS retired (id TEXT PRIMARY KEY); DELETE FROM temp.retired;",
    )?;
    tx.execute(
        "INSERT INTO temp.retired (id) SELECT id FROM findings
         WHERE json_extract(body, '$.device_id') <> ?1
           AND id NOT IN (SELECT json_extract(record, '$.finding_id') FROM outbox
                          WHERE json_extract(record, '$.finding_id') IS NOT NULL)
           AND id NOT IN (SELECT finding_id FROM photos
                          WHERE uploaded = 0 AND finding_id IS NOT NULL)",
        [device.to_string()],
    )?;
    // The rectification log is append-only for every other purpose.
    tx.execute_batch("DROP TRIGGER rectification_no_delete")?;
    tx.execute_batch(
        "DELETE FROM rectification_events WHERE finding_id IN (SELECT id FROM temp.retired);
         DELETE FROM photos WHERE finding_id IN (SELECT id FROM temp.retired);
         DELETE FROM findings WHERE id IN (SELECT id FROM temp.retired);
         DELETE FROM temp.retired;",
    )?;
    tx.execute_batch(super::schema::RECTIFICATION_NO_DELETE)?;
    Ok(())
}
