//! Sites: today's assignments, the searchable list, the catalog, a site's page.

use super::parse_id;
use crate::error::{CommandError, CommandResult};
use crate::state::AppState;
use fieldcheck_core::store::StoreError;
use fieldcheck_core::store::catalog::SiteQuery;
use fieldcheck_core::store::inspections::SiteProgress;
use fieldcheck_domain::rectification::Status;
use fieldcheck_domain::scoring::Score;
use fieldcheck_protocol::{
    Assignment, InspectionRecord, Position, Site, SiteType, Subcategory, Unit,
};
use serde::Serialize;
use tauri::State;
use tauri::ipc::{InvokeBody, Request};

/// Server-owned lists the screens pick from.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Catalog {
    /// Site types, for the list's filter.
    pub site_types: Vec<SiteType>,
    /// The problem taxonomy, for the finding form.
    pub taxonomy: Vec<Subcategory>,
    /// Responsible units, for the finding form.
    pub units: Vec<Unit>,
}

/// Site types, taxonomy and units.
#[tauri::command(rename_all = "snake_case")]
pub fn catalog(state: State<'_, AppState>) -> CommandResult<Catalog> {
    let store = state.store();
    Ok(Catalog {
        site_types: store.site_types()?,
        taxonomy: store.taxonomy()?,
        units: store.units()?,
    })
}

/// One of today's assignments with its site.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TodaySite {
    /// The assignment (its note says what to look at).
    pub assignment: Assignment,
    /// The site.
    pub site: Site,
    /// 未开始 / 进行中 / 已完成, from this tablet's inspections of the site that day.
    pub progress: SiteProgress,
}

/// The signed-in inspector's sites for `date` (`YYYY-MM-DD`, China time), each with where the
/// inspector is with it that day.
#[tauri::command(rename_all = "snake_case")]
pub fn today_sites(state: State<'_, AppState>, date: String) -> CommandResult<Vec<TodaySite>> {
    let store = state.store();
    let Some(user) = store.sync_state()?.username else {
        return Ok(Vec::new());
    };
    let rows = store.assignments_for(&user, &date)?;
    let progress = store.progress_on(&date)?;
    Ok(rows
        .into_iter()
        .map(|(assignment, site)| TodaySite {
            progress: progress
                .get(&site.id)
                .copied()
                .unwrap_or(SiteProgress::NotStarted),
            assignment,
            site,
        })
        .collect())
}

/// Sites whose name, street or address contains `text`, of `site_type` when given, by name.
#[tauri::command(rename_all = "snake_case")]
pub fn list_sites(
    state: State<'_, AppState>,
    text: Option<String>,
    site_type: Option<String>,
) -> CommandResult<Vec<Site>> {
    let query = SiteQuery {
        text: text.filter(|t| !t.trim().is_empty()),
        site_type: site_type.filter(|t| !t.is_empty()),
    };
    Ok(state.store().list_sites(&query)?)
}

/// A finding with what the lists show beside it.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct FindingSummary {
    /// The finding.
    pub finding: fieldcheck_protocol::FindingRecord,
    /// Its status, e.g. `open`.
    pub status: Status,
    /// Hashes of its photos, oldest first.
    pub photos: Vec<String>,
    /// Its short number (问题编号), once the server gave one and the tablet synced since.
    pub number: Option<String>,
}

/// Everything a site's page shows.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SitePage {
    /// The site.
    pub site: Site,
    /// Its latest inspections, newest first.
    pub recent: Vec<InspectionRecord>,
    /// Its findings that are not closed, newest first.
    pub open_findings: Vec<FindingSummary>,
    /// The pooled score of its finished inspections.
    pub score: Score,
    /// Whether a checklist for its type is on the tablet.
    pub has_template: bool,
    /// When this tablet checked in here today by scanning the site's label (到场核验), if it
    /// did; milliseconds since the Unix epoch.
    pub checked_in_at: Option<i64>,
}

/// A site's page.
#[tauri::command(rename_all = "snake_case")]
pub fn site_page(state: State<'_, AppState>, site_id: String) -> CommandResult<SitePage> {
    let id = parse_id("site_id", &site_id)?;
    let store = state.store();
    let site = store.site(id)?;
    let open = store.open_findings(id)?;
    Ok(SitePage {
        recent: store.recent_inspections(id, 5)?,
        open_findings: summarize(&store, open)?,
        score: store.site_score(id)?,
        has_template: store.latest_template_for(&site.site_type)?.is_some(),
        checked_in_at: store
            .check_in_on_day(id, fieldcheck_domain::clock::wall_clock_ms())?
            .map(|c| c.at),
        site,
    })
}

/// Adds status and photo hashes to each finding.
pub(crate) fn summarize(
    store: &fieldcheck_core::store::Store,
    findings: Vec<fieldcheck_protocol::FindingRecord>,
) -> CommandResult<Vec<FindingSummary>> {
    findings
        .into_iter()
        .map(|finding| {
            let status = store.finding_status(finding.id)?;
            summary_of(store, finding, status)
        })
        .collect()
}

/// `finding` at `status` (known already), with its number and photos.
pub(crate) fn summary_of(
    store: &fieldcheck_core::store::Store,
    finding: fieldcheck_protocol::FindingRecord,
    status: Status,
) -> CommandResult<FindingSummary> {
    Ok(FindingSummary {
        status,
        number: store.finding_number(finding.id)?,
        photos: store
            .finding_photos(finding.id)?
            .into_iter()
            .map(|p| p.sha256)
            .collect(),
        finding,
    })
}

/// Reads a site's QR label from a picture (the request body: the image's raw bytes, a camera
/// frame or a photo of the label) and checks in there ([`check_in_at_label`]), the position
/// in the optional `x-position` header. Returns that site, for the UI to open.
#[tauri::command(rename_all = "snake_case")]
pub async fn scan_label(state: State<'_, AppState>, request: Request<'_>) -> CommandResult<Site> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(CommandError::Input {
            field: "body",
            zh: "图片须以二进制发送",
            en: "send the picture as raw bytes",
        });
    };
    let bytes = bytes.clone();
    let text = tauri::async_runtime::spawn_blocking(move || fieldcheck_core::scan::read_qr(&bytes))
        .await
        .map_err(|_| CommandError::Input {
            field: "body",
            zh: "识别二维码时出错，请重试",
            en: "reading the QR code failed; try again",
        })??;
    let position: Option<Position> = request
        .headers()
        .get("x-position")
        .and_then(|h| serde_json::from_slice(h.as_bytes()).ok());
    check_in_at_label(&state, &text, position)
}

/// Checks in at the site whose label the tablet's camera read live (the barcode scanner gives
/// the text, [`check_in_at_label`]). Returns that site, for the UI to open.
#[tauri::command(rename_all = "snake_case")]
pub fn scan_label_text(
    state: State<'_, AppState>,
    text: String,
    position: Option<Position>,
) -> CommandResult<Site> {
    check_in_at_label(&state, &text, position)
}

/// Records a check-in (到场核验: trusted time, `position`, signed, queued) at the site the label
/// text names. The label must be of the county this tablet signed in to, and its site on the
/// tablet.
fn check_in_at_label(
    state: &AppState,
    text: &str,
    position: Option<Position>,
) -> CommandResult<Site> {
    let inspector = state.inspector()?;
    let mut store = state.store();
    let Some(county) = store.sync_state()?.county_id else {
        return Err(CommandError::Input {
            field: "county",
            zh: "请先登录并同步一次，平板才能识别本区县的点位二维码",
            en: "sign in and sync once first, so the tablet knows this county's labels",
        });
    };
    let label = fieldcheck_domain::site_label::parse(text, county)?;
    let site = match store.site(label.site) {
        Err(StoreError::UnknownSite(_)) => {
            return Err(CommandError::Input {
                field: "site",
                zh: "本平板上还没有这个点位，请先同步后再扫码",
                en: "this site is not on the tablet yet: sync, then scan again",
            });
        }
        found => found?,
    };
    state
        .photos
        .check_in(&mut store, site.id, text, &inspector, position)?;
    Ok(site)
}
