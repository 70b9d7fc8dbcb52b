//! The GraphQL API: schema assembly and its request limits.

pub mod admin;
pub mod auth;
pub mod category;
pub mod clients;
pub mod common;
pub mod context;
pub mod documents;
pub mod eligibility;
mod errors;
pub mod evidence;
pub mod hsds;
pub mod import;
pub mod news;
pub mod objects;
pub mod published;
pub mod query;
pub mod referrals;
pub mod region;
pub mod stewardship;
pub mod suggestions;
pub mod sync;
pub mod validations;

use async_graphql::{MergedObject, MergedSubscription, Schema};

/// Every query of the API, merged from the domain modules.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    query::DirectoryQuery,
    auth::AuthQuery,
    admin::AdminQuery,
    stewardship::StewardshipQuery,
    suggestions::SuggestionQuery,
    hsds::HsdsQuery,
    eligibility::EligibilityQuery,
    region::RegionQueryRoot,
    referrals::ReferralQuery,
    clients::ClientQuery,
    news::NewsQuery,
    sync::SyncQuery,
    evidence::EvidenceQuery,
    // (new domains: one line each)
);

/// Every mutation of the API, merged from the domain modules.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    auth::AuthMutation,
    admin::AdminMutation,
    stewardship::StewardshipMutation,
    suggestions::SuggestionMutation,
    import::ImportMutation,
    hsds::HsdsMutation,
    referrals::ReferralMutation,
    clients::ClientMutation,
    // (new domains: one line each)
);

/// Every subscription of the API (served over `GET /graphql/ws`).
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct SubscriptionRoot(news::NewsSubscription);

pub type QiaoSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Most directives on one field, fragment or operation.
pub const MAX_DIRECTIVES: usize = 10;

/// Deepest nesting of input values (lists of lists), which the parser would otherwise recurse into.
pub const MAX_RECURSIVE_DEPTH: usize = 32;

pub use crate::config::{INTROSPECTION_DEPTH, QueryLimits};

/// Builds the schema without data (for the SDL) or with it (to serve).
pub fn build_schema(data: Option<crate::AppState>) -> QiaoSchema {
    let limits = data.as_ref().map(|state| state.body_limits.query).unwrap_or_default();
    build_schema_with(limits, Default::default(), data)
}

/// Builds the schema with these request limits, keeping validation results in `validations`
/// (which must be this schema's alone).
pub fn build_schema_with(
    limits: QueryLimits,
    validations: std::sync::Arc<validations::ValidationCache>,
    data: Option<crate::AppState>,
) -> QiaoSchema {
    // The engine's depth limit is set for introspection; `ShapeLimits` holds data to `limits.depth`.
    let mut builder = Schema::build(QueryRoot::default(), MutationRoot::default(), SubscriptionRoot::default())
        .limit_depth(INTROSPECTION_DEPTH)
        .limit_complexity(limits.complexity)
        .limit_recursive_depth(MAX_RECURSIVE_DEPTH)
        .limit_directives(MAX_DIRECTIVES)
        .extension(ShapeLimits { limits, validations });
    if !limits.introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    if let Some(data) = data {
        builder = builder.data(data);
    }
    builder.finish()
}

/// Refuses documents whose shape alone is too much work, before validation and execution: too
/// many aliases, root fields or fields (the engine's complexity gives `__typename` no cost, so
/// thousands of aliased `__typename` would otherwise pass), or data nested too deep. Answers the
/// validation of a document validated before from `validations` (see there why that is sound).
struct ShapeLimits {
    limits: QueryLimits,
    /// This schema's, so every result kept was reached under these limits.
    validations: std::sync::Arc<validations::ValidationCache>,
}

impl async_graphql::extensions::ExtensionFactory for ShapeLimits {
    fn create(&self) -> std::sync::Arc<dyn async_graphql::extensions::Extension> {
        std::sync::Arc::new(RequestLimits {
            limits: self.limits,
            validations: std::sync::Arc::clone(&self.validations),
            operation_name: Default::default(),
            validation: Default::default(),
        })
    }
}

/// [`ShapeLimits`] for one request.
struct RequestLimits {
    limits: QueryLimits,
    validations: std::sync::Arc<validations::ValidationCache>,
    operation_name: std::sync::Mutex<Option<String>>,
    validation: std::sync::Mutex<Validation>,
}

/// How this request's document is validated.
#[derive(Default)]
enum Validation {
    /// By the rules, and nothing is kept.
    #[default]
    Rules,
    /// By the rules, and the result is kept when the document passes.
    RulesThenKeep {
        text: String,
        facts: std::sync::Arc<validations::DocumentFacts>,
        complexity_inputs: validations::ComplexityInputs,
    },
    /// Validated before, with variables that fit as these do.
    Kept(async_graphql::ValidationResult),
}

impl RequestLimits {
    fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn refusal(message: String) -> async_graphql::ServerError {
    let mut error = async_graphql::ServerError::new(message, None);
    error.extensions.get_or_insert_with(Default::default).set("code", crate::error::ErrorCode::BadUserInput.as_str());
    error
}

#[async_trait::async_trait]
impl async_graphql::extensions::Extension for RequestLimits {
    async fn prepare_request(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        request: async_graphql::Request,
        next: async_graphql::extensions::NextPrepareRequest<'_>,
    ) -> async_graphql::ServerResult<async_graphql::Request> {
        let request = next.run(ctx, request).await?;
        *Self::lock(&self.operation_name) = request.operation_name.clone();
        Ok(request)
    }

    async fn parse_query(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        query: &str,
        variables: &async_graphql::Variables,
        next: async_graphql::extensions::NextParseQuery<'_>,
    ) -> async_graphql::ServerResult<async_graphql::parser::types::ExecutableDocument> {
        let operation_name = Self::lock(&self.operation_name).clone();
        let registry = &ctx.schema_env.registry;
        // A text that passed validation here passed the scan and the shape walk before them, under
        // the same limits; both are functions of the text and the limits alone.
        let known = self.validations.lookup(query, operation_name.as_deref(), variables);
        if known.is_none() {
            // Parsing builds a tree of the whole document first; a scan of the text refuses a
            // document of thousands of aliases or directives for a fraction of that.
            let written = scan_text(query);
            if written.aliases > self.limits.aliases {
                return Err(refusal(too_many_aliases(self.limits.aliases)));
            }
            if written.longest_directive_run > MAX_DIRECTIVES {
                return Err(refusal(format!(
                    "a field, fragment or operation may carry at most {MAX_DIRECTIVES} directives \
                     (每个字段、片段或操作最多 {MAX_DIRECTIVES} 个指令)"
                )));
            }
        }
        // Parses the text, unless the HTTP handler found its document kept (`documents`); the
        // engine's recursion and directive limits run either way.
        let document = next.run(ctx, query, variables).await?;
        let validation = match known {
            Some(known) => {
                documents::keep(query, &document);
                match (known.result, known.complexity_inputs) {
                    (Some(result), _) if known.facts.variables_fit(registry, variables) => Validation::Kept(result),
                    (None, Some(complexity_inputs))
                        if validations::keepable_operation_name(&document, operation_name.as_deref()) =>
                    {
                        Validation::RulesThenKeep { text: query.to_owned(), facts: known.facts, complexity_inputs }
                    }
                    _ => Validation::Rules,
                }
            }
            None => {
                check_shape(&document, &self.limits).map_err(refusal)?;
                documents::keep(query, &document);
                let facts = (query.len() <= documents::MAX_TEXT_BYTES
                    && documents::literal_free(query)
                    && validations::keepable_operation_name(&document, operation_name.as_deref()))
                .then(|| validations::DocumentFacts::of(registry, &document))
                .flatten();
                match facts.and_then(|facts| Some((facts.complexity_inputs(variables)?, facts))) {
                    Some((complexity_inputs, facts)) => Validation::RulesThenKeep {
                        text: query.to_owned(),
                        facts: std::sync::Arc::new(facts),
                        complexity_inputs,
                    },
                    None => Validation::Rules,
                }
            }
        };
        *Self::lock(&self.validation) = validation;
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        next: async_graphql::extensions::NextValidation<'_>,
    ) -> Result<async_graphql::ValidationResult, Vec<async_graphql::ServerError>> {
        let validation = std::mem::take(&mut *Self::lock(&self.validation));
        match validation {
            Validation::Kept(result) => {
                // Kept only within these limits; checked again as the engine checks them.
                if result.complexity > self.limits.complexity {
                    return Err(vec![async_graphql::ServerError::new("Query is too complex.", None)]);
                }
                if result.depth > INTROSPECTION_DEPTH {
                    return Err(vec![async_graphql::ServerError::new("Query is nested too deep.", None)]);
                }
                self.validations.answered();
                Ok(result)
            }
            Validation::Rules => next.run(ctx).await,
            Validation::RulesThenKeep { text, facts, complexity_inputs } => {
                let result = next.run(ctx).await?;
                let operation_name = Self::lock(&self.operation_name).clone();
                self.validations.keep(&text, facts, operation_name.as_deref(), complexity_inputs, result);
                Ok(result)
            }
        }
    }
}

/// Counts what a document selects, fragments expanded, and stops as soon as a limit is passed
/// (so a document built to explode when expanded costs no more than the limit to inspect).
pub fn check_shape(
    document: &async_graphql::parser::types::ExecutableDocument,
    limits: &QueryLimits,
) -> Result<(), String> {
    let mut counts = ShapeCounts::default();
    for (_, operation) in document.operations.iter() {
        let roots = operation.node.selection_set.node.items.len();
        if roots > limits.root_fields {
            return Err(format!(
                "an operation may select at most {} root fields (每个操作最多 {} 个根字段)",
                limits.root_fields, limits.root_fields
            ));
        }
        walk(document, &operation.node.selection_set.node, 1, false, limits, &mut counts)?;
    }
    Ok(())
}

#[derive(Default)]
struct ShapeCounts {
    fields: usize,
    aliases: usize,
    /// The fragments being expanded, to step over a cycle (the validator refuses it).
    expanding: Vec<String>,
}

fn walk(
    document: &async_graphql::parser::types::ExecutableDocument,
    set: &async_graphql::parser::types::SelectionSet,
    depth: usize,
    introspection: bool,
    limits: &QueryLimits,
    counts: &mut ShapeCounts,
) -> Result<(), String> {
    use async_graphql::parser::types::Selection;
    let max_depth = if introspection { INTROSPECTION_DEPTH } else { limits.depth };
    if depth > max_depth {
        return Err(format!("the query is nested deeper than {max_depth} levels (查询嵌套超过 {max_depth} 层)"));
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                counts.fields += 1;
                if counts.fields > limits.fields {
                    return Err(format!(
                        "the query selects more than {} fields (查询字段超过 {} 个)",
                        limits.fields, limits.fields
                    ));
                }
                if field.node.alias.is_some() {
                    counts.aliases += 1;
                    if counts.aliases > limits.aliases {
                        return Err(too_many_aliases(limits.aliases));
                    }
                }
                // Only the schema's own description may nest deeper than data.
                let name = field.node.name.node.as_str();
                let inner = introspection || (depth == 1 && (name == "__schema" || name == "__type"));
                walk(document, &field.node.selection_set.node, depth + 1, inner, limits, counts)?;
            }
            Selection::FragmentSpread(spread) => {
                // An unknown fragment is the validator's to report.
                let name = &spread.node.fragment_name.node;
                if counts.expanding.iter().any(|expanding| expanding == name.as_str()) {
                    continue;
                }
                if let Some(fragment) = document.fragments.get(name) {
                    counts.expanding.push(name.to_string());
                    walk(document, &fragment.node.selection_set.node, depth, introspection, limits, counts)?;
                    counts.expanding.pop();
                }
            }
            Selection::InlineFragment(fragment) => {
                walk(document, &fragment.node.selection_set.node, depth, introspection, limits, counts)?;
            }
        }
    }
    Ok(())
}

fn too_many_aliases(limit: usize) -> String {
    format!("the query uses more than {limit} aliases (查询别名超过 {limit} 个)")
}

/// What a document's text writes, counted without parsing.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TextShape {
    /// `name: field` outside any parentheses. Never more than [`check_shape`] counts for a valid
    /// document: each fragment there is expanded at least once (an unused one is invalid anyway),
    /// and each operation is walked.
    pub aliases: usize,
    /// The most directives written one after another outside parentheses: on one field, fragment
    /// or operation (a name other than a directive's ends a run, as do `{` and `}`).
    pub longest_directive_run: usize,
}

/// Reads `text` once, skipping strings and comments, and builds nothing.
pub fn scan_text(text: &str) -> TextShape {
    let bytes = text.as_bytes();
    let (mut aliases, mut parentheses, mut i) = (0usize, 0usize, 0usize);
    let (mut run, mut longest_run, mut after_at) = (0usize, 0usize, false);
    let mut after_name = false;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 3;
                after_name = false;
                continue;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                after_name = false;
                continue;
            }
            b'(' => parentheses += 1,
            b')' => parentheses = parentheses.saturating_sub(1),
            b':' if parentheses == 0 && after_name => aliases += 1,
            b'@' if parentheses == 0 => {
                run += 1;
                longest_run = longest_run.max(run);
                after_at = true;
                i += 1;
                continue;
            }
            b'{' | b'}' => run = 0,
            b' ' | b'\t' | b'\r' | b'\n' | b',' => {
                i += 1;
                continue;
            }
            c if c == b'_' || c.is_ascii_alphanumeric() => {
                while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                // A name that is not a directive's starts another field (or fragment, operation).
                if parentheses == 0 && !after_at {
                    run = 0;
                }
                after_at = false;
                after_name = true;
                continue;
            }
            _ => {}
        }
        after_name = false;
        after_at = false;
        i += 1;
    }
    TextShape { aliases, longest_directive_run: longest_run }
}

/// The SDL committed as `mobile-client-spec/schema.graphql`.
pub fn sdl() -> String {
    // `@specifiedBy` tells client generators what the Date and DateTime strings follow.
    build_schema(None).sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(query: &str) -> Result<(), String> {
        let document = async_graphql::parser::parse_query(query).map_err(|error| error.to_string())?;
        check_shape(&document, &QueryLimits::default())
    }

    #[test]
    fn cyclic_fragments_are_left_to_the_validator_instead_of_looping() {
        assert!(
            shape("{ categories { ...A } } fragment A on Category { code ...B } fragment B on Category { ...A }")
                .is_ok()
        );
    }

    #[test]
    fn typenames_and_aliases_count_once_fragments_are_expanded() {
        let many: String = (0..200).map(|i| format!("t{i}: __typename ")).collect();
        let spread: String = (0..10).map(|i| format!("c{i}: categories {{ ...F }} ")).collect();
        assert!(shape(&format!("{{ {spread} }} fragment F on Category {{ code }}")).is_ok());
        assert!(shape(&format!("{{ {spread} }} fragment F on Category {{ {many} }}")).is_err());
    }

    #[test]
    fn the_text_scan_counts_aliases_but_not_arguments_variables_strings_or_comments() {
        assert_eq!(scan_text("{ a: service(id: \"x\") { id } b : me { id } }").aliases, 2);
        let tricky = "query Q($id: ID! = \"a: b\", $p: GeoPointInput = {lat: 1, lon: 2}) {\n\
            # c: d\n\
            s: service(id: $id) @include(if: true) { x: id ...F name(language: EN) }\n\
            t: nearbyServices(near: {lat: 1, lon: 2}, text: \"e: f\\\" g: h\") { __typename }\n\
            u: categories { description(text: \"\"\"i: j \\\"\"\" k: l\"\"\") }\n\
            } fragment F on Service { y: id }";
        assert_eq!(scan_text(tricky).aliases, 5);
        let document = async_graphql::parser::parse_query(tricky).expect("a valid document");
        let limits = QueryLimits { aliases: 4, ..QueryLimits::default() };
        assert!(check_shape(&document, &limits).is_err(), "the walk counts at least as many");
    }

    #[test]
    fn directives_are_counted_per_field_fragment_or_operation() {
        let run = |text: &str| scan_text(text).longest_directive_run;
        assert_eq!(run("query Q @a @b { x @c(if: true) @d @e y @f ...F @g } fragment F on T @h { z }"), 3);
        assert_eq!(run(&format!("{{ categories {}{{ code }} }}", "@include(if: true) ".repeat(2000))), 2000);
        // Variables' directives sit inside the parentheses (the engine counts them elsewhere).
        assert_eq!(run("query($v: Int @a @b @c) { x }"), 0);
    }

    #[test]
    fn a_thousand_aliases_are_counted_from_the_text() {
        let query: String = (0..1000).map(|i| format!("a{i}: service(id: \"x{i}\") {{ id }} ")).collect();
        assert_eq!(scan_text(&format!("{{ {query} }}")).aliases, 1000);
    }

    const SEARCH: &str = "query Search($near: GeoPointInput!, $radius: Int!, $categories: [ServiceCategory!], \
        $text: String, $first: Int) { nearbyServices(near: $near, radiusMeters: $radius, categories: $categories, \
        text: $text, first: $first) { edges { distanceMeters node { id name category } } \
        pageInfo { hasNextPage endCursor } } }";

    async fn answer(schema: &QiaoSchema, query: &str, variables: serde_json::Value) -> serde_json::Value {
        let request = async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(variables));
        serde_json::to_value(schema.execute(request).await).expect("an answer serializes")
    }

    fn schema_with_cache(limits: QueryLimits) -> (QiaoSchema, std::sync::Arc<validations::ValidationCache>) {
        let cache = std::sync::Arc::new(validations::ValidationCache::default());
        (build_schema_with(limits, std::sync::Arc::clone(&cache), None), cache)
    }

    #[tokio::test]
    async fn a_kept_validation_answers_exactly_as_the_rules_whatever_the_variables() {
        let (warm, cache) = schema_with_cache(QueryLimits::default());
        let good = serde_json::json!({"near": {"lat": 31.1, "lon": 121.3}, "radius": 3000, "categories": ["LIBRARY"], "first": 20});
        let first = answer(&warm, SEARCH, good.clone()).await;
        assert_eq!(cache.len(), 1, "a valid search is kept");
        assert_eq!(answer(&warm, SEARCH, good.clone()).await, first);
        assert_eq!(cache.answers(), 1, "answered from the kept result");
        let variables = [
            good.clone(),
            serde_json::json!({"near": {"lat": "north", "lon": 121.3}, "radius": 3000}),
            serde_json::json!({"near": {"lat": 31.1}, "radius": 3000}),
            serde_json::json!({"near": {"lat": 31.1, "lon": 121.3, "height": 4}, "radius": 3000}),
            serde_json::json!({"near": {"lat": 31.1, "lon": 121.3, "datum": "MARS"}, "radius": 3000}),
            serde_json::json!({"near": null, "radius": 3000}),
            serde_json::json!({"near": {"lat": 31.1, "lon": 121.3}, "radius": 3_000_000_000_u64}),
            serde_json::json!({"near": {"lat": 31.1, "lon": 121.3}, "radius": 3000, "categories": ["LIBRARY", "CASINO"]}),
            serde_json::json!({"near": {"lat": 31.1, "lon": 121.3}, "radius": 3000, "categories": "LIBRARY"}),
            serde_json::json!({"near": {"lat": 31.1, "lon": 121.3}, "radius": 3000, "text": 7}),
            serde_json::json!({"near": {"lat": 31.1, "lon": 121.3}, "radius": 3000, "first": "many"}),
            serde_json::json!({"near": {"lat": 31.1, "lon": 121.3}, "radius": 3000, "first": 2.5}),
            serde_json::json!({"near": {"lat": 31.1, "lon": 121.3}}),
        ];
        for variables in variables {
            // A schema of its own never saw the document, so its rules ran.
            let (fresh, _) = schema_with_cache(QueryLimits::default());
            let expected = answer(&fresh, SEARCH, variables.clone()).await;
            assert_eq!(answer(&warm, SEARCH, variables.clone()).await, expected, "{variables}");
            assert_eq!(answer(&warm, SEARCH, variables.clone()).await, expected, "again: {variables}");
        }
        // The good variables (1 + 2), a lone category where a list goes (kept, then 1), a radius
        // over the Int range and one not sent (2 each: the rule leaves both to execution); every
        // other set ran the rules.
        assert_eq!(cache.answers(), 8);
        let (fresh, _) = schema_with_cache(QueryLimits::default());
        let unknown = || async_graphql::Request::new(SEARCH).operation_name("Other");
        assert_eq!(
            serde_json::to_value(warm.execute(unknown()).await).ok(),
            serde_json::to_value(fresh.execute(unknown()).await).ok(),
            "an operation the text does not define"
        );
    }

    #[tokio::test]
    async fn a_too_complex_page_size_or_a_too_deep_document_is_refused_on_every_sending() {
        let (schema, cache) = schema_with_cache(QueryLimits { complexity: 100, ..QueryLimits::default() });
        let too_complex = |answer: &serde_json::Value| answer.to_string().contains("Query is too complex.");
        let page = |first: i64| serde_json::json!({"near": {"lat": 31, "lon": 121}, "radius": 3000, "first": first});
        assert!(!too_complex(&answer(&schema, SEARCH, page(1)).await));
        assert_eq!(cache.len(), 1);
        for _ in 0..3 {
            let refused = answer(&schema, SEARCH, page(50)).await;
            assert!(too_complex(&refused), "{refused}");
        }
        assert!(!too_complex(&answer(&schema, SEARCH, page(1)).await), "the small page still passes");
        assert_eq!(cache.len(), 1, "nothing refused is kept");
        let deep = format!("{{ categories {{ {} code {} }} }}", "children { ".repeat(14), "}".repeat(14));
        for _ in 0..3 {
            let refused = answer(&schema, &deep, serde_json::json!({})).await;
            assert!(refused.to_string().contains("nested deeper than 12"), "{refused}");
        }
        let typo = "{ categorys { code } }";
        for _ in 0..2 {
            assert!(answer(&schema, typo, serde_json::json!({})).await.to_string().contains("Unknown field"));
        }
        assert_eq!(cache.len(), 1);
    }

    #[tokio::test]
    async fn only_texts_without_strings_or_fractions_are_kept() {
        let (schema, cache) = schema_with_cache(QueryLimits::default());
        answer(&schema, "{ service(id: \"a-person-looked-this-up\") { name } }", serde_json::json!({})).await;
        answer(
            &schema,
            "{ nearbyServices(near: {lat: 31.1, lon: 121.3}, radiusMeters: 100) { edges { cursor } } }",
            serde_json::json!({}),
        )
        .await;
        assert!(cache.is_empty());
        answer(&schema, "query($id: ID!) { service(id: $id) { name } }", serde_json::json!({"id": "x"})).await;
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn introspection_may_nest_deeper_than_data() {
        let nested = |root: &str, levels: usize| {
            format!("{{ {root} {{ {} name {} }} }}", "ofType { ".repeat(levels), "}".repeat(levels))
        };
        assert!(shape(&nested("__type(name: \"Query\")", 13)).is_ok());
        assert!(shape(&nested("categories", 13)).is_err());
    }
}
