//! 任务分工 as the office keeps it: an Excel workbook, one rule a row, read into the domain's
//! [`Rule`]s and written back out. The workbook is hostile until checked: its size, its zip
//! entries and their unpacked bytes are bounded before the spreadsheet reader sees it, then
//! every row is checked ([`check_rule`]) and every name resolved against the reference data (a
//! unit, site type or site named in Chinese or by code; a district or street some site is in;
//! an item some checklist has). Any fault refuses the whole table, naming the row and column.

use super::input::FieldFault;
use crate::dashboard::reference::Reference;
use calamine::{Data, Reader, Xlsx};
use fieldcheck_domain::task_division::{DEFAULT_DAYS, MAX_RULES, Rule, check_rule};
use fieldcheck_protocol::Template;
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use std::collections::HashSet;
use std::io::Read;

/// Largest workbook accepted (a county's table of a few thousand rows is under 1 MB).
pub const MAX_XLSX_BYTES: usize = 8 * 1024 * 1024;
/// Most entries in the workbook's zip archive.
const MAX_ZIP_ENTRIES: usize = 200;
/// Largest unpacked total of the archive (guards against a zip bomb).
const MAX_UNPACKED_BYTES: u64 = 96 * 1024 * 1024;
/// Faults listed at most, so one bad column does not make a page of thousands.
const MAX_FAULTS_SHOWN: usize = 20;

/// The columns, in the order the workbook this module writes has them: (heading, what it is).
pub const COLUMNS: [(&str, &str); 10] = [
    ("区县", "district"),
    ("街道", "street"),
    ("点位类型", "site type"),
    ("点位", "site"),
    ("检查项", "checklist item"),
    ("责任单位", "responsible unit"),
    ("责任人", "person responsible"),
    ("联系电话", "phone"),
    ("结对共建单位", "partner unit"),
    ("整改时限（天）", "days to fix"),
];

fn fault(zh: impl Into<String>, en: impl Into<String>) -> FieldFault {
    FieldFault::new("division", zh, en)
}

/// Checks the archive behind an .xlsx before it is parsed: at most [`MAX_ZIP_ENTRIES`]
/// entries, and their bytes, counted as they unpack (not as the archive claims), at most
/// [`MAX_UNPACKED_BYTES`] in all.
fn check_archive(bytes: &[u8]) -> Result<(), FieldFault> {
    let not_xlsx = || {
        fault(
            "不是有效的 Excel 文件（.xlsx），请用 Excel 或 WPS 另存为 .xlsx 后上传",
            "not a valid Excel workbook (.xlsx); save it as .xlsx and upload it again",
        )
    };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|_| not_xlsx())?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(not_xlsx());
    }
    let mut left = MAX_UNPACKED_BYTES;
    for i in 0..archive.len() {
        let file = archive.by_index(i).map_err(|_| not_xlsx())?;
        let read = std::io::copy(&mut file.take(left + 1), &mut std::io::sink())
            .map_err(|_| not_xlsx())?;
        if read > left {
            return Err(fault(
                format!(
                    "文件解压后超过 {} MB，请删去多余的工作表和图片",
                    MAX_UNPACKED_BYTES >> 20
                ),
                format!(
                    "the workbook unpacks to more than {} MB; remove extra sheets and pictures",
                    MAX_UNPACKED_BYTES >> 20
                ),
            ));
        }
        left -= read;
    }
    Ok(())
}

/// What the rows' names are resolved against.
struct Names<'a> {
    reference: &'a Reference,
    items: HashSet<&'a str>,
    districts: HashSet<&'a str>,
    streets: HashSet<&'a str>,
}

impl<'a> Names<'a> {
    fn new(reference: &'a Reference, templates: &'a [Template]) -> Self {
        Names {
            reference,
            items: templates
                .iter()
                .flat_map(|t| t.items.iter().map(|i| i.code.as_str()))
                .collect(),
            districts: reference
                .sites
                .iter()
                .map(|s| s.district.as_str())
                .collect(),
            streets: reference.sites.iter().map(|s| s.street.as_str()).collect(),
        }
    }

    /// A unit's code, from its code or its Chinese name.
    fn unit(&self, text: &str) -> Option<String> {
        let u = self.reference.units.iter();
        u.clone()
            .find(|u| u.code == text)
            .or_else(|| u.clone().find(|u| u.name_zh == text))
            .map(|u| u.code.clone())
    }

    fn site_type(&self, text: &str) -> Option<String> {
        let t = self.reference.site_types.iter();
        t.clone()
            .find(|t| t.code == text)
            .or_else(|| t.clone().find(|t| t.name_zh == text))
            .map(|t| t.code.clone())
    }

    /// The one site of that name (in `district` when the row gives one), or why not.
    fn site(&self, name: &str, district: Option<&str>) -> Result<uuid::Uuid, (String, String)> {
        let found: Vec<_> = self
            .reference
            .sites
            .iter()
            .filter(|s| s.name == name || s.id.to_string() == name)
            .filter(|s| district.is_none_or(|d| s.district == d))
            .collect();
        match found.as_slice() {
            [one] => Ok(one.id),
            [] => Err((
                format!("点位“{name}”不存在"),
                format!("there is no site \"{name}\""),
            )),
            _ => Err((
                format!("有多个点位叫“{name}”，请填写区县以区分"),
                format!("several sites are named \"{name}\"; give the district"),
            )),
        }
    }
}

/// One row's cells by column, trimmed ("" for an empty cell or a missing column).
fn cells(row: &[Data], at: &[Option<usize>; 10]) -> [String; 10] {
    at.map(|i| {
        i.and_then(|i| row.get(i))
            .map(|c| c.to_string().trim().to_string())
            .unwrap_or_default()
    })
}

/// Turns one row into a rule, or the reason it is wrong.
fn rule_of(c: &[String; 10], names: &Names<'_>) -> Result<Rule, (String, String)> {
    let opt = |s: &String| (!s.is_empty()).then(|| s.clone());
    let district = opt(&c[0]);
    if let Some(d) = &district
        && !names.districts.contains(d.as_str())
    {
        return Err((
            format!("没有点位在区县“{d}”"),
            format!("no site is in the district \"{d}\""),
        ));
    }
    let street = opt(&c[1]);
    if let Some(s) = &street
        && !names.streets.contains(s.as_str())
    {
        return Err((
            format!("没有点位在街道“{s}”"),
            format!("no site is in the street \"{s}\""),
        ));
    }
    let site_type = match opt(&c[2]) {
        None => None,
        Some(t) => Some(names.site_type(&t).ok_or_else(|| {
            (
                format!("点位类型“{t}”不存在"),
                format!("there is no site type \"{t}\""),
            )
        })?),
    };
    let site_id = match opt(&c[3]) {
        None => None,
        Some(s) => Some(names.site(&s, district.as_deref())?),
    };
    let item_code = opt(&c[4]);
    if let Some(i) = &item_code
        && !names.items.contains(i.as_str())
    {
        return Err((
            format!("检查项“{i}”不在任何检查表中"),
            format!("no checklist has the item \"{i}\""),
        ));
    }
    let unit = names.unit(&c[5]).ok_or_else(|| {
        if c[5].is_empty() {
            (
                "没有写责任单位".to_string(),
                "no responsible unit".to_string(),
            )
        } else {
            (
                format!("责任单位“{}”不存在，请先在“管理”中添加", c[5]),
                format!("there is no unit \"{}\"; add it under Manage first", c[5]),
            )
        }
    })?;
    let partner_unit = match opt(&c[8]) {
        None => None,
        Some(p) => Some(names.unit(&p).ok_or_else(|| {
            (
                format!("结对共建单位“{p}”不存在"),
                format!("there is no unit \"{p}\""),
            )
        })?),
    };
    let days = match c[9].as_str() {
        "" => DEFAULT_DAYS,
        d => d.parse::<u32>().map_err(|_| {
            (
                format!("整改时限“{d}”应为整数天数"),
                format!("days to fix \"{d}\" must be a whole number"),
            )
        })?,
    };
    let rule = Rule {
        district,
        street,
        site_type,
        site_id,
        item_code,
        unit,
        person: c[6].clone(),
        phone: c[7].clone(),
        partner_unit,
        days,
    };
    check_rule(&rule).map_err(|f| (f.zh(), f.to_string()))?;
    Ok(rule)
}

/// Reads a task division from an uploaded workbook (its first sheet: a heading row naming
/// [`COLUMNS`], in any order, then one rule a row; empty rows skipped). All or nothing: the
/// first [`MAX_FAULTS_SHOWN`] faults are named by row.
pub fn read_xlsx(
    bytes: &[u8],
    reference: &Reference,
    templates: &[Template],
) -> Result<Vec<Rule>, FieldFault> {
    if bytes.len() > MAX_XLSX_BYTES {
        return Err(fault(
            format!("文件超过 {} MB", MAX_XLSX_BYTES >> 20),
            format!("the file is larger than {} MB", MAX_XLSX_BYTES >> 20),
        ));
    }
    check_archive(bytes)?;
    let unreadable = |e: &dyn std::fmt::Display| {
        tracing::info!(error = %e, "task division workbook unreadable");
        fault(
            "无法读取这个 Excel 文件，请用 Excel 或 WPS 另存为 .xlsx 后上传",
            "the workbook cannot be read; save it as .xlsx and upload it again",
        )
    };
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let sheet = book
        .worksheet_range_at(0)
        .ok_or_else(|| fault("文件中没有工作表", "the workbook has no sheet"))?
        .map_err(|e| unreadable(&e))?;
    let mut rows = sheet.rows();
    let heading: Vec<String> = rows
        .next()
        .map(|r| r.iter().map(|c| c.to_string().trim().to_string()).collect())
        .unwrap_or_default();
    let at = COLUMNS.map(|(name, _)| heading.iter().position(|h| h == name));
    if at[5].is_none() {
        let expected: Vec<&str> = COLUMNS.iter().map(|(zh, _)| *zh).collect();
        return Err(fault(
            format!(
                "第一行应为表头，至少要有“责任单位”一列；可用的列：{}",
                expected.join("、")
            ),
            "the first row must be the heading, with at least the column 责任单位 (responsible unit)",
        ));
    }
    let names = Names::new(reference, templates);
    let mut rules = Vec::new();
    let mut faults = Vec::new();
    for (i, row) in rows.enumerate() {
        let c = cells(row, &at);
        if c.iter().all(String::is_empty) {
            continue;
        }
        if rules.len() + faults.len() >= MAX_RULES {
            return Err(fault(
                format!("规则超过 {MAX_RULES} 条"),
                format!("more than {MAX_RULES} rules"),
            ));
        }
        // Row numbers as Excel shows them: the heading is row 1.
        match rule_of(&c, &names) {
            Ok(rule) => rules.push(rule),
            Err((zh, en)) => faults.push((i + 2, zh, en)),
        }
    }
    if !faults.is_empty() {
        let shown = &faults[..faults.len().min(MAX_FAULTS_SHOWN)];
        let more = faults.len() - shown.len();
        let zh: Vec<String> = shown
            .iter()
            .map(|(r, zh, _)| format!("第 {r} 行：{zh}"))
            .collect();
        let en: Vec<String> = shown
            .iter()
            .map(|(r, _, en)| format!("row {r}: {en}"))
            .collect();
        let tail = |zh: bool| match (more, zh) {
            (0, _) => String::new(),
            (n, true) => format!("；另有 {n} 行有误"),
            (n, false) => format!("; {n} more rows are wrong"),
        };
        return Err(fault(
            format!(
                "有 {} 行有误，未导入：{}{}",
                faults.len(),
                zh.join("；"),
                tail(true)
            ),
            format!(
                "{} rows are wrong; nothing was imported: {}{}",
                faults.len(),
                en.join("; "),
                tail(false)
            ),
        ));
    }
    if rules.is_empty() {
        return Err(fault("表中没有任何规则", "the table holds no rule"));
    }
    Ok(rules)
}

/// The task division as a workbook in the form [`read_xlsx`] reads: the rules with names
/// (Chinese names for units, site types and sites), or, with no rules, the heading and two
/// example rows made from the reference data; a second sheet explains the columns.
pub fn write_xlsx(rules: &[Rule], reference: &Reference) -> Result<Vec<u8>, XlsxError> {
    let unit = |code: &str| {
        reference
            .unit_name(crate::dashboard::i18n::Lang::Zh, code)
            .to_string()
    };
    let site_type = |code: &str| {
        reference
            .site_type_name(crate::dashboard::i18n::Lang::Zh, code)
            .to_string()
    };
    let site = |id: uuid::Uuid| {
        reference
            .sites
            .iter()
            .find(|s| s.id == id)
            .map_or(id.to_string(), |s| s.name.clone())
    };
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = book.add_worksheet().set_name("任务分工")?;
    for (col, (zh, _)) in (0u16..).zip(COLUMNS) {
        sheet.write_string_with_format(0, col, zh, &bold)?;
        sheet.set_column_width(col, if col == 3 { 24 } else { 14 })?;
    }
    let example;
    let shown: &[Rule] = if rules.is_empty() {
        example = example_rules(reference);
        &example
    } else {
        rules
    };
    for (row, r) in (1u32..).zip(shown) {
        let text = [
            r.district.clone().unwrap_or_default(),
            r.street.clone().unwrap_or_default(),
            r.site_type.as_deref().map(site_type).unwrap_or_default(),
            r.site_id.map(site).unwrap_or_default(),
            r.item_code.clone().unwrap_or_default(),
            unit(&r.unit),
            r.person.clone(),
            r.phone.clone(),
            r.partner_unit.as_deref().map(unit).unwrap_or_default(),
        ];
        for (col, value) in (0u16..).zip(text) {
            sheet.write_string(row, col, value)?;
        }
        sheet.write_number(row, 9, f64::from(r.days))?;
    }
    let help = book.add_worksheet().set_name("填写说明")?;
    let lines = [
        "每行一条规则：前五列写适用范围（至少填一列，空白表示不限），后面写谁负责。",
        "区县、街道须与点位清单一致；点位类型、点位、责任单位、结对共建单位可写中文名称或代码；检查项写检查表中的编号，如 BA-01。",
        "一个问题按最具体的规则派遣：写了检查项的规则优先，其次是点位、街道、区县、点位类型；同样具体时，靠上的行优先。",
        "整改时限写天数（0 表示当天），空白为 3 天；巡查员标为“当场整改”的问题当天到期。",
        "没有规则适用的问题列为“无人管”，请在任务分工页面查看并指定责任单位。",
        "导入新表即整表替换；有任何一行有误时不会导入，并提示出错的行。",
    ];
    help.set_column_width(0, 120)?;
    for (row, line) in (0u32..).zip(lines) {
        help.write_string(row, 0, line)?;
    }
    book.save_to_buffer()
}

/// Two rules that show the form: a site type owned by a unit, and one item owned by another.
fn example_rules(reference: &Reference) -> Vec<Rule> {
    let unit = |i: usize| {
        reference
            .units
            .get(i)
            .or(reference.units.first())
            .map_or(String::new(), |u| u.code.clone())
    };
    let base = Rule {
        district: None,
        street: None,
        site_type: reference.site_types.first().map(|t| t.code.clone()),
        site_id: None,
        item_code: None,
        unit: unit(0),
        person: "张三".into(),
        phone: "13800000000".into(),
        partner_unit: None,
        days: DEFAULT_DAYS,
    };
    vec![
        base.clone(),
        Rule {
            site_type: None,
            item_code: Some("BA-01".into()),
            unit: unit(1),
            person: "李四".into(),
            days: 1,
            ..base
        },
    ]
}
