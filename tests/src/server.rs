//! A real `fieldcheck-server` process on 127.0.0.1 for end-to-end tests.

use crate::process::Guarded;
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Password of the test inspector that [`ServerProcess::prepare`] creates.
pub const INSPECTOR_PASSWORD: &str = "xunCha-2026!";

/// A running server; killed when dropped.
pub struct ServerProcess {
    child: Guarded,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// Its data directory.
    pub data_dir: PathBuf,
}

/// Path of the `fieldcheck-server` binary in this build's target directory. `cargo test
/// --workspace` builds it; run `cargo build -p fieldcheck-server` first when testing this crate
/// alone.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test> → target/<profile>/fieldcheck-server
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("fieldcheck-server");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p fieldcheck-server` first",
        bin.display()
    );
    bin
}

/// Runs a `fieldcheck-server` admin command against `data_dir` and returns its stdout.
pub fn admin(data_dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(binary())
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()?;
    if !out.status.success() {
        bail!(
            "fieldcheck-server {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

impl ServerProcess {
    /// Loads the demo data into `data_dir` and adds inspector `name` with
    /// [`INSPECTOR_PASSWORD`].
    pub fn prepare(data_dir: &Path, inspectors: &[&str]) -> Result<()> {
        Self::prepare_with_pack(data_dir, &crate::content_dir(), inspectors)
    }

    /// [`ServerProcess::prepare`] with the template pack in the folder `pack`.
    pub fn prepare_with_pack(data_dir: &Path, pack: &Path, inspectors: &[&str]) -> Result<()> {
        admin(
            data_dir,
            &["demo", "--pack", pack.to_str().context("utf-8 path")?],
        )?;
        for name in inspectors {
            admin(
                data_dir,
                &[
                    "user",
                    "add",
                    "--role",
                    "inspector",
                    "--password",
                    INSPECTOR_PASSWORD,
                    name,
                ],
            )?;
        }
        Ok(())
    }

    /// Starts `serve` on a free loopback port and waits until it listens.
    pub fn start(data_dir: &Path) -> Result<ServerProcess> {
        Self::start_on(data_dir, "127.0.0.1:0")
    }

    /// Starts `serve` on `listen` and waits until it listens.
    pub fn start_on(data_dir: &Path, listen: &str) -> Result<ServerProcess> {
        let mut child = Guarded::spawn(
            Command::new(binary())
                .arg("--data-dir")
                .arg(data_dir)
                .args(["serve", "--listen", listen])
                .env("RUST_LOG", "warn")
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
        )?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines.next().context("server exited before listening")??;
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.trim().to_string();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(ServerProcess {
            child,
            url,
            data_dir: data_dir.to_path_buf(),
        })
    }

    /// The server's process id (for reading `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process with SIGKILL and waits for it.
    pub fn kill(&mut self) {
        self.child.kill();
    }

    /// Every record the server holds, as `fieldcheck-server export` prints it.
    pub fn export(&self) -> Result<serde_json::Value> {
        Ok(serde_json::from_str(&admin(&self.data_dir, &["export"])?)?)
    }
}
