//! Query-time synonyms and acronyms for this field, from a plain text file.
//!
//! One group a line: comma-separated phrases that mean the same (`pnd, postnatal depression`).
//! `a, b => c, d` makes a one-way rule: searching for `a` or `b` also finds `c` and `d`.
//! Blank lines and lines starting with `#` are ignored.

use std::collections::HashMap;

/// The synonym list shipped with Signpost.
pub const BUILT_IN: &str = include_str!("../../data/synonyms.txt");

/// Phrases (lower case, words separated by one space) and what each also finds.
#[derive(Clone, Debug, Default)]
pub struct Synonyms {
    expansions: HashMap<String, Vec<String>>,
    longest: usize,
}

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
                            synonyms.add(&source, &targets);
                        }
                    }
                    None => {
                        let group = phrases(line);
                        for member in &group {
                            synonyms.add(member, &group);
                        }
                    }
                }
            }
        }
        synonyms
    }

    fn add(&mut self, phrase: &str, targets: &[String]) {
        self.longest = self.longest.max(phrase.split(' ').count());
        let entry = self.expansions.entry(phrase.to_owned()).or_default();
        for target in targets {
            if target != phrase && !entry.contains(target) {
                entry.push(target.clone());
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

    /// Splits query words into phrases, longest synonym match first, each with its expansions
    /// (empty for a word with none).
    pub fn segment(&self, words: &[String]) -> Vec<(String, Vec<String>)> {
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
        assert_eq!(
            seg[0],
            ("pnd".to_owned(), vec!["postnatal depression".to_owned()])
        );
        assert_eq!(seg[1].1, Vec::<String>::new());
        assert_eq!(seg[2], ("hv".to_owned(), vec!["health visitor".to_owned()]));
        let seg = s.segment(&words("postnatal depression"));
        assert_eq!(
            seg,
            vec![("postnatal depression".to_owned(), vec!["pnd".to_owned()])]
        );
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
