//! Referral news for the social worker's and the provider's apps: `referralsChangedSince`
//! (polling and offline catch-up) and the `referralStatusChanged` subscription (WebSocket,
//! `GET /graphql/ws`). Both are scoped like every referral read: a social worker follows its own
//! organisation's referrals, provider staff those sent to their organisation. Domain rules live
//! in `crate::news`.

use async_graphql::futures_util::{Stream, StreamExt, stream};
use async_graphql::{Context, ID, Object, SimpleObject, Subscription};

use super::common::{DateTime, ReferralStatus};
use super::context::{request_id, state};
use crate::auth::caller;
use crate::news::Watcher;
use crate::news::changes::{self, ChangedReferral, StatusChange, StatusFeed};

/// A referral that changed: its state now. Open it with `referral(id:)` for the rest.
#[derive(SimpleObject, Clone)]
pub struct ReferralChange {
    /// The referral's id.
    pub referral_id: ID,
    /// Its public code.
    pub code: String,
    /// Its status now.
    pub status: ReferralStatus,
    /// Whether it is live (shares consented client data with the provider).
    pub live: bool,
    /// When its newest event happened.
    pub changed_at: DateTime,
}

impl From<ChangedReferral> for ReferralChange {
    fn from(change: ChangedReferral) -> Self {
        Self {
            referral_id: ID(change.referral_id),
            code: change.code,
            status: change.status.into(),
            live: change.live,
            changed_at: change.changed_at.into(),
        }
    }
}

/// A page of changed referrals.
#[derive(SimpleObject, Clone)]
pub struct ReferralChanges {
    /// The referrals with news since the cursor, oldest news first, each once.
    pub changes: Vec<ReferralChange>,
    /// Keep it and send it as `cursor` next time (also `since` of `referralStatusChanged`).
    pub cursor: String,
    /// More changes are waiting: ask again at once with `cursor`.
    pub has_more: bool,
}

#[derive(Default)]
pub struct NewsQuery;

#[Object]
impl NewsQuery {
    /// The caller's referrals that changed after `cursor` (a social worker: its organisation's
    /// referrals; provider staff: those sent to its organisation). Without `cursor`, every one of
    /// them, oldest news first. An unknown cursor is `BAD_USER_INPUT` (field `cursor`): sync again
    /// without one. Other roles: `FORBIDDEN`; anonymous: `UNAUTHENTICATED`.
    async fn referrals_changed_since(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `cursor` of the previous answer; leave out for everything.")] cursor: Option<String>,
        #[graphql(desc = "At most this many referrals (0–50, default 20).")] first: Option<i32>,
    ) -> async_graphql::Result<ReferralChanges> {
        let state = state(ctx)?;
        let now = state.clock.now();
        let watcher = Watcher::of(&state.db, caller(ctx), now).await?;
        let request_id = request_id(ctx);
        let page =
            changes::changed_since(&state.db, &watcher, cursor.as_deref(), first, request_id.as_deref(), now).await?;
        Ok(ReferralChanges {
            changes: page.referrals.into_iter().map(ReferralChange::from).collect(),
            cursor: page.cursor,
            has_more: page.has_more,
        })
    }
}

/// A status change of a referral the subscriber follows.
#[derive(SimpleObject, Clone)]
pub struct ReferralStatusChange {
    /// The referral's id.
    pub referral_id: ID,
    /// Its public code.
    pub code: String,
    /// The status it moved to.
    pub status: ReferralStatus,
    /// The status it moved from (null when it was created).
    pub previous_status: Option<ReferralStatus>,
    /// When it changed.
    pub at: DateTime,
    /// The position after this change: a `referralsChangedSince` cursor, to resume from after a
    /// lost connection.
    pub cursor: String,
}

impl From<StatusChange> for ReferralStatusChange {
    fn from(change: StatusChange) -> Self {
        Self {
            referral_id: ID(change.referral_id),
            code: change.code,
            status: change.status.into(),
            previous_status: change.previous_status.map(Into::into),
            at: change.at.into(),
            cursor: changes::cursor_of(change.event_id),
        }
    }
}

#[derive(Default)]
pub struct NewsSubscription;

#[Subscription]
impl NewsSubscription {
    /// Status changes of the caller's referrals as they happen (over `GET /graphql/ws`, protocol
    /// `graphql-transport-ws`, signed in with `{"authorization": "Bearer …"}` in
    /// `connection_init`). Starts now, or after `since` to catch up first. The stream ends when
    /// the account is disabled or loses its role or organisation. At most 10 live subscriptions per
    /// account (and a server-wide limit): beyond, `RATE_LIMITED`.
    async fn referral_status_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A `referralsChangedSince` cursor (or a change's `cursor`) to start after; \
                          leave out to start now.")]
        since: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = ReferralStatusChange> + use<>> {
        let state = state(ctx)?;
        let watcher = Watcher::of(&state.db, caller(ctx), state.clock.now()).await?;
        let feed = StatusFeed::start(
            state.db.clone(),
            &watcher,
            since.as_deref(),
            state.news.subscription_poll,
            request_id(ctx),
            state.clock.clone(),
            &state.subscriptions,
        )
        .await?;
        let batches =
            stream::unfold(feed, |mut feed| async move { feed.next_batch().await.map(|batch| (batch, feed)) });
        Ok(batches.flat_map(|batch| stream::iter(batch.into_iter().map(ReferralStatusChange::from))))
    }
}
