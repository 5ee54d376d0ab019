//! 问题地图, the map: the findings the ledger's filter keeps, drawn as points coloured by
//! status (overdue ones ringed red), the sites as a second layer, over the configured tiles
//! ([`tiles`]: 天地图 or a local tile server) or, with none, over a plain street plan drawn from
//! the county's own sites (each street's sites outlined and named). The page takes the ledger's
//! query string and form ([`super::ledger::filter_form`]); its script (`assets/map.js`, with
//! Leaflet) fetches [`points`] from `/dashboard/map/points.json` with the same query, checked
//! by the same [`LedgerFilter::query`], a unit member confined to its unit's findings.

pub mod points;
pub mod tiles;

use super::error::PageError;
use super::i18n::Lang;
use super::layout::page;
use super::ledger::{LedgerFilter, filter_form};
use super::reference::Reference;
use super::session::Session;
use crate::app::SharedState;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{PreEscaped, html};
use serde_json::json;

/// The map page's path.
pub const PATH: &str = "/dashboard/map";
/// The points' path.
pub const POINTS_PATH: &str = "/dashboard/map/points.json";

/// What the page's script is told: the tile source (none: the street plan) and its words.
fn script_config(state: &SharedState, l: Lang) -> serde_json::Value {
    json!({
        "tiles": state.map,
        "text": {
            "shown": l.t("地图上 {n} 条问题", "{n} findings on the map"),
            "unplaced": l.t("{n} 条没有位置（问题和点位都没有坐标），未画出", "{n} have no position (neither the finding nor its site) and are not drawn"),
            "capped": l.t("共 {total} 条，只画出按台账顺序的前 {n} 条", "{total} in all; the first {n} in the ledger's order are drawn"),
            "open_finding": l.t("打开问题页", "Open the finding"),
            "at_site": l.t("位置取自点位", "placed at its site"),
            "overdue": l.t("已超期", "Overdue"),
            "pending_number": l.t("待编号", "no number yet"),
            "findings": l.t("问题", "Findings"),
            "sites": l.t("点位", "Sites"),
            "streets": l.t("街道", "Streets"),
            "failed": l.t("地图数据读取失败：", "The map's data could not be read: "),
            "plan": l.t("无底图：按点位绘制的街道示意图", "No base map: a street plan drawn from the sites"),
            "sep": l.t("；", "; "),
        },
    })
}

/// `GET /dashboard/map`: the filter form, the legend and the map; the filter is checked here
/// first, so a bad one is refused like the ledger's.
pub async fn map_page(
    State(state): State<SharedState>,
    session: Session,
    Query(filter): Query<LedgerFilter>,
) -> Result<Response, PageError> {
    let l = session.lang;
    filter.query(session.unit_scope())?;
    let reference = Reference::load(state.store.as_ref()).await?;
    let query = filter.link(|f| f.page = String::new());
    let config = script_config(&state, l).to_string().replace('<', "\\u003c");
    let body = html! {
        link rel="stylesheet" href=(super::assets::LEAFLET_CSS_PATH);
        link rel="stylesheet" href=(super::assets::MAP_CSS_PATH);
        (filter_form(&session, &reference, &filter, PATH))
        div class="map-bar" {
            span id="map-summary" class="muted" { (l.t("正在读取地图数据…", "Reading the map's data…")) }
            span class="map-legend" {
                @for (code, label) in super::i18n::STATUSES.iter().map(|s| (s.as_str(), l.status(*s))) {
                    span class="legend-item" { i class={ "dot status-" (code) } {} (label) }
                }
                span class="legend-item" { i class="dot ring" {} (l.t("已超期", "Overdue")) }
            }
            a class="button secondary" id="map-ledger" href={ "/dashboard/ledger" (query) } { (l.t("查看台账", "Show the ledger")) }
        }
        noscript { p class="notice" { (l.t("地图需要浏览器启用脚本；问题清单见问题台账。", "The map needs script; the ledger lists the findings.")) } }
        div id="map" data-points=(format!("{POINTS_PATH}{query}")) data-lang=(l.code()) {}
        script type="application/json" id="map-config" { (PreEscaped(config)) }
        script src=(super::assets::LEAFLET_JS_PATH) defer {}
        script src=(super::assets::MAP_JS_PATH) defer {}
    };
    let origins = state.map.as_ref().map_or(&[][..], |m| m.origins.as_slice());
    Ok((
        [(
            header::CONTENT_SECURITY_POLICY,
            tiles::content_policy(origins),
        )],
        page(&session, l.t("问题地图", "Map"), body),
    )
        .into_response())
}

/// `GET /dashboard/map/points.json`: the [`points::Points`] of the filter. A bad filter is
/// answered 422 with the ledger's sentence (`{error, field, message: "中文 / English"}`).
pub async fn points_json(
    State(state): State<SharedState>,
    session: Session,
    Query(filter): Query<LedgerFilter>,
) -> Result<Response, PageError> {
    let query = match filter.query(session.unit_scope()) {
        Ok(q) => q,
        Err(refusal) => return Ok(json_refusal(refusal)),
    };
    let reference = Reference::load(state.store.as_ref()).await?;
    let points = points::points(state.store.as_ref(), &query, &reference, session.lang).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(points)).into_response())
}

/// A refusal as JSON, its sentence exactly the page's (field label included).
fn json_refusal(refusal: PageError) -> Response {
    let field = match &refusal {
        PageError::Refused { field, .. } => field.clone(),
        PageError::LoginRequired => None,
    };
    let status = refusal.status();
    let page = refusal.into_response();
    let Some(e) = page.extensions().get::<super::error::ErrorPage>() else {
        return page;
    };
    let body = json!({
        "error": if status == StatusCode::UNPROCESSABLE_ENTITY { "invalid" } else { "refused" },
        "field": field,
        "message": format!("{} / {}", e.zh, e.en),
    });
    (status, Json(body)).into_response()
}
