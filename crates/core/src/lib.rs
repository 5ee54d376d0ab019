//! Fieldcheck's offline engine: everything the tablet does without a network.
//!
//! - [`store`]: the local SQLite database (the only module that speaks SQL), with the outbox
//!   that every change is written to in the same transaction.
//! - [`clock`]: the hybrid logical clock that stamps every change.
//! - [`photo`]: the capture pipeline: processing (through `fieldcheck-photo-codec`), Chinese
//!   watermark, trusted time, signature, crash-safe storage.
//! - [`scan`]: a site's QR label read from a camera frame or photo.
//! - [`sync`]: the sync client: push, photo upload, pull, scheduling.
//!
//! The rules it applies (text limits, the rectification policy, scoring, China time, photo
//! signatures) are `fieldcheck-domain`'s, the image codec `fieldcheck-photo-codec`'s. Must not
//! depend on Tauri or the server: the whole engine runs and is tested headless.

pub mod clock;
pub mod photo;
pub mod scan;
pub mod store;
pub mod sync;
