//! The sync screen: pending work, progress, last outcome, and the 同步 button.

use crate::error::CommandResult;
use crate::state::AppState;
use fieldcheck_core::sync::scheduler::Trigger;
use fieldcheck_core::sync::{SyncError, SyncProgress};
use serde::Serialize;
use tauri::State;

/// What the sync screen and the badges show, read from the store (never from the network).
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SyncStatus {
    /// The engine's latest progress (step and bytes of a running session).
    #[serde(flatten)]
    pub progress: SyncProgress,
    /// The last session failed for want of a connection.
    pub offline: bool,
    /// The last session was given a number in the server's line: not a problem, the sync goes
    /// on by itself when its turn comes (`last_error` says how many are ahead).
    pub in_line: bool,
    /// A device token is held.
    pub signed_in: bool,
}

/// Pending records and photos, the running step, the last outcome.
#[tauri::command(rename_all = "snake_case")]
pub fn sync_status(state: State<'_, AppState>) -> CommandResult<SyncStatus> {
    let mut progress = state.engine.subscribe().borrow().clone();
    let store = state.store();
    let sync = store.sync_state()?;
    progress.records_pending = store.outbox_stats()?.pending;
    progress.photos_pending = store.photos_not_uploaded()?.len() as u64;
    progress.last_success_ms = sync.last_success_ms;
    progress.last_error = sync.last_error;
    Ok(SyncStatus {
        offline: progress.last_error.as_deref().is_some_and(is_no_signal),
        in_line: progress.last_error.as_deref().is_some_and(is_in_line),
        signed_in: sync.token.is_some(),
        progress,
    })
}

/// Whether a stored sync error is the "no signal" one.
pub fn is_no_signal(message: &str) -> bool {
    let no_signal = SyncError::NoSignal(String::new()).to_string();
    message.starts_with(no_signal.trim_end())
}

/// Whether a stored sync error is a number in the server's line.
pub fn is_in_line(message: &str) -> bool {
    let queued = SyncError::Queued {
        retry_after: std::time::Duration::ZERO,
        ahead: 0,
    }
    .to_string();
    queued
        .split('：')
        .next()
        .is_some_and(|prefix| message.starts_with(prefix))
}

/// The 同步 button: asks the background scheduler for a session now.
#[tauri::command(rename_all = "snake_case")]
pub fn sync_now(state: State<'_, AppState>) {
    state.trigger_sync(Trigger::Manual);
}
