//! A listing's card: the parts of a listing that result pages and a fetch by id show, stored
//! with its search document, so that a page of results (and a reader's fetch by id) reads no
//! database rows. Anything a query selects beyond the card is loaded from the database.
//!
//! The card leaves out what the index stores anyway (the name, alternate name and
//! description, put back from the stored text fields), the link rows that join the parts, and
//! the `extra` columns (Open Referral fields kept for export only).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
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

/// A card's head ([`HEAD`]): the first part of its bytes, read alone when the lists are not
/// wanted. It is read for every result on a page, so it is held in a compact binary form
/// (postcard, written as URL-safe base64 so that the card stays text): field by field in
/// their declared order, without names, numbers as numbers, and times and days as numbers too
/// (a row's own serde form writes them as text, which is parsed back character by character).
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

/// The organisation row as the head holds it (its `extra` is never on a card).
#[derive(Serialize, Deserialize)]
#[serde(remote = "organization::Model")]
struct OrganizationHead {
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
        let binary = postcard::to_allocvec(&head).ok()?;
        Some(URL_SAFE_NO_PAD.encode(binary).into_bytes())
    }

    fn decode(bytes: &[u8]) -> Option<(service::Model, Option<organization::Model>)> {
        let binary = URL_SAFE_NO_PAD.decode(bytes).ok()?;
        let head: Self = postcard::from_bytes(&binary).ok()?;
        let mut service = head.service;
        service.eligibility_sources = head
            .eligibility_sources
            .map(|sources| serde_json::from_str(&sources))
            .transpose()
            .ok()?;
        Some((
            service,
            head.organization.map(|organization| organization.0),
        ))
    }
}

/// What stands between a card's sections in its bytes: neither base64 nor JSON text as
/// `serde_json` writes it holds a raw line break.
const SEPARATOR: u8 = b'\n';

/// A card's five sections (its head and four lists); `None` unless there are five.
fn sections(bytes: &[u8]) -> Option<[&[u8]; 5]> {
    let mut ends = memchr::memchr_iter(SEPARATOR, bytes);
    let mut start = 0;
    let mut next = |end: usize| {
        let section = bytes.get(start..end);
        start = end + 1;
        section
    };
    let sections = [
        next(ends.next()?)?,
        next(ends.next()?)?,
        next(ends.next()?)?,
        next(ends.next()?)?,
        bytes.get(start..)?,
    ];
    ends.next().is_none().then_some(sections)
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
    /// The card of a listing loaded with (at least) [`PARTS`].
    pub fn of(record: &ServiceRecord) -> Self {
        let mut service = record.service.clone();
        service.extra = None;
        let organization = record.organization.clone().map(|mut organization| {
            organization.extra = None;
            organization
        });
        Self {
            service,
            organization,
            areas: record.areas.clone(),
            locations: record
                .locations
                .iter()
                .map(|l| l.location.clone())
                .collect(),
            phones: record.phones.clone(),
            terms: record.terms.iter().map(|t| t.term.clone()).collect(),
        }
    }

    /// The card's bytes, without the texts the index stores beside it: its head (the service
    /// row and organisation, see [`Head`]), then each list (catchments, places, phone lines,
    /// terms) as JSON, a line break between them, so that a reader parses only the sections
    /// it shows.
    pub fn encode(&self) -> Vec<u8> {
        let mut service = self.service.clone();
        service.name.clear();
        service.alternate_name = None;
        service.description.clear();
        // Serialising rows of plain values cannot fail; an empty card reads as "no card".
        let Some(head) = Head::encode(service, self.organization.clone()) else {
            return Vec::new();
        };
        let sections = [
            Ok(head),
            serde_json::to_vec(&self.areas),
            serde_json::to_vec(&self.locations),
            serde_json::to_vec(&self.phones),
            serde_json::to_vec(&self.terms),
        ];
        let mut bytes = Vec::new();
        for section in sections {
            let Ok(section) = section else {
                return Vec::new();
            };
            if !bytes.is_empty() {
                bytes.push(SEPARATOR);
            }
            bytes.extend(section);
        }
        bytes
    }

    /// Reads a card back with its stored texts; `None` for an unreadable one (the caller then
    /// reads the database).
    pub fn decode(stored: search::StoredCard) -> Option<Self> {
        Self::decode_parts(stored, PARTS).map(|(card, _)| card)
    }

    /// Reads back what `wanted` needs of a card: its head, and of its lists those `wanted`
    /// names ([`read_for`]; the others are left empty and their bytes unread). Returns the
    /// card and the parts it holds; `None` for an unreadable one. The stored texts move into
    /// the service row.
    pub fn decode_parts(stored: search::StoredCard, wanted: Parts) -> Option<(Self, Parts)> {
        let [head, areas, locations, phones, terms] = sections(&stored.bytes)?;
        let (mut service, organization) = Head::decode(head)?;
        let parts = read_for(wanted);
        fn list<T: serde::de::DeserializeOwned>(bytes: &[u8], read: bool) -> Option<Vec<T>> {
            if read {
                serde_json::from_slice(bytes).ok()
            } else {
                Some(Vec::new())
            }
        }
        service.name = stored.name;
        service.alternate_name = stored.alternate_name;
        service.description = stored.description;
        let card = Self {
            service,
            organization,
            areas: list(areas, parts.areas)?,
            locations: list(locations, parts.locations)?,
            phones: list(phones, parts.phones)?,
            terms: list(terms, parts.terms)?,
        };
        Some((card, parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(bytes: &[u8]) -> search::StoredCard {
        search::StoredCard {
            bytes: bytes.to_vec(),
            name: "Dads' group".into(),
            alternate_name: Some("Dads".into()),
            description: "For fathers".into(),
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
        let card = Card::of(&record);
        let bytes = card.encode();
        let text = String::from_utf8(bytes.clone()).expect("json");
        assert!(
            !text.contains("For fathers"),
            "texts are not repeated: {text}"
        );
        assert!(!text.contains("for export"), "extra is left off: {text}");
        let back = Card::decode(stored(&bytes)).expect("decodes");
        assert_eq!(
            back.service,
            service::Model {
                extra: None,
                ..service
            }
        );
        assert_eq!(back, card);

        // Its head alone when no list is wanted: the same service row, the lists left out.
        let (head, parts) = Card::decode_parts(stored(&bytes), HEAD).expect("decodes");
        assert_eq!(parts, HEAD);
        assert_eq!(head.service, card.service);
        assert_eq!(head.organization, card.organization);
        assert!(head.phones.is_empty());
        // With the lists a query shows, and no other.
        let wanted = Parts {
            phones: true,
            ..Parts::NONE
        };
        let (with_phones, parts) = Card::decode_parts(stored(&bytes), wanted).expect("decodes");
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
        let card = Card::of(&record);
        let bytes = card.encode();
        assert!(!bytes.is_empty());
        let (head, _) = Card::decode_parts(stored(&bytes), HEAD).expect("decodes");
        assert_eq!(head.service, card.service);
        assert_eq!(head.organization, card.organization);
        assert_eq!(Card::decode(stored(&bytes)).expect("decodes"), card);
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
        let card = Card::of(&record);
        let bytes = card.encode();
        let terms = Parts {
            terms: true,
            areas: true,
            ..Parts::NONE
        };
        let (read, parts) = Card::decode_parts(stored(&bytes), terms).expect("decodes");
        assert_eq!(read.areas, card.areas);
        assert!(read.phones.is_empty(), "phone lines were not asked for");
        assert!(parts.areas && parts.terms && parts.organization);
        assert!(!parts.phones && !parts.locations);
        // Every list when each is asked for.
        assert_eq!(
            Card::decode_parts(stored(&bytes), PARTS)
                .expect("decodes")
                .0,
            card
        );
        // A list that is not read may be unreadable: its bytes are not parsed.
        let mut sections: Vec<&[u8]> = bytes.split(|&b| b == SEPARATOR).collect();
        sections[3] = b"{not json";
        let garbled = sections.join(&SEPARATOR);
        assert!(Card::decode_parts(stored(&garbled), terms).is_some());
        assert!(Card::decode(stored(&garbled)).is_none());
    }

    #[test]
    fn garbled_cards_decode_to_none() {
        assert!(Card::decode(stored(b"")).is_none());
        assert!(Card::decode(stored(b"{not json")).is_none());
        assert!(Card::decode_parts(stored(b"{not json"), HEAD).is_none());
        assert!(Card::decode_parts(stored(b"{not json\n{}"), HEAD).is_none());
        // A head without its lists is not a card, nor is one with a section too many.
        let whole = Card::of(&ServiceRecord::bare(service_row())).encode();
        let split = whole
            .iter()
            .position(|&b| b == SEPARATOR)
            .expect("sections");
        assert!(Card::decode(stored(&whole[..split])).is_none());
        assert!(Card::decode(stored(&whole[..=split])).is_none());
        assert!(Card::decode_parts(stored(&whole[..split]), HEAD).is_none());
        let mut extended = whole.clone();
        extended.extend_from_slice(b"\n[]");
        assert!(Card::decode(stored(&extended)).is_none());
        // A head read alone does not read the lists.
        let mut unreadable_lists = whole[..=split].to_vec();
        unreadable_lists.extend_from_slice(b"{not json\n[]\n[]\n[]");
        assert!(Card::decode_parts(stored(&unreadable_lists), HEAD).is_some());
        assert!(Card::decode(stored(&unreadable_lists)).is_none());
    }
}
