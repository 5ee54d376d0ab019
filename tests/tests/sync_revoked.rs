//! A revoked tablet: it keeps everything while only something in between says "revoked", and
//! wipes its data — records, photos, login, the deleted rows' bytes in the file — once the real
//! server confirms the revocation for this very device.

use fieldcheck_core::photo::KEY_FILE;
use fieldcheck_core::store::catalog::SiteQuery;
use fieldcheck_core::sync::SyncError;
use fieldcheck_core::sync::api::Timeouts;
use fieldcheck_tests::server::{INSPECTOR_PASSWORD, ServerProcess, admin};
use fieldcheck_tests::tablet::Tablet;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;

/// Answers every request with `401 token_revoked`, as a captive portal or a stale proxy might:
/// a claim, not a confirmation. Returns its base URL.
fn impostor() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let json = r#"{"error":"token_revoked","message":"revoked"}"#;
            let _ = write!(
                reader.get_mut(),
                "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}",
                json.len()
            );
        }
    });
    url
}

fn photo_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".jpg"))
        .count()
}

fn file_contains(path: &Path, needle: &[u8]) -> bool {
    std::fs::read(path)
        .map(|b| b.windows(needle.len()).any(|w| w == needle))
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_tablet_wipes_only_on_the_servers_word() {
    let server_dir = tempfile::tempdir().unwrap();
    let tablet_dir = tempfile::tempdir().unwrap();
    ServerProcess::prepare(server_dir.path(), &["lost"]).unwrap();
    let server = ServerProcess::start(server_dir.path()).unwrap();
    let mut rng = StdRng::seed_from_u64(11);
    let t = Tablet::open(tablet_dir.path(), "lost", Timeouts::default(), &mut rng);
    t.engine
        .login(&server.url, "lost", INSPECTOR_PASSWORD)
        .await
        .unwrap();
    t.engine.sync_now().await.unwrap();
    let county = t.store.lock().unwrap().sync_state().unwrap().county_id;
    assert!(county.is_some(), "the sign-in brings the county's id");
    for _ in 0..3 {
        t.record(&mut rng, true);
    }
    t.engine.sync_now().await.unwrap();
    // Two more pieces of work that never reach the server.
    t.record(&mut rng, true);
    t.record(&mut rng, true);
    let photos_dir = tablet_dir.path().join("photos");
    let db = tablet_dir.path().join("tablet.db");
    let (device, pending, photos, secret) = {
        let store = t.store.lock().unwrap();
        let open = store.unfinished_inspections().unwrap();
        let finding = store.inspection_findings(open[0].id).unwrap().remove(0);
        (
            store.device_id(),
            store.outbox_stats().unwrap().pending,
            photo_files(&photos_dir),
            finding.description,
        )
    };
    assert!(
        pending > 0 && photos >= 5,
        "{pending} pending, {photos} photos"
    );
    assert!(
        file_contains(&db, secret.as_bytes())
            || file_contains(&db.with_extension("db-wal"), secret.as_bytes())
    );

    // Something that is not the server says "revoked": nothing is touched.
    let token = t.store.lock().unwrap().sync_state().unwrap().token.unwrap();
    let fake = impostor();
    t.store
        .lock()
        .unwrap()
        .save_login(&fake, "lost", &token)
        .unwrap();
    let err = t.engine.sync_now().await.unwrap_err();
    assert!(matches!(err, SyncError::Revoked), "{err:?}");
    {
        let store = t.store.lock().unwrap();
        assert_eq!(store.outbox_stats().unwrap().pending, pending);
        assert_eq!(store.device_id(), device);
        assert_eq!(photo_files(&photos_dir), photos);
    }

    // The office revokes the tablet; the real server confirms it, and the tablet wipes itself.
    t.store
        .lock()
        .unwrap()
        .save_login(&server.url, "lost", &token)
        .unwrap();
    admin(
        server_dir.path(),
        &["device", "revoke", &device.to_string()],
    )
    .unwrap();
    let key_file = tablet_dir.path().join(KEY_FILE);
    let old_key = std::fs::read(&key_file).unwrap();
    let err = t.engine.sync_now().await.unwrap_err();
    assert!(matches!(err, SyncError::Wiped), "{err:?}");
    let new_key = std::fs::read(&key_file).unwrap();
    assert_eq!(new_key.len(), 32, "a new key is in place");
    assert_ne!(
        new_key, old_key,
        "the wiped device's key is gone with its data"
    );
    assert!(
        !file_contains(&key_file, &old_key),
        "nothing of the old secret is left in the key file"
    );
    let store = t.store.lock().unwrap();
    assert_ne!(
        store.device_id(),
        device,
        "a wiped tablet starts as a new device"
    );
    assert_eq!(store.outbox_stats().unwrap().pending, 0);
    assert!(store.unfinished_inspections().unwrap().is_empty());
    assert!(store.finished_inspections(None).unwrap().is_empty());
    assert!(store.list_sites(&SiteQuery::default()).unwrap().is_empty());
    let state = store.sync_state().unwrap();
    assert!(state.token.is_none() && state.server_url.is_none() && state.county_id.is_none());
    assert!(state.last_error.unwrap().contains("已清除"));
    assert_eq!(photo_files(&photos_dir), 0);
    assert_eq!(store.integrity_check().unwrap(), ["ok"]);
    for file in [db.clone(), db.with_extension("db-wal")] {
        assert!(
            !file_contains(&file, secret.as_bytes()),
            "{} still holds {secret}",
            file.display()
        );
    }
    // What was synced before the revocation stays with the office.
    let export = server.export().unwrap();
    assert!(export["findings"].as_array().unwrap().len() >= 3);
}
