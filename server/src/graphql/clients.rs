//! Clients, household links, consents and erasure: social workers record their organisation's
//! clients and consents; admins erase a client on request. Domain rules (scopes, sealing,
//! masking, audit) live in `crate::clients`.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use qiao_schema::entity::client_link;

use super::common::{DateTime, PageInfo, language_of};
use super::context::{request_id, state};
use super::objects::Organization;
use super::referrals::{ReferralConnection, connection as referral_connection, env as referral_env};
use crate::AppState;
use crate::auth::caller;
use crate::auth::policy::{Admin, CaseWorker};
use crate::clients::consent::{self as consents, ConsentView, NewConsent};
use crate::clients::{self as domain, ClientSummary, ClientView, NewClient};
use crate::error::ApiError;
use crate::pagination::{List, PageRequest};
use crate::referrals::Party;
use crate::referrals::reads as referral_reads;

/// A client's personal field, as a consent names what it shares.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::clients::ClientField")]
pub enum ClientField {
    /// The display name or alias.
    DisplayName,
    /// The phone number.
    Phone,
    /// The preferred language or dialect.
    PreferredLanguage,
    /// The social worker's notes (may be sensitive).
    Notes,
}

/// What a client's notes touch that makes them sensitive personal information.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::clients::SensitiveKind")]
pub enum SensitiveKind {
    /// Health.
    Health,
    /// Identity status: hukou, residence permit.
    IdentityStatus,
    /// Legal matters.
    Legal,
    /// A child under 14.
    ChildUnder14,
}

/// How a client is related to another client of the same household.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::clients::Relation")]
pub enum ClientRelation {
    /// The client is a child of the related client (a school place depends on the parent's
    /// documents).
    ChildOf,
    /// The client is the related client's spouse.
    SpouseOf,
    /// The client is the related client's guardian.
    GuardianOf,
    /// Another relative.
    RelativeOf,
}

/// How a consent was captured.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "qiao_schema::domain::ConsentMethod")]
pub enum ConsentMethod {
    /// Said aloud to the social worker, who recorded it.
    Spoken,
    /// Signed on paper (the paper stays with the organisation).
    Signed,
    /// Given by the person in the app.
    InApp,
}

/// A household link between two clients: `client` is `relation` of `relatedClient`.
#[derive(SimpleObject, Clone)]
pub struct ClientLink {
    /// Link id.
    pub id: ID,
    /// The client (e.g. the child).
    pub client_id: ID,
    /// The related client (e.g. the parent).
    pub related_client_id: ID,
    /// How they are related.
    pub relation: ClientRelation,
    /// When the link was recorded.
    pub created_at: DateTime,
}

impl ClientLink {
    fn of(row: client_link::Model) -> Option<Self> {
        Some(Self {
            relation: domain::Relation::parse(&row.relation)?.into(),
            id: ID(row.id),
            client_id: ID(row.client_id),
            related_client_id: ID(row.related_client_id),
            created_at: row.created_at.into(),
        })
    }
}

/// A client's whole record (see the `#[Object]` impl for its GraphQL description).
pub struct Client(ClientView);

/// A client's whole record, for social workers of the client's organisation. Reading it is
/// recorded in the audit trail. After erasure every personal field is null and `erasedAt` is set.
#[Object]
impl Client {
    /// Client id.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// Display name or alias (null once erased).
    async fn display_name(&self) -> Option<&str> {
        self.0.display_name.as_deref()
    }

    /// Phone number as normalised by the server (e.g. `13912345678`), if given.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }

    /// The phone masked for screens others may see: `139****5678`.
    async fn phone_masked(&self) -> Option<String> {
        self.0.phone_masked()
    }

    /// Preferred language or dialect as a language code (e.g. `zh-cn`, `yue`, `wuu`, `hmn`).
    async fn preferred_language(&self) -> Option<&str> {
        self.0.preferred_language.as_deref()
    }

    /// The social worker's notes.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }

    /// What the notes touch that is sensitive (health, identity status, legal, a child under 14).
    async fn sensitive_kinds(&self) -> Vec<SensitiveKind> {
        self.0.sensitive_kinds.iter().map(|kind| (*kind).into()).collect()
    }

    /// Whether the client agreed to content-free status messages on their phone.
    async fn accepts_messages(&self) -> bool {
        self.0.accepts_messages
    }

    /// When the client was recorded.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    /// When the record last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }

    /// When the client was erased (on request or at the end of retention); null while current.
    async fn erased_at(&self) -> Option<DateTime> {
        self.0.erased_at.map(DateTime)
    }

    /// Household links in either direction.
    async fn household(&self) -> Vec<ClientLink> {
        self.0.links.iter().cloned().filter_map(ClientLink::of).collect()
    }

    /// The client's referrals made by your organisation, newest first (reading them is audited,
    /// like the caseload).
    #[graphql(complexity = "20 + first.unwrap_or(20).clamp(1, 50) as usize * child_complexity")]
    async fn referrals(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0 to 50 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the previous page's last edge.")] after: Option<String>,
    ) -> async_graphql::Result<ReferralConnection> {
        let (state, worker) = case_worker(ctx).await?;
        let request = PageRequest::new(List::ClientReferrals, first, after.as_deref())?;
        let ids = request_id(ctx);
        let page = referral_reads::of_client(&referral_env(state, &ids), &worker, &self.0.id, &request).await?;
        Ok(referral_connection(page, &Party::Referrer(worker)))
    }

    /// The client's consents, newest first (reading them is audited).
    async fn consents(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Consent>> {
        let (state, worker) = case_worker(ctx).await?;
        let rows =
            consents::list(&state.db, &state.auth.cipher, &worker, &self.0.id, request_id(ctx).as_deref()).await?;
        Ok(rows.into_iter().map(Consent).collect())
    }
}

/// A client as lists show it: masked.
#[derive(SimpleObject, Clone)]
pub struct ClientListItem {
    /// Client id (open the whole record with `client(id:)`).
    pub id: ID,
    /// The display name masked: its first character, then `*` (e.g. `演***`).
    pub display_name_masked: String,
    /// The phone masked (`139****5678`), if given.
    pub phone_masked: Option<String>,
    /// Whether the notes touch something sensitive.
    pub sensitive: bool,
    /// When the client was recorded.
    pub created_at: DateTime,
}

impl From<ClientSummary> for ClientListItem {
    fn from(summary: ClientSummary) -> Self {
        Self {
            id: ID(summary.id),
            display_name_masked: summary.display_name_masked,
            phone_masked: summary.phone_masked,
            sensitive: summary.sensitive,
            created_at: summary.created_at.into(),
        }
    }
}

/// One client of a page.
#[derive(SimpleObject)]
pub struct ClientEdge {
    /// Cursor of this client (pass as `after` to continue after it).
    pub cursor: String,
    /// The client, masked.
    pub node: ClientListItem,
}

/// A page of clients, newest first.
#[derive(SimpleObject)]
pub struct ClientConnection {
    /// Clients of this page.
    pub edges: Vec<ClientEdge>,
    /// Pagination.
    pub page_info: PageInfo,
}

/// A consent as the API shows it.
pub struct Consent(ConsentView);

/// A client's consent to share some of their data with one organisation for one purpose.
#[Object]
impl Consent {
    /// Consent id.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The client who consented.
    async fn client_id(&self) -> ID {
        ID(self.0.client_id.clone())
    }

    /// The organisation that may receive the data.
    async fn recipient_organization_id(&self) -> ID {
        ID(self.0.recipient_organization_id.clone())
    }

    /// The organisation that may receive the data, named in the requested language
    /// (`Accept-Language`); null if it is no longer in the directory.
    async fn recipient_organization(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organization>> {
        let state = state(ctx)?;
        let language = language_of(ctx, None);
        let row = consents::recipient_of(&state.db, &self.0).await?;
        Ok(row.map(|o| Organization {
            name: language.pick(&o.name_zh, &o.name_en).to_owned(),
            description: language.pick(&o.description_zh, &o.description_en).to_owned(),
            website: o.website,
            id: o.id,
        }))
    }

    /// Which of the client's fields it covers.
    async fn data_scope(&self) -> Vec<ClientField> {
        self.0.data_scope.iter().map(|field| (*field).into()).collect()
    }

    /// What the data is for (null once the client was erased).
    async fn purpose(&self) -> Option<&str> {
        self.0.purpose.as_deref()
    }

    /// How it was captured.
    async fn method(&self) -> ConsentMethod {
        self.0.method.into()
    }

    /// The account that captured it.
    async fn captured_by(&self) -> ID {
        ID(self.0.captured_by.clone())
    }

    /// When it was captured.
    async fn captured_at(&self) -> DateTime {
        self.0.captured_at.into()
    }

    /// When it was withdrawn; null while it holds.
    async fn withdrawn_at(&self) -> Option<DateTime> {
        self.0.withdrawn_at.map(DateTime)
    }
}

/// The answer of `eraseClient`.
#[derive(SimpleObject)]
pub struct EraseClientResult {
    /// The erased client.
    pub client_id: ID,
    /// True: every personal value of the client is gone (also when it was erased before).
    pub erased: bool,
}

/// The app state and the caller's social-worker capability (UNAUTHENTICATED when anonymous,
/// FORBIDDEN for other roles and for workers without an organisation).
async fn case_worker<'a>(ctx: &Context<'a>) -> async_graphql::Result<(&'a AppState, CaseWorker)> {
    let state = state(ctx)?;
    let worker = CaseWorker::of(&state.db, caller(ctx), state.clock.now()).await?;
    Ok((state, worker))
}

#[derive(Default)]
pub struct ClientQuery;

#[Object]
impl ClientQuery {
    /// A client of your organisation, whole (social workers). Null when there is no such client
    /// or you may not see it (another organisation's, or you are not a social worker): the two
    /// read the same. Every call is recorded in the audit trail, allowed or denied.
    async fn client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Client id.")] id: ID,
    ) -> async_graphql::Result<Option<Client>> {
        let state = state(ctx)?;
        let now = state.clock.now();
        let request = request_id(ctx);
        match CaseWorker::of(&state.db, caller(ctx), now).await {
            Ok(worker) => {
                let view =
                    domain::get(&state.db, &state.auth.cipher, &worker, &id, "view client", request.as_deref()).await?;
                Ok(view.map(Client))
            }
            Err(ApiError::Forbidden | ApiError::Unauthenticated) => {
                domain::record_denied_read(&state.db, caller(ctx).account(), &id, request.as_deref(), now).await?;
                Ok(None)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Your organisation's clients, newest first, masked (social workers). With `phone`, only the
    /// client with that number (found by a keyed digest: nothing is decrypted to search).
    #[graphql(complexity = "20 + first.unwrap_or(20).clamp(1, 50) as usize * child_complexity")]
    async fn clients(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0 to 50 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the previous page's end.")] after: Option<String>,
        #[graphql(desc = "Only the client with this phone number, as dialled in China.")] phone: Option<String>,
    ) -> async_graphql::Result<ClientConnection> {
        let (state, worker) = case_worker(ctx).await?;
        let request = PageRequest::new(List::Clients, first, after.as_deref())?;
        let page = domain::list(
            &state.db,
            &state.auth.cipher,
            &worker,
            phone.as_deref(),
            &request,
            request_id(ctx).as_deref(),
        )
        .await?;
        let page_info = PageInfo::from(&page);
        let edges = page
            .items
            .iter()
            .enumerate()
            .map(|(index, item)| ClientEdge { cursor: page.cursor_of(index), node: item.clone().into() })
            .collect();
        Ok(ClientConnection { edges, page_info })
    }

    /// The client of your organisation with this phone number, masked; null when there is none
    /// (social workers). Open the whole record with `client(id:)`.
    async fn client_by_phone(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Phone number as dialled in China, e.g. 13912345678.")] phone: String,
    ) -> async_graphql::Result<Option<ClientListItem>> {
        let (state, worker) = case_worker(ctx).await?;
        let found =
            domain::find_by_phone(&state.db, &state.auth.cipher, &worker, &phone, request_id(ctx).as_deref()).await?;
        Ok(found.map(ClientListItem::from))
    }

    /// A client's consents, newest first (social workers of the client's organisation; NOT_FOUND
    /// otherwise).
    async fn client_consents(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Client id.")] client_id: ID,
    ) -> async_graphql::Result<Vec<Consent>> {
        let (state, worker) = case_worker(ctx).await?;
        let rows =
            consents::list(&state.db, &state.auth.cipher, &worker, &client_id, request_id(ctx).as_deref()).await?;
        Ok(rows.into_iter().map(Consent).collect())
    }
}

#[derive(Default)]
pub struct ClientMutation;

#[Object]
impl ClientMutation {
    /// Records a client of your organisation (social workers): the least personal data that
    /// works. Every value is encrypted at rest. Send an `idempotencyKey` so that a retry returns
    /// the first client instead of making a second (the same key with other values is a
    /// CONFLICT). A phone already on a client of your organisation is a CONFLICT: find that
    /// client with `clients(phone:)`.
    #[allow(clippy::too_many_arguments)]
    async fn create_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Display name or alias, 1 to 200 characters (an alias is fine).")] display_name: String,
        #[graphql(desc = "Phone number as dialled in China, e.g. 13912345678 (optional).")] phone: Option<String>,
        #[graphql(desc = "Preferred language or dialect as a language code, e.g. zh-CN, yue (Cantonese), \
                          wuu (Shanghainese), hsn (Xiang), nan (Minnan).")]
        preferred_language: Option<String>,
        #[graphql(desc = "Case notes, at most 4000 characters; flag what they touch in sensitiveKinds.")] notes: Option<
            String,
        >,
        #[graphql(desc = "What the notes touch that is sensitive (default none).")] sensitive_kinds: Option<
            Vec<SensitiveKind>,
        >,
        #[graphql(desc = "Whether the client agrees to content-free status messages on their mobile \
                          phone (needs a mobile number; default false).")]
        accepts_messages: Option<bool>,
        #[graphql(desc = "A key of at most 64 characters (e.g. a UUID) chosen once per new client and \
                          resent with every retry.")]
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<Client> {
        let (state, worker) = case_worker(ctx).await?;
        let new = NewClient {
            display_name,
            phone,
            preferred_language,
            notes,
            sensitive_kinds: sensitive_kinds.unwrap_or_default().into_iter().map(Into::into).collect(),
            accepts_messages: accepts_messages.unwrap_or(false),
            idempotency_key,
        };
        let view = domain::create(&state.db, &state.auth.cipher, &worker, new, request_id(ctx).as_deref()).await?;
        Ok(Client(view))
    }

    /// Changes a client of your organisation (social workers): only the arguments given change;
    /// an empty text clears the phone, language or notes. Checked like `createClient`.
    #[allow(clippy::too_many_arguments)]
    async fn update_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The client.")] id: ID,
        #[graphql(desc = "New display name or alias, 1 to 200 characters.")] display_name: Option<String>,
        #[graphql(desc = "New phone number (empty: none).")] phone: Option<String>,
        #[graphql(desc = "New preferred language or dialect code (empty: none).")] preferred_language: Option<String>,
        #[graphql(desc = "New case notes, at most 4000 characters (empty: none).")] notes: Option<String>,
        #[graphql(desc = "What the notes touch that is sensitive (replaces the list).")] sensitive_kinds: Option<
            Vec<SensitiveKind>,
        >,
        #[graphql(desc = "Whether the client agrees to content-free status messages (needs a mobile number).")]
        accepts_messages: Option<bool>,
    ) -> async_graphql::Result<Client> {
        let (state, worker) = case_worker(ctx).await?;
        let changes = domain::ClientChanges {
            display_name,
            phone,
            preferred_language,
            notes,
            sensitive_kinds: sensitive_kinds.map(|kinds| kinds.into_iter().map(Into::into).collect()),
            accepts_messages,
        };
        let view =
            domain::update(&state.db, &state.auth.cipher, &worker, &id, changes, request_id(ctx).as_deref()).await?;
        Ok(Client(view))
    }

    /// Links two clients of your organisation as one household (social workers): `clientId` is
    /// `relation` of `relatedClientId`. Linking again returns the existing link.
    async fn link_clients(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The client (e.g. the child).")] client_id: ID,
        #[graphql(desc = "The related client (e.g. the parent).")] related_client_id: ID,
        #[graphql(desc = "How the client is related.")] relation: ClientRelation,
    ) -> async_graphql::Result<ClientLink> {
        let (state, worker) = case_worker(ctx).await?;
        let row = domain::link(
            &state.db,
            &worker,
            &client_id,
            &related_client_id,
            relation.into(),
            request_id(ctx).as_deref(),
        )
        .await?;
        ClientLink::of(row).ok_or_else(|| ApiError::internal("a stored relation is unknown").into())
    }

    /// Records a client's consent to share some of their data with one organisation for one
    /// purpose (social workers of the client's organisation). A live referral to a provider needs
    /// a current consent for the provider's organisation; it shows the provider only `dataScope`.
    async fn record_consent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The client.")] client_id: ID,
        #[graphql(desc = "The organisation that may receive the data.")] recipient_organization_id: ID,
        #[graphql(desc = "What the data is for, 1 to 500 characters.")] purpose: String,
        #[graphql(desc = "Which fields it covers (default: DISPLAY_NAME, PHONE, PREFERRED_LANGUAGE).")]
        data_scope: Option<Vec<ClientField>>,
        #[graphql(desc = "How it was captured (default SPOKEN).")] method: Option<ConsentMethod>,
    ) -> async_graphql::Result<Consent> {
        let (state, worker) = case_worker(ctx).await?;
        let new = NewConsent {
            client_id: client_id.0,
            recipient_organization_id: recipient_organization_id.0,
            purpose,
            data_scope: data_scope.map(|fields| fields.into_iter().map(Into::into).collect()),
            method: method.map(Into::into),
        };
        let view = consents::record(&state.db, &state.auth.cipher, &worker, new, request_id(ctx).as_deref()).await?;
        Ok(Consent(view))
    }

    /// Withdraws a consent (social workers of the client's organisation): from now on the
    /// recipient sees nothing of the client through it; referrals keep their status. Withdrawing
    /// again answers the same.
    async fn withdraw_consent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The consent.")] consent_id: ID,
    ) -> async_graphql::Result<Consent> {
        let (state, worker) = case_worker(ctx).await?;
        let view =
            consents::withdraw(&state.db, &state.auth.cipher, &worker, &consent_id, request_id(ctx).as_deref()).await?;
        Ok(Consent(view))
    }

    /// Erases a client on their request (admins): every personal value of the client, its
    /// consents' purposes, its referrals' texts and notes and its queued messages are removed;
    /// referral statuses stay, anonymised. Cannot be undone.
    async fn erase_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The client.")] client_id: ID,
    ) -> async_graphql::Result<EraseClientResult> {
        let state = state(ctx)?;
        let admin = Admin::of(&state.db, caller(ctx), state.clock.now()).await?;
        let erased =
            crate::clients::retention::erase(&state.db, &admin, &client_id, request_id(ctx).as_deref()).await?;
        Ok(EraseClientResult { client_id, erased })
    }
}
