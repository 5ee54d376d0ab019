//! The office dashboard (创城办 and responsible units) served by `fieldcheck-server`:
//! server-rendered pages (maud), no front-end build, zh-CN first and English through one i18n
//! layer ([`i18n`]). Sign-in with the API's accounts ([`login`]), cookie sessions and CSRF
//! tokens ([`session`]), the home page with the county's figures ([`overview`], its scripts
//! in [`assets`]), the problem ledger ([`ledger`]), a finding's page and the
//! rectification loop ([`finding`]), photos ([`photos`]), scores ([`scores`]), management
//! ([`manage`], the sites' QR labels in [`labels`]), exports ([`export`]), the task division
//! ([`division`]), the mock evaluation ([`mock_evaluation`]), 倒查责任 across findings
//! ([`accountability`]), the bulletin, 通报 ([`bulletin`]), and the map of findings and sites
//! ([`map`]). Read models live in
//! [`projection`].

pub mod accountability;
pub mod assets;
pub mod bulletin;
pub mod division;
pub mod error;
pub mod export;
pub mod export_jobs;
pub mod finding;
pub mod forms;
pub mod i18n;
pub mod labels;
pub mod layout;
pub mod ledger;
pub mod login;
pub mod manage;
pub mod map;
pub mod marked;
pub mod mock_evaluation;
pub mod notifications;
pub mod numbers;
pub mod overview;
pub mod packs;
pub mod photos;
pub mod presence;
pub mod projection;
pub mod reference;
pub mod score_model;
pub mod scores;
pub mod session;

use crate::app::SharedState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::response::Redirect;
use axum::routing::{MethodRouter, get, post};
use tower_http::compression::CompressionLayer;

/// Who may use a dashboard route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageAccess {
    /// Anyone (login, stylesheet, language switch).
    Public,
    /// Signed-in admins and unit members (a unit member sees only its unit's findings).
    Office,
    /// Signed-in admins only.
    Admin,
    /// Signed-in unit members only.
    Unit,
}

/// One dashboard route: method, path, who may use it, and its handler.
pub struct Page {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path, as routed.
    pub path: &'static str,
    /// Who may use it: enforced by [`session::page_guard`] before the handler runs.
    pub access: PageAccess,
    handler: MethodRouter<SharedState>,
}

fn page(
    method: &'static str,
    path: &'static str,
    access: PageAccess,
    handler: MethodRouter<SharedState>,
) -> Page {
    Page {
        method,
        path,
        access,
        handler,
    }
}

/// Every dashboard route. The router is built from this table and each route's access is
/// enforced from it, so no page is routed without being listed, and no handler checks roles
/// by hand (the dashboard's authorization-matrix test iterates it).
pub fn pages(state: &SharedState) -> Vec<Page> {
    use PageAccess::{Admin, Office, Public, Unit};
    let upload_limit = usize::try_from(state.limits.max_photo_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(256 * 1024);
    let pack_limit = packs::MAX_ZIP_BYTES + 64 * 1024;
    let division_limit = crate::office::division::MAX_XLSX_BYTES + 64 * 1024;
    vec![
        page(
            "GET",
            "/dashboard",
            Public,
            get(|| async { Redirect::to("/dashboard/overview") }),
        ),
        page(
            "GET",
            "/dashboard/static/app.css",
            Public,
            get(layout::stylesheet),
        ),
        page("GET", assets::ECHARTS_PATH, Public, get(assets::echarts)),
        page(
            "GET",
            assets::OVERVIEW_JS_PATH,
            Public,
            get(assets::overview_js),
        ),
        page("GET", assets::PRINT_JS_PATH, Public, get(assets::print_js)),
        page(
            "GET",
            assets::LEAFLET_JS_PATH,
            Public,
            get(assets::leaflet_js),
        ),
        page(
            "GET",
            assets::LEAFLET_CSS_PATH,
            Public,
            get(assets::leaflet_css),
        ),
        page("GET", assets::MAP_JS_PATH, Public, get(assets::map_js)),
        page("GET", assets::MAP_CSS_PATH, Public, get(assets::map_css)),
        page("GET", "/dashboard/login", Public, get(login::login_page)),
        page("POST", "/dashboard/login", Public, post(login::login)),
        page(
            "GET",
            "/dashboard/lang/{code}",
            Public,
            get(login::switch_language),
        ),
        page("POST", "/dashboard/logout", Office, post(login::logout)),
        page(
            "GET",
            "/dashboard/overview",
            Office,
            get(overview::overview_page),
        ),
        page("GET", "/dashboard/ledger", Office, get(ledger::ledger_page)),
        page("GET", map::PATH, Office, get(map::map_page)),
        page(
            "GET",
            map::POINTS_PATH,
            Office,
            get(map::points_json).layer(CompressionLayer::new().gzip(true)),
        ),
        page(
            "GET",
            "/dashboard/findings/{id}",
            Office,
            get(finding::finding_page),
        ),
        page(
            "POST",
            "/dashboard/findings/{id}/dispatch",
            Admin,
            post(finding::dispatch),
        ),
        page(
            "POST",
            "/dashboard/findings/{id}/rectify",
            Unit,
            post(finding::rectify).layer(DefaultBodyLimit::max(upload_limit)),
        ),
        page(
            "POST",
            "/dashboard/findings/{id}/verify",
            Admin,
            post(finding::verify),
        ),
        page(
            "POST",
            "/dashboard/findings/{id}/close",
            Admin,
            post(finding::close),
        ),
        page(
            "POST",
            "/dashboard/findings/{id}/send-back",
            Admin,
            post(finding::send_back),
        ),
        page(
            "GET",
            "/dashboard/photos/{sha256}",
            Office,
            get(photos::full),
        ),
        page(
            "GET",
            "/dashboard/photos/{sha256}/thumb",
            Office,
            get(photos::thumb),
        ),
        page("POST", "/dashboard/exports", Office, post(export::start)),
        page(
            "GET",
            "/dashboard/exports/{id}",
            Office,
            get(export::progress),
        ),
        page(
            "GET",
            "/dashboard/exports/{id}/file",
            Office,
            get(export::file),
        ),
        page("GET", "/dashboard/report", Office, get(export::report)),
        page("GET", "/dashboard/scores", Admin, get(scores::scores_page)),
        page(
            "GET",
            "/dashboard/division",
            Admin,
            get(division::division_page),
        ),
        page(
            "POST",
            "/dashboard/division",
            Admin,
            post(division::import).layer(DefaultBodyLimit::max(division_limit)),
        ),
        page(
            "GET",
            "/dashboard/division.xlsx",
            Admin,
            get(division::download),
        ),
        page(
            "GET",
            "/dashboard/notifications",
            Office,
            get(notifications::notifications_page),
        ),
        page(
            "POST",
            "/dashboard/notifications/webhook",
            Admin,
            post(notifications::set_webhook),
        ),
        page(
            "GET",
            mock_evaluation::PATH,
            Admin,
            get(mock_evaluation::mock_evaluation_page),
        ),
        page(
            "POST",
            mock_evaluation::ASSIGN_PATH,
            Admin,
            post(mock_evaluation::assign),
        ),
        page(
            "GET",
            accountability::PATH,
            Admin,
            get(accountability::accountability_page),
        ),
        page(
            "GET",
            accountability::XLSX_PATH,
            Admin,
            get(accountability::download),
        ),
        page("GET", bulletin::PATH, Admin, get(bulletin::bulletin_page)),
        page("GET", bulletin::DOCX_PATH, Admin, get(bulletin::download)),
        page("GET", "/dashboard/manage", Admin, get(manage::manage_page)),
        page(
            "GET",
            "/dashboard/manage/labels",
            Admin,
            get(labels::labels_page),
        ),
        page(
            "POST",
            "/dashboard/manage/sites",
            Admin,
            post(manage::save_site),
        ),
        page(
            "POST",
            "/dashboard/manage/sites/import",
            Admin,
            post(manage::import_sites),
        ),
        page(
            "POST",
            "/dashboard/manage/packs",
            Admin,
            post(packs::import_pack).layer(DefaultBodyLimit::max(pack_limit)),
        ),
        page(
            "POST",
            "/dashboard/manage/units",
            Admin,
            post(manage::save_unit),
        ),
        page(
            "POST",
            "/dashboard/manage/users",
            Admin,
            post(manage::add_user),
        ),
        page(
            "POST",
            "/dashboard/manage/users/{name}/districts",
            Admin,
            post(manage::set_districts),
        ),
        page(
            "POST",
            "/dashboard/manage/users/{name}/name",
            Admin,
            post(manage::set_display_name),
        ),
        page(
            "POST",
            "/dashboard/manage/devices/{id}/revoke",
            Admin,
            post(manage::revoke_device),
        ),
    ]
}

/// The dashboard's routes (merged into the server's router), each behind its access guard.
pub fn router(state: &SharedState) -> Router<SharedState> {
    pages(state).into_iter().fold(Router::new(), |router, p| {
        let guard = middleware::from_fn_with_state((state.clone(), p.access), session::page_guard);
        router.route(p.path, p.handler.route_layer(guard))
    })
}
