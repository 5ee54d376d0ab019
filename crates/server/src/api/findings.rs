//! Findings for the office and the units: read them (a unit member only its own unit's) and
//! append rectification steps, which tablets then pull.

use super::ApiJson;
use crate::app::SharedState;
use crate::audit;
use crate::auth::{Caller, OfficeUser};
use crate::error::{ApiError, ApiResult};
use crate::store::FindingRow;
use crate::validate::is_sha256;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fieldcheck_domain::rectification::{StepFault, allowed, check_step, derive_status};
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
        .list_findings(caller.unit_scope(), LIST_LIMIT)
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

/// Appends a rectification step as the rectification policy allows the caller's role
/// ([`check_step`]): the office any step, a unit 处置 only, on its own unit's findings.
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
    let invalid = |field: &str, msg: &str| {
        let mut e = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_event",
            msg.to_string(),
        );
        e.field = Some(field.to_string());
        e
    };
    if event.finding_id != id {
        return Err(invalid(
            "finding_id",
            "finding_id 与路径不符 / finding_id differs from the path",
        ));
    }
    if event.actor != caller.user.name {
        return Err(invalid(
            "actor",
            "actor 必须是当前账号 / actor must be the signed-in account",
        ));
    }
    if let Err(fault) = check_step(caller.user.role, &event) {
        let msg = format!("{} / {}", fault.zh(), fault.en());
        return Err(if fault == StepFault::RoleMayNot {
            ApiError::new(StatusCode::FORBIDDEN, "step_not_allowed", msg)
        } else {
            invalid(fault.field(), &msg)
        });
    }
    let status = derive_status(row.events.iter());
    if !allowed(caller.user.role, status, event.action) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "step_not_applicable",
            format!(
                "问题当前为“{}”，这一步现在不适用 / the finding is {}: this step does not apply now",
                status.label_zh(),
                status.as_str()
            ),
        ));
    }
    if event.photo_sha256.as_deref().is_some_and(|p| !is_sha256(p)) {
        return Err(invalid(
            "photo_sha256",
            "照片哈希格式错误 / photo_sha256 must be a SHA-256",
        ));
    }
    state
        .clock
        .merge(event.hlc)
        .map_err(|e| invalid("hlc", &e.to_string()))?;
    state.store.append_office_event(&event).await?;
    audit::record(
        &state,
        Some(&caller),
        event.action.as_str(),
        &id.to_string(),
        event.id.to_string(),
    )
    .await?;
    Ok(StatusCode::CREATED)
}
