//! Checklist templates and the problem taxonomy: server-owned data that tablets pull.

use serde::{Deserialize, Serialize};

/// A kind of field point (实地考察点), e.g. 背街小巷 or 集贸市场.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SiteType {
    /// Stable code, e.g. `back_alley`.
    pub code: String,
    /// Chinese name shown first, e.g. 背街小巷.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
}

/// How an item is answered and when it is compliant.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ItemKind {
    /// 符合 / 不符合 / 不适用.
    Verdict,
    /// A count, compliant when at least `min` (e.g. ≥ 5 public-service ads).
    Count {
        /// Smallest compliant count.
        min: u32,
    },
    /// A percentage 0-100, compliant when at least `min` (e.g. street lights lit ≥ 95%).
    Percent {
        /// Smallest compliant percentage.
        min: f64,
    },
}

/// One checklist item (测评内容 with its 测评标准) inside a template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TemplateItem {
    /// Code unique within the template, e.g. `BA-03`.
    pub code: String,
    /// Code of the index (测评项目) the item belongs to, e.g. `II-26`.
    pub index_code: String,
    /// Chinese name of the index, e.g. 城市规划建设.
    pub index_name_zh: String,
    /// English name of the index.
    pub index_name_en: String,
    /// Chinese item text (测评内容).
    pub text_zh: String,
    /// English title of the item.
    pub title_en: String,
    /// The observable standard the inspector checks (测评标准), in Chinese.
    pub standard_zh: String,
    /// The standard in English, when the pack gives it (screens fall back to Chinese).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub standard_en: Option<String>,
    /// The taxonomy subcategory a problem with this item usually is (井盖完好 → 井盖), which the
    /// finding form proposes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub subcategory: Option<String>,
    /// The unit usually responsible for a problem with this item, which the finding form
    /// proposes before the site's own unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub unit: Option<String>,
    /// How the item is answered.
    #[serde(flatten)]
    pub kind: ItemKind,
    /// Weight of the item in the template's weighted score (> 0).
    pub weight: f64,
    /// Whether a non-compliant result must be backed by a photo.
    pub photo_required: bool,
}

/// A versioned checklist for one site type. Versions only grow; an inspection names the exact
/// version it was made against.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Template {
    /// Stable id, e.g. `back_alley`.
    pub id: String,
    /// Version number, from 1.
    pub version: u32,
    /// Code of the site type the template applies to.
    pub site_type: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Items in display order.
    pub items: Vec<TemplateItem>,
}

/// 部件 (a physical asset) or 事件 (an event or behaviour), the split used by 数字城管 case systems.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 部件: manhole cover, street light, cable, guard rail, sign...
    Component,
    /// 事件: illegal parking, street vending, litter, posters...
    Event,
}

impl Category {
    /// The stored and wire name: `component` or `event`.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Component => "component",
            Category::Event => "event",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "component" => Some(Category::Component),
            "event" => Some(Category::Event),
            _ => None,
        }
    }
}

/// A subcategory of the problem taxonomy, e.g. 井盖 under 部件.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Subcategory {
    /// Stable code, e.g. `manhole_cover`.
    pub code: String,
    /// 部件 or 事件.
    pub category: Category,
    /// Chinese name, e.g. 井盖.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
}

/// A responsible unit (责任单位) that rectifies problems, e.g. 城管局.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Unit {
    /// Stable code, e.g. `urban_mgmt`.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
}
