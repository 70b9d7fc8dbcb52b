//! Organisations: creating one (with its first location), editing and archiving it.

use qiao_schema::entity::*;
use sea_orm::EntityTrait;

use super::locations::{LocationFields, check_in_scope, check_point, insert_location};
use super::{Db, Outcome, Steward, Text, check_text, patch_text, save};
use crate::auth::policy::organization_in_scope;
use crate::error::{ApiError, ApiResult};
use crate::kernel::history::{Action, created, record};
use crate::values::{EmailAddress, Field, TextLimit, ValueError, WebAddress};

/// An organisation's website or email: `None` leaves it, a blank string clears it.
fn check_contact<T>(
    value: Option<String>,
    parse: impl Fn(&str) -> Result<T, ValueError>,
    into_string: impl Fn(T) -> String,
) -> ApiResult<Option<Option<String>>> {
    Ok(match value {
        None => None,
        Some(text) if text.trim().is_empty() => Some(None),
        Some(text) => Some(Some(into_string(parse(&text)?))),
    })
}

fn check_website(website: Option<String>) -> ApiResult<Option<Option<String>>> {
    check_contact(website, |t| WebAddress::parse(Field::OrganizationWebsite, t), WebAddress::into_string)
}

fn check_email(email: Option<String>) -> ApiResult<Option<Option<String>>> {
    check_contact(email, |t| EmailAddress::parse(Field::OrganizationEmail, t), EmailAddress::into_string)
}

pub struct OrganizationFields {
    pub name: Text,
    pub description: Text,
    pub website: Option<String>,
    pub email: Option<String>,
    pub legal_status: Option<String>,
}

/// A partial update; `None` leaves a field as it is.
#[derive(Default)]
pub struct OrganizationPatch {
    pub name: Option<Text>,
    pub description: Option<Text>,
    pub website: Option<String>,
    pub email: Option<String>,
    pub legal_status: Option<String>,
}

/// Creates an organisation with its first location, which must lie in the actor's scope.
pub async fn create_organization(
    db: &impl Db,
    actor: &Steward,
    fields: OrganizationFields,
    first_location: LocationFields,
) -> ApiResult<Outcome> {
    let name = check_text(Field::OrganizationName, &fields.name, TextLimit::Name)?;
    let description = check_text(Field::OrganizationDescription, &fields.description, TextLimit::LongText)?;
    let website = check_website(fields.website)?.flatten();
    let email = check_email(fields.email)?.flatten();
    let point = check_point(first_location.point)?;
    check_in_scope(&actor.scope, point)?;
    let row = organization::Model {
        id: uuid::Uuid::now_v7().to_string(),
        name_zh: name.zh,
        name_en: name.en,
        description_zh: description.zh,
        description_en: description.en,
        website,
        email,
        legal_status: fields.legal_status,
        parent_organization_id: None,
        archived_at: None,
    };
    let txn = db.begin().await?;
    organization::Entity::insert(organization::ActiveModel::from(row.clone())).exec_without_returning(&txn).await?;
    let changes = created(&row)?;
    record(&txn, "organization", &row.id, Action::Create, &changes, &actor.account.id, actor.now).await?;
    insert_location(&txn, actor, &row.id, first_location).await?;
    txn.commit().await?;
    Ok(Outcome { id: row.id, resource_type: "organization", changes })
}

pub async fn update_organization(
    db: &impl Db,
    actor: &Steward,
    id: &str,
    patch: OrganizationPatch,
) -> ApiResult<Outcome> {
    let txn = db.begin().await?;
    let before = organization_in_scope(&txn, &actor.scope, id).await?;
    let mut after = before.clone();
    patch_text(Field::OrganizationName, patch.name.as_ref(), TextLimit::Name, &mut after.name_zh, &mut after.name_en)?;
    patch_text(
        Field::OrganizationDescription,
        patch.description.as_ref(),
        TextLimit::LongText,
        &mut after.description_zh,
        &mut after.description_en,
    )?;
    if let Some(website) = check_website(patch.website)? {
        after.website = website;
    }
    if let Some(email) = check_email(patch.email)? {
        after.email = email;
    }
    if let Some(legal_status) = patch.legal_status {
        after.legal_status = Some(legal_status).filter(|l| !l.trim().is_empty());
    }
    let outcome = save(&txn, actor, "organization", Action::Update, &before, after).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// Archives an organisation: it and its services vanish from the public directory.
pub async fn archive_organization(db: &impl Db, actor: &Steward, id: &str) -> ApiResult<Outcome> {
    let txn = db.begin().await?;
    let before = organization_in_scope(&txn, &actor.scope, id).await?;
    if before.archived_at.is_some() {
        return Err(ApiError::conflict("already archived (已归档)"));
    }
    let after = organization::Model { archived_at: Some(actor.now), ..before.clone() };
    let outcome = save(&txn, actor, "organization", Action::Archive, &before, after).await?;
    txn.commit().await?;
    Ok(outcome)
}
