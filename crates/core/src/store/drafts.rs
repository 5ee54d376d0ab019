//! Photos taken for a finding that is not saved yet (草稿照片).
//!
//! The finding form picks its finding's id when it opens ([`Store::finding_draft`]); a photo
//! taken before 保存 is stamped, signed and stored for that id like any other, but its record
//! waits in `photo_drafts`: never queued, never uploaded. Saving the finding
//! ([`Store::add_finding_as`]) moves the drafts into `photos` and queues them after the finding
//! in the same transaction; discarding removes them ([`Store::discard_draft`]; the files go
//! after the rows, and a file whose row is gone is removed at the next start). So nothing of a
//! finding that was never saved reaches the server, and a photo survives the app being closed
//! or killed before 保存: opening the form again for the same item finds it.

use super::findings::check_photo;
use super::{Result, Store, StoreError, from_json};
use fieldcheck_protocol::PhotoRecord;
use rusqlite::{OptionalExtension, Transaction, params};
use uuid::Uuid;

/// The form a finding is being recorded in: its site, and the inspection and checklist item it
/// is recorded from, if any. Its draft photos are found again by it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DraftForm {
    /// The site.
    pub site_id: Uuid,
    /// The inspection, if any.
    pub inspection_id: Option<Uuid>,
    /// The failed checklist item, if any.
    pub item_code: Option<String>,
}

/// A finding being recorded: the id its form saves it under, and the photos already taken for
/// it (oldest first; none for a new form).
#[derive(Clone, Debug, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FindingDraft {
    /// The id the finding gets when saved.
    pub finding_id: Uuid,
    /// Photos taken for it before it was saved.
    pub photos: Vec<PhotoRecord>,
}

impl Store {
    /// The finding being recorded in `form`: the one whose photos are waiting (taken before
    /// the app was closed), else a new id with no photos. Writes nothing.
    pub fn finding_draft(&self, form: &DraftForm) -> Result<FindingDraft> {
        let waiting: Option<String> = self
            .conn
            .query_row(
                "SELECT finding_id FROM photo_drafts
                 WHERE site_id = ?1 AND inspection_id IS ?2 AND item_code IS ?3
                 ORDER BY captured_at DESC LIMIT 1",
                params![
                    form.site_id.to_string(),
                    form.inspection_id.map(|i| i.to_string()),
                    form.item_code
                ],
                |r| r.get(0),
            )
            .optional()?;
        match waiting.and_then(|id| id.parse().ok()) {
            Some(finding_id) => Ok(FindingDraft {
                finding_id,
                photos: self.draft_photos(finding_id)?,
            }),
            None => Ok(FindingDraft {
                finding_id: Uuid::now_v7(),
                photos: Vec::new(),
            }),
        }
    }

    /// Keeps the record of a photo taken in `form` for its finding, not saved yet (its file is
    /// already stored under its hash). Nothing is queued. Refused if the finding is saved
    /// already (its photos are recorded with [`Store::add_photo`]), if the finding's other
    /// photos were taken in another form, or if the inspection is not the form's or is
    /// discarded.
    pub fn add_draft_photo(&mut self, form: &DraftForm, photo: &PhotoRecord) -> Result<()> {
        check_photo(photo)?;
        let Some(finding_id) = photo.finding_id else {
            return Err(StoreError::invalid(
                "finding_id",
                "a draft photo names the finding it is taken for",
                "草稿照片须指明所属问题",
            ));
        };
        if self.finding(finding_id).is_ok() {
            return Err(StoreError::invalid(
                "finding_id",
                "this finding is saved already",
                "该问题已保存",
            ));
        }
        if photo.inspection_id != form.inspection_id {
            return Err(StoreError::invalid(
                "inspection_id",
                "the photo names another inspection than its form",
                "照片所属检查与表单不一致",
            ));
        }
        self.site(form.site_id)?;
        if let Some(i) = form.inspection_id {
            self.open_inspection_at(i, form.site_id)?;
        }
        if self.draft_form(finding_id)?.is_some_and(|f| &f != form) {
            return Err(StoreError::invalid(
                "finding_id",
                "this finding's photos were taken in another form",
                "该问题的照片属于另一张表单",
            ));
        }
        if self.has_photo(&photo.sha256)? {
            return Err(StoreError::DuplicatePhoto(photo.sha256.clone()));
        }
        let inserted = self.conn.execute(
            "INSERT INTO photo_drafts (sha256, finding_id, site_id, inspection_id, item_code, captured_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (sha256) DO NOTHING",
            params![
                photo.sha256,
                finding_id.to_string(),
                form.site_id.to_string(),
                form.inspection_id.map(|i| i.to_string()),
                form.item_code,
                photo.captured_at,
                serde_json::to_string(photo)?
            ],
        )?;
        if inserted == 0 {
            return Err(StoreError::DuplicatePhoto(photo.sha256.clone()));
        }
        Ok(())
    }

    /// The photos taken for unsaved finding `finding_id`, oldest first.
    pub fn draft_photos(&self, finding_id: Uuid) -> Result<Vec<PhotoRecord>> {
        drafts_in(&self.conn, finding_id)
    }

    /// Discards the photos taken for unsaved finding `finding_id` (取消): their rows go in one
    /// transaction; returns their hashes, whose files the caller removes next
    /// ([`crate::photo::PhotoPipeline::discard_draft`] does both).
    pub fn discard_draft(&mut self, finding_id: Uuid) -> Result<Vec<String>> {
        let tx = self.conn.transaction()?;
        let shas = {
            let mut stmt =
                tx.prepare("DELETE FROM photo_drafts WHERE finding_id = ?1 RETURNING sha256")?;
            let rows = stmt.query_map([finding_id.to_string()], |r| r.get::<_, String>(0))?;
            rows.collect::<std::result::Result<Vec<_>, _>>()?
        };
        tx.commit()?;
        Ok(shas)
    }

    /// Drops every draft photo taken before `cutoff_ms` (a form left unsaved for days: its
    /// finding was never recorded); returns how many. Their files are then unrecorded, removed
    /// by [`crate::photo::PhotoDir::remove_unrecorded`].
    pub fn drop_drafts_before(&mut self, cutoff_ms: i64) -> Result<usize> {
        Ok(self.conn.execute(
            "DELETE FROM photo_drafts WHERE captured_at < ?1",
            [cutoff_ms],
        )?)
    }

    /// Whether the photo file named `sha256` must be kept: a recorded photo's or a draft's.
    pub fn keeps_photo_file(&self, sha256: &str) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM photos WHERE sha256 = ?1)
                     OR EXISTS (SELECT 1 FROM photo_drafts WHERE sha256 = ?1)",
            [sha256],
            |r| r.get::<_, bool>(0),
        )?)
    }

    /// The form unsaved finding `finding_id`'s photos were taken in, if it has any.
    pub(super) fn draft_form(&self, finding_id: Uuid) -> Result<Option<DraftForm>> {
        let row: Option<(String, Option<String>, Option<String>)> = self
            .conn
            .query_row(
                "SELECT site_id, inspection_id, item_code FROM photo_drafts WHERE finding_id = ?1 LIMIT 1",
                [finding_id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        Ok(row.map(|(site, inspection, item_code)| DraftForm {
            site_id: site.parse().unwrap_or_default(),
            inspection_id: inspection.and_then(|i| i.parse().ok()),
            item_code,
        }))
    }
}

/// Removes the draft photos of `finding_id` in the caller's transaction and returns their
/// records, oldest first: the finding is being saved and they are recorded with it.
pub(super) fn take_drafts(tx: &Transaction, finding_id: Uuid) -> Result<Vec<PhotoRecord>> {
    let photos = drafts_in(tx, finding_id)?;
    tx.execute(
        "DELETE FROM photo_drafts WHERE finding_id = ?1",
        [finding_id.to_string()],
    )?;
    Ok(photos)
}

fn drafts_in(conn: &rusqlite::Connection, finding_id: Uuid) -> Result<Vec<PhotoRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM photo_drafts WHERE finding_id = ?1 ORDER BY captured_at, sha256",
    )?;
    let rows = stmt.query_map([finding_id.to_string()], |r| r.get::<_, String>(0))?;
    rows.map(|r| from_json(r?)).collect()
}
