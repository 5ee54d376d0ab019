//! Findings for the office and the units: read them (a unit member only its own unit's) and
//! append rectification steps, which tablets then pull.

use super::ApiJson;
use crate::app::SharedState;
use crate::auth::{Caller, OfficeUser};
use crate::error::{ApiError, ApiResult};
use crate::office::Office;
use crate::store::{FindingFilter, FindingRow};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fieldcheck_domain::limits::is_sha256;
use fieldcheck_protocol::{FindingRecord, RectificationEventRecord};
use serde::Serialize;
use uuid::Uuid;

/// Most findings per list.
const LIST_LIMIT: u32 = 500;

/// A finding as the office sees it.
#[derive(Serialize)]
pub struct FindingView {
    /// The finding.
    pub finding: FindingRecord,
    /// Unit it is dispatched to now.
    pub current_unit: Option<String>,
    /// Its rectification log in order.
    pub events: Vec<RectificationEventRecord>,
}

impl From<FindingRow> for FindingView {
    fn from(r: FindingRow) -> Self {
        Self {
            finding: r.record,
            current_unit: r.current_unit,
            events: r.events,
        }
    }
}

/// Loads a finding the caller may see: a unit member only its own unit's.
async fn visible(state: &SharedState, caller: &Caller, id: Uuid) -> ApiResult<FindingRow> {
    let row = state
        .store
        .finding(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("没有问题 {id} / no finding {id}")))?;
    if let Some(unit) = caller.unit_scope()
        && row.current_unit.as_deref() != Some(unit)
    {
        return Err(ApiError::forbidden(format!(
            "问题 {id} 未派遣给本单位 / finding {id} is not dispatched to your unit"
        )));
    }
    Ok(row)
}

/// Lists findings (a unit member: those dispatched to its unit).
#[utoipa::path(get, path = "/api/v1/findings", tag = "findings",
    responses((status = 200, description = "findings with current unit and log, newest first"),
        (status = 401, description = "no valid token")),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<SharedState>,
    caller: Caller,
) -> ApiResult<Json<Vec<FindingView>>> {
    let rows = state
        .store
        .list_findings(
            &caller
                .unit_scope()
                .map_or(FindingFilter::All, |u| FindingFilter::Unit(u.to_string())),
            LIST_LIMIT,
        )
        .await?;
    Ok(Json(rows.into_iter().map(FindingView::from).collect()))
}

/// One finding with its log.
#[utoipa::path(get, path = "/api/v1/findings/{id}", tag = "findings",
    params(("id" = Uuid, Path, description = "finding id")),
    responses((status = 200, description = "the finding"), (status = 401, description = "no valid token"),
        (status = 403, description = "another unit's finding"), (status = 404, description = "no such finding")),
    security(("bearer" = [])))]
pub async fn get_one(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<FindingView>> {
    Ok(Json(visible(&state, &caller, id).await?.into()))
}

/// Appends a rectification step through the office service ([`Office::record_step`]): the
/// office any step, a unit 处置 only, on its own unit's findings, when it applies now.
#[utoipa::path(post, path = "/api/v1/findings/{id}/events", tag = "findings",
    params(("id" = Uuid, Path, description = "finding id")),
    request_body(content = serde_json::Value, description = "RectificationEventRecord (fieldcheck_protocol)", content_type = "application/json"),
    responses((status = 201, description = "appended (or already there)"), (status = 401, description = "no valid token"),
        (status = 403, description = "role or unit may not"), (status = 404, description = "no such finding"),
        (status = 409, description = "the step does not apply from the finding's status"),
        (status = 422, description = "invalid event")),
    security(("bearer" = [])))]
pub async fn add_event(
    State(state): State<SharedState>,
    OfficeUser(caller): OfficeUser,
    Path(id): Path<Uuid>,
    ApiJson(event): ApiJson<RectificationEventRecord>,
) -> ApiResult<StatusCode> {
    let row = visible(&state, &caller, id).await?;
    if event.photo_sha256.as_deref().is_some_and(|p| !is_sha256(p)) {
        let mut e = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_event",
            "照片哈希格式错误 / photo_sha256 must be a SHA-256",
        );
        e.field = Some("photo_sha256".into());
        return Err(e);
    }
    Office::new(&state, caller.actor())
        .record_step(&row, &event)
        .await?;
    Ok(StatusCode::CREATED)
}
