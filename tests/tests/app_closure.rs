//! Issue #17 items 5, 7 and 9 in the real app (WebKitGTK through tauri-driver under Xvfb)
//! against a real server: signing in to an address where no server answers says so (and not
//! that work was saved); an accidental 开始检查 is discarded, and the server holds it
//! discarded; a finished inspection ends with a summary, and today's list marks its site
//! 已完成. Screenshots of the new screens at 1280×800, 1024×768 and 800×1280 go to
//! `<target>/test-artifacts/app/`.

use fieldcheck_tests::app_driver::{AppWindow, app_binary, artifacts_dir};
use fieldcheck_tests::app_steps::{answer_the_rest, app_desktop, app_text};
use fieldcheck_tests::server::{INSPECTOR_PASSWORD, ServerProcess};
use serde_json::Value;
use std::time::Duration;

const USER: &str = "xiaoli";
const ALLEY: &str = "文庙后巷";

/// Saves `name` at the three sizes the product is checked at, then goes back to 1280×800.
async fn shots(w: &AppWindow, name: &str) {
    for (width, height) in [(1024, 768), (800, 1280), (1280, 800)] {
        w.client.set_window_size(width, height).await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        w.screenshot(&format!("{name}-{width}x{height}"))
            .await
            .unwrap();
    }
}

/// Waits until today's list shows `site` with `progress` (not_started, in_progress, done).
async fn until_progress(w: &AppWindow, site: &str, progress: &str) {
    w.click("tab-home").await.unwrap();
    w.until(
        &format!("today's list marks the site {progress}"),
        &format!(r#"const e = document.querySelector('[data-testid="today-progress-{site}"]'); return !!e && e.dataset.progress === "{progress}""#),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_errors_discard_and_the_end_of_an_inspection_in_the_real_app() {
    let server_dir = tempfile::tempdir().unwrap();
    let app_dir = tempfile::tempdir().unwrap();
    ServerProcess::prepare(server_dir.path(), &[USER]).unwrap();
    let server = ServerProcess::start(server_dir.path()).unwrap();
    let app = app_binary().unwrap();
    let desktop = app_desktop(app_dir.path(), &server.url);
    let w = desktop.open(&app).await.unwrap();
    w.ensure_shipped_build().await.unwrap();

    // Item 5: a mistyped address where nothing answers. The message names the address and
    // what to check; it does not claim that work was saved (there is none yet).
    let nowhere = "http://127.0.0.1:9";
    w.find("login-server").await.unwrap().clear().await.unwrap();
    w.type_into("login-server", nowhere).await.unwrap();
    w.type_into("login-username", USER).await.unwrap();
    w.type_into("login-password", INSPECTOR_PASSWORD)
        .await
        .unwrap();
    w.click("login-submit").await.unwrap();
    let said = w.text("login-error-text").await.unwrap();
    assert_eq!(
        said,
        format!("无法连接服务器 {nowhere}，请检查网络和服务器地址")
    );
    let whole = w.text("login-error").await.unwrap();
    assert!(
        !whole.contains("已安全保存") && !whole.contains("/api/v1"),
        "{whole}"
    );
    w.click("login-error-details-toggle").await.unwrap();
    assert!(
        w.text("login-error-details")
            .await
            .unwrap()
            .contains("cannot reach the server")
    );
    shots(&w, "15-login-unreachable").await;

    w.find("login-server").await.unwrap().clear().await.unwrap();
    w.type_into("login-server", &server.url).await.unwrap();
    w.click("login-submit").await.unwrap();
    w.until(
        "the back alley is listed",
        &format!(r#"return [...document.querySelectorAll('[data-testid="site-list"] strong')].some(e => e.textContent === "{ALLEY}")"#),
    )
    .await
    .unwrap();

    // The office assigns the back alley for today; a sync brings it to Today's list.
    let db = app_dir.path().join("fieldcheck.db");
    let site = app_text(&db, "SELECT id FROM sites WHERE name = ?1", ALLEY).unwrap();
    let today = fieldcheck_domain::china_time::china_date(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    fieldcheck_tests::server::admin(
        server_dir.path(),
        &[
            "assign",
            "--inspector",
            USER,
            "--site",
            &site,
            "--date",
            &today,
        ],
    )
    .unwrap();
    w.click("tab-sync").await.unwrap();
    w.click("sync-now").await.unwrap();
    until_progress(&w, &site, "not_started").await;

    // Item 9: 开始检查 by accident, one answer, then 放弃本次检查 after saying what is lost.
    w.click(&format!("today-{site}")).await.unwrap();
    w.click("start-inspection").await.unwrap();
    w.find("inspection-header").await.unwrap();
    let first = w
        .js(r#"return document.querySelector('[data-testid^="answer-"][data-testid$="-non_compliant"]').dataset.testid"#)
        .await
        .unwrap();
    w.click(first.as_str().unwrap()).await.unwrap();
    let accidental = app_text(
        &db,
        "SELECT id FROM inspections WHERE site_id = ?1 AND finished_at IS NULL",
        &site,
    )
    .unwrap();
    until_progress(&w, &site, "in_progress").await;
    w.click(&format!("resume-{accidental}")).await.unwrap();
    w.click("discard-inspection").await.unwrap();
    assert!(
        w.text("discard-dialog")
            .await
            .unwrap()
            .contains("不计入成绩")
    );
    shots(&w, "16-discard-confirm").await;
    w.click("discard-confirm").await.unwrap();
    // Back where the inspection was opened from: today's list.
    w.find("site-list").await.unwrap();
    let discarded_at = "SELECT CAST(discarded_at AS TEXT) FROM inspections WHERE id = ?1";
    assert!(app_text(&db, discarded_at, &accidental).is_some());
    until_progress(&w, &site, "not_started").await;
    let no_resume = r#"return !document.querySelector('[data-testid="resume"]')"#;
    assert_eq!(w.js(no_resume).await.unwrap(), Value::Bool(true));

    // Item 7: a real inspection, every item answered; 完成检查 shows what was recorded.
    w.click(&format!("today-{site}")).await.unwrap();
    w.click("start-inspection").await.unwrap();
    w.find("inspection-header").await.unwrap();
    let n = answer_the_rest(&w).await;
    w.click("finish-inspection").await.unwrap();
    assert_eq!(
        w.text("summary-answered").await.unwrap(),
        format!("已检查 {n} / {n} 项")
    );
    assert_eq!(w.text("summary-findings").await.unwrap(), "记录问题 0 个");
    // Finishing starts a sync; the summary says so once the server has it.
    w.until(
        "the summary says the inspection reached the office",
        r#"return document.querySelector('[data-testid="summary-upload"]').textContent === "已同步到创城办""#,
    )
    .await
    .unwrap();
    shots(&w, "17-finish-summary").await;
    w.click("summary-done").await.unwrap();
    w.find("site-page").await.unwrap();
    until_progress(&w, &site, "done").await;
    assert_eq!(
        w.text(&format!("today-progress-{site}")).await.unwrap(),
        "已完成"
    );
    shots(&w, "18-today-done").await;

    // The server holds the accidental start as discarded, and the finished one finished.
    let export = server.export().unwrap();
    let held: Vec<&Value> = export["inspections"].as_array().unwrap().iter().collect();
    let discarded = held
        .iter()
        .find(|i| i["id"] == accidental.as_str())
        .unwrap();
    assert!(discarded["discarded_at"].is_i64(), "{discarded}");
    assert!(discarded["finished_at"].is_null());
    assert_eq!(held.iter().filter(|i| i["finished_at"].is_i64()).count(), 1);
    w.quit().await.unwrap();
    println!("screenshots: {}", artifacts_dir().display());
}
