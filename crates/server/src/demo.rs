//! Demo data for the README's Quick start: a dozen sites in one county with Chinese names,
//! accounts for an admin, two inspectors and two unit members with people's names and printed
//! passwords, and a few of today's assignments for inspector1 (the month of history before
//! today is [`crate::demo_history`]).

use crate::auth::{HashError, hash_password};
use crate::store::{Content, Store, StoreError, UserRow};
use fieldcheck_protocol::{Assignment, Position, PositionSource, Role, Site};
use rand::Rng;
use uuid::Uuid;

/// Demo loading failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The store refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A password could not be hashed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The content has no site types or units to hang the demo on.
    #[error("the content pack has no site types or no units; import a real pack first")]
    EmptyContent,
}

/// (name, preferred site-type code, street, address, lat, lon)
const SITES: &[(&str, &str, &str, &str, f64, f64)] = &[
    (
        "建设路菜市场",
        "farmers_market",
        "城关街道",
        "建设路 88 号",
        30.2741,
        120.1551,
    ),
    (
        "幸福里小区",
        "residential",
        "城关街道",
        "幸福里 1-12 栋",
        30.2760,
        120.1602,
    ),
    (
        "解放路",
        "main_road",
        "城关街道",
        "解放路全段",
        30.2712,
        120.1588,
    ),
    (
        "文庙后巷",
        "back_alley",
        "城关街道",
        "文庙后巷",
        30.2731,
        120.1620,
    ),
    (
        "人民公园",
        "park_square",
        "东湖街道",
        "人民路 1 号",
        30.2805,
        120.1650,
    ),
    (
        "东湖广场",
        "park_square",
        "东湖街道",
        "东湖路 2 号",
        30.2820,
        120.1701,
    ),
    (
        "人民路与解放路口",
        "intersection",
        "东湖街道",
        "人民路解放路交叉口",
        30.2790,
        120.1595,
    ),
    (
        "实验小学周边",
        "school_area",
        "东湖街道",
        "学府路 6 号",
        30.2777,
        120.1677,
    ),
    (
        "县汽车站",
        "coach_station",
        "南门街道",
        "站前路 9 号",
        30.2650,
        120.1530,
    ),
    (
        "政务服务中心",
        "service_window",
        "南门街道",
        "行政路 10 号",
        30.2668,
        120.1560,
    ),
    (
        "华联超市",
        "shop",
        "南门街道",
        "南门大街 23 号",
        30.2680,
        120.1581,
    ),
    (
        "滨江花园工地",
        "construction_site",
        "南门街道",
        "滨江路 77 号",
        30.2622,
        120.1610,
    ),
];

/// The demo site made from row `i` of [`SITES`] (the same id on every run).
fn site_id(i: usize) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        format!("fieldcheck-demo-site-{i}").as_bytes(),
    )
}

/// (row of [`SITES`], note) of the demo's assignments for today.
const TODAY: &[(usize, &str)] = &[
    (0, "复查上周的占道经营问题"),
    (3, "重点看路面和井盖"),
    (7, "上学时段看交通秩序"),
];

/// The demo inspector who gets today's assignments.
pub const DEMO_INSPECTOR: &str = "inspector1";

/// Assigns a few demo sites to [`DEMO_INSPECTOR`] for today in China time (by the server's
/// clock) and returns them; none when that account is not an inspector. Running it again the
/// same day changes nothing.
pub async fn assign_today(store: &dyn Store) -> Result<Vec<Assignment>, DemoError> {
    let is_inspector = store
        .user(DEMO_INSPECTOR)
        .await?
        .is_some_and(|u| u.role == Role::Inspector && !u.disabled);
    if !is_inspector {
        return Ok(Vec::new());
    }
    let date = fieldcheck_domain::china_time::china_date(crate::clock::now_ms());
    let mut out = Vec::new();
    for (i, note) in TODAY {
        let a = Assignment {
            id: Uuid::new_v5(
                &Uuid::NAMESPACE_OID,
                format!("fieldcheck-demo-assignment-{date}-{i}").as_bytes(),
            ),
            inspector: DEMO_INSPECTOR.into(),
            site_id: site_id(*i),
            date: date.clone(),
            note: note.to_string(),
            cancelled: false,
        };
        store.put_assignment(&a).await?;
        out.push(a);
    }
    Ok(out)
}

/// An account the demo created, with its password in clear (printed once).
#[derive(Clone, Debug)]
pub struct DemoAccount {
    /// Account name.
    pub name: String,
    /// Password.
    pub password: String,
    /// Role.
    pub role: Role,
    /// Unit, for unit members.
    pub unit: Option<String>,
}

/// A random password of 12 letters and digits (no look-alikes).
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..12)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The demo sites, typed from the content's site types, each with a unit of the content.
pub fn sites(content: &Content) -> Result<Vec<Site>, DemoError> {
    if content.site_types.is_empty() || content.units.is_empty() {
        return Err(DemoError::EmptyContent);
    }
    Ok(SITES
        .iter()
        .enumerate()
        .map(|(i, (name, ty, street, address, lat, lon))| {
            let site_type = content
                .site_types
                .iter()
                .find(|t| t.code == *ty)
                .unwrap_or(&content.site_types[i % content.site_types.len()]);
            let unit = &content.units[i % content.units.len()];
            Site {
                id: site_id(i),
                name: name.to_string(),
                site_type: site_type.code.clone(),
                district: "示范县".into(),
                street: street.to_string(),
                address: address.to_string(),
                position: Some(Position {
                    lat: *lat,
                    lon: *lon,
                    accuracy_m: 10.0,
                    source: PositionSource::Manual,
                }),
                unit: Some(unit.code.clone()),
                qr_code: Some(format!("FC-DEMO-{:03}", i + 1)),
            }
        })
        .collect())
}

/// The second demo inspector (the history's other tablet).
pub const SECOND_INSPECTOR: &str = "inspector2";

/// The demo's unit accounts: (unit code, account name) for the content's first two units.
pub fn unit_accounts(content: &Content) -> Vec<(String, String)> {
    content
        .units
        .iter()
        .take(2)
        .map(|u| (u.code.clone(), format!("unit_{}", u.code)))
        .collect()
}

/// Loads demo sites (typed from the imported content) and accounts, each with a person's name;
/// accounts that exist are left alone and not listed.
pub async fn load(store: &dyn Store, content: &Content) -> Result<Vec<DemoAccount>, DemoError> {
    for site in sites(content)? {
        store.put_site(&site).await?;
    }
    let mut wanted = vec![
        ("admin".to_string(), "周敏", Role::Admin, None),
        (DEMO_INSPECTOR.to_string(), "张伟", Role::Inspector, None),
        (SECOND_INSPECTOR.to_string(), "李娜", Role::Inspector, None),
    ];
    for ((code, account), person) in unit_accounts(content).into_iter().zip(["刘建国", "陈静"])
    {
        wanted.push((account, person, Role::UnitMember, Some(code)));
    }
    let mut created = Vec::new();
    for (name, person, role, unit) in wanted {
        if store.user(&name).await?.is_some() {
            continue;
        }
        let password = random_password();
        store
            .create_user(&UserRow {
                name: name.clone(),
                role,
                unit: unit.clone(),
                password_hash: hash_password(&password)?,
                disabled: false,
                created_at: crate::clock::now_ms(),
                display_name: person.to_string(),
            })
            .await?;
        created.push(DemoAccount {
            name,
            password,
            role,
            unit,
        });
    }
    Ok(created)
}
