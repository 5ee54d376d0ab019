//! Server configuration: where data lives, where to listen, and the limits. Flags and
//! environment variables (`FIELDCHECK_*`) override an optional TOML file, which overrides the
//! defaults; with nothing given the server runs from `./data` on 127.0.0.1:8080.

pub use crate::blobs::S3Config;
pub use crate::dashboard::map::tiles::MapConfig;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// The limits that protect the server.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest JSON request body, in bytes.
    pub max_json_bytes: usize,
    /// Largest photo, in bytes.
    pub max_photo_bytes: u64,
    /// Largest width or height of a photo, in pixels.
    pub max_image_side: u32,
    /// Most entries in one push.
    pub max_batch_entries: usize,
    /// Largest pull page.
    pub max_pull_page: u32,
    /// Concurrent sync requests (push, pull, photos). Past it, a request waits its turn (in
    /// arrival order) for up to `sync_queue_wait_ms`, then is answered 503.
    pub max_concurrent_syncs: usize,
    /// Milliseconds a sync request may wait for one of `max_concurrent_syncs` before it is
    /// answered 503 with Retry-After (0: answered at once). A waiting request holds only its
    /// connection, not its body.
    pub sync_queue_wait_ms: u64,
    /// Pushes read and applied at once (their bodies in memory). Pushes are written one batch
    /// after another, so more at once only takes memory: past this many, a push waits its turn
    /// (in arrival order, before its body is read) for up to `push_queue_wait_ms`.
    pub max_concurrent_pushes: usize,
    /// Milliseconds a push may wait for one of `max_concurrent_pushes` before it is answered
    /// 503 with Retry-After (0: answered at once). Waiting in line keeps the writer busy; a
    /// tablet told to come back would leave it idle for the Retry-After.
    pub push_queue_wait_ms: u64,
    /// Seconds to put in Retry-After when a push waited its whole `push_queue_wait_ms`.
    pub push_retry_after_secs: u64,
    /// Milliseconds of work a push may find ahead of it and still be taken; past that, its
    /// device is given a number in the line and the time to come back (see
    /// [`crate::push_line`]). A push taken waits for that work and then for its own group's
    /// commit, so it is answered within about two to three times this (BENCHMARKS.md, "17:00
    /// on one server"). 0: every push is taken and waits in line on the server. Unset: 750 on
    /// SQLite, 500 on PostgreSQL ([`Config::push_wait_target`]).
    pub push_wait_target_ms: Option<u64>,
    /// Concurrent photo verifications (each may decode a full image).
    pub max_concurrent_verifications: usize,
    /// Seconds to put in Retry-After.
    pub retry_after_secs: u64,
    /// Days a device token lives.
    pub token_ttl_days: u32,
    /// Failed logins per account or address within the window before logins are refused.
    pub login_max_failures: u64,
    /// The login-failure window, in seconds.
    pub login_window_secs: u64,
    /// Password hashes (Argon2id, ~19 MiB each) computed at once, for sign-ins and new
    /// passwords.
    pub max_concurrent_hashes: usize,
    /// Sign-ins that may wait for a hash slot; past that they are answered 503 at once.
    pub max_waiting_hashes: usize,
    /// Sync requests (push, pull, photos) one device may have in flight at once, so one
    /// tablet cannot take every sync slot; a request beyond it gives up the device's oldest
    /// one. A tablet uploads three photos at once and may pull meanwhile.
    pub max_syncs_per_device: usize,
    /// Seconds a client has to send a request's headers before the connection is closed.
    pub header_read_timeout_secs: u64,
    /// Seconds a client has to send a request's body (photo uploads resume where a cut-off
    /// body stopped).
    pub body_read_timeout_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_json_bytes: 8 * 1024 * 1024,
            max_photo_bytes: 25 * 1024 * 1024,
            max_image_side: 12_000,
            max_batch_entries: 2_000,
            max_pull_page: 500,
            max_concurrent_syncs: 256,
            sync_queue_wait_ms: 30_000,
            max_concurrent_pushes: 32,
            push_queue_wait_ms: 30_000,
            push_retry_after_secs: 1,
            push_wait_target_ms: None,
            max_concurrent_verifications: 2,
            retry_after_secs: 5,
            token_ttl_days: 90,
            login_max_failures: 5,
            login_window_secs: 900,
            max_concurrent_hashes: 2,
            max_waiting_hashes: 64,
            max_syncs_per_device: 4,
            header_read_timeout_secs: 15,
            body_read_timeout_secs: 120,
        }
    }
}

/// The optional TOML file (`--config`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    /// Data directory.
    pub data_dir: Option<PathBuf>,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite file.
    pub database_url: Option<String>,
    /// Listen address.
    pub listen: Option<SocketAddr>,
    /// Photos in an S3-compatible bucket instead of `<data_dir>/photos`.
    pub s3: Option<S3Config>,
    /// Addresses of the load balancers in front of this server, whose `X-Forwarded-For` is
    /// believed (see [`client_address`]).
    pub trusted_proxies: Vec<IpAddr>,
    /// The dashboard map's tile source (`[map]`); none: the plain street plan.
    pub map: MapConfig,
    /// Limits.
    pub limits: Limits,
}

/// The configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// It could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It is not valid TOML for this configuration.
    #[error("config file {path} is invalid: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: toml::de::Error,
    },
}

impl FileConfig {
    /// Reads a TOML configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// The resolved configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Data directory (SQLite file and photos).
    pub data_dir: PathBuf,
    /// PostgreSQL URL, if any.
    pub database_url: Option<String>,
    /// Listen address.
    pub listen: SocketAddr,
    /// The S3-compatible bucket photos are kept in; `None` keeps them in `<data_dir>/photos`.
    pub s3: Option<S3Config>,
    /// Load balancers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpAddr>,
    /// The dashboard map's tile source, as configured (checked when the server starts:
    /// [`MapConfig::source`]).
    pub map: MapConfig,
    /// Limits.
    pub limits: Limits,
}

impl Config {
    /// Flags and environment (already merged by the CLI) over the file over the defaults;
    /// `FIELDCHECK_S3_*` variables over the file's `[s3]` table (see [`s3_from`]),
    /// `FIELDCHECK_MAP_*` over its `[map]` table ([`MapConfig::with_env`]).
    pub fn resolve(
        file: FileConfig,
        data_dir: Option<PathBuf>,
        database_url: Option<String>,
        listen: Option<SocketAddr>,
    ) -> Self {
        Self {
            data_dir: data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("data")),
            database_url: database_url.or(file.database_url),
            listen: listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            s3: s3_from(file.s3, |name| std::env::var(name).ok()),
            trusted_proxies: file.trusted_proxies,
            map: file.map.with_env(|name| std::env::var(name).ok()),
            limits: file.limits,
        }
    }

    /// What to open: the PostgreSQL URL, or the SQLite file in the data directory.
    pub fn database(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            self.data_dir
                .join("fieldcheck.sqlite3")
                .to_string_lossy()
                .into_owned()
        })
    }

    /// The push line's target ([`Limits::push_wait_target_ms`]), by default 750 ms on SQLite
    /// and 500 ms on PostgreSQL: with it the 17:00 burst's slowest push (p99) is answered in
    /// 1.1-1.5 s on one SQLite server and 1.4-1.8 s on two replicas sharing PostgreSQL, and in
    /// 14-17 s without. On PostgreSQL each push is its own transaction, so a push taken waits
    /// longer past the target than in SQLite's group commit (750 ms there: p99 1.5-2.2 s;
    /// BENCHMARKS.md, "The line on replicas").
    pub fn push_wait_target(&self) -> std::time::Duration {
        let default = if self.database_url.is_some() {
            500
        } else {
            750
        };
        std::time::Duration::from_millis(self.limits.push_wait_target_ms.unwrap_or(default))
    }

    /// Where photos are kept.
    pub fn photos_dir(&self) -> PathBuf {
        self.data_dir.join("photos")
    }
}

/// The bucket settings: each `FIELDCHECK_S3_<FIELD>` variable (`ENDPOINT`, `BUCKET`,
/// `REGION`, `PATH_STYLE` as `true`/`false`, `PREFIX`, `CREDENTIALS_FILE`) over the file's
/// `[s3]` table. S3 is used when either names a bucket.
pub fn s3_from(file: Option<S3Config>, env: impl Fn(&str) -> Option<String>) -> Option<S3Config> {
    let mut c = file.unwrap_or_default();
    for (name, field) in [
        ("FIELDCHECK_S3_ENDPOINT", &mut c.endpoint),
        ("FIELDCHECK_S3_BUCKET", &mut c.bucket),
        ("FIELDCHECK_S3_REGION", &mut c.region),
        ("FIELDCHECK_S3_PREFIX", &mut c.prefix),
        ("FIELDCHECK_S3_CREDENTIALS_FILE", &mut c.credentials_file),
    ] {
        if let Some(v) = env(name) {
            *field = v;
        }
    }
    if let Some(v) = env("FIELDCHECK_S3_PATH_STYLE") {
        c.path_style = matches!(v.trim(), "1" | "true" | "yes");
    }
    (!c.bucket.is_empty()).then_some(c)
}

/// The address a request comes from, for the per-address sign-in limits: the connection's
/// peer, unless the peer is a trusted load balancer; then the nearest address in
/// `X-Forwarded-For` (read from the right, the end the balancer appended to) that is not itself
/// a trusted balancer. An entry that is not an address stops the reading at the peer: a client
/// cannot choose its address by sending the header itself, since only what trusted balancers
/// appended is believed.
pub fn client_address(peer: IpAddr, forwarded_for: &[&str], trusted_proxies: &[IpAddr]) -> IpAddr {
    let mut client = peer;
    let hops = forwarded_for.iter().flat_map(|v| v.split(',')).rev();
    for hop in hops {
        if !trusted_proxies.contains(&client) {
            break;
        }
        match hop.trim().parse::<IpAddr>() {
            Ok(addr) => client = addr,
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_override_defaults() {
        let file: FileConfig = toml::from_str(
            "data_dir = \"/srv/fc\"\nlisten = \"0.0.0.0:9000\"\n[limits]\nmax_image_side = 8000\n",
        )
        .unwrap();
        let c = Config::resolve(file, None, Some("postgres://x/y".into()), None);
        assert_eq!(c.data_dir, PathBuf::from("/srv/fc"));
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.limits.max_image_side, 8000);
        assert_eq!(c.limits.max_photo_bytes, Limits::default().max_photo_bytes);
        assert_eq!(c.database(), "postgres://x/y");
        let d = Config::resolve(FileConfig::default(), None, None, None);
        assert_eq!(d.database(), "data/fieldcheck.sqlite3");
        assert!(toml::from_str::<FileConfig>("bogus = 1").is_err());
    }

    #[test]
    fn the_push_line_is_on_for_either_database_unless_set() {
        use std::time::Duration;
        let sqlite = Config::resolve(FileConfig::default(), None, None, None);
        assert_eq!(sqlite.push_wait_target(), Duration::from_millis(750));
        let pg = Config::resolve(
            FileConfig::default(),
            None,
            Some("postgres://x/y".into()),
            None,
        );
        assert_eq!(pg.push_wait_target(), Duration::from_millis(500));
        let file: FileConfig = toml::from_str("[limits]\npush_wait_target_ms = 0\n").unwrap();
        let off = Config::resolve(file, None, None, None);
        assert_eq!(off.push_wait_target(), Duration::ZERO);
        let file: FileConfig = toml::from_str("[limits]\npush_wait_target_ms = 300\n").unwrap();
        let set = Config::resolve(file, None, Some("postgres://x/y".into()), None);
        assert_eq!(set.push_wait_target(), Duration::from_millis(300));
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_balancers() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let lb = [ip("10.0.0.5"), ip("10.0.0.6")];
        // A direct client: the header it sends is ignored.
        assert_eq!(
            client_address(ip("1.2.3.4"), &["9.9.9.9"], &lb),
            ip("1.2.3.4")
        );
        // Through the balancer: the address it appended.
        assert_eq!(
            client_address(ip("10.0.0.5"), &["1.2.3.4"], &lb),
            ip("1.2.3.4")
        );
        // A client's forged entry before the real one is not believed.
        assert_eq!(
            client_address(ip("10.0.0.5"), &["9.9.9.9, 1.2.3.4"], &lb),
            ip("1.2.3.4")
        );
        // Two balancers in a row, the header over two lines.
        assert_eq!(
            client_address(ip("10.0.0.6"), &["1.2.3.4", "10.0.0.5"], &lb),
            ip("1.2.3.4")
        );
        // Garbage stops at the balancer; no header leaves the balancer.
        assert_eq!(
            client_address(ip("10.0.0.5"), &["junk"], &lb),
            ip("10.0.0.5")
        );
        assert_eq!(client_address(ip("10.0.0.5"), &[], &lb), ip("10.0.0.5"));
        assert_eq!(
            client_address(ip("10.0.0.5"), &["1.2.3.4"], &[]),
            ip("10.0.0.5")
        );
        let file: FileConfig = toml::from_str("trusted_proxies = [\"10.0.0.5\"]\n").unwrap();
        assert_eq!(file.trusted_proxies, [ip("10.0.0.5")]);
    }

    #[test]
    fn s3_comes_from_the_file_and_the_environment_names_override_it() {
        let file: FileConfig = toml::from_str(
            "[s3]\nendpoint = \"http://127.0.0.1:9000\"\nbucket = \"photos\"\npath_style = true\n",
        )
        .unwrap();
        let none = |_: &str| None;
        let from_file = s3_from(file.s3.clone(), none).unwrap();
        assert_eq!(from_file.bucket, "photos");
        assert!(from_file.path_style);
        let env = |name: &str| match name {
            "FIELDCHECK_S3_BUCKET" => Some("other".to_string()),
            "FIELDCHECK_S3_PATH_STYLE" => Some("false".to_string()),
            _ => None,
        };
        let over = s3_from(file.s3, env).unwrap();
        assert_eq!((over.bucket.as_str(), over.path_style), ("other", false));
        assert_eq!(over.endpoint, "http://127.0.0.1:9000");
        assert_eq!(s3_from(None, none), None, "no bucket: local photos");
        assert!(toml::from_str::<FileConfig>("[s3]\nbucket = \"b\"\nsecret = \"x\"\n").is_err());
    }
}
