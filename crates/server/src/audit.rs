//! The append-only audit log: who did what, when, from which device.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::store::AuditEntry;

/// Appends one entry for a request; `caller` is `None` for anonymous requests.
pub async fn record(
    state: &AppState,
    caller: Option<&Caller>,
    action: &str,
    target: &str,
    detail: impl Into<String>,
) -> ApiResult<()> {
    state
        .store
        .append_audit(&AuditEntry {
            at: crate::clock::now_ms(),
            actor: caller.map_or_else(|| "-".to_string(), |c| c.user.name.clone()),
            device_id: caller.map(|c| c.device.id),
            action: action.to_string(),
            target: target.to_string(),
            detail: detail.into(),
        })
        .await?;
    Ok(())
}
