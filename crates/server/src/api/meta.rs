//! Health, the OpenAPI document, and the answer for unknown paths.

use crate::error::ApiError;
use axum::Json;
use axum::http::StatusCode;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Adds the bearer-token scheme.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Fieldcheck server API", description = "创城巡查 sync and office API. Wire types are defined in the fieldcheck-protocol crate; errors are ErrorBody { error, message }."),
    paths(
        healthz, openapi,
        super::auth::login, super::auth::revocation,
        super::push::push, super::push::turn, super::pull::pull,
        super::photos::missing, super::photos::offset, super::photos::upload,
        super::photos::download, super::photos::thumbnails,
        super::findings::list, super::findings::get_one, super::findings::add_event,
        super::admin::put_site, super::admin::put_assignment, super::admin::put_districts,
        super::admin::devices, super::admin::revoke, super::admin::audit,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// Liveness: answers `ok` while the process serves.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, description = "ok")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// 404 for paths with no route.
pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        "没有这个接口，请查看 /api/v1/openapi.json / no such route; see /api/v1/openapi.json",
    )
}
