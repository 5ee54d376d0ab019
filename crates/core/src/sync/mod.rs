//! The sync client: the tablet pushes its outbox, uploads the photos the server lacks and pulls
//! server changes, by itself, resumably.
//!
//! - [`api`]: one function per HTTP call, server errors mapped to [`SyncError`].
//! - [`engine`]: [`SyncEngine`], one session at a time, with progress for the UI.
//! - [`backoff`]: exponential backoff with full jitter, honouring Retry-After.
//! - [`scheduler`]: when to sync (start, resume, network back, timer, 同步 button, retries).

pub mod api;
pub mod backoff;
pub mod engine;
mod error;
pub mod progress;
pub mod scheduler;

pub use engine::SyncEngine;
pub use error::SyncError;
pub use progress::{SessionReport, SyncProgress, SyncStep};
