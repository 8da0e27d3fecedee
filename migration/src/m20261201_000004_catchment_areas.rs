//! Catchments by administrative area (an ONS/GSS code) and by GeoJSON polygon: two columns on
//! `service_area`, and room in `kind` for `ADMINISTRATIVE_AREA`.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ServiceArea {
    Table,
    Kind,
    AreaCode,
    Extent,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ServiceArea::Table)
                    .add_column(string_len_null(ServiceArea::AreaCode, 12))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ServiceArea::Table)
                    .add_column(text_null(ServiceArea::Extent))
                    .to_owned(),
            )
            .await?;
        // SQLite does not bound a string's length; PostgreSQL's varchar(16) is too short.
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .alter_table(
                    Table::alter()
                        .table(ServiceArea::Table)
                        .modify_column(string_len(ServiceArea::Kind, 32))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .alter_table(
                    Table::alter()
                        .table(ServiceArea::Table)
                        .modify_column(string_len(ServiceArea::Kind, 16))
                        .to_owned(),
                )
                .await?;
        }
        for column in [ServiceArea::Extent, ServiceArea::AreaCode] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ServiceArea::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
