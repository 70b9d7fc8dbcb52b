//! Stewardship mutations and staff queries: committees keep their areas' listings, providers
//! their own services' hours, capacity and alerts. Roles are checked here; scope (area or
//! organisation, from the database) in `crate::stewardship`.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};

use super::category::ServiceCategory;
use super::common::{
    CapacityStatus, ChangeRecord, ChangeRecordConnection, Date, EligibilityKind, GeoPointInput, PageInfo,
};
use super::context::state;
use crate::AppState;
use crate::auth::caller;
use crate::directory::hours::local_date;
use crate::error::{ApiError, ApiResult};
use crate::pagination::{List, PageRequest};
use crate::stewardship::reads;
use crate::stewardship::{self as domain, Keeper, Outcome, StatusChange, Steward, Text};
use crate::values::{Field, Money};

/// The caller as a steward of listings (committee staff, admins), checked against the database.
pub(super) async fn steward<'a>(ctx: &Context<'a>) -> ApiResult<(Steward, &'a AppState)> {
    let state = state(ctx)?;
    Ok((Steward::of(&state.db, caller(ctx), state.clock.now()).await?, state))
}

/// The caller as a keeper of services (provider staff, committee staff, admins).
pub(super) async fn keeper<'a>(ctx: &Context<'a>) -> ApiResult<(Keeper, &'a AppState)> {
    let state = state(ctx)?;
    Ok((Keeper::of(&state.db, caller(ctx), state.clock.now()).await?, state))
}

/// Bilingual text.
#[derive(InputObject, Clone)]
pub struct TextInput {
    /// Simplified Chinese.
    pub zh: String,
    /// English.
    pub en: String,
}

impl From<TextInput> for Text {
    fn from(input: TextInput) -> Self {
        Self { zh: input.zh, en: input.en }
    }
}

fn text(input: Option<TextInput>) -> Option<Text> {
    input.map(Text::from)
}

/// A new organisation.
#[derive(InputObject)]
pub struct OrganizationInput {
    /// Name.
    pub name: TextInput,
    /// What it is and does.
    pub description: TextInput,
    /// Website.
    pub website: Option<String>,
    /// Public email.
    pub email: Option<String>,
    /// Legal status, e.g. "social organisation (民办非企业单位)".
    pub legal_status: Option<String>,
}

/// Changes to an organisation; omitted fields stay as they are, an empty string clears.
#[derive(InputObject, Default)]
pub struct OrganizationPatchInput {
    /// New name.
    pub name: Option<TextInput>,
    /// New description.
    pub description: Option<TextInput>,
    /// New website ("" clears).
    pub website: Option<String>,
    /// New email ("" clears).
    pub email: Option<String>,
    /// New legal status ("" clears).
    pub legal_status: Option<String>,
}

/// A physical place.
#[derive(InputObject)]
pub struct LocationInput {
    /// Name of the place.
    pub name: TextInput,
    /// Where it is, in any datum; it must lie inside your area.
    pub point: GeoPointInput,
    /// Street and number.
    pub street: TextInput,
    /// District (区/县).
    pub district: TextInput,
    /// City.
    pub city: TextInput,
    /// Six-digit district code, e.g. 310112.
    pub adcode: String,
    /// Postal code.
    pub postal_code: Option<String>,
    /// How to get there.
    pub transportation: Option<TextInput>,
}

impl LocationInput {
    fn into_fields(self) -> ApiResult<domain::LocationFields> {
        Ok(domain::LocationFields {
            point: self.point.to_wgs84("location.point")?,
            name: self.name.into(),
            street: self.street.into(),
            district: self.district.into(),
            city: self.city.into(),
            adcode: self.adcode,
            postal_code: self.postal_code,
            transportation: text(self.transportation),
        })
    }
}

/// Changes to a location; omitted fields stay as they are.
#[derive(InputObject, Default)]
pub struct LocationPatchInput {
    /// New name.
    pub name: Option<TextInput>,
    /// New position (must stay inside your area).
    pub point: Option<GeoPointInput>,
    /// New street address.
    pub street: Option<TextInput>,
    /// New directions.
    pub transportation: Option<TextInput>,
}

/// A cost option.
#[derive(InputObject, Clone)]
pub struct CostInput {
    /// What the amount is for.
    pub option: TextInput,
    /// Amount in yuan; 0 means free.
    pub amount_yuan: f64,
}

fn costs(list: Vec<CostInput>) -> ApiResult<Vec<domain::Cost>> {
    list.into_iter()
        .map(|cost| {
            let amount = Money::from_yuan(Field::CostAmount, cost.amount_yuan)?;
            Ok(domain::Cost { option: cost.option.into(), amount_fen: amount.fen() })
        })
        .collect()
}

fn category_term(state: &AppState, category: ServiceCategory) -> ApiResult<String> {
    let directory = state.directory.current();
    directory
        .taxonomy
        .by_code(category.code())
        .map(|term| directory.taxonomy.terms[term].id.clone())
        .ok_or_else(|| ApiError::bad_input("category", "unknown category (未知类别)"))
}

/// A new service.
#[derive(InputObject)]
pub struct ServiceInput {
    /// Name.
    pub name: TextInput,
    /// What it does, in plain words.
    pub description: TextInput,
    /// Primary category.
    pub category: ServiceCategory,
    /// Locations of the same organisation where it is delivered (inside your area).
    pub location_ids: Vec<ID>,
    /// Languages spoken (BCP-47 codes).
    pub languages: Vec<String>,
    /// Cost options; 0 means free.
    pub costs: Vec<CostInput>,
    /// Documents to bring.
    #[graphql(default)]
    pub documents: Vec<TextInput>,
    /// Fees in words.
    pub fees_description: Option<TextInput>,
    /// How to apply.
    pub application_process: Option<TextInput>,
    /// Who can use it, in words.
    pub eligibility_description: Option<TextInput>,
}

/// Changes to a service; omitted fields stay as they are, lists are replaced whole.
#[derive(InputObject, Default)]
pub struct ServicePatchInput {
    /// New name.
    pub name: Option<TextInput>,
    /// New description.
    pub description: Option<TextInput>,
    /// New primary category.
    pub category: Option<ServiceCategory>,
    /// New languages.
    pub languages: Option<Vec<String>>,
    /// New cost options.
    pub costs: Option<Vec<CostInput>>,
    /// New documents to bring.
    pub documents: Option<Vec<TextInput>>,
    /// New fees description.
    pub fees_description: Option<TextInput>,
    /// New application process.
    pub application_process: Option<TextInput>,
}

/// A day of the week.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "qiao_schema::domain::Weekday")]
pub enum Weekday {
    /// Monday.
    Mo,
    /// Tuesday.
    Tu,
    /// Wednesday.
    We,
    /// Thursday.
    Th,
    /// Friday.
    Fr,
    /// Saturday.
    Sa,
    /// Sunday.
    Su,
}

/// Weekly opening hours on some days (China Standard Time).
#[derive(InputObject)]
pub struct HoursInput {
    /// The days these hours apply to.
    pub days: Vec<Weekday>,
    /// Opening time, "HH:MM".
    pub opens: String,
    /// Closing time, "HH:MM", after opening.
    pub closes: String,
}

/// A dated exception to the weekly hours.
#[derive(InputObject)]
pub struct ScheduleExceptionInput {
    /// The date.
    pub date: Date,
    /// Special opening time; omit with `closes` for closed all day.
    pub opens: Option<String>,
    /// Special closing time.
    pub closes: Option<String>,
    /// Why (a holiday, stock-taking).
    pub reason: TextInput,
}

/// A structured eligibility requirement.
#[derive(InputObject)]
pub struct EligibilityRequirementInput {
    /// Kind of requirement.
    pub kind: EligibilityKind,
    /// Months of social insurance, for SOCIAL_INSURANCE_MONTHS only.
    pub months: Option<i32>,
    /// Youngest age, for AGE_RANGE only.
    pub min_age: Option<i32>,
    /// Oldest age, for AGE_RANGE only.
    pub max_age: Option<i32>,
}

/// One changed field.
#[derive(SimpleObject, Clone)]
pub struct FieldChange {
    /// The field (database column, or a list such as `hours`, `languages`).
    pub field: String,
    /// Value before (null when empty).
    pub previous_value: Option<String>,
    /// Value after (null when empty).
    pub new_value: Option<String>,
}

/// What a stewardship write changed.
#[derive(SimpleObject)]
pub struct ChangeResult {
    /// Id of the record written (a new record's id on create).
    pub id: ID,
    /// organization, location or service.
    pub resource_type: String,
    /// The fields that changed; empty when the write changed nothing.
    pub changes: Vec<FieldChange>,
}

impl From<Outcome> for ChangeResult {
    fn from(outcome: Outcome) -> Self {
        Self {
            id: ID(outcome.id),
            resource_type: outcome.resource_type.to_owned(),
            changes: outcome
                .changes
                .into_iter()
                .map(|c| FieldChange { field: c.field, previous_value: c.previous, new_value: c.new })
                .collect(),
        }
    }
}

/// A listing due for re-verification.
#[derive(SimpleObject)]
pub struct StaleListing {
    /// The service's id.
    pub id: ID,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Last verified (null: never).
    pub last_verified_on: Option<Date>,
}

/// A page of stale listings.
#[derive(SimpleObject)]
pub struct StaleListingConnection {
    /// Listings of this page, least recently verified first.
    pub nodes: Vec<StaleListing>,
    /// Pagination.
    pub page_info: PageInfo,
}

#[derive(Default)]
pub struct StewardshipQuery;

#[Object]
impl StewardshipQuery {
    /// The change history of a service, organisation or location you steward, newest first.
    #[graphql(complexity = "20 + first.unwrap_or(20).clamp(1, 50) as usize * child_complexity")]
    async fn listing_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of a service, organisation or location.")] id: ID,
        #[graphql(desc = "Page size, 0 to 50 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the previous page's end.")] after: Option<String>,
    ) -> async_graphql::Result<ChangeRecordConnection> {
        let (actor, state) = keeper(ctx).await?;
        let request = PageRequest::new(List::ListingHistory, first, after.as_deref())?;
        let page = reads::history_page(&state.db, &actor.scope, &id, &request).await?;
        let page_info = PageInfo::from(&page);
        Ok(ChangeRecordConnection { nodes: page.items.into_iter().map(ChangeRecord::from).collect(), page_info })
    }

    /// Listings in your area not verified for `olderThanDays` days (or never), least recently
    /// verified first.
    #[graphql(complexity = "20 + first.unwrap_or(20).clamp(1, 50) as usize * child_complexity")]
    async fn stale_listings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Age in days, 1 to 3650.")] older_than_days: i32,
        #[graphql(desc = "Page size, 0 to 50 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the previous page's end.")] after: Option<String>,
    ) -> async_graphql::Result<StaleListingConnection> {
        let (actor, state) = steward(ctx).await?;
        let request = PageRequest::new(List::StaleListings, first, after.as_deref())?;
        let page = reads::stale_listings(&state.db, &actor.scope, older_than_days, actor.now, &request).await?;
        let page_info = PageInfo::from(&page);
        let nodes = page
            .items
            .into_iter()
            .map(|s| StaleListing {
                id: ID(s.id),
                name_zh: s.name_zh,
                name_en: s.name_en,
                last_verified_on: s.assured_date.map(Date),
            })
            .collect();
        Ok(StaleListingConnection { nodes, page_info })
    }
}

#[derive(Default)]
pub struct StewardshipMutation;

#[Object]
impl StewardshipMutation {
    /// Creates an organisation with its first location, inside your area (committee staff, admins).
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The organisation.")] input: OrganizationInput,
        #[graphql(desc = "Its first location.")] location: LocationInput,
    ) -> async_graphql::Result<ChangeResult> {
        let (actor, state) = steward(ctx).await?;
        let fields = domain::OrganizationFields {
            name: input.name.into(),
            description: input.description.into(),
            website: input.website,
            email: input.email,
            legal_status: input.legal_status,
        };
        let outcome = domain::create_organization(&state.store, &actor, fields, location.into_fields()?)
            .await
            .map_err(super::errors::in_location_argument)?;
        Ok(ChangeResult::from(outcome))
    }

    /// Updates an organisation in your area (committee staff, admins).
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Organisation id.")] id: ID,
        #[graphql(desc = "The changes.")] input: OrganizationPatchInput,
    ) -> async_graphql::Result<ChangeResult> {
        let (actor, state) = steward(ctx).await?;
        let patch = domain::OrganizationPatch {
            name: text(input.name),
            description: text(input.description),
            website: input.website,
            email: input.email,
            legal_status: input.legal_status,
        };
        let outcome = domain::update_organization(&state.store, &actor, &id, patch).await?;
        Ok(ChangeResult::from(outcome))
    }

    /// Archives an organisation in your area: it and its services leave the public directory.
    async fn archive_organization(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Organisation id.")] id: ID,
    ) -> async_graphql::Result<ChangeResult> {
        let (actor, state) = steward(ctx).await?;
        let outcome = domain::archive_organization(&state.store, &actor, &id).await?;
        Ok(ChangeResult::from(outcome))
    }

    /// Adds a location, inside your area, to an organisation (committee staff, admins).
    async fn create_location(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Organisation id.")] organization_id: ID,
        #[graphql(desc = "The location.")] input: LocationInput,
    ) -> async_graphql::Result<ChangeResult> {
        let (actor, state) = steward(ctx).await?;
        let outcome = domain::create_location(&state.store, &actor, &organization_id, input.into_fields()?).await?;
        Ok(ChangeResult::from(outcome))
    }

    /// Updates a location in your area (committee staff, admins).
    async fn update_location(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Location id.")] id: ID,
        #[graphql(desc = "The changes.")] input: LocationPatchInput,
    ) -> async_graphql::Result<ChangeResult> {
        let (actor, state) = steward(ctx).await?;
        let point = match input.point {
            Some(point) => Some(point.to_wgs84("point")?),
            None => None,
        };
        let patch = domain::LocationPatch {
            name: text(input.name),
            point,
            street: text(input.street),
            transportation: text(input.transportation),
        };
        let outcome = domain::update_location(&state.store, &actor, &id, patch).await?;
        Ok(ChangeResult::from(outcome))
    }

    /// Archives a location in your area: services there are no longer found at it.
    async fn archive_location(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Location id.")] id: ID,
    ) -> async_graphql::Result<ChangeResult> {
        let (actor, state) = steward(ctx).await?;
        let outcome = domain::archive_location(&state.store, &actor, &id).await?;
        Ok(ChangeResult::from(outcome))
    }

    /// Creates a service of an organisation at its locations in your area (committee staff, admins).
    async fn create_service(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Organisation id.")] organization_id: ID,
        #[graphql(desc = "The service.")] input: ServiceInput,
    ) -> async_graphql::Result<ChangeResult> {
        let (actor, state) = steward(ctx).await?;
        let fields = domain::ServiceFields {
            name: input.name.into(),
            description: input.description.into(),
            category_term_id: category_term(state, input.category)?,
            location_ids: input.location_ids.into_iter().map(|id| id.0).collect(),
            languages: input.languages,
            costs: costs(input.costs)?,
            documents: input.documents.into_iter().map(Text::from).collect(),
            fees_description: text(input.fees_description),
            application_process: text(input.application_process),
            eligibility_description: text(input.eligibility_description),
        };
        let outcome = domain::create_service(&state.store, &actor, &organization_id, fields).await?;
        Ok(ChangeResult::from(outcome))
    }

    /// Updates a service in your area (committee staff, admins).
    async fn update_service(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Service id.")] id: ID,
        #[graphql(desc = "The changes.")] input: ServicePatchInput,
    ) -> async_graphql::Result<ChangeResult> {
        let (actor, state) = steward(ctx).await?;
        let patch = domain::ServicePatch {
            name: text(input.name),
            description: text(input.description),
            category_term_id: input.category.map(|c| category_term(state, c)).transpose()?,
            languages: input.languages,
            costs: input.costs.map(costs).transpose()?,
            documents: input.documents.map(|list| list.into_iter().map(Text::from).collect()),
            fees_description: text(input.fees_description),
            application_process: text(input.application_process),
        };
        let outcome = domain::update_service(&state.store, &actor, &id, patch).await?;
        Ok(ChangeResult::from(outcome))
    }

    /// Marks a service in your area as checked today (sets its last verified date and verifier).
    async fn verify_service(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Service id.")] id: ID,
    ) -> async_graphql::Result<ChangeResult> {
        let (actor, state) = steward(ctx).await?;
        let today = local_date(actor.now);
        let outcome = domain::verify_service(&state.store, &actor, &id, today).await?;
        Ok(ChangeResult::from(outcome))
    }

    /// Closes a service in your area temporarily: it stays listed, says it is closed and why.
    async fn close_service_temporarily(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Service id.")] id: ID,
        #[graphql(desc = "Why, shown to the public as the service's alert.")] reason: TextInput,
    ) -> async_graphql::Result<ChangeResult> {
        let (actor, state) = steward(ctx).await?;
        let outcome = domain::change_service_status(
            &state.store,
            &actor,
            &id,
            StatusChange::CloseTemporarily,
            Some(reason.into()),
        )
        .await?;
        Ok(ChangeResult::from(outcome))
    }

    /// Reopens a temporarily closed service in your area.
    async fn reopen_service(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Service id.")] id: ID,
    ) -> async_graphql::Result<ChangeResult> {
        let (actor, state) = steward(ctx).await?;
        let outcome = domain::change_service_status(&state.store, &actor, &id, StatusChange::Reopen, None).await?;
        Ok(ChangeResult::from(outcome))
    }

    /// Archives a service in your area: it leaves the public directory.
    async fn archive_service(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Service id.")] id: ID,
    ) -> async_graphql::Result<ChangeResult> {
        let (actor, state) = steward(ctx).await?;
        let outcome = domain::change_service_status(&state.store, &actor, &id, StatusChange::Archive, None).await?;
        Ok(ChangeResult::from(outcome))
    }

    /// Replaces a service's weekly hours and dated exceptions (provider staff for their own
    /// organisation's services, committee staff in their area, admins).
    async fn set_service_hours(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Service id.")] id: ID,
        #[graphql(desc = "Weekly hours; an empty list means by appointment only.")] hours: Vec<HoursInput>,
        #[graphql(desc = "Dated exceptions (holidays, closures).", default)] exceptions: Vec<ScheduleExceptionInput>,
    ) -> async_graphql::Result<ChangeResult> {
        let (actor, state) = keeper(ctx).await?;
        let hours = hours
            .into_iter()
            .map(|h| domain::HoursSpec {
                days: h.days.into_iter().map(Into::into).collect(),
                opens: h.opens,
                closes: h.closes,
            })
            .collect();
        let exceptions = exceptions
            .into_iter()
            .map(|e| domain::ExceptionSpec {
                date: e.date.0,
                opens: e.opens,
                closes: e.closes,
                reason: e.reason.into(),
            })
            .collect();
        let outcome = domain::set_service_hours(&state.store, &actor, &id, hours, exceptions).await?;
        Ok(ChangeResult::from(outcome))
    }

    /// Replaces a service's eligibility requirements and description (committee staff, admins).
    async fn set_service_eligibility(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Service id.")] id: ID,
        #[graphql(desc = "Structured requirements.")] requirements: Vec<EligibilityRequirementInput>,
        #[graphql(desc = "Who can use it, in words.")] description: Option<TextInput>,
    ) -> async_graphql::Result<ChangeResult> {
        let (actor, state) = steward(ctx).await?;
        let requirements = requirements
            .into_iter()
            .map(|r| domain::RequirementSpec {
                kind: r.kind.into(),
                months: r.months,
                min_age: r.min_age,
                max_age: r.max_age,
            })
            .collect();
        let outcome =
            domain::set_service_eligibility(&state.store, &actor, &id, requirements, text(description)).await?;
        Ok(ChangeResult::from(outcome))
    }

    /// Sets whether a service takes new people (provider staff for their own services,
    /// committee staff in their area, admins).
    async fn set_service_capacity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Service id.")] id: ID,
        #[graphql(desc = "Accepting, waitlist or full.")] status: CapacityStatus,
        #[graphql(desc = "More detail, e.g. how long the wait is.")] note: Option<TextInput>,
    ) -> async_graphql::Result<ChangeResult> {
        let (actor, state) = keeper(ctx).await?;
        let today = local_date(actor.now);
        let outcome = domain::set_service_capacity(&state.store, &actor, &id, status.into(), text(note), today).await?;
        Ok(ChangeResult::from(outcome))
    }

    /// Sets or clears a service's alert, a notice shown with the listing (provider staff for
    /// their own services, committee staff in their area, admins).
    async fn set_service_alert(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Service id.")] id: ID,
        #[graphql(desc = "The notice; null clears it.")] alert: Option<TextInput>,
    ) -> async_graphql::Result<ChangeResult> {
        let (actor, state) = keeper(ctx).await?;
        let outcome = domain::set_service_alert(&state.store, &actor, &id, text(alert)).await?;
        Ok(ChangeResult::from(outcome))
    }
}
