//! Who a family is, read from a professional's words: mother or father, a pregnancy, a baby's
//! death, the languages they speak and the baby's age. The words are a data file
//! (`data/family-words.txt`); ages and pregnancy weeks are read by [`crate::query`]'s rules.

use std::{collections::HashMap, sync::LazyLock};

use crate::{query::analyse_text, synonyms::words};

/// The family words shipped with Signpost.
pub const BUILT_IN: &str = include_str!("../../data/family-words.txt");

/// What the words said about the family.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Family {
    /// Audience codes the words name ("MOTHERS", "FATHERS", "CO_PARENTS", "CARERS").
    pub audiences: Vec<String>,
    /// The family is expecting.
    pub pregnant: bool,
    /// The family's baby has died.
    pub bereaved: bool,
    /// The languages the family speaks (ISO 639 codes), English left out.
    pub languages: Vec<String>,
    /// The baby's age in months (not read in a pregnancy or a bereavement).
    pub infant_age_months: Option<f64>,
    /// The phrases that were read, in the order of the text.
    pub phrases: Vec<String>,
}

impl Family {
    /// Whether the words said anything about the family.
    pub fn is_empty(&self) -> bool {
        self.audiences.is_empty()
            && !self.pregnant
            && !self.bereaved
            && self.languages.is_empty()
            && self.infant_age_months.is_none()
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Reading {
    Audience(&'static str),
    Pregnant,
    Bereaved,
    Language(String),
    Not,
}

/// The parsed word list: phrases by their first word, longest first.
#[derive(Debug, Default)]
pub struct FamilyWords {
    by_first: HashMap<String, Vec<(Vec<String>, Reading)>>,
}

impl FamilyWords {
    /// Parses a family words file. Lines it cannot read are skipped (the built-in file is
    /// checked by a test).
    pub fn parse(source: &str) -> Self {
        let mut out = Self::default();
        for line in source.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((head, phrases)) = line.split_once(':') else {
                continue;
            };
            let mut head = head.split_whitespace();
            let reading = match (head.next(), head.next()) {
                (Some("mother"), None) => Reading::Audience("MOTHERS"),
                (Some("father"), None) => Reading::Audience("FATHERS"),
                (Some("co-parent"), None) => Reading::Audience("CO_PARENTS"),
                (Some("carer"), None) => Reading::Audience("CARERS"),
                (Some("pregnant"), None) => Reading::Pregnant,
                (Some("bereaved"), None) => Reading::Bereaved,
                (Some("not"), None) => Reading::Not,
                (Some("language"), Some(code)) => Reading::Language(code.to_lowercase()),
                _ => continue,
            };
            for phrase in phrases.split(',') {
                let phrase = words(phrase);
                if let Some(first) = phrase.first() {
                    out.by_first
                        .entry(first.clone())
                        .or_default()
                        .push((phrase, reading.clone()));
                }
            }
        }
        for list in out.by_first.values_mut() {
            list.sort_by_key(|(phrase, _)| std::cmp::Reverse(phrase.len()));
        }
        out
    }

    /// Reads the family from a search's text.
    pub fn read(&self, text: &str) -> Family {
        let all = words(text);
        let mut family = Family::default();
        let mut negated_until = 0;
        for i in 0..all.len() {
            let Some(list) = self.by_first.get(&all[i]) else {
                continue;
            };
            // Every phrase starting here counts ("dad to be": a father, and expecting).
            for (phrase, reading) in list.iter().filter(|(p, _)| all[i..].starts_with(p)) {
                match reading {
                    Reading::Not => negated_until = negated_until.max(i + phrase.len() + 2),
                    Reading::Audience(code) => push(&mut family.audiences, code),
                    Reading::Pregnant => family.pregnant = true,
                    Reading::Bereaved => family.bereaved = true,
                    Reading::Language(code) if i >= negated_until && code != "en" => {
                        push(&mut family.languages, code);
                    }
                    Reading::Language(_) => continue,
                }
                if !matches!(reading, Reading::Not) {
                    push(&mut family.phrases, &phrase.join(" "));
                }
            }
        }
        let (_, hints) = analyse_text(text);
        family.pregnant |= hints.pregnancy;
        if !family.pregnant && !family.bereaved {
            family.infant_age_months = hints.age_months;
        }
        family
    }
}

fn push(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_owned());
    }
}

/// The built-in family words.
pub fn built_in() -> &'static FamilyWords {
    static WORDS: LazyLock<FamilyWords> = LazyLock::new(|| FamilyWords::parse(BUILT_IN));
    &WORDS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Family {
        built_in().read(text)
    }

    #[test]
    fn who_the_family_is() {
        let f = read("dad struggling with his mood, baby is 4 months");
        assert_eq!(f.audiences, vec!["FATHERS"]);
        assert_eq!(f.infant_age_months, Some(4.0));
        assert!(!f.pregnant && !f.bereaved);
        let f = read("mum feeling really low since the birth");
        assert_eq!(f.audiences, vec!["MOTHERS"]);
        let f = read("Dad-to-be really anxious about the birth");
        assert_eq!(f.audiences, vec!["FATHERS"]);
        assert!(f.pregnant);
        let f = read("baby massage or a baby group, she's 8 months");
        assert!(f.audiences.is_empty(), "pronouns are about the baby");
        assert_eq!(f.infant_age_months, Some(8.0));
        assert!(read("health visitor Lowestoft").is_empty());
    }

    #[test]
    fn pregnancy_and_loss() {
        let f = read("pregnant, 20 weeks, looking for a bumps group");
        assert!(f.pregnant);
        assert_eq!(
            f.infant_age_months, None,
            "weeks of a pregnancy are not the baby's age"
        );
        let f = read("baby died at 2 weeks old, parents need support");
        assert!(f.bereaved);
        assert_eq!(f.infant_age_months, None);
        assert!(read("stillbirth support").bereaved);
        assert!(read("Miscarriage support").bereaved);
        assert!(!read("mum with a 6 week old").bereaved);
    }

    #[test]
    fn languages() {
        let f = read("Roma mum, speaks Slovak, isolated with new baby");
        assert_eq!(f.languages, vec!["rom", "sk"]);
        assert_eq!(f.audiences, vec!["MOTHERS"]);
        let f = read("Polish mum with postnatal depression, not much English");
        assert_eq!(f.languages, vec!["pl"]);
        let f = read("mum speaks no Polish, only English");
        assert!(f.languages.is_empty());
        assert_eq!(read("arabic speaking mum").languages, vec!["ar"]);
    }

    #[test]
    fn the_built_in_file_reads_every_line() {
        let rules = BUILT_IN
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .count();
        let words = FamilyWords::parse(BUILT_IN);
        let readings: std::collections::HashSet<String> = words
            .by_first
            .values()
            .flatten()
            .map(|(_, r)| format!("{r:?}"))
            .collect();
        assert_eq!(readings.len(), rules, "every rule line gives one reading");
    }
}
