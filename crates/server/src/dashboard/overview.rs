//! 总览, the dashboard's home and the page a county leader looks at first: problems not yet
//! fixed (未整改), overdue (逾期), the share fixed by their deadline (按期整改率), new and fixed
//! problems per week, open and overdue problems by street and by unit, and (for the office)
//! the indexes losing the most points. A unit member sees only its unit's problems, confined
//! like the ledger. Charts are drawn in the browser by Apache ECharts, served by this server
//! ([`super::assets`]), from the figures in a JSON block; the same figures stand in tables, so
//! the page reads without script and prints on A4.

use super::error::PageError;
use super::i18n::STATUSES;
use super::layout::page;
use super::ledger::{OVERDUE, status_badge};
use super::projection::refresh;
use super::reference::Reference;
use super::score_model::week_of;
use super::scores::{Scores, index_name, pct};
use super::session::Session;
use crate::app::SharedState;
use crate::store::dashboard::Arg;
use crate::store::{Store, StoreResult};
use axum::extract::State;
use chrono::NaiveDate;
use fieldcheck_domain::china_time::{china_date, china_midnight};
use fieldcheck_domain::rectification::Status;
use maud::{Markup, PreEscaped, html};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Weeks the trend and the on-time rate cover (this week and the eleven before).
pub const WEEKS: usize = 12;
/// Bars in the charts by street, by unit and by index.
pub const TOP: usize = 10;
/// The statuses of a problem the unit has not fixed yet (未整改).
const UNFIXED_STATUSES: [Status; 3] = [Status::Open, Status::Dispatched, Status::SentBack];
/// [`UNFIXED_STATUSES`] as an SQL list.
const UNFIXED: &str = "('open', 'dispatched', 'sent_back')";
/// China's offset from UTC and a day, in milliseconds.
const CHINA_OFFSET_MS: i64 = fieldcheck_domain::china_time::CHINA_OFFSET_S as i64 * 1000;
const DAY_MS: i64 = 86_400_000;

/// One week of the trend.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Week {
    /// The week's Monday, `YYYY-MM-DD` (China time).
    pub monday: String,
    /// Problems found that week.
    pub found: u64,
    /// Problems whose owed work was done that week ([`super::projection::finished_at`]).
    pub fixed: u64,
}

/// Open and overdue problems of one street or unit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Group {
    /// Street name, or unit code ("" for none).
    pub key: String,
    /// Not fixed yet (未整改).
    pub open: u64,
    /// Past their deadline and still owed, as the ledger marks them.
    pub overdue: u64,
}

/// An index's points lost by the score model, with the problems in it not fixed yet.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexRisk {
    /// Index code.
    pub index_code: String,
    /// Points lost in the county's score over the weeks covered ([`Scores`]).
    pub points_lost: f64,
    /// Problems recorded against the index's items and not fixed yet.
    pub open: u64,
}

/// Everything the overview shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overview {
    /// Today in China time.
    pub today: String,
    /// Problems not fixed yet (未整改).
    pub open: u64,
    /// Problems overdue (the ledger's 仅超期 count).
    pub overdue: u64,
    /// Problems per status, in loop order.
    pub by_status: Vec<(Status, u64)>,
    /// Problems with a deadline whose work was done in the weeks covered.
    pub finished: u64,
    /// Of those, done on or before their deadline (China day).
    pub on_time: u64,
    /// The weeks covered, oldest first.
    pub weeks: Vec<Week>,
    /// Streets with the most open problems (top [`TOP`]).
    pub by_street: Vec<Group>,
    /// Units with the most open problems (top [`TOP`]).
    pub by_unit: Vec<Group>,
    /// Indexes losing the most points (top [`TOP`]); empty unless asked for.
    pub at_risk: Vec<IndexRisk>,
}

impl Overview {
    /// The figures at `now_ms`, confined to `unit_scope` (a unit member's unit) like the
    /// ledger; `with_scores` adds the points at risk by index (the office's view).
    pub async fn load(
        store: &dyn Store,
        unit_scope: Option<&str>,
        now_ms: i64,
        with_scores: bool,
    ) -> StoreResult<Overview> {
        refresh(store).await?;
        let today = china_date(now_ms);
        let mondays = mondays(now_ms);
        let start = china_midnight(&mondays[0]).unwrap_or(now_ms);
        // The unit's clause, its argument numbered after a query's own.
        let scoped = |column: &str, args: &mut Vec<Arg>| match unit_scope {
            Some(u) => {
                args.push(u.into());
                format!(" AND {column} = ${}", args.len())
            }
            None => String::new(),
        };

        // One pass over the ledger: problems by street, unit and status, with the overdue ones.
        let mut args = vec![Arg::from(today.as_str())];
        let sql = format!(
            "SELECT street, COALESCE(unit, ''), status, CAST(COUNT(*) AS BIGINT), \
             CAST(SUM(CASE WHEN {} THEN 1 ELSE 0 END) AS BIGINT) \
             FROM dash_ledger WHERE 1 = 1{} GROUP BY street, COALESCE(unit, ''), status",
            OVERDUE.replace('?', "$1"),
            scoped("unit", &mut args)
        );
        let mut streets: BTreeMap<String, Group> = BTreeMap::new();
        let mut units: BTreeMap<String, Group> = BTreeMap::new();
        let mut counts: HashMap<String, u64> = HashMap::new();
        for r in store.dash_query(&sql, args).await? {
            let status = r[2].text();
            let n = r[3].int().max(0) as u64;
            let late = r[4].int().max(0) as u64;
            let unfixed = UNFIXED_STATUSES.iter().any(|s| s.as_str() == status);
            *counts.entry(status.to_string()).or_default() += n;
            for (groups, key) in [(&mut streets, r[0].text()), (&mut units, r[1].text())] {
                let g = groups.entry(key.to_string()).or_insert_with(|| Group {
                    key: key.to_string(),
                    ..Group::default()
                });
                if unfixed {
                    g.open += n;
                }
                g.overdue += late;
            }
        }
        let (by_street, by_unit): (Vec<Group>, Vec<Group>) = (
            streets.into_values().collect(),
            units.into_values().collect(),
        );
        let open = by_street.iter().map(|g| g.open).sum();
        let overdue = by_street.iter().map(|g| g.overdue).sum();
        let by_status = STATUSES
            .iter()
            .map(|s| (*s, counts.get(s.as_str()).copied().unwrap_or(0)))
            .collect();

        let mut weeks: BTreeMap<String, Week> = mondays
            .iter()
            .map(|m| {
                let week = Week {
                    monday: m.clone(),
                    ..Week::default()
                };
                (m.clone(), week)
            })
            .collect();
        // Problems found per China day (a few dozen rows, whatever the count of problems).
        let mut args = vec![Arg::Int(start)];
        let sql = format!(
            "SELECT CAST((created_at + {CHINA_OFFSET_MS}) / {DAY_MS} AS BIGINT), CAST(COUNT(*) AS BIGINT) \
             FROM dash_ledger WHERE created_at >= $1{} \
             GROUP BY CAST((created_at + {CHINA_OFFSET_MS}) / {DAY_MS} AS BIGINT)",
            scoped("unit", &mut args)
        );
        for r in store.dash_query(&sql, args).await? {
            let midnight = r[0].int() * DAY_MS - CHINA_OFFSET_MS;
            if let Some(w) = weeks.get_mut(&week_of(midnight)) {
                w.found += r[1].int().max(0) as u64;
            }
        }

        // Problems whose owed work was done per China day, and how many by their deadline
        // (kept on each ledger row by the projection).
        let mut args = vec![Arg::Int(start)];
        let sql = format!(
            "SELECT CAST((finished_at + {CHINA_OFFSET_MS}) / {DAY_MS} AS BIGINT), CAST(COUNT(*) AS BIGINT), \
             CAST(SUM(CASE WHEN finished_on_time IS NULL THEN 0 ELSE 1 END) AS BIGINT), \
             CAST(SUM(CASE WHEN finished_on_time = 1 THEN 1 ELSE 0 END) AS BIGINT) \
             FROM dash_ledger WHERE finished_at >= $1{} \
             GROUP BY CAST((finished_at + {CHINA_OFFSET_MS}) / {DAY_MS} AS BIGINT)",
            scoped("unit", &mut args)
        );
        let (mut finished, mut on_time) = (0, 0);
        for r in store.dash_query(&sql, args).await? {
            let midnight = r[0].int() * DAY_MS - CHINA_OFFSET_MS;
            if let Some(w) = weeks.get_mut(&week_of(midnight)) {
                w.fixed += r[1].int().max(0) as u64;
            }
            finished += r[2].int().max(0) as u64;
            on_time += r[3].int().max(0) as u64;
        }

        let at_risk = if with_scores {
            at_risk(store, &mondays[0]).await?
        } else {
            Vec::new()
        };
        Ok(Overview {
            today,
            open,
            overdue,
            by_status,
            finished,
            on_time,
            weeks: weeks.into_values().collect(),
            by_street: top(by_street),
            by_unit: top(by_unit),
            at_risk,
        })
    }

    /// Done by the deadline / done, when anything with a deadline was done.
    pub fn on_time_rate(&self) -> Option<f64> {
        (self.finished > 0).then(|| self.on_time as f64 / self.finished as f64)
    }
}

/// The Mondays of the [`WEEKS`] weeks ending with this one, oldest first.
fn mondays(now_ms: i64) -> Vec<String> {
    let this = week_of(now_ms);
    let monday = NaiveDate::parse_from_str(&this, "%Y-%m-%d").unwrap_or_default();
    (0..WEEKS)
        .rev()
        .map(|n| {
            (monday - chrono::Duration::weeks(n as i64))
                .format("%Y-%m-%d")
                .to_string()
        })
        .collect()
}

/// The groups with open or overdue problems, most open first (then most overdue), [`TOP`].
fn top(mut groups: Vec<Group>) -> Vec<Group> {
    groups.retain(|g| g.open > 0 || g.overdue > 0);
    groups.sort_by(|a, b| (b.open, b.overdue, &a.key).cmp(&(a.open, a.overdue, &b.key)));
    groups.truncate(TOP);
    groups
}

/// The indexes losing the most points since `first_day` in the score model ([`Scores`], the
/// scores page's figures), each with the problems against its items not fixed yet.
async fn at_risk(store: &dyn Store, first_day: &str) -> StoreResult<Vec<IndexRisk>> {
    let scores = Scores::load(store, Some(first_day), None).await?;
    let templates = super::reference::templates(store).await?;
    let index_of = |item: &str| {
        templates
            .iter()
            .flat_map(|t| &t.items)
            .find(|i| i.code == item)
            .map(|i| i.index_code.clone())
    };
    let mut open: HashMap<String, u64> = HashMap::new();
    for r in store
        .dash_query(
            &format!(
                "SELECT item_code, CAST(COUNT(*) AS BIGINT) FROM dash_ledger \
                 WHERE status IN {UNFIXED} AND item_code IS NOT NULL GROUP BY item_code"
            ),
            Vec::new(),
        )
        .await?
    {
        if let Some(index) = index_of(r[0].text()) {
            *open.entry(index).or_default() += r[1].int().max(0) as u64;
        }
    }
    let pool = scores.total.weight;
    let mut risks: Vec<IndexRisk> = scores
        .by_index
        .iter()
        .filter(|t| t.lost_weight > 0.0)
        .map(|t| IndexRisk {
            index_code: t.key.clone(),
            points_lost: t.points_lost(pool),
            open: open.get(&t.key).copied().unwrap_or(0),
        })
        .collect();
    risks.sort_by(|a, b| {
        b.points_lost
            .total_cmp(&a.points_lost)
            .then(a.index_code.cmp(&b.index_code))
    });
    risks.truncate(TOP);
    Ok(risks)
}

/// One chart as the page script draws it.
#[derive(Serialize)]
struct Chart {
    /// The id of its container.
    id: &'static str,
    /// `line` or `bar`.
    kind: &'static str,
    /// Bars drawn across (long names on the left).
    horizontal: bool,
    categories: Vec<String>,
    series: Vec<Series>,
}

/// One series of a chart.
#[derive(Serialize)]
struct Series {
    name: &'static str,
    color: &'static str,
    data: Vec<f64>,
}

/// The colours: open problems amber, overdue red, found grey, fixed green.
const AMBER: &str = "#c77700";
const RED: &str = "#b3261e";
const GREY: &str = "#5b6b7c";
const GREEN: &str = "#2e7d32";

/// The figures as JSON for the page script, safe inside a `<script>` element.
fn chart_data(charts: &[Chart]) -> String {
    serde_json::to_string(charts)
        .unwrap_or_else(|_| "[]".into())
        .replace('<', "\\u003c")
}

/// A chart's container and its figures as a table (shown without script and on paper).
fn chart_card(
    id: &'static str,
    title: &str,
    head: [&str; 3],
    rows: &[(String, String, String)],
) -> Markup {
    html! {
        section class="chart-card" {
            h2 { (title) }
            div class="chart" id=(id) role="img" aria-label=(title) {}
            table class="figures" id={ (id) "-table" } {
                thead { tr { th { (head[0]) } th class="num" { (head[1]) } th class="num" { (head[2]) } } }
                tbody {
                    @for (name, a, b) in rows { tr { td { (name) } td class="num" { (a) } td class="num" { (b) } } }
                    @if rows.is_empty() { tr { td colspan="3" class="muted" { "—" } } }
                }
            }
        }
    }
}

/// `GET /dashboard/overview`: the dashboard's home.
pub async fn overview_page(
    State(state): State<SharedState>,
    session: Session,
) -> Result<Markup, PageError> {
    let l = session.lang;
    let store = state.store.as_ref();
    let o = Overview::load(
        store,
        session.unit_scope(),
        crate::clock::now_ms(),
        session.is_admin(),
    )
    .await?;
    let reference = Reference::load(store).await?;
    let templates = super::reference::templates(store).await?;
    let unit_name = |code: &str| {
        if code.is_empty() {
            l.t("未指定单位", "No unit").to_string()
        } else {
            reference.unit_name(l, code).to_string()
        }
    };
    let (open_name, overdue_name) = (l.t("未整改", "Not fixed"), l.t("逾期", "Overdue"));
    let groups = |gs: &[Group], name: &dyn Fn(&str) -> String| -> Vec<(String, String, String)> {
        gs.iter()
            .map(|g| (name(&g.key), g.open.to_string(), g.overdue.to_string()))
            .collect()
    };
    let group_chart = |id, gs: &[Group], name: &dyn Fn(&str) -> String| Chart {
        id,
        kind: "bar",
        horizontal: true,
        categories: gs.iter().map(|g| name(&g.key)).collect(),
        series: vec![
            Series {
                name: open_name,
                color: AMBER,
                data: gs.iter().map(|g| g.open as f64).collect(),
            },
            Series {
                name: overdue_name,
                color: RED,
                data: gs.iter().map(|g| g.overdue as f64).collect(),
            },
        ],
    };
    let street_name = |s: &str| {
        if s.is_empty() {
            l.t("未填街道", "No street").to_string()
        } else {
            s.to_string()
        }
    };
    let (found_name, fixed_name) = (l.t("新发现", "Found"), l.t("完成整改", "Fixed"));
    let mut charts = vec![
        Chart {
            id: "chart-trend",
            kind: "line",
            horizontal: false,
            categories: o.weeks.iter().map(|w| w.monday.clone()).collect(),
            series: vec![
                Series {
                    name: found_name,
                    color: GREY,
                    data: o.weeks.iter().map(|w| w.found as f64).collect(),
                },
                Series {
                    name: fixed_name,
                    color: GREEN,
                    data: o.weeks.iter().map(|w| w.fixed as f64).collect(),
                },
            ],
        },
        group_chart("chart-streets", &o.by_street, &street_name),
        group_chart("chart-units", &o.by_unit, &unit_name),
    ];
    if session.is_admin() {
        charts.push(Chart {
            id: "chart-risk",
            kind: "bar",
            horizontal: true,
            categories: o
                .at_risk
                .iter()
                .map(|r| index_name(&templates, l, &r.index_code))
                .collect(),
            series: vec![Series {
                name: l.t("失分", "Points lost"),
                color: RED,
                data: o
                    .at_risk
                    .iter()
                    .map(|r| (r.points_lost * 100.0).round() / 100.0)
                    .collect(),
            }],
        });
    }
    let trend_rows: Vec<(String, String, String)> = o
        .weeks
        .iter()
        .rev()
        .map(|w| (w.monday.clone(), w.found.to_string(), w.fixed.to_string()))
        .collect();
    let risk_rows: Vec<(String, String, String)> = o
        .at_risk
        .iter()
        .map(|r| {
            (
                index_name(&templates, l, &r.index_code),
                format!("{:.2}", r.points_lost),
                r.open.to_string(),
            )
        })
        .collect();
    let body = html! {
        p class="muted" id="overview-today" {
            (l.t("数据截至", "As of")) " " (o.today) " · "
            @if let Some(u) = session.unit_scope() { (unit_name(u)) " · " }
            a href="/dashboard/ledger" { (l.t("查看问题台账", "Open the ledger")) " ›" }
        }
        div class="cards figures-top" {
            a class="card" href="/dashboard/ledger" id="card-open" {
                (open_name) b id="figure-open" { (o.open) }
                small { (l.t("待派遣、待整改、已退回", "to dispatch, dispatched, sent back")) }
            }
            a class="card alert" href="/dashboard/ledger?overdue=1" id="card-overdue" {
                (overdue_name) b id="figure-overdue" { (o.overdue) }
                small { (l.t("已过整改期限仍未整改", "past the deadline, not fixed")) }
            }
            div class="card good" id="card-on-time" {
                (l.t("按期整改率（近 12 周）", "Fixed on time (12 weeks)"))
                b id="figure-on-time" { (pct(o.on_time_rate())) }
                small id="figure-on-time-count" {
                    @if o.finished == 0 { (l.t("近 12 周还没有完成整改的问题", "nothing with a deadline fixed in 12 weeks")) }
                    @else { (o.on_time) " / " (o.finished) " " (l.t("件在期限内整改", "fixed by the deadline")) }
                }
            }
        }
        div class="status-strip" id="status-counts" {
            @for (s, n) in &o.by_status {
                a href={ "/dashboard/ledger?status=" (s.as_str()) } data-count=(n) {
                    (status_badge(l, s.as_str(), false)) " " b { (n) }
                }
            }
        }
        div class="chart-grid" {
            (chart_card("chart-trend", l.t("每周新发现与完成整改（近 12 周）", "Found and fixed per week (12 weeks)"),
                [l.t("周（周一）", "Week (Monday)"), found_name, fixed_name], &trend_rows))
            (chart_card("chart-streets", l.t("各街道问题（前 10）", "Problems by street (top 10)"),
                [l.t("街道", "Street"), open_name, overdue_name], &groups(&o.by_street, &street_name)))
            (chart_card("chart-units", l.t("各责任单位问题（前 10）", "Problems by unit (top 10)"),
                [l.t("责任单位", "Unit"), open_name, overdue_name], &groups(&o.by_unit, &unit_name)))
            @if session.is_admin() {
                (chart_card("chart-risk", l.t("失分较多的测评项目（近 12 周）", "Indexes losing the most points (12 weeks)"),
                    [l.t("测评项目", "Index"), l.t("失分", "Points lost"), open_name], &risk_rows))
            }
        }
        script type="application/json" id="overview-data" { (PreEscaped(chart_data(&charts))) }
        script src=(super::assets::ECHARTS_PATH) {}
        script src=(super::assets::OVERVIEW_JS_PATH) {}
    };
    Ok(page(&session, l.t("总览", "Overview"), body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unfixed_statuses_are_one_list() {
        let listed: Vec<String> = UNFIXED_STATUSES
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        assert_eq!(UNFIXED, format!("({})", listed.join(", ")));
    }

    #[test]
    fn twelve_mondays_end_with_this_week() {
        // 2026-11-27 (a Friday) 10:00 in China.
        let m = mondays(1_795_744_800_000);
        assert_eq!(m.len(), WEEKS);
        assert_eq!(m.last().map(String::as_str), Some("2026-11-23"));
        assert_eq!(m[0], "2026-09-07");
    }

    #[test]
    fn the_figures_cannot_close_their_script_element() {
        let c = [Chart {
            id: "chart-streets",
            kind: "bar",
            horizontal: true,
            categories: vec!["</script><b>".into()],
            series: Vec::new(),
        }];
        assert!(!chart_data(&c).contains("</"));
    }

    #[test]
    fn groups_are_ordered_by_open_then_overdue_and_cut_at_ten() {
        let g = |k: &str, open, overdue| Group {
            key: k.into(),
            open,
            overdue,
        };
        let mut all = vec![g("a", 1, 0), g("b", 3, 1), g("c", 3, 2), g("none", 0, 0)];
        all.extend((0..20).map(|n| g(&format!("x{n:02}"), 0, 1)));
        let t = top(all);
        assert_eq!(t.len(), TOP);
        assert_eq!(
            t.iter().take(3).map(|g| g.key.as_str()).collect::<Vec<_>>(),
            ["c", "b", "a"]
        );
        assert!(t.iter().all(|g| g.key != "none"));
    }
}
