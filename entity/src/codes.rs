//! The code tables behind stored columns, in one place: languages (ISO 639-1), weekdays,
//! service statuses, times of day and age limits. Every reader and writer of these values (the
//! editing validators, the GraphQL filters, the Open Referral importer, exporter and REST face)
//! goes through this module, so they cannot disagree.

use crate::ServiceStatus;

/// The oldest age, in months, a service's age range or an age filter may name (five years).
pub const MAX_AGE_MONTHS: f64 = 60.0;

// ---------------------------------------------------------------------------------------------
// Languages

/// A language of ISO 639-1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Language {
    /// The ISO 639-1 code, lower case (`cy`): what Signpost stores.
    pub code: &'static str,
    /// The ISO 639-3 code, which is also ISO 639-2's terminology code (`cym`).
    pub code_639_3: &'static str,
    /// ISO 639-2's bibliographic code (`wel`); the same as [`Language::code_639_3`] for most.
    pub code_639_2b: &'static str,
    /// The English name (`Welsh`).
    pub english: &'static str,
    /// The language's name for itself (`Cymraeg`), where known.
    pub endonym: Option<&'static str>,
}

const fn language(
    code: &'static str,
    code_639_3: &'static str,
    code_639_2b: &'static str,
    english: &'static str,
    endonym: &'static str,
) -> Language {
    Language {
        code,
        code_639_3,
        code_639_2b,
        english,
        endonym: if endonym.is_empty() {
            None
        } else {
            Some(endonym)
        },
    }
}

/// The 183 current ISO 639-1 languages, sorted by code (withdrawn codes such as `iw`, `in`,
/// `ji`, `jw`, `mo`, `sh` and `bh` are left out).
pub const LANGUAGES: [Language; 183] = [
    language("aa", "aar", "aar", "Afar", "Qafar"),
    language("ab", "abk", "abk", "Abkhazian", "аҧсуа бызшәа"),
    language("ae", "ave", "ave", "Avestan", ""),
    language("af", "afr", "afr", "Afrikaans", "Afrikaans"),
    language("ak", "aka", "aka", "Akan", "Akan"),
    language("am", "amh", "amh", "Amharic", "አማርኛ"),
    language("an", "arg", "arg", "Aragonese", "Aragonés"),
    language("ar", "ara", "ara", "Arabic", "العربية"),
    language("as", "asm", "asm", "Assamese", "অসমীয়া"),
    language("av", "ava", "ava", "Avar", "авар мацӀ"),
    language("ay", "aym", "aym", "Aymara", "Aymar aru"),
    language("az", "aze", "aze", "Azerbaijani", "azərbaycan"),
    language("ba", "bak", "bak", "Bashkir", "башҡорт теле"),
    language("be", "bel", "bel", "Belarusian", "беларуская"),
    language("bg", "bul", "bul", "Bulgarian", "български"),
    language("bi", "bis", "bis", "Bislama", "Bislama"),
    language("bm", "bam", "bam", "Bambara", "bamanakan"),
    language("bn", "ben", "ben", "Bengali", "বাংলা"),
    language("bo", "bod", "tib", "Tibetan", "བོད་སྐད་"),
    language("br", "bre", "bre", "Breton", "brezhoneg"),
    language("bs", "bos", "bos", "Bosnian", "bosanski"),
    language("ca", "cat", "cat", "Catalan", "català"),
    language("ce", "che", "che", "Chechen", "нохчийн"),
    language("ch", "cha", "cha", "Chamorro", "Chamorru"),
    language("co", "cos", "cos", "Corsican", "Corsu"),
    language("cr", "cre", "cre", "Cree", ""),
    language("cs", "ces", "cze", "Czech", "čeština"),
    language(
        "cu",
        "chu",
        "chu",
        "Old Church Slavonic",
        "церковнослове́нскїй",
    ),
    language("cv", "chv", "chv", "Chuvash", "Чӑвашла"),
    language("cy", "cym", "wel", "Welsh", "Cymraeg"),
    language("da", "dan", "dan", "Danish", "dansk"),
    language("de", "deu", "ger", "German", "Deutsch"),
    language("dv", "div", "div", "Divehi", "ދިވެހިބަސް"),
    language("dz", "dzo", "dzo", "Dzongkha", "རྫོང་ཁ"),
    language("ee", "ewe", "ewe", "Ewe", "Eʋegbe"),
    language("el", "ell", "gre", "Greek", "Ελληνικά"),
    language("en", "eng", "eng", "English", "English"),
    language("eo", "epo", "epo", "Esperanto", "esperanto"),
    language("es", "spa", "spa", "Spanish", "español"),
    language("et", "est", "est", "Estonian", "eesti"),
    language("eu", "eus", "baq", "Basque", "euskara"),
    language("fa", "fas", "per", "Persian", "فارسی"),
    language("ff", "ful", "ful", "Fula", "Pulaar"),
    language("fi", "fin", "fin", "Finnish", "suomi"),
    language("fj", "fij", "fij", "Fijian", "vosa Vakaviti"),
    language("fo", "fao", "fao", "Faroese", "føroyskt"),
    language("fr", "fra", "fre", "French", "français"),
    language("fy", "fry", "fry", "Western Frisian", "Frysk"),
    language("ga", "gle", "gle", "Irish", "Gaeilge"),
    language("gd", "gla", "gla", "Scottish Gaelic", "Gàidhlig"),
    language("gl", "glg", "glg", "Galician", "galego"),
    language("gn", "grn", "grn", "Guarani", "Avañe'ẽ"),
    language("gu", "guj", "guj", "Gujarati", "ગુજરાતી"),
    language("gv", "glv", "glv", "Manx", "Gaelg"),
    language("ha", "hau", "hau", "Hausa", "Hausa"),
    language("he", "heb", "heb", "Hebrew", "עברית"),
    language("hi", "hin", "hin", "Hindi", "हिन्दी"),
    language("ho", "hmo", "hmo", "Hiri Motu", "Hiri Motu"),
    language("hr", "hrv", "hrv", "Croatian", "hrvatski"),
    language("ht", "hat", "hat", "Haitian Creole", "Kreyòl ayisyen"),
    language("hu", "hun", "hun", "Hungarian", "magyar"),
    language("hy", "hye", "arm", "Armenian", "հայերեն"),
    language("hz", "her", "her", "Herero", "Otjiherero"),
    language("ia", "ina", "ina", "Interlingua", "interlingua"),
    language("id", "ind", "ind", "Indonesian", "Bahasa Indonesia"),
    language("ie", "ile", "ile", "Interlingue", "Interlingue"),
    language("ig", "ibo", "ibo", "Igbo", "Igbo"),
    language("ii", "iii", "iii", "Nuosu", "ꆈꌠꉙ"),
    language("ik", "ipk", "ipk", "Inupiaq", "Iñupiaq"),
    language("io", "ido", "ido", "Ido", "Ido"),
    language("is", "isl", "ice", "Icelandic", "íslenska"),
    language("it", "ita", "ita", "Italian", "italiano"),
    language("iu", "iku", "iku", "Inuktitut", "ᐃᓄᒃᑎᑐᑦ"),
    language("ja", "jpn", "jpn", "Japanese", "日本語"),
    language("jv", "jav", "jav", "Javanese", "Basa Jawa"),
    language("ka", "kat", "geo", "Georgian", "ქართული"),
    language("kg", "kon", "kon", "Kongo", "Kikongo"),
    language("ki", "kik", "kik", "Kikuyu", "Gikuyu"),
    language("kj", "kua", "kua", "Kwanyama", "Oshikwanyama"),
    language("kk", "kaz", "kaz", "Kazakh", "қазақ тілі"),
    language("kl", "kal", "kal", "Kalaallisut", "kalaallisut"),
    language("km", "khm", "khm", "Khmer", "ខ្មែរ"),
    language("kn", "kan", "kan", "Kannada", "ಕನ್ನಡ"),
    language("ko", "kor", "kor", "Korean", "한국어"),
    language("kr", "kau", "kau", "Kanuri", "Kanuri"),
    language("ks", "kas", "kas", "Kashmiri", "کٲشُر"),
    language("ku", "kur", "kur", "Kurdish", "kurdî"),
    language("kv", "kom", "kom", "Komi", "коми кыв"),
    language("kw", "cor", "cor", "Cornish", "kernewek"),
    language("ky", "kir", "kir", "Kyrgyz", "кыргызча"),
    language("la", "lat", "lat", "Latin", "latine"),
    language("lb", "ltz", "ltz", "Luxembourgish", "Lëtzebuergesch"),
    language("lg", "lug", "lug", "Ganda", "Luganda"),
    language("li", "lim", "lim", "Limburgish", "Limburgs"),
    language("ln", "lin", "lin", "Lingala", "lingála"),
    language("lo", "lao", "lao", "Lao", "ລາວ"),
    language("lt", "lit", "lit", "Lithuanian", "lietuvių"),
    language("lu", "lub", "lub", "Luba-Katanga", "Tshiluba"),
    language("lv", "lav", "lav", "Latvian", "latviešu"),
    language("mg", "mlg", "mlg", "Malagasy", "Malagasy"),
    language("mh", "mah", "mah", "Marshallese", ""),
    language("mi", "mri", "mao", "Maori", "te reo Māori"),
    language("mk", "mkd", "mac", "Macedonian", "македонски"),
    language("ml", "mal", "mal", "Malayalam", "മലയാളം"),
    language("mn", "mon", "mon", "Mongolian", "монгол"),
    language("mr", "mar", "mar", "Marathi", "मराठी"),
    language("ms", "msa", "may", "Malay", "Bahasa Melayu"),
    language("mt", "mlt", "mlt", "Maltese", "Malti"),
    language("my", "mya", "bur", "Burmese", "မြန်မာ"),
    language("na", "nau", "nau", "Nauru", "Dorerin Naoero"),
    language("nb", "nob", "nob", "Norwegian Bokmål", "norsk bokmål"),
    language("nd", "nde", "nde", "North Ndebele", "isiNdebele"),
    language("ne", "nep", "nep", "Nepali", "नेपाली"),
    language("ng", "ndo", "ndo", "Ndonga", ""),
    language("nl", "nld", "dut", "Dutch", "Nederlands"),
    language("nn", "nno", "nno", "Norwegian Nynorsk", "nynorsk"),
    language("no", "nor", "nor", "Norwegian", "Norsk"),
    language("nr", "nbl", "nbl", "South Ndebele", "isiNdebele"),
    language("nv", "nav", "nav", "Navajo", "Diné"),
    language("ny", "nya", "nya", "Chichewa", "chiCheŵa"),
    language("oc", "oci", "oci", "Occitan", "occitan"),
    language("oj", "oji", "oji", "Ojibwe", ""),
    language("om", "orm", "orm", "Oromo", "Oromoo"),
    language("or", "ori", "ori", "Oriya", "ଓଡ଼ିଆ"),
    language("os", "oss", "oss", "Ossetian", "ирон"),
    language("pa", "pan", "pan", "Punjabi", "ਪੰਜਾਬੀ"),
    language("pi", "pli", "pli", "Pali", ""),
    language("pl", "pol", "pol", "Polish", "polski"),
    language("ps", "pus", "pus", "Pashto", "پښتو"),
    language("pt", "por", "por", "Portuguese", "português"),
    language("qu", "que", "que", "Quechua", "Runasimi"),
    language("rm", "roh", "roh", "Romansh", "rumantsch"),
    language("rn", "run", "run", "Kirundi", "Ikirundi"),
    language("ro", "ron", "rum", "Romanian", "română"),
    language("ru", "rus", "rus", "Russian", "русский"),
    language("rw", "kin", "kin", "Kinyarwanda", "Kinyarwanda"),
    language("sa", "san", "san", "Sanskrit", "संस्कृत भाषा"),
    language("sc", "srd", "srd", "Sardinian", "sardu"),
    language("sd", "snd", "snd", "Sindhi", "سنڌي"),
    language("se", "sme", "sme", "Northern Sami", "davvisámegiella"),
    language("sg", "sag", "sag", "Sango", "Sängö"),
    language("si", "sin", "sin", "Sinhala", "සිංහල"),
    language("sk", "slk", "slo", "Slovak", "slovenčina"),
    language("sl", "slv", "slv", "Slovenian", "slovenščina"),
    language("sm", "smo", "smo", "Samoan", "Gagana Samoa"),
    language("sn", "sna", "sna", "Shona", "chiShona"),
    language("so", "som", "som", "Somali", "Soomaali"),
    language("sq", "sqi", "alb", "Albanian", "shqip"),
    language("sr", "srp", "srp", "Serbian", "српски"),
    language("ss", "ssw", "ssw", "Swazi", "siSwati"),
    language("st", "sot", "sot", "Southern Sotho", "Sesotho"),
    language("su", "sun", "sun", "Sundanese", "Sunda"),
    language("sv", "swe", "swe", "Swedish", "svenska"),
    language("sw", "swa", "swa", "Swahili", "Kiswahili"),
    language("ta", "tam", "tam", "Tamil", "தமிழ்"),
    language("te", "tel", "tel", "Telugu", "తెలుగు"),
    language("tg", "tgk", "tgk", "Tajik", "тоҷикӣ"),
    language("th", "tha", "tha", "Thai", "ไทย"),
    language("ti", "tir", "tir", "Tigrinya", "ትግርኛ"),
    language("tk", "tuk", "tuk", "Turkmen", "Türkmen dili"),
    language("tl", "tgl", "tgl", "Tagalog", "Tagalog"),
    language("tn", "tsn", "tsn", "Tswana", "Setswana"),
    language("to", "ton", "ton", "Tonga", "lea fakatonga"),
    language("tr", "tur", "tur", "Turkish", "Türkçe"),
    language("ts", "tso", "tso", "Tsonga", "Xitsonga"),
    language("tt", "tat", "tat", "Tatar", "татар"),
    language("tw", "twi", "twi", "Twi", "Twi"),
    language("ty", "tah", "tah", "Tahitian", "Reo Tahiti"),
    language("ug", "uig", "uig", "Uyghur", "ئۇيغۇرچە"),
    language("uk", "ukr", "ukr", "Ukrainian", "українська"),
    language("ur", "urd", "urd", "Urdu", "اردو"),
    language("uz", "uzb", "uzb", "Uzbek", "o‘zbek"),
    language("ve", "ven", "ven", "Venda", "Tshivenḓa"),
    language("vi", "vie", "vie", "Vietnamese", "Tiếng Việt"),
    language("vo", "vol", "vol", "Volapük", "Volapük"),
    language("wa", "wln", "wln", "Walloon", "walon"),
    language("wo", "wol", "wol", "Wolof", "Wolof"),
    language("xh", "xho", "xho", "Xhosa", "isiXhosa"),
    language("yi", "yid", "yid", "Yiddish", "ייִדיש"),
    language("yo", "yor", "yor", "Yoruba", "Èdè Yorùbá"),
    language("za", "zha", "zha", "Zhuang", ""),
    language("zh", "zho", "chi", "Chinese", "中文"),
    language("zu", "zul", "zul", "Zulu", "isiZulu"),
];

/// The language of an ISO 639-1 code, lower case (`cy`).
pub fn language_by_code(code: &str) -> Option<&'static Language> {
    LANGUAGES
        .binary_search_by(|language| language.code.cmp(code))
        .ok()
        .and_then(|index| LANGUAGES.get(index))
}

/// The language of an ISO 639-3 or ISO 639-2 (terminology or bibliographic) code, lower case
/// (`cym`, `wel`).
pub fn language_by_code3(code: &str) -> Option<&'static Language> {
    LANGUAGES
        .iter()
        .find(|language| language.code_639_3 == code || language.code_639_2b == code)
}

/// The language of an English name (`welsh`, `Norwegian Bokmål`), in any case.
pub fn language_by_english_name(name: &str) -> Option<&'static Language> {
    let name = name.trim().to_lowercase();
    LANGUAGES
        .iter()
        .find(|language| language.english.to_lowercase() == name)
}

// ---------------------------------------------------------------------------------------------
// Weekdays

/// A day of the week as Signpost stores it: 1 (Monday) to 7 (Sunday).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Weekday {
    /// 1 (Monday) to 7 (Sunday).
    pub number: i32,
    /// The iCal `BYDAY` code (`MO`), as HSDS schedules use.
    pub byday: &'static str,
    /// The English name (`Monday`).
    pub english: &'static str,
}

/// The days of the week, Monday first.
pub const WEEKDAYS: [Weekday; 7] = [
    Weekday {
        number: 1,
        byday: "MO",
        english: "Monday",
    },
    Weekday {
        number: 2,
        byday: "TU",
        english: "Tuesday",
    },
    Weekday {
        number: 3,
        byday: "WE",
        english: "Wednesday",
    },
    Weekday {
        number: 4,
        byday: "TH",
        english: "Thursday",
    },
    Weekday {
        number: 5,
        byday: "FR",
        english: "Friday",
    },
    Weekday {
        number: 6,
        byday: "SA",
        english: "Saturday",
    },
    Weekday {
        number: 7,
        byday: "SU",
        english: "Sunday",
    },
];

/// The day of a stored weekday number, 1 (Monday) to 7 (Sunday).
pub fn weekday(number: i32) -> Option<&'static Weekday> {
    WEEKDAYS.iter().find(|day| day.number == number)
}

/// The weekday number of an iCal `BYDAY` code (`MO`, `su`, surrounding spaces allowed).
pub fn weekday_by_byday(code: &str) -> Option<i32> {
    let code = code.trim();
    WEEKDAYS
        .iter()
        .find(|day| day.byday.eq_ignore_ascii_case(code))
        .map(|day| day.number)
}

/// The weekday number of an English day name or its start of at least two letters (`monday`,
/// `Mon`, `MO`), in any case.
pub fn weekday_by_name(name: &str) -> Option<i32> {
    let lower = name.to_ascii_lowercase();
    WEEKDAYS
        .iter()
        .find(|day| {
            let english = day.english.to_ascii_lowercase();
            lower == english || (lower.len() >= 2 && english.starts_with(&lower))
        })
        .map(|day| day.number)
}

// ---------------------------------------------------------------------------------------------
// Statuses

/// Each service status with its HSDS `service.status` value (lower case, with a space).
pub const STATUSES: [(ServiceStatus, &str); 4] = [
    (ServiceStatus::Active, "active"),
    (ServiceStatus::Inactive, "inactive"),
    (ServiceStatus::Defunct, "defunct"),
    (ServiceStatus::TemporarilyClosed, "temporarily closed"),
];

/// HSDS `service.status` for a status (`temporarily closed`).
pub fn status_code(status: ServiceStatus) -> &'static str {
    STATUSES
        .iter()
        .find(|(known, _)| *known == status)
        .map_or("active", |(_, code)| code)
}

/// The status of an HSDS `service.status` value, in any case, with `_` or `-` for the space
/// (`Temporarily_Closed`).
pub fn status_by_code(code: &str) -> Option<ServiceStatus> {
    let normal = code.trim().to_ascii_lowercase().replace(['_', '-'], " ");
    STATUSES
        .iter()
        .find(|(_, known)| *known == normal)
        .map(|(status, _)| *status)
}

// ---------------------------------------------------------------------------------------------
// Times of day

/// A stored time of day, `HH:MM`, as HSDS writes it (`HH:MM:SS`); other text is kept as it is.
pub fn time_to_hsds(value: &str) -> String {
    if value.len() == 5 {
        format!("{value}:00")
    } else {
        value.to_owned()
    }
}

/// An HSDS time of day (`HH:MM:SS`, or `HH:MM`) as Signpost stores it (`HH:MM`), trimmed; a
/// time with seconds other than `:00`, or other text, is kept as it is.
pub fn time_from_hsds(value: &str) -> String {
    let value = value.trim();
    let bytes = value.as_bytes();
    if bytes.len() >= 8 && bytes[2] == b':' && bytes[5] == b':' && value.get(5..8) == Some(":00") {
        value.get(..5).unwrap_or(value).to_owned()
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_sorted_distinct_and_complete() {
        assert!(LANGUAGES.windows(2).all(|w| w[0].code < w[1].code));
        for language in LANGUAGES {
            assert_eq!(language.code.len(), 2, "{language:?}");
            assert!(language.code.bytes().all(|b| b.is_ascii_lowercase()));
            assert_eq!(language.code_639_3.len(), 3, "{language:?}");
            assert_eq!(language.code_639_2b.len(), 3, "{language:?}");
            assert!(!language.english.is_empty());
            assert_eq!(language_by_code(language.code), Some(&language));
            assert_eq!(language_by_code3(language.code_639_3), Some(&language));
            assert_eq!(language_by_code3(language.code_639_2b), Some(&language));
            assert_eq!(
                language_by_english_name(&language.english.to_uppercase()),
                Some(&language)
            );
        }
        for withdrawn in ["iw", "in", "ji", "jw", "mo", "sh", "bh", "xx"] {
            assert_eq!(language_by_code(withdrawn), None);
        }
    }

    #[test]
    fn the_languages_directories_list_have_names_and_endonyms() {
        for (code, english, endonym) in [
            ("en", "English", "English"),
            ("cy", "Welsh", "Cymraeg"),
            ("gd", "Scottish Gaelic", "Gàidhlig"),
            ("pa", "Punjabi", "ਪੰਜਾਬੀ"),
            ("ps", "Pashto", "پښتو"),
            ("fa", "Persian", "فارسی"),
            ("pl", "Polish", "polski"),
            ("zh", "Chinese", "中文"),
        ] {
            let language = language_by_code(code).expect("a language");
            assert_eq!(language.english, english);
            assert_eq!(language.endonym, Some(endonym));
        }
        let old_names = [
            "en", "cy", "gd", "ga", "ur", "pa", "bn", "gu", "hi", "ar", "fa", "ps", "so", "pl",
            "ro", "lt", "pt", "es", "fr", "it", "tr", "ku", "ti", "uk", "ru", "zh", "ta", "sq",
            "sk", "cs", "de", "bg", "hu", "lv", "am", "sw", "ne", "ml", "te", "vi",
        ];
        for code in old_names {
            let language = language_by_code(code).expect("a language");
            assert!(language.endonym.is_some(), "{code}");
        }
        assert_eq!(language_by_code3("wel").map(|l| l.code), Some("cy"));
        assert_eq!(language_by_code3("urd").map(|l| l.code), Some("ur"));
        assert_eq!(
            language_by_english_name("scottish gaelic").map(|l| l.code),
            Some("gd")
        );
    }

    #[test]
    fn weekdays_round_trip() {
        for day in WEEKDAYS {
            assert_eq!(weekday(day.number), Some(&day));
            assert_eq!(weekday_by_byday(day.byday), Some(day.number));
            assert_eq!(
                weekday_by_byday(&day.byday.to_lowercase()),
                Some(day.number)
            );
            assert_eq!(weekday_by_name(day.english), Some(day.number));
            assert_eq!(weekday_by_name(day.byday), Some(day.number));
        }
        assert_eq!(weekday(0), None);
        assert_eq!(weekday(8), None);
        assert_eq!(weekday_by_byday("XX"), None);
        assert_eq!(weekday_by_name("t"), None);
        assert_eq!(weekday_by_name("thu"), Some(4));
        assert_eq!(weekday_by_name("funday"), None);
    }

    #[test]
    fn statuses_round_trip() {
        for (status, code) in STATUSES {
            assert_eq!(status_code(status), code);
            assert_eq!(status_by_code(code), Some(status));
        }
        assert_eq!(
            status_by_code(" Temporarily_Closed "),
            Some(ServiceStatus::TemporarilyClosed)
        );
        assert_eq!(status_by_code("closed"), None);
    }

    #[test]
    fn times_convert_both_ways() {
        assert_eq!(time_to_hsds("09:30"), "09:30:00");
        assert_eq!(time_from_hsds(" 09:30:00 "), "09:30");
        assert_eq!(time_from_hsds("09:30"), "09:30");
        assert_eq!(time_from_hsds("09:30:15"), "09:30:15");
    }
}
