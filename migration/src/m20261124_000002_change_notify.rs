//! On PostgreSQL, every new `change` row notifies the `signpost_changes` channel, so other
//! instances apply it at once (they poll as well, and SQLite has one instance anyway).

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE OR REPLACE FUNCTION signpost_notify_change() RETURNS trigger AS $$
             BEGIN
               PERFORM pg_notify('signpost_changes', '');
               RETURN NEW;
             END;
             $$ LANGUAGE plpgsql",
        )
        .await?;
        db.execute_unprepared(
            "CREATE TRIGGER change_notify AFTER INSERT ON change
             FOR EACH STATEMENT EXECUTE FUNCTION signpost_notify_change()",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("DROP TRIGGER IF EXISTS change_notify ON change")
            .await?;
        db.execute_unprepared("DROP FUNCTION IF EXISTS signpost_notify_change()")
            .await?;
        Ok(())
    }
}
