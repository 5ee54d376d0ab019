//! The app's half of the screenshot gallery (issue #17, `docs/gallery/app/`): the real app
//! (WebKitGTK through tauri-driver under Xvfb) against a real server holding the full demo (a
//! month of history: inspections, findings in every status, photos), signed in as the demo
//! inspector. Every screen an inspector sees is shown at 1280×800, 1024×768 and 800×1280, and
//! at each size the test checks that the screen's key element is shown, that no error banner
//! is, and that nothing is wider than the window (no horizontal scrolling).
//!
//! The pictures go to `docs/gallery/app/` with `FIELDCHECK_UPDATE_GALLERY=1`, else to
//! `<target>/test-artifacts/gallery/app/` (see `fieldcheck_tests::gallery`).

use fieldcheck_tests::app_driver::{AppWindow, app_binary};
use fieldcheck_tests::app_steps::{
    answer_the_rest, app_desktop, draw_an_arrow, wait_for_the_before_photo,
};
use fieldcheck_tests::gallery::{self, APP_BANNERS, SIZES};
use fieldcheck_tests::server::ServerProcess;
use serde_json::{Value, json};
use std::time::Duration;

const USER: &str = "inspector1";
const ALLEY: &str = "文庙后巷";

/// Shows the current screen at the three sizes, checks it at each ([`gallery::check_page`]:
/// the element `key` is shown, no error banner outside `allowed`, no horizontal overflow) and
/// saves it as `<name>-<size>.png`; `scroll_to` (a CSS selector) is scrolled to the middle of
/// the window first, else the screen is shown from its top. Back at 1280×800 at the end.
async fn gallery(w: &AppWindow, name: &str, key: &str, allowed: &str, scroll_to: Option<&str>) {
    for size in SIZES {
        w.client.set_window_size(size.0, size.1).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let scroll = match scroll_to {
            Some(css) => format!(
                "document.querySelector({}).scrollIntoView({{block: 'center'}}); return true",
                json!(css)
            ),
            None => "window.scrollTo(0, 0); return true".to_string(),
        };
        w.js(&scroll).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let facts = w
            .client
            .execute(
                gallery::PAGE_FACTS,
                vec![json!(key), json!(allowed), json!(APP_BANNERS)],
            )
            .await
            .unwrap();
        gallery::check_page(name, size, &facts);
        let png = w.client.screenshot().await.unwrap();
        gallery::save("app", name, size, &png);
    }
    w.client.set_window_size(1280, 800).await.unwrap();
}

/// The test ids' suffixes of the elements whose test id starts with `prefix` (and not with
/// any of `except`), in page order.
async fn ids(w: &AppWindow, prefix: &str, except: &[&str]) -> Vec<String> {
    let v = w
        .client
        .execute(
            r#"const [prefix, except] = arguments;
               return [...document.querySelectorAll(`[data-testid^="${prefix}"]`)]
                 .map(e => e.dataset.testid)
                 .filter(t => !except.some(x => t.startsWith(x)))
                 .map(t => t.slice(prefix.length))"#,
            vec![json!(prefix), json!(except)],
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

/// The first item of the open inspection that takes a verdict (符合 / 不符合).
async fn first_verdict_item(w: &AppWindow) -> String {
    for code in ids(w, "item-", &[]).await {
        let has = w
            .js(&format!(
                r#"return !!document.querySelector('[data-testid="answer-{code}-non_compliant"]')"#
            ))
            .await
            .unwrap();
        if has == Value::Bool(true) {
            return code;
        }
    }
    panic!("no item takes a verdict");
}

/// Every screen of the app at three sizes, with the demo's month of history on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gallery_of_every_app_screen_at_three_sizes() {
    let (server_dir, app_dir, photo_dir) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let accounts = ServerProcess::prepare_demo_history(server_dir.path()).unwrap();
    let password = accounts
        .iter()
        .find(|a| a.name == USER)
        .expect("the demo inspector")
        .password
        .clone();
    let server = ServerProcess::start(server_dir.path()).unwrap();
    let desktop = app_desktop(app_dir.path(), &server.url);
    let w = desktop.open(&app_binary().unwrap()).await.unwrap();
    w.ensure_shipped_build().await.unwrap();
    w.client.set_window_size(1280, 800).await.unwrap();
    let photo = photo_dir.path().join("camera.jpg");
    std::fs::write(
        &photo,
        fieldcheck_tests::photos::street_jpeg(1600, 1200, true),
    )
    .unwrap();
    let fixed = photo_dir.path().join("fixed.jpg");
    std::fs::write(
        &fixed,
        fieldcheck_tests::photos::street_jpeg(1600, 1200, false),
    )
    .unwrap();

    // Sign-in: empty, then a wrong password.
    w.find("login-form").await.unwrap();
    gallery(&w, "01-login", r#"[data-testid="login-submit"]"#, "", None).await;
    w.type_into("login-username", USER).await.unwrap();
    w.type_into("login-password", "not-the-password")
        .await
        .unwrap();
    w.click("login-submit").await.unwrap();
    let said = w.text("login-error-text").await.unwrap();
    assert!(!said.is_empty());
    gallery(
        &w,
        "02-login-error",
        r#"[data-testid="login-error"]"#,
        r#"[data-testid="login-error"]"#,
        None,
    )
    .await;
    w.find("login-password")
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    w.type_into("login-password", &password).await.unwrap();
    w.click("login-submit").await.unwrap();

    // The first sync brings today's assignments and the county's sites.
    w.click("tab-home").await.unwrap();
    w.until(
        "today's assigned sites are listed",
        r#"return document.querySelectorAll('[data-testid^="today-progress-"]').length >= 2"#,
    )
    .await
    .unwrap();
    let mut today = ids(&w, "today-", &["today-progress-"]).await;
    assert!(today.len() >= 2, "{today:?}");
    // The back alley first: its items say what kind of problem a failure is (井盖, 住建局).
    let alley = w
        .js(&format!(
            r#"return [...document.querySelectorAll('[data-testid^="today-"]')].find(e => e.innerText.includes("{ALLEY}"))?.dataset.testid ?? null"#
        ))
        .await
        .unwrap();
    if let Some(alley) = alley.as_str().and_then(|t| t.strip_prefix("today-")) {
        today.retain(|s| s != alley);
        today.insert(0, alley.to_string());
    }

    // The site list: a search, then nearest first from a typed position.
    w.click("tab-sites").await.unwrap();
    w.find("site-list").await.unwrap();
    w.type_into("site-search", "解放").await.unwrap();
    w.until(
        "the search shows the sites on 解放路 (by name or address)",
        r#"const rows = [...document.querySelectorAll('[data-testid="site-list"] button')].map(e => e.innerText);
           return rows.length >= 2 && rows.length < 6 && rows.every(n => n.includes("解放"))"#,
    )
    .await
    .unwrap();
    gallery(
        &w,
        "04-sites-search",
        r#"[data-testid="site-list"] [data-testid^="site-"]"#,
        "",
        None,
    )
    .await;
    // Emptied as a person does (WebDriver's clear fires no input event).
    w.js(
        r#"const i = document.querySelector('[data-testid="site-search"]');
            i.value = ""; i.dispatchEvent(new Event("input", { bubbles: true })); return true"#,
    )
    .await
    .unwrap();
    w.until(
        "every site is listed again",
        r#"return document.querySelectorAll('[data-testid="site-list"] button').length >= 10"#,
    )
    .await
    .unwrap();
    w.click("nearest").await.unwrap();
    w.until(
        "nearest first asks for a position or finds one",
        r#"return !!document.querySelector('[data-testid="here-lat"]') || /km|米|公里/.test(document.querySelector('[data-testid="site-list"]').innerText)"#,
    )
    .await
    .unwrap();
    if w.js(r#"return !!document.querySelector('[data-testid="here-lat"]')"#)
        .await
        .unwrap()
        == Value::Bool(true)
    {
        w.type_into("here-lat", "30.2731").await.unwrap();
        w.type_into("here-lon", "120.1620").await.unwrap();
        w.click("here-use").await.unwrap();
    }
    w.until(
        "the nearest site (文庙后巷, where we stand) comes first",
        r#"const first = document.querySelector('[data-testid="site-list"] strong');
           return !!first && first.textContent === "文庙后巷""#,
    )
    .await
    .unwrap();
    gallery(
        &w,
        "05-sites-nearest",
        r#"[data-testid="nearest"][aria-pressed="true"]"#,
        "",
        None,
    )
    .await;

    // A site of today's list, and an inspection there with a finding.
    w.click("tab-home").await.unwrap();
    w.click(&format!("today-{}", today[0])).await.unwrap();
    w.find("site-page").await.unwrap();
    gallery(
        &w,
        "06-site",
        r#"[data-testid="start-inspection"], [data-testid="continue-inspection"]"#,
        "",
        None,
    )
    .await;
    w.click("start-inspection").await.unwrap();
    w.find("inspection-header").await.unwrap();
    let failing = if w
        .js(r#"return !!document.querySelector('[data-testid="answer-BA-03-non_compliant"]')"#)
        .await
        .unwrap()
        == Value::Bool(true)
    {
        "BA-03".to_string()
    } else {
        first_verdict_item(&w).await
    };
    w.click(&format!("answer-{failing}-non_compliant"))
        .await
        .unwrap();
    w.click(&format!("add-finding-{failing}")).await.unwrap();
    w.find("finding-form").await.unwrap();
    // The form says it was filled in from the item; what the item could not say is typed.
    w.find("finding-prefilled").await.unwrap();
    w.js(
        r#"const s = document.querySelector('[data-testid="finding-subcategory"]');
            if (s.value === "") {
              s.value = [...s.options].find(o => o.value !== "").value;
              s.dispatchEvent(new Event("change", { bubbles: true }));
            }
            return true"#,
    )
    .await
    .unwrap();
    if w.find("finding-description")
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
        .is_empty()
    {
        w.type_into("finding-description", "现场发现问题，需整改")
            .await
            .unwrap();
    }
    w.find("photo-input-before")
        .await
        .unwrap()
        .send_keys(photo.to_str().unwrap())
        .await
        .unwrap();
    w.until(
        "the photo waits for the finding",
        r#"return document.querySelector('[data-testid="finding-form"]').textContent.includes("保存后上传")"#,
    )
    .await
    .unwrap();
    w.type_into("finding-lat", "30.2731").await.unwrap();
    w.type_into("finding-lon", "120.1620").await.unwrap();
    gallery(
        &w,
        "08-finding-form",
        r#"[data-testid="finding-save"]"#,
        "",
        None,
    )
    .await;
    w.click("finding-save").await.unwrap();
    w.find("finding-saved").await.unwrap();
    w.click("finding-done").await.unwrap();
    w.find("inspection-header").await.unwrap();
    // A few more answers, so that the checklist shows answers around the recorded finding.
    let codes = ids(&w, "item-", &[]).await;
    for code in codes.iter().filter(|c| **c != failing).take(3) {
        let kind = if w
            .js(&format!(
                r#"return !!document.querySelector('[data-testid="answer-{code}-compliant"]')"#
            ))
            .await
            .unwrap()
            == Value::Bool(true)
        {
            "compliant"
        } else {
            "not_applicable"
        };
        w.click(&format!("answer-{code}-{kind}")).await.unwrap();
    }
    let recorded = w.text(&format!("recorded-{failing}")).await.unwrap();
    assert!(recorded.contains("已记录问题 1"), "{recorded}");
    gallery(
        &w,
        "07-inspection",
        &format!(r#"[data-testid="recorded-{failing}"]"#),
        "",
        Some(&format!(r#"[data-testid="item-{failing}"]"#)),
    )
    .await;

    // Finish: the summary of what was recorded.
    answer_the_rest(&w).await;
    w.click("finish-inspection").await.unwrap();
    if w.js(r#"return !!document.querySelector('[data-testid="finish-check"]') && !document.querySelector('[data-testid="finish-summary"]')"#)
        .await
        .unwrap()
        == Value::Bool(true)
    {
        // Items that want a photo are listed first; finish anyway.
        w.click("finish-inspection").await.unwrap();
    }
    w.find("finish-summary").await.unwrap();
    assert_eq!(w.text("summary-findings").await.unwrap(), "记录问题 1 个");
    w.until(
        "the summary says the inspection reached the office",
        r#"return document.querySelector('[data-testid="summary-upload"]').textContent === "已同步到创城办""#,
    )
    .await
    .unwrap();
    gallery(
        &w,
        "09-finish-summary",
        r#"[data-testid="finish-summary"]"#,
        "",
        Some(r#"[data-testid="finish-summary"]"#),
    )
    .await;
    w.click("summary-done").await.unwrap();

    // Another of today's sites started and left open; Today shows both marks.
    w.click("tab-home").await.unwrap();
    w.click(&format!("today-{}", today[1])).await.unwrap();
    w.click("start-inspection").await.unwrap();
    w.find("inspection-header").await.unwrap();
    let first = ids(&w, "item-", &[]).await.remove(0);
    let kind = if w
        .js(&format!(
            r#"return !!document.querySelector('[data-testid="answer-{first}-compliant"]')"#
        ))
        .await
        .unwrap()
        == Value::Bool(true)
    {
        "compliant"
    } else {
        "not_applicable"
    };
    w.click(&format!("answer-{first}-{kind}")).await.unwrap();
    w.click("tab-home").await.unwrap();
    w.until(
        "today's list marks one site done and one in progress",
        &format!(
            r#"const p = (s) => document.querySelector(`[data-testid="today-progress-${{s}}"]`)?.dataset.progress;
               return p("{}") === "done" && p("{}") === "in_progress""#,
            today[0], today[1]
        ),
    )
    .await
    .unwrap();
    gallery(
        &w,
        "03-today",
        r#"[data-testid^="today-progress-"]"#,
        "",
        None,
    )
    .await;

    // 回头看: the findings dispatched to units, and a re-check with before and after.
    w.click("tab-rechecks").await.unwrap();
    w.find("rechecks").await.unwrap();
    w.until(
        "the dispatched findings of the history are listed",
        r#"return document.querySelectorAll('[data-testid^="recheck-entry-"]').length >= 2"#,
    )
    .await
    .unwrap();
    gallery(
        &w,
        "10-rechecks",
        r#"[data-testid^="recheck-entry-"]"#,
        "",
        None,
    )
    .await;
    // The first entry whose before-photo the first sync cached.
    w.js(r#"document.querySelector('[data-testid^="recheck-entry-"] [data-testid^="finding-"] button').click(); return true"#)
        .await
        .unwrap();
    w.find("recheck").await.unwrap();
    wait_for_the_before_photo(&w, "the before-photo is shown").await;
    w.find("photo-input-after")
        .await
        .unwrap()
        .send_keys(fixed.to_str().unwrap())
        .await
        .unwrap();
    w.find("recheck-mark").await.unwrap();
    w.until(
        "the after-photo is shown",
        r#"const img = document.querySelector('[data-testid="recheck-after"] img');
           return !!img && img.complete && img.naturalWidth > 0"#,
    )
    .await
    .unwrap();
    gallery(
        &w,
        "11-recheck",
        r#"[data-testid="recheck-before"]"#,
        "",
        None,
    )
    .await;

    // The photo marker, with an arrow drawn.
    w.click("recheck-mark").await.unwrap();
    draw_an_arrow(&w).await;
    gallery(
        &w,
        "12-photo-marker",
        r#"[data-testid="marker-save"]"#,
        "",
        Some(r#"[data-testid="photo-marker"]"#),
    )
    .await;
    w.click("marker-cancel").await.unwrap();

    // Sync and settings.
    w.click("tab-sync").await.unwrap();
    w.click("sync-now").await.unwrap();
    w.find("sync-all-done").await.unwrap();
    gallery(&w, "13-sync", r#"[data-testid="sync-all-done"]"#, "", None).await;
    w.click("tab-settings").await.unwrap();
    w.find("settings-storage").await.unwrap();
    gallery(
        &w,
        "14-settings",
        r#"[data-testid="settings-account"]"#,
        "",
        None,
    )
    .await;
    w.quit().await.unwrap();
    println!("app gallery: {}", gallery::dir("app").display());
}
