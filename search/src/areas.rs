//! Administrative areas (ONS/GSS codes and their names, `data/administrative-areas.csv`), place
//! words (`data/place-words.txt`), and the reading of a catchment written as text: country
//! words, lists of postcode areas, districts and sectors, authority names and GSS codes.

use std::{
    collections::{HashMap, HashSet},
    sync::OnceLock,
};

use crate::geo::normalise_prefix;

/// The area list compiled into the binary.
pub const AREAS_CSV: &str = include_str!("../../data/administrative-areas.csv");
/// The place words compiled into the binary.
pub const PLACE_WORDS: &str = include_str!("../../data/place-words.txt");

/// The longest phrase, in words, a place name may have.
const LONGEST: usize = 8;

/// Words a catchment's text may hold around its places without changing what they mean.
const FILLERS: &[&str] = &[
    "the",
    "and",
    "or",
    "of",
    "in",
    "only",
    "wide",
    "whole",
    "all",
    "across",
    "throughout",
    "within",
    "area",
    "areas",
    "council",
    "councils",
    "borough",
    "boroughs",
    "county",
    "counties",
    "city",
    "district",
    "districts",
    "metropolitan",
    "royal",
    "local",
    "authority",
    "authorities",
    "postcode",
    "postcodes",
    "sector",
    "sectors",
    "covering",
    "covers",
    "serving",
    "residents",
    "families",
    "living",
    "registered",
    "with",
    "a",
    "gp",
    "gps",
    "catchment",
    "plus",
    "including",
];

/// Words that make a catchment narrower than the places it names ("parts of Kent", "Kent
/// except Medway", "north Norfolk" without being the district's name): such a text is not read.
const QUALIFIERS: &[&str] = &[
    "part",
    "parts",
    "except",
    "excluding",
    "excl",
    "not",
    "outside",
    "some",
    "selected",
    "north",
    "south",
    "east",
    "west",
    "northern",
    "southern",
    "eastern",
    "western",
    "central",
    "mid",
    "near",
    "border",
    "borders",
    "bordering",
    "surrounding",
];

/// The qualifiers that void a reading of free prose (a description), where compass words are
/// common for other reasons.
const PROSE_QUALIFIERS: &[&str] = &["part", "parts", "except", "excluding", "outside"];

/// Words an authority's name may start with ("London Borough of Camden").
const NAME_PREFIXES: &[&str] = &[
    "london borough of",
    "royal borough of",
    "metropolitan borough of",
    "borough of",
    "county of",
    "city and county of",
];

/// How many tokens `phrase` takes when the tokens start with it.
fn starts_with(tokens: &[Token], phrase: &str) -> Option<usize> {
    let words: Vec<&str> = phrase.split(' ').collect();
    let matches = words.len() <= tokens.len()
        && words
            .iter()
            .zip(tokens)
            .all(|(word, token)| matches!(token, Token::Word { lower, .. } if lower == word));
    matches.then_some(words.len())
}

/// An administrative area.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Area {
    /// Its GSS code ("E08000009").
    pub code: String,
    /// Its name ("Trafford").
    pub name: String,
    /// `country`, `region`, `county`, `metropolitan_county`, `district`, `unitary`,
    /// `metropolitan_district` or `london_borough`.
    pub kind: String,
    /// The code of the area it lies within, if any.
    pub within: Option<String>,
}

/// A place a catchment's text names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Place {
    /// The whole United Kingdom.
    National,
    /// An administrative area by its GSS code.
    Area(String),
    /// A postcode area ("M") or district ("M33").
    Prefix(String),
    /// A postcode sector ("S17 3").
    Sector(String),
}

/// What a catchment's text was read as.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reading {
    /// The places it names, in order, without repeats.
    pub places: Vec<Place>,
    /// The words that could not be read, phrase by phrase.
    pub unread: Vec<String>,
}

impl Reading {
    /// Read in full: at least one place, and nothing left over.
    pub fn complete(&self) -> bool {
        !self.places.is_empty() && self.unread.is_empty()
    }
}

/// The area list and the phrases that name places.
#[derive(Debug, Default)]
pub struct Areas {
    by_code: HashMap<String, Area>,
    phrases: HashMap<String, Vec<Place>>,
}

/// The embedded area list and place words.
pub fn embedded() -> &'static Areas {
    static AREAS: OnceLock<Areas> = OnceLock::new();
    AREAS.get_or_init(|| Areas::parse(AREAS_CSV, PLACE_WORDS))
}

/// Splits one CSV line, honouring double quotes.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Whether `text` is shaped like a GSS code ("E08000009").
pub fn is_gss_code(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 9
        && matches!(bytes[0], b'E' | b'W' | b'S' | b'N' | b'K')
        && bytes[1..].iter().all(u8::is_ascii_digit)
}

impl Areas {
    /// Parses an area list (`code,name,kind,within`) and a place-word file.
    pub fn parse(areas_csv: &str, place_words: &str) -> Self {
        let mut by_code = HashMap::new();
        let mut names: HashMap<String, HashSet<String>> = HashMap::new();
        for line in areas_csv.lines().skip(1) {
            let fields = csv_fields(line.trim_end_matches('\r'));
            let [code, name, kind, within, ..] = fields.as_slice() else {
                continue;
            };
            if !is_gss_code(code) {
                continue;
            }
            for key in name_keys(name) {
                names.entry(key).or_default().insert(code.clone());
            }
            by_code.insert(
                code.clone(),
                Area {
                    code: code.clone(),
                    name: name.clone(),
                    kind: kind.clone(),
                    within: (!within.is_empty()).then(|| within.clone()),
                },
            );
        }
        // A name two areas share names neither.
        let mut phrases: HashMap<String, Vec<Place>> = names
            .into_iter()
            .filter(|(_, codes)| codes.len() == 1)
            .map(|(key, codes)| (key, codes.into_iter().map(Place::Area).collect()))
            .collect();
        for line in place_words.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((phrase, meaning)) = line.rsplit_once('=') else {
                continue;
            };
            let key = key_of(phrase);
            let places: Vec<Place> = meaning
                .split_whitespace()
                .filter_map(|word| {
                    if word.eq_ignore_ascii_case("NATIONAL") {
                        Some(Place::National)
                    } else {
                        is_gss_code(word).then(|| Place::Area(word.to_owned()))
                    }
                })
                .collect();
            if !key.is_empty() && !places.is_empty() {
                phrases.insert(key, places);
            }
        }
        Self { by_code, phrases }
    }

    /// The area with this GSS code.
    pub fn get(&self, code: &str) -> Option<&Area> {
        self.by_code.get(code)
    }

    /// The code itself and the codes of every area it lies within.
    pub fn with_ancestors(&self, code: &str) -> Vec<String> {
        let mut out = vec![code.to_owned()];
        let mut current = self.by_code.get(code).and_then(|a| a.within.clone());
        while let Some(next) = current {
            if out.contains(&next) || out.len() > 8 {
                break;
            }
            current = self.by_code.get(&next).and_then(|a| a.within.clone());
            out.push(next);
        }
        out
    }

    /// The code an area's name (or another phrase of the place words) stands for, when it names
    /// one area.
    pub fn code_of_name(&self, name: &str) -> Option<&str> {
        match self.phrases.get(&key_of(name))?.as_slice() {
            [Place::Area(code)] => Some(code),
            _ => None,
        }
    }

    /// Reads a catchment written as text: `prose` for a description, where words other than
    /// places are passed over; otherwise every word must be a place or a joining word
    /// ("and", commas, "council", "borough of", ...).
    pub fn read_text(&self, text: &str, prose: bool) -> Reading {
        let tokens = tokenise(text);
        let mut reading = Reading::default();
        let mut unread: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        let mut i = 0;
        let flush = |unread: &mut Vec<String>, reading: &mut Reading| {
            if !unread.is_empty() {
                reading.unread.push(unread.join(" "));
                unread.clear();
            }
        };
        while i < tokens.len() {
            let Token::Word { lower, original } = &tokens[i] else {
                flush(&mut unread, &mut reading);
                i += 1;
                continue;
            };
            if let Some(used) = NAME_PREFIXES
                .iter()
                .find_map(|prefix| starts_with(&tokens[i..], prefix))
            {
                // "London Borough of Camden": the words before a name, never a place themselves.
                i += used;
                continue;
            }
            if let Some((places, used)) = self.place_at(&tokens[i..], prose) {
                flush(&mut unread, &mut reading);
                for place in places {
                    if seen.insert(place.clone()) {
                        reading.places.push(place);
                    }
                }
                i += used;
                continue;
            }
            let kept = if prose {
                PROSE_QUALIFIERS.contains(&lower.as_str())
            } else {
                !FILLERS.contains(&lower.as_str())
            };
            if kept {
                unread.push(original.clone());
            } else {
                flush(&mut unread, &mut reading);
            }
            i += 1;
        }
        flush(&mut unread, &mut reading);
        let qualifiers = if prose { PROSE_QUALIFIERS } else { QUALIFIERS };
        let qualified = reading.unread.iter().any(|phrase| {
            phrase
                .split(' ')
                .any(|w| qualifiers.contains(&w.to_lowercase().as_str()))
        });
        if qualified {
            // "Parts of Kent": the places named are wider than the catchment.
            return Reading {
                places: Vec::new(),
                unread: vec![text.trim().to_owned()],
            };
        }
        if prose {
            reading.unread.clear();
            if reading.places.is_empty() {
                reading.unread.push(text.trim().to_owned());
            }
        }
        reading
    }

    /// The place the tokens start with (the longest phrase that names one), and how many tokens
    /// it takes.
    fn place_at(&self, tokens: &[Token], prose: bool) -> Option<(Vec<Place>, usize)> {
        let words: Vec<(&str, &str)> = tokens
            .iter()
            .take(LONGEST)
            .map_while(|t| match t {
                Token::Word { lower, original } => Some((lower.as_str(), original.as_str())),
                Token::Break => None,
            })
            .collect();
        for len in (1..=words.len()).rev() {
            let key = words[..len]
                .iter()
                .map(|(lower, _)| *lower)
                .collect::<Vec<_>>()
                .join(" ");
            if let Some(places) = self.phrases.get(&key) {
                // "national" alone in prose is mostly "national guidelines".
                if prose && key == "national" {
                    continue;
                }
                return Some((places.clone(), len));
            }
        }
        let (_, first) = words.first()?;
        if is_gss_code(first) {
            return self
                .by_code
                .contains_key(*first)
                .then(|| (vec![Place::Area((*first).to_owned())], 1));
        }
        let prefix = postcode_prefix(first, prose)?;
        if prefix.chars().any(|c| c.is_ascii_digit())
            && let Some((_, digit)) = words.get(1)
            && digit.len() == 1
            && digit.chars().all(|c| c.is_ascii_digit())
        {
            return Some((vec![Place::Sector(format!("{prefix} {digit}"))], 2));
        }
        Some((vec![Place::Prefix(prefix)], 1))
    }
}

/// A postcode area or district written as one word: with a digit ("m33", "GL50"), or in capitals
/// ("GL", and outside prose a single capital letter such as "M").
fn postcode_prefix(original: &str, prose: bool) -> Option<String> {
    let has_digit = original.chars().any(|c| c.is_ascii_digit());
    let capitals = original.chars().all(|c| !c.is_ascii_lowercase());
    if !(has_digit || capitals) || (prose && !has_digit && original.len() < 2) {
        return None;
    }
    normalise_prefix(original)
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word {
        lower: String,
        original: String,
    },
    /// A comma, semicolon, slash, bracket or line break: places never span one.
    Break,
}

/// Words (letters and digits; apostrophes dropped, "&" read as "and") and breaks.
fn tokenise(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let end = |word: &mut String, tokens: &mut Vec<Token>| {
        if !word.is_empty() {
            tokens.push(Token::Word {
                lower: word.to_lowercase(),
                original: std::mem::take(word),
            });
        }
    };
    for c in text.chars() {
        match c {
            c if c.is_alphanumeric() => word.push(c),
            '\'' | '\u{2019}' => {}
            '&' | '+' => {
                end(&mut word, &mut tokens);
                tokens.push(Token::Word {
                    lower: "and".into(),
                    original: "&".into(),
                });
            }
            ',' | ';' | '/' | '|' | '(' | ')' | '\n' | ':' => {
                end(&mut word, &mut tokens);
                tokens.push(Token::Break);
            }
            _ => end(&mut word, &mut tokens),
        }
    }
    end(&mut word, &mut tokens);
    tokens
}

/// A phrase as matched: lower case words separated by single spaces.
fn key_of(phrase: &str) -> String {
    tokenise(phrase)
        .into_iter()
        .filter_map(|t| match t {
            Token::Word { lower, .. } => Some(lower),
            Token::Break => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The phrases an area's name is known by: "City of Bristol" also as "Bristol" and "Bristol
/// City", "Aberdeen City" as "Aberdeen", "County Durham" as "Durham".
fn name_keys(name: &str) -> Vec<String> {
    let full = key_of(name);
    let mut keys = vec![full.clone()];
    if let Some(rest) = full.strip_prefix("city of ")
        && rest != "london"
    {
        keys.push(rest.to_owned());
        keys.push(format!("{rest} city"));
    }
    if let Some(rest) = full.strip_suffix(" city") {
        keys.push(rest.to_owned());
        keys.push(format!("city of {rest}"));
    }
    if let Some(rest) = full.strip_prefix("county ") {
        keys.push(rest.to_owned());
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Reading {
        embedded().read_text(text, false)
    }

    fn area(code: &str) -> Place {
        Place::Area(code.to_owned())
    }

    #[test]
    fn the_lists_load() {
        let areas = embedded();
        assert_eq!(
            areas.get("E08000009").map(|a| a.name.as_str()),
            Some("Trafford")
        );
        assert_eq!(
            areas.with_ancestors("E08000009"),
            ["E08000009", "E11000001", "E92000001"]
        );
        assert_eq!(areas.code_of_name("Bristol"), Some("E06000023"));
        assert_eq!(
            areas.code_of_name("Bournemouth, Christchurch and Poole"),
            Some("E06000058")
        );
    }

    #[test]
    fn country_words_and_lists_of_places_are_read() {
        assert_eq!(read("UK-wide").places, [Place::National]);
        assert_eq!(read("England").places, [area("E92000001")]);
        assert_eq!(
            read("England and Wales").places,
            [area("E92000001"), area("W92000004")]
        );
        assert_eq!(
            read("Trafford, Stockport & the City of Manchester").places,
            [area("E08000009"), area("E08000007"), area("E08000003")]
        );
        assert_eq!(
            read("Bath and North East Somerset").places,
            [area("E06000022")]
        );
        assert_eq!(read("London Borough of Camden").places, [area("E09000007")]);
        assert_eq!(read("City of London").places, [area("E09000001")]);
        assert_eq!(read("London").places, [area("E12000007")]);
        assert_eq!(
            read("M33, m41; WA14 and S17 3").places,
            [
                Place::Prefix("M33".into()),
                Place::Prefix("M41".into()),
                Place::Prefix("WA14".into()),
                Place::Sector("S17 3".into())
            ]
        );
        assert_eq!(read("E10000020").places, [area("E10000020")]);
        assert_eq!(
            read("Norfolk and Waveney").places,
            [area("E10000020"), area("E07000206")]
        );
        let partial = read("Norfolk and Lowestoft");
        assert_eq!(partial.places, [area("E10000020")]);
        assert_eq!(partial.unread, ["Lowestoft"]);
        assert!(read("parts of Kent").places.is_empty());
        assert!(read("Sale and Altrincham").places.is_empty());
    }

    #[test]
    fn prose_names_its_places_among_other_words() {
        let areas = embedded();
        let reading = areas.read_text(
            "We support families living in Gloucestershire, following national guidance.",
            true,
        );
        assert_eq!(reading.places, [area("E10000013")]);
        assert!(reading.unread.is_empty());
        assert!(
            areas
                .read_text("Support for parts of Kent", true)
                .places
                .is_empty()
        );
    }
}
