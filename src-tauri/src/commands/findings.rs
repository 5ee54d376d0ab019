//! Findings, their photos (raw binary IPC bodies), and re-checks (回头看).

use super::parse_id;
use super::sites::{FindingSummary, summarize};
use crate::error::{CommandError, CommandResult};
use crate::state::AppState;
use fieldcheck_core::photo::{CaptureRequest, PhotoError, PhotoPipeline};
use fieldcheck_core::store::Store;
use fieldcheck_core::store::catalog::SiteQuery;
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

/// Records a finding from the form, as the signed-in inspector.
#[tauri::command(rename_all = "snake_case")]
pub fn add_finding(
    state: State<'_, AppState>,
    finding: NewFinding,
) -> CommandResult<FindingRecord> {
    let new = NewFinding {
        reporter: state.inspector()?,
        ..finding
    };
    Ok(state.store().add_finding(new)?)
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
}

/// Takes in one photo: the request body is the image file's bytes (raw, not base64), the
/// `x-photo` header its [`PhotoMeta`] as JSON. Runs the photo pipeline off the UI's thread.
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
    let inspector = state.inspector()?;
    let site_name = photo_site(&state, finding_id, inspection_id)?.name;
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
        photos.capture(store, &request)
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
    /// Its photos, oldest first.
    pub photos: Vec<PhotoRecord>,
    /// Which of them this tablet can show, and how (keyed by hash).
    pub photo_local: std::collections::BTreeMap<String, PhotoLocal>,
    /// Its rectification log.
    pub log: Vec<RectificationEventRecord>,
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
    Ok(FindingDetail {
        site: store.site(finding.site_id)?,
        status: store.finding_status(id)?,
        photos,
        photo_local,
        log: store.rectification_log(id)?,
        finding,
    })
}

/// A finding to re-check, with its site's name.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RecheckEntry {
    /// The finding, status and photos.
    #[serde(flatten)]
    pub summary: FindingSummary,
    /// Its site's name.
    pub site_name: String,
}

/// Findings not closed, of every site on the tablet: the 回头看 list.
#[tauri::command(rename_all = "snake_case")]
pub fn rechecks(state: State<'_, AppState>) -> CommandResult<Vec<RecheckEntry>> {
    let store = state.store();
    let mut out = Vec::new();
    for site in store.list_sites(&SiteQuery::default())? {
        for summary in summarize(&store, store.open_findings(site.id)?)? {
            let site_name = site.name.clone();
            out.push(RecheckEntry { summary, site_name });
        }
    }
    Ok(out)
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
