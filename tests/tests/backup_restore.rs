//! `fieldcheck-server backup` taken while two tablets keep pushing work and photos, then
//! `restore` into an empty data directory: the restored server holds every record the server
//! had acknowledged before the backup began (checked key by key) and every photo it had stored
//! (checked by hash). A backup with one byte changed, or a data directory in use, is refused and
//! nothing is written.
//!
//! Seed: `BACKUP_SEED` (printed at the start).

use fieldcheck_core::sync::api::Timeouts;
use fieldcheck_tests::server::{INSPECTOR_PASSWORD, ServerCommand, ServerProcess};
use fieldcheck_tests::tablet::Tablet;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::Path;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_every_acknowledged_record_and_photo() {
    let seed: u64 = std::env::var("BACKUP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("BACKUP_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    ServerProcess::prepare(&live, &USERS).unwrap();
    let server = ServerProcess::start(&live).unwrap();
    let timeouts = Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(30),
    };
    let tablet_dirs: Vec<tempfile::TempDir> =
        USERS.iter().map(|_| tempfile::tempdir().unwrap()).collect();
    let tablets: Vec<Tablet> = USERS
        .iter()
        .zip(&tablet_dirs)
        .map(|(u, d)| Tablet::open(d.path(), u, timeouts, &mut rng))
        .collect();
    for t in &tablets {
        t.engine
            .login(&server.url, &t.user, INSPECTOR_PASSWORD)
            .await
            .unwrap();
        t.engine.sync_now().await.unwrap();
        for n in 0..3 {
            t.record(&mut rng, n == 0);
        }
        t.engine.sync_now().await.unwrap();
    }

    // The load: both tablets keep recording and syncing until the backup is done.
    let backup_dir = dir.path().join("backup");
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
        tokio::time::sleep(Duration::from_millis(500)).await;
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
        done.store(true, Ordering::Relaxed);
        (before, stored, out)
    };
    let (sessions, (before, stored, out)) = tokio::join!(load, take);
    eprintln!("{out}; {sessions} sessions of load meanwhile");
    assert!(sessions > 0, "the tablets pushed while the backup ran");
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
    let after = keys(&restored.export().unwrap());
    let lost: Vec<&String> = before.difference(&after).collect();
    assert!(
        lost.is_empty(),
        "records acknowledged before the backup are missing: {lost:?}"
    );
    for sha in &stored {
        let file = restored_dir
            .join("photos")
            .join(&sha[..2])
            .join(format!("{sha}.jpg"));
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("photo {sha}: {e}"));
        assert_eq!(
            hex(&Sha256::digest(&bytes)),
            *sha,
            "photo {sha} restored whole"
        );
    }
    let restored_stored: BTreeSet<String> = stored_photos(&restored_dir).into_iter().collect();
    assert!(stored.iter().all(|s| restored_stored.contains(s)));
    let integrity: String = rusqlite::Connection::open(restored_dir.join("fieldcheck.sqlite3"))
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
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
