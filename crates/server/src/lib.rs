//! Fieldcheck's central server (the county office's): accounts and devices, the idempotent
//! sync API, SQLite or PostgreSQL storage behind one [`store::Store`] trait, photo storage,
//! and the admin commands' building blocks. The binary (`main.rs`, `cli.rs`) wires them up.

pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod blobs;
pub mod clock;
pub mod config;
pub mod dashboard;
pub mod demo;
pub mod device_slots;
pub mod error;
pub mod office;
pub mod photo_check;
pub mod server;
pub mod sign_in;
pub mod store;
pub mod validate;
