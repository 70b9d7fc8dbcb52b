//! Records as JSON objects: [`RecordBuilder`] writes one for export, [`Reader`] reads one on
//! import, collecting every problem as a [`RecordError`] naming the file, record and field.
//!
//! Reading is lenient about representation, strict about meaning: a number may arrive as a JSON
//! number or as CSV text, the `x-qiao` extension as an object or as its JSON text, and an empty
//! cell is the same as no value; but a value that cannot mean what its field needs is an error.

use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc};
use sea_orm::ActiveEnum;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::tables::X_QIAO;

/// One thing wrong with an imported package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// The file, as it was named in the package.
    pub file: String,
    /// The record's id, or `row N` (1-based) when it has none; `None` for the file as a whole.
    pub record: Option<String>,
    /// The field, e.g. `organization_id` or `x-qiao.en.name`; `None` for the record as a whole.
    pub field: Option<String>,
    /// What is wrong, in English with Chinese in brackets.
    pub message: String,
}

/// Where a record came from, for reporting problems found after it was read.
#[derive(Debug, Clone)]
pub struct Origin {
    pub file: String,
    pub record: String,
}

impl Origin {
    pub fn error(&self, field: Option<&str>, message: impl Into<String>) -> RecordError {
        RecordError {
            file: self.file.clone(),
            record: Some(self.record.clone()),
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }
}

/// Builds an exported record. Optional values that are absent (or empty text) are left out,
/// as HSDS prefers to an explicit null.
#[derive(Default)]
pub struct RecordBuilder {
    fields: Map<String, Value>,
    x: Map<String, Value>,
    en: Map<String, Value>,
}

impl RecordBuilder {
    pub fn new(id: &str) -> Self {
        let mut builder = Self::default();
        builder.fields.insert("id".to_owned(), Value::from(id));
        builder
    }

    /// A field that always has a value.
    pub fn put(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(field.to_owned(), value.into());
        self
    }

    /// An optional text field (empty text counts as none).
    pub fn text(self, field: &str, value: Option<&str>) -> Self {
        match value.filter(|text| !text.is_empty()) {
            Some(text) => self.put(field, text),
            None => self,
        }
    }

    /// An optional non-text field.
    pub fn opt<V: Into<Value>>(self, field: &str, value: Option<V>) -> Self {
        match value {
            Some(value) => self.put(field, value),
            None => self,
        }
    }

    /// English text of an HSDS field whose main value is the Chinese text: `x-qiao.en.<field>`.
    /// Kept even when empty, so that "no English" and "empty English" stay distinct.
    pub fn en(mut self, field: &str, value: &str) -> Self {
        self.en.insert(field.to_owned(), Value::from(value));
        self
    }

    /// Optional English text (left out when absent or empty).
    pub fn en_opt(mut self, field: &str, value: Option<&str>) -> Self {
        if let Some(text) = value.filter(|text| !text.is_empty()) {
            self.en.insert(field.to_owned(), Value::from(text));
        }
        self
    }

    /// A Qiao-only fact: `x-qiao.<key>` (left out when `None`).
    pub fn x<V: Into<Value>>(mut self, key: &str, value: Option<V>) -> Self {
        if let Some(value) = value {
            self.x.insert(key.to_owned(), value.into());
        }
        self
    }

    pub fn build(mut self) -> Map<String, Value> {
        if !self.en.is_empty() {
            self.x.insert("en".to_owned(), Value::Object(self.en));
        }
        if !self.x.is_empty() {
            self.fields.insert(X_QIAO.to_owned(), Value::Object(self.x));
        }
        self.fields
    }
}

/// A date as HSDS writes it: `YYYY-MM-DD`.
pub fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// An instant as HSDS writes it: RFC 3339 in UTC, with as many fractional digits as it has.
pub fn datetime_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Reads one imported record's fields, reporting each problem into `errors`.
///
/// Getters return a usable value even when they report a problem (a placeholder), so a table
/// reader can read every field and report every problem of a record in one pass; the import is
/// refused as a whole when any problem was reported.
pub struct Reader<'a> {
    pub origin: Origin,
    fields: &'a Map<String, Value>,
    x: Map<String, Value>,
    errors: &'a mut Vec<RecordError>,
}

impl<'a> Reader<'a> {
    /// `index` is the record's 0-based position in its file.
    pub fn new(file: &str, index: usize, fields: &'a Map<String, Value>, errors: &'a mut Vec<RecordError>) -> Self {
        let record = match fields.get("id") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            _ => format!("row {}", index + 1),
        };
        let origin = Origin { file: file.to_owned(), record };
        let mut x = Map::new();
        match fields.get(X_QIAO) {
            None | Some(Value::Null) => {}
            Some(Value::Object(object)) => x = object.clone(),
            Some(Value::String(text)) if text.is_empty() => {}
            Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(object)) => x = object,
                _ => errors.push(origin.error(Some(X_QIAO), "x-qiao must be a JSON object (x-qiao 必须是 JSON 对象)")),
            },
            Some(_) => {
                errors.push(origin.error(Some(X_QIAO), "x-qiao must be a JSON object (x-qiao 必须是 JSON 对象)"))
            }
        }
        let mut reader = Self { origin, fields, x, errors };
        reader.refuse_nested_records();
        reader
    }

    /// Records nested in a record (HSDS's optional `phones`, `schedules`, …) are not read:
    /// refusing them is better than silently dropping what they say.
    fn refuse_nested_records(&mut self) {
        let nested: Vec<String> = self
            .fields
            .iter()
            .filter(|(key, value)| {
                key.as_str() != X_QIAO
                    && match value {
                        Value::Array(items) => !items.is_empty(),
                        Value::Object(_) => true,
                        _ => false,
                    }
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in nested {
            self.error(
                &key,
                "nested records are not imported: list them in their own table file (嵌套记录不会导入，请放在各自的表文件中)",
            );
        }
    }

    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(self.origin.error(Some(field), message));
    }

    /// The value at `path`: a field name, or `x-qiao.<key>[.<key>]` inside the extension.
    /// Null and empty top-level text count as absent (an empty CSV cell is no value).
    fn raw(&self, path: &str) -> Option<&Value> {
        let value = match path.strip_prefix("x-qiao.") {
            Some(inner) => {
                let mut parts = inner.split('.');
                let first = parts.next()?;
                let mut value = self.x.get(first)?;
                for part in parts {
                    value = value.as_object()?.get(part)?;
                }
                value
            }
            None => {
                let value = self.fields.get(path)?;
                if value.as_str() == Some("") {
                    return None;
                }
                value
            }
        };
        (!value.is_null()).then_some(value)
    }

    pub fn has(&self, path: &str) -> bool {
        self.raw(path).is_some()
    }

    /// Text at `path`, or `None` when absent. Empty text counts as none.
    pub fn text(&mut self, path: &str) -> Option<String> {
        match self.raw(path)? {
            Value::String(text) if text.is_empty() => None,
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => {
                self.error(path, "must be text (必须是文本)");
                None
            }
        }
    }

    /// Text that must be present and not empty.
    pub fn required_text(&mut self, path: &str) -> String {
        let missing = match self.raw(path) {
            None => true,
            Some(Value::String(text)) => text.is_empty(),
            Some(_) => false, // the wrong type: `text` reports it
        };
        if missing {
            self.error(path, "is required (必填)");
            return String::new();
        }
        self.text(path).unwrap_or_default()
    }

    /// Text that may be empty: absent reads as "".
    pub fn text_or_empty(&mut self, path: &str) -> String {
        self.text(path).unwrap_or_default()
    }

    /// English text from `x-qiao.en.<field>` when present (even empty), else `fallback`
    /// (HSDS data from elsewhere has one language: it then serves as both).
    pub fn en_or(&mut self, field: &str, fallback: &str) -> String {
        let path = format!("x-qiao.en.{field}");
        match self.raw(&path) {
            Some(Value::String(text)) => text.clone(),
            Some(_) => {
                self.error(&path, "must be text (必须是文本)");
                String::new()
            }
            None => fallback.to_owned(),
        }
    }

    /// Optional English text from `x-qiao.en.<field>`.
    pub fn en_opt(&mut self, field: &str) -> Option<String> {
        self.text(&format!("x-qiao.en.{field}"))
    }

    /// The record's own id: present and a UUID.
    pub fn id(&mut self) -> String {
        let id = self.required_text("id");
        if !id.is_empty() && Uuid::parse_str(&id).is_err() {
            self.error("id", format!("{id:?} is not a UUID (id 必须是 UUID)"));
        }
        id
    }

    /// An optional reference to another record: a UUID when present.
    pub fn reference(&mut self, path: &str) -> Option<String> {
        let id = self.text(path)?;
        if Uuid::parse_str(&id).is_err() {
            self.error(path, format!("{id:?} is not a UUID (引用的 id 必须是 UUID)"));
        }
        Some(id)
    }

    /// A reference that must be present.
    pub fn required_reference(&mut self, path: &str) -> String {
        match self.reference(path) {
            Some(id) => id,
            None => {
                self.error(path, "is required (必填)");
                String::new()
            }
        }
    }

    pub fn number(&mut self, path: &str) -> Option<f64> {
        let parsed = match self.raw(path)? {
            Value::Number(number) => number.as_f64(),
            Value::String(text) => text.trim().parse::<f64>().ok(),
            _ => None,
        };
        match parsed.filter(|n| n.is_finite()) {
            Some(number) => Some(number),
            None => {
                self.error(path, "must be a number (必须是数字)");
                None
            }
        }
    }

    /// A whole number within `min..=max`.
    pub fn integer(&mut self, path: &str, min: i64, max: i64) -> Option<i64> {
        let number = self.number(path)?;
        if number.fract() != 0.0 || number < min as f64 || number > max as f64 {
            self.error(path, format!("must be a whole number from {min} to {max} (必须是 {min} 到 {max} 之间的整数)"));
            return None;
        }
        Some(number as i64)
    }

    /// A whole number that fits the `i32` columns (ages, years, months, counts).
    pub fn small_integer(&mut self, path: &str, min: i32, max: i32) -> Option<i32> {
        self.integer(path, i64::from(min), i64::from(max)).and_then(|n| i32::try_from(n).ok())
    }

    pub fn boolean(&mut self, path: &str) -> Option<bool> {
        let parsed = match self.raw(path)? {
            Value::Bool(value) => Some(*value),
            Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Some(true),
                "false" | "0" | "no" => Some(false),
                _ => None,
            },
            _ => None,
        };
        if parsed.is_none() {
            self.error(path, "must be true or false (必须是 true 或 false)");
        }
        parsed
    }

    /// A date, `YYYY-MM-DD`.
    pub fn date(&mut self, path: &str) -> Option<NaiveDate> {
        let text = self.text(path)?;
        match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => {
                self.error(path, format!("{text:?} is not a date like 2026-11-25 (日期格式应为 2026-11-25)"));
                None
            }
        }
    }

    /// An instant in RFC 3339 (`2026-11-25T02:00:00Z`).
    pub fn datetime(&mut self, path: &str) -> Option<DateTime<Utc>> {
        let text = self.text(path)?;
        match DateTime::parse_from_rfc3339(&text) {
            Ok(at) => Some(at.with_timezone(&Utc)),
            Err(_) => {
                self.error(
                    path,
                    format!("{text:?} is not an RFC 3339 date-time like 2026-11-25T02:00:00Z (时间格式错误)"),
                );
                None
            }
        }
    }

    /// One of an enum's stored values (`active`, `temporarily closed`, `project_based`, …).
    pub fn enumerated<E>(&mut self, path: &str) -> Option<E>
    where
        E: ActiveEnum<Value = String>,
    {
        let text = self.text(path)?;
        match E::try_from_value(&text) {
            Ok(value) => Some(value),
            Err(_) => {
                let allowed: Vec<String> = E::iter().map(|value| format!("{:?}", value.to_value())).collect();
                self.error(path, format!("{text:?} is not one of {} (取值无效)", allowed.join(", ")));
                None
            }
        }
    }

    /// A local time of day for Qiao's `HH:MM` columns. HSDS times may carry seconds (`:00`
    /// only, Qiao keeps minutes) and China Standard Time's offset (`+08:00`); other offsets are
    /// refused rather than shifted, since shifting could move hours to another weekday.
    pub fn local_time(&mut self, path: &str) -> Option<String> {
        let text = self.text(path)?;
        let clock = text
            .strip_suffix("+08:00")
            .or_else(|| text.strip_suffix("+0800"))
            .or_else(|| text.strip_suffix("+08"))
            .unwrap_or(&text);
        let parsed = NaiveTime::parse_from_str(clock, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(clock, "%H:%M:%S"))
            .ok()
            .filter(|time| chrono::Timelike::second(time) == 0);
        match parsed {
            Some(time) => Some(time.format("%H:%M").to_string()),
            None => {
                self.error(
                    path,
                    format!(
                        "{text:?} is not a China Standard Time like 09:00 or 09:00+08:00 \
                         (时间应为北京时间，如 09:00 或 09:00+08:00)"
                    ),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use qiao_schema::domain::ServiceStatus;
    use serde_json::json;

    use super::*;

    fn read<T>(record: Value, read: impl FnOnce(&mut Reader) -> T) -> (T, Vec<RecordError>) {
        let fields = record.as_object().cloned().unwrap_or_default();
        let mut errors = Vec::new();
        let value = read(&mut Reader::new("service.json", 0, &fields, &mut errors));
        (value, errors)
    }

    #[test]
    fn csv_text_reads_as_numbers_booleans_and_extension_objects() {
        let record = json!({ "id": "a", "amount": "0.15", "closed": "true", "x-qiao": "{\"en\":{\"name\":\"Hi\"}}" });
        let ((amount, closed, en), errors) =
            read(record, |r| (r.number("amount"), r.boolean("closed"), r.en_or("name", "你好")));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!((amount, closed, en.as_str()), (Some(0.15), Some(true), "Hi"));
    }

    #[test]
    fn english_falls_back_only_when_absent() {
        let ((missing, empty), errors) = read(json!({ "x-qiao": { "en": { "alert": "" } } }), |r| {
            (r.en_or("name", "名字"), r.en_or("alert", "警告"))
        });
        assert!(errors.is_empty());
        assert_eq!((missing.as_str(), empty.as_str()), ("名字", ""));
    }

    #[test]
    fn each_bad_field_is_reported_by_name() {
        let record = json!({ "id": "not-a-uuid", "status": "closed", "minimum_age": 3.5, "organization_id": "x" });
        let (_, errors) = read(record, |r| {
            r.id();
            r.enumerated::<ServiceStatus>("status");
            r.small_integer("minimum_age", 0, 150);
            r.reference("organization_id");
        });
        let fields: Vec<_> = errors.iter().filter_map(|e| e.field.as_deref()).collect();
        assert_eq!(fields, ["id", "status", "minimum_age", "organization_id"]);
        assert!(errors.iter().all(|e| e.record.as_deref() == Some("not-a-uuid")));
        assert!(errors[1].message.contains("\"temporarily closed\""), "{}", errors[1].message);
    }

    #[test]
    fn times_accept_seconds_and_the_china_offset_only() {
        let record = json!({ "a": "09:00", "b": "09:00:00+08:00", "c": "09:00Z", "d": "09:00-05:00", "e": "9:30:15" });
        let (times, errors) = read(record, |r| ["a", "b", "c", "d", "e"].map(|field| r.local_time(field)));
        assert_eq!(times, [Some("09:00".to_owned()), Some("09:00".to_owned()), None, None, None]);
        assert_eq!(errors.len(), 3);
    }

    #[test]
    fn nested_records_are_refused_rather_than_dropped() {
        let (_, errors) = read(json!({ "id": "a", "phones": [{ "number": "12348" }], "languages": [] }), |_| ());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field.as_deref(), Some("phones"));
    }
}
