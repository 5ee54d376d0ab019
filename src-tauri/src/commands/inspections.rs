//! The inspection: start, answer item by item with a live score, finish, resume after a restart.

use super::parse_id;
use super::sites::{FindingSummary, summarize};
use crate::error::{CommandError, CommandResult};
use crate::state::AppState;
use fieldcheck_core::store::inspections::NewInspection;
use fieldcheck_domain::scoring::Score;
use fieldcheck_protocol::{
    InspectionRecord, ItemResultRecord, ItemValue, Position, Site, Template,
};
use serde::Serialize;
use tauri::State;

/// Starts an inspection of a site against the newest checklist for its type; returns its id.
#[tauri::command(rename_all = "snake_case")]
pub fn start_inspection(
    state: State<'_, AppState>,
    site_id: String,
    position: Option<Position>,
) -> CommandResult<String> {
    let site_id = parse_id("site_id", &site_id)?;
    let inspector = state.inspector()?;
    let mut store = state.store();
    let site = store.site(site_id)?;
    let template = store
        .latest_template_for(&site.site_type)?
        .ok_or(CommandError::Input {
            field: "site_type",
            zh: "本机没有该类站点的测评模板，请先同步",
            en: "no checklist for this site type on the tablet: sync first",
        })?;
    let inspection = store.start_inspection(NewInspection {
        site_id,
        template_id: template.id.clone(),
        template_version: template.version,
        inspector,
        position,
    })?;
    Ok(inspection.id.to_string())
}

/// An unfinished inspection with its site's name, to offer for resuming.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Unfinished {
    /// The inspection.
    pub inspection: InspectionRecord,
    /// Its site's name.
    pub site_name: String,
}

/// Inspections started and not finished, oldest first.
#[tauri::command(rename_all = "snake_case")]
pub fn unfinished_inspections(state: State<'_, AppState>) -> CommandResult<Vec<Unfinished>> {
    let store = state.store();
    store
        .unfinished_inspections()?
        .into_iter()
        .map(|inspection| {
            Ok(Unfinished {
                site_name: store.site(inspection.site_id)?.name,
                inspection,
            })
        })
        .collect()
}

/// Everything the inspection screen shows.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct InspectionScreen {
    /// The inspection.
    pub inspection: InspectionRecord,
    /// Its site.
    pub site: Site,
    /// Its checklist version.
    pub template: Template,
    /// The answers so far.
    pub results: Vec<ItemResultRecord>,
    /// The findings recorded in this inspection, with their photos.
    pub findings: Vec<FindingSummary>,
    /// The live score.
    pub score: Score,
    /// When this tablet checked in at the site (scanned its label) on the inspection's day
    /// (到场核验), if it did; milliseconds since the Unix epoch.
    pub checked_in_at: Option<i64>,
}

/// Loads an inspection (also to resume it after a restart).
#[tauri::command(rename_all = "snake_case")]
pub fn load_inspection(
    state: State<'_, AppState>,
    inspection_id: String,
) -> CommandResult<InspectionScreen> {
    let id = parse_id("inspection_id", &inspection_id)?;
    let store = state.store();
    let view = store.load_inspection(id)?;
    let findings = summarize(&store, store.inspection_findings(id)?)?;
    let checked_in_at = store
        .check_in_on_day(view.site.id, view.inspection.started_at)?
        .map(|c| c.at);
    Ok(InspectionScreen {
        checked_in_at,
        inspection: view.inspection,
        site: view.site,
        template: (*view.template).clone(),
        results: view.results,
        findings,
        score: view.score,
    })
}

/// An answer as stored, with the live score after it.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Answered {
    /// The stored answer.
    pub result: ItemResultRecord,
    /// The inspection's score now.
    pub score: Score,
}

/// Records (or replaces) the answer to one item.
#[tauri::command(rename_all = "snake_case")]
pub fn record_result(
    state: State<'_, AppState>,
    inspection_id: String,
    item_code: String,
    value: ItemValue,
    note: String,
) -> CommandResult<Answered> {
    let id = parse_id("inspection_id", &inspection_id)?;
    let mut store = state.store();
    let result = store.record_result(id, &item_code, value, &note)?;
    Ok(Answered {
        result,
        score: store.inspection_score(id)?,
    })
}

/// Discards an unfinished inspection started by accident (放弃本次检查) and asks for a sync, so
/// that the server sees it discarded. Refused once it recorded a problem or a photo.
#[tauri::command(rename_all = "snake_case")]
pub fn discard_inspection(state: State<'_, AppState>, inspection_id: String) -> CommandResult<()> {
    let id = parse_id("inspection_id", &inspection_id)?;
    state.store().discard_inspection(id)?;
    state.trigger_sync(fieldcheck_core::sync::scheduler::Trigger::Manual);
    Ok(())
}

/// Finishes an inspection and asks for a sync.
#[tauri::command(rename_all = "snake_case")]
pub fn finish_inspection(state: State<'_, AppState>, inspection_id: String) -> CommandResult<()> {
    let id = parse_id("inspection_id", &inspection_id)?;
    state.store().finish_inspection(id)?;
    state.trigger_sync(fieldcheck_core::sync::scheduler::Trigger::Manual);
    Ok(())
}
