//! The 回头看 list: the findings an inspector goes back to on site, most urgent first.

use super::{Result, Store, from_json};
use fieldcheck_domain::rectification::{Duty, Status, duty};
use fieldcheck_protocol::{FindingRecord, Site};
use std::cmp::Reverse;
use std::collections::HashSet;
use uuid::Uuid;

/// A finding an inspector re-checks, with what the list shows and sorts by.
#[derive(Clone, Debug, PartialEq)]
pub struct Recheck {
    /// The finding.
    pub finding: FindingRecord,
    /// Its status: one that [`Status::awaits_recheck`].
    pub status: Status,
    /// Its site.
    pub site: Site,
    /// Who owes the fix and by when.
    pub duty: Duty,
    /// Past its deadline and still owed, on the day asked for.
    pub overdue: bool,
    /// Its site is one of the inspector's assignments for that day.
    pub site_today: bool,
}

impl Store {
    /// The findings that [`Status::awaits_recheck`] (待整改, 待核查, 已退回; never 待派遣), on
    /// China-time day `today` (`YYYY-MM-DD`) for `inspector` (whose assignments for the day mark
    /// today's sites; `None` before sign-in): overdue first, then those at today's sites, then by
    /// deadline (none last), then oldest first.
    pub fn rechecks(&self, inspector: Option<&str>, today: &str) -> Result<Vec<Recheck>> {
        let statuses: Vec<&str> = Status::ALL
            .into_iter()
            .filter(|s| s.awaits_recheck())
            .map(Status::as_str)
            .collect();
        let marks = vec!["?"; statuses.len()].join(", ");
        let mut stmt = self.conn.prepare(&format!(
            "SELECT f.body, f.status, s.body FROM findings f JOIN sites s ON s.id = f.site_id
             WHERE f.status IN ({marks})"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(statuses), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let sites_today: HashSet<Uuid> = match inspector {
            Some(who) => self
                .assignments_for(who, today)?
                .into_iter()
                .map(|(_, site)| site.id)
                .collect(),
            None => HashSet::new(),
        };
        let mut list = Vec::new();
        for row in rows {
            let (finding, status, site) = row?;
            let finding: FindingRecord = from_json(finding)?;
            let site: Site = from_json(site)?;
            let duty = duty(&finding, &self.rectification_log(finding.id)?);
            list.push(Recheck {
                status: Status::parse(&status).unwrap_or(Status::Open),
                overdue: duty.overdue(today),
                site_today: sites_today.contains(&site.id),
                finding,
                site,
                duty,
            });
        }
        list.sort_by_cached_key(|r| {
            (
                Reverse(r.overdue),
                Reverse(r.site_today),
                r.duty.deadline.is_none(),
                r.duty.deadline.clone(),
                r.finding.created_at,
            )
        });
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::super::assignments::upsert_assignment;
    use super::super::findings::NewFinding;
    use super::super::tests::{site, tiny_pack};
    use super::*;
    use fieldcheck_protocol::{
        Assignment, Category, Hlc, RectificationAction, RectificationEventRecord, Severity,
    };

    fn found(store: &mut Store, site: &Site, description: &str) -> FindingRecord {
        store
            .add_finding(NewFinding {
                site_id: site.id,
                inspection_id: None,
                item_code: None,
                category: Category::Component,
                subcategory: "manhole_cover".into(),
                description: description.into(),
                severity: Severity::Major,
                position: None,
                unit: None,
                deadline: None,
                same_day: false,
                reporter: "inspector1".into(),
            })
            .unwrap()
    }

    /// The office's step on `finding`, as a pull brings it.
    fn office(
        store: &mut Store,
        finding: &FindingRecord,
        action: RectificationAction,
        deadline: Option<&str>,
    ) {
        let dispatch = action == RectificationAction::Dispatched;
        let step = RectificationEventRecord {
            id: Uuid::now_v7(),
            finding_id: finding.id,
            action,
            actor: "office".into(),
            note: String::new(),
            unit: dispatch.then(|| "urban_mgmt".into()),
            deadline: deadline.map(Into::into),
            photo_sha256: (!dispatch).then(|| "a".repeat(64)),
            hlc: Hlc {
                time: u64::MAX / 2 + store.rectification_log(finding.id).unwrap().len() as u64,
                node: 7,
            },
        };
        store.apply_remote(&[], &[step]).unwrap();
    }

    #[test]
    fn only_what_a_unit_owes_or_reports_fixed_overdue_and_todays_sites_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path().join("t.db")).unwrap();
        store.import_pack(&tiny_pack()).unwrap();
        let (alley, market) = (site("back_alley", "幸福巷"), site("market", "建设路菜市场"));
        store.upsert_site(&alley).unwrap();
        store.upsert_site(&market).unwrap();
        let tx = store.conn.transaction().unwrap();
        let assignment = Assignment {
            id: Uuid::now_v7(),
            inspector: "inspector1".into(),
            site_id: market.id,
            date: "2026-12-10".into(),
            note: String::new(),
            cancelled: false,
        };
        upsert_assignment(&tx, &assignment).unwrap();
        tx.commit().unwrap();

        use RectificationAction as A;
        found(&mut store, &alley, "待派遣");
        let later = found(&mut store, &alley, "待整改，期限未到");
        office(&mut store, &later, A::Dispatched, Some("2026-12-20"));
        let late = found(&mut store, &alley, "待整改，已超期");
        office(&mut store, &late, A::Dispatched, Some("2026-12-01"));
        let reported = found(&mut store, &alley, "待核查");
        office(&mut store, &reported, A::Dispatched, Some("2026-12-01"));
        office(&mut store, &reported, A::Rectified, None);
        let checked = found(&mut store, &alley, "已核查");
        office(&mut store, &checked, A::Dispatched, Some("2026-12-01"));
        office(&mut store, &checked, A::Rectified, None);
        office(&mut store, &checked, A::Verified, None);
        let at_market = found(&mut store, &market, "今天要去的点位");
        office(&mut store, &at_market, A::Dispatched, Some("2026-12-30"));

        let list = store.rechecks(Some("inspector1"), "2026-12-10").unwrap();
        let order: Vec<(&str, Status, bool, bool)> = list
            .iter()
            .map(|r| {
                let f = r.finding.description.as_str();
                (f, r.status, r.overdue, r.site_today)
            })
            .collect();
        assert_eq!(
            order,
            [
                ("待整改，已超期", Status::Dispatched, true, false),
                ("今天要去的点位", Status::Dispatched, false, true),
                ("待核查", Status::Rectified, false, false),
                ("待整改，期限未到", Status::Dispatched, false, false),
            ]
        );
        assert_eq!(list[0].duty.unit.as_deref(), Some("urban_mgmt"));
        assert_eq!(list[0].duty.deadline.as_deref(), Some("2026-12-01"));
        assert_eq!(list[1].site.name, "建设路菜市场");
        let signed_out = store.rechecks(None, "2026-12-10").unwrap();
        assert!(signed_out.iter().all(|r| !r.site_today));
    }
}
