//! Evidence per urban village: supply and gaps equal hand-computed figures on the seed data,
//! unmet needs leave no trace but day-level counts, small counts are hidden (complementary
//! suppression included), access is scoped, and the printable report fits one A4 page.

use std::io::Write as _;
use std::sync::{Arc, Mutex};

use qiao_tests::{TestApp, backends, china_time, error_code, on_every_database};
use serde_json::{Value, json};

const REPORT: &str = "query($id: ID!, $month: String) { villageReport(villageId: $id, month: $month) {
    village { id name } month walkingFactor k
    supply { category parent within1km within3km servingArea
             near { services free openEvenings openSunday withoutLocalHukou }
             reach { services free openEvenings openSunday withoutLocalHukou } }
    gaps gapRules { code text }
    unmetNeeds { category count hidden label } unmetNeedsTotal } }";

fn village_id(key: &str) -> String {
    qiao_seed::rows::derived_id("urban_village", key)
}

fn category<'a>(report: &'a Value, code: &str) -> &'a Value {
    report["supply"]
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["category"] == code))
        .unwrap_or_else(|| panic!("no supply row for {code}: {report:#}"))
}

async fn report_as(app: &TestApp, token: &str, key: &str) -> Value {
    app.data_as(token, REPORT, json!({ "id": village_id(key) })).await["villageReport"].clone()
}

/// The figures below were worked out by hand from `seed/data/shanghai.json`: each service's
/// nearest place, its straight-line distance from T village's centre (31.1050, 121.3550) times
/// the walking factor 1.3, and its categories with their parents. Within a 1 km walk are the 16
/// services run in the village itself (91 to 235 m walked); between 1 and 3 km the district legal
/// aid centre (2,321 m), the primary school enrolment (1,128 m), the hukou-round kindergarten
/// (1,112 m), the migrant children's school (1,433 m), the charity volunteers (2,187 m), the
/// health centre's clinic and pregnancy registration (1,226 m), the employment service (1,332 m)
/// and the electrician course (2,749 m); the college tutors (3,863 m) and the district library
/// (3,415 m) are beyond.
#[tokio::test]
async fn t_village_supply_equals_the_hand_computed_figures() {
    on_every_database(|app| async move {
        let token = app.token_of("committee.tvillage").await;
        let report = report_as(&app, &token, "sh-t-village").await;
        assert_eq!(report["village"]["name"], "T村");
        assert_eq!(report["walkingFactor"], 1.3);
        assert_eq!(report["k"], 5);

        let legal = category(&report, "LEGAL_AID");
        assert_eq!((legal["within1km"].as_i64(), legal["within3km"].as_i64()), (Some(0), Some(1)));
        assert_eq!(legal["servingArea"], 1, "the 12348 hotline serves the whole city");

        let education = category(&report, "EDUCATION");
        assert_eq!((education["within1km"].as_i64(), education["within3km"].as_i64()), (Some(3), Some(6)));
        let school = category(&report, "SCHOOL");
        assert_eq!(school["parent"], "EDUCATION");
        assert_eq!((school["within1km"].as_i64(), school["within3km"].as_i64()), (Some(0), Some(3)));
        assert_eq!(school["reach"]["free"], 1, "only the primary school's enrolment costs nothing");
        assert_eq!(school["reach"]["withoutLocalHukou"], 2, "the kindergarten's round needs a local hukou");
        let tutoring = category(&report, "TUTORING");
        assert_eq!((tutoring["within1km"].as_i64(), tutoring["within3km"].as_i64()), (Some(2), Some(2)));

        let health = category(&report, "HEALTH");
        assert_eq!((health["within1km"].as_i64(), health["within3km"].as_i64()), (Some(1), Some(3)));
        let employment = category(&report, "EMPLOYMENT");
        assert_eq!((employment["within1km"].as_i64(), employment["within3km"].as_i64()), (Some(1), Some(3)));

        let community = category(&report, "COMMUNITY");
        assert_eq!(community["near"]["services"], 10);
        assert_eq!(community["near"]["openEvenings"], 3, "self-help group, fellow villagers, outdoor films");
        assert_eq!(community["near"]["openSunday"], 2, "parent-child sports, Tai Chi");
        assert_eq!(community["near"]["free"], 10);
        assert_eq!(community["reach"]["services"], 11, "plus the charity volunteer team");

        assert_eq!(report["gaps"], json!([]), "T village has every kind of service the rules ask for");
        assert_eq!(report["unmetNeeds"], json!([]));
        assert_eq!(report["unmetNeedsTotal"], 0);
    })
    .await;
}

/// X village (31.096, 121.382): nothing within a 1 km walk (the college tutors are 801 m away as
/// the crow flies, 1,042 m walked), and within 3 km only two schools, the tutors, the charity
/// volunteers and the district library.
#[tokio::test]
async fn x_village_gaps_are_flagged_by_the_rule_set() {
    on_every_database(|app| async move {
        let token = app.token_of("admin").await;
        let report = report_as(&app, &token, "sh-x-village").await;
        let codes: Vec<&str> =
            report["gapRules"].as_array().into_iter().flatten().filter_map(|g| g["code"].as_str()).collect();
        assert_eq!(
            codes,
            [
                "no_legal_aid_3km",
                "no_after_school_1km",
                "no_sunday_service_1km",
                "no_evening_service_1km",
                "no_health_1km",
                "no_employment_3km"
            ]
        );
        assert_eq!(report["gaps"][0], "步行3公里内没有法律援助");
        let english = app
            .data_as(
                &token,
                "query($id: ID!) { villageReport(villageId: $id, language: EN) { gaps } }",
                json!({ "id": village_id("sh-x-village") }),
            )
            .await;
        assert_eq!(english["villageReport"]["gaps"][0], "No legal aid within a 3 km walk");
        let tutoring = category(&report, "TUTORING");
        assert_eq!((tutoring["within1km"].as_i64(), tutoring["within3km"].as_i64()), (Some(0), Some(1)));
    })
    .await;
}

#[tokio::test]
async fn only_staff_in_scope_see_a_village_report() {
    on_every_database(|app| async move {
        let t_village = json!({ "id": village_id("sh-t-village") });
        let x_village = json!({ "id": village_id("sh-x-village") });

        let anonymous = app.graphql(REPORT, t_village.clone()).await;
        assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
        assert!(anonymous["data"].is_null() || anonymous["data"]["villageReport"].is_null());

        let migrant = app.graphql_as(&app.token_of("migrant.demo").await, REPORT, t_village.clone()).await;
        assert_eq!(error_code(&migrant), Some("FORBIDDEN"));

        // Provider staff's scope is their own services, not a village.
        let provider = app.token_of("provider.legalaid").await;
        let answer = app.graphql_as(&provider, REPORT, t_village.clone()).await;
        assert_eq!(error_code(&answer), Some("NOT_FOUND"));

        // A committee sees its own village; another area's reads exactly like a missing one.
        let committee = app.token_of("committee.tvillage").await;
        assert!(app.graphql_as(&committee, REPORT, t_village.clone()).await.get("errors").is_none());
        let other = app.graphql_as(&committee, REPORT, x_village.clone()).await;
        let missing = app.graphql_as(&committee, REPORT, json!({ "id": "no-such-village" })).await;
        assert_eq!(error_code(&other), Some("NOT_FOUND"));
        assert_eq!(other["errors"][0]["message"], missing["errors"][0]["message"]);

        // Admins see every village.
        let admin = app.token_of("admin").await;
        assert!(app.graphql_as(&admin, REPORT, x_village).await.get("errors").is_none());

        // The printable page and the CSV follow the same rule.
        let page = |token: Option<String>, key: &str| {
            let mut request = app.http().get(app.url(&format!("/evidence/villages/{}/report.html", village_id(key))));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send()
        };
        assert_eq!(page(None, "sh-t-village").await.expect("answer").status(), 401);
        assert_eq!(page(Some(provider.clone()), "sh-t-village").await.expect("answer").status(), 404);
        assert_eq!(page(Some(committee.clone()), "sh-x-village").await.expect("answer").status(), 404);
        assert_eq!(page(Some(committee.clone()), "sh-t-village").await.expect("answer").status(), 200);
        let csv = app
            .http()
            .get(app.url(&format!("/evidence/villages/{}/report.csv", village_id("sh-x-village"))))
            .bearer_auth(&provider)
            .send()
            .await
            .expect("answer");
        assert_eq!(csv.status(), 404);
    })
    .await;
}

#[tokio::test]
async fn a_month_not_yet_over_is_refused() {
    on_every_database(|app| async move {
        let token = app.token_of("admin").await;
        let id = village_id("sh-t-village");
        for month in ["2026-11", "2027-01", "November", "2026-13"] {
            let answer = app.graphql_as(&token, REPORT, json!({ "id": id, "month": month })).await;
            assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{month}: {answer}");
            assert_eq!(answer["errors"][0]["extensions"]["field"], "month", "{answer}");
        }
        let answer = app.data_as(&token, REPORT, json!({ "id": id, "month": "2026-10" })).await;
        assert_eq!(answer["villageReport"]["month"], "2026-10");
    })
    .await;
}

/// A writer for the test's log subscriber: everything logged lands in one buffer.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A small deterministic generator (no dependency needed for test points).
struct Lcg(u64);

impl Lcg {
    fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

const NEARBY: &str = "query($near: GeoPointInput!, $categories: [ServiceCategory!], $text: String) {
    nearbyServices(near: $near, radiusMeters: 3000, categories: $categories, text: $text) { edges { node { id } } } }";

/// 1,000 searches from random points inside T and X villages, each with its own made-up words so
/// that nothing is found. Afterwards the database file, its WAL and everything logged hold none
/// of the points or words; the database holds only counts per village, category, reason and day;
/// and the report of the month shows them with small counts hidden.
#[tokio::test]
async fn a_thousand_searches_leave_only_day_counts_and_small_ones_are_hidden() {
    let log = LogBuffer::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // This test's runtime has one thread, so the server's tasks log through this subscriber.
    let _logging = tracing::subscriber::set_default(subscriber);

    let (mut all_points, mut all_words) = (Vec::new(), Vec::new());
    for backend in backends() {
        let app = TestApp::spawn_configured(backend, true, &[("QIAO_RATE_LIMIT_REQUESTS_PER_MINUTE", "100000")]).await;
        // (village, centre, category, how many): T village gets a cell of 4 beside two large
        // ones, X village a lone cell of 5.
        let plan: [(&str, (f64, f64), &str, usize); 5] = [
            ("t", (31.1050, 121.3550), "TUTORING", 4),
            ("t", (31.1050, 121.3550), "LEGAL_AID", 496),
            ("t", (31.1050, 121.3550), "HEALTH", 300),
            ("x", (31.0961, 121.3820), "LIBRARY", 5),
            ("x", (31.0961, 121.3820), "SCHOOL", 195),
        ];
        let mut random = Lcg(20_261_125);
        let mut points = Vec::new();
        let mut words = Vec::new();
        let mut n = 0;
        for (_, centre, category, count) in plan {
            for _ in 0..count {
                // Within ±0.0008° (about 80 m) of the centre, well inside either village.
                let lat = centre.0 + (random.next_unit() - 0.5) * 0.0016;
                let lon = centre.1 + (random.next_unit() - 0.5) * 0.0016;
                let text = format!("qzxv{n}词{}", (random.next_unit() * 1e9) as u64);
                let data = app
                    .data(NEARBY, json!({ "near": { "lat": lat, "lon": lon }, "categories": [category], "text": text }))
                    .await;
                assert_eq!(data["nearbyServices"]["edges"], json!([]), "made-up words find nothing");
                points.push((lat, lon));
                words.push(text);
                n += 1;
            }
        }
        assert_eq!(n, 1000);

        // The next day's first unmet search writes the finished day's counts (in the background).
        app.clock.set(china_time(2026, 12, 1, 9, 0));
        app.data(
            NEARBY,
            json!({ "near": { "lat": 31.0961, "lon": 121.3820 }, "categories": ["SCHOOL"], "text": "qzxv-trigger" }),
        )
        .await;
        let db = app.database().await;
        let rows = wait_for_counts(&db, 1000).await;
        for row in &rows {
            assert_eq!(row.day, chrono::NaiveDate::from_ymd_opt(2026, 11, 25).expect("a date"), "day-level only");
            assert_eq!(row.reason, "nothing_found");
        }
        assert_eq!(rows.len(), 5, "one row per village, category and reason: {rows:?}");
        db.close().await.ok();

        if let Some(path) = app.database_url.strip_prefix("sqlite://").and_then(|url| url.split('?').next()) {
            let mut stored = Vec::new();
            for suffix in ["", "-wal", "-shm"] {
                if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                    stored.extend(bytes);
                }
            }
            assert!(!stored.is_empty());
            assert_no_trace(&stored, &points, &words, "the database file and WAL");
        }

        // The month's report, read in December: T village's 4 is hidden, and so is another cell,
        // so the total minus the shown cells cannot give it; X village's lone 5 is shown.
        let admin = app.token_of("admin").await;
        let t = report_as(&app, &admin, "sh-t-village").await;
        assert_eq!(t["month"], "2026-11");
        assert_eq!(
            t["unmetNeeds"],
            json!([
                { "category": "LEGAL_AID", "count": 496, "hidden": null, "label": "496" },
                { "category": "TUTORING", "count": null, "hidden": "FEWER_THAN_FIVE", "label": "< 5" },
                { "category": "HEALTH", "count": null, "hidden": "PROTECTS_ANOTHER", "label": "隐藏 hidden" },
            ])
        );
        assert_eq!(t["unmetNeedsTotal"], 800);
        let x = report_as(&app, &admin, "sh-x-village").await;
        assert_eq!(
            x["unmetNeeds"],
            json!([
                { "category": "SCHOOL", "count": 195, "hidden": null, "label": "195" },
                { "category": "LIBRARY", "count": 5, "hidden": null, "label": "5" },
            ])
        );
        assert_eq!(x["unmetNeedsTotal"], 200);
        all_points.extend(points);
        all_words.extend(words);

        // The CSV says the same, and never the hidden numbers.
        let csv = app
            .http()
            .get(app.url(&format!("/evidence/villages/{}/report.csv", village_id("sh-t-village"))))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("answer");
        assert_eq!(csv.status(), 200);
        let csv = csv.text().await.expect("text");
        assert!(csv.contains("unmet_needs,TUTORING,课业辅导,Tutoring,searches,< 5"), "{csv}");
        assert!(csv.contains("unmet_needs,HEALTH,健康医疗,Health,searches,隐藏 hidden"), "{csv}");
        let unmet: Vec<&str> = csv.lines().filter(|line| line.contains(",unmet_needs,")).collect();
        assert_eq!(unmet.len(), 4, "{csv}");
        assert!(unmet.iter().all(|line| !line.ends_with(",300") && !line.ends_with(",4")), "{csv}");
        app.finish().await;
    }

    let logged = log.0.lock().map(|buffer| buffer.clone()).unwrap_or_default();
    assert!(!logged.is_empty(), "the subscriber saw the server's log");
    assert_no_trace(&logged, &all_points, &all_words, "the log");
}

/// Polls until the stored counts add up to `total` (the write runs in the background).
async fn wait_for_counts(
    db: &sea_orm::DatabaseConnection,
    total: i64,
) -> Vec<qiao_schema::entity::unmet_need_count::Model> {
    use sea_orm::EntityTrait;
    for _ in 0..100 {
        let rows = qiao_schema::entity::unmet_need_count::Entity::find().all(db).await.expect("read the counts");
        if rows.iter().map(|row| row.count).sum::<i64>() == total {
            return rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the unmet-need counts were not written");
}

/// None of the words (they share a marker) and none of the points appears in `bytes`: not as raw
/// 8-byte floats (either byte order), not as decimal text at any rounding of 5 or more places.
/// One pass each, so a long log is cheap to check.
fn assert_no_trace(bytes: &[u8], points: &[(f64, f64)], words: &[String], what: &str) {
    assert!(words.iter().all(|word| word.starts_with("qzxv")));
    assert!(!bytes.windows(4).any(|window| window == b"qzxv"), "{what} holds a search's words");

    let values: Vec<f64> = points.iter().flat_map(|(lat, lon)| [*lat, *lon]).collect();
    let raw: std::collections::HashSet<[u8; 8]> =
        values.iter().flat_map(|value| [value.to_le_bytes(), value.to_be_bytes()]).collect();
    assert!(
        !bytes.windows(8).any(|window| <[u8; 8]>::try_from(window).is_ok_and(|w| raw.contains(&w))),
        "{what} holds a point as a float"
    );

    let mut sorted = values.clone();
    sorted.sort_by(f64::total_cmp);
    let text = String::from_utf8_lossy(bytes);
    for number in text.split(|c: char| !(c.is_ascii_digit() || c == '.')) {
        let Some((_, decimals)) = number.split_once('.') else { continue };
        if decimals.len() < 5 || decimals.contains('.') {
            continue;
        }
        let Ok(value) = number.parse::<f64>() else { continue };
        let tolerance = 0.5 * 10f64.powi(-(decimals.len() as i32));
        let from = sorted.partition_point(|p| *p < value - tolerance);
        assert!(
            sorted.get(from).is_none_or(|p| *p > value + tolerance),
            "{what} holds {number}, a search point rounded"
        );
    }
}

/// The printable report renders to PDF in headless Chromium on one A4 page with its text. Outside
/// CI the test is skipped (with a message) when `chromium` or `pdftotext` is missing.
#[tokio::test]
async fn the_printable_report_fits_one_a4_page_in_chromium() {
    // Whether the tool can be started at all (poppler's tools answer `-v` with a non-zero status).
    let have = |tool: &str| std::process::Command::new(tool).arg("-v").output().is_ok();
    if !(have("chromium") && have("pdftotext") && have("pdfinfo")) {
        assert!(std::env::var_os("CI").is_none(), "CI must have chromium and poppler-utils installed");
        eprintln!("skipped: install chromium and poppler-utils (apt-get install -y chromium poppler-utils) to run");
        return;
    }
    let app = TestApp::spawn(qiao_tests::Backend::Sqlite).await;
    let token = app.token_of("committee.tvillage").await;
    let response = app
        .http()
        .get(app.url(&format!("/evidence/villages/{}/report.html", village_id("sh-t-village"))))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 200);
    let csp = response.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = response.text().await.expect("text");
    // The SVG namespace is a name, not an address anything is loaded from.
    let addresses = html.replace("http://www.w3.org/2000/svg", "");
    assert!(
        !html.contains("<script")
            && !addresses.contains("http://")
            && !addresses.contains("https://")
            && !html.contains("@import"),
        "the page loads nothing from elsewhere"
    );
    assert!(html.find("T村").unwrap_or(usize::MAX) < html.find("T village").unwrap_or(0), "Chinese first");
    app.finish().await;

    let dir = std::env::temp_dir().join(format!("qiao-report-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let page = dir.join("report.html");
    std::fs::File::create(&page).and_then(|mut file| file.write_all(html.as_bytes())).expect("write the page");
    let pdf = dir.join("report.pdf");
    let status = std::process::Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer"])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(pdf.exists(), "chromium printed nothing: {}", String::from_utf8_lossy(&status.stderr));

    let info = std::process::Command::new("pdfinfo").arg(&pdf).output().expect("run pdfinfo");
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    assert!(info.lines().any(|line| line.starts_with("Pages:") && line.trim_end().ends_with(" 1")), "{info}");
    // A4 is 595.28 × 841.89 pt; Chromium rounds to its own units (594.96 × 841.92).
    let size: Vec<f64> = info
        .lines()
        .find_map(|line| line.strip_prefix("Page size:"))
        .map(|rest| rest.split_whitespace().filter_map(|word| word.parse().ok()).collect())
        .unwrap_or_default();
    assert!(
        matches!(size.as_slice(), [w, h, ..] if (w - 595.28).abs() < 1.0 && (h - 841.89).abs() < 1.0),
        "A4 (595 × 842 pt): {info}"
    );

    let text = std::process::Command::new("pdftotext").arg(&pdf).arg("-").output().expect("run pdftotext");
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    for expected in ["T village", "Services nearby", "What is missing", "Legal aid", "1.3"] {
        assert!(text.contains(expected), "the PDF lacks {expected:?}: {text}");
    }
    // Chinese text survives when a CJK font is installed (fonts-wqy-microhei or fonts-noto-cjk).
    let cjk_font = std::process::Command::new("fc-list").arg(":lang=zh").output().is_ok_and(|o| !o.stdout.is_empty());
    if cjk_font {
        for expected in ["T村", "附近的服务", "法律援助"] {
            assert!(text.contains(expected), "the PDF lacks {expected:?}: {text}");
        }
    } else {
        eprintln!("no CJK font installed: the Chinese text of the PDF was not checked");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A fixture of referrals inserted straight into the database (the referral API is built
/// elsewhere), all sent by T village's social-work station: to its own library room in T village,
/// 12 completed (sent 1 October, ended 10 days later), 5 failed ("no_show", ended after 20 days),
/// 4 rejected, 3 still requested, a draft, one entered in error; plus 6 completed ones to the
/// district legal aid centre, outside the village, which are not T village's. Earlier months, to
/// the legal aid centre only: 5 completed in September, 4 completed in August.
async fn insert_referral_fixture(app: &TestApp) {
    use chrono::{Duration, TimeZone, Utc};
    use qiao_schema::domain::{ReferralStatus, Urgency};
    use qiao_schema::entity::{client, referral};
    use sea_orm::{ActiveValue::Set, EntityTrait};

    let id = |kind: &str, key: &str| qiao_seed::rows::derived_id(kind, key);
    let db = app.database().await;
    let sent = Utc.with_ymd_and_hms(2026, 10, 1, 2, 0, 0).single().expect("an instant");
    let station = id("organization", "sh-tvillage-social-work-station");
    client::Entity::insert(client::ActiveModel {
        id: Set("fixture-client".into()),
        organization_id: Set(station.clone()),
        created_by: Set(id("account", "worker.tvillage")),
        display_name_sealed: Set("sealed".into()),
        phone_sealed: Set(None),
        phone_digest: Set(None),
        preferred_language_sealed: Set(None),
        notes_sealed: Set(None),
        sensitive_kinds: Set(String::new()),
        accepts_messages: Set(false),
        created_at: Set(sent),
        updated_at: Set(sent),
        erased_at: Set(None),
    })
    .exec_without_returning(&db)
    .await
    .expect("insert the fixture client");
    // (status, days to acceptance, days to the end, service key, location key)
    type Planned<'a> = (ReferralStatus, Option<i64>, Option<i64>, &'a str, &'a str);
    let legal_aid = ("sh-minhang-legal-aid", "sh-loc-minhang-legal-aid-centre");
    let mut plan: Vec<Planned> = Vec::new();
    let library = ("sh-tvillage-community-library", "sh-loc-tvillage-library-room");
    for n in 0..12 {
        plan.push((ReferralStatus::Completed, Some(n + 1), Some(10), library.0, library.1));
    }
    for _ in 0..5 {
        plan.push((ReferralStatus::Failed, Some(2), Some(20), library.0, library.1));
    }
    for _ in 0..4 {
        plan.push((ReferralStatus::Rejected, None, Some(1), library.0, library.1));
    }
    for _ in 0..3 {
        plan.push((ReferralStatus::Requested, None, None, library.0, library.1));
    }
    plan.push((ReferralStatus::Draft, None, None, library.0, library.1));
    plan.push((ReferralStatus::EnteredInError, None, None, library.0, library.1));
    for _ in 0..6 {
        plan.push((ReferralStatus::Completed, Some(1), Some(3), legal_aid.0, legal_aid.1));
    }
    let october = plan.len();
    for _ in 0..9 {
        plan.push((ReferralStatus::Completed, Some(1), Some(3), legal_aid.0, legal_aid.1));
    }
    for (n, (status, accepted, ended, service, location)) in plan.into_iter().enumerate() {
        // The last 9: 5 sent in September, 4 in August.
        let sent = match n.checked_sub(october) {
            None => sent,
            Some(k) if k < 5 => sent - Duration::days(20),
            Some(_) => sent - Duration::days(50),
        };
        let target =
            if service == legal_aid.0 { id("organization", "sh-minhang-legal-aid-centre") } else { station.clone() };
        referral::Entity::insert(referral::ActiveModel {
            id: Set(format!("fixture-{n}")),
            code: Set(format!("FIX{n:04}")),
            client_id: Set("fixture-client".into()),
            service_id: Set(id("service", service)),
            location_id: Set(Some(id("location", location))),
            referring_account_id: Set(id("account", "worker.tvillage")),
            referring_organization_id: Set(station.clone()),
            target_organization_id: Set(target),
            live: Set(false),
            status: Set(status),
            need_categories: Set(String::new()),
            needs_sealed: Set(None),
            urgency: Set(Urgency::Routine),
            follow_up_on: Set(None),
            reason_code: Set(match status {
                ReferralStatus::Rejected => Some("service_full".into()),
                ReferralStatus::Failed => Some("no_show".into()),
                _ => None,
            }),
            outcome_sealed: Set(None),
            feedback: Set((n < 6).then(|| "got_help".to_owned())),
            feedback_reason_code: Set(None),
            feedback_at: Set(None),
            forwarded_from_id: Set(None),
            created_at: Set(sent),
            updated_at: Set(sent),
            sent_at: Set(Some(sent)),
            accepted_at: Set(accepted.map(|days| sent + Duration::days(days))),
            ended_at: Set(ended.map(|days| sent + Duration::days(days))),
            retain_until: Set(None),
            purged_at: Set(None),
        })
        .exec_without_returning(&db)
        .await
        .expect("insert a fixture referral");
    }
    db.close().await.ok();
}

#[tokio::test]
async fn referral_outcomes_of_a_village_equal_the_hand_computed_ones() {
    on_every_database(|app| async move {
        insert_referral_fixture(&app).await;
        let token = app.token_of("committee.tvillage").await;
        let data = app
            .data_as(
                &token,
                "query($id: ID!) { villageReport(villageId: $id) { month outcomes {
                    referrals byStatus { status count hidden } acceptanceRate completionRate
                    medianDaysToAcceptance medianDaysToOutcome
                    topRejectionReasons { reason count } topFailureReasons { reason count }
                    feedbackGotHelp feedbackCouldNot forwarded } } }",
                json!({ "id": village_id("sh-t-village") }),
            )
            .await;
        let outcomes = &data["villageReport"]["outcomes"];
        assert_eq!(data["villageReport"]["month"], "2026-10");
        // 24 sent to places in T village; the draft, the error and the legal aid centre's 6 are not.
        assert_eq!(outcomes["referrals"], 24, "{outcomes:#}");
        let status = |code: &str| {
            outcomes["byStatus"].as_array().and_then(|rows| rows.iter().find(|row| row["status"] == code)).cloned()
        };
        assert_eq!(status("COMPLETED"), Some(json!({ "status": "COMPLETED", "count": 12, "hidden": null })));
        assert_eq!(
            status("REJECTED"),
            Some(json!({ "status": "REJECTED", "count": null, "hidden": "FEWER_THAN_FIVE" }))
        );
        assert_eq!(
            status("REQUESTED"),
            Some(json!({ "status": "REQUESTED", "count": null, "hidden": "FEWER_THAN_FIVE" }))
        );
        assert_eq!(status("FAILED"), Some(json!({ "status": "FAILED", "count": null, "hidden": "PROTECTS_ANOTHER" })));
        // 17 accepted of 21 answered: the 4 rejected are too few for a rate.
        assert_eq!(outcomes["acceptanceRate"], Value::Null);
        assert_eq!(outcomes["completionRate"].as_f64(), Some(12.0 / 17.0));
        assert_eq!(outcomes["medianDaysToAcceptance"], 4.0);
        assert_eq!(outcomes["medianDaysToOutcome"], 10.0);
        assert_eq!(outcomes["topRejectionReasons"], json!([]));
        assert_eq!(outcomes["topFailureReasons"], json!([{ "reason": "no_show", "count": 5 }]));
        assert_eq!(outcomes["feedbackGotHelp"], 6);
        assert_eq!(outcomes["feedbackCouldNot"], 0);
        assert_eq!(outcomes["forwarded"], 0);

        // X village has no place any fixture referral went to.
        let admin = app.token_of("admin").await;
        let x = app
            .data_as(
                &admin,
                "query($id: ID!) { villageReport(villageId: $id) { outcomes { referrals } } }",
                json!({ "id": village_id("sh-x-village") }),
            )
            .await;
        assert_eq!(x["villageReport"]["outcomes"]["referrals"], 0);
    })
    .await;
}

#[tokio::test]
async fn a_service_outcomes_sit_beside_its_programme_facts_and_are_scoped() {
    on_every_database(|app| async move {
        insert_referral_fixture(&app).await;
        let query = "query($id: ID!) { serviceOutcomes(serviceId: $id) { name month programme { funders deliveryMode sinceYear }
            outcomes { referrals completionRate byStatus { status count } } } }";
        let library = json!({ "id": qiao_seed::rows::derived_id("service", "sh-tvillage-community-library") });
        let legal_aid = json!({ "id": qiao_seed::rows::derived_id("service", "sh-minhang-legal-aid") });

        let committee = app.token_of("committee.tvillage").await;
        let data = app.data_as(&committee, query, library.clone()).await;
        let outcomes = &data["serviceOutcomes"];
        assert_eq!(outcomes["month"], "2026-10");
        assert_eq!(outcomes["outcomes"]["referrals"], 24);
        assert_eq!(outcomes["outcomes"]["completionRate"].as_f64(), Some(12.0 / 17.0));
        assert!(outcomes["programme"].is_null() || outcomes["programme"]["funders"].is_string());

        // The legal aid centre lies outside the committee's area; its own staff see it.
        assert_eq!(error_code(&app.graphql_as(&committee, query, legal_aid.clone()).await), Some("NOT_FOUND"));
        let provider = app.token_of("provider.legalaid").await;
        let data = app.data_as(&provider, query, legal_aid.clone()).await;
        assert_eq!(data["serviceOutcomes"]["outcomes"]["referrals"], 6);
        let completed = data["serviceOutcomes"]["outcomes"]["byStatus"]
            .as_array()
            .and_then(|rows| rows.iter().find(|row| row["status"] == "COMPLETED"))
            .cloned();
        assert_eq!(completed, Some(json!({ "status": "COMPLETED", "count": 6 })));
        assert_eq!(error_code(&app.graphql_as(&provider, query, library.clone()).await), Some("NOT_FOUND"));
        assert_eq!(error_code(&app.graphql(query, library).await), Some("UNAUTHENTICATED"));
    })
    .await;
}

const OUTCOME_FIELDS: &str = "referrals byStatus { status count hidden } acceptanceRate completionRate
    medianDaysToAcceptance medianDaysToOutcome topRejectionReasons { reason count }
    topFailureReasons { reason count } feedbackGotHelp feedbackCouldNot forwarded";

fn organization_query() -> String {
    format!(
        "query($id: ID!, $month: String, $months: Int) {{
            organizationOutcomes(organizationId: $id, month: $month, months: $months) {{
                organizationId name programmes {{ name funders deliveryMode sinceYear }}
                months {{ month received {{ {OUTCOME_FIELDS} }} sent {{ {OUTCOME_FIELDS} }} }} }} }}"
    )
}

fn category_query() -> String {
    format!(
        "query($category: ServiceCategory!, $village: ID, $month: String, $months: Int) {{
            categoryOutcomes(category: $category, villageId: $village, month: $month, months: $months) {{
                category name village {{ id }} months {{ month outcomes {{ {OUTCOME_FIELDS} }} }} }} }}"
    )
}

fn organization(key: &str) -> String {
    qiao_seed::rows::derived_id("organization", key)
}

/// One status's row of a `byStatus` list.
fn status_row(outcomes: &Value, status: &str) -> Value {
    outcomes["byStatus"]
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["status"] == status))
        .cloned()
        .unwrap_or_else(|| panic!("no {status} row: {outcomes:#}"))
}

/// The station's October referrals both ways, worked out by hand from the fixture. Received (to
/// its library): as for T village. Sent: those 24 and the legal aid centre's 6, so 30: requested
/// 3 and rejected 4 are small, and the smallest shown cell (failed, 5) is hidden with them, since
/// 3 + 4 + 5 = 12 ≥ 5·1 + 2 + 3; completed 18 stays. 23 accepted of 27 answered leave 4 rejected:
/// no rate. 18 completed of 23 ended. Days to acceptance: 1..=12, five 2s and six 1s, 23 values
/// whose 12th is 2. Days to outcome: six 3s, twelve 10s, five 20s: the 12th is 10.
#[tokio::test]
async fn an_organisation_outcomes_both_ways_equal_the_hand_computed_ones_for_its_own_social_worker() {
    on_every_database(|app| async move {
        insert_referral_fixture(&app).await;
        let worker = app.token_of("worker.tvillage").await;
        let station = organization("sh-tvillage-social-work-station");
        let data = app.data_as(&worker, &organization_query(), json!({ "id": station })).await;
        let answer = &data["organizationOutcomes"];
        assert_eq!(answer["organizationId"], station.as_str());
        assert!(answer["programmes"].as_array().is_some_and(|list| !list.is_empty()), "{answer:#}");
        assert!(answer["programmes"].as_array().into_iter().flatten().all(|p| p["funders"].is_string()));
        assert_eq!(answer["months"].as_array().map(Vec::len), Some(1));
        let month = &answer["months"][0];
        assert_eq!(month["month"], "2026-10");

        let received = &month["received"];
        assert_eq!(received["referrals"], 24, "{received:#}");
        assert_eq!(status_row(received, "COMPLETED")["count"], 12);
        assert_eq!(received["completionRate"].as_f64(), Some(12.0 / 17.0));
        assert_eq!(received["medianDaysToAcceptance"], 4.0);

        let sent = &month["sent"];
        assert_eq!(sent["referrals"], 30, "{sent:#}");
        assert_eq!(status_row(sent, "COMPLETED"), json!({ "status": "COMPLETED", "count": 18, "hidden": null }));
        assert_eq!(
            status_row(sent, "REQUESTED"),
            json!({ "status": "REQUESTED", "count": null, "hidden": "FEWER_THAN_FIVE" })
        );
        assert_eq!(
            status_row(sent, "REJECTED"),
            json!({ "status": "REJECTED", "count": null, "hidden": "FEWER_THAN_FIVE" })
        );
        assert_eq!(
            status_row(sent, "FAILED"),
            json!({ "status": "FAILED", "count": null, "hidden": "PROTECTS_ANOTHER" })
        );
        for status in ["ACCEPTED", "IN_PROGRESS", "ON_HOLD", "CANCELLED"] {
            assert_eq!(status_row(sent, status)["count"], 0, "{status}");
        }
        assert_eq!(sent["acceptanceRate"], Value::Null);
        assert_eq!(sent["completionRate"].as_f64(), Some(18.0 / 23.0));
        assert_eq!(sent["medianDaysToAcceptance"], 2.0);
        assert_eq!(sent["medianDaysToOutcome"], 10.0);
        assert_eq!(sent["topRejectionReasons"], json!([]));
        assert_eq!(sent["topFailureReasons"], json!([{ "reason": "no_show", "count": 5 }]));
        assert_eq!((sent["feedbackGotHelp"].as_i64(), sent["feedbackCouldNot"].as_i64()), (Some(6), Some(0)));
        assert_eq!(sent["forwarded"], 0);

        // Complementary suppression: what the total leaves for the hidden cells (30 - 18 = 12)
        // could be split many ways (a small cell anywhere from 1 to 4), never pinned down.
        let shown: i64 =
            sent["byStatus"].as_array().into_iter().flatten().filter_map(|row| row["count"].as_i64()).sum();
        let hidden: Vec<&Value> =
            sent["byStatus"].as_array().into_iter().flatten().filter(|row| row["count"].is_null()).collect();
        let small = hidden.iter().filter(|row| row["hidden"] == "FEWER_THAN_FIVE").count() as i64;
        let protecting = hidden.iter().filter(|row| row["hidden"] == "PROTECTS_ANOTHER").count() as i64;
        assert!(protecting >= 1);
        assert!(30 - shown >= 5 * protecting + small + 3, "the hidden sum {} gives a small cell away", 30 - shown);
    })
    .await;
}

#[tokio::test]
async fn four_referrals_are_hidden_and_five_shown_in_a_month_series() {
    on_every_database(|app| async move {
        insert_referral_fixture(&app).await;
        let admin = app.token_of("admin").await;
        let legal_aid = organization("sh-minhang-legal-aid-centre");
        let data = app
            .data_as(&admin, &organization_query(), json!({ "id": legal_aid, "month": "2026-10", "months": 3 }))
            .await;
        let months = &data["organizationOutcomes"]["months"];
        let names: Vec<&str> = months.as_array().into_iter().flatten().filter_map(|m| m["month"].as_str()).collect();
        assert_eq!(names, ["2026-08", "2026-09", "2026-10"]);
        // August: 4 referrals, every figure hidden; September: 5, shown; October: 6.
        let august = &months[0]["received"];
        assert_eq!(august["referrals"], Value::Null, "{august:#}");
        assert_eq!(
            status_row(august, "COMPLETED"),
            json!({ "status": "COMPLETED", "count": null, "hidden": "FEWER_THAN_FIVE" })
        );
        assert_eq!(august["medianDaysToOutcome"], Value::Null);
        let september = &months[1]["received"];
        assert_eq!(september["referrals"], 5);
        assert_eq!(status_row(september, "COMPLETED")["count"], 5);
        assert_eq!(september["completionRate"], 1.0);
        assert_eq!(september["medianDaysToOutcome"], 3.0);
        assert_eq!(months[2]["received"]["referrals"], 6);
        // The legal aid centre sent none.
        assert_eq!(months[2]["sent"]["referrals"], 0);

        // The same by category, for the whole city.
        let data = app
            .data_as(&admin, &category_query(), json!({ "category": "LEGAL_AID", "month": "2026-10", "months": 3 }))
            .await;
        let series = &data["categoryOutcomes"];
        assert_eq!(series["category"], "LEGAL_AID");
        assert_eq!(series["village"], Value::Null);
        let counts: Vec<Value> =
            series["months"].as_array().into_iter().flatten().map(|m| m["outcomes"]["referrals"].clone()).collect();
        assert_eq!(counts, [Value::Null, json!(5), json!(6)]);

        // A month series is 1 to 12 months of finished months.
        for (months, month) in [(0, "2026-10"), (13, "2026-10"), (2, "2026-11")] {
            let answer = app
                .graphql_as(
                    &admin,
                    &category_query(),
                    json!({ "category": "LEGAL_AID", "month": month, "months": months }),
                )
                .await;
            assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");
        }
    })
    .await;
}

#[tokio::test]
async fn category_outcomes_count_a_village_and_only_what_the_caller_may_see() {
    on_every_database(|app| async move {
        insert_referral_fixture(&app).await;
        let t_village = village_id("sh-t-village");
        let query = category_query();
        let referrals = |data: &Value| data["categoryOutcomes"]["months"][0]["outcomes"]["referrals"].clone();

        // The committee: the library's 24 in T village; another area's village reads as missing.
        let committee = app.token_of("committee.tvillage").await;
        let data = app.data_as(&committee, &query, json!({ "category": "LIBRARY", "village": t_village })).await;
        assert_eq!(data["categoryOutcomes"]["village"]["id"], t_village.as_str());
        assert_eq!(referrals(&data), 24);
        let outcomes = &data["categoryOutcomes"]["months"][0]["outcomes"];
        assert_eq!(outcomes["completionRate"].as_f64(), Some(12.0 / 17.0));
        assert_eq!(outcomes["medianDaysToOutcome"], 10.0);
        let x_village = json!({ "category": "LIBRARY", "village": village_id("sh-x-village") });
        assert_eq!(error_code(&app.graphql_as(&committee, &query, x_village).await), Some("NOT_FOUND"));
        // Legal aid referrals went to a place outside the committee's areas.
        assert_eq!(referrals(&app.data_as(&committee, &query, json!({ "category": "LEGAL_AID" })).await), 0);

        // Provider staff: their own organisation's referrals only.
        let provider = app.token_of("provider.legalaid").await;
        assert_eq!(referrals(&app.data_as(&provider, &query, json!({ "category": "LEGAL_AID" })).await), 6);
        assert_eq!(referrals(&app.data_as(&provider, &query, json!({ "category": "LIBRARY" })).await), 0);

        // Social workers: the referrals their organisation sent, not another organisation's.
        let worker = app.token_of("worker.tvillage").await;
        assert_eq!(referrals(&app.data_as(&worker, &query, json!({ "category": "LEGAL_AID" })).await), 6);
        let other = other_org_worker(&app).await;
        assert_eq!(referrals(&app.data_as(&other, &query, json!({ "category": "LEGAL_AID" })).await), 0);
        assert_eq!(referrals(&app.data_as(&other, &query, json!({ "category": "LIBRARY" })).await), 0);

        let anonymous = app.graphql(&query, json!({ "category": "LIBRARY" })).await;
        assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
        let migrant =
            app.graphql_as(&app.token_of("migrant.demo").await, &query, json!({ "category": "LIBRARY" })).await;
        assert_eq!(error_code(&migrant), Some("FORBIDDEN"));
    })
    .await;
}

/// A social worker of another organisation (T village's neighbourhood committee), signed in.
async fn other_org_worker(app: &TestApp) -> String {
    let admin = app.token_of("admin").await;
    app.data_as(
        &admin,
        "mutation($input: CreateAccountInput!) { createAccount(input: $input) { id } }",
        json!({ "input": { "username": "worker.other", "displayName": "别的社工 / Other worker",
            "password": "another-long-password", "role": "SOCIAL_WORKER",
            "organizationId": organization("sh-tvillage-committee") } }),
    )
    .await;
    app.login("worker.other", "another-long-password").await.0
}

#[tokio::test]
async fn an_organisation_outcomes_are_scoped_in_graphql_and_csv() {
    on_every_database(|app| async move {
        insert_referral_fixture(&app).await;
        let query = organization_query();
        let station = organization("sh-tvillage-social-work-station");
        let legal_aid = organization("sh-minhang-legal-aid-centre");
        let of = |id: &str| json!({ "id": id });
        let month = |data: &Value| data["organizationOutcomes"]["months"][0].clone();

        // Anonymous callers and residents get nothing.
        assert_eq!(error_code(&app.graphql(&query, of(&station)).await), Some("UNAUTHENTICATED"));
        let migrant = app.token_of("migrant.demo").await;
        assert_eq!(error_code(&app.graphql_as(&migrant, &query, of(&station)).await), Some("FORBIDDEN"));

        // The committee sees the station (its places are in T village), counting only referrals
        // to places in its area: the legal aid centre's 6 are not; the centre itself is missing.
        let committee = app.token_of("committee.tvillage").await;
        let seen = month(&app.data_as(&committee, &query, of(&station)).await);
        assert_eq!((seen["received"]["referrals"].as_i64(), seen["sent"]["referrals"].as_i64()), (Some(24), Some(24)));
        let answer = app.graphql_as(&committee, &query, of(&legal_aid)).await;
        let missing = app.graphql_as(&committee, &query, of("no-such-organization")).await;
        assert_eq!(error_code(&answer), Some("NOT_FOUND"));
        assert_eq!(answer["errors"][0]["message"], missing["errors"][0]["message"]);

        // Provider staff: their own organisation, not another.
        let provider = app.token_of("provider.legalaid").await;
        assert_eq!(month(&app.data_as(&provider, &query, of(&legal_aid)).await)["received"]["referrals"], 6);
        assert_eq!(error_code(&app.graphql_as(&provider, &query, of(&station)).await), Some("NOT_FOUND"));

        // A social worker of another organisation: the station reads as missing; their own
        // organisation has nothing in the month.
        let other = other_org_worker(&app).await;
        assert_eq!(error_code(&app.graphql_as(&other, &query, of(&station)).await), Some("NOT_FOUND"));
        let own = month(&app.data_as(&other, &query, of(&organization("sh-tvillage-committee"))).await);
        assert_eq!((own["received"]["referrals"].as_i64(), own["sent"]["referrals"].as_i64()), (Some(0), Some(0)));

        // Admins see any organisation, everything it sent.
        let admin = app.token_of("admin").await;
        assert_eq!(month(&app.data_as(&admin, &query, of(&station)).await)["sent"]["referrals"], 30);

        // The CSV follows the same rules and carries the same figures.
        let csv = |token: Option<String>, id: String| {
            let mut request =
                app.http().get(app.url(&format!("/evidence/organizations/{id}/outcomes.csv?month=2026-10&months=2")));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send()
        };
        assert_eq!(csv(None, station.clone()).await.expect("answer").status(), 401);
        assert_eq!(csv(Some(other.clone()), station.clone()).await.expect("answer").status(), 404);
        assert_eq!(csv(Some(provider.clone()), station.clone()).await.expect("answer").status(), 404);
        assert_eq!(csv(Some(committee.clone()), legal_aid.clone()).await.expect("answer").status(), 404);
        let response = csv(Some(admin.clone()), station.clone()).await.expect("answer");
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("text/csv")));
        let text = response.text().await.expect("the CSV");
        // No cell of these rows holds a comma or a quote, so a plain split reads them.
        let rows: Vec<Vec<&str>> = text.lines().map(|line| line.split(',').collect()).collect();
        assert_eq!(rows[0][..4], ["organization_id", "organization_name_zh", "organization_name_en", "month"]);
        let cell = |month: &str, section: &str, code: &str| {
            rows.iter()
                .find(|row| row.len() == 10 && row[3] == month && row[4] == section && row[5] == code)
                .map(|row| row[9].to_owned())
                .unwrap_or_else(|| panic!("no {month} {section} {code} row in {text}"))
        };
        assert_eq!(cell("2026-10", "received", "completed"), "12");
        assert_eq!(cell("2026-10", "received", "rejected"), "< 5");
        assert_eq!(cell("2026-10", "sent", "referrals"), "30");
        assert_eq!(cell("2026-10", "sent", "completed"), "18");
        assert_eq!(cell("2026-10", "sent", "failed"), "隐藏 hidden");
        assert_eq!(cell("2026-09", "sent", "referrals"), "5");
        assert_eq!(cell("2026-09", "received", "referrals"), "0");

        // A name a spreadsheet would run as a formula is written as text.
        {
            use qiao_schema::entity::organization;
            use sea_orm::sea_query::Expr;
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
            let db = app.database().await;
            organization::Entity::update_many()
                .col_expr(organization::Column::NameEn, Expr::value("=1+2"))
                .filter(organization::Column::Id.eq(station.clone()))
                .exec(&db)
                .await
                .expect("rename the station");
            db.close().await.ok();
        }
        let worker = app.token_of("worker.tvillage").await;
        let response = csv(Some(worker), station.clone()).await.expect("answer");
        assert_eq!(response.status(), 200);
        let text = response.text().await.expect("the CSV");
        let names: Vec<&str> = text.lines().skip(1).filter_map(|line| line.split(',').nth(2)).collect();
        assert!(!names.is_empty() && names.iter().all(|name| *name == "'=1+2"), "{text}");
    })
    .await;
}
