//! The write kernel: the one way to change the directory.
//!
//! A write opens a [`Txn`] from the [`Store`] (or, to compose several writes into one
//! all-or-nothing unit, from an open `Txn`, which makes a savepoint). Each domain function records
//! what it changed through [`history::record`], which also *publishes* the change: a
//! `directory_change` row in the same transaction. When the outermost transaction commits, the
//! search index catches up before the write returns. So no caller has to remember to refresh the
//! index: the domain's write functions accept only the kernel's transactions (`&impl Db`), and
//! committing one that published brings search up to date.
//!
//! Transactions also make writers wait their turn: on SQLite a write transaction takes the
//! database's write lock when it begins (`BEGIN IMMEDIATE`), so two writers queue behind SQLite's
//! busy timeout instead of one failing with "database is locked" when it upgrades a read lock;
//! on PostgreSQL writers lock the rows they are about to change (`SELECT … FOR UPDATE`, see
//! `auth::policy`), so a read-modify-write never works from a stale copy.

pub mod history;
mod store;

pub use history::{Action, Change, Outcome};
pub use store::{Db, Store, Txn, begin_write, publish_bulk_load};
