//! Checklist template packs: TOML files an office clerk can edit, loaded and validated as a whole.
//!
//! A pack is a directory such as `content/civilized-city/`:
//!
//! | file | holds |
//! |---|---|
//! | `pack.toml` | `name` |
//! | `site-types.toml` | `[[site_types]]` with `code`, `name_zh`, `name_en` |
//! | `taxonomy.toml` | `[[subcategories]]` with `code`, `category` (`component` 部件 or `event` 事件), `name_zh`, `name_en` |
//! | `units.toml` | `[[units]]` with `code`, `name_zh`, `name_en` |
//! | `templates/*.toml` | one template per file: `id`, `version`, `site_type`, `name_zh`, `name_en` and `[[items]]` (each optionally with `standard_en`, and the `subcategory` and `unit` a problem with it usually has) |
//!
//! [`parse_pack`] checks all of it against every rule. It returns a whole [`Pack`] or the first
//! [`ContentError`], never a part of a pack; importing the pack is the store's job. It reads
//! the files through [`PackFiles`], so it does no I/O itself: the command line gives it a
//! folder on disk (`pack_folder::load_pack`, feature `folder`), the dashboard a .zip held in
//! memory.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use fieldcheck_protocol::{
    Category, ItemKind, SiteType, Subcategory, Template, TemplateItem, Unit,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Longest code (site type, subcategory, unit, template id, item code), in characters.
const MAX_CODE_CHARS: usize = 64;
/// Longest index code (测评项目编号), in characters.
const MAX_INDEX_CODE_CHARS: usize = 32;
/// Longest name or English title, in characters.
const MAX_NAME_CHARS: usize = 100;
/// Longest item text (测评内容), in characters.
const MAX_ITEM_TEXT_CHARS: usize = 200;
/// Longest standard (测评标准), in characters.
const MAX_STANDARD_CHARS: usize = 500;
/// Largest item weight.
const MAX_WEIGHT: f64 = 100.0;
/// Largest minimum of a count item.
const MAX_COUNT_MIN: f64 = 10_000.0;

/// A validated template pack, ready to import. Loading either yields a whole valid pack or an
/// error; a pack is never imported in part.
#[derive(Clone, Debug, PartialEq)]
pub struct Pack {
    /// Pack name, e.g. 全国文明城市实地考察.
    pub name: String,
    /// Site types, unique by code.
    pub site_types: Vec<SiteType>,
    /// Templates, unique by (id, version), each for a known site type; a site type has at most
    /// one template id, possibly in several versions.
    pub templates: Vec<Template>,
    /// The problem taxonomy (部件/事件 subcategories), unique by code.
    pub taxonomy: Vec<Subcategory>,
    /// Responsible units, unique by code.
    pub units: Vec<Unit>,
}

impl Pack {
    /// The number of checklist items over all templates (every version counted).
    pub fn item_count(&self) -> usize {
        self.templates.iter().map(|t| t.items.len()).sum()
    }

    /// The site type with this code, if the pack has it.
    pub fn site_type(&self, code: &str) -> Option<&SiteType> {
        self.site_types.iter().find(|s| s.code == code)
    }

    /// The newest version of the template for this site type, if the pack has one.
    pub fn template_for(&self, site_type: &str) -> Option<&Template> {
        self.templates
            .iter()
            .filter(|t| t.site_type == site_type)
            .max_by_key(|t| t.version)
    }

    /// The template with exactly this id and version, if the pack has it.
    pub fn template(&self, id: &str, version: u32) -> Option<&Template> {
        self.templates
            .iter()
            .find(|t| t.id == id && t.version == version)
    }

    /// The taxonomy subcategory with this code, if the pack has it.
    pub fn subcategory(&self, code: &str) -> Option<&Subcategory> {
        self.taxonomy.iter().find(|s| s.code == code)
    }

    /// The responsible unit with this code, if the pack has it.
    pub fn unit(&self, code: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.code == code)
    }
}

/// Why a pack failed to load. Every message names the file (and the line where one is known),
/// the entry and the field when there is one, and says what to fix: Chinese first, then English.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// A file or directory of the pack could not be read: missing, unreadable or not UTF-8.
    #[error(
        "{}: 无法读取，请确认它存在、可读且为 UTF-8 编码（{source}） / cannot read it; make sure it exists, is readable and is UTF-8 ({source})",
        .path.display()
    )]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A file is not valid TOML.
    #[error(
        "{}:{line}:{column}: TOML 语法错误，请检查引号、方括号、等号，以及是否有重复的键 / TOML syntax error: {message}",
        .path.display()
    )]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Line of the error, from 1.
        line: usize,
        /// Column of the error, from 1, in characters.
        column: usize,
        /// The TOML parser's description (English).
        message: String,
    },
    /// A field is missing, unknown (a typo), of the wrong type, or breaks a rule of the pack.
    #[error("{0}")]
    Invalid(Box<FieldError>),
    /// The `templates/` directory holds no `*.toml` file.
    #[error(
        "{}: 目录中没有模板文件（*.toml），请至少添加一个模板 / no template file (*.toml) in this directory; add at least one template",
        .dir.display()
    )]
    NoTemplates {
        /// The templates directory.
        dir: PathBuf,
    },
}

/// A field that is missing, unknown (a typo), of the wrong type, or breaks a rule of the pack:
/// where it is and what to do about it. Displayed as
/// `templates/market.toml:30: items[1] (MK-02) 字段 weight：必须大于 0 / field weight: must be greater than 0`.
#[derive(Debug)]
pub struct FieldError {
    /// The file.
    pub path: PathBuf,
    /// Line of the offending field or entry, from 1, when known.
    pub line: Option<usize>,
    /// The entry, e.g. `items[3] (MK-04)`; `None` for a top-level field of the file.
    pub entry: Option<String>,
    /// The field, e.g. `weight`.
    pub field: String,
    /// What is wrong and what to do, in Chinese.
    pub zh: String,
    /// What is wrong and what to do, in English.
    pub en: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": ")?;
        if let Some(entry) = &self.entry {
            write!(f, "{entry} ")?;
        }
        let FieldError { field, zh, en, .. } = self;
        write!(f, "字段 {field}：{zh} / field {field}: {en}")
    }
}

/// Where a pack's files come from: a folder on disk, a .zip in memory. Paths are relative to
/// the pack's folder.
pub trait PackFiles {
    /// How a message names the file or folder `rel`.
    fn shown(&self, rel: &Path) -> PathBuf;
    /// The text of the file `rel` ([`ContentError::Read`] when it is missing or not UTF-8).
    fn read(&self, rel: &Path) -> Result<String, ContentError>;
    /// The visible `*.toml` files directly inside the folder `rel`, as paths relative to the
    /// pack, in name order.
    fn toml_files(&self, rel: &Path) -> Result<Vec<PathBuf>, ContentError>;
}

/// Validates the pack whose files `files` gives (see the module documentation for its files).
///
/// Rules checked: every required field is present and no unknown field is (typos are caught);
/// texts are non-blank and within length limits (names and English titles ≤ 100 characters,
/// item text ≤ 200, standard ≤ 500); codes use only ASCII letters, digits, `_` and `-`;
/// codes are unique (site types, subcategories, units, item codes within a template, template
/// id + version); a template's site type exists, one template id keeps one site type
/// and a site type has one template id (in as many versions as needed);
/// version ≥ 1; a template has at least one item; weight is finite, > 0 and ≤ 100; a `count`
/// item has an integer `min` in 1..=10000, a `percent` item a `min` in (0, 100], a `verdict`
/// item no `min`; an index code (测评项目) has the same names everywhere in the pack; an item's
/// optional `subcategory` and `unit` name entries of taxonomy.toml and units.toml, and its
/// optional `standard_en` keeps the standard's length limit.
///
/// Text fields are returned trimmed. Template files are read in file-name order. The function
/// only reads: it returns a whole pack or the first error found.
pub fn parse_pack(files: &dyn PackFiles) -> Result<Pack, ContentError> {
    let name = load_name(files, Path::new("pack.toml"))?;
    let site_types = load_site_types(files, Path::new("site-types.toml"))?;
    let taxonomy = load_taxonomy(files, Path::new("taxonomy.toml"))?;
    let units = load_units(files, Path::new("units.toml"))?;
    let known = Known {
        site_types: &site_types,
        taxonomy: &taxonomy,
        units: &units,
    };
    let templates = load_templates(files, Path::new("templates"), &known)?;
    Ok(Pack {
        name,
        site_types,
        templates,
        taxonomy,
        units,
    })
}

// ---------------------------------------------------------------------------------------------
// The files as written, before validation.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPack {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNamed {
    code: String,
    name_zh: String,
    name_en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSiteTypes {
    #[serde(default)]
    site_types: Vec<RawNamed>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnits {
    #[serde(default)]
    units: Vec<RawNamed>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubcategory {
    code: String,
    category: String,
    name_zh: String,
    name_en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTaxonomy {
    #[serde(default)]
    subcategories: Vec<RawSubcategory>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    id: String,
    version: u32,
    site_type: String,
    name_zh: String,
    name_en: String,
    #[serde(default)]
    items: Vec<RawItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    code: String,
    index_code: String,
    index_name_zh: String,
    index_name_en: String,
    text_zh: String,
    title_en: String,
    standard_zh: String,
    standard_en: Option<String>,
    subcategory: Option<String>,
    unit: Option<String>,
    kind: String,
    min: Option<f64>,
    weight: f64,
    photo_required: bool,
}

// ---------------------------------------------------------------------------------------------
// A parsed file, kept with its spans so that every error can point at a line.

struct Doc<'a> {
    path: PathBuf,
    text: &'a str,
    table: Spanned<DeTable<'a>>,
}

impl<'a> Doc<'a> {
    /// Parses `text` (read from `path`) as TOML; a syntax error names the line and column.
    fn parse(path: PathBuf, text: &'a str) -> Result<Self, ContentError> {
        match DeTable::parse(text) {
            Ok(table) => Ok(Doc { path, text, table }),
            Err(e) => {
                let (line, column) = line_col(text, e.span().map_or(0, |s| s.start));
                Err(ContentError::Syntax {
                    path,
                    line,
                    column,
                    message: e.message().to_string(),
                })
            }
        }
    }

    /// Deserializes the whole file; a shape error (missing, unknown or mistyped field) is
    /// reported with its entry and field.
    fn deserialize<T: DeserializeOwned>(&self) -> Result<T, ContentError> {
        T::deserialize(toml::de::Deserializer::from(self.table.clone()))
            .map_err(|e| self.shape_error(&e))
    }

    fn shape_error(&self, e: &toml::de::Error) -> ContentError {
        let message = e.message();
        let span = e.span().filter(|s| !s.is_empty());
        let (entry, located) = span.as_ref().map_or((None, None), |s| self.locate(s));
        let names = backticked(message);
        let (field, zh, en) = if message.starts_with("missing field") {
            (
                names.first().cloned(),
                "缺少必填字段，请补上".to_string(),
                "required field is missing; add it".to_string(),
            )
        } else if message.starts_with("unknown field") {
            let allowed = names.get(1..).unwrap_or_default();
            (
                names.first().cloned(),
                format!("未知字段，可能拼写有误；可用字段：{}", allowed.join("、")),
                format!(
                    "unknown field, perhaps a typo; allowed fields: {}",
                    allowed.join(", ")
                ),
            )
        } else if message.starts_with("invalid type") {
            (
                located,
                "类型不对：文字要加引号，数字和 true/false 不加引号".to_string(),
                format!("wrong type ({message}): quote text, do not quote numbers or true/false"),
            )
        } else {
            (
                located,
                "取值无效，请检查".to_string(),
                format!("invalid value ({message}); check it"),
            )
        };
        ContentError::Invalid(Box::new(FieldError {
            path: self.path.clone(),
            line: span.map(|s| line_col(self.text, s.start).0),
            entry,
            field: field.unwrap_or_else(|| "?".to_string()),
            zh,
            en,
        }))
    }

    /// Finds the entry (e.g. `items[3] (MK-04)`) and the field whose text covers `span`.
    fn locate(&self, span: &Range<usize>) -> (Option<String>, Option<String>) {
        for (key, value) in self.table.get_ref().iter() {
            if let DeValue::Array(array) = value.get_ref() {
                for (index, element) in array.iter().enumerate() {
                    let DeValue::Table(table) = element.get_ref() else {
                        continue;
                    };
                    let field = table
                        .iter()
                        .find(|(k, v)| covers(&k.span(), span) || covers(&v.span(), span))
                        .map(|(k, _)| k.get_ref().to_string());
                    if field.is_some() || covers(&element.span(), span) {
                        return (Some(entry_label(key.get_ref(), index, table)), field);
                    }
                }
            }
            if covers(&key.span(), span) || covers(&value.span(), span) {
                return (None, Some(key.get_ref().to_string()));
            }
        }
        (None, None)
    }

    /// The place of a top-level field of this file.
    fn top(&self) -> At<'_, 'a> {
        At {
            doc: self,
            entry: None,
        }
    }

    /// The place of entry `array[index]` of this file.
    fn entry(&self, array: &'static str, index: usize) -> At<'_, 'a> {
        At {
            doc: self,
            entry: Some((array, index)),
        }
    }
}

fn covers(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// `items[3] (MK-04)`: the array, the index from 0, and the entry's code when it has one.
fn entry_label(array: &str, index: usize, table: &DeTable<'_>) -> String {
    match table.get("code").map(|v| v.get_ref()) {
        Some(DeValue::String(code)) => format!("{array}[{index}] ({code})"),
        _ => format!("{array}[{index}]"),
    }
}

/// The names quoted in backticks in a serde message, in order.
fn backticked(message: &str) -> Vec<String> {
    message
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// Line and column (both from 1, column in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..text.floor_char_boundary(offset.min(text.len()))];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// A place in a file that a validation error points at: a top-level field, or a field of one
/// entry of an array of tables.
#[derive(Clone, Copy)]
struct At<'d, 'a> {
    doc: &'d Doc<'a>,
    entry: Option<(&'static str, usize)>,
}

impl At<'_, '_> {
    /// The label of this entry, e.g. `items[3] (MK-04)`.
    fn label(&self) -> Option<String> {
        let (array, index) = self.entry?;
        Some(self.element(array, index).map_or_else(
            || format!("{array}[{index}]"),
            |(_, t)| entry_label(array, index, t),
        ))
    }

    fn element(&self, array: &str, index: usize) -> Option<(Range<usize>, &DeTable<'_>)> {
        let (_, value) = self.doc.table.get_ref().get_key_value(array)?;
        let DeValue::Array(elements) = value.get_ref() else {
            return None;
        };
        let element = elements.get(index)?;
        match element.get_ref() {
            DeValue::Table(table) => Some((element.span(), table)),
            _ => None,
        }
    }

    /// The span of `field` here: its key if present, else the entry.
    fn span_of(&self, field: &str) -> Option<Range<usize>> {
        match self.entry {
            Some((array, index)) => {
                let (span, table) = self.element(array, index)?;
                Some(table.get_key_value(field).map_or(span, |(k, _)| k.span()))
            }
            None => {
                let (key, _) = self.doc.table.get_ref().get_key_value(field)?;
                Some(key.span())
            }
        }
    }

    /// An error about `field` at this place.
    fn fail(&self, field: &str, zh: impl Into<String>, en: impl Into<String>) -> ContentError {
        ContentError::Invalid(Box::new(FieldError {
            path: self.doc.path.clone(),
            line: self
                .span_of(field)
                .map(|s| line_col(self.doc.text, s.start).0),
            entry: self.label(),
            field: field.to_string(),
            zh: zh.into(),
            en: en.into(),
        }))
    }

    /// A non-blank text of at most `max_chars` characters, trimmed.
    fn text(&self, field: &str, value: &str, max_chars: usize) -> Result<String, ContentError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(self.fail(field, "不能为空，请填写", "must not be empty; fill it in"));
        }
        let chars = value.chars().count();
        if chars > max_chars {
            return Err(self.fail(
                field,
                format!("太长（{chars} 字），最多 {max_chars} 字，请精简"),
                format!("too long ({chars} characters); at most {max_chars} allowed, shorten it"),
            ));
        }
        Ok(value.to_string())
    }

    /// A stable code: non-empty, at most 64 characters, ASCII letters, digits, `_` and `-` only.
    fn code(&self, field: &str, value: &str) -> Result<String, ContentError> {
        let code = self.text(field, value, MAX_CODE_CHARS)?;
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(self.fail(
                field,
                format!("“{value}”不是有效代码：只能用英文字母、数字、下划线 _ 和连字符 -，不能有空格"),
                format!(
                    "\"{value}\" is not a valid code: use only ASCII letters, digits, '_' and '-', no spaces"
                ),
            ));
        }
        Ok(code)
    }

    /// A code that must name an entry of another file of the pack (`file`, whose codes are
    /// `codes`).
    fn known<'c>(
        &self,
        field: &str,
        value: &str,
        codes: impl Iterator<Item = &'c str>,
        file: &str,
    ) -> Result<String, ContentError> {
        let code = self.code(field, value)?;
        let codes: Vec<&str> = codes.collect();
        if codes.contains(&code.as_str()) {
            return Ok(code);
        }
        Err(self.fail(
            field,
            format!("{code} 不在 {file} 中，请先在那里添加，或改用已有的代码"),
            format!("{code} is not in {file}; add it there first, or use a code it has"),
        ))
    }

    /// Records `code` as used by this entry, failing if an earlier entry of the file used it.
    fn unique(
        &self,
        field: &str,
        code: &str,
        seen: &mut HashMap<String, String>,
    ) -> Result<(), ContentError> {
        let here = self.label().unwrap_or_default();
        if let Some(first) = seen.insert(code.to_string(), here) {
            return Err(self.fail(
                field,
                format!("代码 {code} 重复，已被 {first} 使用，请改成唯一的代码"),
                format!("duplicate code {code}, already used by {first}; make it unique"),
            ));
        }
        Ok(())
    }

    /// The code, Chinese name and English name shared by site types, subcategories and units,
    /// with the code unique in the file.
    fn named(
        &self,
        seen: &mut HashMap<String, String>,
        code: &str,
        name_zh: &str,
        name_en: &str,
    ) -> Result<(String, String, String), ContentError> {
        let code = self.code("code", code)?;
        self.unique("code", &code, seen)?;
        let name_zh = self.text("name_zh", name_zh, MAX_NAME_CHARS)?;
        let name_en = self.text("name_en", name_en, MAX_NAME_CHARS)?;
        Ok((code, name_zh, name_en))
    }
}

// ---------------------------------------------------------------------------------------------
// The files.

fn load_name(files: &dyn PackFiles, rel: &Path) -> Result<String, ContentError> {
    let text = files.read(rel)?;
    let doc = Doc::parse(files.shown(rel), &text)?;
    let raw: RawPack = doc.deserialize()?;
    doc.top().text("name", &raw.name, MAX_NAME_CHARS)
}

/// Fails with "at least one entry needed" when `count` is 0.
fn require_entries(doc: &Doc<'_>, array: &str, count: usize) -> Result<(), ContentError> {
    if count == 0 {
        return Err(doc.top().fail(
            array,
            format!("至少需要一项，请用 [[{array}]] 添加"),
            format!("at least one entry is needed; add one with [[{array}]]"),
        ));
    }
    Ok(())
}

fn load_site_types(files: &dyn PackFiles, rel: &Path) -> Result<Vec<SiteType>, ContentError> {
    let text = files.read(rel)?;
    let doc = Doc::parse(files.shown(rel), &text)?;
    let raw: RawSiteTypes = doc.deserialize()?;
    require_entries(&doc, "site_types", raw.site_types.len())?;
    let mut seen = HashMap::new();
    raw.site_types
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (code, name_zh, name_en) = doc
                .entry("site_types", i)
                .named(&mut seen, &r.code, &r.name_zh, &r.name_en)?;
            Ok(SiteType {
                code,
                name_zh,
                name_en,
            })
        })
        .collect()
}

fn load_units(files: &dyn PackFiles, rel: &Path) -> Result<Vec<Unit>, ContentError> {
    let text = files.read(rel)?;
    let doc = Doc::parse(files.shown(rel), &text)?;
    let raw: RawUnits = doc.deserialize()?;
    require_entries(&doc, "units", raw.units.len())?;
    let mut seen = HashMap::new();
    raw.units
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (code, name_zh, name_en) = doc
                .entry("units", i)
                .named(&mut seen, &r.code, &r.name_zh, &r.name_en)?;
            Ok(Unit {
                code,
                name_zh,
                name_en,
            })
        })
        .collect()
}

fn load_taxonomy(files: &dyn PackFiles, rel: &Path) -> Result<Vec<Subcategory>, ContentError> {
    let text = files.read(rel)?;
    let doc = Doc::parse(files.shown(rel), &text)?;
    let raw: RawTaxonomy = doc.deserialize()?;
    require_entries(&doc, "subcategories", raw.subcategories.len())?;
    let mut seen = HashMap::new();
    raw.subcategories
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let at = doc.entry("subcategories", i);
            let (code, name_zh, name_en) = at.named(&mut seen, &r.code, &r.name_zh, &r.name_en)?;
            let category = Category::parse(r.category.trim()).ok_or_else(|| {
                at.fail(
                    "category",
                    format!(
                        "“{}”无效，只能是 component（部件）或 event（事件）",
                        r.category
                    ),
                    format!(
                        "\"{}\" is not valid; use component (部件) or event (事件)",
                        r.category
                    ),
                )
            })?;
            Ok(Subcategory {
                code,
                category,
                name_zh,
                name_en,
            })
        })
        .collect()
}

/// The pack's other files, which templates refer to.
struct Known<'p> {
    site_types: &'p [SiteType],
    taxonomy: &'p [Subcategory],
    units: &'p [Unit],
}

/// What the templates read so far have claimed, for the checks that span files.
#[derive(Default)]
struct Claims {
    /// (id, version) → the file that defines it.
    versions: HashMap<(String, u32), PathBuf>,
    /// Template id → its site type and the file that first said so.
    site_type_of: HashMap<String, (String, PathBuf)>,
    /// Site type → the id of its template and the file that first said so.
    template_of: HashMap<String, (String, PathBuf)>,
    /// Index code → its Chinese and English names, and where they were first given.
    indexes: HashMap<String, (String, String, String)>,
}

fn load_templates(
    files: &dyn PackFiles,
    dir: &Path,
    known: &Known<'_>,
) -> Result<Vec<Template>, ContentError> {
    let paths = files.toml_files(dir)?;
    if paths.is_empty() {
        return Err(ContentError::NoTemplates {
            dir: files.shown(dir),
        });
    }
    let mut claims = Claims::default();
    paths
        .into_iter()
        .map(|rel| {
            let text = files.read(&rel)?;
            let doc = Doc::parse(files.shown(&rel), &text)?;
            check_template(&doc, known, &mut claims)
        })
        .collect()
}

fn check_template(
    doc: &Doc<'_>,
    known: &Known<'_>,
    claims: &mut Claims,
) -> Result<Template, ContentError> {
    let site_types = known.site_types;
    let raw: RawTemplate = doc.deserialize()?;
    let top = doc.top();
    let id = top.code("id", &raw.id)?;
    if raw.version < 1 {
        return Err(top.fail("version", "版本号必须从 1 开始", "must be at least 1"));
    }
    if let Some(other) = claims.versions.get(&(id.clone(), raw.version)) {
        return Err(top.fail(
            "version",
            format!(
                "模板 {id} 第 {} 版已在 {} 中定义，请提高版本号或改用新的 id",
                raw.version,
                other.display()
            ),
            format!(
                "template {id} version {} is already defined in {}; raise the version or use a new id",
                raw.version,
                other.display()
            ),
        ));
    }
    let site_type = top.code("site_type", &raw.site_type)?;
    if !site_types.iter().any(|s| s.code == site_type) {
        let known: Vec<&str> = site_types.iter().map(|s| s.code.as_str()).collect();
        return Err(top.fail(
            "site_type",
            format!(
                "场所类型 {site_type} 不存在，请先在 site-types.toml 中添加，或改用已有的：{}",
                known.join("、")
            ),
            format!(
                "unknown site type {site_type}; add it to site-types.toml or use one of: {}",
                known.join(", ")
            ),
        ));
    }
    if let Some((other_type, other)) = claims.site_type_of.get(&id)
        && *other_type != site_type
    {
        return Err(top.fail(
            "site_type",
            format!(
                "模板 {id} 在 {} 中的场所类型是 {other_type}，同一模板的各版本必须用同一场所类型",
                other.display()
            ),
            format!(
                "template {id} has site type {other_type} in {}; all versions of a template keep one site type",
                other.display()
            ),
        ));
    }
    if let Some((other_id, other)) = claims.template_of.get(&site_type)
        && *other_id != id
    {
        return Err(top.fail(
            "site_type",
            format!(
                "场所类型 {site_type} 已有模板 {other_id}（{}），每个场所类型只能有一个模板；新版本请沿用 id {other_id} 并提高 version",
                other.display()
            ),
            format!(
                "site type {site_type} already has template {other_id} ({}); a site type has one template, so give a new version the id {other_id} and a higher version",
                other.display()
            ),
        ));
    }
    let name_zh = top.text("name_zh", &raw.name_zh, MAX_NAME_CHARS)?;
    let name_en = top.text("name_en", &raw.name_en, MAX_NAME_CHARS)?;
    require_entries(doc, "items", raw.items.len())?;

    let mut seen = HashMap::new();
    let items = raw
        .items
        .iter()
        .enumerate()
        .map(|(i, r)| {
            check_item(
                doc.entry("items", i),
                r,
                known,
                &mut seen,
                &mut claims.indexes,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;

    claims
        .versions
        .insert((id.clone(), raw.version), doc.path.clone());
    claims
        .site_type_of
        .entry(id.clone())
        .or_insert_with(|| (site_type.clone(), doc.path.clone()));
    claims
        .template_of
        .entry(site_type.clone())
        .or_insert_with(|| (id.clone(), doc.path.clone()));
    Ok(Template {
        id,
        version: raw.version,
        site_type,
        name_zh,
        name_en,
        items,
    })
}

fn check_item(
    at: At<'_, '_>,
    raw: &RawItem,
    known: &Known<'_>,
    seen: &mut HashMap<String, String>,
    indexes: &mut HashMap<String, (String, String, String)>,
) -> Result<TemplateItem, ContentError> {
    let code = at.code("code", &raw.code)?;
    at.unique("code", &code, seen)?;

    let index_code = at.text("index_code", &raw.index_code, MAX_INDEX_CODE_CHARS)?;
    if index_code.chars().any(char::is_whitespace) {
        return Err(at.fail(
            "index_code",
            "测评项目编号中不能有空格",
            "an index code must not contain spaces",
        ));
    }
    let index_name_zh = at.text("index_name_zh", &raw.index_name_zh, MAX_NAME_CHARS)?;
    let index_name_en = at.text("index_name_en", &raw.index_name_en, MAX_NAME_CHARS)?;
    let here = format!(
        "{} {}",
        at.doc.path.display(),
        at.label().unwrap_or_default()
    );
    match indexes.get(&index_code) {
        Some((zh, en, first)) if *zh != index_name_zh || *en != index_name_en => {
            let field = if *zh != index_name_zh {
                "index_name_zh"
            } else {
                "index_name_en"
            };
            return Err(at.fail(
                field,
                format!(
                    "测评项目 {index_code} 在 {first} 中的名称是“{zh}”/“{en}”，这里不同，请统一"
                ),
                format!(
                    "index {index_code} is named \"{zh}\" / \"{en}\" in {first}; use the same names everywhere"
                ),
            ));
        }
        Some(_) => {}
        None => {
            indexes.insert(
                index_code.clone(),
                (index_name_zh.clone(), index_name_en.clone(), here),
            );
        }
    }

    let text_zh = at.text("text_zh", &raw.text_zh, MAX_ITEM_TEXT_CHARS)?;
    let title_en = at.text("title_en", &raw.title_en, MAX_NAME_CHARS)?;
    let standard_zh = at.text("standard_zh", &raw.standard_zh, MAX_STANDARD_CHARS)?;
    let standard_en = raw
        .standard_en
        .as_deref()
        .map(|t| at.text("standard_en", t, MAX_STANDARD_CHARS))
        .transpose()?;
    let subcategory = raw
        .subcategory
        .as_deref()
        .map(|c| {
            let codes = known.taxonomy.iter().map(|s| s.code.as_str());
            at.known("subcategory", c, codes, "taxonomy.toml")
        })
        .transpose()?;
    let unit = raw
        .unit
        .as_deref()
        .map(|c| {
            let codes = known.units.iter().map(|u| u.code.as_str());
            at.known("unit", c, codes, "units.toml")
        })
        .transpose()?;
    let kind = check_kind(at, raw)?;
    if !raw.weight.is_finite() || raw.weight <= 0.0 {
        return Err(at.fail("weight", "必须大于 0", "must be greater than 0"));
    }
    if raw.weight > MAX_WEIGHT {
        return Err(at.fail(
            "weight",
            format!("不能超过 {MAX_WEIGHT}"),
            format!("must be at most {MAX_WEIGHT}"),
        ));
    }
    Ok(TemplateItem {
        code,
        index_code,
        index_name_zh,
        index_name_en,
        text_zh,
        title_en,
        standard_zh,
        standard_en,
        subcategory,
        unit,
        kind,
        weight: raw.weight,
        photo_required: raw.photo_required,
    })
}

fn check_kind(at: At<'_, '_>, raw: &RawItem) -> Result<ItemKind, ContentError> {
    match (raw.kind.trim(), raw.min) {
        ("verdict", None) => Ok(ItemKind::Verdict),
        ("verdict", Some(_)) => Err(at.fail(
            "min",
            "判定类（verdict）检查项不用 min，请删除这一行，或把 kind 改为 count 或 percent",
            "a verdict item takes no min; remove it, or change kind to count or percent",
        )),
        ("count" | "percent", None) => Err(at.fail(
            "min",
            "计数类（count）和百分比类（percent）检查项必须填写 min（达标的最低值）",
            "a count or percent item needs min (the lowest compliant value)",
        )),
        ("count", Some(min)) => {
            if !(1.0..=MAX_COUNT_MIN).contains(&min) || min.fract() != 0.0 {
                return Err(at.fail(
                    "min",
                    format!("必须是 1 到 {MAX_COUNT_MIN} 之间的整数（0 等于永远达标）"),
                    format!(
                        "must be a whole number from 1 to {MAX_COUNT_MIN} (0 would always comply)"
                    ),
                ));
            }
            Ok(ItemKind::Count { min: min as u32 })
        }
        ("percent", Some(min)) => {
            if !(min > 0.0 && min <= 100.0) {
                return Err(at.fail(
                    "min",
                    "必须大于 0 且不超过 100（百分比）",
                    "must be greater than 0 and at most 100 (a percentage)",
                ));
            }
            Ok(ItemKind::Percent { min })
        }
        (other, _) => Err(at.fail(
            "kind",
            format!(
                "“{other}”无效，只能是 verdict（符合/不符合）、count（计数）或 percent（百分比）"
            ),
            format!("\"{other}\" is not valid; use verdict, count or percent"),
        )),
    }
}
