//! Accounts: sign-in, registration, token refresh, demo accounts, and what admins do with
//! accounts and stewardship areas. Plain functions over a connection; the GraphQL layer only
//! asks for the caller's capability and calls these.
//!
//! Every admin function takes the [`Admin`] capability, which only `Admin::of` can make by
//! checking the caller against the database, so none can be called for a caller who is not an
//! admin; the rules that protect admins from locking themselves out live here with them.
//!
//! Every transaction here begins with [`begin_write`]: on SQLite it takes the write lock up front,
//! so concurrent writers queue instead of failing with "database is locked".

use chrono::{DateTime, Utc};
use qiao_schema::domain::Role;
use qiao_schema::entity::*;
use qiao_schema::ids::derived_id;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use crate::auth::password::{check_new_password, hash_password, verify_password};
use crate::auth::policy::Admin;
use crate::auth::tokens::{Rotation, create_refresh_token, revoke_all_for_account, rotate_refresh_token};
use crate::auth::{Account, AuthState, phone_digest};
use crate::error::{ApiError, ApiResult};
use crate::kernel::begin_write;
use crate::pagination::{Page, PageRequest};
use crate::values::PhoneNumber;

/// Password of every demo account (demo data only; production refuses demo seeding).
pub const DEMO_PASSWORD: &str = "qiao-demo-pass";

/// A fresh pair of tokens.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub account: Account,
}

/// How an account signs in: a username, or (for migrants) a phone number.
enum LoginName {
    Username(String),
    PhoneDigest(String),
}

fn login_name(auth: &AuthState, text: &str) -> ApiResult<LoginName> {
    match PhoneNumber::mobile(text) {
        Some(phone) => Ok(LoginName::PhoneDigest(phone_digest(&auth.phone_pepper, phone.as_str())?)),
        None => Ok(LoginName::Username(text.trim().to_lowercase())),
    }
}

async fn find_by_login_name(db: &impl ConnectionTrait, name: &LoginName) -> ApiResult<Option<account::Model>> {
    let condition = match name {
        LoginName::Username(username) => account::Column::Username.eq(username.as_str()),
        LoginName::PhoneDigest(digest) => account::Column::PhoneDigest.eq(digest.as_str()),
    };
    Ok(account::Entity::find().filter(condition).one(db).await?)
}

async fn sign_in(
    db: &impl ConnectionTrait,
    auth: &AuthState,
    account: Account,
    now: DateTime<Utc>,
) -> ApiResult<SignedIn> {
    let (access_token, access_token_expires_at) = auth.tokens.issue(&account.id, now)?;
    let refresh_token = create_refresh_token(db, &account.id, None, now).await?;
    Ok(SignedIn { access_token, access_token_expires_at, refresh_token, account })
}

/// Signs in with a username (or phone number) and password. An unknown name, a wrong password
/// and a disabled account all give the same UNAUTHENTICATED after the same work.
pub async fn login(
    db: &DatabaseConnection,
    auth: &AuthState,
    name: &str,
    password: &str,
    now: DateTime<Utc>,
) -> ApiResult<SignedIn> {
    if name.len() > 64 || password.len() > 1024 {
        return Err(ApiError::Unauthenticated);
    }
    let row = find_by_login_name(db, &login_name(auth, name)?).await?.filter(|row| !row.disabled);
    let matches = verify_password(row.as_ref().map(|r| r.password_hash.clone()), password.to_owned()).await?;
    match row {
        Some(row) if matches => sign_in(db, auth, Account::from(row), now).await,
        _ => Err(ApiError::Unauthenticated),
    }
}

/// Exchanges a refresh token for new tokens (rotation; reuse revokes the family).
pub async fn refresh(
    db: &DatabaseConnection,
    auth: &AuthState,
    token: &str,
    now: DateTime<Utc>,
) -> ApiResult<SignedIn> {
    // The write lock up front matters most here: with a deferred transaction, a concurrent
    // refresh of the same token committing between our read and our write would make the write
    // fail with SQLITE_BUSY (an INTERNAL error) instead of being seen as reuse.
    let txn = begin_write(db).await?;
    let rotation = rotate_refresh_token(&txn, token, now).await?;
    // Commit refusals too: replaying a spent token has just revoked its family, and rolling
    // that back would leave a stolen family alive.
    txn.commit().await?;
    let Rotation::Rotated { account_id, token: refresh_token } = rotation else {
        return Err(ApiError::Unauthenticated);
    };
    let account = crate::auth::load_account(db, &account_id).await?.ok_or(ApiError::Unauthenticated)?;
    let (access_token, access_token_expires_at) = auth.tokens.issue(&account.id, now)?;
    Ok(SignedIn { access_token, access_token_expires_at, refresh_token, account })
}

/// Checks a username: 3 to 32 of a-z, 0-9, `.`, `_`, `-`.
fn check_username(username: &str) -> ApiResult<()> {
    let valid = (3..=32).contains(&username.len())
        && username.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_input(
            "username",
            "username must be 3 to 32 of a-z, 0-9, '.', '_' or '-' (用户名须为 3 到 32 个小写字母、数字或 . _ -)",
        ))
    }
}

fn check_display_name(name: &str) -> ApiResult<()> {
    if name.trim().is_empty() || name.chars().count() > 64 {
        return Err(ApiError::bad_input(
            "displayName",
            "displayName must be 1 to 64 characters (显示名称须为 1 到 64 个字符)",
        ));
    }
    Ok(())
}

/// What an admin (or registration) creates.
pub struct NewAccount {
    pub username: Option<String>,
    pub phone: Option<String>,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub organization_id: Option<String>,
    /// Stewardship areas; an id given twice counts once.
    pub area_ids: Vec<String>,
}

/// An admin creates an account after checking every field; CONFLICT if the name is taken.
pub async fn create_account(
    db: &DatabaseConnection,
    admin: &Admin,
    auth: &AuthState,
    new: NewAccount,
) -> ApiResult<AccountWithAreas> {
    let account = insert_account(db, auth, new, admin.now).await?;
    account_with_areas(db, &account.id).await
}

/// Creates an account after checking every field; CONFLICT if the name is taken. Who may create
/// which account is the caller's business: an admin any, registration only a migrant.
async fn insert_account(
    db: &DatabaseConnection,
    auth: &AuthState,
    new: NewAccount,
    now: DateTime<Utc>,
) -> ApiResult<Account> {
    let area_ids = distinct(new.area_ids);
    check_display_name(&new.display_name)?;
    check_new_password(&new.password)?;
    let username = new.username.as_deref().map(|u| u.trim().to_lowercase());
    if let Some(username) = &username {
        check_username(username)?;
        if PhoneNumber::mobile(username).is_some() {
            return Err(ApiError::bad_input(
                "username",
                "a phone number goes in the phone field (手机号请填在手机号字段)",
            ));
        }
    }
    let phone_digest = match new.phone.as_deref() {
        Some(phone) => {
            let phone = PhoneNumber::mobile(phone).ok_or_else(|| {
                ApiError::bad_input("phone", "phone must be a mainland mobile number (手机号格式不正确)")
            })?;
            Some(phone_digest(&auth.phone_pepper, phone.as_str())?)
        }
        None => None,
    };
    if username.is_none() && phone_digest.is_none() {
        return Err(ApiError::bad_input("username", "a username or a phone number is needed (需要用户名或手机号)"));
    }
    check_role_fields(db, new.role, new.organization_id.as_deref(), &area_ids).await?;
    for (name, taken) in [
        ("username", username.as_ref().map(|u| account::Column::Username.eq(u.as_str()))),
        ("phone", phone_digest.as_ref().map(|d| account::Column::PhoneDigest.eq(d.as_str()))),
    ] {
        if let Some(condition) = taken
            && account::Entity::find().filter(condition).one(db).await?.is_some()
        {
            return Err(ApiError::conflict(format!(
                "this {name} is already registered (该{}已被注册)",
                if name == "phone" { "手机号" } else { "用户名" }
            )));
        }
    }
    let password_hash = hash_password(new.password).await?;
    let id = uuid::Uuid::now_v7().to_string();
    let txn = begin_write(db).await?;
    account::Entity::insert(account::ActiveModel {
        id: Set(id.clone()),
        username: Set(username.clone()),
        phone_digest: Set(phone_digest),
        display_name: Set(new.display_name.trim().to_owned()),
        password_hash: Set(password_hash),
        role: Set(new.role),
        organization_id: Set(new.organization_id.clone()),
        disabled: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await
    .map_err(|error| unique_violation_as_conflict(error, "username or phone"))?;
    replace_areas(&txn, &id, &area_ids).await?;
    txn.commit().await?;
    Ok(Account { id, role: new.role, organization_id: new.organization_id, display_name: new.display_name, username })
}

/// A unique-constraint failure (two registrations racing for a name) as CONFLICT.
fn unique_violation_as_conflict(error: sea_orm::DbErr, what: &str) -> ApiError {
    if matches!(error.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) {
        ApiError::conflict(format!("this {what} is already registered (已被注册)"))
    } else {
        ApiError::from(error)
    }
}

/// Organisation and areas must fit the role: social workers and provider staff belong to an
/// existing organisation, committee staff have at least one existing area, others neither.
async fn check_role_fields(
    db: &impl ConnectionTrait,
    role: Role,
    organization_id: Option<&str>,
    area_ids: &[String],
) -> ApiResult<()> {
    let needs_organization = matches!(role, Role::SocialWorker | Role::ProviderStaff);
    match (needs_organization, organization_id) {
        (true, None) => {
            return Err(ApiError::bad_input(
                "organizationId",
                "this role belongs to an organisation (该角色须属于一个机构)",
            ));
        }
        (false, Some(_)) => {
            return Err(ApiError::bad_input(
                "organizationId",
                "only social workers and provider staff belong to an organisation (只有社工和服务机构人员属于机构)",
            ));
        }
        (true, Some(id)) => {
            if organization::Entity::find_by_id(id.to_owned()).one(db).await?.is_none() {
                return Err(ApiError::not_found("organization"));
            }
        }
        (false, None) => {}
    }
    let needs_areas = role == Role::CommitteeStaff;
    if needs_areas && area_ids.is_empty() {
        return Err(ApiError::bad_input(
            "areaIds",
            "committee staff need at least one area (居委会人员须负责至少一个片区)",
        ));
    }
    if !needs_areas && !area_ids.is_empty() {
        return Err(ApiError::bad_input("areaIds", "only committee staff have areas (只有居委会人员负责片区)"));
    }
    let found =
        stewardship_area::Entity::find().filter(stewardship_area::Column::Id.is_in(area_ids.to_vec())).all(db).await?;
    if found.len() != area_ids.iter().collect::<HashSet<_>>().len() {
        return Err(ApiError::not_found("area"));
    }
    Ok(())
}

/// The ids in their first order, each once: a list argument that names an id twice means it
/// once, rather than failing on a link table's unique key.
fn distinct(ids: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.into_iter().filter(|id| seen.insert(id.clone())).collect()
}

async fn replace_areas(db: &impl ConnectionTrait, account_id: &str, area_ids: &[String]) -> ApiResult<()> {
    account_area::Entity::delete_many().filter(account_area::Column::AccountId.eq(account_id)).exec(db).await?;
    for area_id in area_ids {
        account_area::Entity::insert(account_area::ActiveModel {
            id: Set(derived_id("account_area", &format!("{account_id}/{area_id}"))),
            account_id: Set(account_id.to_owned()),
            area_id: Set(area_id.clone()),
        })
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

async fn existing_account(db: &impl ConnectionTrait, id: &str) -> ApiResult<account::Model> {
    account::Entity::find_by_id(id.to_owned()).one(db).await?.ok_or_else(|| ApiError::not_found("account"))
}

/// An admin disables or re-enables an account; disabling also signs it out everywhere. An admin
/// may not disable their own account: the last admin could lock everyone out.
pub async fn set_disabled(
    db: &DatabaseConnection,
    admin: &Admin,
    id: &str,
    disabled: bool,
) -> ApiResult<AccountWithAreas> {
    if disabled && admin.account.id == id {
        return Err(ApiError::conflict("you cannot disable your own account (不能停用自己的账户)"));
    }
    let now = admin.now;
    let txn = begin_write(db).await?;
    let row = existing_account(&txn, id).await?;
    account::Entity::update_many()
        .col_expr(account::Column::Disabled, Expr::value(disabled))
        .col_expr(account::Column::UpdatedAt, Expr::value(now))
        .filter(account::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    if disabled {
        revoke_all_for_account(&txn, id, now).await?;
    }
    txn.commit().await?;
    one_with_areas(db, account::Model { disabled, updated_at: now, ..row }).await
}

/// An admin sets a new password for an account and signs it out everywhere.
pub async fn reset_password(
    db: &DatabaseConnection,
    admin: &Admin,
    id: &str,
    password: String,
) -> ApiResult<AccountWithAreas> {
    let now = admin.now;
    check_new_password(&password)?;
    let row = existing_account(db, id).await?;
    let password_hash = hash_password(password).await?;
    let txn = begin_write(db).await?;
    account::Entity::update_many()
        .col_expr(account::Column::PasswordHash, Expr::value(password_hash.clone()))
        .col_expr(account::Column::UpdatedAt, Expr::value(now))
        .filter(account::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    revoke_all_for_account(&txn, id, now).await?;
    txn.commit().await?;
    one_with_areas(db, account::Model { password_hash, updated_at: now, ..row }).await
}

/// An admin changes an account's role, organisation and areas together (they must fit each
/// other; an area named twice counts once). An admin may not take away their own admin role.
pub async fn change_role(
    db: &DatabaseConnection,
    admin: &Admin,
    id: &str,
    role: Role,
    organization_id: Option<String>,
    area_ids: Vec<String>,
) -> ApiResult<AccountWithAreas> {
    if admin.account.id == id && role != Role::Admin {
        return Err(ApiError::conflict("you cannot remove your own admin role (不能取消自己的管理员角色)"));
    }
    let now = admin.now;
    let area_ids = distinct(area_ids);
    let row = existing_account(db, id).await?;
    check_role_fields(db, role, organization_id.as_deref(), &area_ids).await?;
    let txn = begin_write(db).await?;
    account::Entity::update_many()
        .col_expr(account::Column::Role, Expr::value(role))
        .col_expr(account::Column::OrganizationId, Expr::value(organization_id.clone()))
        .col_expr(account::Column::UpdatedAt, Expr::value(now))
        .filter(account::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    replace_areas(&txn, id, &area_ids).await?;
    txn.commit().await?;
    one_with_areas(db, account::Model { role, organization_id, updated_at: now, ..row }).await
}

/// An admin creates (`id` None) or replaces a stewardship area: a set of urban villages (a
/// village named twice counts once) and/or a GeoJSON polygon.
pub async fn save_area(
    db: &DatabaseConnection,
    _admin: &Admin,
    id: Option<&str>,
    name_zh: &str,
    name_en: &str,
    village_ids: &[String],
    boundary: Option<&str>,
) -> ApiResult<AreaWithVillages> {
    if name_zh.trim().is_empty() || name_en.trim().is_empty() {
        return Err(ApiError::bad_input("name", "an area needs a Chinese and an English name (片区须有中英文名称)"));
    }
    if let Some(boundary) = boundary
        && crate::directory::geometry::parse_polygon(boundary).is_none()
    {
        return Err(ApiError::bad_input(
            "boundaryGeoJson",
            "boundary must be a GeoJSON Polygon (边界须为 GeoJSON 多边形)",
        ));
    }
    if village_ids.is_empty() && boundary.is_none() {
        return Err(ApiError::bad_input(
            "villageIds",
            "an area needs urban villages or a boundary (片区须包含城中村或边界)",
        ));
    }
    let villages =
        urban_village::Entity::find().filter(urban_village::Column::Id.is_in(village_ids.to_vec())).all(db).await?;
    // The villages as read, so each once whatever the list repeats.
    if villages.len() != village_ids.iter().collect::<HashSet<_>>().len() {
        return Err(ApiError::not_found("urban village"));
    }
    let id_is_new = id.is_none();
    let txn = begin_write(db).await?;
    let row = stewardship_area::Model {
        id: id.map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned),
        name_zh: name_zh.trim().to_owned(),
        name_en: name_en.trim().to_owned(),
        boundary: boundary.map(str::to_owned),
    };
    let id = row.id.clone();
    if id_is_new {
        stewardship_area::Entity::insert(stewardship_area::ActiveModel::from(row.clone()))
            .exec_without_returning(&txn)
            .await?;
    } else {
        // Updated in place: deleting and re-inserting the area would cascade to its
        // account_area rows and silently unassign every committee member who looks after it.
        let updated = stewardship_area::Entity::update_many()
            .col_expr(stewardship_area::Column::NameZh, Expr::value(row.name_zh.clone()))
            .col_expr(stewardship_area::Column::NameEn, Expr::value(row.name_en.clone()))
            .col_expr(stewardship_area::Column::Boundary, Expr::value(row.boundary.clone()))
            .filter(stewardship_area::Column::Id.eq(&id))
            .exec(&txn)
            .await?;
        if updated.rows_affected == 0 {
            return Err(ApiError::not_found("area"));
        }
        stewardship_area_village::Entity::delete_many()
            .filter(stewardship_area_village::Column::AreaId.eq(&id))
            .exec(&txn)
            .await?;
    }
    for village in &villages {
        stewardship_area_village::Entity::insert(stewardship_area_village::ActiveModel {
            id: Set(derived_id("stewardship_area_village", &format!("{id}/{}", village.id))),
            area_id: Set(id.clone()),
            urban_village_id: Set(village.id.clone()),
        })
        .exec_without_returning(&txn)
        .await?;
    }
    txn.commit().await?;
    area_with_villages(db, row).await
}

/// An account with the stewardship areas it looks after, as admins see it.
#[derive(Debug, Clone)]
pub struct AccountWithAreas {
    pub account: account::Model,
    pub area_ids: Vec<String>,
}

/// One page of accounts, oldest first, optionally of one role, with their areas, for an admin:
/// two queries whatever the page size.
pub async fn list_accounts(
    db: &DatabaseConnection,
    _admin: &Admin,
    role: Option<Role>,
    page: &PageRequest,
) -> ApiResult<Page<AccountWithAreas>> {
    let mut query = account::Entity::find().order_by_asc(account::Column::CreatedAt).order_by_asc(account::Column::Id);
    if let Some(role) = role {
        query = query.filter(account::Column::Role.eq(role));
    }
    let rows = query.offset(page.sql_offset()).limit(page.sql_limit()).all(db).await?;
    let mut page = page.page_of_fetched(rows);
    let rows = std::mem::take(&mut page.items);
    Ok(page.with_items(with_areas(db, rows).await?))
}

/// One account with its areas; NOT_FOUND when there is none with that id.
async fn account_with_areas(db: &DatabaseConnection, id: &str) -> ApiResult<AccountWithAreas> {
    let row = existing_account(db, id).await?;
    one_with_areas(db, row).await
}

/// An account row (as a write returned it) with its areas.
async fn one_with_areas(db: &DatabaseConnection, row: account::Model) -> ApiResult<AccountWithAreas> {
    with_areas(db, vec![row]).await?.pop().ok_or_else(|| ApiError::internal("an account went missing"))
}

/// Accounts with their areas, the areas of all of them read in one query.
async fn with_areas(db: &impl ConnectionTrait, rows: Vec<account::Model>) -> ApiResult<Vec<AccountWithAreas>> {
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    let mut areas: HashMap<String, Vec<String>> = HashMap::new();
    for link in account_area::Entity::find().filter(account_area::Column::AccountId.is_in(ids)).all(db).await? {
        areas.entry(link.account_id).or_default().push(link.area_id);
    }
    Ok(rows
        .into_iter()
        .map(|account| AccountWithAreas { area_ids: areas.remove(&account.id).unwrap_or_default(), account })
        .collect())
}

/// A stewardship area with its urban villages.
#[derive(Debug, Clone)]
pub struct AreaWithVillages {
    pub area: stewardship_area::Model,
    pub village_ids: Vec<String>,
}

/// Every stewardship area by English name, with its villages, for an admin: two queries.
pub async fn list_areas(db: &DatabaseConnection, _admin: &Admin) -> ApiResult<Vec<AreaWithVillages>> {
    let rows = stewardship_area::Entity::find().order_by_asc(stewardship_area::Column::NameEn).all(db).await?;
    with_villages(db, rows).await
}

/// An area row (as a write returned it) with its villages.
async fn area_with_villages(db: &DatabaseConnection, row: stewardship_area::Model) -> ApiResult<AreaWithVillages> {
    with_villages(db, vec![row]).await?.pop().ok_or_else(|| ApiError::internal("an area went missing"))
}

async fn with_villages(
    db: &impl ConnectionTrait,
    rows: Vec<stewardship_area::Model>,
) -> ApiResult<Vec<AreaWithVillages>> {
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    let mut villages: HashMap<String, Vec<String>> = HashMap::new();
    for link in stewardship_area_village::Entity::find()
        .filter(stewardship_area_village::Column::AreaId.is_in(ids))
        .all(db)
        .await?
    {
        villages.entry(link.area_id).or_default().push(link.urban_village_id);
    }
    Ok(rows
        .into_iter()
        .map(|area| AreaWithVillages { village_ids: villages.remove(&area.id).unwrap_or_default(), area })
        .collect())
}

/// The demo accounts of DESIGN.md, all with [`DEMO_PASSWORD`]. Idempotent.
pub async fn seed_demo_accounts(db: &DatabaseConnection, now: DateTime<Utc>) -> ApiResult<()> {
    let t_village_area = derived_id("stewardship_area", "sh-t-village-area");
    let txn = begin_write(db).await?;
    stewardship_area::Entity::insert(stewardship_area::ActiveModel {
        id: Set(t_village_area.clone()),
        name_zh: Set("T村片区".to_owned()),
        name_en: Set("T village area".to_owned()),
        boundary: Set(None),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(&txn)
    .await?;
    stewardship_area_village::Entity::insert(stewardship_area_village::ActiveModel {
        id: Set(derived_id("stewardship_area_village", "sh-t-village-area/sh-t-village")),
        area_id: Set(t_village_area.clone()),
        urban_village_id: Set(derived_id("urban_village", "sh-t-village")),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(&txn)
    .await?;
    let password_hash = demo_password_hash().await?;
    let demo = [
        ("admin", "管理员 / Administrator", Role::Admin, None),
        (
            "worker.tvillage",
            "T村社工 / T village social worker",
            Role::SocialWorker,
            Some("sh-tvillage-social-work-station"),
        ),
        ("committee.tvillage", "T村居委会 / T village committee", Role::CommitteeStaff, None),
        (
            "provider.legalaid",
            "闵行区法律援助中心 / Minhang legal aid centre",
            Role::ProviderStaff,
            Some("sh-minhang-legal-aid-centre"),
        ),
        (
            "provider.zhijin",
            "织金县教育局招生办 / Zhijin county school enrolment office",
            Role::ProviderStaff,
            Some("gz-zhijin-education-bureau"),
        ),
        ("migrant.demo", "演示居民 / Demo resident", Role::Migrant, None),
    ];
    for (username, display_name, role, organization_key) in demo {
        let id = derived_id("account", username);
        account::Entity::insert(account::ActiveModel {
            id: Set(id.clone()),
            username: Set(Some(username.to_owned())),
            phone_digest: Set(None),
            display_name: Set(display_name.to_owned()),
            password_hash: Set(password_hash.clone()),
            role: Set(role),
            organization_id: Set(organization_key.map(|key| derived_id("organization", key))),
            disabled: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .on_conflict_do_nothing()
        .exec_without_returning(&txn)
        .await?;
        if role == Role::CommitteeStaff {
            account_area::Entity::insert(account_area::ActiveModel {
                id: Set(derived_id("account_area", &format!("{id}/{t_village_area}"))),
                account_id: Set(id),
                area_id: Set(t_village_area.clone()),
            })
            .on_conflict_do_nothing()
            .exec_without_returning(&txn)
            .await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

/// One Argon2id hash of the demo password per process (hashing is slow by design).
async fn demo_password_hash() -> ApiResult<String> {
    static HASH: OnceLock<String> = OnceLock::new();
    if let Some(hash) = HASH.get() {
        return Ok(hash.clone());
    }
    let hash = hash_password(DEMO_PASSWORD.to_owned()).await?;
    Ok(HASH.get_or_init(|| hash).clone())
}

/// Everything signing in needs, for registration: creates a migrant account and signs it in.
pub async fn register_migrant(
    db: &DatabaseConnection,
    auth: &AuthState,
    login: &str,
    password: String,
    display_name: Option<String>,
    now: DateTime<Utc>,
) -> ApiResult<SignedIn> {
    let (username, phone) = match PhoneNumber::mobile(login) {
        Some(phone) => (None, Some(phone.into_string())),
        None => (Some(login.to_owned()), None),
    };
    let display_name = display_name.unwrap_or_else(|| username.clone().unwrap_or_else(|| "居民 / Resident".to_owned()));
    let account = insert_account(
        db,
        auth,
        NewAccount {
            username,
            phone,
            display_name,
            password,
            role: Role::Migrant,
            organization_id: None,
            area_ids: Vec::new(),
        },
        now,
    )
    .await?;
    sign_in(db, auth, account, now).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pagination::List;

    /// A fresh SQLite file with the demo directory and the demo accounts.
    async fn demo_database() -> (DatabaseConnection, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!("qiao-accounts-{}.db", uuid::Uuid::now_v7()));
        let db = crate::db::connect_and_migrate(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .expect("a fresh database");
        qiao_seed::load_reference_data(&db).await.expect("reference data");
        qiao_seed::load_demo_directory(&db).await.expect("the demo directory");
        seed_demo_accounts(&db, Utc::now()).await.expect("the demo accounts");
        (db, path)
    }

    /// The demo admin's capability, checked against the database like any request's.
    async fn demo_admin(db: &DatabaseConnection) -> Admin {
        let account = crate::auth::load_account(db, &derived_id("account", "admin")).await.expect("read the admin");
        let caller = crate::auth::Caller::Account(std::sync::Arc::new(account.expect("the demo admin")));
        Admin::of(db, &caller, Utc::now()).await.expect("the demo admin is an admin")
    }

    #[tokio::test]
    async fn accounts_are_listed_page_by_page_each_once_with_their_areas() {
        let (db, path) = demo_database().await;
        let admin = demo_admin(&db).await;
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let request = PageRequest::new(List::Accounts, Some(2), after.as_deref()).expect("a valid page request");
            let page = list_accounts(&db, &admin, None, &request).await.expect("a page of accounts");
            assert!(page.items.len() <= 2);
            after = page.end_cursor();
            let more = page.has_next_page;
            seen.extend(page.items);
            if !more {
                break;
            }
        }
        let mut ids: Vec<&str> = seen.iter().map(|a| a.account.id.as_str()).collect();
        assert_eq!(ids.len(), 6, "the six demo accounts");
        ids.dedup();
        assert_eq!(ids.len(), 6, "no account on two pages");
        for listed in &seen {
            let has_areas = !listed.area_ids.is_empty();
            assert_eq!(has_areas, listed.account.role == Role::CommitteeStaff, "{:?}", listed.account.username);
        }

        let committee = PageRequest::first_page(List::Accounts, 50);
        let committee =
            list_accounts(&db, &admin, Some(Role::CommitteeStaff), &committee).await.expect("committee staff");
        assert_eq!(committee.items.len(), 1);
        assert_eq!(committee.items[0].area_ids, vec![derived_id("stewardship_area", "sh-t-village-area")]);

        let areas = list_areas(&db, &admin).await.expect("the areas");
        assert_eq!(areas.len(), 1);
        assert_eq!(areas[0].village_ids, vec![derived_id("urban_village", "sh-t-village")]);
        db.close().await.ok();
        for suffix in ["", "-wal", "-shm"] {
            std::fs::remove_file(format!("{}{suffix}", path.display())).ok();
        }
    }
}
