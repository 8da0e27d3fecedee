//! The whole Open Referral based schema, including the tables accounts, auditing and the change
//! feed fill, so later work does not reshape it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Organization {
    Table,
    Id,
    Name,
    Description,
    Email,
    Website,
    Phone,
    CharityNumber,
    CompanyNumber,
    Extra,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Service {
    Table,
    Id,
    OrganizationId,
    Name,
    AlternateName,
    Description,
    Url,
    Email,
    Status,
    AssuredDate,
    Assurer,
    Version,
    LevelOfNeed,
    FromPregnancy,
    MinAgeMonths,
    MaxAgeMonths,
    Audiences,
    EligibilityDescription,
    SelfReferral,
    ProfessionalReferral,
    ReferralInstructions,
    DeliveryModes,
    Languages,
    Free,
    FeesDescription,
    FundingSource,
    FundingEndsOn,
    Extra,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ServiceArea {
    Table,
    Id,
    ServiceId,
    Kind,
    Name,
    PostcodePrefix,
    Latitude,
    Longitude,
    RadiusKm,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum Location {
    Table,
    Id,
    OrganizationId,
    Name,
    #[sea_orm(iden = "address_1")]
    Address1,
    City,
    Region,
    Postcode,
    Latitude,
    Longitude,
    Accessibility,
    Extra,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ServiceAtLocation {
    Table,
    Id,
    ServiceId,
    LocationId,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum Contact {
    Table,
    Id,
    ServiceId,
    Name,
    Title,
    Email,
    Phone,
    Visibility,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum Phone {
    Table,
    Id,
    ServiceId,
    Number,
    Description,
    Visibility,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum Schedule {
    Table,
    Id,
    ServiceId,
    Weekday,
    OpensAt,
    ClosesAt,
    Description,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum Event {
    Table,
    Id,
    ServiceId,
    Title,
    Description,
    StartsAt,
    EndsAt,
    PlaceName,
    Address,
    Postcode,
    Latitude,
    Longitude,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Taxonomy {
    Table,
    Id,
    Name,
    Description,
    Uri,
    Version,
}

#[derive(DeriveIden, Clone, Copy)]
enum TaxonomyTerm {
    Table,
    Id,
    TaxonomyId,
    Code,
    Name,
    Description,
    ParentId,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum Attribute {
    Table,
    Id,
    LinkId,
    LinkEntity,
    LinkType,
    TaxonomyTermId,
    Value,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum AppUser {
    Table,
    Id,
    Email,
    PasswordHash,
    Role,
    OrganizationId,
    Disabled,
    FailedLogins,
    LockedUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ApiToken {
    Table,
    Id,
    Jti,
    Name,
    Role,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditEvent {
    Table,
    Id,
    ActorId,
    Actor,
    Action,
    Entity,
    EntityId,
    Before,
    After,
    At,
}

#[derive(DeriveIden, Clone, Copy)]
enum Change {
    Table,
    Seq,
    Entity,
    EntityId,
    Op,
    At,
}

#[derive(DeriveIden, Clone, Copy)]
enum ListingReport {
    Table,
    Id,
    ServiceId,
    Message,
    ReporterId,
    ReporterAddress,
    CreatedAt,
    ResolvedAt,
    ResolvedBy,
    ResolutionNote,
}

/// A foreign key from `from_table.from_col` to `to_table.id`.
fn fk(
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from_tbl(from_table)
        .from_col(from_col)
        .to_tbl(to_table)
        .to_col(Alias::new("id"))
        .on_delete(on_delete)
        .take()
}

/// A plain index `idx_<table>_<column>`.
fn index(table: impl IntoIden + Clone, column: impl IntoIden + Clone) -> IndexCreateStatement {
    let name = format!(
        "idx_{}_{}",
        table.clone().into_iden(),
        column.clone().into_iden()
    );
    Index::create().name(name).table(table).col(column).take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organization::Table)
                    .col(pk_uuid(Organization::Id))
                    .col(string_len(Organization::Name, 300))
                    .col(text_null(Organization::Description))
                    .col(string_len_null(Organization::Email, 320))
                    .col(string_len_null(Organization::Website, 2048))
                    .col(string_len_null(Organization::Phone, 64))
                    .col(string_len_null(Organization::CharityNumber, 32))
                    .col(string_len_null(Organization::CompanyNumber, 32))
                    .col(json_binary_null(Organization::Extra))
                    .col(timestamp_with_time_zone(Organization::CreatedAt))
                    .col(timestamp_with_time_zone(Organization::UpdatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(Organization::Table, Organization::Name))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Service::Table)
                    .col(pk_uuid(Service::Id))
                    .col(uuid(Service::OrganizationId))
                    .col(string_len(Service::Name, 300))
                    .col(string_len_null(Service::AlternateName, 300))
                    .col(text(Service::Description))
                    .col(string_len_null(Service::Url, 2048))
                    .col(string_len_null(Service::Email, 320))
                    .col(string_len(Service::Status, 24))
                    .col(date_null(Service::AssuredDate))
                    .col(string_len_null(Service::Assurer, 300))
                    .col(integer(Service::Version).default(1))
                    .col(string_len(Service::LevelOfNeed, 16))
                    .col(boolean(Service::FromPregnancy).default(false))
                    .col(double_null(Service::MinAgeMonths))
                    .col(double_null(Service::MaxAgeMonths))
                    .col(json_binary(Service::Audiences))
                    .col(text_null(Service::EligibilityDescription))
                    .col(boolean(Service::SelfReferral).default(false))
                    .col(boolean(Service::ProfessionalReferral).default(false))
                    .col(text_null(Service::ReferralInstructions))
                    .col(json_binary(Service::DeliveryModes))
                    .col(json_binary(Service::Languages))
                    .col(boolean(Service::Free).default(true))
                    .col(text_null(Service::FeesDescription))
                    .col(string_len_null(Service::FundingSource, 300))
                    .col(date_null(Service::FundingEndsOn))
                    .col(json_binary_null(Service::Extra))
                    .col(timestamp_with_time_zone(Service::CreatedAt))
                    .col(timestamp_with_time_zone(Service::UpdatedAt))
                    .foreign_key(&mut fk(
                        Service::Table,
                        Service::OrganizationId,
                        Organization::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .take(),
            )
            .await?;
        for col in [
            Service::OrganizationId,
            Service::Status,
            Service::Name,
            Service::UpdatedAt,
        ] {
            manager.create_index(index(Service::Table, col)).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(ServiceArea::Table)
                    .col(pk_uuid(ServiceArea::Id))
                    .col(uuid(ServiceArea::ServiceId))
                    .col(string_len(ServiceArea::Kind, 16))
                    .col(string_len(ServiceArea::Name, 300))
                    .col(string_len_null(ServiceArea::PostcodePrefix, 8))
                    .col(double_null(ServiceArea::Latitude))
                    .col(double_null(ServiceArea::Longitude))
                    .col(double_null(ServiceArea::RadiusKm))
                    .col(integer(ServiceArea::Position).default(0))
                    .foreign_key(&mut fk(
                        ServiceArea::Table,
                        ServiceArea::ServiceId,
                        Service::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(ServiceArea::Table, ServiceArea::ServiceId))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Location::Table)
                    .col(pk_uuid(Location::Id))
                    .col(uuid_null(Location::OrganizationId))
                    .col(string_len_null(Location::Name, 300))
                    .col(string_len_null(Location::Address1, 300))
                    .col(string_len_null(Location::City, 120))
                    .col(string_len_null(Location::Region, 120))
                    .col(string_len_null(Location::Postcode, 16))
                    .col(double_null(Location::Latitude))
                    .col(double_null(Location::Longitude))
                    .col(text_null(Location::Accessibility))
                    .col(json_binary_null(Location::Extra))
                    .col(timestamp_with_time_zone(Location::CreatedAt))
                    .col(timestamp_with_time_zone(Location::UpdatedAt))
                    .foreign_key(&mut fk(
                        Location::Table,
                        Location::OrganizationId,
                        Organization::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(Location::Table, Location::OrganizationId))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ServiceAtLocation::Table)
                    .col(pk_uuid(ServiceAtLocation::Id))
                    .col(uuid(ServiceAtLocation::ServiceId))
                    .col(uuid(ServiceAtLocation::LocationId))
                    .col(integer(ServiceAtLocation::Position).default(0))
                    .foreign_key(&mut fk(
                        ServiceAtLocation::Table,
                        ServiceAtLocation::ServiceId,
                        Service::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        ServiceAtLocation::Table,
                        ServiceAtLocation::LocationId,
                        Location::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_service_at_location_pair")
                    .table(ServiceAtLocation::Table)
                    .col(ServiceAtLocation::ServiceId)
                    .col(ServiceAtLocation::LocationId)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                ServiceAtLocation::Table,
                ServiceAtLocation::LocationId,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Contact::Table)
                    .col(pk_uuid(Contact::Id))
                    .col(uuid(Contact::ServiceId))
                    .col(string_len_null(Contact::Name, 300))
                    .col(string_len_null(Contact::Title, 300))
                    .col(string_len_null(Contact::Email, 320))
                    .col(string_len_null(Contact::Phone, 64))
                    .col(string_len(Contact::Visibility, 16))
                    .col(integer(Contact::Position).default(0))
                    .foreign_key(&mut fk(
                        Contact::Table,
                        Contact::ServiceId,
                        Service::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(Contact::Table, Contact::ServiceId))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Phone::Table)
                    .col(pk_uuid(Phone::Id))
                    .col(uuid(Phone::ServiceId))
                    .col(string_len(Phone::Number, 64))
                    .col(string_len_null(Phone::Description, 300))
                    .col(string_len(Phone::Visibility, 16))
                    .col(integer(Phone::Position).default(0))
                    .foreign_key(&mut fk(
                        Phone::Table,
                        Phone::ServiceId,
                        Service::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(Phone::Table, Phone::ServiceId))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Schedule::Table)
                    .col(pk_uuid(Schedule::Id))
                    .col(uuid(Schedule::ServiceId))
                    .col(integer_null(Schedule::Weekday))
                    .col(string_len_null(Schedule::OpensAt, 5))
                    .col(string_len_null(Schedule::ClosesAt, 5))
                    .col(string_len_null(Schedule::Description, 500))
                    .col(integer(Schedule::Position).default(0))
                    .foreign_key(&mut fk(
                        Schedule::Table,
                        Schedule::ServiceId,
                        Service::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(Schedule::Table, Schedule::ServiceId))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Event::Table)
                    .col(pk_uuid(Event::Id))
                    .col(uuid(Event::ServiceId))
                    .col(string_len(Event::Title, 300))
                    .col(text_null(Event::Description))
                    .col(timestamp_with_time_zone(Event::StartsAt))
                    .col(timestamp_with_time_zone(Event::EndsAt))
                    .col(string_len_null(Event::PlaceName, 300))
                    .col(string_len_null(Event::Address, 500))
                    .col(string_len_null(Event::Postcode, 16))
                    .col(double_null(Event::Latitude))
                    .col(double_null(Event::Longitude))
                    .col(timestamp_with_time_zone(Event::CreatedAt))
                    .col(timestamp_with_time_zone(Event::UpdatedAt))
                    .foreign_key(&mut fk(
                        Event::Table,
                        Event::ServiceId,
                        Service::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(Event::Table, Event::ServiceId))
            .await?;
        manager
            .create_index(index(Event::Table, Event::StartsAt))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Taxonomy::Table)
                    .col(pk_uuid(Taxonomy::Id))
                    .col(string_len(Taxonomy::Name, 300))
                    .col(text_null(Taxonomy::Description))
                    .col(string_len_null(Taxonomy::Uri, 2048))
                    .col(string_len_null(Taxonomy::Version, 64))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TaxonomyTerm::Table)
                    .col(pk_uuid(TaxonomyTerm::Id))
                    .col(uuid_null(TaxonomyTerm::TaxonomyId))
                    .col(string_len_null(TaxonomyTerm::Code, 120))
                    .col(string_len(TaxonomyTerm::Name, 300))
                    .col(text_null(TaxonomyTerm::Description))
                    .col(uuid_null(TaxonomyTerm::ParentId))
                    .col(integer(TaxonomyTerm::Position).default(0))
                    .foreign_key(&mut fk(
                        TaxonomyTerm::Table,
                        TaxonomyTerm::TaxonomyId,
                        Taxonomy::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        TaxonomyTerm::Table,
                        TaxonomyTerm::ParentId,
                        TaxonomyTerm::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(TaxonomyTerm::Table, TaxonomyTerm::ParentId))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Attribute::Table)
                    .col(pk_uuid(Attribute::Id))
                    .col(uuid(Attribute::LinkId))
                    .col(string_len(Attribute::LinkEntity, 32))
                    .col(string_len_null(Attribute::LinkType, 64))
                    .col(uuid(Attribute::TaxonomyTermId))
                    .col(string_len_null(Attribute::Value, 300))
                    .col(integer(Attribute::Position).default(0))
                    .foreign_key(&mut fk(
                        Attribute::Table,
                        Attribute::LinkId,
                        Service::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Attribute::Table,
                        Attribute::TaxonomyTermId,
                        TaxonomyTerm::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(Attribute::Table, Attribute::LinkId))
            .await?;
        manager
            .create_index(index(Attribute::Table, Attribute::TaxonomyTermId))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AppUser::Table)
                    .col(pk_uuid(AppUser::Id))
                    .col(string_len_uniq(AppUser::Email, 320))
                    .col(string_len(AppUser::PasswordHash, 256))
                    .col(string_len(AppUser::Role, 16))
                    .col(uuid_null(AppUser::OrganizationId))
                    .col(boolean(AppUser::Disabled).default(false))
                    .col(integer(AppUser::FailedLogins).default(0))
                    .col(timestamp_with_time_zone_null(AppUser::LockedUntil))
                    .col(timestamp_with_time_zone(AppUser::CreatedAt))
                    .col(timestamp_with_time_zone(AppUser::UpdatedAt))
                    .foreign_key(&mut fk(
                        AppUser::Table,
                        AppUser::OrganizationId,
                        Organization::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiToken::Table)
                    .col(pk_uuid(ApiToken::Id))
                    .col(uuid_uniq(ApiToken::Jti))
                    .col(string_len(ApiToken::Name, 200))
                    .col(string_len(ApiToken::Role, 16))
                    .col(uuid_null(ApiToken::CreatedBy))
                    .col(timestamp_with_time_zone(ApiToken::CreatedAt))
                    .col(timestamp_with_time_zone(ApiToken::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ApiToken::RevokedAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(ApiToken::Table, ApiToken::RevokedAt))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditEvent::Table)
                    .col(pk_uuid(AuditEvent::Id))
                    .col(uuid_null(AuditEvent::ActorId))
                    .col(string_len(AuditEvent::Actor, 320))
                    .col(string_len(AuditEvent::Action, 64))
                    .col(string_len(AuditEvent::Entity, 32))
                    .col(uuid(AuditEvent::EntityId))
                    .col(json_binary_null(AuditEvent::Before))
                    .col(json_binary_null(AuditEvent::After))
                    .col(timestamp_with_time_zone(AuditEvent::At))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(AuditEvent::Table, AuditEvent::EntityId))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Change::Table)
                    .col(big_pk_auto(Change::Seq))
                    .col(string_len(Change::Entity, 32))
                    .col(uuid(Change::EntityId))
                    .col(string_len(Change::Op, 16))
                    .col(timestamp_with_time_zone(Change::At))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(Change::Table, Change::EntityId))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ListingReport::Table)
                    .col(pk_uuid(ListingReport::Id))
                    .col(uuid(ListingReport::ServiceId))
                    .col(text(ListingReport::Message))
                    .col(uuid_null(ListingReport::ReporterId))
                    .col(string_len_null(ListingReport::ReporterAddress, 64))
                    .col(timestamp_with_time_zone(ListingReport::CreatedAt))
                    .col(timestamp_with_time_zone_null(ListingReport::ResolvedAt))
                    .col(uuid_null(ListingReport::ResolvedBy))
                    .col(text_null(ListingReport::ResolutionNote))
                    .foreign_key(&mut fk(
                        ListingReport::Table,
                        ListingReport::ServiceId,
                        Service::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(ListingReport::Table, ListingReport::ServiceId))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables: Vec<DynIden> = vec![
            ListingReport::Table.into_iden(),
            Change::Table.into_iden(),
            AuditEvent::Table.into_iden(),
            ApiToken::Table.into_iden(),
            AppUser::Table.into_iden(),
            Attribute::Table.into_iden(),
            TaxonomyTerm::Table.into_iden(),
            Taxonomy::Table.into_iden(),
            Event::Table.into_iden(),
            Schedule::Table.into_iden(),
            Phone::Table.into_iden(),
            Contact::Table.into_iden(),
            ServiceAtLocation::Table.into_iden(),
            Location::Table.into_iden(),
            ServiceArea::Table.into_iden(),
            Service::Table.into_iden(),
            Organization::Table.into_iden(),
        ];
        for table in tables {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}
