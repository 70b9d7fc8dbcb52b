//! Consent (PIPL): a separate, specific record per recipient organisation: which of the client's
//! fields, for what purpose (sealed: a worker may type personal details into it), how it was
//! captured, by whom and when. Withdrawing it ends the recipient's view of the client at once
//! (the referral itself stays, with its status).
//!
//! For the referral views: [`current`] is the consent that holds now for a (client, recipient)
//! pair, and [`shared_fields`] opens exactly the fields it covers.

use chrono::{DateTime, Utc};
use qiao_schema::domain::ConsentMethod;
use qiao_schema::entity::{client, consent, organization};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};

use super::{ClientField, SharedClient, entry_of, own_client};
use crate::auth::policy::CaseWorker;
use crate::error::{ApiError, ApiResult};
use crate::kernel::begin_write;
use crate::privacy::audit::{self, AuditAction};
use crate::privacy::crypto::{DataCipher, Slot};
use crate::values::{BoundedText, Field, TextLimit};

/// The fields a consent covers when the worker does not say: enough to contact the person in
/// their language; notes (which may be sensitive) only when named.
pub const DEFAULT_SCOPE: [ClientField; 3] =
    [ClientField::DisplayName, ClientField::Phone, ClientField::PreferredLanguage];

/// A consent to record.
#[derive(Debug, Clone)]
pub struct NewConsent {
    pub client_id: String,
    pub recipient_organization_id: String,
    pub purpose: String,
    /// `None`: [`DEFAULT_SCOPE`].
    pub data_scope: Option<Vec<ClientField>>,
    /// `None`: spoken.
    pub method: Option<ConsentMethod>,
}

/// A consent as its client's social workers see it.
#[derive(Debug, Clone)]
pub struct ConsentView {
    pub id: String,
    pub client_id: String,
    pub recipient_organization_id: String,
    pub data_scope: Vec<ClientField>,
    /// `None` once the client was erased.
    pub purpose: Option<String>,
    pub method: ConsentMethod,
    pub captured_by: String,
    pub captured_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

fn purpose_slot(id: &str) -> Slot<'_> {
    Slot { table: "consent", id, field: "purpose" }
}

fn view(cipher: &DataCipher, row: consent::Model) -> ApiResult<ConsentView> {
    // Erasure empties the purpose: nothing to open.
    let purpose = match row.purpose_sealed.as_str() {
        "" => None,
        sealed => Some(cipher.open(purpose_slot(&row.id), sealed)?),
    };
    Ok(ConsentView {
        data_scope: ClientField::parse_list(&row.data_scope),
        purpose,
        method: row.method,
        captured_by: row.captured_by,
        captured_at: row.captured_at,
        withdrawn_at: row.withdrawn_at,
        client_id: row.client_id,
        recipient_organization_id: row.recipient_organization_id,
        id: row.id,
    })
}

/// Records a client's consent to share `data_scope` with an organisation for a purpose. The
/// client must be a current client of the worker's organisation and the organisation must exist
/// (NOT_FOUND otherwise).
pub async fn record(
    db: &DatabaseConnection,
    cipher: &DataCipher,
    worker: &CaseWorker,
    new: NewConsent,
    request_id: Option<&str>,
) -> ApiResult<ConsentView> {
    let purpose = BoundedText::parse(Field::ConsentPurpose, &new.purpose, TextLimit::ConsentPurpose)?.into_string();
    let scope = new.data_scope.unwrap_or_else(|| DEFAULT_SCOPE.to_vec());
    if scope.is_empty() {
        return Err(ApiError::bad_input(
            "dataScope",
            "name at least one field the consent covers, or leave dataScope out (请至少选择一项同意共享的信息)",
        ));
    }
    let method = new.method.unwrap_or(ConsentMethod::Spoken);
    let txn = begin_write(db).await?;
    own_client(&txn, worker, &new.client_id, true).await?;
    organization::Entity::find_by_id(new.recipient_organization_id.clone())
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    let id = uuid::Uuid::now_v7().to_string();
    let row = consent::Model {
        purpose_sealed: cipher.seal(purpose_slot(&id), &purpose)?,
        id: id.clone(),
        client_id: new.client_id.clone(),
        recipient_organization_id: new.recipient_organization_id,
        data_scope: ClientField::join(&scope),
        method,
        captured_by: worker.account.id.clone(),
        captured_at: worker.now,
        withdrawn_at: None,
        withdrawn_by: None,
    };
    consent::Entity::insert(row.clone().into_active_model()).exec_without_returning(&txn).await?;
    audit::append(
        &txn,
        &entry_of(
            worker,
            "consent",
            &id,
            vec!["purpose", "data_scope", "recipient_organization_id"],
            AuditAction::Create,
            "record consent",
            request_id,
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(ConsentView { purpose: Some(purpose), ..view_without_purpose(row) })
}

fn view_without_purpose(row: consent::Model) -> ConsentView {
    ConsentView {
        data_scope: ClientField::parse_list(&row.data_scope),
        purpose: None,
        method: row.method,
        captured_by: row.captured_by,
        captured_at: row.captured_at,
        withdrawn_at: row.withdrawn_at,
        client_id: row.client_id,
        recipient_organization_id: row.recipient_organization_id,
        id: row.id,
    }
}

/// Withdraws a consent of a client of the worker's organisation (NOT_FOUND otherwise). From now
/// on the recipient sees nothing of the client through it. Withdrawing again changes nothing
/// and answers the same (a phone may retry).
pub async fn withdraw(
    db: &DatabaseConnection,
    cipher: &DataCipher,
    worker: &CaseWorker,
    consent_id: &str,
    request_id: Option<&str>,
) -> ApiResult<ConsentView> {
    let txn = begin_write(db).await?;
    let row = consent::Entity::find_by_id(consent_id.to_owned())
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("consent"))?;
    // The consent's client must be the worker's organisation's: else it reads as missing.
    own_client(&txn, worker, &row.client_id, false).await.map_err(|_| ApiError::not_found("consent"))?;
    if row.withdrawn_at.is_some() {
        txn.rollback().await?;
        return view(cipher, row);
    }
    let mut active = row.into_active_model();
    active.withdrawn_at = Set(Some(worker.now));
    active.withdrawn_by = Set(Some(worker.account.id.clone()));
    let row = active.update(&txn).await?;
    audit::append(
        &txn,
        &entry_of(
            worker,
            "consent",
            &row.id,
            vec!["withdrawn_at"],
            AuditAction::Update,
            "withdraw consent",
            request_id,
        ),
    )
    .await?;
    txn.commit().await?;
    view(cipher, row)
}

/// A client's consents, newest first, for the worker of its organisation (NOT_FOUND for another
/// organisation's client). Audited: the purposes are opened.
pub async fn list(
    db: &DatabaseConnection,
    cipher: &DataCipher,
    worker: &CaseWorker,
    client_id: &str,
    request_id: Option<&str>,
) -> ApiResult<Vec<ConsentView>> {
    own_client(db, worker, client_id, false).await?;
    let rows = consent::Entity::find()
        .filter(consent::Column::ClientId.eq(client_id))
        .order_by_desc(consent::Column::CapturedAt)
        .order_by_desc(consent::Column::Id)
        .all(db)
        .await?;
    let entries: Vec<_> = rows
        .iter()
        .map(|row| {
            entry_of(
                worker,
                "consent",
                &row.id,
                vec!["purpose", "data_scope"],
                AuditAction::Read,
                "list consents",
                request_id,
            )
        })
        .collect();
    let views = rows.into_iter().map(|row| view(cipher, row)).collect::<ApiResult<Vec<_>>>()?;
    audit::record(db, &entries).await?;
    Ok(views)
}

/// The organisation a consent names, as the directory holds it (its names are public facts, so
/// nothing more is checked or audited than for the consent itself); `None` if it is gone.
pub async fn recipient_of(db: &DatabaseConnection, view: &ConsentView) -> ApiResult<Option<organization::Model>> {
    Ok(organization::Entity::find_by_id(view.recipient_organization_id.clone()).one(db).await?)
}

/// The consent that holds now for sharing a client's data with `organization_id`: the latest
/// one captured (at or before `now`) and not withdrawn; `None` when there is none. Plain SQL on
/// the `consent` table, so a referral view can call it inside its own transaction.
pub async fn current(
    db: &impl ConnectionTrait,
    client_id: &str,
    organization_id: &str,
    now: DateTime<Utc>,
) -> ApiResult<Option<consent::Model>> {
    Ok(consent::Entity::find()
        .filter(consent::Column::ClientId.eq(client_id))
        .filter(consent::Column::RecipientOrganizationId.eq(organization_id))
        .filter(consent::Column::WithdrawnAt.is_null())
        .filter(consent::Column::CapturedAt.lte(now))
        .order_by_desc(consent::Column::CapturedAt)
        .order_by_desc(consent::Column::Id)
        .one(db)
        .await?)
}

/// What the provider organisation `organization_id` may see of a client now: the fields of the
/// current (latest, not withdrawn) consent naming it, opened; `None` without such a consent or
/// once the client is erased. It does not audit: the caller (a referral view) appends the audit
/// row for the referral it shows, naming `fields`. Whether the referral is live (logged
/// referrals share nothing) is the caller's to check.
pub async fn shared_fields(
    db: &impl ConnectionTrait,
    cipher: &DataCipher,
    client_id: &str,
    organization_id: &str,
    now: DateTime<Utc>,
) -> ApiResult<Option<SharedClient>> {
    let Some(consent) = current(db, client_id, organization_id, now).await? else { return Ok(None) };
    let Some(row) =
        client::Entity::find_by_id(client_id.to_owned()).filter(client::Column::ErasedAt.is_null()).one(db).await?
    else {
        return Ok(None);
    };
    let fields = ClientField::parse_list(&consent.data_scope);
    let slot = |field: &'static str| Slot { table: "client", id: &row.id, field };
    let mut shared = SharedClient { consent_id: consent.id, fields: fields.clone(), ..SharedClient::default() };
    for field in fields {
        match field {
            ClientField::DisplayName => {
                shared.display_name = Some(cipher.open(slot("display_name"), &row.display_name_sealed)?);
            }
            ClientField::Phone => shared.phone = cipher.open_optional(slot("phone"), row.phone_sealed.as_deref())?,
            ClientField::PreferredLanguage => {
                shared.preferred_language =
                    cipher.open_optional(slot("preferred_language"), row.preferred_language_sealed.as_deref())?;
            }
            ClientField::Notes => shared.notes = cipher.open_optional(slot("notes"), row.notes_sealed.as_deref())?,
        }
    }
    Ok(Some(shared))
}
