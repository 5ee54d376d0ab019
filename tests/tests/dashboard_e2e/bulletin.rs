//! 通报 in Chromium against a real server and a real tablet: the tablet records four findings
//! this week (one due in three days at the urban unit, one with no unit, one due today at the
//! urban unit that the inspector fixes on the spot with an after-photo, and the same problem
//! found again at the same site and item after the fix) and syncs; the admin opens the
//! bulletin from the menu, picks this week, sees the figures, the ranking and the red list,
//! and downloads the Word document, which a docx reader opens with the same numbers.
//! Screenshots at 1024×768 (a tablet) and 1400×900.

use super::{ADMIN, ADMIN_PASSWORD, Session, artifacts, office_and_tablet, record_finding};
use fantoccini::Locator;
use fieldcheck_core::photo::CaptureRequest;
use fieldcheck_core::store::findings::NewRectification;
use fieldcheck_domain::china_time::{china_date, china_midnight};
use fieldcheck_domain::rectification::Status;
use fieldcheck_protocol::{PhotoKind, RectificationAction};
use fieldcheck_tests::chromium::Driver;
use fieldcheck_tests::docx::docx_text;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_weeks_bulletin_opens_prints_and_downloads_as_a_word_document_with_its_numbers() {
    let shots = artifacts();
    let server_dir = tempfile::tempdir().unwrap();
    let tablet_dir = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let (server, t, sites) = office_and_tablet(server_dir.path(), tablet_dir.path(), 21).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let today = china_date(now);
    let in_three_days = china_date(china_midnight(&today).unwrap() + 3 * 86_400_000);

    record_finding(
        &t,
        &sites[0],
        "井盖破损",
        31,
        Some(("urban_mgmt", &in_three_days)),
    );
    record_finding(&t, &sites[1], "垃圾堆放", 32, None);
    let fixed = record_finding(&t, &sites[2], "路灯不亮", 33, Some(("urban_mgmt", &today)));
    {
        let mut store = t.store.lock().unwrap();
        let jpeg = fieldcheck_tests::photos::noisy_jpeg(1200, 900, 34);
        let p = t
            .photos
            .capture(
                &mut store,
                &CaptureRequest {
                    bytes: &jpeg,
                    kind: PhotoKind::After,
                    finding_id: Some(fixed.id),
                    inspection_id: None,
                    position: None,
                    site_name: &sites[2].name,
                    inspector: "xiaowang",
                },
            )
            .unwrap();
        let status = store
            .append_rectification(NewRectification {
                finding_id: fixed.id,
                action: RectificationAction::Rectified,
                actor: "xiaowang".into(),
                note: "当场整改".into(),
                unit: None,
                deadline: None,
                photo_sha256: Some(p.sha256.clone()),
            })
            .unwrap();
        assert_eq!(status, Status::Rectified);
    }
    // The same item at the same site, found again after the fix.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    record_finding(&t, &sites[2], "路灯又不亮", 35, None);
    t.engine.sync_now().await.unwrap();

    let driver = Driver::start();
    let s = Session {
        c: driver.browser(profile.path()).await,
        base: server.url.clone(),
        shots: &shots,
    };
    s.c.set_window_size(1024, 768).await.unwrap();
    s.login(ADMIN, ADMIN_PASSWORD).await;
    s.click(Locator::Id("nav-bulletin")).await;
    s.c.wait()
        .for_element(Locator::Id("bulletin-form"))
        .await
        .unwrap();
    s.choose(Locator::Id("bulletin-period"), "this_week").await;
    s.click(Locator::Id("bulletin-show")).await;
    s.wait_url("period=this_week").await;
    s.wait_text("#total-found", "4").await;
    for (id, want) in [
        ("#total-on-time", "1"),
        ("#total-late", "0"),
        ("#total-overdue", "0"),
        ("#total-pending", "3"),
        ("#total-reopened", "1"),
        ("#total-rate", "100.0%"),
    ] {
        assert_eq!(s.text(id).await, want, "{id}");
    }
    assert_eq!(
        s.text("tr.unit-row[data-key=urban_mgmt] td.rank").await,
        "1"
    );
    assert_eq!(
        s.text("tr.unit-row[data-key=urban_mgmt] td.found").await,
        "2"
    );
    assert_eq!(
        s.attr("#red-list li", "data-unit").await,
        "urban_mgmt",
        "all of its decided findings on time"
    );
    assert!(s.text("#bulletin-title").await.contains("工作通报（"));
    let fits =
        s.c.execute(
            "return document.documentElement.scrollWidth <= window.innerWidth",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        fits,
        serde_json::json!(true),
        "no sideways scrolling at 1024 px"
    );
    s.shot("30-bulletin-1024").await;
    s.c.set_window_size(1400, 900).await.unwrap();
    s.shot("31-bulletin-1400").await;

    // The Word document of the same week, as the link hands it out.
    let href = s.attr("#bulletin-docx", "href").await;
    assert!(href.contains("period=custom"), "{href}");
    let file = reqwest::Client::new()
        .get(format!("{}{href}", server.url))
        .header("cookie", s.cookie().await)
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert!(
        file.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".docx")
    );
    let text = docx_text(&file.bytes().await.unwrap());
    let has = |want: &str| text.iter().any(|t| t == want);
    assert!(
        text[0].contains("创建全国文明城市工作通报（"),
        "{}",
        text[0]
    );
    assert!(
        has(
            "本期共发现问题 4 个，按期整改 1 个，逾期整改 0 个，逾期未改 0 个，整改中 3 个，其中复发问题 1 个；按期整改率 100.0%。"
        ),
        "{text:#?}"
    );
    let urban = text
        .iter()
        .find(|r| r.starts_with("1|") && r.ends_with("|2|1|0|0|1|0|100.0%"))
        .unwrap_or_else(|| panic!("the urban unit ranked first: {text:#?}"));
    assert!(urban.contains("城管"), "{urban}");
    assert!(has("—|未指定单位|2|0|0|0|2|1|—"), "{text:#?}");
    assert!(has("本期没有逾期问题。"));
    s.c.close().await.unwrap();
}
