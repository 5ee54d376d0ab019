//! Script files the dashboard serves itself (no CDN: an office network may have no internet):
//! Apache ECharts 5.6.0 (`assets/echarts.min.js` from the npm package `echarts`, Apache-2.0;
//! see `assets/ECHARTS-NOTICE.txt`), whose path names its version so browsers may keep it a
//! year, the overview's page script (`assets/overview.js`) and the print buttons' script
//! (`assets/print.js`, on every page); for the map, Leaflet 1.9.4 (`assets/leaflet-1.9.4.js`
//! and `.css` from the npm package `leaflet`, BSD-2-Clause; see `assets/LEAFLET-NOTICE.txt`
//! for their hashes), likewise under a versioned path, and the map's own script and styles
//! (`assets/map.js`, `assets/map.css`). The content policy lets pages run scripts from this
//! server only, never inline.

use axum::http::header;
use axum::response::IntoResponse;

/// Where ECharts is served; a new version gets a new path.
pub const ECHARTS_PATH: &str = "/dashboard/static/echarts-5.6.0.min.js";
/// Where the overview's page script is served.
pub const OVERVIEW_JS_PATH: &str = "/dashboard/static/overview.js";
/// Where the print buttons' script is served (a `button data-print` prints the page).
pub const PRINT_JS_PATH: &str = "/dashboard/static/print.js";

/// Where Leaflet's script is served; a new version gets a new path.
pub const LEAFLET_JS_PATH: &str = "/dashboard/static/leaflet-1.9.4.js";
/// Where Leaflet's stylesheet is served.
pub const LEAFLET_CSS_PATH: &str = "/dashboard/static/leaflet-1.9.4.css";
/// Where the map page's script is served.
pub const MAP_JS_PATH: &str = "/dashboard/static/map.js";
/// Where the map page's stylesheet is served.
pub const MAP_CSS_PATH: &str = "/dashboard/static/map.css";

const ECHARTS: &[u8] = include_bytes!("../../assets/echarts.min.js");
const LEAFLET_JS: &[u8] = include_bytes!("../../assets/leaflet-1.9.4.js");
const LEAFLET_CSS: &[u8] = include_bytes!("../../assets/leaflet-1.9.4.css");
const MAP_JS: &[u8] = include_bytes!("../../assets/map.js");
const MAP_CSS: &[u8] = include_bytes!("../../assets/map.css");
const CSS: &str = "text/css; charset=utf-8";
const YEAR: &str = "public, max-age=31536000, immutable";
const HOUR: &str = "public, max-age=3600";
const OVERVIEW_JS: &[u8] = include_bytes!("../../assets/overview.js");
const PRINT_JS: &[u8] = include_bytes!("../../assets/print.js");
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// Serves ECharts, cached for a year (its path changes with its version).
pub async fn echarts() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, JAVASCRIPT),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        ECHARTS,
    )
}

/// Serves the overview's page script, cached for an hour like the stylesheet.
pub async fn overview_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, JAVASCRIPT),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        OVERVIEW_JS,
    )
}

/// Serves the print buttons' script, cached for an hour like the stylesheet.
pub async fn print_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, JAVASCRIPT),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        PRINT_JS,
    )
}

/// Serves Leaflet's script, cached for a year (its path changes with its version).
pub async fn leaflet_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, JAVASCRIPT),
            (header::CACHE_CONTROL, YEAR),
        ],
        LEAFLET_JS,
    )
}

/// Serves Leaflet's stylesheet, cached for a year (its path changes with its version).
pub async fn leaflet_css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, CSS), (header::CACHE_CONTROL, YEAR)],
        LEAFLET_CSS,
    )
}

/// Serves the map page's script, cached for an hour like the stylesheet.
pub async fn map_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, JAVASCRIPT),
            (header::CACHE_CONTROL, HOUR),
        ],
        MAP_JS,
    )
}

/// Serves the map page's stylesheet, cached for an hour.
pub async fn map_css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, CSS), (header::CACHE_CONTROL, HOUR)],
        MAP_CSS,
    )
}
