//! A listing's card: the parts of a listing that result pages and a fetch by id show, stored
//! with its search document, so that a page of results (and a reader's fetch by id) reads no
//! database rows. Anything a query selects beyond the card is loaded from the database.
//!
//! The card leaves out what the index keeps anyway (the name, alternate name and
//! description, put back from the texts the index keeps beside the card), the link rows that
//! join the parts, what a row can take from its service (the service's id on each catchment
//! and phone line), and the `extra` columns (Open Referral fields kept for export only).
//!
//! A card is binary: postcard, field by field in their declared order, without names, ids as
//! their 16 bytes, numbers as numbers, times and days as numbers. Its head (the service row and
//! its organisation, which every result shows) and its details (the lists) are stored apart,
//! so that a page showing no list reads no details; each list of the details is a section of
//! its own, preceded by its length, so that a reader decodes only the lists it shows.

use entity::{location, organization, phone, service, service_area, taxonomy_term};
use serde::{Deserialize, Serialize};

use super::{Parts, ServiceRecord};

/// The parts a card carries: the service row, its organisation, catchments, places, phone
/// lines and taxonomy terms. Contacts and opening times are not on it.
pub const PARTS: Parts = Parts {
    organization: true,
    areas: true,
    locations: true,
    contacts: false,
    phones: true,
    schedules: false,
    terms: true,
    taxonomies: false,
};

/// The parts of a card read back when a query selects none of its lists (catchments, places,
/// phone lines, terms): the service row and its organisation. A result page showing names
/// and organisations reads only these, skipping the rest of the card's text.
pub const HEAD: Parts = Parts {
    organization: true,
    ..Parts::NONE
};

/// A card's head ([`HEAD`]): its first section, read alone when the lists are not wanted (a
/// row's own serde form writes times and days as text, which is parsed back character by
/// character; the head holds them as numbers).
#[derive(Serialize, Deserialize)]
struct Head {
    /// The service row, its eligibility sources taken out (below).
    #[serde(with = "ServiceHead")]
    service: service::Model,
    /// The service row's eligibility sources as JSON: they leave out empty fields, which a
    /// format without field names cannot tell.
    eligibility_sources: Option<String>,
    organization: Option<OrganizationInHead>,
}

/// The service row as the head holds it: the row's own fields, in its order. Its `extra`
/// (never on a card) and its eligibility sources (beside it in [`Head`]) are left out.
/// [`ServiceWithoutTexts`] reads the same fields in the same order: a field added here goes
/// there too, at the same place (`a_head_with_every_field_set_reads_back_whole` fails until
/// it does).
#[derive(Serialize, Deserialize)]
#[serde(remote = "service::Model")]
struct ServiceHead {
    id: uuid::Uuid,
    organization_id: uuid::Uuid,
    name: String,
    alternate_name: Option<String>,
    description: String,
    url: Option<String>,
    email: Option<String>,
    status: entity::ServiceStatus,
    #[serde(with = "day_number")]
    assured_date: Option<chrono::NaiveDate>,
    assurer: Option<String>,
    version: i32,
    level_of_need: entity::LevelOfNeed,
    from_pregnancy: bool,
    min_age_months: Option<f64>,
    max_age_months: Option<f64>,
    audiences: entity::StringList,
    eligibility_description: Option<String>,
    self_referral: bool,
    professional_referral: bool,
    referral_instructions: Option<String>,
    delivery_modes: entity::StringList,
    languages: entity::StringList,
    free: bool,
    fees_description: Option<String>,
    funding_source: Option<String>,
    #[serde(with = "day_number")]
    funding_ends_on: Option<chrono::NaiveDate>,
    #[serde(skip)]
    extra: Option<serde_json::Value>,
    #[serde(skip)]
    eligibility_sources: Option<entity::EligibilitySources>,
    #[serde(with = "instant")]
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(with = "instant")]
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// The organisation row as the head holds it: its id is the service row's `organization_id`,
/// and its `extra` is never on a card.
#[derive(Serialize, Deserialize)]
#[serde(remote = "organization::Model")]
struct OrganizationHead {
    #[serde(skip)]
    id: uuid::Uuid,
    name: String,
    description: Option<String>,
    email: Option<String>,
    website: Option<String>,
    phone: Option<String>,
    charity_number: Option<String>,
    company_number: Option<String>,
    #[serde(skip)]
    extra: Option<serde_json::Value>,
    #[serde(with = "instant")]
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(with = "instant")]
    updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, Deserialize)]
struct OrganizationInHead(#[serde(with = "OrganizationHead")] organization::Model);

/// How much of a card's head a reader decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadRead {
    /// All of it.
    Whole,
    /// All but the service's own texts that not every page shows: its web address, email,
    /// assurer, audiences, eligibility and referral texts, delivery modes, languages, fees and
    /// funding source (and eligibility sources). They are passed over, never copied, and left
    /// empty in the row (the head is read as `HeadWithoutTexts`).
    WithoutTexts,
}

/// A head read as [`HeadRead::WithoutTexts`]: [`Head`] field by field in the same order, its
/// texts passed over (a text is written as its length and bytes, a list as its length and
/// texts, whatever the reader makes of them).
#[derive(Deserialize)]
#[expect(
    dead_code,
    reason = "the texts are read for their place in the head, never kept"
)]
struct HeadWithoutTexts {
    service: ServiceWithoutTexts,
    eligibility_sources: Option<Unread>,
    organization: Option<OrganizationInHead>,
}

/// [`ServiceHead`] without its texts (see [`HeadWithoutTexts`]).
#[derive(Deserialize)]
#[expect(
    dead_code,
    reason = "the texts are read for their place in the head, never kept"
)]
struct ServiceWithoutTexts {
    id: uuid::Uuid,
    organization_id: uuid::Uuid,
    name: String,
    alternate_name: Option<String>,
    description: String,
    url: Option<Unread>,
    email: Option<Unread>,
    status: entity::ServiceStatus,
    #[serde(with = "day_number")]
    assured_date: Option<chrono::NaiveDate>,
    assurer: Option<Unread>,
    version: i32,
    level_of_need: entity::LevelOfNeed,
    from_pregnancy: bool,
    min_age_months: Option<f64>,
    max_age_months: Option<f64>,
    audiences: Vec<Unread>,
    eligibility_description: Option<Unread>,
    self_referral: bool,
    professional_referral: bool,
    referral_instructions: Option<Unread>,
    delivery_modes: Vec<Unread>,
    languages: Vec<Unread>,
    free: bool,
    fees_description: Option<Unread>,
    funding_source: Option<Unread>,
    #[serde(with = "day_number")]
    funding_ends_on: Option<chrono::NaiveDate>,
    #[serde(with = "instant")]
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(with = "instant")]
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl ServiceWithoutTexts {
    /// The service row, its texts empty.
    fn into_row(self) -> service::Model {
        service::Model {
            id: self.id,
            organization_id: self.organization_id,
            name: self.name,
            alternate_name: self.alternate_name,
            description: self.description,
            url: None,
            email: None,
            status: self.status,
            assured_date: self.assured_date,
            assurer: None,
            version: self.version,
            level_of_need: self.level_of_need,
            from_pregnancy: self.from_pregnancy,
            min_age_months: self.min_age_months,
            max_age_months: self.max_age_months,
            audiences: entity::StringList::default(),
            eligibility_description: None,
            self_referral: self.self_referral,
            professional_referral: self.professional_referral,
            referral_instructions: None,
            delivery_modes: entity::StringList::default(),
            languages: entity::StringList::default(),
            free: self.free,
            fees_description: None,
            funding_source: None,
            funding_ends_on: self.funding_ends_on,
            extra: None,
            eligibility_sources: None,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// A text (or any run of bytes written as its length and bytes) passed over unread.
struct Unread;

impl<'de> Deserialize<'de> for Unread {
    fn deserialize<D: serde::Deserializer<'de>>(from: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Unread;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a text")
            }

            fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<Unread, E> {
                Ok(Unread)
            }
        }
        from.deserialize_bytes(Visitor)
    }
}

/// A time as seconds and nanoseconds since 1970.
mod instant {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(time: &DateTime<Utc>, to: S) -> Result<S::Ok, S::Error> {
        (time.timestamp(), time.timestamp_subsec_nanos()).serialize(to)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<DateTime<Utc>, D::Error> {
        let (seconds, nanoseconds) = <(i64, u32)>::deserialize(from)?;
        DateTime::from_timestamp(seconds, nanoseconds)
            .ok_or_else(|| serde::de::Error::custom("a time out of range"))
    }
}

/// A day as its number counted from 1 January of year 1 (day 1).
mod day_number {
    use chrono::{Datelike, NaiveDate};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(day: &Option<NaiveDate>, to: S) -> Result<S::Ok, S::Error> {
        day.map(|day| day.num_days_from_ce()).serialize(to)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<Option<NaiveDate>, D::Error> {
        Option::<i32>::deserialize(from)?
            .map(|number| {
                NaiveDate::from_num_days_from_ce_opt(number)
                    .ok_or_else(|| serde::de::Error::custom("a day out of range"))
            })
            .transpose()
    }
}

impl Head {
    fn encode(
        mut service: service::Model,
        organization: Option<organization::Model>,
    ) -> Option<Vec<u8>> {
        let eligibility_sources = service
            .eligibility_sources
            .take()
            .map(|sources| serde_json::to_string(&sources))
            .transpose()
            .ok()?;
        let head = Self {
            service,
            eligibility_sources,
            organization: organization.map(OrganizationInHead),
        };
        postcard::to_allocvec(&head).ok()
    }

    fn decode(
        bytes: &[u8],
        read: HeadRead,
    ) -> Option<(service::Model, Option<organization::Model>)> {
        let (service, organization) = match read {
            HeadRead::Whole => {
                let head: Self = postcard::from_bytes(bytes).ok()?;
                let mut service = head.service;
                service.eligibility_sources = head
                    .eligibility_sources
                    .map(|sources| serde_json::from_str(&sources))
                    .transpose()
                    .ok()?;
                (service, head.organization)
            }
            HeadRead::WithoutTexts => {
                let head: HeadWithoutTexts = postcard::from_bytes(bytes).ok()?;
                (head.service.into_row(), head.organization)
            }
        };
        let organization = organization.map(|OrganizationInHead(mut organization)| {
            organization.id = service.organization_id;
            organization
        });
        Some((service, organization))
    }
}

/// A catchment as a card holds it: its service's id is the card's own.
#[derive(Serialize, Deserialize)]
#[serde(remote = "service_area::Model")]
struct AreaRow {
    id: uuid::Uuid,
    #[serde(skip)]
    service_id: uuid::Uuid,
    kind: entity::ServiceAreaKind,
    name: String,
    postcode_prefix: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    radius_km: Option<f64>,
    area_code: Option<String>,
    extent: Option<String>,
    position: i32,
}

/// A place as a card holds it (its `extra` is never on a card).
#[derive(Serialize, Deserialize)]
#[serde(remote = "location::Model")]
struct LocationRow {
    id: uuid::Uuid,
    organization_id: Option<uuid::Uuid>,
    name: Option<String>,
    address_1: Option<String>,
    city: Option<String>,
    region: Option<String>,
    postcode: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    accessibility: Option<String>,
    #[serde(skip)]
    extra: Option<serde_json::Value>,
    #[serde(with = "instant")]
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(with = "instant")]
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// A phone line as a card holds it: its service's id is the card's own.
#[derive(Serialize, Deserialize)]
#[serde(remote = "phone::Model")]
struct PhoneRow {
    id: uuid::Uuid,
    #[serde(skip)]
    service_id: uuid::Uuid,
    number: String,
    description: Option<String>,
    visibility: entity::Visibility,
    position: i32,
}

/// A taxonomy term as a card holds it.
#[derive(Serialize, Deserialize)]
#[serde(remote = "taxonomy_term::Model")]
struct TermRow {
    id: uuid::Uuid,
    taxonomy_id: Option<uuid::Uuid>,
    code: Option<String>,
    name: String,
    description: Option<String>,
    parent_id: Option<uuid::Uuid>,
    position: i32,
}

#[derive(Serialize, Deserialize)]
struct Area(#[serde(with = "AreaRow")] service_area::Model);
#[derive(Serialize, Deserialize)]
struct Location(#[serde(with = "LocationRow")] location::Model);
#[derive(Serialize, Deserialize)]
struct Phone(#[serde(with = "PhoneRow")] phone::Model);
#[derive(Serialize, Deserialize)]
struct Term(#[serde(with = "TermRow")] taxonomy_term::Model);

/// Appends `section` to `bytes`, its length first.
fn push_section(bytes: &mut Vec<u8>, section: &[u8]) -> Option<()> {
    let length = u32::try_from(section.len()).ok()?;
    postcard::to_extend(&length, std::mem::take(bytes))
        .ok()
        .map(|mut with_length| {
            with_length.extend_from_slice(section);
            *bytes = with_length;
        })
}

/// A card's details as their four sections (its lists); `None` unless there are exactly four.
fn sections(mut bytes: &[u8]) -> Option<[&[u8]; 4]> {
    let mut next = || {
        let (length, rest) = postcard::take_from_bytes::<u32>(bytes).ok()?;
        let length = usize::try_from(length).ok()?;
        let section = rest.get(..length)?;
        bytes = rest.get(length..)?;
        Some(section)
    };
    let sections = [next()?, next()?, next()?, next()?];
    bytes.is_empty().then_some(sections)
}

/// A list section read back: its rows, `None` for unreadable bytes.
fn list<W: serde::de::DeserializeOwned, T>(
    bytes: &[u8],
    unwrap: impl FnMut(W) -> T,
) -> Option<Vec<T>> {
    let rows: Vec<W> = postcard::from_bytes(bytes).ok()?;
    Some(rows.into_iter().map(unwrap).collect())
}

/// What of a card the index hands back for a query that shows `wanted`, and the service's
/// description when `description`: its head and names alone unless one of its lists or its
/// description is shown (both are read from the index's stored documents, in one read).
pub fn to_read(wanted: Parts, description: bool) -> search::Cards {
    let parts = read_for(wanted);
    if parts.areas || parts.locations || parts.phones || parts.terms {
        search::Cards::Whole
    } else if description {
        search::Cards::Described
    } else {
        search::Cards::Heads
    }
}

/// The parts of a card read back for a query that shows `wanted`: the head (the service row
/// and its organisation) and, of the card's lists, those `wanted` names; the other lists'
/// bytes are left unread.
pub fn read_for(wanted: Parts) -> Parts {
    Parts {
        areas: wanted.areas,
        locations: wanted.locations,
        phones: wanted.phones,
        terms: wanted.terms,
        ..HEAD
    }
}

/// A listing as its card holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Card {
    /// The service row.
    pub service: service::Model,
    /// The organisation that runs it.
    pub organization: Option<organization::Model>,
    /// Its catchments.
    pub areas: Vec<service_area::Model>,
    /// Its places, in their stored order.
    pub locations: Vec<location::Model>,
    /// Its phone lines, of every visibility.
    pub phones: Vec<phone::Model>,
    /// Its taxonomy terms.
    pub terms: Vec<taxonomy_term::Model>,
}

impl Card {
    /// The card of a listing loaded with (at least) [`PARTS`], whose rows move into the card,
    /// without the `extra` columns no reader of a card shows.
    pub fn of(record: ServiceRecord) -> Self {
        let mut service = record.service;
        service.extra = None;
        let organization = record.organization.map(|mut organization| {
            organization.extra = None;
            organization
        });
        let locations = record
            .locations
            .into_iter()
            .map(|place| location::Model {
                extra: None,
                ..place.location
            })
            .collect();
        Self {
            service,
            organization,
            areas: record.areas,
            locations,
            phones: record.phones,
            terms: record.terms.into_iter().map(|t| t.term).collect(),
        }
    }

    /// The card's bytes, without the texts the index stores beside it: its head (the service
    /// row and organisation, see [`Head`]), and its details: each list (catchments, places,
    /// phone lines, terms) preceded by its length. Empty for a card that cannot be written
    /// (which reads as "no card").
    pub fn encode(self) -> (Vec<u8>, Vec<u8>) {
        let Self {
            mut service,
            organization,
            areas,
            locations,
            phones,
            terms,
        } = self;
        service.name.clear();
        service.alternate_name = None;
        service.description.clear();
        // Serialising rows of plain values cannot fail.
        let encoded = || -> Option<(Vec<u8>, Vec<u8>)> {
            let lists = [
                postcard::to_allocvec(&areas.into_iter().map(Area).collect::<Vec<_>>()),
                postcard::to_allocvec(&locations.into_iter().map(Location).collect::<Vec<_>>()),
                postcard::to_allocvec(&phones.into_iter().map(Phone).collect::<Vec<_>>()),
                postcard::to_allocvec(&terms.into_iter().map(Term).collect::<Vec<_>>()),
            ];
            let mut details =
                Vec::with_capacity(lists.iter().flatten().map(Vec::len).sum::<usize>() + 8);
            for section in lists {
                push_section(&mut details, &section.ok()?)?;
            }
            Some((Head::encode(service, organization)?, details))
        };
        encoded().unwrap_or_default()
    }

    /// Reads a card back with its stored texts; `None` for an unreadable one (the caller then
    /// reads the database).
    pub fn decode(stored: search::StoredCard) -> Option<Self> {
        Self::decode_parts(stored, PARTS, true).map(|(card, _)| card)
    }

    /// [`Card::decode_page`] with its head read whole.
    pub fn decode_parts(
        stored: search::StoredCard,
        wanted: Parts,
        description: bool,
    ) -> Option<(Self, Parts)> {
        Self::decode_page(stored, wanted, description, HeadRead::Whole)
    }

    /// Reads back what `wanted` and `description` need of a card: its head (as much as `head`
    /// says), and of its lists those `wanted` names ([`read_for`]; the others are left empty
    /// and their bytes unread). Returns the card and the parts it holds; `None` for an
    /// unreadable one, or one whose details or description are wanted but were not read
    /// ([`to_read`] tells the index which to read). The stored texts move into the service row;
    /// a description not wanted, or texts `head` passes over, are left empty there, so such a
    /// row must not be shown as the whole listing.
    pub fn decode_page(
        stored: search::StoredCard,
        wanted: Parts,
        description: bool,
        head: HeadRead,
    ) -> Option<(Self, Parts)> {
        if description && stored.description.is_none() {
            return None;
        }
        let (mut service, organization) = Head::decode(&stored.bytes, head)?;
        let parts = read_for(wanted);
        let [areas, locations, phones, terms] = if to_read(wanted, false) == search::Cards::Whole {
            sections(stored.details.as_deref()?)?
        } else {
            [&[][..]; 4]
        };
        let service_id = service.id;
        service.name = stored.name;
        service.alternate_name = stored.alternate_name;
        service.description = stored.description.unwrap_or_default();
        let card = Self {
            service,
            organization,
            areas: if parts.areas {
                list(areas, |Area(mut row)| {
                    row.service_id = service_id;
                    row
                })?
            } else {
                Vec::new()
            },
            locations: if parts.locations {
                list(locations, |Location(row)| row)?
            } else {
                Vec::new()
            },
            phones: if parts.phones {
                list(phones, |Phone(mut row)| {
                    row.service_id = service_id;
                    row
                })?
            } else {
                Vec::new()
            },
            terms: if parts.terms {
                list(terms, |Term(row)| row)?
            } else {
                Vec::new()
            },
        };
        Some((card, parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A card as the index hands it back: its head, its details when they were read, and
    /// the stored texts.
    fn stored((head, details): &(Vec<u8>, Vec<u8>), read_details: bool) -> search::StoredCard {
        search::StoredCard {
            bytes: head.clone(),
            details: read_details.then(|| details.clone()),
            name: "Dads' group".into(),
            alternate_name: Some("Dads".into()),
            description: Some("For fathers".into()),
        }
    }

    fn service_row() -> service::Model {
        let now = chrono::Utc::now();
        service::Model {
            id: uuid::Uuid::new_v4(),
            organization_id: uuid::Uuid::new_v4(),
            name: "Dads' group".into(),
            alternate_name: Some("Dads".into()),
            description: "For fathers".into(),
            url: None,
            email: Some("dads@example.org".into()),
            status: entity::ServiceStatus::Active,
            assured_date: None,
            assurer: None,
            version: 3,
            level_of_need: entity::LevelOfNeed::Targeted,
            from_pregnancy: true,
            min_age_months: None,
            max_age_months: Some(24.0),
            audiences: entity::StringList(vec!["FATHERS".into()]),
            eligibility_description: None,
            self_referral: true,
            professional_referral: false,
            referral_instructions: None,
            delivery_modes: entity::StringList::default(),
            languages: entity::StringList(vec!["en".into()]),
            free: true,
            fees_description: None,
            funding_source: None,
            funding_ends_on: None,
            extra: Some(serde_json::json!({ "kept": "for export" })),
            eligibility_sources: None,
            created_at: now,
            updated_at: now,
        }
    }

    fn phone_line(service: &service::Model, description: Option<&str>) -> phone::Model {
        phone::Model {
            id: uuid::Uuid::new_v4(),
            service_id: service.id,
            number: "01242 000000".into(),
            description: description.map(Into::into),
            visibility: entity::Visibility::Public,
            position: 0,
        }
    }

    #[test]
    fn a_card_reads_back_with_its_stored_texts() {
        let service = service_row();
        let mut record = ServiceRecord::bare(service.clone());
        record.phones.push(phone_line(&service, Some("Duty line")));
        let card = Card::of(record);
        let bytes = card.clone().encode();
        let (head_bytes, details) = &bytes;
        let count = |text: &[u8]| {
            memchr::memmem::find_iter(head_bytes, text).count()
                + memchr::memmem::find_iter(details, text).count()
        };
        assert_eq!(count(b"Duty line"), 1, "the phone line is on the card");
        assert_eq!(memchr::memmem::find(head_bytes, b"Duty line"), None);
        assert_eq!(count(b"For fathers"), 0, "texts are not repeated");
        assert_eq!(count(b"for export"), 0, "extra is left off");
        // Each row's service is the card's own: its id is written once, in the head.
        assert_eq!(count(service.id.as_bytes()), 1);
        let back = Card::decode(stored(&bytes, true)).expect("decodes");
        assert_eq!(
            back.service,
            service::Model {
                extra: None,
                ..service
            }
        );
        assert_eq!(back, card);

        // Its head alone when no list is wanted: the same service row, the lists left out.
        assert_eq!(to_read(HEAD, false), search::Cards::Heads);
        // With the description when it is shown; a card whose description was not read is no
        // answer then.
        assert_eq!(to_read(HEAD, true), search::Cards::Described);
        let unread = search::StoredCard {
            description: None,
            ..stored(&bytes, false)
        };
        assert!(Card::decode_parts(unread.clone(), HEAD, true).is_none());
        let (named, _) = Card::decode_parts(unread, HEAD, false).expect("decodes");
        assert_eq!(named.service.name, "Dads' group");
        let (described, _) =
            Card::decode_parts(stored(&bytes, false), HEAD, true).expect("decodes");
        assert_eq!(described.service.description, "For fathers");
        let (head, parts) =
            Card::decode_parts(stored(&bytes, false), HEAD, false).expect("decodes");
        assert_eq!(parts, HEAD);
        assert_eq!(head.service, card.service);
        assert_eq!(head.organization, card.organization);
        assert!(head.phones.is_empty());
        // With the lists a query shows, and no other.
        let wanted = Parts {
            phones: true,
            ..Parts::NONE
        };
        assert_eq!(to_read(wanted, false), search::Cards::Whole);
        assert_eq!(to_read(wanted, true), search::Cards::Whole);
        assert!(
            Card::decode_parts(stored(&bytes, false), wanted, false).is_none(),
            "the details were wanted but not read"
        );
        let (with_phones, parts) =
            Card::decode_parts(stored(&bytes, true), wanted, false).expect("decodes");
        assert_eq!(
            parts,
            Parts {
                organization: true,
                phones: true,
                ..Parts::NONE
            }
        );
        assert_eq!(with_phones, card);
    }

    #[test]
    fn a_head_with_every_field_set_reads_back_whole() {
        let mut service = service_row();
        service.url = Some("https://example.org/dads".into());
        service.assured_date = chrono::NaiveDate::from_ymd_opt(2026, 3, 31);
        service.assurer = Some("Editor".into());
        service.min_age_months = Some(0.5);
        service.eligibility_description = Some("Dads \"and\" carers\nof babies".into());
        service.referral_instructions = Some("Ring us".into());
        service.delivery_modes = entity::StringList(vec!["GROUP".into(), "ONLINE".into()]);
        service.fees_description = Some("£2 a session".into());
        service.funding_source = Some("Lottery".into());
        service.funding_ends_on = chrono::NaiveDate::from_ymd_opt(2027, 8, 1);
        service.extra = None;
        service.eligibility_sources = Some(entity::EligibilitySources(
            [
                (
                    "fromPregnancy".to_owned(),
                    entity::Provenance {
                        source: entity::ValueSource::Text,
                        phrase: Some("expectant dads".into()),
                    },
                ),
                (
                    "minAgeMonths".to_owned(),
                    entity::Provenance {
                        source: entity::ValueSource::Unknown,
                        phrase: None,
                    },
                ),
            ]
            .into(),
        ));
        let now = chrono::Utc::now();
        let organization = organization::Model {
            id: service.organization_id,
            name: "Dads Matter".into(),
            description: Some("Peer support".into()),
            email: None,
            website: Some("https://example.org".into()),
            phone: Some("01242 111111".into()),
            charity_number: Some("1234567".into()),
            company_number: None,
            extra: None,
            created_at: now,
            updated_at: now,
        };
        let mut record = ServiceRecord::bare(service.clone());
        record.organization = Some(organization);
        let card = Card::of(record);
        let bytes = card.clone().encode();
        // The organisation's id is the service row's `organization_id`, written once.
        let organization_id = service.organization_id;
        assert_eq!(
            memchr::memmem::find_iter(&bytes.0, organization_id.as_bytes()).count(),
            1
        );
        let (head, _) = Card::decode_parts(stored(&bytes, false), HEAD, true).expect("decodes");
        assert_eq!(head.service, card.service);
        assert_eq!(head.organization, card.organization);
        assert_eq!(Card::decode(stored(&bytes, true)).expect("decodes"), card);
        // Read without its texts: the same row with each of them empty, the same organisation.
        let (slim, _) =
            Card::decode_page(stored(&bytes, false), HEAD, true, HeadRead::WithoutTexts)
                .expect("decodes");
        let texts_emptied = service::Model {
            url: None,
            email: None,
            assurer: None,
            audiences: entity::StringList::default(),
            eligibility_description: None,
            referral_instructions: None,
            delivery_modes: entity::StringList::default(),
            languages: entity::StringList::default(),
            fees_description: None,
            funding_source: None,
            eligibility_sources: None,
            ..card.service.clone()
        };
        assert_ne!(texts_emptied, card.service);
        assert_eq!(slim.service, texts_emptied);
        assert_eq!(slim.organization, card.organization);
    }

    #[test]
    fn only_the_lists_shown_are_read_back() {
        let service = service_row();
        let mut record = ServiceRecord::bare(service.clone());
        record.phones.push(phone_line(&service, None));
        record.areas.push(service_area::Model {
            id: uuid::Uuid::new_v4(),
            service_id: service.id,
            kind: entity::ServiceAreaKind::PostcodePrefix,
            name: "GL50".into(),
            postcode_prefix: Some("GL50".into()),
            latitude: None,
            longitude: None,
            radius_km: None,
            area_code: None,
            extent: None,
            position: 0,
        });
        let card = Card::of(record);
        let bytes = card.clone().encode();
        let terms = Parts {
            terms: true,
            areas: true,
            ..Parts::NONE
        };
        let (read, parts) =
            Card::decode_parts(stored(&bytes, true), terms, false).expect("decodes");
        assert_eq!(read.areas, card.areas);
        assert!(read.phones.is_empty(), "phone lines were not asked for");
        assert!(parts.areas && parts.terms && parts.organization);
        assert!(!parts.phones && !parts.locations);
        // Every list when each is asked for.
        assert_eq!(
            Card::decode_parts(stored(&bytes, true), PARTS, false)
                .expect("decodes")
                .0,
            card
        );
        // A list that is not read may be unreadable: its bytes are not parsed.
        let mut lists = sections(&bytes.1).expect("sections");
        lists[2] = &[0xFF, 0xFF];
        let garbled = (bytes.0.clone(), framed(&lists));
        assert!(Card::decode_parts(stored(&garbled, true), terms, false).is_some());
        assert!(Card::decode(stored(&garbled, true)).is_none());
    }

    /// A card's bytes made of `sections`, each preceded by its length.
    fn framed(sections: &[&[u8]]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for section in sections {
            push_section(&mut bytes, section).expect("frames");
        }
        bytes
    }

    #[test]
    fn garbled_cards_decode_to_none() {
        let card = |head: &[u8], details: &[u8]| stored(&(head.to_vec(), details.to_vec()), true);
        let (head, details) = Card::of(ServiceRecord::bare(service_row())).encode();
        assert!(Card::decode(card(&head, &details)).is_some());
        assert!(Card::decode(card(b"", &details)).is_none());
        assert!(Card::decode(card(b"{not a card}", &details)).is_none());
        assert!(Card::decode_parts(card(&[0xFF; 12], &details), HEAD, false).is_none());
        // A head cut short.
        for cut in [1, head.len() / 2, head.len() - 1] {
            assert!(
                Card::decode(card(&head[..cut], &details)).is_none(),
                "cut at {cut}"
            );
        }
        let [areas, locations, phones, terms] = sections(&details).expect("sections");
        assert_eq!(framed(&[areas, locations, phones, terms]), details);
        // Details with a section too few or too many, or cut short.
        assert!(Card::decode(card(&head, &framed(&[areas, locations, phones]))).is_none());
        let extended = framed(&[areas, locations, phones, terms, b""]);
        assert!(Card::decode(card(&head, &extended)).is_none());
        for cut in [0, 1, details.len() - 1] {
            assert!(
                Card::decode(card(&head, &details[..cut])).is_none(),
                "cut at {cut}"
            );
        }
        // A head read alone does not read the details.
        let unreadable = framed(&[&[0xFF, 0xFF], areas, areas, areas]);
        assert!(Card::decode_parts(card(&head, &unreadable), HEAD, false).is_some());
        assert!(Card::decode_parts(card(&head, b"\xFF"), HEAD, false).is_some());
        assert!(Card::decode(card(&head, &unreadable)).is_none());
    }

    #[test]
    fn every_list_reads_back_with_each_row_whole() {
        let service = service_row();
        let mut record = ServiceRecord::bare(service.clone());
        record.phones.push(phone_line(&service, None));
        record.phones.push(phone_line(&service, Some("Evenings")));
        record.areas.push(service_area::Model {
            id: uuid::Uuid::new_v4(),
            service_id: service.id,
            kind: entity::ServiceAreaKind::Radius,
            name: "Around Cheltenham".into(),
            postcode_prefix: None,
            latitude: Some(51.9),
            longitude: Some(-2.07),
            radius_km: Some(12.5),
            area_code: Some("E07000078".into()),
            extent: Some("{\"type\":\"Polygon\"}".into()),
            position: 1,
        });
        let now = chrono::Utc::now();
        let location_id = uuid::Uuid::new_v4();
        record.locations.push(super::super::ServiceLocation {
            link: entity::service_at_location::Model {
                id: uuid::Uuid::new_v4(),
                service_id: service.id,
                location_id,
                position: 0,
            },
            location: location::Model {
                id: location_id,
                organization_id: Some(service.organization_id),
                name: Some("Hub".into()),
                address_1: Some("1 High Street".into()),
                city: Some("Cheltenham".into()),
                region: Some("Gloucestershire".into()),
                postcode: Some("GL50 1AA".into()),
                latitude: Some(51.9),
                longitude: Some(-2.07),
                accessibility: Some("Step-free".into()),
                extra: Some(serde_json::json!({ "location_type": "physical" })),
                created_at: now,
                updated_at: now,
            },
        });
        let term_id = uuid::Uuid::new_v4();
        record.terms.push(super::super::ServiceTerm {
            attribute: entity::attribute::Model {
                id: uuid::Uuid::new_v4(),
                link_id: service.id,
                link_entity: entity::attribute::LINK_ENTITY_SERVICE.to_owned(),
                link_type: None,
                taxonomy_term_id: term_id,
                value: None,
                position: 0,
            },
            term: taxonomy_term::Model {
                id: term_id,
                taxonomy_id: Some(uuid::Uuid::new_v4()),
                code: Some("perinatal-mental-health".into()),
                name: "Perinatal mental health".into(),
                description: Some("During pregnancy and after".into()),
                parent_id: Some(uuid::Uuid::new_v4()),
                position: 2,
            },
            taxonomy: None,
        });
        let card = Card::of(record);
        assert_eq!(card.locations[0].extra, None, "extra is left off");
        let back = Card::decode(stored(&card.clone().encode(), true)).expect("decodes");
        assert_eq!(back, card);
        assert!(back.areas.iter().all(|area| area.service_id == service.id));
        assert!(
            back.phones
                .iter()
                .all(|phone| phone.service_id == service.id)
        );
    }
}
