//! `fieldcheck-server backup` taken while two tablets keep pushing work and photos, then
//! `restore` into an empty data directory: the restored server holds every record the server
//! had acknowledged before the backup began (checked key by key) and every photo it had stored
//! (checked by hash). A backup with one byte changed, or a data directory in use, is refused and
//! nothing is written.
//!
//! On PostgreSQL and an S3-compatible bucket the documented native tools do the same: while
//! the tablets push, `pg_dump -Fc` and then `rclone copy` of the bucket; `pg_restore` into an
//! empty database and `rclone copy` into an empty bucket; the same key-by-key check.
//!
//! Seed: `BACKUP_SEED` (printed at the start).

use fieldcheck_core::sync::api::Timeouts;
use fieldcheck_testkit::s3::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY};
use fieldcheck_tests::server::{INSPECTOR_PASSWORD, ServerCommand, ServerProcess};
use fieldcheck_tests::tablet::Tablet;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::future::Future;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const USERS: [&str; 2] = ["xiaosun", "xiaoqian"];

/// Every record of an export by its key: kind and id (an answer: inspection and item).
fn keys(export: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (kind, field) in [
        ("inspections", "id"),
        ("findings", "id"),
        ("photos", "sha256"),
        ("events", "id"),
        ("check_ins", "id"),
    ] {
        for r in export[kind].as_array().unwrap() {
            out.insert(format!("{kind}/{}", r[field].as_str().unwrap()));
        }
    }
    for r in export["item_results"].as_array().unwrap() {
        out.insert(format!(
            "item_results/{}/{}",
            r["inspection_id"].as_str().unwrap(),
            r["item_code"].as_str().unwrap()
        ));
    }
    out
}

/// The photos a data directory's database records as stored.
fn stored_photos(data_dir: &Path) -> Vec<String> {
    let db = rusqlite::Connection::open(data_dir.join("fieldcheck.sqlite3")).unwrap();
    let mut q = db
        .prepare("SELECT sha256 FROM photos WHERE stored_at IS NOT NULL")
        .unwrap();
    q.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The run's random source, from `BACKUP_SEED` or a new seed (printed).
fn seeded() -> StdRng {
    let seed: u64 = std::env::var("BACKUP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("BACKUP_SEED={seed}");
    StdRng::seed_from_u64(seed)
}

/// Two tablets signed in to the server at `url`, each with three inspections synced (one with a
/// photo), then recording and syncing without pause until `backup` is done. Returns what
/// `backup` returned; fails unless the tablets pushed while it ran.
async fn under_load<T>(url: &str, rng: &mut StdRng, backup: impl Future<Output = T>) -> T {
    let timeouts = Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(30),
    };
    let tablet_dirs: Vec<tempfile::TempDir> =
        USERS.iter().map(|_| tempfile::tempdir().unwrap()).collect();
    let tablets: Vec<Tablet> = USERS
        .iter()
        .zip(&tablet_dirs)
        .map(|(u, d)| Tablet::open(d.path(), u, timeouts, rng))
        .collect();
    for t in &tablets {
        t.engine
            .login(url, &t.user, INSPECTOR_PASSWORD)
            .await
            .unwrap();
        t.engine.sync_now().await.unwrap();
        for n in 0..3 {
            t.record(rng, n == 0);
        }
        t.engine.sync_now().await.unwrap();
    }
    let done = AtomicBool::new(false);
    let mut load_rng = StdRng::seed_from_u64(rng.random());
    let load = async {
        let mut sessions = 0;
        while !done.load(Ordering::Relaxed) {
            for t in &tablets {
                let photo = load_rng.random_bool(0.5);
                t.record(&mut load_rng, photo);
                t.engine.sync_now().await.unwrap();
                sessions += 1;
            }
            tokio::task::yield_now().await;
        }
        sessions
    };
    let take = async {
        // Let the load get going first.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let out = backup.await;
        done.store(true, Ordering::Relaxed);
        out
    };
    let (sessions, out) = tokio::join!(load, take);
    eprintln!("{sessions} sync sessions of load while the backup ran");
    assert!(sessions > 0, "the tablets pushed while the backup ran");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_every_acknowledged_record_and_photo() {
    let mut rng = seeded();
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    ServerProcess::prepare(&live, &USERS).unwrap();
    let server = ServerProcess::start(&live).unwrap();
    let backup_dir = dir.path().join("backup");
    let (before, stored, out) = under_load(&server.url, &mut rng, async {
        // What the server had acknowledged and stored before the backup began.
        let before = keys(&server.export().unwrap());
        let stored = stored_photos(&live);
        let command = ServerCommand::new(&live);
        let dest = backup_dir.clone();
        let out =
            tokio::task::spawn_blocking(move || command.admin(&["backup", dest.to_str().unwrap()]))
                .await
                .unwrap()
                .unwrap();
        (before, stored, out)
    })
    .await;
    eprintln!("{out}");
    assert!(stored.len() >= 2, "photos were stored before the backup");

    // A damaged backup is refused, and writes nothing.
    let damaged = dir.path().join("damaged");
    copy_dir(&backup_dir, &damaged);
    let victim = &stored[0];
    let photo = damaged
        .join("photos")
        .join(&victim[..2])
        .join(format!("{victim}.jpg"));
    let mut bytes = std::fs::read(&photo).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&photo, bytes).unwrap();
    let refused_dir = dir.path().join("refused");
    let refused = ServerCommand::new(&refused_dir)
        .output(&["restore", damaged.to_str().unwrap()])
        .unwrap();
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("备份不完整或已损坏"), "{why}");
    assert!(
        !refused_dir.join("fieldcheck.sqlite3").exists() && !refused_dir.join("photos").exists(),
        "a refused restore writes nothing"
    );
    // A data directory in use is refused.
    let in_use = ServerCommand::new(&live)
        .output(&["restore", backup_dir.to_str().unwrap()])
        .unwrap();
    assert!(!in_use.status.success());
    assert!(String::from_utf8_lossy(&in_use.stderr).contains("已有数据库"));

    // The restore, then a server on it.
    let restored_dir = dir.path().join("restored");
    ServerCommand::new(&restored_dir)
        .admin(&["restore", backup_dir.to_str().unwrap()])
        .unwrap();
    let restored = ServerProcess::start(&restored_dir).unwrap();
    check_restored(
        &before,
        &restored.export().unwrap(),
        &stored,
        &restored_dir,
        &stored_photos(&restored_dir),
    );
    let integrity: String = rusqlite::Connection::open(restored_dir.join("fieldcheck.sqlite3"))
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
}

/// The photos a PostgreSQL database records as stored.
fn stored_photos_pg(database: &str) -> Vec<String> {
    let out = run(Command::new("psql").args([
        database,
        "-At",
        "-c",
        "SELECT sha256 FROM photos WHERE stored_at IS NOT NULL",
    ]));
    out.lines().map(str::to_string).collect()
}

/// Runs a command that must succeed; returns its stdout.
fn run(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// An rclone configuration file naming each S3 server's bucket as a remote, as
/// docs/DEPLOYMENT.md shows one.
fn rclone_config(file: &Path, remotes: &[(&str, &S3Server)]) {
    let mut text = String::new();
    for (name, s3) in remotes {
        text += &format!(
            "[{name}]\ntype = s3\nprovider = Other\nendpoint = {}\naccess_key_id = {ACCESS_KEY}\nsecret_access_key = {SECRET_KEY}\nforce_path_style = true\nno_check_bucket = true\n\n",
            s3.url()
        );
    }
    std::fs::write(file, text).unwrap();
}

/// `rclone --config <file> <args>`. Debian 12's rclone refuses any `AWS_CA_BUNDLE` (it cannot
/// load one into its own HTTP client), so it runs without it, as the deployment guide says.
fn rclone(config: &Path, args: &[&str]) -> String {
    run(Command::new("rclone")
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("AWS_CA_BUNDLE"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_dump_and_a_bucket_copy_under_load_restore_every_acknowledged_record_and_photo() {
    let Some(database) = fieldcheck_testkit::postgres::fresh_database().unwrap() else {
        eprintln!("skipped: FIELDCHECK_SKIP_PG=1");
        return;
    };
    let mut rng = seeded();
    let dir = tempfile::tempdir().unwrap();
    let s3 = S3Server::start(&dir.path().join("s3")).unwrap();
    let live = ServerCommand::new(&dir.path().join("live"))
        .global(["--database-url", database.as_str()])
        .config(&s3.config_toml(&s3.url()).unwrap())
        .unwrap();
    live.prepare(&fieldcheck_tests::content_dir(), &USERS)
        .unwrap();
    let server = live.serve().unwrap();
    let backup_dir = dir.path().join("backup");
    std::fs::create_dir_all(&backup_dir).unwrap();
    let dump = backup_dir.join("fieldcheck.dump");
    let copy = backup_dir.join("bucket");
    let config = dir.path().join("rclone.conf");
    let restored_s3 = S3Server::start(&dir.path().join("s3-restored")).unwrap();
    rclone_config(&config, &[("live", &s3), ("restored", &restored_s3)]);

    let (before, stored) = under_load(&server.url, &mut rng, async {
        let before = keys(&server.export().unwrap());
        let stored = stored_photos_pg(&database);
        let (database, dump, copy, config) =
            (database.clone(), dump.clone(), copy.clone(), config.clone());
        tokio::task::spawn_blocking(move || {
            // The database first, then the bucket: a photo is in the bucket before the
            // database says it is stored, and never changes after.
            run(Command::new("pg_dump")
                .args(["-Fc", "-f"])
                .arg(&dump)
                .arg(&database));
            rclone(
                &config,
                &["copy", &format!("live:{BUCKET}"), copy.to_str().unwrap()],
            );
        })
        .await
        .unwrap();
        (before, stored)
    })
    .await;
    assert!(stored.len() >= 2, "photos were stored before the backup");

    // The restore: an empty database and an empty bucket.
    let restored_db = fieldcheck_testkit::postgres::fresh_database()
        .unwrap()
        .unwrap();
    run(Command::new("pg_restore")
        .args(["--no-owner", "--no-acl", "--exit-on-error", "-d"])
        .arg(&restored_db)
        .arg(&dump));
    rclone(
        &config,
        &[
            "copy",
            copy.to_str().unwrap(),
            &format!("restored:{BUCKET}"),
        ],
    );
    let restored = ServerCommand::new(&dir.path().join("restored"))
        .global(["--database-url", restored_db.as_str()])
        .config(&restored_s3.config_toml(&restored_s3.url()).unwrap())
        .unwrap();
    let checked = restored.admin(&["check-config"]).unwrap();
    eprintln!("{checked}");
    let restored_server = restored.serve().unwrap();
    check_restored(
        &before,
        &restored_server.export().unwrap(),
        &stored,
        &dir.path().join("s3-restored").join(BUCKET),
        &stored_photos_pg(&restored_db),
    );
}

/// The key-by-key check of a restore: every record acknowledged before the backup is in the
/// restored server's `export`; every photo stored then is under `photos/` of `photo_root` (a
/// data directory or a bucket) with its own hash, and the restored database says it is stored.
fn check_restored(
    before: &BTreeSet<String>,
    export: &Value,
    stored: &[String],
    photo_root: &Path,
    restored_stored: &[String],
) {
    let after = keys(export);
    let lost: Vec<&String> = before.difference(&after).collect();
    assert!(
        lost.is_empty(),
        "records acknowledged before the backup are missing: {lost:?}"
    );
    for sha in stored {
        let file = photo_root
            .join("photos")
            .join(&sha[..2])
            .join(format!("{sha}.jpg"));
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("photo {sha}: {e}"));
        assert_eq!(
            hex(&Sha256::digest(&bytes)),
            *sha,
            "photo {sha} restored whole"
        );
        assert!(
            restored_stored.contains(sha),
            "the restored database says photo {sha} is stored"
        );
    }
    eprintln!(
        "{} records and {} photos before the backup; {} records restored",
        before.len(),
        stored.len(),
        after.len()
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
