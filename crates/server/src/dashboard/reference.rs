//! Reference data the pages show by name and offer in filters: site types, sites, units, the
//! problem taxonomy and people's names, read in one go (hundreds of rows, not findings).

use crate::store::{Store, StoreResult};
use fieldcheck_protocol::{Site, SiteType, Subcategory, Template, Unit};
use serde::de::DeserializeOwned;
use std::collections::{BTreeSet, HashMap};

/// Everything a page names or filters by.
#[derive(Clone, Debug, Default)]
pub struct Reference {
    /// Site types by code.
    pub site_types: Vec<SiteType>,
    /// Sites by name.
    pub sites: Vec<Site>,
    /// Units by code.
    pub units: Vec<Unit>,
    /// Taxonomy subcategories by code.
    pub taxonomy: Vec<Subcategory>,
    /// Account name → the person's name (姓名), for the accounts that have one.
    pub people: HashMap<String, String>,
}

async fn all<T: DeserializeOwned>(store: &dyn Store, sql: &str) -> StoreResult<Vec<T>> {
    store
        .dash_query(sql, Vec::new())
        .await?
        .iter()
        .map(|r| Ok(serde_json::from_str(r[0].text())?))
        .collect()
}

/// Every version of every checklist, by id, newest version first.
pub async fn templates(store: &dyn Store) -> StoreResult<Vec<Template>> {
    let mut templates: Vec<Template> = all(store, "SELECT payload FROM templates").await?;
    templates.sort_by(|a, b| (&a.id, b.version).cmp(&(&b.id, a.version)));
    Ok(templates)
}

impl Reference {
    /// Loads it.
    pub async fn load(store: &dyn Store) -> StoreResult<Reference> {
        let mut sites: Vec<Site> = all(store, "SELECT payload FROM sites").await?;
        sites.sort_by(|a, b| {
            (&a.district, &a.street, &a.name).cmp(&(&b.district, &b.street, &b.name))
        });
        Ok(Reference {
            site_types: all(store, "SELECT payload FROM site_types ORDER BY code").await?,
            sites,
            units: all(store, "SELECT payload FROM units ORDER BY code").await?,
            taxonomy: all(store, "SELECT payload FROM subcategories ORDER BY code").await?,
            people: store
                .dash_query(
                    "SELECT user_name, display_name FROM account_names",
                    Vec::new(),
                )
                .await?
                .into_iter()
                .filter(|r| !r[1].text().is_empty())
                .map(|r| (r[0].text().to_string(), r[1].text().to_string()))
                .collect(),
        })
    }

    /// A unit's name in the language (the code when unknown).
    pub fn unit_name<'a>(&'a self, lang: super::i18n::Lang, code: &'a str) -> &'a str {
        self.units
            .iter()
            .find(|u| u.code == code)
            .map_or(code, |u| lang.name(&u.name_zh, &u.name_en))
    }

    /// A site type's name in the language (the code when unknown).
    pub fn site_type_name<'a>(&'a self, lang: super::i18n::Lang, code: &'a str) -> &'a str {
        self.site_types
            .iter()
            .find(|t| t.code == code)
            .map_or(code, |t| lang.name(&t.name_zh, &t.name_en))
    }

    /// A subcategory's name in the language (the code when unknown).
    pub fn subcategory_name<'a>(&'a self, lang: super::i18n::Lang, code: &'a str) -> &'a str {
        self.taxonomy
            .iter()
            .find(|t| t.code == code)
            .map_or(code, |t| lang.name(&t.name_zh, &t.name_en))
    }

    /// The person's name of an account (the account name when it has none).
    pub fn person_name<'a>(&'a self, account: &'a str) -> &'a str {
        self.people.get(account).map_or(account, String::as_str)
    }

    /// Districts and streets that sites name, as (district, street), sorted.
    pub fn streets(&self) -> BTreeSet<(String, String)> {
        self.sites
            .iter()
            .map(|s| (s.district.clone(), s.street.clone()))
            .collect()
    }

    /// Whether a unit code exists.
    pub fn has_unit(&self, code: &str) -> bool {
        self.units.iter().any(|u| u.code == code)
    }
}
