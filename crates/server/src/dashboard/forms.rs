//! A form refused for what was typed in it is never a dead end: its page comes back (HTTP 422,
//! or 409 when the finding moved on meanwhile) with what was typed still in the fields and one
//! plain sentence, Chinese then English, next to the field it is about ([`Redo`]). Field names
//! are shown to people by their labels ([`label`]).

use super::error::PageError;
use super::i18n::Lang;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use std::collections::HashMap;

/// A refused form on its way back to the person who filled it in.
#[derive(Clone, Debug)]
pub struct Redo {
    /// The form's id on its page (`dispatch-form`, `user-form`, …).
    pub form: String,
    /// What was typed, by field name (never a password).
    pub values: HashMap<String, String>,
    /// The field the sentence is about; `None` for the form as a whole.
    pub field: Option<String>,
    /// The sentence in Chinese.
    pub zh: String,
    /// The sentence in English.
    pub en: String,
    /// 422, or 409 when the finding's status changed meanwhile.
    pub status: StatusCode,
}

/// The answer to a form's POST: where `result` leads when the change was made; when it was
/// refused for what was typed (or a status changed meanwhile), the form's page again, made by
/// `page` with the [`Redo`] of form `form` as it was sent (`values`), with the refusal's
/// status. Any other refusal is given back as it is.
pub async fn answer(
    form: &str,
    values: &[(&str, &str)],
    result: Result<Redirect, PageError>,
    page: impl AsyncFnOnce(&Redo) -> Result<Markup, PageError>,
) -> Result<Response, PageError> {
    match result {
        Ok(to) => Ok(to.into_response()),
        Err(e) => {
            let redo = Redo::of(form, values, e)?;
            let page = page(&redo).await?;
            Ok((redo.status, page).into_response())
        }
    }
}

impl Redo {
    /// The form `form` sent back with `values` for refusal `e`, when `e` is about what was typed
    /// (422) or about a status that changed meanwhile (409); any other refusal (a wrong CSRF
    /// token, a role, a server fault) is given back as it is.
    pub fn of(form: &str, values: &[(&str, &str)], e: PageError) -> Result<Redo, PageError> {
        match e {
            PageError::Refused {
                status,
                zh,
                en,
                field,
            } if status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::CONFLICT => {
                Ok(Redo {
                    form: form.into(),
                    values: values
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    field,
                    zh,
                    en,
                    status,
                })
            }
            other => Err(other),
        }
    }

    /// What was typed in field `name` of form `form`, if this is that form.
    pub fn value(&self, form: &str, name: &str) -> Option<&str> {
        (self.form == form)
            .then(|| self.values.get(name).map(String::as_str))
            .flatten()
    }
}

/// What was typed in a field of a form shown again, else `default`.
pub fn kept<'a>(redo: Option<&'a Redo>, form: &str, name: &str, default: &'a str) -> &'a str {
    redo.and_then(|r| r.value(form, name)).unwrap_or(default)
}

/// The sentence next to field `field` of form `form`, when the form came back about it.
pub fn message(redo: Option<&Redo>, form: &str, field: &str) -> Markup {
    match redo {
        Some(r) if r.form == form && r.field.as_deref() == Some(field) => sentence(r),
        _ => html! {},
    }
}

/// The sentence at the head of form `form`, when it came back about the form as a whole or
/// about a field the form does not show (`shown` lists those it shows).
pub fn form_message(redo: Option<&Redo>, form: &str, shown: &[&str]) -> Markup {
    match redo {
        Some(r) if r.form == form && r.field.as_deref().is_none_or(|f| !shown.contains(&f)) => {
            sentence(r)
        }
        _ => html! {},
    }
}

/// The notice at the head of a page whose form came back: the sentence and a link down to the
/// form (the wrong field itself takes the focus, [`is_wrong`]).
pub fn refused_notice(l: Lang, redo: Option<&Redo>) -> Markup {
    match redo {
        Some(r) => html! {
            p class="notice" id="form-refused" role="alert" {
                (l.t("未保存：", "Not saved: ")) (r.zh) " " span lang="en" { (r.en) } " "
                a href={ "#" (r.form) } { (l.t("到表单修改 ↓", "go to the form ↓")) }
            }
        },
        None => html! {},
    }
}

fn sentence(r: &Redo) -> Markup {
    html! {
        span class="field-error" role="alert" data-field=(r.field.as_deref().unwrap_or("")) {
            span class="zh" { (r.zh) } " "
            span class="en" lang="en" { (r.en) }
        }
    }
}

/// Whether field `field` of form `form` is the one a sentence is about (to outline it and give
/// it the focus, which also scrolls it into view).
pub fn is_wrong(redo: Option<&Redo>, form: &str, field: &str) -> bool {
    redo.is_some_and(|r| r.form == form && r.field.as_deref() == Some(field))
}

/// A form field's label, for sentences shown away from the field (its name when unknown).
pub fn label(l: Lang, field: &str) -> String {
    let (zh, en) = match field {
        "name" => ("名称", "name"),
        "display_name" => ("姓名", "person's name"),
        "site_type" => ("类型", "type"),
        "district" => ("区县", "district"),
        "street" => ("街道", "street"),
        "address" => ("地址", "address"),
        "lat" => ("纬度", "latitude"),
        "lon" => ("经度", "longitude"),
        "position" => ("位置", "position"),
        "unit" => ("责任单位", "unit"),
        "code" => ("代码", "code"),
        "name_zh" => ("中文名称", "Chinese name"),
        "name_en" => ("英文名称", "English name"),
        "role" => ("角色", "role"),
        "password" => ("密码", "password"),
        "districts" => ("巡查范围", "districts"),
        "deadline" => ("整改期限", "deadline"),
        "note" => ("说明", "note"),
        "photo" => ("照片", "photo"),
        "csv" => ("点位清单", "site list"),
        "pack" => ("模板包", "template pack"),
        "division" => ("任务分工表", "task division table"),
        "url" => ("Webhook 地址", "webhook address"),
        "secret" => ("加签密钥", "signing secret"),
        "from" => ("起始日期", "from"),
        "to" => ("截止日期", "to"),
        "status" => ("状态", "status"),
        "category" => ("类别", "category"),
        "sort" => ("排序", "sort"),
        "page" => ("页码", "page"),
        other => return other.to_string(),
    };
    l.t(zh, en).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_about_the_input_comes_back_with_it_and_others_pass() {
        let e = PageError::invalid("deadline", "整改期限不能早于今天", "not before today");
        let redo = Redo::of("dispatch-form", &[("deadline", "2020-01-01")], e).unwrap();
        assert_eq!(redo.value("dispatch-form", "deadline"), Some("2020-01-01"));
        assert_eq!(redo.value("send-back-form", "deadline"), None);
        let html = message(Some(&redo), "dispatch-form", "deadline").into_string();
        assert!(html.contains("整改期限不能早于今天") && html.contains("data-field=\"deadline\""));
        assert!(
            message(Some(&redo), "dispatch-form", "note")
                .into_string()
                .is_empty()
        );
        assert!(
            form_message(Some(&redo), "dispatch-form", &["deadline"])
                .into_string()
                .is_empty()
        );
        assert!(
            !form_message(Some(&redo), "dispatch-form", &["unit"])
                .into_string()
                .is_empty()
        );
        assert!(Redo::of("dispatch-form", &[], PageError::csrf()).is_err());
    }
}
