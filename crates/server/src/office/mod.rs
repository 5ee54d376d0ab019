//! The office's writes, one rule set for every door. The office API, the dashboard and the
//! command line all call [`Office`] to add accounts, write sites and units, import content,
//! assign sites, revoke devices and record rectification steps. Each method checks what it is
//! given ([`input`] for the fields, `fieldcheck_domain::rectification` for steps), writes
//! through the store only when every check passed, and appends one audit entry naming the
//! actor and the door. The doors only turn requests into calls and [`OfficeError`]s into their
//! answers.

pub mod auto_dispatch;
pub mod division;
pub mod input;

use crate::app::AppState;
use crate::auth::hash_password;
use crate::dashboard::reference::Reference;
use crate::store::{
    AccountScope, AuditEntry, Content, FindingRow, ImportCounts, RefQuery, StoreError, UserRow,
};
use fieldcheck_domain::china_time::{china_date, is_date};
use fieldcheck_domain::rectification::{Status, StepFault, allowed, check_step, derive_status};
use fieldcheck_protocol::{
    Assignment, RectificationAction, RectificationEventRecord, Role, Site, Unit,
};
pub use input::FieldFault;
pub use input::{SiteImport, match_sites};
use input::{
    check_account, check_assignment, check_display_name, check_districts, check_password,
    check_site, check_unit,
};
use uuid::Uuid;

/// The door an office write came through; the dashboard's audit actions are marked
/// `dashboard_`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Door {
    /// The office API (`/api/v1`).
    Api,
    /// The dashboard's forms.
    Dashboard,
    /// `fieldcheck-server` admin commands.
    Cli,
}

/// Who writes: an account (from its session, never from the request) and its door.
#[derive(Clone, Debug)]
pub struct Actor {
    /// Account name (`cli` for the command line).
    pub name: String,
    /// The account's role.
    pub role: Role,
    /// The device of an API session.
    pub device: Option<Uuid>,
    /// The door.
    pub door: Door,
}

impl Actor {
    /// The command line: whoever can run it on the server's data is an administrator.
    pub fn cli() -> Actor {
        Actor {
            name: "cli".into(),
            role: Role::Admin,
            device: None,
            door: Door::Cli,
        }
    }

    /// The server itself, at start (importing the built-in checklist into an empty database):
    /// what the administrator who started it could do from the command line.
    pub fn server_start() -> Actor {
        Actor {
            name: "server".into(),
            ..Actor::cli()
        }
    }

    /// The task division dispatching a new finding ([`auto_dispatch`]): the office's own
    /// rule, applied by the server. Its name is reserved: no account may take it.
    pub fn task_division() -> Actor {
        Actor {
            name: "任务分工".into(),
            ..Actor::cli()
        }
    }

    /// The names of the server's own actors, which no account may take (an account named so
    /// could pass for the server in histories and the audit log).
    pub fn reserved_names() -> [String; 3] {
        [
            Actor::cli().name,
            Actor::server_start().name,
            Actor::task_division().name,
        ]
    }
}

/// Why an office write was refused; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum OfficeError {
    /// A field is wrong. `code` names what was written, for the API (`invalid_site`,
    /// `invalid_assignment`, `invalid_account`, `invalid_unit`, `invalid_event`).
    #[error("{fault}")]
    Invalid {
        /// The API's error code.
        code: &'static str,
        /// The field and why.
        fault: FieldFault,
    },
    /// The actor's role may not take this step.
    #[error("{zh} / {en}")]
    Forbidden {
        /// Why, in Chinese.
        zh: String,
        /// Why, in English.
        en: String,
    },
    /// The step does not apply from the finding's current status.
    #[error("问题当前为“{}”，这一步现在不适用 / the finding is {}: this step does not apply now", status.label_zh(), status.as_str())]
    NotApplicable {
        /// The finding's status.
        status: Status,
        /// The step refused.
        action: RectificationAction,
    },
    /// Every password-hash slot is taken; try again shortly.
    #[error("服务器正忙，请稍后再试 / the server is busy; try again in a moment")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl OfficeError {
    fn invalid(code: &'static str) -> impl FnOnce(FieldFault) -> OfficeError {
        move |fault| OfficeError::Invalid { code, fault }
    }
}

/// The office's write service for one actor.
pub struct Office<'a> {
    state: &'a AppState,
    actor: Actor,
}

impl<'a> Office<'a> {
    /// The service for `actor`, over the server's state.
    pub fn new(state: &'a AppState, actor: Actor) -> Office<'a> {
        Office { state, actor }
    }

    /// Appends the actor's audit entry for `action` on `target` (the methods below call it; the
    /// command line also for the demo data).
    pub async fn audit(
        &self,
        action: &str,
        target: &str,
        detail: String,
    ) -> Result<(), OfficeError> {
        let action = match self.actor.door {
            Door::Dashboard => format!("dashboard_{action}"),
            Door::Api | Door::Cli => action.to_string(),
        };
        self.state
            .store
            .append_audit(&AuditEntry {
                at: crate::clock::now_ms(),
                actor: self.actor.name.clone(),
                device_id: self.actor.device,
                action,
                target: target.into(),
                detail,
            })
            .await?;
        Ok(())
    }

    async fn hash(&self, password: &str) -> Result<String, OfficeError> {
        let password = password.to_string();
        self.state
            .hashes
            .run(move || hash_password(&password))
            .await
            .map_err(|_| OfficeError::Busy)?
            .map_err(|e| OfficeError::Store(StoreError::Backend(e.to_string())))
    }

    /// Adds an account ([`check_account`]: name, password, role and unit;
    /// [`check_display_name`]: the person's name, empty for none); a taken name is a fault of
    /// `name`.
    pub async fn add_user(
        &self,
        name: &str,
        display_name: &str,
        role: Role,
        unit: Option<String>,
        password: &str,
    ) -> Result<(), OfficeError> {
        let reference = Reference::load(self.state.store.as_ref()).await?;
        check_account(name, role, unit.as_deref(), password, &reference)
            .and_then(|()| check_display_name(display_name))
            .map_err(OfficeError::invalid("invalid_account"))?;
        let user = UserRow {
            name: name.to_string(),
            role,
            unit,
            password_hash: self.hash(password).await?,
            disabled: false,
            created_at: crate::clock::now_ms(),
            display_name: display_name.to_string(),
        };
        self.state
            .store
            .create_user(&user)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => OfficeError::Invalid {
                    code: "invalid_account",
                    fault: FieldFault::new("name", "用户名已被使用", "the name is taken"),
                },
                other => other.into(),
            })?;
        self.audit("add_user", name, role.as_str().into()).await
    }

    /// Sets the person's name (姓名) of an account ([`check_display_name`]; empty: none), shown
    /// on its photos from its next sign-in and in histories and ledgers at once; `false` when
    /// there is no account of that name.
    pub async fn set_display_name(
        &self,
        name: &str,
        display_name: &str,
    ) -> Result<bool, OfficeError> {
        check_display_name(display_name).map_err(OfficeError::invalid("invalid_account"))?;
        let done = self
            .state
            .store
            .set_display_name(name, display_name)
            .await?;
        if done {
            self.audit("set_display_name", name, display_name.to_string())
                .await?;
        }
        Ok(done)
    }

    /// Disables an account; `false` when there is none of that name.
    pub async fn disable_user(&self, name: &str) -> Result<bool, OfficeError> {
        let done = self.state.store.set_user_disabled(name, true).await?;
        if done {
            self.audit("disable_user", name, String::new()).await?;
        }
        Ok(done)
    }

    /// Gives an account a new password ([`check_password`]); `false` when there is no account
    /// of that name. The store ends its tablets' and browsers' sessions.
    pub async fn set_password(&self, name: &str, password: &str) -> Result<bool, OfficeError> {
        check_password(password).map_err(OfficeError::invalid("invalid_account"))?;
        let hash = self.hash(password).await?;
        let done = self.state.store.set_password_hash(name, &hash).await?;
        if done {
            self.audit("set_password", name, String::new()).await?;
        }
        Ok(done)
    }

    /// Confines an inspector's tablets to `districts` (empty: the whole county), checked by
    /// [`check_districts`]; its tablets drop what left the scope at their next pull. `None` when
    /// there is no account of that name.
    pub async fn set_districts(
        &self,
        name: &str,
        districts: &[String],
    ) -> Result<Option<AccountScope>, OfficeError> {
        let Some(user) = self.state.store.user(name).await? else {
            return Ok(None);
        };
        let known = Reference::load(self.state.store.as_ref())
            .await?
            .sites
            .into_iter()
            .map(|s| s.district)
            .collect();
        check_districts(user.role, districts, &known)
            .map_err(OfficeError::invalid("invalid_account"))?;
        let before = self.state.store.account_scope(name).await?;
        let scope = self
            .state
            .store
            .set_account_districts(name, districts)
            .await?;
        if scope != before {
            self.audit("set_districts", name, scope.districts.join("、"))
                .await?;
        }
        Ok(Some(scope))
    }

    async fn check_sites(&self, sites: &[Site]) -> Result<(), OfficeError> {
        let reference = Reference::load(self.state.store.as_ref()).await?;
        for site in sites {
            check_site(site, &reference).map_err(OfficeError::invalid("invalid_site"))?;
        }
        Ok(())
    }

    /// Writes sites, all or none, each checked by [`check_site`]; tablets pull them.
    pub async fn put_sites(&self, sites: &[Site]) -> Result<(), OfficeError> {
        self.check_sites(sites).await?;
        self.state.store.put_sites(sites).await?;
        let (action, target, detail) = match sites {
            [one] => ("put_site", one.id.to_string(), one.name.clone()),
            many => (
                "import_sites",
                "sites".into(),
                format!("{} sites", many.len()),
            ),
        };
        self.audit(action, &target, detail).await
    }

    /// Writes an import matched by [`match_sites`]: its new and changed sites, all or none,
    /// each checked by [`check_site`]; the audit entry counts what was added, updated and left
    /// unchanged.
    pub async fn import_sites(&self, import: &SiteImport) -> Result<(), OfficeError> {
        self.check_sites(&import.writes).await?;
        if !import.writes.is_empty() {
            self.state.store.put_sites(&import.writes).await?;
        }
        let detail = format!(
            "{} added, {} updated, {} unchanged",
            import.added, import.updated, import.unchanged
        );
        self.audit("import_sites", "sites", detail).await
    }

    /// Adds or renames a responsible unit ([`check_unit`]).
    pub async fn put_unit(&self, unit: Unit) -> Result<(), OfficeError> {
        check_unit(&unit).map_err(OfficeError::invalid("invalid_unit"))?;
        let (code, name) = (unit.code.clone(), unit.name_zh.clone());
        let content = Content {
            units: vec![unit],
            ..Content::default()
        };
        self.state.store.import_content(&content).await?;
        self.audit("put_unit", &code, name).await
    }

    /// Imports a checked template pack's content (`source` names it in the audit log).
    pub async fn import_content(
        &self,
        content: &Content,
        source: &str,
    ) -> Result<ImportCounts, OfficeError> {
        let counts = self.state.store.import_content(content).await?;
        let versions: Vec<String> = content
            .templates
            .iter()
            .map(|t| format!("{} v{}", t.id, t.version))
            .collect();
        let detail = format!(
            "{} new or changed, {} unchanged: {}",
            counts.changed,
            counts.unchanged,
            versions.join(", ")
        );
        self.audit("import_content", source, detail).await?;
        Ok(counts)
    }

    /// Puts a task division in force (admins only), read by [`division::read_xlsx`] from
    /// `source`; the dispatcher then sends new findings by it. Returns its version.
    pub async fn import_division(
        &self,
        rules: Vec<fieldcheck_domain::task_division::Rule>,
        source: &str,
    ) -> Result<i64, OfficeError> {
        if self.actor.role != Role::Admin {
            return Err(OfficeError::Forbidden {
                zh: "只有创城办管理员可以导入任务分工".into(),
                en: "only office administrators may import the task division".into(),
            });
        }
        let count = rules.len();
        let version = self
            .state
            .store
            .put_task_division(&crate::store::NewTaskDivision {
                imported_at: crate::clock::now_ms(),
                imported_by: self.actor.name.clone(),
                source: source.to_string(),
                rules,
            })
            .await?;
        self.audit(
            "import_task_division",
            source,
            format!("version {version}, {count} rules"),
        )
        .await?;
        self.state.wake_dispatcher();
        Ok(version)
    }

    /// Sets the group robot a unit is told through (admins only), or removes it (`None`): the
    /// unit must exist, the address be an http(s) URL with a host, the secret one line.
    /// Messages written from now on go to it.
    pub async fn set_webhook(
        &self,
        unit: &str,
        robot: Option<(crate::notify::messages::RobotKind, String, String)>,
    ) -> Result<(), OfficeError> {
        if self.actor.role != Role::Admin {
            return Err(OfficeError::Forbidden {
                zh: "只有创城办管理员可以设置通知机器人".into(),
                en: "only office administrators may set the notification robots".into(),
            });
        }
        let invalid = |field, zh: &str, en: &str| OfficeError::Invalid {
            code: "invalid_webhook",
            fault: FieldFault::new(field, zh, en),
        };
        let known = self.state.store.lookup(&RefQuery::default()).await?.units;
        if !known.contains(unit) {
            return Err(invalid(
                "unit",
                "请选择一个已有的责任单位",
                "choose an existing unit",
            ));
        }
        let hook = match robot {
            None => None,
            Some((kind, url, secret)) => {
                let url = url.trim().to_string();
                let parsed = url::Url::parse(&url).ok();
                let fine = url.len() <= 500
                    && parsed.as_ref().is_some_and(|u| {
                        matches!(u.scheme(), "http" | "https") && u.host_str().is_some()
                    });
                if !fine {
                    return Err(invalid(
                        "url",
                        "请填写机器人的 Webhook 地址（以 https:// 开头，不超过 500 字）",
                        "give the robot's webhook address (https://…, at most 500 characters)",
                    ));
                }
                fieldcheck_domain::limits::check_text(
                    &secret,
                    fieldcheck_domain::limits::TextKind::Line,
                    false,
                )
                .map_err(|f| invalid("secret", &f.zh(), &f.en()))?;
                Some(crate::notify::outbox::Webhook {
                    unit: unit.to_string(),
                    kind,
                    url,
                    secret: secret.trim().to_string(),
                    updated_at: crate::clock::now_ms(),
                })
            }
        };
        crate::notify::outbox::set_webhook(self.state.store.as_ref(), unit, hook.as_ref()).await?;
        let detail = hook
            .as_ref()
            .map_or("removed".into(), |h| h.kind.as_str().to_string());
        self.audit("set_webhook", unit, detail).await
    }

    /// Creates, changes or cancels an assignment ([`check_assignment`]); only its inspector
    /// pulls it.
    pub async fn assign(&self, a: &Assignment) -> Result<(), OfficeError> {
        check_assignment(self.state.store.as_ref(), a)
            .await?
            .map_err(OfficeError::invalid("invalid_assignment"))?;
        self.state.store.put_assignment(a).await?;
        let cancelled = if a.cancelled { " cancelled" } else { "" };
        let detail = format!("{} {} {}{cancelled}", a.inspector, a.site_id, a.date);
        self.audit("put_assignment", &a.id.to_string(), detail)
            .await
    }

    /// Revokes a device for good (a lost tablet); `false` when there is no such active device.
    pub async fn revoke_device(&self, id: Uuid) -> Result<bool, OfficeError> {
        let done = self
            .state
            .store
            .revoke_device(id, crate::clock::now_ms())
            .await?;
        if done {
            self.audit("revoke_device", &id.to_string(), String::new())
                .await?;
        }
        Ok(done)
    }

    /// Frees a device's binding so the next sign-in binds it again; `false` when there is no
    /// such active device.
    pub async fn reset_device(&self, id: Uuid) -> Result<bool, OfficeError> {
        let done = self.state.store.reset_device(id).await?;
        if done {
            self.audit("reset_device", &id.to_string(), String::new())
                .await?;
        }
        Ok(done)
    }

    /// Checks a rectification step on the finding `row` without writing it: the actor's role
    /// may take it ([`check_step`]), a 派遣 names an existing unit and a real deadline not
    /// before today, and the step applies from the finding's status ([`allowed`]). The event's
    /// actor must be the actor's name.
    pub async fn check_step(
        &self,
        row: &FindingRow,
        event: &RectificationEventRecord,
    ) -> Result<(), OfficeError> {
        let invalid = |field, zh: &str, en: &str| OfficeError::Invalid {
            code: "invalid_event",
            fault: FieldFault::new(field, zh, en),
        };
        if event.finding_id != row.record.id {
            return Err(invalid(
                "finding_id",
                "与所处理的问题不符",
                "differs from the finding",
            ));
        }
        if event.actor != self.actor.name {
            return Err(invalid(
                "actor",
                "必须是当前账号",
                "must be the signed-in account",
            ));
        }
        check_step(self.actor.role, event).map_err(|fault| match fault {
            StepFault::RoleMayNot => OfficeError::Forbidden {
                zh: fault.zh(),
                en: fault.en(),
            },
            _ => invalid(fault.field(), &fault.zh(), &fault.en()),
        })?;
        if event.action == RectificationAction::Dispatched {
            self.check_dispatch(event).await?;
        }
        let status = derive_status(row.events.iter());
        if !allowed(self.actor.role, status, event.action) {
            return Err(OfficeError::NotApplicable {
                status,
                action: event.action,
            });
        }
        Ok(())
    }

    /// Records a rectification step on the finding `row` once [`Office::check_step`] passes,
    /// stamped by the server's clock at every door (a stamp the client chose could order it
    /// before steps already taken); tablets and the finding's unit pull it. A step whose id is
    /// stored already is not written or logged again.
    pub async fn record_step(
        &self,
        row: &FindingRow,
        event: &RectificationEventRecord,
    ) -> Result<(), OfficeError> {
        self.check_step(row, event).await?;
        let event = RectificationEventRecord {
            hlc: self.state.clock.now(),
            ..event.clone()
        };
        self.state.store.append_office_event(&event).await?;
        self.state.wake_notifier();
        let target = event.finding_id.to_string();
        self.audit(event.action.as_str(), &target, event.id.to_string())
            .await
    }

    /// A 派遣's unit exists and its deadline is a real day, not before today (China time).
    async fn check_dispatch(&self, event: &RectificationEventRecord) -> Result<(), OfficeError> {
        let fault = |field, zh: &str, en: &str| OfficeError::Invalid {
            code: "invalid_event",
            fault: FieldFault::new(field, zh, en),
        };
        // The unit codes only, not the whole reference data with every site.
        let known = self.state.store.lookup(&RefQuery::default()).await?.units;
        if !event.unit.as_ref().is_some_and(|u| known.contains(u)) {
            return Err(fault(
                "unit",
                "请选择一个已有的责任单位",
                "choose an existing responsible unit",
            ));
        }
        if let Some(deadline) = &event.deadline {
            if !is_date(deadline) {
                return Err(fault(
                    "deadline",
                    "整改期限格式应为 年-月-日",
                    "give the deadline as YYYY-MM-DD",
                ));
            }
            if *deadline < china_date(crate::clock::now_ms()) {
                return Err(fault(
                    "deadline",
                    "整改期限不能早于今天",
                    "the deadline cannot be before today",
                ));
            }
        }
        Ok(())
    }
}
