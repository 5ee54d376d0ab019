//! Fieldcheck's offline engine: everything the tablet does without a network.
//!
//! - [`store`]: the local SQLite database (the only module that speaks SQL), with the outbox
//!   that every change is written to in the same transaction.
//! - [`content`]: loading and validating checklist template packs (`content/`).
//! - [`scoring`]: pass rates, weighted scores and points lost.
//! - [`rectification`]: the finding's status, derived from its append-only log, and the one
//!   policy of who may record which step.
//! - [`limits`]: the text limits every writer, tablet and server, applies.
//! - [`clock`]: the hybrid logical clock that stamps every change.
//! - [`photo`]: the capture pipeline: processing, Chinese watermark, trusted time, signature,
//!   crash-safe storage.
//! - [`sync`]: the sync client: push, photo upload, pull, scheduling.
//!
//! Nothing here knows about Tauri: the whole engine runs and is tested headless.

pub mod clock;
pub mod content;
pub mod limits;
pub mod photo;
pub mod rectification;
pub mod scoring;
pub mod store;
pub mod sync;
