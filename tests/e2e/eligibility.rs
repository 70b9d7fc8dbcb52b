//! Eligibility against a situation: `checkEligibility` answers each structured requirement kind
//! met or not, in plain words of both languages, "maybe" when a fact is not told; anyone may ask;
//! and search's `situation` filter drops exactly the services the check rules out.

use std::collections::BTreeSet;

use qiao_tests::{T_VILLAGE, TestApp, error_code, on_every_database};
use serde_json::{Value, json};

const CHECK: &str = r#"
query Check($id: ID!, $situation: SituationInput!, $language: Language) {
  checkEligibility(serviceId: $id, situation: $situation, language: $language) {
    serviceId serviceName verdict summary
    requirements { kind months minAge maxAge outcome explanation }
  }
}"#;

const SEARCH: &str = r#"
query Search($near: GeoPointInput!, $situation: SituationInput) {
  nearbyServices(near: $near, radiusMeters: 50000, situation: $situation, first: 50) {
    edges { node { id } }
    pageInfo { hasNextPage }
    areaServices { id }
  }
}"#;

const PRIMARY_ENROLMENT: &str = "sh-waihuan-road-primary-enrolment";
const HUKOU_KINDERGARTEN: &str = "sh-waihuan-road-kindergarten-hukou-round";
const EMPLOYMENT: &str = "sh-community-employment-service";
const LEGAL_AID: &str = "sh-minhang-legal-aid";

fn service_id(key: &str) -> String {
    qiao_seed::rows::derived_id("service", key)
}

/// The check of a seed service, in one language.
async fn check(app: &TestApp, key: &str, situation: Value, language: &str) -> Value {
    let variables = json!({ "id": service_id(key), "situation": situation, "language": language });
    app.data(CHECK, variables).await["checkEligibility"].clone()
}

/// The checked requirement of `kind` (the first, when a service has several of a kind).
fn requirement<'a>(check: &'a Value, kind: &str) -> &'a Value {
    check["requirements"]
        .as_array()
        .and_then(|list| list.iter().find(|r| r["kind"] == kind))
        .unwrap_or_else(|| panic!("no {kind} requirement in {check:#}"))
}

/// Checks one requirement of a service in both languages: its outcome, and its explanation in
/// each language exactly.
async fn expect(app: &TestApp, key: &str, situation: Value, kind: &str, outcome: &str, zh: &str, en: &str) {
    let in_zh = check(app, key, situation.clone(), "ZH").await;
    let in_en = check(app, key, situation.clone(), "EN").await;
    for (checked, words) in [(&in_zh, zh), (&in_en, en)] {
        let found = requirement(checked, kind);
        assert_eq!(found["outcome"], json!(outcome), "{key} {kind} with {situation}: {checked:#}");
        assert_eq!(found["explanation"], json!(words), "{key} {kind} with {situation}");
    }
}

#[tokio::test]
async fn each_requirement_kind_is_met_or_not_with_plain_words_in_both_languages() {
    on_every_database(|app| async move {
        // A local hukou (the kindergarten's first round).
        let (hukou, no_hukou) = (json!({ "localHukou": true }), json!({ "localHukou": false }));
        expect(&app, HUKOU_KINDERGARTEN, hukou, "LOCAL_HUKOU", "MET", "需要本市户口；您有本市户口", "needs a hukou of this city; you have one").await;
        expect(&app, HUKOU_KINDERGARTEN, no_hukou, "LOCAL_HUKOU", "NOT_MET", "需要本市户口；您没有本市户口", "needs a hukou of this city; you do not have one").await;

        // A residence permit and six months of social insurance (grade 1 enrolment).
        let permit = json!({ "residencePermitMonths": 12 });
        expect(&app, PRIMARY_ENROLMENT, permit, "RESIDENCE_PERMIT", "MET", "需要本市居住证；您已持有12个月", "needs this city's residence permit; you have held one for 12 months").await;
        let no_permit = json!({ "residencePermitMonths": 0 });
        expect(&app, PRIMARY_ENROLMENT, no_permit, "RESIDENCE_PERMIT", "NOT_MET", "需要本市居住证；您还没有居住证", "needs this city's residence permit; you do not have one").await;
        let enough = json!({ "socialInsuranceMonths": 8 });
        expect(&app, PRIMARY_ENROLMENT, enough, "SOCIAL_INSURANCE_MONTHS", "MET", "需要缴纳社保满6个月；您已缴纳8个月", "needs 6 months of social insurance; you have 8").await;
        let short = json!({ "socialInsuranceMonths": 3 });
        expect(&app, PRIMARY_ENROLMENT, short, "SOCIAL_INSURANCE_MONTHS", "NOT_MET", "需要缴纳社保满6个月；您已缴纳3个月", "needs 6 months of social insurance; you have 3").await;

        // An age range: a school's is the child's, a job service's is the person's.
        let child = json!({ "age": 34, "childAge": 7 });
        expect(&app, PRIMARY_ENROLMENT, child, "AGE_RANGE", "MET", "需要孩子年龄在6到12岁之间；孩子7岁", "needs the child to be aged 6 to 12; the child is 7").await;
        let too_young = json!({ "age": 34, "childAge": 4 });
        expect(&app, PRIMARY_ENROLMENT, too_young, "AGE_RANGE", "NOT_MET", "需要孩子年龄在6到12岁之间；孩子4岁", "needs the child to be aged 6 to 12; the child is 4").await;
        let adult = json!({ "age": 34, "childAge": 7 });
        expect(&app, EMPLOYMENT, adult, "AGE_RANGE", "MET", "需要年龄在16到60岁之间；您34岁", "needs you to be aged 16 to 60; you are 34").await;
        let older = json!({ "age": 61 });
        expect(&app, EMPLOYMENT, older, "AGE_RANGE", "NOT_MET", "需要年龄在16到60岁之间；您61岁", "needs you to be aged 16 to 60; you are 61").await;

        // Any hukou: met whatever the situation, even an empty one.
        let open = json!({ "localHukou": false });
        expect(&app, LEGAL_AID, open, "HUKOU_ANYWHERE", "MET", "不限户口，外地户口也可以", "any hukou is accepted: you do not need a local one").await;

        // No seed service asks for a labour contract or a registered lease: an admin sets both.
        let admin = app.token_of("admin").await;
        app.data_as(
            &admin,
            "mutation($id: ID!) { setServiceEligibility(id: $id, requirements: [{ kind: LABOUR_CONTRACT }, { kind: REGISTERED_LEASE }]) { id } }",
            json!({ "id": service_id(LEGAL_AID) }),
        )
        .await;
        let has_both = json!({ "labourContract": true, "registeredLease": true });
        let has_neither = json!({ "labourContract": false, "registeredLease": false });
        expect(&app, LEGAL_AID, has_both.clone(), "LABOUR_CONTRACT", "MET", "需要劳动合同；您有劳动合同", "needs a labour contract; you have one").await;
        expect(&app, LEGAL_AID, has_neither.clone(), "LABOUR_CONTRACT", "NOT_MET", "需要劳动合同；您没有劳动合同", "needs a labour contract; you do not have one").await;
        expect(&app, LEGAL_AID, has_both, "REGISTERED_LEASE", "MET", "需要登记备案的租房合同；您有", "needs a registered rental contract; you have one").await;
        expect(&app, LEGAL_AID, has_neither, "REGISTERED_LEASE", "NOT_MET", "需要登记备案的租房合同；您没有", "needs a registered rental contract; you do not have one").await;

        // The verdict: all met is ELIGIBLE, one unmet is NOT_ELIGIBLE, each with its summary.
        let fits = json!({ "residencePermitMonths": 12, "socialInsuranceMonths": 8, "childAge": 7 });
        let eligible = check(&app, PRIMARY_ENROLMENT, fits, "EN").await;
        assert_eq!(eligible["verdict"], "ELIGIBLE");
        assert_eq!(eligible["serviceId"], json!(service_id(PRIMARY_ENROLMENT)));
        assert_eq!(eligible["requirements"].as_array().map(Vec::len), Some(3));
        let short = json!({ "residencePermitMonths": 12, "socialInsuranceMonths": 3, "childAge": 7 });
        let in_zh = check(&app, PRIMARY_ENROLMENT, short, "ZH").await;
        assert_eq!(in_zh["verdict"], "NOT_ELIGIBLE");
        assert!(in_zh["summary"].as_str().is_some_and(|s| s.contains("缺少")), "{in_zh:#}");
    })
    .await;
}

#[tokio::test]
async fn facts_left_out_give_maybe_and_say_what_to_tell() {
    on_every_database(|app| async move {
        let only_the_child = json!({ "childAge": 7 });
        let in_en = check(&app, PRIMARY_ENROLMENT, only_the_child.clone(), "EN").await;
        assert_eq!(in_en["verdict"], "MAYBE", "{in_en:#}");
        assert_eq!(requirement(&in_en, "AGE_RANGE")["outcome"], "MET");
        let insurance = requirement(&in_en, "SOCIAL_INSURANCE_MONTHS");
        assert_eq!(insurance["outcome"], "UNKNOWN");
        assert_eq!(
            insurance["explanation"],
            "needs 6 months of social insurance; tell us how many months you have paid"
        );
        assert!(in_en["summary"].as_str().is_some_and(|s| s.contains("may be eligible")));
        let in_zh = check(&app, PRIMARY_ENROLMENT, only_the_child, "ZH").await;
        let permit = requirement(&in_zh, "RESIDENCE_PERMIT");
        assert_eq!(permit["outcome"], "UNKNOWN");
        assert_eq!(permit["explanation"], "需要本市居住证；请告诉我们您持有居住证几个月了");

        // A parent's own age does not rule a school out: the child's age is what is missing.
        let parent = check(&app, PRIMARY_ENROLMENT, json!({ "age": 34 }), "EN").await;
        let age = requirement(&parent, "AGE_RANGE");
        assert_eq!(age["outcome"], "UNKNOWN");
        assert_eq!(age["explanation"], "needs the child to be aged 6 to 12; tell us the child's age");
        let nothing = check(&app, HUKOU_KINDERGARTEN, json!({}), "ZH").await;
        assert_eq!(nothing["verdict"], "MAYBE");
        assert_eq!(requirement(&nothing, "LOCAL_HUKOU")["explanation"], "需要本市户口；请告诉我们您是否有本市户口");
    })
    .await;
}

#[tokio::test]
async fn anyone_may_check_but_not_an_unknown_service_nor_impossible_numbers() {
    on_every_database(|app| async move {
        // Anonymous (no token) and signed in alike.
        let anonymous = check(&app, EMPLOYMENT, json!({ "age": 30 }), "EN").await;
        assert_eq!(anonymous["verdict"], "ELIGIBLE");
        assert_eq!(anonymous["serviceName"], "Free job matching and subsidised skills training");
        let migrant = app.token_of("migrant.demo").await;
        let variables = json!({ "id": service_id(EMPLOYMENT), "situation": { "age": 30 } });
        let signed_in = app.data_as(&migrant, CHECK, variables).await;
        assert_eq!(signed_in["checkEligibility"]["verdict"], "ELIGIBLE");

        let unknown = app.graphql(CHECK, json!({ "id": "no-such-service", "situation": {} })).await;
        assert_eq!(error_code(&unknown), Some("NOT_FOUND"), "{unknown:#}");
        // An archived service is not listed, so there is nothing to check.
        let committee = app.token_of("committee.tvillage").await;
        let films = service_id("sh-tvillage-outdoor-films");
        app.data_as(&committee, "mutation($id: ID!) { archiveService(id: $id) { id } }", json!({ "id": films })).await;
        let archived = app.graphql(CHECK, json!({ "id": films, "situation": {} })).await;
        assert_eq!(error_code(&archived), Some("NOT_FOUND"), "{archived:#}");

        let bad = [
            (json!({ "age": 151 }), "situation.age"),
            (json!({ "childAge": -1 }), "situation.childAge"),
            (json!({ "socialInsuranceMonths": -3 }), "situation.socialInsuranceMonths"),
            (json!({ "residencePermitMonths": 5000 }), "situation.residencePermitMonths"),
        ];
        for (situation, field) in bad {
            let variables = json!({ "id": service_id(EMPLOYMENT), "situation": situation });
            let response = app.graphql(CHECK, variables).await;
            assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{situation}: {response:#}");
            assert_eq!(response["errors"][0]["extensions"]["field"], json!(field), "{response:#}");
            let near = json!({ "lat": T_VILLAGE.0, "lon": T_VILLAGE.1 });
            let search = app.graphql(SEARCH, json!({ "near": near, "situation": situation })).await;
            assert_eq!(error_code(&search), Some("BAD_USER_INPUT"), "search with {situation}: {search:#}");
            assert_eq!(search["errors"][0]["extensions"]["field"], json!(field));
        }
    })
    .await;
}

/// Every service a search from T village finds (places and area services).
async fn found(app: &TestApp, situation: Option<Value>) -> BTreeSet<String> {
    let near = json!({ "lat": T_VILLAGE.0, "lon": T_VILLAGE.1 });
    let data = app.data(SEARCH, json!({ "near": near, "situation": situation })).await;
    let result = &data["nearbyServices"];
    assert_eq!(result["pageInfo"]["hasNextPage"], false, "every demo service fits one page");
    let ids = |list: &Value| -> Vec<String> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter_map(|edge| edge.get("node").unwrap_or(edge)["id"].as_str().map(str::to_owned))
            .collect()
    };
    ids(&result["edges"]).into_iter().chain(ids(&result["areaServices"])).collect()
}

#[tokio::test]
async fn a_search_with_a_situation_drops_exactly_the_services_the_check_rules_out() {
    on_every_database(|app| async move {
        let enrolment = service_id(PRIMARY_ENROLMENT);
        let everything = found(&app, None).await;
        assert!(everything.contains(&enrolment));

        let short = json!({ "residencePermitMonths": 12, "socialInsuranceMonths": 3, "childAge": 7 });
        assert!(!found(&app, Some(short)).await.contains(&enrolment), "three months of insurance are not six");
        let enough = json!({ "residencePermitMonths": 12, "socialInsuranceMonths": 8, "childAge": 7 });
        assert!(found(&app, Some(enough)).await.contains(&enrolment), "every requirement met");
        let partial = json!({ "childAge": 7 });
        assert!(found(&app, Some(partial)).await.contains(&enrolment), "a maybe stays");

        // For a migrant parent of a seven-year-old, the filter keeps exactly what the check does
        // not call NOT_ELIGIBLE.
        let situation = json!({ "localHukou": false, "socialInsuranceMonths": 3, "age": 34, "childAge": 7 });
        let kept = found(&app, Some(situation.clone())).await;
        let mut dropped = Vec::new();
        for id in &everything {
            let variables = json!({ "id": id, "situation": situation, "language": "EN" });
            let verdict = app.data(CHECK, variables).await["checkEligibility"]["verdict"].clone();
            assert_eq!(kept.contains(id), verdict != "NOT_ELIGIBLE", "{id}: {verdict}");
            if verdict == "NOT_ELIGIBLE" {
                dropped.push(id.clone());
            }
        }
        assert!(dropped.contains(&service_id(HUKOU_KINDERGARTEN)), "no local hukou: {dropped:?}");
        assert!(dropped.contains(&enrolment), "too little insurance: {dropped:?}");
        assert!(kept.contains(&service_id(EMPLOYMENT)) && kept.contains(&service_id(LEGAL_AID)));
    })
    .await;
}

#[tokio::test]
async fn a_childrens_category_judges_the_childs_age_even_when_its_range_reaches_adulthood() {
    on_every_database(|app| async move {
        // Tutoring is a children's category: its range applies to the child, whatever it spans.
        let admin = app.token_of("admin").await;
        let tutoring = "sh-tvillage-tutoring";
        app.data_as(
            &admin,
            "mutation($id: ID!) { setServiceEligibility(id: $id, requirements: [{ kind: AGE_RANGE, minAge: 6, maxAge: 20 }]) { id } }",
            json!({ "id": service_id(tutoring) }),
        )
        .await;
        let parent = json!({ "age": 34, "childAge": 8 });
        expect(&app, tutoring, parent, "AGE_RANGE", "MET", "需要孩子年龄在6到20岁之间；孩子8岁", "needs the child to be aged 6 to 20; the child is 8").await;
        // A job service's range of the same span is the person's own.
        app.data_as(
            &admin,
            "mutation($id: ID!) { setServiceEligibility(id: $id, requirements: [{ kind: AGE_RANGE, minAge: 6, maxAge: 20 }]) { id } }",
            json!({ "id": service_id(EMPLOYMENT) }),
        )
        .await;
        let parent = json!({ "age": 34, "childAge": 8 });
        expect(&app, EMPLOYMENT, parent, "AGE_RANGE", "NOT_MET", "需要年龄在6到20岁之间；您34岁", "needs you to be aged 6 to 20; you are 34").await;
    })
    .await;
}
