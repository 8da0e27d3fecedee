//! The contract's enums, mapped onto the stored ones.

use async_graphql::Enum;

/// A service's lifecycle status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "entity::ServiceStatus")]
pub enum ServiceStatus {
    /// Running and taking families.
    Active,
    /// Not currently offered.
    Inactive,
    /// Closed for good.
    Defunct,
    /// Paused, expected to reopen.
    TemporarilyClosed,
}

/// How much need a service is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "entity::LevelOfNeed")]
pub enum LevelOfNeed {
    /// Open to every family (health visiting, family hubs, baby groups).
    Universal,
    /// For families with mild to moderate difficulties.
    Targeted,
    /// For the highest level of need (specialist teams).
    Specialist,
}

/// Who in the family a service is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "entity::Audience")]
pub enum Audience {
    /// Mothers and birthing parents.
    Mothers,
    /// Fathers.
    Fathers,
    /// Co-parents and partners.
    CoParents,
    /// Kinship, foster and other carers.
    Carers,
    /// The whole family together.
    WholeFamily,
    /// Bereaved families only: parents whose baby has died, in pregnancy or after the birth.
    Bereaved,
    /// Speakers of the service's languages, or members of its community, only (the service's
    /// `languages` say which).
    LanguageCommunity,
}

/// How a service is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "entity::DeliveryMode")]
pub enum DeliveryMode {
    /// In the family's home.
    HomeVisit,
    /// Face to face at a venue.
    InPerson,
    /// In a group.
    Group,
    /// Online (video, chat, app).
    Online,
    /// By telephone.
    Phone,
}

/// Who may see a contact or phone line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "entity::Visibility")]
pub enum Visibility {
    /// Anyone.
    Public,
    /// Authenticated partners and staff only.
    Professional,
}

/// The kind of a catchment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "entity::ServiceAreaKind")]
pub enum ServiceAreaKind {
    /// The whole country.
    National,
    /// A postcode area ("GL") or district ("GL50"); from a feed also a sector ("S17 3").
    PostcodePrefix,
    /// A circle around a point.
    Radius,
    /// An administrative area by its ONS (GSS) code (`areaCode`): a country, region, county,
    /// metropolitan county, district, unitary authority or London borough.
    AdministrativeArea,
    /// A GeoJSON `Polygon` or `MultiPolygon` (`extent`): the postcode sectors whose centroids
    /// lie inside.
    Polygon,
}

/// An eligibility value whose provenance is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum EligibilityField {
    /// `eligibility.fromPregnancy`.
    FromPregnancy,
    /// `eligibility.minAgeMonths`.
    MinAgeMonths,
    /// `eligibility.maxAgeMonths`.
    MaxAgeMonths,
    /// `eligibility.audiences`.
    Audiences,
    /// `languages`.
    Languages,
    /// `levelOfNeed`.
    LevelOfNeed,
    /// `referral.selfReferral` and `referral.professionalReferral`.
    Referral,
}

impl EligibilityField {
    /// Every field, in the order they are shown.
    pub const ALL: [Self; 7] = [
        Self::FromPregnancy,
        Self::MinAgeMonths,
        Self::MaxAgeMonths,
        Self::Audiences,
        Self::Languages,
        Self::LevelOfNeed,
        Self::Referral,
    ];

    /// The field's key in the stored `eligibility_sources`.
    pub fn key(self) -> &'static str {
        use entity::eligibility_field as f;
        match self {
            Self::FromPregnancy => f::FROM_PREGNANCY,
            Self::MinAgeMonths => f::MIN_AGE_MONTHS,
            Self::MaxAgeMonths => f::MAX_AGE_MONTHS,
            Self::Audiences => f::AUDIENCES,
            Self::Languages => f::LANGUAGES,
            Self::LevelOfNeed => f::LEVEL_OF_NEED,
            Self::Referral => f::REFERRAL,
        }
    }
}

/// Where an eligibility value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "entity::ValueSource")]
pub enum ValueSource {
    /// Given as a field, by an editor or a feed.
    Given,
    /// Read from the listing's words; the phrase says which.
    Text,
    /// Said nowhere: the value shown is the default, and searches treat it as unknown.
    Unknown,
}
