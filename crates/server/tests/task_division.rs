//! 任务分工 through the dashboard (the real router, a real SQLite file): an Excel workbook made
//! here is imported, new findings are dispatched by its most specific rule with the rule's
//! deadline, once however many passes run, a finding no rule owns is listed as 无人管 until the
//! office dispatches it; and hostile or wrong workbooks are refused whole, naming the rows,
//! with nothing changed.

use crate::common::*;
use crate::dashboard_http::{Browser, Dash, Reply, dash};
use axum::body::Body;
use axum::http::{Method, StatusCode};
use calamine::Reader;
use fieldcheck_domain::china_time::{china_date, china_midnight};
use fieldcheck_protocol::*;
use fieldcheck_server::office::auto_dispatch::run_pass;
use fieldcheck_server::office::division::COLUMNS;
use fieldcheck_server::office::{Actor, Office, OfficeError};
use rust_xlsxwriter::Workbook;
use std::io::Write;
use uuid::Uuid;

/// A workbook whose first sheet holds `rows` (the first row the heading).
fn workbook(rows: &[&[&str]]) -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in (0u32..).zip(rows) {
        for (c, cell) in (0u16..).zip(row.iter()) {
            sheet.write_string(r, c, *cell).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

async fn upload(d: &Dash, b: &Browser, file: &[u8]) -> Reply {
    let boundary = "dIvIsIoNb0und";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"division\"; filename=\"2026年任务分工.xlsx\"\r\nContent-Type: application/octet-stream\r\n\r\n", b.csrf).into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    d.send(
        Method::POST,
        "/dashboard/division",
        &b.cookie,
        &format!("multipart/form-data; boundary={boundary}"),
        Body::from(body),
    )
    .await
}

/// A finding made now at `site`, for checklist item `item` when given.
fn new_finding(dev: &Device, id: Uuid, site: Uuid, item: Option<&str>, same_day: bool) -> Record {
    let Record::Finding(mut f) = finding(dev, id, site, None, Some("urban_mgmt")) else {
        unreachable!()
    };
    f.item_code = item.map(Into::into);
    f.created_at = fieldcheck_server::clock::now_ms();
    f.same_day = same_day;
    Record::Finding(f)
}

fn day_after(days: i64) -> String {
    let today = china_midnight(&china_date(fieldcheck_server::clock::now_ms())).unwrap();
    china_date(today + days * 86_400_000)
}

#[tokio::test]
async fn new_findings_are_dispatched_by_the_most_specific_rule_once_and_the_rest_are_nobodys() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let north = Site {
        street: "北关街道".into(),
        ..site(2)
    };
    d.store.put_site(&north).await.unwrap();

    // The template to fill in names every column and reads back as the import expects.
    let template = d.get_bytes("/dashboard/division.xlsx", &admin).await;
    let mut book: calamine::Xlsx<_> = calamine::Xlsx::new(std::io::Cursor::new(template)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let heading: Vec<String> = sheet
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let expected: Vec<&str> = COLUMNS.iter().map(|(zh, _)| *zh).collect();
    assert_eq!(heading, expected);

    // Columns in another order than the template's, units by Chinese name and by code.
    let file = workbook(&[
        &[
            "责任单位",
            "街道",
            "检查项",
            "责任人",
            "联系电话",
            "整改时限（天）",
            "备注",
        ],
        &[
            "urban_mgmt单位",
            "城关街道",
            "",
            "张三",
            "13800000001",
            "5",
            "城关的背街小巷",
        ],
        &["housing", "", "BA-01", "李四", "", "0", "路面一律住建"],
    ]);
    let r = upload(&d, &admin, &file).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/dashboard/division");
    let page = d.get("/dashboard/division", Some(&admin)).await;
    assert!(
        page.body.contains("第 1 版") && page.body.contains("张三"),
        "{}",
        page.body
    );

    let dev = Device::new(7);
    dev.register(&d.store, "inspector1").await;
    let (alley, road, elsewhere) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let records = vec![
        new_finding(&dev, alley, site(1).id, None, false),
        new_finding(&dev, road, site(1).id, Some("BA-01"), false),
        new_finding(&dev, elsewhere, north.id, None, true),
    ];
    d.store
        .apply_push(dev.id, &dev.public_hex(), &entries(1, records))
        .await
        .unwrap();
    // Two passes at once (two replicas) and one after: each finding dispatched once.
    let (a, b) = tokio::join!(run_pass(&d.state), run_pass(&d.state));
    a.unwrap();
    b.unwrap();
    assert_eq!(
        run_pass(&d.state).await.unwrap(),
        (0, 1),
        "only 无人管 is left"
    );

    let store = &d.store;
    let dispatched = |id| async move {
        let row = store.finding(id).await.unwrap().unwrap();
        assert!(row.events.len() <= 1, "{:?}", row.events);
        row.events.into_iter().next()
    };
    let step = dispatched(alley)
        .await
        .expect("the street's rule dispatched it");
    assert_eq!(step.action, RectificationAction::Dispatched);
    assert_eq!(step.unit.as_deref(), Some("urban_mgmt"));
    assert_eq!(step.deadline, Some(day_after(5)));
    assert_eq!(step.actor, "任务分工");
    assert!(step.note.contains("张三 13800000001"), "{}", step.note);
    let step = dispatched(road)
        .await
        .expect("the item's rule dispatched it");
    assert_eq!(
        step.unit.as_deref(),
        Some("housing"),
        "the item beats the street"
    );
    assert_eq!(step.deadline, Some(day_after(0)));
    assert!(
        dispatched(elsewhere).await.is_none(),
        "no rule owns 北关街道"
    );
    assert_eq!(
        d.store
            .finding(alley)
            .await
            .unwrap()
            .unwrap()
            .current_unit
            .as_deref(),
        Some("urban_mgmt")
    );

    let page = d.get("/dashboard/division", Some(&admin)).await;
    let listed = page.body.matches("class=\"unowned-finding\"").count();
    assert_eq!(listed, 1, "{}", page.body);
    assert!(
        page.body
            .contains(&format!("/dashboard/findings/{elsewhere}"))
    );

    // The office dispatches it by hand: it has an owner now, and no pass overrides it.
    let mut by_hand = event(
        elsewhere,
        RectificationAction::Dispatched,
        Some("housing"),
        "admin",
    );
    by_hand.deadline = Some(day_after(2));
    Office::new(&d.state, Actor::cli())
        .record_step(
            &d.store.finding(elsewhere).await.unwrap().unwrap(),
            &RectificationEventRecord {
                actor: "cli".into(),
                ..by_hand
            },
        )
        .await
        .unwrap();
    assert_eq!(run_pass(&d.state).await.unwrap(), (0, 0));
    let page = d.get("/dashboard/division", Some(&admin)).await;
    assert_eq!(page.body.matches("class=\"unowned-finding\"").count(), 0);
    let row = d.store.finding(elsewhere).await.unwrap().unwrap();
    assert_eq!(row.current_unit.as_deref(), Some("housing"));

    // The division downloads as a workbook that imports again as the same rules.
    let current = d.store.task_division().await.unwrap().unwrap();
    let bytes = d.get_bytes("/dashboard/division.xlsx", &admin).await;
    let r = upload(&d, &admin, &bytes).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let again = d.store.task_division().await.unwrap().unwrap();
    assert_eq!(
        (again.version, &again.division.rules),
        (2, &current.division.rules)
    );
}

/// A zip whose one entry unpacks to `size` zero bytes.
fn zip_of_zeros(size: usize) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    zip.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..size >> 20 {
        zip.write_all(&chunk).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

#[tokio::test]
async fn a_wrong_or_hostile_workbook_is_refused_whole_and_changes_nothing() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let refused = |r: &Reply, says: &str| {
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains(says), "expected “{says}” in {}", r.body);
    };

    // Two bad rows among good ones: both named by their Excel row, nothing imported.
    let file = workbook(&[
        &["街道", "点位类型", "责任单位", "整改时限（天）"],
        &["城关街道", "", "housing", "3"],
        &["城关街道", "", "城管具", "3"],
        &["东关街道", "背街小巷", "housing", "三天"],
        &["", "", "housing", ""],
    ]);
    let r = upload(&d, &admin, &file).await;
    refused(&r, "第 3 行：责任单位“城管具”不存在");
    refused(&r, "第 4 行：没有点位在街道“东关街道”");
    refused(&r, "第 5 行：没有写适用范围");
    refused(&r, "有 3 行有误，未导入");

    refused(
        &upload(
            &d,
            &admin,
            &workbook(&[&["街道", "单位"], &["城关街道", "housing"]]),
        )
        .await,
        "至少要有“责任单位”一列",
    );
    refused(
        &upload(&d, &admin, b"PK\x03\x04 not really a workbook").await,
        "不是有效的 Excel 文件",
    );
    // 200 MB of zeros in a few hundred kilobytes: refused while counting, never decoded.
    refused(
        &upload(&d, &admin, &zip_of_zeros(200 << 20)).await,
        "文件解压后超过",
    );
    refused(
        &upload(&d, &admin, &[]).await,
        "请选择任务分工的 Excel 文件",
    );
    assert!(
        d.store.task_division().await.unwrap().is_none(),
        "nothing imported"
    );

    // A unit member cannot import; nor can any door but an admin's, nor take the dispatcher's
    // name as an account.
    let unit = d.login("unit_urban", "urban-pw").await;
    assert_eq!(upload(&d, &unit, &file).await.status, StatusCode::FORBIDDEN);
    let member = Actor {
        name: "unit_urban".into(),
        role: Role::UnitMember,
        device: None,
        door: fieldcheck_server::office::Door::Api,
    };
    let rules = d
        .store
        .task_division()
        .await
        .unwrap()
        .map(|d| d.division.rules);
    assert!(rules.is_none());
    assert!(matches!(
        Office::new(&d.state, member)
            .import_division(Vec::new(), "x.xlsx")
            .await,
        Err(OfficeError::Forbidden { .. })
    ));
    let taken = Office::new(&d.state, Actor::cli())
        .add_user("任务分工", "", Role::Admin, None, "a-long-password")
        .await;
    assert!(
        matches!(&taken, Err(OfficeError::Invalid { fault, .. }) if fault.field == "name"),
        "{taken:?}"
    );
}

#[tokio::test]
async fn the_trail_of_an_overdue_finding_names_each_holder_and_the_days() {
    const DAY: i64 = 86_400_000;
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let now = fieldcheck_server::clock::now_ms();
    let dev = Device::new(8);
    dev.register(&d.store, "inspector1").await;
    let id = Uuid::now_v7();
    let Record::Finding(mut f) = new_finding(&dev, id, site(1).id, None, false) else {
        unreachable!()
    };
    f.created_at = now - 10 * DAY;
    d.store
        .apply_push(
            dev.id,
            &dev.public_hex(),
            &entries(1, vec![Record::Finding(f)]),
        )
        .await
        .unwrap();
    // Dispatched a day after it was found, due five days ago, never fixed.
    let mut dispatch = event(
        id,
        RectificationAction::Dispatched,
        Some("housing"),
        "admin",
    );
    dispatch.deadline = Some(day_after(-5));
    dispatch.hlc = Hlc {
        time: (((now - 9 * DAY) / 1000) as u64) << 32,
        node: 9,
    };
    assert!(d.store.append_office_event(&dispatch).await.unwrap());

    let page = d
        .get(&format!("/dashboard/findings/{id}"), Some(&admin))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let at = page.body.find("id=\"trail\"").expect("the trail is shown");
    let rows: Vec<&str> = page.body[at..]
        .split("class=\"trail-row\"")
        .skip(1)
        .map(|r| r.split("</tr>").next().unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{}", &page.body[at..]);
    assert!(
        rows[0].contains("创城办") && rows[0].contains("<td>1</td>"),
        "{}",
        rows[0]
    );
    assert!(rows[0].contains("data-missed=\"false\"") || !rows[0].contains("逾期"));
    assert!(rows[1].contains("housing单位"), "{}", rows[1]);
    assert!(rows[1].contains("<td>9</td>"), "held 9 days: {}", rows[1]);
    assert!(rows[1].contains("逾期 5 天"), "{}", rows[1]);
    assert!(rows[1].contains(&day_after(-5)));
    assert!(rows[1].contains("至今"), "still held: {}", rows[1]);
}
