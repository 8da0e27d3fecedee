//! The generated directory: seeded and deterministic, written in the Open Referral (HSDS 3)
//! import format so that Signpost loads it through its own import path.
//!
//! Services come from templates per kind of service, around about 150 real English towns
//! weighted by population (locations at real postcode-sector centroids), with descriptions
//! drawn from a domain vocabulary with Zipf frequencies, several taxonomy terms each, age
//! ranges, audiences, delivery modes, referral routes, languages, catchments of all three
//! kinds, and a share of national phone and online services.

use std::{collections::HashMap, io::Write, path::Path};

use anyhow::{Context, Result};
use fastrand::Rng;
use search::geo::Geocoder;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::model::{PeerDoc, Place};

/// The taxonomy Signpost's demo directory uses (ids, codes, names and parents).
const DEMO_DIRECTORY: &str = include_str!("../../data/demo-directory.json");
const TOWNS: &str = include_str!("../data/towns.csv");
const TAXONOMY_NAME: &str = "Signpost first 1001 days";

#[derive(Clone, Debug, Deserialize)]
struct DemoTerm {
    id: Uuid,
    code: String,
    name: String,
    parent_id: Option<Uuid>,
}

/// A taxonomy term.
#[derive(Clone, Debug)]
pub struct Term {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub parent: Option<usize>,
}

/// A town services cluster around.
#[derive(Clone, Debug)]
pub struct Town {
    pub name: String,
    pub county: String,
    pub population: f64,
    /// Real postcode sectors near the town centre: (sector, latitude, longitude).
    pub sectors: Vec<(String, f64, f64)>,
}

/// Where a service covers.
#[derive(Clone, Debug)]
pub enum Catchment {
    /// Postcode districts or areas.
    Prefixes(Vec<String>),
    /// A circle around a point.
    Radius {
        latitude: f64,
        longitude: f64,
        km: f64,
    },
    /// The whole country.
    National,
}

/// A service's one location.
#[derive(Clone, Debug)]
pub struct Site {
    pub id: Uuid,
    pub name: String,
    pub street: String,
    pub postcode: String,
    pub latitude: f64,
    pub longitude: f64,
    pub town: usize,
}

/// An organisation.
#[derive(Clone, Debug)]
pub struct Org {
    pub id: Uuid,
    pub name: String,
    pub description: String,
}

/// A generated service.
#[derive(Clone, Debug)]
pub struct Service {
    pub id: Uuid,
    pub org: usize,
    pub name: String,
    pub description: String,
    pub terms: Vec<usize>,
    pub min_age_months: Option<f64>,
    pub max_age_months: Option<f64>,
    pub from_pregnancy: bool,
    pub level_of_need: &'static str,
    pub audiences: Vec<&'static str>,
    pub delivery_modes: Vec<&'static str>,
    pub self_referral: bool,
    pub professional_referral: bool,
    pub languages: Vec<&'static str>,
    pub free: bool,
    pub active: bool,
    pub assured_days_ago: u32,
    pub site: Option<Site>,
    pub catchment: Catchment,
    pub phone: String,
    /// Ids for the child records (stable across runs of the same seed).
    pub child_ids: [Uuid; 6],
}

/// A kind of service: how its listings are named, described and classified.
struct Kind {
    names: &'static [&'static str],
    terms: &'static [&'static str],
    level: &'static [&'static str],
    ages: &'static [(Option<f64>, Option<f64>)],
    from_pregnancy: f64,
    audiences: &'static [&'static str],
    modes: &'static [&'static str],
    self_referral: f64,
    org: &'static str,
    lead: &'static [&'static str],
    words: &'static [&'static str],
    weight: f64,
    national: bool,
}

const KINDS: &[Kind] = &[
    Kind {
        names: &[
            "{town} Specialist Perinatal Mental Health Team",
            "Community Perinatal Mental Health Service ({county})",
            "{town} Perinatal Mental Health Outreach",
        ],
        terms: &[
            "severe-perinatal-mental-illness",
            "postnatal-depression-anxiety",
            "perinatal-mental-health",
        ],
        level: &["SPECIALIST"],
        ages: &[(Some(0.0), Some(12.0)), (Some(0.0), Some(24.0))],
        from_pregnancy: 0.95,
        audiences: &["MOTHERS", "CO_PARENTS"],
        modes: &["HOME_VISIT", "IN_PERSON", "PHONE"],
        self_referral: 0.05,
        org: "{county} NHS Foundation Trust",
        lead: &[
            "A specialist community team for women with moderate to severe mental illness in pregnancy and the first year after birth.",
            "Psychiatrists, nurses and psychologists support mothers with severe postnatal depression, bipolar disorder or postpartum psychosis.",
        ],
        words: &[
            "psychiatrist",
            "psychosis",
            "bipolar",
            "severe",
            "medication",
            "preconception",
            "advice",
            "crisis",
            "nurse",
            "psychologist",
            "assessment",
            "care",
            "plan",
        ],
        weight: 3.0,
        national: false,
    },
    Kind {
        names: &[
            "{town} Perinatal Talking Therapies",
            "Talking Therapies for Parents ({town})",
            "{town} NHS Talking Therapies: perinatal pathway",
        ],
        terms: &[
            "perinatal-talking-therapies",
            "postnatal-depression-anxiety",
        ],
        level: &["TARGETED"],
        ages: &[(Some(0.0), Some(24.0))],
        from_pregnancy: 0.9,
        audiences: &["MOTHERS", "FATHERS", "CO_PARENTS"],
        modes: &["IN_PERSON", "ONLINE", "PHONE"],
        self_referral: 0.9,
        org: "{county} NHS Foundation Trust",
        lead: &[
            "Free talking therapy for parents with low mood, anxiety or postnatal depression, with priority for expectant and new parents.",
            "Cognitive behavioural therapy, counselling and guided self-help for anxiety and depression in pregnancy and after birth.",
        ],
        words: &[
            "therapy",
            "counselling",
            "anxiety",
            "depression",
            "cbt",
            "low",
            "mood",
            "worry",
            "panic",
            "ocd",
            "intrusive",
            "thoughts",
            "self-help",
        ],
        weight: 5.0,
        national: false,
    },
    Kind {
        names: &[
            "{town} Parent-Infant Relationship Team",
            "{town} Infant Mental Health Service",
            "Parent-Infant Psychotherapy ({county})",
        ],
        terms: &[
            "parent-infant-therapy",
            "infant-mental-health",
            "bonding-attachment",
        ],
        level: &["SPECIALIST", "TARGETED"],
        ages: &[(Some(0.0), Some(24.0))],
        from_pregnancy: 0.8,
        audiences: &["MOTHERS", "FATHERS", "CO_PARENTS", "CARERS"],
        modes: &["HOME_VISIT", "IN_PERSON"],
        self_referral: 0.2,
        org: "{county} NHS Foundation Trust",
        lead: &[
            "Parent-infant psychotherapists help parents and babies whose relationship is under strain, from pregnancy to the second birthday.",
            "A specialist infant mental health team working with babies and their parents when bonding is difficult.",
        ],
        words: &[
            "psychotherapy",
            "relationship",
            "bonding",
            "attachment",
            "infant",
            "video",
            "interaction",
            "guidance",
            "trauma",
            "baby",
            "cues",
        ],
        weight: 3.0,
        national: false,
    },
    Kind {
        names: &[
            "Home-Start {town}: Baby Bond",
            "{town} Volunteer Home Visiting",
            "Bumps to Babies Befriending ({town})",
        ],
        terms: &[
            "volunteer-home-visiting",
            "bonding-attachment",
            "peer-support",
        ],
        level: &["TARGETED"],
        ages: &[(Some(0.0), Some(24.0)), (Some(0.0), Some(60.0))],
        from_pregnancy: 0.7,
        audiences: &["MOTHERS", "FATHERS", "CO_PARENTS", "CARERS"],
        modes: &["HOME_VISIT"],
        self_referral: 0.85,
        org: "Home-Start {town}",
        lead: &[
            "Trained volunteers visit families at home once a week to support parents with mild to moderate difficulties such as low mood, isolation or a difficult start with their baby.",
        ],
        words: &[
            "volunteer",
            "visits",
            "befriending",
            "isolation",
            "confidence",
            "routines",
            "weekly",
            "home",
            "practical",
            "emotional",
        ],
        weight: 5.0,
        national: false,
    },
    Kind {
        names: &[
            "{town} Mums' Wellbeing Group",
            "Bumps and Babies Peer Support ({town})",
            "{town} Postnatal Peer Support Circle",
        ],
        terms: &["peer-support", "postnatal-depression-anxiety"],
        level: &["UNIVERSAL", "TARGETED"],
        ages: &[(Some(0.0), Some(12.0)), (Some(0.0), Some(24.0))],
        from_pregnancy: 0.5,
        audiences: &["MOTHERS"],
        modes: &["GROUP", "ONLINE"],
        self_referral: 1.0,
        org: "{town} Mind",
        lead: &[
            "A friendly group where mums who are struggling with low mood or anxiety meet others who understand, with trained peer supporters.",
        ],
        words: &[
            "peer",
            "group",
            "friendly",
            "mums",
            "wellbeing",
            "share",
            "understand",
            "coffee",
            "crèche",
            "drop-in",
        ],
        weight: 7.0,
        national: false,
    },
    Kind {
        names: &[
            "{town} Dads' Group",
            "Dad Matters {town}",
            "{town} Fathers' Wellbeing Walk",
        ],
        terms: &["support-for-fathers", "peer-support"],
        level: &["UNIVERSAL"],
        ages: &[(Some(0.0), Some(24.0)), (Some(0.0), Some(60.0))],
        from_pregnancy: 0.4,
        audiences: &["FATHERS", "CO_PARENTS"],
        modes: &["GROUP", "ONLINE"],
        self_referral: 1.0,
        org: "{town} Family Hubs",
        lead: &[
            "A group for dads, dads-to-be and male carers to meet other fathers, talk about how they are feeling and play with their children.",
        ],
        words: &[
            "dads",
            "fathers",
            "men",
            "football",
            "walk",
            "talk",
            "paternal",
            "struggling",
            "dad",
            "partner",
        ],
        weight: 4.0,
        national: false,
    },
    Kind {
        names: &[
            "{town} Stay and Play",
            "Baby Rhyme Time ({town} Library)",
            "{town} Baby and Toddler Group",
        ],
        terms: &["baby-groups", "baby-massage-play", "family-hub-information"],
        level: &["UNIVERSAL"],
        ages: &[(Some(0.0), Some(24.0)), (Some(0.0), Some(48.0))],
        from_pregnancy: 0.0,
        audiences: &["WHOLE_FAMILY", "MOTHERS", "FATHERS", "CARERS"],
        modes: &["GROUP"],
        self_referral: 1.0,
        org: "{town} Family Hubs",
        lead: &[
            "A free weekly session of songs, rhymes, messy play and stories for babies and toddlers with their parents and carers.",
        ],
        words: &[
            "play", "songs", "rhymes", "stories", "toddlers", "messy", "sensory", "library",
            "weekly", "fun",
        ],
        weight: 12.0,
        national: false,
    },
    Kind {
        names: &[
            "{town} Baby Massage",
            "Baby Massage and Yoga ({town})",
            "{town} Baby Massage Course",
        ],
        terms: &["baby-massage-play", "bonding-attachment"],
        level: &["UNIVERSAL"],
        ages: &[(Some(1.0), Some(12.0)), (Some(0.0), Some(9.0))],
        from_pregnancy: 0.0,
        audiences: &["MOTHERS", "FATHERS", "CO_PARENTS"],
        modes: &["GROUP"],
        self_referral: 1.0,
        org: "{town} Family Hubs",
        lead: &[
            "A five-week baby massage course that helps parents relax, bond with their baby and soothe colic and wind.",
        ],
        words: &[
            "massage", "yoga", "colic", "wind", "soothe", "relax", "touch", "course", "oil", "calm",
        ],
        weight: 5.0,
        national: false,
    },
    Kind {
        names: &[
            "{town} Breastfeeding Support",
            "Infant Feeding Team ({town})",
            "{town} Breastfeeding Peer Supporters",
        ],
        terms: &["breastfeeding-support", "infant-feeding-advice"],
        level: &["UNIVERSAL", "TARGETED"],
        ages: &[(Some(0.0), Some(12.0)), (Some(0.0), Some(24.0))],
        from_pregnancy: 0.6,
        audiences: &["MOTHERS", "CO_PARENTS"],
        modes: &["GROUP", "PHONE", "HOME_VISIT"],
        self_referral: 0.95,
        org: "{county} NHS Foundation Trust",
        lead: &[
            "Help with breastfeeding, expressing, bottle feeding and introducing solid food, from trained peer supporters and infant feeding specialists.",
        ],
        words: &[
            "breastfeeding",
            "latch",
            "expressing",
            "bottle",
            "formula",
            "weaning",
            "solids",
            "tongue-tie",
            "feeding",
            "milk",
        ],
        weight: 8.0,
        national: false,
    },
    Kind {
        names: &[
            "{town} Sleep and Crying Clinic",
            "Calmer Nights ({town})",
            "{town} Infant Sleep Service",
        ],
        terms: &["infant-sleep", "excessive-crying"],
        level: &["TARGETED"],
        ages: &[(Some(0.0), Some(24.0)), (Some(3.0), Some(36.0))],
        from_pregnancy: 0.0,
        audiences: &["MOTHERS", "FATHERS", "CO_PARENTS"],
        modes: &["IN_PERSON", "PHONE"],
        self_referral: 0.6,
        org: "{town} Family Hubs",
        lead: &[
            "Practical help for parents of babies who cry a lot or sleep badly, with advice on routines, reflux and coping when you are exhausted.",
        ],
        words: &[
            "sleep",
            "crying",
            "routine",
            "reflux",
            "settling",
            "night",
            "exhausted",
            "coping",
            "colic",
            "waking",
        ],
        weight: 3.0,
        national: false,
    },
    Kind {
        names: &[
            "{town} Baby Loss Support",
            "Bereavement Midwife Service ({town})",
            "{town} Miscarriage and Stillbirth Support Group",
        ],
        terms: &["stillbirth-neonatal-death", "pregnancy-loss"],
        level: &["TARGETED"],
        ages: &[(None, None)],
        from_pregnancy: 1.0,
        audiences: &["MOTHERS", "FATHERS", "CO_PARENTS", "WHOLE_FAMILY"],
        modes: &["GROUP", "PHONE", "IN_PERSON"],
        self_referral: 1.0,
        org: "{town} Sands group",
        lead: &[
            "Support for parents after miscarriage, stillbirth or the death of a baby, and in a pregnancy after loss.",
        ],
        words: &[
            "bereavement",
            "grief",
            "loss",
            "miscarriage",
            "stillbirth",
            "memory",
            "remembrance",
            "counsellor",
            "rainbow",
            "pregnancy",
        ],
        weight: 3.0,
        national: false,
    },
    Kind {
        names: &[
            "{town} Domestic Abuse Service",
            "Safe Start ({town})",
            "{town} Freedom Programme",
        ],
        terms: &["domestic-abuse-advocacy", "domestic-abuse-recovery"],
        level: &["TARGETED", "SPECIALIST"],
        ages: &[(None, None)],
        from_pregnancy: 1.0,
        audiences: &["MOTHERS", "CARERS"],
        modes: &["IN_PERSON", "PHONE"],
        self_referral: 0.9,
        org: "{town} Women's Aid",
        lead: &[
            "Confidential advocacy and recovery groups for pregnant women and parents experiencing domestic abuse.",
        ],
        words: &[
            "abuse",
            "safety",
            "advocate",
            "idva",
            "refuge",
            "confidential",
            "recovery",
            "coercive",
            "control",
            "safe",
        ],
        weight: 3.0,
        national: false,
    },
    Kind {
        names: &[
            "{town} Health Visiting",
            "Health Visitor Clinic ({town})",
            "{town} 0-19 Public Health Nursing",
        ],
        terms: &["health-visiting", "infant-feeding-advice"],
        level: &["UNIVERSAL"],
        ages: &[(Some(0.0), Some(60.0))],
        from_pregnancy: 1.0,
        audiences: &["WHOLE_FAMILY"],
        modes: &["HOME_VISIT", "IN_PERSON"],
        self_referral: 1.0,
        org: "{county} Community Health Services",
        lead: &[
            "Health visitors see every family from late pregnancy until the child starts school, with checks, weighing clinics and advice.",
        ],
        words: &[
            "health",
            "visitor",
            "weighing",
            "clinic",
            "development",
            "checks",
            "immunisation",
            "growth",
            "reviews",
            "advice",
        ],
        weight: 6.0,
        national: false,
    },
    Kind {
        names: &[
            "{town} Antenatal Classes",
            "Midwifery Team ({town})",
            "{town} Hypnobirthing and Birth Preparation",
        ],
        terms: &[
            "antenatal-education",
            "midwifery",
            "birth-trauma-tokophobia",
        ],
        level: &["UNIVERSAL"],
        ages: &[(None, Some(1.0))],
        from_pregnancy: 1.0,
        audiences: &["MOTHERS", "CO_PARENTS", "FATHERS"],
        modes: &["IN_PERSON", "GROUP", "ONLINE"],
        self_referral: 1.0,
        org: "{county} NHS Foundation Trust",
        lead: &[
            "Classes and midwife appointments to prepare for labour, birth and the first weeks with a new baby.",
        ],
        words: &[
            "antenatal",
            "labour",
            "birth",
            "midwife",
            "classes",
            "hypnobirthing",
            "preparation",
            "pregnant",
            "partners",
            "newborn",
        ],
        weight: 5.0,
        national: false,
    },
    Kind {
        names: &[
            "{town} Birth Reflections",
            "Tokophobia Clinic ({county})",
            "{town} Birth Trauma Service",
        ],
        terms: &["birth-trauma-tokophobia", "perinatal-mental-health"],
        level: &["TARGETED", "SPECIALIST"],
        ages: &[(None, Some(12.0))],
        from_pregnancy: 1.0,
        audiences: &["MOTHERS", "FATHERS"],
        modes: &["IN_PERSON", "ONLINE"],
        self_referral: 0.5,
        org: "{county} NHS Foundation Trust",
        lead: &[
            "A chance to talk through a difficult or traumatic birth, and specialist help for severe fear of childbirth.",
        ],
        words: &[
            "trauma",
            "fear",
            "childbirth",
            "tokophobia",
            "flashbacks",
            "ptsd",
            "debrief",
            "reflections",
            "birth",
            "emdr",
        ],
        weight: 2.0,
        national: false,
    },
    Kind {
        names: &[
            "{town} Family Hub",
            "Family Hub Information Bus ({town})",
            "{town} Start for Life Family Hub",
        ],
        terms: &["family-hub-information", "baby-groups"],
        level: &["UNIVERSAL"],
        ages: &[(Some(0.0), Some(60.0))],
        from_pregnancy: 1.0,
        audiences: &["WHOLE_FAMILY"],
        modes: &["IN_PERSON"],
        self_referral: 1.0,
        org: "{town} Family Hubs",
        lead: &[
            "The family hub brings together services for families with babies and young children, with drop-ins, advice and information.",
        ],
        words: &[
            "hub",
            "information",
            "drop-in",
            "advice",
            "bus",
            "outreach",
            "services",
            "start",
            "life",
            "families",
        ],
        weight: 4.0,
        national: false,
    },
    Kind {
        names: &[
            "PANDAS Helpline",
            "National Perinatal Support Line",
            "Dads' Mental Health Text Line",
            "Baby Loss Helpline",
            "Breastfeeding Helpline",
            "Online Perinatal Anxiety Course",
        ],
        terms: &[
            "postnatal-depression-anxiety",
            "peer-support",
            "support-for-fathers",
            "pregnancy-loss",
            "breastfeeding-support",
        ],
        level: &["UNIVERSAL", "TARGETED"],
        ages: &[(Some(0.0), Some(24.0)), (None, None)],
        from_pregnancy: 0.9,
        audiences: &["MOTHERS", "FATHERS", "CO_PARENTS", "WHOLE_FAMILY"],
        modes: &["PHONE", "ONLINE"],
        self_referral: 1.0,
        org: "National perinatal charity {n}",
        lead: &[
            "A free national helpline and online support for parents, open every day, staffed by trained volunteers who have been through it themselves.",
        ],
        words: &[
            "helpline",
            "national",
            "online",
            "chat",
            "text",
            "call",
            "volunteers",
            "every",
            "day",
            "free",
        ],
        weight: 1.2,
        national: true,
    },
];

/// The general vocabulary of descriptions, most frequent first (drawn with Zipf weights).
const VOCABULARY: &[&str] = &[
    "the",
    "and",
    "to",
    "for",
    "with",
    "of",
    "a",
    "your",
    "you",
    "in",
    "support",
    "parents",
    "baby",
    "families",
    "we",
    "are",
    "can",
    "on",
    "or",
    "is",
    "help",
    "who",
    "from",
    "group",
    "health",
    "their",
    "babies",
    "mental",
    "pregnancy",
    "children",
    "wellbeing",
    "feeling",
    "new",
    "be",
    "at",
    "free",
    "weekly",
    "local",
    "our",
    "home",
    "advice",
    "mums",
    "dads",
    "young",
    "service",
    "time",
    "information",
    "anxiety",
    "low",
    "mood",
    "birth",
    "first",
    "year",
    "sessions",
    "meet",
    "other",
    "team",
    "trained",
    "staff",
    "referral",
    "self",
    "professional",
    "midwife",
    "visitor",
    "gp",
    "talk",
    "listen",
    "confidential",
    "safe",
    "space",
    "play",
    "feeding",
    "sleep",
    "routines",
    "bonding",
    "confidence",
    "relationship",
    "stress",
    "worries",
    "isolation",
    "partners",
    "carers",
    "community",
    "centre",
    "hub",
    "venue",
    "online",
    "phone",
    "appointment",
    "referrals",
    "accepted",
    "welcome",
    "everyone",
    "families",
    "toddlers",
    "under",
    "twos",
    "months",
    "age",
    "weeks",
    "specialist",
    "nurse",
    "practitioner",
    "therapist",
    "counsellor",
    "volunteers",
    "peer",
    "supporters",
    "workers",
    "experience",
    "lived",
    "understand",
    "struggling",
    "coping",
    "difficult",
    "start",
    "early",
    "days",
    "transition",
    "parenthood",
    "postnatal",
    "antenatal",
    "perinatal",
    "depression",
    "postpartum",
    "psychosis",
    "ocd",
    "trauma",
    "loss",
    "grief",
    "abuse",
    "domestic",
    "crying",
    "colic",
    "reflux",
    "weaning",
    "breastfeeding",
    "bottle",
    "formula",
    "solids",
    "language",
    "interpreters",
    "urdu",
    "polish",
    "punjabi",
    "bengali",
    "somali",
    "arabic",
    "romanian",
    "gujarati",
    "access",
    "step-free",
    "parking",
    "buggy",
    "park",
    "baby",
    "change",
    "crèche",
    "refreshments",
    "provided",
    "evening",
    "weekend",
    "morning",
    "afternoon",
    "term",
    "holidays",
    "booking",
    "needed",
    "drop",
    "in",
    "course",
    "programme",
    "six",
    "eight",
    "week",
    "follow-up",
    "review",
    "plan",
    "goals",
    "strengths",
    "resilience",
    "calm",
    "kind",
    "gentle",
    "practical",
    "emotional",
    "social",
    "financial",
    "housing",
    "benefits",
    "employment",
    "debt",
    "food",
    "bank",
    "clothing",
    "equipment",
    "cots",
    "car",
    "seats",
    "safety",
];

/// Query words and phrases professionals type, most frequent first.
pub const QUERY_TERMS: &[&str] = &[
    "postnatal depression",
    "anxiety",
    "baby group",
    "breastfeeding",
    "low mood",
    "dads",
    "bonding",
    "health visitor",
    "baby massage",
    "sleep",
    "perinatal mental health",
    "crying",
    "peer support",
    "home visiting",
    "birth trauma",
    "domestic abuse",
    "stillbirth",
    "miscarriage",
    "antenatal classes",
    "feeding",
    "fathers",
    "talking therapy",
    "psychosis",
    "tokophobia",
    "infant mental health",
    "parent infant",
    "weaning",
    "colic",
    "family hub",
    "stay and play",
    "volunteer",
    "isolation",
    "counselling",
    "ocd",
    "intrusive thoughts",
    "bipolar",
    "rhyme time",
    "reflux",
    "helpline",
    "bereavement",
];

/// Organisation descriptions per organisation template.
fn org_description(template: &str, place: &str) -> String {
    if template.contains("NHS") || template.contains("Health Services") {
        format!(
            "Runs hospital and community health services across {place}, including maternity, health visiting and perinatal mental health."
        )
    } else if template.contains("Family Hubs") {
        format!(
            "The council's family hubs for {place}: one place for families with babies and young children."
        )
    } else if template.contains("national") || template.contains("National") {
        "A national charity supporting parents' mental health in pregnancy and the first years."
            .to_owned()
    } else {
        format!("A local charity supporting families with babies and young children in {place}.")
    }
}

const VENUES: &[&str] = &[
    "Family Hub",
    "Children's Centre",
    "Library",
    "Community Centre",
    "St Mary's Church Hall",
    "Health Centre",
    "Leisure Centre",
    "Methodist Church",
    "Village Hall",
    "Maternity Unit",
];
const STREETS: &[&str] = &[
    "High Street",
    "Station Road",
    "Church Lane",
    "Park Road",
    "London Road",
    "Victoria Road",
    "Green Lane",
    "Mill Lane",
    "Queen Street",
    "King's Road",
];
const OTHER_LANGUAGES: &[&str] = &["ur", "pl", "pa", "bn", "so", "ar", "ro", "gu", "pt", "tr"];

/// The generated directory.
pub struct Dataset {
    pub terms: Vec<Term>,
    pub towns: Vec<Town>,
    pub orgs: Vec<Org>,
    pub services: Vec<Service>,
}

fn uuid(rng: &mut Rng) -> Uuid {
    let mut bytes = [0u8; 16];
    for b in &mut bytes {
        *b = rng.u8(..);
    }
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// A further id derived from `id` (its low bits counted on).
fn offset(id: Uuid, n: usize) -> Uuid {
    Uuid::from_u128(id.as_u128().wrapping_add(n as u128 + 1))
}

/// Draws an index with weights proportional to `weights` (cumulative, ascending).
fn draw(rng: &mut Rng, cumulative: &[f64]) -> usize {
    let total = cumulative.last().copied().unwrap_or(0.0);
    let x = rng.f64() * total;
    cumulative
        .partition_point(|&c| c <= x)
        .min(cumulative.len().saturating_sub(1))
}

fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut sum = 0.0;
    weights
        .map(|w| {
            sum += w;
            sum
        })
        .collect()
}

/// Zipf weights (s = 1.07) for `n` ranks.
pub fn zipf(n: usize) -> Vec<f64> {
    cumulative((0..n).map(|r| 1.0 / ((r + 1) as f64).powf(1.07)))
}

fn pick_str(rng: &mut Rng, items: &[&'static str]) -> &'static str {
    items[rng.usize(..items.len())]
}

fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.usize(..items.len())]
}

/// A few distinct items of `items` (at least one).
fn some<T: Copy + PartialEq>(rng: &mut Rng, items: &[T], max: usize) -> Vec<T> {
    let n = rng.usize(1..=max.min(items.len()).max(1));
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let item = *pick(rng, items);
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn fill(template: &str, town: &Town, n: usize) -> String {
    template
        .replace("{town}", &town.name)
        .replace("{county}", &town.county)
        .replace("{n}", &(n + 1).to_string())
}

/// The district ("GL50") and area ("GL") of a sector ("GL50 3").
pub fn district_and_area(sector: &str) -> (String, String) {
    let district = sector.split(' ').next().unwrap_or(sector).to_owned();
    let area: String = district
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect();
    (district, area)
}

impl Dataset {
    /// Generates `size` services from `seed`; the same arguments give the same directory.
    pub fn generate(size: usize, seed: u64) -> Result<Dataset> {
        let mut rng = Rng::with_seed(seed);
        let geo = Geocoder::embedded();
        let demo: Value = serde_json::from_str(DEMO_DIRECTORY)?;
        let demo_terms: Vec<DemoTerm> = serde_json::from_value(demo["taxonomy_terms"].clone())?;
        let terms: Vec<Term> = demo_terms
            .iter()
            .map(|t| Term {
                id: t.id,
                code: t.code.clone(),
                name: t.name.clone(),
                parent: t
                    .parent_id
                    .and_then(|p| demo_terms.iter().position(|x| x.id == p)),
            })
            .collect();
        let term_index: HashMap<&str, usize> = terms
            .iter()
            .enumerate()
            .map(|(i, t)| (t.code.as_str(), i))
            .collect();

        let mut towns = Vec::new();
        for line in TOWNS.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let cols: Vec<&str> = line.split(',').collect();
            let [name, county, population, lat, lon] = cols[..] else {
                anyhow::bail!("bad town line: {line}");
            };
            let (lat, lon): (f64, f64) = (lat.parse()?, lon.parse()?);
            let mut sectors: Vec<(String, f64, f64)> = geo
                .sectors_within(lat, lon, 6.0)
                .into_iter()
                .filter_map(|s| geo.resolve(&s).ok().map(|p| (s, p.latitude, p.longitude)))
                .collect();
            if sectors.is_empty()
                && let Some(s) = geo.nearest_sector(lat, lon, 40.0)
                && let Ok(p) = geo.resolve(&s)
            {
                sectors.push((s, p.latitude, p.longitude));
            }
            if sectors.is_empty() {
                anyhow::bail!("no postcode sectors near {name}");
            }
            sectors.sort_by(|a, b| a.0.cmp(&b.0));
            towns.push(Town {
                name: name.to_owned(),
                county: county.to_owned(),
                population: population.parse()?,
                sectors,
            });
        }
        let town_weights = cumulative(towns.iter().map(|t| t.population));
        let kind_weights = cumulative(KINDS.iter().map(|k| k.weight));
        let words = zipf(VOCABULARY.len());

        let mut orgs: Vec<Org> = Vec::new();
        let mut org_index: HashMap<String, usize> = HashMap::new();
        let mut services = Vec::with_capacity(size);
        for n in 0..size {
            let kind_no = draw(&mut rng, &kind_weights);
            let kind = &KINDS[kind_no];
            let town_no = draw(&mut rng, &town_weights);
            let town = &towns[town_no];
            let id = uuid(&mut rng);

            let org_name = fill(kind.org, town, rng.usize(..12));
            let org = match org_index.get(&org_name) {
                Some(&i) => i,
                None => {
                    let place = if kind.national { "England" } else { &town.name };
                    orgs.push(Org {
                        id: uuid(&mut rng),
                        description: org_description(kind.org, place),
                        name: org_name.clone(),
                    });
                    org_index.insert(org_name, orgs.len() - 1);
                    orgs.len() - 1
                }
            };

            let mut name = fill(pick_str(&mut rng, kind.names), town, 0);
            let site = if kind.national || rng.f64() < 0.08 {
                None
            } else {
                let (sector, lat, lon) = pick(&mut rng, &town.sectors).clone();
                let venue = *pick(&mut rng, VENUES);
                if rng.f64() < 0.5 {
                    name = format!("{name} at {} {venue}", town.name);
                }
                let unit: String = (0..2).map(|_| char::from(b'A' + rng.u8(..26))).collect();
                Some(Site {
                    id: uuid(&mut rng),
                    name: format!("{} {venue}", town.name),
                    street: format!("{} {}", rng.u16(1..200), pick(&mut rng, STREETS)),
                    postcode: format!("{sector}{unit}"),
                    latitude: lat + (rng.f64() - 0.5) * 0.01,
                    longitude: lon + (rng.f64() - 0.5) * 0.016,
                    town: town_no,
                })
            };
            if kind.national && rng.f64() < 0.7 {
                name = format!("{name} {}", n % 97 + 1);
            }

            let catchment = if kind.national {
                Catchment::National
            } else {
                let centre = site
                    .as_ref()
                    .map(|s| (s.latitude, s.longitude))
                    .unwrap_or_else(|| {
                        let (_, lat, lon) = &town.sectors[0];
                        (*lat, *lon)
                    });
                let roll = rng.f64();
                if roll < 0.55 {
                    let mut districts: Vec<String> = geo
                        .sectors_within(centre.0, centre.1, 8.0)
                        .iter()
                        .map(|s| district_and_area(s).0)
                        .collect();
                    districts.sort();
                    districts.dedup();
                    districts.truncate(6);
                    if districts.is_empty() {
                        districts.push(district_and_area(&town.sectors[0].0).0);
                    }
                    Catchment::Prefixes(districts)
                } else if roll < 0.85 {
                    Catchment::Radius {
                        latitude: centre.0,
                        longitude: centre.1,
                        km: *pick(&mut rng, &[5.0, 8.0, 10.0, 15.0, 20.0, 25.0]),
                    }
                } else {
                    Catchment::Prefixes(vec![district_and_area(&town.sectors[0].0).1])
                }
            };

            let mut service_terms: Vec<usize> = some(&mut rng, kind.terms, 3)
                .iter()
                .filter_map(|code| term_index.get(code).copied())
                .collect();
            if rng.f64() < 0.15 {
                let extra = rng.usize(..terms.len());
                if !service_terms.contains(&extra) {
                    service_terms.push(extra);
                }
            }

            let mut description = String::new();
            description.push_str(pick_str(&mut rng, kind.lead));
            let target = rng.usize(40..=150);
            let mut count = description.split_whitespace().count();
            while count < target {
                let len = rng.usize(7..16);
                let mut sentence: Vec<&str> = Vec::with_capacity(len);
                for _ in 0..len {
                    let word = if rng.f64() < 0.25 {
                        *pick(&mut rng, kind.words)
                    } else {
                        VOCABULARY[draw(&mut rng, &words)]
                    };
                    sentence.push(word);
                }
                let mut text = sentence.join(" ");
                if let Some(first) = text.get(..1) {
                    text = format!("{}{}", first.to_ascii_uppercase(), &text[1..]);
                }
                description.push(' ');
                description.push_str(&text);
                description.push('.');
                count += len;
            }

            let mut languages = vec!["en"];
            if rng.f64() < 0.15 {
                languages.extend(some(&mut rng, OTHER_LANGUAGES, 2));
            }
            let (min_age, max_age) = *pick(&mut rng, kind.ages);
            let self_referral = rng.f64() < kind.self_referral;
            services.push(Service {
                id,
                org,
                name,
                description,
                terms: service_terms,
                min_age_months: min_age,
                max_age_months: max_age,
                from_pregnancy: rng.f64() < kind.from_pregnancy,
                level_of_need: pick_str(&mut rng, kind.level),
                audiences: some(&mut rng, kind.audiences, 3),
                delivery_modes: some(&mut rng, kind.modes, 2),
                self_referral,
                professional_referral: !self_referral || rng.f64() < 0.8,
                languages,
                free: rng.f64() < 0.9,
                active: rng.f64() < 0.97,
                assured_days_ago: rng.u32(0..1100),
                site,
                catchment,
                phone: format!("01632 {:06}", 960_000 + rng.u32(..1000)),
                child_ids: [(); 6].map(|()| uuid(&mut rng)),
            });
        }
        Ok(Dataset {
            terms,
            towns,
            orgs,
            services,
        })
    }

    /// A term's id and the ids of its ancestors.
    fn term_ids_with_ancestors(&self, term: usize) -> Vec<Uuid> {
        let mut out = Vec::new();
        let mut at = Some(term);
        while let Some(i) = at {
            out.push(self.terms[i].id);
            at = self.terms[i].parent;
        }
        out
    }

    /// One service as an HSDS 3 service document with its organisation, location, catchments
    /// and taxonomy terms nested, plus Signpost's extension fields.
    fn openreferral(&self, s: &Service, today: chrono::NaiveDate) -> Value {
        let org = &self.orgs[s.org];
        let [sal_id, area_id, phone_id, cost_id, lang_id, address_id] = s.child_ids;
        let years = |m: f64| (m / 12.0 * 1000.0).round() / 1000.0;
        let service_areas: Vec<Value> = match &s.catchment {
            Catchment::Prefixes(prefixes) => vec![json!({
                "id": area_id, "name": prefixes.join(", "),
                "extent": prefixes.join(", "), "extent_type": "postcode",
            })],
            Catchment::Radius {
                latitude,
                longitude,
                km,
            } => vec![json!({
                "id": area_id, "name": format!("Within {km} km"),
                "description": format!("Within {km} km of the point"),
                "extent": json!({"type": "Point", "coordinates": [longitude, latitude]}).to_string(),
                "extent_type": "geojson",
            })],
            Catchment::National => {
                vec![json!({ "id": area_id, "name": "United Kingdom", "description": "National" })]
            }
        };
        let locations: Vec<Value> = s
            .site
            .iter()
            .map(|site| {
                let town = &self.towns[site.town];
                json!({
                    "id": sal_id,
                    "location": {
                        "id": site.id, "location_type": "physical", "name": site.name,
                        "latitude": (site.latitude * 1e5).round() / 1e5,
                        "longitude": (site.longitude * 1e5).round() / 1e5,
                        "addresses": [{
                            "id": address_id, "address_1": site.street, "city": town.name,
                            "state_province": town.county, "postal_code": site.postcode,
                            "country": "GB", "address_type": "physical",
                        }],
                    }
                })
            })
            .collect();
        let attributes: Vec<Value> = s
            .terms
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                let term = &self.terms[t];
                json!({
                    "id": offset(sal_id, 100 + i),
                    "taxonomy_term_id": term.id,
                    "taxonomy_term": {
                        "id": term.id, "code": term.code, "name": term.name,
                        "taxonomy": TAXONOMY_NAME,
                        "parent_id": term.parent.map(|p| self.terms[p].id),
                    }
                })
            })
            .collect();
        let languages: Vec<Value> = s
            .languages
            .iter()
            .enumerate()
            .map(|(i, code)| json!({ "id": offset(lang_id, i), "code": code }))
            .collect();
        let assured = today - chrono::Days::new(u64::from(s.assured_days_ago));
        let slug: String = s
            .name
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        json!({
            "id": s.id,
            "name": s.name,
            "description": s.description,
            "url": format!("https://example.org/{}", slug.trim_matches('-')),
            "email": "enquiries@example.org",
            "status": if s.active { "active" } else { "inactive" },
            "minimum_age": s.min_age_months.map(years),
            "maximum_age": s.max_age_months.map(years),
            "assured_date": assured.format("%Y-%m-%d").to_string(),
            "application_process": if s.self_referral {
                "Refer yourself online or by phone; professionals can refer with consent."
            } else {
                "Professional referral only: a GP, midwife or health visitor refers with consent."
            },
            "organization": {
                "id": org.id, "name": org.name, "description": org.description,
                "website": "https://example.org",
            },
            "service_at_locations": locations,
            "service_areas": service_areas,
            "phones": [{ "id": phone_id, "number": s.phone }],
            "cost_options": if s.free {
                json!([{ "id": cost_id, "option": "Free", "amount": 0 }])
            } else {
                json!([{ "id": cost_id, "option": "£3 a session", "amount": 3, "currency": "GBP" }])
            },
            "languages": languages,
            "attributes": attributes,
            "level_of_need": s.level_of_need,
            "from_pregnancy": s.from_pregnancy,
            "audiences": s.audiences,
            "delivery_modes": s.delivery_modes,
            "self_referral": s.self_referral,
            "professional_referral": s.professional_referral,
        })
    }

    /// Writes the directory as Open Referral feeds of at most `per_file` services each
    /// (`part-0001.json`, ...) into `dir`; returns the files in order.
    pub fn write_openreferral(
        &self,
        dir: &Path,
        per_file: usize,
    ) -> Result<Vec<std::path::PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let today = chrono::Utc::now().date_naive();
        let mut files = Vec::new();
        for (n, chunk) in self.services.chunks(per_file.max(1)).enumerate() {
            let path = dir.join(format!("part-{:04}.json", n + 1));
            let file = std::fs::File::create(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            out.write_all(b"[\n")?;
            for (i, s) in chunk.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",\n")?;
                }
                serde_json::to_writer(&mut out, &self.openreferral(s, today))?;
            }
            out.write_all(b"\n]\n")?;
            out.flush()?;
            files.push(path);
        }
        Ok(files)
    }

    /// The services as the peers load them.
    pub fn peer_docs(&self) -> Vec<PeerDoc> {
        self.services
            .iter()
            .map(|s| {
                let mut term_ids: Vec<String> = Vec::new();
                for &t in &s.terms {
                    for id in self.term_ids_with_ancestors(t) {
                        let id = id.to_string();
                        if !term_ids.contains(&id) {
                            term_ids.push(id);
                        }
                    }
                }
                let (covers_prefixes, covers_radius, national) = match &s.catchment {
                    Catchment::Prefixes(p) => (p.clone(), None, false),
                    Catchment::Radius {
                        latitude,
                        longitude,
                        km,
                    } => (Vec::new(), Some((*latitude, *longitude, *km)), false),
                    Catchment::National => (Vec::new(), None, true),
                };
                PeerDoc {
                    id: s.id.to_string(),
                    name: s.name.clone(),
                    organization: self.orgs[s.org].name.clone(),
                    description: s.description.clone(),
                    term_names: s
                        .terms
                        .iter()
                        .map(|&t| self.terms[t].name.clone())
                        .collect(),
                    term_ids,
                    min_age_months: s.min_age_months,
                    max_age_months: s.max_age_months,
                    from_pregnancy: s.from_pregnancy,
                    level_of_need: s.level_of_need.to_owned(),
                    self_referral: s.self_referral,
                    latitude: s.site.as_ref().map(|x| (x.latitude * 1e5).round() / 1e5),
                    longitude: s.site.as_ref().map(|x| (x.longitude * 1e5).round() / 1e5),
                    covers_prefixes,
                    covers_radius,
                    national,
                    active: s.active,
                }
            })
            .collect()
    }

    /// A place in a town drawn by population: a real sector centroid.
    pub fn place(&self, rng: &mut Rng, town_weights: &[f64]) -> Place {
        let town = &self.towns[draw(rng, town_weights)];
        let (sector, latitude, longitude) = pick(rng, &town.sectors).clone();
        let (district, area) = district_and_area(&sector);
        Place {
            postcode: sector,
            district,
            area,
            latitude,
            longitude,
        }
    }

    /// Cumulative town weights by population.
    pub fn town_weights(&self) -> Vec<f64> {
        cumulative(self.towns.iter().map(|t| t.population))
    }

    /// Draws an index from cumulative weights.
    pub fn draw(rng: &mut Rng, cumulative: &[f64]) -> usize {
        draw(rng, cumulative)
    }
}

/// The taxonomy's term names with their ids (the vocabulary Signpost suggests from).
pub fn term_names() -> Result<Vec<(String, Uuid)>> {
    let demo: Value = serde_json::from_str(DEMO_DIRECTORY)?;
    let terms: Vec<DemoTerm> = serde_json::from_value(demo["taxonomy_terms"].clone())?;
    Ok(terms.into_iter().map(|t| (t.name, t.id)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_taxonomy_keeps_its_hierarchy() {
        let dataset = Dataset::generate(10, 1).expect("a dataset");
        let children: Vec<&Term> = dataset
            .terms
            .iter()
            .filter(|t| t.parent.is_some())
            .collect();
        assert_eq!((dataset.terms.len(), children.len()), (32, 24));
        for child in children {
            let parent = child.parent.and_then(|p| dataset.terms.get(p));
            assert!(parent.is_some_and(|p| p.parent.is_none()), "{}", child.code);
        }
    }
}
