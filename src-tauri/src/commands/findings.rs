//! Findings, their photos (raw binary IPC bodies), and re-checks (回头看).

use super::parse_id;
use super::session::china_today;
use super::sites::{FindingSummary, summary_of};
use crate::error::{CommandError, CommandResult};
use crate::state::AppState;
use fieldcheck_core::photo::{CaptureRequest, PhotoError, PhotoPipeline};
use fieldcheck_core::store::Store;
use fieldcheck_core::store::drafts::{DraftForm, FindingDraft};
use fieldcheck_core::store::findings::{NewFinding, NewRectification};
use fieldcheck_core::store::photo_cache::CacheVariant;
use fieldcheck_domain::limits::is_sha256;
use fieldcheck_domain::rectification::Status;
use fieldcheck_protocol::{
    FindingRecord, PhotoKind, PhotoRecord, Position, RectificationAction, RectificationEventRecord,
    Site,
};
use serde::{Deserialize, Serialize};
use tauri::State;
use tauri::ipc::{InvokeBody, Request};

/// Records a finding from the form, as the signed-in inspector: under `draft_id`, the id the
/// form picked when it opened ([`finding_draft`]), with the photos taken for it before, or
/// under a new id.
#[tauri::command(rename_all = "snake_case")]
pub fn add_finding(
    state: State<'_, AppState>,
    finding: NewFinding,
    draft_id: Option<String>,
) -> CommandResult<FindingRecord> {
    let new = NewFinding {
        reporter: state.inspector()?,
        ..finding
    };
    let mut store = state.store();
    Ok(match draft_id {
        Some(id) => store.add_finding_as(parse_id("draft_id", &id)?, new)?,
        None => store.add_finding(new)?,
    })
}

/// The finding being recorded in a form (site, inspection, item): the one whose photos were
/// taken before the app closed, else a new id with no photos.
#[tauri::command(rename_all = "snake_case")]
pub fn finding_draft(state: State<'_, AppState>, form: DraftForm) -> CommandResult<FindingDraft> {
    Ok(state.store().finding_draft(&form)?)
}

/// Discards the photos taken for a finding that will not be saved (取消): records and files.
#[tauri::command(rename_all = "snake_case")]
pub async fn discard_finding_draft(
    state: State<'_, AppState>,
    finding_id: String,
) -> CommandResult<()> {
    let id = parse_id("finding_id", &finding_id)?;
    off_the_ui_thread(&state, Vec::new(), move |photos, store, _| {
        photos.discard_draft(store, id).map(|_| ())
    })
    .await
}

/// What travels in the `x-photo` header beside a photo's raw bytes.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PhotoMeta {
    /// Before, after or evidence.
    pub kind: PhotoKind,
    /// The finding it belongs to.
    pub finding_id: Option<String>,
    /// The inspection it belongs to.
    pub inspection_id: Option<String>,
    /// Where it was taken, when known.
    pub position: Option<Position>,
    /// The form of a finding not saved yet that the photo is taken in (`finding_id` is the id
    /// the form picked): the photo waits as a draft until the finding is saved.
    #[serde(default)]
    #[cfg_attr(test, ts(optional))]
    pub draft: Option<DraftForm>,
}

/// Takes in one photo: the request body is the image file's bytes (raw, not base64), the
/// `x-photo` header its [`PhotoMeta`] as JSON. Runs the photo pipeline off the UI's thread; a
/// photo of a finding not saved yet (`draft`) waits as a draft.
#[tauri::command(rename_all = "snake_case")]
pub async fn add_photo(
    state: State<'_, AppState>,
    request: Request<'_>,
) -> CommandResult<PhotoRecord> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(bad_photo(
            "body",
            "照片须以二进制发送",
            "send the photo as raw bytes",
        ));
    };
    let meta: PhotoMeta = request
        .headers()
        .get("x-photo")
        .and_then(|h| serde_json::from_slice(h.as_bytes()).ok())
        .ok_or_else(|| {
            bad_photo(
                "x-photo",
                "缺少照片说明",
                "missing or malformed photo metadata",
            )
        })?;
    let finding_id = meta
        .finding_id
        .as_deref()
        .map(|f| parse_id("finding_id", f))
        .transpose()?;
    let inspection_id = meta
        .inspection_id
        .as_deref()
        .map(|i| parse_id("inspection_id", i))
        .transpose()?;
    let inspector = state.person_name()?;
    let site_name = match &meta.draft {
        Some(form) => state.store().site(form.site_id)?.name,
        None => photo_site(&state, finding_id, inspection_id)?.name,
    };
    off_the_ui_thread(&state, bytes.clone(), move |photos, store, bytes| {
        let request = CaptureRequest {
            bytes,
            kind: meta.kind,
            finding_id,
            inspection_id,
            position: meta.position,
            site_name: &site_name,
            inspector: &inspector,
        };
        match &meta.draft {
            Some(form) => photos.capture_draft(store, form, &request),
            None => photos.capture(store, &request),
        }
    })
    .await
}

/// Runs photo work (`work` with the pipeline, the locked store and the image bytes) on a
/// blocking thread, not the UI's.
async fn off_the_ui_thread<T: Send + 'static>(
    state: &AppState,
    bytes: Vec<u8>,
    work: impl FnOnce(&PhotoPipeline, &mut Store, &[u8]) -> Result<T, PhotoError> + Send + 'static,
) -> CommandResult<T> {
    let (store, photos) = (state.store.clone(), state.photos.clone());
    tauri::async_runtime::spawn_blocking(move || {
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        Ok(work(&photos, &mut store, &bytes)?)
    })
    .await
    .map_err(|_| bad_photo("body", "照片处理中断", "photo processing stopped"))?
}

/// Keeps a marked copy of a photo: the request body is the marked image's bytes (raw), the
/// `x-photo-original` header the original's hash. The original stays as captured.
#[tauri::command(rename_all = "snake_case")]
pub async fn mark_photo(
    state: State<'_, AppState>,
    request: Request<'_>,
) -> CommandResult<PhotoRecord> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(bad_photo(
            "body",
            "标注后的照片须以二进制发送",
            "send the marked photo as raw bytes",
        ));
    };
    let original = request
        .headers()
        .get("x-photo-original")
        .and_then(|h| h.to_str().ok())
        .filter(|h| is_sha256(h))
        .ok_or_else(|| {
            bad_photo(
                "x-photo-original",
                "缺少原照片的编号",
                "missing or malformed original photo hash",
            )
        })?
        .to_string();
    off_the_ui_thread(&state, bytes.clone(), move |photos, store, bytes| {
        photos.mark(store, &original, bytes)
    })
    .await
}

/// Fetches another tablet's photo whole into the photo cache now (the re-check opened it).
/// Offline, or before the server holds it, the error says so in plain words.
#[tauri::command(rename_all = "snake_case")]
pub async fn fetch_photo(state: State<'_, AppState>, sha256: String) -> CommandResult<()> {
    if !is_sha256(&sha256) {
        return Err(bad_photo("sha256", "照片编号无效", "not a photo hash"));
    }
    state.engine.fetch_photo(&sha256).await?;
    Ok(())
}

fn bad_photo(field: &'static str, zh: &'static str, en: &'static str) -> CommandError {
    CommandError::Input { field, zh, en }
}

/// The site a photo is of: its finding's, else its inspection's.
fn photo_site(
    state: &AppState,
    finding_id: Option<uuid::Uuid>,
    inspection_id: Option<uuid::Uuid>,
) -> CommandResult<Site> {
    let store = state.store();
    let site_id = match (finding_id, inspection_id) {
        (Some(f), _) => store.finding(f)?.site_id,
        (None, Some(i)) => store.inspection(i)?.site_id,
        (None, None) => {
            return Err(bad_photo(
                "finding_id",
                "照片须属于一个问题或一次检查",
                "a photo belongs to a finding or an inspection",
            ));
        }
    };
    Ok(store.site(site_id)?)
}

/// A finding with its photos and rectification history.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct FindingDetail {
    /// The finding.
    pub finding: FindingRecord,
    /// Its site.
    pub site: Site,
    /// Its status.
    pub status: Status,
    /// Its short number (问题编号), once the server gave one and the tablet synced since.
    pub number: Option<String>,
    /// Its photos, oldest first.
    pub photos: Vec<PhotoRecord>,
    /// Which of them this tablet can show, and how (keyed by hash).
    pub photo_local: std::collections::BTreeMap<String, PhotoLocal>,
    /// Its rectification log.
    pub log: Vec<RectificationEventRecord>,
    /// The people behind the reporter's and the steps' accounts (account → 姓名; the account
    /// name when the server sent none).
    pub names: std::collections::BTreeMap<String, String>,
}

/// Whether the tablet holds a photo: its own (taken here), another tablet's fetched whole or
/// only as a thumbnail, or not at all yet (offline before the pull fetched it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PhotoLocal {
    /// Taken on this tablet.
    Own,
    /// Another tablet's, held whole.
    Full,
    /// Another tablet's, only its thumbnail held.
    Thumb,
    /// Another tablet's, nothing held yet.
    Missing,
}

/// A finding's detail, for the re-check screen and the photo viewer.
#[tauri::command(rename_all = "snake_case")]
pub fn finding_detail(
    state: State<'_, AppState>,
    finding_id: String,
) -> CommandResult<FindingDetail> {
    let id = parse_id("finding_id", &finding_id)?;
    let store = state.store();
    let finding = store.finding(id)?;
    let photos = store.finding_photos(id)?;
    let mut photo_local = std::collections::BTreeMap::new();
    for p in &photos {
        let local = if !store.is_remote_photo(&p.sha256)? {
            PhotoLocal::Own
        } else if store.cache_has(&p.sha256, CacheVariant::Full)? {
            PhotoLocal::Full
        } else if store.cache_has(&p.sha256, CacheVariant::Thumb)? {
            PhotoLocal::Thumb
        } else {
            PhotoLocal::Missing
        };
        photo_local.insert(p.sha256.clone(), local);
    }
    let log = store.rectification_log(id)?;
    let mut names = std::collections::BTreeMap::new();
    for account in std::iter::once(&finding.reporter).chain(log.iter().map(|e| &e.actor)) {
        if !names.contains_key(account) {
            names.insert(account.clone(), store.person_name(account)?);
        }
    }
    Ok(FindingDetail {
        site: store.site(finding.site_id)?,
        status: store.finding_status(id)?,
        number: store.finding_number(id)?,
        photos,
        photo_local,
        log,
        names,
        finding,
    })
}

/// A finding to re-check (回头看), with its site's name and who owes the fix by when.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RecheckEntry {
    /// The finding, status and photos.
    #[serde(flatten)]
    pub summary: FindingSummary,
    /// Its site's name.
    pub site_name: String,
    /// The unit that owes the fix: the last 派遣's, else the one named on site.
    pub unit: Option<String>,
    /// The deadline `YYYY-MM-DD`: the last 派遣's, else the finding's.
    pub deadline: Option<String>,
    /// Past its deadline and still owed by the unit (China-time today).
    pub overdue: bool,
    /// Its site is one of the signed-in inspector's sites for today.
    pub site_today: bool,
}

/// The findings an inspector goes back to (待整改, 待核查, 已退回; never 待派遣), overdue first,
/// then today's sites, then by deadline: the 回头看 list.
#[tauri::command(rename_all = "snake_case")]
pub fn rechecks(state: State<'_, AppState>) -> CommandResult<Vec<RecheckEntry>> {
    let store = state.store();
    let inspector = store.sync_state()?.username;
    store
        .rechecks(inspector.as_deref(), &china_today())?
        .into_iter()
        .map(|r| {
            Ok(RecheckEntry {
                summary: summary_of(&store, r.finding, r.status)?,
                site_name: r.site.name,
                unit: r.duty.unit,
                deadline: r.duty.deadline,
                overdue: r.overdue,
                site_today: r.site_today,
            })
        })
        .collect()
}

/// Records a re-check on site: fixed (with the after photo) or not fixed (with the reason).
/// Fixed moves a finding the unit reported fixed to 已核查, any other to 待核查 (seen fixed on
/// site); not fixed sends a reported fix back. Returns the new status.
#[tauri::command(rename_all = "snake_case")]
pub fn recheck(
    state: State<'_, AppState>,
    finding_id: String,
    fixed: bool,
    note: String,
    photo_sha256: Option<String>,
) -> CommandResult<Status> {
    let finding_id = parse_id("finding_id", &finding_id)?;
    let actor = state.inspector()?;
    let mut store = state.store();
    let action = match (fixed, store.finding_status(finding_id)?) {
        (true, Status::Rectified) => RectificationAction::Verified,
        (true, _) => RectificationAction::Rectified,
        (false, _) => RectificationAction::SentBack,
    };
    let status = store.append_rectification(NewRectification {
        finding_id,
        action,
        actor,
        note: note.trim().to_string(),
        unit: None,
        deadline: None,
        photo_sha256,
    })?;
    Ok(status)
}
