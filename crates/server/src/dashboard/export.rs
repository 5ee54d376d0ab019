//! Exports of the ledger with the current filters: the .xlsx 台账 (rust_xlsxwriter: short
//! numbers, real dates, 是/否, item texts, photo thumbnails in the cells), built as a background
//! job ([`super::export_jobs`]: any replica shows its progress) whose progress page refreshes
//! itself until the file is ready; and the printable report (print CSS, one block per finding with its before and after
//! photos) that a browser saves as PDF.

use super::error::PageError;
use super::export_jobs::{self, JobState, Progress};
use super::i18n::Lang;
use super::layout::page;
use super::ledger::{LedgerFilter, LedgerRow, fmt_time, status_badge};
use super::marked::marked_copies;
use super::numbers::finding_numbers;
use super::reference::{Reference, templates};
use super::session::Session;
use crate::app::{AppState, SharedState};
use crate::store::{Store, StoreResult};
use crate::thumbnails::thumbnail;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use fieldcheck_domain::china_time::CHINA_OFFSET_S;
use maud::{Markup, html};
use rust_xlsxwriter::{ExcelDateTime, Format, Image, Url, Workbook, XlsxError};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use uuid::Uuid;

/// Most rows in one export.
pub const MAX_EXPORT_ROWS: u32 = 100_000;
/// Most findings in one printable report.
pub const MAX_REPORT_ROWS: u32 = 200;
/// The export form: CSRF token and the ledger's query string.
#[derive(Deserialize)]
pub struct ExportForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// The ledger filter as a query string (`?status=…&…`).
    #[serde(default)]
    pub query: String,
}

/// The column titles of the 台账.
pub fn headers(l: Lang) -> [&'static str; 19] {
    [
        l.t("问题编号", "Number"),
        l.t("发现时间", "Found"),
        l.t("区县", "District"),
        l.t("街道", "Street"),
        l.t("点位", "Site"),
        l.t("点位类型", "Site type"),
        l.t("类别", "Category"),
        l.t("问题类型", "Problem type"),
        l.t("测评内容", "Checklist item"),
        l.t("问题描述", "Problem"),
        l.t("严重程度", "Severity"),
        l.t("责任单位", "Unit"),
        l.t("整改期限", "Deadline"),
        l.t("状态", "Status"),
        l.t("是否超期", "Overdue"),
        l.t("当场整改", "Fixed on the spot"),
        l.t("记录人", "Recorded by"),
        l.t("整改前照片", "Before photo"),
        l.t("整改后照片", "After photo"),
    ]
}

/// Exports of at most this many rows carry their photos' thumbnails in the cells (a clerk
/// prints a filtered list); longer ones link to the photos only, to stay a file Excel opens.
pub const MAX_ROWS_WITH_THUMBNAILS: usize = 1_000;

/// Row height (points) of a row that shows thumbnails.
const THUMB_ROW_HEIGHT: f64 = 72.0;

/// Everything the 台账 workbook shows beside the ledger rows.
pub struct SheetInput<'a> {
    /// The rows, in ledger order.
    pub rows: &'a [LedgerRow],
    /// Finding id → short number (问题编号).
    pub numbers: &'a HashMap<String, String>,
    /// Photo → its latest marked copy (shown and linked instead).
    pub marked: &'a HashMap<String, String>,
    /// Checklist item code → its text in the language.
    pub items: &'a HashMap<String, String>,
    /// Photo → its thumbnail (JPEG), for the photos shown in cells.
    pub thumbs: &'a HashMap<String, Vec<u8>>,
    /// Names of units, site types and subcategories.
    pub reference: &'a Reference,
    /// The server's base URL, for photo links.
    pub base_url: &'a str,
}

/// Writes the 台账 workbook: short numbers, real dates (found: date and time; deadline: date),
/// 是/否 for yes/no columns, checklist items with their text, and each photo as its thumbnail
/// in the cell (when given in `thumbs`) linking to the whole photo; `progress` is told the rows
/// written so far.
pub fn write_xlsx(
    input: &SheetInput<'_>,
    l: Lang,
    progress: &dyn Fn(usize),
) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(l.t("问题台账", "Ledger"))?;
    let bold = Format::new().set_bold().set_background_color("EEF2F6");
    let when = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let day = Format::new().set_num_format("yyyy-mm-dd");
    let wrap = Format::new().set_text_wrap();
    for (c, title) in headers(l).iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *title, &bold)?;
    }
    for (c, width) in [
        14, 16, 10, 12, 20, 12, 8, 12, 22, 40, 8, 16, 11, 8, 8, 8, 12, 16, 16,
    ]
    .iter()
    .enumerate()
    {
        sheet.set_column_width(c as u16, *width)?;
    }
    let yes_no = |b: bool| {
        if b {
            l.t("是", "yes")
        } else {
            l.t("否", "no")
        }
    };
    let reference = input.reference;
    for (i, r) in input.rows.iter().enumerate() {
        let n = (i + 1) as u32;
        let number = input.numbers.get(&r.finding_id).unwrap_or(&r.finding_id);
        sheet.write_string(n, 0, number)?;
        let found = ExcelDateTime::from_timestamp(
            r.created_at.div_euclid(1000) + i64::from(CHINA_OFFSET_S),
        )?;
        sheet.write_datetime_with_format(n, 1, &found, &when)?;
        let item = r
            .item_code
            .as_deref()
            .map(|code| match input.items.get(code) {
                Some(text) => format!("{code} {text}"),
                None => code.to_string(),
            });
        let text = [
            (2, r.district.as_str()),
            (3, r.street.as_str()),
            (4, r.site_name.as_str()),
            (5, reference.site_type_name(l, &r.site_type)),
            (6, l.category(&r.category)),
            (7, reference.subcategory_name(l, &r.subcategory)),
            (8, item.as_deref().unwrap_or("")),
            (10, l.severity(&r.severity)),
            (
                11,
                r.unit.as_deref().map_or("", |u| reference.unit_name(l, u)),
            ),
            (13, l.status_name(&r.status)),
            (14, yes_no(r.overdue)),
            (15, yes_no(r.same_day)),
            (16, reference.person_name(&r.reporter)),
        ];
        for (c, t) in text {
            sheet.write_string(n, c, t)?;
        }
        sheet.write_string_with_format(n, 9, &r.description, &wrap)?;
        match r.deadline.as_deref().map(ExcelDateTime::parse_from_str) {
            Some(Ok(d)) => sheet.write_datetime_with_format(n, 12, &d, &day)?,
            Some(Err(_)) => sheet.write_string(n, 12, r.deadline.as_deref().unwrap_or(""))?,
            None => sheet,
        };
        for (c, photo) in [(17u16, &r.thumb), (18u16, &r.after_photo)] {
            let Some(sha) = photo else { continue };
            let (sha, text) = match input.marked.get(sha) {
                Some(copy) => (copy, l.t("查看标注照片", "open marked photo")),
                None => (sha, l.t("查看照片", "open photo")),
            };
            let url = format!("{}/dashboard/photos/{sha}", input.base_url);
            match input.thumbs.get(sha) {
                Some(jpeg) => {
                    let image = Image::new_from_buffer(jpeg)?
                        .set_url(url.as_str())?
                        .set_alt_text(text);
                    sheet.set_row_height(n, THUMB_ROW_HEIGHT)?;
                    sheet.insert_image_fit_to_cell_centered(n, c, &image)?;
                }
                None => {
                    sheet.write_url(n, c, Url::new(url).set_text(text))?;
                }
            }
        }
        if i % 500 == 0 {
            progress(i);
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, input.rows.len() as u32, 18)?;
    progress(input.rows.len());
    book.save_to_buffer()
}

/// Checklist item code → its text in the language, from the newest version of each checklist.
async fn item_texts(store: &dyn Store, l: Lang) -> StoreResult<HashMap<String, String>> {
    let mut out = HashMap::new();
    for template in templates(store).await? {
        for item in template.items {
            out.entry(item.code)
                .or_insert_with(|| l.name(&item.text_zh, &item.title_en).to_string());
        }
    }
    Ok(out)
}

/// The thumbnails of the photos `rows` show (marked copies where there are), when there are
/// at most [`MAX_ROWS_WITH_THUMBNAILS`] rows; a photo without one is linked only.
async fn thumbnails_for(
    state: &AppState,
    rows: &[LedgerRow],
    marked: &HashMap<String, String>,
) -> HashMap<String, Vec<u8>> {
    let mut out = HashMap::new();
    if rows.len() > MAX_ROWS_WITH_THUMBNAILS {
        return out;
    }
    let mut shown: Vec<String> = Vec::new();
    for r in rows {
        for sha in [&r.thumb, &r.after_photo].into_iter().flatten() {
            shown.push(marked.get(sha).unwrap_or(sha).clone());
        }
    }
    for sha in shown {
        if !out.contains_key(&sha)
            && let Ok(bytes) = thumbnail(state, &sha).await
        {
            out.insert(sha, bytes);
        }
    }
    out
}

/// The server's base URL as the browser reached it (for photo links in the workbook).
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

fn parse_filter(query: &str) -> Result<LedgerFilter, PageError> {
    serde_urlencoded::from_str(query.trim_start_matches('?'))
        .map_err(|_| PageError::invalid("query", "筛选条件无法识别", "the filter cannot be read"))
}

/// `POST /dashboard/exports`: starts an export of the ledger with the filter given.
pub async fn start(
    State(state): State<SharedState>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<ExportForm>,
) -> Result<Redirect, PageError> {
    session.check_csrf(&form.csrf)?;
    let filter = parse_filter(&form.query)?;
    let query = filter.query(session.unit_scope())?;
    let id = export_jobs::create(&state, &session.user.name).await?;
    let job = Arc::new(Progress::default());
    let lang = session.lang;
    let base = base_url(&headers);
    let state = state.clone();
    tokio::spawn(async move {
        let heartbeat = export_jobs::heartbeat(state.clone(), id, job.clone());
        let outcome = async {
            let store = state.store.as_ref();
            let rows = query
                .all(store, MAX_EXPORT_ROWS)
                .await
                .map_err(|e| e.to_string())?;
            let reference = Reference::load(store).await.map_err(|e| e.to_string())?;
            let ids: Vec<&str> = rows.iter().map(|r| r.finding_id.as_str()).collect();
            let marked = marked_copies(store, &ids)
                .await
                .map_err(|e| e.to_string())?;
            let numbers = finding_numbers(store, &ids)
                .await
                .map_err(|e| e.to_string())?;
            let items = item_texts(store, lang).await.map_err(|e| e.to_string())?;
            let total = rows.len();
            job.total.store(total, Ordering::Relaxed);
            let thumbs = thumbnails_for(&state, &rows, &marked).await;
            let j = job.clone();
            tokio::task::spawn_blocking(move || {
                let input = SheetInput {
                    rows: &rows,
                    numbers: &numbers,
                    marked: &marked,
                    items: &items,
                    thumbs: &thumbs,
                    reference: &reference,
                    base_url: &base,
                };
                write_xlsx(&input, lang, &|n| j.done.store(n, Ordering::Relaxed))
                    .map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| e.to_string())?
            .map(|bytes| (bytes, total as u64))
        }
        .await;
        heartbeat.abort();
        export_jobs::finish(&state, id, outcome).await;
    });
    Ok(Redirect::to(&format!("/dashboard/exports/{id}")))
}

/// The session's own export job `id`.
async fn job_of(state: &SharedState, session: &Session, id: Uuid) -> Result<JobState, PageError> {
    export_jobs::get(state, id, &session.user.name)
        .await?
        .ok_or_else(|| {
            PageError::not_found(
                "没有这个导出任务（可能已过期）",
                "no such export (it may have expired)",
            )
        })
}

/// `GET /dashboard/exports/{id}`: progress, refreshing itself every second until done.
pub async fn progress(
    State(state): State<SharedState>,
    session: Session,
    Path(id): Path<Uuid>,
) -> Result<Response, PageError> {
    let l = session.lang;
    let job = job_of(&state, &session, id).await?;
    let running = matches!(job, JobState::Running { .. });
    let body = html! {
        @match job {
            JobState::Running { done, total } => {
                p id="export-progress" { (l.t("正在生成 Excel 台账……", "Building the workbook…")) }
                progress value=(done) max=(total.max(1)) {}
                p { (done) " / " (total) }
            }
            JobState::Ready { total } => {
                p id="export-ready" { (l.t("已完成：", "Ready: ")) (total) " " (l.t("条问题", "findings")) }
                a class="button" id="export-download" href={ "/dashboard/exports/" (id) "/file" } { (l.t("下载 .xlsx", "Download .xlsx")) }
            }
            JobState::Failed => { p class="error" id="export-failed" { (l.t("导出失败，请重试或联系管理员", "the export failed; retry or tell the administrator")) } }
        }
    };
    let mut html_page = page(&session, l.t("导出 Excel 台账", "Export"), body).into_string();
    if running {
        html_page = html_page.replacen(
            "<head>",
            "<head><meta http-equiv=\"refresh\" content=\"1\">",
            1,
        );
    }
    Ok(axum::response::Html(html_page).into_response())
}

/// `GET /dashboard/exports/{id}/file`: the finished workbook.
pub async fn file(
    State(state): State<SharedState>,
    session: Session,
    Path(id): Path<Uuid>,
) -> Result<Response, PageError> {
    let not_ready = || PageError::not_found("导出尚未完成", "the export is not finished");
    if !matches!(job_of(&state, &session, id).await?, JobState::Ready { .. }) {
        return Err(not_ready());
    }
    let bytes = export_jobs::file(&state, id)
        .await
        .map_err(|e| PageError::from(crate::error::ApiError::internal(e)))?
        .ok_or_else(not_ready)?;
    let day = fieldcheck_domain::china_time::china_date(crate::clock::now_ms()).replace('-', "");
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"ledger-{day}.xlsx\"; filename*=UTF-8''%E9%97%AE%E9%A2%98%E5%8F%B0%E8%B4%A6-{day}.xlsx"),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /dashboard/report`: the printable report of the filtered ledger (at most
/// [`MAX_REPORT_ROWS`] findings), one block per finding with before and after photos.
pub async fn report(
    State(state): State<SharedState>,
    session: Session,
    Query(filter): Query<LedgerFilter>,
) -> Result<Markup, PageError> {
    let l = session.lang;
    let query = filter.query(session.unit_scope())?;
    let rows = query.all(state.store.as_ref(), MAX_REPORT_ROWS).await?;
    let reference = Reference::load(state.store.as_ref()).await?;
    let ids: Vec<&str> = rows.iter().map(|r| r.finding_id.as_str()).collect();
    let marked = marked_copies(state.store.as_ref(), &ids).await?;
    let numbers = finding_numbers(state.store.as_ref(), &ids).await?;
    let body = html! {
        p class="no-print" {
            button type="button" data-print id="print-now" { (l.t("打印 / 存为 PDF", "Print / save as PDF")) }
            " " (l.t("最多显示", "Shows at most")) " " (MAX_REPORT_ROWS) " " (l.t("条。", "findings."))
        }
        p { (l.t("生成时间", "Made")) "：" (fmt_time(crate::clock::now_ms())) " · " (rows.len()) " " (l.t("条问题", "findings")) }
        @for r in &rows {
            section class="report-block" data-finding=(r.finding_id) {
                h2 { @if let Some(n) = numbers.get(&r.finding_id) { span class="number" { (n) } " " } (r.site_name) " · " (r.description) }
                p { (fmt_time(r.created_at)) " · " (r.district) " " (r.street) " · "
                    (l.category(&r.category)) " · " (reference.subcategory_name(l, &r.subcategory)) " · "
                    (l.t("责任单位", "Unit")) "：" (r.unit.as_deref().map(|u| reference.unit_name(l, u)).unwrap_or("—")) " · "
                    (l.t("期限", "Deadline")) "：" (r.deadline.as_deref().unwrap_or("—")) " · "
                    (status_badge(l, &r.status, r.overdue)) }
                div class="photos" {
                    @for (photo, caption) in [(&r.thumb, l.t("整改前", "Before")), (&r.after_photo, l.t("整改后", "After"))] {
                        @if let Some(t) = photo {
                            @if let Some(copy) = marked.get(t) {
                                figure class="marked" { img src={ "/dashboard/photos/" (copy) } alt=(caption);
                                    figcaption { (caption) "（" (l.t("已标注", "marked")) "） " a class="original-link" href={ "/dashboard/photos/" (t) } { (l.t("原图", "original")) } } }
                            } @else {
                                figure { img src={ "/dashboard/photos/" (t) } alt=(caption); figcaption { (caption) } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        &session,
        l.t("问题整改报告", "Rectification report"),
        body,
    ))
}
