//! 问题台账, the problem ledger: filters (date range, district/street, site type, site,
//! category, unit, status, overdue), sorting and paging over the `dash_ledger` read model,
//! with a thumbnail per row. A unit member sees only its own unit's findings, whatever the
//! filter says.

use super::error::PageError;
use super::i18n::{Lang, STATUSES};
use super::layout::{csrf_field, page};
use super::numbers::finding_numbers;
use super::presence::{Work, check_ins};
use super::projection::{placeholders, refresh};
use super::reference::Reference;
use super::session::Session;
use crate::app::SharedState;
use crate::store::dashboard::{Arg, Cell};
use crate::store::{Store, StoreResult};
use axum::extract::{Query, State};
use fieldcheck_domain::rectification::Status;
use fieldcheck_store::dash_row;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

/// The ledger's overdue rule in SQL: still owed and past its deadline, the one parameter being
/// today (China time). The 仅超期 filter and the overview's 逾期 count both use it.
pub const OVERDUE: &str = "due_open = 1 AND deadline < ?";

/// Rows per ledger page.
pub const PER_PAGE: u32 = 50;

/// The ledger's filters, sort and page, as the query string carries them (empty = any).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct LedgerFilter {
    /// First day, `YYYY-MM-DD` (China time), inclusive.
    pub from: String,
    /// Last day, inclusive.
    pub to: String,
    /// District (区/县).
    pub district: String,
    /// Street office.
    pub street: String,
    /// Site type code.
    pub site_type: String,
    /// Site id.
    pub site: String,
    /// `component` or `event`.
    pub category: String,
    /// Responsible unit code.
    pub unit: String,
    /// Stored status name.
    pub status: String,
    /// `1`: only overdue findings.
    pub overdue: String,
    /// Sort key: `created`, `deadline`, `status`, `site`, `unit`.
    pub sort: String,
    /// `asc` or `desc` (default: newest first).
    pub dir: String,
    /// Page from 1.
    pub page: String,
}

dash_row! {
    /// One row of the ledger.
    #[derive(Clone, Debug, PartialEq)]
    pub struct LedgerRow {
    /// Finding id.
    pub finding_id: String,
    /// Creation time, Unix ms.
    pub created_at: i64,
    /// Site id.
    pub site_id: String,
    /// Site name.
    pub site_name: String,
    /// Site type code.
    pub site_type: String,
    /// District.
    pub district: String,
    /// Street.
    pub street: String,
    /// `component` or `event`.
    pub category: String,
    /// Subcategory code.
    pub subcategory: String,
    /// Template item code.
    pub item_code: Option<String>,
    /// What is wrong.
    pub description: String,
    /// Severity name.
    pub severity: String,
    /// Current unit.
    pub unit: Option<String>,
    /// Status name.
    pub status: String,
    /// Deadline `YYYY-MM-DD`.
    pub deadline: Option<String>,
    /// Still owed to its deadline (not rectified, verified or closed).
    pub due_open: bool,
    /// Past its deadline and still owed (set from `due_open`, `deadline` and today).
    pub overdue: bool = skip,
    /// 当场整改.
    pub same_day: bool,
    /// Inspector.
    pub reporter: String,
    /// Hash of the first stored before-photo.
    pub thumb: Option<String>,
    /// Hash of the latest after-photo.
    pub after_photo: Option<String>,
    }
}

impl LedgerRow {
    /// A row selected with [`LedgerRow::columns`], with `overdue` as of `today`.
    fn read(cells: &[Cell], today: &str) -> LedgerRow {
        let mut row = LedgerRow::from_cells(cells);
        row.overdue = row.due_open && row.deadline.as_deref().is_some_and(|d| d < today);
        row
    }

    /// Whole China days past the deadline today, when the row is overdue.
    pub fn overdue_days(&self) -> Option<i64> {
        let deadline = self.deadline.as_deref().filter(|_| self.overdue)?;
        let today = fieldcheck_domain::china_time::china_date(crate::clock::now_ms());
        days_between(deadline, &today)
    }
}

/// Days from China day `from` to China day `to` (`YYYY-MM-DD`), when both are real days.
pub fn days_between(from: &str, to: &str) -> Option<i64> {
    let midnight = fieldcheck_domain::china_time::china_midnight;
    Some((midnight(to)? - midnight(from)?) / 86_400_000)
}

/// A checked filter: the WHERE clause with its arguments, and the ORDER BY.
#[derive(Clone, Debug)]
pub struct LedgerQuery {
    where_sql: String,
    args: Vec<Arg>,
    order_sql: String,
    /// Today in China time (for overdue).
    pub today: String,
    /// Page from 1.
    pub page: u32,
}

impl LedgerFilter {
    /// Checks the filter and builds its query; `unit_scope` confines a unit member. A bad
    /// value is refused naming its field.
    pub fn query(&self, unit_scope: Option<&str>) -> Result<LedgerQuery, PageError> {
        let today = fieldcheck_domain::china_time::china_date(crate::clock::now_ms());
        let mut conds: Vec<String> = Vec::new();
        let mut args: Vec<Arg> = Vec::new();
        let mut add = |cond: &str, arg: Arg| {
            args.push(arg);
            conds.push(cond.replace('?', &format!("${}", args.len())));
        };
        if !self.from.is_empty() {
            let ms =
                fieldcheck_domain::china_time::china_midnight(&self.from).ok_or_else(|| {
                    PageError::invalid(
                        "from",
                        "日期格式应为 年-月-日，如 2026-11-01",
                        "a date must look like 2026-11-01",
                    )
                })?;
            add("created_at >= ?", Arg::Int(ms));
        }
        if !self.to.is_empty() {
            let ms = fieldcheck_domain::china_time::china_midnight(&self.to).ok_or_else(|| {
                PageError::invalid(
                    "to",
                    "日期格式应为 年-月-日，如 2026-11-30",
                    "a date must look like 2026-11-30",
                )
            })?;
            add("created_at < ?", Arg::Int(ms + 86_400_000));
        }
        if !self.category.is_empty() && !matches!(self.category.as_str(), "component" | "event") {
            return Err(PageError::invalid(
                "category",
                "类别只能是 部件 或 事件",
                "category is component or event",
            ));
        }
        for (value, column) in [
            (&self.district, "district"),
            (&self.street, "street"),
            (&self.site_type, "site_type"),
            (&self.site, "site_id"),
            (&self.category, "category"),
        ] {
            if !value.is_empty() {
                add(&format!("{column} = ?"), value.as_str().into());
            }
        }
        match unit_scope {
            Some(u) => add("unit = ?", u.into()),
            None if !self.unit.is_empty() => add("unit = ?", self.unit.as_str().into()),
            None => {}
        }
        if !self.status.is_empty() {
            if Status::parse(&self.status).is_none() {
                return Err(PageError::invalid(
                    "status",
                    "没有这个状态",
                    "no such status",
                ));
            }
            add("status = ?", self.status.as_str().into());
        }
        match self.overdue.as_str() {
            "" | "0" => {}
            "1" => add(OVERDUE, today.as_str().into()),
            _ => {
                return Err(PageError::invalid(
                    "overdue",
                    "只能是 1 或留空",
                    "overdue is 1 or empty",
                ));
            }
        }
        let column = match self.sort.as_str() {
            "" | "created" => "created_at",
            "deadline" => "deadline",
            "status" => "status",
            "site" => "site_name",
            "unit" => "unit",
            _ => {
                return Err(PageError::invalid(
                    "sort",
                    "不能按此列排序",
                    "cannot sort by this column",
                ));
            }
        };
        let dir = match self.dir.as_str() {
            "" | "desc" => "DESC",
            "asc" => "ASC",
            _ => {
                return Err(PageError::invalid(
                    "dir",
                    "只能是 asc 或 desc",
                    "dir is asc or desc",
                ));
            }
        };
        let page = match self.page.as_str() {
            "" => 1,
            p => p
                .parse::<u32>()
                .ok()
                .filter(|p| (1..=100_000).contains(p))
                .ok_or_else(|| {
                    PageError::invalid("page", "页码应为正整数", "page is a positive whole number")
                })?,
        };
        let where_sql = if conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conds.join(" AND "))
        };
        // Ties go the same way as the sort column when it is the date, so that the index
        // (created_at, finding_id) serves both directions.
        let order_sql = if column == "created_at" {
            format!("ORDER BY created_at {dir}, finding_id {dir}")
        } else {
            format!("ORDER BY {column} {dir}, created_at DESC, finding_id")
        };
        Ok(LedgerQuery {
            where_sql,
            args,
            order_sql,
            today,
            page,
        })
    }

    /// The query string of this filter with another sort, direction or page.
    pub fn link(&self, change: impl FnOnce(&mut LedgerFilter)) -> String {
        let mut f = self.clone();
        change(&mut f);
        let pairs = serde_urlencoded::to_string(&f).unwrap_or_default();
        // Leave out empty fields so links stay short.
        let short: Vec<&str> = pairs.split('&').filter(|kv| !kv.ends_with('=')).collect();
        format!("?{}", short.join("&"))
    }
}

impl LedgerQuery {
    /// One page of rows and the total count.
    pub async fn page(
        &self,
        store: &dyn Store,
        per_page: u32,
    ) -> StoreResult<(Vec<LedgerRow>, u64)> {
        refresh(store).await?;
        let n = self.args.len();
        let mut args = self.args.clone();
        args.push(Arg::Int(i64::from(per_page)));
        args.push(Arg::Int(i64::from((self.page - 1) * per_page)));
        // The page's ids first, from an index alone where one covers the filter and order,
        // then only those rows: a deep page skips index entries, not whole rows.
        let rows = store
            .dash_query(
                &format!(
                    "SELECT {columns} FROM dash_ledger WHERE finding_id IN (SELECT finding_id FROM dash_ledger {where_sql} {order} LIMIT ${} OFFSET ${}) {order}",
                    n + 1,
                    n + 2,
                    columns = LedgerRow::columns(),
                    where_sql = self.where_sql,
                    order = self.order_sql,
                ),
                args,
            )
            .await?;
        let total = self.count(store).await?;
        Ok((
            rows.iter()
                .map(|r| LedgerRow::read(r, &self.today))
                .collect(),
            total,
        ))
    }

    /// How many findings the filter keeps (the read models as they are: call after a refresh).
    pub async fn count(&self, store: &dyn Store) -> StoreResult<u64> {
        Ok(store
            .dash_query(
                &format!(
                    "SELECT CAST(COUNT(*) AS BIGINT) FROM dash_ledger {}",
                    self.where_sql
                ),
                self.args.clone(),
            )
            .await?
            .first()
            .map_or(0, |r| r[0].int().max(0) as u64))
    }

    /// Up to `limit` rows of `columns` (a select list over `dash_ledger`) that the filter
    /// keeps, in the ledger's order, after a refresh: what the map draws is what the ledger
    /// lists, by the same rule.
    pub async fn select(
        &self,
        store: &dyn Store,
        columns: &str,
        limit: u32,
    ) -> StoreResult<Vec<Vec<Cell>>> {
        refresh(store).await?;
        let mut args = self.args.clone();
        args.push(Arg::Int(i64::from(limit)));
        store
            .dash_query(
                &format!(
                    "SELECT {columns} FROM dash_ledger {} {} LIMIT ${}",
                    self.where_sql,
                    self.order_sql,
                    self.args.len() + 1
                ),
                args,
            )
            .await
    }

    /// Up to `limit` rows in order (exports).
    pub async fn all(&self, store: &dyn Store, limit: u32) -> StoreResult<Vec<LedgerRow>> {
        let rows = self.select(store, &LedgerRow::columns(), limit).await?;
        Ok(rows
            .iter()
            .map(|r| LedgerRow::read(r, &self.today))
            .collect())
    }
}

/// Ledger rows of some findings (for checks that a unit may see them).
pub async fn rows_by_id(store: &dyn Store, ids: &[String]) -> StoreResult<Vec<LedgerRow>> {
    refresh(store).await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let today = fieldcheck_domain::china_time::china_date(crate::clock::now_ms());
    let rows = store
        .dash_query(
            &format!(
                "SELECT {} FROM dash_ledger WHERE finding_id IN ({})",
                LedgerRow::columns(),
                placeholders(1, ids.len())
            ),
            ids.iter().map(|i| Arg::from(i.as_str())).collect(),
        )
        .await?;
    Ok(rows.iter().map(|r| LedgerRow::read(r, &today)).collect())
}

/// A status badge in the status's own colour (class `status-<stored name>`, the same on the
/// ledger, a finding's page and the overview), and an overdue badge when `overdue`.
pub fn status_badge(lang: Lang, status: &str, overdue: bool) -> Markup {
    html! {
        span class={ "badge status status-" (status) } data-status=(status) { (lang.status_name(status)) }
        @if overdue { " " span class="badge overdue" { (lang.t("已超期", "Overdue")) } }
    }
}

/// The red 逾期 N 天 badge of a finding `days` past its deadline.
pub fn overdue_badge(lang: Lang, days: i64) -> Markup {
    html! {
        span class="badge overdue" data-overdue-days=(days) {
            @match lang { Lang::Zh => { "逾期 " (days) " 天" } Lang::En => { (days) " days overdue" } }
        }
    }
}

/// The ledger's filter form (its fields, the sort kept hidden, 筛选 and 清除), sent with GET
/// to `action`: the ledger's and the map's, which read it through the same [`LedgerFilter`].
pub fn filter_form(
    session: &Session,
    reference: &Reference,
    filter: &LedgerFilter,
    action: &str,
) -> Markup {
    let l = session.lang;
    html! {
        form class="filters" method="get" action=(action) id="ledger-filters" {
            label { (l.t("起始日期", "From")) input type="date" name="from" value=(filter.from); }
            label { (l.t("截止日期", "To")) input type="date" name="to" value=(filter.to); }
            label { (l.t("街道", "Street"))
                select name="street" {
                    option value="" { (l.t("全部", "All")) }
                    @for (district, street) in reference.streets() {
                        option value=(street) selected[filter.street == street] { (district) " · " (street) }
                    }
                }
            }
            label { (l.t("点位类型", "Site type"))
                select name="site_type" {
                    option value="" { (l.t("全部", "All")) }
                    @for t in &reference.site_types {
                        option value=(t.code) selected[filter.site_type == t.code] { (l.name(&t.name_zh, &t.name_en)) }
                    }
                }
            }
            label { (l.t("点位", "Site"))
                select name="site" {
                    option value="" { (l.t("全部", "All")) }
                    @for s in &reference.sites {
                        @let id = s.id.to_string();
                        option value=(id) selected[filter.site == id] { (s.name) }
                    }
                }
            }
            label { (l.t("类别", "Category"))
                select name="category" {
                    option value="" { (l.t("全部", "All")) }
                    option value="component" selected[filter.category == "component"] { (l.category("component")) }
                    option value="event" selected[filter.category == "event"] { (l.category("event")) }
                }
            }
            @if session.is_admin() {
                label { (l.t("责任单位", "Unit"))
                    select name="unit" id="filter-unit" {
                        option value="" { (l.t("全部", "All")) }
                        @for u in &reference.units {
                            option value=(u.code) selected[filter.unit == u.code] { (l.name(&u.name_zh, &u.name_en)) }
                        }
                    }
                }
            }
            label { (l.t("状态", "Status"))
                select name="status" id="filter-status" {
                    option value="" { (l.t("全部", "All")) }
                    @for s in STATUSES {
                        option value=(s.as_str()) selected[filter.status == s.as_str()] { (l.status(s)) }
                    }
                }
            }
            label { (l.t("超期", "Overdue"))
                select name="overdue" {
                    option value="" { (l.t("不限", "Any")) }
                    option value="1" selected[filter.overdue == "1"] { (l.t("仅超期", "Overdue only")) }
                }
            }
            input type="hidden" name="sort" value=(filter.sort);
            input type="hidden" name="dir" value=(filter.dir);
            button type="submit" id="apply-filters" { (l.t("筛选", "Filter")) }
            a class="button secondary" href=(action) { (l.t("清除", "Clear")) }
        }
    }
}

/// `GET /dashboard/ledger`.
pub async fn ledger_page(
    State(state): State<SharedState>,
    session: Session,
    Query(filter): Query<LedgerFilter>,
) -> Result<Markup, PageError> {
    let l = session.lang;
    let query = filter.query(session.unit_scope())?;
    let (rows, total) = query.page(state.store.as_ref(), PER_PAGE).await?;
    let work: Vec<Work> = rows
        .iter()
        .map(|r| Work {
            id: &r.finding_id,
            site_id: &r.site_id,
            inspector: &r.reporter,
            at: r.created_at,
        })
        .collect();
    let present = check_ins(state.store.as_ref(), &work).await?;
    let reference = Reference::load(state.store.as_ref()).await?;
    let ids: Vec<&str> = rows.iter().map(|r| r.finding_id.as_str()).collect();
    let numbers = finding_numbers(state.store.as_ref(), &ids).await?;
    let pages = total.div_ceil(u64::from(PER_PAGE)).max(1);
    let sort_link = |key: &str| {
        let desc = filter.sort == key || (key == "created" && filter.sort.is_empty());
        let dir = if desc && filter.dir != "asc" {
            "asc"
        } else {
            "desc"
        };
        filter.link(|f| {
            f.sort = key.into();
            f.dir = dir.into();
            f.page = String::new();
        })
    };
    let body = html! {
        (filter_form(&session, &reference, &filter, "/dashboard/ledger"))
        div class="pager" {
            span id="ledger-total" data-total=(total) { (l.t("共", "Total")) " " (total) " " (l.t("条", "findings")) }
            form method="post" action="/dashboard/exports" class="no-print" {
                (csrf_field(&session))
                input type="hidden" name="query" value=(filter.link(|f| f.page = String::new()));
                button type="submit" id="export-xlsx" { (l.t("导出 Excel 台账", "Export .xlsx")) }
            }
            a class="button secondary" id="print-report" href={ "/dashboard/report" (filter.link(|f| f.page = String::new())) } { (l.t("打印报告", "Printable report")) }
            a class="button secondary" id="ledger-map" href={ "/dashboard/map" (filter.link(|f| f.page = String::new())) } { (l.t("在地图上查看", "Show on the map")) }
        }
        div class="table-wrap" { table id="ledger" {
            thead { tr {
                th { (l.t("照片", "Photo")) }
                th { a href=(sort_link("created")) { (l.t("编号 · 发现时间", "Number · found")) } }
                th { a href=(sort_link("site")) { (l.t("点位", "Site")) } }
                th { (l.t("问题类别 · 描述", "Category · problem")) }
                th { a href=(sort_link("unit")) { (l.t("责任单位", "Unit")) } }
                th { a href=(sort_link("deadline")) { (l.t("整改期限", "Deadline")) } }
                th { a href=(sort_link("status")) { (l.t("状态", "Status")) } }
                th { (l.t("到场核验", "On-site check-in")) }
            } }
            tbody {
                @for r in &rows {
                    tr class={ "ledger-row" @if r.overdue { " overdue" } } data-finding=(r.finding_id) {
                        td class="thumb" {
                            @if let Some(t) = &r.thumb {
                                img loading="lazy" alt=(l.t("整改前照片", "before photo")) src={ "/dashboard/photos/" (t) "/thumb" };
                            }
                        }
                        td class="when" { @if let Some(n) = numbers.get(&r.finding_id) { strong class="number" { (n) } br; } (fmt_date_time(r.created_at)) }
                        td class="site" { a href={ "/dashboard/findings/" (r.finding_id) } { (r.site_name) } br; small { (r.street) " · " (reference.site_type_name(l, &r.site_type)) } }
                        td class="description" { small class="category" { (l.category(&r.category)) " · " (reference.subcategory_name(l, &r.subcategory)) } br;
                            a href={ "/dashboard/findings/" (r.finding_id) } class="finding-link" { (r.description) }
                            @if r.same_day { " " span class="badge" { (l.t("当场整改", "Same day")) } } }
                        td class="unit" { @if let Some(u) = &r.unit { (reference.unit_name(l, u)) } }
                        td class="deadline" { @if let Some(d) = &r.deadline { (d) } }
                        td class="status" { (status_badge(l, &r.status, false))
                            @if let Some(days) = r.overdue_days() { br; (overdue_badge(l, days)) } }
                        td class="checkin" {
                            @if let Some(at) = present.get(&r.finding_id) {
                                span class="badge ok" title=(fmt_time(*at)) { (l.t("到场核验 ✓", "checked in ✓")) }
                            } @else {
                                span class="badge" { (l.t("未扫码", "no check-in")) }
                            }
                        }
                    }
                }
            }
        }
        }
        @if rows.is_empty() { p class="notice" id="ledger-empty" { (l.t("没有符合条件的问题。", "No findings match.")) } }
        div class="pager" {
            @if query.page > 1 {
                a href=(filter.link(|f| f.page = (query.page - 1).to_string())) id="prev-page" { "‹ " (l.t("上一页", "Previous")) }
            }
            span { (query.page) " / " (pages) }
            @if u64::from(query.page) < pages {
                a href=(filter.link(|f| f.page = (query.page + 1).to_string())) id="next-page" { (l.t("下一页", "Next")) " ›" }
            }
        }
    };
    Ok(page(&session, l.t("问题台账", "Problem ledger"), body))
}

/// `YYYY-MM-DD HH:MM` in China time (24-hour).
pub fn fmt_time(ms: i64) -> String {
    let mut t = fieldcheck_domain::china_time::china_datetime(ms);
    t.truncate("YYYY-MM-DD HH:MM".len());
    t
}

/// [`fmt_time`] with the date and the time each kept whole on a line of their own when the
/// column is narrow.
fn fmt_date_time(ms: i64) -> Markup {
    let t = fmt_time(ms);
    let (date, time) = t.split_once(' ').unwrap_or((&t, ""));
    html! { span class="nowrap" { (date) } " " span class="nowrap" { (time) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_member_is_confined_whatever_the_filter_says() {
        let f = LedgerFilter {
            unit: "housing".into(),
            ..Default::default()
        };
        let q = f.query(Some("urban_mgmt")).unwrap();
        assert_eq!(q.where_sql, "WHERE unit = $1");
        assert_eq!(q.args, vec![Arg::from("urban_mgmt")]);
    }

    #[test]
    fn bad_values_are_refused_by_field() {
        for (f, field) in [
            (
                LedgerFilter {
                    from: "2026-13-01".into(),
                    ..Default::default()
                },
                "from",
            ),
            (
                LedgerFilter {
                    sort: "password".into(),
                    ..Default::default()
                },
                "sort",
            ),
            (
                LedgerFilter {
                    status: "lost".into(),
                    ..Default::default()
                },
                "status",
            ),
            (
                LedgerFilter {
                    page: "0".into(),
                    ..Default::default()
                },
                "page",
            ),
            (
                LedgerFilter {
                    category: "x".into(),
                    ..Default::default()
                },
                "category",
            ),
        ] {
            match f.query(None) {
                Err(PageError::Refused {
                    field: Some(named), ..
                }) => assert_eq!(named, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn dates_are_china_days_and_links_keep_filters() {
        let f = LedgerFilter {
            from: "2026-11-01".into(),
            to: "2026-11-01".into(),
            status: "dispatched".into(),
            ..Default::default()
        };
        let q = f.query(None).unwrap();
        let start = fieldcheck_domain::china_time::china_midnight("2026-11-01").unwrap();
        assert_eq!(q.args[0], Arg::Int(start));
        assert_eq!(q.args[1], Arg::Int(start + 86_400_000));
        assert_eq!(
            fieldcheck_domain::china_time::china_date(start),
            "2026-11-01"
        );
        assert_eq!(
            fieldcheck_domain::china_time::china_date(start - 1),
            "2026-10-31"
        );
        let link = f.link(|f| f.page = "2".into());
        assert!(
            link.contains("status=dispatched") && link.contains("page=2"),
            "{link}"
        );
        assert!(!link.contains("unit="), "{link}");
    }
}
