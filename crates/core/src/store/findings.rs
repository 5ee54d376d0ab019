//! Findings, their photo records, and their append-only rectification log.

use super::drafts::take_drafts;
use super::inspections::unix_millis_now;
use super::validate;
use super::{Result, Store, StoreError, enqueue, from_json};
use fieldcheck_domain::limits::{TextKind, is_sha256};
use fieldcheck_domain::rectification::{Status, StepFault, derive_status, needs_evidence};
use fieldcheck_protocol::{
    Category, FindingNumber, FindingRecord, PhotoRecord, Position, Record, RectificationAction,
    RectificationEventRecord, Role, Severity,
};
use rusqlite::{OptionalExtension, Transaction, params};
use uuid::Uuid;

/// What is needed to record a finding: the finding form as the UI sends it, with the
/// reporter set by the app from the signed-in account (never taken from the UI). Blank
/// optional texts (unit, deadline) count as not given; the description is trimmed.
#[derive(Clone, Debug, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewFinding {
    /// The site.
    pub site_id: Uuid,
    /// The inspection it was found in, if any (must be of the same site).
    pub inspection_id: Option<Uuid>,
    /// The failed template item, if any (must be in the inspection's template).
    pub item_code: Option<String>,
    /// 部件 or 事件.
    pub category: Category,
    /// Taxonomy subcategory code under `category`.
    pub subcategory: String,
    /// What is wrong.
    pub description: String,
    /// How serious.
    pub severity: Severity,
    /// Where, when known.
    pub position: Option<Position>,
    /// Responsible unit code, when known.
    pub unit: Option<String>,
    /// Deadline `YYYY-MM-DD`.
    pub deadline: Option<String>,
    /// 当场整改.
    pub same_day: bool,
    /// Inspector's account name: the app's, never the UI's.
    #[serde(skip)]
    pub reporter: String,
}

/// A rectification step to append.
#[derive(Clone, Debug)]
pub struct NewRectification {
    /// The finding.
    pub finding_id: Uuid,
    /// The step.
    pub action: RectificationAction,
    /// Who.
    pub actor: String,
    /// Note; required for 退回.
    pub note: String,
    /// Unit, required for 派遣.
    pub unit: Option<String>,
    /// Deadline `YYYY-MM-DD`, for 派遣.
    pub deadline: Option<String>,
    /// Backing photo (recorded on this tablet), e.g. the after-photo.
    pub photo_sha256: Option<String>,
}

impl Store {
    /// Records a finding and queues it. Its status starts as [`Status::Open`].
    pub fn add_finding(&mut self, new: NewFinding) -> Result<FindingRecord> {
        self.add_finding_as(Uuid::now_v7(), new)
    }

    /// Records a finding under the id its form picked when it opened
    /// ([`Store::finding_draft`]), and queues it; the photos taken for it before (its draft
    /// photos) are recorded and queued after it in the same transaction, in the order they
    /// were taken. Refused if a finding with this id is saved already, or if its draft photos
    /// were taken at another site.
    pub fn add_finding_as(&mut self, id: Uuid, mut new: NewFinding) -> Result<FindingRecord> {
        if self.finding(id).is_ok() {
            return Err(StoreError::invalid(
                "finding_id",
                "this finding is saved already",
                "该问题已保存",
            ));
        }
        if self
            .draft_form(id)?
            .is_some_and(|f| f.site_id != new.site_id)
        {
            return Err(StoreError::invalid(
                "site_id",
                "the photos taken for this finding are of another site",
                "该问题已拍的照片属于其他站点",
            ));
        }
        new.description = new.description.trim().to_string();
        new.unit = new.unit.filter(|u| !u.trim().is_empty());
        new.deadline = new.deadline.filter(|d| !d.trim().is_empty());
        self.site(new.site_id)?;
        if let Some(inspection_id) = new.inspection_id {
            let inspection = self.open_inspection_at(inspection_id, new.site_id)?;
            if let Some(code) = &new.item_code {
                let template =
                    self.template(&inspection.template_id, inspection.template_version)?;
                if !template.items.iter().any(|i| &i.code == code) {
                    return Err(StoreError::UnknownItem {
                        item: code.clone(),
                        template: template.id.clone(),
                        version: template.version,
                    });
                }
            }
        } else if new.item_code.is_some() {
            return Err(StoreError::invalid(
                "item_code",
                "an item can only be named within an inspection",
                "只有在检查中才能关联测评内容",
            ));
        }
        self.check_subcategory(new.category, &new.subcategory)?;
        if let Some(unit) = &new.unit {
            self.check_unit(unit)?;
        }
        validate::text("description", &new.description, TextKind::Free, true)?;
        validate::text("reporter", &new.reporter, TextKind::Line, true)?;
        validate::position(&new.position)?;
        validate::date("deadline", &new.deadline)?;
        let device_id = self.device_id;
        let hlc = self.clock.now();
        let tx = self.conn.transaction()?;
        let record = FindingRecord {
            id,
            site_id: new.site_id,
            inspection_id: new.inspection_id,
            item_code: new.item_code,
            category: new.category,
            subcategory: new.subcategory,
            description: new.description,
            severity: new.severity,
            position: new.position,
            unit: new.unit,
            deadline: new.deadline,
            same_day: new.same_day,
            reporter: new.reporter,
            device_id,
            created_at: unix_millis_now(),
            hlc,
        };
        tx.execute(
            "INSERT INTO findings (id, site_id, inspection_id, status, created_at, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                record.id.to_string(),
                record.site_id.to_string(),
                record.inspection_id.map(|i| i.to_string()),
                Status::Open.as_str(),
                record.created_at,
                serde_json::to_string(&record)?
            ],
        )?;
        enqueue(&tx, hlc, &Record::Finding(record.clone()))?;
        // The photos come after their finding, each with its own stamp, as if taken now.
        for mut photo in take_drafts(&tx, id)? {
            photo.hlc = self.clock.now();
            insert_photo(&tx, &photo)?;
            enqueue(&tx, photo.hlc, &Record::Photo(photo))?;
        }
        tx.commit()?;
        Ok(record)
    }

    /// The finding with this id.
    pub fn finding(&self, id: Uuid) -> Result<FindingRecord> {
        self.conn
            .query_row(
                "SELECT body FROM findings WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?
            .map(from_json)
            .unwrap_or(Err(StoreError::UnknownFinding(id)))
    }

    /// The site's findings that are not closed, newest first.
    pub fn open_findings(&self, site_id: Uuid) -> Result<Vec<FindingRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT body FROM findings WHERE site_id = ?1 AND status <> 'closed' ORDER BY created_at DESC",
        )?;
        let rows = stmt.query_map([site_id.to_string()], |r| r.get::<_, String>(0))?;
        rows.map(|r| from_json(r?)).collect()
    }

    /// Findings recorded in an inspection, oldest first.
    pub fn inspection_findings(&self, inspection_id: Uuid) -> Result<Vec<FindingRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT body FROM findings WHERE inspection_id = ?1 ORDER BY created_at",
        )?;
        let rows = stmt.query_map([inspection_id.to_string()], |r| r.get::<_, String>(0))?;
        rows.map(|r| from_json(r?)).collect()
    }

    /// Records a photo (its file is already stored under its hash) and queues it, in one
    /// transaction. The finding or inspection it names must exist.
    pub fn add_photo(&mut self, photo: &PhotoRecord) -> Result<()> {
        check_photo(photo)?;
        if let Some(f) = photo.finding_id {
            self.finding(f)?;
        }
        if let Some(i) = photo.inspection_id
            && self.inspection(i)?.discarded_at.is_some()
        {
            return Err(StoreError::InspectionDiscarded(i));
        }
        self.write(|tx, hlc| {
            let mut record = photo.clone();
            record.hlc = hlc;
            insert_photo(tx, &record)?;
            enqueue(tx, hlc, &Record::Photo(record))?;
            Ok(())
        })
    }

    /// The photo records of a finding, oldest first.
    pub fn finding_photos(&self, finding_id: Uuid) -> Result<Vec<PhotoRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT body FROM photos WHERE finding_id = ?1")?;
        let rows = stmt.query_map([finding_id.to_string()], |r| r.get::<_, String>(0))?;
        let mut photos: Vec<PhotoRecord> = rows.map(|r| from_json(r?)).collect::<Result<_>>()?;
        photos.sort_by_key(|p| p.hlc);
        Ok(photos)
    }

    /// The record of photo `sha256`, and whether it came from the server (another tablet's).
    pub fn photo(&self, sha256: &str) -> Result<(PhotoRecord, bool)> {
        let row: Option<(String, i64)> = self
            .conn
            .query_row(
                "SELECT body, remote FROM photos WHERE sha256 = ?1",
                [sha256],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (body, remote) = row.ok_or_else(|| StoreError::UnknownPhoto(sha256.to_string()))?;
        Ok((from_json(body)?, remote == 1))
    }

    /// Whether a photo with this hash is recorded.
    pub fn has_photo(&self, sha256: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM photos WHERE sha256 = ?1", [sha256], |r| {
                r.get::<_, i64>(0)
            })
            .optional()?
            .is_some())
    }

    /// Appends a rectification step made on this tablet and queues it; returns the finding's new
    /// status. A step that does not apply to the current status is refused.
    pub fn append_rectification(&mut self, new: NewRectification) -> Result<Status> {
        self.finding(new.finding_id)?;
        validate::text("actor", &new.actor, TextKind::Line, true)?;
        validate::text("note", &new.note, TextKind::Free, false)?;
        validate::date("deadline", &new.deadline)?;
        match new.action {
            RectificationAction::SentBack => {
                validate::text("note", &new.note, TextKind::Free, true)?
            }
            RectificationAction::Dispatched => match &new.unit {
                Some(unit) => self.check_unit(unit)?,
                None => {
                    return Err(StoreError::invalid(
                        "unit",
                        "a dispatch names a responsible unit",
                        "派遣必须指定责任单位",
                    ));
                }
            },
            _ => {}
        }
        if let Some(sha) = &new.photo_sha256
            && !self.has_photo(sha)?
        {
            return Err(StoreError::invalid(
                "photo_sha256",
                format!("no photo {sha} on this tablet"),
                format!("本机没有照片 {sha}"),
            ));
        }
        let current = self.finding_status(new.finding_id)?;
        if current.after(new.action).is_none() {
            return Err(StoreError::StepNotAllowed {
                action: new.action.as_str(),
                status: current.as_str(),
                status_zh: current.label_zh(),
            });
        }
        // The tablet's steps are an inspector's: the one policy says which need their photo.
        if needs_evidence(Role::Inspector, new.action) && new.photo_sha256.is_none() {
            let fault = StepFault::NoEvidence;
            return Err(StoreError::invalid(fault.field(), fault.en(), fault.zh()));
        }
        self.write(|tx, hlc| {
            let event = RectificationEventRecord {
                id: Uuid::now_v7(),
                finding_id: new.finding_id,
                action: new.action,
                actor: new.actor,
                note: new.note,
                unit: new.unit,
                deadline: new.deadline,
                photo_sha256: new.photo_sha256,
                hlc,
            };
            let status = insert_event(tx, &event)?;
            enqueue(tx, hlc, &Record::Rectification(event))?;
            Ok(status)
        })
    }

    /// The finding's rectification log, in HLC order.
    pub fn rectification_log(&self, finding_id: Uuid) -> Result<Vec<RectificationEventRecord>> {
        log_in(&self.conn, finding_id)
    }

    /// The short number the server gave finding `finding_id` (问题编号), once the tablet has
    /// synced since; `None` before, or for a finding it does not hold.
    pub fn finding_number(&self, finding_id: Uuid) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT number FROM findings WHERE id = ?1",
                [finding_id.to_string()],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// The finding's current status, derived from its log.
    pub fn finding_status(&self, finding_id: Uuid) -> Result<Status> {
        let status: Option<String> = self
            .conn
            .query_row(
                "SELECT status FROM findings WHERE id = ?1",
                [finding_id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        status
            .and_then(|s| Status::parse(&s))
            .ok_or(StoreError::UnknownFinding(finding_id))
    }

    /// Applies findings and rectification events recorded elsewhere (pulled from the server) in
    /// one transaction, without queueing them: they are the server's already. Replays are
    /// ignored; each touched finding's status is derived again from its whole log.
    pub fn apply_remote(
        &mut self,
        findings: &[FindingRecord],
        events: &[RectificationEventRecord],
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        for f in findings {
            insert_remote_finding(&tx, f)?;
        }
        for e in events {
            insert_event(&tx, e)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn check_subcategory(&self, category: Category, code: &str) -> Result<()> {
        let found: Option<String> = self
            .conn
            .query_row(
                "SELECT category FROM subcategories WHERE code = ?1",
                [code],
                |r| r.get(0),
            )
            .optional()?;
        match found {
            Some(c) if c == category.as_str() => Ok(()),
            _ => Err(StoreError::UnknownSubcategory {
                code: code.to_string(),
            }),
        }
    }

    fn check_unit(&self, code: &str) -> Result<()> {
        let found: Option<i64> = self
            .conn
            .query_row("SELECT 1 FROM units WHERE code = ?1", [code], |r| r.get(0))
            .optional()?;
        found
            .map(|_| ())
            .ok_or_else(|| StoreError::UnknownUnit(code.to_string()))
    }
}

/// Inserts the row of a photo taken on this tablet; a hash recorded already (or waiting as a
/// draft) is refused.
fn insert_photo(tx: &Transaction, record: &PhotoRecord) -> Result<()> {
    let inserted = tx.execute(
        "INSERT INTO photos (sha256, finding_id, inspection_id, kind, body)
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM photo_drafts WHERE sha256 = ?1)
         ON CONFLICT (sha256) DO NOTHING",
        params![
            record.sha256,
            record.finding_id.map(|i| i.to_string()),
            record.inspection_id.map(|i| i.to_string()),
            record.kind.as_str(),
            serde_json::to_string(record)?
        ],
    )?;
    if inserted == 0 {
        return Err(StoreError::DuplicatePhoto(record.sha256.clone()));
    }
    Ok(())
}

/// Inserts a finding recorded elsewhere, once (a replay, or this tablet's own finding coming
/// back, is ignored). A finding of a site this tablet does not know is skipped: it could not be
/// shown or re-checked here. Its status comes from the events that follow it.
pub(super) fn insert_remote_finding(tx: &Transaction, f: &FindingRecord) -> Result<()> {
    tx.execute(
        "INSERT INTO findings (id, site_id, inspection_id, status, created_at, body)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM sites WHERE id = ?2)
         ON CONFLICT (id) DO NOTHING",
        params![
            f.id.to_string(),
            f.site_id.to_string(),
            f.inspection_id.map(|i| i.to_string()),
            Status::Open.as_str(),
            f.created_at,
            serde_json::to_string(f)?
        ],
    )?;
    Ok(())
}

/// The checks every photo record of this tablet passes before it is kept, saved or draft: its
/// name is a photo hash, it has a size, and its position (if any) is a real one.
pub(super) fn check_photo(photo: &PhotoRecord) -> Result<()> {
    if !is_sha256(&photo.sha256) {
        return Err(StoreError::invalid(
            "sha256",
            "must be 64 lower-case hex digits",
            "必须是 64 位小写十六进制",
        ));
    }
    if photo.width == 0 || photo.height == 0 || photo.size_bytes == 0 {
        return Err(StoreError::invalid(
            "width/height/size_bytes",
            "must be greater than 0",
            "必须大于 0",
        ));
    }
    validate::position(&photo.position)
}

/// Records the short number the server gave a finding this tablet holds (others are skipped,
/// and so is anything that is not a number).
pub(super) fn set_number(tx: &Transaction, n: &FindingNumber) -> Result<()> {
    if fieldcheck_domain::finding_number::is_valid(&n.number) {
        tx.execute(
            "UPDATE findings SET number = ?2 WHERE id = ?1",
            params![n.finding_id.to_string(), n.number],
        )?;
    }
    Ok(())
}

/// Inserts a photo record pulled from the server, once, marked `remote` (its bytes are
/// fetched into the photo cache) and uploaded (the server holds them). A record of a finding
/// this tablet does not hold is skipped; this tablet's own photo coming back changes nothing.
pub(super) fn insert_remote_photo(tx: &Transaction, p: &PhotoRecord) -> Result<()> {
    let Some(finding) = p.finding_id else {
        return Ok(());
    };
    tx.execute(
        "INSERT INTO photos (sha256, finding_id, inspection_id, kind, body, uploaded, remote)
         SELECT ?1, ?2, NULL, ?3, ?4, 1, 1 WHERE EXISTS (SELECT 1 FROM findings WHERE id = ?2)
         ON CONFLICT (sha256) DO NOTHING",
        params![
            p.sha256,
            finding.to_string(),
            p.kind.as_str(),
            serde_json::to_string(p)?
        ],
    )?;
    Ok(())
}

/// Inserts an event (once: a replay is ignored) and stores the status derived from the whole log.
pub(super) fn insert_event(tx: &Transaction, event: &RectificationEventRecord) -> Result<Status> {
    tx.execute(
        "INSERT INTO rectification_events (id, finding_id, hlc, body) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING",
        params![event.id.to_string(), event.finding_id.to_string(), event.hlc.to_string(), serde_json::to_string(event)?],
    )?;
    let status = derive_status(&log_in(tx, event.finding_id)?);
    tx.execute(
        "UPDATE findings SET status = ?2 WHERE id = ?1",
        params![event.finding_id.to_string(), status.as_str()],
    )?;
    Ok(status)
}

fn log_in(conn: &rusqlite::Connection, finding_id: Uuid) -> Result<Vec<RectificationEventRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM rectification_events WHERE finding_id = ?1 ORDER BY hlc, id",
    )?;
    let rows = stmt.query_map([finding_id.to_string()], |r| r.get::<_, String>(0))?;
    rows.map(|r| from_json(r?)).collect()
}
