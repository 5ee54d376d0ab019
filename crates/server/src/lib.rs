//! Fieldcheck's central server (the county office's): accounts and devices, the idempotent
//! sync API, the office service ([`office`]) and dashboard, photo storage, and the admin
//! commands' building blocks, over `fieldcheck-store` ([`store`]). The binary (`main.rs`,
//! `cli.rs`) wires them up.
//!
//! Owns: the doors (HTTP API, dashboard, command line) and their trust rules. Depends on the
//! domain crate for rules, the photo codec for images and the store crate for data; must not
//! depend on `fieldcheck-core`, the tablet engine.

pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod blobs;
pub mod check_config;
pub mod clock;
pub mod config;
pub mod content_pack;
pub mod dashboard;
pub mod demo;
pub mod demo_history;
pub mod device_slots;
pub mod error;
pub mod notify;
pub mod office;
pub mod photo_check;
pub mod push_line;
pub mod server;
pub mod sign_in;
pub mod thumbnails;
pub use fieldcheck_store as store;
pub mod validate;
