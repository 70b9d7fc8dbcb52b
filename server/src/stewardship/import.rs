//! Bulk import of listings from a CSV file, for committee staff (inside their area) and admins.
//! The format is described, with an example, in `docs/CSV-IMPORT.md`.
//!
//! Each row becomes an organisation named after the listing, its one location and one service
//! there, written through the stewardship functions, so each row's history is recorded like a
//! steward's hand edit. All or nothing: every row is checked first and every bad cell reported;
//! if any row is bad, nothing is written. The writes then run in one transaction, and a row that
//! still fails there rolls the whole file back too.

use std::collections::HashMap;

use qiao_schema::datum::{self, Datum, LatLon};
use qiao_schema::entity::{location, taxonomy_term};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::{
    Actor, Cost, Db, HoursSpec, LocationFields, OrganizationFields, ServiceFields, Steward, Text, create_organization,
    create_service, set_service_hours, set_service_phone,
};
use crate::directory::hours::{format_minute, parse_minute};
use crate::error::{ApiError, ApiResult};
use crate::values::{Adcode, CoordinateError, Coordinates, Field, Money, PhoneNumber, TextLimit, ValueError, Weekday};

/// Most data rows in one file: a file this size imports well within the request timeout (about
/// 50 database writes a row, with history). The request body limit (64 KiB, some 300 rows)
/// usually binds first.
pub const MAX_ROWS: usize = 500;
/// Most documents in one cell.
const MAX_DOCUMENTS: usize = 20;
/// Most opening-hours intervals in one cell.
const MAX_INTERVALS: usize = 50;

/// A column: its header name, and whether the header must have it and each row must fill it.
struct Column {
    name: &'static str,
    required: bool,
}

const fn required(name: &'static str) -> Column {
    Column { name, required: true }
}

const fn optional(name: &'static str) -> Column {
    Column { name, required: false }
}

/// The columns, in the order the documentation lists them. `_en` columns default to the Chinese
/// text, descriptions to the name.
const COLUMNS: &[Column] = &[
    required("name_zh"),
    optional("name_en"),
    optional("description_zh"),
    optional("description_en"),
    required("category"),
    required("address_zh"),
    optional("address_en"),
    required("district_zh"),
    optional("district_en"),
    required("city_zh"),
    optional("city_en"),
    required("adcode"),
    required("lat"),
    required("lon"),
    optional("datum"),
    optional("phone"),
    optional("hours"),
    required("cost"),
    optional("documents"),
];

/// One problem with the file.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportError {
    /// 1-based data row (the header is row 0, as is a problem with the whole file).
    pub row: usize,
    /// Line of the file where the row starts (the header is line 1; 0 for the whole file).
    pub line: u64,
    /// The column at fault, when one is.
    pub column: Option<String>,
    /// What is wrong, in English with Chinese in brackets.
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// Services created (0 when there was any error).
    pub imported: usize,
    /// Ids of the services created, in row order.
    pub service_ids: Vec<String>,
    /// Every problem found; empty when the file was imported.
    pub errors: Vec<ImportError>,
}

/// A checked row, ready to write.
struct Row {
    number: usize,
    line: u64,
    organization: OrganizationFields,
    location: LocationFields,
    /// With no locations yet: the row's location is created first.
    service: ServiceFields,
    hours: Vec<HoursSpec>,
    phone: Option<String>,
}

/// Imports the listings in `csv`. Problems with the file are reported in the result; only a
/// fault on the server is an error.
pub async fn import_listings(db: &impl Db, actor: &Steward, csv: &str) -> ApiResult<ImportReport> {
    let categories: HashMap<String, String> =
        taxonomy_term::Entity::find().all(db).await?.into_iter().map(|term| (term.code, term.id)).collect();
    let rows = match parse(csv, &categories, actor) {
        Ok(rows) => rows,
        Err(errors) => return Ok(ImportReport { errors, ..ImportReport::default() }),
    };
    let txn = db.begin().await?;
    let mut report = ImportReport::default();
    for row in rows {
        let (number, line) = (row.number, row.line);
        match write_row(&txn, actor, row).await {
            Ok(service_id) => report.service_ids.push(service_id),
            Err(ApiError::Internal(cause)) => return Err(ApiError::Internal(cause)),
            // Keep going: the row's savepoint is gone, and later rows may have problems too.
            Err(error) => report.errors.push(error_from_domain(number, line, error)),
        }
    }
    if report.errors.is_empty() {
        txn.commit().await?;
        report.imported = report.service_ids.len();
    } else {
        txn.rollback().await?;
        report.service_ids.clear();
    }
    Ok(report)
}

async fn write_row(txn: &impl Db, actor: &Steward, row: Row) -> ApiResult<String> {
    let organization = create_organization(txn, actor, row.organization, row.location).await?;
    let location_id = location::Entity::find()
        .filter(location::Column::OrganizationId.eq(organization.id.as_str()))
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::internal("an imported organisation has no location"))?
        .id;
    let service =
        create_service(txn, actor, &organization.id, ServiceFields { location_ids: vec![location_id], ..row.service })
            .await?;
    if !row.hours.is_empty() {
        set_service_hours(txn, &actor.keeper(), &service.id, row.hours, Vec::new()).await?;
    }
    if let Some(phone) = &row.phone {
        set_service_phone(txn, actor, &service.id, phone).await?;
    }
    Ok(service.id)
}

/// The column a domain field comes from; `None` for fields the file has no column for.
fn column_of(field: Field) -> Option<&'static str> {
    match field {
        Field::OrganizationName | Field::LocationName | Field::ServiceName => Some("name_zh"),
        Field::OrganizationDescription | Field::ServiceDescription => Some("description_zh"),
        Field::ServiceCategory => Some("category"),
        Field::LocationPoint => Some("lat"),
        Field::LocationStreet => Some("address_zh"),
        Field::LocationDistrict => Some("district_zh"),
        Field::LocationCity => Some("city_zh"),
        Field::LocationAdcode => Some("adcode"),
        Field::ServiceDocuments => Some("documents"),
        Field::ServicePhone => Some("phone"),
        Field::ServiceCosts | Field::CostOption | Field::CostAmount => Some("cost"),
        Field::Hours | Field::HoursDays | Field::HoursInterval => Some("hours"),
        Field::OrganizationWebsite
        | Field::OrganizationEmail
        | Field::LocationTransportation
        | Field::ServiceLocations
        | Field::ServiceLanguages
        | Field::ServiceFeesDescription
        | Field::ServiceApplicationProcess
        | Field::ServiceEligibilityDescription
        | Field::ServiceRequirements
        | Field::ServiceCapacityNote
        | Field::ServiceAlert
        | Field::ServiceStatusReason
        | Field::ExceptionInterval
        | Field::ExceptionReason
        | Field::SearchText
        | Field::SearchLanguages
        | Field::SuggestionProposedValue
        | Field::SuggestionComment
        | Field::SuggestionDecisionReason
        | Field::SituationResidencePermitMonths
        | Field::SituationSocialInsuranceMonths
        | Field::SituationAge
        | Field::SituationChildAge
        | Field::ReferralNeeds
        | Field::ReferralReason
        | Field::ReferralNote
        | Field::ReferralOutcome => None,
        Field::ClientDisplayName
        | Field::ClientPhone
        | Field::ClientPreferredLanguage
        | Field::ClientNotes
        | Field::ConsentPurpose => None,
        Field::ReportMonth => None,
    }
}

/// A domain function's refusal as a row error (rows are checked beforehand, so this is rare).
fn error_from_domain(row: usize, line: u64, error: ApiError) -> ImportError {
    let column = match &error {
        ApiError::Invalid(ValueError { field, .. }) => column_of(*field),
        ApiError::Forbidden => Some("lat"),
        _ => None,
    };
    let message = match error {
        ApiError::Forbidden => outside_area(),
        other => other.message(),
    };
    ImportError { row, line, column: column.map(str::to_owned), message }
}

fn outside_area() -> String {
    "the point (lat, lon) lies outside your area (坐标不在您负责的区域内)".to_owned()
}

/// Checks the whole file: the rows ready to write, or every problem found.
fn parse(csv: &str, categories: &HashMap<String, String>, actor: &Actor) -> Result<Vec<Row>, Vec<ImportError>> {
    let file_error = |message: String| vec![ImportError { row: 0, line: 0, column: None, message }];
    // Spreadsheets often save UTF-8 with a byte-order mark.
    let csv = csv.strip_prefix('\u{feff}').unwrap_or(csv);
    if csv.trim().is_empty() {
        return Err(file_error(
            "the file is empty: the first line must be the header, e.g. name_zh,category,… (文件为空，第一行须为表头)"
                .to_owned(),
        ));
    }
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(csv.as_bytes());
    let header = match reader.headers() {
        Ok(header) => header.clone(),
        Err(error) => return Err(file_error(format!("the header is not valid CSV: {error} (表头不是有效的 CSV)"))),
    };
    let positions = columns_of(&header)?;

    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let number = index + 1;
        if number > MAX_ROWS {
            errors.push(ImportError {
                row: 0,
                line: 0,
                column: None,
                message: format!(
                    "the file has more than {MAX_ROWS} rows: split it (超过 {MAX_ROWS} 行，请分成几个文件)"
                ),
            });
            break;
        }
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, |p| p.line());
                errors.push(ImportError {
                    row: number,
                    line,
                    column: None,
                    message: format!("this row is not valid CSV: {error} (此行不是有效的 CSV)"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue; // spreadsheets save trailing blank rows as lines of commas
        }
        if record.len() != header.len() {
            errors.push(ImportError {
                row: number,
                line,
                column: None,
                message: format!(
                    "the row has {} fields but the header has {}: check for stray commas or quotes \
                     (此行有 {} 列，表头有 {} 列)",
                    record.len(),
                    header.len(),
                    record.len(),
                    header.len()
                ),
            });
            continue;
        }
        let cells = Cells { record: &record, positions: &positions };
        match check_row(&cells, categories, actor) {
            Ok(checked) => rows.push(Row { number, line, ..checked }),
            Err(problems) => errors.extend(problems.into_iter().map(|(column, message)| ImportError {
                row: number,
                line,
                column: Some(column.to_owned()),
                message,
            })),
        }
    }
    if rows.is_empty() && errors.is_empty() {
        errors.push(ImportError {
            row: 0,
            line: 0,
            column: None,
            message: "the file has a header but no rows (文件只有表头，没有数据)".to_owned(),
        });
    }
    if errors.is_empty() { Ok(rows) } else { Err(errors) }
}

/// Where each known column is in the header; every problem with the header otherwise.
fn columns_of(header: &csv::StringRecord) -> Result<HashMap<&'static str, usize>, Vec<ImportError>> {
    let header_error = |column: Option<String>, message: String| ImportError { row: 0, line: 1, column, message };
    let mut positions = HashMap::new();
    let mut errors = Vec::new();
    for (position, name) in header.iter().enumerate() {
        let name = name.trim().to_lowercase();
        match COLUMNS.iter().find(|c| c.name == name) {
            Some(column) => {
                if positions.insert(column.name, position).is_some() {
                    errors.push(header_error(
                        Some(name.clone()),
                        format!("the column {name} appears twice (列 {name} 重复)"),
                    ));
                }
            }
            None => {
                let known: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
                errors.push(header_error(
                    Some(name.clone()),
                    format!("unknown column {name:?}; the columns are {} (未知列)", known.join(", ")),
                ));
            }
        }
    }
    for column in COLUMNS.iter().filter(|c| c.required && !positions.contains_key(c.name)) {
        errors.push(header_error(
            Some(column.name.to_owned()),
            format!("the required column {} is missing from the header (缺少必填列 {})", column.name, column.name),
        ));
    }
    if errors.is_empty() { Ok(positions) } else { Err(errors) }
}

/// One row's cells by column name; empty cells read as absent.
struct Cells<'a> {
    record: &'a csv::StringRecord,
    positions: &'a HashMap<&'static str, usize>,
}

impl Cells<'_> {
    fn get(&self, column: &str) -> Option<&str> {
        self.positions.get(column).and_then(|&i| self.record.get(i)).map(str::trim).filter(|v| !v.is_empty())
    }
}

type Problems = Vec<(&'static str, String)>;

/// A required text within `limit`.
fn text_cell(cells: &Cells<'_>, problems: &mut Problems, column: &'static str, limit: TextLimit) -> Option<String> {
    match cells.get(column) {
        None => {
            problems.push((column, format!("{column} is required (必填)")));
            None
        }
        Some(value) => optional_text_cell(problems, column, Some(value), limit),
    }
}

fn optional_text_cell(
    problems: &mut Problems,
    column: &'static str,
    value: Option<&str>,
    limit: TextLimit,
) -> Option<String> {
    let value = value?;
    let max = limit.chars();
    if value.chars().count() > max {
        problems.push((column, format!("{column} is longer than {max} characters (超过 {max} 个字符)")));
        return None;
    }
    Some(value.to_owned())
}

/// A Chinese text and its English, which defaults to the Chinese.
fn bilingual(
    cells: &Cells<'_>,
    problems: &mut Problems,
    zh_column: &'static str,
    en_column: &'static str,
    limit: TextLimit,
) -> Option<Text> {
    let zh = text_cell(cells, problems, zh_column, limit);
    let en = optional_text_cell(problems, en_column, cells.get(en_column), limit);
    let zh = zh?;
    Some(Text { en: en.unwrap_or_else(|| zh.clone()), zh })
}

fn check_row(cells: &Cells<'_>, categories: &HashMap<String, String>, actor: &Actor) -> Result<Row, Problems> {
    let mut problems = Problems::new();
    let name = bilingual(cells, &mut problems, "name_zh", "name_en", TextLimit::Name);
    let description_zh =
        optional_text_cell(&mut problems, "description_zh", cells.get("description_zh"), TextLimit::LongText);
    let description_en =
        optional_text_cell(&mut problems, "description_en", cells.get("description_en"), TextLimit::LongText);
    let street = bilingual(cells, &mut problems, "address_zh", "address_en", TextLimit::Name);
    let district = bilingual(cells, &mut problems, "district_zh", "district_en", TextLimit::Name);
    let city = bilingual(cells, &mut problems, "city_zh", "city_en", TextLimit::Name);

    let category = match cells.get("category") {
        None => {
            problems.push(("category", "category is required, e.g. LEGAL_AID or LIBRARY (必填)".to_owned()));
            None
        }
        Some(code) => {
            let code = code.to_uppercase();
            let term = categories.get(&code).cloned();
            if term.is_none() {
                let mut known: Vec<&str> = categories.keys().map(String::as_str).collect();
                known.sort_unstable();
                problems.push((
                    "category",
                    format!("unknown category {code:?}; use one of {} (未知类别)", known.join(", ")),
                ));
            }
            term
        }
    };

    let adcode = match Adcode::parse(Field::LocationAdcode, cells.get("adcode").unwrap_or_default()) {
        Ok(adcode) => Some(adcode.into_string()),
        Err(error) => {
            problems.push(("adcode", error.message));
            None
        }
    };

    let lat = coordinate(cells, &mut problems, "lat", Coordinates::latitude);
    let lon = coordinate(cells, &mut problems, "lon", Coordinates::longitude);
    let datum = match cells.get("datum").map(|d| d.to_uppercase().replace('-', "")) {
        None => Some(Datum::Wgs84),
        Some(d) if d == "WGS84" => Some(Datum::Wgs84),
        Some(d) if d == "GCJ02" => Some(Datum::Gcj02),
        Some(d) if d == "BD09" => Some(Datum::Bd09),
        Some(_) => {
            problems.push(("datum", "datum must be WGS84, GCJ02 or BD09 (坐标系须为 WGS84、GCJ02 或 BD09)".to_owned()));
            None
        }
    };
    let point = match (lat, lon, datum) {
        (Some(lat), Some(lon), Some(datum)) => {
            let point = datum::to_wgs84(LatLon::new(lat, lon), datum);
            if actor.scope.covers_point(point) {
                Some(point)
            } else {
                problems.push(("lat", outside_area()));
                None
            }
        }
        _ => None,
    };

    let phone = match cells.get("phone") {
        None => None,
        Some(text) => {
            let phone = PhoneNumber::new(text).map(PhoneNumber::into_string);
            if phone.is_none() {
                problems.push((
                    "phone",
                    format!(
                        "{text:?} is not a phone number as dialled in China, e.g. 021-54861801 (电话号码格式不正确)"
                    ),
                ));
            }
            phone
        }
    };
    let hours = match cells.get("hours") {
        None => Some(Vec::new()),
        Some(text) => parse_hours(text).map_err(|message| problems.push(("hours", message))).ok(),
    };
    let cost = match cells.get("cost") {
        None => {
            problems.push(("cost", "cost is required: an amount in yuan, or 0 / 免费 / free (费用必填)".to_owned()));
            None
        }
        Some(text) => parse_cost(text).map_err(|message| problems.push(("cost", message))).ok(),
    };
    let documents = parse_documents(cells.get("documents").unwrap_or_default())
        .map_err(|message| problems.push(("documents", message)))
        .ok();

    match (name, street, district, city, category, adcode, point, hours, cost, documents) {
        (
            Some(name),
            Some(street),
            Some(district),
            Some(city),
            Some(category),
            Some(adcode),
            Some(point),
            Some(hours),
            Some(cost),
            Some(documents),
        ) if problems.is_empty() => {
            let description = match (description_zh, description_en) {
                (Some(zh), Some(en)) => Text { zh, en },
                (Some(zh), None) => Text { en: zh.clone(), zh },
                (None, Some(en)) => Text { zh: name.zh.clone(), en },
                (None, None) => name.clone(),
            };
            Ok(Row {
                number: 0,
                line: 0,
                organization: OrganizationFields {
                    name: name.clone(),
                    description: description.clone(),
                    website: None,
                    email: None,
                    legal_status: None,
                },
                location: LocationFields {
                    name: name.clone(),
                    point,
                    street,
                    district,
                    city,
                    adcode,
                    postal_code: None,
                    transportation: None,
                },
                service: ServiceFields {
                    name,
                    description,
                    category_term_id: category,
                    location_ids: Vec::new(),
                    languages: vec!["zh".to_owned()],
                    costs: vec![cost],
                    documents,
                    fees_description: None,
                    application_process: None,
                    eligibility_description: None,
                },
                hours,
                phone,
            })
        }
        _ => Err(problems),
    }
}

fn coordinate(
    cells: &Cells<'_>,
    problems: &mut Problems,
    column: &'static str,
    check: fn(f64) -> Result<f64, CoordinateError>,
) -> Option<f64> {
    let Some(text) = cells.get(column) else {
        problems.push((column, format!("{column} is required, in decimal degrees (必填，十进制度数)")));
        return None;
    };
    // Out of range and unreadable read the same: the limits come from the one range check.
    let value = text.parse::<f64>().unwrap_or(f64::NAN);
    match check(value) {
        Ok(value) => Some(value),
        Err(_) => {
            let limit = if column == "lat" { 90 } else { 180 };
            problems.push((
                column,
                format!("{column} must be decimal degrees between -{limit} and {limit}, got {text:?} (坐标超出范围)"),
            ));
            None
        }
    }
}

/// Weekly hours such as `MO-FR 09:00-17:00; SA 09:00-12:00`: groups separated by `;`, each
/// days (codes MO … SU, ranges `MO-FR`, lists `MO,WE`) then intervals (`09:00-12:00,14:00-17:00`).
pub fn parse_hours(text: &str) -> Result<Vec<HoursSpec>, String> {
    let bad = |part: &str| {
        format!(
            "hours {part:?} are not like \"MO-FR 09:00-17:00; SA 09:00-12:00\" (营业时间格式错误，\
             应如 MO-FR 09:00-17:00; SA 09:00-12:00)"
        )
    };
    let mut hours = Vec::new();
    for group in text.split(';').map(str::trim).filter(|g| !g.is_empty()) {
        let (days, times) = group.split_once(char::is_whitespace).ok_or_else(|| bad(group))?;
        let days = parse_days(days).ok_or_else(|| bad(group))?;
        for interval in times.split(',').map(str::trim) {
            let (opens, closes) = interval.split_once('-').ok_or_else(|| bad(group))?;
            let (opens, closes) = match (parse_minute(opens.trim()), parse_minute(closes.trim())) {
                (Some(opens), Some(closes)) if opens < closes => (format_minute(opens), format_minute(closes)),
                _ => return Err(bad(group)),
            };
            hours.push(HoursSpec { days: days.clone(), opens, closes });
        }
    }
    if hours.len() > MAX_INTERVALS {
        return Err(format!("at most {MAX_INTERVALS} opening intervals (营业时间段过多)"));
    }
    Ok(hours)
}

/// `MO-FR`, `MO,WE,FR`, `MO-WE,SA`: weekdays in week order, without repeats.
fn parse_days(text: &str) -> Option<Vec<Weekday>> {
    let mut chosen = [false; 7];
    for item in text.split(',') {
        match item.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (Weekday::from_code_loose(from)?, Weekday::from_code_loose(to)?);
                // A range may wrap past Sunday (FR-MO).
                let mut day = from;
                loop {
                    chosen[day.index()] = true;
                    if day == to {
                        break;
                    }
                    day = day.next();
                }
            }
            None => chosen[Weekday::from_code_loose(item)?.index()] = true,
        }
    }
    Some(Weekday::ALL.into_iter().zip(chosen).filter(|(_, on)| *on).map(|(day, _)| day).collect())
}

/// A yuan amount (`12`, `12.5`, `¥12`, `12元`), or `0` / `免费` / `free` for free.
pub fn parse_cost(text: &str) -> Result<Cost, String> {
    let bad = || format!("cost {text:?} is not an amount in yuan, or 0 / 免费 / free (费用格式错误)");
    let lower = text.trim().to_lowercase();
    let amount_fen = if lower == "免费" || lower == "free" {
        0
    } else {
        let number = lower
            .trim_start_matches(['¥', '￥'])
            .trim_end_matches("元")
            .trim_end_matches("yuan")
            .trim_end_matches("rmb")
            .trim();
        let yuan: f64 = number.parse().map_err(|_| bad())?;
        Money::from_yuan(Field::CostAmount, yuan)
            .map_err(|_| "cost must be between 0 and 10,000,000 yuan (金额超出范围)".to_owned())?
            .fen()
    };
    let option = if amount_fen == 0 {
        Text { zh: "免费".to_owned(), en: "Free".to_owned() }
    } else {
        Text { zh: "费用".to_owned(), en: "Fee".to_owned() }
    };
    Ok(Cost { option, amount_fen })
}

/// Documents separated by `|`; each `中文/English`, or one text for both languages.
pub fn parse_documents(text: &str) -> Result<Vec<Text>, String> {
    let documents: Vec<Text> = text.split('|').map(str::trim).filter(|d| !d.is_empty()).map(split_bilingual).collect();
    if documents.len() > MAX_DOCUMENTS {
        return Err(format!("at most {MAX_DOCUMENTS} documents (所需材料最多 {MAX_DOCUMENTS} 项)"));
    }
    let max = TextLimit::Name.chars();
    if documents.iter().any(|d| d.zh.chars().count() > max || d.en.chars().count() > max) {
        return Err(format!("each document is at most {max} characters (每项材料最多 {max} 个字符)"));
    }
    Ok(documents)
}

/// `身份证/Resident ID card` → zh and en. A slash between Chinese words (`身份证/居住证`, "ID
/// card or residence permit") is part of the text: the English side must hold no Chinese.
fn split_bilingual(text: &str) -> Text {
    let is_cjk = |c: char| matches!(c, '\u{3000}'..='\u{303f}' | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{ff00}'..='\u{ffef}');
    if let Some((zh, en)) = text.rsplit_once('/') {
        let (zh, en) = (zh.trim(), en.trim());
        if !zh.is_empty() && !en.is_empty() && zh.chars().any(is_cjk) && !en.chars().any(is_cjk) {
            return Text { zh: zh.to_owned(), en: en.to_owned() };
        }
    }
    Text { zh: text.to_owned(), en: text.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(list: &[&str]) -> Vec<Weekday> {
        list.iter().filter_map(|d| Weekday::from_code(d)).collect()
    }

    fn admin() -> Steward {
        Steward::admin_for_tests(chrono::Utc::now())
    }

    fn check(csv: &str) -> Result<usize, Vec<ImportError>> {
        let categories = HashMap::from([("LIBRARY".to_owned(), "term-library".to_owned())]);
        parse(csv, &categories, &admin()).map(|rows| rows.len())
    }

    const HEADER: &str = "Name_ZH, category ,address_zh,district_zh,city_zh,adcode,lat,lon,cost";
    const ROW: &str = "图书角,library,文化路1号,闵行区,上海市,310112,31.105,121.355,0";

    #[test]
    fn header_names_are_case_insensitive_and_a_byte_order_mark_is_ignored() {
        assert_eq!(check(&format!("\u{feff}{HEADER}\n{ROW}\n{ROW}\n")), Ok(2));
    }

    #[test]
    fn blank_rows_are_skipped_but_still_counted() {
        let errors =
            check(&format!("{HEADER}\n,,,,,,,,\n  \n{ROW}\n{ROW},extra\n,,,,,,,,\n")).err().unwrap_or_default();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!((errors[0].row, errors[0].line), (4, 5));
    }

    #[test]
    fn a_file_over_the_row_limit_is_refused_whole() {
        let csv = format!("{HEADER}\n{}", format!("{ROW}\n").repeat(MAX_ROWS + 1));
        let errors = check(&csv).err().unwrap_or_default();
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].row, errors[0].column.as_deref()), (0, None));
        assert_eq!(check(&format!("{HEADER}\n{}", format!("{ROW}\n").repeat(MAX_ROWS))), Ok(MAX_ROWS));
    }

    #[test]
    fn rows_are_numbered_after_the_header_and_lines_count_line_breaks_in_cells() {
        let csv = format!(
            "{HEADER}\n\"图书角\n二楼\",LIBRARY,文化路1号,闵行区,上海市,310112,31.105,121.355,0\n{ROW}\n{ROW},extra\n"
        );
        let errors = check(&csv).err().unwrap_or_default();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!((errors[0].row, errors[0].line, errors[0].column.as_deref()), (3, 5, None));
    }

    #[test]
    fn every_bad_cell_of_a_row_is_reported() {
        let csv = format!("{HEADER}\n,SOUP,文化路1号,闵行区,上海市,3101,91,181,free-ish\n");
        let errors = check(&csv).err().unwrap_or_default();
        let columns: Vec<_> = errors.iter().map(|e| e.column.as_deref().unwrap_or_default()).collect();
        assert_eq!(columns, ["name_zh", "category", "adcode", "lat", "lon", "cost"]);
        assert!(errors.iter().all(|e| e.row == 1 && e.line == 2));
    }

    #[test]
    fn unknown_repeated_and_missing_columns_are_reported_on_the_header() {
        let errors = check("name_zh,name_zh,colour\nx,y,z\n").err().unwrap_or_default();
        let columns: Vec<_> = errors.iter().map(|e| (e.row, e.column.as_deref().unwrap_or_default())).collect();
        assert_eq!(
            columns,
            [
                (0, "name_zh"),
                (0, "colour"),
                (0, "category"),
                (0, "address_zh"),
                (0, "district_zh"),
                (0, "city_zh"),
                (0, "adcode"),
                (0, "lat"),
                (0, "lon"),
                (0, "cost")
            ]
        );
    }

    #[test]
    fn hours_take_day_ranges_lists_and_several_intervals() {
        let hours = parse_hours("MO-FR 09:00-12:00,14:00-17:00; sa,su 9:30-12:00").unwrap_or_default();
        assert_eq!(hours.len(), 3);
        assert_eq!(hours[0].days, days(&["MO", "TU", "WE", "TH", "FR"]));
        assert_eq!((hours[1].opens.as_str(), hours[1].closes.as_str()), ("14:00", "17:00"));
        assert_eq!(hours[2].days, days(&["SA", "SU"]));
        assert_eq!(hours[2].opens, "09:30");
        let wrapped = parse_hours("FR-MO 10:00-11:00").unwrap_or_default();
        assert_eq!(wrapped[0].days, days(&["MO", "FR", "SA", "SU"]));
    }

    #[test]
    fn hours_that_are_not_days_and_hh_mm_intervals_are_refused() {
        for text in ["MO-FR 9-5", "MO-FR", "XX 09:00-10:00", "MO 17:00-09:00", "MO 09:00", "MO-FR 09:00-25:00"] {
            assert!(parse_hours(text).is_err(), "{text}");
        }
    }

    #[test]
    fn costs_are_yuan_amounts_or_free() {
        let fen = |text: &str| parse_cost(text).map(|c| c.amount_fen).ok();
        assert_eq!(fen("0"), Some(0));
        assert_eq!(fen("免费"), Some(0));
        assert_eq!(fen("Free"), Some(0));
        assert_eq!(fen("12.5"), Some(1250));
        assert_eq!(fen("¥20"), Some(2000));
        assert_eq!(fen("30元"), Some(3000));
        assert_eq!(fen("abc"), None);
        assert_eq!(fen("-1"), None);
        assert_eq!(parse_cost("0").map(|c| c.option.en).ok().as_deref(), Some("Free"));
    }

    #[test]
    fn a_domain_refusal_names_the_column_of_its_field() {
        let refusal = |field| error_from_domain(2, 3, ValueError::new(field, "no (不行)").into());
        assert_eq!(refusal(Field::CostAmount).column.as_deref(), Some("cost"));
        assert_eq!(refusal(Field::LocationPoint).column.as_deref(), Some("lat"));
        assert_eq!(refusal(Field::ServicePhone).column.as_deref(), Some("phone"));
        assert_eq!(refusal(Field::ServiceLanguages).column, None, "the file has no languages column");
        let error = refusal(Field::LocationAdcode);
        assert_eq!((error.row, error.line, error.column.as_deref()), (2, 3, Some("adcode")));
        assert_eq!(error.message, "no (不行)");
    }

    #[test]
    fn documents_split_on_bars_and_on_a_slash_before_english() {
        let documents = parse_documents("身份证/Resident ID card | 身份证/居住证 ||租房合同").unwrap_or_default();
        assert_eq!(documents.len(), 3);
        assert_eq!(documents[0], Text { zh: "身份证".into(), en: "Resident ID card".into() });
        assert_eq!(documents[1], Text { zh: "身份证/居住证".into(), en: "身份证/居住证".into() });
        assert_eq!(documents[2], Text { zh: "租房合同".into(), en: "租房合同".into() });
    }
}
