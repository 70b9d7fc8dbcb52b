//! The published `NearbyServices`, answered directly (`graphql::published`), answers exactly as
//! the engine answers: random variables, valid and not, sent both ways, must get the same bytes.

use qiao_tests::{T_VILLAGE, TestApp, on_every_database};
use serde_json::{Value, json};

const CATEGORIES: &[&str] = &[
    "LEGAL_AID",
    "LABOUR_DISPUTE",
    "EDUCATION",
    "SCHOOL",
    "MIGRANT_CHILDREN_SCHOOL",
    "LIBRARY",
    "HEALTH",
    "EMPLOYMENT",
    "COMMUNITY",
    "VOLUNTEER_GROUP",
    "FAMILY",
    "CASEWORK",
];

/// Search points: T village, central Beijing, and Lhasa (nothing near: the widen-the-search hint).
const CENTRES: &[(f64, f64)] = &[T_VILLAGE, (39.9087, 116.3975), (29.65, 91.1)];

/// A small deterministic generator (SplitMix64), so a failure can be replayed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One request's variables and how it is sent; `direct` says whether the published path may take
/// it (every variable declared and the operation name the document's own).
struct Case {
    variables: Value,
    operation_name: Option<&'static str>,
    language: &'static str,
    gzip: bool,
    direct: bool,
}

fn random_case(random: &mut Random, cursor: Option<&str>) -> Case {
    let (lat, lon) = random.pick(CENTRES);
    let mut near = json!({ "lat": lat + (random.unit() - 0.5) * 0.06, "lon": lon + (random.unit() - 0.5) * 0.06 });
    match random.below(8) {
        0 => near["datum"] = json!("GCJ02"),
        1 => near["datum"] = json!("BD09"),
        2 => near["datum"] = json!("WGS84"),
        3 => near["datum"] = Value::Null,
        4 => near = json!({ "lat": 31, "lon": 121 }),
        _ => {}
    }
    let mut variables = json!({ "near": near });
    variables["radiusMeters"] = random.pick(&[json!(1), json!(800), json!(3000), json!(5000), json!(50000)]);
    match random.below(8) {
        0..=2 => {}
        3 => variables["categories"] = Value::Null,
        4 => variables["categories"] = json!([]),
        5 => variables["categories"] = json!(random.pick(CATEGORIES)),
        _ => {
            let count = 1 + random.below(3);
            variables["categories"] = json!((0..count).map(|_| random.pick(CATEGORIES)).collect::<Vec<_>>());
        }
    }
    let texts = [json!("法律"), json!("flyz"), json!("falv yuanzhu"), json!("library"), json!("上学"), json!("讨薪")];
    match random.below(10) {
        0..=5 => {}
        6 => variables["text"] = json!("  "),
        _ => variables["text"] = random.pick(&texts),
    }
    match random.below(4) {
        0 => variables["openNow"] = json!(true),
        1 => variables["openNow"] = json!(false),
        _ => {}
    }
    match random.below(10) {
        0 => variables["situation"] = json!({ "localHukou": false, "residencePermitMonths": 3 }),
        1 => variables["situation"] = json!({ "age": 40, "childAge": 8, "labourContract": true }),
        2 => variables["situation"] = Value::Null,
        _ => {}
    }
    match random.below(10) {
        0 => variables["first"] = json!(0),
        1 => variables["first"] = json!(1),
        2 => variables["first"] = json!(5),
        3 => variables["first"] = json!(50),
        4 => variables["first"] = Value::Null,
        _ => {}
    }
    if random.below(4) == 0 {
        variables["after"] = cursor.map_or(Value::Null, |cursor| json!(cursor));
    }
    // A third of the cases break one thing: the engine refuses them, and so must the direct path.
    if random.below(3) == 0 {
        match random.below(16) {
            0 => variables["near"]["lat"] = json!(95.0),
            1 => variables["near"]["height"] = json!(4),
            2 => variables["near"]["datum"] = json!("MARS"),
            3 => variables["near"] = json!({ "lat": lat }),
            4 => variables["radiusMeters"] = random.pick(&[json!(0), json!(50001), json!(3000.5), json!("3000")]),
            5 => _ = variables.as_object_mut().map(|all| all.remove("radiusMeters")),
            6 => variables["categories"] = json!(["NOT_A_CATEGORY"]),
            7 => variables["categories"] = json!([null]),
            8 => variables["text"] = json!("长".repeat(101)),
            9 => variables["text"] = json!(12),
            10 => variables["openNow"] = json!("yes"),
            11 => variables["situation"] = json!({ "age": 999 }),
            12 => variables["situation"] = json!({ "wealth": 1 }),
            13 => variables["first"] = random.pick(&[json!(51), json!(-1)]),
            14 => variables["after"] = json!("not-a-cursor"),
            _ => variables["near"] = Value::Null,
        }
    }
    let mut direct = true;
    if random.below(25) == 0 {
        // Not declared by the document: the engine ignores it; the direct path leaves it to the engine.
        variables["language"] = json!("EN");
        direct = false;
    }
    let operation_name = match random.below(10) {
        0..=3 => None,
        4 => {
            direct = false;
            Some("SomethingElse")
        }
        _ => Some("NearbyServices"),
    };
    Case {
        variables,
        operation_name,
        language: random.pick(&["zh-CN", "en-GB,en;q=0.9", "fr"]),
        gzip: random.below(3) == 0,
        direct,
    }
}

/// The status, the headers that describe the body, and the body's bytes.
async fn send(app: &TestApp, body: &Value, case: &Case) -> (u16, Option<String>, Option<String>, Vec<u8>) {
    let mut request = app.http().post(app.url("/graphql")).json(body).header("accept-language", case.language);
    if case.gzip {
        request = request.header("accept-encoding", "gzip");
    }
    let response = request.send().await.expect("the server answers");
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (content_type, encoding) = (header("content-type"), header("content-encoding"));
    let status = response.status().as_u16();
    assert!(status < 500, "the server answered {status}");
    (status, content_type, encoding, response.bytes().await.expect("a body").to_vec())
}

async fn direct_answers(app: &TestApp) -> u64 {
    let text = app.http().get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    text.lines()
        .find_map(|line| line.strip_prefix("qiao_graphql_direct_answers_total "))
        .and_then(|count| count.trim().parse().ok())
        .expect("the direct-answer counter is exported")
}

fn published_text() -> (String, String) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mobile-client-spec/operations/NearbyServices.graphql");
    let text = std::fs::read_to_string(path).expect("the published NearbyServices");
    let hash = qiao_server::trusted_documents::sha256_hex(&text);
    (text, hash)
}

#[tokio::test]
async fn the_published_search_answers_byte_for_byte_as_the_engine_does() {
    on_every_database(|app| async move {
        let (text, hash) = published_text();
        // The same document with a comment: a text the direct path does not know, so only the engine answers it.
        let engine_text = format!("{text}\n# answered by the engine\n");
        let mut random = Random(0x5EED_0009);
        let mut cursor: Option<String> = None;
        let (mut answered, mut refused, mut expected_direct) = (0, 0, 0);
        let before = direct_answers(&app).await;
        for round in 0..160 {
            let case = random_case(&mut random, cursor.as_deref());
            let with_name = |mut body: Value| {
                if let Some(name) = case.operation_name {
                    body["operationName"] = json!(name);
                }
                body
            };
            let by_text = with_name(json!({ "query": text, "variables": case.variables }));
            let by_hash = with_name(json!({
                "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } },
                "variables": case.variables,
            }));
            let by_engine = with_name(json!({ "query": engine_text, "variables": case.variables }));
            let engine = send(&app, &by_engine, &case).await;
            let published = send(&app, if round % 2 == 0 { &by_text } else { &by_hash }, &case).await;
            let shown = |answer: &(u16, Option<String>, Option<String>, Vec<u8>)| {
                (answer.0, answer.1.clone(), answer.2.clone(), String::from_utf8_lossy(&answer.3).into_owned())
            };
            assert_eq!(shown(&published), shown(&engine), "round {round}, variables {}", case.variables);

            let plain: Value = if engine.2.is_some() {
                // Compressed: the same bytes, so one read tells what both answered.
                let again = send(&app, &by_engine, &Case { gzip: false, ..case }).await;
                serde_json::from_slice(&again.3).expect("JSON")
            } else {
                serde_json::from_slice(&engine.3).expect("JSON")
            };
            if plain.get("errors").is_some() {
                refused += 1;
            } else {
                answered += 1;
                if case.direct {
                    expected_direct += 1;
                }
                let page = &plain["data"]["nearbyServices"];
                if let Some(end) = page["pageInfo"]["endCursor"].as_str() {
                    cursor = Some(end.to_owned());
                }
            }
        }
        // Both kinds of case were met, and every answer that could be direct was.
        assert!(answered >= 60 && refused >= 30, "{answered} answered, {refused} refused");
        assert_eq!(direct_answers(&app).await - before, expected_direct);
    })
    .await;
}

/// A search with results on a page of its own, answered directly, has what the screen needs in
/// the document's order (a check of the layout that does not lean on the engine).
#[tokio::test]
async fn a_direct_answer_is_the_documents_shape() {
    on_every_database(|app| async move {
        let (text, _) = published_text();
        let variables = json!({ "near": { "lat": T_VILLAGE.0, "lon": T_VILLAGE.1 }, "radiusMeters": 5000, "first": 2 });
        let before = direct_answers(&app).await;
        let response = app
            .http()
            .post(app.url("/graphql"))
            .json(&json!({ "query": text, "variables": variables }))
            .send()
            .await
            .expect("the server answers");
        assert!(response.headers().contains_key("x-request-id"));
        let body = response.text().await.expect("a body");
        assert_eq!(direct_answers(&app).await - before, 1);
        assert!(body.starts_with(r#"{"data":{"nearbyServices":{"edges":[{"distanceMeters":"#), "{body}");
        assert!(body.contains(r#","pageInfo":{"hasNextPage":true,"endCursor":""#), "{body}");
        let fields = [
            r#"{"id":""#,
            r#"","name":""#,
            r#"","category":"#,
            r#","status":""#,
            r#"","openNow":"#,
            r#","isFree":"#,
            r#","location":{"lat":"#,
            r#","lon":"#,
            r#"}}},{"distanceMeters":"#,
        ];
        let mut rest = body.as_str();
        for field in fields {
            let at = rest.find(field).unwrap_or_else(|| panic!("{field} missing or out of order in {body}"));
            rest = &rest[at + field.len()..];
        }
        let answer: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(answer["data"]["nearbyServices"]["edges"].as_array().map(Vec::len), Some(2));
    })
    .await;
}
