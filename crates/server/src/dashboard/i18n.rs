//! The dashboard's one language layer: zh-CN first, English second. Every string on a page
//! goes through [`Lang::t`] (or one of the label helpers below, built on it).

use fieldcheck_domain::rectification::Status;

/// A page language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// 简体中文 (the default).
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The language a `fc_lang` cookie value names (Chinese for anything but `en`).
    pub fn from_code(code: &str) -> Lang {
        if code == "en" { Lang::En } else { Lang::Zh }
    }

    /// The cookie and `lang` attribute value.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The string in this language.
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// A status label.
    pub fn status(self, s: Status) -> &'static str {
        match s {
            Status::Open => self.t("待派遣", "To dispatch"),
            Status::Dispatched => self.t("待整改", "Dispatched"),
            Status::Rectified => self.t("待核查", "To verify"),
            Status::Verified => self.t("已核查", "Verified"),
            Status::Closed => self.t("已结案", "Closed"),
            Status::SentBack => self.t("已退回", "Sent back"),
        }
    }

    /// A status label from its stored name (the name itself when unknown).
    pub fn status_name(self, stored: &str) -> &str {
        Status::parse(stored).map_or(stored, |s| self.status(s))
    }

    /// A rectification step's label.
    pub fn action(self, a: fieldcheck_protocol::RectificationAction) -> &'static str {
        use fieldcheck_protocol::RectificationAction as A;
        match a {
            A::Opened => self.t("立案", "Opened"),
            A::Dispatched => self.t("派遣", "Dispatched"),
            A::Rectified => self.t("处置", "Rectified"),
            A::Verified => self.t("核查", "Verified"),
            A::Closed => self.t("结案", "Closed"),
            A::SentBack => self.t("退回", "Sent back"),
        }
    }

    /// An account role's label.
    pub fn role(self, r: fieldcheck_protocol::Role) -> &'static str {
        use fieldcheck_protocol::Role;
        match r {
            Role::Admin => self.t("创城办管理员", "Office administrator"),
            Role::Inspector => self.t("督查员", "Inspector"),
            Role::UnitMember => self.t("责任单位", "Unit member"),
        }
    }

    /// 部件 / 事件.
    pub fn category(self, stored: &str) -> &'static str {
        match stored {
            "component" => self.t("部件", "Component"),
            "event" => self.t("事件", "Event"),
            _ => self.t("未知", "Unknown"),
        }
    }

    /// A severity label.
    pub fn severity(self, stored: &str) -> &'static str {
        match stored {
            "minor" => self.t("一般", "Minor"),
            "major" => self.t("较重", "Major"),
            "critical" => self.t("严重", "Critical"),
            _ => self.t("未知", "Unknown"),
        }
    }

    /// Picks the Chinese or English name of a reference item.
    pub fn name<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En if en.is_empty() => zh,
            Lang::En => en,
        }
    }
}

/// Every status in loop order (for filters and legends).
pub const STATUSES: [Status; 6] = [
    Status::Open,
    Status::Dispatched,
    Status::Rectified,
    Status::Verified,
    Status::SentBack,
    Status::Closed,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_is_the_default_and_english_is_chosen_by_code() {
        assert_eq!(Lang::default(), Lang::Zh);
        assert_eq!(Lang::from_code("en"), Lang::En);
        assert_eq!(Lang::from_code("fr"), Lang::Zh);
        assert_eq!(Lang::Zh.status(Status::Rectified), "待核查");
        assert_eq!(Lang::En.status_name("closed"), "Closed");
        assert_eq!(Lang::En.name("城管局", ""), "城管局");
    }
}
