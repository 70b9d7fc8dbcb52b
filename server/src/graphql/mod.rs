//! The GraphQL API: schema assembly and its request limits.

pub mod admin;
pub mod auth;
pub mod category;
pub mod common;
pub mod context;
pub mod eligibility;
mod errors;
pub mod hsds;
pub mod import;
pub mod objects;
pub mod query;
pub mod region;
pub mod stewardship;
pub mod suggestions;

use async_graphql::{EmptySubscription, MergedObject, Schema};

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
    // (new domains: one line each)
);

pub type QiaoSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Deepest selection accepted; the deepest real screen (category tree) needs about 8.
pub const MAX_DEPTH: usize = 12;
/// Most fields one request may resolve (list fields multiply by their page size).
pub const MAX_COMPLEXITY: usize = 5_000;
/// Deepest nesting of input values (lists of lists), which the parser would otherwise recurse into.
pub const MAX_RECURSIVE_DEPTH: usize = 32;

/// Builds the schema without data (for the SDL) or with it (to serve).
pub fn build_schema(data: Option<crate::AppState>) -> QiaoSchema {
    let mut builder = Schema::build(QueryRoot::default(), MutationRoot::default(), EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(MAX_RECURSIVE_DEPTH)
        .limit_directives(10);
    if let Some(data) = data {
        builder = builder.data(data);
    }
    builder.finish()
}

/// The SDL committed as `mobile-client-spec/schema.graphql`.
pub fn sdl() -> String {
    // `@specifiedBy` tells client generators what the Date and DateTime strings follow.
    build_schema(None).sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}
