//! Core's integration tests, in one test binary (each binary links the whole engine, so one
//! binary links once): the template pack loader, the photo pipeline (with the finding form's
//! draft photos) and label scanning through the public API.

mod content_pack;
mod field_recheck;
mod photo_bad_inputs;
mod photo_check;
mod photo_drafts;
mod photo_orientation;
mod photo_quality;
mod photo_storage;
mod photo_support;
mod photo_time;
mod photo_watermark;
mod scan_labels;
