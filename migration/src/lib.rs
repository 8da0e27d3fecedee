//! Signpost's database migrations, for SQLite and PostgreSQL alike.

#![warn(missing_docs)]

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_initial;
mod m20261124_000002_change_notify;
mod m20261124_000003_service_listing_index;
mod m20261201_000004_catchment_areas;
mod m20261201_000010_service_eligibility_sources;
mod m20261201_000011_listing_report_kind;

/// Runs Signpost's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_initial::Migration),
            Box::new(m20261124_000002_change_notify::Migration),
            Box::new(m20261124_000003_service_listing_index::Migration),
            Box::new(m20261201_000004_catchment_areas::Migration),
            Box::new(m20261201_000010_service_eligibility_sources::Migration),
            Box::new(m20261201_000011_listing_report_kind::Migration),
        ]
    }
}
