//! Inspections and their item results.

use super::validate;
use super::{Result, Store, StoreError, enqueue, from_json};
use fieldcheck_domain::limits::TextKind;
use fieldcheck_domain::scoring::{Score, score_inspection};
use fieldcheck_protocol::{
    FindingRecord, Hlc, InspectionRecord, ItemKind, ItemResultRecord, ItemValue, Position, Record,
    Site, Template,
};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// What is needed to start an inspection.
#[derive(Clone, Debug)]
pub struct NewInspection {
    /// The site to inspect.
    pub site_id: Uuid,
    /// Template id.
    pub template_id: String,
    /// Exact template version.
    pub template_version: u32,
    /// Inspector's account name.
    pub inspector: String,
    /// Check-in position, when known.
    pub position: Option<Position>,
}

/// Everything the inspection screen shows, read in one go.
#[derive(Clone, Debug)]
pub struct InspectionView {
    /// The inspection.
    pub inspection: InspectionRecord,
    /// Its site.
    pub site: Site,
    /// Its template version.
    pub template: Arc<Template>,
    /// The answers so far, in template order.
    pub results: Vec<ItemResultRecord>,
    /// The site's findings that are not closed, newest first (this inspection's among them).
    pub open_findings: Vec<FindingRecord>,
    /// The live score of the answers so far.
    pub score: Score,
}

impl Store {
    /// Starts an inspection of a site against an exact template version, and queues it.
    pub fn start_inspection(&mut self, new: NewInspection) -> Result<InspectionRecord> {
        let site = self.site(new.site_id)?;
        let template = self.template(&new.template_id, new.template_version)?;
        if template.site_type != site.site_type {
            return Err(StoreError::TemplateNotForSite {
                template: template.id.clone(),
                template_site_type: template.site_type.clone(),
                site_type: site.site_type,
            });
        }
        validate::text("inspector", &new.inspector, TextKind::Line, true)?;
        validate::position(&new.position)?;
        let record = InspectionRecord {
            id: Uuid::now_v7(),
            site_id: new.site_id,
            template_id: new.template_id,
            template_version: new.template_version,
            inspector: new.inspector,
            device_id: self.device_id,
            started_at: unix_millis_now(),
            finished_at: None,
            position: new.position,
            discarded_at: None,
        };
        self.write(|tx, hlc| {
            tx.execute(
                "INSERT INTO inspections (id, site_id, template_id, template_version, started_at, finished_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)",
                params![
                    record.id.to_string(),
                    record.site_id.to_string(),
                    record.template_id,
                    record.template_version,
                    record.started_at,
                    serde_json::to_string(&record)?
                ],
            )?;
            enqueue(tx, hlc, &Record::Inspection(record.clone()))?;
            Ok(())
        })?;
        Ok(record)
    }

    /// Finishes an inspection. Finishing it twice, or a discarded one, is an error.
    pub fn finish_inspection(&mut self, id: Uuid) -> Result<InspectionRecord> {
        let mut record = self.inspection(id)?;
        still_open(&record)?;
        record.finished_at = Some(unix_millis_now().max(record.started_at));
        self.write(|tx, hlc| {
            let changed = tx.execute(
                "UPDATE inspections SET finished_at = ?2, body = ?3 WHERE id = ?1 AND finished_at IS NULL",
                params![id.to_string(), record.finished_at, serde_json::to_string(&record)?],
            )?;
            if changed != 1 {
                return Err(StoreError::InspectionFinished(id));
            }
            enqueue(tx, hlc, &Record::Inspection(record.clone()))?;
            Ok(())
        })?;
        Ok(record)
    }

    /// Discards an unfinished inspection (放弃本次检查: started by accident, or at the wrong
    /// site) and queues the discard, so that the server and the office see it discarded
    /// however much of it was synced already. Its answers stay stored as they were, counted
    /// nowhere. Refused for a finished or already discarded inspection, and for one that
    /// recorded findings or photos: those are real problems for the office, so the inspection
    /// is finished instead and nothing it recorded is lost.
    pub fn discard_inspection(&mut self, id: Uuid) -> Result<InspectionRecord> {
        let mut record = self.inspection(id)?;
        still_open(&record)?;
        let (findings, photos): (i64, i64) = self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM findings WHERE inspection_id = ?1),
                    (SELECT COUNT(*) FROM photos WHERE inspection_id = ?1
                       OR finding_id IN (SELECT id FROM findings WHERE inspection_id = ?1))",
            [id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if findings + photos > 0 {
            return Err(StoreError::DiscardWithFindings {
                findings: findings as u64,
                photos: photos as u64,
            });
        }
        record.discarded_at = Some(unix_millis_now().max(record.started_at));
        self.write(|tx, hlc| {
            let changed = tx.execute(
                "UPDATE inspections SET discarded_at = ?2, body = ?3
                 WHERE id = ?1 AND finished_at IS NULL AND discarded_at IS NULL",
                params![
                    id.to_string(),
                    record.discarded_at,
                    serde_json::to_string(&record)?
                ],
            )?;
            if changed != 1 {
                return Err(StoreError::InspectionDiscarded(id));
            }
            enqueue(tx, hlc, &Record::Inspection(record.clone()))?;
            Ok(())
        })?;
        Ok(record)
    }

    /// Where the inspector is with each site on China-time day `date` (`YYYY-MM-DD`), from
    /// the inspections started that day on this tablet: done once one of them is finished, in
    /// progress while one is open. Sites without a (not discarded) inspection that day are
    /// absent: [`SiteProgress::NotStarted`].
    pub fn progress_on(&self, date: &str) -> Result<HashMap<Uuid, SiteProgress>> {
        let Some(from) = fieldcheck_domain::china_time::china_midnight(date) else {
            return Err(StoreError::invalid(
                "date",
                "is not a YYYY-MM-DD day",
                "不是有效日期",
            ));
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT body FROM inspections
             WHERE started_at >= ?1 AND started_at < ?2 AND discarded_at IS NULL",
        )?;
        let rows = stmt.query_map(params![from, from + 86_400_000], |r| r.get::<_, String>(0))?;
        let mut out: HashMap<Uuid, SiteProgress> = HashMap::new();
        for body in rows {
            let inspection: InspectionRecord = from_json(body?)?;
            let progress = if inspection.finished_at.is_some() {
                SiteProgress::Done
            } else {
                SiteProgress::InProgress
            };
            let entry = out.entry(inspection.site_id).or_insert(progress);
            *entry = (*entry).max(progress);
        }
        Ok(out)
    }

    /// Inspection `id`, when work may still be added to it at `site`: not discarded and of
    /// that site (a finding's form and its draft photos ask this).
    pub(super) fn open_inspection_at(&self, id: Uuid, site: Uuid) -> Result<InspectionRecord> {
        let inspection = self.inspection(id)?;
        if inspection.discarded_at.is_some() {
            return Err(StoreError::InspectionDiscarded(id));
        }
        if inspection.site_id != site {
            return Err(StoreError::invalid(
                "inspection_id",
                "the inspection is of another site",
                "该检查属于其他站点",
            ));
        }
        Ok(inspection)
    }

    /// The inspection with this id.
    pub fn inspection(&self, id: Uuid) -> Result<InspectionRecord> {
        inspection_in(&self.conn, id)
    }

    /// Inspections started and neither finished nor discarded, oldest first: what to offer to
    /// resume after a restart.
    pub fn unfinished_inspections(&self) -> Result<Vec<InspectionRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT body FROM inspections WHERE finished_at IS NULL AND discarded_at IS NULL
             ORDER BY started_at",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.map(|r| from_json(r?)).collect()
    }

    /// Finished inspections, of one site or of all, oldest first.
    pub fn finished_inspections(&self, site_id: Option<Uuid>) -> Result<Vec<InspectionRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT body FROM inspections WHERE finished_at IS NOT NULL AND (?1 IS NULL OR site_id = ?1)
             ORDER BY started_at",
        )?;
        let rows = stmt.query_map([site_id.map(|s| s.to_string())], |r| r.get::<_, String>(0))?;
        rows.map(|r| from_json(r?)).collect()
    }

    /// The latest inspections of a site that were not discarded, newest first.
    pub fn recent_inspections(&self, site_id: Uuid, limit: u32) -> Result<Vec<InspectionRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT body FROM inspections WHERE site_id = ?1 AND discarded_at IS NULL
             ORDER BY started_at DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![site_id.to_string(), limit], |r| {
            r.get::<_, String>(0)
        })?;
        rows.map(|r| from_json(r?)).collect()
    }

    /// Records the answer to one item, replacing an earlier answer to the same item, and queues
    /// it. The value must suit the item's kind; the inspection must be neither finished nor
    /// discarded.
    pub fn record_result(
        &mut self,
        inspection_id: Uuid,
        item_code: &str,
        value: ItemValue,
        note: &str,
    ) -> Result<ItemResultRecord> {
        let inspection = self.inspection(inspection_id)?;
        still_open(&inspection)?;
        let template = self.template(&inspection.template_id, inspection.template_version)?;
        let item = template
            .items
            .iter()
            .find(|i| i.code == item_code)
            .ok_or_else(|| StoreError::UnknownItem {
                item: item_code.to_string(),
                template: template.id.clone(),
                version: template.version,
            })?;
        check_value(item_code, item.kind, value)?;
        validate::text("note", note, TextKind::Free, false)?;
        self.write(|tx, hlc| {
            let record = ItemResultRecord {
                inspection_id,
                item_code: item_code.to_string(),
                value,
                note: note.to_string(),
                hlc,
            };
            upsert_result(tx, &record)?;
            enqueue(tx, hlc, &Record::ItemResult(record.clone()))?;
            Ok(record)
        })
    }

    /// The answers of an inspection, in template order.
    pub fn results(&self, inspection_id: Uuid) -> Result<Vec<ItemResultRecord>> {
        let inspection = self.inspection(inspection_id)?;
        let template = self.template(&inspection.template_id, inspection.template_version)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT item_code, value_kind, value, note, hlc FROM item_results WHERE inspection_id = ?1",
        )?;
        let mut rows: Vec<ItemResultRecord> = stmt
            .query_map([inspection_id.to_string()], |r| {
                let kind: String = r.get(1)?;
                let value: Option<f64> = r.get(2)?;
                let hlc: String = r.get(4)?;
                Ok(ItemResultRecord {
                    inspection_id,
                    item_code: r.get(0)?,
                    value: value_from_columns(&kind, value),
                    note: r.get(3)?,
                    hlc: hlc.parse().unwrap_or(Hlc::ZERO),
                })
            })?
            .collect::<Result<_, _>>()?;
        let order = |code: &str| {
            template
                .items
                .iter()
                .position(|i| i.code == code)
                .unwrap_or(usize::MAX)
        };
        rows.sort_by_key(|r| order(&r.item_code));
        Ok(rows)
    }

    /// The inspection with its site, template, answers and the site's open findings.
    pub fn load_inspection(&self, id: Uuid) -> Result<InspectionView> {
        let inspection = self.inspection(id)?;
        let site = self.site(inspection.site_id)?;
        let template = self.template(&inspection.template_id, inspection.template_version)?;
        let results = self.results(id)?;
        let open_findings = self.open_findings(inspection.site_id)?;
        let score = score_inspection(&template, &super::scores::pairs(&results));
        Ok(InspectionView {
            inspection,
            site,
            template,
            results,
            open_findings,
            score,
        })
    }
}

/// Where an inspector is with a site on a day, in the order a day goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SiteProgress {
    /// 未开始: no inspection (or only a discarded one).
    NotStarted,
    /// 进行中: an inspection started and not finished.
    InProgress,
    /// 已完成: an inspection finished.
    Done,
}

/// Refuses a change to a finished or discarded inspection.
fn still_open(inspection: &InspectionRecord) -> Result<()> {
    if inspection.finished_at.is_some() {
        return Err(StoreError::InspectionFinished(inspection.id));
    }
    if inspection.discarded_at.is_some() {
        return Err(StoreError::InspectionDiscarded(inspection.id));
    }
    Ok(())
}

/// Refuses a value that does not suit the item's kind, and out-of-range numbers.
fn check_value(item: &str, kind: ItemKind, value: ItemValue) -> Result<()> {
    let wrong = |expected, expected_zh| StoreError::WrongValueKind {
        item: item.to_string(),
        expected,
        expected_zh,
        got: value_name(value).0,
        got_zh: value_name(value).1,
    };
    match (kind, value) {
        (_, ItemValue::NotApplicable) => Ok(()),
        (ItemKind::Verdict, ItemValue::Compliant | ItemValue::NonCompliant) => Ok(()),
        (ItemKind::Verdict, _) => Err(wrong(
            "a verdict (compliant / non-compliant / not applicable)",
            "符合/不符合/不适用",
        )),
        (ItemKind::Count { .. }, ItemValue::Count(_)) => Ok(()),
        (ItemKind::Count { .. }, _) => Err(wrong("a count", "数量")),
        (ItemKind::Percent { .. }, ItemValue::Percent(p))
            if p.is_finite() && (0.0..=100.0).contains(&p) =>
        {
            Ok(())
        }
        (ItemKind::Percent { .. }, ItemValue::Percent(p)) => Err(StoreError::invalid(
            "value",
            format!("percentage {p} is outside 0..=100"),
            format!("百分比 {p} 超出 0 到 100"),
        )),
        (ItemKind::Percent { .. }, _) => Err(wrong("a percentage 0-100", "百分比（0-100）")),
    }
}

fn value_name(v: ItemValue) -> (&'static str, &'static str) {
    match v {
        ItemValue::Compliant => ("compliant", "符合"),
        ItemValue::NonCompliant => ("non-compliant", "不符合"),
        ItemValue::NotApplicable => ("not applicable", "不适用"),
        ItemValue::Count(_) => ("a count", "数量"),
        ItemValue::Percent(_) => ("a percentage", "百分比"),
    }
}

fn value_columns(v: ItemValue) -> (&'static str, Option<f64>) {
    match v {
        ItemValue::Compliant => ("compliant", None),
        ItemValue::NonCompliant => ("non_compliant", None),
        ItemValue::NotApplicable => ("not_applicable", None),
        ItemValue::Count(n) => ("count", Some(n as f64)),
        ItemValue::Percent(p) => ("percent", Some(p)),
    }
}

fn value_from_columns(kind: &str, value: Option<f64>) -> ItemValue {
    match (kind, value) {
        ("compliant", _) => ItemValue::Compliant,
        ("non_compliant", _) => ItemValue::NonCompliant,
        ("count", Some(n)) => ItemValue::Count(n as u32),
        ("percent", Some(p)) => ItemValue::Percent(p),
        _ => ItemValue::NotApplicable,
    }
}

fn upsert_result(tx: &Transaction, r: &ItemResultRecord) -> Result<()> {
    let (kind, value) = value_columns(r.value);
    tx.execute(
        "INSERT INTO item_results (inspection_id, item_code, value_kind, value, note, hlc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (inspection_id, item_code) DO UPDATE SET
           value_kind = excluded.value_kind, value = excluded.value, note = excluded.note, hlc = excluded.hlc
         WHERE excluded.hlc > item_results.hlc",
        params![r.inspection_id.to_string(), r.item_code, kind, value, r.note, r.hlc.to_string()],
    )?;
    Ok(())
}

pub(super) fn inspection_in(conn: &rusqlite::Connection, id: Uuid) -> Result<InspectionRecord> {
    conn.query_row(
        "SELECT body FROM inspections WHERE id = ?1",
        [id.to_string()],
        |r| r.get(0),
    )
    .optional()?
    .map(from_json)
    .unwrap_or(Err(StoreError::UnknownInspection(id)))
}

/// Device wall-clock time in milliseconds since the Unix epoch.
pub(crate) fn unix_millis_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
