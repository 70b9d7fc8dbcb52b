//! Opening the database and bringing its schema up to date.

use std::time::Duration;

use qiao_schema::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};

/// How long a SQLite writer waits for another writer to finish before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest a request waits for a database connection (an outage answers within it).
const DATABASE_WAIT: Duration = Duration::from_secs(3);

/// Connects to `url` (SQLite or PostgreSQL) and applies pending migrations.
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false) // statements may carry personal data later; never log them
        // When the database is down a request must fail fast (and be retried by the app) rather
        // than hang; the pool reconnects by itself once the database is back.
        .acquire_timeout(DATABASE_WAIT)
        .connect_timeout(DATABASE_WAIT);
    if url.starts_with("sqlite:") {
        // One writer at a time is SQLite's nature; a small pool avoids lock contention. Write
        // transactions take the lock when they begin (see `kernel`), and a writer that finds it
        // taken waits up to the busy timeout for its turn instead of failing at once.
        options
            .max_connections(8)
            .min_connections(1)
            .map_sqlx_sqlite_opts(|opts| opts.busy_timeout(SQLITE_BUSY_TIMEOUT));
    }
    let db = Database::connect(options).await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        // WAL lets readers proceed while the one writer writes; it persists in the file.
        db.execute_unprepared("PRAGMA journal_mode = WAL").await?;
    }
    Migrator::up(&db, None).await?;
    Ok(db)
}
