//! The outbox: every change waiting for the server, in the device's gap-free sequence.

use super::{Result, Store};
use fieldcheck_protocol::OutboxEntry;
use rusqlite::params;

/// How much is waiting to be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutboxStats {
    /// Entries not yet acknowledged.
    pub pending: u64,
    /// Sequence number of the oldest pending entry, if any.
    pub first_seq: Option<u64>,
    /// Last sequence number ever issued (0 before the first change).
    pub last_seq: u64,
}

impl Store {
    /// Up to `limit` pending entries, lowest sequence first.
    pub fn outbox_pending(&self, limit: u32) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, hlc, record FROM outbox ORDER BY seq LIMIT ?1")?;
        let rows = stmt.query_map([limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        rows.map(|row| {
            let (seq, hlc, record) = row?;
            Ok(OutboxEntry {
                seq: seq as u64,
                hlc: hlc
                    .parse()
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
                record: serde_json::from_str(&record)?,
            })
        })
        .collect()
    }

    /// Drops every entry up to and including `seq`: the server has said they are committed.
    /// Returns how many were dropped.
    pub fn ack_outbox(&mut self, seq: u64) -> Result<usize> {
        Ok(self
            .conn
            .execute("DELETE FROM outbox WHERE seq <= ?1", params![seq as i64])?)
    }

    /// Counts of pending work.
    pub fn outbox_stats(&self) -> Result<OutboxStats> {
        let (pending, first, last): (i64, Option<i64>, i64) = self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM outbox), (SELECT MIN(seq) FROM outbox), last_seq FROM outbox_state",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok(OutboxStats {
            pending: pending as u64,
            first_seq: first.map(|s| s as u64),
            last_seq: last as u64,
        })
    }
}
