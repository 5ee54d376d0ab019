//! 倒查责任 across findings through the dashboard (the real router, a real SQLite file):
//! findings with known histories, pushed and stepped here with stamped times, give the page's
//! per-holder and per-person figures and its list of missed deadlines exactly as computed by
//! hand below; a finding found before the period is left out; the workbook reads back with the
//! same rows; a day that is not a date comes back as the page with 422.

use crate::common::*;
use crate::dashboard_http::{Browser, Dash, dash};
use axum::http::StatusCode;
use calamine::Reader;
use fieldcheck_domain::china_time::{china_date, china_midnight};
use fieldcheck_protocol::*;
use uuid::Uuid;

const DAY: i64 = 86_400_000;

/// The China day `days` from today, `YYYY-MM-DD`.
fn day(days: i64) -> String {
    let today = china_midnight(&china_date(fieldcheck_server::clock::now_ms())).unwrap();
    china_date(today + days * DAY)
}

/// A finding at site 1 found `days_ago` days ago (at this time of day), with no unit and the
/// deadline `deadline` of its own.
fn found(dev: &Device, id: Uuid, now: i64, days_ago: i64, deadline: Option<String>) -> Record {
    let Record::Finding(mut f) = finding(dev, id, site(1).id, None, None) else {
        unreachable!()
    };
    f.created_at = now - days_ago * DAY;
    f.deadline = deadline;
    Record::Finding(f)
}

/// Appends step `action` by `actor` stamped `days_ago` days ago.
#[allow(clippy::too_many_arguments)]
async fn step(
    d: &Dash,
    id: Uuid,
    action: RectificationAction,
    actor: &str,
    now: i64,
    days_ago: i64,
    unit: Option<&str>,
    deadline: Option<String>,
) {
    let mut e = event(id, action, unit, actor);
    e.deadline = deadline;
    e.hlc = Hlc {
        time: (((now - days_ago * DAY) / 1000) as u64) << 32,
        node: 9,
    };
    assert!(d.store.append_office_event(&e).await.unwrap());
}

/// The cells of the table row with `attr="key"` in the page, its tags stripped.
fn row_cells(body: &str, attr: &str, key: &str) -> Vec<String> {
    let at = body
        .find(&format!("{attr}=\"{key}\""))
        .unwrap_or_else(|| panic!("a row {attr}={key}"));
    let row = body[at..].split("</tr>").next().unwrap();
    row.split("<td")
        .skip(1)
        .map(|c| {
            let inner = &c[c.find('>').unwrap() + 1..];
            let mut text = String::new();
            let mut in_tag = false;
            for ch in inner.split("</td>").next().unwrap().chars() {
                match ch {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text
        })
        .collect()
}

/// The rows' keys of the table `id`, in order.
fn keys(body: &str, table: &str, attr: &str) -> Vec<String> {
    let at = body.find(&format!("id=\"{table}\"")).unwrap();
    let end = at + body[at..].find("</table>").unwrap();
    body[at..end]
        .split(&format!("{attr}=\""))
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect()
}

/// A, found 10 days ago, dispatched to housing the next day with a deadline 6 days ago, fixed
/// 3 days ago (3 days late), re-checked 2 days ago and closed yesterday; B, found 8 days ago,
/// dispatched to urban_mgmt a day later due 2 days ago, fixed 4 days ago (on time), waiting for
/// the re-check since; C, found 6 days ago with its own deadline 4 days ago, never dispatched;
/// D, found 40 days ago and still owed by housing, outside the last 30 days.
struct County {
    a: Uuid,
    b: Uuid,
    c: Uuid,
    d: Uuid,
}

async fn county(d: &Dash) -> County {
    use RectificationAction as A;
    let now = fieldcheck_server::clock::now_ms();
    let dev = Device::new(8);
    dev.register(&d.store, "inspector1").await;
    let (a, b, c, old) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let records = vec![
        found(&dev, a, now, 10, None),
        found(&dev, b, now, 8, None),
        found(&dev, c, now, 6, Some(day(-4))),
        found(&dev, old, now, 40, None),
    ];
    d.store
        .apply_push(dev.id, &dev.public_hex(), &entries(1, records))
        .await
        .unwrap();
    assert!(
        d.store
            .set_display_name("unit_housing", "王五")
            .await
            .unwrap()
    );
    step(
        d,
        a,
        A::Dispatched,
        "admin",
        now,
        9,
        Some("housing"),
        Some(day(-6)),
    )
    .await;
    step(d, a, A::Rectified, "unit_housing", now, 3, None, None).await;
    step(d, a, A::Verified, "inspector1", now, 2, None, None).await;
    step(d, a, A::Closed, "admin", now, 1, None, None).await;
    step(
        d,
        b,
        A::Dispatched,
        "admin",
        now,
        7,
        Some("urban_mgmt"),
        Some(day(-2)),
    )
    .await;
    step(d, b, A::Rectified, "unit_urban", now, 4, None, None).await;
    step(
        d,
        old,
        A::Dispatched,
        "admin",
        now,
        39,
        Some("housing"),
        Some(day(-35)),
    )
    .await;
    County { a, b, c, d: old }
}

fn cells(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn the_periods_holders_people_and_missed_deadlines_are_the_hand_computed_ones() {
    let d = dash().await;
    let admin: Browser = d.login("admin", "admin-pw").await;
    let k = county(&d).await;

    let page = d.get("/dashboard/accountability", Some(&admin)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    assert!(body.contains("id=\"nav-accountability\""));
    assert!(body.contains(&format!("value=\"{}\"", day(-29))), "from");
    assert!(body.contains(&format!("value=\"{}\"", day(0))), "to");
    assert!(body.contains("id=\"total-findings\">3<"), "A, B and C only");
    assert!(body.contains("id=\"total-late\">2<"));
    // Per holder: findings, stages, days held, deadlines missed, days overdue.
    // The office: A's 1 + 1 days, B's 1, C's 6 still held and 4 days past its own deadline.
    assert_eq!(
        row_cells(body, "data-holder", "office"),
        cells(&["创城办", "3", "4", "9", "1", "4"])
    );
    assert_eq!(
        row_cells(body, "data-holder", "unit:housing"),
        cells(&["housing单位", "1", "1", "6", "1", "3"])
    );
    assert_eq!(
        row_cells(body, "data-holder", "unit:urban_mgmt"),
        cells(&["urban_mgmt单位", "1", "1", "3", "0", "0"])
    );
    assert_eq!(
        row_cells(body, "data-holder", "recheck"),
        cells(&["复核（回头看）", "2", "2", "5", "0", "0"])
    );
    assert_eq!(
        keys(body, "by-holder", "data-holder"),
        ["office", "unit:housing", "recheck", "unit:urban_mgmt"],
        "worst first"
    );
    // Per person (who moved each stage on; stages still held count for no one).
    assert_eq!(
        row_cells(body, "data-person", "unit_housing"),
        cells(&["王五", "1", "1", "6", "1", "3"])
    );
    assert_eq!(
        row_cells(body, "data-person", "admin"),
        cells(&["admin", "2", "3", "3", "0", "0"])
    );
    assert_eq!(
        row_cells(body, "data-person", "unit_urban"),
        cells(&["unit_urban", "1", "1", "3", "0", "0"])
    );
    assert_eq!(
        row_cells(body, "data-person", "inspector1"),
        cells(&["inspector1", "1", "1", "1", "0", "0"])
    );
    assert_eq!(
        keys(body, "by-person", "data-person"),
        ["unit_housing", "admin", "unit_urban", "inspector1"]
    );
    // Missed: C by the office (4 days), then A by housing (3 days); not B, not D.
    assert_eq!(
        keys(body, "missed", "data-finding"),
        [k.c.to_string(), k.a.to_string()]
    );
    let c_row = row_cells(body, "data-finding", &k.c.to_string());
    assert_eq!(c_row[3], "创城办");
    assert_eq!(c_row[5], day(-4));
    assert_eq!(c_row[6], "4");
    assert_eq!(c_row[7], "", "still held: moved on by no one");
    let a_row = row_cells(body, "data-finding", &k.a.to_string());
    assert_eq!((a_row[3].as_str(), a_row[6].as_str()), ("housing单位", "3"));
    assert_eq!(a_row[5], day(-6));
    assert_eq!(a_row[7], "王五");
    assert!(body.contains(&format!("href=\"/dashboard/findings/{}\"", k.a)));
    for absent in [k.b, k.d, d.urban, d.housing] {
        assert!(
            !body.contains(&format!("data-finding=\"{absent}\"")),
            "{absent} missed nothing in the period"
        );
    }

    // A period from 9 days ago leaves A (found 10 days ago) out.
    let later = d
        .get(
            &format!("/dashboard/accountability?from={}&to={}", day(-9), day(0)),
            Some(&admin),
        )
        .await;
    assert_eq!(later.status, StatusCode::OK);
    assert!(later.body.contains("id=\"total-findings\">2<"));
    assert_eq!(
        keys(&later.body, "missed", "data-finding"),
        [k.c.to_string()]
    );
    assert!(!later.body.contains("data-holder=\"unit:housing\""));
    // The old finding is there when its period is asked for.
    let old = d
        .get(
            &format!(
                "/dashboard/accountability?from={}&to={}",
                day(-41),
                day(-30)
            ),
            Some(&admin),
        )
        .await;
    assert_eq!(keys(&old.body, "missed", "data-finding"), [k.d.to_string()]);
    assert_eq!(
        row_cells(&old.body, "data-finding", &k.d.to_string())[6],
        "35"
    );
}

#[tokio::test]
async fn the_workbook_has_the_same_rows_and_a_bad_day_is_refused_beside_its_field() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let k = county(&d).await;
    let bytes = d.get_bytes("/dashboard/accountability.xlsx", &admin).await;
    let mut book: calamine::Xlsx<_> = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), ["按单位", "按人员", "逾期环节"]);
    let sheet = |book: &mut calamine::Xlsx<_>, i: usize| -> Vec<Vec<String>> {
        book.worksheet_range_at(i)
            .unwrap()
            .unwrap()
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    };
    let holders = sheet(&mut book, 0);
    assert_eq!(
        holders,
        [
            cells(&[
                "持有方",
                "问题数",
                "环节数",
                "持有天数",
                "逾期次数",
                "逾期天数"
            ]),
            cells(&["创城办", "3", "4", "9", "1", "4"]),
            cells(&["housing单位", "1", "1", "6", "1", "3"]),
            cells(&["复核（回头看）", "2", "2", "5", "0", "0"]),
            cells(&["urban_mgmt单位", "1", "1", "3", "0", "0"]),
        ]
    );
    let people = sheet(&mut book, 1);
    assert_eq!(people[0][0], "人员");
    assert_eq!(people[1], cells(&["王五", "1", "1", "6", "1", "3"]));
    assert_eq!(people.len(), 5);
    let missed = sheet(&mut book, 2);
    assert_eq!(
        missed[0],
        cells(&[
            "问题编号",
            "点位",
            "环节",
            "持有方",
            "起",
            "止",
            "期限",
            "逾期天数",
            "移交人"
        ])
    );
    assert_eq!(missed.len(), 3, "{missed:?}");
    let (a_id, c_id) = (k.a.to_string(), k.c.to_string());
    let numbers = fieldcheck_server::dashboard::numbers::finding_numbers(
        d.store.as_ref(),
        &[a_id.as_str(), c_id.as_str()],
    )
    .await
    .unwrap();
    let c = &missed[1];
    assert_eq!(c[0], numbers[&c_id]);
    assert_eq!(c[1], site(1).name);
    assert_eq!((c[2].as_str(), c[3].as_str()), ("待派遣", "创城办"));
    assert_eq!(
        (c[5].as_str(), c[6].as_str(), c[7].as_str()),
        ("至今", &*day(-4), "4")
    );
    let a = &missed[2];
    assert_eq!(a[0], numbers[&a_id]);
    assert_eq!(
        (a[3].as_str(), a[7].as_str(), a[8].as_str()),
        ("housing单位", "3", "王五")
    );
    assert_eq!(a[6], day(-6));
    assert!(a[5].starts_with(&day(-3)), "fixed 3 days ago: {a:?}");

    // A day that is not a date: the page again, 422, the sentence beside the field.
    let bad = d
        .get(
            "/dashboard/accountability?from=2026-02-30&to=",
            Some(&admin),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("id=\"period-form\""));
    assert!(bad.body.contains("data-field=\"from\""), "{}", bad.body);
    assert!(
        bad.body.contains("value=\"2026-02-30\""),
        "what was typed is kept"
    );
    assert!(
        bad.body.contains("id=\"by-holder\""),
        "the default period below"
    );
    let reversed = d
        .get(
            &format!("/dashboard/accountability?from={}&to={}", day(0), day(-1)),
            Some(&admin),
        )
        .await;
    assert_eq!(reversed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reversed.body.contains("data-field=\"to\""));
    let xlsx = d
        .get("/dashboard/accountability.xlsx?to=soon", Some(&admin))
        .await;
    assert_eq!(xlsx.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Units may not see it.
    let unit = d.login("unit_urban", "urban-pw").await;
    let refused = d.get("/dashboard/accountability", Some(&unit)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
