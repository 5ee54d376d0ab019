//! Garage, a real distributed S3-compatible store, as one node on 127.0.0.1: for the scale-out
//! benchmark (issue #19), where `s3s-fs` ([`crate::s3`]) is the lighter server CI tests with.
//! Not installed by `scripts/install-deps.sh` (its build takes longer than CI may):
//! `cargo install garage --version 2.5.0 --locked --no-default-features --features
//! bundled-libs,sqlite`, or any `garage` 2.x on `PATH`.
//!
//! The node runs with `--single-node --default-bucket`: its layout, the key pair of
//! [`crate::s3`] and the bucket [`crate::s3::BUCKET`] are made at its start. Metadata and data
//! are fsynced, as a deployment that keeps photos would configure it.

use crate::process::{Guarded, free_port, wait_listening};
use crate::s3::{ACCESS_KEY, BUCKET, SECRET_KEY};
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A running Garage node, killed when dropped.
pub struct Garage {
    _child: Guarded,
    root: PathBuf,
    /// Where its S3 API listens.
    pub addr: SocketAddr,
}

/// The `garage` binary: on `PATH` or in cargo's bin directory.
pub fn binary() -> Result<PathBuf> {
    crate::process::installed("garage").context(
        "garage is not installed: `cargo install garage --version 2.5.0 --locked --no-default-features --features bundled-libs,sqlite`",
    )
}

impl Garage {
    /// Starts a node keeping its metadata and data under `root`, its S3 API on a free port.
    pub fn start(root: &Path) -> Result<Garage> {
        std::fs::create_dir_all(root)?;
        let (s3_port, rpc_port) = (free_port()?, free_port()?);
        let config = root.join("garage.toml");
        std::fs::write(
            &config,
            format!(
                "metadata_dir = \"{meta}\"\ndata_dir = \"{data}\"\ndb_engine = \"sqlite\"\n\
                 metadata_fsync = true\ndata_fsync = true\nreplication_factor = 1\n\
                 rpc_bind_addr = \"127.0.0.1:{rpc_port}\"\nrpc_public_addr = \"127.0.0.1:{rpc_port}\"\n\
                 rpc_secret = \"{secret}\"\n\n[s3_api]\ns3_region = \"us-east-1\"\n\
                 api_bind_addr = \"127.0.0.1:{s3_port}\"\n",
                meta = root.join("meta").display(),
                data = root.join("data").display(),
                secret = "5f".repeat(32),
            ),
        )?;
        let child = Guarded::spawn(
            Command::new(binary()?)
                .arg("-c")
                .arg(&config)
                .args(["server", "--single-node", "--default-bucket"])
                .env("GARAGE_DEFAULT_ACCESS_KEY", ACCESS_KEY)
                .env("GARAGE_DEFAULT_SECRET_KEY", SECRET_KEY)
                .env("GARAGE_DEFAULT_BUCKET", BUCKET)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(root.join("garage.log"))?),
        )?;
        let addr = SocketAddr::from(([127, 0, 0, 1], s3_port));
        wait_listening(addr, Duration::from_secs(30), "garage")
            .with_context(|| format!("see {}", root.join("garage.log").display()))?;
        Ok(Garage {
            _child: child,
            root: root.to_path_buf(),
            addr,
        })
    }

    /// Its S3 API's URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The `[s3]` table of a `fieldcheck-server` configuration that keeps photos in this
    /// node's bucket through `endpoint`.
    pub fn config_toml(&self, endpoint: &str) -> Result<String> {
        crate::s3::config_toml(&self.root, endpoint)
    }
}
