//! 通报 through the dashboard (the real router, a real SQLite file): findings with known
//! histories, pushed and stepped here with stamped times, give the page's figures per street,
//! unit and index, the ranking, the red and black lists and the worst cases exactly as
//! computed by hand below; the Word document, read back with docx-rs's reader, says the same
//! numbers and carries the worst cases' photos; an empty period, a period of 400 days, a day
//! that is not a date and a reversed period are answered with zeros or a sentence beside the
//! field; a unit member is refused; the same county on PostgreSQL reads into the same
//! figures.

use crate::common::*;
use crate::dashboard_http::{Browser, dash};
use axum::http::StatusCode;
use fieldcheck_domain::bulletin::{Outcome, Period};
use fieldcheck_domain::china_time::{china_date, china_midnight};
use fieldcheck_protocol::*;
use fieldcheck_server::blobs::{BlobStore, LocalBlobs};
use fieldcheck_server::dashboard::bulletin::data::Report;
use fieldcheck_server::store::DynStore;
use fieldcheck_testkit::docx::docx_text;
use uuid::Uuid;

const DAY: i64 = 86_400_000;

/// The China day `days` from today, `YYYY-MM-DD`.
fn day(days: i64) -> String {
    let today = china_midnight(&china_date(fieldcheck_server::clock::now_ms())).unwrap();
    china_date(today + days * DAY)
}

/// A finding at `site` found `days_ago` days ago (at this time of day), with checklist item
/// `item`, no unit and no deadline of its own unless given.
fn found(
    dev: &Device,
    id: Uuid,
    site: Uuid,
    days_ago: i64,
    item: Option<&str>,
    deadline: Option<String>,
) -> Record {
    let Record::Finding(mut f) = finding(dev, id, site, None, None) else {
        unreachable!()
    };
    f.created_at = fieldcheck_server::clock::now_ms() - days_ago * DAY;
    f.item_code = item.map(Into::into);
    f.deadline = deadline;
    Record::Finding(f)
}

/// Appends step `action` stamped `days_ago` days ago, with a unit and deadline for a 派遣 and
/// the after-photo `photo` for a 处置.
async fn step(
    store: &DynStore,
    id: Uuid,
    action: RectificationAction,
    days_ago: i64,
    dispatch: Option<(&str, String)>,
    photo: Option<&str>,
) {
    let mut e = event(id, action, dispatch.as_ref().map(|(u, _)| *u), "admin");
    e.deadline = dispatch.map(|(_, d)| d);
    if let Some(p) = photo {
        e.photo_sha256 = Some(p.to_string());
    }
    let at = fieldcheck_server::clock::now_ms() - days_ago * DAY;
    e.hlc = Hlc {
        time: ((at / 1000) as u64) << 32,
        node: 9,
    };
    assert!(store.append_office_event(&e).await.unwrap());
}

/// Stores a JPEG in the photo store and returns its hash.
async fn stored_jpeg(blobs: &dyn BlobStore, w: u32, h: u32) -> (String, Vec<u8>) {
    let bytes = jpeg(w, h);
    let sha = sha_hex(&bytes);
    blobs.put(&sha, bytes.clone().into()).await.unwrap();
    (sha, bytes)
}

/// The period of the county below: from 13 days ago to 7 days ago.
fn period_query() -> String {
    format!("period=custom&from={}&to={}", day(-13), day(-7))
}

/// Site 1 (城关街道) and site 2 (东湖街道). In the period (13 to 7 days ago):
/// - A, site 1, item BA-01: found 13 days ago, to housing due 10 days ago, fixed 11 days ago:
///   on time.
/// - B, site 1, item BA-02: found 12 days ago, to housing due 11 days ago, fixed 8 days ago
///   (after-photo stored): 3 days late. G, BA-02 at site 1 too, was fixed 43 days ago: 31 days
///   before B, so B is not reopened.
/// - C, site 2: found 12 days ago with a before-photo, to housing due 11 days ago, fixed only 2
///   days ago (after the period): overdue 4 days at the period's end.
/// - D, site 2: found 9 days ago, to urban_mgmt due 5 days ago, fixed 8 days ago: on time.
/// - E, site 1, item BA-01: found 8 days ago, no unit: pending; reopened (A fixed 3 days
///   before).
/// - H, site 2, item BA-03: found 10 days ago, its own deadline 9 days ago, no unit: overdue 2
///   days; reopened (K, BA-03 at site 2, found 30 days ago, fixed 20 days ago).
///
/// Outside it: F (found 20 days ago), G, K. And an inspection at site 1 ten days ago answers
/// BA-01 no, BA-02 yes, BA-03 no: index II-26 loses 66.67 points.
struct County {
    b: Uuid,
    c: Uuid,
    h: Uuid,
    before: String,
    after: String,
}

async fn county(store: &DynStore, blobs: &dyn BlobStore) -> County {
    use RectificationAction as A;
    let mut east = site(2);
    east.street = "东湖街道".into();
    store.put_site(&east).await.unwrap();
    let (s1, s2) = (site(1).id, east.id);
    let dev = Device::new(9);
    dev.register(store, "inspector1").await;
    let ids: Vec<Uuid> = (0..9).map(|_| Uuid::now_v7()).collect();
    let [a, b, c, dd, e, h, f, g, k] = ids[..] else {
        unreachable!()
    };
    // Sizes of their own: the fixture's photo is a 64 × 48 one.
    let (before, before_bytes) = stored_jpeg(blobs, 80, 60).await;
    let (after, _) = stored_jpeg(blobs, 60, 80).await;
    let photo = photo_record(&dev, &before_bytes, Some(c), 80, 60);
    let inspection_id = Uuid::now_v7();
    let Record::Inspection(mut inspection) = inspection(&dev, inspection_id, s1) else {
        unreachable!()
    };
    inspection.started_at = fieldcheck_server::clock::now_ms() - 10 * DAY;
    inspection.finished_at = Some(inspection.started_at + 600_000);
    let records = vec![
        found(&dev, a, s1, 13, Some("BA-01"), None),
        found(&dev, b, s1, 12, Some("BA-02"), None),
        found(&dev, c, s2, 12, None, None),
        found(&dev, dd, s2, 9, None, None),
        found(&dev, e, s1, 8, Some("BA-01"), None),
        found(&dev, h, s2, 10, Some("BA-03"), Some(day(-9))),
        found(&dev, f, s1, 20, None, None),
        found(&dev, g, s1, 60, Some("BA-02"), None),
        found(&dev, k, s2, 30, Some("BA-03"), None),
        Record::Photo(photo),
        Record::Inspection(inspection),
        item(inspection_id, "BA-01", ItemValue::NonCompliant),
        item(inspection_id, "BA-02", ItemValue::Count(5)),
        item(inspection_id, "BA-03", ItemValue::Percent(90.0)),
    ];
    store
        .apply_push(dev.id, &dev.public_hex(), &entries(1, records))
        .await
        .unwrap();
    store.mark_photo_stored(&before, 1).await.unwrap();
    step(
        store,
        a,
        A::Dispatched,
        13,
        Some(("housing", day(-10))),
        None,
    )
    .await;
    step(store, a, A::Rectified, 11, None, None).await;
    step(
        store,
        b,
        A::Dispatched,
        12,
        Some(("housing", day(-11))),
        None,
    )
    .await;
    step(store, b, A::Rectified, 8, None, Some(&after)).await;
    step(
        store,
        c,
        A::Dispatched,
        12,
        Some(("housing", day(-11))),
        None,
    )
    .await;
    step(store, c, A::Rectified, 2, None, None).await;
    step(
        store,
        dd,
        A::Dispatched,
        9,
        Some(("urban_mgmt", day(-5))),
        None,
    )
    .await;
    step(store, dd, A::Rectified, 8, None, None).await;
    step(
        store,
        f,
        A::Dispatched,
        20,
        Some(("housing", day(-15))),
        None,
    )
    .await;
    step(store, g, A::Rectified, 43, None, None).await;
    step(store, k, A::Rectified, 20, None, None).await;
    County {
        b,
        c,
        h,
        before,
        after,
    }
}

/// The cells of the table row with `data-key="key"` in the table `table`, tags stripped.
fn row(body: &str, table: &str, key: &str) -> Vec<String> {
    let at = body.find(&format!("id=\"{table}\"")).unwrap();
    let body = &body[at..at + body[at..].find("</table>").unwrap()];
    let at = body
        .find(&format!("data-key=\"{key}\""))
        .unwrap_or_else(|| panic!("a row {key} in {table}"));
    let row = body[at..].split("</tr>").next().unwrap();
    row.split("<td")
        .skip(1)
        .map(|c| strip(c[c.find('>').unwrap() + 1..].split("</td>").next().unwrap()))
        .collect()
}

fn strip(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// The values of attribute `attr` in the element `id`, in order.
fn keys(body: &str, id: &str, attr: &str) -> Vec<String> {
    let at = body.find(&format!("id=\"{id}\"")).unwrap();
    let end = ["</table>", "</ol>"]
        .iter()
        .filter_map(|t| body[at..].find(t))
        .min()
        .map_or(body.len(), |e| at + e);
    body[at..end]
        .split(&format!("{attr}=\""))
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect()
}

fn cells(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn the_bulletins_figures_ranking_and_worst_cases_are_the_hand_computed_ones() {
    let d = dash().await;
    let admin: Browser = d.login("admin", "admin-pw").await;
    let k = county(&d.store, d.state.blobs.as_ref()).await;
    let page = d
        .get(
            &format!("/dashboard/bulletin?{}", period_query()),
            Some(&admin),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    assert!(body.contains("id=\"nav-bulletin\""));
    assert!(body.contains(&format!(
        "data-from=\"{}\" data-to=\"{}\"",
        day(-13),
        day(-7)
    )));
    assert!(
        body.contains(&format!(
            "示范县创建全国文明城市工作通报（{}至{}）",
            day(-13),
            day(-7)
        )),
        "the title names the county and the days"
    );
    for (id, n) in [
        ("total-found", "6"),
        ("total-on-time", "2"),
        ("total-late", "1"),
        ("total-overdue", "2"),
        ("total-pending", "1"),
        ("total-reopened", "2"),
        ("total-rate", "40.0%"),
    ] {
        assert!(body.contains(&format!("id=\"{id}\">{n}<")), "{id} = {n}");
    }
    // Found, on time, late, overdue, pending, reopened, on-time rate, indexes losing most.
    assert_eq!(
        row(body, "by-street", "城关街道"),
        cells(&[
            "示范县",
            "城关街道",
            "3",
            "1",
            "1",
            "0",
            "1",
            "1",
            "50.0%",
            "城市规划建设 66.67"
        ])
    );
    assert_eq!(
        row(body, "by-street", "东湖街道"),
        cells(&[
            "示范县",
            "东湖街道",
            "3",
            "1",
            "0",
            "2",
            "0",
            "1",
            "33.3%",
            "—"
        ])
    );
    assert_eq!(
        row(body, "by-district", "示范县"),
        cells(&[
            "示范县",
            "6",
            "2",
            "1",
            "2",
            "1",
            "2",
            "40.0%",
            "城市规划建设 66.67"
        ])
    );
    // Units: urban_mgmt 1 of 1 on time, housing 1 of 3; the findings without a unit last.
    assert_eq!(
        keys(body, "by-unit", "data-key"),
        ["urban_mgmt", "housing", ""]
    );
    assert_eq!(
        row(body, "by-unit", "urban_mgmt"),
        cells(&[
            "1",
            "urban_mgmt单位",
            "1",
            "1",
            "0",
            "0",
            "0",
            "0",
            "100.0%"
        ])
    );
    assert_eq!(
        row(body, "by-unit", "housing"),
        cells(&["2", "housing单位", "3", "1", "1", "1", "0", "0", "33.3%"])
    );
    assert_eq!(
        row(body, "by-unit", ""),
        cells(&["—", "未指定单位", "2", "0", "0", "1", "1", "2", "0.0%"])
    );
    assert_eq!(keys(body, "red-list", "data-unit"), ["urban_mgmt"]);
    assert_eq!(keys(body, "black-list", "data-unit"), ["housing"]);
    assert_eq!(
        row(body, "index-losses", "II-26"),
        cells(&["II-26 城市规划建设", "66.67"])
    );
    // Worst: C 4 days overdue, B 3 days late, H 2 days overdue.
    assert_eq!(
        keys(body, "section-8", "data-finding")
            .into_iter()
            .take(3)
            .collect::<Vec<_>>(),
        [k.c.to_string(), k.b.to_string(), k.h.to_string()]
    );
    assert!(body.contains(&format!("/dashboard/photos/{}/thumb", k.before)));
    assert!(body.contains(&format!("/dashboard/photos/{}/thumb", k.after)));
    assert!(body.contains("id=\"bulletin-docx\""));
    assert!(body.contains("data-print"), "a print button");

    // Grouped by street only: no district or unit table; the sections numbered in turn.
    let streets = d
        .get(
            &format!("/dashboard/bulletin?{}&group=street", period_query()),
            Some(&admin),
        )
        .await;
    assert!(streets.body.contains("id=\"by-street\""));
    assert!(
        !streets.body.contains("id=\"by-district\"") && !streets.body.contains("id=\"by-unit\"")
    );
    assert!(streets.body.contains("二、各街道情况"));
}

#[tokio::test]
async fn the_word_document_reads_back_with_the_same_numbers_and_the_photos() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    county(&d.store, d.state.blobs.as_ref()).await;
    let bytes = d
        .get_bytes(
            &format!("/dashboard/bulletin.docx?{}", period_query()),
            &admin,
        )
        .await;
    let text = docx_text(&bytes);
    let has = |s: &str| text.iter().any(|t| t == s);
    assert_eq!(
        text[0],
        format!(
            "示范县创建全国文明城市工作通报（{}至{}）",
            day(-13),
            day(-7)
        )
    );
    assert!(
        has(
            "本期共发现问题 6 个，按期整改 2 个，逾期整改 1 个，逾期未改 2 个，整改中 1 个，其中复发问题 2 个；按期整改率 40.0%。"
        ),
        "{text:#?}"
    );
    assert!(has(
        "区县|街道|发现问题|按期整改|逾期整改|逾期未改|整改中|复发|按期整改率|失分最多的测评项目"
    ));
    assert!(has("示范县|东湖街道|3|1|0|2|0|1|33.3%|—"), "{text:#?}");
    assert!(has("示范县|城关街道|3|1|1|0|1|1|50.0%|城市规划建设 66.67"));
    assert!(has("1|urban_mgmt单位|1|1|0|0|0|0|100.0%"));
    assert!(has("2|housing单位|3|1|1|1|0|0|33.3%"));
    assert!(has("—|未指定单位|2|0|0|1|1|2|0.0%"));
    assert!(has(
        "1. urban_mgmt单位：按期整改率 100.0%，按期整改 1 个，逾期未改 0 个。"
    ));
    assert!(has(
        "1. housing单位：按期整改率 33.3%，按期整改 1 个，逾期未改 1 个。"
    ));
    assert!(has("II-26 城市规划建设|66.67"));
    let worst: Vec<&String> = text.iter().filter(|t| t.contains("逾期 ")).collect();
    assert_eq!(worst.len(), 3, "{worst:?}");
    assert!(worst[0].contains("逾期 4 天"), "{worst:?}");
    assert!(worst[1].contains("逾期 3 天") && worst[2].contains("逾期 2 天"));
    // C's before-photo and B's after-photo are in the package as JPEGs; the fonts are named.
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let media: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.to_string()))
        .filter(|n| n.starts_with("word/media/") && !n.ends_with('/'))
        .collect();
    assert_eq!(media.len(), 2, "{media:?}");
    let read = |zip: &mut zip::ZipArchive<_>, name: &str| {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(name).unwrap(), &mut s).unwrap();
        s
    };
    let types = read(&mut zip, "[Content_Types].xml");
    for m in &media {
        assert!(
            types.contains(&format!("PartName=\"/{m}\" ContentType=\"image/jpeg\"")),
            "{m} is a JPEG: {types}"
        );
    }
    assert!(read(&mut zip, "word/document.xml").contains("w:eastAsia=\"宋体\""));
    assert!(read(&mut zip, "word/fontTable.xml").contains("SimSun"));
}

#[tokio::test]
async fn an_empty_long_or_unreadable_period_is_answered_plainly_and_units_are_refused() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    // The default: the last full China week, whose form shows its days.
    let now = fieldcheck_server::clock::now_ms();
    let week = Period::last_full_week(now);
    let default = d.get("/dashboard/bulletin", Some(&admin)).await;
    assert_eq!(default.status, StatusCode::OK, "{}", default.body);
    assert!(default.body.contains(&format!("value=\"{}\"", week.first)));
    assert!(default.body.contains(&format!("value=\"{}\"", week.last)));
    let (y, w) = week.week_number().unwrap();
    assert!(default.body.contains(&format!("工作通报（{y}年第{w}期）")));

    // In English, through the same layer.
    let english = Browser {
        cookie: format!("{}; fc_lang=en", admin.cookie),
        csrf: admin.csrf.clone(),
    };
    let en = d.get("/dashboard/bulletin", Some(&english)).await;
    assert!(en.body.contains("1. Overall") && en.body.contains("Make the bulletin"));
    assert!(
        en.body
            .contains(&format!("civilized-city campaign bulletin, {y} week {w}"))
    );

    // An empty period: zeros, and sentences instead of empty tables.
    let empty = d
        .get(
            "/dashboard/bulletin?period=custom&from=2025-01-01&to=2025-01-07",
            Some(&admin),
        )
        .await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.body.contains("id=\"total-found\">0<"));
    assert!(empty.body.contains("id=\"total-rate\">—<"));
    assert!(empty.body.contains("id=\"bulletin-empty\""));
    assert!(empty.body.contains("id=\"no-worst\""));
    let docx = d
        .get_bytes(
            "/dashboard/bulletin.docx?period=custom&from=2025-01-01&to=2025-01-07",
            &admin,
        )
        .await;
    let text = docx_text(&docx);
    assert!(text.iter().any(|t| t.starts_with("本期共发现问题 0 个")));
    assert!(text.iter().any(|t| t == "本期没有逾期问题。"));

    // 400 days, a day that is not a date, a reversed period, an unknown grouping: 422, the
    // sentence beside its field, what was typed kept, last week's bulletin below.
    for (query, field, words) in [
        (
            "period=custom&from=2025-01-01&to=2026-02-04",
            "to",
            "统计期间最长 366 天，所选期间为 400 天",
        ),
        (
            "period=custom&from=2026-02-30&to=2026-03-01",
            "from",
            "日期格式应为",
        ),
        (
            "period=custom&from=2026-03-02&to=2026-03-01",
            "to",
            "截止日期不能早于起始日期",
        ),
        ("from=2026-03-01&to=", "to", "日期格式应为"),
        ("group=everything", "group", "请选择按区县"),
        ("period=next_year", "period", "请选择上周"),
    ] {
        let r = d
            .get(&format!("/dashboard/bulletin?{query}"), Some(&admin))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(r.body.contains(words), "{query}: {}", r.body);
        assert!(r.body.contains("id=\"form-refused\""), "{query}");
        assert!(
            r.body.contains("id=\"total-found\""),
            "{query}: last week below"
        );
        if field != "group" && field != "period" {
            assert!(
                r.body.contains(&format!("data-field=\"{field}\"")),
                "{query}"
            );
        }
        let file = d
            .get(&format!("/dashboard/bulletin.docx?{query}"), Some(&admin))
            .await;
        assert_eq!(file.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
    }
    assert!(
        d.get(
            "/dashboard/bulletin?period=custom&from=2026-02-30&to=2026-03-01",
            Some(&admin)
        )
        .await
        .body
        .contains("value=\"2026-02-30\""),
        "what was typed is kept"
    );

    // Units may not see it, nor download it.
    let unit = d.login("unit_urban", "urban-pw").await;
    for path in ["/dashboard/bulletin", "/dashboard/bulletin.docx"] {
        assert_eq!(
            d.get(path, Some(&unit)).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let anonymous = d.get("/dashboard/bulletin.docx", None).await;
    assert_ne!(anonymous.status, StatusCode::OK);
}

/// The same county on PostgreSQL: the bulletin's reads (joins, the steps' stamps compared as
/// text, the answers' weights summed per site and index) give the same figures.
#[tokio::test]
async fn the_bulletin_reads_the_same_on_postgres() {
    let Some(s) = pg_store().await else { return };
    let store = s.store.clone();
    seed(&store).await;
    add_user(&store, "inspector1", Role::Inspector, None, "inspector-pw").await;
    let dir = tempfile::tempdir().unwrap();
    let blobs = LocalBlobs::new(dir.path().join("photos"));
    let k = county(&store, &blobs).await;
    let period = Period::new(&day(-13), &day(-7)).unwrap();
    let r = Report::load(store.as_ref(), &period, fieldcheck_server::clock::now_ms())
        .await
        .unwrap();
    let b = &r.bulletin;
    let t = b.total;
    assert_eq!(
        (t.found, t.on_time, t.late, t.overdue, t.pending, t.reopened),
        (6, 2, 1, 2, 1, 2)
    );
    let streets: Vec<(&str, usize, usize)> = b
        .by_street
        .iter()
        .map(|r| (r.key.1.as_str(), r.figures.overdue, r.figures.reopened))
        .collect();
    assert_eq!(streets, [("东湖街道", 2, 1), ("城关街道", 0, 1)]);
    let units: Vec<Option<&str>> = b.by_unit.iter().map(|r| r.key.as_deref()).collect();
    assert_eq!(units, [Some("urban_mgmt"), Some("housing"), None]);
    assert_eq!(
        r.worst
            .iter()
            .map(|w| w.judged.finding_id)
            .collect::<Vec<_>>(),
        [k.c, k.b, k.h]
    );
    assert_eq!(r.worst[0].judged.outcome, Outcome::Overdue);
    assert_eq!(r.worst[0].before.as_deref(), Some(k.before.as_str()));
    assert_eq!(r.worst[1].after.as_deref(), Some(k.after.as_str()));
    assert_eq!(r.losses.county.len(), 1);
    assert!((r.losses.county[0].points_lost - 200.0 / 3.0).abs() < 1e-9);
    assert_eq!(r.county.as_deref(), Some("示范县"));
}
