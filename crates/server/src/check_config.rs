//! `fieldcheck-server check-config`: what a configuration will use, and whether each part
//! answers, before the service is started (after an install, or a change of configuration).
//!
//! Checks, in order: the data directory (there and writable, or creatable), the database
//! (opened as the server opens it at start, taking any schema step it would take; a SQLite
//! file not made yet is reported as such, not made), the photos (a local directory: writable,
//! free space; an S3 bucket: a probe object written, read back and removed, and whether a
//! second write of it is refused as uploads need), the listen
//! address (free to bind), the dashboard map's tiles (none: the street plan; else the
//! template checked and one tile asked for), and the push line it will run (said, not
//! checked). Nothing else is written.

use crate::config::Config;
use crate::server::redact;
use std::path::Path;
use std::time::Duration;

/// How long the database may take to answer.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(10);

/// One part of the configuration and what was found.
#[derive(Debug)]
pub struct Finding {
    /// Which part: `data directory`, `database`, `photos`, `listen`, `map tiles`.
    pub part: &'static str,
    /// What the configuration says it is.
    pub what: String,
    /// What was found: `Ok` with a note, or `Err` with why it will not work.
    pub outcome: Result<String, String>,
}

/// Checks each part of `config`; the server would start only if every outcome is `Ok`.
pub async fn check(config: &Config) -> Vec<Finding> {
    let data = config.data_dir.display().to_string();
    vec![
        Finding {
            part: "data directory",
            what: data,
            outcome: writable_or_creatable(&config.data_dir),
        },
        Finding {
            part: "database",
            what: database_kind(config),
            outcome: database(config).await,
        },
        photos(config).await,
        Finding {
            part: "listen",
            what: format!("http://{}", config.listen),
            outcome: std::net::TcpListener::bind(config.listen)
                .map(|_| "free".to_string())
                .map_err(|e| format!("cannot listen there: {e}")),
        },
        map_tiles(config).await,
        push_line(config),
    ]
}

/// The push line the server will run ([`Config::push_wait_target`]): numbers past a target,
/// or every push waiting in line on the server.
fn push_line(config: &Config) -> Finding {
    let target = config.push_wait_target().as_millis();
    let set = config.limits.push_wait_target_ms.is_some();
    let origin = if set {
        "set in [limits]"
    } else {
        "the default"
    };
    let (what, note) = if target == 0 {
        (
            format!("off ({origin})"),
            "every push waits in line on this server".to_string(),
        )
    } else {
        (
            format!("{target} ms ({origin})"),
            format!(
                "a push is taken while the work ahead of it fits in {target} ms; other tablets \
                 are given a number and a time to come back"
            ),
        )
    };
    Finding {
        part: "push line",
        what,
        outcome: Ok(note),
    }
}

/// The map's tile source: none (the plain street plan, always fine), or a template that must
/// be well formed and answer a tile from this machine.
async fn map_tiles(config: &Config) -> Finding {
    use crate::dashboard::map::tiles;
    let what = match config.map.tiles.trim() {
        "" => "none".to_string(),
        t => tiles::redacted(t),
    };
    let outcome = match config.map.source() {
        Err(why) => Err(why),
        Ok(None) => Ok("the dashboard's map draws a plain street plan from the sites".into()),
        Ok(Some(source)) => tiles::probe(&source).await,
    };
    Finding {
        part: "map tiles",
        what,
        outcome,
    }
}

/// The photo store: a local directory is checked without writing to it (it may not exist yet);
/// a bucket is probed within the store's own timeouts.
async fn photos(config: &Config) -> Finding {
    let store = match crate::server::photo_store(config) {
        Ok(store) => store,
        Err(e) => {
            return Finding {
                part: "photos",
                what: "S3 bucket".into(),
                outcome: Err(e.to_string()),
            };
        }
    };
    let what = store.describe();
    let outcome = if config.s3.is_some() {
        store
            .probe()
            .await
            .map(|caveat| match caveat {
                None => "answers; a probe object was written, read back and removed, and a \
                         second write of it refused, as uploads need"
                    .into(),
                Some(caveat) => format!(
                    "answers; a probe object was written, read back and removed; but {caveat}"
                ),
            })
            .map_err(|e| format!("does not answer as a bucket should: {e}"))
    } else {
        let dir = config.photos_dir();
        writable_or_creatable(&dir).map(|note| match free_space(&dir) {
            Some(bytes) => format!("{note}; {:.1} GB free", bytes as f64 / 1e9),
            None => note,
        })
    };
    Finding {
        part: "photos",
        what,
        outcome,
    }
}

fn database_kind(config: &Config) -> String {
    match &config.database_url {
        Some(url) => format!("PostgreSQL {}", redact(url)),
        None => format!("SQLite {}", config.database()),
    }
}

/// Opens the database as `serve` would, unless it is a SQLite file not made yet.
async fn database(config: &Config) -> Result<String, String> {
    let target = config.database();
    if config.database_url.is_none() && !Path::new(&target).exists() {
        return Ok("not made yet: created at first start".into());
    }
    match tokio::time::timeout(DATABASE_TIMEOUT, crate::store::open(&target)).await {
        Ok(Ok(store)) => {
            let users = store.list_users().await.map_err(|e| e.to_string())?;
            Ok(format!(
                "answers; schema up to date; {} accounts",
                users.len()
            ))
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", DATABASE_TIMEOUT.as_secs())),
    }
}

/// Whether files can be made in `dir`, or `dir` made in the nearest directory above it that
/// exists.
fn writable_or_creatable(dir: &Path) -> Result<String, String> {
    if dir.is_dir() {
        let probe = dir.join(format!(".check-config-{}", std::process::id()));
        return std::fs::write(&probe, b"")
            .and_then(|()| std::fs::remove_file(&probe))
            .map(|()| "writable".to_string())
            .map_err(|e| format!("not writable: {e}"));
    }
    if dir.exists() {
        return Err("exists but is not a directory".into());
    }
    let above = dir
        .ancestors()
        .skip(1)
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .find(|p| p.exists());
    match above {
        Some(p) if p.is_dir() => writable_or_creatable(p)
            .map(|_| "not there yet: created at first start".to_string())
            .map_err(|e| format!("cannot be created in {}: {e}", p.display())),
        Some(p) => Err(format!("cannot be created: {} is a file", p.display())),
        None => Err("no existing directory above it".into()),
    }
}

/// Bytes free for the server's user on the file system holding `dir` (or the nearest
/// directory above it that exists).
fn free_space(dir: &Path) -> Option<u64> {
    let existing = dir.ancestors().find(|p| p.is_dir())?;
    fs4::available_space(existing).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_under_a_writable_one_will_be_created() {
        let tmp = tempfile::tempdir().unwrap();
        let nested = tmp.path().join("a/b/c");
        assert_eq!(
            writable_or_creatable(&nested).unwrap(),
            "not there yet: created at first start"
        );
        assert_eq!(writable_or_creatable(tmp.path()).unwrap(), "writable");
        let file = tmp.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        assert!(writable_or_creatable(&file).is_err());
        assert!(writable_or_creatable(&file.join("photos")).is_err());
        assert!(free_space(&nested).unwrap() > 0);
    }
}
