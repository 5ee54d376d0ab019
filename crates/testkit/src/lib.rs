//! Fieldcheck's test kit: what the server's tests and benchmarks and the end-to-end tests share,
//! so that a server process is started, configured and stopped one way everywhere.
//!
//! - [`server`]: the real `fieldcheck-server` binary: admin commands on a data directory
//!   ([`server::ServerCommand`]), `serve` on a free loopback port ([`server::ServerProcess`]),
//!   the demo data with test inspectors.
//! - [`postgres`]: a fresh database in the test PostgreSQL cluster; [`balancer`]: HAProxy,
//!   round-robin, in front of several server processes.
//! - [`s3`]: a real S3-compatible server (`s3s-fs`) on a free loopback port, for the photo
//!   store's tests; [`garage`]: a Garage node, for the scale-out benchmark.
//! - [`process`]: child processes killed with everything they started when the test ends,
//!   also when it fails.
//! - [`docx`]: a Word document read back as its paragraphs' and table rows' text.
//! - With the `browser` feature: `app_driver` (the real tablet app in WebKitGTK through
//!   tauri-driver under Xvfb) and `chromium` (the dashboard in Debian's Chromium through
//!   chromedriver), both over WebDriver (fantoccini).
//!
//! Dev-only: nothing that ships depends on it.

#[cfg(feature = "browser")]
pub mod app_driver;
pub mod balancer;
#[cfg(feature = "browser")]
pub mod chromium;
pub mod docx;
pub mod garage;
pub mod postgres;
pub mod process;
pub mod s3;
pub mod server;

use std::path::{Path, PathBuf};

/// The template pack shipped in `content/civilized-city`.
pub fn content_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/civilized-city")
}
