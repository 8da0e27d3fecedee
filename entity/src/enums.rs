//! Enumerations stored as short strings, and the JSON list type used for multi-valued columns.

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
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
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
