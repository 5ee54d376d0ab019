//! Office administration over HTTP: sites, assignments, devices and the audit log (admins
//! only).

use super::ApiJson;
use crate::app::SharedState;
use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult};
use crate::office::{FieldFault, Office};
use crate::store::AuditEntry;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use fieldcheck_protocol::{AccountDistricts, Assignment, Site};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A device as listed.
#[derive(Serialize)]
pub struct DeviceView {
    /// Device id.
    pub id: Uuid,
    /// Account last signed in on it.
    pub user: String,
    /// Label.
    pub label: String,
    /// Revoked at, Unix milliseconds.
    pub revoked_at: Option<i64>,
    /// Highest acknowledged outbox seq.
    pub acked_through: u64,
}

/// `?limit=` for the audit log.
#[derive(Deserialize)]
pub struct AuditQuery {
    /// Newest entries to return (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// Creates or replaces a site; tablets pull it.
#[utoipa::path(put, path = "/api/v1/sites/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "site id")),
    request_body(content = serde_json::Value, description = "Site (fieldcheck_protocol)", content_type = "application/json"),
    responses((status = 204, description = "stored"), (status = 401, description = "no valid token"),
        (status = 403, description = "admins only"), (status = 422, description = "invalid site")),
    security(("bearer" = [])))]
pub async fn put_site(
    State(state): State<SharedState>,
    AdminUser(caller): AdminUser,
    Path(id): Path<Uuid>,
    ApiJson(site): ApiJson<Site>,
) -> ApiResult<StatusCode> {
    if site.id != id {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_site",
            "站点 id 须与路径一致 / the site id must match the path",
        ));
    }
    Office::new(&state, caller.actor())
        .put_sites(std::slice::from_ref(&site))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates, changes or cancels (`cancelled: true`) an assignment; only its inspector pulls it.
#[utoipa::path(put, path = "/api/v1/assignments/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "assignment id")),
    request_body(content = serde_json::Value, description = "Assignment (fieldcheck_protocol): inspector, site_id, date YYYY-MM-DD, note, cancelled", content_type = "application/json"),
    responses((status = 204, description = "stored"), (status = 401, description = "no valid token"),
        (status = 403, description = "admins only"),
        (status = 422, description = "invalid assignment; `field` names the field at fault")),
    security(("bearer" = [])))]
pub async fn put_assignment(
    State(state): State<SharedState>,
    AdminUser(caller): AdminUser,
    Path(id): Path<Uuid>,
    ApiJson(assignment): ApiJson<Assignment>,
) -> ApiResult<StatusCode> {
    if assignment.id != id {
        let fault = FieldFault::new(
            "id",
            "须与路径中的 id 一致",
            "must match the id in the path",
        );
        return Err(fault.into_api("invalid_assignment"));
    }
    Office::new(&state, caller.actor())
        .assign(&assignment)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Confines an inspector's tablets to districts (empty: the whole county again); its tablets
/// drop what left the scope at their next pull.
#[utoipa::path(put, path = "/api/v1/users/{name}/districts", tag = "admin",
    params(("name" = String, Path, description = "account name")),
    request_body(content = serde_json::Value, description = "AccountDistricts: districts", content_type = "application/json"),
    responses((status = 200, description = "AccountDistricts as stored, with the new version"),
        (status = 401, description = "no valid token"), (status = 403, description = "admins only"),
        (status = 404, description = "no such account"),
        (status = 422, description = "not an inspector, or a district no site lies in")),
    security(("bearer" = [])))]
pub async fn put_districts(
    State(state): State<SharedState>,
    AdminUser(caller): AdminUser,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<AccountDistricts>,
) -> ApiResult<Json<AccountDistricts>> {
    let scope = Office::new(&state, caller.actor())
        .set_districts(&name, &req.districts)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("没有账号 {name} / no account named {name}")))?;
    Ok(Json(AccountDistricts {
        districts: scope.districts,
        version: scope.version,
    }))
}

/// Lists devices.
#[utoipa::path(get, path = "/api/v1/devices", tag = "admin",
    responses((status = 200, description = "devices"), (status = 401, description = "no valid token"),
        (status = 403, description = "admins only")),
    security(("bearer" = [])))]
pub async fn devices(
    State(state): State<SharedState>,
    _admin: AdminUser,
) -> ApiResult<Json<Vec<DeviceView>>> {
    let rows = state.store.list_devices().await?;
    Ok(Json(
        rows.into_iter()
            .map(|d| DeviceView {
                id: d.id,
                user: d.user_name,
                label: d.label,
                revoked_at: d.revoked_at,
                acked_through: d.high_seq,
            })
            .collect(),
    ))
}

/// Revokes a device's token for good (a lost tablet).
#[utoipa::path(post, path = "/api/v1/devices/{id}/revoke", tag = "admin",
    params(("id" = Uuid, Path, description = "device id")),
    responses((status = 204, description = "revoked"), (status = 401, description = "no valid token"),
        (status = 403, description = "admins only"), (status = 404, description = "no such device")),
    security(("bearer" = [])))]
pub async fn revoke(
    State(state): State<SharedState>,
    AdminUser(caller): AdminUser,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    if !Office::new(&state, caller.actor())
        .revoke_device(id)
        .await?
    {
        return Err(ApiError::not_found(format!(
            "没有设备 {id} / no device {id}"
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The newest audit entries.
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin",
    params(("limit" = Option<u32>, Query, description = "how many, newest first (default 100)")),
    responses((status = 200, description = "audit entries"), (status = 401, description = "no valid token"),
        (status = 403, description = "admins only")),
    security(("bearer" = [])))]
pub async fn audit(
    State(state): State<SharedState>,
    _admin: AdminUser,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    let limit = q.limit.unwrap_or(100).min(1000);
    Ok(Json(state.store.recent_audit(limit).await?))
}
