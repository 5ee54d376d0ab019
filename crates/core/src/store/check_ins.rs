//! Check-ins (到场核验): a site's QR label scanned on site, kept and queued for the server.

use super::{Result, Store, enqueue, from_json};
use fieldcheck_domain::china_time::same_china_day;
use fieldcheck_protocol::{CheckInRecord, Record};
use rusqlite::params;
use uuid::Uuid;

impl Store {
    /// Records a signed check-in and queues it, in one transaction; the store stamps its HLC
    /// (not part of what is signed). The site must be known here.
    pub fn add_check_in(&mut self, check_in: &CheckInRecord) -> Result<CheckInRecord> {
        self.site(check_in.site_id)?;
        self.write(|tx, hlc| {
            let mut record = check_in.clone();
            record.hlc = hlc;
            tx.execute(
                "INSERT INTO check_ins (id, site_id, at, body) VALUES (?1, ?2, ?3, ?4)",
                params![
                    record.id.to_string(),
                    record.site_id.to_string(),
                    record.at,
                    serde_json::to_string(&record)?
                ],
            )?;
            enqueue(tx, hlc, &Record::CheckIn(record.clone()))?;
            Ok(record)
        })
    }

    /// The latest check-in at `site_id` on the China day of `at_ms` (到场核验 for work done
    /// then), if any.
    pub fn check_in_on_day(&self, site_id: Uuid, at_ms: i64) -> Result<Option<CheckInRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT body FROM check_ins WHERE site_id = ?1 AND at BETWEEN ?2 AND ?3 ORDER BY at DESC",
        )?;
        let day = 86_400_000;
        let rows = stmt.query_map(
            params![site_id.to_string(), at_ms - day, at_ms + day],
            |r| r.get::<_, String>(0),
        )?;
        for row in rows {
            let c: CheckInRecord = from_json(row?)?;
            if same_china_day(c.at, at_ms) {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }
}
