//! Shared parts of Fieldcheck's end-to-end tests: demo data, paths, a real server process and
//! the one checker that compares tablet and server state.

pub mod app_steps;
pub mod checker;
pub mod fault_proxy;
pub mod gallery;
pub mod office;
pub mod photos;
pub mod shaping_proxy;
pub mod tablet;

pub use fieldcheck_testkit::{app_driver, chromium, content_dir, docx, process, server};

use anyhow::Result;
use fieldcheck_core::store::Store;
use fieldcheck_domain::pack_folder::load_pack;
use fieldcheck_protocol::{Position, PositionSource, Site};
use std::path::Path;
use uuid::Uuid;

/// Imports the pack at `content` into `store` and adds one site per site type.
pub fn seed_demo_sites(store: &mut Store, content: &Path) -> Result<Vec<Site>> {
    let pack = load_pack(content)?;
    store.import_pack(&pack)?;
    let mut sites = Vec::new();
    for (n, t) in pack.site_types.iter().enumerate() {
        let site = Site {
            id: Uuid::now_v7(),
            name: format!("{}{}号点", t.name_zh, n + 1),
            site_type: t.code.clone(),
            district: "城关区".into(),
            street: "东岗街道".into(),
            address: format!("东岗西路 {} 号", 100 + n),
            position: Some(Position {
                lat: 36.05 + n as f64 * 0.001,
                lon: 103.82,
                accuracy_m: 8.0,
                source: PositionSource::Gps,
            }),
            unit: pack.units.first().map(|u| u.code.clone()),
            qr_code: None,
        };
        store.upsert_site(&site)?;
        sites.push(site);
    }
    Ok(sites)
}
