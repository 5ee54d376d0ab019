//! A tablet killed at any moment of a sync loses nothing and the server applies nothing twice.
//!
//! A tablet process (`tablet-sync`) signs in, pulls, and records a day's chunk of work: 6
//! inspections with every item answered, 20 findings and 20 photos of 1600×1200. Then, 200
//! times, a new tablet process on the same database records a little more work and syncs in a
//! loop, and is SIGKILLed at a random moment: a third of the runs a moment after the tablet
//! reported pushing, a third a moment after it reported sending photos (these runs take a
//! photo), a third 5-400 ms after it started syncing (mostly in pulls). A last run syncs to
//! completion; then the one checker compares the tablet with the server's export and photo
//! store: every record and every photo exactly once, and no sync session ever ended in an error
//! that would stop the tablet from syncing by itself.
//!
//! Seed: `TABLET_CRASH_SEED` (printed at the start).

use fieldcheck_core::store::Store;
use fieldcheck_tests::checker::check_converged_and_stored;
use fieldcheck_tests::process::Guarded;
use fieldcheck_tests::server::ServerProcess;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::io::Read;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const KILLS: usize = 200;
const BIN: &str = env!("CARGO_BIN_EXE_tablet-sync");

#[test]
fn sigkill_at_200_moments_of_sync_loses_and_doubles_nothing() {
    let started = Instant::now();
    let seed: u64 = std::env::var("TABLET_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("TABLET_CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let server_dir = tempfile::tempdir().unwrap();
    let tablet_dir = tempfile::tempdir().unwrap();
    ServerProcess::prepare(server_dir.path(), &["crash"]).unwrap();
    let server = ServerProcess::start(server_dir.path()).unwrap();

    let setup = Command::new(BIN)
        .arg(tablet_dir.path())
        .arg(&server.url)
        .args(["setup", &rng.random::<u64>().to_string()])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&setup.stdout);
    assert!(
        setup.status.success(),
        "setup failed: {out}\n{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    assert!(
        out.starts_with("recorded ") && out.trim().ends_with(" 20"),
        "{out}"
    );
    eprintln!("setup: {} in {:.1?}", out.trim(), started.elapsed());

    let mut kills_in: BTreeMap<String, usize> = BTreeMap::new();
    let (mut sessions_ok, mut sessions_failed, mut pushed, mut uploaded) = (0u64, 0u64, 0u64, 0u64);
    let mut stoppers = Vec::new();
    let mut failures = Vec::new();
    for run in 0..KILLS {
        // One run in three is killed a moment after the tablet reported pushing, one in three
        // a moment after it reported sending photos (that run took a photo), one in three at
        // any moment of 5-400 ms.
        let aim = match run % 3 {
            0 => Some(("step pushing", 0..10)),
            1 => Some(("step photos", 0..60)),
            _ => None,
        };
        let photo = run % 3 == 1 || rng.random_bool(0.1);
        let mut child = Guarded::spawn(
            Command::new(BIN)
                .arg(tablet_dir.path())
                .arg(&server.url)
                .args([
                    "loop",
                    &rng.random::<u64>().to_string(),
                    if photo { "photo" } else { "-" },
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        )
        .unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = rx.recv_timeout(Duration::from_secs(30));
        if ready.as_deref() != Ok("ready") {
            child.kill();
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut stderr);
            }
            panic!("run {run} (seed {seed}): no ready line ({ready:?}): {stderr}");
        }
        let mut lines = Vec::new();
        if let Some((want, into)) = aim {
            let until = Instant::now() + Duration::from_secs(2);
            while let Ok(l) = rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
                let hit = l == want;
                lines.push(l);
                if hit {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(rng.random_range(into)));
        } else {
            std::thread::sleep(Duration::from_millis(rng.random_range(5..400)));
        }
        // The step the tablet was in at the kill: the last one it reported.
        let mut step = "before the first session".to_string();
        lines.extend(rx.try_iter());
        for l in &lines {
            if let Some(s) = l.strip_prefix("step ") {
                step = s.to_string();
            }
        }
        Child::kill(&mut child).expect("SIGKILL");
        let status = child.wait().unwrap();
        assert!(
            status.code().is_none(),
            "run {run}: the tablet exited by itself ({status}) before the kill"
        );
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        *kills_in.entry(step).or_default() += 1;
        for l in &lines {
            let words: Vec<&str> = l.split(' ').collect();
            match words[..] {
                ["ok", p, u, _] => {
                    sessions_ok += 1;
                    pushed += p.parse::<u64>().unwrap();
                    uploaded += u.parse::<u64>().unwrap();
                }
                ["err", transient, ..] => {
                    sessions_failed += 1;
                    if failures.len() < 5 {
                        failures.push(format!("run {run}: {l}"));
                    }
                    if transient != "true" {
                        stoppers.push(format!("run {run}: {l}"));
                    }
                }
                _ => {}
            }
        }
    }
    eprintln!(
        "{KILLS} kills in {:.1?}; kills by step: {kills_in:?}; sessions: {sessions_ok} ok, {sessions_failed} failed; \
         {pushed} records and {uploaded} photos acknowledged in sessions that finished",
        started.elapsed()
    );

    if !failures.is_empty() {
        eprintln!("first failed sessions (all retried): {failures:#?}");
    }

    let last = Command::new(BIN)
        .arg(tablet_dir.path())
        .arg(&server.url)
        .args(["final", &rng.random::<u64>().to_string()])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&last.stdout);
    assert!(
        last.status.success() && out.contains("synced"),
        "final run: {out}\n{}",
        String::from_utf8_lossy(&last.stderr)
    );

    let store = Store::open(tablet_dir.path().join("tablet.db")).unwrap();
    assert_eq!(store.integrity_check().unwrap(), ["ok"]);
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
    assert!(photos > 20, "only {photos} photos");
    assert!(
        stoppers.is_empty(),
        "sessions ended in errors the tablet would not retry by itself: {stoppers:#?}"
    );
    for step in ["pushing", "photos", "pulling"] {
        assert!(
            kills_in.get(step).copied().unwrap_or(0) >= 20,
            "fewer than 20 kills landed while {step}: {kills_in:?}"
        );
    }
}
