//! `qiao`: the server, and two maintenance commands.
//!
//! - `qiao` (or `qiao serve`): serve on `QIAO_LISTEN` with `QIAO_DATABASE_URL` (see `config.rs`).
//! - `qiao print-schema`: print the GraphQL SDL (the committed `mobile-client-spec/schema.graphql`).
//! - `qiao seed-synthetic --count N [--seed S]`: add N deterministic synthetic services to the
//!   configured database (for benchmarks).
//! - `qiao verify-audit`: walk the audit trail's hash chain; exit 0 when intact, 1 naming the
//!   first bad row when not.
//! - `qiao purge-expired`: apply retention now (`QIAO_REFERRAL_RETENTION_DAYS`): remove expired
//!   referrals' personal texts and erase clients past retention (the server does it daily).

use std::process::ExitCode;
use std::sync::Arc;

use qiao_server::clock::SystemClock;
use qiao_server::config::Config;

/// mimalloc rather than glibc's malloc: the index is millions of small allocations, which glibc
/// both builds slowly and keeps spread over its arenas (measured in docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str =
    "usage: qiao [serve | print-schema | seed-synthetic --count N [--seed S] | verify-audit | purge-expired]";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("print-schema") {
        print!("{}", qiao_server::graphql::sdl());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("qiao: {error}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(config.log_json);
    let result = match args.first().map(String::as_str) {
        None | Some("serve") => serve(config).await,
        Some("seed-synthetic") => seed_synthetic(&config, &args[1..]).await,
        Some("verify-audit") => return verify_audit(&config).await,
        Some("purge-expired") => purge_expired(&config).await,
        Some(_) => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "qiao stopped with an error");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let state = qiao_server::prepare(&config, Arc::new(SystemClock)).await?;
    let listener = qiao_server::bind(config.listen).await?;
    tracing::info!(address = %listener.local_addr()?, "serving GraphQL at /graphql");
    qiao_server::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM (what service managers send).
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Synthetic services generated and written per transaction.
const SEED_CHUNK: usize = 20_000;

async fn seed_synthetic(config: &Config, args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let mut count: Option<usize> = None;
    let mut seed: u64 = 1;
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(USAGE)?;
        match flag.as_str() {
            "--count" => count = Some(value.parse().map_err(|_| "--count takes a whole number")?),
            "--seed" => seed = value.parse().map_err(|_| "--seed takes a whole number")?,
            _ => return Err(USAGE.into()),
        }
    }
    let count = count.ok_or(USAGE)?;
    let db = qiao_server::db::connect_and_migrate(&config.database_url).await?;
    qiao_seed::load_reference_data(&db).await?;
    let db = match sea_orm::ConnectionTrait::get_database_backend(&db) {
        sea_orm::DbBackend::Sqlite => {
            db.close().await?;
            bulk_load_connection(&config.database_url).await?
        }
        _ => db,
    };
    let started = std::time::Instant::now();
    // A chunk at a time, each in its own transaction: memory stays bounded by the chunk, and the
    // SQLite write-ahead log is checkpointed between chunks instead of growing to the whole load.
    let mut generator = qiao_seed::synthetic::Synthetic::new(count, seed)?;
    let mut rows = 0;
    while let Some(chunk) = generator.next_chunk(SEED_CHUNK) {
        rows += qiao_seed::load_directory(&db, &[chunk], &[]).await?.inserted_rows;
    }
    if sea_orm::ConnectionTrait::get_database_backend(&db) == sea_orm::DbBackend::Postgres {
        // A bulk load leaves PostgreSQL's statistics describing the tables before it, and every
        // row's visibility unchecked until first read: the first index build after a million
        // services took 121 s, against 61 s once analysed and vacuumed (docs/BENCHMARKS.md).
        // Before the servers are told, so that their rebuild reads what the planner now knows.
        let vacuumed = std::time::Instant::now();
        sea_orm::ConnectionTrait::execute_unprepared(&db, "VACUUM (ANALYZE)").await?;
        tracing::info!(elapsed_ms = vacuumed.elapsed().as_millis() as u64, "vacuumed and analysed after the load");
    }
    // Servers following this database rebuild their index, and builds saved before are not used.
    qiao_server::kernel::publish_bulk_load(&db, "seed-synthetic", chrono::Utc::now()).await?;
    if sea_orm::ConnectionTrait::get_database_backend(&db) == sea_orm::DbBackend::Sqlite {
        // Moves the write-ahead log into the database file and empties it: left behind, a
        // million services leave a gigabyte of log that every later read must search first.
        sea_orm::ConnectionTrait::execute_unprepared(&db, "PRAGMA wal_checkpoint(TRUNCATE)").await?;
    }
    tracing::info!(count, seed, rows, elapsed_ms = started.elapsed().as_millis() as u64, "synthetic services loaded");
    Ok(())
}

/// One SQLite connection set up for a bulk load, used only by `seed-synthetic`: no fsync per
/// commit (a crash mid-seed means seeding again, which skips what is there), a 256 MiB page
/// cache (random UUID keys touch index pages all over a multi-gigabyte file), temporary
/// structures in memory. The server's own connections keep their durable settings.
async fn bulk_load_connection(url: &str) -> Result<sea_orm::DatabaseConnection, sea_orm::DbErr> {
    let mut options = sea_orm::ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false).max_connections(1).min_connections(1).map_sqlx_sqlite_opts(|opts| {
        opts.pragma("synchronous", "OFF").pragma("cache_size", "-262144").pragma("temp_store", "MEMORY")
    });
    sea_orm::Database::connect(options).await
}

/// `qiao verify-audit`: prints how many rows were checked, or the first bad row (stderr, exit 1).
async fn verify_audit(config: &Config) -> ExitCode {
    let checked = async {
        let db = qiao_server::db::connect_and_migrate(&config.database_url).await?;
        let outcome = qiao_server::privacy::audit::verify(&db).await;
        db.close().await.ok();
        Ok::<_, Box<dyn std::error::Error>>(outcome)
    };
    match checked.await {
        Ok(Ok(Ok(rows))) => {
            println!("audit chain intact: {rows} rows checked");
            ExitCode::SUCCESS
        }
        Ok(Ok(Err(broken))) => {
            eprintln!("audit chain broken at {broken}");
            ExitCode::FAILURE
        }
        Ok(Err(error)) => {
            eprintln!("qiao verify-audit: {}", describe(&error));
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("qiao verify-audit: {error}");
            ExitCode::from(2)
        }
    }
}

/// `qiao purge-expired`: applies retention now and reports counts (never what was removed).
async fn purge_expired(config: &Config) -> Result<(), Box<dyn std::error::Error>> {
    let db = qiao_server::db::connect_and_migrate(&config.database_url).await?;
    let retention = chrono::Duration::days(i64::from(config.referral_retention_days));
    let report = qiao_server::clients::retention::purge_expired(&db, chrono::Utc::now(), retention)
        .await
        .map_err(|error| describe(&error))?;
    println!("purged the personal texts of {} referrals and erased {} clients", report.referrals, report.clients);
    db.close().await.ok();
    Ok(())
}

/// An API error for an operator's terminal: the cause of an internal error, not its mask.
fn describe(error: &qiao_server::error::ApiError) -> String {
    match error {
        qiao_server::error::ApiError::Internal(cause) => qiao_server::error::error_chain(cause),
        other => other.message(),
    }
}
