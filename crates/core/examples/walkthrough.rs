//! A walk through the offline engine as a tablet uses it, printed in Chinese: import the
//! template pack, inspect a back alley, record a finding, and show the score and the outbox.
//!
//! Run: `cargo run -p fieldcheck-core --example walkthrough [DATA_DIR]` (default `./data`).

use fieldcheck_core::store::Store;
use fieldcheck_core::store::findings::NewFinding;
use fieldcheck_core::store::inspections::NewInspection;
use fieldcheck_domain::pack_folder::load_pack;
use fieldcheck_protocol::{Category, ItemKind, ItemValue, Severity, Site};
use std::path::PathBuf;
use uuid::Uuid;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "data".into()));
    std::fs::create_dir_all(&data)?;
    let content = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../content/civilized-city");
    let pack = load_pack(&content)?;
    println!(
        "模板包「{}」：{} 类点位，{} 条测评内容",
        pack.name,
        pack.site_types.len(),
        pack.item_count()
    );

    let mut store = Store::open(data.join("tablet.db"))?;
    store.import_pack(&pack)?;
    let site = Site {
        id: Uuid::now_v7(),
        name: "幸福巷".into(),
        site_type: "back_alley".into(),
        district: "城关区".into(),
        street: "东岗街道".into(),
        address: "幸福巷 1-30 号".into(),
        position: None,
        unit: None,
        qr_code: None,
    };
    store.upsert_site(&site)?;
    let template = store
        .latest_template_for(&site.site_type)?
        .ok_or("no template for back_alley")?;
    let inspection = store.start_inspection(NewInspection {
        site_id: site.id,
        template_id: template.id.clone(),
        template_version: template.version,
        inspector: "张三".into(),
        position: None,
    })?;
    for (n, item) in template.items.iter().enumerate() {
        let value = match item.kind {
            ItemKind::Verdict if n % 4 == 1 => ItemValue::NonCompliant,
            ItemKind::Verdict => ItemValue::Compliant,
            ItemKind::Count { min } => ItemValue::Count(min.saturating_sub(1)),
            ItemKind::Percent { min } => ItemValue::Percent(min),
        };
        store.record_result(inspection.id, &item.code, value, "")?;
    }
    let sub = store
        .taxonomy()?
        .into_iter()
        .find(|s| s.category == Category::Component)
        .ok_or("empty taxonomy")?;
    store.add_finding(NewFinding {
        site_id: site.id,
        inspection_id: Some(inspection.id),
        item_code: None,
        category: sub.category,
        subcategory: sub.code.clone(),
        description: format!("{}破损，需更换", sub.name_zh),
        severity: Severity::Critical,
        position: None,
        unit: None,
        deadline: None,
        same_day: false,
        reporter: "张三".into(),
    })?;
    store.finish_inspection(inspection.id)?;

    let score = store.inspection_score(inspection.id)?;
    println!("检查「{}」（{}）：", site.name, template.name_zh);
    println!(
        "  适用观测 {}，符合 {}，合格率 {:.1}%，加权得分 {:.2}",
        score.applicable,
        score.compliant,
        score.pass_rate.unwrap_or(0.0) * 100.0,
        score.weighted_score.unwrap_or(0.0)
    );
    for index in &score.by_index {
        if index.points_lost > 0.0 {
            println!(
                "  失分 {:.2}：{} {}",
                index.points_lost, index.index_code, index.index_name_zh
            );
        }
    }
    let stats = store.outbox_stats()?;
    println!(
        "待同步记录 {} 条（序号 {:?}–{}），数据库 {}",
        stats.pending,
        stats.first_seq,
        stats.last_seq,
        data.join("tablet.db").display()
    );
    Ok(())
}
