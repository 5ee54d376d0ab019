//! Skewed clocks: two tablets whose system clocks are a day ahead and a day behind (real
//! `tablet-repl` processes under libfaketime, Debian package `faketime`) and the office change
//! the same finding. Every party ends with the same status and the same history, in the order
//! the steps were really taken, and the photos carry trusted (server) time with the device's
//! offset recorded.

use fieldcheck_core::photo::DeviceKey;
use fieldcheck_core::store::Store;
use fieldcheck_core::sync::api::{Timeouts, login};
use fieldcheck_domain::clock::Clock;
use fieldcheck_domain::rectification::derive_status;
use fieldcheck_protocol::{
    Hlc, LoginRequest, PROTOCOL_VERSION, RectificationAction, RectificationEventRecord,
};
use fieldcheck_tests::checker::check_converged_and_stored;
use fieldcheck_tests::process::Guarded;
use fieldcheck_tests::server::{ServerProcess, admin};
use serde_json::Value;
use std::io::{BufRead, BufReader, Lines, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};
use uuid::Uuid;

const DAY_MS: i64 = 24 * 3600 * 1000;
/// How far a "same time" may be off: process start-up and a loaded machine, not a day.
const SLACK_MS: i64 = 120_000;
const OFFICE_PASSWORD: &str = "banGong-2026!";

fn real_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A `tablet-repl` process with its system clock moved by `skew` (a faketime offset).
struct SkewedTablet {
    child: Guarded,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl SkewedTablet {
    fn start(dir: &Path, skew: &str) -> SkewedTablet {
        let exe = std::env::current_exe().unwrap();
        let repl: PathBuf = exe.parent().unwrap().parent().unwrap().join("tablet-repl");
        assert!(repl.exists(), "{} is missing", repl.display());
        let mut child = Guarded::spawn(
            Command::new("faketime")
                .args(["-f", skew])
                .arg(&repl)
                .arg(dir)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped()),
        )
        .expect("faketime is needed for this test: apt-get install faketime");
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        SkewedTablet {
            child,
            stdin,
            lines,
        }
    }

    fn ask(&mut self, command: &str) -> String {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
        let answer = self.lines.next().expect("tablet-repl answered").unwrap();
        assert!(!answer.starts_with("err"), "{command}: {answer}");
        answer
    }

    fn show(&mut self, finding: Uuid) -> Value {
        serde_json::from_str(&self.ask(&format!("show {finding}"))).unwrap()
    }

    fn quit(mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.child.wait();
    }
}

/// The office: an admin account posting rectification steps over the API, stamped by a clock
/// that reads the right time.
struct Office {
    base: String,
    token: String,
    clock: Clock,
    http: reqwest::Client,
}

impl Office {
    async fn sign_in(server: &ServerProcess, key_dir: &Path) -> Office {
        let device_id = Uuid::now_v7();
        let resp = login(
            &server.url,
            &LoginRequest {
                username: "office".into(),
                password: OFFICE_PASSWORD.into(),
                device_id,
                device_public_key: DeviceKey::load_or_create(key_dir).unwrap().public_key_hex(),
                device_label: "创城办电脑".into(),
                protocol_version: PROTOCOL_VERSION,
            },
            Timeouts::default(),
        )
        .await
        .unwrap();
        let clock = Clock::new(device_id);
        clock.merge(resp.server_hlc).unwrap();
        Office {
            base: server.url.clone(),
            token: resp.token,
            clock,
            http: reqwest::Client::new(),
        }
    }

    async fn step(&self, finding: Uuid, action: RectificationAction, unit: Option<&str>) {
        let event = RectificationEventRecord {
            id: Uuid::now_v7(),
            finding_id: finding,
            action,
            actor: "office".into(),
            note: String::new(),
            unit: unit.map(str::to_string),
            deadline: unit.map(|_| "2099-12-31".to_string()),
            photo_sha256: None,
            hlc: self.clock.now(),
        };
        let r = self
            .http
            .post(format!("{}/api/v1/findings/{finding}/events", self.base))
            .bearer_auth(&self.token)
            .json(&event)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }
}

fn actions(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

/// The tablet's only photo of `kind` on the finding, checked to carry trusted time and the
/// device's offset of about `offset_ms`.
fn check_photo_time(
    shown: &Value,
    kind: &str,
    taken_after: i64,
    taken_before: i64,
    offset_ms: i64,
) {
    let photo = shown["photos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} photo in {shown}"));
    assert_eq!(photo["time_source"], "trusted", "{photo}");
    let at = photo["captured_at"].as_i64().unwrap();
    assert!(
        at >= taken_after - SLACK_MS && at <= taken_before + SLACK_MS,
        "{kind} photo stamped {at}, taken between {taken_after} and {taken_before}"
    );
    let offset = photo["device_clock_offset_ms"].as_i64().unwrap();
    assert!(
        (offset - offset_ms).abs() < SLACK_MS,
        "{kind} photo: device offset {offset}, expected about {offset_ms}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_ahead_a_day_behind_and_the_office_end_with_one_history() {
    let server_dir = tempfile::tempdir().unwrap();
    let (dir_a, dir_b, office_dir) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    ServerProcess::prepare(server_dir.path(), &["ahead", "behind"]).unwrap();
    admin(
        server_dir.path(),
        &[
            "user",
            "add",
            "--role",
            "admin",
            "--password",
            OFFICE_PASSWORD,
            "office",
        ],
    )
    .unwrap();
    let server = ServerProcess::start(server_dir.path()).unwrap();
    let office = Office::sign_in(&server, office_dir.path()).await;

    let mut a = SkewedTablet::start(dir_a.path(), "+24h");
    let mut b = SkewedTablet::start(dir_b.path(), "-24h");
    a.ask(&format!("login {} ahead", server.url));
    b.ask(&format!("login {} behind", server.url));
    a.ask("sync");
    b.ask("sync");

    // Tablet A (a day ahead) records the finding with a before photo and sends it.
    let before_taken = real_now_ms();
    let finding: Uuid = a
        .ask("finding")
        .strip_prefix("finding ")
        .unwrap()
        .parse()
        .unwrap();
    let before_done = real_now_ms();
    a.ask("sync");
    let shown = a.show(finding);
    let device_now = shown["device_now_ms"].as_i64().unwrap();
    assert!(
        (device_now - real_now_ms() - DAY_MS).abs() < SLACK_MS,
        "tablet A's clock should be a day ahead: {device_now}"
    );
    check_photo_time(&shown, "before", before_taken, before_done, DAY_MS);

    // Tablet B (a day behind) receives it through the server.
    b.ask("sync");
    assert_eq!(b.show(finding)["status"], "open");

    // The office dispatches; B, on site, reports it fixed with an after photo.
    office
        .step(finding, RectificationAction::Dispatched, Some("housing"))
        .await;
    b.ask("sync");
    let after_taken = real_now_ms();
    assert_eq!(b.ask(&format!("step {finding} rectified")), "ok rectified");
    let after_done = real_now_ms();
    check_photo_time(&b.show(finding), "after", after_taken, after_done, -DAY_MS);
    b.ask("sync");

    // A re-checks it offline (not synced yet); the office, not knowing, closes it afterwards.
    a.ask("sync");
    assert_eq!(a.ask(&format!("step {finding} verified")), "ok verified");
    office
        .step(finding, RectificationAction::Closed, None)
        .await;

    // Everyone syncs.
    a.ask("sync");
    b.ask("sync");
    a.ask("sync");

    let in_order = ["dispatched", "rectified", "verified", "closed"];
    let shown_a = a.show(finding);
    let shown_b = b.show(finding);
    for (who, shown) in [("A", &shown_a), ("B", &shown_b)] {
        assert_eq!(shown["status"], "closed", "tablet {who}: {shown}");
        assert_eq!(
            actions(shown["events"].as_array().unwrap()),
            in_order,
            "tablet {who} orders the steps as they were taken"
        );
    }
    assert_eq!(
        shown_a["events"], shown_b["events"],
        "same history, same stamps"
    );

    let export = server.export().unwrap();
    let mut server_events: Vec<RectificationEventRecord> = export["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::from_value(e.clone()).unwrap())
        .filter(|e: &RectificationEventRecord| e.finding_id == finding)
        .collect();
    server_events.sort_by(|x, y| x.hlc.cmp(&y.hlc).then(x.id.cmp(&y.id)));
    let server_history: Vec<Value> = server_events
        .iter()
        .map(|e| serde_json::json!({"id": e.id, "action": e.action.as_str(), "hlc": e.hlc.to_string()}))
        .collect();
    assert_eq!(
        Value::from(server_history),
        shown_a["events"],
        "the server agrees"
    );
    assert_eq!(derive_status(&server_events).as_str(), "closed");
    // No stamp is a day off: every step is within the test's own (right) time.
    let earliest = Hlc {
        time: ((before_taken - SLACK_MS) as u64 / 1000) << 32,
        node: 0,
    };
    let latest = Hlc {
        time: ((real_now_ms() + SLACK_MS) as u64 / 1000) << 32,
        node: 0,
    };
    for e in &server_events {
        assert!(
            e.hlc > earliest && e.hlc < latest,
            "{e:?} is stamped a day off"
        );
    }

    a.quit();
    b.quit();
    for dir in [dir_a.path(), dir_b.path()] {
        let store = Store::open(dir.join("tablet.db")).unwrap();
        check_converged_and_stored(&store, &dir.join("photos"), &export, server_dir.path())
            .unwrap();
    }
}
