//! Qiao's database schema: sea-orm entities, migrations and the domain enums they store.
//! No web dependencies: the seed loader and the server both build on this crate.

pub mod datum;
pub mod domain;
pub mod entity;
pub mod ids;
pub mod migration;

pub use migration::Migrator;
pub use sea_orm_migration::MigratorTrait;
