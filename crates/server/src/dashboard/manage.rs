//! 管理, management for admins: sites (add, edit, import from CSV), template versions,
//! responsible units, accounts (add) and devices (revoke). Every change goes through the store
//! methods the API uses (so tablets pull it), and into the audit log.

use super::error::PageError;
use super::forms::{Redo, form_message, is_wrong, kept, label, message, refused_notice};
use super::i18n::Lang;
use super::layout::{csrf_field, page};
use super::ledger::fmt_time;
use super::reference::Reference;
use super::session::Session;
use crate::app::SharedState;
use crate::office::input::check_site;
use crate::office::{Office, match_sites};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Redirect, Response};
use fieldcheck_protocol::{Position, PositionSource, Role, Site, Unit};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

/// `GET /dashboard/manage`.
pub async fn manage_page(
    State(state): State<SharedState>,
    session: Session,
    Query(report): Query<ImportReport>,
) -> Result<Markup, PageError> {
    render(&state, &session, &report, None).await
}

/// The answer to a management form: where `to` leads when the change was made; when it was
/// refused for what was typed, the page again with the form `form` as it was sent and the
/// sentence next to the field ([`Redo`]).
pub(super) async fn answer(
    state: &SharedState,
    session: &Session,
    form: &str,
    values: &[(&str, &str)],
    result: Result<Redirect, PageError>,
) -> Result<Response, PageError> {
    super::forms::answer(form, values, result, async |redo| {
        render(state, session, &ImportReport::default(), Some(redo)).await
    })
    .await
}

/// The management page; `redo` is a form of it sent back with what was typed.
async fn render(
    state: &SharedState,
    session: &Session,
    report: &ImportReport,
    redo: Option<&Redo>,
) -> Result<Markup, PageError> {
    let (state, session) = (state.clone(), session.clone());
    let l = session.lang;
    let reference = Reference::load(state.store.as_ref()).await?;
    let users = state.store.list_users().await?;
    let mut scopes = std::collections::HashMap::new();
    for u in users.iter().filter(|u| u.role == Role::Inspector) {
        let scope = state.store.account_scope(&u.name).await?;
        scopes.insert(u.name.clone(), scope.districts);
    }
    let districts: std::collections::BTreeSet<&str> = reference
        .sites
        .iter()
        .map(|s| s.district.as_str())
        .collect();
    let devices = state.store.list_devices().await?;
    let templates = super::reference::templates(state.store.as_ref()).await?;
    let site_form = |site: Option<&Site>| {
        let form = site_form_id(site.map(|s| s.id));
        let form = form.as_str();
        let lat = site
            .and_then(|s| s.position)
            .map(|p| p.lat.to_string())
            .unwrap_or_default();
        let lon = site
            .and_then(|s| s.position)
            .map(|p| p.lon.to_string())
            .unwrap_or_default();
        let typed = |name: &str, stored: Option<&str>| -> String {
            redo.and_then(|r| r.value(form, name))
                .or(stored)
                .unwrap_or("")
                .to_string()
        };
        let site_type = typed("site_type", site.map(|s| s.site_type.as_str()));
        let unit = typed("unit", site.and_then(|s| s.unit.as_deref()));
        let input = |name: &'static str,
                     label: (&'static str, &'static str),
                     value: String,
                     required: bool| {
            html! {
                label { (l.t(label.0, label.1))
                    input name=(name) required[required] value=(value) class=[is_wrong(redo, form, name).then_some("invalid")] autofocus[is_wrong(redo, form, name)];
                    (message(redo, form, name)) }
            }
        };
        html! {
            form method="post" action="/dashboard/manage/sites" class="filters" id=(form) {
                (form_message(redo, form, &["name", "site_type", "district", "street", "address", "lat", "lon", "unit"]))
                (csrf_field(&session))
                input type="hidden" name="id" value=(site.map(|s| s.id.to_string()).unwrap_or_default());
                (input("name", ("名称", "Name"), typed("name", site.map(|s| s.name.as_str())), true))
                label { (l.t("类型", "Type")) select name="site_type" {
                    @for t in &reference.site_types { option value=(t.code) selected[site_type == t.code] { (l.name(&t.name_zh, &t.name_en)) } } }
                    (message(redo, form, "site_type")) }
                (input("district", ("区县", "District"), typed("district", site.map(|s| s.district.as_str())), true))
                (input("street", ("街道", "Street"), typed("street", site.map(|s| s.street.as_str())), true))
                (input("address", ("地址", "Address"), typed("address", site.map(|s| s.address.as_str())), false))
                (input("lat", ("纬度", "Latitude"), redo.and_then(|r| r.value(form, "lat")).map_or(lat, str::to_string), false))
                (input("lon", ("经度", "Longitude"), redo.and_then(|r| r.value(form, "lon")).map_or(lon, str::to_string), false))
                label { (l.t("责任单位", "Unit")) select name="unit" { option value="" { "—" }
                    @for u in &reference.units { option value=(u.code) selected[unit == u.code] { (l.name(&u.name_zh, &u.name_en)) } } }
                    (message(redo, form, "unit")) }
                button type="submit" { @if site.is_some() { (l.t("保存", "Save")) } @else { (l.t("添加点位", "Add site")) } }
            }
        }
    };
    let body = html! {
        (refused_notice(l, redo))
        h2 id="sites" { (l.t("点位", "Sites")) " (" (reference.sites.len()) ")" }
        p { a href="/dashboard/manage/labels" id="labels-link" { (l.t("打印点位二维码标签", "Print the sites' QR labels")) } }
        @if let Some((a, u, n)) = report.counts() {
            p class="notice" id="import-report" {
                @match l { Lang::Zh => { "导入完成：新增 " (a) " 个点位，更新 " (u) " 个，" (n) " 个未变。" } Lang::En => { "Imported: " (a) " added, " (u) " updated, " (n) " unchanged." } }
            }
        }
        (site_form(None))
        details open[redo.is_some_and(|r| r.form == "csv-form")] { summary { (l.t("从 CSV 导入点位", "Import sites from CSV")) }
            form method="post" action="/dashboard/manage/sites/import" id="csv-form" {
                (csrf_field(&session))
                p { (l.t("每行：名称,类型代码,区县,街道,地址,纬度,经度,单位代码,编号（首行为标题；编号可填二维码或外部编号，再次导入时按编号，否则按名称、区县和街道更新原点位，不会重复）", "One site a line: name,site_type,district,street,address,lat,lon,unit,code (first line is the header; the code is the QR label's or an external id: importing again updates the site of that code, or else of the same name, district and street, never duplicating it)")) }
                textarea name="csv" rows="6" cols="90" id="sites-csv" class=[is_wrong(redo, "csv-form", "csv").then_some("invalid")] autofocus[is_wrong(redo, "csv-form", "csv")] { (kept(redo, "csv-form", "csv", "")) }
                (form_message(redo, "csv-form", &[]))
                br; button type="submit" id="sites-import" { (l.t("导入", "Import")) }
            }
        }
        table id="sites" { thead { tr { th { (l.t("名称", "Name")) } th { (l.t("类型", "Type")) } th { (l.t("街道", "Street")) } th { (l.t("单位", "Unit")) } th {} } }
            tbody { @for s in &reference.sites { tr {
                td { (s.name) } td { (reference.site_type_name(l, &s.site_type)) } td { (s.district) " " (s.street) }
                td { @if let Some(u) = &s.unit { (reference.unit_name(l, u)) } }
                td { details open[redo.is_some_and(|r| r.form == site_form_id(Some(s.id)))] { summary { (l.t("编辑", "Edit")) } (site_form(Some(s))) } }
            } } } }
        h2 { (l.t("检查表版本", "Checklist versions")) }
        form method="post" action="/dashboard/manage/packs" enctype="multipart/form-data" class="filters" id="pack-form" {
            (csrf_field(&session))
            label { (l.t("导入模板包（.zip，整个模板包文件夹）", "Import a template pack (.zip of the whole pack folder)"))
                input type="file" name="pack" accept=".zip,application/zip" required id="pack-file"; }
            (form_message(redo, "pack-form", &[]))
            button type="submit" id="pack-import" { (l.t("校验并导入", "Check and import")) }
        }
        p { (l.t("有任何错误都不会导入，并提示出错的文件、条目和字段。修改过的检查表须提高版本号；旧版本保留，进行中的检查按原版本完成。", "A pack with any error imports nothing and the page names the file, entry and field. A changed checklist needs a higher version; old versions stay, and inspections in progress finish on theirs.")) }
        table id="templates" { thead { tr { th { "ID" } th { (l.t("版本", "Version")) } th { (l.t("名称", "Name")) } th { (l.t("条目", "Items")) } } }
            tbody { @for t in &templates { tr { td { (t.id) } td { (t.version) } td { (l.name(&t.name_zh, &t.name_en)) } td { (t.items.len()) } } } } }
        h2 { (l.t("责任单位", "Responsible units")) }
        form method="post" action="/dashboard/manage/units" class="filters" id="unit-form" {
            (form_message(redo, "unit-form", &["code", "name_zh", "name_en"]))
            (csrf_field(&session))
            label { (l.t("代码", "Code")) input name="code" required pattern="[a-z0-9_]+" value=(kept(redo, "unit-form", "code", "")); (message(redo, "unit-form", "code")) }
            label { (l.t("中文名称", "Chinese name")) input name="name_zh" required value=(kept(redo, "unit-form", "name_zh", "")); (message(redo, "unit-form", "name_zh")) }
            label { (l.t("英文名称", "English name")) input name="name_en" value=(kept(redo, "unit-form", "name_en", "")); (message(redo, "unit-form", "name_en")) }
            button type="submit" { (l.t("添加单位", "Add unit")) }
        }
        table id="units" { tbody { @for u in &reference.units { tr { td { (u.code) } td { (u.name_zh) } td { (u.name_en) } } } } }
        h2 { (l.t("账号", "Accounts")) }
        form method="post" action="/dashboard/manage/users" class="filters" id="user-form" {
            (form_message(redo, "user-form", &["name", "display_name", "role", "unit", "password"]))
            (csrf_field(&session))
            label { (l.t("用户名", "Name")) input name="name" required value=(kept(redo, "user-form", "name", ""))
                class=[is_wrong(redo, "user-form", "name").then_some("invalid")] autofocus[is_wrong(redo, "user-form", "name")]; (message(redo, "user-form", "name")) }
            label { (l.t("姓名（印在照片上）", "Person's name (printed on photos)")) input name="display_name" maxlength="32" value=(kept(redo, "user-form", "display_name", ""))
                class=[is_wrong(redo, "user-form", "display_name").then_some("invalid")] autofocus[is_wrong(redo, "user-form", "display_name")]; (message(redo, "user-form", "display_name")) }
            @let role = kept(redo, "user-form", "role", "unit_member");
            label { (l.t("角色", "Role")) select name="role" {
                option value="unit_member" selected[role == "unit_member"] { (l.t("责任单位", "Unit member")) }
                option value="inspector" selected[role == "inspector"] { (l.t("督查员", "Inspector")) }
                option value="admin" selected[role == "admin"] { (l.t("管理员", "Admin")) } } (message(redo, "user-form", "role")) }
            @let unit = kept(redo, "user-form", "unit", "");
            label { (l.t("单位", "Unit")) select name="unit" { option value="" { "—" } @for u in &reference.units { option value=(u.code) selected[unit == u.code] { (l.name(&u.name_zh, &u.name_en)) } } }
                (message(redo, "user-form", "unit")) }
            label { (l.t("初始密码（至少 10 位）", "Password (10+ characters)")) input type="password" name="password" required minlength="10"
                class=[is_wrong(redo, "user-form", "password").then_some("invalid")] autofocus[is_wrong(redo, "user-form", "password")]; (message(redo, "user-form", "password")) }
            button type="submit" { (l.t("添加账号", "Add account")) }
        }
        p class="muted" { (l.t("巡查范围：督查员的平板只接收所列区县、派给他的点位和他本人发现的问题；留空为全县。改动后，平板下次同步时重新下载。", "Scope: an inspector's tablet receives only the findings of the listed districts, its assigned sites and its own; empty is the whole county. After a change the tablet downloads again at its next sync.")) }
        table id="users" {
          thead { tr { th { (l.t("用户名", "Account")) } th { (l.t("姓名", "Name")) } th { (l.t("角色", "Role")) } th { (l.t("单位", "Unit")) } th { (l.t("状态", "State")) } th { (l.t("巡查范围", "Scope")) } } }
          tbody { @for u in &users { tr data-user=(u.name) {
            td { (u.name) }
            td { @let form = format!("name-form-{}", u.name);
                form method="post" action={ "/dashboard/manage/users/" (u.name) "/name" } class="inline" id=(form) {
                    (csrf_field(&session))
                    input name="display_name" maxlength="32" aria-label=(l.t("姓名", "Name")) value=(kept(redo, &form, "display_name", &u.display_name))
                        class=[is_wrong(redo, &form, "display_name").then_some("invalid")] autofocus[is_wrong(redo, &form, "display_name")];
                    (form_message(redo, &form, &["display_name"]))
                    button type="submit" class="secondary" { (l.t("保存姓名", "Save name")) }
                } }
            td { (l.role(u.role)) } td { @if let Some(unit) = &u.unit { (reference.unit_name(l, unit)) } } td { @if u.disabled { (l.t("已停用", "disabled")) } @else { (l.t("正常", "active")) } }
            td { @if u.role == Role::Inspector {
                @let form = format!("districts-form-{}", u.name);
                @let stored = scopes.get(&u.name).map(|d| d.join("，")).unwrap_or_default();
                form method="post" action={ "/dashboard/manage/users/" (u.name) "/districts" } class="inline" id=(form) {
                    (csrf_field(&session))
                    label { (l.t("巡查范围（区县，逗号分隔）", "Districts (comma-separated)"))
                        input name="districts" value=(kept(redo, &form, "districts", &stored)) placeholder=(l.t("全县", "whole county")) list="district-names"
                            class=[is_wrong(redo, &form, "districts").then_some("invalid")] autofocus[is_wrong(redo, &form, "districts")]; }
                    (form_message(redo, &form, &[]))
                    button type="submit" class="secondary" { (l.t("保存范围", "Save scope")) }
                }
            } }
        } } } }
        datalist id="district-names" { @for d in &districts { option value=(d) {} } }
        h2 { (l.t("设备", "Devices")) }
        table id="devices" {
            thead { tr { th { (l.t("设备", "Device")) } th { (l.t("账号", "Account")) } th { (l.t("注册时间", "Registered")) } th { (l.t("状态", "State")) } } }
            tbody { @for d in &devices { tr data-device=(d.id) {
                td { (d.label) br; small { (d.id) } } td { (d.user_name) } td { (fmt_time(d.created_at)) }
                td { @if let Some(at) = d.revoked_at { span class="badge bad" { (l.t("已注销", "revoked")) " " (fmt_time(at)) } } @else {
                    form method="post" action={ "/dashboard/manage/devices/" (d.id) "/revoke" } {
                        (csrf_field(&session))
                        button type="submit" class="secondary" { (l.t("注销（丢失设备）", "Revoke (lost tablet)")) } } } }
            } } }
        }
    };
    Ok(page(&session, l.t("管理", "Management"), body))
}

/// What the last site import did, shown once on the page it returns to (text that is not a
/// count shows nothing, rather than failing the page).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ImportReport {
    added: String,
    updated: String,
    unchanged: String,
}

impl ImportReport {
    /// (added, updated, unchanged), when all three are counts.
    fn counts(&self) -> Option<(usize, usize, usize)> {
        Some((
            self.added.parse().ok()?,
            self.updated.parse().ok()?,
            self.unchanged.parse().ok()?,
        ))
    }
}

/// The site form.
#[derive(Deserialize)]
pub struct SiteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    site_type: String,
    #[serde(default)]
    district: String,
    #[serde(default)]
    street: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    unit: String,
    /// The stable code (QR label or external id); empty keeps the site's own.
    #[serde(default)]
    code: String,
}

/// A fault in line `line` of the site list: said next to the list, naming the line and the
/// column.
fn line_fault(line: usize, field: &str, zh: &str, en: &str) -> PageError {
    PageError::invalid(
        "csv",
        &format!("第 {line} 行的“{}”：{zh}", label(Lang::Zh, field)),
        &format!("line {line}, '{}': {en}", label(Lang::En, field)),
    )
}

/// Checks one site's fields; errors name the field (or, for a line of the site list, the
/// line and the column).
fn build_site(f: &SiteForm, reference: &Reference, line: Option<usize>) -> Result<Site, PageError> {
    let fault = |field: &str, zh: &str, en: &str| match line {
        Some(n) => line_fault(n, field, zh, en),
        None => PageError::invalid(field, zh, en),
    };
    let position = match (f.lat.trim(), f.lon.trim()) {
        ("", "") => None,
        (lat, lon) => {
            let lat: f64 = lat
                .parse()
                .ok()
                .filter(|v: &f64| (-90.0..=90.0).contains(v))
                .ok_or_else(|| {
                    fault(
                        "lat",
                        "纬度应为 -90 到 90 之间的数。",
                        "latitude is a number from -90 to 90.",
                    )
                })?;
            let lon: f64 = lon
                .parse()
                .ok()
                .filter(|v: &f64| (-180.0..=180.0).contains(v))
                .ok_or_else(|| {
                    fault(
                        "lon",
                        "经度应为 -180 到 180 之间的数。",
                        "longitude is a number from -180 to 180.",
                    )
                })?;
            Some(Position {
                lat,
                lon,
                accuracy_m: 10.0,
                source: PositionSource::Manual,
            })
        }
    };
    let id = if f.id.is_empty() {
        Uuid::now_v7()
    } else {
        f.id.parse()
            .map_err(|_| PageError::invalid("id", "点位编号无效", "bad site id"))?
    };
    let existing = reference.sites.iter().find(|s| s.id == id);
    let site = Site {
        id,
        name: f.name.trim().into(),
        site_type: f.site_type.clone(),
        district: f.district.trim().into(),
        street: f.street.trim().into(),
        address: f.address.trim().into(),
        position,
        unit: (!f.unit.is_empty()).then(|| f.unit.clone()),
        qr_code: Some(f.code.trim().to_string())
            .filter(|c| !c.is_empty())
            .or_else(|| existing.and_then(|s| s.qr_code.clone())),
    };
    check_site(&site, reference).map_err(|e| fault(e.field, &e.zh, &e.en))?;
    Ok(site)
}

/// The id of a site's form on the management page (`None`: the form that adds one).
fn site_form_id(site: Option<Uuid>) -> String {
    site.map_or_else(|| "site-form-new".into(), |id| format!("site-form-{id}"))
}

/// `POST /dashboard/manage/sites`: adds or edits a site.
pub async fn save_site(
    State(state): State<SharedState>,
    session: Session,
    Form(f): Form<SiteForm>,
) -> Result<Response, PageError> {
    let result = async {
        session.check_csrf(&f.csrf)?;
        let reference = Reference::load(state.store.as_ref()).await?;
        let site = build_site(&f, &reference, None)?;
        Office::new(&state, session.actor())
            .put_sites(std::slice::from_ref(&site))
            .await?;
        Ok(Redirect::to("/dashboard/manage"))
    }
    .await;
    let values = [
        ("name", f.name.as_str()),
        ("site_type", &f.site_type),
        ("district", &f.district),
        ("street", &f.street),
        ("address", &f.address),
        ("lat", &f.lat),
        ("lon", &f.lon),
        ("unit", &f.unit),
    ];
    let form = site_form_id(f.id.parse().ok());
    answer(&state, &session, &form, &values, result).await
}

/// The CSV import form.
#[derive(Deserialize)]
pub struct CsvForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    csv: String,
}

/// `POST /dashboard/manage/sites/import`: all lines are checked first; one bad line imports
/// nothing and names the line and field. Each line is matched with the stored sites by its
/// code, or by name, district and street ([`match_sites`]), so importing a list again updates
/// instead of duplicating; the new and changed sites are then stored in one transaction, so a
/// failure while storing them also leaves none. The page then says what was added, updated
/// and left unchanged.
pub async fn import_sites(
    State(state): State<SharedState>,
    session: Session,
    Form(f): Form<CsvForm>,
) -> Result<Response, PageError> {
    let result = import_lines(&state, &session, &f).await;
    answer(&state, &session, "csv-form", &[("csv", &f.csv)], result).await
}

/// Checks and imports the lines of the CSV form.
async fn import_lines(
    state: &SharedState,
    session: &Session,
    f: &CsvForm,
) -> Result<Redirect, PageError> {
    session.check_csrf(&f.csrf)?;
    let reference = Reference::load(state.store.as_ref()).await?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(f.csv.as_bytes());
    let mut sites = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|_| {
            PageError::invalid(
                "csv",
                &format!("第 {line} 行无法读取。"),
                &format!("line {line} cannot be read."),
            )
        })?;
        let get = |n: usize| rec.get(n).unwrap_or("").to_string();
        let form = SiteForm {
            csrf: String::new(),
            id: String::new(),
            name: get(0),
            site_type: get(1),
            district: get(2),
            street: get(3),
            address: get(4),
            lat: get(5),
            lon: get(6),
            unit: get(7),
            code: get(8),
        };
        sites.push(build_site(&form, &reference, Some(line))?);
    }
    if sites.is_empty() {
        return Err(PageError::invalid(
            "csv",
            "没有要导入的点位：请粘贴标题行和至少一行点位。",
            "no sites to import: paste the header and at least one site.",
        ));
    }
    let import = match_sites(sites, &reference.sites)
        .map_err(|(at, fault)| line_fault(at + 2, fault.field, &fault.zh, &fault.en))?;
    Office::new(state, session.actor())
        .import_sites(&import)
        .await?;
    Ok(Redirect::to(&format!(
        "/dashboard/manage?added={}&updated={}&unchanged={}#sites",
        import.added, import.updated, import.unchanged
    )))
}

/// The unit form.
#[derive(Deserialize)]
pub struct UnitForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    name_en: String,
}

/// `POST /dashboard/manage/units`: adds or renames a responsible unit.
pub async fn save_unit(
    State(state): State<SharedState>,
    session: Session,
    Form(f): Form<UnitForm>,
) -> Result<Response, PageError> {
    let result = async {
        session.check_csrf(&f.csrf)?;
        let unit = Unit {
            code: f.code.clone(),
            name_zh: f.name_zh.trim().into(),
            name_en: f.name_en.trim().into(),
        };
        Office::new(&state, session.actor()).put_unit(unit).await?;
        Ok(Redirect::to("/dashboard/manage"))
    }
    .await;
    let values = [
        ("code", f.code.as_str()),
        ("name_zh", &f.name_zh),
        ("name_en", &f.name_en),
    ];
    answer(&state, &session, "unit-form", &values, result).await
}

/// The account form.
#[derive(Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    password: String,
}

/// `POST /dashboard/manage/users`: adds an account.
pub async fn add_user(
    State(state): State<SharedState>,
    session: Session,
    Form(f): Form<UserForm>,
) -> Result<Response, PageError> {
    let result = async {
        session.check_csrf(&f.csrf)?;
        let role = Role::parse(&f.role)
            .ok_or_else(|| PageError::invalid("role", "请选择一个角色。", "choose a role."))?;
        let unit = (role == Role::UnitMember).then(|| f.unit.clone());
        Office::new(&state, session.actor())
            .add_user(&f.name, &f.display_name, role, unit, &f.password)
            .await?;
        Ok(Redirect::to("/dashboard/manage"))
    }
    .await;
    // The password is never sent back into the page.
    let values = [
        ("name", f.name.as_str()),
        ("display_name", &f.display_name),
        ("role", &f.role),
        ("unit", &f.unit),
    ];
    answer(&state, &session, "user-form", &values, result).await
}

/// The districts form: names separated by commas (Chinese or not) or 、.
#[derive(Deserialize)]
pub struct DistrictsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    districts: String,
}

/// `POST /dashboard/manage/users/{name}/districts`: confines an inspector's tablets to
/// districts (none: the whole county).
pub async fn set_districts(
    State(state): State<SharedState>,
    session: Session,
    Path(name): Path<String>,
    Form(f): Form<DistrictsForm>,
) -> Result<Response, PageError> {
    let result = async {
        session.check_csrf(&f.csrf)?;
        let districts: Vec<String> = f
            .districts
            .split([',', '，', '、'])
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect();
        Office::new(&state, session.actor())
            .set_districts(&name, &districts)
            .await?
            .ok_or_else(|| PageError::not_found("没有这个账号", "no such account"))?;
        Ok(Redirect::to("/dashboard/manage#users"))
    }
    .await;
    let form = format!("districts-form-{name}");
    answer(
        &state,
        &session,
        &form,
        &[("districts", &f.districts)],
        result,
    )
    .await
}

/// The person's-name form.
#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    display_name: String,
}

/// `POST /dashboard/manage/users/{name}/name`: sets an account's person's name (姓名), which its
/// photos print from its next sign-in and the pages show at once.
pub async fn set_display_name(
    State(state): State<SharedState>,
    session: Session,
    Path(name): Path<String>,
    Form(f): Form<NameForm>,
) -> Result<Response, PageError> {
    let result = async {
        session.check_csrf(&f.csrf)?;
        let display_name = f.display_name.trim();
        if !Office::new(&state, session.actor())
            .set_display_name(&name, display_name)
            .await?
        {
            return Err(PageError::not_found("没有这个账号", "no such account"));
        }
        Ok(Redirect::to("/dashboard/manage#users"))
    }
    .await;
    let form = format!("name-form-{name}");
    let values = [("display_name", f.display_name.as_str())];
    answer(&state, &session, &form, &values, result).await
}

/// A form with only the CSRF token.
#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// `POST /dashboard/manage/devices/{id}/revoke`: cuts a lost tablet off for good.
pub async fn revoke_device(
    State(state): State<SharedState>,
    session: Session,
    Path(id): Path<Uuid>,
    Form(f): Form<CsrfOnly>,
) -> Result<Redirect, PageError> {
    session.check_csrf(&f.csrf)?;
    if !Office::new(&state, session.actor())
        .revoke_device(id)
        .await?
    {
        return Err(PageError::not_found(
            "没有这台设备，或已注销",
            "no such device, or it is already revoked",
        ));
    }
    Ok(Redirect::to("/dashboard/manage"))
}
