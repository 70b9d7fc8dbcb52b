//! What admins do: accounts and stewardship areas. (Organisations are managed with the
//! stewardship mutations, where an admin's scope is everything.) Each resolver only asks for the
//! [`Admin`] capability and calls the domain in `accounts`, which holds every rule.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use qiao_schema::domain;

use super::auth::Role;
use super::common::{DateTime, PageInfo};
use super::context::state;
use crate::AppState;
use crate::accounts::{self, AccountWithAreas, AreaWithVillages, NewAccount};
use crate::auth::caller;
use crate::auth::policy::Admin;
use crate::pagination::{List, PageRequest};

/// An account as admins see it.
#[derive(SimpleObject)]
pub struct AccountView {
    /// Account id.
    pub id: ID,
    /// Login name (null for phone sign-in).
    pub username: Option<String>,
    /// Name shown to others.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Organisation (social workers, provider staff).
    pub organization_id: Option<ID>,
    /// Stewardship areas (committee staff).
    pub area_ids: Vec<ID>,
    /// Disabled accounts cannot sign in; their tokens stop working.
    pub disabled: bool,
    /// When the account was created.
    pub created_at: DateTime,
}

impl From<AccountWithAreas> for AccountView {
    fn from(AccountWithAreas { account: row, area_ids }: AccountWithAreas) -> Self {
        Self {
            id: ID(row.id),
            username: row.username,
            display_name: row.display_name,
            role: row.role.into(),
            organization_id: row.organization_id.map(ID),
            area_ids: area_ids.into_iter().map(ID).collect(),
            disabled: row.disabled,
            created_at: row.created_at.into(),
        }
    }
}

/// A page of accounts.
#[derive(SimpleObject)]
pub struct AccountConnection {
    /// Accounts of this page, oldest first.
    pub nodes: Vec<AccountView>,
    /// Pagination.
    pub page_info: PageInfo,
}

/// A stewardship area: urban villages and/or a polygon that committee staff look after.
#[derive(SimpleObject)]
pub struct Area {
    /// Area id.
    pub id: ID,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Urban villages in the area.
    pub village_ids: Vec<ID>,
    /// Extra boundary as a GeoJSON Polygon (WGS-84), if any.
    pub boundary_geo_json: Option<String>,
}

impl From<AreaWithVillages> for Area {
    fn from(AreaWithVillages { area: row, village_ids }: AreaWithVillages) -> Self {
        Self {
            id: ID(row.id),
            name_zh: row.name_zh,
            name_en: row.name_en,
            village_ids: village_ids.into_iter().map(ID).collect(),
            boundary_geo_json: row.boundary,
        }
    }
}

/// A new account.
#[derive(InputObject)]
pub struct CreateAccountInput {
    /// Login name (3-32 of a-z 0-9 . _ -). Needed unless `phone` is given.
    pub username: Option<String>,
    /// A migrant's mainland mobile number to sign in with (stored only as a keyed hash).
    pub phone: Option<String>,
    /// Name shown to others.
    pub display_name: String,
    /// Initial password, 8 to 128 characters.
    pub password: String,
    /// Role.
    pub role: Role,
    /// Organisation: required for SOCIAL_WORKER and PROVIDER_STAFF, refused for others.
    pub organization_id: Option<ID>,
    /// Stewardship areas: required for COMMITTEE_STAFF, refused for others.
    #[graphql(default)]
    pub area_ids: Vec<ID>,
}

/// An area to create or replace.
#[derive(InputObject)]
pub struct AreaInput {
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Urban villages in the area.
    #[graphql(default)]
    pub village_ids: Vec<ID>,
    /// Extra boundary as a GeoJSON Polygon (WGS-84).
    pub boundary_geo_json: Option<String>,
}

/// The app state and the caller's admin capability: UNAUTHENTICATED when anonymous, FORBIDDEN
/// for any other role.
async fn admin<'a>(ctx: &Context<'a>) -> async_graphql::Result<(&'a AppState, Admin)> {
    let state = state(ctx)?;
    let admin = Admin::of(&state.db, caller(ctx), state.clock.now()).await?;
    Ok((state, admin))
}

/// Creates (`id` None) or replaces an area, for admins.
async fn save_area(ctx: &Context<'_>, id: Option<&str>, input: AreaInput) -> async_graphql::Result<Area> {
    let (state, admin) = admin(ctx).await?;
    let village_ids = ids(input.village_ids);
    let boundary = input.boundary_geo_json.as_deref();
    let area =
        accounts::save_area(&state.db, &admin, id, &input.name_zh, &input.name_en, &village_ids, boundary).await?;
    Ok(area.into())
}

fn ids(list: Vec<ID>) -> Vec<String> {
    list.into_iter().map(|id| id.0).collect()
}

#[derive(Default)]
pub struct AdminQuery;

#[Object]
impl AdminQuery {
    /// Accounts, oldest first (admins only).
    #[graphql(complexity = "20 + first.unwrap_or(20).clamp(1, 50) as usize * child_complexity")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this role.")] role: Option<Role>,
        #[graphql(desc = "Page size, 0 to 50 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the previous page's end.")] after: Option<String>,
    ) -> async_graphql::Result<AccountConnection> {
        let (state, admin) = admin(ctx).await?;
        let request = PageRequest::new(List::Accounts, first, after.as_deref())?;
        let page = accounts::list_accounts(&state.db, &admin, role.map(domain::Role::from), &request).await?;
        let page_info = PageInfo::from(&page);
        Ok(AccountConnection { nodes: page.items.into_iter().map(AccountView::from).collect(), page_info })
    }

    /// Stewardship areas (admins only).
    async fn areas(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Area>> {
        let (state, admin) = admin(ctx).await?;
        Ok(accounts::list_areas(&state.db, &admin).await?.into_iter().map(Area::from).collect())
    }
}

#[derive(Default)]
pub struct AdminMutation;

#[Object]
impl AdminMutation {
    /// Creates an account (admins only).
    async fn create_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account.")] input: CreateAccountInput,
    ) -> async_graphql::Result<AccountView> {
        let (state, admin) = admin(ctx).await?;
        let new = NewAccount {
            username: input.username,
            phone: input.phone,
            display_name: input.display_name,
            password: input.password,
            role: input.role.into(),
            organization_id: input.organization_id.map(|id| id.0),
            area_ids: ids(input.area_ids),
        };
        Ok(accounts::create_account(&state.db, &admin, &state.auth, new).await?.into())
    }

    /// Disables (and signs out everywhere) or re-enables an account (admins only).
    async fn set_account_disabled(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Account id.")] id: ID,
        #[graphql(desc = "True to disable, false to enable.")] disabled: bool,
    ) -> async_graphql::Result<AccountView> {
        let (state, admin) = admin(ctx).await?;
        Ok(accounts::set_disabled(&state.db, &admin, &id, disabled).await?.into())
    }

    /// Sets a new password and signs the account out everywhere (admins only).
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Account id.")] id: ID,
        #[graphql(desc = "The new password, 8 to 128 characters.")] new_password: String,
    ) -> async_graphql::Result<AccountView> {
        let (state, admin) = admin(ctx).await?;
        Ok(accounts::reset_password(&state.db, &admin, &id, new_password).await?.into())
    }

    /// Changes an account's role with its organisation or areas (admins only).
    async fn change_account_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Account id.")] id: ID,
        #[graphql(desc = "The new role.")] role: Role,
        #[graphql(desc = "Organisation, for SOCIAL_WORKER and PROVIDER_STAFF.")] organization_id: Option<ID>,
        #[graphql(desc = "Areas, for COMMITTEE_STAFF.", default)] area_ids: Vec<ID>,
    ) -> async_graphql::Result<AccountView> {
        let (state, admin) = admin(ctx).await?;
        let organization_id = organization_id.map(|i| i.0);
        Ok(accounts::change_role(&state.db, &admin, &id, role.into(), organization_id, ids(area_ids)).await?.into())
    }

    /// Creates a stewardship area (admins only).
    async fn create_area(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The area.")] input: AreaInput,
    ) -> async_graphql::Result<Area> {
        save_area(ctx, None, input).await
    }

    /// Replaces a stewardship area's names, villages and boundary (admins only).
    async fn update_area(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Area id.")] id: ID,
        #[graphql(desc = "The area's new content.")] input: AreaInput,
    ) -> async_graphql::Result<Area> {
        save_area(ctx, Some(&id), input).await
    }
}
