//! The office dashboard (创城办 and responsible units) served by `fieldcheck-server`:
//! server-rendered pages (maud), no front-end build, zh-CN first and English through one i18n
//! layer ([`i18n`]). Sign-in with the API's accounts ([`login`]), cookie sessions and CSRF
//! tokens ([`session`]), the problem ledger ([`ledger`]), a finding's page and the
//! rectification loop ([`finding`]), photos ([`photos`]), scores ([`scores`]), management
//! ([`manage`]) and exports ([`export`]). Read models live in [`projection`].

pub mod error;
pub mod export;
pub mod finding;
pub mod i18n;
pub mod layout;
pub mod ledger;
pub mod login;
pub mod manage;
pub mod packs;
pub mod photos;
pub mod projection;
pub mod reference;
pub mod score_model;
pub mod scores;
pub mod session;

use crate::app::SharedState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Redirect;
use axum::routing::{get, post};

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

/// Every dashboard route: method, path and who may use it (the dashboard's authorization
/// matrix test iterates it).
pub const PAGES: &[(&str, &str, PageAccess)] = &[
    ("GET", "/dashboard", PageAccess::Public),
    ("GET", "/dashboard/static/app.css", PageAccess::Public),
    ("GET", "/dashboard/login", PageAccess::Public),
    ("POST", "/dashboard/login", PageAccess::Public),
    ("GET", "/dashboard/lang/{code}", PageAccess::Public),
    ("POST", "/dashboard/logout", PageAccess::Office),
    ("GET", "/dashboard/ledger", PageAccess::Office),
    ("GET", "/dashboard/findings/{id}", PageAccess::Office),
    (
        "POST",
        "/dashboard/findings/{id}/dispatch",
        PageAccess::Admin,
    ),
    ("POST", "/dashboard/findings/{id}/rectify", PageAccess::Unit),
    ("POST", "/dashboard/findings/{id}/verify", PageAccess::Admin),
    ("POST", "/dashboard/findings/{id}/close", PageAccess::Admin),
    (
        "POST",
        "/dashboard/findings/{id}/send-back",
        PageAccess::Admin,
    ),
    ("GET", "/dashboard/photos/{sha256}", PageAccess::Office),
    (
        "GET",
        "/dashboard/photos/{sha256}/thumb",
        PageAccess::Office,
    ),
    ("POST", "/dashboard/exports", PageAccess::Office),
    ("GET", "/dashboard/exports/{id}", PageAccess::Office),
    ("GET", "/dashboard/exports/{id}/file", PageAccess::Office),
    ("GET", "/dashboard/report", PageAccess::Office),
    ("GET", "/dashboard/scores", PageAccess::Admin),
    ("GET", "/dashboard/manage", PageAccess::Admin),
    ("POST", "/dashboard/manage/sites", PageAccess::Admin),
    ("POST", "/dashboard/manage/sites/import", PageAccess::Admin),
    ("POST", "/dashboard/manage/packs", PageAccess::Admin),
    ("POST", "/dashboard/manage/units", PageAccess::Admin),
    ("POST", "/dashboard/manage/users", PageAccess::Admin),
    (
        "POST",
        "/dashboard/manage/devices/{id}/revoke",
        PageAccess::Admin,
    ),
];

/// The dashboard's per-process state.
#[derive(Default)]
pub struct DashState {
    /// Exports in progress or ready for download.
    pub exports: export::ExportJobs,
}

/// The dashboard's routes (merged into the server's router).
pub fn router(state: &SharedState) -> Router<SharedState> {
    let upload_limit = usize::try_from(state.limits.max_photo_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(256 * 1024);
    Router::new()
        .route(
            "/dashboard",
            get(|| async { Redirect::to("/dashboard/ledger") }),
        )
        .route("/dashboard/static/app.css", get(layout::stylesheet))
        .route(
            "/dashboard/login",
            get(login::login_page).post(login::login),
        )
        .route("/dashboard/lang/{code}", get(login::switch_language))
        .route("/dashboard/logout", post(login::logout))
        .route("/dashboard/ledger", get(ledger::ledger_page))
        .route("/dashboard/findings/{id}", get(finding::finding_page))
        .route("/dashboard/findings/{id}/dispatch", post(finding::dispatch))
        .route(
            "/dashboard/findings/{id}/rectify",
            post(finding::rectify).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/dashboard/findings/{id}/verify", post(finding::verify))
        .route("/dashboard/findings/{id}/close", post(finding::close))
        .route(
            "/dashboard/findings/{id}/send-back",
            post(finding::send_back),
        )
        .route("/dashboard/photos/{sha256}", get(photos::full))
        .route("/dashboard/photos/{sha256}/thumb", get(photos::thumb))
        .route("/dashboard/exports", post(export::start))
        .route("/dashboard/exports/{id}", get(export::progress))
        .route("/dashboard/exports/{id}/file", get(export::file))
        .route("/dashboard/report", get(export::report))
        .route("/dashboard/scores", get(scores::scores_page))
        .route("/dashboard/manage", get(manage::manage_page))
        .route("/dashboard/manage/sites", post(manage::save_site))
        .route("/dashboard/manage/sites/import", post(manage::import_sites))
        .route(
            "/dashboard/manage/packs",
            post(packs::import_pack).layer(DefaultBodyLimit::max(packs::MAX_ZIP_BYTES + 64 * 1024)),
        )
        .route("/dashboard/manage/units", post(manage::save_unit))
        .route("/dashboard/manage/users", post(manage::add_user))
        .route(
            "/dashboard/manage/devices/{id}/revoke",
            post(manage::revoke_device),
        )
}
