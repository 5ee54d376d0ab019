//! The command line: `serve`, and the admin commands that work on the same data directory or
//! database as the server (`user`, `device`, `content`, `assign`, `demo`, `backup`,
//! `restore`).

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use fieldcheck_protocol::{Assignment, Role};
use fieldcheck_server::app::AppState;
use fieldcheck_server::config::{Config, FileConfig};
use fieldcheck_server::office::{Actor, Office};
use fieldcheck_server::store::Content;
use fieldcheck_server::{backup, demo, demo_history, server};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Fieldcheck (创城巡查) central server and admin tool.
#[derive(Parser)]
#[command(name = "fieldcheck-server", version = fieldcheck_build_info::VERSION_LINE, about)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Where the data is; shared by every command.
#[derive(Args)]
struct GlobalArgs {
    /// Data directory: SQLite database and photos (default ./data).
    #[arg(long, global = true, env = "FIELDCHECK_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://user:pass@host/db) instead of the embedded SQLite file.
    #[arg(long, global = true, env = "FIELDCHECK_DATABASE_URL")]
    database_url: Option<String>,
    /// Optional TOML configuration file (data_dir, database_url, listen, [limits]).
    #[arg(long, global = true, env = "FIELDCHECK_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080; port 0 picks a free one).
        #[arg(long, env = "FIELDCHECK_LISTEN")]
        listen: Option<SocketAddr>,
    },
    /// Report what the configuration will use (data directory, database, photos, listen
    /// address) and whether each part answers; exits 1 if any does not.
    CheckConfig {
        /// Address the server would listen on (default 127.0.0.1:8080).
        #[arg(long, env = "FIELDCHECK_LISTEN")]
        listen: Option<SocketAddr>,
    },
    /// Back up the database (a consistent snapshot, taken while the server runs) and every
    /// photo it records as stored into DEST (absent or empty), with a manifest of hashes.
    Backup {
        /// Directory to write the backup into.
        dest: PathBuf,
    },
    /// Restore a backup made by `backup` into an empty data directory (the photos into the
    /// configured photo store), after checking every hash.
    Restore {
        /// Directory holding the backup.
        src: PathBuf,
    },
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage tablets.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Check or import a checklist template pack.
    #[command(subcommand)]
    Content(ContentCommand),
    /// Print every pushed record as JSON (the ledger export).
    Export,
    /// Assign a site to an inspector for a day (tablets list it under today's sites).
    Assign {
        /// Inspector's account name.
        #[arg(long)]
        inspector: String,
        /// Site id.
        #[arg(long)]
        site: Uuid,
        /// Day, YYYY-MM-DD.
        #[arg(long)]
        date: String,
        /// What to look at (optional).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Import the checklist (the built-in pack, or --pack) and load demo sites, accounts
    /// (passwords printed), today's assignments for inspector1 and a month of history
    /// (inspections, findings in every status, photos).
    Demo {
        /// A template pack folder to import instead of the built-in one.
        #[arg(long)]
        pack: Option<PathBuf>,
        /// Only sites, accounts and today's assignments: no month of history (an empty office,
        /// as on the first day).
        #[arg(long)]
        empty: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Inspector,
    UnitMember,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Inspector => Role::Inspector,
            RoleArg::UnitMember => Role::UnitMember,
        }
    }
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account (a random password is printed unless --password is given).
    Add {
        /// Account name.
        name: String,
        /// The person's name (姓名), printed on the account's photos and shown in histories.
        #[arg(long, default_value = "")]
        display_name: String,
        /// Role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Responsible unit code (required for unit members).
        #[arg(long)]
        unit: Option<String>,
        /// Password (else a random one is printed).
        #[arg(long, env = "FIELDCHECK_NEW_PASSWORD")]
        password: Option<String>,
    },
    /// List accounts.
    List,
    /// Set the person's name (姓名) of an account (empty: none).
    Rename {
        /// Account name.
        name: String,
        /// The person's name.
        display_name: String,
    },
    /// Disable an account (its devices' tokens stop working).
    Disable {
        /// Account name.
        name: String,
    },
    /// Confine an inspector's tablets to districts (none given: the whole county again).
    Districts {
        /// Account name.
        name: String,
        /// District names, as the sites carry them.
        districts: Vec<String>,
    },
    /// Set a new password (random and printed unless --password is given).
    Passwd {
        /// Account name.
        name: String,
        /// Password.
        #[arg(long, env = "FIELDCHECK_NEW_PASSWORD")]
        password: Option<String>,
    },
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// List registered tablets.
    List,
    /// Revoke a tablet for good (a lost tablet).
    Revoke {
        /// Device id.
        id: Uuid,
    },
    /// Free a tablet's id for a new key or another account (its key was lost, or it was handed
    /// to another inspector): its token stops working and the next sign-in binds it anew.
    Reset {
        /// Device id.
        id: Uuid,
    },
}

#[derive(Subcommand)]
enum ContentCommand {
    /// Validate a pack (the built-in one when no folder is named) and print its site types
    /// and item counts.
    Check {
        /// Pack directory.
        dir: Option<PathBuf>,
    },
    /// Validate and import a pack (new or changed items reach tablets on their next pull).
    Import {
        /// Pack directory.
        dir: PathBuf,
    },
    /// Write the built-in pack out as editable TOML files, to change and import.
    Export {
        /// Directory to write into (made; must hold no pack).
        dir: PathBuf,
    },
}

impl Cli {
    /// Runs the command.
    pub async fn run(self) -> Result<()> {
        let file = match &self.global.config {
            Some(p) => FileConfig::load(p)?,
            None => FileConfig::default(),
        };
        let listen = match &self.command {
            Command::Serve { listen } | Command::CheckConfig { listen } => *listen,
            _ => None,
        };
        let config = Config::resolve(file, self.global.data_dir, self.global.database_url, listen);
        match self.command {
            Command::Serve { .. } => Ok(server::serve(config).await?),
            Command::Content(ContentCommand::Check { dir }) => {
                check_pack(dir.as_deref()).map(|_| ())
            }
            Command::Content(ContentCommand::Export { dir }) => {
                let n = fieldcheck_server::content_pack::export(&dir).with_context(|| {
                    let dir = dir.display();
                    format!("无法把清单包写入 {dir} / cannot write the pack into {dir}")
                })?;
                println!(
                    "已写出内置清单包 {n} 个文件 / wrote the built-in pack's {n} files into {}",
                    dir.display()
                );
                Ok(())
            }
            Command::CheckConfig { .. } => {
                check_config(&config, self.global.config.as_deref()).await
            }
            Command::Backup { dest } => {
                let blobs = server::photo_store(&config)?;
                let m = backup::backup(&config, blobs.as_ref(), &dest).await?;
                let bytes: u64 = m.photos.iter().map(|p| p.bytes).sum();
                println!(
                    "备份完成 / backup done: {} — database {:.1} MB, {} photos ({:.1} MB)",
                    dest.display(),
                    m.database_bytes as f64 / 1e6,
                    m.photos.len(),
                    bytes as f64 / 1e6
                );
                Ok(())
            }
            Command::Restore { src } => {
                let blobs = server::photo_store(&config)?;
                let m = backup::restore(&config, blobs.as_ref(), &src).await?;
                println!(
                    "恢复完成 / restored into {}: database and {} photos, every hash checked",
                    config.data_dir.display(),
                    m.photos.len()
                );
                Ok(())
            }
            command => {
                let state = server::open_state(&config).await?;
                run_admin(command, &state).await
            }
        }
    }
}

/// Prints each part of the configuration with what was found; fails if any part does not
/// answer.
async fn check_config(config: &Config, file: Option<&Path>) -> Result<()> {
    match file {
        Some(f) => println!("✔ 配置文件 / configuration: {}", f.display()),
        None => println!(
            "✔ 配置文件 / configuration: 无，使用默认值、命令行参数和 FIELDCHECK_* 环境变量 / \
             none: defaults, flags and FIELDCHECK_* variables"
        ),
    }
    let findings = fieldcheck_server::check_config::check(config).await;
    let mut failed = 0;
    for f in &findings {
        match &f.outcome {
            Ok(note) => println!("✔ {}: {} — {note}", f.part, f.what),
            Err(why) => {
                failed += 1;
                println!("✘ {}: {} — {why}", f.part, f.what);
            }
        }
    }
    let all = findings.len();
    if failed > 0 {
        bail!("{all} 项中有 {failed} 项无法工作 / {failed} of {all} parts will not work");
    }
    println!(
        "各项均有应答，服务器可以按此配置启动 / everything answers: the server can start with this configuration"
    );
    Ok(())
}

async fn run_admin(command: Command, state: &AppState) -> Result<()> {
    let store = &state.store;
    let office = Office::new(state, Actor::cli());
    match command {
        Command::User(UserCommand::Add {
            name,
            display_name,
            role,
            unit,
            password,
        }) => {
            let role = Role::from(role);
            let (password, printed) = password_or_random(password);
            office
                .add_user(&name, &display_name, role, unit, &password)
                .await?;
            println!("已创建账号 / created {name} ({})", role.as_str());
            if printed {
                println!("密码 / password: {password}");
            }
        }
        Command::User(UserCommand::List) => {
            println!(
                "{:<20} {:<12} {:<12} {:<16} 状态/status",
                "账号/name", "显示名/shown as", "角色/role", "单位/unit"
            );
            for u in store.list_users().await? {
                println!(
                    "{:<20} {:<12} {:<12} {:<16} {}",
                    u.name,
                    u.shown_name(),
                    u.role.as_str(),
                    u.unit.as_deref().unwrap_or("-"),
                    if u.disabled {
                        "停用 / disabled"
                    } else {
                        "在用 / active"
                    }
                );
            }
        }
        Command::User(UserCommand::Rename { name, display_name }) => {
            if !office.set_display_name(&name, &display_name).await? {
                bail!(no_account(&name));
            }
            println!("{name} 显示为 / is shown as {display_name}");
        }
        Command::User(UserCommand::Disable { name }) => {
            if !office.disable_user(&name).await? {
                bail!(no_account(&name));
            }
            println!("已停用 / disabled {name}");
        }
        Command::User(UserCommand::Districts { name, districts }) => {
            let Some(scope) = office.set_districts(&name, &districts).await? else {
                bail!(no_account(&name));
            };
            let version = scope.version;
            if scope.districts.is_empty() {
                println!("{name}: 全县 / whole county (范围版本 / scope version {version})");
            } else {
                let list = scope.districts.join(", ");
                println!("{name}: {list} (范围版本 / scope version {version})");
            }
        }
        Command::User(UserCommand::Passwd { name, password }) => {
            let (password, printed) = password_or_random(password);
            if !office.set_password(&name, &password).await? {
                bail!(no_account(&name));
            }
            println!("已更改密码 / password changed for {name}");
            if printed {
                println!("密码 / password: {password}");
            }
        }
        Command::Device(DeviceCommand::List) => {
            println!(
                "{:<36} {:<16} {:<16} {:>10} 标签/label",
                "设备/id", "账号/user", "状态/status", "已确认/acked"
            );
            for d in store.list_devices().await? {
                println!(
                    "{:<36} {:<16} {:<16} {:>10} {}",
                    d.id,
                    d.user_name,
                    if d.revoked_at.is_some() {
                        "已吊销 / revoked"
                    } else {
                        "在用 / active"
                    },
                    d.high_seq,
                    d.label
                );
            }
        }
        Command::Device(DeviceCommand::Revoke { id }) => {
            if !office.revoke_device(id).await? {
                bail!("没有设备 {id} / no device {id}");
            }
            println!("已吊销 / revoked {id}");
        }
        Command::Device(DeviceCommand::Reset { id }) => {
            if !office.reset_device(id).await? {
                bail!("no active device {id} / 没有在用的设备 {id}");
            }
            println!("已重置 {id}，下次登录时重新登记 / reset {id}: the next sign-in binds it");
        }
        Command::Export => {
            println!("{}", serde_json::to_string_pretty(&store.export().await?)?);
        }
        Command::Content(ContentCommand::Import { dir }) => {
            import_pack(&office, Some(&dir)).await?;
        }
        Command::Assign {
            inspector,
            site,
            date,
            note,
        } => {
            let a = Assignment {
                id: Uuid::now_v7(),
                inspector,
                site_id: site,
                date,
                note,
                cancelled: false,
            };
            office.assign(&a).await?;
            let (who, site, day, id) = (&a.inspector, a.site_id, &a.date, a.id);
            println!(
                "已派 {who} 于 {day} 巡查点位 {site} / assigned {who} to site {site} on {day} \
                 (assignment {id})"
            );
        }
        Command::Demo { pack, empty } => {
            let content = import_pack(&office, pack.as_deref()).await?;
            let accounts = demo::load(store.as_ref(), &content).await?;
            let assigned = demo::assign_today(store.as_ref()).await?;
            if !empty {
                let history = demo_history::load(
                    state,
                    &content,
                    &demo::sites(&content)?,
                    &[demo::DEMO_INSPECTOR, demo::SECOND_INSPECTOR],
                    &demo::unit_accounts(&content),
                )
                .await?;
                if history.inspections > 0 {
                    let (days, i, f, p) = (
                        demo_history::DAYS,
                        history.inspections,
                        history.findings,
                        history.photos,
                    );
                    println!(
                        "{days} 天的历史：{i} 次检查，{f} 个问题，{p} 张照片 / history of {days} \
                         days: {i} inspections, {f} findings, {p} photos"
                    );
                }
            }
            office
                .audit("demo", &pack_source(pack.as_deref()), String::new())
                .await?;
            println!("已载入示范点位（示范县 12 个）/ demo sites loaded (12 in 示范县)");
            if let Some(a) = assigned.first() {
                let (n, who, day) = (assigned.len(), &a.inspector, &a.date);
                println!(
                    "已给 {who} 派 {day} 的 {n} 个点位 / {n} sites assigned to {who} for {day}"
                );
            }
            if accounts.is_empty() {
                println!(
                    "示范账号已存在（用 `user passwd NAME` 重设密码）/ demo accounts exist \
                     already (reset one with `user passwd NAME`)"
                );
            }
            for a in accounts {
                println!(
                    "账号/account {:<16} 角色/role {:<12} 单位/unit {:<14} 密码/password {}",
                    a.name,
                    a.role.as_str(),
                    a.unit.as_deref().unwrap_or("-"),
                    a.password
                );
            }
        }
        Command::Serve { .. }
        | Command::CheckConfig { .. }
        | Command::Backup { .. }
        | Command::Restore { .. }
        | Command::Content(ContentCommand::Check { .. } | ContentCommand::Export { .. }) => {
            unreachable!("handled without a store")
        }
    }
    Ok(())
}

/// The error of a command naming an account that does not exist.
fn no_account(name: &str) -> String {
    format!("没有名为 {name} 的账号 / no account named {name}")
}

fn password_or_random(password: Option<String>) -> (String, bool) {
    match password {
        Some(p) => (p, false),
        None => (demo::random_password(), true),
    }
}

/// How the audit log and messages name a pack: its folder, or the built-in one.
fn pack_source(dir: Option<&Path>) -> String {
    dir.map_or(fieldcheck_server::content_pack::SOURCE.to_string(), |d| {
        d.display().to_string()
    })
}

/// Loads and validates a pack (the folder `dir`, or the built-in one), printing its site types
/// and item counts.
fn check_pack(dir: Option<&Path>) -> Result<Content> {
    let pack = match dir {
        Some(dir) => fieldcheck_domain::pack_folder::load_pack(dir),
        None => fieldcheck_server::content_pack::embedded(),
    }
    .with_context(|| {
        let source = pack_source(dir);
        format!("清单包 {source} 无效 / template pack {source} is invalid")
    })?;
    let (types, templates, subcategories, units) = (
        pack.site_types.len(),
        pack.templates.len(),
        pack.taxonomy.len(),
        pack.units.len(),
    );
    let name = &pack.name;
    println!(
        "清单包 {name}：{types} 类点位，{templates} 个模板，{subcategories} 个细类，{units} 个单位 / \
         pack {name}: {types} site types, {templates} templates, {subcategories} subcategories, \
         {units} units"
    );
    for st in &pack.site_types {
        let items: usize = pack
            .templates
            .iter()
            .filter(|t| t.site_type == st.code)
            .map(|t| t.items.len())
            .sum();
        println!(
            "  {:<24} {} / {}: {items} 项 / {items} items",
            st.code, st.name_zh, st.name_en
        );
    }
    Ok(fieldcheck_server::content_pack::content(pack))
}

async fn import_pack(office: &Office<'_>, dir: Option<&Path>) -> Result<Content> {
    let content = check_pack(dir)?;
    let counts = office.import_content(&content, &pack_source(dir)).await?;
    let (changed, unchanged) = (counts.changed, counts.unchanged);
    println!(
        "已导入：{changed} 项新增或更改，{unchanged} 项未变 / imported: {changed} new or \
         changed, {unchanged} unchanged"
    );
    Ok(content)
}
