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
pub mod query;
pub mod referrals;
pub mod region;
pub mod stewardship;
pub mod suggestions;
pub mod sync;

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
    // The engine's depth limit is set for introspection; `ShapeLimits` holds data to `limits.depth`.
    let mut builder = Schema::build(QueryRoot::default(), MutationRoot::default(), SubscriptionRoot::default())
        .limit_depth(INTROSPECTION_DEPTH)
        .limit_complexity(limits.complexity)
        .limit_recursive_depth(MAX_RECURSIVE_DEPTH)
        .limit_directives(MAX_DIRECTIVES)
        .extension(ShapeLimits(limits));
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
/// thousands of aliased `__typename` would otherwise pass), or data nested too deep.
struct ShapeLimits(QueryLimits);

impl async_graphql::extensions::ExtensionFactory for ShapeLimits {
    fn create(&self) -> std::sync::Arc<dyn async_graphql::extensions::Extension> {
        std::sync::Arc::new(ShapeLimits(self.0))
    }
}

#[async_trait::async_trait]
impl async_graphql::extensions::Extension for ShapeLimits {
    async fn parse_query(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        query: &str,
        variables: &async_graphql::Variables,
        next: async_graphql::extensions::NextParseQuery<'_>,
    ) -> async_graphql::ServerResult<async_graphql::parser::types::ExecutableDocument> {
        let refuse = |message: String| {
            let mut error = async_graphql::ServerError::new(message, None);
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", crate::error::ErrorCode::BadUserInput.as_str());
            error
        };
        // Parsing builds a tree of the whole document first; a scan of the text refuses a document
        // of thousands of aliases or directives for a fraction of that.
        let written = scan_text(query);
        if written.aliases > self.0.aliases {
            return Err(refuse(too_many_aliases(self.0.aliases)));
        }
        if written.longest_directive_run > MAX_DIRECTIVES {
            return Err(refuse(format!(
                "a field, fragment or operation may carry at most {MAX_DIRECTIVES} directives \
                 (每个字段、片段或操作最多 {MAX_DIRECTIVES} 个指令)"
            )));
        }
        // Parses the text, unless the HTTP handler found its document kept (`documents`); the
        // engine's recursion and directive limits run either way.
        let document = next.run(ctx, query, variables).await?;
        check_shape(&document, &self.0).map_err(|message| {
            let mut error = async_graphql::ServerError::new(message, None);
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", crate::error::ErrorCode::BadUserInput.as_str());
            error
        })?;
        documents::keep(query, &document);
        Ok(document)
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

    #[test]
    fn introspection_may_nest_deeper_than_data() {
        let nested = |root: &str, levels: usize| {
            format!("{{ {root} {{ {} name {} }} }}", "ofType { ".repeat(levels), "}".repeat(levels))
        };
        assert!(shape(&nested("__type(name: \"Query\")", 13)).is_ok());
        assert!(shape(&nested("categories", 13)).is_err());
    }
}
