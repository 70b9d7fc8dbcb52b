//! Referrals: create, move through the status machine, forward, note; one referral by id, the
//! public view by code (no account, rate limited), the caseload, the inbox and the counts.
//! Resolvers only make the caller's capability and call `crate::referrals`, which holds every rule
//! (who sees what, the status machine, audit).

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use qiao_schema::entity::referral;

use super::category::ServiceCategory;
use super::common::{Date, DateTime, PageInfo, ReferralStatus, language_of};
use super::context::{request_id, state};
use super::objects::Service;
use crate::AppState;
use crate::auth::caller;
use crate::auth::policy::{CaseWorker, ProviderDesk};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{List, PageRequest};
use crate::referrals::reads::{self, ClientView, EventView};
use crate::referrals::writes::{self, Move, NewReferral};
use crate::referrals::{self as domain, Env, Party, Who};

/// How fast a referral needs an answer.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
#[graphql(remote = "qiao_schema::domain::Urgency")]
pub enum Urgency {
    /// Within the service's usual time.
    #[default]
    Routine,
    /// Within days.
    Soon,
    /// As soon as possible (comes first in the provider's inbox).
    Urgent,
}

/// Why a referral was rejected, cancelled, put on hold or failed (counted in reports; details in
/// `reason`, which is sealed).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::referrals::ReasonCode")]
pub enum ReferralReasonCode {
    /// The service has no room now.
    NoCapacity,
    /// The person does not meet the service's requirements.
    NotEligible,
    /// The person does not want it (any more).
    ClientDeclined,
    /// The person could not be reached.
    ClientUnreachable,
    /// The service is closed or not offered now.
    ServiceUnavailable,
    /// Another referral covers the same need.
    Duplicate,
    /// Sent on to another service (set by `forwardReferral` only).
    Forwarded,
    /// The need was met another way.
    ResolvedOtherwise,
    /// Something else, said in `reason`.
    Other,
}

/// Why the person could not get help (their own feedback by code).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::referrals::FeedbackReason")]
pub enum FeedbackReason {
    /// They were told they do not qualify.
    NotEligible,
    /// They lacked a document the service asked for.
    MissingDocuments,
    /// The service was closed.
    ServiceClosed,
    /// Nobody answered the phone or the door.
    NoAnswer,
    /// Too far to go.
    TooFar,
    /// It cost too much.
    TooExpensive,
    /// They were treated badly.
    TreatedBadly,
    /// Something else.
    Other,
}

/// The client of a referral, as the caller may see them: the referring organisation sees its
/// client; the provider only the fields a current consent for its organisation covers, on a live
/// referral. Every read is audited.
#[derive(SimpleObject)]
pub struct ReferralClient {
    /// Display name or alias (null when not covered by consent).
    pub display_name: Option<String>,
    /// Phone number (null when not covered or not given).
    pub phone: Option<String>,
    /// The phone masked for lists, e.g. `139****5678`.
    pub phone_masked: Option<String>,
    /// Preferred language or dialect (BCP 47), when covered.
    pub preferred_language: Option<String>,
}

impl From<ClientView> for ReferralClient {
    fn from(view: ClientView) -> Self {
        Self {
            display_name: view.display_name,
            phone: view.phone,
            phone_masked: view.phone_masked,
            preferred_language: view.preferred_language,
        }
    }
}

/// One entry of a referral's append-only history: a status change, a note, or the person's
/// feedback.
#[derive(SimpleObject)]
pub struct ReferralEvent {
    /// The status after the change (null for a note or feedback).
    pub status: Option<ReferralStatus>,
    /// The status before it.
    pub previous_status: Option<ReferralStatus>,
    /// When.
    pub at: DateTime,
    /// Who acted: `social_worker`, `provider_staff` or `public` (the person, by code).
    pub actor_role: String,
    /// The reason code (snake_case of `ReferralReasonCode`), or `feedback_got_help` /
    /// `feedback_could_not`.
    pub reason_code: Option<String>,
    /// The reason or note in words, when the caller may read it (the referring organisation, the
    /// side that wrote it, the provider of a live referral with consent).
    pub note: Option<String>,
}

impl From<EventView> for ReferralEvent {
    fn from(view: EventView) -> Self {
        let EventView { event, note } = view;
        Self {
            status: event.status.map(Into::into),
            previous_status: event.previous_status.map(Into::into),
            at: event.at.into(),
            actor_role: event.actor_role,
            reason_code: event.reason_code,
            note,
        }
    }
}

/// A referral as its referring organisation or its target provider sees it.
pub struct Referral {
    row: referral::Model,
    party: Party,
}

/// The referral functions' environment for this request.
pub(super) fn env<'a>(state: &'a AppState, request: &'a Option<String>) -> Env<'a> {
    Env { db: &state.db, cipher: &state.auth.cipher, request_id: request.as_deref(), now: state.clock.now() }
}

/// The service of a referral as the public directory shows it (null when no longer listed).
async fn service_view(ctx: &Context<'_>, service_id: &str) -> async_graphql::Result<Option<Service>> {
    let state = state(ctx)?;
    let detail = state.directory.details().get(&state.db, service_id).await.map_err(ApiError::from)?;
    Ok(detail.map(|detail| Service {
        detail,
        directory: state.directory.current(),
        language: language_of(ctx, None),
        now: state.clock.now(),
    }))
}

/// A referral: a social worker's client sent to a service, followed to its outcome.
#[Object]
impl Referral {
    /// Referral id.
    async fn id(&self) -> ID {
        ID(self.row.id.clone())
    }

    /// The short public code the person follows it with (`referralByCode`), 10 letters and
    /// digits.
    async fn code(&self) -> &str {
        &self.row.code
    }

    /// Where it is.
    async fn status(&self) -> ReferralStatus {
        self.row.status.into()
    }

    /// Live: shares the consented client data with the provider. Logged (false): records only
    /// that a referral was made, nothing about the person.
    async fn live(&self) -> bool {
        self.row.live
    }

    /// How fast it needs an answer.
    async fn urgency(&self) -> Urgency {
        self.row.urgency.into()
    }

    /// Categories of the needs.
    async fn need_categories(&self) -> Vec<ServiceCategory> {
        self.row.need_categories.split(',').filter_map(ServiceCategory::from_code).collect()
    }

    /// The needs in the social worker's words (the provider sees them only on a live referral
    /// with consent). Audited.
    async fn needs(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let state = state(ctx)?;
        let request = request_id(ctx);
        Ok(reads::texts_of(&env(state, &request), &self.party, &self.row).await?.0)
    }

    /// The provider's outcome in words (as `needs`, audited).
    async fn outcome(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let state = state(ctx)?;
        let request = request_id(ctx);
        Ok(reads::texts_of(&env(state, &request), &self.party, &self.row).await?.1)
    }

    /// When the social worker follows it up; past and not ended, it is overdue.
    async fn follow_up_on(&self) -> Option<Date> {
        self.row.follow_up_on.map(Date)
    }

    /// Reason code of the last status that took one (snake_case of `ReferralReasonCode`).
    async fn reason_code(&self) -> Option<&str> {
        self.row.reason_code.as_deref()
    }

    /// The person's own feedback by code: `got_help` or `could_not`.
    async fn feedback(&self) -> Option<&str> {
        self.row.feedback.as_deref()
    }

    /// Why they could not get help (snake_case of `FeedbackReason`).
    async fn feedback_reason(&self) -> Option<&str> {
        self.row.feedback_reason_code.as_deref()
    }

    /// The referral this one was forwarded from ("referred elsewhere").
    async fn forwarded_from_id(&self) -> Option<ID> {
        self.row.forwarded_from_id.clone().map(ID)
    }

    /// When it was made.
    async fn created_at(&self) -> DateTime {
        self.row.created_at.into()
    }

    /// When it was sent (REQUESTED).
    async fn sent_at(&self) -> Option<DateTime> {
        self.row.sent_at.map(DateTime)
    }

    /// When the provider accepted it.
    async fn accepted_at(&self) -> Option<DateTime> {
        self.row.accepted_at.map(DateTime)
    }

    /// When it ended.
    async fn ended_at(&self) -> Option<DateTime> {
        self.row.ended_at.map(DateTime)
    }

    /// When its personal data will be purged (retention after it ended).
    async fn retain_until(&self) -> Option<DateTime> {
        self.row.retain_until.map(DateTime)
    }

    /// The statuses the caller may move it to now (for the app's buttons).
    async fn next_statuses(&self) -> Vec<ReferralStatus> {
        domain::machine::next_statuses(self.row.status, self.party.side()).into_iter().map(Into::into).collect()
    }

    /// The target service, as the public directory shows it (null once it is no longer listed).
    async fn service(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Service>> {
        service_view(ctx, &self.row.service_id).await
    }

    /// The client, as far as the caller may see them; null when nothing may be seen (a logged
    /// referral or withdrawn consent for the provider, an erased client). Audited.
    async fn client(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ReferralClient>> {
        let state = state(ctx)?;
        let request = request_id(ctx);
        Ok(reads::client_of(&env(state, &request), &self.party, &self.row).await?.map(Into::into))
    }

    /// The history, oldest first: every status change, note and feedback, with who and when.
    async fn events(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ReferralEvent>> {
        let state = state(ctx)?;
        let request = request_id(ctx);
        let events = reads::events_of(&env(state, &request), &self.party, &self.row).await?;
        Ok(events.into_iter().map(Into::into).collect())
    }
}

/// What the person holding a referral's code sees, without an account: the service (name,
/// address, hours, documents to bring) and the status. Nothing about the person.
pub struct PublicReferral {
    row: referral::Model,
}

/// A referral as the person holding its code sees it: nothing about the person.
#[Object]
impl PublicReferral {
    /// Where it is.
    async fn status(&self) -> ReferralStatus {
        self.row.status.into()
    }

    /// The code (as the server spells it, e.g. after reading `O` as 0).
    async fn code(&self) -> &str {
        &self.row.code
    }

    /// The service, with its places, hours and documents to bring (null once no longer listed).
    async fn service(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Service>> {
        service_view(ctx, &self.row.service_id).await
    }

    /// Whether the person already left feedback.
    async fn feedback_given(&self) -> bool {
        self.row.feedback.is_some()
    }
}

/// A referral made by forwarding: enough for the provider to tell the person their new code.
#[derive(SimpleObject)]
pub struct ForwardedReferral {
    /// The new referral's id (the provider sees it only when it went to its own organisation).
    pub id: ID,
    /// The new referral's public code, for the person.
    pub code: String,
    /// REQUESTED.
    pub status: ReferralStatus,
    /// Whether it is live (the client's consent names the new organisation) or logged.
    pub live: bool,
}

/// The outcome of `forwardReferral`.
#[derive(SimpleObject)]
pub struct ForwardResult {
    /// This referral, now ended (REJECTED, or FAILED once accepted; reason code `forwarded`).
    pub referral: Referral,
    /// The new referral to the other service.
    pub forwarded_to: ForwardedReferral,
}

/// A page of referrals.
#[derive(SimpleObject)]
pub struct ReferralConnection {
    /// Referrals of this page.
    pub edges: Vec<ReferralEdge>,
    /// Pagination.
    pub page_info: PageInfo,
}

/// One referral in a list.
#[derive(SimpleObject)]
pub struct ReferralEdge {
    /// The referral.
    pub node: Referral,
    /// Pass as `after` to continue after this referral.
    pub cursor: String,
}

/// How many referrals are in one status.
#[derive(SimpleObject)]
pub struct ReferralStatusCount {
    /// The status.
    pub status: ReferralStatus,
    /// How many of the caller's referrals are in it.
    pub count: i64,
}

pub(super) fn connection(page: crate::pagination::Page<referral::Model>, party: &Party) -> ReferralConnection {
    let page_info = PageInfo::from(&page);
    let edges = (0..page.items.len()).map(|index| page.cursor_of(index)).collect::<Vec<_>>();
    let edges = page
        .items
        .into_iter()
        .zip(edges)
        .map(|(row, cursor)| ReferralEdge { node: Referral { row, party: party.clone() }, cursor })
        .collect();
    ReferralConnection { edges, page_info }
}

fn statuses(status: Option<Vec<ReferralStatus>>) -> Vec<qiao_schema::domain::ReferralStatus> {
    status.unwrap_or_default().into_iter().map(Into::into).collect()
}

/// The caller's side of referrals (social worker or provider staff), with its capability.
async fn party(ctx: &Context<'_>, state: &AppState) -> ApiResult<Party> {
    Party::of(&state.db, caller(ctx), state.clock.now()).await
}

#[derive(Default)]
pub struct ReferralQuery;

#[Object]
impl ReferralQuery {
    /// One referral, for its referring organisation's social workers and its target
    /// organisation's provider staff; null for anyone else, exactly as for an unknown id.
    /// Audited (allowed or denied).
    async fn referral(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The referral's id.")] id: ID,
    ) -> async_graphql::Result<Option<Referral>> {
        let state = state(ctx)?;
        let request = request_id(ctx);
        let viewer = party(ctx, state).await.ok();
        let who = viewer.as_ref().map_or_else(|| Who::of_caller(caller(ctx)), Party::who);
        let row = reads::find(&env(state, &request), viewer.as_ref(), &who, &id).await?;
        Ok(row.zip(viewer).map(|(row, party)| Referral { row, party }))
    }

    /// A referral by its public code, for the person holding it, without an account: the service
    /// (name, address, hours, documents to bring) and the status, nothing about the person. Null
    /// for an unknown code. Limited per client (RATE_LIMITED beyond), so codes cannot be guessed.
    async fn referral_by_code(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The code, e.g. `QX7K2M9PAB` (case, spaces and hyphens do not matter).")] code: String,
    ) -> async_graphql::Result<Option<PublicReferral>> {
        let state = state(ctx)?;
        crate::rate_limit::check(ctx, &state.auth.referral_lookup_limiter)?;
        let request = request_id(ctx);
        Ok(reads::by_code(&env(state, &request), &code).await?.map(|row| PublicReferral { row }))
    }

    /// The social worker's caseload: the referrals its organisation made, overdue follow-ups
    /// first, then by follow-up date, newest first.
    #[graphql(complexity = "20 + first.unwrap_or(20).clamp(1, 50) as usize * child_complexity")]
    async fn my_caseload(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only referrals in these statuses (default: all).")] status: Option<Vec<ReferralStatus>>,
        #[graphql(desc = "Page size, 0 to 50 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the previous page's last edge.")] after: Option<String>,
    ) -> async_graphql::Result<ReferralConnection> {
        let state = state(ctx)?;
        let worker = CaseWorker::of(&state.db, caller(ctx), state.clock.now()).await?;
        let request = PageRequest::new(List::Caseload, first, after.as_deref())?;
        let ids = request_id(ctx);
        let env = env(state, &ids);
        let today = env.now.with_timezone(&crate::clock::CHINA_STANDARD_TIME).date_naive();
        let page = reads::caseload(&env, &worker, &statuses(status), today, &request).await?;
        Ok(connection(page, &Party::Referrer(worker)))
    }

    /// The provider's inbox: referrals to its organisation's services, new ones (REQUESTED) by
    /// default; urgent first, then oldest first.
    #[graphql(complexity = "20 + first.unwrap_or(20).clamp(1, 50) as usize * child_complexity")]
    async fn referral_inbox(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only referrals in these statuses (default: REQUESTED).")] status: Option<Vec<ReferralStatus>>,
        #[graphql(desc = "Page size, 0 to 50 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the previous page's last edge.")] after: Option<String>,
    ) -> async_graphql::Result<ReferralConnection> {
        let state = state(ctx)?;
        let desk = ProviderDesk::of(&state.db, caller(ctx), state.clock.now()).await?;
        let request = PageRequest::new(List::ReferralInbox, first, after.as_deref())?;
        let ids = request_id(ctx);
        let page = reads::inbox(&env(state, &ids), &desk, &statuses(status), &request).await?;
        Ok(connection(page, &Party::Provider(desk)))
    }

    /// How many of the caller's referrals are in each status (social workers: their
    /// organisation's; provider staff: those sent to their organisation). Statuses with none are
    /// left out.
    async fn referral_counts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ReferralStatusCount>> {
        let state = state(ctx)?;
        let party = party(ctx, state).await?;
        let ids = request_id(ctx);
        let counts = reads::counts(&env(state, &ids), &party).await?;
        Ok(counts.into_iter().map(|(status, count)| ReferralStatusCount { status: status.into(), count }).collect())
    }
}

#[derive(Default)]
pub struct ReferralMutation;

#[Object]
impl ReferralMutation {
    /// Refers one of the social worker's clients to a listed service (REQUESTED; DRAFT when
    /// `draft` is true). A live referral needs the client's current consent for the service's
    /// organisation (CONFLICT otherwise); a logged one shares nothing about the person. A retry
    /// with the same `idempotencyKey` and the same arguments returns the first referral; the key
    /// with other arguments is a CONFLICT.
    #[allow(clippy::too_many_arguments)]
    async fn create_referral(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The client (of the caller's organisation).")] client_id: ID,
        #[graphql(desc = "The target service.")] service_id: ID,
        #[graphql(desc = "One of the service's places, when the person should go to that one.")] location_id: Option<
            ID,
        >,
        #[graphql(desc = "Live (shares consented client data with the provider) or logged (shares nothing).")]
        live: bool,
        #[graphql(desc = "The needs in words (sealed; the provider reads them only on a live referral).")]
        needs: Option<String>,
        #[graphql(desc = "Categories of the needs.")] need_categories: Option<Vec<ServiceCategory>>,
        #[graphql(desc = "How fast it needs an answer (default ROUTINE).")] urgency: Option<Urgency>,
        #[graphql(desc = "When to follow it up (a date in China).")] follow_up_on: Option<Date>,
        #[graphql(desc = "Keep it as an unsent DRAFT (default false).")] draft: Option<bool>,
        #[graphql(desc = "A key the phone picks once per referral and resends on every retry (e.g. a UUID).")]
        idempotency_key: String,
    ) -> async_graphql::Result<Referral> {
        let state = state(ctx)?;
        let worker = CaseWorker::of(&state.db, caller(ctx), state.clock.now()).await?;
        let mut categories: Vec<String> =
            need_categories.unwrap_or_default().iter().map(|c| c.code().to_owned()).collect();
        categories.dedup();
        let new = NewReferral {
            client_id: client_id.0,
            service_id: service_id.0,
            location_id: location_id.map(|id| id.0),
            live,
            needs,
            need_categories: categories,
            urgency: urgency.unwrap_or_default().into(),
            follow_up_on: follow_up_on.map(|date| date.0),
            draft: draft.unwrap_or(false),
        };
        let ids = request_id(ctx);
        let row = writes::create(&env(state, &ids), &worker, new, &idempotency_key).await?;
        Ok(Referral { row, party: Party::Referrer(worker) })
    }

    /// Moves a referral through the status machine (see `ReferralStatus`): the target provider
    /// accepts, rejects, starts, holds, completes or fails; either side cancels; the referrer
    /// sends a draft and marks entered-in-error. A move the machine does not have from the current
    /// status is a CONFLICT, one for the other side FORBIDDEN, a missing reason BAD_USER_INPUT;
    /// nothing changes then. With an `idempotencyKey`, a retry returns the referral instead of a
    /// CONFLICT.
    #[allow(clippy::too_many_arguments)]
    async fn transition_referral(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The referral.")] id: ID,
        #[graphql(desc = "The new status.")] to: ReferralStatus,
        #[graphql(desc = "Why, in words (sealed). Needed, or `reasonCode`, for REJECTED, CANCELLED, ON_HOLD, FAILED.")]
        reason: Option<String>,
        #[graphql(desc = "Why, as a code (`reason` alone counts as OTHER).")] reason_code: Option<ReferralReasonCode>,
        #[graphql(desc = "The provider's outcome in words, with COMPLETED or FAILED (sealed).")] outcome: Option<
            String,
        >,
        #[graphql(desc = "A note with the move, e.g. the appointment (sealed; its own history entry).")] note: Option<
            String,
        >,
        #[graphql(desc = "A key the phone picks once per move and resends on every retry.")] idempotency_key: Option<
            String,
        >,
    ) -> async_graphql::Result<Referral> {
        let state = state(ctx)?;
        let party = party(ctx, state).await?;
        let ids = request_id(ctx);
        let mv = Move { to: to.into(), reason_code: reason_code.map(Into::into), reason, outcome, note };
        let row = writes::transition(
            &env(state, &ids),
            &party,
            &id,
            mv,
            idempotency_key.as_deref(),
            state.referral_retention,
        )
        .await?;
        Ok(Referral { row, party })
    }

    /// "Referred elsewhere": the provider cannot help and sends the person on to another listed
    /// service. This referral ends (REJECTED if it was only requested, FAILED once accepted;
    /// reason code `forwarded`) and a new one, linked to it, goes to the other service from the
    /// same social worker. The new one is live only if this one was and the client's current
    /// consent names the new organisation; otherwise it is logged.
    async fn forward_referral(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The referral (sent to the caller's organisation).")] id: ID,
        #[graphql(desc = "The service to send the person to instead.")] service_id: ID,
        #[graphql(desc = "Why, in words (sealed).")] reason: Option<String>,
    ) -> async_graphql::Result<ForwardResult> {
        let state = state(ctx)?;
        let desk = ProviderDesk::of(&state.db, caller(ctx), state.clock.now()).await?;
        let ids = request_id(ctx);
        let (old, new) =
            writes::forward(&env(state, &ids), &desk, &id, &service_id, reason, state.referral_retention).await?;
        Ok(ForwardResult {
            referral: Referral { row: old, party: Party::Provider(desk) },
            forwarded_to: ForwardedReferral {
                id: ID(new.id),
                code: new.code,
                status: new.status.into(),
                live: new.live,
            },
        })
    }

    /// Adds a note (sealed) to a referral's history, by either side.
    async fn add_referral_note(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The referral.")] id: ID,
        #[graphql(desc = "The note, 1 to 4000 characters.")] note: String,
    ) -> async_graphql::Result<Referral> {
        let state = state(ctx)?;
        let party = party(ctx, state).await?;
        let ids = request_id(ctx);
        let row = writes::add_note(&env(state, &ids), &party, &id, &note).await?;
        Ok(Referral { row, party })
    }

    /// The person's own word on a referral, with its code and no account: did they get help,
    /// and if not, why. A later answer replaces an earlier one. Limited per client like
    /// `referralByCode`. NOT_FOUND for an unknown code.
    async fn referral_feedback(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The referral's public code.")] code: String,
        #[graphql(desc = "Whether they got help.")] got_help: bool,
        #[graphql(desc = "Why not, when they did not.")] reason_code: Option<FeedbackReason>,
        #[graphql(desc = "A key the phone picks once per answer and resends on every retry.")] idempotency_key: Option<
            String,
        >,
    ) -> async_graphql::Result<PublicReferral> {
        let state = state(ctx)?;
        crate::rate_limit::check(ctx, &state.auth.referral_lookup_limiter)?;
        let ids = request_id(ctx);
        let row = writes::feedback(
            &env(state, &ids),
            &code,
            got_help,
            reason_code.map(Into::into),
            idempotency_key.as_deref(),
        )
        .await?;
        Ok(PublicReferral { row })
    }
}
