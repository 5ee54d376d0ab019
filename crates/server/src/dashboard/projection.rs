//! Keeps the dashboard's read models up to date: triggers mark findings and inspections dirty
//! when tablets or the office write them; [`refresh`] recomputes the dirty ones, in batches,
//! before the dashboard reads (the ledger here, the scores in [`super::score_model`]). The status is core's
//! [`derive_status`], the compliance of an answer core's scoring, so the dashboard, the API
//! and the tablets agree.

use crate::store::dashboard::{Arg, Cell, Statement};
use crate::store::{Store, StoreResult};
use fieldcheck_domain::rectification::{Duty, Status, derive_status, duty};
use fieldcheck_protocol::{
    FindingRecord, PhotoRecord, RectificationAction, RectificationEventRecord, Site,
};
use std::collections::HashMap;

/// Findings or inspections recomputed per transaction.
pub(super) const BATCH: usize = 500;
/// Most batches per refresh call (a writer that never stops cannot hold a page forever).
pub(super) const MAX_BATCHES: usize = 1_000;

/// Brings both read models up to date.
pub async fn refresh(store: &dyn Store) -> StoreResult<()> {
    refresh_findings(store).await?;
    super::score_model::refresh_inspections(store).await
}

/// `$1, $2, …` for `n` arguments starting at `$first`.
pub fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) async fn sites(store: &dyn Store) -> StoreResult<HashMap<String, Site>> {
    let rows = store
        .dash_query("SELECT id, payload FROM sites", Vec::new())
        .await?;
    let mut out = HashMap::new();
    for r in rows {
        let site: Site = serde_json::from_str(r[1].text())?;
        out.insert(r[0].text().to_string(), site);
    }
    Ok(out)
}

pub(super) async fn dirty(
    store: &dyn Store,
    table: &str,
    key: &str,
) -> StoreResult<Vec<(String, i64)>> {
    let rows = store
        .dash_query(
            &format!("SELECT {key}, gen FROM {table} ORDER BY {key} LIMIT {BATCH}"),
            Vec::new(),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r[0].text().to_string(), r[1].int()))
        .collect())
}

/// A finding's ledger line, computed from its record, its log, its photos and its site.
#[derive(Clone, Debug, PartialEq)]
pub struct LedgerLine {
    /// Current status.
    pub status: Status,
    /// Unit it is dispatched to now (the last 派遣), else the unit named on site.
    pub unit: Option<String>,
    /// Deadline `YYYY-MM-DD`: the last 派遣's, else the finding's; 当场整改 findings are due
    /// the day they were found.
    pub deadline: Option<String>,
    /// Whether the finding is still owed work that a deadline applies to (it becomes overdue
    /// when the deadline passes): a 当场整改 finding until closed, others while waiting for
    /// the unit (open, dispatched, sent back).
    pub due_open: bool,
    /// The latest after-photo named by a 处置 or 核查 step.
    pub after_photo: Option<String>,
    /// When its owed work was done ([`finished_at`]).
    pub finished_at: Option<i64>,
    /// Whether that was on or before its deadline (China day); `None` when not done or without
    /// a deadline.
    pub on_time: Option<bool>,
}

/// Computes a finding's ledger line: its status, and unit, deadline and what it owes by the
/// domain's [`duty`] rule (the tablet's 回头看 list asks the same).
pub fn ledger_line(f: &FindingRecord, events: &[RectificationEventRecord]) -> LedgerLine {
    let mut ordered: Vec<&RectificationEventRecord> = events.iter().collect();
    ordered.sort_by_key(|e| (e.hlc, e.id));
    let status = derive_status(events.iter());
    let Duty {
        unit,
        deadline,
        due_open,
    } = duty(f, events);
    let after_photo = ordered
        .iter()
        .rev()
        .filter(|e| {
            matches!(
                e.action,
                RectificationAction::Rectified | RectificationAction::Verified
            )
        })
        .find_map(|e| e.photo_sha256.clone());
    let finished_at = finished_at(f.same_day, events);
    let on_time = finished_at
        .zip(deadline.as_deref())
        .map(|(at, d)| fieldcheck_domain::china_time::china_date(at).as_str() <= d);
    LedgerLine {
        status,
        unit,
        deadline,
        due_open,
        after_photo,
        finished_at,
        on_time,
    }
}

/// When the finding's owed work was done: the domain's rule, which the bulletin (通报) asks too.
pub use fieldcheck_domain::rectification::finished_at;

const UPSERT_LEDGER: &str = "INSERT INTO dash_ledger (finding_id, created_at, site_id, site_name, site_type, district, street, category, subcategory, item_code, description, severity, unit, status, deadline, due_open, same_day, reporter, device_id, thumb, after_photo, updated_at, finished_at, finished_on_time, located, lat, lon) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27) ON CONFLICT (finding_id) DO UPDATE SET created_at = excluded.created_at, site_id = excluded.site_id, site_name = excluded.site_name, site_type = excluded.site_type, district = excluded.district, street = excluded.street, category = excluded.category, subcategory = excluded.subcategory, item_code = excluded.item_code, description = excluded.description, severity = excluded.severity, unit = excluded.unit, status = excluded.status, deadline = excluded.deadline, due_open = excluded.due_open, same_day = excluded.same_day, reporter = excluded.reporter, device_id = excluded.device_id, thumb = excluded.thumb, after_photo = excluded.after_photo, updated_at = excluded.updated_at, finished_at = excluded.finished_at, finished_on_time = excluded.finished_on_time, located = excluded.located, lat = excluded.lat, lon = excluded.lon";

async fn refresh_findings(store: &dyn Store) -> StoreResult<()> {
    let mut site_cache: Option<HashMap<String, Site>> = None;
    for _ in 0..MAX_BATCHES {
        let batch = dirty(store, "dash_dirty_findings", "finding_id").await?;
        if batch.is_empty() {
            return Ok(());
        }
        if site_cache.is_none() {
            site_cache = Some(sites(store).await?);
        }
        let sites = site_cache.as_ref().expect("loaded above");
        let ids: Vec<Arg> = batch.iter().map(|(id, _)| Arg::from(id.as_str())).collect();
        let list = placeholders(1, ids.len());
        let findings = store
            .dash_query(
                &format!("SELECT payload FROM findings WHERE id IN ({list})"),
                ids.clone(),
            )
            .await?;
        let mut events: HashMap<String, Vec<RectificationEventRecord>> = HashMap::new();
        for r in store
            .dash_query(
                &format!(
                    "SELECT finding_id, payload FROM rectification_events WHERE finding_id IN ({list})"
                ),
                ids.clone(),
            )
            .await?
        {
            events
                .entry(r[0].text().to_string())
                .or_default()
                .push(serde_json::from_str(r[1].text())?);
        }
        let mut thumbs: HashMap<String, String> = HashMap::new();
        for r in store
            .dash_query(
                &format!(
                    "SELECT finding_id, sha256, payload FROM photo_findings WHERE kind = 'before' AND stored_at IS NOT NULL AND finding_id IN ({list}) ORDER BY sha256"
                ),
                ids,
            )
            .await?
        {
            // A photo as captured, not a marked copy (pages show the copy beside its original).
            let photo: PhotoRecord = serde_json::from_str(r[2].text())?;
            if photo.marked_from.is_none() {
                thumbs
                    .entry(r[0].text().to_string())
                    .or_insert_with(|| r[1].text().to_string());
            }
        }
        let now = crate::clock::now_ms();
        let mut stmts: Vec<Statement> = Vec::with_capacity(batch.len() * 2);
        for r in &findings {
            let f: FindingRecord = serde_json::from_str(r[0].text())?;
            let id = f.id.to_string();
            let line = ledger_line(&f, events.get(&id).map_or(&[][..], Vec::as_slice));
            let site = sites.get(&f.site_id.to_string());
            let s = |v: Option<&str>| Arg::from(v.unwrap_or("").to_string());
            stmts.push((
                UPSERT_LEDGER.into(),
                vec![
                    id.clone().into(),
                    Arg::Int(f.created_at),
                    f.site_id.to_string().into(),
                    s(site.map(|x| x.name.as_str())),
                    s(site.map(|x| x.site_type.as_str())),
                    s(site.map(|x| x.district.as_str())),
                    s(site.map(|x| x.street.as_str())),
                    f.category.as_str().into(),
                    f.subcategory.clone().into(),
                    f.item_code.clone().into(),
                    f.description.clone().into(),
                    f.severity.as_str().into(),
                    line.unit.into(),
                    line.status.as_str().into(),
                    line.deadline.into(),
                    Arg::Int(i64::from(line.due_open)),
                    Arg::Int(i64::from(f.same_day)),
                    f.reporter.clone().into(),
                    f.device_id.to_string().into(),
                    thumbs.remove(&id).into(),
                    line.after_photo.into(),
                    Arg::Int(now),
                    line.finished_at.map_or(Arg::NullInt, Arg::Int),
                    line.on_time
                        .map_or(Arg::NullInt, |t| Arg::Int(i64::from(t))),
                    Arg::Int(i64::from(f.position.is_some())),
                    Arg::Real(f.position.map_or(0.0, |p| p.lat)),
                    Arg::Real(f.position.map_or(0.0, |p| p.lon)),
                ],
            ));
        }
        for (id, generation) in &batch {
            stmts.push((
                "DELETE FROM dash_dirty_findings WHERE finding_id = $1 AND gen = $2".into(),
                vec![id.as_str().into(), Arg::Int(*generation)],
            ));
        }
        store.dash_exec(stmts).await?;
    }
    Ok(())
}

/// Reads a text cell that may be NULL.
pub fn opt(c: &Cell) -> Option<String> {
    c.opt_text().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(same_day: bool) -> FindingRecord {
        FindingRecord {
            id: uuid::Uuid::from_u128(1),
            site_id: uuid::Uuid::from_u128(2),
            inspection_id: None,
            item_code: None,
            category: fieldcheck_protocol::Category::Event,
            subcategory: "litter".into(),
            description: "垃圾".into(),
            severity: fieldcheck_protocol::Severity::Minor,
            position: None,
            unit: Some("street_office".into()),
            deadline: None,
            same_day,
            reporter: "inspector1".into(),
            device_id: uuid::Uuid::from_u128(3),
            // 2026-11-27 10:00 in China.
            created_at: 1_795_744_800_000,
            hlc: fieldcheck_protocol::Hlc::ZERO,
        }
    }

    fn step(
        n: u64,
        action: RectificationAction,
        unit: Option<&str>,
        deadline: Option<&str>,
    ) -> RectificationEventRecord {
        RectificationEventRecord {
            id: uuid::Uuid::from_u128(100 + u128::from(n)),
            finding_id: uuid::Uuid::from_u128(1),
            action,
            actor: "admin".into(),
            note: String::new(),
            unit: unit.map(Into::into),
            deadline: deadline.map(Into::into),
            photo_sha256: (action == RectificationAction::Rectified).then(|| "ab".repeat(32)),
            hlc: fieldcheck_protocol::Hlc { time: n, node: 1 },
        }
    }

    #[test]
    fn a_same_day_finding_is_due_the_day_it_was_found_until_closed() {
        let f = finding(true);
        let open = ledger_line(&f, &[]);
        assert_eq!(open.deadline.as_deref(), Some("2026-11-27"));
        assert!(open.due_open);
        let fixed = ledger_line(&f, &[step(1, RectificationAction::Rectified, None, None)]);
        assert!(fixed.due_open, "still owed a close");
        assert_eq!(fixed.after_photo, Some("ab".repeat(32)));
        let closed = ledger_line(
            &f,
            &[
                step(1, RectificationAction::Rectified, None, None),
                step(2, RectificationAction::Closed, None, None),
            ],
        );
        assert_eq!(closed.status, Status::Closed);
        assert!(!closed.due_open);
    }

    #[test]
    fn the_last_dispatch_sets_unit_and_deadline_and_a_fix_stops_the_clock() {
        let f = finding(false);
        assert!(
            !ledger_line(&f, &[]).due_open,
            "no deadline, nothing to be late for"
        );
        let steps = [
            step(
                1,
                RectificationAction::Dispatched,
                Some("urban_mgmt"),
                Some("2026-11-30"),
            ),
            step(
                2,
                RectificationAction::Dispatched,
                Some("housing"),
                Some("2026-12-05"),
            ),
        ];
        let line = ledger_line(&f, &steps);
        assert_eq!(
            (line.unit.as_deref(), line.deadline.as_deref()),
            (Some("housing"), Some("2026-12-05"))
        );
        assert!(line.due_open);
        let mut more = steps.to_vec();
        more.push(step(3, RectificationAction::Rectified, None, None));
        assert!(
            !ledger_line(&f, &more).due_open,
            "waiting for the office, not the unit"
        );
    }

    #[test]
    fn work_is_finished_by_the_fix_and_undone_by_a_send_back() {
        let at = |s: &RectificationEventRecord| Some(s.hlc.unix_millis());
        let dispatch = step(
            1 << 40,
            RectificationAction::Dispatched,
            Some("housing"),
            None,
        );
        let fix = step(2 << 40, RectificationAction::Rectified, None, None);
        let back = step(3 << 40, RectificationAction::SentBack, None, None);
        let again = step(4 << 40, RectificationAction::Rectified, None, None);
        let close = step(5 << 40, RectificationAction::Closed, None, None);
        assert_eq!(finished_at(false, std::slice::from_ref(&dispatch)), None);
        assert_eq!(
            finished_at(false, &[dispatch.clone(), fix.clone()]),
            at(&fix)
        );
        assert_eq!(
            finished_at(false, &[dispatch.clone(), fix.clone(), back.clone()]),
            None
        );
        let all = [close.clone(), again.clone(), back, fix.clone(), dispatch];
        assert_eq!(
            finished_at(false, &all),
            at(&again),
            "applied in clock order"
        );
        assert_eq!(
            finished_at(true, std::slice::from_ref(&fix)),
            None,
            "same day: owed a close"
        );
        assert_eq!(finished_at(true, &[fix, close.clone()]), at(&close));
    }

    #[test]
    fn placeholders_count_from_the_first() {
        assert_eq!(placeholders(3, 2), "$3, $4");
    }
}
