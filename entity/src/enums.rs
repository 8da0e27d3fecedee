//! Enumerations stored as short strings, and the JSON list type used for multi-valued columns.

use std::collections::BTreeMap;

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A list of short codes (audiences, delivery modes, ISO 639-1 languages) kept in one JSON column.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct StringList(pub Vec<String>);

impl StringList {
    /// Whether the list holds this exact code.
    pub fn contains(&self, code: &str) -> bool {
        self.0.iter().any(|item| item == code)
    }
}

/// A service's lifecycle status (HSDS `service.status`, upper-cased).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceStatus {
    /// Running and taking families.
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    /// Not currently offered.
    #[sea_orm(string_value = "INACTIVE")]
    Inactive,
    /// Closed for good.
    #[sea_orm(string_value = "DEFUNCT")]
    Defunct,
    /// Paused, expected to reopen.
    #[sea_orm(string_value = "TEMPORARILY_CLOSED")]
    TemporarilyClosed,
}

/// How much need a service is for: universal, targeted or specialist.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LevelOfNeed {
    /// Open to every family.
    #[sea_orm(string_value = "UNIVERSAL")]
    Universal,
    /// For families with mild to moderate difficulties.
    #[sea_orm(string_value = "TARGETED")]
    Targeted,
    /// For the highest level of need.
    #[sea_orm(string_value = "SPECIALIST")]
    Specialist,
}

/// The kind of a catchment.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceAreaKind {
    /// The whole country.
    #[sea_orm(string_value = "NATIONAL")]
    National,
    /// A postcode area ("GL") or district ("GL50").
    #[sea_orm(string_value = "POSTCODE_PREFIX")]
    PostcodePrefix,
    /// A circle around a point.
    #[sea_orm(string_value = "RADIUS")]
    Radius,
    /// An administrative area by its ONS (GSS) code: a country, region, county, metropolitan
    /// county, district, unitary authority or London borough.
    #[sea_orm(string_value = "ADMINISTRATIVE_AREA")]
    AdministrativeArea,
    /// A GeoJSON `Polygon` or `MultiPolygon`: the postcode sectors whose centroids lie inside.
    #[sea_orm(string_value = "POLYGON")]
    Polygon,
}

/// Who may see a contact or a phone line.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Visibility {
    /// Anyone.
    #[sea_orm(string_value = "PUBLIC")]
    Public,
    /// Authenticated partners and staff only.
    #[sea_orm(string_value = "PROFESSIONAL")]
    Professional,
}

/// A staff user's role.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// May change everything.
    #[sea_orm(string_value = "ADMIN")]
    Admin,
    /// May change their own organisation's listings.
    #[sea_orm(string_value = "EDITOR")]
    Editor,
    /// A partner application that reads with a token.
    #[sea_orm(string_value = "PARTNER")]
    Partner,
    /// A health visitor, midwife or family-hub worker: reads professional-only lines, changes
    /// nothing.
    #[sea_orm(string_value = "PROFESSIONAL")]
    Professional,
}

/// What a `change` feed row records.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeOp {
    /// A new record.
    #[sea_orm(string_value = "CREATE")]
    Create,
    /// A changed record.
    #[sea_orm(string_value = "UPDATE")]
    Update,
    /// A record taken out of the directory (kept for history).
    #[sea_orm(string_value = "ARCHIVE")]
    Archive,
    /// A record removed.
    #[sea_orm(string_value = "DELETE")]
    Delete,
}

/// Declares a code-list enum stored in a [`StringList`] column: its variants, their codes and parsing.
macro_rules! code_list {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored code.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code),+
                }
            }

            /// The value for a stored code.
            pub fn parse(code: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.as_str() == code)
            }
        }
    };
}

code_list! {
    /// Who in the family a service is for.
    Audience {
        /// Mothers and birthing parents.
        Mothers = "MOTHERS",
        /// Fathers.
        Fathers = "FATHERS",
        /// Co-parents and partners.
        CoParents = "CO_PARENTS",
        /// Kinship carers, foster carers and other carers.
        Carers = "CARERS",
        /// The whole family together.
        WholeFamily = "WHOLE_FAMILY",
        /// Bereaved families only: parents whose baby has died, in pregnancy or after the birth.
        Bereaved = "BEREAVED",
        /// Speakers of the service's languages, or members of its community, only (a group for
        /// Somali-speaking mothers; the service's `languages` say which).
        LanguageCommunity = "LANGUAGE_COMMUNITY",
    }
}

code_list! {
    /// How a service is delivered.
    DeliveryMode {
        /// In the family's home.
        HomeVisit = "HOME_VISIT",
        /// Face to face at a venue.
        InPerson = "IN_PERSON",
        /// In a group.
        Group = "GROUP",
        /// Online (video, chat, app).
        Online = "ONLINE",
        /// By telephone.
        Phone = "PHONE",
    }
}

/// Where an eligibility value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ValueSource {
    /// Given as a field: by an editor, or by a feed's structured field.
    Given,
    /// Read from the listing's words (the phrase says which).
    Text,
    /// Not said anywhere: the column holds its default, which the search treats as unknown.
    Unknown,
}

/// One eligibility value's provenance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// Where the value came from.
    pub source: ValueSource,
    /// The words it was read from, for [`ValueSource::Text`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phrase: Option<String>,
}

/// The eligibility fields whose provenance is kept, as named in `eligibility_sources`.
pub mod eligibility_field {
    /// `from_pregnancy`.
    pub const FROM_PREGNANCY: &str = "fromPregnancy";
    /// `min_age_months`.
    pub const MIN_AGE_MONTHS: &str = "minAgeMonths";
    /// `max_age_months`.
    pub const MAX_AGE_MONTHS: &str = "maxAgeMonths";
    /// `audiences`.
    pub const AUDIENCES: &str = "audiences";
    /// `languages`.
    pub const LANGUAGES: &str = "languages";
    /// `level_of_need`.
    pub const LEVEL_OF_NEED: &str = "levelOfNeed";
    /// `self_referral` and `professional_referral`.
    pub const REFERRAL: &str = "referral";
    /// Every field, in the order they are shown.
    pub const ALL: [&str; 7] = [
        FROM_PREGNANCY,
        MIN_AGE_MONTHS,
        MAX_AGE_MONTHS,
        AUDIENCES,
        LANGUAGES,
        LEVEL_OF_NEED,
        REFERRAL,
    ];
}

/// Where a service's eligibility values came from, keyed by field ([`eligibility_field`]); a
/// field not named is [`ValueSource::Given`], and a service with no such column value (an
/// editor's listing) has every value given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct EligibilitySources(pub BTreeMap<String, Provenance>);

impl EligibilitySources {
    /// Where `field`'s value came from.
    pub fn source(&self, field: &str) -> ValueSource {
        self.0.get(field).map_or(ValueSource::Given, |p| p.source)
    }

    /// The provenance of `field` (given when not named).
    pub fn of(&self, field: &str) -> Provenance {
        self.0.get(field).cloned().unwrap_or(Provenance {
            source: ValueSource::Given,
            phrase: None,
        })
    }

    /// Whether every value is given.
    pub fn all_given(&self) -> bool {
        self.0.values().all(|p| p.source == ValueSource::Given)
    }

    /// Marks `field` as given (an editor set or confirmed it).
    pub fn confirm(&mut self, field: &str) {
        self.0.remove(field);
    }

    /// The sources as a column value: none when every value is given.
    pub fn into_column(self) -> Option<Self> {
        (!self.all_given()).then_some(self)
    }
}
