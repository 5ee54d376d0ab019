//! A real S3-compatible server on 127.0.0.1 for the photo-store tests: `s3s-fs` (the s3s
//! project's S3 API over a directory; `scripts/install-deps.sh` installs it with `cargo
//! install`), with one bucket and a key pair, stopped with the test.

use crate::process::Guarded;
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The bucket every test server has.
pub const BUCKET: &str = "fieldcheck";
/// Its access key id.
pub const ACCESS_KEY: &str = "fieldcheck-test";
/// Its secret key.
pub const SECRET_KEY: &str = "fieldcheck-test-secret";

/// A running `s3s-fs`, killed when dropped.
pub struct S3Server {
    child: Option<Guarded>,
    root: PathBuf,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// The `s3s-fs` binary: on `PATH` or in cargo's bin directory.
pub fn binary() -> Result<PathBuf> {
    crate::process::installed("s3s-fs").context("s3s-fs is not installed: run scripts/install-deps.sh (it runs `cargo install s3s-fs --features binary`)")
}

/// The `[s3]` table of a `fieldcheck-server` configuration that keeps photos in the bucket
/// [`BUCKET`] through `endpoint`, with the key pair above in a credentials file written beside
/// the store's directory `root`.
pub(crate) fn config_toml(root: &Path, endpoint: &str) -> Result<String> {
    let credentials = root.with_extension("credentials");
    std::fs::write(
        &credentials,
        format!("access_key_id={ACCESS_KEY}\nsecret_access_key={SECRET_KEY}\n"),
    )?;
    Ok(format!(
        "[s3]\nendpoint = \"{endpoint}\"\nbucket = \"{BUCKET}\"\npath_style = true\ncredentials_file = \"{}\"\n",
        credentials.display()
    ))
}

impl S3Server {
    /// Starts `s3s-fs` over `root` (its bucket made as a directory) on a free port.
    pub fn start(root: &Path) -> Result<S3Server> {
        std::fs::create_dir_all(root.join(BUCKET))?;
        let port = crate::process::free_port()?;
        let mut server = S3Server {
            child: None,
            root: root.to_path_buf(),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        server.restart()?;
        Ok(server)
    }

    /// Starts it again on the same port and directory (after [`S3Server::kill`]).
    pub fn restart(&mut self) -> Result<()> {
        let child = Guarded::spawn(
            Command::new(binary()?)
                .args(["--host", "127.0.0.1", "--port"])
                .arg(self.addr.port().to_string())
                .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
                .arg(&self.root)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )?;
        self.child = Some(child);
        crate::process::wait_listening(self.addr, Duration::from_secs(10), "s3s-fs")?;
        Ok(())
    }

    /// Kills it: the store becomes unreachable.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill();
        }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The `[s3]` table of a `fieldcheck-server` configuration that keeps photos in this
    /// server's bucket through `endpoint` (this server's URL, or a proxy in front of it), the
    /// keys in a credentials file written beside the store's directory.
    pub fn config_toml(&self, endpoint: &str) -> Result<String> {
        config_toml(&self.root, endpoint)
    }

    /// The objects under `prefix` in the bucket, as paths relative to it (s3s-fs keeps each
    /// object as a file), sorted.
    pub fn objects(&self, prefix: &str) -> Vec<String> {
        let bucket = self.root.join(BUCKET);
        let mut out = Vec::new();
        let mut dirs = vec![bucket.clone()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if let Ok(rel) = p.strip_prefix(&bucket) {
                    let rel = rel.to_string_lossy().into_owned();
                    if rel.starts_with(prefix) && !rel.contains(".s3s") {
                        out.push(rel);
                    }
                }
            }
        }
        out.sort();
        out
    }
}
