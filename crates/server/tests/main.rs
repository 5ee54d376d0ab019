//! The server's integration tests, in one test binary (each binary links the whole server, so
//! one binary links once): the HTTP API and the dashboard through the router, the storage
//! conformance suite on SQLite and PostgreSQL, the photo-store conformance suite on a
//! local directory and a real S3-compatible server, and the real binary end to end.

mod accountability;
mod adversarial;
mod binary_e2e;
mod blob_conformance;
mod bulletin;
mod common;
mod dashboard_http;
mod dashboard_map;
mod dashboard_office;
mod demo_history;
mod http_api;
mod migrations;
mod mock_evaluation;
mod notifications;
mod store_conformance;
mod task_division;
