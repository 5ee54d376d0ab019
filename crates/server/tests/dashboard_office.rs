//! The office's everyday pages over HTTP, on real SQLite files: the overview's figures from
//! findings with known histories (open, overdue, fixed on time, fixed late, sent back), the
//! overview page and its script files under the content policy, and refused forms that come
//! back with what was typed and a sentence next to the field, inside the page frame.

use crate::common::*;
use crate::dashboard_http::dash;
use axum::body::Body;
use axum::http::{Method, StatusCode};
use fieldcheck_domain::china_time::china_date;
use fieldcheck_domain::rectification::Status;
use fieldcheck_protocol::*;
use fieldcheck_server::dashboard::overview::Overview;
use fieldcheck_server::store::DynStore;
use uuid::Uuid;

const DAY: i64 = 86_400_000;

/// An HLC stamp at Unix milliseconds `ms` (whole seconds).
fn stamp_at(ms: i64, node: u64) -> Hlc {
    Hlc {
        time: ((ms / 1000) as u64) << 32,
        node: u128::from(node),
    }
}

/// The office's step on `finding` at `ms`.
async fn step_at(
    store: &DynStore,
    finding: Uuid,
    action: RectificationAction,
    ms: i64,
    unit_deadline: Option<(&str, &str)>,
) {
    let mut e = event(finding, action, unit_deadline.map(|(u, _)| u), "admin");
    e.deadline = unit_deadline.map(|(_, d)| d.to_string());
    e.hlc = stamp_at(ms, 9);
    assert!(store.append_office_event(&e).await.unwrap());
}

/// Findings with known histories in `store`, `now` being the real clock (the read model stamps
/// its rows with it).
async fn county(store: &DynStore, now: i64) {
    seed(store).await;
    let north = Site {
        street: "北关街道".into(),
        ..site(2)
    };
    store.put_site(&north).await.unwrap();
    let dev = Device::new(1);
    dev.register(store, "inspector1").await;
    let day = |offset: i64| china_date(now + offset * DAY);
    // open: 城关, due in 20 days; overdue: 北关, due 5 days ago; on time: fixed a day before its
    // deadline; late: fixed 4 days after it, then closed; sent back: fixed, then sent back.
    let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
    let records = ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            let at = if n == 1 { north.id } else { site(1).id };
            let Record::Finding(mut f) = finding(&dev, *id, at, None, None) else {
                unreachable!()
            };
            f.deadline = None;
            f.created_at = now - (10 + n as i64) * DAY;
            Record::Finding(f)
        })
        .collect();
    store
        .apply_push(dev.id, &dev.public_hex(), &entries(1, records))
        .await
        .unwrap();
    let d = RectificationAction::Dispatched;
    let fix = RectificationAction::Rectified;
    let urban = "urban_mgmt";
    step_at(store, ids[0], d, now - 9 * DAY, Some((urban, &day(20)))).await;
    step_at(store, ids[1], d, now - 9 * DAY, Some(("housing", &day(-5)))).await;
    step_at(store, ids[2], d, now - 9 * DAY, Some(("housing", &day(-1)))).await;
    step_at(store, ids[2], fix, now - 2 * DAY, None).await;
    step_at(store, ids[3], d, now - 9 * DAY, Some((urban, &day(-5)))).await;
    step_at(store, ids[3], fix, now - DAY, None).await;
    step_at(
        store,
        ids[3],
        RectificationAction::Closed,
        now - DAY / 2,
        None,
    )
    .await;
    step_at(store, ids[4], d, now - 9 * DAY, Some((urban, &day(10)))).await;
    step_at(store, ids[4], fix, now - 3 * DAY, None).await;
    step_at(
        store,
        ids[4],
        RectificationAction::SentBack,
        now - 2 * DAY,
        None,
    )
    .await;
}

#[tokio::test]
async fn the_overview_counts_open_overdue_and_fixed_on_time_on_sqlite() {
    let s = sqlite_store().await.unwrap();
    overview_figures(s.store.clone()).await;
}

#[tokio::test]
async fn the_overview_counts_open_overdue_and_fixed_on_time_on_postgres() {
    let Some(s) = pg_store().await else { return };
    overview_figures(s.store.clone()).await;
}

/// The overview's figures on one backend, against the histories [`county`] wrote.
async fn overview_figures(store: DynStore) {
    let now = fieldcheck_domain::clock::wall_clock_ms();
    county(&store, now).await;
    let o = Overview::load(store.as_ref(), None, now, true)
        .await
        .unwrap();
    assert_eq!(o.today, china_date(now));
    assert_eq!(o.open, 3, "dispatched twice and sent back once: {o:?}");
    assert_eq!(
        o.overdue, 1,
        "only the finding due 5 days ago and not fixed"
    );
    assert_eq!(
        (o.on_time, o.finished),
        (1, 2),
        "one fixed by its deadline, one late"
    );
    assert_eq!(o.on_time_rate(), Some(0.5));
    let count = |s: Status| o.by_status.iter().find(|(x, _)| *x == s).unwrap().1;
    assert_eq!(
        [
            Status::Dispatched,
            Status::Rectified,
            Status::Closed,
            Status::SentBack
        ]
        .map(count),
        [2, 1, 1, 1]
    );
    assert_eq!(o.weeks.len(), 12);
    assert_eq!(o.weeks.iter().map(|w| w.found).sum::<u64>(), 5);
    assert_eq!(
        o.weeks.iter().map(|w| w.fixed).sum::<u64>(),
        2,
        "the sent-back fix does not count"
    );
    let street = |name: &str| o.by_street.iter().find(|g| g.key == name).cloned().unwrap();
    assert_eq!(
        (street("城关街道").open, street("城关街道").overdue),
        (2, 0)
    );
    assert_eq!(
        (street("北关街道").open, street("北关街道").overdue),
        (1, 1)
    );
    let unit = |name: &str| o.by_unit.iter().find(|g| g.key == name).cloned().unwrap();
    assert_eq!((unit("urban_mgmt").open, unit("housing").overdue), (2, 1));

    // A unit sees its own problems only, and no county scores.
    let housing = Overview::load(store.as_ref(), Some("housing"), now, false)
        .await
        .unwrap();
    assert_eq!((housing.open, housing.overdue), (1, 1));
    assert_eq!((housing.on_time, housing.finished), (1, 1));
    assert!(housing.by_unit.iter().all(|g| g.key == "housing"));
    assert!(housing.at_risk.is_empty());
}

#[tokio::test]
async fn the_overview_is_home_and_its_charts_come_from_this_server() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let home = d.get("/dashboard", Some(&admin)).await;
    assert_eq!(home.location(), "/dashboard/overview");
    let page = d.get("/dashboard/overview", Some(&admin)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for part in [
        "<html lang=\"zh-CN\"",
        "id=\"nav-overview\"",
        "id=\"figure-open\">2<",
        "id=\"chart-trend\"",
        "id=\"chart-streets\"",
        "id=\"chart-units\"",
        "id=\"chart-risk\"",
        "<script type=\"application/json\" id=\"overview-data\">",
        "<script src=\"/dashboard/static/echarts-5.6.0.min.js\"></script>",
        "<script src=\"/dashboard/static/overview.js\"></script>",
    ] {
        assert!(page.body.contains(part), "{part}: {}", page.body);
    }
    assert!(!page.body.contains("onclick"), "no inline script");
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    for (path, cache) in [
        ("/dashboard/static/echarts-5.6.0.min.js", "max-age=31536000"),
        ("/dashboard/static/overview.js", "max-age=3600"),
    ] {
        let r = d.get(path, None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.headers["content-type"], "text/javascript; charset=utf-8",
            "{path}"
        );
        assert!(r.headers["cache-control"].to_str().unwrap().contains(cache));
    }

    let unit = d.login("unit_housing", "housing-pw").await;
    let page = d.get("/dashboard/overview", Some(&unit)).await;
    assert!(page.body.contains("id=\"figure-open\">1<"), "{}", page.body);
    assert!(
        !page.body.contains("id=\"chart-risk\""),
        "no scores for a unit"
    );
}

#[tokio::test]
async fn a_refused_dispatch_comes_back_with_what_was_typed_and_one_sentence() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let path = format!("/dashboard/findings/{}/dispatch", d.urban);
    let today = china_date(fieldcheck_domain::clock::wall_clock_ms());
    let form = d
        .get(&format!("/dashboard/findings/{}", d.urban), Some(&admin))
        .await;
    assert!(
        form.body.contains(&format!("min=\"{today}\"")),
        "the date picker starts at today"
    );
    for (deadline, sentence) in [
        ("2020-01-01", "整改期限不能早于今天"),
        ("2026-13-45", "整改期限格式应为 年-月-日"),
        ("", "请选择整改期限"),
    ] {
        let r = d
            .post(
                &path,
                Some(&admin),
                &[
                    ("csrf", &admin.csrf),
                    ("unit", "housing"),
                    ("deadline", deadline),
                    ("note", "请尽快处理井盖"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{deadline}");
        assert!(r.body.contains("id=\"nav-overview\""), "inside the frame");
        assert!(r.body.contains(sentence), "{deadline}: {}", r.body);
        assert!(
            r.body.contains("data-field=\"deadline\""),
            "next to the field"
        );
        assert!(
            r.body.contains("请尽快处理井盖</textarea>"),
            "the note is kept"
        );
        assert!(
            r.body.contains(&format!("value=\"{deadline}\"")),
            "the date is kept"
        );
        assert!(
            r.body.contains("<option value=\"housing\" selected>"),
            "the unit is kept"
        );
    }
    assert_eq!(
        d.store
            .finding(d.urban)
            .await
            .unwrap()
            .unwrap()
            .events
            .len(),
        0
    );
}

#[tokio::test]
async fn unreadable_requests_get_the_page_frame_not_a_bare_text() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    // A form body axum cannot read (not a form at all) and an address that names no finding.
    let r = d
        .send(
            Method::POST,
            &format!("/dashboard/findings/{}/dispatch", d.urban),
            &admin.cookie,
            "text/plain",
            Body::from("deadline=2030-01-01"),
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert!(r.body.contains("id=\"nav-overview\""), "{}", r.body);
    assert!(r.body.contains("提交的内容无法读取"), "{}", r.body);
    let r = d
        .get("/dashboard/findings/not-a-number", Some(&admin))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("id=\"error-zh\""), "{}", r.body);
    assert!(r.body.contains("id=\"nav-ledger\""), "{}", r.body);
    // A page's own refusal comes in the frame too, with the way back to where it came from.
    let r = d
        .send(
            Method::GET,
            &format!("/dashboard/findings/{}", Uuid::now_v7()),
            &admin.cookie,
            "",
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("id=\"nav-overview\""), "{}", r.body);
}

#[tokio::test]
async fn refused_management_forms_keep_what_was_typed_but_never_a_password() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let r = d
        .post(
            "/dashboard/manage/users",
            Some(&admin),
            &[
                ("csrf", &admin.csrf),
                ("name", "王小明"),
                ("role", "inspector"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("data-field=\"password\""), "{}", r.body);
    assert!(r.body.contains("value=\"王小明\""), "the name is kept");
    assert!(
        r.body.contains("<option value=\"inspector\" selected>"),
        "the role is kept"
    );
    assert!(!r.body.contains("value=\"short\""), "the password is not");
    let csv =
        "名称,类型,区县,街道\n南门,back_alley,示范县,城关街道\n西门,no_such_type,示范县,城关街道\n";
    let r = d
        .post(
            "/dashboard/manage/sites/import",
            Some(&admin),
            &[("csrf", &admin.csrf), ("csv", csv)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("第 3 行的“类型”"), "{}", r.body);
    assert!(r.body.contains("西门,no_such_type"), "the list is kept");
    assert!(r.body.contains("<details open"), "the import stays open");
}
