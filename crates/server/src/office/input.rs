//! The checks on what the office writes: sites, units, accounts and assignments, each a
//! [`FieldFault`] naming the field. [`super::Office`] calls them for every door, so a site the
//! dashboard refuses is refused by the API and the command line too, with the same reason.
//! Text limits are the shared ones ([`fieldcheck_domain::limits`]).

use crate::dashboard::reference::Reference;
use crate::error::ApiError;
use crate::store::{RefQuery, Store, StoreResult};
use axum::http::StatusCode;
use fieldcheck_domain::china_time::is_date;
use fieldcheck_domain::limits::{MAX_PERSON_NAME_CHARS, TextKind, check_text, position_ok};
use fieldcheck_protocol::{Assignment, Position, Role, Site, Unit};
use std::collections::HashMap;
use uuid::Uuid;

/// Shortest password an account may be given, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// A field the office wrote wrong: which, and why in Chinese and English.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldFault {
    /// The field at fault.
    pub field: &'static str,
    /// Why, in plain Chinese.
    pub zh: String,
    /// Why, in English.
    pub en: String,
}

impl FieldFault {
    /// A fault of `field`, in Chinese and English.
    pub fn new(field: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            field,
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// The API's answer: 422 with `code`, the field named.
    pub fn into_api(self, code: &'static str) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            format!(
                "字段 {}：{} / field {}: {}",
                self.field, self.zh, self.field, self.en
            ),
        );
        e.field = Some(self.field.to_string());
        e
    }
}

impl std::fmt::Display for FieldFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} / {}", self.field, self.zh, self.en)
    }
}

impl std::error::Error for FieldFault {}

fn text(field: &'static str, v: &str, kind: TextKind, required: bool) -> Result<(), FieldFault> {
    check_text(v, kind, required).map_err(|f| FieldFault::new(field, f.zh(), f.en()))
}

fn position(p: &Option<Position>) -> Result<(), FieldFault> {
    match p {
        Some(p) if !position_ok(p) => Err(FieldFault::new(
            "position",
            "坐标或精度超出范围",
            "latitude, longitude or accuracy out of range",
        )),
        _ => Ok(()),
    }
}

/// Checks a site before any door stores it: name, district and street given, every text
/// within the limits and free of control characters, a known site type and unit, a position
/// on the globe.
pub fn check_site(site: &Site, reference: &Reference) -> Result<(), FieldFault> {
    text("name", &site.name, TextKind::Line, true)?;
    if !reference
        .site_types
        .iter()
        .any(|t| t.code == site.site_type)
    {
        return Err(FieldFault::new(
            "site_type",
            "没有这个点位类型代码",
            "no such site type code",
        ));
    }
    text("district", &site.district, TextKind::Line, true)?;
    text("street", &site.street, TextKind::Line, true)?;
    text("address", &site.address, TextKind::Line, false)?;
    if let Some(qr) = &site.qr_code {
        text("qr_code", qr, TextKind::Line, false)?;
    }
    if site.unit.as_deref().is_some_and(|u| !reference.has_unit(u)) {
        return Err(FieldFault::new(
            "unit",
            "没有这个责任单位代码",
            "no such unit code",
        ));
    }
    position(&site.position)
}

/// Checks a responsible unit: a code of lower-case letters, digits and `_`, a Chinese name,
/// names within the limits.
pub fn check_unit(unit: &Unit) -> Result<(), FieldFault> {
    let code_ok = !unit.code.is_empty()
        && unit.code.len() <= 64
        && unit
            .code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !code_ok {
        return Err(FieldFault::new(
            "code",
            "代码只能用小写字母、数字和下划线（最多 64 个）",
            "the code uses lower-case letters, digits and _ only (at most 64)",
        ));
    }
    text("name_zh", &unit.name_zh, TextKind::Line, true)?;
    text("name_en", &unit.name_en, TextKind::Line, false)
}

/// Checks a password an account is given: at least [`MIN_PASSWORD_CHARS`] characters, and no
/// longer than sign-in accepts.
pub fn check_password(password: &str) -> Result<(), FieldFault> {
    if password.chars().count() < MIN_PASSWORD_CHARS || !crate::auth::login_input_fits("", password)
    {
        return Err(FieldFault::new(
            "password",
            format!("密码至少 {MIN_PASSWORD_CHARS} 位，最多 1024 字节"),
            format!("the password needs {MIN_PASSWORD_CHARS} characters to 1,024 bytes"),
        ));
    }
    Ok(())
}

/// Checks a new account: a one-line name within the limits, a password of at least
/// [`MIN_PASSWORD_CHARS`] characters (and no longer than sign-in accepts), and a known unit for
/// a unit member (and none for other roles).
pub fn check_account(
    name: &str,
    role: Role,
    unit: Option<&str>,
    password: &str,
    reference: &Reference,
) -> Result<(), FieldFault> {
    text("name", name, TextKind::Line, true)?;
    if name.trim() != name {
        return Err(FieldFault::new(
            "name",
            "用户名首尾不能有空格",
            "the name may not start or end with a space",
        ));
    }
    if crate::office::Actor::reserved_names()
        .iter()
        .any(|r| r == name)
    {
        return Err(FieldFault::new(
            "name",
            "这个用户名由系统保留，请换一个",
            "the name is reserved for the server; choose another",
        ));
    }
    check_password(password)?;
    match (role, unit) {
        (Role::UnitMember, Some(u)) if reference.has_unit(u) => Ok(()),
        (Role::UnitMember, _) => Err(FieldFault::new(
            "unit",
            "责任单位账号须选择一个已有的单位",
            "a unit member needs an existing unit",
        )),
        (_, Some(_)) => Err(FieldFault::new(
            "unit",
            "只有责任单位账号属于单位",
            "only unit members belong to a unit",
        )),
        (_, None) => Ok(()),
    }
}

/// Checks a person's name for an account: one line of at most
/// [`fieldcheck_domain::limits::MAX_PERSON_NAME_CHARS`]
/// characters, no spaces at either end; empty means none.
pub fn check_display_name(display_name: &str) -> Result<(), FieldFault> {
    text("display_name", display_name, TextKind::Line, false)?;
    if display_name.trim() != display_name || display_name.chars().count() > MAX_PERSON_NAME_CHARS {
        return Err(FieldFault::new(
            "display_name",
            format!("姓名最多 {MAX_PERSON_NAME_CHARS} 个字，首尾不能有空格"),
            format!(
                "the name holds at most {MAX_PERSON_NAME_CHARS} characters, with no space at either end"
            ),
        ));
    }
    Ok(())
}

/// Most districts one account may be confined to.
pub const MAX_DISTRICTS: usize = 100;

/// Checks the districts an inspector is confined to: at most [`MAX_DISTRICTS`], each a
/// one-line name that some site of the county carries (a typo would silently empty the
/// inspector's tablet).
pub fn check_districts(
    role: Role,
    districts: &[String],
    known: &std::collections::HashSet<String>,
) -> Result<(), FieldFault> {
    if role != Role::Inspector && !districts.is_empty() {
        return Err(FieldFault::new(
            "districts",
            "只有巡查员账号按区县划定巡查范围",
            "only inspectors are confined to districts",
        ));
    }
    if districts.len() > MAX_DISTRICTS {
        return Err(FieldFault::new(
            "districts",
            format!("最多 {MAX_DISTRICTS} 个区县"),
            format!("at most {MAX_DISTRICTS} districts"),
        ));
    }
    for d in districts {
        text("districts", d, TextKind::Line, true)?;
        if !known.contains(d) {
            return Err(FieldFault::new(
                "districts",
                format!("没有位于“{d}”的考察点，请检查区县名称"),
                format!("no site lies in district {d:?}; check the name"),
            ));
        }
    }
    Ok(())
}

/// What a site import will do: the sites to write (new ones with fresh ids, changed ones with
/// the id of the site they match) and how many stay as they are.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SiteImport {
    /// New and changed sites, to write.
    pub writes: Vec<Site>,
    /// How many are new.
    pub added: usize,
    /// How many change an existing site.
    pub updated: usize,
    /// How many match an existing site exactly.
    pub unchanged: usize,
}

/// Matches imported sites (ids not yet chosen) with the stored ones, so that importing a list
/// twice never duplicates a site: a site with a code (`qr_code`: the QR label's or an external
/// id) matches the stored site of that code; one without a code matches the stored site of the
/// same name, district and street, and keeps that site's code. Unmatched sites get new ids.
/// Two imported sites that match the same stored site, share a code, or (without a code) share
/// a name, district and street are one site named twice: refused, with the later one's
/// position in `incoming`.
pub fn match_sites(
    incoming: Vec<Site>,
    stored: &[Site],
) -> Result<SiteImport, (usize, FieldFault)> {
    let again = |at: usize, first: usize| {
        let fault = FieldFault::new(
            "code",
            format!(
                "与第 {} 个点位是同一个点位（编号相同，或名称、区县、街道相同）",
                first + 1
            ),
            format!(
                "the same site as site {} (the same code, or the same name, district and street)",
                first + 1
            ),
        );
        (at, fault)
    };
    let place = |s: &Site| [s.name.clone(), s.district.clone(), s.street.clone()];
    // The stored sites by code and by name and place (the first of each, as listed).
    let mut by_code = HashMap::new();
    let mut by_place = HashMap::new();
    for s in stored {
        if let Some(c) = &s.qr_code {
            by_code.entry(c.clone()).or_insert(s);
        }
        by_place.entry(place(s)).or_insert(s);
    }
    // The earlier sites of the list, by id, by code and by name and place.
    let (mut ids, mut codes, mut places) = (HashMap::new(), HashMap::new(), HashMap::new());
    let mut out = SiteImport::default();
    for (at, mut site) in incoming.into_iter().enumerate() {
        let code = site.qr_code.take().filter(|c| !c.trim().is_empty());
        let here = place(&site);
        let existing = match &code {
            Some(c) => by_code.get(c),
            None => by_place.get(&here),
        }
        .copied();
        site.id = existing.map_or_else(Uuid::now_v7, |s| s.id);
        site.qr_code = code.or_else(|| existing.and_then(|s| s.qr_code.clone()));
        let repeated = ids.get(&site.id).or_else(|| match &site.qr_code {
            Some(c) => codes.get(c),
            None => places.get(&here),
        });
        if let Some(&first) = repeated {
            return Err(again(at, first));
        }
        ids.insert(site.id, at);
        if let Some(c) = &site.qr_code {
            codes.insert(c.clone(), at);
        }
        places.entry(here).or_insert(at);
        match existing {
            Some(old) if *old == site => out.unchanged += 1,
            Some(_) => {
                out.updated += 1;
                out.writes.push(site);
            }
            None => {
                out.added += 1;
                out.writes.push(site);
            }
        }
    }
    Ok(out)
}

/// Checks an assignment before it is stored: its inspector is an active account with the
/// inspector role, its site exists, its date is a real `YYYY-MM-DD` date and its note is not
/// too long. `Ok(Err(..))` is a fault in the assignment, `Err(..)` a store failure.
pub async fn check_assignment(
    store: &dyn Store,
    a: &Assignment,
) -> StoreResult<Result<(), FieldFault>> {
    let user = store.user(&a.inspector).await?;
    if !user.is_some_and(|u| u.role == Role::Inspector && !u.disabled) {
        return Ok(Err(FieldFault::new(
            "inspector",
            format!("{:?} 不是在用的巡查员账号", a.inspector),
            format!("{:?} is not an active inspector account", a.inspector),
        )));
    }
    let refs = store
        .lookup(&RefQuery {
            sites: [a.site_id].into(),
            ..RefQuery::default()
        })
        .await?;
    if !refs.sites.contains(&a.site_id) {
        return Ok(Err(FieldFault::new(
            "site_id",
            format!("没有站点 {}", a.site_id),
            format!("no site {}", a.site_id),
        )));
    }
    if !is_date(&a.date) {
        return Ok(Err(FieldFault::new(
            "date",
            format!("{:?} 不是有效的 YYYY-MM-DD 日期", a.date),
            format!("{:?} is not a real YYYY-MM-DD date", a.date),
        )));
    }
    Ok(text("note", &a.note, TextKind::Free, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldcheck_protocol::SiteType;

    fn reference() -> Reference {
        Reference {
            site_types: vec![SiteType {
                code: "market".into(),
                name_zh: "农贸市场".into(),
                name_en: "Market".into(),
            }],
            units: vec![Unit {
                code: "housing".into(),
                name_zh: "住建局".into(),
                name_en: String::new(),
            }],
            ..Reference::default()
        }
    }

    fn site() -> Site {
        Site {
            id: uuid::Uuid::nil(),
            name: "南门菜市场".into(),
            site_type: "market".into(),
            district: "示范县".into(),
            street: "城关街道".into(),
            address: String::new(),
            position: None,
            unit: Some("housing".into()),
            qr_code: None,
        }
    }

    #[test]
    fn sites() {
        let r = reference();
        assert_eq!(check_site(&site(), &r), Ok(()));
        let mut s = site();
        s.name = "x".repeat(7_000_000);
        assert_eq!(check_site(&s, &r).unwrap_err().field, "name");
        s = site();
        s.address = "一号\u{202E}".into();
        assert_eq!(check_site(&s, &r).unwrap_err().field, "address");
        s = site();
        s.unit = Some("police".into());
        assert_eq!(check_site(&s, &r).unwrap_err().field, "unit");
        s = site();
        s.site_type = "moon".into();
        assert_eq!(check_site(&s, &r).unwrap_err().field, "site_type");
    }

    #[test]
    fn an_imported_site_matches_by_code_then_by_name_district_and_street() {
        let mut coded = site();
        coded.id = Uuid::now_v7();
        coded.qr_code = Some("QR-1".into());
        let mut plain = site();
        plain.id = Uuid::now_v7();
        plain.name = "北街".into();
        let stored = vec![coded.clone(), plain.clone()];
        // The coded site renamed, the plain one as it is, and a new one.
        let mut renamed = site();
        renamed.name = "南门市场".into();
        renamed.qr_code = Some("QR-1".into());
        let mut same = plain.clone();
        same.id = Uuid::nil();
        let mut new = site();
        new.name = "东门".into();
        let import = match_sites(vec![renamed, same, new], &stored).unwrap();
        assert_eq!((import.added, import.updated, import.unchanged), (1, 1, 1));
        assert_eq!(import.writes[0].id, coded.id);
        assert_eq!(import.writes[0].name, "南门市场");
        assert!(import.writes[1].id != coded.id && import.writes[1].id != plain.id);
        // One site twice in a list: by code, and by name, district and street.
        let err = match_sites(vec![coded.clone(), coded.clone()], &stored).unwrap_err();
        assert_eq!((err.0, err.1.field), (1, "code"));
        let err = match_sites(vec![new_site("西门"), new_site("西门")], &[]).unwrap_err();
        assert_eq!(err.0, 1);
    }

    fn new_site(name: &str) -> Site {
        Site {
            name: name.into(),
            ..site()
        }
    }

    #[test]
    fn accounts() {
        let r = reference();
        let ok = |n, role, u, p| check_account(n, role, u, p, &r).map_err(|f| f.field);
        assert_eq!(ok("张三", Role::Inspector, None, "0123456789"), Ok(()));
        assert_eq!(ok("张三", Role::Inspector, None, "short"), Err("password"));
        assert_eq!(
            ok("a\u{0}b", Role::Inspector, None, "0123456789"),
            Err("name")
        );
        assert_eq!(
            ok("u", Role::UnitMember, Some("police"), "0123456789"),
            Err("unit")
        );
        assert_eq!(
            ok("u", Role::UnitMember, Some("housing"), "0123456789"),
            Ok(())
        );
        assert_eq!(
            ok("a", Role::Admin, Some("housing"), "0123456789"),
            Err("unit")
        );
    }
}
