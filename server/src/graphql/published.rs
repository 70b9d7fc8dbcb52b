//! The app's search screen, the published `NearbyServices` operation, answered without the
//! engine's per-field execution.
//!
//! Why: a search page is some 150 small fields. The engine resolves each one as a future, builds
//! a value tree and then serialises it, and that took more of a search's time than finding the
//! results. Answered here, the same search serves 1.5–1.6 × the requests on the same cores
//! (`docs/BENCHMARKS.md`, "The published search answered directly").
//!
//! Equivalence with the engine is the contract. The answer is the engine's own answer, byte for
//! byte, or nothing, and then the engine answers as before:
//! - only the exact published text is answered (sent by hash or as text), under its own operation
//!   name or none, and only while the query limits are at least their defaults (under those the
//!   engine accepts this document at every page size; a server configured tighter is left to the
//!   engine, which decides);
//! - each variable is checked as the engine's validation checks it ([`validations::fits`], the
//!   engine's `is_valid_input_value`) and parsed by the engine's own `InputType::parse`. A
//!   variable the document does not declare, any value that does not fit, and any argument the
//!   search refuses (a radius out of range, a bad cursor…) leave the request to the engine, which
//!   produces the error; nothing is recorded before the search succeeds;
//! - the search is the field's own function ([`query::search_nearby`]) and every value is the
//!   field's own accessor (`objects`), so only the JSON layout is written here, in the order the
//!   document selects.
//!
//! An end-to-end test sends random variables both ways (this text, and the same text with a
//! comment, which only the engine answers) and requires identical bodies; the
//! `qiao_graphql_direct_answers_total` metric counts what was answered here.

use std::sync::LazyLock;

use async_graphql::registry::Registry;
use async_graphql::{EnumType, InputType, Variables};
use serde::Serialize;

use super::category::ServiceCategory;
use super::common::{GeoPointInput, Language};
use super::eligibility::SituationInput;
use super::objects::{NearbyService, NearbyServiceConnection};
use super::query::{NearbyArguments, search_nearby};
use super::validations::fits;
use crate::AppState;
use crate::config::QueryLimits;
use crate::trusted_documents;

/// The operation answered here.
pub const OPERATION: &str = "NearbyServices";

/// Its published text (`mobile-client-spec/operations/NearbyServices.graphql`).
static TEXT: LazyLock<&'static str> = LazyLock::new(|| {
    trusted_documents::published_text("NearbyServices.graphql").expect("NearbyServices is a published operation")
});

/// The variables the published text declares, with their declared types (a test holds the two
/// in step). Each is passed as is to the argument of the same name, whose type is the same.
pub const VARIABLES: &[(&str, &str)] = &[
    ("near", "GeoPointInput!"),
    ("radiusMeters", "Int!"),
    ("categories", "[ServiceCategory!]"),
    ("text", "String"),
    ("openNow", "Boolean"),
    ("situation", "SituationInput"),
    ("first", "Int"),
    ("after", "String"),
];

/// The types of [`VARIABLES`], for [`fits`].
static VARIABLE_TYPES: LazyLock<Registry> = LazyLock::new(|| {
    let mut registry = Registry::default();
    <GeoPointInput as InputType>::create_type_info(&mut registry);
    <i32 as InputType>::create_type_info(&mut registry);
    <ServiceCategory as InputType>::create_type_info(&mut registry);
    <String as InputType>::create_type_info(&mut registry);
    <bool as InputType>::create_type_info(&mut registry);
    <SituationInput as InputType>::create_type_info(&mut registry);
    registry
});

/// The engine's answer to `request`, serialised, when it is the published search and the search
/// succeeds; None leaves the request to the engine (see the module's notes).
pub fn answer(state: &AppState, request: &async_graphql::Request, language: Language) -> Option<NearbyAnswer> {
    if request.query != *TEXT
        || !matches!(request.operation_name.as_deref(), None | Some(OPERATION))
        || !within_default_limits(&state.body_limits.query)
    {
        return None;
    }
    let arguments = arguments(&request.variables)?;
    search_nearby(state, arguments, language).ok().map(NearbyAnswer)
}

/// Whether `limits` accept everything the defaults accept.
fn within_default_limits(limits: &QueryLimits) -> bool {
    let defaults = QueryLimits::default();
    limits.complexity >= defaults.complexity
        && limits.depth >= defaults.depth
        && limits.aliases >= defaults.aliases
        && limits.root_fields >= defaults.root_fields
        && limits.fields >= defaults.fields
}

/// The arguments, when every variable is declared, fits its type and parses.
fn arguments(variables: &Variables) -> Option<NearbyArguments> {
    if variables.keys().any(|name| !VARIABLES.iter().any(|(declared, _)| name.as_str() == *declared)) {
        return None;
    }
    for (name, type_name) in VARIABLES {
        if let Some(value) = variables.get(*name)
            && !fits(&VARIABLE_TYPES, type_name, value)
        {
            return None;
        }
    }
    fn parse<T: InputType>(variables: &Variables, name: &str) -> Option<T> {
        T::parse(variables.get(name).cloned()).ok()
    }
    Some(NearbyArguments {
        near: parse(variables, "near")?,
        radius_meters: parse(variables, "radiusMeters")?,
        categories: parse(variables, "categories")?,
        text: parse(variables, "text")?,
        open_now: parse(variables, "openNow")?,
        languages: None,
        free_only: None,
        eligible_without_local_hukou: None,
        situation: parse(variables, "situation")?,
        first: parse(variables, "first")?,
        after: parse(variables, "after")?,
    })
}

/// A search page, serialised as the engine serialises the published document's answer.
pub struct NearbyAnswer(NearbyServiceConnection);

impl Serialize for NearbyAnswer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let page = &self.0;
        let answer = Answer {
            data: Data {
                nearby_services: Page {
                    edges: page
                        .edges
                        .iter()
                        .map(|edge| Edge {
                            distance_meters: edge.distance_meters_rounded(),
                            node: Node::of(&edge.node),
                        })
                        .collect(),
                    page_info: PageInfo {
                        has_next_page: page.page_info.has_next_page,
                        end_cursor: page.page_info.end_cursor.as_deref(),
                    },
                    area_services: page.area_services.iter().map(AreaNode::of).collect(),
                    nearest_beyond_radius_meters: page.nearest_beyond_radius_meters_rounded(),
                },
            },
        };
        answer.serialize(serializer)
    }
}

// The document's selections, field for field and in its order.

#[derive(Serialize)]
struct Answer<'a> {
    data: Data<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Data<'a> {
    nearby_services: Page<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Page<'a> {
    edges: Vec<Edge<'a>>,
    page_info: PageInfo<'a>,
    area_services: Vec<AreaNode<'a>>,
    nearest_beyond_radius_meters: Option<i32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Edge<'a> {
    distance_meters: i32,
    node: Node<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Node<'a> {
    id: String,
    name: &'a str,
    category: Option<&'static str>,
    status: &'static str,
    open_now: bool,
    is_free: bool,
    location: Option<Point>,
}

impl<'a> Node<'a> {
    fn of(service: &'a NearbyService) -> Self {
        Self {
            id: service.id_text(),
            name: service.name_text(),
            category: service.primary_category().map(enum_name),
            status: enum_name(service.listing_status()),
            open_now: service.is_open_now(),
            is_free: service.free_of_charge(),
            location: service.place_point().map(|point| Point { lat: point.lat, lon: point.lon }),
        }
    }
}

#[derive(Serialize)]
struct Point {
    lat: f64,
    lon: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo<'a> {
    has_next_page: bool,
    end_cursor: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AreaNode<'a> {
    id: String,
    name: &'a str,
    category: Option<&'static str>,
    open_now: bool,
}

impl<'a> AreaNode<'a> {
    fn of(service: &'a NearbyService) -> Self {
        Self {
            id: service.id_text(),
            name: service.name_text(),
            category: service.primary_category().map(enum_name),
            open_now: service.is_open_now(),
        }
    }
}

/// The GraphQL name of an enum value, as the engine writes it.
fn enum_name<T: EnumType>(value: T) -> &'static str {
    T::items().iter().find(|item| item.value == value).map_or("", |item| item.name)
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    #[test]
    fn the_declared_variables_are_the_published_texts() {
        let document = parse_query(*TEXT).expect("the published text parses");
        let (name, operation) = document.operations.iter().next().expect("one operation");
        assert_eq!(name.map(|name| name.as_str()), Some(OPERATION));
        let declared: Vec<(String, String)> = operation
            .node
            .variable_definitions
            .iter()
            .map(|definition| (definition.node.name.node.to_string(), definition.node.var_type.node.to_string()))
            .collect();
        let expected: Vec<(String, String)> =
            VARIABLES.iter().map(|(name, type_name)| (name.to_string(), type_name.to_string())).collect();
        assert_eq!(declared, expected);
        for (_, type_name) in VARIABLES {
            let named = type_name.trim_matches(|c| matches!(c, '[' | ']' | '!'));
            assert!(VARIABLE_TYPES.types.contains_key(named), "{named} is not registered");
        }
    }

    #[test]
    fn tighter_limits_leave_the_document_to_the_engine() {
        assert!(within_default_limits(&QueryLimits::default()));
        let tighter = QueryLimits { complexity: 100, ..QueryLimits::default() };
        assert!(!within_default_limits(&tighter));
    }

    #[test]
    fn undeclared_or_ill_typed_variables_are_left_to_the_engine() {
        let variables = |json: serde_json::Value| Variables::from_json(json);
        let near = serde_json::json!({ "lat": 31.1, "lon": 121.3 });
        assert!(arguments(&variables(serde_json::json!({ "near": near, "radiusMeters": 3000 }))).is_some());
        for refused in [
            serde_json::json!({ "near": near, "radiusMeters": 3000, "language": "EN" }),
            serde_json::json!({ "near": near, "radiusMeters": 3000.5 }),
            serde_json::json!({ "near": near }),
            serde_json::json!({ "near": { "lat": 31.1, "lon": 121.3, "height": 4 }, "radiusMeters": 3000 }),
            serde_json::json!({ "near": near, "radiusMeters": 3000, "categories": ["NO_SUCH"] }),
            serde_json::json!({ "near": near, "radiusMeters": 3000, "categories": [null] }),
            serde_json::json!({ "near": near, "radiusMeters": 3000, "situation": { "age": "ten" } }),
        ] {
            assert!(arguments(&variables(refused.clone())).is_none(), "{refused}");
        }
    }
}
