//! 通报 (admins): the weekly or on-demand bulletin of a period's findings per district, street
//! and unit — found, rectified on time, late, overdue, reopened, points lost by index — with the
//! units ranked, the red and black lists (红榜, 黑榜) and the worst cases with their before and
//! after photos; a printable page and a Word document (`.docx`, [`docx`]). The rules are the
//! domain's `bulletin` module; [`data`] reads its inputs, [`view`] says them; this module
//! picks the period and answers the requests.

pub mod data;
pub mod docx;
pub mod view;

use super::error::PageError;
use super::forms::{Redo, form_message, is_wrong, kept, message, refused_notice};
use super::layout::page;
use super::ledger::fmt_time;
use super::reference::Reference;
use super::session::Session;
use crate::app::SharedState;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use data::{MAX_FINDINGS, Report, count};
use fieldcheck_domain::bulletin::Period;
use maud::{Markup, html};
use serde::Deserialize;
use view::{heading, section, sections, title};

/// The page's address.
pub const PATH: &str = "/dashboard/bulletin";
/// The Word document's address.
pub const DOCX_PATH: &str = "/dashboard/bulletin.docx";
const FORM: &str = "bulletin-form";
/// The period and grouping as asked for in the address. `period` is `last_week` (the default),
/// `this_week` or `custom` (then `from` and `to`, China days, are read; they are also read
/// when `period` is empty and either is given). `group` is `all` (the default), `district`,
/// `street` or `unit`: which tables the bulletin has.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct BulletinQuery {
    /// `last_week`, `this_week`, `custom` or empty.
    pub period: String,
    /// First day (custom).
    pub from: String,
    /// Last day (custom).
    pub to: String,
    /// `all`, `district`, `street`, `unit` or empty.
    pub group: String,
}

/// Which tables a bulletin has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grouping {
    /// Districts, streets and units.
    All,
    /// Districts only.
    District,
    /// Streets only.
    Street,
    /// Units (with the ranking) only.
    Unit,
}

impl Grouping {
    fn code(self) -> &'static str {
        match self {
            Grouping::All => "all",
            Grouping::District => "district",
            Grouping::Street => "street",
            Grouping::Unit => "unit",
        }
    }

    /// Whether the tables of `g` are shown.
    pub fn shows(self, g: Grouping) -> bool {
        self == Grouping::All || self == g
    }
}

impl BulletinQuery {
    /// The period and grouping asked for at `now_ms`; a day that is not a date, a last day
    /// before the first, a period of more than a year or an unknown choice is refused naming
    /// its field (422), in Chinese and English.
    pub fn resolve(&self, now_ms: i64) -> Result<(Period, Grouping), PageError> {
        let custom = || {
            Period::new(&self.from, &self.to)
                .map_err(|f| PageError::invalid(f.field(), &f.zh(), &f.en()))
        };
        let period = match self.period.as_str() {
            "" if self.from.trim().is_empty() && self.to.trim().is_empty() => {
                Period::last_full_week(now_ms)
            }
            "last_week" => Period::last_full_week(now_ms),
            "this_week" => Period::week_of(now_ms),
            "" | "custom" => custom()?,
            _ => {
                return Err(PageError::invalid(
                    "period",
                    "请选择上周、本周或自定义期间",
                    "choose last week, this week or a custom period",
                ));
            }
        };
        let group = match self.group.as_str() {
            "" | "all" => Grouping::All,
            "district" => Grouping::District,
            "street" => Grouping::Street,
            "unit" => Grouping::Unit,
            _ => {
                return Err(PageError::invalid(
                    "group",
                    "请选择按区县、按街道、按单位或全部",
                    "choose by district, by street, by unit or all",
                ));
            }
        };
        Ok((period, group))
    }
}

/// Refuses a period with more than [`MAX_FINDINGS`] findings (422 on `to`).
async fn check_size(state: &SharedState, period: &Period) -> Result<(), PageError> {
    let n = count(state.store.as_ref(), period).await?;
    if n > MAX_FINDINGS {
        let zh = format!("该期间发现问题 {n} 个，超过 {MAX_FINDINGS} 个，请缩短期间");
        let en =
            format!("the period has {n} findings, more than {MAX_FINDINGS}; choose a shorter one");
        return Err(PageError::invalid("to", &zh, &en));
    }
    Ok(())
}

/// `GET /dashboard/bulletin?period&from&to&group` (admins): the bulletin as a printable page
/// with a link to its Word document. A period or choice that cannot be used brings the page
/// back (422) with the sentence beside its field and last week's bulletin below.
pub async fn bulletin_page(
    State(state): State<SharedState>,
    session: Session,
    Query(q): Query<BulletinQuery>,
) -> Result<Response, PageError> {
    let now = crate::clock::now_ms();
    let asked = match q.resolve(now) {
        Ok((period, group)) => check_size(&state, &period).await.map(|()| (period, group)),
        Err(e) => Err(e),
    };
    match asked {
        Ok((period, group)) => Ok(render(&state, &session, &q, period, group, None)
            .await?
            .into_response()),
        Err(e) => {
            let values = [
                ("period", q.period.as_str()),
                ("from", q.from.as_str()),
                ("to", q.to.as_str()),
                ("group", q.group.as_str()),
            ];
            let redo = Redo::of(FORM, &values, e)?;
            let period = Period::last_full_week(now);
            let page = render(&state, &session, &q, period, Grouping::All, Some(&redo)).await?;
            Ok((redo.status, page).into_response())
        }
    }
}

async fn render(
    state: &SharedState,
    session: &Session,
    q: &BulletinQuery,
    period: Period,
    group: Grouping,
    redo: Option<&Redo>,
) -> Result<Markup, PageError> {
    let l = session.lang;
    let store = state.store.as_ref();
    let now = crate::clock::now_ms();
    let report = Report::load(store, &period, now).await?;
    let reference = Reference::load(store).await?;
    let b = &report.bulletin;
    let chosen = match q.period.as_str() {
        "" if !q.from.trim().is_empty() || !q.to.trim().is_empty() => "custom",
        "" => "last_week",
        p => p,
    };
    let option = |value: &str, label: &str, current: &str| {
        html! { option value=(value) selected[current == value] { (label) } }
    };
    let docx = format!(
        "{DOCX_PATH}?period=custom&from={}&to={}&group={}",
        period.first,
        period.last,
        group.code()
    );
    let field = |name: &str, label: &str, value: &str| {
        html! { label { (label)
        input type="date" name=(name) id={ "bulletin-" (name) } value=(kept(redo, FORM, name, value))
            class=[is_wrong(redo, FORM, name).then_some("invalid")] autofocus[is_wrong(redo, FORM, name)];
        (message(redo, FORM, name)) } }
    };
    let body = html! {
        (refused_notice(l, redo))
        form class="filters" method="get" action=(PATH) id=(FORM) {
            (form_message(redo, FORM, &["from", "to"]))
            label { (l.t("期间", "Period"))
                select name="period" id="bulletin-period" {
                    (option("last_week", l.t("上周", "Last week"), kept(redo, FORM, "period", chosen)))
                    (option("this_week", l.t("本周", "This week"), kept(redo, FORM, "period", chosen)))
                    (option("custom", l.t("自定义", "Custom"), kept(redo, FORM, "period", chosen)))
                } }
            (field("from", l.t("起始日期", "From"), &period.first))
            (field("to", l.t("截止日期", "To"), &period.last))
            label { (l.t("分组", "Grouping"))
                select name="group" id="bulletin-group" {
                    (option("all", l.t("全部", "All"), group.code()))
                    (option("district", l.t("按区县", "By district"), group.code()))
                    (option("street", l.t("按街道", "By street"), group.code()))
                    (option("unit", l.t("按单位", "By unit"), group.code()))
                } }
            button type="submit" id="bulletin-show" { (l.t("生成通报", "Make the bulletin")) }
            a class="button secondary" id="bulletin-docx" href=(docx) { (l.t("下载 Word（.docx）", "Download Word (.docx)")) }
            button type="button" class="secondary" data-print id="print-now" { (l.t("打印 / 存为 PDF", "Print / save as PDF")) }
        }
        article id="bulletin" data-from=(period.first) data-to=(period.last) {
            h2 class="bulletin-title" id="bulletin-title" { (title(l, &report)) }
            p class="muted" id="bulletin-period" {
                (l.t("通报期间：", "Period: ")) (period.first) (l.t(" 至 ", " to ")) (period.last)
                (l.t("；统计截至 ", "; as of ")) (fmt_time(b.as_of_ms))
            }
            @for (n, s) in sections(group).into_iter().enumerate() {
                h2 id={ "section-" (n + 1) } { (heading(l, n, s)) }
                (section(l, s, &report, &reference))
            }
        }
    };
    Ok(page(session, l.t("通报", "Bulletin"), body))
}

/// `GET /dashboard/bulletin.docx?period&from&to&group` (admins): the bulletin as a Word
/// document in Chinese, with the worst cases' before and after thumbnails. A period or choice
/// that cannot be used is refused (422) naming its field.
pub async fn download(
    State(state): State<SharedState>,
    _session: Session,
    Query(q): Query<BulletinQuery>,
) -> Result<Response, PageError> {
    let now = crate::clock::now_ms();
    let (period, group) = q.resolve(now)?;
    check_size(&state, &period).await?;
    let report = Report::load(state.store.as_ref(), &period, now).await?;
    let reference = Reference::load(state.store.as_ref()).await?;
    let photos = docx::photos(&state, &report).await;
    let name = format!(
        "attachment; filename=\"bulletin-{}-{}.docx\"",
        period.first, period.last
    );
    let bytes = tokio::task::spawn_blocking(move || {
        let at = std::time::Instant::now();
        let bytes = docx::write(&report, &reference, group, &photos);
        let ms = at.elapsed().as_secs_f64() * 1000.0;
        tracing::debug!(target: "fieldcheck::bulletin", ms, "bulletin written as .docx");
        bytes
    })
    .await
    .map_err(|e| PageError::from(crate::error::ApiError::internal(e)))?
    .map_err(|e| PageError::from(crate::error::ApiError::internal(e)))?;
    Ok((
        [
            (header::CONTENT_TYPE, docx::MIME.to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        bytes,
    )
        .into_response())
}
