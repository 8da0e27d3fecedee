//! A listing's card: the parts of a listing that result pages and a fetch by id show, stored
//! with its search document, so that a page of results (and a reader's fetch by id) reads no
//! database rows. Anything a query selects beyond the card is loaded from the database.
//!
//! The card leaves out what the index stores anyway (the name, alternate name and
//! description, put back from the stored text fields), the link rows that join the parts, and
//! the `extra` columns (Open Referral fields kept for export only).

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
/// wanted.
#[derive(Serialize, Deserialize)]
struct Head {
    service: service::Model,
    organization: Option<organization::Model>,
}

/// A card's lists: the second part of its bytes.
#[derive(Default, Serialize, Deserialize)]
struct Lists {
    areas: Vec<service_area::Model>,
    locations: Vec<location::Model>,
    phones: Vec<phone::Model>,
    terms: Vec<taxonomy_term::Model>,
}

/// What stands between a card's head and its lists in its bytes: JSON text as `serde_json`
/// writes it holds no raw line break.
const SEPARATOR: u8 = b'\n';

/// The parts of a card read back for a query that shows `wanted`: the whole card when it
/// names any of the card's lists, else its head.
pub fn read_for(wanted: Parts) -> Parts {
    if wanted.areas || wanted.locations || wanted.phones || wanted.terms {
        PARTS
    } else {
        HEAD
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
    /// row and organisation) as JSON, a line break, then its lists as JSON.
    pub fn encode(&self) -> Vec<u8> {
        let mut service = self.service.clone();
        service.name.clear();
        service.alternate_name = None;
        service.description.clear();
        let head = Head {
            service,
            organization: self.organization.clone(),
        };
        let lists = Lists {
            areas: self.areas.clone(),
            locations: self.locations.clone(),
            phones: self.phones.clone(),
            terms: self.terms.clone(),
        };
        // Serialising rows of plain values cannot fail; an empty card reads as "no card".
        let (Ok(mut bytes), Ok(lists)) = (serde_json::to_vec(&head), serde_json::to_vec(&lists))
        else {
            return Vec::new();
        };
        bytes.push(SEPARATOR);
        bytes.extend(lists);
        bytes
    }

    /// Reads a card back with its stored texts; `None` for an unreadable one (the caller then
    /// reads the database).
    pub fn decode(stored: &search::StoredCard) -> Option<Self> {
        Self::decode_parts(stored, PARTS).map(|(card, _)| card)
    }

    /// Reads back what `wanted` needs of a card: the whole card when it names any of the
    /// card's lists, else only its head ([`HEAD`]: the lists are left empty and their bytes
    /// unread). Returns the card and the parts it holds; `None` for an unreadable one.
    pub fn decode_parts(stored: &search::StoredCard, wanted: Parts) -> Option<(Self, Parts)> {
        let split = stored.bytes.iter().position(|&b| b == SEPARATOR)?;
        let (head, lists) = stored.bytes.split_at(split);
        let head: Head = serde_json::from_slice(head).ok()?;
        let parts = read_for(wanted);
        let lists = if parts == PARTS {
            serde_json::from_slice(lists.get(1..)?).ok()?
        } else {
            Lists::default()
        };
        let mut service = head.service;
        service.name.clone_from(&stored.name);
        service.alternate_name.clone_from(&stored.alternate_name);
        service.description.clone_from(&stored.description);
        let card = Self {
            service,
            organization: head.organization,
            areas: lists.areas,
            locations: lists.locations,
            phones: lists.phones,
            terms: lists.terms,
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

    #[test]
    fn a_card_reads_back_with_its_stored_texts() {
        let service = service_row();
        let mut record = ServiceRecord::bare(service.clone());
        record.phones.push(phone::Model {
            id: uuid::Uuid::new_v4(),
            service_id: service.id,
            number: "01242 000000".into(),
            description: Some("Duty line".into()),
            visibility: entity::Visibility::Public,
            position: 0,
        });
        let card = Card::of(&record);
        let bytes = card.encode();
        let text = String::from_utf8(bytes.clone()).expect("json");
        assert!(
            !text.contains("For fathers"),
            "texts are not repeated: {text}"
        );
        assert!(!text.contains("for export"), "extra is left off: {text}");
        let back = Card::decode(&stored(&bytes)).expect("decodes");
        assert_eq!(
            back.service,
            service::Model {
                extra: None,
                ..service
            }
        );
        assert_eq!(back, card);

        // Its head alone when no list is wanted: the same service row, the lists left out.
        let (head, parts) = Card::decode_parts(&stored(&bytes), HEAD).expect("decodes");
        assert_eq!(parts, HEAD);
        assert_eq!(head.service, card.service);
        assert_eq!(head.organization, card.organization);
        assert!(head.phones.is_empty());
        // The whole card when one is.
        let wanted = Parts {
            phones: true,
            ..Parts::NONE
        };
        let (whole, parts) = Card::decode_parts(&stored(&bytes), wanted).expect("decodes");
        assert_eq!((whole, parts), (card, PARTS));
    }

    #[test]
    fn garbled_cards_decode_to_none() {
        assert!(Card::decode(&stored(b"")).is_none());
        assert!(Card::decode(&stored(b"{not json")).is_none());
        assert!(Card::decode_parts(&stored(b"{not json"), HEAD).is_none());
        assert!(Card::decode_parts(&stored(b"{not json\n{}"), HEAD).is_none());
        // A head without its lists is not a card.
        let whole = Card::of(&ServiceRecord::bare(service_row())).encode();
        let split = whole
            .iter()
            .position(|&b| b == SEPARATOR)
            .expect("two parts");
        assert!(Card::decode(&stored(&whole[..split])).is_none());
        assert!(Card::decode(&stored(&whole[..=split])).is_none());
        // A head read alone does not read the lists.
        let mut unreadable_lists = whole[..=split].to_vec();
        unreadable_lists.extend_from_slice(b"{not json");
        assert!(Card::decode_parts(&stored(&unreadable_lists), HEAD).is_some());
        assert!(Card::decode(&stored(&unreadable_lists)).is_none());
    }
}
