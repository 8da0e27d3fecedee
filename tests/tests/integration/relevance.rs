//! Search relevance on the demo directory: the queries health visitors, midwives and GPs type,
//! and the services a professional would expect to see in the top three.

use std::collections::HashSet;

use serde_json::{Value, json};
use tests::TestApp;

/// How many results a professional looks at.
const TOP: usize = 3;
/// How many results a failure message shows.
const SHOWN: usize = 5;

const SEARCH: &str = "query($text: String, $filter: ServiceFilter, $near: NearInput, \
    $sort: SearchSort) { search(text: $text, filter: $filter, near: $near, sort: $sort, \
    first: 5) { edges { node { name } } } }";

/// One relevance expectation.
struct Case {
    /// What the professional types.
    text: &'static str,
    /// `ServiceFilter` (null for none).
    filter: Value,
    /// `NearInput` (null for none).
    near: Value,
    /// `SearchSort`.
    sort: &'static str,
    /// Services that must all appear in the top three, by exact name.
    expected: &'static [&'static str],
    /// Why these services are the right answer.
    why: &'static str,
}

impl Case {
    fn new(text: &'static str, expected: &'static [&'static str], why: &'static str) -> Self {
        Self {
            text,
            filter: Value::Null,
            near: Value::Null,
            sort: "RELEVANCE",
            expected,
            why,
        }
    }

    fn filter(mut self, filter: Value) -> Self {
        self.filter = filter;
        self
    }

    fn near(mut self, near: Value) -> Self {
        self.near = near;
        self
    }

    fn by_distance(mut self) -> Self {
        self.sort = "DISTANCE";
        self
    }

    fn describe(&self) -> String {
        let mut out = format!("{:?}", self.text);
        if !self.filter.is_null() {
            out.push_str(&format!(" filter {}", self.filter));
        }
        if !self.near.is_null() {
            out.push_str(&format!(" near {}", self.near));
        }
        if self.sort != "RELEVANCE" {
            out.push_str(&format!(" sort {}", self.sort));
        }
        out
    }
}

/// A family in Sale (Trafford).
const SALE: &str = "M33 7ZF";
/// A family in Ashton-under-Lyne (Tameside).
const ASHTON: &str = "OL6 7JS";
/// A family in east Leeds, near St James's.
const EAST_LEEDS: &str = "LS9 7TF";
/// A family in Easton (Bristol).
const EASTON: &str = "BS5 6AW";
/// A family in Hesters Way (Cheltenham).
const CHELTENHAM: &str = "GL51 9AA";

fn covers(postcode: &str) -> Value {
    json!({ "coversPostcode": postcode })
}

fn cases() -> Vec<Case> {
    vec![
        // Synonyms.
        Case::new(
            "PND",
            &["Trafford Talking Therapies perinatal pathway"],
            "PND is postnatal depression; perinatal talking therapies are the first-line treatment in Trafford",
        )
        .filter(covers(SALE)),
        Case::new(
            "baby blues",
            &["Trafford Health Visiting Service", "Baby Buddy app"],
            "the baby blues are normal early-days low mood: the health visitor and the Baby Buddy app are the listings that talk about them",
        ),
        Case::new(
            "baby blues",
            &["Trafford Health Visiting Service"],
            "in Sale, the health visitor is who a family with the baby blues should talk to",
        )
        .filter(covers(SALE)),
        Case::new(
            "paternal depression",
            &[
                "Bristol Dads Collective: new dads' circle",
                "Dads' Mental Health Online Peer Support",
            ],
            "paternal means fathers: both are dads' peer groups about postnatal depression that cover Easton",
        )
        .filter(covers(EASTON)),
        Case::new(
            "dad feeling low",
            &["Dad Matters Trafford"],
            "dad means father: Dad Matters is Trafford's service for fathers with low mood",
        )
        .filter(covers(SALE)),
        Case::new(
            "somali mums",
            &["Hooyo iyo Ilmo (Somali mothers and babies)"],
            "mums means mothers: the Somali mothers' group meets at Easton Family Hub",
        )
        .filter(covers(EASTON)),
        Case::new(
            "postpartum psychosis",
            &["APP Online Peer Support"],
            "Action on Postpartum Psychosis is the national peer support for exactly this illness",
        ),
        Case::new(
            "antenatal depression",
            &["PANDAS Helpline"],
            "PANDAS is the national line that names antenatal depression",
        ),
        // Acronyms.
        Case::new(
            "PIMH",
            &["Gloucestershire Infant Mental Health Team (CYPS)"],
            "PIMH is parent-infant mental health: Gloucestershire's infant mental health team covers Cheltenham",
        )
        .filter(covers(CHELTENHAM)),
        Case::new(
            "PIMH team",
            &["Tameside Parent Infant Mental Health Team"],
            "Tameside's parent infant mental health team covers Ashton",
        )
        .filter(covers(ASHTON)),
        Case::new(
            "IMH",
            &["Leeds Infant Mental Health Service"],
            "IMH is infant mental health: the Leeds service covers east Leeds",
        )
        .filter(covers(EAST_LEEDS)),
        Case::new(
            "CAMHS",
            &["Trafford Parent Infant Mental Health Team"],
            "for a baby in Sale, the CAMHS service is Trafford's parent infant mental health team, a CAMHS team",
        )
        .filter(covers(SALE)),
        Case::new(
            "child mental health service for a baby",
            &["Bristol Parent-Infant Relationship Team"],
            "child mental health is CAMHS: Bristol's parent-infant relationship team sits within Bristol CAMHS",
        )
        .filter(covers(EASTON)),
        Case::new(
            "HV",
            &["Leeds 0-19 Public Health Integrated Nursing: health visiting"],
            "HV is health visitor: the Leeds 0-19 service is health visiting in east Leeds",
        )
        .filter(covers(EAST_LEEDS)),
        Case::new(
            "MBU",
            &["South West Mother and Baby Unit"],
            "MBU is mother and baby unit: Cheltenham is in the South West unit's catchment",
        )
        .filter(covers(CHELTENHAM)),
        Case::new(
            "OCD",
            &["Maternal OCD support", "Bristol Talking Therapies: perinatal"],
            "perinatal OCD: the national Maternal OCD charity and Bristol talking therapies, which treat it with CBT",
        )
        .filter(covers(EASTON)),
        Case::new(
            "intrusive thoughts",
            &["Maternal OCD support"],
            "intrusive thoughts about the baby are the hallmark of perinatal OCD",
        ),
        Case::new(
            "IAPT",
            &["Tameside Talking Therapies perinatal offer"],
            "IAPT is the old name of NHS talking therapies; Tameside's perinatal offer covers Ashton",
        )
        .filter(covers(ASHTON)),
        Case::new(
            "CPMHT",
            &["Leeds Perinatal Community Mental Health Team"],
            "CPMHT is the community perinatal mental health team: Leeds' team covers east Leeds",
        )
        .filter(covers(EAST_LEEDS)),
        Case::new(
            "CPMHT",
            &["Gloucestershire Specialist Perinatal Mental Health Service"],
            "Gloucestershire's community perinatal mental health team is its specialist perinatal service",
        )
        .filter(covers(CHELTENHAM)),
        Case::new(
            "perinatal team",
            &["Bristol Specialist Community Perinatal Mental Health Team"],
            "the perinatal team is how GPs and midwives name the community perinatal mental health team",
        )
        .filter(covers(EASTON)),
        // Typos.
        Case::new(
            "postnatel depresion",
            &["Tameside Talking Therapies perinatal offer"],
            "misspelt postnatal depression: Tameside talking therapies treat it and cover Ashton",
        )
        .filter(covers(ASHTON)),
        Case::new(
            "tokofobia",
            &["Gloucestershire Maternal Mental Health Service"],
            "misspelt tokophobia: Gloucestershire's maternal mental health service treats severe fear of childbirth",
        )
        .filter(covers(CHELTENHAM)),
        Case::new(
            "tokofobia",
            &[
                "Gloucestershire Maternal Mental Health Service",
                "Leeds Maternal Mental Health Service",
                "Bristol Maternal Mental Health Service",
            ],
            "misspelt tokophobia: the three maternal mental health services are the ones that treat it",
        ),
        // Stemming.
        Case::new(
            "bond",
            &["Baby Bond volunteer home visiting"],
            "bond finds bonding: Trafford's Baby Bond volunteers support parent-infant bonding",
        )
        .filter(covers(SALE)),
        Case::new(
            "bonding difficulties",
            &["Baby Bond Bristol", "Bristol Parent-Infant Relationship Team"],
            "bonding: Bristol's Baby Bond volunteers for mild difficulties, the parent-infant team for serious ones",
        )
        .filter(covers(EASTON)),
        Case::new(
            "fathers group",
            &["Leeds Dads Hub"],
            "fathers finds father and dads: Leeds Dads Hub runs dads' groups",
        )
        .filter(covers(EAST_LEEDS)),
        Case::new(
            "father",
            &["Dad Matters Tameside"],
            "Dad Matters Tameside supports fathers in Ashton",
        )
        .filter(covers(ASHTON)),
        // Ages in the text.
        Case::new(
            "baby 4 months crying a lot",
            &["Baby Bond Bristol", "Cry-sis Helpline"],
            "a four-month-old who cries a lot: Bristol Baby Bond helps with a baby who cries, Cry-sis is the crying helpline",
        )
        .filter(covers(EASTON)),
        Case::new(
            "breastfeeding baby 9 months",
            &["National Breastfeeding Helpline"],
            "Tameside's feeding team stops at six months; the national helpline supports older babies",
        )
        .filter(covers(ASHTON)),
        Case::new(
            "toddler 18 months not sleeping",
            &["Cry-sis Helpline"],
            "Cry-sis takes calls about toddlers' sleep; the baby sleep drop-in stops at 12 months",
        ),
        Case::new(
            "baby massage 3 months",
            &["Baby massage course, Altrincham"],
            "the Altrincham course takes babies from six weeks to crawling (Denton's is closed)",
        ),
        Case::new(
            "6 week old not feeding well",
            &["Tameside Infant Feeding Service"],
            "feeding problems at six weeks are exactly what Tameside's infant feeding team sees",
        )
        .filter(covers(ASHTON)),
        // Pregnancy.
        Case::new(
            "pregnant and anxious",
            &["Gloucestershire Talking Therapies perinatal pathway"],
            "anxiety in pregnancy: Gloucestershire talking therapies prioritise pregnant women and take self-referrals",
        )
        .filter(covers(CHELTENHAM)),
        Case::new(
            "pregnant domestic abuse",
            &[
                "Leeds Women's Aid pregnancy and early years team",
                "National Domestic Abuse Helpline",
            ],
            "abuse in pregnancy in east Leeds: the Leeds Women's Aid pregnancy team and the national helpline",
        )
        .filter(covers(EAST_LEEDS)),
        Case::new(
            "expecting and scared of giving birth",
            &["Bristol Maternal Mental Health Service"],
            "fear of birth in pregnancy is tokophobia: Bristol's maternal mental health service treats it",
        )
        .filter(covers(EASTON)),
        Case::new(
            "bipolar, planning a pregnancy",
            &["Perinatal Psychiatry Clinic, St Michael's", "APP Online Peer Support"],
            "bipolar is a severe mental illness: the perinatal psychiatry clinic gives pre-conception advice, APP explains the risk",
        )
        .filter(covers(EASTON)),
        // Catchment.
        Case::new(
            "talking therapies",
            &["Gloucestershire Talking Therapies perinatal pathway"],
            "the talking therapies service that covers Cheltenham",
        )
        .filter(covers(CHELTENHAM)),
        Case::new(
            "health visitor",
            &["Trafford Health Visiting Service"],
            "the health visiting service that covers Sale",
        )
        .filter(covers(SALE)),
        Case::new(
            "infant feeding",
            &["Tameside Infant Feeding Service"],
            "the infant feeding team that covers Ashton",
        )
        .filter(covers(ASHTON)),
        Case::new(
            "stillbirth",
            &["Tameside Maternity Bereavement Support", "Sands Helpline"],
            "after a stillbirth in Ashton: Tameside's bereavement midwives and the national Sands line",
        )
        .filter(covers(ASHTON)),
        // Distance.
        Case::new(
            "baby group",
            &[
                "Easton Family Hub baby group",
                "Hooyo iyo Ilmo (Somali mothers and babies)",
            ],
            "both groups meet at Easton Family Hub, on the family's doorstep",
        )
        .near(json!({ "postcode": EASTON, "radiusKm": 5 }))
        .by_distance(),
        Case::new(
            "health visitor",
            &["Gloucestershire Health Visiting"],
            "Gloucestershire health visitors run clinics at Hesters Way Family Hub, nearest to the family",
        )
        .near(json!({ "postcode": CHELTENHAM, "radiusKm": 10 }))
        .by_distance(),
        Case::new(
            "mother and baby unit",
            &["Andersen Ward Mother and Baby Unit"],
            "the Greater Manchester MBU at Wythenshawe is a few kilometres from Sale",
        )
        .near(json!({ "postcode": SALE, "radiusKm": 15 })),
        Case::new(
            "perinatal mental health",
            &[
                "Yorkshire Mother and Baby Unit",
                "Leeds Perinatal Community Mental Health Team",
            ],
            "the Leeds MBU and community perinatal team are both within 3 km of St James's",
        )
        .near(json!({ "postcode": EAST_LEEDS, "radiusKm": 3 }))
        .by_distance(),
        Case::new(
            "talking therapies",
            &["Tameside Talking Therapies perinatal offer"],
            "Tameside talking therapies are based in Ashton, within 10 km",
        )
        .near(json!({ "postcode": ASHTON, "radiusKm": 10 })),
        // Filters combined with text.
        Case::new(
            "anxiety",
            &["Bristol Specialist Community Perinatal Mental Health Team"],
            "severe anxiety needing a specialist service in Bristol is the community perinatal team",
        )
        .filter(json!({ "coversPostcode": EASTON, "levelOfNeed": ["SPECIALIST"] })),
        Case::new(
            "low mood",
            &[
                "Dad Matters Trafford",
                "Trafford Talking Therapies perinatal pathway",
            ],
            "a father with low mood in Sale: Dad Matters for peer support, talking therapies for treatment",
        )
        .filter(json!({ "coversPostcode": SALE, "audiences": ["FATHERS"] })),
        Case::new(
            "bonding",
            &["Baby Bond Tameside"],
            "a family who wants to refer themselves for bonding help in Ashton: Baby Bond Tameside (the PIMH team needs a professional)",
        )
        .filter(json!({ "coversPostcode": ASHTON, "selfReferral": true })),
        Case::new(
            "feeding",
            &["National Breastfeeding Helpline"],
            "feeding help for a nine-month-old in Cheltenham: the national helpline supports babies up to two",
        )
        .filter(json!({ "coversPostcode": CHELTENHAM, "infantAgeMonths": 9 })),
        Case::new(
            "parent infant psychotherapy",
            &["Leeds Infant Mental Health Service"],
            "specialist parent-infant psychotherapy in Leeds is the infant mental health service",
        )
        .filter(json!({ "coversPostcode": EAST_LEEDS, "levelOfNeed": ["SPECIALIST"] })),
        Case::new(
            "dads group",
            &["Leeds Dads Hub"],
            "a dad with a three-year-old in Leeds: Leeds Dads Hub takes children under five",
        )
        .filter(json!({
            "coversPostcode": EAST_LEEDS,
            "audiences": ["FATHERS"],
            "infantAgeMonths": 36
        })),
        Case::new(
            "birth trauma",
            &["Birth Trauma Association peer support"],
            "a self-referral for birth trauma in Sale: the Birth Trauma Association's peer support",
        )
        .filter(json!({ "coversPostcode": SALE, "selfReferral": true })),
    ]
}

/// The names of the demo directory's active services.
fn active_services() -> HashSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/demo-directory.json");
    let text = std::fs::read_to_string(path).expect("the demo directory is readable");
    let directory: Value = serde_json::from_str(&text).expect("the demo directory is JSON");
    directory["services"]
        .as_array()
        .expect("the demo directory lists services")
        .iter()
        .filter(|s| s["status"] == "active")
        .filter_map(|s| s["name"].as_str().map(str::to_owned))
        .collect()
}

fn names(data: &Value) -> Vec<String> {
    data["search"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["node"]["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn professionals_find_the_right_services_in_the_top_three() {
    let cases = cases();
    assert!(cases.len() >= 25);
    let active = active_services();
    for case in &cases {
        for name in case.expected {
            assert!(
                active.contains(*name),
                "{}: {name:?} is not an active demo service",
                case.describe()
            );
        }
    }

    let app = TestApp::spawn().await;
    let mut failures = Vec::new();
    for case in &cases {
        let data = app
            .data(
                SEARCH,
                json!({
                    "text": case.text,
                    "filter": case.filter,
                    "near": case.near,
                    "sort": case.sort,
                }),
            )
            .await;
        let found = names(&data);
        let top: Vec<&String> = found.iter().take(TOP).collect();
        let missing: Vec<&str> = case
            .expected
            .iter()
            .copied()
            .filter(|name| !top.iter().any(|t| t == name))
            .collect();
        let verdict = if missing.is_empty() { "ok  " } else { "FAIL" };
        println!("{verdict} {}: {:?}", case.describe(), found);
        if !missing.is_empty() {
            failures.push(format!(
                "{}\n    why: {}\n    expected in the top {TOP}: {:?}\n    missing: {:?}\n    top {SHOWN}: {:?}",
                case.describe(),
                case.why,
                case.expected,
                missing,
                found.iter().take(SHOWN).collect::<Vec<_>>(),
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} relevance cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn highlights_mark_matches_and_escape_html() {
    let app = TestApp::spawn().await;
    let data = app
        .data(
            "query($text: String) { search(text: $text, first: 5) { edges { \
             highlights { field snippet } node { name } } } }",
            json!({ "text": "women's aid" }),
        )
        .await;
    let edges = data["search"]["edges"]
        .as_array()
        .expect("search returns edges");
    let edge = edges
        .iter()
        .find(|e| e["node"]["name"] == "Leeds Women's Aid pregnancy and early years team")
        .expect("Leeds Women's Aid is found");
    let highlights = edge["highlights"]
        .as_array()
        .expect("the hit has highlights");
    let name = highlights
        .iter()
        .find(|h| h["field"] == "name")
        .and_then(|h| h["snippet"].as_str())
        .expect("the name is highlighted");
    assert!(name.contains("<b>"), "matches are marked: {name}");
    assert!(name.contains("</b>"), "marks are closed: {name}");
    assert!(name.contains("&#x27;"), "the apostrophe is escaped: {name}");
    assert!(!name.contains('\''), "no raw apostrophe: {name}");
    for highlight in highlights {
        let snippet = highlight["snippet"].as_str().expect("a snippet");
        let unmarked = snippet.replace("<b>", "").replace("</b>", "");
        assert!(
            !unmarked.contains('<') && !unmarked.contains('>') && !unmarked.contains('\''),
            "only <b> marks are HTML: {snippet}"
        );
    }
}
