//! A listing report says what kind of problem it is (out of date, closed, wrong catchment,
//! wrong contact details, other); reports filed before have none.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("listing_report"))
                    .add_column(ColumnDef::new(Alias::new("kind")).string_len(32).null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("listing_report"))
                    .drop_column(Alias::new("kind"))
                    .to_owned(),
            )
            .await
    }
}
