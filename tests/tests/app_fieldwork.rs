//! Issue #17 items 1, 4 and 8 in the real app (WebKitGTK through tauri-driver under Xvfb)
//! against a real server: the finding form opened from 井盖完好 (BA-03) proposes 井盖, words
//! from the item and the 住建局 (not the site's own unit), and takes a photo before the finding
//! is saved; the app is killed (SIGKILL) before 保存, and the form opened again from BA-03 shows
//! the photo, which is saved with the finding; the finding says 待编号 until it is synced and
//! then shows its number (问题编号); back on the checklist the row says 已记录问题 1 and the sticky header stays short;
//! 回头看 lists the finding the office dispatched, with its unit and deadline, and not the one
//! still waiting for dispatch (待派遣). Screenshots at 1280×800, 1024×768 and 800×1280 go to
//! `<target>/test-artifacts/app/`.

use fieldcheck_tests::app_driver::{AppWindow, app_binary};
use fieldcheck_tests::app_steps::{app_desktop, app_text};
use fieldcheck_tests::office::{add_office_account, dispatch};
use fieldcheck_tests::server::{INSPECTOR_PASSWORD, ServerProcess};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const USER: &str = "xiaozhang";
const ALLEY: &str = "文庙后巷";

/// Saves `name` at the three sizes the product is checked at and returns the sticky
/// inspection header's height at each (0 where there is none), back at 1280×800 at the end.
async fn shots(w: &AppWindow, name: &str) -> Vec<((u32, u32), f64)> {
    let mut heights = Vec::new();
    for (width, height) in [(1024, 768), (800, 1280), (1280, 800)] {
        w.client.set_window_size(width, height).await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        w.screenshot(&format!("{name}-{width}x{height}"))
            .await
            .unwrap();
        heights.push(((width, height), header_height(w).await));
    }
    heights
}

/// The sticky inspection header's height in CSS pixels, from its element rect.
async fn header_height(w: &AppWindow) -> f64 {
    let h = w
        .js(r#"const e = document.querySelector('[data-testid="inspection-header"]'); return e ? e.getBoundingClientRect().height : 0"#)
        .await
        .unwrap();
    h.as_f64().unwrap()
}

/// SIGKILLs the app running on `data_dir` (a flat battery, not a quit): the app binary whose
/// environment names that data directory.
fn kill_app(data_dir: &Path) {
    let exe = app_binary().unwrap().canonicalize().unwrap();
    let wanted = format!("FIELDCHECK_APP_DATA_DIR={}", data_dir.display());
    let mut killed = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let is_app = std::fs::read_link(entry.path().join("exe")).is_ok_and(|e| e == exe);
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        if is_app && environ.split(|b| *b == 0).any(|v| v == wanted.as_bytes()) {
            // SAFETY: kill(2) with a pid read from /proc: the app this test started.
            assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
            killed += 1;
        }
    }
    assert_eq!(
        killed,
        1,
        "the app on {} is not running",
        data_dir.display()
    );
}

/// The value of the form control with this test id.
async fn value_of(w: &AppWindow, id: &str) -> String {
    let v = w
        .js(&format!(
            r#"return document.querySelector('[data-testid="{id}"]').value"#
        ))
        .await
        .unwrap();
    v.as_str().unwrap_or_default().to_string()
}

/// Syncs from the 同步 screen and waits until nothing is left to send.
async fn sync(w: &AppWindow, db: &Path) {
    w.click("tab-sync").await.unwrap();
    w.click("sync-now").await.unwrap();
    for _ in 0..600 {
        let pending: i64 = rusqlite::Connection::open(db)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))
            .unwrap();
        if pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the app's outbox did not empty");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_proposes_what_the_item_says_the_row_shows_it_and_rechecks_list_the_dispatched() {
    let (server_dir, app_dir, photo_dir, office_dir) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    ServerProcess::prepare(server_dir.path(), &[USER]).unwrap();
    add_office_account(server_dir.path()).unwrap();
    let server = ServerProcess::start(server_dir.path()).unwrap();
    let photo = photo_dir.path().join("camera.jpg");
    std::fs::write(&photo, fieldcheck_tests::photos::noisy_jpeg(1600, 1200, 3)).unwrap();
    let desktop = app_desktop(app_dir.path(), &server.url);
    let mut w = desktop.open(&app_binary().unwrap()).await.unwrap();
    w.ensure_shipped_build().await.unwrap();
    w.client.set_window_size(1280, 800).await.unwrap();
    w.type_into("login-username", USER).await.unwrap();
    w.type_into("login-password", INSPECTOR_PASSWORD)
        .await
        .unwrap();
    w.click("login-submit").await.unwrap();
    let db = app_dir.path().join("fieldcheck.db");
    w.until(
        "the back alley is listed",
        &format!(r#"return [...document.querySelectorAll('[data-testid="site-list"] strong')].some(e => e.textContent === "{ALLEY}")"#),
    )
    .await
    .unwrap();
    let site = app_text(&db, "SELECT id FROM sites WHERE name = ?1", ALLEY).unwrap();

    // The site list's search: a name no site has says so, not that sites come with a sync.
    w.type_into("site-search", "火星站").await.unwrap();
    assert_eq!(
        w.text("sites-empty").await.unwrap(),
        "没有找到符合“火星站”的站点"
    );
    w.find("site-search").await.unwrap().clear().await.unwrap();
    w.type_into("site-search", ALLEY).await.unwrap();

    w.click(&format!("site-{site}")).await.unwrap();
    w.click("start-inspection").await.unwrap();
    w.find("inspection-header").await.unwrap();
    let height = header_height(&w).await;
    assert!(
        height <= 110.0,
        "the sticky header is {height} px tall at 1280×800"
    );

    // Item 4: 井盖完好 fails; the form knows what kind of problem it is and who fixes it.
    w.click("answer-BA-03-non_compliant").await.unwrap();
    w.click("add-finding-BA-03").await.unwrap();
    w.find("finding-form").await.unwrap();
    w.until(
        "the form is filled in from BA-03",
        r#"return document.querySelector('[data-testid="finding-subcategory"]').value === "manhole_cover""#,
    )
    .await
    .unwrap();
    assert_eq!(
        value_of(&w, "finding-unit").await,
        "housing",
        "住建局, not the site's 交警大队"
    );
    assert_eq!(
        value_of(&w, "finding-description").await,
        "井盖完好：不符合要求。"
    );
    // The camera comes first, before the fields.
    let camera_first = w
        .js(
            r#"const c = document.querySelector('[data-testid="photo-input-before"]');
               const s = document.querySelector('[data-testid="finding-subcategory"]');
               return !!(c.compareDocumentPosition(s) & Node.DOCUMENT_POSITION_FOLLOWING)"#,
        )
        .await
        .unwrap();
    assert_eq!(camera_first, Value::Bool(true));
    // A photo before the finding is saved.
    w.find("photo-input-before")
        .await
        .unwrap()
        .send_keys(photo.to_str().unwrap())
        .await
        .unwrap();
    w.until(
        "the photo waits for the finding",
        r#"return document.querySelector('[data-testid="finding-form"]').textContent.includes("1 · 保存后上传")"#,
    )
    .await
    .unwrap();
    let inspection = app_text(&db, "SELECT id FROM inspections WHERE site_id = ?1", &site).unwrap();
    let draft = app_text(
        &db,
        "SELECT finding_id FROM photo_drafts WHERE item_code = ?1",
        "BA-03",
    )
    .expect("the photo is kept as a draft of the finding");
    assert!(
        app_text(&db, "SELECT id FROM findings WHERE id = ?1", &draft).is_none(),
        "nothing is saved before 保存"
    );

    // The battery dies before 保存; the form opened again from BA-03 has the photo back.
    kill_app(app_dir.path());
    let _ = tokio::time::timeout(Duration::from_secs(20), w.quit()).await;
    w = desktop.open(&app_binary().unwrap()).await.unwrap();
    w.client.set_window_size(1280, 800).await.unwrap();
    w.click("tab-home").await.unwrap();
    w.click(&format!("resume-{inspection}")).await.unwrap();
    w.click("add-finding-BA-03").await.unwrap();
    w.find("finding-draft-restored").await.unwrap();
    w.until(
        "the photo taken before the app died is shown again",
        r#"const t = document.querySelectorAll('[data-testid="photo-thumb"]'); return t.length === 1 && t[0].complete && t[0].naturalWidth > 0
           && document.querySelector('[data-testid="finding-form"]').textContent.includes("1 · 保存后上传")"#,
    )
    .await
    .unwrap();
    w.until(
        "the form is filled in from BA-03 again",
        r#"return document.querySelector('[data-testid="finding-subcategory"]').value === "manhole_cover""#,
    )
    .await
    .unwrap();
    w.type_into("finding-lat", "30.2731").await.unwrap();
    w.type_into("finding-lon", "120.1620").await.unwrap();
    shots(&w, "20-finding-prefilled").await;
    w.click("finding-save").await.unwrap();
    w.find("finding-saved").await.unwrap();
    w.until(
        "the photo is stamped and shown",
        r#"const t = document.querySelectorAll('[data-testid="photo-thumb"]'); return t.length === 1 && t[0].complete && t[0].naturalWidth > 0"#,
    )
    .await
    .unwrap();
    let manhole = app_text(
        &db,
        "SELECT id FROM findings WHERE json_extract(body, '$.item_code') = ?1",
        "BA-03",
    )
    .unwrap();
    assert_eq!(
        manhole, draft,
        "saved under the id its photo was signed for"
    );
    assert_eq!(
        app_text(
            &db,
            "SELECT json_extract(body, '$.unit') FROM findings WHERE id = ?1",
            &manhole
        )
        .as_deref(),
        Some("housing")
    );
    assert!(
        app_text(
            &db,
            "SELECT sha256 FROM photos WHERE finding_id = ?1",
            &manhole
        )
        .is_some(),
        "the photo taken before saving belongs to the finding"
    );

    // Item 8: back on the checklist the row says what was done, and a second finding is a
    // deliberate step.
    w.click("finding-done").await.unwrap();
    w.find("inspection-header").await.unwrap();
    assert_eq!(w.text("recorded-BA-03").await.unwrap(), "✓ 已记录问题 1");
    let row = w.text(&format!("finding-{manhole}")).await.unwrap();
    assert!(row.contains("待编号（同步后生成）"), "{row}");
    let no_plain_add = r#"return !document.querySelector('[data-testid="add-finding-BA-03"]')"#;
    assert_eq!(w.js(no_plain_add).await.unwrap(), Value::Bool(true));
    for ((width, height), h) in shots(&w, "21-inspection-recorded").await {
        eprintln!("sticky header at {width}×{height}: {h:.0} px");
        assert!(
            h <= 160.0,
            "the sticky header is {h} px tall at {width}×{height}"
        );
    }
    assert!(header_height(&w).await <= 110.0);

    // A second finding, from BA-01, stays 待派遣; the office dispatches the manhole cover.
    w.click("answer-BA-01-non_compliant").await.unwrap();
    w.click("add-finding-BA-01").await.unwrap();
    w.until(
        "the form is filled in from BA-01",
        r#"return document.querySelector('[data-testid="finding-subcategory"]').value === "road_surface""#,
    )
    .await
    .unwrap();
    w.type_into("finding-lat", "30.2731").await.unwrap();
    w.type_into("finding-lon", "120.1620").await.unwrap();
    w.click("finding-save").await.unwrap();
    w.find("finding-saved").await.unwrap();
    w.click("finding-done").await.unwrap();
    w.find("inspection-header").await.unwrap();
    sync(&w, &db).await;
    let today = fieldcheck_domain::china_time::china_date(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    let manhole_id = manhole.parse().unwrap();
    dispatch(
        &server.url,
        office_dir.path(),
        manhole_id,
        "housing",
        &today,
    )
    .await
    .unwrap();
    w.click("sync-now").await.unwrap();

    // Item 1: 回头看 lists the dispatched finding with its unit and deadline, not the 待派遣 one.
    let mut number = None;
    for _ in 0..300 {
        number = app_text(&db, "SELECT number FROM findings WHERE id = ?1", &manhole);
        if number.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let number = number.expect("the server numbered the finding at sync");
    w.click("tab-rechecks").await.unwrap();
    let entry = format!("recheck-entry-{manhole}");
    w.find(&entry).await.unwrap();
    w.until(
        "the 回头看 entry shows the finding's number",
        &format!(r#"return document.querySelector('[data-testid="{entry}"]').textContent.includes("编号 {number}")"#),
    )
    .await
    .unwrap();
    let shown = w.text(&entry).await.unwrap();
    assert!(shown.contains("责任单位：住建局"), "{shown}");
    assert!(shown.contains(&format!("整改期限 {today}")), "{shown}");
    let listed = w
        .js(r#"return [...document.querySelectorAll('[data-testid^="recheck-entry-"]')].map(e => e.textContent)"#)
        .await
        .unwrap();
    let listed: Vec<String> = serde_json::from_value(listed).unwrap();
    assert_eq!(listed.len(), 1, "only the dispatched finding: {listed:?}");
    assert!(!listed[0].contains("待派遣"), "{listed:?}");
    shots(&w, "22-rechecks").await;
    w.quit().await.unwrap();
}
