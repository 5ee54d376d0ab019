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
//! checked). Nothing else is written. Every part and note is said in Chinese first, then
//! English (`中文 / English`), as the server's other messages are; details from a library
//! (an I/O error, a bucket's answer) follow in its words.

use crate::config::Config;
use crate::server::redact;
use std::path::Path;
use std::time::Duration;

/// Part names and notes said more than once.
const DATA_DIRECTORY: &str = "数据目录 / data directory";
const PHOTOS: &str = "照片 / photos";
const WRITABLE: &str = "可写 / writable";
const NOT_THERE_YET: &str = "尚未创建，首次启动时创建 / not there yet: created at first start";

/// How long the database may take to answer.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(10);

/// One part of the configuration and what was found.
#[derive(Debug)]
pub struct Finding {
    /// Which part, `中文 / English`: data directory, database, photos, listen address, map
    /// tiles, push line.
    pub part: &'static str,
    /// What the configuration says it is.
    pub what: String,
    /// What was found, `中文 / English`: `Ok` with a note, or `Err` with why it will not work.
    pub outcome: Result<String, String>,
}

/// Checks each part of `config`; the server would start only if every outcome is `Ok`.
pub async fn check(config: &Config) -> Vec<Finding> {
    let data = config.data_dir.display().to_string();
    vec![
        Finding {
            part: DATA_DIRECTORY,
            what: data,
            outcome: writable_or_creatable(&config.data_dir),
        },
        Finding {
            part: "数据库 / database",
            what: database_kind(config),
            outcome: database(config).await,
        },
        photos(config).await,
        Finding {
            part: "监听地址 / listen address",
            what: format!("http://{}", config.listen),
            outcome: std::net::TcpListener::bind(config.listen)
                .map(|_| "空闲 / free".to_string())
                .map_err(|e| format!("无法在此监听 / cannot listen there: {e}")),
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
        "[limits] 中设置 / set in [limits]"
    } else {
        "默认 / the default"
    };
    let (what, note) = if target == 0 {
        (
            format!("关闭 / off ({origin})"),
            "每次推送都在本服务器上排队等候 / every push waits in line on this server".to_string(),
        )
    } else {
        (
            format!("{target} ms ({origin})"),
            format!(
                "前面的工作在 {target} ms 内可完成时接收推送，其余平板取号并按时回来 / a push is \
                 taken while the work ahead of it fits in {target} ms; other tablets are given a \
                 number and a time to come back"
            ),
        )
    };
    Finding {
        part: "推送排队 / push line",
        what,
        outcome: Ok(note),
    }
}

/// The map's tile source: none (the plain street plan, always fine), or a template that must
/// be well formed and answer a tile from this machine.
async fn map_tiles(config: &Config) -> Finding {
    use crate::dashboard::map::tiles;
    let what = match config.map.tiles.trim() {
        "" => "无 / none".to_string(),
        t => tiles::redacted(t),
    };
    let outcome = match config.map.source() {
        Err(why) => Err(format!(
            "地图配置有误 / the map's configuration is wrong: {why}"
        )),
        Ok(None) => Ok(
            "看板地图按点位绘制简易街道图 / the dashboard's map draws a plain street plan from \
             the sites"
                .into(),
        ),
        Ok(Some(source)) => tiles::probe(&source)
            .await
            .map(|note| format!("有应答 / {note}"))
            .map_err(|why| format!("瓦片服务不可用 / {why}")),
    };
    Finding {
        part: "地图瓦片 / map tiles",
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
                part: PHOTOS,
                what: "S3 存储桶 / S3 bucket".into(),
                outcome: Err(format!(
                    "照片存储配置有误 / the photo store's configuration is wrong: {e}"
                )),
            };
        }
    };
    let what = store.describe();
    let outcome = if config.s3.is_some() {
        store
            .probe()
            .await
            .map(|caveat| match caveat {
                None => {
                    "有应答：探测对象已写入、读回并删除，重复写入被拒绝，续传可用 / answers; a \
                         probe object was written, read back and removed, and a second write of \
                         it refused, as uploads need"
                        .into()
                }
                Some(caveat) => format!(
                    "有应答：探测对象已写入、读回并删除 / answers; a probe object was written, \
                     read back and removed. 但 / But: {caveat}"
                ),
            })
            .map_err(|e| format!("存储桶应答不正常 / does not answer as a bucket should: {e}"))
    } else {
        let dir = config.photos_dir();
        writable_or_creatable(&dir).map(|note| match free_space(&dir) {
            Some(bytes) => {
                let gb = bytes as f64 / 1e9;
                format!("{note}；可用 {gb:.1} GB / {gb:.1} GB free")
            }
            None => note,
        })
    };
    Finding {
        part: PHOTOS,
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
        return Ok(NOT_THERE_YET.into());
    }
    match tokio::time::timeout(DATABASE_TIMEOUT, crate::store::open(&target)).await {
        Ok(Ok(store)) => {
            let users = store.list_users().await.map_err(|e| e.to_string())?;
            let n = users.len();
            Ok(format!(
                "有应答，结构为最新，{n} 个账号 / answers; schema up to date; {n} accounts"
            ))
        }
        Ok(Err(e)) => Err(format!("无法打开 / cannot be opened: {e}")),
        Err(_) => {
            let s = DATABASE_TIMEOUT.as_secs();
            Err(format!("{s} 秒内无应答 / no answer within {s} s"))
        }
    }
}

/// Whether files can be made in `dir`, or `dir` made in the nearest directory above it that
/// exists.
fn writable_or_creatable(dir: &Path) -> Result<String, String> {
    if dir.is_dir() {
        let probe = dir.join(format!(".check-config-{}", std::process::id()));
        return std::fs::write(&probe, b"")
            .and_then(|()| std::fs::remove_file(&probe))
            .map(|()| WRITABLE.to_string())
            .map_err(|e| format!("不可写 / not writable: {e}"));
    }
    if dir.exists() {
        return Err("已存在，但不是目录 / exists but is not a directory".into());
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
            .map(|_| NOT_THERE_YET.to_string())
            .map_err(|e| {
                let p = p.display();
                format!("无法在 {p} 中创建 / cannot be created in {p}: {e}")
            }),
        Some(p) => {
            let p = p.display();
            Err(format!(
                "无法创建：{p} 是文件 / cannot be created: {p} is a file"
            ))
        }
        None => Err("上级目录都不存在 / no existing directory above it".into()),
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
        assert_eq!(writable_or_creatable(&nested).unwrap(), NOT_THERE_YET);
        assert_eq!(writable_or_creatable(tmp.path()).unwrap(), WRITABLE);
        let file = tmp.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        assert!(writable_or_creatable(&file).is_err());
        assert!(writable_or_creatable(&file.join("photos")).is_err());
        assert!(free_space(&nested).unwrap() > 0);
    }
}
