//! Clients of social workers: the least personal data that works (a display name or alias, an
//! optional phone, a preferred language or dialect, notes with their sensitive kinds), household
//! links, and the consents that let a provider see some of it ([`consent`]). Erasure on request
//! and retention live in [`retention`]; the demo client in [`demo`]. What a provider may see of a
//! client under consent: [`consent::shared_fields`].
//!
//! Rules, all checked here (resolvers only ask for the capability):
//! - a client belongs to the social worker's organisation; another organisation's client reads
//!   exactly like a missing one;
//! - every personal value is sealed in its `*_sealed` column, bound to its row and field; a client
//!   is found by phone through a keyed digest (HMAC with the organisation id as context), never
//!   by opening the table;
//! - lists show masked values only (`139****5678`, `演***`); the full record comes one at a time;
//! - every read and write of a client's personal data appends an audit row (field names, never
//!   values), and so does every denied read.

pub mod consent;
pub mod demo;
pub mod retention;

use chrono::{DateTime, Utc};
use qiao_schema::domain::Role;
use qiao_schema::entity::{client, client_link};
use sea_orm::{
    ActiveEnum, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};
use serde::Serialize;

use crate::auth::Account;
use crate::auth::policy::{Actor, CaseWorker};
use crate::error::{ApiError, ApiResult};
use crate::kernel::begin_write;
use crate::pagination::{Page, PageRequest};
use crate::privacy::audit::{self, AuditAction, AuditEntry};
use crate::privacy::crypto::{DataCipher, Slot};
use crate::privacy::idempotency::{Claim, IdempotencyKey};
use crate::privacy::{mask_name, mask_phone};
use crate::values::{BoundedText, Field, LanguageTag, PhoneNumber, TextLimit, ValueError};

/// A client's personal fields, by their stable names (consent scopes, audit rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ClientField {
    DisplayName,
    Phone,
    PreferredLanguage,
    Notes,
}

impl ClientField {
    pub const ALL: [Self; 4] = [Self::DisplayName, Self::Phone, Self::PreferredLanguage, Self::Notes];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DisplayName => "display_name",
            Self::Phone => "phone",
            Self::PreferredLanguage => "preferred_language",
            Self::Notes => "notes",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|field| field.as_str() == name)
    }

    /// A comma-separated list as stored (`consent.data_scope`); unknown names are skipped.
    pub fn parse_list(text: &str) -> Vec<Self> {
        text.split(',').filter_map(|name| Self::parse(name.trim())).collect()
    }

    /// The stored form of a list, in [`ALL`](Self::ALL)'s order and without repeats.
    pub fn join(fields: &[Self]) -> String {
        Self::ALL.into_iter().filter(|field| fields.contains(field)).map(Self::as_str).collect::<Vec<_>>().join(",")
    }
}

/// What case notes may touch that makes them sensitive (PIPL's sensitive personal information).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum SensitiveKind {
    Health,
    /// Hukou or residence-permit status.
    IdentityStatus,
    Legal,
    /// The notes concern a child under 14.
    ChildUnder14,
}

impl SensitiveKind {
    pub const ALL: [Self; 4] = [Self::Health, Self::IdentityStatus, Self::Legal, Self::ChildUnder14];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Health => "health",
            Self::IdentityStatus => "identity_status",
            Self::Legal => "legal",
            Self::ChildUnder14 => "child_under_14",
        }
    }

    fn parse_list(text: &str) -> Vec<Self> {
        text.split(',').filter_map(|name| Self::ALL.into_iter().find(|kind| kind.as_str() == name.trim())).collect()
    }

    fn join(kinds: &[Self]) -> String {
        Self::ALL.into_iter().filter(|kind| kinds.contains(kind)).map(Self::as_str).collect::<Vec<_>>().join(",")
    }
}

/// How two clients of one household are related (`client` is `relation` of `related`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Relation {
    ChildOf,
    SpouseOf,
    GuardianOf,
    RelativeOf,
}

impl Relation {
    pub const ALL: [Self; 4] = [Self::ChildOf, Self::SpouseOf, Self::GuardianOf, Self::RelativeOf];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ChildOf => "child_of",
            Self::SpouseOf => "spouse_of",
            Self::GuardianOf => "guardian_of",
            Self::RelativeOf => "relative_of",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|relation| relation.as_str() == text)
    }
}

/// A new client as a social worker records it.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub display_name: String,
    pub phone: Option<String>,
    pub preferred_language: Option<String>,
    pub notes: Option<String>,
    pub sensitive_kinds: Vec<SensitiveKind>,
    pub accepts_messages: bool,
    /// Sent again with every retry of the same request.
    pub idempotency_key: Option<String>,
}

/// A client's whole record, opened, for its own organisation's social workers.
#[derive(Debug, Clone)]
pub struct ClientView {
    pub id: String,
    pub organization_id: String,
    /// `None` once erased.
    pub display_name: Option<String>,
    pub phone: Option<String>,
    pub preferred_language: Option<String>,
    pub notes: Option<String>,
    pub sensitive_kinds: Vec<SensitiveKind>,
    pub accepts_messages: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub erased_at: Option<DateTime<Utc>>,
    /// Household links in either direction.
    pub links: Vec<client_link::Model>,
}

impl ClientView {
    pub fn phone_masked(&self) -> Option<String> {
        self.phone.as_deref().map(mask_phone)
    }
}

/// A client as lists show it: masked.
#[derive(Debug, Clone)]
pub struct ClientSummary {
    pub id: String,
    pub display_name_masked: String,
    pub phone_masked: Option<String>,
    pub sensitive: bool,
    pub created_at: DateTime<Utc>,
}

/// The fields of a client a provider may see under a current consent, opened (for the referral
/// views). Only the fields in the consent's scope are `Some`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharedClient {
    /// The consent that allows it.
    pub consent_id: String,
    /// The fields shared (the consent's scope).
    pub fields: Vec<ClientField>,
    pub display_name: Option<String>,
    pub phone: Option<String>,
    pub preferred_language: Option<String>,
    pub notes: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Audit helpers

/// The role name audit rows carry.
pub fn role_name(role: Role) -> String {
    role.to_value()
}

/// An audit entry of `actor` (account, role, organisation).
pub(crate) fn entry_of(
    actor: &Actor,
    record_type: &'static str,
    record_id: &str,
    fields: Vec<&'static str>,
    action: AuditAction,
    purpose: &str,
    request_id: Option<&str>,
) -> AuditEntry {
    entry_for(Some(&actor.account), record_type, record_id, fields, action, purpose, true, request_id, actor.now)
}

/// An audit entry for an account (or the anonymous public when `None`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn entry_for(
    account: Option<&Account>,
    record_type: &'static str,
    record_id: &str,
    fields: Vec<&'static str>,
    action: AuditAction,
    purpose: &str,
    allowed: bool,
    request_id: Option<&str>,
    at: DateTime<Utc>,
) -> AuditEntry {
    AuditEntry {
        account_id: account.map(|account| account.id.clone()),
        role: account.map_or_else(|| "public".to_owned(), |account| role_name(account.role)),
        organization_id: account.and_then(|account| account.organization_id.clone()),
        record_type,
        // An id typed by the caller is kept short: it is a key, not a place to store text.
        record_id: record_id.chars().take(64).collect(),
        fields,
        action,
        purpose: purpose.to_owned(),
        allowed,
        request_id: request_id.map(str::to_owned),
        at,
    }
}

fn field_names(fields: &[ClientField]) -> Vec<&'static str> {
    fields.iter().map(|field| field.as_str()).collect()
}

/// Records that someone who may not see clients asked for one by id (the answer reads like a
/// missing client: null). Used for every caller that is not a social worker of an organisation.
pub async fn record_denied_read(
    db: &DatabaseConnection,
    account: Option<&Account>,
    client_id: &str,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let entry = entry_for(
        account,
        "client",
        client_id,
        field_names(&ClientField::ALL),
        AuditAction::Read,
        "view client",
        false,
        request_id,
        now,
    );
    audit::record(db, &[entry]).await
}

// ---------------------------------------------------------------------------------------------
// Writes

/// The checked values of a new client.
struct CheckedClient {
    display_name: String,
    phone: Option<PhoneNumber>,
    preferred_language: Option<String>,
    notes: Option<String>,
    sensitive_kinds: Vec<SensitiveKind>,
    accepts_messages: bool,
}

impl CheckedClient {
    fn of(new: &NewClient) -> ApiResult<Self> {
        let display_name = BoundedText::parse(Field::ClientDisplayName, &new.display_name, TextLimit::Name)?;
        let phone = match new.phone.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
            Some(text) => {
                let phone = PhoneNumber::parse(Field::ClientPhone, text)?;
                // A person's own number: a mobile or a landline, never a hotline like 12348.
                if !phone.is_mobile() && !phone.as_str().contains('-') {
                    return Err(ValueError::new(
                        Field::ClientPhone,
                        "give the client's own mobile or landline number, e.g. 13912345678 \
                         (请填写客户本人的手机或座机号码)",
                    )
                    .into());
                }
                Some(phone)
            }
            None => None,
        };
        let preferred_language = match new.preferred_language.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(text) => Some(LanguageTag::parse(Field::ClientPreferredLanguage, text)?.into_string()),
            None => None,
        };
        let notes = BoundedText::parse_optional(Field::ClientNotes, new.notes.as_deref(), TextLimit::LongText)?;
        if new.accepts_messages && phone.as_ref().is_none_or(|phone| !phone.is_mobile()) {
            return Err(ApiError::bad_input(
                "acceptsMessages",
                "status messages go to a mobile number: give one, or leave acceptsMessages off \
                 (接收短信需要手机号码)",
            ));
        }
        Ok(Self {
            display_name: display_name.into_string(),
            phone,
            preferred_language,
            notes: notes.map(BoundedText::into_string),
            sensitive_kinds: new.sensitive_kinds.clone(),
            accepts_messages: new.accepts_messages,
        })
    }

    /// The fields that hold a value, for the audit row.
    fn fields(&self) -> Vec<&'static str> {
        let mut fields = vec![ClientField::DisplayName.as_str()];
        if self.phone.is_some() {
            fields.push(ClientField::Phone.as_str());
        }
        if self.preferred_language.is_some() {
            fields.push(ClientField::PreferredLanguage.as_str());
        }
        if self.notes.is_some() {
            fields.push(ClientField::Notes.as_str());
        }
        fields
    }
}

/// The keyed digest a client's phone is found by, within its organisation.
pub fn phone_digest(cipher: &DataCipher, organization_id: &str, phone: &PhoneNumber) -> ApiResult<String> {
    cipher.digest(organization_id, phone.as_str())
}

/// Records a new client of the social worker's organisation. With an idempotency key, a retry
/// (same key, same values) returns the first client and creates nothing; the same key with other
/// values is a CONFLICT. A phone already on another current client of the organisation is a
/// CONFLICT too (find that client with `clients(phone:)`): one person, one record.
pub async fn create(
    db: &DatabaseConnection,
    cipher: &DataCipher,
    worker: &CaseWorker,
    new: NewClient,
    request_id: Option<&str>,
) -> ApiResult<ClientView> {
    let checked = CheckedClient::of(&new)?;
    let organization_id = worker.organization_id().to_owned();
    let key = match new.idempotency_key.as_deref() {
        Some(key) => {
            // What the request says, as a keyed digest: the stored payload digest must not be a
            // plain hash of a name and a phone, which anyone could test guesses against.
            let payload = serde_json::json!([
                checked.display_name,
                checked.phone.as_ref().map(PhoneNumber::as_str),
                checked.preferred_language,
                checked.notes,
                SensitiveKind::join(&checked.sensitive_kinds),
                checked.accepts_messages,
            ]);
            let payload = cipher.digest(&worker.account.id, &payload.to_string())?;
            Some(IdempotencyKey::new("createClient", &worker.account.id, key, &payload)?)
        }
        None => None,
    };
    if let Some(key) = &key
        && let Some(existing) = key.replay(db, worker.now).await?
    {
        return replayed(db, cipher, worker, &existing, request_id).await;
    }
    let digest = checked.phone.as_ref().map(|phone| phone_digest(cipher, &organization_id, phone)).transpose()?;
    let id = uuid::Uuid::now_v7().to_string();
    let txn = begin_write(db).await?;
    if let Some(key) = &key
        && key.claim(&txn, &id, worker.now).await? == Claim::Taken
    {
        txn.rollback().await?;
        let existing = key.replay(db, worker.now).await?.ok_or_else(|| ApiError::internal("a taken key vanished"))?;
        return replayed(db, cipher, worker, &existing, request_id).await;
    }
    if let Some(digest) = &digest {
        if txn.get_database_backend() == DbBackend::Postgres {
            // Two first records of one phone at once: the second waits and then finds the first.
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock(hashtext($1))",
                [format!("client-phone/{organization_id}/{digest}").into()],
            ))
            .await?;
        }
        let taken = client::Entity::find()
            .filter(client::Column::OrganizationId.eq(organization_id.clone()))
            .filter(client::Column::PhoneDigest.eq(digest.clone()))
            .filter(client::Column::ErasedAt.is_null())
            .one(&txn)
            .await?;
        if taken.is_some() {
            return Err(ApiError::conflict(
                "a client with this phone number is already recorded: find it with clients(phone:) \
                 (该手机号码已有客户记录，请按手机号查找)",
            ));
        }
    }
    let slot = |field: &'static str| Slot { table: "client", id: &id, field };
    let now = worker.now;
    client::Entity::insert(client::ActiveModel {
        id: Set(id.clone()),
        organization_id: Set(organization_id.clone()),
        created_by: Set(worker.account.id.clone()),
        display_name_sealed: Set(cipher.seal(slot("display_name"), &checked.display_name)?),
        phone_sealed: Set(cipher.seal_optional(slot("phone"), checked.phone.as_ref().map(PhoneNumber::as_str))?),
        phone_digest: Set(digest),
        preferred_language_sealed: Set(
            cipher.seal_optional(slot("preferred_language"), checked.preferred_language.as_deref())?
        ),
        notes_sealed: Set(cipher.seal_optional(slot("notes"), checked.notes.as_deref())?),
        sensitive_kinds: Set(SensitiveKind::join(&checked.sensitive_kinds)),
        accepts_messages: Set(checked.accepts_messages),
        created_at: Set(now),
        updated_at: Set(now),
        erased_at: Set(None),
    })
    .exec_without_returning(&txn)
    .await?;
    audit::append(
        &txn,
        &entry_of(worker, "client", &id, checked.fields(), AuditAction::Create, "create client", request_id),
    )
    .await?;
    txn.commit().await?;
    Ok(ClientView {
        id,
        organization_id,
        display_name: Some(checked.display_name),
        phone: checked.phone.map(PhoneNumber::into_string),
        preferred_language: checked.preferred_language,
        notes: checked.notes,
        sensitive_kinds: checked.sensitive_kinds,
        accepts_messages: checked.accepts_messages,
        created_at: now,
        updated_at: now,
        erased_at: None,
        links: Vec::new(),
    })
}

/// The first answer of a retried create, read again (and audited as a read).
async fn replayed(
    db: &DatabaseConnection,
    cipher: &DataCipher,
    worker: &CaseWorker,
    id: &str,
    request_id: Option<&str>,
) -> ApiResult<ClientView> {
    get(db, cipher, worker, id, "create client (retry)", request_id)
        .await?
        .ok_or_else(|| ApiError::internal("the client of a replayed createClient is gone"))
}

/// Links two clients of the worker's organisation as one household (`client` is `relation` of
/// `related`, e.g. a child of a parent whose documents a school place depends on). Linking again
/// returns the existing link.
pub async fn link(
    db: &DatabaseConnection,
    worker: &CaseWorker,
    client_id: &str,
    related_client_id: &str,
    relation: Relation,
    request_id: Option<&str>,
) -> ApiResult<client_link::Model> {
    if client_id == related_client_id {
        return Err(ApiError::bad_input("relatedClientId", "a client cannot be linked to themselves (不能与自己关联)"));
    }
    let txn = begin_write(db).await?;
    for id in [client_id, related_client_id] {
        own_client(&txn, worker, id, true).await?;
    }
    let existing = client_link::Entity::find()
        .filter(client_link::Column::ClientId.eq(client_id))
        .filter(client_link::Column::RelatedClientId.eq(related_client_id))
        .filter(client_link::Column::Relation.eq(relation.as_str()))
        .one(&txn)
        .await?;
    if let Some(existing) = existing {
        txn.rollback().await?;
        return Ok(existing);
    }
    let row = client_link::Model {
        id: uuid::Uuid::now_v7().to_string(),
        client_id: client_id.to_owned(),
        related_client_id: related_client_id.to_owned(),
        relation: relation.as_str().to_owned(),
        created_at: worker.now,
    };
    client_link::Entity::insert(client_link::ActiveModel {
        id: Set(row.id.clone()),
        client_id: Set(row.client_id.clone()),
        related_client_id: Set(row.related_client_id.clone()),
        relation: Set(row.relation.clone()),
        created_at: Set(row.created_at),
    })
    .exec_without_returning(&txn)
    .await?;
    for id in [client_id, related_client_id] {
        client::Entity::update_many()
            .col_expr(client::Column::UpdatedAt, sea_orm::sea_query::Expr::value(worker.now))
            .filter(client::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        audit::append(
            &txn,
            &entry_of(worker, "client", id, vec!["household"], AuditAction::Update, "link household", request_id),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(row)
}

/// A current (not erased) client of the worker's organisation, locked for a change on
/// PostgreSQL when `lock`; NOT_FOUND otherwise.
pub(crate) async fn own_client(
    db: &impl ConnectionTrait,
    worker: &CaseWorker,
    client_id: &str,
    lock: bool,
) -> ApiResult<client::Model> {
    let mut query = client::Entity::find_by_id(client_id.to_owned())
        .filter(client::Column::OrganizationId.eq(worker.organization_id()))
        .filter(client::Column::ErasedAt.is_null());
    if lock {
        query = query.lock_exclusive();
    }
    query.one(db).await?.ok_or_else(|| ApiError::not_found("client"))
}

/// Changes to a client's record: `None` leaves a field as it is; an empty text clears an
/// optional one (phone, language, notes).
#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    pub display_name: Option<String>,
    pub phone: Option<String>,
    pub preferred_language: Option<String>,
    pub notes: Option<String>,
    pub sensitive_kinds: Option<Vec<SensitiveKind>>,
    pub accepts_messages: Option<bool>,
}

/// Changes a current client of the worker's organisation (NOT_FOUND otherwise), checked like a
/// new one: a phone already on another client of the organisation is a CONFLICT. Only the
/// changed fields are sealed anew; the audit row names them.
pub async fn update(
    db: &DatabaseConnection,
    cipher: &DataCipher,
    worker: &CaseWorker,
    client_id: &str,
    changes: ClientChanges,
    request_id: Option<&str>,
) -> ApiResult<ClientView> {
    let txn = begin_write(db).await?;
    let row = own_client(&txn, worker, client_id, true).await?;
    let current = open(cipher, row.clone(), Vec::new())?;
    let merged = NewClient {
        display_name: changes.display_name.clone().unwrap_or_else(|| current.display_name.clone().unwrap_or_default()),
        phone: changes.phone.clone().or_else(|| current.phone.clone()),
        preferred_language: changes.preferred_language.clone().or_else(|| current.preferred_language.clone()),
        notes: changes.notes.clone().or_else(|| current.notes.clone()),
        sensitive_kinds: changes.sensitive_kinds.clone().unwrap_or_else(|| current.sensitive_kinds.clone()),
        accepts_messages: changes.accepts_messages.unwrap_or(current.accepts_messages),
        idempotency_key: None,
    };
    let checked = CheckedClient::of(&merged)?;
    let organization_id = worker.organization_id().to_owned();
    let new_phone = checked.phone.as_ref().map(|phone| phone.as_str().to_owned());
    let slot = |field: &'static str| Slot { table: "client", id: client_id, field };
    let mut active = client::ActiveModel { id: sea_orm::ActiveValue::Unchanged(row.id.clone()), ..Default::default() };
    let mut fields = Vec::new();
    if Some(&checked.display_name) != current.display_name.as_ref() {
        active.display_name_sealed = Set(cipher.seal(slot("display_name"), &checked.display_name)?);
        fields.push(ClientField::DisplayName.as_str());
    }
    if new_phone != current.phone {
        let digest = checked.phone.as_ref().map(|phone| phone_digest(cipher, &organization_id, phone)).transpose()?;
        if let Some(digest) = &digest {
            let taken = client::Entity::find()
                .filter(client::Column::OrganizationId.eq(organization_id.clone()))
                .filter(client::Column::PhoneDigest.eq(digest.clone()))
                .filter(client::Column::ErasedAt.is_null())
                .filter(client::Column::Id.ne(client_id))
                .one(&txn)
                .await?;
            if taken.is_some() {
                return Err(ApiError::conflict(
                    "another client of your organisation has this phone number (该手机号码已有其他客户记录)",
                ));
            }
        }
        active.phone_sealed = Set(cipher.seal_optional(slot("phone"), new_phone.as_deref())?);
        active.phone_digest = Set(digest);
        fields.push(ClientField::Phone.as_str());
    }
    if checked.preferred_language != current.preferred_language {
        active.preferred_language_sealed =
            Set(cipher.seal_optional(slot("preferred_language"), checked.preferred_language.as_deref())?);
        fields.push(ClientField::PreferredLanguage.as_str());
    }
    if checked.notes != current.notes {
        active.notes_sealed = Set(cipher.seal_optional(slot("notes"), checked.notes.as_deref())?);
        fields.push(ClientField::Notes.as_str());
    }
    if checked.sensitive_kinds != current.sensitive_kinds {
        active.sensitive_kinds = Set(SensitiveKind::join(&checked.sensitive_kinds));
        fields.push("sensitive_kinds");
    }
    if checked.accepts_messages != current.accepts_messages {
        active.accepts_messages = Set(checked.accepts_messages);
        fields.push("accepts_messages");
    }
    if fields.is_empty() {
        txn.rollback().await?;
    } else {
        active.updated_at = Set(worker.now);
        client::Entity::update(active).exec(&txn).await?;
        audit::append(
            &txn,
            &entry_of(worker, "client", client_id, fields, AuditAction::Update, "update client", request_id),
        )
        .await?;
        txn.commit().await?;
    }
    get(db, cipher, worker, client_id, "update client", request_id)
        .await?
        .ok_or_else(|| ApiError::internal("an updated client vanished"))
}

// ---------------------------------------------------------------------------------------------
// Reads

/// A client's full record for a social worker of its organisation, audited; `None` (audited as
/// denied) when it does not exist or belongs to another organisation. An erased client reads
/// as a record with no personal values and its erasure time.
pub async fn get(
    db: &DatabaseConnection,
    cipher: &DataCipher,
    worker: &CaseWorker,
    client_id: &str,
    purpose: &str,
    request_id: Option<&str>,
) -> ApiResult<Option<ClientView>> {
    let row = client::Entity::find_by_id(client_id.to_owned())
        .filter(client::Column::OrganizationId.eq(worker.organization_id()))
        .one(db)
        .await?;
    let all_fields = field_names(&ClientField::ALL);
    let Some(row) = row else {
        let mut denied = entry_of(worker, "client", client_id, all_fields, AuditAction::Read, purpose, request_id);
        denied.allowed = false;
        audit::record(db, &[denied]).await?;
        return Ok(None);
    };
    let links = client_link::Entity::find()
        .filter(
            Condition::any()
                .add(client_link::Column::ClientId.eq(row.id.clone()))
                .add(client_link::Column::RelatedClientId.eq(row.id.clone())),
        )
        .order_by_asc(client_link::Column::CreatedAt)
        .order_by_asc(client_link::Column::Id)
        .all(db)
        .await?;
    let view = open(cipher, row, links)?;
    let fields = if view.erased_at.is_some() { Vec::new() } else { all_fields };
    audit::record(db, &[entry_of(worker, "client", &view.id, fields, AuditAction::Read, purpose, request_id)]).await?;
    Ok(Some(view))
}

/// Opens a client row.
fn open(cipher: &DataCipher, row: client::Model, links: Vec<client_link::Model>) -> ApiResult<ClientView> {
    let slot = |field: &'static str| Slot { table: "client", id: &row.id, field };
    let display_name = match row.erased_at {
        Some(_) => None,
        None => Some(cipher.open(slot("display_name"), &row.display_name_sealed)?),
    };
    Ok(ClientView {
        display_name,
        phone: cipher.open_optional(slot("phone"), row.phone_sealed.as_deref())?,
        preferred_language: cipher
            .open_optional(slot("preferred_language"), row.preferred_language_sealed.as_deref())?,
        notes: cipher.open_optional(slot("notes"), row.notes_sealed.as_deref())?,
        sensitive_kinds: SensitiveKind::parse_list(&row.sensitive_kinds),
        accepts_messages: row.accepts_messages,
        created_at: row.created_at,
        updated_at: row.updated_at,
        erased_at: row.erased_at,
        links,
        id: row.id,
        organization_id: row.organization_id,
    })
}

/// Masks a row for a list.
fn summary(cipher: &DataCipher, row: &client::Model) -> ApiResult<ClientSummary> {
    let slot = |field: &'static str| Slot { table: "client", id: &row.id, field };
    let name = cipher.open(slot("display_name"), &row.display_name_sealed)?;
    let phone = cipher.open_optional(slot("phone"), row.phone_sealed.as_deref())?;
    Ok(ClientSummary {
        id: row.id.clone(),
        display_name_masked: mask_name(&name),
        phone_masked: phone.as_deref().map(mask_phone),
        sensitive: !row.sensitive_kinds.is_empty(),
        created_at: row.created_at,
    })
}

/// The worker's organisation's current clients, newest first, masked; only the one with `phone`
/// when given (found by its digest). Each client shown is audited as a masked read.
pub async fn list(
    db: &DatabaseConnection,
    cipher: &DataCipher,
    worker: &CaseWorker,
    phone: Option<&str>,
    request: &PageRequest,
    request_id: Option<&str>,
) -> ApiResult<Page<ClientSummary>> {
    let mut query = client::Entity::find()
        .filter(client::Column::OrganizationId.eq(worker.organization_id()))
        .filter(client::Column::ErasedAt.is_null());
    if let Some(phone) = phone.map(str::trim).filter(|text| !text.is_empty()) {
        let phone = PhoneNumber::parse(Field::ClientPhone, phone)?;
        query = query.filter(client::Column::PhoneDigest.eq(phone_digest(cipher, worker.organization_id(), &phone)?));
    }
    let rows = query
        .order_by_desc(client::Column::CreatedAt)
        .order_by_desc(client::Column::Id)
        .offset(request.sql_offset())
        .limit(request.sql_limit())
        .all(db)
        .await?;
    let page = request.page_of_fetched(rows);
    let items = page.items.iter().map(|row| summary(cipher, row)).collect::<ApiResult<Vec<_>>>()?;
    let entries: Vec<AuditEntry> = items
        .iter()
        .map(|item| {
            entry_of(
                worker,
                "client",
                &item.id,
                vec!["display_name_masked", "phone_masked"],
                AuditAction::Read,
                "list clients",
                request_id,
            )
        })
        .collect();
    audit::record(db, &entries).await?;
    Ok(page.with_items(items))
}

/// The current client of the worker's organisation with this phone, masked; `None` when there
/// is none. Found by the keyed digest: nothing is opened to search.
pub async fn find_by_phone(
    db: &DatabaseConnection,
    cipher: &DataCipher,
    worker: &CaseWorker,
    phone: &str,
    request_id: Option<&str>,
) -> ApiResult<Option<ClientSummary>> {
    let request = PageRequest::first_page(crate::pagination::List::Clients, 1);
    let page = list(db, cipher, worker, Some(phone), &request, request_id).await?;
    Ok(page.items.into_iter().next())
}
