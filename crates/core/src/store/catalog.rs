//! Server-owned data kept on the tablet: site types, sites, units, the problem taxonomy and
//! versioned templates. Written by pack import and (later) by pull; never queued in the outbox.

use super::{Result, Store, StoreError, from_json};
use fieldcheck_domain::limits::{MAX_PERSON_NAME_CHARS, TextKind, check_text};
use fieldcheck_domain::pack::Pack;
use fieldcheck_protocol::{Person, Site, SiteType, Subcategory, Template, Unit};
use rusqlite::{OptionalExtension, Transaction, params};
use std::sync::Arc;
use uuid::Uuid;

/// Filter for [`Store::list_sites`].
#[derive(Clone, Debug, Default)]
pub struct SiteQuery {
    /// Part of the name, street or address to look for.
    pub text: Option<String>,
    /// Only sites of this type.
    pub site_type: Option<String>,
}

impl Store {
    /// Imports a whole validated pack (site types, units, taxonomy, templates) in one
    /// transaction. Existing entries with the same codes are updated; a template version that is
    /// already present is left as it is (versions are immutable).
    pub fn import_pack(&mut self, pack: &Pack) -> Result<()> {
        let tx = self.conn.transaction()?;
        for t in &pack.site_types {
            upsert_site_type(&tx, t)?;
        }
        for u in &pack.units {
            upsert_unit(&tx, u)?;
        }
        for s in &pack.taxonomy {
            upsert_subcategory(&tx, s)?;
        }
        for t in &pack.templates {
            insert_template(&tx, t)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Adds or updates a site. Its site type must exist.
    pub fn upsert_site(&mut self, site: &Site) -> Result<()> {
        let tx = self.conn.transaction()?;
        let known: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM site_types WHERE code = ?1",
                [&site.site_type],
                |r| r.get(0),
            )
            .optional()?;
        if known.is_none() {
            return Err(StoreError::invalid(
                "site_type",
                format!(
                    "unknown site type {:?}: import the template pack first",
                    site.site_type
                ),
                format!("站点类型 {:?} 不存在，请先导入模板包", site.site_type),
            ));
        }
        super::validate::position(&site.position)?;
        upsert_site_in(&tx, site)?;
        tx.commit()?;
        Ok(())
    }

    /// The site with this id.
    pub fn site(&self, id: Uuid) -> Result<Site> {
        self.conn
            .query_row(
                "SELECT body FROM sites WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?
            .map(from_json)
            .unwrap_or(Err(StoreError::UnknownSite(id)))
    }

    /// Sites matching `query`, by name.
    pub fn list_sites(&self, query: &SiteQuery) -> Result<Vec<Site>> {
        let pattern = query
            .text
            .as_deref()
            .map(|t| format!("%{}%", t.replace(['%', '_'], "")));
        let mut stmt = self.conn.prepare_cached(
            "SELECT body FROM sites
             WHERE (?1 IS NULL OR site_type = ?1) AND (?2 IS NULL OR body LIKE ?2)
             ORDER BY name",
        )?;
        let rows = stmt.query_map(params![query.site_type, pattern], |r| r.get::<_, String>(0))?;
        rows.map(|r| from_json(r?)).collect()
    }

    /// All site types.
    pub fn site_types(&self) -> Result<Vec<SiteType>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT code, name_zh, name_en FROM site_types ORDER BY code")?;
        let rows = stmt.query_map([], |r| {
            Ok(SiteType {
                code: r.get(0)?,
                name_zh: r.get(1)?,
                name_en: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// All responsible units.
    pub fn units(&self) -> Result<Vec<Unit>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT code, name_zh, name_en FROM units ORDER BY code")?;
        let rows = stmt.query_map([], |r| {
            Ok(Unit {
                code: r.get(0)?,
                name_zh: r.get(1)?,
                name_en: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The problem taxonomy.
    pub fn taxonomy(&self) -> Result<Vec<Subcategory>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT code, category, name_zh, name_en FROM subcategories ORDER BY category, code",
        )?;
        let rows = stmt.query_map([], |r| {
            let category: String = r.get(1)?;
            Ok(Subcategory {
                code: r.get(0)?,
                category: fieldcheck_protocol::Category::parse(&category)
                    .unwrap_or(fieldcheck_protocol::Category::Event),
                name_zh: r.get(2)?,
                name_en: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The template with this id and version (cached after the first read).
    pub fn template(&self, id: &str, version: u32) -> Result<Arc<Template>> {
        let key = (id.to_string(), version);
        if let Some(t) = self.templates.lock().expect("template cache").get(&key) {
            return Ok(t.clone());
        }
        let body: String = self
            .conn
            .query_row(
                "SELECT body FROM templates WHERE id = ?1 AND version = ?2",
                params![id, version],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::UnknownTemplate {
                id: id.to_string(),
                version,
            })?;
        let t: Arc<Template> = Arc::new(from_json(body)?);
        self.templates
            .lock()
            .expect("template cache")
            .insert(key, t.clone());
        Ok(t)
    }

    /// The newest template version for a site type, if any.
    pub fn latest_template_for(&self, site_type: &str) -> Result<Option<Arc<Template>>> {
        let found: Option<(String, u32)> = self
            .conn
            .query_row(
                "SELECT id, version FROM templates WHERE site_type = ?1 ORDER BY version DESC LIMIT 1",
                [site_type],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        found.map(|(id, v)| self.template(&id, v)).transpose()
    }
}

pub(super) fn upsert_site_type(tx: &Transaction, t: &SiteType) -> Result<()> {
    tx.execute(
        "INSERT INTO site_types (code, name_zh, name_en) VALUES (?1, ?2, ?3)
         ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en",
        params![t.code, t.name_zh, t.name_en],
    )?;
    Ok(())
}

pub(super) fn insert_template(tx: &Transaction, t: &Template) -> Result<()> {
    tx.execute(
        "INSERT INTO templates (id, version, site_type, body) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id, version) DO NOTHING",
        params![t.id, t.version, t.site_type, serde_json::to_string(t)?],
    )?;
    Ok(())
}

pub(super) fn upsert_unit(tx: &Transaction, u: &Unit) -> Result<()> {
    tx.execute(
        "INSERT INTO units (code, name_zh, name_en) VALUES (?1, ?2, ?3)
         ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en",
        params![u.code, u.name_zh, u.name_en],
    )?;
    Ok(())
}

/// Keeps the person's name of an account as the server sent it (an empty name forgets it); a
/// name that is not one line of at most [`MAX_PERSON_NAME_CHARS`] characters is ignored.
pub(super) fn upsert_person(tx: &Transaction, p: &Person) -> Result<()> {
    if p.name.is_empty() {
        tx.execute("DELETE FROM people WHERE account = ?1", [&p.account])?;
    } else if p.name.chars().count() <= MAX_PERSON_NAME_CHARS
        && check_text(&p.name, TextKind::Line, true).is_ok()
    {
        tx.execute(
            "INSERT INTO people (account, name) VALUES (?1, ?2)
             ON CONFLICT (account) DO UPDATE SET name = excluded.name",
            params![p.account, p.name],
        )?;
    }
    Ok(())
}

impl Store {
    /// The person's name behind `account` (the account name when the server sent none).
    pub fn person_name(&self, account: &str) -> Result<String> {
        Ok(self
            .conn
            .query_row(
                "SELECT name FROM people WHERE account = ?1",
                [account],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or_else(|| account.to_string()))
    }
}

pub(super) fn upsert_subcategory(tx: &Transaction, s: &Subcategory) -> Result<()> {
    tx.execute(
        "INSERT INTO subcategories (code, category, name_zh, name_en) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (code) DO UPDATE SET category = excluded.category,
           name_zh = excluded.name_zh, name_en = excluded.name_en",
        params![s.code, s.category.as_str(), s.name_zh, s.name_en],
    )?;
    Ok(())
}

/// Writes a site row (its site type must exist: the foreign key refuses it otherwise).
pub(super) fn upsert_site_in(tx: &Transaction, site: &Site) -> Result<()> {
    tx.execute(
        "INSERT INTO sites (id, name, site_type, body) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, site_type = excluded.site_type, body = excluded.body",
        params![site.id.to_string(), site.name, site.site_type, serde_json::to_string(site)?],
    )?;
    Ok(())
}
