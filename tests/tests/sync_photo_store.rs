//! Photos kept in an S3-compatible bucket get through a store that fails, and a photo is never
//! recorded as stored without its bytes in the bucket.
//!
//! A real server process keeps its photos in a real S3-compatible server (`s3s-fs` on
//! 127.0.0.1) reached through a fault proxy; a second fault proxy cuts the tablet's own uploads
//! mid-body, so uploads resume from the pieces the bucket holds. The tablet records work with
//! photos and syncs through three kinds of trouble at the store:
//!
//! 1. half of the store's requests fail: 503 and 500 answers, connections reset before or
//!    after the request, request bodies cut, answers truncated, stalled or trickled;
//! 2. the store is killed (unreachable) while the tablet syncs, and started again later;
//! 3. every answer of the store is trickled a few bytes at a time (a slow store).
//!
//! After every session, every photo the server's database marks as stored must be in the
//! bucket, whole and hashing to its name. Pieces left behind by failures (of stored photos)
//! must be gone once the restarted server has swept. In the end the one checker compares the
//! tablet with the server, reading the server's photos from the bucket, with no unfinished
//! upload left.
//!
//! Seed: `PHOTO_STORE_SEED` (printed at the start).

use fieldcheck_core::sync::api::Timeouts;
use fieldcheck_testkit::s3::{BUCKET, S3Server};
use fieldcheck_tests::checker::{ServerPhotos, check_converged_and_stored};
use fieldcheck_tests::fault_proxy::{Fault, FaultConfig, FaultProxy};
use fieldcheck_tests::server::{INSPECTOR_PASSWORD, ServerCommand};
use fieldcheck_tests::tablet::Tablet;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::{Duration, Instant};

const USER: &str = "xiaoli";

/// Every photo the server's database marks as stored is in the bucket, whole. Returns how many.
fn stored_photos_are_in_the_bucket(server_dir: &Path, bucket: &Path) -> usize {
    let db = rusqlite::Connection::open(server_dir.join("fieldcheck.sqlite3")).unwrap();
    let mut q = db
        .prepare("SELECT sha256 FROM photos WHERE stored_at IS NOT NULL")
        .unwrap();
    let stored: Vec<String> = q
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for sha in &stored {
        let file = bucket
            .join("photos")
            .join(&sha[..2])
            .join(format!("{sha}.jpg"));
        let bytes = std::fs::read(&file).unwrap_or_else(|e| {
            panic!("photo {sha} is recorded as stored but not in the bucket: {e}")
        });
        assert_eq!(
            hex(&Sha256::digest(&bytes)),
            *sha,
            "photo {sha} is recorded as stored but the bucket holds other bytes"
        );
    }
    stored.len()
}

/// Stored photos that still have staged pieces in the bucket (a removal that failed at the
/// store, or a cut request's last piece written after the photo was finished): garbage the
/// server's sweep removes at start and every hour.
fn leftover_pieces(server_dir: &Path, bucket: &Path) -> Vec<String> {
    let db = rusqlite::Connection::open(server_dir.join("fieldcheck.sqlite3")).unwrap();
    let mut q = db
        .prepare("SELECT sha256 FROM photos WHERE stored_at IS NOT NULL")
        .unwrap();
    q.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .filter(|sha| {
            std::fs::read_dir(bucket.join("partial").join(sha))
                .is_ok_and(|mut d| d.next().is_some())
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_reach_the_bucket_through_store_faults_and_none_is_half_recorded() {
    let started = Instant::now();
    let seed: u64 = std::env::var("PHOTO_STORE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("PHOTO_STORE_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut s3 = S3Server::start(&dir.path().join("s3")).unwrap();
    let bucket = dir.path().join("s3").join(BUCKET);
    // Between the server and the store: every kind of fault an HTTP store can show.
    let store_faults = [1, 1, 1, 1, 1, 0, 1, 3, 1];
    let to_store = FaultProxy::start(
        s3.addr,
        FaultConfig {
            rate: 0.0,
            upload_rate: 0.0,
            weights: store_faults,
            stall: Duration::from_secs(2),
            seed: rng.random(),
        },
    )
    .await
    .unwrap();
    let server_dir = dir.path().join("server");
    let command = ServerCommand::new(&server_dir)
        .config(&s3.config_toml(&to_store.url()).unwrap())
        .unwrap();
    command
        .prepare(&fieldcheck_tests::content_dir(), &[USER])
        .unwrap();
    let mut server = command.serve().unwrap();
    // Between the tablet and the server: a third of the photo uploads cut mid-body.
    let mut cut_only = [0; 9];
    cut_only[Fault::ALL
        .iter()
        .position(|f| *f == Fault::CutRequestBody)
        .unwrap()] = 1;
    let to_server = FaultProxy::start(
        server.url.trim_start_matches("http://").parse().unwrap(),
        FaultConfig {
            rate: 0.0,
            upload_rate: 0.33,
            weights: cut_only,
            stall: Duration::from_secs(2),
            seed: rng.random(),
        },
    )
    .await
    .unwrap();
    let tablet_dir = tempfile::tempdir().unwrap();
    let timeouts = Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(40),
    };
    let t = Tablet::open(tablet_dir.path(), USER, timeouts, &mut rng);
    t.engine
        .login(&to_server.url(), USER, INSPECTOR_PASSWORD)
        .await
        .unwrap();
    t.engine.sync_now().await.unwrap();

    let mut photos_taken = 0usize;
    let mut failed_sessions = 0usize;
    let mut session = async |t: &Tablet, rng: &mut StdRng, what: &str| {
        for _ in 0..2 {
            t.record(rng, true);
            photos_taken += 1;
        }
        let outcome = t.engine.sync_now().await;
        if let Err(e) = &outcome {
            assert!(
                e.is_transient(),
                "{what}: the tablet would not retry by itself: {e}"
            );
            failed_sessions += 1;
        }
        stored_photos_are_in_the_bucket(&server_dir, &bucket);
        outcome.is_ok()
    };

    // 1. Half of the store's requests fail in every way. (The tablet's proxy spoils only photo
    // uploads: its rate just turns faults on.)
    // Six sessions, and more until an upload was cut (a third are; with few uploads in six
    // sessions some seeds cut none, and the resume from the bucket's pieces went untried).
    to_server.set_rate(1e-6);
    to_store.set_rate(0.5);
    for n in 0.. {
        let cut = to_server.counts().faults[&Fault::CutRequestBody] > 0;
        if n >= 6 && cut {
            break;
        }
        assert!(n < 30, "seed {seed}: no upload was cut in {n} sessions");
        session(&t, &mut rng, "store faults").await;
    }
    to_store.set_rate(0.0);
    eprintln!("store faults: {:?}", to_store.counts().faults);

    // 2. The store is gone while the tablet syncs, then back.
    s3.kill();
    assert!(
        !session(&t, &mut rng, "store killed").await,
        "a session cannot succeed with the store gone"
    );
    s3.restart().unwrap();

    // 3. A slow store: the server restarted (same port) on a proxy that trickles every answer.
    let mut slow_only = [0; 9];
    slow_only[Fault::ALL
        .iter()
        .position(|f| *f == Fault::SlowBytes)
        .unwrap()] = 1;
    let slow = FaultProxy::start(
        s3.addr,
        FaultConfig {
            rate: 1.0,
            upload_rate: 0.0,
            weights: slow_only,
            stall: Duration::from_secs(2),
            seed: rng.random(),
        },
    )
    .await
    .unwrap();
    let listen = server.url.trim_start_matches("http://").to_string();
    server.terminate();
    while server.try_wait().unwrap().is_none() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let server = ServerCommand::new(&server_dir)
        .config(&s3.config_toml(&slow.url()).unwrap())
        .unwrap()
        .serve_on(&listen)
        .unwrap();
    to_server.set_rate(0.0);
    assert!(
        session(&t, &mut rng, "slow store").await,
        "a slow store still takes the photos"
    );
    assert!(slow.counts().faults[&Fault::SlowBytes] > 0);
    // The restarted server swept what the failing store left behind.
    let sweep = Instant::now();
    while !leftover_pieces(&server_dir, &bucket).is_empty() {
        assert!(
            sweep.elapsed() < Duration::from_secs(60),
            "the sweep at start left pieces of stored photos: {:?}",
            leftover_pieces(&server_dir, &bucket)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Faults off: one more session must get everything through.
    let last = t.engine.sync_now().await;
    assert!(
        last.is_ok(),
        "seed {seed}: the first session without faults failed: {last:?}"
    );
    let stored = stored_photos_are_in_the_bucket(&server_dir, &bucket);
    let store = t.store.lock().unwrap();
    let checked = check_converged_and_stored(
        &store,
        &tablet_dir.path().join("photos"),
        &server.export().unwrap(),
        ServerPhotos::Bucket(&bucket),
    )
    .unwrap_or_else(|e| panic!("seed {seed}: {e:#}"));
    assert_eq!(checked, photos_taken, "every photo taken is in the bucket");
    assert_eq!(stored, photos_taken);
    assert!(
        !server_dir.join("photos").exists(),
        "with a bucket configured, nothing is kept in the data directory's photos"
    );
    assert!(failed_sessions > 0, "the faults never failed a session");
    assert!(
        to_server.counts().faults[&Fault::CutRequestBody] > 0,
        "no upload was cut: nothing resumed from the bucket's pieces"
    );
    eprintln!(
        "{photos_taken} photos, {failed_sessions} failed sessions, {:.1?}",
        started.elapsed()
    );
}
