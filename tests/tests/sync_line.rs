//! Tablets at 17:00 against a real server whose line takes one push at a time
//! (`push_wait_target_ms = 1`): each tablet is given a number, says so to the inspector, comes
//! back when told (in turn, without backoff), and the server ends holding every tablet's work
//! exactly once. A tablet holding a number sends its batch once more, when its turn has
//! come: in between it asks for its turn with no batch.

use fieldcheck_core::sync::api::Timeouts;
use fieldcheck_core::sync::scheduler::{Pacing, Scheduler, Trigger};
use fieldcheck_tests::checker::check_converged;
use fieldcheck_tests::server::{INSPECTOR_PASSWORD, ServerCommand, ServerProcess};
use fieldcheck_tests::tablet::Tablet;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

const NAMES: [&str; 5] = ["line1", "line2", "line3", "line4", "line5"];

/// Whether a sync error shown to the inspector is a number in the line.
fn in_line(error: Option<&str>) -> bool {
    error.is_some_and(|e| e.starts_with("正在排队：前面还有"))
}

/// A server whose line takes one push at a time (and with the `limits` given besides), with
/// the tablets of [`NAMES`] signed in, each holding three inspections, and the token of each
/// tablet's device.
async fn one_place_line(
    dir: &std::path::Path,
    limits: &str,
) -> (ServerCommand, ServerProcess, Vec<Tablet>, Vec<String>) {
    let command = ServerCommand::new(&dir.join("server"))
        .config(&format!("[limits]\npush_wait_target_ms = 1\n{limits}"))
        .unwrap()
        .log_filter("warn,tower_http=debug,fieldcheck_server::push_line=debug");
    command
        .prepare(&fieldcheck_tests::content_dir(), &NAMES)
        .unwrap();
    let server = command.serve().unwrap();
    let mut rng = StdRng::seed_from_u64(17);
    let mut tablets = Vec::new();
    for name in NAMES {
        std::fs::create_dir_all(dir.join(name)).unwrap();
        let t = Tablet::open(&dir.join(name), name, Timeouts::default(), &mut rng);
        t.engine
            .login(&server.url, name, INSPECTOR_PASSWORD)
            .await
            .unwrap();
        t.engine.sync_now().await.unwrap();
        for _ in 0..3 {
            t.record(&mut rng, false);
        }
        tablets.push(t);
    }
    let tokens = tablets
        .iter()
        .map(|t| t.store.lock().unwrap().sync_state().unwrap().token.unwrap())
        .collect();
    (command, server, tablets, tokens)
}

/// How many pushes the server whose log is at `log` has taken into its line so far.
fn pushes_taken(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("push taken into the line"))
        .count()
}

/// Starts a push with `token` and sends only part of it, and returns once the server (logging
/// to `log`) has taken it into the line: its one place is taken until the returned connection
/// is dropped, and a push sent after this returns cannot pass it.
async fn hold_the_place(url: &str, token: &str, log: &std::path::Path) -> tokio::net::TcpStream {
    let before = pushes_taken(log);
    let address = url.trim_start_matches("http://").to_string();
    let mut held = tokio::net::TcpStream::connect(&address).await.unwrap();
    held.write_all(
        format!(
            "POST /api/v1/sync/push HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\n\
             content-type: application/json\r\ncontent-length: 1000\r\n\r\n{{\"protocol_version\":"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pushes_taken(log) == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the server never took the held push into its line"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    held
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tablets_given_numbers_come_back_in_turn_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (command, server, tablets, tokens) = one_place_line(dir.path(), "").await;

    // The first tablet's device starts a push and sends only part of it: the line's one place
    // is taken until that request ends.
    let held = hold_the_place(&server.url, &tokens[0], &command.log_path()).await;
    let pacing = Pacing {
        every: Duration::from_secs(600),
        retry_base: Duration::from_secs(20),
        retry_cap: Duration::from_secs(60),
    };
    let schedulers: Vec<Scheduler> = tablets
        .iter()
        .map(|t| Scheduler::start(t.engine.clone(), pacing))
        .collect();
    for s in &schedulers {
        s.trigger(Trigger::Manual);
    }
    // Every tablet is told it is in line, with how many are before it.
    for t in &tablets {
        let mut progress = t.engine.subscribe();
        tokio::time::timeout(
            Duration::from_secs(20),
            progress.wait_for(|p| in_line(p.last_error.as_deref())),
        )
        .await
        .unwrap_or_else(|_| panic!("{} was never told it is in line", t.user))
        .unwrap();
    }
    assert!(
        tablets
            .iter()
            .all(|t| t.store.lock().unwrap().outbox_stats().unwrap().pending > 0),
        "nothing passed the held place"
    );

    // The held request ends; the tablets come back when told and are taken in turn, all
    // within 10 s. A backoff (up to 20 s at the first failure here, doubling after) would not
    // let them.
    drop(held);
    let all_done = async {
        for t in &tablets {
            let mut progress = t.engine.subscribe();
            progress
                .wait_for(|p| p.records_pending == 0 && p.last_error.is_none())
                .await
                .unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(10), all_done)
        .await
        .expect("every tablet finished its turn within 10 s");
    let export = server.export().unwrap();
    for t in &tablets {
        check_converged(&t.store.lock().unwrap(), &export).unwrap();
    }
    // Each tablet sent its batch twice (given its number, then taken), besides the held push;
    // every other return was a request for its turn.
    let log = std::fs::read_to_string(command.log_path()).unwrap();
    let sent = |path: &str| {
        log.lines()
            .filter(|l| l.contains(path) && l.contains("started processing request"))
            .count()
    };
    let (pushes, turns) = (sent("/api/v1/sync/push"), sent("/api/v1/sync/turn"));
    assert_eq!(pushes, 2 * NAMES.len() + 1, "{turns} turns asked");
    assert!(turns >= NAMES.len(), "{turns} turns asked");
}

/// A tablet holding a number that asks for its turn is answered by the server the moment a
/// place frees, not told to come back after an estimate: the writer is not left idle while
/// the tablets whose turn it is sleep. Waiting, it holds none of the server's sync slots
/// (two here: the held push's and one more), which the other tablets need.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_asked_in_a_full_line_is_answered_when_the_place_frees() {
    let dir = tempfile::tempdir().unwrap();
    let (command, server, _tablets, tokens) =
        one_place_line(dir.path(), "max_concurrent_syncs = 2\n").await;
    let held = hold_the_place(&server.url, &tokens[0], &command.log_path()).await;
    let http = reqwest::Client::new();
    let post = |path: &str, device: usize| {
        http.post(format!("{}/api/v1/sync/{path}", server.url))
            .bearer_auth(&tokens[device])
    };
    let numbered = |pushed: reqwest::Response| async move {
        assert_eq!(pushed.status(), 503);
        let body: serde_json::Value = pushed.json().await.unwrap();
        assert_eq!(body["error"], "queued", "{body}");
    };
    // The second device's push is given a number.
    numbered(post("push", 1).body("{}").send().await.unwrap()).await;

    // Its question for the turn waits on the server while the place is taken…
    let mut turn = tokio::spawn(post("turn", 1).send());
    assert!(
        tokio::time::timeout(Duration::from_secs(1), &mut turn)
            .await
            .is_err(),
        "answered while the one place was still taken"
    );
    // Meanwhile a third device's push is answered (given its number) at once: the waiting
    // question holds no sync slot.
    let third = tokio::time::timeout(Duration::from_secs(2), post("push", 2).body("{}").send())
        .await
        .expect("a push was answered within 2 s while a turn was waited for")
        .unwrap();
    numbered(third).await;
    // …and is answered, its turn, as soon as the place frees.
    drop(held);
    let answer = tokio::time::timeout(Duration::from_secs(3), turn)
        .await
        .expect("the turn came within 3 s of the place freeing")
        .unwrap()
        .unwrap();
    assert_eq!(answer.status(), 204, "{:?}", answer.text().await);
}
