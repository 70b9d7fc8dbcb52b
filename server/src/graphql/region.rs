//! `servicesInRegion`: the services of a county, a prefecture city or a province, for families
//! returning to their hometown. Anonymous, served from the in-memory index
//! (`directory::region` decides what lies in a region and in what order).

use async_graphql::{Context, Object, SimpleObject};

use super::category::ServiceCategory;
use super::common::{Language, PageInfo, language_of};
use super::context::state;
use super::objects::NearbyService;
use crate::directory::region::{Region, RegionQuery};
use crate::error::ApiError;
use crate::pagination::{List, PageRequest};
use crate::values::{Adcode, Field};

#[derive(Default)]
pub struct RegionQueryRoot;

#[Object]
impl RegionQueryRoot {
    /// Listed services in an administrative region, found by its six-digit adcode without a
    /// point: one county-level district (`520524`, Zhijin County), a whole prefecture city (a
    /// code ending in `00`: `520500` is Bijie, every `5205xx`) or a whole province (ending in
    /// `0000`: `520000` is Guizhou). A service with places is in the districts of their
    /// addresses; a service without a place (a hotline) is in every county whose centre its
    /// service area covers. Each service once, ordered by category (in the category tree's
    /// order), then name, then id. Anonymous; nothing about the query is stored.
    #[graphql(complexity = "20 + first.unwrap_or(20).clamp(1, 50) as usize * child_complexity")]
    async fn services_in_region(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The region's six-digit administrative code (行政区划代码): a district, \
                          a city (ending in 00) or a province (ending in 0000).")]
        adcode: String,
        #[graphql(desc = "Only these categories (each includes its sub-categories).")] categories: Option<
            Vec<ServiceCategory>,
        >,
        #[graphql(desc = "Page size, 0 to 50 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
        #[graphql(desc = "Language of texts and of the name order (default: Accept-Language, else Chinese).")]
        language: Option<Language>,
    ) -> async_graphql::Result<RegionServiceConnection> {
        let state = state(ctx)?;
        let adcode = Adcode::parse(Field::LocationAdcode, &adcode)
            .map_err(|error| ApiError::bad_input("adcode", error.message))?;
        let request = PageRequest::new(List::ServicesInRegion, first, after.as_deref())?;
        let directory = state.directory.current();
        let language = language_of(ctx, language);
        let categories = categories.map(|list| {
            let terms: Vec<_> = list.iter().filter_map(|c| directory.taxonomy.by_code(c.code())).collect();
            directory.expand_categories(&terms)
        });
        let hits = directory.services_in_region(&RegionQuery { region: Region::of(&adcode), categories, language });
        let page = request.page_of_all(hits);
        let now = state.clock.now();
        let edges = page
            .items
            .iter()
            .enumerate()
            .map(|(position, hit)| RegionServiceEdge {
                cursor: page.cursor_of(position),
                node: NearbyService {
                    directory: directory.clone(),
                    service: hit.service,
                    place: hit.place,
                    language,
                    now,
                },
            })
            .collect();
        Ok(RegionServiceConnection { page_info: PageInfo::from(&page), edges })
    }
}

/// A page of the services in a region.
#[derive(SimpleObject)]
pub struct RegionServiceConnection {
    /// The services of this page.
    pub edges: Vec<RegionServiceEdge>,
    /// Pagination.
    pub page_info: PageInfo,
}

/// A service in a region.
#[derive(SimpleObject)]
pub struct RegionServiceEdge {
    /// Opaque position, for `after`.
    pub cursor: String,
    /// The service; its `location` is its first place inside the region (null for a service
    /// that serves an area).
    pub node: NearbyService,
}
