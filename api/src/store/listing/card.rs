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

/// A listing as its card holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

    /// The card's bytes: JSON without the texts the index stores beside it.
    pub fn encode(&self) -> Vec<u8> {
        let mut service = self.service.clone();
        service.name.clear();
        service.alternate_name = None;
        service.description.clear();
        let stripped = Self {
            service,
            ..self.clone()
        };
        // Serialising rows of plain values cannot fail; an empty card reads as "no card".
        serde_json::to_vec(&stripped).unwrap_or_default()
    }

    /// Reads a card back with its stored texts; `None` for an unreadable one (the caller then
    /// reads the database).
    pub fn decode(stored: &search::StoredCard) -> Option<Self> {
        let mut card: Self = serde_json::from_slice(&stored.bytes).ok()?;
        card.service.name.clone_from(&stored.name);
        card.service
            .alternate_name
            .clone_from(&stored.alternate_name);
        card.service.description.clone_from(&stored.description);
        Some(card)
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

    #[test]
    fn a_card_reads_back_with_its_stored_texts() {
        let now = chrono::Utc::now();
        let service = service::Model {
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
        };
        let card = Card::of(&ServiceRecord::bare(service.clone()));
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
    }

    #[test]
    fn garbled_cards_decode_to_none() {
        assert!(Card::decode(&stored(b"")).is_none());
        assert!(Card::decode(&stored(b"{not json")).is_none());
    }
}
