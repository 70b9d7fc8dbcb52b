//! Reading referrals: one by id as its caller may see it, the client's data by consent, the
//! history, the public view by code, the caseload, one client's referrals, the inbox and the
//! counts by status. Lists are scoped in SQL ([`Party::scope`]); every read of a referral by id,
//! of a live referral in a list, and of personal data is audited (allowed or denied), field names
//! only.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use qiao_schema::domain::ReferralStatus;
use qiao_schema::entity::{client, referral, referral_event};
use sea_orm::sea_query::{Expr, Order};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::writes::{needs_slot, note_slot, outcome_slot};
use super::{Env, Party, Who, consented_fields};
use crate::auth::policy::{CaseWorker, ProviderDesk};
use crate::error::ApiResult;
use crate::pagination::{Page, PageRequest};
use crate::privacy::audit::{self, AuditAction};
use crate::privacy::crypto::Slot;
use crate::privacy::mask_phone;
use crate::values::ReferralCode;

/// Longest id looked up (ids are UUIDs).
const MAX_ID_CHARS: usize = 64;

/// The referral `id` if `viewer` may see it; `None` when it does not exist or may not be seen
/// (the two read the same). Audited: allowed, or denied when it exists out of the caller's scope.
pub async fn find(env: &Env<'_>, viewer: Option<&Party>, who: &Who, id: &str) -> ApiResult<Option<referral::Model>> {
    if id.len() > MAX_ID_CHARS {
        return Ok(None);
    }
    let row =
        referral::Entity::find_by_id(id.to_owned()).filter(referral::Column::PurgedAt.is_null()).one(env.db).await?;
    let Some(row) = row else { return Ok(None) };
    let allowed = viewer.is_some_and(|party| party.sees(&row));
    let entry =
        who.audit(env, ("referral", &row.id), vec!["status", "events"], AuditAction::Read, "view referral", allowed);
    audit::record(env.db, &[entry]).await?;
    Ok(allowed.then_some(row))
}

/// A client's data as one viewer of a referral may see it: each field `None` when not covered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientView {
    pub display_name: Option<String>,
    pub phone: Option<String>,
    pub phone_masked: Option<String>,
    pub preferred_language: Option<String>,
}

fn client_slot<'a>(id: &'a str, field: &'a str) -> Slot<'a> {
    Slot { table: "client", id, field }
}

/// The client fields `party` may read for `row`: everything for the referring organisation (its
/// own client); for the provider, only on a live referral with a current consent naming it, and
/// then the fields the consent covers. Empty otherwise (a logged referral, withdrawn consent).
async fn readable_fields(env: &Env<'_>, party: &Party, row: &referral::Model) -> ApiResult<BTreeSet<&'static str>> {
    match party {
        Party::Referrer(_) => Ok(super::CLIENT_FIELDS.into_iter().collect()),
        Party::Provider(desk) if row.live => {
            Ok(consented_fields(env.db, &row.client_id, desk.organization_id()).await?.unwrap_or_default())
        }
        Party::Provider(_) => Ok(BTreeSet::new()),
    }
}

/// The referral's client as `party` may see it; `None` when nothing of it may be seen (or it was
/// erased). Audited: the fields read, or a denied row naming the fields asked for.
pub async fn client_of(env: &Env<'_>, party: &Party, row: &referral::Model) -> ApiResult<Option<ClientView>> {
    if !party.sees(row) {
        return Ok(None);
    }
    let fields = readable_fields(env, party, row).await?;
    let client = client::Entity::find_by_id(row.client_id.clone())
        .filter(client::Column::ErasedAt.is_null())
        .one(env.db)
        .await?;
    let who = party.who();
    let shown: Vec<&'static str> =
        ["display_name", "phone", "preferred_language"].into_iter().filter(|f| fields.contains(f)).collect();
    let Some(client) = client.filter(|_| !shown.is_empty()) else {
        let entry = who.audit(
            env,
            ("client", &row.client_id),
            vec!["display_name", "phone", "preferred_language"],
            AuditAction::Read,
            "view referral client",
            false,
        );
        audit::record(env.db, &[entry]).await?;
        return Ok(None);
    };
    let mut view = ClientView::default();
    if fields.contains("display_name") {
        view.display_name =
            Some(env.cipher.open(client_slot(&client.id, "display_name"), &client.display_name_sealed)?);
    }
    if fields.contains("phone") {
        view.phone = env.cipher.open_optional(client_slot(&client.id, "phone"), client.phone_sealed.as_deref())?;
        view.phone_masked = view.phone.as_deref().map(mask_phone);
    }
    if fields.contains("preferred_language") {
        view.preferred_language = env.cipher.open_optional(
            client_slot(&client.id, "preferred_language"),
            client.preferred_language_sealed.as_deref(),
        )?;
    }
    let entry = who.audit(env, ("client", &client.id), shown, AuditAction::Read, "view referral client", true);
    audit::record(env.db, &[entry]).await?;
    Ok(Some(view))
}

/// Whether `party` may read the referral's own personal texts (needs, outcome, the other side's
/// notes): the referring organisation always; the provider only on a live referral with a current
/// consent naming it.
async fn reads_personal_texts(env: &Env<'_>, party: &Party, row: &referral::Model) -> ApiResult<bool> {
    Ok(match party {
        Party::Referrer(_) => party.sees(row),
        Party::Provider(desk) => {
            party.sees(row)
                && row.live
                && consented_fields(env.db, &row.client_id, desk.organization_id()).await?.is_some()
        }
    })
}

/// The needs text (when `party` may read the referral's personal texts) and the outcome (also
/// always to the provider, who wrote it). Audited when anything is opened.
pub async fn texts_of(
    env: &Env<'_>,
    party: &Party,
    row: &referral::Model,
) -> ApiResult<(Option<String>, Option<String>)> {
    if !party.sees(row) || (row.needs_sealed.is_none() && row.outcome_sealed.is_none()) {
        return Ok((None, None));
    }
    let personal = reads_personal_texts(env, party, row).await?;
    let needs =
        if personal { env.cipher.open_optional(needs_slot(&row.id), row.needs_sealed.as_deref())? } else { None };
    let outcome = if personal || party.side() == super::Side::Provider {
        env.cipher.open_optional(outcome_slot(&row.id), row.outcome_sealed.as_deref())?
    } else {
        None
    };
    let mut fields = Vec::new();
    if needs.is_some() {
        fields.push("needs");
    }
    if outcome.is_some() {
        fields.push("outcome");
    }
    if !fields.is_empty() {
        let entry = party.who().audit(env, ("referral", &row.id), fields, AuditAction::Read, "view referral", true);
        audit::record(env.db, &[entry]).await?;
    }
    Ok((needs, outcome))
}

/// One event of a referral's history, as a viewer sees it.
#[derive(Debug, Clone)]
pub struct EventView {
    pub event: referral_event::Model,
    /// The note or reason in words, when the viewer may read it.
    pub note: Option<String>,
}

/// The referral's history, oldest first. Notes show to the referring organisation, to the side
/// that wrote them, and to the provider of a live referral with current consent.
pub async fn events_of(env: &Env<'_>, party: &Party, row: &referral::Model) -> ApiResult<Vec<EventView>> {
    if !party.sees(row) {
        return Ok(Vec::new());
    }
    let events = referral_event::Entity::find()
        .filter(referral_event::Column::ReferralId.eq(row.id.as_str()))
        .order_by_asc(referral_event::Column::Id)
        .all(env.db)
        .await?;
    let all_notes = reads_personal_texts(env, party, row).await?;
    let mut opened = false;
    let mut views = Vec::with_capacity(events.len());
    for event in events {
        let own = event.actor_organization_id.as_deref() == Some(party.organization_id());
        let note = match &event.note_sealed {
            Some(sealed) if all_notes || own => {
                opened = true;
                Some(env.cipher.open(note_slot(&row.id), sealed)?)
            }
            _ => None,
        };
        views.push(EventView { event, note });
    }
    if opened {
        let entry = party.who().audit(
            env,
            ("referral", &row.id),
            vec!["notes"],
            AuditAction::Read,
            "view referral history",
            true,
        );
        audit::record(env.db, &[entry]).await?;
    }
    Ok(views)
}

/// The referral a public code names, for the person holding it: `None` for a code that names no
/// sent referral (drafts and referrals entered in error are not shown). Audited as a public read
/// (status and service only: the view shows nothing about the person).
pub async fn by_code(env: &Env<'_>, code: &str) -> ApiResult<Option<referral::Model>> {
    let Some(code) = ReferralCode::parse(code) else { return Ok(None) };
    let row = referral::Entity::find()
        .filter(referral::Column::Code.eq(code.as_str()))
        .filter(referral::Column::Status.is_not_in([ReferralStatus::Draft, ReferralStatus::EnteredInError]))
        .filter(referral::Column::PurgedAt.is_null())
        .one(env.db)
        .await?;
    if let Some(row) = &row {
        let entry = Who::public().audit(
            env,
            ("referral", &row.id),
            vec!["status", "service"],
            AuditAction::Read,
            "view by code",
            true,
        );
        audit::record(env.db, &[entry]).await?;
    }
    Ok(row)
}

/// Audits a list's live referrals (their status was read), one row each.
async fn audit_list(env: &Env<'_>, party: &Party, rows: &[referral::Model], purpose: &str) -> ApiResult<()> {
    let who = party.who();
    let entries: Vec<_> = rows
        .iter()
        .filter(|row| row.live)
        .map(|row| who.audit(env, ("referral", &row.id), vec!["status"], AuditAction::Read, purpose, true))
        .collect();
    audit::record(env.db, &entries).await
}

/// SQL literal of a date (formatted by us, never from input).
fn date_literal(date: NaiveDate) -> String {
    format!("'{}'", date.format("%Y-%m-%d"))
}

/// The social worker's caseload: its organisation's referrals (only `statuses` when given),
/// overdue follow-ups first (a follow-up date before `today` on a referral that has not ended),
/// then by follow-up date (none last), newest first.
pub async fn caseload(
    env: &Env<'_>,
    worker: &CaseWorker,
    statuses: &[ReferralStatus],
    today: NaiveDate,
    request: &PageRequest,
) -> ApiResult<Page<referral::Model>> {
    let party = Party::Referrer(worker.clone());
    let ended = "'completed', 'failed', 'rejected', 'cancelled', 'entered_in_error'";
    let overdue = format!(
        "CASE WHEN follow_up_on IS NOT NULL AND follow_up_on < {} AND status NOT IN ({ended}) THEN 0 ELSE 1 END",
        date_literal(today)
    );
    let mut query = referral::Entity::find().filter(party.scope()).filter(referral::Column::PurgedAt.is_null());
    if !statuses.is_empty() {
        query = query.filter(referral::Column::Status.is_in(statuses.iter().copied()));
    }
    let rows = query
        .order_by(Expr::cust(overdue), Order::Asc)
        .order_by(Expr::cust("CASE WHEN follow_up_on IS NULL THEN 1 ELSE 0 END"), Order::Asc)
        .order_by_asc(referral::Column::FollowUpOn)
        .order_by_desc(referral::Column::CreatedAt)
        .order_by_asc(referral::Column::Id)
        .offset(request.sql_offset())
        .limit(request.sql_limit())
        .all(env.db)
        .await?;
    let page = request.page_of_fetched(rows);
    audit_list(env, &party, &page.items, "caseload").await?;
    Ok(page)
}

/// One client's referrals, newest first, as the social worker's organisation made them (the
/// caseload's scope, narrowed to the client: another organisation's worker finds none, exactly
/// as for an unknown client). Audited like the caseload: one row per live referral listed.
pub async fn of_client(
    env: &Env<'_>,
    worker: &CaseWorker,
    client_id: &str,
    request: &PageRequest,
) -> ApiResult<Page<referral::Model>> {
    let party = Party::Referrer(worker.clone());
    if client_id.len() > MAX_ID_CHARS {
        return Ok(request.page_of_fetched(Vec::new()));
    }
    let rows = referral::Entity::find()
        .filter(party.scope())
        .filter(referral::Column::ClientId.eq(client_id))
        .filter(referral::Column::PurgedAt.is_null())
        .order_by_desc(referral::Column::CreatedAt)
        .order_by_desc(referral::Column::Id)
        .offset(request.sql_offset())
        .limit(request.sql_limit())
        .all(env.db)
        .await?;
    let page = request.page_of_fetched(rows);
    audit_list(env, &party, &page.items, "client referrals").await?;
    Ok(page)
}

/// The provider's inbox: referrals to its organisation's services in `statuses` (REQUESTED when
/// none are given: the new ones), most urgent first, then oldest first.
pub async fn inbox(
    env: &Env<'_>,
    desk: &ProviderDesk,
    statuses: &[ReferralStatus],
    request: &PageRequest,
) -> ApiResult<Page<referral::Model>> {
    let party = Party::Provider(desk.clone());
    let statuses = if statuses.is_empty() { &[ReferralStatus::Requested][..] } else { statuses };
    let rows = referral::Entity::find()
        .filter(party.scope())
        .filter(referral::Column::PurgedAt.is_null())
        .filter(referral::Column::Status.is_in(statuses.iter().copied()))
        .order_by(Expr::cust("CASE urgency WHEN 'urgent' THEN 0 WHEN 'soon' THEN 1 ELSE 2 END"), Order::Asc)
        .order_by_asc(referral::Column::CreatedAt)
        .order_by_asc(referral::Column::Id)
        .offset(request.sql_offset())
        .limit(request.sql_limit())
        .all(env.db)
        .await?;
    let page = request.page_of_fetched(rows);
    audit_list(env, &party, &page.items, "inbox").await?;
    Ok(page)
}

/// How many referrals `party` sees in each status (statuses with none are left out).
pub async fn counts(env: &Env<'_>, party: &Party) -> ApiResult<Vec<(ReferralStatus, i64)>> {
    let rows: Vec<(ReferralStatus, i64)> = referral::Entity::find()
        .select_only()
        .column(referral::Column::Status)
        .column_as(referral::Column::Id.count(), "n")
        .filter(party.scope())
        .filter(referral::Column::PurgedAt.is_null())
        .group_by(referral::Column::Status)
        .into_tuple()
        .all(env.db)
        .await?;
    let mut rows = rows;
    rows.sort_by_key(|(status, _)| super::writes::status_name(*status));
    Ok(rows)
}
