//! The printable one-page village report and the CSV exports, drawn from a [`VillageEvidence`]
//! and an [`OrganizationEvidence`].
//!
//! The page is for a committee's notice board: Chinese first with English beside it, an SVG map
//! of the village and the services around it and small SVG bar charts, all drawn here on the
//! server. It loads nothing from anywhere (no script, no font, no image: the page's content
//! security policy says so too), and its print styles fit it on one A4 sheet.

use std::fmt::Write as _;

use qiao_schema::datum::LatLon;

use super::groups::OrganizationEvidence;
use super::kanon::{Figure, K};
use super::outcomes::OutcomeFigures;
use super::supply::{NEAR_WALK_M, REACH_WALK_M, WALKING_FACTOR};
use super::{UnmetCell, VillageEvidence};
use crate::directory::index::TermIdx;
use crate::hsds::neutralise_formula;
use qiao_schema::domain::ReferralStatus;

/// The content security policy the page is served with: nothing from anywhere, inline styles only.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

/// One colour per top-level category, in tree order (the rest wrap round).
const COLOURS: [&str; 8] = ["#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#7d4e9f", "#00798c", "#8a5a44", "#555555"];

/// Escapes text for HTML and SVG.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The top-level categories, in display order, with their colours.
fn roots(evidence: &VillageEvidence) -> Vec<(TermIdx, &'static str)> {
    evidence.directory.taxonomy.roots().enumerate().map(|(i, term)| (term, COLOURS[i % COLOURS.len()])).collect()
}

/// The top-level category a term belongs to.
fn root_of(evidence: &VillageEvidence, term: TermIdx) -> TermIdx {
    *evidence.directory.taxonomy.with_ancestors(term).last().unwrap_or(&term)
}

fn category_names(evidence: &VillageEvidence, term: Option<TermIdx>) -> (String, String) {
    match term {
        Some(term) => {
            let term = &evidence.directory.taxonomy.terms[term];
            (term.name_zh.clone(), term.name_en.clone())
        }
        None => ("未选类别".to_owned(), "No category chosen".to_owned()),
    }
}

/// The page, as HTML.
pub fn html(evidence: &VillageEvidence, generated_on: chrono::NaiveDate) -> String {
    let village = &evidence.directory.villages[evidence.village];
    let mut page = String::with_capacity(24 * 1024);
    let title = format!("{} 社区服务与需求报告 · {} evidence report", village.name_zh, village.name_en);
    let _ = write!(
        page,
        r#"<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
@page {{ size: A4; margin: 10mm; }}
* {{ box-sizing: border-box; }}
body {{ font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", sans-serif;
  font-size: 9pt; line-height: 1.3; color: #111; margin: 0 auto; max-width: 190mm; }}
h1 {{ font-size: 15pt; margin: 0 0 1mm; }}
h2 {{ font-size: 10.5pt; margin: 2.5mm 0 1mm; border-bottom: 0.4pt solid #888; }}
.en {{ color: #444; font-size: 0.85em; }}
.meta {{ margin: 0 0 1mm; }}
.cols {{ display: flex; gap: 4mm; }}
.cols > div {{ flex: 1 1 0; min-width: 0; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 0.3pt solid #bbb; padding: 0.4mm 1mm; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
ul {{ margin: 0; padding-left: 4mm; }}
svg {{ display: block; width: 100%; height: auto; }}
.note {{ font-size: 7.5pt; color: #333; }}
@media print {{ body {{ max-width: none; }} a {{ color: inherit; text-decoration: none; }} }}
</style>
</head>
<body>
<h1>{name_zh} 社区服务与需求报告 <span class="en">{name_en} · Services and needs</span></h1>
<p class="meta">{city_zh}{district_zh} · 约 {population} 人 · 需求统计月份 {month} · 生成于 {generated_on}<br><span class="en">{district_en}, {city_en} · about {population} residents · unmet needs of {month} · generated {generated_on}</span></p>
"#,
        title = escape(&title),
        name_zh = escape(&village.name_zh),
        name_en = escape(&village.name_en),
        city_zh = escape(&village.city_zh),
        district_zh = escape(&village.district_zh),
        city_en = escape(&village.city_en),
        district_en = escape(&village.district_en),
        population = village.population.map_or("?".to_owned(), |p| p.to_string()),
        month = evidence.month,
    );

    page.push_str("<div class=\"cols\"><div>\n");
    page.push_str("<h2>附近的服务 <span class=\"en\">Services nearby</span></h2>\n");
    page.push_str(&map_svg(evidence));
    page.push_str("</div><div>\n");
    page.push_str("<h2>各类服务数量 <span class=\"en\">Services by category</span></h2>\n");
    page.push_str(&supply_chart(evidence));
    page.push_str(&supply_table(evidence));
    page.push_str("</div></div>\n");

    page.push_str("<div class=\"cols\"><div>\n");
    page.push_str("<h2>缺少的服务 <span class=\"en\">What is missing</span></h2>\n<ul>\n");
    if evidence.supply.gaps.is_empty() {
        page.push_str("<li>未发现缺口 <span class=\"en\">No gap found by the rules</span></li>\n");
    }
    for gap in &evidence.supply.gaps {
        let _ = writeln!(page, "<li>{} <span class=\"en\">{}</span></li>", escape(&gap.text.zh), escape(&gap.text.en));
    }
    page.push_str("</ul>\n</div><div>\n");
    let _ = writeln!(
        page,
        "<h2>没有找到的需求（{month}）<span class=\"en\">Searches that found nothing useful, {month}</span></h2>",
        month = evidence.month
    );
    page.push_str(&unmet_section(evidence));
    page.push_str("</div></div>\n");

    let _ = writeln!(
        page,
        "<h2>转介结果（{month}）<span class=\"en\">How referrals to services here fared, {month}</span></h2>",
        month = evidence.month
    );
    page.push_str(&outcomes_section(evidence));

    let _ = write!(
        page,
        r#"<h2>怎么读这份报告 <span class="en">How to read this page</span></h2>
<p class="note">步行距离按直线距离乘以 {factor} 估算（街巷不是直的）：步行1公里约为直线 {near:.0} 米，3公里约为 {reach:.0} 米。需求数字只来自搜索计数：不记录位置、文字、时间或手机；少于 {k} 次的数字显示为“&lt; {k}”，为防止用总数减出小数字，另有个别数字显示为“隐藏”。
<span class="en">Walking distance is the straight-line distance times {factor} (lanes are not straight): a 1 km walk is about {near:.0} m as the crow flies, 3 km about {reach:.0} m. Need figures are counts of searches only, with no place, words, time or phone kept; a number under {k} reads "&lt; {k}", and a few more read "hidden" so that no total can reveal a small one.</span></p>
</body>
</html>
"#,
        factor = WALKING_FACTOR,
        near = NEAR_WALK_M / WALKING_FACTOR,
        reach = REACH_WALK_M / WALKING_FACTOR,
        k = K,
    );
    page
}

/// Metres east and north of `origin` (a local flat projection: exact enough over a few km).
fn local_metres(origin: LatLon, point: LatLon) -> (f64, f64) {
    let metres_per_degree_lat = 110_574.0;
    let metres_per_degree_lon = 111_320.0 * origin.lat.to_radians().cos();
    ((point.lon - origin.lon) * metres_per_degree_lon, (point.lat - origin.lat) * metres_per_degree_lat)
}

/// The map: the village's boundary, its centre, the 1 km and 3 km walking circles, and a dot per
/// service within 3 km at its nearest place, coloured by top-level category.
fn map_svg(evidence: &VillageEvidence) -> String {
    let directory = &evidence.directory;
    let village = &directory.villages[evidence.village];
    let centre = village.centroid;
    // 200 × 200 units; the 3 km walking circle fills it with a small margin.
    let reach_m = REACH_WALK_M / WALKING_FACTOR;
    let scale = 92.0 / reach_m;
    let at = |point: LatLon| {
        let (east, north) = local_metres(centre, point);
        (100.0 + east * scale, 100.0 - north * scale)
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 214" role="img" aria-label="地图 Map">
<rect x="0" y="0" width="200" height="200" fill="#f4f6f4"/>
<circle cx="100" cy="100" r="{reach:.1}" fill="none" stroke="#999" stroke-dasharray="3 2" stroke-width="0.6"/>
<circle cx="100" cy="100" r="{near:.1}" fill="#fff" fill-opacity="0.6" stroke="#666" stroke-width="0.8"/>
"##,
        reach = reach_m * scale,
        near = NEAR_WALK_M / WALKING_FACTOR * scale,
    );
    let boundary: Vec<String> = village
        .boundary
        .exterior()
        .points()
        .map(|p| {
            let (x, y) = at(LatLon::new(p.y(), p.x()));
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let _ = writeln!(
        svg,
        r##"<polygon points="{}" fill="#f9d976" fill-opacity="0.7" stroke="#b8860b" stroke-width="0.8"/>"##,
        boundary.join(" ")
    );
    let roots = roots(evidence);
    for nearby in &evidence.supply.places {
        let place = &directory.places[nearby.place as usize];
        let service = &directory.services[place.service as usize];
        let root = root_of(evidence, service.category);
        let colour = roots.iter().find(|(term, _)| *term == root).map_or("#555", |(_, colour)| colour);
        let (x, y) = at(place.point);
        let _ = writeln!(
            svg,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="2.2" fill="{colour}" stroke="#fff" stroke-width="0.4"><title>{}</title></circle>"##,
            escape(service.name_zh())
        );
    }
    let _ = writeln!(
        svg,
        r##"<path d="M97 100h6M100 97v6" stroke="#000" stroke-width="0.8"/>
<text x="4" y="9" font-size="6">虚线：步行3公里 dashed: 3 km walk · 实线：1公里 solid: 1 km</text>"##
    );
    // Legend under the map.
    for (i, (term, colour)) in roots.iter().enumerate() {
        let x = 2.0 + (i % 3) as f64 * 66.0;
        let y = 204.0 + (i / 3) as f64 * 7.0;
        let term = &directory.taxonomy.terms[*term];
        let _ = writeln!(
            svg,
            r#"<circle cx="{x:.1}" cy="{cy:.1}" r="2" fill="{colour}"/><text x="{tx:.1}" y="{ty:.1}" font-size="5">{} {}</text>"#,
            escape(&term.name_zh),
            escape(&term.name_en),
            cy = y - 1.6,
            tx = x + 3.5,
            ty = y,
        );
    }
    svg.push_str("</svg>\n");
    // The legend may need a second row: widen the view box to fit it.
    if roots.len() > 3 {
        svg = svg.replacen("viewBox=\"0 0 200 214\"", "viewBox=\"0 0 200 220\"", 1);
    }
    svg
}

/// Horizontal bars per top-level category: services within a 1 km walk (dark) and 3 km (light).
fn supply_chart(evidence: &VillageEvidence) -> String {
    let roots = roots(evidence);
    let rows: Vec<(TermIdx, &str, u32, u32)> = roots
        .iter()
        .filter_map(|(term, colour)| {
            let supply = evidence.supply.categories.iter().find(|c| c.term == *term)?;
            Some((*term, *colour, supply.near.services, supply.reach.services))
        })
        .collect();
    let most = rows.iter().map(|row| row.3).max().unwrap_or(0).max(1);
    let height = 8.0 * rows.len() as f64 + 4.0;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 {height:.0}" role="img" aria-label="服务数量 Services">
"#
    );
    for (i, (term, colour, near, reach)) in rows.iter().enumerate() {
        let y = 2.0 + i as f64 * 8.0;
        let term = &evidence.directory.taxonomy.terms[*term];
        let width = |count: u32| 100.0 * f64::from(count) / f64::from(most);
        let _ = writeln!(
            svg,
            r#"<text x="0" y="{ty:.1}" font-size="5">{zh} {en}</text><rect x="70" y="{y:.1}" width="{reach_w:.1}" height="6" fill="{colour}" fill-opacity="0.35"/><rect x="70" y="{y:.1}" width="{near_w:.1}" height="6" fill="{colour}"/><text x="{lx:.1}" y="{ty:.1}" font-size="5">{near} / {reach}</text>"#,
            ty = y + 4.6,
            zh = escape(&term.name_zh),
            en = escape(&term.name_en),
            reach_w = width(*reach),
            near_w = width(*near),
            lx = 72.0 + width(*reach),
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// The table of top-level categories: counts within 1 km and 3 km, and of those within 3 km, how
/// many are free, open evenings, and open to people without a local hukou.
fn supply_table(evidence: &VillageEvidence) -> String {
    let mut table = String::from(
        "<table><tr><th>类别 <span class=\"en\">Category</span></th><th>1公里 <span class=\"en\">1 km</span></th>\
         <th>3公里 <span class=\"en\">3 km</span></th><th>免费 <span class=\"en\">free</span></th>\
         <th>晚间 <span class=\"en\">evenings</span></th><th>无需本地户口 <span class=\"en\">no local hukou</span></th></tr>\n",
    );
    for (term, _) in roots(evidence) {
        let Some(supply) = evidence.supply.categories.iter().find(|c| c.term == term) else { continue };
        let names = category_names(evidence, Some(term));
        let _ = writeln!(
            table,
            "<tr><td>{} <span class=\"en\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&names.0),
            escape(&names.1),
            supply.near.services,
            supply.reach.services,
            supply.reach.free,
            supply.reach.open_evenings,
            supply.reach.without_local_hukou,
        );
    }
    table.push_str("</table>\n");
    table
}

/// The unmet-needs table and bars; hidden figures read "< 5" or "hidden", never a number.
fn unmet_section(evidence: &VillageEvidence) -> String {
    let cells: &[UnmetCell] = &evidence.unmet.cells;
    if cells.is_empty() {
        return "<p>本月没有记录 <span class=\"en\">None recorded this month</span></p>\n".to_owned();
    }
    let most = cells.iter().filter_map(|cell| cell.figure.value()).max().unwrap_or(0).max(1);
    let mut out = String::from(
        "<table><tr><th>找的类别 <span class=\"en\">Looked for</span></th><th>次数 <span class=\"en\">searches</span></th><th></th></tr>\n",
    );
    for cell in cells {
        let (zh, en) = category_names(evidence, cell.category);
        let bar = match cell.figure {
            Figure::Shown(value) => format!(
                r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 6" width="60" height="4"><rect width="{:.1}" height="6" fill="#d1495b"/></svg>"##,
                100.0 * value as f64 / most as f64
            ),
            Figure::Hidden(_) => String::new(),
        };
        let _ = writeln!(
            out,
            "<tr><td>{} <span class=\"en\">{}</span></td><td>{}</td><td>{bar}</td></tr>",
            escape(&zh),
            escape(&en),
            escape(&cell.figure.label())
        );
    }
    let _ = writeln!(
        out,
        "<tr><td>合计 <span class=\"en\">Total</span></td><td>{}</td><td></td></tr></table>",
        escape(&evidence.unmet.total.label())
    );
    out
}

fn status_names(status: ReferralStatus) -> (&'static str, &'static str, &'static str) {
    match status {
        ReferralStatus::Draft => ("draft", "草稿", "draft"),
        ReferralStatus::Requested => ("requested", "待回复", "requested"),
        ReferralStatus::Accepted => ("accepted", "已接受", "accepted"),
        ReferralStatus::Rejected => ("rejected", "已拒绝", "rejected"),
        ReferralStatus::InProgress => ("in_progress", "进行中", "in progress"),
        ReferralStatus::OnHold => ("on_hold", "暂停", "on hold"),
        ReferralStatus::Completed => ("completed", "已完成", "completed"),
        ReferralStatus::Failed => ("failed", "未成功", "failed"),
        ReferralStatus::Cancelled => ("cancelled", "已取消", "cancelled"),
        ReferralStatus::EnteredInError => ("entered_in_error", "录入错误", "entered in error"),
    }
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |rate| format!("{:.0}%", rate * 100.0))
}

fn days(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |days| format!("{days:.1}"))
}

/// The month's referral outcomes in one table row each; "—" where a figure rests on too few.
fn outcomes_section(evidence: &VillageEvidence) -> String {
    let figures = &evidence.outcomes;
    if figures.referrals == Figure::Shown(0) {
        return "<p>本月没有转介 <span class=\"en\">No referrals this month</span></p>\n".to_owned();
    }
    let statuses: Vec<String> = figures
        .by_status
        .iter()
        .filter(|(_, figure)| *figure != Figure::Shown(0))
        .map(|(status, figure)| {
            let (_, zh, en) = status_names(*status);
            format!("{zh} <span class=\"en\">{en}</span> {}", escape(&figure.label()))
        })
        .collect();
    let reasons = |list: &[(String, u64)]| {
        if list.is_empty() {
            "—".to_owned()
        } else {
            list.iter().map(|(code, n)| format!("{} ({n})", escape(code))).collect::<Vec<_>>().join(", ")
        }
    };
    format!(
        "<table><tr><th>转介 <span class=\"en\">Referrals</span></th><td>{}</td><th>接受率 <span class=\"en\">accepted</span></th><td>{}</td>\
         <th>完成率 <span class=\"en\">completed</span></th><td>{}</td><th>得到帮助 <span class=\"en\">got help</span></th><td>{}</td></tr>\n\
         <tr><th>接受用时（天） <span class=\"en\">days to accept</span></th><td>{}</td><th>结果用时（天） <span class=\"en\">days to outcome</span></th><td>{}</td>\
         <th>未得到帮助 <span class=\"en\">could not</span></th><td>{}</td><th>转给他处 <span class=\"en\">forwarded</span></th><td>{}</td></tr></table>\n\
         <p class=\"note\">{}<br>拒绝原因 <span class=\"en\">rejected for</span>: {} · 未成功原因 <span class=\"en\">failed for</span>: {}</p>\n",
        escape(&figures.referrals.label()),
        percent(figures.acceptance_rate),
        percent(figures.completion_rate),
        escape(&figures.got_help.label()),
        days(figures.median_days_to_acceptance),
        days(figures.median_days_to_outcome),
        escape(&figures.could_not.label()),
        escape(&figures.forwarded.label()),
        statuses.join(" · "),
        reasons(&figures.top_rejection_reasons),
        reasons(&figures.top_failure_reasons),
    )
}

/// The CSV export: one row per figure (`section, code, name_zh, name_en, measure, value`); a
/// hidden figure's value reads "< 5" or "hidden", like the page. Every cell that a spreadsheet
/// would run as a formula is neutralised (a leading `'`), as in the directory export.
pub fn csv(evidence: &VillageEvidence) -> Result<String, csv::Error> {
    let village = &evidence.directory.villages[evidence.village];
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["village_id", "month", "section", "code", "name_zh", "name_en", "measure", "value"])?;
    let month = evidence.month.to_string();
    let mut row = |section: &str, code: &str, zh: &str, en: &str, measure: &str, value: String| {
        let cells = [village.id.as_str(), &month, section, code, zh, en, measure, &value];
        writer.write_record(cells.map(neutralise_formula))
    };
    for supply in &evidence.supply.categories {
        let term = &evidence.directory.taxonomy.terms[supply.term];
        for (measure, value) in [
            ("within_1km_walk", supply.near.services),
            ("within_3km_walk", supply.reach.services),
            ("free_within_3km", supply.reach.free),
            ("open_evenings_within_3km", supply.reach.open_evenings),
            ("open_sunday_within_3km", supply.reach.open_sunday),
            ("without_local_hukou_within_3km", supply.reach.without_local_hukou),
            ("serving_the_area", supply.serving_area),
        ] {
            row("supply", &term.code, &term.name_zh, &term.name_en, measure, value.to_string())?;
        }
    }
    for gap in &evidence.supply.gaps {
        row("gap", &gap.code, &gap.text.zh, &gap.text.en, "flagged", "1".to_owned())?;
    }
    for cell in &evidence.unmet.cells {
        let (zh, en) = category_names(evidence, cell.category);
        let code =
            cell.category.map_or(super::unmet::ANY_CATEGORY, |term| &evidence.directory.taxonomy.terms[term].code);
        row("unmet_needs", code, &zh, &en, "searches", cell.figure.label())?;
    }
    row("unmet_needs", "TOTAL", "合计", "Total", "searches", evidence.unmet.total.label())?;
    outcome_rows(&mut row, "outcomes", &evidence.outcomes)?;
    let bytes = writer.into_inner().map_err(|error| csv::Error::from(error.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Writes one row of a CSV export: `(section, code, name_zh, name_en, measure, value)`.
type RowWriter<'a> = dyn FnMut(&str, &str, &str, &str, &str, String) -> Result<(), csv::Error> + 'a;

/// The rows of one set of referral outcomes, all in `section`.
fn outcome_rows(row: &mut RowWriter<'_>, section: &str, outcomes: &OutcomeFigures) -> Result<(), csv::Error> {
    row(section, "referrals", "转介", "Referrals", "referrals", outcomes.referrals.label())?;
    for (status, figure) in &outcomes.by_status {
        let (code, zh, en) = status_names(*status);
        row(section, code, zh, en, "referrals", figure.label())?;
    }
    row(section, "acceptance_rate", "接受率", "Acceptance rate", "rate", percent(outcomes.acceptance_rate))?;
    row(section, "completion_rate", "完成率", "Completion rate", "rate", percent(outcomes.completion_rate))?;
    row(
        section,
        "days_to_acceptance",
        "接受用时",
        "Days to acceptance",
        "median_days",
        days(outcomes.median_days_to_acceptance),
    )?;
    row(
        section,
        "days_to_outcome",
        "结果用时",
        "Days to outcome",
        "median_days",
        days(outcomes.median_days_to_outcome),
    )?;
    for (code, n) in &outcomes.top_rejection_reasons {
        row(section, code, "拒绝原因", "Rejection reason", "referrals", n.to_string())?;
    }
    for (code, n) in &outcomes.top_failure_reasons {
        row(section, code, "未成功原因", "Failure reason", "referrals", n.to_string())?;
    }
    row(section, "got_help", "得到帮助", "Got help", "people", outcomes.got_help.label())?;
    row(section, "could_not", "未得到帮助", "Could not get help", "people", outcomes.could_not.label())?;
    row(section, "forwarded", "转给他处", "Forwarded", "referrals", outcomes.forwarded.label())
}

/// An organisation's outcomes as CSV, one row per figure and month
/// (`organization_id, organization_name_zh, organization_name_en, month, section, code, name_zh,
/// name_en, measure, value`),
/// `section` being `received` (referrals to its services) or `sent` (referrals it sent). Hidden
/// figures read as on the page; formula-like cells are neutralised.
pub fn organization_csv(evidence: &OrganizationEvidence) -> Result<String, csv::Error> {
    let organization = &evidence.organization;
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "organization_id",
        "organization_name_zh",
        "organization_name_en",
        "month",
        "section",
        "code",
        "name_zh",
        "name_en",
        "measure",
        "value",
    ])?;
    for month in &evidence.months {
        let month_text = month.month.to_string();
        let mut row = |section: &str, code: &str, zh: &str, en: &str, measure: &str, value: String| {
            let cells = [
                organization.id.as_str(),
                &organization.name_zh,
                &organization.name_en,
                &month_text,
                section,
                code,
                zh,
                en,
                measure,
                &value,
            ];
            writer.write_record(cells.map(neutralise_formula))
        };
        outcome_rows(&mut row, "received", &month.received)?;
        outcome_rows(&mut row, "sent", &month.sent)?;
    }
    let bytes = writer.into_inner().map_err(|error| csv::Error::from(error.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
