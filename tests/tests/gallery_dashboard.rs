//! The dashboard's half of the screenshot gallery (issue #17, `docs/gallery/dashboard/`): the
//! office dashboard in Debian's Chromium (chromedriver) against a real server holding the full
//! demo (a month of history: inspections, findings in every status, photos), signed in as the
//! demo admin. Every page a clerk sees (the command post's too: task division, notifications, mock
//! evaluation, accountability, the bulletin) is shown with a viewport of 1280×800, 1024×768 and
//! 800×1280, and at each size the test checks that the page's key element is shown, that no
//! error banner is, and that nothing is wider than the window (no horizontal scrolling).
//!
//! The pictures go to `docs/gallery/dashboard/` with `FIELDCHECK_UPDATE_GALLERY=1`, else to
//! `<target>/test-artifacts/gallery/dashboard/` (see `fieldcheck_tests::gallery`).

use fantoccini::{Client, Locator};
use fieldcheck_tests::chromium::{Driver, set_viewport};
use fieldcheck_tests::gallery::{self, DASHBOARD_BANNERS, SIZES};
use fieldcheck_tests::server::ServerProcess;
use serde_json::json;
use std::time::Duration;

/// One browser session on the dashboard.
struct Session {
    c: Client,
    base: String,
}

impl Session {
    /// Opens `path` (e.g. `/dashboard/ledger`) and waits for the element `#key`.
    async fn open(&self, path: &str, key: &str) {
        self.c.goto(&format!("{}{path}", self.base)).await.unwrap();
        self.wait(key).await;
    }

    /// Waits for the element matching `css`.
    async fn wait(&self, css: &str) {
        self.c
            .wait()
            .at_most(Duration::from_secs(60))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} never showed: {e}"));
    }

    /// Runs a script with arguments.
    async fn js(&self, script: &str, args: Vec<serde_json::Value>) -> serde_json::Value {
        self.c.execute(script, args).await.unwrap()
    }

    /// Shows the current page at the three sizes, checks it at each
    /// ([`gallery::check_page`]: `key` is shown, no error banner outside `allowed`, no
    /// horizontal overflow) and saves it as `<name>-<size>.png`; `scroll_to` (a CSS selector)
    /// is scrolled to the top of the window first, else the page is shown from its top.
    async fn gallery(&self, name: &str, key: &str, allowed: &str, scroll_to: Option<&str>) {
        for size in SIZES {
            set_viewport(&self.c, size).await;
            tokio::time::sleep(Duration::from_millis(400)).await;
            match scroll_to {
                Some(css) => {
                    self.js(
                        "document.querySelector(arguments[0]).scrollIntoView({block: 'start'}); return true",
                        vec![json!(css)],
                    )
                    .await
                }
                None => self.js("window.scrollTo(0, 0); return true", vec![]).await,
            };
            tokio::time::sleep(Duration::from_millis(200)).await;
            let facts = self
                .js(
                    gallery::PAGE_FACTS,
                    vec![json!(key), json!(allowed), json!(DASHBOARD_BANNERS)],
                )
                .await;
            gallery::check_page(name, size, &facts);
            let png = self.c.screenshot().await.unwrap();
            gallery::save("dashboard", name, size, &png);
        }
    }

    /// The `data-finding` of the ledger's rows on the page shown.
    async fn ledger_ids(&self) -> Vec<String> {
        let v = self
            .js(
                "return [...document.querySelectorAll('tr.ledger-row')].map(r => r.dataset.finding)",
                vec![],
            )
            .await;
        serde_json::from_value(v).unwrap()
    }
}

/// Every page of the dashboard at three sizes, with the demo's month of history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gallery_of_every_dashboard_page_at_three_sizes() {
    let server_dir = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let accounts = ServerProcess::prepare_demo_history(server_dir.path()).unwrap();
    let admin = accounts
        .iter()
        .find(|a| a.role == "admin")
        .expect("the demo admin");
    let server = ServerProcess::start(server_dir.path()).unwrap();
    let driver = Driver::start();
    let s = Session {
        c: driver.browser(profile.path()).await,
        base: server.url.clone(),
    };

    // Sign-in: empty, then a wrong password.
    s.open("/dashboard/login", "#login-form").await;
    s.gallery("01-login", "#login-submit", "", None).await;
    for (id, text) in [("username", admin.name.as_str()), ("password", "not-it")] {
        s.c.find(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }
    s.c.find(Locator::Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.wait("#login-error").await;
    s.gallery("02-login-error", "#login-error", "#login-error", None)
        .await;
    s.c.find(Locator::Id("username"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    for (id, text) in [
        ("username", admin.name.as_str()),
        ("password", admin.password.as_str()),
    ] {
        s.c.find(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }
    s.c.find(Locator::Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // 总览: the figures and a drawn chart in every chart container.
    s.wait("#status-counts").await;
    for chart in ["chart-trend", "chart-streets", "chart-units", "chart-risk"] {
        s.wait(&format!("#{chart} svg")).await;
    }
    let open: u64 = s
        .js(
            "return document.getElementById('figure-open').textContent",
            vec![],
        )
        .await
        .as_str()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(open > 0, "the month of history leaves open findings");
    s.gallery("03-overview", "#chart-trend svg", "", None).await;

    // The ledger: every status, overdue ones marked; then filtered to the overdue.
    s.open("/dashboard/ledger", "#ledger").await;
    let statuses = s
        .js(
            "return [...new Set([...document.querySelectorAll('tr.ledger-row [data-status]')].map(e => e.dataset.status))]",
            vec![],
        )
        .await;
    assert!(
        statuses.as_array().unwrap().len() >= 3,
        "the first page shows several statuses: {statuses}"
    );
    s.gallery("04-ledger", "tr.ledger-row", "", None).await;
    s.open("/dashboard/ledger?overdue=1", "#ledger").await;
    let overdue = s.ledger_ids().await;
    assert!(!overdue.is_empty(), "the history has overdue findings");
    let all_marked = s
        .js(
            "return [...document.querySelectorAll('tr.ledger-row')].every(r => r.classList.contains('overdue') && !!r.querySelector('.badge.overdue'))",
            vec![],
        )
        .await;
    assert_eq!(all_marked, json!(true), "every overdue row is marked");
    s.gallery(
        "05-ledger-overdue",
        "tr.ledger-row .badge.overdue",
        "",
        None,
    )
    .await;

    // A closed finding: its whole history and its before and after photos.
    s.open("/dashboard/ledger?status=closed", "#ledger").await;
    let closed = s.ledger_ids().await;
    assert!(!closed.is_empty(), "the history has closed findings");
    // A closed finding, one with a before and an after photo if the history has one (the
    // ones on the first page of the ledger are tried).
    let mut chosen = None;
    for id in &closed {
        s.open(&format!("/dashboard/findings/{id}"), "#history")
            .await;
        let figures = s
            .js(
                "return document.querySelectorAll('#photos figure').length",
                vec![],
            )
            .await;
        if figures.as_u64().unwrap() >= 2 {
            chosen = Some(id.clone());
            break;
        }
    }
    if chosen.is_none() {
        s.open(&format!("/dashboard/findings/{}", closed[0]), "#history")
            .await;
    }
    let rows = s
        .js(
            "return document.querySelectorAll('tr.history-row').length",
            vec![],
        )
        .await;
    assert!(
        rows.as_u64().unwrap() >= 3,
        "dispatched, rectified, verified, closed: {rows}"
    );
    // Every photo loads (scrolled into view: thumbnails may load lazily).
    let loaded = "const imgs = [...document.querySelectorAll('#photos figure img')];
        imgs.forEach(i => { i.loading = 'eager'; });
        return imgs.length >= 1 && imgs.every(i => i.complete && i.naturalWidth > 0)";
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while s.js(loaded, vec![]).await != json!(true) {
        assert!(
            std::time::Instant::now() < deadline,
            "the finding's photos did not load"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    s.gallery("06-finding", "#finding-facts", "", None).await;
    s.gallery("07-finding-history", "#history", "", Some("#photos"))
        .await;

    // Scores, management (accounts, devices), template packs, the labels, the report.
    s.open("/dashboard/scores", "#by-site-type").await;
    s.gallery("08-scores", "#by-site-type", "", None).await;
    s.open("/dashboard/manage", "#devices").await;
    s.gallery("09-manage", "#sites", "", None).await;
    s.gallery("10-template-packs", "#templates", "", Some("#pack-form"))
        .await;
    s.open("/dashboard/report", "#print-now").await;
    let blocks = s
        .js(
            "return document.querySelectorAll('section.report-block').length",
            vec![],
        )
        .await;
    assert!(blocks.as_u64().unwrap() >= 1, "{blocks}");
    s.gallery("11-report", "#print-now", "", None).await;

    // The export: the progress page, until the workbook is ready.
    s.open("/dashboard/ledger", "#export-xlsx").await;
    s.c.find(Locator::Id("export-xlsx"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.wait("#export-download").await;
    s.gallery("12-export", "#export-download", "", None).await;

    // The map: the month's findings over the street plan (no tiles configured).
    s.open("/dashboard/map", "#map[data-ready='1']").await;
    s.gallery("20-map", "#map[data-ready='1']", "", None).await;

    // The command post: 任务分工 (none imported yet: the form and the 无人管 list), 通知
    // (robots and messages), 模拟测评 (a seeded draw and its estimate), 倒查责任 (the month).
    s.open("/dashboard/division", "#division-form").await;
    s.gallery("13-division", "#division-form", "", None).await;
    s.open("/dashboard/notifications", "#webhook-form").await;
    s.gallery("14-notifications", "#webhooks", "", None).await;
    s.open("/dashboard/mock-evaluation?seed=20261201", "#sample")
        .await;
    s.gallery("15-mock-evaluation", "#sample", "", None).await;
    s.gallery(
        "16-mock-evaluation-estimate",
        "#sample",
        "",
        Some("#estimate, #no-estimate"),
    )
    .await;
    s.open("/dashboard/accountability", "#by-holder").await;
    s.gallery("17-accountability", "#by-holder", "", None).await;
    // 通报 over the demo's last 30 days: its figures, and its worst cases with their photos.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let day = |ms: i64| fieldcheck_domain::china_time::china_date(ms);
    s.open(
        &format!(
            "/dashboard/bulletin?period=custom&from={}&to={}",
            day(now - 29 * 86_400_000),
            day(now)
        ),
        "#bulletin",
    )
    .await;
    s.gallery("18-bulletin", "#bulletin-title", "", None).await;
    s.gallery(
        "19-bulletin-worst-cases",
        "#bulletin-title",
        "",
        Some("section.worst-case, #no-worst"),
    )
    .await;
    s.c.close().await.unwrap();
    println!("dashboard gallery: {}", gallery::dir("dashboard").display());
}
