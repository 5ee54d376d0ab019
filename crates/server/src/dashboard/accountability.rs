//! 倒查责任 across findings (admins): for the findings found in a period, each one's trail
//! (the domain's `accountability::trail`, at now) summed per holder and per person (`totals`,
//! worst first), and every stage that missed its deadline, on a page and as an Excel workbook.
//! The rules are the domain's; this module only reads the findings and shows the answers.

use super::error::PageError;
use super::forms::{Redo, form_message, is_wrong, kept, message, refused_notice};
use super::i18n::Lang;
use super::layout::page;
use super::ledger::fmt_time;
use super::numbers::{finding_numbers, rows_for_findings};
use super::projection::refresh;
use super::reference::Reference;
use super::session::Session;
use crate::app::SharedState;
use crate::store::dashboard::Arg;
use crate::store::{Store, StoreResult};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use fieldcheck_domain::accountability::{Holder, Stage, Total, Totals, Trail, totals, trail};
use fieldcheck_domain::china_time::{china_date, china_midnight};
use fieldcheck_protocol::{FindingRecord, RectificationEventRecord};
use maud::{Markup, html};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde::Deserialize;
use std::collections::HashMap;

/// The page's address.
pub const PATH: &str = "/dashboard/accountability";
/// The workbook's address.
pub const XLSX_PATH: &str = "/dashboard/accountability.xlsx";
/// At most this many findings of a period are read (the earliest found); the page says when
/// a period has more.
pub const MAX_FINDINGS: usize = 20_000;
/// At most this many missed stages are listed on the page (the workbook has them all).
const MAX_LISTED: usize = 500;
const DAY_MS: i64 = 86_400_000;
const FORM: &str = "period-form";

/// The period as asked for in the address: `from` and `to`, China days `YYYY-MM-DD`
/// (inclusive); either may be empty.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PeriodQuery {
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
}

/// A checked period of China days, both real dates, `from <= to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    /// First day `YYYY-MM-DD`, inclusive.
    pub from: String,
    /// Last day `YYYY-MM-DD`, inclusive.
    pub to: String,
}

impl PeriodQuery {
    /// The period asked for at `now_ms`: an empty `to` is today (China time), an empty `from`
    /// 29 days before `to` (so the default is the last 30 China days). A day that is not a
    /// real date, or a `to` before `from`, is refused naming its field (422).
    pub fn period(&self, now_ms: i64) -> Result<Period, PageError> {
        let bad = |field: &str| {
            PageError::invalid(
                field,
                "日期格式应为 年-月-日，如 2026-11-01",
                "a date must look like 2026-11-01",
            )
        };
        let to = match self.to.trim() {
            "" => china_date(now_ms),
            d => china_midnight(d)
                .map(|_| d.to_string())
                .ok_or_else(|| bad("to"))?,
        };
        let from = match self.from.trim() {
            "" => china_date(china_midnight(&to).unwrap_or(now_ms) - 29 * DAY_MS),
            d => china_midnight(d)
                .map(|_| d.to_string())
                .ok_or_else(|| bad("from"))?,
        };
        if to < from {
            return Err(PageError::invalid(
                "to",
                "截止日期不能早于起始日期",
                "the last day cannot be before the first",
            ));
        }
        Ok(Period { from, to })
    }
}

/// A finding of the period with its trail.
#[derive(Clone, Debug)]
pub struct Found {
    /// Its short number (问题编号), or its id when it has none.
    pub number: String,
    /// Its site's name.
    pub site: String,
    /// Its trail at the time the report was made.
    pub trail: Trail,
}

/// 倒查责任 over a period: the findings found in it (created within its China days), their
/// trails and the totals over them.
#[derive(Clone, Debug)]
pub struct Report {
    /// The period.
    pub period: Period,
    /// The findings, earliest found first, at most [`MAX_FINDINGS`].
    pub findings: Vec<Found>,
    /// Whether the period had more findings than were read.
    pub capped: bool,
    /// The domain's totals per holder and per person over `findings`, worst first.
    pub totals: Totals,
}

impl Report {
    /// Reads the period's findings with their logs (from the ledger read model's ids, then the
    /// findings and their steps a few hundred at a time) and computes each trail at `now_ms`.
    pub async fn load(store: &dyn Store, period: Period, now_ms: i64) -> StoreResult<Report> {
        refresh(store).await?;
        let start = china_midnight(&period.from).unwrap_or(0);
        let end = china_midnight(&period.to).unwrap_or(0) + DAY_MS;
        let limit = i64::try_from(MAX_FINDINGS + 1).unwrap_or(i64::MAX);
        let mut listed = store
            .dash_query(
                "SELECT finding_id, site_name FROM dash_ledger WHERE created_at >= $1 \
                 AND created_at < $2 ORDER BY created_at, finding_id LIMIT $3",
                vec![Arg::Int(start), Arg::Int(end), Arg::Int(limit)],
            )
            .await?;
        let capped = listed.len() > MAX_FINDINGS;
        listed.truncate(MAX_FINDINGS);
        let ids: Vec<&str> = listed.iter().map(|r| r[0].text()).collect();
        let mut records: HashMap<String, FindingRecord> = HashMap::new();
        for r in rows_for_findings(
            store,
            "SELECT id, payload FROM findings WHERE id IN (",
            &ids,
        )
        .await?
        {
            records.insert(r[0].text().to_string(), serde_json::from_str(r[1].text())?);
        }
        let mut logs: HashMap<String, Vec<RectificationEventRecord>> = HashMap::new();
        let steps = "SELECT finding_id, payload FROM rectification_events WHERE finding_id IN (";
        for r in rows_for_findings(store, steps, &ids).await? {
            logs.entry(r[0].text().to_string())
                .or_default()
                .push(serde_json::from_str(r[1].text())?);
        }
        let mut numbers = finding_numbers(store, &ids).await?;
        let findings: Vec<Found> = listed
            .iter()
            .filter_map(|r| {
                let id = r[0].text();
                let record = records.get(id)?;
                let log = logs.get(id).map_or(&[][..], Vec::as_slice);
                Some(Found {
                    number: numbers.remove(id).unwrap_or_else(|| id.to_string()),
                    site: r[1].text().to_string(),
                    trail: trail(record, log, now_ms),
                })
            })
            .collect();
        let totals = totals(findings.iter().map(|f| &f.trail));
        Ok(Report {
            period,
            findings,
            capped,
            totals,
        })
    }

    /// Every stage that missed its deadline, with its finding: most days overdue first, then
    /// in the order the findings were found.
    pub fn missed(&self) -> Vec<(&Found, &Stage)> {
        let mut out: Vec<(&Found, &Stage)> = self
            .findings
            .iter()
            .flat_map(|f| f.trail.stages.iter().map(move |s| (f, s)))
            .filter(|(_, s)| s.missed)
            .collect();
        out.sort_by_key(|(_, s)| std::cmp::Reverse(s.days_overdue));
        out
    }
}

/// A holder's name: a unit's name, 创城办 for the office, 复核（回头看） for the re-check.
pub fn holder_name(l: Lang, reference: &Reference, h: &Holder) -> String {
    match h {
        Holder::Office => l.t("创城办", "the office").to_string(),
        Holder::Recheck => l.t("复核（回头看）", "re-check").to_string(),
        Holder::Unit(u) => reference.unit_name(l, u).to_string(),
    }
}

/// A holder as a stable key for the page's rows: `office`, `recheck` or `unit:<code>`.
fn holder_key(h: &Holder) -> String {
    match h {
        Holder::Office => "office".into(),
        Holder::Recheck => "recheck".into(),
        Holder::Unit(u) => format!("unit:{u}"),
    }
}

/// `GET /dashboard/accountability?from&to` (admins): the period's totals per holder and per
/// person and the stages that missed their deadline, each linked to its finding. A day that
/// cannot be read brings the page back (422) with the sentence beside its field and the
/// default period's figures below.
pub async fn accountability_page(
    State(state): State<SharedState>,
    session: Session,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, PageError> {
    let now = crate::clock::now_ms();
    match q.period(now) {
        Ok(period) => Ok(render(&state, &session, period, None)
            .await?
            .into_response()),
        Err(e) => {
            let redo = Redo::of(FORM, &[("from", q.from.as_str()), ("to", q.to.as_str())], e)?;
            let period = PeriodQuery::default().period(now)?;
            let page = render(&state, &session, period, Some(&redo)).await?;
            Ok((redo.status, page).into_response())
        }
    }
}

fn total_cells<K>(t: &Total<K>) -> Markup {
    html! {
        td class="num" { (t.findings) } td class="num" { (t.stages) } td class="num" { (t.days_held) }
        td class="num" { (t.missed) } td class="num" { (t.days_overdue) }
    }
}

async fn render(
    state: &SharedState,
    session: &Session,
    period: Period,
    redo: Option<&Redo>,
) -> Result<Markup, PageError> {
    let l = session.lang;
    let store = state.store.as_ref();
    let report = Report::load(store, period, crate::clock::now_ms()).await?;
    let reference = Reference::load(store).await?;
    let missed = report.missed();
    let late_findings = report
        .findings
        .iter()
        .filter(|f| f.trail.stages.iter().any(|s| s.missed))
        .count();
    let p = &report.period;
    let head = html! {
        th class="num" { (l.t("问题数", "Findings")) } th class="num" { (l.t("环节数", "Stages")) }
        th class="num" { (l.t("持有天数", "Days held")) } th class="num" { (l.t("逾期次数", "Deadlines missed")) }
        th class="num" { (l.t("逾期天数", "Days overdue")) }
    };
    let field = |name: &str, label: &str, value: &str| {
        html! { label { (label)
        input type="date" name=(name) value=(kept(redo, FORM, name, value))
            class=[is_wrong(redo, FORM, name).then_some("invalid")] autofocus[is_wrong(redo, FORM, name)];
        (message(redo, FORM, name)) } }
    };
    let body = html! {
        (refused_notice(l, redo))
        p class="muted" { (l.t("所选期间内发现的每个问题：各环节由谁持有、从何时到何时、在哪个环节超过期限。", "For each finding found in the period: who held each stage, from when to when, and where a deadline was missed.")) }
        form class="filters" method="get" action=(PATH) id=(FORM) {
            (form_message(redo, FORM, &["from", "to"]))
            (field("from", l.t("起始日期", "From"), &p.from))
            (field("to", l.t("截止日期", "To"), &p.to))
            button type="submit" { (l.t("统计", "Show")) }
            a class="button secondary" id="accountability-xlsx" href={ (XLSX_PATH) "?from=" (p.from) "&to=" (p.to) } { (l.t("导出 Excel", "Export to Excel")) }
        }
        @if report.capped {
            p class="notice" id="capped" { (l.t("该期间问题过多，只统计了最早发现的 ", "Too many findings in the period: only the first ")) (MAX_FINDINGS) (l.t(" 个；请缩短期间。", " found are counted; choose a shorter period.")) }
        }
        div class="cards" {
            div class="card" { (l.t("期间发现问题", "Findings in the period")) b id="total-findings" { (report.findings.len()) } }
            div class="card alert" { (l.t("有逾期的问题", "Findings with a missed deadline")) b id="total-late" { (late_findings) } }
            div class="card alert" { (l.t("逾期环节", "Missed stages")) b id="total-missed" { (missed.len()) } }
        }
        h2 { (l.t("按单位（持有方）", "By holder")) }
        table class="figures" id="by-holder" {
            thead { tr { th { (l.t("持有方", "Held by")) } (head) } }
            tbody { @for t in &report.totals.by_holder { tr class="holder-row" data-holder=(holder_key(&t.key)) {
                td { (holder_name(l, &reference, &t.key)) } (total_cells(t))
            } } }
        }
        h2 { (l.t("按人员（移交人）", "By person (who moved it on)")) }
        table class="figures" id="by-person" {
            thead { tr { th { (l.t("人员", "Person")) } (head) } }
            tbody { @for t in &report.totals.by_person { tr class="person-row" data-person=(t.key) {
                td { span title=(t.key) { (reference.person_name(&t.key)) } } (total_cells(t))
            } } }
        }
        h2 { (l.t("逾期环节（失分问题）", "Missed deadlines (findings that cost points)")) }
        @if missed.len() > MAX_LISTED {
            p class="notice" { (l.t("只列出逾期最多的 ", "Only the ")) (MAX_LISTED) (l.t(" 个环节，全部见导出的 Excel。", " worst are listed; the workbook has them all.")) }
        }
        table id="missed" {
            thead { tr { th { (l.t("问题编号", "Number")) } th { (l.t("点位", "Site")) } th { (l.t("环节", "Stage")) } th { (l.t("持有方", "Held by")) } th { (l.t("起止时间", "From – to")) } th { (l.t("期限", "Deadline")) } th class="num" { (l.t("逾期天数", "Days overdue")) } th { (l.t("移交人", "Moved on by")) } } }
            tbody { @for (f, s) in missed.iter().take(MAX_LISTED) { tr class="missed-row" data-finding=(f.trail.finding_id) {
                td { a href={ "/dashboard/findings/" (f.trail.finding_id) } { (f.number) } }
                td { (f.site) } td { (l.status(s.status)) }
                td class="missed-holder" { (holder_name(l, &reference, &s.holder)) }
                td class="nowrap" { (fmt_time(s.from_ms)) " – " @if let Some(to) = s.to_ms { (fmt_time(to)) } @else { (l.t("至今", "now")) } }
                td { (s.deadline.as_deref().unwrap_or("—")) }
                td class="num missed-days" { (s.days_overdue) }
                td { @if let Some(by) = &s.moved_on_by { span title=(by) { (reference.person_name(by)) } } }
            } } }
        }
        @if missed.is_empty() { p id="none-missed" { (l.t("该期间没有逾期环节。", "No deadline was missed in the period.")) } }
    };
    Ok(page(session, l.t("倒查责任", "Accountability"), body))
}

/// `GET /dashboard/accountability.xlsx?from&to` (admins): the same period as a workbook with
/// Chinese headings: 按单位 (per holder), 按人员 (per person) and 逾期环节 (every missed stage:
/// number, site, stage, holder, from, to, deadline, days overdue, who moved it on). A day that
/// cannot be read is refused (422) naming its field.
pub async fn download(
    State(state): State<SharedState>,
    _session: Session,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, PageError> {
    let now = crate::clock::now_ms();
    let period = q.period(now)?;
    let report = Report::load(state.store.as_ref(), period, now).await?;
    let reference = Reference::load(state.store.as_ref()).await?;
    let name = format!(
        "attachment; filename=\"accountability-{}-{}.xlsx\"",
        report.period.from, report.period.to
    );
    let bytes = tokio::task::spawn_blocking(move || write_xlsx(&report, &reference))
        .await
        .map_err(|e| PageError::from(crate::error::ApiError::internal(e)))?
        .map_err(|e| PageError::from(crate::error::ApiError::internal(e)))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (header::CONTENT_DISPOSITION, name),
        ],
        bytes,
    )
        .into_response())
}

/// The report as a workbook: 按单位, 按人员 and 逾期环节, each with its headings in row 1 and
/// the rows in the page's order; names in Chinese.
pub fn write_xlsx(report: &Report, reference: &Reference) -> Result<Vec<u8>, XlsxError> {
    const FIGURES: [&str; 5] = ["问题数", "环节数", "持有天数", "逾期次数", "逾期天数"];
    let l = Lang::Zh;
    let bold = Format::new().set_bold();
    let mut book = Workbook::new();
    for (sheet_name, first, rows) in [
        (
            "按单位",
            "持有方",
            report
                .totals
                .by_holder
                .iter()
                .map(|t| (holder_name(l, reference, &t.key), row_figures(t)))
                .collect::<Vec<_>>(),
        ),
        (
            "按人员",
            "人员",
            report
                .totals
                .by_person
                .iter()
                .map(|t| (reference.person_name(&t.key).to_string(), row_figures(t)))
                .collect(),
        ),
    ] {
        let sheet = book.add_worksheet().set_name(sheet_name)?;
        sheet.write_string_with_format(0, 0, first, &bold)?;
        sheet.set_column_width(0, 24)?;
        for (col, h) in (1u16..).zip(FIGURES) {
            sheet.write_string_with_format(0, col, h, &bold)?;
            sheet.set_column_width(col, 12)?;
        }
        for (row, (name, values)) in (1u32..).zip(rows) {
            sheet.write_string(row, 0, name)?;
            for (col, v) in (1u16..).zip(values) {
                sheet.write_number(row, col, v)?;
            }
        }
    }
    let sheet = book.add_worksheet().set_name("逾期环节")?;
    let heads = [
        "问题编号",
        "点位",
        "环节",
        "持有方",
        "起",
        "止",
        "期限",
        "逾期天数",
        "移交人",
    ];
    for (col, h) in (0u16..).zip(heads) {
        sheet.write_string_with_format(0, col, h, &bold)?;
        sheet.set_column_width(col, if col == 1 { 24 } else { 16 })?;
    }
    for (row, (f, s)) in (1u32..).zip(report.missed()) {
        let text = [
            f.number.clone(),
            f.site.clone(),
            l.status(s.status).to_string(),
            holder_name(l, reference, &s.holder),
            fmt_time(s.from_ms),
            s.to_ms.map_or_else(|| "至今".to_string(), fmt_time),
            s.deadline.clone().unwrap_or_default(),
        ];
        for (col, v) in (0u16..).zip(text) {
            sheet.write_string(row, col, v)?;
        }
        sheet.write_number(row, 7, s.days_overdue as f64)?;
        let by = s.moved_on_by.as_deref().map(|p| reference.person_name(p));
        sheet.write_string(row, 8, by.unwrap_or(""))?;
    }
    book.save_to_buffer()
}

/// A total's figures in the workbook's column order.
fn row_figures<K>(t: &Total<K>) -> [f64; 5] {
    [
        t.findings as f64,
        t.stages as f64,
        t.days_held as f64,
        t.missed as f64,
        t.days_overdue as f64,
    ]
}
