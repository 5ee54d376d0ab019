//! Assignments (派单): which site the office wants which inspector to inspect on which day.
//! Server-owned, written only by pull (each inspector pulls only its own), never queued in the
//! outbox; they feed the "today's sites" screen.

use super::{Result, Store, from_json};
use fieldcheck_protocol::{Assignment, Site};
use rusqlite::{Transaction, params};

impl Store {
    /// The assignments of `inspector` for `date` (`YYYY-MM-DD`) that are not cancelled, each
    /// with its site, by site name. An assignment whose site has not arrived yet is left out
    /// until it does.
    pub fn assignments_for(&self, inspector: &str, date: &str) -> Result<Vec<(Assignment, Site)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.body, s.body FROM assignments a JOIN sites s ON s.id = a.site_id
             WHERE a.inspector = ?1 AND a.date = ?2 AND a.cancelled = 0
             ORDER BY s.name, a.id",
        )?;
        let rows = stmt.query_map(params![inspector, date], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        rows.map(|r| {
            let (a, s) = r?;
            Ok((from_json(a)?, from_json(s)?))
        })
        .collect()
    }
}

/// Writes a pulled assignment, replacing any earlier copy with the same id.
pub(super) fn upsert_assignment(tx: &Transaction, a: &Assignment) -> Result<()> {
    tx.execute(
        "INSERT INTO assignments (id, inspector, site_id, date, cancelled, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET inspector = excluded.inspector,
           site_id = excluded.site_id, date = excluded.date, cancelled = excluded.cancelled,
           body = excluded.body",
        params![
            a.id.to_string(),
            a.inspector,
            a.site_id.to_string(),
            a.date,
            a.cancelled,
            serde_json::to_string(a)?
        ],
    )?;
    Ok(())
}
