//! `POST /api/v1/sync/pull`: server-owned changes after a cursor, one page at a time. A unit
//! member sees reference data and its own unit's rectification steps only; an inspector with
//! districts those of its districts, assigned sites and own findings, and starts again from
//! cursor 0 (`reset`) when its districts changed since its tablet's copy.

use super::{ApiJson, check_protocol, merge_clock};
use crate::app::SharedState;
use crate::auth::Caller;
use crate::error::ApiResult;
use axum::Json;
use axum::extract::State;
use fieldcheck_protocol::{Change, PullRequest, PullResponse};

/// Default page size.
const DEFAULT_PAGE: u32 = 200;

/// Returns the next page of changes.
#[utoipa::path(post, path = "/api/v1/sync/pull", tag = "sync",
    request_body(content = serde_json::Value, description = "PullRequest (fieldcheck_protocol): cursor, limit, hlc", content_type = "application/json"),
    responses((status = 200, description = "PullResponse: changes, cursor, more, server_hlc"),
        (status = 400, description = "malformed body or unknown protocol version"),
        (status = 401, description = "no valid token"), (status = 503, description = "server busy; Retry-After")),
    security(("bearer" = [])))]
pub async fn pull(
    State(state): State<SharedState>,
    caller: Caller,
    ApiJson(req): ApiJson<PullRequest>,
) -> ApiResult<Json<PullResponse>> {
    check_protocol(req.protocol_version)?;
    merge_clock(&state, req.hlc)?;
    let limit = req
        .limit
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, state.limits.max_pull_page);
    let scope = caller.pull_scope();
    let mut page = state
        .store
        .pull(req.cursor, limit + 1, &scope, req.scope_version)
        .await?;
    let more = page.changes.len() > limit as usize;
    page.changes.truncate(limit as usize);
    let from = if page.reset { 0 } else { req.cursor };
    let cursor = page.changes.last().map_or(from, |r| r.seq);
    Ok(Json(PullResponse {
        changes: page
            .changes
            .into_iter()
            // Older tablets cannot read the items added after them.
            .filter(|r| r.item.min_protocol() <= req.protocol_version)
            .map(|r| Change {
                seq: r.seq,
                item: r.item,
            })
            .collect(),
        cursor,
        more,
        scope_version: page.scope_version,
        reset: page.reset,
        server_hlc: state.clock.now(),
        server_time_ms: crate::clock::now_ms(),
    }))
}
