//! What the index reads of each service, and the two ways it is read.
//!
//! A [`ServiceRecord`] is everything the index holds about one service. The queries that read
//! records are written once, with sea-query, and run by a [`Fetch`]:
//! - [`Orm`]: sea-orm, on either database: a patch's few services, and a full build on PostgreSQL;
//! - [`SqliteFile`]: a full build on SQLite, the same statements run through a read-only rusqlite
//!   connection of its own to the database file, on a blocking thread.
//!
//! Why two: sqlx runs each SQLite connection on a thread of its own and hands every row over to
//! the async runtime through a channel, a wake-up per row. A first start at a million services
//! reads 12.4 M rows, and that hand-off, not SQLite, was most of it: 86–92 s, with 53–73 s of it
//! system time (docs/BENCHMARKS.md). rusqlite decodes each row in place, where SQLite stepped to it.
//! Both decode into the same types ([`TableRow`]), and a test reads every record both ways and
//! compares them.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};

use qiao_schema::domain::{CapacityStatus, ServiceStatus};
use qiao_schema::entity::*;
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement,
};

use super::eligibility::Requirement;
use super::rules;

/// Services read per query while loading (bounded memory, and few round trips).
pub const LOAD_CHUNK: u64 = 2_000;

/// Everything the index holds about one service, read from the database in one go (for a chunk
/// of services at start-up, or for the services a change touched). Also what a saved build holds
/// (`super::snapshot`), in serde's form.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ServiceRecord {
    pub(super) service: ServiceRow,
    /// `None` when the organisation is archived (or its row is missing).
    pub(super) organization: Option<OrganizationRow>,
    /// Further category term ids (`attribute` rows).
    pub(super) extra_terms: Vec<String>,
    pub(super) languages: Vec<String>,
    pub(super) costs: Vec<i64>,
    pub(super) requirements: Vec<Requirement>,
    pub(super) capacity: Option<CapacityStatus>,
    pub(super) schedules: Vec<schedule::Model>,
    pub(super) exceptions: Vec<schedule_exception::Model>,
    /// Its listed locations, in `service_at_location` id order: the link's id, the location and
    /// its address.
    pub(super) places: Vec<(String, LocationRow, Option<AddressRow>)>,
    pub(super) areas: Vec<service_area::Model>,
}

// The columns the index reads of the wide tables: a service row has 39 columns, a location 22, an
// address 17, and start-up reads a million of each; every value read is copied out of SQLite and
// decoded, so the index asks only for what it keeps.

#[derive(Debug, FromQueryResult, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct ServiceRow {
    pub(super) id: String,
    pub(super) organization_id: String,
    pub(super) category_term_id: String,
    pub(super) status: ServiceStatus,
    pub(super) name_zh: String,
    pub(super) name_en: String,
}

#[derive(Debug, Clone, FromQueryResult, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct OrganizationRow {
    pub(super) id: String,
    pub(super) name_zh: String,
    pub(super) name_en: String,
}

#[derive(Debug, Clone, FromQueryResult, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct LocationRow {
    pub(super) id: String,
    pub(super) name_zh: String,
    pub(super) name_en: String,
    pub(super) latitude: Option<f64>,
    pub(super) longitude: Option<f64>,
}

/// What the index keeps of a cost option: its amount (whether the service is free).
#[derive(Debug, FromQueryResult)]
pub(super) struct CostRow {
    pub(super) service_id: String,
    pub(super) amount_fen: i64,
}

#[derive(Debug, Clone, FromQueryResult, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct AddressRow {
    pub(super) location_id: String,
    pub(super) address_1_zh: String,
    pub(super) address_1_en: String,
    pub(super) district_zh: String,
    pub(super) district_en: String,
    pub(super) city_zh: String,
    pub(super) city_en: String,
    pub(super) adcode: String,
}

// ---- Running the queries ----

/// A row type both readers decode: sea-orm by column name ([`FromQueryResult`]); the SQLite file
/// reader by position, in [`Self::COLUMNS`]' order, which is checked against each statement's
/// columns before its first row is read.
pub(super) trait TableRow: FromQueryResult + Send + Sync + 'static {
    /// The columns, in the order the query selects them and [`Self::from_sqlite`] reads them.
    const COLUMNS: &'static [&'static str];

    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

/// Implements [`TableRow`] for a row type whose fields are its columns, in select order; `field
/// as active_enum` reads a string-valued sea-orm enum.
macro_rules! table_row {
    ($row:ty { $($field:ident $(as $via:ident)?),* $(,)? }) => {
        impl TableRow for $row {
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];

            fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                let mut column = 0usize..;
                let mut next = move || column.next().unwrap_or_default();
                Ok(Self { $($field: table_row!(@read row, next() $(, $via)?)),* })
            }
        }
    };
    (@read $row:ident, $index:expr) => { $row.get($index)? };
    (@read $row:ident, $index:expr, active_enum) => { active_enum($row, $index)? };
}

table_row!(ServiceRow { id, organization_id, category_term_id, status as active_enum, name_zh, name_en });
table_row!(OrganizationRow { id, name_zh, name_en });
table_row!(LocationRow { id, name_zh, name_en, latitude, longitude });
table_row!(AddressRow { location_id, address_1_zh, address_1_en, district_zh, district_en, city_zh, city_en, adcode });
table_row!(attribute::Model { id, link_id, link_type, taxonomy_term_id, value });
table_row!(language::Model { id, service_id, code });
table_row!(CostRow { service_id, amount_fen });
table_row!(eligibility_requirement::Model { id, service_id, kind as active_enum, months, min_age, max_age });
table_row!(service_capacity::Model { id, service_id, status as active_enum, as_of, note_zh, note_en });
table_row!(schedule::Model {
    id,
    service_id,
    service_at_location_id,
    byday,
    opens_at,
    closes_at,
    valid_from,
    valid_to
});
table_row!(schedule_exception::Model {
    id,
    service_id,
    service_at_location_id,
    date,
    closed,
    opens_at,
    closes_at,
    reason_zh,
    reason_en
});
table_row!(service_area::Model { id, service_id, name_zh, name_en, extent, extent_type });
table_row!(service_at_location::Model { id, service_id, location_id });

/// A string-valued sea-orm enum at `index`, refused (not defaulted) when its text is unknown.
fn active_enum<E: ActiveEnum<Value = String>>(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<E> {
    let text: String = row.get(index)?;
    E::try_from_value(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e)))
}

/// Runs the record queries.
pub(super) trait Fetch {
    /// The database the statements are built for.
    fn backend(&self) -> DbBackend;

    /// Runs `statement` (built for [`Self::backend`]) and decodes each row.
    fn rows<M: TableRow>(&self, statement: Statement) -> impl Future<Output = Result<Vec<M>, DbErr>> + Send;

    fn all<M: TableRow>(&self, query: impl QueryTrait) -> impl Future<Output = Result<Vec<M>, DbErr>> + Send {
        self.rows(query.build(self.backend()))
    }
}

/// sea-orm, on any connection or transaction.
pub(super) struct Orm<'a, C>(pub(super) &'a C);

impl<C: ConnectionTrait> Fetch for Orm<'_, C> {
    fn backend(&self) -> DbBackend {
        self.0.get_database_backend()
    }

    fn rows<M: TableRow>(&self, statement: Statement) -> impl Future<Output = Result<Vec<M>, DbErr>> + Send {
        M::find_by_statement(statement).all(self.0)
    }
}

/// A read-only rusqlite connection to the server's SQLite database file, for a full build.
pub(super) struct SqliteFile {
    connection: rusqlite::Connection,
    /// When set (tests), each statement's query plan, recorded before it runs.
    plans: Option<std::cell::RefCell<Vec<QueryPlan>>>,
}

/// A statement a full build ran on an SQLite file and SQLite's plan for it
/// (`EXPLAIN QUERY PLAN`, one line per step).
#[derive(Debug, Clone)]
pub struct QueryPlan {
    pub sql: String,
    pub plan: Vec<String>,
}

/// The file of `db` when it is an SQLite database on disk (not in memory), which a
/// [`SqliteFile`] can open beside the pool.
pub(super) fn sqlite_file_of(db: &DatabaseConnection) -> Option<PathBuf> {
    let sea_orm::DatabaseConnectionType::SqlxSqlitePoolConnection(_) = &db.inner else { return None };
    let options = db.get_sqlite_connection_pool().connect_options();
    let path = options.get_filename();
    path.is_file().then(|| path.to_path_buf())
}

/// The most of the database file a [`SqliteFile`] maps (SQLite caps it at its compile-time
/// `SQLITE_MAX_MMAP_SIZE`, which `.cargo/config.toml` raises from 2 GiB).
const MMAP_LIMIT: i64 = 1 << 40;

fn sqlite_error(e: rusqlite::Error) -> DbErr {
    DbErr::Custom(format!("reading the SQLite database file: {e}"))
}

impl SqliteFile {
    pub(super) fn open(path: &Path) -> Result<Self, DbErr> {
        use rusqlite::OpenFlags;
        let connection = rusqlite::Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite_error)?;
        // A writer checkpointing the WAL can hold a reader back for a moment; wait as the pool does.
        connection.busy_timeout(std::time::Duration::from_secs(5)).map_err(sqlite_error)?;
        // Pages through a memory map, not read(2) into SQLite's cache: chunks go in service id
        // order, and where ids are random (imports; the synthetic directory) so is the order of
        // their rows in every table, so each row read copied a page from the kernel: a third of
        // a first start's CPU (perf, docs/BENCHMARKS.md). The map is the kernel's page cache,
        // shared, and goes with the connection when the build ends.
        let mapped: i64 = connection
            .pragma_update_and_check(None, "mmap_size", MMAP_LIMIT, |row| row.get(0))
            .map_err(sqlite_error)?;
        tracing::debug!(mapped, "full build reader: SQLite memory map limit");
        Ok(Self { connection, plans: None })
    }

    /// SQLite's plan for `statement` with its values bound.
    fn plan(&self, sql: &str, values: &[rusqlite::types::Value]) -> Result<QueryPlan, DbErr> {
        let mut explain = self.connection.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).map_err(sqlite_error)?;
        let steps = explain
            .query_map(rusqlite::params_from_iter(values), |row| row.get::<_, String>("detail"))
            .map_err(sqlite_error)?;
        let plan = steps.collect::<Result<Vec<_>, _>>().map_err(sqlite_error)?;
        Ok(QueryPlan { sql: sql.to_owned(), plan })
    }

    fn read<M: TableRow>(&self, statement: Statement) -> Result<Vec<M>, DbErr> {
        let mut prepared = self.connection.prepare_cached(&statement.sql).map_err(sqlite_error)?;
        if prepared.column_names() != M::COLUMNS {
            return Err(DbErr::Custom(format!(
                "the SQLite reader expects the columns {:?} but the query selects {:?}",
                M::COLUMNS,
                prepared.column_names()
            )));
        }
        let values = statement.values.map(|values| values.0).unwrap_or_default();
        let values: Vec<rusqlite::types::Value> = values.into_iter().map(sqlite_value).collect::<Result<_, _>>()?;
        if let Some(plans) = &self.plans {
            plans.borrow_mut().push(self.plan(&statement.sql, &values)?);
        }
        let rows = prepared.query_map(rusqlite::params_from_iter(values), M::from_sqlite).map_err(sqlite_error)?;
        rows.collect::<Result<Vec<M>, _>>().map_err(sqlite_error)
    }
}

/// A bound value of a record query as rusqlite takes it (the queries bind text, numbers and
/// flags only; anything else is refused rather than guessed at).
fn sqlite_value(value: sea_orm::Value) -> Result<rusqlite::types::Value, DbErr> {
    use rusqlite::types::Value as Sqlite;
    use sea_orm::Value as Sea;
    Ok(match value {
        Sea::Bool(v) => v.map_or(Sqlite::Null, |v| Sqlite::Integer(v.into())),
        Sea::Int(v) => v.map_or(Sqlite::Null, |v| Sqlite::Integer(v.into())),
        Sea::BigInt(v) => v.map_or(Sqlite::Null, Sqlite::Integer),
        Sea::Double(v) => v.map_or(Sqlite::Null, Sqlite::Real),
        Sea::String(v) => v.map_or(Sqlite::Null, Sqlite::Text),
        other => return Err(DbErr::Custom(format!("the SQLite reader cannot bind {other:?}"))),
    })
}

impl Fetch for SqliteFile {
    fn backend(&self) -> DbBackend {
        DbBackend::Sqlite
    }

    /// Reads at once (the connection is not `Sync`): a full build runs this on a blocking thread.
    fn rows<M: TableRow>(&self, statement: Statement) -> impl Future<Output = Result<Vec<M>, DbErr>> + Send {
        std::future::ready(self.read(statement))
    }
}

// ---- The queries ----

/// The services, of [`ServiceRow`]'s columns only.
fn service_rows() -> sea_orm::Select<service::Entity> {
    use service::Column as C;
    service::Entity::find().select_only().columns([
        C::Id,
        C::OrganizationId,
        C::CategoryTermId,
        C::Status,
        C::NameZh,
        C::NameEn,
    ])
}

/// The current records of the given services (any status: the caller decides what is listed);
/// an id with no service row gets none.
pub async fn read_service_records(db: &impl ConnectionTrait, ids: &[String]) -> Result<Vec<ServiceRecord>, DbErr> {
    let fetch = Orm(db);
    let mut records = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(LOAD_CHUNK as usize) {
        let rows = fetch
            .all(
                service_rows()
                    .filter(service::Column::Id.is_in(chunk.iter().cloned()))
                    .order_by_asc(service::Column::Id),
            )
            .await?;
        records.extend(read_records(&fetch, rows, false, None).await?);
    }
    Ok(records)
}

/// Listed organisations (a service of an archived one is not listed), of [`OrganizationRow`]'s
/// columns only.
fn listed_organization_rows() -> sea_orm::Select<organization::Entity> {
    use organization::Column as O;
    organization::Entity::find()
        .select_only()
        .columns([O::Id, O::NameZh, O::NameEn])
        .filter(rules::listed_organization_condition())
}

/// The listed organisations by id.
pub(super) type Organizations = HashMap<String, OrganizationRow>;

/// Every listed organisation, read once for a full build rather than per chunk of services: a
/// chunk's services name organisations all over the table, which PostgreSQL (its buffers a
/// fraction of the table) answered with a scan of the whole table per chunk, 12 s of a first
/// start at a million services (docs/BENCHMARKS.md). They are few beside the services (100,000
/// at a million, about 20 MB here, freed with the build).
pub(super) async fn read_listed_organizations(fetch: &impl Fetch) -> Result<Organizations, DbErr> {
    let rows: Vec<OrganizationRow> = fetch.all(listed_organization_rows()).await?;
    Ok(rows.into_iter().map(|o| (o.id.clone(), o)).collect())
}

/// Which rows of a table belong to the services being read.
enum Owners<'a> {
    /// The services with these ids.
    Ids(&'a [String]),
    /// Every service whose id lies in this range (the start-up's chunks, which are runs of
    /// services in id order): a small statement the database prepares once, where an `IN` list
    /// of thousands of ids is compiled anew for every chunk into megabytes of bytecode.
    Range(&'a str, &'a str),
}

impl Owners<'_> {
    fn condition(&self, column: impl ColumnTrait) -> sea_orm::sea_query::SimpleExpr {
        match self {
            Self::Ids(ids) => column.is_in(ids.iter().map(String::as_str)),
            Self::Range(first, last) => column.between(*first, *last),
        }
    }

    /// Rows whose `column` names a location the services are linked to: for a range, the
    /// locations of the `service_at_location` rows the range owns, found by the database (a
    /// subquery of fixed text, prepared once: an `IN` list of the thousands of ids read would cost
    /// PostgreSQL a parse and a plan per chunk, and be a statement of its own for every length);
    /// else `ids`, the values already read.
    fn linked_locations(&self, column: impl ColumnTrait, ids: &[String]) -> sea_orm::sea_query::SimpleExpr {
        match self {
            Self::Ids(_) => column.is_in(ids.iter().map(String::as_str)),
            Self::Range(..) => column.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(service_at_location::Column::LocationId)
                    .from(service_at_location::Entity)
                    .and_where(self.condition(service_at_location::Column::ServiceId))
                    .to_owned(),
            ),
        }
    }
}

/// Reads every fact the index needs of `services` (at most a few thousand), table by table;
/// `consecutive` when they are every service between the first and the last in id order.
/// `organizations`: a full build's, read once ([`read_listed_organizations`]); `None` reads
/// the services' own.
async fn read_records(
    fetch: &impl Fetch,
    services: Vec<ServiceRow>,
    consecutive: bool,
    organizations: Option<&Organizations>,
) -> Result<Vec<ServiceRecord>, DbErr> {
    let (Some(first), Some(last)) = (services.first(), services.last()) else { return Ok(Vec::new()) };
    let ids: Vec<String> = services.iter().map(|s| s.id.clone()).collect();
    let range = (first.id.clone(), last.id.clone());
    let owners = if consecutive { Owners::Range(&range.0, &range.1) } else { Owners::Ids(&ids) };
    let position: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let own_organizations;
    let organizations = match organizations {
        Some(organizations) => organizations,
        None => {
            let mut organization_ids: Vec<&str> = services.iter().map(|s| s.organization_id.as_str()).collect();
            organization_ids.sort_unstable();
            organization_ids.dedup();
            let rows: Vec<OrganizationRow> =
                fetch.all(listed_organization_rows().filter(organization::Column::Id.is_in(organization_ids))).await?;
            own_organizations = rows.into_iter().map(|o| (o.id.clone(), o)).collect();
            &own_organizations
        }
    };
    let mut records: Vec<ServiceRecord> = services
        .into_iter()
        .map(|service| ServiceRecord {
            organization: organizations.get(&service.organization_id).cloned(),
            service,
            extra_terms: Vec::new(),
            languages: Vec::new(),
            costs: Vec::new(),
            requirements: Vec::new(),
            capacity: None,
            schedules: Vec::new(),
            exceptions: Vec::new(),
            places: Vec::new(),
            areas: Vec::new(),
        })
        .collect();
    // Each owned table by owner, then id (so a service's requirements read in the order its
    // detail page lists them): the order of the indexes that cover these reads (migration m0009),
    // so the database walks one index and sorts nothing. Each row is handed to its service's record.
    macro_rules! each {
        ($table:ident, $owner:ident, $owner_key:ident, |$record:ident, $row:ident| $body:expr) => {
            each!($table, $owner, $owner_key, $table::Entity::find(), $table::Model, |$record, $row| $body)
        };
        ($table:ident, $owner:ident, $owner_key:ident, $query:expr, $row_type:ty, |$record:ident, $row:ident| $body:expr) => {
            let rows: Vec<$row_type> = fetch
                .all(
                    $query
                        .filter(owners.condition($table::Column::$owner))
                        .order_by_asc($table::Column::$owner)
                        .order_by_asc($table::Column::Id),
                )
                .await?;
            for $row in rows {
                if let Some(index) = position.get($row.$owner_key.as_str()) {
                    let $record = &mut records[*index];
                    $body;
                }
            }
        };
    }
    each!(
        attribute,
        LinkId,
        link_id,
        attribute::Entity::find().filter(attribute::Column::LinkType.eq("service")),
        attribute::Model,
        |record, row| record.extra_terms.push(row.taxonomy_term_id)
    );
    each!(language, ServiceId, service_id, |record, row| record.languages.push(row.code));
    each!(
        cost_option,
        ServiceId,
        service_id,
        cost_option::Entity::find()
            .select_only()
            .columns([cost_option::Column::ServiceId, cost_option::Column::AmountFen]),
        CostRow,
        |record, row| record.costs.push(row.amount_fen)
    );
    each!(eligibility_requirement, ServiceId, service_id, |record, row| record
        .requirements
        .push(Requirement::from_row(&row)));
    each!(service_capacity, ServiceId, service_id, |record, row| record.capacity = Some(row.status));
    each!(schedule, ServiceId, service_id, |record, row| record.schedules.push(row));
    each!(schedule_exception, ServiceId, service_id, |record, row| record.exceptions.push(row));
    each!(service_area, ServiceId, service_id, |record, row| record.areas.push(row));
    let links: Vec<service_at_location::Model> = fetch
        .all(
            service_at_location::Entity::find()
                .filter(owners.condition(service_at_location::Column::ServiceId))
                .order_by_asc(service_at_location::Column::ServiceId)
                .order_by_asc(service_at_location::Column::Id),
        )
        .await?;
    // A range's places are found by the database in one go; a patch's by their ids, a bounded
    // number at a time.
    let mut location_ids: Vec<String> = match owners {
        Owners::Ids(_) => links.iter().map(|l| l.location_id.clone()).collect(),
        Owners::Range(..) => Vec::new(),
    };
    location_ids.sort_unstable();
    location_ids.dedup();
    let location_chunks: Vec<&[String]> = match owners {
        Owners::Ids(_) => location_ids.chunks(LOAD_CHUNK as usize).collect(),
        Owners::Range(..) => vec![&[]],
    };
    let mut locations: HashMap<String, LocationRow> = HashMap::new();
    let mut addresses: HashMap<String, AddressRow> = HashMap::new();
    for chunk in location_chunks {
        use location::Column as L;
        let listed: Vec<LocationRow> = fetch
            .all(
                location::Entity::find()
                    .select_only()
                    .columns([L::Id, L::NameZh, L::NameEn, L::Latitude, L::Longitude])
                    .filter(owners.linked_locations(L::Id, chunk))
                    .filter(rules::listed_location_condition()),
            )
            .await?;
        locations.extend(listed.into_iter().map(|l| (l.id.clone(), l)));
        use address::Column as A;
        let their_addresses: Vec<AddressRow> = fetch
            .all(
                address::Entity::find()
                    .select_only()
                    .columns([
                        A::LocationId,
                        A::Address1Zh,
                        A::Address1En,
                        A::DistrictZh,
                        A::DistrictEn,
                        A::CityZh,
                        A::CityEn,
                        A::Adcode,
                    ])
                    .filter(owners.linked_locations(A::LocationId, chunk))
                    .order_by_asc(A::LocationId)
                    .order_by_asc(A::Id),
            )
            .await?;
        addresses.extend(their_addresses.into_iter().map(|a| (a.location_id.clone(), a)));
    }
    for link in links {
        let Some(location) = locations.get(&link.location_id) else { continue };
        if let Some(index) = position.get(link.service_id.as_str()) {
            let address = addresses.get(&location.id).cloned();
            records[*index].places.push((link.id.clone(), location.clone(), address));
        }
    }
    Ok(records)
}

/// The first id of every chunk of [`LOAD_CHUNK`] listed services, in order: each found by
/// skipping a chunk's worth of ids inside the database (an index walk there, one row here), so
/// that the chunks can be read side by side.
pub(super) async fn chunk_starts(db: &DatabaseConnection, chunk: u64) -> Result<Vec<String>, DbErr> {
    let mut starts: Vec<String> = Vec::new();
    loop {
        let mut query = service::Entity::find()
            .select_only()
            .column(service::Column::Id)
            .filter(service::Column::Status.is_in(rules::listed_statuses()))
            .order_by_asc(service::Column::Id)
            .limit(1);
        if let Some(previous) = starts.last() {
            query = query.filter(service::Column::Id.gte(previous.as_str())).offset(chunk);
        }
        match query.into_tuple::<String>().one(db).await? {
            Some(start) => starts.push(start),
            None => return Ok(starts),
        }
    }
}

/// The listed services from `start` up to (not including) `end`, in id order, with their records.
pub(super) async fn read_listed_chunk(
    fetch: &impl Fetch,
    organizations: &Organizations,
    start: &str,
    end: Option<&str>,
) -> Result<Vec<ServiceRecord>, DbErr> {
    let mut query = service_rows()
        .filter(service::Column::Status.is_in(rules::listed_statuses()))
        .filter(service::Column::Id.gte(start))
        .order_by_asc(service::Column::Id);
    if let Some(end) = end {
        query = query.filter(service::Column::Id.lt(end));
    }
    let rows = fetch.all(query).await?;
    // Listed services only, but the unlisted ones between them have rows in the range too: those
    // rows match no record and are skipped.
    read_records(fetch, rows, true, Some(organizations)).await
}

/// How a full build reads one chunk of services ([`read_listed_chunk`]) with one reader.
pub(super) trait ChunkReader {
    fn read_chunk(
        &self,
        organizations: &Organizations,
        start: &str,
        end: Option<&str>,
    ) -> impl Future<Output = Result<Vec<ServiceRecord>, DbErr>>;
}

impl ChunkReader for SqliteFile {
    fn read_chunk(
        &self,
        organizations: &Organizations,
        start: &str,
        end: Option<&str>,
    ) -> impl Future<Output = Result<Vec<ServiceRecord>, DbErr>> {
        read_listed_chunk(self, organizations, start, end)
    }
}

/// A full build's reader through the connection pool (PostgreSQL; SQLite in memory).
pub(super) struct PoolReader(pub(super) DatabaseConnection);

/// What a full build's chunk reads tell PostgreSQL, inside the read-only transaction of each
/// chunk only. Every read of a chunk fetches a few thousand rows of a table of up to millions
/// through an index, but the planner's guess at a range of random ids swings by tenfold from
/// chunk to chunk, and on the high side it chose a parallel hash join over a scan of the whole
/// table (90 ms instead of 20 ms for the chunk's addresses; `auto_explain` at a million
/// services, docs/BENCHMARKS.md). No parallel workers either: the build already keeps both cores
/// busy with its readers.
const POSTGRES_CHUNK_READ_SETTINGS: &str =
    "SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; SET LOCAL max_parallel_workers_per_gather = 0";

impl ChunkReader for PoolReader {
    async fn read_chunk(
        &self,
        organizations: &Organizations,
        start: &str,
        end: Option<&str>,
    ) -> Result<Vec<ServiceRecord>, DbErr> {
        use sea_orm::{AccessMode, IsolationLevel, TransactionTrait};
        if self.0.get_database_backend() != DbBackend::Postgres {
            return read_listed_chunk(&Orm(&self.0), organizations, start, end).await;
        }
        // One snapshot for the whole chunk, so that its tables agree with one another (what
        // changes after it, the feed brings).
        let transaction =
            self.0.begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly)).await?;
        transaction.execute_unprepared(POSTGRES_CHUNK_READ_SETTINGS).await?;
        let records = read_listed_chunk(&Orm(&transaction), organizations, start, end).await?;
        transaction.commit().await?;
        Ok(records)
    }
}

/// How a full build reads the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildReader {
    /// sea-orm, on either database.
    Orm,
    /// rusqlite on the SQLite database's file ([`SqliteFile`]); what a build on SQLite uses.
    SqliteFile,
}

/// Every listed service's record, in id order, read `chunk` services at a time by `reader`: what
/// a full build reads, by one reader rather than side by side, all at once (for tests and tools;
/// a build streams). [`BuildReader::SqliteFile`] fails on PostgreSQL and on an SQLite database in
/// memory; with it the future holds a connection that is not `Send`.
pub async fn read_every_listed_record(
    db: &DatabaseConnection,
    chunk: u64,
    reader: BuildReader,
) -> Result<Vec<ServiceRecord>, DbErr> {
    let starts = chunk_starts(db, chunk.max(1)).await?;
    let ends = starts.iter().skip(1).map(|end| Some(end.as_str())).chain([None]);
    let file = match reader {
        BuildReader::Orm => None,
        BuildReader::SqliteFile => {
            let path = sqlite_file_of(db).ok_or_else(|| DbErr::Custom("not an SQLite database file".into()))?;
            Some(SqliteFile::open(&path)?)
        }
    };
    let organizations = match &file {
        Some(file) => read_listed_organizations(file).await?,
        None => read_listed_organizations(&Orm(db)).await?,
    };
    let pool = PoolReader(db.clone());
    let mut records = Vec::new();
    for (start, end) in starts.iter().zip(ends) {
        records.extend(match &file {
            Some(file) => file.read_chunk(&organizations, start, end).await?,
            None => pool.read_chunk(&organizations, start, end).await?,
        });
    }
    Ok(records)
}

/// SQLite's plan for every statement a full build runs on a chunk (the first `chunk` listed
/// services) of the SQLite file of `db`: what a test checks the build's indexes against.
pub async fn build_query_plans(db: &DatabaseConnection, chunk: u64) -> Result<Vec<QueryPlan>, DbErr> {
    let starts = chunk_starts(db, chunk.max(1)).await?;
    let Some(first) = starts.first() else { return Ok(Vec::new()) };
    let path = sqlite_file_of(db).ok_or_else(|| DbErr::Custom("not an SQLite database file".into()))?;
    let mut file = SqliteFile::open(&path)?;
    file.plans = Some(Default::default());
    let organizations = read_listed_organizations(&file).await?;
    read_listed_chunk(&file, &organizations, first, starts.get(1).map(String::as_str)).await?;
    Ok(file.plans.take().map(std::cell::RefCell::into_inner).unwrap_or_default())
}
