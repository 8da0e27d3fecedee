//! Where a listing's eligibility values came from: given as a field, read from its words (with
//! the phrase), or unknown. A nullable JSON column on `service`; null means every value was
//! given, which is what every listing stored before it is.

use sea_orm_migration::{prelude::*, schema::json_binary_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Service {
    Table,
    EligibilitySources,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Service::Table)
                    .add_column(json_binary_null(Service::EligibilitySources))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Service::Table)
                    .drop_column(Service::EligibilitySources)
                    .to_owned(),
            )
            .await
    }
}
