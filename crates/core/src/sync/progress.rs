//! What the sync screen shows: pending work, the current step, bytes sent, last outcome.

use serde::Serialize;

/// The step a session is in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SyncStep {
    /// No session running.
    #[default]
    Idle,
    /// Sending records.
    Pushing,
    /// Sending photos.
    Photos,
    /// Receiving server changes.
    Pulling,
}

/// A snapshot of sync state for the UI, published after every step.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncProgress {
    /// Current step.
    pub step: SyncStep,
    /// Records waiting in the outbox.
    pub records_pending: u64,
    /// Photos whose bytes the server has not confirmed.
    pub photos_pending: u64,
    /// Bytes sent in this session.
    pub bytes_sent: u64,
    /// Bytes this session expects to send (known once the missing photos are known).
    pub bytes_total: u64,
    /// When the last session succeeded, milliseconds since the Unix epoch.
    pub last_success_ms: Option<i64>,
    /// The last session's error in plain words.
    pub last_error: Option<String>,
}

/// What one successful session did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SessionReport {
    /// Outbox entries acknowledged.
    pub records_pushed: u64,
    /// Photos the server now holds that it lacked.
    pub photos_uploaded: u64,
    /// Server changes applied.
    pub changes_pulled: u64,
    /// Body bytes sent (compressed records and photo bytes).
    pub bytes_sent: u64,
    /// HTTP requests made.
    pub requests: u64,
    /// Other tablets' photos (thumbnails and today's re-checks' full photos) put in the
    /// photo cache.
    pub photos_fetched: u64,
    /// Photos that could not be fetched or kept this time.
    pub photos_not_fetched: u64,
}
