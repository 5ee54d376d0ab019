//! The office dashboard in a real browser (Debian's chromium through chromedriver) against a
//! real `fieldcheck-server` process, with a real tablet (fieldcheck-core) in the loop:
//!
//! a tablet records three findings with photos and syncs; the admin logs in, filters the
//! ledger and dispatches findings to two units; a unit member logs in, sees only its unit's
//! finding, is refused the other unit's, and uploads an after-photo; forged CSRF tokens and
//! cross-unit posts are refused; the tablet pulls the 处置, re-checks on site (核查) and
//! pushes; the admin closes the finding; the exported .xlsx is read back with calamine.
//! And the command post: the admin sets a unit's group robot and imports a task division
//! workbook; a tablet's finding is dispatched by the division on its own and the unit's robot
//! (a receiver on 127.0.0.1) is told exactly once.
//! The map, with a local tile server and without tiles, is in [`map`].
//! A screenshot of each page is saved under `<target>/test-artifacts/dashboard/`.
//!
//! Needs `chromium` and `chromium-driver` (scripts/install-deps.sh installs them): without
//! them the test fails, it never skips.

use calamine::{Reader, Xlsx, open_workbook_from_rs};
use fantoccini::{Client, Locator};
use fieldcheck_core::photo::CaptureRequest;
use fieldcheck_core::store::catalog::SiteQuery;
use fieldcheck_core::store::findings::{NewFinding, NewRectification};
use fieldcheck_core::store::inspections::NewInspection;
use fieldcheck_core::sync::api::Timeouts;
use fieldcheck_domain::rectification::Status;
use fieldcheck_protocol::{
    Category, FindingRecord, PhotoKind, RectificationAction, Severity, Site,
};
use fieldcheck_tests::chromium::Driver;
use fieldcheck_tests::server::{INSPECTOR_PASSWORD, ServerProcess, admin};
use fieldcheck_tests::tablet::{Tablet, answer};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod bulletin;
mod map;

const ADMIN: &str = "office1";
const ADMIN_PASSWORD: &str = "banGong-2026!";
const UNIT_URBAN: &str = "unit_urban1";
const UNIT_HOUSING: &str = "unit_housing1";
const UNIT_PASSWORD: &str = "zhengGai-2026!";
/// `<target>/test-artifacts/dashboard` (each test names its own screenshots; a new run
/// overwrites them).
fn artifacts() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> → target/test-artifacts/dashboard
    let dir = exe
        .ancestors()
        .nth(3)
        .unwrap()
        .join("test-artifacts/dashboard");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Session<'a> {
    c: Client,
    base: String,
    shots: &'a Path,
}

impl Session<'_> {
    async fn shot(&self, name: &str) {
        let png = self.c.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    async fn goto(&self, path: &str) {
        self.c.goto(&format!("{}{path}", self.base)).await.unwrap();
    }

    /// Logs in; the dashboard opens on its overview (总览).
    async fn login(&self, user: &str, password: &str) {
        self.goto("/dashboard/login").await;
        self.type_into(Locator::Id("username"), user).await;
        self.type_into(Locator::Id("password"), password).await;
        self.click(Locator::Id("login-submit")).await;
        self.c
            .wait()
            .for_element(Locator::Id("status-counts"))
            .await
            .unwrap();
        self.wait_url("/dashboard/overview").await;
    }

    /// Opens the ledger from the navigation.
    async fn ledger(&self) {
        self.click(Locator::Id("nav-ledger")).await;
        self.c
            .wait()
            .for_element(Locator::Id("ledger"))
            .await
            .unwrap();
    }

    async fn logout(&self) {
        self.click(Locator::Id("logout")).await;
        self.c
            .wait()
            .for_element(Locator::Id("login-form"))
            .await
            .unwrap();
    }

    /// Clicks the element.
    async fn click(&self, at: Locator<'_>) {
        self.c.find(at).await.unwrap().click().await.unwrap();
    }

    /// Types into the element (a file input takes a path).
    async fn type_into(&self, at: Locator<'_>, text: &str) {
        self.c
            .find(at)
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }

    /// Picks the option of a select by its value.
    async fn choose(&self, at: Locator<'_>, value: &str) {
        let select = self.c.find(at).await.unwrap();
        select.select_by_value(value).await.unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn attr(&self, css: &str, name: &str) -> String {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap()
            .attr(name)
            .await
            .unwrap()
            .unwrap_or_default()
    }

    async fn ledger_ids(&self) -> Vec<String> {
        let mut out = Vec::new();
        for row in self
            .c
            .find_all(Locator::Css("tr.ledger-row"))
            .await
            .unwrap()
        {
            out.push(row.attr("data-finding").await.unwrap().unwrap());
        }
        out
    }

    async fn status(&self) -> String {
        self.attr("span[data-status]", "data-status").await
    }

    /// Waits (up to 20 s) until the element's attribute reads `want`: after a click the old
    /// page may still be there for a moment.
    async fn wait_attr(&self, css: &str, name: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(el) = self.c.find(Locator::Css(css)).await
                && let Ok(Some(v)) = el.attr(name).await
                && v == want
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{css}[{name}] never became {want:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to 20 s) until the element's text reads `want`.
    async fn wait_text(&self, css: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(el) = self.c.find(Locator::Css(css)).await
                && let Ok(t) = el.text().await
                && t == want
            {
                return;
            }
            assert!(Instant::now() < deadline, "{css} never read {want:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to 20 s) until the address contains `part`.
    async fn wait_url(&self, part: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.c.current_url().await.unwrap().as_str().contains(part) {
            assert!(
                Instant::now() < deadline,
                "the address never contained {part:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn cookie(&self) -> String {
        let c = self.c.get_named_cookie("fc_session").await.unwrap();
        format!("fc_session={}", c.value())
    }

    async fn csrf(&self) -> String {
        self.attr("input[name=csrf]", "value").await
    }

    /// Dispatches the finding whose page is open.
    async fn dispatch(&self, unit: &str, deadline: &str) {
        self.c
            .find(Locator::Id("dispatch-unit"))
            .await
            .unwrap()
            .select_by_value(unit)
            .await
            .unwrap();
        // A date input's typing format depends on the locale; set its value directly.
        self.c
            .execute(
                "document.getElementById('dispatch-deadline').value = arguments[0];",
                vec![serde_json::json!(deadline)],
            )
            .await
            .unwrap();
        self.c
            .find(Locator::Id("dispatch-submit"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        self.wait_attr("span[data-status]", "data-status", "dispatched")
            .await;
    }
}

/// Records a finding with a before-photo at `site` on the tablet; `due` names its unit and
/// deadline as found on site.
fn record_finding(
    t: &Tablet,
    site: &Site,
    description: &str,
    seed: u64,
    due: Option<(&str, &str)>,
) -> FindingRecord {
    let mut store = t.store.lock().unwrap();
    let template = store.latest_template_for(&site.site_type).unwrap().unwrap();
    let inspection = store
        .start_inspection(NewInspection {
            site_id: site.id,
            template_id: template.id.clone(),
            template_version: template.version,
            inspector: t.user.clone(),
            position: None,
        })
        .unwrap();
    for (n, item) in template.items.iter().enumerate() {
        store
            .record_result(inspection.id, &item.code, answer(item.kind, n == 0), "")
            .unwrap();
    }
    let finding = store
        .add_finding(NewFinding {
            site_id: site.id,
            inspection_id: Some(inspection.id),
            item_code: Some(template.items[0].code.clone()),
            category: Category::Component,
            subcategory: "manhole_cover".into(),
            description: description.into(),
            severity: Severity::Major,
            position: None,
            unit: due.map(|(unit, _)| unit.to_string()),
            deadline: due.map(|(_, deadline)| deadline.to_string()),
            same_day: false,
            reporter: t.user.clone(),
        })
        .unwrap();
    let jpeg = fieldcheck_tests::photos::noisy_jpeg(1200, 900, seed);
    t.photos
        .capture(
            &mut store,
            &CaptureRequest {
                bytes: &jpeg,
                kind: PhotoKind::Before,
                finding_id: Some(finding.id),
                inspection_id: Some(inspection.id),
                position: None,
                site_name: &site.name,
                inspector: &t.user,
            },
        )
        .unwrap();
    store.finish_inspection(inspection.id).unwrap();
    finding
}

/// The county server in `data` with the inspector xiaowang, the admin and the two units'
/// accounts, and xiaowang's tablet in `tablet_dir` (its randomness from `seed`), signed in and
/// synced: the server, the tablet and the sites it holds.
async fn office_and_tablet(
    data: &Path,
    tablet_dir: &Path,
    seed: u64,
) -> (ServerProcess, Tablet, Vec<Site>) {
    ServerProcess::prepare(data, &["xiaowang"]).unwrap();
    let unit = |code, name| {
        vec![
            "user",
            "add",
            "--role",
            "unit-member",
            "--unit",
            code,
            "--password",
            UNIT_PASSWORD,
            name,
        ]
    };
    let admin_account = vec![
        "user",
        "add",
        "--role",
        "admin",
        "--password",
        ADMIN_PASSWORD,
        ADMIN,
    ];
    for args in [
        admin_account,
        unit("urban_mgmt", UNIT_URBAN),
        unit("housing", UNIT_HOUSING),
    ] {
        admin(data, &args).unwrap();
    }
    let server = ServerProcess::start(data).unwrap();
    let t = Tablet::open(
        tablet_dir,
        "xiaowang",
        Timeouts::default(),
        &mut StdRng::seed_from_u64(seed),
    );
    t.engine
        .login(&server.url, "xiaowang", INSPECTOR_PASSWORD)
        .await
        .unwrap();
    t.engine.sync_now().await.unwrap();
    let sites = t
        .store
        .lock()
        .unwrap()
        .list_sites(&SiteQuery::default())
        .unwrap();
    (server, t, sites)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_loop_in_a_real_browser() {
    let shots = artifacts();
    let server_dir = tempfile::tempdir().unwrap();
    let tablet_dir = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let data = server_dir.path();
    let (server, t, sites) = office_and_tablet(data, tablet_dir.path(), 3).await;
    // The tablet: three findings at three sites, synced with their photos.
    let a = record_finding(&t, &sites[0], "井盖破损下沉", 1, None);
    let b = record_finding(&t, &sites[1], "楼道堆放杂物", 2, None);
    let c_ = record_finding(&t, &sites[2], "路灯不亮", 3, None);
    t.engine.sync_now().await.unwrap();
    let (a_id, b_id) = (a.id.to_string(), b.id.to_string());

    let driver = Driver::start();
    let s = Session {
        c: driver.browser(profile.path()).await,
        base: server.url.clone(),
        shots: &shots,
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Not signed in: every page leads to the login form.
    s.goto("/dashboard/ledger").await;
    s.c.wait()
        .for_element(Locator::Id("login-form"))
        .await
        .unwrap();
    s.shot("01-login").await;

    // The admin logs in and filters the ledger.
    s.login(ADMIN, ADMIN_PASSWORD).await;
    s.ledger().await;
    assert_eq!(s.attr("#ledger-total", "data-total").await, "3");
    s.shot("02-ledger").await;
    s.choose(Locator::Css("select[name=site]"), &sites[0].id.to_string())
        .await;
    s.choose(Locator::Id("filter-status"), "open").await;
    s.click(Locator::Id("apply-filters")).await;
    s.wait_url("status=open").await;
    s.c.wait().for_element(Locator::Id("ledger")).await.unwrap();
    assert_eq!(
        s.ledger_ids().await,
        vec![a_id.clone()],
        "the filter keeps only finding A"
    );
    assert!(
        s.c.current_url()
            .await
            .unwrap()
            .as_str()
            .contains("status=open")
    );
    s.shot("03-ledger-filtered").await;

    // English is one click away, and back.
    s.click(Locator::Id("lang-switch")).await;
    s.wait_text("main h1", "Problem ledger").await;
    s.shot("04-ledger-english").await;
    s.click(Locator::Id("lang-switch")).await;
    s.wait_text("main h1", "问题台账").await;

    // Open A from the filtered ledger and dispatch it to 城管; B goes to 住建.
    s.click(Locator::Css("a.finding-link")).await;
    s.c.wait()
        .for_element(Locator::Id("dispatch-form"))
        .await
        .unwrap();
    assert_eq!(s.text("#finding-description").await, "井盖破损下沉");
    assert!(
        s.c.find(Locator::Css("figure.before .sig-ok"))
            .await
            .is_ok(),
        "the tablet's signature verified"
    );
    assert!(
        s.c.find(Locator::Css("figure.before .hash-ok"))
            .await
            .is_ok(),
        "the photo's hash verified"
    );
    s.shot("05-finding-open").await;
    let deadline = "2099-12-31";
    s.dispatch("urban_mgmt", deadline).await;
    assert_eq!(s.status().await, "dispatched");
    s.shot("06-finding-dispatched").await;
    s.goto(&format!("/dashboard/findings/{b_id}")).await;
    s.c.wait()
        .for_element(Locator::Id("dispatch-form"))
        .await
        .unwrap();
    s.dispatch("housing", deadline).await;
    assert_eq!(s.status().await, "dispatched");

    // A forged CSRF token is refused and changes nothing.
    let admin_cookie = s.cookie().await;
    let forged = http
        .post(format!("{}/dashboard/findings/{a_id}/close", server.url))
        .header("cookie", &admin_cookie)
        .form(&[("csrf", "0".repeat(64)), ("note", "伪造".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let missing = http
        .post(format!("{}/dashboard/findings/{b_id}/dispatch", server.url))
        .header("cookie", &admin_cookie)
        .form(&[("unit", "urban_mgmt"), ("deadline", deadline)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        missing.status(),
        403,
        "a form without a CSRF token is refused"
    );
    s.goto(&format!("/dashboard/findings/{b_id}")).await;
    assert_eq!(s.text("#finding-unit").await, "住建局", "B still with 住建");
    s.logout().await;

    // The 城管 unit member sees only its finding, and not 住建's.
    s.login(UNIT_URBAN, UNIT_PASSWORD).await;
    s.ledger().await;
    assert_eq!(s.ledger_ids().await, vec![a_id.clone()]);
    assert!(
        s.c.find(Locator::Id("nav-scores")).await.is_err(),
        "no scores for units"
    );
    s.shot("07-unit-ledger").await;
    s.goto(&format!("/dashboard/findings/{b_id}")).await;
    s.c.wait()
        .for_element(Locator::Id("error-zh"))
        .await
        .unwrap();
    assert!(s.text("#error-zh").await.contains("未派遣给本单位"));
    s.shot("08-unit-other-finding-refused").await;
    s.goto("/dashboard/scores").await;
    assert!(
        s.c.find(Locator::Id("error-zh")).await.is_ok(),
        "scores are for admins"
    );

    // Cross-unit posts are refused even with the session's real CSRF token.
    s.goto(&format!("/dashboard/findings/{a_id}")).await;
    s.c.wait()
        .for_element(Locator::Id("rectify-form"))
        .await
        .unwrap();
    let (unit_cookie, unit_csrf) = (s.cookie().await, s.csrf().await);
    let photo = fieldcheck_tests::photos::noisy_jpeg(800, 600, 9);
    let cross = http
        .post(format!("{}/dashboard/findings/{b_id}/rectify", server.url))
        .header("cookie", &unit_cookie)
        .multipart(
            reqwest::multipart::Form::new()
                .text("csrf", unit_csrf.clone())
                .text("note", "越权")
                .part(
                    "photo",
                    reqwest::multipart::Part::bytes(photo.clone()).file_name("a.jpg"),
                ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        cross.status(),
        403,
        "a unit cannot answer another unit's finding"
    );

    // 处置: the unit uploads an after-photo with a note in the browser.
    let after = tablet_dir.path().join("after.jpg");
    std::fs::write(&after, &photo).unwrap();
    s.type_into(Locator::Id("rectify-photo"), after.to_str().unwrap())
        .await;
    s.type_into(Locator::Id("rectify-note"), "已更换井盖").await;
    s.click(Locator::Id("rectify-submit")).await;
    s.wait_attr("span[data-status]", "data-status", "rectified")
        .await;
    assert!(
        s.c.find(Locator::Css("figure.after")).await.is_ok(),
        "the after-photo is shown"
    );
    s.shot("09-unit-rectified").await;
    s.logout().await;

    // The tablet pulls the 处置, the inspector re-checks on site with a photo (核查) and syncs.
    t.engine.sync_now().await.unwrap();
    assert_eq!(
        t.store.lock().unwrap().finding_status(a.id).unwrap(),
        Status::Rectified
    );
    {
        let mut store = t.store.lock().unwrap();
        let jpeg = fieldcheck_tests::photos::noisy_jpeg(1200, 900, 11);
        let p = t
            .photos
            .capture(
                &mut store,
                &CaptureRequest {
                    bytes: &jpeg,
                    kind: PhotoKind::After,
                    finding_id: Some(a.id),
                    inspection_id: None,
                    position: None,
                    site_name: &sites[0].name,
                    inspector: "xiaowang",
                },
            )
            .unwrap();
        let status = store
            .append_rectification(NewRectification {
                finding_id: a.id,
                action: RectificationAction::Verified,
                actor: "xiaowang".into(),
                note: "现场复核已整改".into(),
                unit: None,
                deadline: None,
                photo_sha256: Some(p.sha256.clone()),
            })
            .unwrap();
        assert_eq!(status, Status::Verified);
    }
    t.engine.sync_now().await.unwrap();

    // The admin sees the 核查 from the tablet and closes the finding.
    s.login(ADMIN, ADMIN_PASSWORD).await;
    s.goto(&format!("/dashboard/findings/{a_id}")).await;
    s.c.wait()
        .for_element(Locator::Id("close-form"))
        .await
        .unwrap();
    assert_eq!(s.status().await, "verified");
    assert_eq!(
        s.c.find_all(Locator::Css("tr.history-row"))
            .await
            .unwrap()
            .len(),
        3
    );
    s.click(Locator::Id("close-submit")).await;
    s.wait_attr("span[data-status]", "data-status", "closed")
        .await;
    s.shot("10-finding-closed").await;

    // Scores, management and the printable report render.
    for (path, id, name) in [
        ("/dashboard/scores", "by-site-type", "11-scores"),
        ("/dashboard/manage", "devices", "12-manage"),
        ("/dashboard/report", "print-now", "13-report"),
    ] {
        s.goto(path).await;
        s.c.wait().for_element(Locator::Id(id)).await.unwrap();
        s.shot(name).await;
    }
    assert_eq!(
        s.c.find_all(Locator::Css("section.report-block"))
            .await
            .unwrap()
            .len(),
        3
    );

    // Export the whole ledger: a progress page, then the file, read back with calamine.
    s.goto("/dashboard/ledger").await;
    s.click(Locator::Id("export-xlsx")).await;
    let link =
        s.c.wait()
            .at_most(Duration::from_secs(60))
            .for_element(Locator::Id("export-download"))
            .await
            .unwrap();
    s.shot("14-export-ready").await;
    let href = link.attr("href").await.unwrap().unwrap();
    let file = http
        .get(format!("{}{href}", server.url))
        .header("cookie", s.cookie().await)
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    let bytes = file.bytes().await.unwrap().to_vec();
    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes.clone())).unwrap();
    let sheet = book.worksheet_range("问题台账").unwrap();
    let cells: Vec<&[calamine::Data]> = sheet.rows().collect();
    let rows: Vec<Vec<String>> = cells
        .iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows.len(), 4, "a header and three findings");
    assert_eq!(rows[0][0], "问题编号");
    assert_eq!(rows[0][13], "状态");
    // Rows are found by the short numbers the finding pages show.
    let number_of = |id: String| {
        let s = &s;
        async move {
            s.goto(&format!("/dashboard/findings/{id}")).await;
            s.text("#finding-number").await
        }
    };
    let (a_number, c_number) = (
        number_of(a_id.clone()).await,
        number_of(c_.id.to_string()).await,
    );
    let at = |number: &str| {
        rows.iter()
            .position(|r| r[0] == number)
            .unwrap_or_else(|| panic!("{number} exported: {rows:?}"))
    };
    let row_a = &rows[at(&a_number)];
    assert_eq!(row_a[9], "井盖破损下沉");
    assert_eq!(row_a[11], "城管局（综合行政执法局）");
    assert_eq!(
        calamine::DataType::as_date(&cells[at(&a_number)][12]).map(|d| d.to_string()),
        Some(deadline.to_string()),
        "the deadline is a date"
    );
    assert_eq!(row_a[13], "已结案");
    assert_eq!(row_a[14], "否", "是否超期");
    assert_eq!(rows[at(&c_number)][13], "待派遣");
    // The before-photo is in the sheet, as a picture.
    let pictures = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .unwrap()
        .file_names()
        .filter(|n| n.as_ref().is_ok_and(|n| n.starts_with("xl/media/")))
        .count();
    assert!(pictures >= 1, "the before-photos are in the workbook");

    s.c.close().await.unwrap();
    println!("dashboard screenshots: {}", shots.display());
}

/// The office's home and a clerk's ledger in Chromium: the admin lands on 总览 and sees the
/// figures and a drawn chart (an SVG) in every chart container; the ledger marks the overdue
/// finding 逾期 N 天 and gives each status its colour; a dispatch with a past deadline comes
/// back with the sentence beside the field and what was typed; a unit lands on its own
/// overview. Screenshots at 1280×800 and 1024×768.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_and_a_clerks_ledger_in_a_real_browser() {
    let shots = artifacts();
    let server_dir = tempfile::tempdir().unwrap();
    let tablet_dir = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let data = server_dir.path();
    let (server, t, sites) = office_and_tablet(data, tablet_dir.path(), 5).await;
    let now = fieldcheck_domain::clock::wall_clock_ms();
    let day = |offset: i64| fieldcheck_domain::china_time::china_date(now + offset * 86_400_000);
    let late = record_finding(
        &t,
        &sites[0],
        "楼道堆放杂物，占用消防通道",
        1,
        Some(("housing", &day(-3))),
    );
    let due = record_finding(
        &t,
        &sites[1],
        "井盖破损下沉",
        2,
        Some(("urban_mgmt", &day(7))),
    );
    let fresh = record_finding(&t, &sites[2], "路灯不亮", 3, None);
    t.engine.sync_now().await.unwrap();

    let driver = Driver::start();
    let s = Session {
        c: driver.browser(profile.path()).await,
        base: server.url.clone(),
        shots: &shots,
    };
    s.c.set_window_size(1280, 800).await.unwrap();
    s.login(ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(s.text("#figure-open").await, "3");
    assert_eq!(s.text("#figure-overdue").await, "1");
    for chart in ["chart-trend", "chart-streets", "chart-units", "chart-risk"] {
        s.c.wait()
            .for_element(Locator::Css(&format!("#{chart} svg")))
            .await
            .unwrap_or_else(|e| panic!("{chart} drew no chart: {e}"));
    }
    s.shot("20-overview-1280x800").await;
    s.c.execute(
        "document.getElementById('chart-units').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    s.shot("20b-overview-units-and-risk-1280x800").await;
    s.c.set_window_size(1024, 768).await.unwrap();
    s.goto("/dashboard/overview").await;
    s.c.wait()
        .for_element(Locator::Css("#chart-units svg"))
        .await
        .unwrap();
    s.shot("21-overview-1024x768").await;

    // The ledger at 1024 px: the overdue finding is marked in red, statuses have colours.
    s.ledger().await;
    let row = |id: uuid::Uuid| format!("tr.ledger-row[data-finding='{id}']");
    assert_eq!(
        s.text(&format!("{} .badge.overdue", row(late.id))).await,
        "逾期 3 天"
    );
    assert!(
        s.attr(&row(late.id), "class").await.contains("overdue"),
        "the row itself stands out"
    );
    assert!(
        s.c.find(Locator::Css(&format!("{} .badge.overdue", row(due.id))))
            .await
            .is_err(),
        "not overdue before its deadline"
    );
    assert!(
        s.attr(&format!("{} .badge.status", row(fresh.id)), "class")
            .await
            .contains("status-open")
    );
    s.shot("22-ledger-1024x768").await;

    // A dispatch with a deadline already past comes back with the sentence and the input.
    s.goto(&format!("/dashboard/findings/{}", fresh.id)).await;
    s.c.wait()
        .for_element(Locator::Id("dispatch-form"))
        .await
        .unwrap();
    assert_eq!(s.attr("#dispatch-deadline", "min").await, day(0));
    s.choose(Locator::Id("dispatch-unit"), "housing").await;
    s.c.execute(
        "document.getElementById('dispatch-deadline').value = arguments[0];",
        vec![serde_json::json!(day(-1))],
    )
    .await
    .unwrap();
    s.type_into(
        Locator::Css("#dispatch-form textarea[name=note]"),
        "请三天内清理",
    )
    .await;
    let valid =
        s.c.execute(
            "return document.getElementById('dispatch-form').checkValidity();",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        valid,
        serde_json::json!(false),
        "the picker refuses a past day"
    );
    // A browser that lets it through (an old one) meets the server's rule.
    s.c.execute(
        "document.getElementById('dispatch-form').noValidate = true;",
        vec![],
    )
    .await
    .unwrap();
    s.click(Locator::Id("dispatch-submit")).await;
    s.c.wait()
        .for_element(Locator::Css(".field-error[data-field=deadline]"))
        .await
        .unwrap();
    assert!(
        s.text(".field-error[data-field=deadline]")
            .await
            .contains("整改期限不能早于今天")
    );
    assert!(
        s.text("#form-refused")
            .await
            .contains("整改期限不能早于今天"),
        "said at the top of the page too"
    );
    assert_eq!(s.attr("#dispatch-deadline", "value").await, day(-1));
    assert_eq!(
        s.c.find(Locator::Css("#dispatch-form textarea[name=note]"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default(),
        "请三天内清理"
    );
    assert!(
        s.c.find(Locator::Id("nav-overview")).await.is_ok(),
        "in the frame"
    );
    assert_eq!(s.status().await, "open", "nothing changed");
    s.shot("23-dispatch-refused").await;
    s.logout().await;

    // A unit lands on its own overview, without the county's scores.
    s.login(UNIT_HOUSING, UNIT_PASSWORD).await;
    assert_eq!(s.text("#figure-open").await, "1");
    assert_eq!(s.text("#figure-overdue").await, "1");
    assert!(s.c.find(Locator::Id("chart-risk")).await.is_err());
    s.c.wait()
        .for_element(Locator::Css("#chart-streets svg"))
        .await
        .unwrap();
    s.shot("24-unit-overview").await;
    s.c.close().await.unwrap();
}

/// A unit's group robot on 127.0.0.1: every message it took (answered errcode 0).
async fn robot_receiver() -> (std::sync::Arc<std::sync::Mutex<Vec<String>>>, String) {
    use axum::routing::post;
    let taken = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = taken.clone();
    let app = axum::Router::new().route(
        "/robot",
        post(move |body: String| async move {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            let text = v["text"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            keep.lock().unwrap().push(text);
            r#"{"errcode":0,"errmsg":"ok"}"#
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/robot", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (taken, url)
}

/// 任务分工 and 通知 in a real browser: the admin sets the urban unit's robot and imports a
/// task division workbook; a tablet's finding at a site of the division's street is dispatched
/// by it on its own, the unit's robot is told exactly once, and the finding's page shows the
/// dispatch and its accountability trail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_division_dispatches_a_tablets_finding_and_its_unit_is_told_once() {
    let shots = artifacts();
    let server_dir = tempfile::tempdir().unwrap();
    let tablet_dir = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let (server, t, sites) = office_and_tablet(server_dir.path(), tablet_dir.path(), 5).await;
    let (taken, robot_url) = robot_receiver().await;
    let driver = Driver::start();
    let s = Session {
        c: driver.browser(profile.path()).await,
        base: server.url.clone(),
        shots: &shots,
    };
    s.login(ADMIN, ADMIN_PASSWORD).await;

    // The urban unit's robot.
    s.click(Locator::Id("nav-notifications")).await;
    s.c.wait()
        .for_element(Locator::Id("webhook-form"))
        .await
        .unwrap();
    s.choose(Locator::Id("webhook-unit"), "urban_mgmt").await;
    s.choose(Locator::Id("webhook-kind"), "wecom").await;
    s.type_into(Locator::Id("webhook-url"), &robot_url).await;
    s.click(Locator::Id("webhook-save")).await;
    s.c.wait()
        .for_element(Locator::Css("tr.webhook-row"))
        .await
        .unwrap();

    // The division: the first site's street belongs to the urban unit.
    let street = sites[0].street.clone();
    let workbook = server_dir.path().join("task-division-2026.xlsx");
    {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in ["街道", "责任单位", "责任人", "联系电话", "整改时限（天）"]
            .iter()
            .enumerate()
        {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        for (c, v) in [street.as_str(), "urban_mgmt", "王主任", "13900000000", "2"]
            .iter()
            .enumerate()
        {
            sheet.write_string(1, c as u16, *v).unwrap();
        }
        book.save(&workbook).unwrap();
    }
    s.click(Locator::Id("nav-division")).await;
    s.c.wait()
        .for_element(Locator::Id("division-form"))
        .await
        .unwrap();
    s.type_into(Locator::Id("division-file"), workbook.to_str().unwrap())
        .await;
    s.click(Locator::Id("division-import")).await;
    s.c.wait()
        .for_element(Locator::Id("division-rules"))
        .await
        .unwrap();
    assert!(
        s.text("#division-status").await.contains("1"),
        "version 1 in force"
    );
    s.shot("20-division").await;

    // The tablet records a finding there and syncs: nobody in the office touches it.
    let f = record_finding(&t, &sites[0], "路灯不亮", 7, None);
    t.engine.sync_now().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let dispatches = || {
        taken
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.contains("已派遣给"))
            .cloned()
            .collect::<Vec<_>>()
    };
    while dispatches().is_empty() {
        assert!(Instant::now() < deadline, "the unit's robot was never told");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Another regular pass (15 s) and a second sync: still told once.
    t.engine.sync_now().await.unwrap();
    tokio::time::sleep(Duration::from_secs(17)).await;
    // (After 08:00 China time the unit's morning digest comes too: one message of its own.)
    let told = dispatches();
    assert_eq!(
        told.len(),
        1,
        "told exactly once: {:?}",
        taken.lock().unwrap()
    );
    assert!(
        told[0].contains("路灯不亮") && told[0].contains("王主任"),
        "{}",
        told[0]
    );

    s.goto(&format!("/dashboard/findings/{}", f.id)).await;
    s.wait_attr("span[data-status]", "data-status", "dispatched")
        .await;
    assert!(
        s.text("#finding-unit").await.contains("城"),
        "dispatched to the urban unit"
    );
    assert!(s.text("#history").await.contains("任务分工"));
    assert!(s.text("#trail").await.contains("至今"));
    s.shot("21-finding-dispatched-by-division").await;
    s.click(Locator::Id("nav-notifications")).await;
    s.c.wait()
        .for_element(Locator::Css("tr.message-row"))
        .await
        .unwrap();
    assert!(s.text("#messages").await.contains("已发送"));
    s.shot("22-notifications").await;
}
