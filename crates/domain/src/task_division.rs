//! 任务分工, the task division: the office's table of who owns what. Each rule names where it
//! applies (a district, a street, a site type, one site, a checklist item, or several of these
//! together) and who owns a problem found there: the responsible unit (责任单位), the person
//! (责任人) and, for a residential compound, its partner unit (结对共建单位). A new finding is
//! dispatched to the owner of the most specific rule that matches it ([`owner`]); a finding
//! that no rule matches is 无人管, nobody's, and the office must give it an owner.
//!
//! Specificity: a rule that names a checklist item is more specific than any rule that does
//! not (a functional bureau owns its kind of problem wherever it is found), then one site, then
//! a street, a district, a site type; between rules naming the same kinds of place, the one
//! earlier in the table wins.

use crate::china_time::{china_date, china_midnight};
use crate::limits::{TextFault, TextKind, check_text};
use uuid::Uuid;

/// The most rules a task division may hold (a county has a few hundred to a few thousand).
pub const MAX_RULES: usize = 20_000;
/// The longest deadline a rule may give, in days.
pub const MAX_DAYS: u32 = 90;
/// The deadline of a rule that gives none, in days after the day the finding is dispatched.
pub const DEFAULT_DAYS: u32 = 3;

/// One rule of the task division: where it applies (each `None` matches anything; at least
/// one is set) and who owns what is found there.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rule {
    /// District (区/县) the rule covers.
    pub district: Option<String>,
    /// Street office (街道) the rule covers.
    pub street: Option<String>,
    /// Site type code the rule covers.
    pub site_type: Option<String>,
    /// The one site the rule covers.
    pub site_id: Option<Uuid>,
    /// The checklist item code the rule covers.
    pub item_code: Option<String>,
    /// Code of the responsible unit (责任单位).
    pub unit: String,
    /// The person responsible (责任人), possibly empty.
    pub person: String,
    /// The person's phone, possibly empty.
    pub phone: String,
    /// Code of the partner unit (结对共建单位) of a residential compound, if any.
    pub partner_unit: Option<String>,
    /// Days to fix after dispatch (0: the same day, 事不过夜).
    pub days: u32,
}

/// Where a finding was found, as a rule matches it.
#[derive(Clone, Copy, Debug)]
pub struct Place<'a> {
    /// The site's district.
    pub district: &'a str,
    /// The site's street.
    pub street: &'a str,
    /// The site's type code.
    pub site_type: &'a str,
    /// The site.
    pub site_id: Uuid,
    /// The checklist item the finding answers, if any.
    pub item_code: Option<&'a str>,
}

impl Rule {
    /// Whether every place the rule names is the finding's.
    pub fn matches(&self, place: &Place<'_>) -> bool {
        fn same(key: &Option<String>, value: &str) -> bool {
            key.as_deref().is_none_or(|k| k == value)
        }
        same(&self.district, place.district)
            && same(&self.street, place.street)
            && same(&self.site_type, place.site_type)
            && self.site_id.is_none_or(|id| id == place.site_id)
            && self
                .item_code
                .as_deref()
                .is_none_or(|k| place.item_code == Some(k))
    }

    /// How specific the rule is: item, then site, street, district, site type (see the module
    /// doc); a larger number wins.
    pub fn specificity(&self) -> u8 {
        [
            (self.item_code.is_some(), 16),
            (self.site_id.is_some(), 8),
            (self.street.is_some(), 4),
            (self.district.is_some(), 2),
            (self.site_type.is_some(), 1),
        ]
        .iter()
        .filter(|(set, _)| *set)
        .map(|(_, weight)| weight)
        .sum()
    }

    /// The deadline of a finding dispatched by this rule at `now_ms`: the same day for a
    /// finding marked 当场整改/事不过夜 (`same_day`), else [`Rule::days`] China days later.
    pub fn deadline(&self, same_day: bool, now_ms: i64) -> String {
        let days = if same_day { 0 } else { self.days };
        let today = china_date(now_ms);
        let midnight = china_midnight(&today).unwrap_or(now_ms);
        china_date(midnight + i64::from(days) * 86_400_000)
    }
}

/// The rule that owns a finding found at `place`: the most specific match, the earliest in
/// the table between equals; `None`: the finding is 无人管.
pub fn owner<'a>(rules: &'a [Rule], place: &Place<'_>) -> Option<&'a Rule> {
    let mut best: Option<&Rule> = None;
    for rule in rules.iter().filter(|r| r.matches(place)) {
        if best.is_none_or(|b| rule.specificity() > b.specificity()) {
            best = Some(rule);
        }
    }
    best
}

/// Why a rule was refused, naming its field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleFault {
    /// The rule names no place at all: it would own every finding.
    #[error("the rule names no place: give a district, street, site type, site or item")]
    NoPlace,
    /// The rule names no responsible unit.
    #[error("the rule names no responsible unit")]
    NoUnit,
    /// A deadline longer than [`MAX_DAYS`].
    #[error("the deadline is over {MAX_DAYS} days")]
    TooManyDays,
    /// A text field is not acceptable.
    #[error("{field}: {fault}")]
    Text {
        /// The field.
        field: &'static str,
        /// Why.
        fault: TextFault,
    },
}

impl RuleFault {
    /// The field at fault, as the import names its column.
    pub fn field(&self) -> &'static str {
        match self {
            RuleFault::NoPlace => "place",
            RuleFault::NoUnit => "unit",
            RuleFault::TooManyDays => "days",
            RuleFault::Text { field, .. } => field,
        }
    }

    /// The reason in plain Chinese.
    pub fn zh(&self) -> String {
        match self {
            RuleFault::NoPlace => {
                "没有写适用范围：请至少填区县、街道、点位类型、点位或检查项之一".into()
            }
            RuleFault::NoUnit => "没有写责任单位".into(),
            RuleFault::TooManyDays => format!("整改时限不能超过 {MAX_DAYS} 天"),
            RuleFault::Text { fault, .. } => fault.zh(),
        }
    }
}

/// Checks one rule: it names a place and a unit, its deadline is at most [`MAX_DAYS`], and its
/// texts keep the one-line limits. Whether its codes exist is the importer's to check against
/// the reference data.
pub fn check_rule(rule: &Rule) -> Result<(), RuleFault> {
    let place_set = rule.district.is_some()
        || rule.street.is_some()
        || rule.site_type.is_some()
        || rule.site_id.is_some()
        || rule.item_code.is_some();
    if !place_set {
        return Err(RuleFault::NoPlace);
    }
    if rule.unit.trim().is_empty() {
        return Err(RuleFault::NoUnit);
    }
    if rule.days > MAX_DAYS {
        return Err(RuleFault::TooManyDays);
    }
    let texts = [
        ("district", rule.district.as_deref().unwrap_or("")),
        ("street", rule.street.as_deref().unwrap_or("")),
        ("person", rule.person.as_str()),
        ("phone", rule.phone.as_str()),
    ];
    for (field, value) in texts {
        check_text(value, TextKind::Line, false)
            .map_err(|fault| RuleFault::Text { field, fault })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(unit: &str) -> Rule {
        Rule {
            district: None,
            street: None,
            site_type: None,
            site_id: None,
            item_code: None,
            unit: unit.into(),
            person: String::new(),
            phone: String::new(),
            partner_unit: None,
            days: DEFAULT_DAYS,
        }
    }

    fn place(site_id: Uuid, item: Option<&'static str>) -> Place<'static> {
        Place {
            district: "城关区",
            street: "东街街道",
            site_type: "back_alley",
            site_id,
            item_code: item,
        }
    }

    #[test]
    fn the_most_specific_matching_rule_owns_the_finding() {
        let site = Uuid::now_v7();
        let other_site = Uuid::now_v7();
        let rules = vec![
            Rule {
                site_type: Some("back_alley".into()),
                ..rule("street_office")
            },
            Rule {
                site_id: Some(site),
                ..rule("property")
            },
            Rule {
                item_code: Some("BA-01".into()),
                ..rule("housing")
            },
            Rule {
                site_id: Some(other_site),
                item_code: Some("BA-02".into()),
                ..rule("wrong_site")
            },
        ];
        let own = |p: Place<'_>| owner(&rules, &p).map(|r| r.unit.clone());
        assert_eq!(own(place(site, Some("BA-01"))).as_deref(), Some("housing"));
        assert_eq!(own(place(site, Some("BA-02"))).as_deref(), Some("property"));
        assert_eq!(own(place(site, None)).as_deref(), Some("property"));
        assert_eq!(
            own(place(Uuid::now_v7(), Some("BA-02"))).as_deref(),
            Some("street_office")
        );
        assert_eq!(
            own(place(other_site, Some("BA-02"))).as_deref(),
            Some("wrong_site")
        );
    }

    #[test]
    fn a_place_no_rule_names_has_no_owner_and_equals_keep_table_order() {
        let rules = vec![
            Rule {
                district: Some("城关区".into()),
                ..rule("first")
            },
            Rule {
                district: Some("城关区".into()),
                ..rule("second")
            },
            Rule {
                street: Some("西街街道".into()),
                ..rule("west")
            },
        ];
        let here = place(Uuid::now_v7(), None);
        assert_eq!(owner(&rules, &here).map(|r| r.unit.as_str()), Some("first"));
        let elsewhere = Place {
            district: "新区",
            ..here
        };
        assert!(owner(&rules, &elsewhere).is_none(), "无人管");
        assert!(owner(&[], &here).is_none());
    }

    #[test]
    fn every_key_of_a_rule_must_match() {
        let r = Rule {
            street: Some("东街街道".into()),
            site_type: Some("residential".into()),
            ..rule("x")
        };
        assert!(
            !r.matches(&place(Uuid::now_v7(), None)),
            "site type differs"
        );
        let p = Place {
            site_type: "residential",
            ..place(Uuid::now_v7(), None)
        };
        assert!(r.matches(&p));
        let item_rule = Rule {
            item_code: Some("BA-01".into()),
            ..rule("y")
        };
        assert!(
            !item_rule.matches(&p),
            "a finding with no item is not the item's"
        );
    }

    #[test]
    fn deadlines_count_china_days_and_same_day_findings_are_due_today() {
        // 2026-12-01 23:30 in China is 15:30 UTC: still the first, not the second.
        let late_evening = china_midnight("2026-12-01").unwrap() + (23 * 60 + 30) * 60_000;
        let r = Rule {
            days: 3,
            ..rule("x")
        };
        assert_eq!(r.deadline(false, late_evening), "2026-12-04");
        assert_eq!(r.deadline(true, late_evening), "2026-12-01");
        let zero = Rule { days: 0, ..r };
        assert_eq!(zero.deadline(false, late_evening), "2026-12-01");
    }

    #[test]
    fn a_rule_must_name_a_place_a_unit_and_a_short_deadline() {
        assert_eq!(check_rule(&rule("x")), Err(RuleFault::NoPlace));
        let placed = Rule {
            street: Some("东街街道".into()),
            ..rule("x")
        };
        assert_eq!(check_rule(&placed), Ok(()));
        let no_unit = Rule {
            unit: " ".into(),
            ..placed.clone()
        };
        assert_eq!(check_rule(&no_unit), Err(RuleFault::NoUnit));
        let long = Rule {
            days: MAX_DAYS + 1,
            ..placed.clone()
        };
        assert_eq!(check_rule(&long), Err(RuleFault::TooManyDays));
        let sneaky = Rule {
            person: "张三\u{202E}".into(),
            ..placed
        };
        assert_eq!(check_rule(&sneaky).map_err(|f| f.field()), Err("person"));
    }
}
