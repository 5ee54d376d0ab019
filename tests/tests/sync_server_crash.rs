//! A server killed at any moment of a push or a photo upload loses nothing it acknowledged and
//! applies nothing twice, and the tablet gets everything through once it is back.
//!
//! A tablet (an in-process sync engine with short timeouts, its own database and photo
//! directory) records work — answers, findings and, every other round, a 1600×1200 photo —
//! and syncs; 100 times the server process is SIGKILLed while that session is pushing or
//! uploading (a random moment after the session reached the step), then restarted on the same
//! port after a random outage. The tablet calls `sync_now` until a session succeeds, and every
//! failure on the way must be one it would retry by itself. In the end the one checker compares
//! the tablet with the server's export and photo store.
//!
//! Seed: `SERVER_CRASH_SEED` (printed at the start).

use fieldcheck_core::sync::api::Timeouts;
use fieldcheck_core::sync::{SyncEngine, SyncStep};
use fieldcheck_tests::checker::check_converged_and_stored;
use fieldcheck_tests::server::{INSPECTOR_PASSWORD, ServerProcess};
use fieldcheck_tests::tablet::Tablet;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KILLS: usize = 100;
const USER: &str = "xiaozhang";

/// What the sessions of one "sync until it works" ended with.
#[derive(Default)]
struct Outcomes {
    ok: u64,
    failed: BTreeMap<String, u64>,
    stoppers: Vec<String>,
}

/// Calls `sync_now` until a session succeeds (at most 60 s), sorting the failures.
async fn sync_until_ok(engine: &SyncEngine, outcomes: &Mutex<Outcomes>) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        match engine.sync_now().await {
            Ok(_) => {
                outcomes.lock().unwrap().ok += 1;
                return true;
            }
            Err(e) => {
                {
                    let mut o = outcomes.lock().unwrap();
                    let kind = format!("{e:?}")
                        .split(['(', ' ', '{'])
                        .next()
                        .unwrap_or("?")
                        .to_string();
                    *o.failed.entry(kind).or_default() += 1;
                    if !e.is_transient() {
                        o.stoppers.push(e.to_string());
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sigkilled_100_times_during_pushes_and_uploads_loses_and_doubles_nothing() {
    let started = Instant::now();
    let seed: u64 = std::env::var("SERVER_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("SERVER_CRASH_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let server_dir = tempfile::tempdir().unwrap();
    let tablet_dir = tempfile::tempdir().unwrap();
    ServerProcess::prepare(server_dir.path(), &[USER]).unwrap();
    let mut server = ServerProcess::start(server_dir.path()).unwrap();
    let address = server.url.trim_start_matches("http://").to_string();
    let timeouts = Timeouts {
        connect: Duration::from_secs(1),
        request: Duration::from_secs(5),
    };
    let t = Tablet::open(tablet_dir.path(), USER, timeouts, &mut rng);
    t.engine
        .login(&server.url, USER, INSPECTOR_PASSWORD)
        .await
        .unwrap();
    t.engine.sync_now().await.unwrap();
    for n in 0..4 {
        t.record(&mut rng, n % 2 == 0);
    }

    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let mut kills_in: BTreeMap<&str, usize> = BTreeMap::new();
    let mut during_session = 0;
    let mut kills = 0;
    // A kill that came after the session had ended does not count: kill again (bounded).
    for k in 0..KILLS * 3 / 2 {
        if during_session == KILLS {
            break;
        }
        kills += 1;
        t.record(&mut rng, k % 2 == 0);
        let mut progress = t.engine.subscribe();
        let session = tokio::spawn({
            let (engine, outcomes) = (t.engine.clone(), outcomes.clone());
            async move { sync_until_ok(&engine, &outcomes).await }
        });
        // Wait for the session to reach the step aimed at, then a random moment into it.
        let aim = if k % 2 == 0 {
            SyncStep::Photos
        } else {
            SyncStep::Pushing
        };
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            progress.wait_for(|p| p.step == aim || p.step == SyncStep::Pulling),
        )
        .await;
        let into = if aim == SyncStep::Photos {
            rng.random_range(0..30)
        } else {
            rng.random_range(0..6)
        };
        tokio::time::sleep(Duration::from_millis(into)).await;
        let step = t.engine.subscribe().borrow().step;
        let running = !session.is_finished();
        server.kill();
        if running {
            during_session += 1;
            *kills_in
                .entry(match step {
                    SyncStep::Pushing => "pushing",
                    SyncStep::Photos => "photos",
                    SyncStep::Pulling => "pulling",
                    SyncStep::Idle => "between sessions",
                })
                .or_default() += 1;
        } else {
            *kills_in.entry("after the session ended").or_default() += 1;
        }
        drop(server);
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..150))).await;
        server = ServerProcess::start_on(server_dir.path(), &address).unwrap();
        let ok = tokio::time::timeout(Duration::from_secs(90), session)
            .await
            .expect("session loop ended")
            .unwrap();
        assert!(
            ok,
            "kill {k} (seed {seed}): no session succeeded within 60 s after the restart"
        );
    }
    {
        let o = outcomes.lock().unwrap();
        eprintln!(
            "{kills} server kills in {:.1?}: {during_session} during a session, by step {kills_in:?}; sessions: {} ok, failed {:?}",
            started.elapsed(),
            o.ok,
            o.failed
        );
        assert!(
            o.stoppers.is_empty(),
            "sessions ended in errors the tablet would not retry by itself: {:#?}",
            o.stoppers
        );
    }

    t.engine.sync_now().await.unwrap();
    let store = t.store.lock().unwrap();
    let photos = check_converged_and_stored(
        &store,
        &tablet_dir.path().join("photos"),
        &server.export().unwrap(),
        server_dir.path(),
    )
    .unwrap_or_else(|e| panic!("seed {seed}: {e:#}"));
    eprintln!(
        "converged: {photos} photos stored once each; total {:.1?}",
        started.elapsed()
    );
    assert!(photos >= KILLS / 2, "only {photos} photos");
    assert_eq!(
        during_session, KILLS,
        "kills during a session: {kills_in:?}"
    );
    assert!(
        kills_in.get("pushing").is_some_and(|n| *n >= 10)
            && kills_in.get("photos").is_some_and(|n| *n >= 10),
        "{kills_in:?}"
    );
}
