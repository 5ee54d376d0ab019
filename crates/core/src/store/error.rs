//! Errors of the store: each names what is wrong, in Chinese first, then English.

use uuid::Uuid;

/// Why a store operation failed. A failed write changes nothing: every write runs in one
/// transaction that is rolled back on error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No site with this id is on the tablet.
    #[error("找不到站点 {0}，请先同步站点列表 / unknown site {0}: sync the site list first")]
    UnknownSite(Uuid),
    /// No template with this id and version is on the tablet.
    #[error("找不到测评模板 {id} 第 {version} 版 / unknown template {id} version {version}")]
    UnknownTemplate {
        /// Template id.
        id: String,
        /// Template version.
        version: u32,
    },
    /// The template is for another site type than the site's.
    #[error(
        "模板 {template} 适用于「{template_site_type}」，该站点类型为「{site_type}」/ template {template} is for site type {template_site_type}, the site is {site_type}"
    )]
    TemplateNotForSite {
        /// Template id.
        template: String,
        /// The template's site type.
        template_site_type: String,
        /// The site's type.
        site_type: String,
    },
    /// No inspection with this id.
    #[error("找不到检查记录 {0} / unknown inspection {0}")]
    UnknownInspection(Uuid),
    /// The inspection is finished and can no longer change.
    #[error("检查 {0} 已完成，不能再修改 / inspection {0} is already finished")]
    InspectionFinished(Uuid),
    /// The inspection was discarded (放弃) and can no longer change.
    #[error("这次检查已放弃，不能再修改 / this inspection was discarded and can no longer change")]
    InspectionDiscarded(Uuid),
    /// An inspection that recorded problems or photos is finished, never discarded: what it
    /// recorded goes to the office.
    #[error(
        "本次检查已记录 {findings} 个问题、{photos} 张照片，不能放弃；请完成检查，问题会照常上报 / this inspection has recorded {findings} problem(s) and {photos} photo(s), so it cannot be discarded: finish it and they are reported as usual"
    )]
    DiscardWithFindings {
        /// Findings recorded in the inspection.
        findings: u64,
        /// Photos recorded in it (with its findings or on their own).
        photos: u64,
    },
    /// The item is not in the inspection's template.
    #[error(
        "测评内容 {item} 不在模板 {template} 第 {version} 版中 / item {item} is not in template {template} version {version}"
    )]
    UnknownItem {
        /// Item code given.
        item: String,
        /// Template id.
        template: String,
        /// Template version.
        version: u32,
    },
    /// The answer is of the wrong kind for the item (a count for a yes/no item, say).
    #[error(
        "测评内容 {item} 需要{expected_zh}，收到的是{got_zh} / item {item} takes {expected}, got {got}"
    )]
    WrongValueKind {
        /// Item code.
        item: String,
        /// What the item takes, in English.
        expected: &'static str,
        /// What the item takes, in Chinese.
        expected_zh: &'static str,
        /// What was given, in English.
        got: &'static str,
        /// What was given, in Chinese.
        got_zh: &'static str,
    },
    /// A number or text is out of its allowed range or form.
    #[error("字段 {field} 的值无效：{problem_zh} / field {field} is invalid: {problem}")]
    Invalid {
        /// Field name.
        field: &'static str,
        /// What is wrong and what is allowed, in English.
        problem: String,
        /// What is wrong and what is allowed, in Chinese.
        problem_zh: String,
    },
    /// A text is longer than its limit.
    #[error(
        "字段 {field} 过长：{len} 字，上限 {limit} 字 / field {field} is too long: {len} characters, the limit is {limit}"
    )]
    TooLong {
        /// Field name.
        field: &'static str,
        /// The limit in characters.
        limit: usize,
        /// The length given.
        len: usize,
    },
    /// No finding with this id.
    #[error("找不到问题 {0} / unknown finding {0}")]
    UnknownFinding(Uuid),
    /// The subcategory is not in the taxonomy, or not under the category given.
    #[error(
        "问题分类 {code} 不存在或不属于该大类 / subcategory {code} is unknown or not under that category"
    )]
    UnknownSubcategory {
        /// Subcategory code given.
        code: String,
    },
    /// The responsible unit is unknown.
    #[error("找不到责任单位 {0} / unknown responsible unit {0}")]
    UnknownUnit(String),
    /// A photo with these bytes is already recorded.
    #[error("照片 {0} 已登记 / photo {0} is already recorded")]
    DuplicatePhoto(String),
    /// No photo with this hash is recorded here.
    #[error("本机没有这张照片 {0} / no photo {0} on this tablet")]
    UnknownPhoto(String),
    /// The rectification step does not apply to the finding's current status.
    #[error(
        "问题当前状态为「{status_zh}」，不能执行「{action}」/ the finding is {status}, {action} does not apply"
    )]
    StepNotAllowed {
        /// The action asked for.
        action: &'static str,
        /// Current status.
        status: &'static str,
        /// Current status in Chinese.
        status_zh: &'static str,
    },
    /// The database itself failed (disk full, file damaged...).
    #[error("数据库错误 / database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The schema could not be brought up to date.
    #[error("数据库升级失败 / database migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// Stored JSON could not be read back.
    #[error("数据损坏 / stored data is damaged: {0}")]
    Json(#[from] serde_json::Error),
}

impl StoreError {
    /// Shorthand for [`StoreError::Invalid`].
    pub(crate) fn invalid(
        field: &'static str,
        problem: impl Into<String>,
        problem_zh: impl Into<String>,
    ) -> StoreError {
        StoreError::Invalid {
            field,
            problem: problem.into(),
            problem_zh: problem_zh.into(),
        }
    }
}

/// Result of a store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
