//! Where the map's background comes from: the `[map]` table of the configuration (or
//! `FIELDCHECK_MAP_*`), a tile URL template such as 天地图's or a local tile server's, checked
//! once at start into a [`TileSource`]. No tiles configured (the default) is no source: the map
//! page then draws its plain street plan from the county's own sites. The page's content policy
//! lets images come from the source's origins and nowhere else ([`content_policy`]).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The `[map]` table of the TOML file; each field can also be given as
/// `FIELDCHECK_MAP_<FIELD>` ([`MapConfig::with_env`]).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MapConfig {
    /// Tile URL template with `{z}`, `{x}` and `{y}` (or `{-y}`), and `{s}` for a subdomain;
    /// empty: no tiles, the plain street plan.
    pub tiles: String,
    /// An optional layer drawn over the tiles, same placeholders (天地图's labels, `cva_w`).
    pub labels: String,
    /// What `{s}` takes in turn: one letter each (`"01234567"`), or names separated by commas.
    pub subdomains: String,
    /// The attribution the map shows in its corner (plain text; 天地图 requires its own).
    pub attribution: String,
    /// The deepest zoom level the source has (default 18).
    pub max_zoom: Option<u8>,
}

/// A checked tile source, as the map page hands it to its script.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TileSource {
    /// The tile URL template.
    pub tiles: String,
    /// The label layer's template, if any.
    pub labels: Option<String>,
    /// What `{s}` takes in turn (empty when no template has `{s}`).
    pub subdomains: Vec<String>,
    /// The attribution, plain text.
    pub attribution: String,
    /// The deepest zoom level.
    pub max_zoom: u8,
    /// Every origin a tile may come from (`https://t0.tianditu.gov.cn`, …), for the content
    /// policy.
    #[serde(skip)]
    pub origins: Vec<String>,
}

/// The placeholders a template may hold (Leaflet fails on any other).
const PLACEHOLDERS: [&str; 6] = ["{z}", "{x}", "{y}", "{-y}", "{s}", "{r}"];

impl MapConfig {
    /// The table with each `FIELDCHECK_MAP_TILES`, `_LABELS`, `_SUBDOMAINS`, `_ATTRIBUTION`
    /// and `_MAX_ZOOM` that `env` gives over it.
    pub fn with_env(mut self, env: impl Fn(&str) -> Option<String>) -> MapConfig {
        for (name, field) in [
            ("FIELDCHECK_MAP_TILES", &mut self.tiles),
            ("FIELDCHECK_MAP_LABELS", &mut self.labels),
            ("FIELDCHECK_MAP_SUBDOMAINS", &mut self.subdomains),
            ("FIELDCHECK_MAP_ATTRIBUTION", &mut self.attribution),
        ] {
            if let Some(v) = env(name) {
                *field = v;
            }
        }
        if let Some(v) = env("FIELDCHECK_MAP_MAX_ZOOM") {
            self.max_zoom = v.trim().parse().ok();
        }
        self
    }

    /// The checked source; `Ok(None)` when no tiles are configured. A template that is not an
    /// http(s) address with `{z}`, `{x}` and `{y}`, holds another placeholder, or has `{s}`
    /// without subdomains is refused with a sentence naming what is wrong.
    pub fn source(&self) -> Result<Option<TileSource>, String> {
        let tiles = self.tiles.trim();
        if tiles.is_empty() {
            return if self.labels.trim().is_empty() {
                Ok(None)
            } else {
                Err("[map] labels is set but tiles is not".into())
            };
        }
        let subdomains: Vec<String> = if self.subdomains.contains(',') {
            self.subdomains
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        } else {
            self.subdomains.trim().chars().map(String::from).collect()
        };
        if let Some(bad) = subdomains
            .iter()
            .find(|s| !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        {
            return Err(format!(
                "[map] subdomains: {bad:?} is not letters, digits or '-'"
            ));
        }
        let labels = Some(self.labels.trim()).filter(|l| !l.is_empty());
        let mut origins = Vec::new();
        for (name, template) in [("tiles", Some(tiles)), ("labels", labels)] {
            let Some(template) = template else { continue };
            for origin in template_origins(template, &subdomains)
                .map_err(|why| format!("[map] {name} = {:?}: {why}", redacted(template)))?
            {
                if !origins.contains(&origin) {
                    origins.push(origin);
                }
            }
        }
        let attribution = self.attribution.trim();
        if attribution.chars().count() > 300 || attribution.chars().any(char::is_control) {
            return Err("[map] attribution: at most 300 characters on one line".into());
        }
        let max_zoom = self.max_zoom.unwrap_or(18);
        if !(1..=22).contains(&max_zoom) {
            return Err("[map] max_zoom: from 1 to 22".into());
        }
        let uses_s = tiles.contains("{s}") || labels.is_some_and(|l| l.contains("{s}"));
        Ok(Some(TileSource {
            tiles: tiles.to_string(),
            labels: labels.map(str::to_string),
            subdomains: if uses_s { subdomains } else { Vec::new() },
            attribution: attribution.to_string(),
            max_zoom,
            origins,
        }))
    }
}

/// The origins one template's tiles come from, one per subdomain.
fn template_origins(template: &str, subdomains: &[String]) -> Result<Vec<String>, String> {
    if template.len() > 2_000 {
        return Err("longer than 2,000 characters".into());
    }
    for needed in ["{z}", "{x}"] {
        if !template.contains(needed) {
            return Err(format!("has no {needed}"));
        }
    }
    if !template.contains("{y}") && !template.contains("{-y}") {
        return Err("has no {y}".into());
    }
    let mut rest = template.to_string();
    for p in PLACEHOLDERS {
        rest = rest.replace(p, "");
    }
    if rest.contains(['{', '}']) {
        return Err(format!(
            "holds a placeholder other than {}",
            PLACEHOLDERS.join(" ")
        ));
    }
    let with_s = template.contains("{s}");
    if with_s && subdomains.is_empty() {
        return Err("has {s} but [map] subdomains is empty".into());
    }
    let fills: Vec<&str> = if with_s {
        subdomains.iter().map(String::as_str).collect()
    } else {
        vec![""]
    };
    let mut origins = Vec::new();
    for s in fills {
        let url = url::Url::parse(&expand(template, s, 1, 1, 0))
            .map_err(|e| format!("not an address: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err("not an http:// or https:// address with a host".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry a user name or password".into());
        }
        origins.push(url.origin().ascii_serialization());
    }
    Ok(origins)
}

/// The address of one tile: `template` with `{s}` = `s` and the tile's `z`, `x`, `y`.
pub fn expand(template: &str, s: &str, z: u32, x: u32, y: u32) -> String {
    let flipped = (1u32 << z.min(31)).saturating_sub(1).saturating_sub(y);
    template
        .replace("{s}", s)
        .replace("{z}", &z.to_string())
        .replace("{x}", &x.to_string())
        .replace("{-y}", &flipped.to_string())
        .replace("{y}", &y.to_string())
        .replace("{r}", "")
}

/// The template with the values of key-like query parameters (天地图's `tk`) hidden, for
/// messages and `check-config`.
pub fn redacted(template: &str) -> String {
    let Some((base, query)) = template.split_once('?') else {
        return template.to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret(k) => format!("{k}=…"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", pairs.join("&"))
}

fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    matches!(
        k.as_str(),
        "tk" | "key" | "token" | "access_token" | "apikey" | "api_key"
    )
}

/// The dashboard's content policy for the map page: the server's own ([`crate::app::CONTENT_POLICY`])
/// with images also from `origins` (the tile source's, none without one) and the page's
/// script fetching its points from this server.
pub fn content_policy(origins: &[String]) -> String {
    let base = crate::app::CONTENT_POLICY;
    let images = "img-src 'self' data:";
    debug_assert!(base.contains(images));
    let mut with = images.to_string();
    for o in origins {
        with.push(' ');
        with.push_str(o);
    }
    format!("{}; connect-src 'self'", base.replacen(images, &with, 1))
}

/// Asks the source for one tile (zoom 1, the north-eastern quarter of the world, which holds
/// China), and the label layer for the same: `Ok` with what answered, or why not. Browsers
/// fetch tiles themselves; this tells whether this machine reaches the source.
pub async fn probe(source: &TileSource) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("fieldcheck-server/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())?;
    let s = source.subdomains.first().map_or("", String::as_str);
    let mut notes = Vec::new();
    for template in std::iter::once(&source.tiles).chain(source.labels.as_ref()) {
        let url = expand(template, s, 1, 1, 0);
        let answer = client
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("no answer from {}: {e}", redacted(template)))?;
        let status = answer.status();
        let kind = answer
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = answer.bytes().await.map_err(|e| e.to_string())?;
        if !status.is_success() || !kind.starts_with("image/") {
            return Err(format!(
                "a tile was answered {status} {kind:?} ({} bytes), not an image",
                bytes.len()
            ));
        }
        notes.push(format!("{kind}, {} bytes", bytes.len()));
    }
    Ok(format!(
        "answers: a tile of zoom 1 is {}",
        notes.join("; labels ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIANDITU: &str = "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=SECRET";

    fn config(tiles: &str, subdomains: &str) -> MapConfig {
        MapConfig {
            tiles: tiles.into(),
            subdomains: subdomains.into(),
            ..MapConfig::default()
        }
    }

    #[test]
    fn no_tiles_is_the_street_plan() {
        assert_eq!(MapConfig::default().source(), Ok(None));
        let labels_only = MapConfig {
            labels: "http://x/{z}/{x}/{y}".into(),
            ..MapConfig::default()
        };
        assert!(labels_only.source().is_err());
    }

    #[test]
    fn tianditu_gives_one_origin_per_subdomain_and_hides_its_key() {
        let mut c = config(TIANDITU, "01234567");
        c.labels = TIANDITU
            .replace("vec_w", "cva_w")
            .replace("LAYER=vec", "LAYER=cva");
        let s = c.source().unwrap().unwrap();
        assert_eq!(s.origins.len(), 8);
        assert_eq!(s.origins[0], "https://t0.tianditu.gov.cn");
        assert_eq!(s.origins[7], "https://t7.tianditu.gov.cn");
        assert_eq!(s.subdomains.len(), 8);
        assert!(
            redacted(TIANDITU).ends_with("&tk=…"),
            "{}",
            redacted(TIANDITU)
        );
        let policy = content_policy(&s.origins);
        assert!(
            policy.contains("img-src 'self' data: https://t0.tianditu.gov.cn "),
            "{policy}"
        );
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert!(policy.ends_with("; connect-src 'self'"), "{policy}");
    }

    #[test]
    fn a_local_tile_server_and_bad_templates() {
        let s = config("http://127.0.0.1:8081/tiles/{z}/{x}/{-y}.png", "")
            .source()
            .unwrap()
            .unwrap();
        assert_eq!(s.origins, ["http://127.0.0.1:8081"]);
        assert!(s.subdomains.is_empty());
        assert_eq!(
            expand(&s.tiles, "", 2, 1, 0),
            "http://127.0.0.1:8081/tiles/2/1/3.png"
        );
        for (tiles, subdomains, why) in [
            ("ftp://x/{z}/{x}/{y}", "", "http"),
            ("http://x/{z}/{x}", "", "{y}"),
            ("http://x/{z}/{x}/{y}/{foo}", "", "placeholder"),
            ("http://t{s}.x/{z}/{x}/{y}", "", "subdomains"),
            ("http://t{s}.x/{z}/{x}/{y}", "a;b", "letters"),
            ("http://u:p@x/{z}/{x}/{y}", "", "password"),
            ("http://x y/{z}/{x}/{y}", "", "address"),
        ] {
            let err = config(tiles, subdomains).source().unwrap_err();
            assert!(err.contains(why), "{tiles}: {err}");
        }
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let env = |name: &str| match name {
            "FIELDCHECK_MAP_TILES" => Some("http://tiles.local/{z}/{x}/{y}.png".to_string()),
            "FIELDCHECK_MAP_MAX_ZOOM" => Some("17".to_string()),
            _ => None,
        };
        let c = config(TIANDITU, "01234567").with_env(env);
        let s = c.source().unwrap().unwrap();
        assert_eq!(s.origins, ["http://tiles.local"]);
        assert_eq!(s.max_zoom, 17);
        assert!(toml::from_str::<MapConfig>("tiles = \"x\"\nbogus = 1\n").is_err());
    }
}
