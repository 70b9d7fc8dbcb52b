//! The demo client of DESIGN.md: "演示客户 / Demo Client", phone 13912345678, a client of
//! `worker.tvillage`'s organisation (T village's social-work station) who consented to share
//! their name, phone and language with the Minhang legal aid centre. Seeded with the demo
//! accounts only, sealed with the configured keys like every client, so it is the fixture for
//! the privacy checks: its phone never appears in plain text in the database file or the logs.
//! (The referral module seeds its live referral to the legal aid centre, by [`DEMO_CLIENT_KEY`].)

use chrono::{DateTime, Utc};
use qiao_schema::domain::ConsentMethod;
use qiao_schema::entity::{client, consent};
use qiao_schema::ids::derived_id;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};

use super::{ClientField, SensitiveKind, phone_digest};
use crate::error::ApiResult;
use crate::kernel::begin_write;
use crate::privacy::crypto::{DataCipher, Slot};
use crate::values::PhoneNumber;

/// Seed key of the demo client: its id is `derived_id("client", DEMO_CLIENT_KEY)`.
pub const DEMO_CLIENT_KEY: &str = "demo-client";
pub const DEMO_CLIENT_NAME: &str = "演示客户 / Demo Client";
pub const DEMO_CLIENT_PHONE: &str = "13912345678";

/// Adds the demo client and its consent (idempotent: an existing demo client is left alone).
pub async fn seed_demo_client(db: &DatabaseConnection, cipher: &DataCipher, now: DateTime<Utc>) -> ApiResult<()> {
    let id = derived_id("client", DEMO_CLIENT_KEY);
    if client::Entity::find_by_id(id.clone()).one(db).await?.is_some() {
        return Ok(());
    }
    let organization_id = derived_id("organization", "sh-tvillage-social-work-station");
    let legal_aid = derived_id("organization", "sh-minhang-legal-aid-centre");
    let worker = derived_id("account", "worker.tvillage");
    let phone = PhoneNumber::new(DEMO_CLIENT_PHONE).expect("the demo phone is a mobile number");
    let slot = |field: &'static str| Slot { table: "client", id: &id, field };
    let txn = begin_write(db).await?;
    client::Entity::insert(client::ActiveModel {
        id: Set(id.clone()),
        organization_id: Set(organization_id.clone()),
        created_by: Set(worker.clone()),
        display_name_sealed: Set(cipher.seal(slot("display_name"), DEMO_CLIENT_NAME)?),
        phone_sealed: Set(Some(cipher.seal(slot("phone"), phone.as_str())?)),
        phone_digest: Set(Some(phone_digest(cipher, &organization_id, &phone)?)),
        preferred_language_sealed: Set(Some(cipher.seal(slot("preferred_language"), "zh-cn")?)),
        notes_sealed: Set(Some(
            cipher.seal(slot("notes"), "想咨询拖欠工资的法律援助 / Wants legal aid about unpaid wages (demo data)")?,
        )),
        sensitive_kinds: Set(SensitiveKind::Legal.as_str().to_owned()),
        // No status messages by phone: the demo client is a privacy fixture, and a development
        // server should not write its number (even masked) to the notification file at every start.
        accepts_messages: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        erased_at: Set(None),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(&txn)
    .await?;
    let consent_id = derived_id("consent", "demo-client/sh-minhang-legal-aid-centre");
    consent::Entity::insert(consent::ActiveModel {
        id: Set(consent_id.clone()),
        client_id: Set(id.clone()),
        recipient_organization_id: Set(legal_aid),
        data_scope: Set(ClientField::join(&[
            ClientField::DisplayName,
            ClientField::Phone,
            ClientField::PreferredLanguage,
        ])),
        purpose_sealed: Set(cipher.seal(
            Slot { table: "consent", id: &consent_id, field: "purpose" },
            "法律援助转介（演示） / Legal aid referral (demo)",
        )?),
        method: Set(ConsentMethod::Spoken),
        captured_by: Set(worker),
        captured_at: Set(now),
        withdrawn_at: Set(None),
        withdrawn_by: Set(None),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(())
}
