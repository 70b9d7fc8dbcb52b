//! Public queries of the directory. No account is needed and nothing about the caller or the
//! query is stored: search points and texts live only for the length of the request.

use async_graphql::{Context, ID, Object};

use super::category::{Category, ServiceCategory};
use super::common::{GeoPointInput, Language, PageInfo, language_of};
use super::context::{fail, state};
use super::eligibility::SituationInput;
use super::objects::*;
use crate::AppState;
use crate::directory::search::{Cursor, MAX_RADIUS_M, NearbyQuery};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{self, List, PageRequest};
use crate::values::{BoundedText, Field, LanguageTag, TextLimit};

#[derive(Default)]
pub struct DirectoryQuery;

#[Object]
impl DirectoryQuery {
    /// Services near a point, nearest first: one edge per service, at its nearest matching
    /// place, with the geodesic distance. Anonymous; nothing about the search is stored.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "20 + first.unwrap_or(20).clamp(1, 50) as usize * child_complexity")]
    async fn nearby_services(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Where to search from, in any datum.")] near: GeoPointInput,
        #[graphql(desc = "Search radius in metres, 1 to 50000.")] radius_meters: i32,
        #[graphql(desc = "Only these categories (each includes its sub-categories).")] categories: Option<
            Vec<ServiceCategory>,
        >,
        #[graphql(desc = "Words to match in names, organisations and categories: Chinese needs no spaces \
                          (法律 finds 法律援助中心); English matches word beginnings (lib finds Library); \
                          pinyin finds Chinese, in full or by initials, with or without tones and spaces \
                          (falvyuanzhu, flyz); everyday words for a need find its category (上学, 讨薪, \
                          school). At most 100 characters.")]
        text: Option<String>,
        #[graphql(desc = "Only places open right now (China Standard Time, holidays included).")] open_now: Option<
            bool,
        >,
        #[graphql(desc = "Only services speaking one of these languages (BCP-47 codes such as zh, en, yue).")]
        languages: Option<Vec<String>>,
        #[graphql(desc = "Only free services.")] free_only: Option<bool>,
        #[graphql(desc = "Only services that do not require a local hukou.")] eligible_without_local_hukou: Option<
            bool,
        >,
        #[graphql(desc = "Only services this situation does not rule out (as checkEligibility decides); \
                          a service it cannot decide for lack of a fact stays.")]
        situation: Option<SituationInput>,
        #[graphql(desc = "Page size, 0 to 50 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
        #[graphql(desc = "Language of texts (default: Accept-Language, else Chinese).")] language: Option<Language>,
    ) -> async_graphql::Result<NearbyServiceConnection> {
        let arguments = NearbyArguments {
            near,
            radius_meters,
            categories,
            text,
            open_now,
            languages,
            free_only,
            eligible_without_local_hukou,
            situation,
            first,
            after,
        };
        Ok(search_nearby(state(ctx)?, arguments, language_of(ctx, language))?)
    }

    /// One service with everything needed before going: organisation, places with addresses
    /// and coordinates, hours for the next 7 days and whether open now, phones, languages,
    /// cost, eligibility in plain words, documents to bring, last verified date, capacity.
    /// Unknown or archived ids give a NOT_FOUND error.
    #[graphql(complexity = "20 + child_complexity")]
    async fn service(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The service's id.")] id: ID,
        #[graphql(desc = "Language of texts (default: Accept-Language, else Chinese).")] language: Option<Language>,
    ) -> async_graphql::Result<Option<Service>> {
        let state = state(ctx)?;
        if id.len() > 64 {
            return fail(ApiError::not_found("service"));
        }
        let detail = state
            .directory
            .details()
            .get(&state.db, &id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("service"))?;
        Ok(Some(Service {
            detail,
            directory: state.directory.current(),
            language: language_of(ctx, language),
            now: state.clock.now(),
        }))
    }

    /// The urban village containing a point (a point on the boundary counts as inside); null
    /// outside every village.
    async fn urban_village_at(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The point, in any datum.")] point: GeoPointInput,
        #[graphql(desc = "Language of texts (default: Accept-Language, else Chinese).")] language: Option<Language>,
    ) -> async_graphql::Result<Option<UrbanVillage>> {
        let state = state(ctx)?;
        let point = point.to_wgs84("point")?;
        let directory = state.directory.current();
        let index = directory.village_at(point).and_then(|v| directory.villages.iter().position(|w| w.id == v.id));
        Ok(index.map(|index| UrbanVillage { directory, index, language: language_of(ctx, language) }))
    }

    /// Urban villages, optionally of one city (matched by its Chinese or English name, e.g.
    /// 上海 or Shanghai), ordered by name.
    #[graphql(complexity = "20 + first.unwrap_or(20).clamp(1, 50) as usize * child_complexity")]
    async fn urban_villages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "City name in Chinese or English; all cities when omitted.")] city: Option<String>,
        #[graphql(desc = "Page size, 0 to 50 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
        #[graphql(desc = "Language of texts (default: Accept-Language, else Chinese).")] language: Option<Language>,
    ) -> async_graphql::Result<UrbanVillageConnection> {
        let state = state(ctx)?;
        let request = PageRequest::new(List::UrbanVillages, first, after.as_deref())?;
        let directory = state.directory.current();
        let language = language_of(ctx, language);
        let page = request.page_of_all(directory.villages_of_city(city.as_deref(), language));
        let edges = page
            .items
            .iter()
            .enumerate()
            .map(|(position, index)| UrbanVillageEdge {
                cursor: page.cursor_of(position),
                node: UrbanVillage { directory: directory.clone(), index: *index, language },
            })
            .collect();
        Ok(UrbanVillageConnection { page_info: PageInfo::from(&page), edges })
    }

    /// The category tree: top-level categories with their children, labels, icons and
    /// plain-language descriptions.
    async fn categories(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Language of texts (default: Accept-Language, else Chinese).")] language: Option<Language>,
    ) -> async_graphql::Result<Vec<Category>> {
        let state = state(ctx)?;
        let directory = state.directory.current();
        let language = language_of(ctx, language);
        Ok(directory.taxonomy.roots().map(|term| Category { directory: directory.clone(), term, language }).collect())
    }
}

/// The arguments of `nearbyServices`, parsed by the engine or by `graphql::published`.
pub struct NearbyArguments {
    pub near: GeoPointInput,
    pub radius_meters: i32,
    pub categories: Option<Vec<ServiceCategory>>,
    pub text: Option<String>,
    pub open_now: Option<bool>,
    pub languages: Option<Vec<String>>,
    pub free_only: Option<bool>,
    pub eligible_without_local_hukou: Option<bool>,
    pub situation: Option<SituationInput>,
    pub first: Option<i32>,
    pub after: Option<String>,
}

/// `nearbyServices`: checks the arguments, searches the index and records an unmet need. The
/// one implementation behind the field and behind the published operation's direct answer
/// (`graphql::published`), so the two cannot disagree on what is found or refused.
pub fn search_nearby(
    state: &AppState,
    arguments: NearbyArguments,
    language: Language,
) -> ApiResult<NearbyServiceConnection> {
    let NearbyArguments {
        near,
        radius_meters,
        categories,
        text,
        open_now,
        languages,
        free_only,
        eligible_without_local_hukou,
        situation,
        first,
        after,
    } = arguments;
    let centre = near.to_wgs84("near")?;
    if !(1..=MAX_RADIUS_M).contains(&radius_meters) {
        return Err(ApiError::bad_input(
            "radiusMeters",
            format!(
                "radiusMeters must be between 1 and {MAX_RADIUS_M}, got {radius_meters} \
                 (搜索半径必须在 1 到 {MAX_RADIUS_M} 米之间)"
            ),
        ));
    }
    let first = pagination::page_size(first)?;
    let after = match after.as_deref() {
        Some(text) => Some(Cursor::decode(text).ok_or_else(pagination::bad_cursor)?),
        None => None,
    };
    let text = BoundedText::parse_optional(Field::SearchText, text.as_deref(), TextLimit::SearchText)?
        .map(BoundedText::into_string);
    let languages = LanguageTag::parse_list(Field::SearchLanguages, &languages.unwrap_or_default(), false)?;
    let situation = situation.as_ref().map(SituationInput::parse).transpose()?;

    let directory = state.directory.current();
    let categories = categories.map(|list| {
        let terms: Vec<_> = list.iter().filter_map(|c| directory.taxonomy.by_code(c.code())).collect();
        directory.expand_categories(&terms)
    });
    let now = state.clock.now();
    let query = NearbyQuery {
        centre,
        radius_m: f64::from(radius_meters),
        categories,
        text,
        open_now: open_now.unwrap_or(false),
        languages: languages.into_iter().map(LanguageTag::into_string).collect(),
        free_only: free_only.unwrap_or(false),
        eligible_without_local_hukou: eligible_without_local_hukou.unwrap_or(false),
        situation,
        first,
        after,
        now,
    };
    let result = directory.nearby(&query);
    // Counts a search that found nothing useful, by village, category and day only.
    state.unmet_needs.record(&state.db, &directory, &query, &result);

    let node = |service, place| NearbyService { directory: directory.clone(), service, place, language, now };
    let edges: Vec<NearbyServiceEdge> = result
        .hits
        .iter()
        .map(|hit| NearbyServiceEdge {
            cursor: hit.cursor.encode(),
            distance_m: hit.distance_m,
            node: node(directory.places[hit.place as usize].service, Some(hit.place)),
        })
        .collect();
    Ok(NearbyServiceConnection {
        page_info: PageInfo { has_next_page: result.has_next_page, end_cursor: edges.last().map(|e| e.cursor.clone()) },
        edges,
        area_services: result.area_services.iter().map(|service| node(*service, None)).collect(),
        nearest_beyond_radius_m: result.nearest_beyond_radius_m,
    })
}
