//! 模拟测评 in the dashboard (admins): draw a sample of sites per site type as the national
//! evaluators do, reproducibly from a seed; turn the sample into assignments; estimate the
//! county's score from the sampled sites' latest finished inspections, with a 95 % interval;
//! and list the open problems that recover the most points if fixed first.
//!
//! The rules are the domain's (`fieldcheck_domain::mock_evaluation`: `draw_sample`,
//! `estimate`, `most_recoverable`); the assignments go through the office service
//! (`Office::assign`, audited). This module reads their inputs ([`data`]) and shows their
//! answers ([`view`]).

pub mod data;
pub mod view;

use super::error::PageError;
use super::forms::{Redo, form_message, kept, message};
use super::layout::{csrf_field, page};
use super::projection::refresh;
use super::reference::{Reference, templates};
use super::session::Session;
use crate::app::SharedState;
use crate::office::Office;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use data::{Draw, field, latest_inspected, populations, recoverable, size_field};
use fieldcheck_domain::china_time::{china_date, is_date};
use fieldcheck_domain::mock_evaluation::{SiteAnswers, estimate};
use fieldcheck_protocol::{Assignment, Role, Site};
use maud::{Markup, html};
use std::collections::HashMap;
use uuid::Uuid;

/// The page's address.
pub const PATH: &str = "/dashboard/mock-evaluation";
/// Where the assignments form posts.
pub const ASSIGN_PATH: &str = "/dashboard/mock-evaluation/assignments";

/// `GET /dashboard/mock-evaluation?seed=…&size_<type>=…`: the sample the seed and sizes draw
/// (a fresh random seed, shown in its field, when none is given; every type's size
/// `min(its sites, 5)` when not given), the sampled sites, the form that turns them into
/// assignments, the estimate and the open problems worth fixing first. The same address always
/// shows the same sample of the same sites. A seed or size that cannot be read brings the page
/// back (422) with the sentence next to the field and a fresh draw below.
pub async fn mock_evaluation_page(
    State(state): State<SharedState>,
    session: Session,
    Query(fields): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let reference = Reference::load(state.store.as_ref()).await?;
    let assigned = field(&fields, "assigned").parse::<usize>().ok();
    match Draw::from_fields(&fields, &populations(&reference), true) {
        Ok(draw) => Ok(render(&state, &session, &draw, None, assigned)
            .await?
            .into_response()),
        Err(e) => {
            let values: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let redo = Redo::of("sample-form", &values, e)?;
            let draw = Draw::from_fields(&[], &populations(&reference), true)?;
            let page = render(&state, &session, &draw, Some(&redo), None).await?;
            Ok((redo.status, page).into_response())
        }
    }
}

/// `POST /dashboard/mock-evaluation/assignments` (form: `csrf`, `seed`, `size_<type>`, `date`,
/// one or more `inspector`): draws the sample again from the seed and sizes and assigns each
/// sampled site for `date` through [`Office::assign`] (checked and audited like every
/// assignment), the inspectors taken in turn in the order given. An assignment's id is derived
/// from its site, the seed and the day, so sending the same form again changes the same
/// assignments instead of adding more. A wrong CSRF token changes nothing (403); a missing or
/// wrong field brings the page back with the sentence beside it (422) before anything is
/// written. Leads back to the page of the same sample, which says how many were assigned.
pub async fn assign(
    State(state): State<SharedState>,
    session: Session,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let result = make_assignments(&state, &session, &fields).await;
    let date = field(&fields, "date");
    super::forms::answer("assign-form", &[("date", date)], result, async |redo| {
        let reference = Reference::load(state.store.as_ref()).await?;
        let populations = populations(&reference);
        let draw = match Draw::from_fields(&fields, &populations, false) {
            Ok(draw) => draw,
            Err(_) => Draw::from_fields(&[], &populations, true)?,
        };
        render(&state, &session, &draw, Some(redo), None).await
    })
    .await
}

/// Checks the assignments form whole, then writes one assignment per sampled site.
async fn make_assignments(
    state: &SharedState,
    session: &Session,
    fields: &[(String, String)],
) -> Result<Redirect, PageError> {
    session.check_csrf(field(fields, "csrf"))?;
    let reference = Reference::load(state.store.as_ref()).await?;
    let draw = Draw::from_fields(fields, &populations(&reference), false)?;
    let date = field(fields, "date").trim();
    if !is_date(date) {
        return Err(PageError::invalid(
            "date",
            "请选择检查日期（年-月-日）",
            "choose the day of the inspections (YYYY-MM-DD)",
        ));
    }
    let mut inspectors: Vec<&str> = Vec::new();
    for (_, name) in fields.iter().filter(|(k, _)| k == "inspector") {
        let name = name.trim();
        if !name.is_empty() && !inspectors.contains(&name) {
            inspectors.push(name);
        }
    }
    if inspectors.is_empty() {
        return Err(PageError::invalid(
            "inspector",
            "请至少选择一名督查员",
            "choose at least one inspector",
        ));
    }
    // Every inspector checked before the first write, so a wrong one writes nothing.
    for name in &inspectors {
        let user = state.store.user(name).await?;
        if !user.is_some_and(|u| u.role == Role::Inspector && !u.disabled) {
            return Err(PageError::invalid(
                "inspector",
                &format!("“{name}” 不是在用的督查员账号"),
                &format!("'{name}' is not an active inspector account"),
            ));
        }
    }
    let sites: Vec<Uuid> = draw
        .sample(&reference)
        .into_iter()
        .flat_map(|(_, ids)| ids)
        .collect();
    if sites.is_empty() {
        return Err(PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "样本中没有点位：请先设置各类点位的样本量",
            "the sample has no site: set the sample sizes first",
        ));
    }
    let office = Office::new(state, session.actor());
    let key = format!("mock-evaluation/{}/{date}", draw.seed);
    for (n, site) in sites.iter().enumerate() {
        office
            .assign(&Assignment {
                id: Uuid::new_v5(site, key.as_bytes()),
                inspector: inspectors[n % inspectors.len()].to_string(),
                site_id: *site,
                date: date.to_string(),
                note: format!("模拟测评（随机种子 {}）", draw.seed),
                cancelled: false,
            })
            .await?;
    }
    Ok(Redirect::to(&format!(
        "{PATH}?{}&assigned={}",
        draw.query(),
        sites.len()
    )))
}

/// The page for `draw`; `redo` is a form of it sent back with what was typed, `assigned` the
/// number of assignments just made.
async fn render(
    state: &SharedState,
    session: &Session,
    draw: &Draw,
    redo: Option<&Redo>,
    assigned: Option<usize>,
) -> Result<Markup, PageError> {
    let l = session.lang;
    let store = state.store.as_ref();
    refresh(store).await?;
    let reference = Reference::load(store).await?;
    let templates = templates(store).await?;
    let populations = populations(&reference);
    let sample = draw.sample(&reference);
    let sampled: Vec<Uuid> = sample.iter().flat_map(|(_, ids)| ids.clone()).collect();
    let inspected = latest_inspected(store, &sampled).await?;
    let answered: Vec<SiteAnswers> = sample
        .iter()
        .flat_map(|(site_type, ids)| ids.iter().map(move |id| (site_type, id)))
        .filter_map(|(site_type, id)| {
            inspected.get(id).map(|i| SiteAnswers {
                site_id: *id,
                site_type: site_type.clone(),
                answers: i.answers.clone(),
            })
        })
        .collect();
    let estimated = estimate(&populations, &answered);
    let ranked = recoverable(store, &templates).await?;
    let mut inspectors: Vec<_> = store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.role == Role::Inspector && !u.disabled)
        .collect();
    inspectors.sort_by(|a, b| a.name.cmp(&b.name));
    let sites: HashMap<Uuid, &Site> = reference.sites.iter().map(|s| (s.id, s)).collect();
    let type_name = |code: &str| reference.site_type_name(l, code).to_string();
    let today = china_date(crate::clock::now_ms());
    let size_fields: Vec<String> = populations.keys().map(|t| size_field(t)).collect();
    let mut shown: Vec<&str> = size_fields.iter().map(String::as_str).collect();
    shown.push("seed");
    let not_inspected: Vec<&Site> = sampled
        .iter()
        .filter(|id| !inspected.contains_key(id))
        .filter_map(|id| sites.get(id).copied())
        .collect();
    let body = html! {
        p class="muted" {
            (l.t("按国家测评的做法，每类点位随机抽取若干点位，用这些点位最近一次完成的检查估计全县得分。同一随机种子和样本量总是抽到同样的点位，可以复现、可以分享链接。",
                 "As the national evaluators do: a random sample of sites per site type, scored from each sampled site's latest finished inspection to estimate the county's score. The same seed and sizes always draw the same sites, so a draw can be repeated and its link shared."))
        }
        form method="get" action=(PATH) class="filters" id="sample-form" {
            (form_message(redo, "sample-form", &shown))
            @for (site_type, population) in &populations {
                @let name = size_field(site_type);
                @let size = draw.sizes.get(site_type).copied().unwrap_or(0).to_string();
                label {
                    (type_name(site_type)) (l.t("（共 ", " (of ")) (population) (l.t(" 个）", ")"))
                    input type="number" name=(name) min="0" max=(population) step="1" value=(kept(redo, "sample-form", &name, &size));
                    (message(redo, "sample-form", &name))
                }
            }
            label { (l.t("随机种子", "Seed"))
                input type="text" name="seed" id="seed" inputmode="numeric" pattern="[0-9]{1,20}" size="22" value=(kept(redo, "sample-form", "seed", &draw.seed.to_string()));
                (message(redo, "sample-form", "seed")) }
            button type="submit" id="draw" { (l.t("抽样", "Draw")) }
            a href={ (PATH) "?" (draw.query()) } id="permalink" { (l.t("本次抽样的链接", "Link to this sample")) }
            a href=(PATH) id="new-seed" { (l.t("换一个随机种子", "Another random seed")) }
        }
        section id="sample" {
            h2 { (l.t("抽中的点位", "Sampled sites")) " (" (sampled.len()) ")" }
            ul id="sample-sizes" {
                @for (site_type, ids) in &sample {
                    li data-site-type=(site_type) data-drawn=(ids.len()) data-population=(populations.get(site_type).copied().unwrap_or(0)) {
                        (type_name(site_type)) (l.t("：抽取 ", ": ")) (ids.len()) " / " (populations.get(site_type).copied().unwrap_or(0))
                    }
                }
            }
            @if !sampled.is_empty() {
                table id="sample-sites" {
                    thead { tr { th { (l.t("类型", "Type")) } th { (l.t("点位", "Site")) } th { (l.t("区县", "District")) } th { (l.t("街道", "Street")) } th { (l.t("最近一次完成的检查", "Latest finished inspection")) } } }
                    tbody {
                        @for (site_type, ids) in &sample { @for id in ids {
                            @let site = sites.get(id);
                            tr class="sampled-site" data-site=(id) data-site-type=(site_type) {
                                td { (type_name(site_type)) }
                                td { (site.map_or("", |s| s.name.as_str())) }
                                td { (site.map_or("", |s| s.district.as_str())) }
                                td { (site.map_or("", |s| s.street.as_str())) }
                                td {
                                    @match inspected.get(id).and_then(|i| i.inspection.finished_at) {
                                        Some(at) => { (china_date(at)) }
                                        None => span class="badge not-inspected" { (l.t("未检查", "Not inspected")) },
                                    }
                                }
                            }
                        } }
                    }
                }
            }
        }
        section id="assign" {
            h2 { (l.t("生成派单", "Turn it into assignments")) }
            @if let Some(n) = assigned {
                p class="notice" id="assigned-notice" role="status" {
                    (l.t("已为 ", "Assigned ")) (n) (l.t(" 个抽中的点位派单，督查员下次同步时收到。", " sampled sites; the inspectors receive them at their next sync."))
                }
            }
            form method="post" action=(ASSIGN_PATH) class="filters" id="assign-form" {
                (form_message(redo, "assign-form", &["date", "inspector"]))
                (csrf_field(session))
                @for (k, v) in draw.fields() { input type="hidden" name=(k) value=(v); }
                label { (l.t("检查日期", "Day"))
                    input type="date" name="date" id="assign-date" required min=(today) value=(kept(redo, "assign-form", "date", &today));
                    (message(redo, "assign-form", "date")) }
                label { (l.t("督查员（可多选，按顺序轮流分配）", "Inspectors (several are given sites in turn)"))
                    select name="inspector" id="assign-inspectors" multiple required size=(inspectors.len().clamp(2, 8)) {
                        @for u in &inspectors { option value=(u.name) { (u.shown_name()) @if !u.display_name.is_empty() { " (" (u.name) ")" } } }
                    }
                    (message(redo, "assign-form", "inspector")) }
                button type="submit" id="assign-submit" disabled[sampled.is_empty() || inspectors.is_empty()] {
                    (l.t("为抽中的 ", "Assign the ")) (sampled.len()) (l.t(" 个点位派单", " sampled sites"))
                }
            }
            @if inspectors.is_empty() {
                p class="muted" { (l.t("还没有在用的督查员账号：请先在“管理”中添加。", "There is no active inspector account yet: add one under Manage.")) }
            }
        }
        (view::estimate_section(l, &estimated, &answered, &populations, &not_inspected, &templates, &type_name))
        (view::recoverable_section(l, &ranked, &templates))
    };
    Ok(page(session, l.t("模拟测评", "Mock evaluation"), body))
}
