//! The demo referral (demo data only): a live referral from `worker.tvillage` to the Minhang
//! legal aid centre for the demo client of DESIGN.md. Made through [`super::writes::create`], so
//! it is sealed, audited and has its first event like any other.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use qiao_schema::domain::Urgency;
use qiao_schema::entity::{client, referral};
use qiao_schema::ids::derived_id;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use super::Env;
use super::writes::{NewReferral, create};
use crate::auth::policy::CaseWorker;
use crate::auth::{Caller, load_account};
use crate::error::ApiResult;
use crate::privacy::crypto::DataCipher;

/// Seeds the demo referral once: only when the demo client and `worker.tvillage` exist and the
/// client has no referral yet (so a restart, or a database where someone removed it, is left
/// alone). Live when the demo client's consent for the legal aid centre exists, else logged.
/// Returns whether it made one.
pub async fn seed(db: &DatabaseConnection, cipher: &DataCipher, now: DateTime<Utc>) -> ApiResult<bool> {
    let client_id = derived_id("client", "demo-client");
    if client::Entity::find_by_id(client_id.clone()).one(db).await?.is_none()
        || referral::Entity::find().filter(referral::Column::ClientId.eq(client_id.as_str())).count(db).await? > 0
    {
        return Ok(false);
    }
    let Some(account) = load_account(db, &derived_id("account", "worker.tvillage")).await? else {
        return Ok(false);
    };
    let caller = Caller::Account(Arc::new(account));
    let worker = CaseWorker::of(db, &caller, now).await?;
    let legal_aid_centre = derived_id("organization", "sh-minhang-legal-aid-centre");
    let live = super::consented_fields(db, &client_id, &legal_aid_centre).await?.is_some();
    let new = NewReferral {
        client_id,
        service_id: derived_id("service", "sh-minhang-legal-aid"),
        location_id: Some(derived_id("location", "sh-loc-minhang-legal-aid-centre")),
        live,
        needs: Some(
            "工地拖欠三个月工资，想申请法律援助 / Owed three months of wages by a building site; wants legal aid"
                .to_owned(),
        ),
        need_categories: vec!["LEGAL_AID".to_owned(), "LABOUR_DISPUTE".to_owned()],
        urgency: Urgency::Soon,
        follow_up_on: Some((now + Duration::days(7)).with_timezone(&crate::clock::CHINA_STANDARD_TIME).date_naive()),
        draft: false,
    };
    let env = Env { db, cipher, request_id: None, now };
    create(&env, &worker, new, "demo-referral").await?;
    Ok(true)
}
