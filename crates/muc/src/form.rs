//! XEP-0004 data forms: the few pieces the room needs (build a form, read a submission).

use rookery_proto::{Element, ns};
use serde::{Deserialize, Serialize};

/// One form field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormField {
    /// The `var` attribute.
    pub var: String,
    /// The field type (`boolean`, `text-single`, `list-single`, …), if any.
    #[serde(default)]
    pub kind: Option<String>,
    /// Human label.
    #[serde(default)]
    pub label: Option<String>,
    /// Values in order.
    #[serde(default)]
    pub values: Vec<String>,
    /// `(label, value)` options of list fields.
    #[serde(default)]
    pub options: Vec<(String, String)>,
}

impl FormField {
    /// A field with one value.
    pub fn new(var: impl Into<String>, kind: &str, value: impl Into<String>) -> Self {
        FormField {
            var: var.into(),
            kind: Some(kind.to_owned()),
            label: None,
            values: vec![value.into()],
            options: Vec::new(),
        }
    }

    /// A boolean field (`1` / `0`).
    pub fn boolean(var: impl Into<String>, value: bool) -> Self {
        Self::new(var, "boolean", if value { "1" } else { "0" })
    }

    /// The hidden `FORM_TYPE` field.
    pub fn form_type(value: &str) -> Self {
        Self::new("FORM_TYPE", "hidden", value)
    }

    /// Builder: sets the label.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Builder: sets the values.
    pub fn with_values(mut self, values: Vec<String>) -> Self {
        self.values = values;
        self
    }

    /// Builder: adds an option.
    pub fn with_option(mut self, label: &str, value: &str) -> Self {
        self.options.push((label.to_owned(), value.to_owned()));
        self
    }

    /// The `<field/>` element.
    pub fn to_element(&self) -> Element {
        let mut f = Element::new("field", ns::DATA_FORMS)
            .with_attr("var", self.var.clone())
            .with_opt_attr("type", self.kind.clone())
            .with_opt_attr("label", self.label.clone());
        for v in &self.values {
            f.push_child(Element::new("value", ns::DATA_FORMS).with_text(v.clone()));
        }
        for (label, value) in &self.options {
            f.push_child(
                Element::new("option", ns::DATA_FORMS)
                    .with_attr("label", label.clone())
                    .with_child(Element::new("value", ns::DATA_FORMS).with_text(value.clone())),
            );
        }
        f
    }
}

/// Builds `<x xmlns='jabber:x:data' type=…>` with an optional title and the fields.
pub fn build_form(kind: &str, title: Option<&str>, fields: &[FormField]) -> Element {
    let mut x = Element::new("x", ns::DATA_FORMS).with_attr("type", kind);
    if let Some(t) = title {
        x.push_child(Element::new("title", ns::DATA_FORMS).with_text(t));
    }
    for f in fields {
        x.push_child(f.to_element());
    }
    x
}

/// Why a submitted form cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormError {
    /// Not an `x` element in `jabber:x:data`.
    #[error("not a data form")]
    NotAForm,
    /// A field lacks its `var`.
    #[error("a field has no var")]
    MissingVar,
    /// More fields than any room form has.
    #[error("too many fields")]
    TooManyFields,
}

/// The most fields a submission may carry (a room config form has about twenty).
pub const MAX_SUBMITTED_FIELDS: usize = 256;

/// A submitted (`type='submit'`) or cancelled form, fields in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubmittedForm {
    /// The form's `type` attribute.
    pub kind: String,
    /// `(var, values)` pairs.
    pub fields: Vec<(String, Vec<String>)>,
}

impl SubmittedForm {
    /// Reads a `jabber:x:data` element.
    pub fn parse(x: &Element) -> Result<Self, FormError> {
        if !x.is("x", ns::DATA_FORMS) {
            return Err(FormError::NotAForm);
        }
        let mut fields = Vec::new();
        for f in x.children().filter(|c| c.is("field", ns::DATA_FORMS)) {
            if fields.len() >= MAX_SUBMITTED_FIELDS {
                return Err(FormError::TooManyFields);
            }
            let var = f.attr("var").ok_or(FormError::MissingVar)?;
            let values = f
                .children()
                .filter(|c| c.is("value", ns::DATA_FORMS))
                .map(Element::text)
                .collect();
            fields.push((var.to_owned(), values));
        }
        Ok(SubmittedForm {
            kind: x.attr("type").unwrap_or("form").to_owned(),
            fields,
        })
    }

    /// The values of `var`, if the field was submitted.
    pub fn values(&self, var: &str) -> Option<&[String]> {
        self.fields
            .iter()
            .find(|(v, _)| v == var)
            .map(|(_, vals)| vals.as_slice())
    }

    /// The first value of `var` (empty string for a field without value).
    pub fn first(&self, var: &str) -> Option<&str> {
        self.values(var)
            .map(|v| v.first().map_or("", String::as_str))
    }
}

/// XEP-0004 boolean: `1`/`true` or `0`/`false`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "1" | "true" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_then_read_back() {
        let form = build_form(
            "submit",
            Some("t"),
            &[
                FormField::form_type("urn:x"),
                FormField::boolean("a", true),
                FormField::new("b", "text-multi", "one").with_values(vec!["1".into(), "2".into()]),
                FormField::new("c", "list-single", "x").with_option("X", "x"),
            ],
        );
        let parsed = SubmittedForm::parse(&form).unwrap();
        assert_eq!(parsed.kind, "submit");
        assert_eq!(parsed.first("FORM_TYPE"), Some("urn:x"));
        assert_eq!(parsed.first("a"), Some("1"));
        assert_eq!(parsed.values("b").unwrap(), ["1", "2"]);
        assert_eq!(
            parsed.first("c"),
            Some("x"),
            "option values are not field values"
        );
        assert_eq!(parsed.first("missing"), None);
    }

    #[test]
    fn refusals() {
        assert_eq!(
            SubmittedForm::parse(&Element::new("x", "urn:other")),
            Err(FormError::NotAForm)
        );
        let no_var =
            Element::new("x", ns::DATA_FORMS).with_child(Element::new("field", ns::DATA_FORMS));
        assert_eq!(SubmittedForm::parse(&no_var), Err(FormError::MissingVar));
        let mut big = Element::new("x", ns::DATA_FORMS);
        for i in 0..=MAX_SUBMITTED_FIELDS {
            big.push_child(FormField::boolean(format!("f{i}"), true).to_element());
        }
        assert_eq!(SubmittedForm::parse(&big), Err(FormError::TooManyFields));
        assert_eq!(parse_bool("true"), Some(true));
        assert_eq!(parse_bool(" 0 "), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }
}
