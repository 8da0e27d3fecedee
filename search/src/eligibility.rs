//! Eligibility read from words: a listing's (who a service is for, from pregnancy, the child's
//! ages, language communities, level of need, referral route) and a family's, as a
//! professional describes it in a search. The rules are a plain text file
//! (`data/eligibility-rules.txt`, its format documented at its top), so a publisher's phrasing
//! is added without code. Pure functions: no index, no database.

use std::{
    collections::{HashMap, HashSet},
    sync::LazyLock,
};

/// The rules shipped with Signpost.
pub const BUILT_IN: &str = include_str!("../../data/eligibility-rules.txt");

/// The longest phrase, in words, a language name may have.
const LONGEST_LANGUAGE: usize = 3;
/// The oldest child age read, in months (19 years): older ages are a parent's.
const OLDEST_CHILD_MONTHS: f64 = 228.0;
/// The oldest age read with no word saying whose it is, in months (five years).
const OLDEST_UNCLAIMED_MONTHS: f64 = 60.0;
/// Days in an average month, for ages in weeks.
const DAYS_PER_MONTH: f64 = 30.4375;

/// Audience codes, as the `Audience` code list stores them.
pub mod audience {
    /// Mothers and birthing parents.
    pub const MOTHERS: &str = "MOTHERS";
    /// Fathers.
    pub const FATHERS: &str = "FATHERS";
    /// Co-parents and partners.
    pub const CO_PARENTS: &str = "CO_PARENTS";
    /// Kinship, foster and other carers.
    pub const CARERS: &str = "CARERS";
    /// The whole family together.
    pub const WHOLE_FAMILY: &str = "WHOLE_FAMILY";
    /// Bereaved families only.
    pub const BEREAVED: &str = "BEREAVED";
    /// Speakers of the service's languages, or members of its community, only.
    pub const LANGUAGE_COMMUNITY: &str = "LANGUAGE_COMMUNITY";
}

/// Level-of-need codes, as stored.
pub mod level {
    /// Open to every family.
    pub const UNIVERSAL: &str = "UNIVERSAL";
    /// Mild to moderate need.
    pub const TARGETED: &str = "TARGETED";
    /// The highest level of need.
    pub const SPECIALIST: &str = "SPECIALIST";
}

/// A line of a rule file that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("eligibility rules line {line}: {message}")]
pub struct RuleError {
    /// The line number, from 1, counted over the files in the order given.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A value read, with the words it was read from (as written).
#[derive(Clone, Debug, PartialEq)]
pub struct Found<T> {
    /// The value.
    pub value: T,
    /// The words it was read from.
    pub phrase: String,
}

impl<T> Found<T> {
    fn new(value: T, phrase: impl Into<String>) -> Self {
        Self {
            value,
            phrase: phrase.into(),
        }
    }
}

/// What a listing's words say about its eligibility; `None` where they say nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reading {
    /// Open from pregnancy (true), or not (false: "postnatal only", or ages with no pregnancy).
    pub from_pregnancy: Option<Found<bool>>,
    /// The child's youngest age in months.
    pub min_age_months: Option<Found<f64>>,
    /// The child's oldest age in months (0: pregnancy only).
    pub max_age_months: Option<Found<f64>>,
    /// Who it is for: audience codes ([`audience`]); empty when the words name everyone
    /// ("parents and carers").
    pub audiences: Option<Found<Vec<String>>>,
    /// Languages (ISO 639-1) a language or community group implies.
    pub languages: Option<Found<Vec<String>>>,
    /// The level of need ([`level`]).
    pub level_of_need: Option<Found<&'static str>>,
    /// Whether families may refer themselves (false: professional referral only).
    pub self_referral: Option<Found<bool>>,
}

impl Reading {
    /// Whether nothing was read.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The readings of several texts, the first text saying something about a value giving
    /// it; an age read with no pregnancy phrase in any text means not from pregnancy.
    pub fn merge(readings: &[Reading]) -> Reading {
        fn first<T: Clone>(
            readings: &[Reading],
            get: impl Fn(&Reading) -> &Option<Found<T>>,
        ) -> Option<Found<T>> {
            readings.iter().find_map(|r| get(r).clone())
        }
        // Both ends of the age range come from the one text that gives one, so that a range
        // is never half one text's and half another's.
        let ages = readings
            .iter()
            .find(|r| r.min_age_months.is_some() || r.max_age_months.is_some());
        let mut merged = Reading {
            from_pregnancy: first(readings, |r| &r.from_pregnancy),
            min_age_months: ages.and_then(|r| r.min_age_months.clone()),
            max_age_months: ages.and_then(|r| r.max_age_months.clone()),
            audiences: first(readings, |r| &r.audiences),
            languages: first(readings, |r| &r.languages),
            level_of_need: first(readings, |r| &r.level_of_need),
            self_referral: first(readings, |r| &r.self_referral),
        };
        if merged.from_pregnancy.is_none() {
            let age = merged
                .min_age_months
                .as_ref()
                .or(merged.max_age_months.as_ref());
            merged.from_pregnancy = age.map(|age| Found::new(false, age.phrase.clone()));
        }
        merged
    }
}

/// What a professional's words say about the family; empty lists and `None` where they say
/// nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Family {
    /// Who the search is for: audience codes ([`audience`] MOTHERS, FATHERS, CO_PARENTS,
    /// CARERS), in the order first named.
    pub audiences: Vec<Found<String>>,
    /// The family is expecting a baby.
    pub pregnant: Option<Found<bool>>,
    /// The family has lost a baby.
    pub bereaved: Option<Found<bool>>,
    /// The baby's age in months.
    pub infant_age_months: Option<Found<f64>>,
    /// Languages (ISO 639-1) the family speaks, or its community implies.
    pub languages: Vec<Found<String>>,
}

/// A unit of age.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Weeks,
    Months,
    Years,
}

impl Unit {
    fn months(self, value: f64) -> f64 {
        match self {
            Unit::Weeks => (value * 7.0 / DAYS_PER_MONTH * 100.0).round() / 100.0,
            Unit::Months => value,
            Unit::Years => value * 12.0,
        }
    }
}

/// A slot of a rule's phrase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Min,
    Max,
    Age,
}

/// One element of a rule's phrase.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Elem {
    Word(String),
    Slot(Slot),
    Language,
}

/// What a rule gives.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    FromPregnancy,
    PregnancyOnly,
    NotPregnancy,
    Ages,
    Min(f64),
    Max(f64),
    Audience(&'static str),
    Everyone,
    Bereaved,
    LanguageCommunity,
    Level(&'static str),
    SelfReferral,
    ProfessionalOnly,
    Ignore,
    Pregnant,
    Age,
    Language,
}

/// A phrase and what it gives.
#[derive(Clone, Debug)]
struct Rule {
    elems: Vec<Elem>,
    values: Vec<Value>,
}

/// The parsed rules.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    numbers: HashMap<String, f64>,
    plural_numbers: HashSet<String>,
    units: HashMap<String, Unit>,
    languages: HashMap<String, Vec<String>>,
    child: HashSet<String>,
    adult: HashSet<String>,
    after_age: HashSet<String>,
    listing: Vec<Rule>,
    family: Vec<Rule>,
}

static BUILT_IN_RULES: LazyLock<Rules> =
    LazyLock::new(|| Rules::parse([BUILT_IN]).unwrap_or_default());

/// A word of a text, with where it is.
#[derive(Clone, Debug)]
struct Token {
    word: String,
    start: usize,
    end: usize,
}

/// A text as words, `None` for a break (end of a sentence or clause).
type Tokens = Vec<Option<Token>>;

/// Splits text into lower-case words and breaks: apostrophes are dropped, hyphens, slashes and
/// spaces separate words, `&` is "and", and `. , ; : ! ? ( ) [ ]` and new lines are breaks.
fn tokens(text: &str) -> Tokens {
    let mut out: Tokens = Vec::new();
    let mut current: Option<Token> = None;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let flush = |current: &mut Option<Token>, out: &mut Tokens| {
        if let Some(token) = current.take() {
            out.push(Some(token));
        }
    };
    for (i, &(at, c)) in chars.iter().enumerate() {
        let next_is_digit = chars.get(i + 1).is_some_and(|(_, n)| n.is_ascii_digit());
        let in_number = current
            .as_ref()
            .is_some_and(|t| t.word.chars().all(|d| d.is_ascii_digit()));
        if c.is_alphanumeric() || (c == '.' && in_number && next_is_digit) {
            let token = current.get_or_insert_with(|| Token {
                word: String::new(),
                start: at,
                end: at,
            });
            token.word.extend(c.to_lowercase());
            token.end = at + c.len_utf8();
        } else if matches!(c, '\'' | '\u{2019}' | '\u{2018}') {
            // Dropped: "dads'" is "dads", "women's" is "womens".
            if let Some(token) = current.as_mut() {
                token.end = at + c.len_utf8();
            }
        } else if c == '&' {
            flush(&mut current, &mut out);
            out.push(Some(Token {
                word: "and".to_owned(),
                start: at,
                end: at + 1,
            }));
        } else if matches!(
            c,
            '.' | ',' | ';' | ':' | '!' | '?' | '(' | ')' | '[' | ']' | '\n' | '|'
        ) {
            flush(&mut current, &mut out);
            if out.last().is_some_and(Option::is_some) {
                out.push(None);
            }
        } else {
            flush(&mut current, &mut out);
        }
    }
    flush(&mut current, &mut out);
    out
}

/// The words of a phrase in the rule file.
fn words(phrase: &str) -> Vec<String> {
    tokens(phrase)
        .into_iter()
        .flatten()
        .map(|t| t.word)
        .collect()
}

/// Expands `(a|b|)` alternatives into every phrase they make.
fn alternatives(phrase: &str) -> Result<Vec<String>, String> {
    let Some(open) = phrase.find('(') else {
        return Ok(vec![phrase.to_owned()]);
    };
    let close = phrase[open..]
        .find(')')
        .map(|c| open + c)
        .ok_or_else(|| format!("unclosed ( in {phrase:?}"))?;
    let (before, choices, after) = (
        &phrase[..open],
        &phrase[open + 1..close],
        &phrase[close + 1..],
    );
    let mut out = Vec::new();
    for choice in choices.split('|') {
        out.extend(alternatives(&format!("{before} {choice} {after}"))?);
    }
    Ok(out)
}

/// An age found in a text.
#[derive(Clone, Copy, Debug)]
struct Age {
    value: f64,
    unit: Option<Unit>,
    plural: bool,
}

/// A rule matched in a text.
#[derive(Clone, Debug)]
struct Match<'r> {
    rule: &'r Rule,
    start: usize,
    end: usize,
    ages: Vec<(Slot, Age)>,
    languages: Vec<String>,
}

impl Match<'_> {
    fn phrase<'t>(&self, text: &'t str, toks: &Tokens) -> &'t str {
        let start = toks[self.start].as_ref().map_or(0, |t| t.start);
        let end = toks[self.end - 1].as_ref().map_or(start, |t| t.end);
        text.get(start..end).unwrap_or_default()
    }

    fn gives(&self, value: &Value) -> bool {
        self.rule.values.contains(value)
    }
}

impl Rules {
    /// The rules shipped with Signpost.
    pub fn built_in() -> &'static Rules {
        &BUILT_IN_RULES
    }

    /// Parses one or more rule files, later ones adding to earlier ones.
    pub fn parse<'a>(sources: impl IntoIterator<Item = &'a str>) -> Result<Self, RuleError> {
        let mut rules = Self::default();
        let mut line_number = 0;
        for source in sources {
            let mut section = String::new();
            let mut pending = String::new();
            let mut pending_line = 0;
            for line in source.lines() {
                line_number += 1;
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                    if !pending.is_empty() {
                        return Err(RuleError {
                            line: pending_line,
                            message: "a rule or list without `=>` or `=`".into(),
                        });
                    }
                    section = name.trim().to_lowercase();
                    continue;
                }
                // A line ending in a comma continues on the next.
                if pending.is_empty() {
                    pending_line = line_number;
                }
                pending.push(' ');
                pending.push_str(line);
                let continues = line.ends_with(',');
                let list_without_value =
                    matches!(section.as_str(), "after age" | "child" | "adult") && !continues;
                if continues || (!line.contains('=') && !list_without_value) {
                    continue;
                }
                let entry = std::mem::take(&mut pending);
                rules
                    .add(&section, entry.trim())
                    .map_err(|message| RuleError {
                        line: pending_line,
                        message,
                    })?;
            }
            if !pending.trim().is_empty() {
                let entry = std::mem::take(&mut pending);
                rules
                    .add(&section, entry.trim())
                    .map_err(|message| RuleError {
                        line: pending_line,
                        message,
                    })?;
            }
        }
        Ok(rules)
    }

    fn add(&mut self, section: &str, entry: &str) -> Result<(), String> {
        let names = |side: &str| -> Vec<String> {
            side.split(',')
                .map(|p| words(p).join(" "))
                .filter(|p| !p.is_empty())
                .collect()
        };
        match section {
            "after age" => {
                for name in names(entry) {
                    self.after_age.insert(name);
                }
                Ok(())
            }
            "numbers" | "units" | "languages" | "child" | "adult" => {
                let (left, right) = match entry.split_once('=') {
                    Some((left, right)) => (left, right.trim()),
                    None => (entry, ""),
                };
                for name in names(left) {
                    self.add_word(section, name, right)?;
                }
                Ok(())
            }
            "listing" | "family" => {
                let (left, right) = entry
                    .split_once("=>")
                    .ok_or_else(|| format!("a rule needs `=>`: {entry:?}"))?;
                let values = parse_values(section, right)?;
                for phrase in left.split(',') {
                    for expanded in alternatives(phrase)? {
                        let elems = elements(&expanded)?;
                        if elems.is_empty() {
                            continue;
                        }
                        let target = if section == "listing" {
                            &mut self.listing
                        } else {
                            &mut self.family
                        };
                        match target.iter_mut().find(|r| r.elems == elems) {
                            Some(rule) => {
                                for value in &values {
                                    if !rule.values.contains(value) {
                                        rule.values.push(value.clone());
                                    }
                                }
                            }
                            None => target.push(Rule {
                                elems,
                                values: values.clone(),
                            }),
                        }
                    }
                }
                Ok(())
            }
            "" => Err("a line before any [section]".into()),
            other => Err(format!("unknown section [{other}]")),
        }
    }

    fn add_word(&mut self, section: &str, name: String, value: &str) -> Result<(), String> {
        match section {
            "numbers" => {
                let number: f64 = value
                    .parse()
                    .map_err(|_| format!("not a number: {value:?}"))?;
                if name.ends_with('s') && name != "newborns" {
                    self.plural_numbers.insert(name.clone());
                }
                self.numbers.insert(name, number);
            }
            "units" => {
                let unit = match value {
                    "weeks" => Unit::Weeks,
                    "months" => Unit::Months,
                    "years" => Unit::Years,
                    other => return Err(format!("unknown unit {other:?}")),
                };
                self.units.insert(name, unit);
            }
            "languages" => {
                let codes: Vec<String> = value.split_whitespace().map(str::to_lowercase).collect();
                if codes.iter().any(|c| c.len() != 2) {
                    return Err(format!("not ISO 639-1 codes: {value:?}"));
                }
                self.languages.entry(name).or_default().extend(codes);
            }
            "child" => {
                self.child.insert(name);
            }
            _ => {
                self.adult.insert(name);
            }
        }
        Ok(())
    }

    /// How many listing and family rules there are.
    pub fn len(&self) -> usize {
        self.listing.len() + self.family.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ISO 639-1 codes a language or community name implies (`polish`, `Roma`).
    pub fn language_codes(&self, name: &str) -> Option<&[String]> {
        self.languages
            .get(&words(name).join(" "))
            .map(Vec::as_slice)
    }

    /// A number at `toks[i]`: its value and whether it is a plural ("4s", "twos").
    fn number(&self, word: &str) -> Option<(f64, bool)> {
        if let Ok(value) = word.parse::<f64>() {
            return value.is_finite().then_some((value, false));
        }
        if let Some(digits) = word.strip_suffix('s')
            && let Ok(value) = digits.parse::<f64>()
        {
            return value.is_finite().then_some((value, true));
        }
        let value = *self.numbers.get(word)?;
        Some((value, self.plural_numbers.contains(word)))
    }

    /// An age at `toks[i]`, with where it ends; `next` is the rule's next word, which may
    /// follow a number written without a unit.
    fn age_at(&self, toks: &Tokens, i: usize, next: Option<&str>) -> Option<(Age, usize)> {
        let word = &toks.get(i)?.as_ref()?.word;
        let (value, plural) = self.number(word)?;
        let following = toks.get(i + 1).and_then(Option::as_ref).map(|t| &t.word);
        if let Some(unit) = following.and_then(|w| self.units.get(w.as_str())) {
            let age = Age {
                value,
                unit: Some(*unit),
                plural,
            };
            return Some((age, i + 2));
        }
        if matches!(word.as_str(), "a" | "an") {
            return None;
        }
        let ok = match following {
            None => true,
            Some(w) => Some(w.as_str()) == next || self.after_age.contains(w.as_str()) || plural,
        };
        ok.then_some((
            Age {
                value,
                unit: None,
                plural,
            },
            i + 1,
        ))
    }

    /// A language name at `toks[i]`, longest first, with where it ends.
    fn language_at(&self, toks: &Tokens, i: usize) -> Option<(Vec<String>, usize)> {
        for len in (1..=LONGEST_LANGUAGE).rev() {
            let Some(slice) = toks.get(i..i + len) else {
                continue;
            };
            let Some(words) = slice
                .iter()
                .map(|t| t.as_ref().map(|t| t.word.as_str()))
                .collect::<Option<Vec<&str>>>()
            else {
                continue;
            };
            if let Some(codes) = self.languages.get(&words.join(" ")) {
                return Some((codes.clone(), i + len));
            }
        }
        None
    }

    /// `rule` matched at `toks[start]`.
    fn match_at<'r>(&self, rule: &'r Rule, toks: &Tokens, start: usize) -> Option<Match<'r>> {
        let mut at = start;
        let mut ages = Vec::new();
        let mut languages = Vec::new();
        for (n, elem) in rule.elems.iter().enumerate() {
            match elem {
                Elem::Word(word) => {
                    if toks.get(at)?.as_ref()?.word != *word {
                        return None;
                    }
                    at += 1;
                }
                Elem::Slot(slot) => {
                    let next = match rule.elems.get(n + 1) {
                        Some(Elem::Word(w)) => Some(w.as_str()),
                        _ => None,
                    };
                    let (age, end) = self.age_at(toks, at, next)?;
                    if *slot == Slot::Age && rule.elems.len() == 1 && age.unit.is_none() {
                        return None;
                    }
                    ages.push((*slot, age));
                    at = end;
                }
                Elem::Language => {
                    let (codes, end) = self.language_at(toks, at)?;
                    languages.extend(codes);
                    at = end;
                }
            }
        }
        Some(Match {
            rule,
            start,
            end: at,
            ages,
            languages,
        })
    }

    /// The rules of `rules` matched in `toks`, leftmost longest, never overlapping; IGNORE
    /// matches are dropped.
    fn matches<'r>(&self, rules: &'r [Rule], toks: &Tokens) -> Vec<Match<'r>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            let best = rules
                .iter()
                .filter_map(|rule| self.match_at(rule, toks, i))
                .max_by_key(|m| m.end);
            match best {
                Some(found) => {
                    i = found.end.max(i + 1);
                    if !found.gives(&Value::Ignore) {
                        out.push(found);
                    }
                }
                None => i += 1,
            }
        }
        out
    }

    /// Whether an age match is about the child: a unit of weeks or months, a plural ("under
    /// 5s"), a child word in the phrase, or the nearest person word before it in its clause a
    /// child word; with no such word, only ages up to five years. Never over 19 years.
    fn about_child(&self, found: &Match<'_>, toks: &Tokens, months: &[f64]) -> bool {
        if months.iter().any(|m| *m > OLDEST_CHILD_MONTHS || *m < 0.0) {
            return false;
        }
        let small_unit = found
            .ages
            .iter()
            .any(|(_, a)| matches!(a.unit, Some(Unit::Weeks | Unit::Months)));
        let plural = found.ages.iter().any(|(_, a)| a.plural);
        let child_in_phrase = found
            .rule
            .elems
            .iter()
            .any(|e| matches!(e, Elem::Word(w) if self.child.contains(w)));
        if small_unit || plural || child_in_phrase {
            return true;
        }
        for i in (0..found.start).rev() {
            let Some(token) = &toks[i] else { break };
            let two = i
                .checked_sub(1)
                .and_then(|j| toks[j].as_ref())
                .map(|prev| format!("{} {}", prev.word, token.word));
            if self.child.contains(&token.word)
                || two.as_ref().is_some_and(|t| self.child.contains(t))
            {
                return true;
            }
            if self.adult.contains(&token.word)
                || two.as_ref().is_some_and(|t| self.adult.contains(t))
            {
                return false;
            }
        }
        months.iter().all(|m| *m <= OLDEST_UNCLAIMED_MONTHS)
    }

    /// The ages of a match in months: (youngest, oldest), when it is about the child.
    fn ages_of(&self, found: &Match<'_>, toks: &Tokens) -> Option<(Option<f64>, Option<f64>)> {
        let unit_of_range = found.ages.iter().find_map(|(_, a)| a.unit);
        let has_min = found.ages.iter().any(|(s, _)| *s == Slot::Min);
        let mut min = None;
        let mut max = None;
        for (slot, age) in &found.ages {
            let unit = age.unit.or(unit_of_range).unwrap_or(Unit::Years);
            let mut months = unit.months(age.value);
            // "0 to 4s": children aged 0 to 4, so up to their fifth birthday.
            if *slot == Slot::Max && has_min && age.plural && age.unit.is_none() {
                months += 12.0;
            }
            match slot {
                Slot::Min => min = Some(months),
                Slot::Max | Slot::Age => max = Some(months),
            }
        }
        for value in &found.rule.values {
            match value {
                Value::Min(m) => min = Some(*m),
                Value::Max(m) => max = Some(*m),
                _ => {}
            }
        }
        if let (Some(lo), Some(hi)) = (min, max)
            && lo > hi
        {
            return None;
        }
        let months: Vec<f64> = min.into_iter().chain(max).collect();
        if !found.ages.is_empty() && !self.about_child(found, toks, &months) {
            return None;
        }
        Some((min, max))
    }

    /// Reads a listing's eligibility from one text (an eligibility description, a description,
    /// a name or referral instructions).
    pub fn read_listing(&self, text: &str) -> Reading {
        let toks = tokens(text);
        let found = self.matches(&self.listing, &toks);
        let phrase = |m: &Match<'_>| m.phrase(text, &toks).to_owned();
        let mut reading = Reading::default();

        // Pregnancy.
        let only = found.iter().find(|m| m.gives(&Value::PregnancyOnly));
        let from = found.iter().find(|m| m.gives(&Value::FromPregnancy));
        let not = found.iter().find(|m| m.gives(&Value::NotPregnancy));
        if let Some(m) = only.or(from) {
            reading.from_pregnancy = Some(Found::new(true, phrase(m)));
        } else if let Some(m) = not {
            reading.from_pregnancy = Some(Found::new(false, phrase(m)));
        }

        // Ages: the widest range the text gives.
        for m in found.iter().filter(|m| {
            m.gives(&Value::Ages)
                || m.rule
                    .values
                    .iter()
                    .any(|v| matches!(v, Value::Min(_) | Value::Max(_)))
        }) {
            let Some((min, max)) = self.ages_of(m, &toks) else {
                continue;
            };
            if let Some(min) = min
                && reading
                    .min_age_months
                    .as_ref()
                    .is_none_or(|f| min < f.value)
            {
                reading.min_age_months = Some(Found::new(min, phrase(m)));
            }
            if let Some(max) = max
                && reading
                    .max_age_months
                    .as_ref()
                    .is_none_or(|f| max > f.value)
            {
                reading.max_age_months = Some(Found::new(max, phrase(m)));
            }
        }
        if let Some(m) = only {
            reading.max_age_months = Some(Found::new(0.0, phrase(m)));
        }

        reading.audiences = self.audiences(&found, &toks, text);
        let community: Vec<&Match<'_>> = found
            .iter()
            .filter(|m| m.gives(&Value::LanguageCommunity) && !m.languages.is_empty())
            .collect();
        if !community.is_empty() {
            let mut codes: Vec<String> = Vec::new();
            for m in &community {
                for code in &m.languages {
                    if !codes.contains(code) {
                        codes.push(code.clone());
                    }
                }
            }
            reading.languages = Some(Found::new(codes, join(community.iter().map(|m| phrase(m)))));
        }

        // Level of need: the highest named.
        for wanted in [level::SPECIALIST, level::TARGETED, level::UNIVERSAL] {
            if let Some(m) = found.iter().find(|m| m.gives(&Value::Level(wanted))) {
                reading.level_of_need = Some(Found::new(wanted, phrase(m)));
                break;
            }
        }

        // Referral: a family may refer itself when any phrase says so.
        if let Some(m) = found.iter().find(|m| m.gives(&Value::SelfReferral)) {
            reading.self_referral = Some(Found::new(true, phrase(m)));
        } else if let Some(m) = found.iter().find(|m| m.gives(&Value::ProfessionalOnly)) {
            reading.self_referral = Some(Found::new(false, phrase(m)));
        }
        reading
    }

    /// Who a listing is for, from its matches: the people named (those followed by "only"
    /// always, the others when nobody more general is named), and the qualifiers BEREAVED and
    /// LANGUAGE_COMMUNITY.
    fn audiences(
        &self,
        found: &[Match<'_>],
        toks: &Tokens,
        text: &str,
    ) -> Option<Found<Vec<String>>> {
        let followed_by_only = |m: &Match<'_>| {
            toks.get(m.end)
                .and_then(Option::as_ref)
                .is_some_and(|t| t.word == "only")
        };
        let people = |m: &&Match<'_>| {
            m.rule
                .values
                .iter()
                .any(|v| matches!(v, Value::Audience(_)))
        };
        let strong: Vec<&Match<'_>> = found
            .iter()
            .filter(people)
            .filter(|m| followed_by_only(m))
            .collect();
        let named: Vec<&Match<'_>> = found.iter().filter(people).collect();
        let everyone: Vec<&Match<'_>> =
            found.iter().filter(|m| m.gives(&Value::Everyone)).collect();
        let chosen: Vec<&Match<'_>> = if !strong.is_empty() {
            strong
        } else if everyone.is_empty() {
            named
        } else {
            Vec::new()
        };
        let qualifiers: Vec<&Match<'_>> = found
            .iter()
            .filter(|m| {
                m.gives(&Value::Bereaved)
                    || (m.gives(&Value::LanguageCommunity) && !m.languages.is_empty())
            })
            .collect();
        let mut codes: Vec<String> = Vec::new();
        let mut push = |code: &str| {
            if !codes.iter().any(|c| c == code) {
                codes.push(code.to_owned());
            }
        };
        for m in chosen.iter().chain(&qualifiers) {
            for value in &m.rule.values {
                match value {
                    Value::Audience(code) => push(code),
                    Value::Bereaved => push(audience::BEREAVED),
                    Value::LanguageCommunity if !m.languages.is_empty() => {
                        push(audience::LANGUAGE_COMMUNITY)
                    }
                    _ => {}
                }
            }
        }
        let sources: Vec<&Match<'_>> = if codes.is_empty() {
            everyone
        } else {
            chosen.into_iter().chain(qualifiers).collect()
        };
        if sources.is_empty() {
            return None;
        }
        let mut sources = sources;
        sources.sort_by_key(|m| m.start);
        Some(Found::new(
            codes,
            join(sources.iter().map(|m| m.phrase(text, toks).to_owned())),
        ))
    }

    /// Reads the family a professional describes ("dad struggling, 6 week old", "Polish mum,
    /// 30 weeks pregnant").
    pub fn read_family(&self, text: &str) -> Family {
        let toks = tokens(text);
        let found = self.matches(&self.family, &toks);
        let mut family = Family::default();
        for m in &found {
            let phrase = m.phrase(text, &toks).to_owned();
            for value in &m.rule.values {
                match value {
                    Value::Audience(code) if !family.audiences.iter().any(|a| a.value == *code) => {
                        family
                            .audiences
                            .push(Found::new((*code).to_owned(), phrase.clone()));
                    }
                    Value::Pregnant => {
                        family
                            .pregnant
                            .get_or_insert_with(|| Found::new(true, phrase.clone()));
                    }
                    Value::Bereaved => {
                        family
                            .bereaved
                            .get_or_insert_with(|| Found::new(true, phrase.clone()));
                    }
                    Value::Age if family.infant_age_months.is_none() => {
                        if let Some((_, Some(months))) = self.ages_of(m, &toks) {
                            family.infant_age_months = Some(Found::new(months, phrase.clone()));
                        }
                    }
                    Value::Language => {
                        for code in &m.languages {
                            if !family.languages.iter().any(|l| l.value == *code) {
                                family
                                    .languages
                                    .push(Found::new(code.clone(), phrase.clone()));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        family
    }
}

fn join(phrases: impl Iterator<Item = String>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for phrase in phrases {
        if !seen.contains(&phrase) {
            seen.push(phrase);
        }
    }
    seen.join("; ")
}

/// The elements of a rule's phrase.
fn elements(phrase: &str) -> Result<Vec<Elem>, String> {
    let mut elems = Vec::new();
    let mut rest = phrase;
    while let Some(open) = rest.find('{') {
        elems.extend(words(&rest[..open]).into_iter().map(Elem::Word));
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .ok_or_else(|| format!("unclosed {{ in {phrase:?}"))?;
        elems.push(match rest[open + 1..close].trim() {
            "min" => Elem::Slot(Slot::Min),
            "max" => Elem::Slot(Slot::Max),
            "age" => Elem::Slot(Slot::Age),
            "language" => Elem::Language,
            other => return Err(format!("unknown slot {{{other}}}")),
        });
        rest = &rest[close + 1..];
    }
    elems.extend(words(rest).into_iter().map(Elem::Word));
    Ok(elems)
}

/// The values after a rule's `=>`.
fn parse_values(section: &str, text: &str) -> Result<Vec<Value>, String> {
    let mut values = Vec::new();
    let mut items = text.split_whitespace();
    while let Some(item) = items.next() {
        let value = match (section, item) {
            (_, "IGNORE") => Value::Ignore,
            (_, "MOTHERS") => Value::Audience(audience::MOTHERS),
            (_, "FATHERS") => Value::Audience(audience::FATHERS),
            (_, "CO_PARENTS") => Value::Audience(audience::CO_PARENTS),
            (_, "CARERS") => Value::Audience(audience::CARERS),
            (_, "BEREAVED") => Value::Bereaved,
            ("listing", "WHOLE_FAMILY") => Value::Audience(audience::WHOLE_FAMILY),
            ("listing", "FROM_PREGNANCY") => Value::FromPregnancy,
            ("listing", "PREGNANCY_ONLY") => Value::PregnancyOnly,
            ("listing", "NOT_PREGNANCY") => Value::NotPregnancy,
            ("listing", "AGES") => Value::Ages,
            ("listing", "EVERYONE") => Value::Everyone,
            ("listing", "LANGUAGE_COMMUNITY") => Value::LanguageCommunity,
            ("listing", "SPECIALIST") => Value::Level(level::SPECIALIST),
            ("listing", "TARGETED") => Value::Level(level::TARGETED),
            ("listing", "UNIVERSAL") => Value::Level(level::UNIVERSAL),
            ("listing", "SELF_REFERRAL") => Value::SelfReferral,
            ("listing", "PROFESSIONAL_REFERRAL_ONLY") => Value::ProfessionalOnly,
            ("listing", "min" | "max") => {
                let months: f64 = items
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| format!("{item} needs a number of months"))?;
                if item == "min" {
                    Value::Min(months)
                } else {
                    Value::Max(months)
                }
            }
            ("family", "PREGNANT") => Value::Pregnant,
            ("family", "AGE") => Value::Age,
            ("family", "LANGUAGE") => Value::Language,
            (_, other) => return Err(format!("unknown value {other:?} in [{section}]")),
        };
        values.push(value);
    }
    if values.is_empty() {
        return Err("a rule needs a value after `=>`".into());
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> &'static Rules {
        static RULES: LazyLock<Rules> = LazyLock::new(|| match Rules::parse([BUILT_IN]) {
            Ok(rules) => rules,
            Err(err) => panic!("{err}"),
        });
        &RULES
    }

    fn read(text: &str) -> Reading {
        rules().read_listing(text)
    }

    fn ages(text: &str) -> (Option<f64>, Option<f64>) {
        let r = read(text);
        (
            r.min_age_months.map(|f| f.value),
            r.max_age_months.map(|f| f.value),
        )
    }

    fn audiences(text: &str) -> Option<Vec<String>> {
        read(text).audiences.map(|f| f.value)
    }

    fn codes(list: &[&str]) -> Option<Vec<String>> {
        Some(list.iter().map(|c| (*c).to_owned()).collect())
    }

    #[test]
    fn the_built_in_rules_parse() {
        assert!(Rules::parse([BUILT_IN]).is_ok());
        assert!(Rules::built_in().len() > 100);
        assert_eq!(
            Rules::built_in().language_codes("Roma"),
            Some(&["sk".to_owned(), "cs".to_owned(), "ro".to_owned()][..])
        );
    }

    #[test]
    fn an_extension_file_adds_rules_and_bad_lines_are_reported() {
        let extra = "[listing]\nbabes in arms => AGES max 12\n[languages]\nklingon = kl\n";
        let rules = Rules::parse([BUILT_IN, extra]).unwrap_or_default();
        let r = rules.read_listing("For babes in arms.");
        assert_eq!(r.max_age_months.map(|f| f.value), Some(12.0));
        assert!(rules.language_codes("klingon").is_some());
        let err = Rules::parse(["[listing]\nfoo => NOTHING\n"]).err();
        assert_eq!(err.map(|e| e.line), Some(2));
        assert!(
            Rules::parse(["foo = 1\n"]).is_err(),
            "a line before any section"
        );
        assert!(Rules::parse(["[nowhere]\nfoo = 1\n"]).is_err());
        assert!(Rules::parse(["[languages]\nfoo = xyz\n"]).is_err());
    }

    #[test]
    fn pregnancy_is_read_from_many_phrasings() {
        for text in [
            "For expectant mothers living in Plymouth.",
            "Mums-to-be and new mums.",
            "Parents-to-be welcome.",
            "From 20 weeks of pregnancy.",
            "Pregnant women registered with a GP.",
            "Antenatal support for families.",
            "Dads-to-be and male birth partners whose partner is pregnant.",
        ] {
            let r = read(text);
            assert_eq!(r.from_pregnancy.map(|f| f.value), Some(true), "{text}");
            assert_ne!(
                r.max_age_months.map(|f| f.value),
                Some(0.0),
                "not pregnancy only: {text}"
            );
            assert!(
                r.min_age_months.is_none(),
                "weeks of pregnancy are no age: {text}"
            );
        }
        let r = read("From 20 weeks of pregnancy.");
        assert_eq!(
            r.from_pregnancy.map(|f| f.phrase).as_deref(),
            Some("From 20 weeks of pregnancy")
        );
    }

    #[test]
    fn pregnancy_words_that_are_not_eligibility_are_not_read() {
        for text in [
            "For parents whose baby has died at any stage of pregnancy.",
            "Support after an ectopic pregnancy.",
            "Information about pregnancy sickness and pregnancy after loss.",
            "Families with babies under one.",
        ] {
            assert_ne!(
                read(text).from_pregnancy.map(|f| f.value),
                Some(true),
                "{text}"
            );
        }
        assert_eq!(
            read("Postnatal only.").from_pregnancy.map(|f| f.value),
            Some(false)
        );
    }

    #[test]
    fn pregnancy_only_sets_the_oldest_age_to_zero() {
        for text in [
            "Sessions are before the birth only.",
            "Support ends at the birth.",
            "Classes end when your baby is born.",
            "Women booked to give birth here, from booking until the birth.",
            "For pregnant women only.",
        ] {
            let r = read(text);
            assert_eq!(r.from_pregnancy.map(|f| f.value), Some(true), "{text}");
            assert_eq!(r.max_age_months.map(|f| f.value), Some(0.0), "{text}");
        }
    }

    #[test]
    fn child_ages_in_words_and_digits() {
        for (text, want) in [
            ("Babies aged 6 weeks to 6 months.", (Some(1.38), Some(6.0))),
            (
                "Babies from six weeks to six months old.",
                (Some(1.38), Some(6.0)),
            ),
            ("Families with babies under one.", (None, Some(12.0))),
            ("Families with children under five.", (None, Some(60.0))),
            ("Mothers of babies under 12 months.", (None, Some(12.0))),
            ("Stay and play for 0 to 4s.", (Some(0.0), Some(60.0))),
            ("Mums and babies up to one year.", (None, Some(12.0))),
            (
                "Dads and their children aged one to five.",
                (Some(12.0), Some(60.0)),
            ),
            (
                "Women who are pregnant or within a year of giving birth.",
                (None, Some(12.0)),
            ),
            (
                "For mums only, from pregnancy until your baby is two.",
                (None, Some(24.0)),
            ),
            ("Until the baby is one.", (None, Some(12.0))),
            (
                "From pregnancy to 12 months after birth.",
                (None, Some(12.0)),
            ),
            ("Under 5s and their carers.", (None, Some(60.0))),
            ("A group for under twos.", (None, Some(24.0))),
            (
                "Families with a child aged 0 to 5, or expecting a baby.",
                (Some(0.0), Some(60.0)),
            ),
            ("Until your baby's first birthday.", (None, Some(12.0))),
            ("Toddlers aged 12 to 36 months.", (Some(12.0), Some(36.0))),
        ] {
            assert_eq!(ages(text), want, "{text}");
        }
    }

    #[test]
    fn a_parents_age_is_never_read_as_the_childs() {
        for text in [
            "Adults aged 18 and over registered with a GP.",
            "Women aged 16 and over who live in Sheffield, and their children.",
            "People aged 16 and over, of any gender.",
            "Young parents under 25.",
            "Mums aged under 20.",
            "Up to 6 sessions at home.",
            "Open 9 to 5, Monday to Friday.",
            "Parents aged 25 to 35.",
        ] {
            assert_eq!(ages(text), (None, None), "{text}");
        }
        assert_eq!(
            ages("Health visiting for children aged 0 to 19."),
            (Some(0.0), Some(228.0))
        );
    }

    #[test]
    fn an_age_with_no_pregnancy_means_not_from_pregnancy_when_merged() {
        let merged = Reading::merge(&[read("Families with babies under 12 months.")]);
        assert_eq!(merged.from_pregnancy.map(|f| f.value), Some(false));
        let merged = Reading::merge(&[
            read("Families with babies under 12 months."),
            read("We also see pregnant women."),
        ]);
        assert_eq!(merged.from_pregnancy.map(|f| f.value), Some(true));
        assert_eq!(merged.max_age_months.map(|f| f.value), Some(12.0));
        let merged = Reading::merge(&[
            read("Families with babies under 12 months."),
            read("A check for babies aged 6 to 8 weeks."),
        ]);
        assert_eq!(merged.min_age_months, None, "a range comes from one text");
    }

    #[test]
    fn audiences_restrict_only_when_nobody_wider_is_named() {
        for (text, want) in [
            (
                "For dads and male carers of children under two.",
                codes(&["FATHERS"]),
            ),
            ("Fathers only.", codes(&["FATHERS"])),
            ("Men only.", codes(&["FATHERS"])),
            (
                "Dads-to-be and male birth partners whose partner is pregnant.",
                codes(&["FATHERS"]),
            ),
            ("Women only.", codes(&["MOTHERS"])),
            (
                "For mums only, from pregnancy until your baby is two.",
                codes(&["MOTHERS"]),
            ),
            (
                "Pregnant women and mothers of babies under 12 months.",
                codes(&["MOTHERS"]),
            ),
            ("Kinship carers and foster carers.", codes(&["CARERS"])),
            ("For co-parents and partners.", codes(&["CO_PARENTS"])),
            (
                "Women aged 16 and over, and their children. Women only.",
                codes(&["MOTHERS"]),
            ),
            ("Parents and carers of babies.", codes(&[])),
            ("Anyone affected by domestic abuse.", codes(&[])),
            ("People aged 16 and over, of any gender.", codes(&[])),
            (
                "Pregnant women, their partners and parents of babies.",
                codes(&[]),
            ),
            ("Expectant parents and babies under one.", codes(&[])),
            ("Support for new babies.", None),
        ] {
            assert_eq!(audiences(text), want, "{text}");
        }
    }

    #[test]
    fn bereaved_and_language_groups_qualify_who_it_is_for() {
        for (text, want) in [
            (
                "For bereaved parents and families only: anyone whose baby has died.",
                codes(&["BEREAVED"]),
            ),
            ("Parents whose baby has died.", codes(&["BEREAVED"])),
            ("A baby loss group.", codes(&["BEREAVED"])),
            (
                "For Somali-speaking mothers.",
                codes(&["LANGUAGE_COMMUNITY", "MOTHERS"]),
            ),
            (
                "Polish-speaking parents and parents-to-be.",
                codes(&["LANGUAGE_COMMUNITY"]),
            ),
            (
                "For Roma mothers and their children under five.",
                codes(&["LANGUAGE_COMMUNITY", "MOTHERS"]),
            ),
            (
                "For Arabic-speaking women who are pregnant.",
                codes(&["LANGUAGE_COMMUNITY", "MOTHERS"]),
            ),
            ("English-speaking parents.", codes(&[])),
        ] {
            let mut got = audiences(text);
            if let Some(list) = got.as_mut() {
                list.sort();
            }
            assert_eq!(got, want, "{text}");
        }
        let langs = |t: &str| read(t).languages.map(|f| f.value);
        assert_eq!(langs("For Somali-speaking mothers."), codes(&["so"]));
        assert_eq!(langs("Polish parents' line"), codes(&["pl"]));
        assert_eq!(
            langs("Roma mothers and babies group"),
            codes(&["sk", "cs", "ro"])
        );
        assert_eq!(langs("Parents living in Wales."), None);
        assert_eq!(langs("English-speaking parents."), None);
    }

    #[test]
    fn level_of_need_and_referral_route() {
        let level = |t: &str| read(t).level_of_need.map(|f| f.value);
        assert_eq!(
            level("A secondary care service for moderate to severe illness."),
            Some("SPECIALIST")
        );
        assert_eq!(
            level("For women with the highest level of need."),
            Some("SPECIALIST")
        );
        assert_eq!(
            level("Targeted support for mild to moderate anxiety."),
            Some("TARGETED")
        );
        assert_eq!(level("A friendly drop-in for families."), None);
        let referral = |t: &str| read(t).self_referral.map(|f| f.value);
        assert_eq!(referral("Professional referral only."), Some(false));
        assert_eq!(
            referral("Referral by a GP, midwife or health visitor only."),
            Some(false)
        );
        assert_eq!(referral("Needs a GP referral."), Some(false));
        assert_eq!(referral("You can self-refer online."), Some(true));
        assert_eq!(
            referral("Refer yourself or ask your GP for a GP referral."),
            Some(true)
        );
        assert_eq!(referral("Call us to book."), None);
        assert_eq!(
            referral("Referral by a GP or midwife only. We do not take self-referrals."),
            Some(false)
        );
        assert_eq!(referral("Self-referrals are not accepted."), Some(false));
        assert_eq!(
            level("Drop-ins with an infant feeding specialist for every family."),
            Some("UNIVERSAL")
        );
    }

    #[test]
    fn phrases_are_quoted_as_written() {
        let r = read("For Dads & male carers of children under two.");
        assert_eq!(
            r.audiences.map(|f| f.phrase).as_deref(),
            Some("Dads; male carers")
        );
        assert_eq!(
            r.max_age_months.map(|f| f.phrase).as_deref(),
            Some("under two")
        );
    }

    #[test]
    fn the_family_is_read_from_a_professionals_words() {
        let f = rules().read_family("Dad struggling, 6 week old baby, Polish family");
        let who: Vec<&str> = f.audiences.iter().map(|a| a.value.as_str()).collect();
        assert_eq!(who, ["FATHERS"]);
        assert_eq!(f.infant_age_months.map(|a| a.value), Some(1.38));
        assert_eq!(
            f.languages
                .iter()
                .map(|l| l.value.as_str())
                .collect::<Vec<_>>(),
            ["pl"]
        );
        assert!(f.pregnant.is_none() && f.bereaved.is_none());

        let f = rules().read_family("mum 30 weeks pregnant, low mood");
        assert_eq!(f.pregnant.map(|p| p.value), Some(true));
        assert!(
            f.infant_age_months.is_none(),
            "weeks of pregnancy are no age"
        );
        assert_eq!(
            f.audiences.first().map(|a| a.value.as_str()),
            Some("MOTHERS")
        );

        let f = rules().read_family("she lost the baby at 20 weeks");
        assert_eq!(f.bereaved.map(|b| b.value), Some(true));

        for (text, months) in [
            ("4 months", Some(4.0)),
            ("18 month old not sleeping", Some(18.0)),
            ("a 2 year old", Some(24.0)),
            ("3 children", None),
            ("postnatal depression", None),
        ] {
            let f = rules().read_family(text);
            assert_eq!(f.infant_age_months.map(|a| a.value), months, "{text}");
        }
        let f = rules().read_family("Somali-speaking mum, expecting");
        assert_eq!(f.languages.first().map(|l| l.value.as_str()), Some("so"));
        assert_eq!(f.pregnant.map(|p| p.value), Some(true));
        assert!(
            rules()
                .read_family("english speaking family")
                .languages
                .is_empty()
        );
    }

    #[test]
    fn the_family_in_health_visitors_words() {
        let who = |text: &str| -> Vec<String> {
            rules()
                .read_family(text)
                .audiences
                .into_iter()
                .map(|a| a.value)
                .collect()
        };
        assert_eq!(
            who("dad struggling with his mood, baby is 4 months"),
            ["FATHERS"]
        );
        assert_eq!(who("mum feeling really low since the birth"), ["MOTHERS"]);
        assert_eq!(
            who("arabic speaking mum wants to meet other mums"),
            ["MOTHERS"]
        );
        assert_eq!(who("severe fear of giving birth, tokophobia"), ["MOTHERS"]);
        assert!(
            who("baby massage or a baby group, she's 8 months").is_empty(),
            "pronouns are about the baby"
        );
        let f = rules().read_family("dad to be really anxious about the birth");
        assert_eq!(f.pregnant.map(|p| p.value), Some(true));
        let f = rules().read_family("Roma mum, speaks Slovak, isolated with new baby");
        let who: Vec<&str> = f.audiences.iter().map(|a| a.value.as_str()).collect();
        assert_eq!(who, ["MOTHERS"]);
        let languages: Vec<String> = f.languages.into_iter().map(|l| l.value).collect();
        assert!(languages.contains(&"sk".to_owned()), "{languages:?}");
        assert!(rules().read_family("stillbirth support").bereaved.is_some());
        assert!(
            rules()
                .read_family("baby died at 2 weeks old")
                .bereaved
                .is_some()
        );
        let f = rules().read_family("Polish mum with postnatal depression, not much English");
        let languages: Vec<String> = f.languages.into_iter().map(|l| l.value).collect();
        assert_eq!(languages, ["pl"]);
    }

    #[test]
    fn tokens_keep_where_each_word_is() {
        let toks = tokens("Mums-to-be, dads' group (0-4s).");
        let words: Vec<Option<&str>> = toks
            .iter()
            .map(|t| t.as_ref().map(|t| t.word.as_str()))
            .collect();
        assert_eq!(
            words,
            [
                Some("mums"),
                Some("to"),
                Some("be"),
                None,
                Some("dads"),
                Some("group"),
                None,
                Some("0"),
                Some("4s"),
                None
            ]
        );
        assert_eq!(
            alternatives("until (the|your|) baby").map(|a| a.len()),
            Ok(3)
        );
    }
}
