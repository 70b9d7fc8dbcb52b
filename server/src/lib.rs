//! Qiao's server: the GraphQL API of the community-resource directory.
//!
//! Start-up ([`prepare`]) opens and migrates the database, loads reference data, seeds the demo
//! directory into an empty database, and builds the in-memory directory index; [`serve`] then
//! answers HTTP until asked to stop. The map of the code is in `docs/ARCHITECTURE.md`.

pub mod accounts;
pub mod auth;
pub mod clients;
pub mod clock;
pub mod config;
pub mod console;
pub mod db;
pub mod directory;
pub mod error;
pub mod evidence;
pub mod graphql;
pub mod hsds;
pub mod http;
pub mod kernel;
pub mod language;
pub mod memory;
pub mod metrics;
#[cfg(test)]
mod module_cycles;
pub mod news;
pub mod pagination;
pub mod privacy;
pub mod rate_limit;
pub mod referrals;
pub mod stewardship;
pub mod suggestions;
pub mod sync;
pub mod trusted_documents;
pub mod values;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use tokio::net::TcpListener;

use crate::auth::AuthState;
use crate::clock::Clock;
use crate::config::Config;
pub use crate::directory::handle::DirectoryHandle;
use crate::graphql::QiaoSchema;

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub directory: Arc<DirectoryHandle>,
    /// The one way to write to the directory (see `kernel`).
    pub store: kernel::Store,
    pub clock: Arc<dyn Clock>,
    pub auth: Arc<AuthState>,
    pub body_limits: http::BodyLimits,
    /// How long an ended referral's personal data is kept (`QIAO_REFERRAL_RETENTION_DAYS`):
    /// `retain_until = ended_at + referral_retention`, see `clients::retention`.
    pub referral_retention: chrono::Duration,
    /// Referral news: the notification sender and the subscription's poll interval.
    pub news: config::NewsConfig,
    /// The live subscriptions this server holds (bounded by `news.max_subscriptions`).
    pub subscriptions: Arc<news::SubscriptionSlots>,
    pub schema: QiaoSchema,
    /// Today's unmet-need counts, in memory until their day is over (`evidence::unmet`).
    pub unmet_needs: Arc<evidence::unmet::UnmetNeeds>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("seed data: {0}")]
    Seed(#[from] qiao_seed::SeedError),
    #[error("secrets: {0}")]
    Secrets(#[from] auth::keys::SecretsError),
    #[error("demo accounts: {0:?}")]
    DemoAccounts(error::ApiError),
    #[error("demo referral: {0:?}")]
    DemoReferral(error::ApiError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("server: {0}")]
    Serve(#[source] std::io::Error),
}

/// Opens and migrates the database, loads reference and (when empty) demo data, and builds the
/// directory index.
pub async fn prepare(config: &Config, clock: Arc<dyn Clock>) -> Result<AppState, StartupError> {
    let secrets = auth::keys::Secrets::from_config(config)?;
    let db = db::connect_and_migrate(&config.database_url).await?;
    qiao_seed::load_reference_data(&db).await?;
    if config.seed_demo {
        // The demo accounts share one public password, so they may only ever land in a database
        // nobody uses for real: one being seeded from nothing in this very start, by a server
        // signing with a generated development key. A database that already holds an account or
        // a directory never gets them, and neither does a server with a configured signing key
        // (whose tokens would be good on a real deployment).
        let no_account = qiao_schema::entity::account::Entity::find().count(&db).await? == 0;
        let empty_directory = qiao_seed::directory_is_empty(&db).await?;
        let empty_database = no_account && empty_directory;
        if empty_directory {
            let report = qiao_seed::load_demo_directory(&db).await?;
            tracing::info!(services = report.services, rows = report.inserted_rows, "seeded the demo directory");
        }
        let generated_signing_key = config.jwt_keys.is_none();
        if empty_database && generated_signing_key {
            accounts::seed_demo_accounts(&db, clock.now()).await.map_err(StartupError::DemoAccounts)?;
            // The demo client is sealed with the configured keys, like any other client.
            let cipher = auth::AuthState::cipher_of(&secrets);
            clients::demo::seed_demo_client(&db, &cipher, clock.now()).await.map_err(StartupError::DemoAccounts)?;
            tracing::warn!("created the demo accounts (public password): development only");
        } else if no_account {
            tracing::info!("no demo accounts: the database is not new or QIAO_JWT_KEYS is configured");
        }
    }
    let snapshot = config.index_snapshot.clone().map(directory::snapshot::SnapshotFile::new);
    let handle = DirectoryHandle::open(&db, snapshot, config.detail_cache_entries).await?;
    directory::handle::follow(&handle, db.clone(), config.index);
    let body_limits = config.body_limits();
    let auth = Arc::new(AuthState::with_limits(secrets, &config.rate_limits));
    let seeded_referral = config.seed_demo
        && referrals::demo::seed(&db, &auth.cipher, clock.now()).await.map_err(StartupError::DemoReferral)?;
    if seeded_referral {
        tracing::info!("seeded the demo referral");
    }
    let retention = chrono::Duration::days(i64::from(config.referral_retention_days));
    let mut state = state_for(db, handle, clock, auth, body_limits, retention);
    state.news = config.news.clone();
    state.subscriptions = news::SubscriptionSlots::new(config.news.max_subscriptions);
    // The schema carries a copy of the state: give it the same news settings.
    state.schema = graphql::build_schema(Some(state.clone()));
    Ok(state)
}

/// Assembles the state around an open database and a built index.
pub fn state_for(
    db: DatabaseConnection,
    directory: Arc<DirectoryHandle>,
    clock: Arc<dyn Clock>,
    auth: Arc<AuthState>,
    body_limits: http::BodyLimits,
    referral_retention: chrono::Duration,
) -> AppState {
    // The schema holds the state and the state holds the schema: build the data-carrying
    // schema from a state whose own schema field is a data-less placeholder.
    let store = kernel::Store::new(db.clone(), directory.clone());
    let unmet_needs = Arc::new(evidence::unmet::UnmetNeeds::default());
    let news = config::NewsConfig::default();
    let subscriptions = news::SubscriptionSlots::new(news.max_subscriptions);
    let base = AppState {
        db,
        directory,
        store,
        clock,
        auth,
        body_limits,
        referral_retention,
        news,
        subscriptions,
        schema: graphql::build_schema(None),
        unmet_needs,
    };
    let schema = graphql::build_schema(Some(base.clone()));
    AppState { schema, ..base }
}

/// Binds `address` (port 0 picks a free one).
pub async fn bind(address: SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(address).await.map_err(|source| StartupError::Listen { address, source })
}

/// Serves HTTP on `listener` until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartupError> {
    // Expired personal data is purged once a day while the server runs (`qiao purge-expired`
    // does the same on demand).
    let sweeper =
        tokio::spawn(clients::retention::daily_sweep(state.db.clone(), state.clock.clone(), state.referral_retention));
    // The change feed keeps a little longer than a phone's sync cursor lives (`sync`).
    let feed_pruner = tokio::spawn(directory::feed::daily_prune(
        state.db.clone(),
        state.clock.clone(),
        chrono::Duration::days(sync::CURSOR_LIFETIME_DAYS + 1),
    ));
    // The notification worker runs beside the server and stops with it.
    let (stop_worker, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(news_worker(&state).run(stopped));
    // Unmet-need counts are written once their day is over (checked every minute) and when the
    // server stops; see `evidence::unmet` for why not sooner.
    let (unmet_needs, db, clock) = (state.unmet_needs.clone(), state.db.clone(), state.clock.clone());
    let ticker = tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            every_minute.tick().await;
            unmet_needs.flush_finished_days(&db, clock.now()).await;
        }
    });
    let (unmet_needs, db) = (state.unmet_needs.clone(), state.db.clone());
    // Client addresses reach the rate limiters only; they are never logged or stored.
    let served = axum::serve(listener, http::router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(StartupError::Serve);
    sweeper.abort();
    feed_pruner.abort();
    ticker.abort();
    unmet_needs.flush_all(&db).await;
    stop_worker.send(true).ok();
    worker.await.ok();
    served
}

/// The notification worker for this server's configuration.
fn news_worker(state: &AppState) -> news::worker::Worker {
    let sender: Option<Arc<dyn news::notify::Sender>> = match &state.news.sender {
        config::NotificationSender::File(path) => Some(Arc::new(news::notify::FileSender::new(path.clone()))),
        config::NotificationSender::None => None,
    };
    news::worker::Worker {
        db: state.db.clone(),
        cipher: state.auth.cipher.clone(),
        clock: state.clock.clone(),
        sender,
        poll: state.news.notification_poll,
    }
}
