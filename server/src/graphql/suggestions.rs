//! Edit suggestions: `suggestEdit` for anyone (no account needed, rate limited per client
//! address, idempotent with a key), and the review queue with `acceptEditSuggestion` /
//! `rejectEditSuggestion` for committee staff (their area) and admins. Domain rules live in
//! `crate::suggestions`.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use qiao_schema::entity::edit_suggestion;

use super::common::{DateTime, Language, PageInfo, language_of};
use super::context::state;
use super::stewardship::steward;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::pagination::{List, PageRequest};
use crate::suggestions::{self as domain, NamedSuggestion, NewSuggestion};

/// What a resident says is wrong with a listing.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "qiao_schema::domain::SuggestionKind")]
pub enum SuggestionKind {
    /// The service has closed. Accepting marks it temporarily closed, with the comment (or
    /// "reported closed by a resident") as its public reason.
    Closed,
    /// It has moved: `proposedValue` is the new street address. Accepting sets the street of the
    /// service's first location.
    Moved,
    /// The phone number is wrong: `proposedValue` is the right one. Accepting replaces the
    /// service's first phone number.
    WrongPhone,
    /// Anything else, said in `comment`. Accepting changes nothing by itself: the committee edits
    /// the listing by hand.
    Other,
}

/// Where a suggestion is in its review.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "qiao_schema::domain::SuggestionStatus")]
pub enum SuggestionStatus {
    /// Waiting for the committee of the listing's area.
    Pending,
    /// Accepted (and applied, for CLOSED, MOVED and WRONG_PHONE).
    Accepted,
    /// Rejected, with a reason.
    Rejected,
}

/// A correction to a listing suggested by a member of the public. Who suggested it is not
/// recorded.
#[derive(SimpleObject, Clone)]
pub struct EditSuggestion {
    /// Suggestion id.
    pub id: ID,
    /// The service it is about.
    pub service_id: ID,
    /// The service's name, in the request's language (`Accept-Language`, else Chinese).
    pub service_name: String,
    /// What is wrong.
    pub kind: SuggestionKind,
    /// The corrected value: a street address for MOVED, a phone number for WRONG_PHONE (as
    /// normalised by the server, e.g. `021-54861801`).
    pub proposed_value: Option<String>,
    /// The resident's own words.
    pub comment: Option<String>,
    /// Review status.
    pub status: SuggestionStatus,
    /// When it was suggested.
    pub created_at: DateTime,
    /// When it was accepted or rejected.
    pub decided_at: Option<DateTime>,
    /// Why it was rejected.
    pub decision_reason: Option<String>,
}

/// A page of edit suggestions.
#[derive(SimpleObject)]
pub struct EditSuggestionConnection {
    /// Suggestions of this page, oldest first.
    pub nodes: Vec<EditSuggestion>,
    /// Pagination.
    pub page_info: PageInfo,
}

impl EditSuggestion {
    fn of(named: NamedSuggestion, language: Language) -> Self {
        let NamedSuggestion { suggestion: row, service_name } = named;
        Self {
            service_name: language.pick(&service_name.zh, &service_name.en).to_owned(),
            id: ID(row.id),
            service_id: ID(row.service_id),
            kind: row.kind.into(),
            proposed_value: row.proposed_value,
            comment: row.comment,
            status: row.status.into(),
            created_at: row.created_at.into(),
            decided_at: row.decided_at.map(DateTime),
            decision_reason: row.decision_reason,
        }
    }
}

/// One suggestion as the caller sees it, with its service's name in the request's language.
async fn view(ctx: &Context<'_>, state: &AppState, row: edit_suggestion::Model) -> ApiResult<EditSuggestion> {
    let named = domain::named(&state.db, vec![row])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("a suggestion view went missing"))?;
    Ok(EditSuggestion::of(named, language_of(ctx, None)))
}

#[derive(Default)]
pub struct SuggestionQuery;

#[Object]
impl SuggestionQuery {
    /// Edit suggestions about listings in your area (committee staff) or anywhere (admins),
    /// oldest first.
    #[graphql(complexity = "20 + first.unwrap_or(20).clamp(1, 50) as usize * child_complexity")]
    async fn edit_suggestions(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only suggestions in this state (null: PENDING).",
            default_with = "Some(SuggestionStatus::Pending)"
        )]
        status: Option<SuggestionStatus>,
        #[graphql(desc = "Page size, 0 to 50 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the previous page's end.")] after: Option<String>,
    ) -> async_graphql::Result<EditSuggestionConnection> {
        let (actor, state) = steward(ctx).await?;
        let request = PageRequest::new(List::EditSuggestions, first, after.as_deref())?;
        let status = status.unwrap_or(SuggestionStatus::Pending).into();
        let page = domain::queue_page(&state.db, &actor.scope, status, &request).await?;
        let page_info = PageInfo::from(&page);
        let language = language_of(ctx, None);
        let nodes = page.items.into_iter().map(|named| EditSuggestion::of(named, language)).collect();
        Ok(EditSuggestionConnection { nodes, page_info })
    }
}

#[derive(Default)]
pub struct SuggestionMutation;

#[Object]
impl SuggestionMutation {
    /// Tells the committee that a listing is wrong. Anyone may call it, without an account; who
    /// suggested is not recorded. Limited to a few suggestions a minute per network address
    /// (RATE_LIMITED beyond). Send an `idempotencyKey` so that a retry on a bad network returns
    /// the first suggestion instead of making a second.
    async fn suggest_edit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The service (listed: active or temporarily closed).")] service_id: ID,
        #[graphql(desc = "What is wrong.")] kind: SuggestionKind,
        #[graphql(desc = "The right value, at most 200 characters: required for MOVED (the new street \
                          address) and WRONG_PHONE (a phone number as dialled in China).")]
        proposed_value: Option<String>,
        #[graphql(desc = "Anything else to say, at most 1000 characters (required for OTHER without a \
                          proposed value).")]
        comment: Option<String>,
        #[graphql(desc = "A key of at most 64 characters (e.g. a UUID) chosen once per suggestion and \
                          resent with every retry of it.")]
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<EditSuggestion> {
        let state = state(ctx)?;
        // The client (address or account) is counted in memory for a minute and never stored.
        crate::rate_limit::check(ctx, &state.auth.suggestion_limiter)?;
        // Keyed, so the stored key names no account: only this server can tell whose it is.
        let caller_scope = crate::auth::caller(ctx)
            .account()
            .map(|account| crate::auth::phone_digest(&state.auth.phone_pepper, &format!("idempotency/{}", account.id)))
            .transpose()?;
        let new = NewSuggestion {
            service_id: service_id.0,
            kind: kind.into(),
            proposed_value,
            comment,
            idempotency_key,
            caller_scope,
        };
        let row = domain::submit(&state.db, new, state.clock.now()).await?;
        Ok(view(ctx, state, row).await?)
    }

    /// Accepts a suggestion about a listing in your area and applies it, recorded in the
    /// listing's history as your change (committee staff, admins). CONFLICT when it was already
    /// decided.
    async fn accept_edit_suggestion(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Suggestion id.")] id: ID,
    ) -> async_graphql::Result<EditSuggestion> {
        let (actor, state) = steward(ctx).await?;
        let accepted = domain::accept(&state.store, &actor, &id).await?;
        Ok(view(ctx, state, accepted.suggestion).await?)
    }

    /// Rejects a suggestion about a listing in your area, saying why (committee staff, admins).
    /// CONFLICT when it was already decided.
    async fn reject_edit_suggestion(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Suggestion id.")] id: ID,
        #[graphql(desc = "Why, 1 to 500 characters.")] reason: String,
    ) -> async_graphql::Result<EditSuggestion> {
        let (actor, state) = steward(ctx).await?;
        let row = domain::reject(&state.store, &actor, &id, &reason).await?;
        Ok(view(ctx, state, row).await?)
    }
}
