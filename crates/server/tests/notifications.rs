//! Telling units through their group robots, against a real webhook receiver on 127.0.0.1
//! that fails, answers too late, refuses with a robot's error code and is told the same step
//! twice: each step reaches the group exactly once, none is lost, a dead webhook is shown to
//! the office, 钉钉's signature checks out, and the settings refuse a wrong address.

use crate::common::*;
use crate::dashboard_http::{Browser, Dash, dash};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::post;
use base64::Engine;
use fieldcheck_domain::china_time::{china_date, china_midnight};
use fieldcheck_protocol::*;
use fieldcheck_server::notify::{self, outbox};
use fieldcheck_server::office::{Actor, Office};
use hmac::{Hmac, Mac};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// How the receiver answers the next request.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// HTTP 500.
    Fail,
    /// Waits past the client's timeout, then refuses.
    Late,
    /// HTTP 200 with a robot's error code (rate limit).
    RobotError,
    /// HTTP 200, errcode 0: the message shows in the group.
    Take,
}

#[derive(Default)]
struct Receiver {
    script: Mutex<VecDeque<Answer>>,
    /// Messages the group shows (answered errcode 0), by path.
    shown: Mutex<Vec<(String, String)>>,
    /// Every request that arrived.
    arrived: Mutex<usize>,
    /// 钉钉 signing secret to check, if any.
    secret: Mutex<Option<String>>,
}

async fn robot(
    State(r): State<Arc<Receiver>>,
    uri: axum::http::Uri,
    Query(q): Query<HashMap<String, String>>,
    body: String,
) -> (StatusCode, String) {
    *r.arrived.lock().unwrap() += 1;
    if let Some(secret) = r.secret.lock().unwrap().clone() {
        let ts = q.get("timestamp").cloned().unwrap_or_default();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{ts}\n{secret}").as_bytes());
        let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        if q.get("sign") != Some(&want) {
            return (
                StatusCode::OK,
                r#"{"errcode":310000,"errmsg":"sign not match"}"#.into(),
            );
        }
    }
    let answer = r.script.lock().unwrap().pop_front().unwrap_or(Answer::Take);
    match answer {
        Answer::Fail => (StatusCode::INTERNAL_SERVER_ERROR, "down".into()),
        Answer::Late => {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            (StatusCode::SERVICE_UNAVAILABLE, "late".into())
        }
        Answer::RobotError => (
            StatusCode::OK,
            r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#.into(),
        ),
        Answer::Take => {
            let text = serde_json::from_str::<serde_json::Value>(&body).unwrap()["text"]["content"]
                .as_str()
                .unwrap()
                .to_string();
            r.shown.lock().unwrap().push((uri.path().to_string(), text));
            (StatusCode::OK, r#"{"errcode":0,"errmsg":"ok"}"#.into())
        }
    }
}

/// A receiver on 127.0.0.1 and its base address.
async fn receiver() -> (Arc<Receiver>, String) {
    let r = Arc::new(Receiver::default());
    let app = axum::Router::new()
        .route("/{*robot}", post(robot))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, format!("http://{addr}"))
}

/// 01:00 China time today: before the morning digest, so a pass writes only what the steps
/// and deadlines call for.
fn early() -> i64 {
    let today = china_date(fieldcheck_server::clock::now_ms());
    china_midnight(&today).unwrap() + 3_600_000
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

async fn set_hook(d: &Dash, b: &Browser, unit: &str, kind: &str, url: &str, secret: &str) -> u16 {
    let form = [
        ("csrf", b.csrf.as_str()),
        ("unit", unit),
        ("kind", kind),
        ("url", url),
        ("secret", secret),
    ];
    d.post("/dashboard/notifications/webhook", Some(b), &form)
        .await
        .status
        .as_u16()
}

/// Makes every unsent message due now (instead of waiting out its pause).
async fn due_now(d: &Dash) {
    d.store
        .dash_exec(vec![(
            "UPDATE notify_outbox SET next_at = 0".into(),
            Vec::new(),
        )])
        .await
        .unwrap();
}

async fn dispatch(d: &Dash, finding: Uuid, unit: &str) {
    let row = d.store.finding(finding).await.unwrap().unwrap();
    let mut e = event(finding, RectificationAction::Dispatched, Some(unit), "cli");
    e.deadline = Some("2099-01-01".into());
    Office::new(&d.state, Actor::cli())
        .record_step(&row, &e)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_dispatch_reaches_its_units_robot_once_through_failures_late_answers_and_repeats() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let (r, base) = receiver().await;
    assert_eq!(
        set_hook(
            &d,
            &admin,
            "urban_mgmt",
            "wecom",
            &format!("{base}/wecom/urban"),
            ""
        )
        .await,
        303
    );
    let c = client();
    // The first pass starts at the end of the log: what happened before is not told.
    notify::pass_at(&d.state, &c, early()).await.unwrap();

    r.script
        .lock()
        .unwrap()
        .extend([Answer::Fail, Answer::Late, Answer::RobotError]);
    dispatch(&d, d.urban, "urban_mgmt").await;
    for _ in 0..3 {
        let p = notify::pass_at(&d.state, &c, early()).await.unwrap();
        assert_eq!((p.sent, p.failed), (0, 1), "{p:?}");
        due_now(&d).await;
    }
    assert!(r.shown.lock().unwrap().is_empty(), "nothing shown yet");
    let p = notify::pass_at(&d.state, &c, early()).await.unwrap();
    assert_eq!(p.sent, 1);
    // More passes, two at once, and the log read again from the start (as after a crash
    // before the place was saved): the step is not told again.
    due_now(&d).await;
    let (a, b) = tokio::join!(
        notify::pass_at(&d.state, &c, early()),
        notify::pass_at(&d.state, &c, early())
    );
    assert_eq!(a.unwrap().sent + b.unwrap().sent, 0);
    d.store
        .dash_exec(vec![(
            "UPDATE server_meta SET value = '0' WHERE key = 'notify_cursor'".into(),
            Vec::new(),
        )])
        .await
        .unwrap();
    due_now(&d).await;
    assert_eq!(
        notify::pass_at(&d.state, &c, early()).await.unwrap().sent,
        0
    );

    let shown = r.shown.lock().unwrap().clone();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0].0, "/wecom/urban");
    assert!(
        shown[0].1.contains("已派遣给") && shown[0].1.contains("2099-01-01"),
        "{}",
        shown[0].1
    );
    assert_eq!(
        *r.arrived.lock().unwrap(),
        4,
        "three failures and one taken"
    );
    let m = &outbox::recent(d.store.as_ref(), Some("urban_mgmt"), 10)
        .await
        .unwrap()[0];
    assert_eq!((m.attempts, m.sent_at.is_some()), (4, true));

    // A step for a unit with no robot: written, shown on the dashboard to that unit only,
    // never sent.
    dispatch(&d, d.housing, "housing").await;
    notify::pass_at(&d.state, &c, early()).await.unwrap();
    let housing = d.login("unit_housing", "housing-pw").await;
    let page = d.get("/dashboard/notifications", Some(&housing)).await;
    assert_eq!(
        page.body.matches("class=\"message-row\"").count(),
        1,
        "{}",
        page.body
    );
    assert!(page.body.contains("待发送"));
    let urban = d.login("unit_urban", "urban-pw").await;
    let page = d.get("/dashboard/notifications", Some(&urban)).await;
    assert_eq!(page.body.matches("class=\"message-row\"").count(), 1);
    assert!(page.body.contains("已发送"));
    assert_eq!(r.shown.lock().unwrap().len(), 1);
}

/// At 17:00 a dispatch lands behind hundreds of tablets' entries in the change log: one pass
/// reads on until it has told it, not one page of the log per pass (15 s each).
#[tokio::test]
async fn a_dispatch_behind_a_long_stretch_of_the_log_is_told_in_one_pass() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let (r, base) = receiver().await;
    let url = format!("{base}/wecom/urban");
    assert_eq!(
        set_hook(&d, &admin, "urban_mgmt", "wecom", &url, "").await,
        303
    );
    let c = client();
    notify::pass_at(&d.state, &c, early()).await.unwrap();
    // A tablet's day: 8 entries per inspection, 1,600 in all, three pages of the log.
    let dev = Device::new(9);
    dev.register(&d.store, "inspector1").await;
    d.store
        .apply_push(dev.id, &dev.public_hex(), &outbox(&dev, site(1).id, 200))
        .await
        .unwrap();
    dispatch(&d, d.urban, "urban_mgmt").await;
    let p = notify::pass_at(&d.state, &c, early()).await.unwrap();
    assert_eq!((p.written, p.sent), (1, 1), "{p:?}");
    assert_eq!(r.shown.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_dead_webhook_is_shown_failed_and_a_signed_dingtalk_robot_is_reached() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let c = client();
    // A port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/robot", dead.local_addr().unwrap());
    drop(dead);
    assert_eq!(
        set_hook(&d, &admin, "urban_mgmt", "wecom", &dead_url, "").await,
        303
    );
    let (r, base) = receiver().await;
    *r.secret.lock().unwrap() = Some("SECabc".into());
    assert_eq!(
        set_hook(
            &d,
            &admin,
            "housing",
            "dingtalk",
            &format!("{base}/ding"),
            "SECabc"
        )
        .await,
        303
    );
    notify::pass_at(&d.state, &c, early()).await.unwrap();
    dispatch(&d, d.urban, "urban_mgmt").await;
    dispatch(&d, d.housing, "housing").await;
    for _ in 0..outbox::MAX_ATTEMPTS + 2 {
        notify::pass_at(&d.state, &c, early()).await.unwrap();
        due_now(&d).await;
    }
    let urban = &outbox::recent(d.store.as_ref(), Some("urban_mgmt"), 10)
        .await
        .unwrap()[0];
    assert!(urban.failed(), "{urban:?}");
    assert_eq!(
        urban.attempts,
        outbox::MAX_ATTEMPTS,
        "given up, not retried for ever"
    );
    assert!(
        urban
            .last_error
            .as_deref()
            .unwrap()
            .contains("cannot reach"),
        "{urban:?}"
    );
    let page = d.get("/dashboard/notifications", Some(&admin)).await;
    assert!(
        page.body.contains("id=\"notify-failed\"") && page.body.contains("发送失败"),
        "{}",
        page.body
    );
    let shown = r.shown.lock().unwrap().clone();
    assert_eq!(shown.len(), 1, "the signed robot took it once: {shown:?}");
    assert_eq!(shown[0].0, "/ding");
}

#[tokio::test]
async fn a_wrong_robot_address_is_refused_and_changes_nothing() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    for url in [
        "",
        "ftp://robot.example/x",
        "javascript:alert(1)",
        "https://",
        &format!("https://x/{}", "a".repeat(600)),
    ] {
        let form = [
            ("csrf", admin.csrf.as_str()),
            ("unit", "urban_mgmt"),
            ("kind", "wecom"),
            ("url", url),
            ("secret", ""),
        ];
        let r = d
            .post("/dashboard/notifications/webhook", Some(&admin), &form)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {}",
            r.body
        );
        assert!(r.body.contains("Webhook 地址"), "{url}");
    }
    let form = [
        ("csrf", admin.csrf.as_str()),
        ("unit", "no_such_unit"),
        ("kind", "wecom"),
        ("url", "https://robot.example/x"),
        ("secret", ""),
    ];
    let r = d
        .post("/dashboard/notifications/webhook", Some(&admin), &form)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(outbox::webhooks(d.store.as_ref()).await.unwrap().is_empty());
}

#[tokio::test]
async fn each_unit_gets_one_morning_digest_of_what_it_has_open() {
    let d = dash().await;
    let c = client();
    notify::pass_at(&d.state, &c, early()).await.unwrap();
    dispatch(&d, d.urban, "urban_mgmt").await;
    let nine = early() + 8 * 3_600_000;
    notify::pass_at(&d.state, &c, nine).await.unwrap();
    notify::pass_at(&d.state, &c, nine + 60_000).await.unwrap();
    let all = outbox::recent(d.store.as_ref(), None, 50).await.unwrap();
    let digests: Vec<_> = all.iter().filter(|m| m.reason == "digest").collect();
    assert_eq!(
        digests.len(),
        1,
        "one unit has an open finding, told once: {all:?}"
    );
    assert_eq!(digests[0].unit, "urban_mgmt");
    assert!(
        digests[0].text.contains("待整改问题 1 件"),
        "{}",
        digests[0].text
    );
}
