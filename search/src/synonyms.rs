//! Query-time synonyms and acronyms for this field, from a plain text file.
//!
//! One group a line: comma-separated phrases that mean the same (`pnd, postnatal depression`).
//! `a, b => c, d` makes a one-way rule: searching for `a` or `b` also finds `c` and `d`.
//! Blank lines and lines starting with `#` are ignored.

use std::collections::HashMap;

/// The synonym list shipped with Signpost.
pub const BUILT_IN: &str = include_str!("../../data/synonyms.txt");

/// Phrases (lower case, words separated by one space) and what each also finds, with a weight:
/// equivalents (one group) weigh more than the broader terms of a one-way rule.
#[derive(Clone, Debug, Default)]
pub struct Synonyms {
    expansions: HashMap<String, Vec<(String, f32)>>,
    longest: usize,
}

/// The weight of an equivalent phrase.
pub const EQUIVALENT: f32 = 0.8;
/// The weight of a one-way rule's target.
pub const BROADER: f32 = 0.35;

/// Lower-cases and splits text into words of letters and digits.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

impl Synonyms {
    /// Parses one or more synonym files, later ones adding to earlier ones.
    pub fn parse<'a>(sources: impl IntoIterator<Item = &'a str>) -> Self {
        let mut synonyms = Self::default();
        for source in sources {
            for line in source.lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let phrases = |side: &str| -> Vec<String> {
                    side.split(',')
                        .map(|p| words(p).join(" "))
                        .filter(|p| !p.is_empty())
                        .collect()
                };
                match line.split_once("=>") {
                    Some((from, to)) => {
                        let targets = phrases(to);
                        for source in phrases(from) {
                            synonyms.add(&source, &targets, BROADER);
                        }
                    }
                    None => {
                        let group = phrases(line);
                        for member in &group {
                            synonyms.add(member, &group, EQUIVALENT);
                        }
                    }
                }
            }
        }
        synonyms
    }

    fn add(&mut self, phrase: &str, targets: &[String], weight: f32) {
        self.longest = self.longest.max(phrase.split(' ').count());
        let entry = self.expansions.entry(phrase.to_owned()).or_default();
        for target in targets {
            if target != phrase && !entry.iter().any(|(t, _)| t == target) {
                entry.push((target.clone(), weight));
            }
        }
    }

    /// How many phrases have expansions.
    pub fn len(&self) -> usize {
        self.expansions.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.expansions.is_empty()
    }

    /// Every phrase of more than one word, as a source or a target.
    pub fn phrases(&self) -> impl Iterator<Item = &str> {
        self.expansions
            .iter()
            .flat_map(|(phrase, targets)| {
                std::iter::once(phrase.as_str()).chain(targets.iter().map(|(t, _)| t.as_str()))
            })
            .filter(|phrase| phrase.contains(' '))
    }

    /// Splits query words into phrases, longest synonym match first, each with its expansions
    /// (empty for a word with none).
    pub fn segment(&self, words: &[String]) -> Vec<(String, Vec<(String, f32)>)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let mut matched = None;
            for len in (1..=self.longest.min(words.len() - i)).rev() {
                let phrase = words[i..i + len].join(" ");
                if let Some(expansions) = self.expansions.get(&phrase) {
                    matched = Some((len, phrase, expansions.clone()));
                    break;
                }
            }
            match matched {
                Some((len, phrase, expansions)) => {
                    out.push((phrase, expansions));
                    i += len;
                }
                None => {
                    out.push((words[i].clone(), Vec::new()));
                    i += 1;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_one_way_rules_expand() {
        let s = Synonyms::parse(["pnd, postnatal depression\n# note\nhv => health visitor\n"]);
        let seg = s.segment(&words("PND and HV"));
        let pnd = ("postnatal depression".to_owned(), EQUIVALENT);
        assert_eq!(seg[0], ("pnd".to_owned(), vec![pnd]));
        assert!(seg[1].1.is_empty());
        let hv = ("health visitor".to_owned(), BROADER);
        assert_eq!(seg[2], ("hv".to_owned(), vec![hv]));
        let seg = s.segment(&words("postnatal depression"));
        let back = ("pnd".to_owned(), EQUIVALENT);
        assert_eq!(seg, vec![("postnatal depression".to_owned(), vec![back])]);
        assert!(
            s.segment(&words("health visitor"))[0].1.is_empty(),
            "one-way rules do not reverse"
        );
    }

    #[test]
    fn the_built_in_list_parses() {
        let s = Synonyms::parse([BUILT_IN]);
        assert!(s.len() > 40);
        for needle in [
            "pnd",
            "pimh",
            "camhs",
            "hv",
            "dad",
            "baby blues",
            "tokophobia",
            "ocd",
        ] {
            assert!(!s.segment(&words(needle))[0].1.is_empty(), "{needle}");
        }
    }
}
