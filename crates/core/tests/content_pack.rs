//! The template pack loader: the real pack in `content/civilized-city` loads and is sound, and
//! broken packs fail with a message naming the file, the entry and the field.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use fieldcheck_domain::pack::ContentError;
use fieldcheck_domain::pack_folder::load_pack;
use fieldcheck_protocol::{Category, ItemKind};

fn real_pack_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/civilized-city")
}

#[test]
fn real_pack_loads_and_is_sound() {
    let pack = load_pack(&real_pack_dir()).unwrap_or_else(|e| panic!("{e}"));
    assert!(!pack.name.is_empty());
    assert!(
        pack.site_types.len() >= 12,
        "{} site types",
        pack.site_types.len()
    );
    assert!(pack.item_count() >= 150, "{} items", pack.item_count());

    for site_type in &pack.site_types {
        let template = pack
            .template_for(&site_type.code)
            .unwrap_or_else(|| panic!("no template for site type {}", site_type.code));
        assert_eq!(template.version, 2);
    }
    for template in &pack.templates {
        assert!(pack.site_type(&template.site_type).is_some());
        assert!(!template.items.is_empty());
        let mut codes = HashSet::new();
        for item in &template.items {
            assert!(codes.insert(&item.code), "duplicate {}", item.code);
            assert!(item.weight > 0.0 && item.weight.is_finite());
            match item.kind {
                ItemKind::Verdict => {}
                ItemKind::Count { min } => assert!((1..=100).contains(&min), "{}", item.code),
                ItemKind::Percent { min } => {
                    assert!(min > 0.0 && min <= 100.0, "{}", item.code)
                }
            }
        }
    }
    let kinds = |f: fn(&ItemKind) -> bool| {
        pack.templates
            .iter()
            .flat_map(|t| &t.items)
            .filter(|i| f(&i.kind))
            .count()
    };
    assert!(kinds(|k| matches!(k, ItemKind::Count { .. })) >= 5);
    assert!(kinds(|k| matches!(k, ItemKind::Percent { .. })) >= 5);

    let in_category = |c| pack.taxonomy.iter().filter(|s| s.category == c).count();
    assert!(in_category(Category::Component) >= 12);
    assert!(in_category(Category::Event) >= 12);
    for code in [
        "manhole_cover",
        "street_light",
        "illegal_parking",
        "street_vending",
    ] {
        assert!(pack.subcategory(code).is_some(), "{code}");
    }
    assert!(pack.unit("urban_mgmt").is_some());
    assert!(pack.units.len() >= 12);
}

// ---------------------------------------------------------------------------------------------
// A small valid pack that each test breaks in one place.

const PACK: &str = "name = \"测试包\"\n";

const SITE_TYPES: &str = r#"
[[site_types]]
code = "market"
name_zh = "集贸市场"
name_en = "Market"

[[site_types]]
code = "alley"
name_zh = "背街小巷"
name_en = "Back alley"
"#;

const TAXONOMY: &str = r#"
[[subcategories]]
code = "manhole_cover"
category = "component"
name_zh = "井盖"
name_en = "Manhole cover"

[[subcategories]]
code = "litter"
category = "event"
name_zh = "垃圾"
name_en = "Litter"
"#;

const UNITS: &str = r#"
[[units]]
code = "urban_mgmt"
name_zh = "城管局"
name_en = "Urban Management Bureau"
"#;

const MARKET: &str = r#"# 集贸市场
id = "market"
version = 1
site_type = "market"
name_zh = "集贸市场检查表"
name_en = "Market checklist"

[[items]]
code = "MK-01"
index_code = "II-20"
index_name_zh = "公共环境卫生"
index_name_en = "Public sanitation"
text_zh = "地面清洁"
title_en = "Floor clean"
standard_zh = "地面无积水、无污物。"
kind = "verdict"
weight = 1.0
photo_required = true

[[items]]
code = "MK-02"
index_code = "II-10"
index_name_zh = "公益广告宣传"
index_name_en = "Public-service advertising"
text_zh = "公益广告"
title_en = "Public-service ads"
standard_zh = "公益广告不少于 5 处。"
kind = "count"
min = 5
weight = 2.0
photo_required = true

[[items]]
code = "MK-03"
index_code = "II-12"
index_name_zh = "诚信经营"
index_name_en = "Honest business"
text_zh = "亮照经营"
title_en = "Licences displayed"
standard_zh = "亮照经营的摊位比例不低于 95%。"
kind = "percent"
min = 95
weight = 1.5
photo_required = false
"#;

/// Writes the small pack into a fresh directory, with `market.toml` replaced by `market`.
fn write_pack(market: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("pack.toml"), PACK).unwrap();
    fs::write(root.join("site-types.toml"), SITE_TYPES).unwrap();
    fs::write(root.join("taxonomy.toml"), TAXONOMY).unwrap();
    fs::write(root.join("units.toml"), UNITS).unwrap();
    fs::create_dir(root.join("templates")).unwrap();
    fs::write(root.join("templates/market.toml"), market).unwrap();
    dir
}

/// `MARKET` with `from` replaced once by `to`; panics if `from` is not there.
fn market_with(from: &str, to: &str) -> String {
    assert!(MARKET.contains(from), "test setup: {from:?} not in MARKET");
    MARKET.replacen(from, to, 1)
}

/// Loads the pack and returns the error message; panics if the pack loads.
fn load_err(dir: &tempfile::TempDir) -> String {
    match load_pack(dir.path()) {
        Ok(_) => panic!("a broken pack loaded"),
        Err(e) => {
            let message = e.to_string();
            eprintln!("{message}");
            message
        }
    }
}

/// Asserts the message names every one of `parts`, and is bilingual.
fn assert_names(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{part:?} missing from: {message}");
    }
    assert!(message.contains(" / "), "not bilingual: {message}");
}

#[test]
fn small_pack_loads_with_lookups() {
    let dir = write_pack(MARKET);
    let pack = load_pack(dir.path()).unwrap();
    assert_eq!(pack.name, "测试包");
    assert_eq!(pack.item_count(), 3);
    let market = pack.template_for("market").unwrap();
    assert_eq!(market.items[1].kind, ItemKind::Count { min: 5 });
    assert_eq!(market.items[2].kind, ItemKind::Percent { min: 95.0 });
    assert!(pack.template("market", 1).is_some());
    assert!(pack.template("market", 2).is_none());
    assert!(pack.template_for("alley").is_none());
    assert_eq!(pack.site_type("alley").unwrap().name_zh, "背街小巷");
    assert_eq!(
        pack.subcategory("litter").unwrap().category,
        Category::Event
    );
    assert_eq!(pack.unit("urban_mgmt").unwrap().name_zh, "城管局");
}

#[test]
fn newest_version_is_the_template_for_a_site_type() {
    let dir = write_pack(MARKET);
    let v2 = MARKET.replacen("version = 1", "version = 2", 1);
    fs::write(dir.path().join("templates/market-v2.toml"), v2).unwrap();
    let pack = load_pack(dir.path()).unwrap();
    assert_eq!(pack.template_for("market").unwrap().version, 2);
    assert_eq!(pack.item_count(), 6);
}

#[test]
fn missing_field_is_named() {
    let dir = write_pack(&market_with("weight = 2.0\n", ""));
    let message = load_err(&dir);
    assert_names(
        &message,
        &["market.toml", "items[1] (MK-02)", "weight", "缺少"],
    );
}

#[test]
fn unknown_field_typo_is_named() {
    let dir = write_pack(&market_with("weight = 2.0", "wieght = 2.0"));
    let message = load_err(&dir);
    assert_names(
        &message,
        &["market.toml", "items[1] (MK-02)", "wieght", "未知字段"],
    );
}

#[test]
fn wrong_type_is_named() {
    let dir = write_pack(&market_with("weight = 2.0", "weight = \"2\""));
    let message = load_err(&dir);
    assert_names(
        &message,
        &["market.toml", "items[1] (MK-02)", "field weight"],
    );
}

#[test]
fn duplicate_item_code_is_named() {
    let dir = write_pack(&market_with("code = \"MK-02\"", "code = \"MK-01\""));
    let message = load_err(&dir);
    assert_names(
        &message,
        &["market.toml", "items[1] (MK-01)", "field code", "MK-01"],
    );
}

#[test]
fn zero_weight_is_refused() {
    let dir = write_pack(&market_with("weight = 2.0", "weight = 0"));
    let message = load_err(&dir);
    assert_names(
        &message,
        &[
            "market.toml",
            "items[1] (MK-02)",
            "field weight",
            "必须大于 0",
        ],
    );
}

#[test]
fn error_names_the_line() {
    let text = market_with("weight = 2.0", "weight = -1.0");
    let line = text.lines().position(|l| l == "weight = -1.0").unwrap() + 1;
    let dir = write_pack(&text);
    let message = load_err(&dir);
    assert_names(
        &message,
        &[&format!("market.toml:{line}:"), "items[1] (MK-02)"],
    );
}

#[test]
fn percent_min_over_100_is_refused() {
    let dir = write_pack(&market_with("min = 95", "min = 120"));
    let message = load_err(&dir);
    assert_names(
        &message,
        &["market.toml", "items[2] (MK-03)", "field min", "100"],
    );
}

#[test]
fn count_min_zero_is_refused() {
    let dir = write_pack(&market_with("min = 5", "min = 0"));
    let message = load_err(&dir);
    assert_names(&message, &["market.toml", "items[1] (MK-02)", "field min"]);
}

#[test]
fn verdict_with_min_is_refused() {
    let dir = write_pack(&market_with(
        "kind = \"verdict\"",
        "kind = \"verdict\"\nmin = 3",
    ));
    let message = load_err(&dir);
    assert_names(&message, &["market.toml", "items[0] (MK-01)", "field min"]);
}

#[test]
fn unknown_kind_is_refused() {
    let dir = write_pack(&market_with("kind = \"verdict\"", "kind = \"yesno\""));
    let message = load_err(&dir);
    assert_names(
        &message,
        &["market.toml", "items[0] (MK-01)", "field kind", "yesno"],
    );
}

#[test]
fn unknown_site_type_is_refused() {
    let dir = write_pack(&market_with(
        "site_type = \"market\"",
        "site_type = \"bazaar\"",
    ));
    let message = load_err(&dir);
    assert_names(
        &message,
        &[
            "market.toml:4:",
            "field site_type",
            "bazaar",
            "site-types.toml",
        ],
    );
}

#[test]
fn toml_syntax_error_names_file_and_line() {
    let dir = write_pack(&market_with(
        "text_zh = \"公益广告\"",
        "text_zh = \"公益广告",
    ));
    let message = load_err(&dir);
    let line = MARKET
        .lines()
        .position(|l| l == "text_zh = \"公益广告\"")
        .unwrap()
        + 1;
    assert_names(&message, &[&format!("market.toml:{line}:"), "TOML"]);
    assert!(matches!(
        load_pack(dir.path()),
        Err(ContentError::Syntax { .. })
    ));
}

#[test]
fn empty_template_is_refused() {
    let header_end = MARKET.find("[[items]]").unwrap();
    let dir = write_pack(&MARKET[..header_end]);
    let message = load_err(&dir);
    assert_names(&message, &["market.toml", "field items", "至少"]);

    let dir = write_pack(&format!("{}items = []\n", &MARKET[..header_end]));
    let message = load_err(&dir);
    assert_names(&message, &["market.toml", "field items"]);
}

#[test]
fn version_zero_is_refused() {
    let dir = write_pack(&market_with("version = 1", "version = 0"));
    let message = load_err(&dir);
    assert_names(&message, &["market.toml:3:", "field version"]);
}

#[test]
fn too_long_text_is_refused() {
    let long = "很".repeat(201);
    let dir = write_pack(&market_with(
        "text_zh = \"地面清洁\"",
        &format!("text_zh = \"{long}\""),
    ));
    let message = load_err(&dir);
    assert_names(
        &message,
        &["market.toml", "items[0] (MK-01)", "field text_zh", "200"],
    );
}

#[test]
fn blank_text_is_refused() {
    let dir = write_pack(&market_with(
        "title_en = \"Floor clean\"",
        "title_en = \"  \"",
    ));
    let message = load_err(&dir);
    assert_names(
        &message,
        &["market.toml", "items[0] (MK-01)", "field title_en"],
    );
}

#[test]
fn duplicate_template_version_is_refused() {
    let dir = write_pack(MARKET);
    fs::write(dir.path().join("templates/market-copy.toml"), MARKET).unwrap();
    let message = load_err(&dir);
    assert_names(
        &message,
        &["market.toml", "field version", "market-copy.toml"],
    );
}

#[test]
fn second_template_for_a_site_type_is_refused() {
    let dir = write_pack(MARKET);
    let other = market_with("id = \"market\"", "id = \"market2\"");
    fs::write(dir.path().join("templates/market2.toml"), other).unwrap();
    let message = load_err(&dir);
    assert_names(&message, &["market2.toml:4:", "field site_type", "market"]);
}

#[test]
fn index_names_must_agree() {
    let dir = write_pack(MARKET);
    let alley = market_with("id = \"market\"", "id = \"alley\"")
        .replacen("site_type = \"market\"", "site_type = \"alley\"", 1)
        .replacen("\"公共环境卫生\"", "\"环境卫生\"", 1);
    fs::write(dir.path().join("templates/alley.toml"), alley).unwrap();
    let message = load_err(&dir);
    assert_names(
        &message,
        &[
            "alley.toml",
            "items[0] (MK-01)",
            "field index_name_zh",
            "II-20",
        ],
    );
}

#[test]
fn duplicate_site_type_and_bad_category_are_named() {
    let dir = write_pack(MARKET);
    let doubled = SITE_TYPES.replacen("code = \"alley\"", "code = \"market\"", 1);
    fs::write(dir.path().join("site-types.toml"), doubled).unwrap();
    let message = load_err(&dir);
    assert_names(
        &message,
        &["site-types.toml", "site_types[1] (market)", "field code"],
    );

    let dir = write_pack(MARKET);
    let bad = TAXONOMY.replacen("\"event\"", "\"happening\"", 1);
    fs::write(dir.path().join("taxonomy.toml"), bad).unwrap();
    let message = load_err(&dir);
    assert_names(
        &message,
        &[
            "taxonomy.toml",
            "subcategories[1] (litter)",
            "field category",
        ],
    );
}

#[test]
fn bad_code_is_refused() {
    let dir = write_pack(MARKET);
    let bad = UNITS.replacen("\"urban_mgmt\"", "\"urban mgmt\"", 1);
    fs::write(dir.path().join("units.toml"), bad).unwrap();
    let message = load_err(&dir);
    assert_names(
        &message,
        &["units.toml", "units[0] (urban mgmt)", "field code"],
    );
}

#[test]
fn missing_file_and_empty_templates_dir_are_refused() {
    let dir = write_pack(MARKET);
    fs::remove_file(dir.path().join("units.toml")).unwrap();
    let message = load_err(&dir);
    assert_names(&message, &["units.toml", "无法读取"]);

    let dir = write_pack(MARKET);
    fs::remove_file(dir.path().join("templates/market.toml")).unwrap();
    fs::write(dir.path().join("templates/README.md"), "说明").unwrap();
    let message = load_err(&dir);
    assert_names(&message, &["templates", "没有模板文件"]);
}

#[test]
fn missing_top_level_field_is_named() {
    let dir = write_pack(MARKET);
    fs::write(dir.path().join("pack.toml"), "nmae = \"x\"\n").unwrap();
    let message = load_err(&dir);
    assert_names(&message, &["pack.toml", "field nmae"]);

    fs::write(dir.path().join("pack.toml"), "# 空\n").unwrap();
    let message = load_err(&dir);
    assert_names(&message, &["pack.toml", "field name", "缺少"]);
}

#[test]
fn an_item_names_the_subcategory_and_unit_of_its_problems_and_an_english_standard() {
    let dir = write_pack(&market_with(
        "standard_zh = \"地面无积水、无污物。\"",
        "standard_zh = \"地面无积水、无污物。\"\nstandard_en = \"  No standing water or dirt.  \"\nsubcategory = \"litter\"\nunit = \"urban_mgmt\"",
    ));
    let pack = load_pack(dir.path()).unwrap();
    let items = &pack.template_for("market").unwrap().items;
    assert_eq!(items[0].subcategory.as_deref(), Some("litter"));
    assert_eq!(items[0].unit.as_deref(), Some("urban_mgmt"));
    assert_eq!(
        items[0].standard_en.as_deref(),
        Some("No standing water or dirt.")
    );
    assert_eq!(
        (&items[1].subcategory, &items[1].unit, &items[1].standard_en),
        (&None, &None, &None),
        "all three are optional"
    );
}

#[test]
fn an_item_naming_an_unknown_subcategory_or_unit_is_refused() {
    let at = "standard_zh = \"公益广告不少于 5 处。\"";
    let dir = write_pack(&market_with(
        at,
        &format!("{at}\nsubcategory = \"manhole\""),
    ));
    assert_names(
        &load_err(&dir),
        &[
            "market.toml",
            "items[1] (MK-02)",
            "subcategory",
            "manhole",
            "taxonomy.toml",
        ],
    );
    let dir = write_pack(&market_with(at, &format!("{at}\nunit = \"housing\"")));
    assert_names(
        &load_err(&dir),
        &[
            "market.toml",
            "items[1] (MK-02)",
            "unit",
            "housing",
            "units.toml",
        ],
    );
    let dir = write_pack(&market_with(at, &format!("{at}\nstandard_en = \"  \"")));
    assert_names(
        &load_err(&dir),
        &["items[1] (MK-02)", "standard_en", "不能为空"],
    );
}

#[test]
fn the_real_pack_proposes_the_housing_bureau_for_a_broken_manhole_cover_in_an_alley() {
    let pack = load_pack(&real_pack_dir()).unwrap_or_else(|e| panic!("{e}"));
    let alley = pack.template_for("back_alley").unwrap();
    let ba03 = alley.items.iter().find(|i| i.code == "BA-03").unwrap();
    assert_eq!(ba03.subcategory.as_deref(), Some("manhole_cover"));
    assert_eq!(ba03.unit.as_deref(), Some("housing"));
    assert!(ba03.standard_en.is_some());
    let mapped = pack
        .templates
        .iter()
        .flat_map(|t| &t.items)
        .filter(|i| i.subcategory.is_some() && i.unit.is_some())
        .count();
    assert!(
        mapped * 4 >= pack.item_count() * 3,
        "{mapped} of {} items say what a problem with them is and who fixes it",
        pack.item_count()
    );
}
