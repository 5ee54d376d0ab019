//! 任务分工 in the dashboard (admins): the division in force and its rules, the Excel import
//! and download, and the 无人管 list: open findings that were never dispatched and that no
//! rule owns, each linked to its page where the office dispatches it by hand.

use super::error::PageError;
use super::forms::{Redo, form_message};
use super::layout::page;
use super::numbers::finding_numbers;
use super::reference::{Reference, templates};
use super::session::Session;
use crate::app::SharedState;
use crate::office::auto_dispatch::{Decision, decide, waiting};
use crate::office::division::{COLUMNS, MAX_XLSX_BYTES, read_xlsx, write_xlsx};
use crate::office::{Office, OfficeError};
use axum::extract::{Multipart, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use fieldcheck_domain::china_time::{china_date, china_datetime};
use maud::{Markup, html};
use std::collections::HashMap;
use uuid::Uuid;

/// Rules shown on the page at most (the download has them all).
const RULES_SHOWN: usize = 500;

/// `GET /dashboard/division`: the page.
pub async fn division_page(
    State(state): State<SharedState>,
    session: Session,
) -> Result<Markup, PageError> {
    render(&state, &session, None).await
}

async fn render(
    state: &SharedState,
    session: &Session,
    redo: Option<&Redo>,
) -> Result<Markup, PageError> {
    let l = session.lang;
    let reference = Reference::load(state.store.as_ref()).await?;
    let division = state.store.task_division().await?;
    let sites: HashMap<Uuid, &fieldcheck_protocol::Site> =
        reference.sites.iter().map(|s| (s.id, s)).collect();
    let rows = match &division {
        Some(d) => waiting(state, d, crate::clock::now_ms()).await?,
        None => Vec::new(),
    };
    let rules = division.as_ref().map_or(&[][..], |d| &d.division.rules[..]);
    let unowned: Vec<_> = decide(rules, &sites, &rows)
        .into_iter()
        .filter(|(_, d)| matches!(d, Decision::Unowned))
        .map(|(r, _)| r)
        .collect();
    let ids: Vec<String> = unowned.iter().map(|r| r.record.id.to_string()).collect();
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let numbers = finding_numbers(state.store.as_ref(), &id_refs).await?;
    let unit = |code: &str| reference.unit_name(l, code).to_string();
    let site_name = |id: Uuid| sites.get(&id).map_or(id.to_string(), |s| s.name.clone());
    let body = html! {
        p class="hint" {
            (l.t("新发现的问题按下表自动派遣给责任单位：写了检查项的规则优先，其次是点位、街道、区县、点位类型；同样具体时，靠上的行优先。没有规则适用的问题列为“无人管”。",
                 "New findings are dispatched by this table: a rule naming a checklist item comes first, then a site, a street, a district, a site type; between equals, the higher row. A finding no rule matches is listed as nobody's."))
        }
        section id="division-status" {
            @match &division {
                Some(d) => p {
                    (l.t("现行任务分工：", "In force: "))
                    strong { (l.t("第 ", "version ")) (d.version) (l.t(" 版", "")) }
                    "，" (d.division.rules.len()) (l.t(" 条规则，", " rules, "))
                    (l.t("由 ", "imported by ")) (reference.person_name(&d.division.imported_by))
                    (l.t(" 于 ", " on ")) (china_datetime(d.division.imported_at))
                    (l.t(" 导入（", " (")) (d.division.source) (l.t("）", ")"))
                },
                None => p { (l.t("尚未导入任务分工：新问题由创城办逐条派遣。", "No task division yet: the office dispatches each new finding by hand.")) },
            }
        }
        form method="post" action="/dashboard/division" enctype="multipart/form-data" class="filters" id="division-form" {
            input type="hidden" name="csrf" value=(session.csrf);
            label { (l.t("导入任务分工（Excel .xlsx，整表替换）", "Import the task division (Excel .xlsx; replaces the whole table)"))
                input type="file" name="division" accept=".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" required id="division-file"; }
            button type="submit" id="division-import" { (l.t("导入", "Import")) }
            a href="/dashboard/division.xlsx" id="division-download" {
                @if division.is_some() { (l.t("下载现行任务分工（Excel）", "Download the division in force (Excel)")) }
                @else { (l.t("下载模板（Excel）", "Download a template (Excel)")) }
            }
            (form_message(redo, "division-form", &[]))
        }
        section id="unowned" {
            h2 { (l.t("无人管", "Nobody's")) " (" (unowned.len()) ")" }
            @if division.is_none() {
                p class="hint" { (l.t("导入任务分工后，这里列出没有规则适用、等待指定责任单位的问题。", "Once a division is in force, findings no rule owns are listed here.")) }
            } @else if unowned.is_empty() {
                p class="hint" { (l.t("没有无人管的问题。", "No finding is without an owner.")) }
            } @else {
                table {
                    thead { tr { th { (l.t("编号", "No.")) } th { (l.t("点位", "Site")) } th { (l.t("检查项", "Item")) } th { (l.t("问题描述", "Description")) } th { (l.t("发现日期", "Found")) } th { (l.t("现场所填单位", "Unit named on site")) } } }
                    tbody {
                        @for r in &unowned {
                            tr class="unowned-finding" {
                                td { a href={ "/dashboard/findings/" (r.record.id) } { (numbers.get(&r.record.id.to_string()).map_or("—", String::as_str)) } }
                                td { (site_name(r.record.site_id)) }
                                td { (r.record.item_code.as_deref().unwrap_or("—")) }
                                td { (r.record.description) }
                                td { (china_date(r.record.created_at)) }
                                td { (r.record.unit.as_deref().map(unit).unwrap_or_else(|| "—".into())) }
                            }
                        }
                    }
                }
            }
        }
        @if !rules.is_empty() {
            section {
                h2 { (l.t("规则", "Rules")) }
                @if rules.len() > RULES_SHOWN {
                    p class="hint" { (l.t("只显示前 500 条，完整的表请下载。", "The first 500 are shown; download the whole table.")) }
                }
                table id="division-rules" {
                    thead { tr { @for (zh, en) in COLUMNS { th { (l.t(zh, en)) } } } }
                    tbody {
                        @for r in rules.iter().take(RULES_SHOWN) {
                            tr {
                                td { (r.district.as_deref().unwrap_or("")) }
                                td { (r.street.as_deref().unwrap_or("")) }
                                td { (r.site_type.as_deref().map(|t| reference.site_type_name(l, t)).unwrap_or("")) }
                                td { (r.site_id.map(site_name).unwrap_or_default()) }
                                td { (r.item_code.as_deref().unwrap_or("")) }
                                td { (unit(&r.unit)) }
                                td { (r.person) }
                                td { (r.phone) }
                                td { (r.partner_unit.as_deref().map(unit).unwrap_or_default()) }
                                td { (r.days) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(session, l.t("任务分工", "Task division"), body))
}

/// `POST /dashboard/division` (multipart: `csrf`, `division`): imports the workbook; a refused
/// one brings the page back with every faulty row named.
pub async fn import(
    State(state): State<SharedState>,
    session: Session,
    form: Multipart,
) -> Result<Response, PageError> {
    let result = read_and_import(&state, &session, form).await;
    super::forms::answer("division-form", &[], result, async |redo| {
        render(&state, &session, Some(redo)).await
    })
    .await
}

async fn read_and_import(
    state: &SharedState,
    session: &Session,
    mut form: Multipart,
) -> Result<Redirect, PageError> {
    let too_big = || {
        PageError::invalid(
            "division",
            &format!("文件超过 {} MB", MAX_XLSX_BYTES >> 20),
            &format!("the file is larger than {} MB", MAX_XLSX_BYTES >> 20),
        )
    };
    let mut csrf = String::new();
    let mut file: Vec<u8> = Vec::new();
    let mut source = String::from("任务分工.xlsx");
    while let Some(field) = form.next_field().await.map_err(|_| too_big())? {
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.map_err(|_| PageError::csrf())?,
            "division" => {
                if let Some(name) = field.file_name().filter(|n| !n.trim().is_empty()) {
                    source = name.chars().take(100).filter(|c| !c.is_control()).collect();
                }
                file = field.bytes().await.map_err(|_| too_big())?.to_vec();
            }
            _ => {}
        }
    }
    session.check_csrf(&csrf)?;
    if file.is_empty() {
        return Err(PageError::invalid(
            "division",
            "请选择任务分工的 Excel 文件（.xlsx）",
            "choose the task division's Excel file (.xlsx)",
        ));
    }
    let reference = Reference::load(state.store.as_ref()).await?;
    let templates = templates(state.store.as_ref()).await?;
    let rules = tokio::task::spawn_blocking(move || read_xlsx(&file, &reference, &templates))
        .await
        .map_err(|e| PageError::from(crate::error::ApiError::internal(e)))?
        .map_err(|fault| PageError::invalid(fault.field, &fault.zh, &fault.en))?;
    Office::new(state, session.actor())
        .import_division(rules, &source)
        .await
        .map_err(|e: OfficeError| PageError::from(e))?;
    Ok(Redirect::to("/dashboard/division"))
}

/// `GET /dashboard/division.xlsx`: the division in force as the workbook the import reads
/// (a template with two example rows when there is none).
pub async fn download(
    State(state): State<SharedState>,
    _session: Session,
) -> Result<Response, PageError> {
    let reference = Reference::load(state.store.as_ref()).await?;
    let rules = state
        .store
        .task_division()
        .await?
        .map(|d| d.division.rules)
        .unwrap_or_default();
    let bytes = tokio::task::spawn_blocking(move || write_xlsx(&rules, &reference))
        .await
        .map_err(|e| PageError::from(crate::error::ApiError::internal(e)))?
        .map_err(|e| PageError::from(crate::error::ApiError::internal(e)))?;
    let disposition = "attachment; filename=\"task-division.xlsx\"; filename*=UTF-8''%E4%BB%BB%E5%8A%A1%E5%88%86%E5%B7%A5.xlsx";
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}
