//! Wiping a revoked tablet: every record, every catalogue row and the login go, the device
//! gets a new id (the old one stays revoked on the server), and the freed pages are
//! overwritten so that the data cannot be read back from the file.

use super::{Result, Store};
use fieldcheck_domain::clock::Clock;
use rusqlite::params;
use uuid::Uuid;

/// Tables holding data, children before parents so that foreign keys hold at every step.
const DATA_TABLES: &[&str] = &[
    "photo_drafts",
    "check_ins",
    "photo_cache",
    "rectification_events",
    "photos",
    "item_results",
    "findings",
    "inspections",
    "outbox",
    "assignments",
    "sites",
    "templates",
    "subcategories",
    "units",
    "site_types",
    "people",
];

impl Store {
    /// Deletes everything this tablet holds — records, unsynced ones included, the catalogue,
    /// the login and the pull cursor — and gives the device a new id. Only for a device the
    /// server has confirmed revoked ([`crate::sync::SyncEngine`] checks that first). The file is
    /// then vacuumed with `secure_delete` on, so the deleted rows are overwritten, not just
    /// unlinked. Returns the new device id.
    pub fn wipe(&mut self) -> Result<Uuid> {
        self.conn.pragma_update(None, "secure_delete", "ON")?;
        let new_id = Uuid::now_v7();
        let tx = self.conn.transaction()?;
        // The rectification log is append-only for every other purpose.
        tx.execute_batch("DROP TRIGGER rectification_no_delete")?;
        for table in DATA_TABLES {
            tx.execute(&format!("DELETE FROM {table}"), [])?;
        }
        tx.execute_batch(super::schema::RECTIFICATION_NO_DELETE)?;
        tx.execute("UPDATE outbox_state SET last_seq = 0, last_hlc = ''", [])?;
        tx.execute(
            "UPDATE sync_state SET server_url = NULL, token = NULL, username = NULL, pull_cursor = 0, last_success_ms = NULL, last_error = NULL, county_id = NULL, scope_version = NULL",
            [],
        )?;
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'device_id'",
            params![new_id.to_string()],
        )?;
        tx.commit()?;
        self.conn.execute_batch("VACUUM")?;
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let clock = Clock::new(new_id);
        if let Some(trusted) = self.clock.followed() {
            clock.follow(trusted);
        }
        self.clock = clock;
        self.device_id = new_id;
        self.templates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        Ok(new_id)
    }
}
