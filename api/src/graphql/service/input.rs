//! The `ServiceInput` of `createService` and `updateService`, its nested inputs, and the
//! validated `ServiceDraft` built from them.

use async_graphql::{Context, ID, InputObject};
use chrono::Utc;
use entity::{StringList, contact, location, phone, schedule, service, service_area};

use crate::{
    error::{ApiError, ApiResult},
    graphql::{
        enums::{Audience, DeliveryMode, LevelOfNeed, ServiceAreaKind, ServiceStatus, Visibility},
        input::{id_arg, opt_email, opt_phone, opt_url},
        scalars::Date,
        state,
    },
    store::{self, editing::ServiceDraft},
    validate,
};

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
    /// For ADMINISTRATIVE_AREA: the ONS (GSS) code of the area ("E08000009").
    pub area_code: Option<String>,
    /// For POLYGON: a GeoJSON `Polygon` or `MultiPolygon`.
    pub extent: Option<String>,
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

/// Reads each item of an input list into its row, the item named `{field}[i]` in messages.
fn rows_of<T, R>(
    field: &str,
    items: &[T],
    read: impl Fn(&T, &str) -> ApiResult<R>,
) -> ApiResult<Vec<R>> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| read(item, &format!("{field}[{i}]")))
        .collect()
}

fn default_languages() -> Vec<String> {
    vec!["en".to_owned()]
}

/// The most children of each kind one listing may have.
const MAX_CHILDREN: usize = 50;

impl ServiceInput {
    /// Validates everything and builds the draft; the first problem found is reported.
    pub(super) async fn into_draft(self, ctx: &Context<'_>) -> ApiResult<ServiceDraft> {
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
            .collect::<store::Result<Vec<_>>>()?;
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
        let areas = rows_of(
            "input.serviceAreas",
            &self.service_areas,
            ServiceAreaInput::to_row,
        )?;
        let locations = rows_of("input.locations", &self.locations, LocationInput::to_row)?;
        let contacts = rows_of("input.contacts", &self.contacts, ContactInput::to_row)?;
        let phones = rows_of("input.phones", &self.phones, PhoneInput::to_row)?;
        let schedules = rows_of("input.schedules", &self.schedules, ScheduleInput::to_row)?;
        let service = self.service_row(organization_id, languages)?;
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

    /// The service row this input gives, its fields checked.
    fn service_row(
        &self,
        organization_id: uuid::Uuid,
        languages: Vec<String>,
    ) -> ApiResult<service::Model> {
        let e = &self.eligibility;
        let now = Utc::now();
        Ok(service::Model {
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
            eligibility_sources: None,
            created_at: now,
            updated_at: now,
        })
    }
}

impl ServiceAreaInput {
    /// The row this input gives, its fields checked and named under `field`.
    fn to_row(&self, field: &str) -> ApiResult<service_area::Model> {
        let name = validate::text(&format!("{field}.name"), &self.name, 1, 300)?;
        let mut row = service_area::Model {
            id: uuid::Uuid::nil(),
            service_id: uuid::Uuid::nil(),
            kind: self.kind.into(),
            name,
            postcode_prefix: None,
            latitude: None,
            longitude: None,
            radius_km: None,
            area_code: None,
            extent: None,
            position: 0,
        };
        // Which fields a kind needs is checked with the whole listing (store::listing).
        match self.kind {
            ServiceAreaKind::National => {}
            ServiceAreaKind::PostcodePrefix => {
                row.postcode_prefix = self
                    .postcode_prefix
                    .as_deref()
                    .map(|p| validate::postcode_prefix(&format!("{field}.postcodePrefix"), p))
                    .transpose()?;
            }
            ServiceAreaKind::Radius => {
                (row.latitude, row.longitude, row.radius_km) =
                    (self.latitude, self.longitude, self.radius_km);
            }
            ServiceAreaKind::AdministrativeArea => {
                row.area_code = self
                    .area_code
                    .as_deref()
                    .map(|code| code.trim().to_ascii_uppercase());
            }
            ServiceAreaKind::Polygon => row.extent.clone_from(&self.extent),
        }
        Ok(row)
    }
}

impl LocationInput {
    /// The row this input gives, its fields checked and named under `field`.
    fn to_row(&self, field: &str) -> ApiResult<location::Model> {
        let (latitude, longitude) = (self.latitude, self.longitude);
        let postcode = self
            .postcode
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| validate::uk_postcode(&format!("{field}.postcode"), p))
            .transpose()?;
        let now = Utc::now();
        Ok(location::Model {
            id: uuid::Uuid::nil(),
            organization_id: None,
            name: validate::optional_text(&format!("{field}.name"), self.name.as_deref(), 300)?,
            address_1: validate::optional_text(
                &format!("{field}.address1"),
                self.address1.as_deref(),
                300,
            )?,
            city: validate::optional_text(&format!("{field}.city"), self.city.as_deref(), 120)?,
            region: None,
            postcode,
            latitude,
            longitude,
            accessibility: validate::optional_text(
                &format!("{field}.accessibility"),
                self.accessibility.as_deref(),
                2_000,
            )?,
            extra: None,
            created_at: now,
            updated_at: now,
        })
    }
}

impl ContactInput {
    /// The row this input gives, its fields checked and named under `field`.
    fn to_row(&self, field: &str) -> ApiResult<contact::Model> {
        Ok(contact::Model {
            id: uuid::Uuid::nil(),
            service_id: uuid::Uuid::nil(),
            name: validate::optional_text(&format!("{field}.name"), self.name.as_deref(), 300)?,
            title: validate::optional_text(&format!("{field}.title"), self.title.as_deref(), 300)?,
            email: opt_email(&format!("{field}.email"), self.email.as_deref())?,
            phone: opt_phone(&format!("{field}.phone"), self.phone.as_deref())?,
            visibility: self.visibility.into(),
            position: 0,
        })
    }
}

impl PhoneInput {
    /// The row this input gives, its fields checked and named under `field`.
    fn to_row(&self, field: &str) -> ApiResult<phone::Model> {
        Ok(phone::Model {
            id: uuid::Uuid::nil(),
            service_id: uuid::Uuid::nil(),
            number: validate::uk_phone(&format!("{field}.number"), &self.number)?,
            description: validate::optional_text(
                &format!("{field}.description"),
                self.description.as_deref(),
                300,
            )?,
            visibility: self.visibility.into(),
            position: 0,
        })
    }
}

impl ScheduleInput {
    /// The row this input gives, its fields checked and named under `field`.
    fn to_row(&self, field: &str) -> ApiResult<schedule::Model> {
        let time = |part: &str, value: Option<&str>| {
            value
                .map(|t| validate::time_of_day(&format!("{field}.{part}"), t))
                .transpose()
        };
        let opens_at = time("opensAt", self.opens_at.as_deref())?;
        let closes_at = time("closesAt", self.closes_at.as_deref())?;
        Ok(schedule::Model {
            id: uuid::Uuid::nil(),
            service_id: uuid::Uuid::nil(),
            weekday: self.weekday,
            opens_at,
            closes_at,
            description: validate::optional_text(
                &format!("{field}.description"),
                self.description.as_deref(),
                500,
            )?,
            position: 0,
        })
    }
}
