//! Editing mutations (organisations, services, events, verification, archiving, reports) and
//! the admin queries that go with them. Every input is validated, naming the field at fault;
//! nothing partial is written; a write returns once it is searchable on this instance.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject};
use chrono::Utc;
use entity::{
    StringList, contact, event, location, organization, phone, schedule, service, service_area,
};
use governor::DefaultKeyedRateLimiter;

use super::{
    enums::{Audience, DeliveryMode, LevelOfNeed, ServiceAreaKind, ServiceStatus, Visibility},
    event::Event,
    organization::Organization,
    scalars::{Date, DateTime},
    service::Service,
    state,
};
use crate::{
    auth::Caller,
    error::{ApiError, ApiResult},
    http::ClientAddress,
    store::{self, editing::ServiceDraft},
    validate,
};

/// An organisation's details.
#[derive(Clone, Debug, InputObject)]
pub struct OrganizationInput {
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: Option<String>,
    /// Its email address.
    pub email: Option<String>,
    /// Its website.
    pub website: Option<String>,
    /// Its main phone number.
    pub phone: Option<String>,
    /// Its registered charity number.
    pub charity_number: Option<String>,
    /// Its company number.
    pub company_number: Option<String>,
}

/// Who a service is for.
#[derive(Clone, Debug, InputObject)]
pub struct EligibilityInput {
    /// Open from pregnancy.
    #[graphql(default)]
    pub from_pregnancy: bool,
    /// The infant's youngest age in months (0 to 60).
    pub min_age_months: Option<f64>,
    /// The infant's oldest age in months (0 to 60).
    pub max_age_months: Option<f64>,
    /// Who in the family.
    #[graphql(default)]
    pub audiences: Vec<Audience>,
    /// Further eligibility in words.
    pub description: Option<String>,
}

/// How to refer.
#[derive(Clone, Debug, InputObject)]
pub struct ReferralInput {
    /// Families may refer themselves.
    pub self_referral: bool,
    /// Professionals may refer.
    pub professional_referral: bool,
    /// How to refer, in words.
    pub instructions: Option<String>,
}

/// A catchment.
#[derive(Clone, Debug, InputObject)]
pub struct ServiceAreaInput {
    /// Which kind.
    pub kind: ServiceAreaKind,
    /// A human name such as "Gloucestershire".
    pub name: String,
    /// For POSTCODE_PREFIX: an area ("GL") or district ("GL50").
    pub postcode_prefix: Option<String>,
    /// For RADIUS: the centre's latitude.
    pub latitude: Option<f64>,
    /// For RADIUS: the centre's longitude.
    pub longitude: Option<f64>,
    /// For RADIUS: the radius in kilometres.
    pub radius_km: Option<f64>,
}

/// A place where the service is delivered.
#[derive(Clone, Debug, InputObject)]
pub struct LocationInput {
    /// The venue's name.
    pub name: Option<String>,
    /// The first line of the address.
    pub address1: Option<String>,
    /// The town or city.
    pub city: Option<String>,
    /// The full postcode.
    pub postcode: Option<String>,
    /// WGS84 latitude.
    pub latitude: Option<f64>,
    /// WGS84 longitude.
    pub longitude: Option<f64>,
    /// Access information.
    pub accessibility: Option<String>,
}

/// A named contact.
#[derive(Clone, Debug, InputObject)]
pub struct ContactInput {
    /// The person's name.
    pub name: Option<String>,
    /// Their role.
    pub title: Option<String>,
    /// Their email address.
    pub email: Option<String>,
    /// Their phone number.
    pub phone: Option<String>,
    /// Who may see this contact.
    #[graphql(default_with = "Visibility::Public")]
    pub visibility: Visibility,
}

/// A phone line.
#[derive(Clone, Debug, InputObject)]
pub struct PhoneInput {
    /// The number.
    pub number: String,
    /// What the line is for.
    pub description: Option<String>,
    /// Who may see this line.
    #[graphql(default_with = "Visibility::Public")]
    pub visibility: Visibility,
}

/// Weekly opening hours.
#[derive(Clone, Debug, InputObject)]
pub struct ScheduleInput {
    /// 1 = Monday .. 7 = Sunday.
    pub weekday: Option<i32>,
    /// "HH:MM".
    pub opens_at: Option<String>,
    /// "HH:MM".
    pub closes_at: Option<String>,
    /// Notes.
    pub description: Option<String>,
}

/// A whole listing, mirroring `Service`; on update it replaces the listing.
#[derive(Clone, Debug, InputObject)]
pub struct ServiceInput {
    /// The organisation running it.
    pub organization_id: ID,
    /// Its name.
    pub name: String,
    /// Another name families may know it by.
    pub alternate_name: Option<String>,
    /// What it offers (20 to 5000 characters).
    pub description: String,
    /// Its web page.
    pub url: Option<String>,
    /// Its email address.
    pub email: Option<String>,
    /// Its status (default ACTIVE).
    #[graphql(default_with = "ServiceStatus::Active")]
    pub status: ServiceStatus,
    /// Universal, targeted or specialist.
    pub level_of_need: LevelOfNeed,
    /// Who it is for.
    pub eligibility: EligibilityInput,
    /// How to refer.
    pub referral: ReferralInput,
    /// How it is delivered.
    #[graphql(default)]
    pub delivery_modes: Vec<DeliveryMode>,
    /// ISO 639-1 codes (default ["en"]).
    #[graphql(default_with = "default_languages()")]
    pub languages: Vec<String>,
    /// Free at the point of use (default true).
    #[graphql(default = true)]
    pub free: bool,
    /// What it costs.
    pub fees_description: Option<String>,
    /// Who funds it.
    pub funding_source: Option<String>,
    /// When its funding ends.
    pub funding_ends_on: Option<Date>,
    /// Catchments.
    #[graphql(default)]
    pub service_areas: Vec<ServiceAreaInput>,
    /// Where it is delivered.
    #[graphql(default)]
    pub locations: Vec<LocationInput>,
    /// Named contacts.
    #[graphql(default)]
    pub contacts: Vec<ContactInput>,
    /// Phone lines.
    #[graphql(default)]
    pub phones: Vec<PhoneInput>,
    /// Opening hours.
    #[graphql(default)]
    pub schedules: Vec<ScheduleInput>,
    /// Taxonomy term ids.
    #[graphql(default)]
    pub taxonomy_term_ids: Vec<ID>,
}

/// A dated session or pop-up.
#[derive(Clone, Debug, InputObject)]
pub struct EventInput {
    /// The service running it.
    pub service_id: ID,
    /// Its title.
    pub title: String,
    /// What happens.
    pub description: Option<String>,
    /// When it starts.
    pub starts_at: DateTime,
    /// When it ends (after the start, at most 14 days later).
    pub ends_at: DateTime,
    /// The venue.
    pub place_name: Option<String>,
    /// The venue's address.
    pub address: Option<String>,
    /// The venue's postcode.
    pub postcode: Option<String>,
    /// WGS84 latitude.
    pub latitude: Option<f64>,
    /// WGS84 longitude.
    pub longitude: Option<f64>,
}

/// Reads an id argument or input field; the message names `field` like every other check here.
fn id_arg(id: &ID, field: &str) -> ApiResult<uuid::Uuid> {
    validate::uuid(field, id.as_str())
}

fn default_languages() -> Vec<String> {
    vec!["en".to_owned()]
}

fn opt_email(field: &str, value: Option<&str>) -> ApiResult<Option<String>> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| validate::email(field, v))
        .transpose()
}

fn opt_url(field: &str, value: Option<&str>) -> ApiResult<Option<String>> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| validate::url(field, v))
        .transpose()
}

fn opt_phone(field: &str, value: Option<&str>) -> ApiResult<Option<String>> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| validate::uk_phone(field, v))
        .transpose()
}

fn point(
    field: &str,
    latitude: Option<f64>,
    longitude: Option<f64>,
) -> ApiResult<(Option<f64>, Option<f64>)> {
    match (latitude, longitude) {
        (Some(lat), Some(lon)) => {
            validate::latitude_longitude(field, lat, lon)?;
            Ok((Some(lat), Some(lon)))
        }
        (None, None) => Ok((None, None)),
        _ => Err(ApiError::bad_input(format!(
            "{field}: give both latitude and longitude, or neither"
        ))),
    }
}

impl OrganizationInput {
    fn into_model(self) -> ApiResult<organization::Model> {
        let now = Utc::now();
        Ok(organization::Model {
            id: uuid::Uuid::nil(),
            name: validate::text("input.name", &self.name, 2, 300)?,
            description: validate::optional_text(
                "input.description",
                self.description.as_deref(),
                5_000,
            )?,
            email: opt_email("input.email", self.email.as_deref())?,
            website: opt_url("input.website", self.website.as_deref())?,
            phone: opt_phone("input.phone", self.phone.as_deref())?,
            charity_number: validate::optional_text(
                "input.charityNumber",
                self.charity_number.as_deref(),
                32,
            )?,
            company_number: validate::optional_text(
                "input.companyNumber",
                self.company_number.as_deref(),
                32,
            )?,
            extra: None,
            created_at: now,
            updated_at: now,
        })
    }
}

/// The most children of each kind one listing may have.
const MAX_CHILDREN: usize = 50;

impl ServiceInput {
    /// Validates everything and builds the draft; the first problem found is reported.
    async fn into_draft(self, ctx: &Context<'_>) -> ApiResult<ServiceDraft> {
        let db = &state(ctx)
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("no state")))?
            .db;
        let organization_id = id_arg(&self.organization_id, "input.organizationId")?;
        if store::organization::get(db, organization_id)
            .await?
            .is_none()
        {
            return Err(ApiError::bad_input(
                "input.organizationId: no such organisation",
            ));
        }
        let e = &self.eligibility;
        for (field, len) in [
            ("input.serviceAreas", self.service_areas.len()),
            ("input.locations", self.locations.len()),
            ("input.contacts", self.contacts.len()),
            ("input.phones", self.phones.len()),
            ("input.schedules", self.schedules.len()),
            ("input.taxonomyTermIds", self.taxonomy_term_ids.len()),
            ("input.languages", self.languages.len()),
        ] {
            validate::list_len(field, len, MAX_CHILDREN)?;
        }
        let languages = self
            .languages
            .iter()
            .enumerate()
            .map(|(i, code)| validate::language(&format!("input.languages[{i}]"), code))
            .collect::<ApiResult<Vec<_>>>()?;
        let mut terms = Vec::new();
        let known: std::collections::HashSet<uuid::Uuid> = store::taxonomy::all_terms(db)
            .await?
            .into_iter()
            .map(|t| t.id)
            .collect();
        for (i, id) in self.taxonomy_term_ids.iter().enumerate() {
            let field = format!("input.taxonomyTermIds[{i}]");
            let id = id_arg(id, &field)?;
            if !known.contains(&id) {
                return Err(ApiError::bad_input(format!(
                    "{field}: no such taxonomy term"
                )));
            }
            if !terms.contains(&id) {
                terms.push(id);
            }
        }
        let mut areas = Vec::new();
        for (i, area) in self.service_areas.iter().enumerate() {
            let field = format!("input.serviceAreas[{i}]");
            let name = validate::text(&format!("{field}.name"), &area.name, 1, 300)?;
            let mut row = service_area::Model {
                id: uuid::Uuid::nil(),
                service_id: uuid::Uuid::nil(),
                kind: area.kind.into(),
                name,
                postcode_prefix: None,
                latitude: None,
                longitude: None,
                radius_km: None,
                position: 0,
            };
            // Which fields a kind needs is checked with the whole listing (store::listing).
            match area.kind {
                ServiceAreaKind::National => {}
                ServiceAreaKind::PostcodePrefix => {
                    row.postcode_prefix = area
                        .postcode_prefix
                        .as_deref()
                        .map(|p| validate::postcode_prefix(&format!("{field}.postcodePrefix"), p))
                        .transpose()?;
                }
                ServiceAreaKind::Radius => {
                    (row.latitude, row.longitude, row.radius_km) =
                        (area.latitude, area.longitude, area.radius_km);
                }
            }
            areas.push(row);
        }
        let mut locations = Vec::new();
        for (i, place) in self.locations.iter().enumerate() {
            let field = format!("input.locations[{i}]");
            let (latitude, longitude) = (place.latitude, place.longitude);
            let postcode = place
                .postcode
                .as_deref()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| validate::uk_postcode(&format!("{field}.postcode"), p))
                .transpose()?;
            let now = Utc::now();
            locations.push(location::Model {
                id: uuid::Uuid::nil(),
                organization_id: None,
                name: validate::optional_text(
                    &format!("{field}.name"),
                    place.name.as_deref(),
                    300,
                )?,
                address_1: validate::optional_text(
                    &format!("{field}.address1"),
                    place.address1.as_deref(),
                    300,
                )?,
                city: validate::optional_text(
                    &format!("{field}.city"),
                    place.city.as_deref(),
                    120,
                )?,
                region: None,
                postcode,
                latitude,
                longitude,
                accessibility: validate::optional_text(
                    &format!("{field}.accessibility"),
                    place.accessibility.as_deref(),
                    2_000,
                )?,
                extra: None,
                created_at: now,
                updated_at: now,
            });
        }
        let mut contacts = Vec::new();
        for (i, c) in self.contacts.iter().enumerate() {
            let field = format!("input.contacts[{i}]");
            contacts.push(contact::Model {
                id: uuid::Uuid::nil(),
                service_id: uuid::Uuid::nil(),
                name: validate::optional_text(&format!("{field}.name"), c.name.as_deref(), 300)?,
                title: validate::optional_text(&format!("{field}.title"), c.title.as_deref(), 300)?,
                email: opt_email(&format!("{field}.email"), c.email.as_deref())?,
                phone: opt_phone(&format!("{field}.phone"), c.phone.as_deref())?,
                visibility: c.visibility.into(),
                position: 0,
            });
        }
        let mut phones = Vec::new();
        for (i, p) in self.phones.iter().enumerate() {
            let field = format!("input.phones[{i}]");
            phones.push(phone::Model {
                id: uuid::Uuid::nil(),
                service_id: uuid::Uuid::nil(),
                number: validate::uk_phone(&format!("{field}.number"), &p.number)?,
                description: validate::optional_text(
                    &format!("{field}.description"),
                    p.description.as_deref(),
                    300,
                )?,
                visibility: p.visibility.into(),
                position: 0,
            });
        }
        let mut schedules = Vec::new();
        for (i, s) in self.schedules.iter().enumerate() {
            let field = format!("input.schedules[{i}]");
            let time = |part: &str, value: Option<&str>| {
                value
                    .map(|t| validate::time_of_day(&format!("{field}.{part}"), t))
                    .transpose()
            };
            let opens_at = time("opensAt", s.opens_at.as_deref())?;
            let closes_at = time("closesAt", s.closes_at.as_deref())?;
            schedules.push(schedule::Model {
                id: uuid::Uuid::nil(),
                service_id: uuid::Uuid::nil(),
                weekday: s.weekday,
                opens_at,
                closes_at,
                description: validate::optional_text(
                    &format!("{field}.description"),
                    s.description.as_deref(),
                    500,
                )?,
                position: 0,
            });
        }
        let now = Utc::now();
        let service = service::Model {
            id: uuid::Uuid::nil(),
            organization_id,
            name: validate::text("input.name", &self.name, 2, 300)?,
            alternate_name: validate::optional_text(
                "input.alternateName",
                self.alternate_name.as_deref(),
                300,
            )?,
            description: validate::text("input.description", &self.description, 20, 5_000)?,
            url: opt_url("input.url", self.url.as_deref())?,
            email: opt_email("input.email", self.email.as_deref())?,
            status: self.status.into(),
            assured_date: None,
            assurer: None,
            version: 1,
            level_of_need: self.level_of_need.into(),
            from_pregnancy: e.from_pregnancy,
            min_age_months: e.min_age_months,
            max_age_months: e.max_age_months,
            audiences: StringList(
                e.audiences
                    .iter()
                    .map(|a| entity::Audience::from(*a).as_str().to_owned())
                    .collect(),
            ),
            eligibility_description: validate::optional_text(
                "input.eligibility.description",
                e.description.as_deref(),
                2_000,
            )?,
            self_referral: self.referral.self_referral,
            professional_referral: self.referral.professional_referral,
            referral_instructions: validate::optional_text(
                "input.referral.instructions",
                self.referral.instructions.as_deref(),
                2_000,
            )?,
            delivery_modes: StringList(
                self.delivery_modes
                    .iter()
                    .map(|m| entity::DeliveryMode::from(*m).as_str().to_owned())
                    .collect(),
            ),
            languages: StringList(languages),
            free: self.free,
            fees_description: validate::optional_text(
                "input.feesDescription",
                self.fees_description.as_deref(),
                2_000,
            )?,
            funding_source: validate::optional_text(
                "input.fundingSource",
                self.funding_source.as_deref(),
                300,
            )?,
            funding_ends_on: self.funding_ends_on.map(|d| d.0),
            extra: None,
            created_at: now,
            updated_at: now,
        };
        Ok(ServiceDraft {
            service,
            areas,
            locations,
            contacts,
            phones,
            schedules,
            terms,
        })
    }
}

/// Waits until a write at `seq` is searchable here.
async fn searchable(ctx: &Context<'_>, seq: i64) -> ApiResult<()> {
    let indexer = state(ctx)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("no state")))?
        .indexer
        .clone();
    indexer.wait_for(seq).await.map_err(ApiError::Internal)
}

/// One audit record.
#[derive(Clone, Debug, SimpleObject)]
pub struct AuditEvent {
    /// The record's id.
    pub id: ID,
    /// Who did it (an email address, a token name or "system").
    pub actor: String,
    /// What was done, such as "service.update".
    pub action: String,
    /// The kind of record.
    pub entity: String,
    /// The record's id.
    pub entity_id: ID,
    /// The record before.
    pub before: Option<Json<serde_json::Value>>,
    /// The record after.
    pub after: Option<Json<serde_json::Value>>,
    /// When.
    pub at: DateTime,
}

/// A report that a listing is wrong.
#[derive(Clone, Debug, SimpleObject)]
pub struct ListingReport {
    /// The report's id.
    pub id: ID,
    /// The listing.
    pub service_id: ID,
    /// What is wrong.
    pub message: String,
    /// When it was reported.
    pub created_at: DateTime,
    /// When it was resolved.
    pub resolved_at: Option<DateTime>,
    /// How it was resolved.
    pub resolution_note: Option<String>,
}

impl From<entity::listing_report::Model> for ListingReport {
    fn from(r: entity::listing_report::Model) -> Self {
        Self {
            id: ID(r.id.to_string()),
            service_id: ID(r.service_id.to_string()),
            message: r.message,
            created_at: DateTime(r.created_at),
            resolved_at: r.resolved_at.map(DateTime),
            resolution_note: r.resolution_note,
        }
    }
}

/// Admin queries over edits.
#[derive(Default)]
pub struct EditingQuery;

#[Object]
impl EditingQuery {
    /// The audit history of a listing or organisation, oldest first (admins).
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        entity_id: ID,
    ) -> async_graphql::Result<Vec<AuditEvent>> {
        ctx.data::<Caller>()?.require_admin()?;
        let id = id_arg(&entity_id, "entityId")?;
        let rows = store::editing::audit_log(&state(ctx)?.db, id).await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEvent {
                id: ID(r.id.to_string()),
                actor: r.actor,
                action: r.action,
                entity: r.entity,
                entity_id: ID(r.entity_id.to_string()),
                before: r.before.map(Json),
                after: r.after.map(Json),
                at: DateTime(r.at),
            })
            .collect())
    }

    /// Reports that listings are wrong, newest first; open ones unless `includeResolved` (admins).
    async fn listing_reports(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] include_resolved: bool,
    ) -> async_graphql::Result<Vec<ListingReport>> {
        ctx.data::<Caller>()?.require_admin()?;
        let rows = store::editing::reports(&state(ctx)?.db, include_resolved).await?;
        Ok(rows.into_iter().map(ListingReport::from).collect())
    }
}

/// Limits listing reports from one address.
pub struct ReportLimiter(pub Arc<DefaultKeyedRateLimiter<String>>);

/// Editing mutations.
#[derive(Default)]
pub struct EditingMutation;

#[Object]
impl EditingMutation {
    /// Creates an organisation (admins).
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: OrganizationInput,
    ) -> async_graphql::Result<Organization> {
        let caller = ctx.data::<Caller>()?;
        caller.require_admin()?;
        let model = input.into_model()?;
        let (saved, seq) =
            store::editing::save_organization(&state(ctx)?.db, caller, None, model).await?;
        searchable(ctx, seq).await?;
        Ok(Organization(saved))
    }

    /// Updates an organisation (admins, or its editors).
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: OrganizationInput,
    ) -> async_graphql::Result<Organization> {
        let caller = ctx.data::<Caller>()?;
        let id = id_arg(&id, "id")?;
        caller.require_editor_of(id)?;
        let model = input.into_model()?;
        let (saved, seq) =
            store::editing::save_organization(&state(ctx)?.db, caller, Some(id), model).await?;
        searchable(ctx, seq).await?;
        Ok(Organization(saved))
    }

    /// Creates a listing (admins, or editors of its organisation).
    async fn create_service(
        &self,
        ctx: &Context<'_>,
        input: ServiceInput,
    ) -> async_graphql::Result<Service> {
        let caller = ctx.data::<Caller>()?;
        caller.require_editor_of(id_arg(&input.organization_id, "input.organizationId")?)?;
        let draft = input.into_draft(ctx).await?;
        let (saved, seq) = store::editing::create_service(&state(ctx)?.db, caller, draft).await?;
        searchable(ctx, seq).await?;
        Ok(Service(saved))
    }

    /// Replaces a listing; CONFLICT when it changed since `expectedVersion`.
    async fn update_service(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        input: ServiceInput,
    ) -> async_graphql::Result<Service> {
        let caller = ctx.data::<Caller>()?;
        caller.require_authenticated()?;
        let id = id_arg(&id, "id")?;
        let draft = input.into_draft(ctx).await?;
        let (saved, seq) =
            store::editing::update_service(&state(ctx)?.db, caller, id, expected_version, draft)
                .await?;
        searchable(ctx, seq).await?;
        Ok(Service(saved))
    }

    /// Takes a listing out of the directory (status DEFUNCT); CONFLICT when it changed since
    /// `expectedVersion`.
    async fn archive_service(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
    ) -> async_graphql::Result<Service> {
        let caller = ctx.data::<Caller>()?;
        caller.require_authenticated()?;
        let id = id_arg(&id, "id")?;
        let (saved, seq) =
            store::editing::archive_service(&state(ctx)?.db, caller, id, expected_version).await?;
        searchable(ctx, seq).await?;
        Ok(Service(saved))
    }

    /// Records that a listing was checked today (sets `assuredDate` and the assurer).
    async fn verify_service(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Service> {
        let caller = ctx.data::<Caller>()?;
        caller.require_authenticated()?;
        let id = id_arg(&id, "id")?;
        let (saved, seq) = store::editing::verify_service(&state(ctx)?.db, caller, id).await?;
        searchable(ctx, seq).await?;
        Ok(Service(saved))
    }

    /// Adds a dated session or pop-up to a listing.
    async fn create_event(
        &self,
        ctx: &Context<'_>,
        input: EventInput,
    ) -> async_graphql::Result<Event> {
        let caller = ctx.data::<Caller>()?;
        caller.require_authenticated()?;
        let service_id = id_arg(&input.service_id, "input.serviceId")?;
        validate::ordered_times("input", input.starts_at.0, input.ends_at.0)?;
        let (latitude, longitude) = point("input", input.latitude, input.longitude)?;
        let postcode = input
            .postcode
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| validate::uk_postcode("input.postcode", p))
            .transpose()?;
        let now = Utc::now();
        let draft = event::Model {
            id: uuid::Uuid::nil(),
            service_id,
            title: validate::text("input.title", &input.title, 2, 300)?,
            description: validate::optional_text(
                "input.description",
                input.description.as_deref(),
                5_000,
            )?,
            starts_at: input.starts_at.0,
            ends_at: input.ends_at.0,
            place_name: validate::optional_text(
                "input.placeName",
                input.place_name.as_deref(),
                300,
            )?,
            address: validate::optional_text("input.address", input.address.as_deref(), 500)?,
            postcode,
            latitude,
            longitude,
            created_at: now,
            updated_at: now,
        };
        let (saved, seq) = store::editing::create_event(&state(ctx)?.db, caller, draft).await?;
        searchable(ctx, seq).await?;
        Ok(Event(saved))
    }

    /// Tells the directory team a listing is wrong (anyone; limited per address).
    async fn report_listing_problem(
        &self,
        ctx: &Context<'_>,
        service_id: ID,
        message: String,
    ) -> async_graphql::Result<bool> {
        let caller = ctx.data::<Caller>()?;
        let service_id = id_arg(&service_id, "serviceId")?;
        let message = validate::text("message", &message, 5, 2_000)?;
        let address = ctx
            .data_opt::<ClientAddress>()
            .map(|a| a.0.ip().to_string());
        if let Some(limiter) = ctx.data_opt::<ReportLimiter>() {
            let key = caller
                .actor_id()
                .map(|id| id.to_string())
                .or_else(|| address.clone())
                .unwrap_or_default();
            if limiter.0.check_key(&key).is_err() {
                return Err(
                    ApiError::RateLimited("too many reports; try again later".into()).into(),
                );
            }
        }
        store::editing::report_problem(&state(ctx)?.db, caller, service_id, message, address)
            .await?;
        Ok(true)
    }

    /// Marks a listing report resolved (admins).
    async fn resolve_listing_report(
        &self,
        ctx: &Context<'_>,
        id: ID,
        note: Option<String>,
    ) -> async_graphql::Result<ListingReport> {
        let caller = ctx.data::<Caller>()?;
        caller.require_admin()?;
        let id = id_arg(&id, "id")?;
        let note = validate::optional_text("note", note.as_deref(), 2_000)?;
        let db = &state(ctx)?.db;
        let resolved = store::editing::resolve_report(db, caller, id, note).await?;
        Ok(resolved.into())
    }
}
