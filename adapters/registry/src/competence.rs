//! Competence: which tribunal handles volontaria giurisdizione for a comune,
//! and the refusals when the registry cannot say.
//!
//! Competence for amministrazione di sostegno follows the beneficiary's
//! residence or domicile (art. 404 c.c.). The registry never infers it: a
//! comune whose tribunal is not established, a comune it does not know and
//! a name that matches several comuni all stop the filing with a
//! [`CompetenceError`] whose message asks the office to choose the court.

use serde::Serialize;

use crate::{CourtCode, IstatCode};

/// One comune and the tribunal competent for it in volontaria giurisdizione.
///
/// Built only by [`Registry`](crate::Registry), from a checked data file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Competence {
    /// ISTAT code of the comune.
    pub istat: IstatCode,
    /// Name of the comune, as the data file spells it (`Villanova d'Albenga`).
    pub comune: String,
    /// Province, car-plate abbreviation (`SV`).
    pub province: String,
    /// The competent tribunal, or `None` where the data file says competence
    /// is not established (`court = "none"`). `None` is never filled in by
    /// guessing: filings for that comune stop until the office chooses.
    pub court: Option<CourtCode>,
    /// Where the attribution comes from, free text, if the data file says.
    pub source: Option<String>,
}

/// The comune of the beneficiary's home address, as the sender gave it.
///
/// The ISTAT code wins when present (after trimming, a non-empty value);
/// the name is then not consulted. Without a code, the name is matched
/// ignoring case, accents, apostrophes, hyphens and spaces, so `La Spezia`,
/// `la spezia`, `LASPEZIA`, `Prela'` (Prelà) and `Villanova d Albenga` all
/// match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ComuneRef<'a> {
    /// ISTAT code of the comune, where the sender gives one.
    pub istat: Option<&'a str>,
    /// Name of the comune (e.g. FHIR `Address.city`).
    pub name: Option<&'a str>,
}

/// Why the registry names no competent court. Every case stops the filing:
/// the office must choose the court.
///
/// `Display` gives the English message; [`CompetenceError::it`] the Italian
/// one. Messages name the comune the sender gave, which is about where the
/// beneficiary lives: show them to the office, but log [`code`](Self::code)
/// only.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompetenceError {
    /// The sender gave neither an ISTAT code nor a comune name (the
    /// sender's omission).
    #[error("{}", self.en())]
    NoComune,
    /// No comune in the registry has this ISTAT code or name (a typo by the
    /// sender, a comune outside the registry's area, or a name variant the
    /// registry does not know).
    #[error("{}", self.en())]
    UnknownComune {
        /// The ISTAT code given, if any (then the name was not consulted).
        istat: Option<String>,
        /// The name given, when no ISTAT code was.
        name: Option<String>,
    },
    /// The comune is known, but the data file says its competent tribunal
    /// is not established (`court = "none"`): nobody's fault, the office
    /// must decide.
    #[error("{}", self.en())]
    CompetenceUnknown {
        /// The comune's row in the registry.
        comune: Competence,
    },
    /// The name matches several comuni (same name in different provinces);
    /// the sender should give the ISTAT code.
    #[error("{}", self.en())]
    Ambiguous {
        /// The name given.
        name: String,
        /// The matching comuni, in ISTAT order.
        candidates: Vec<Competence>,
    },
}

// === impl ComuneRef ===

impl<'a> ComuneRef<'a> {
    /// A comune given by ISTAT code.
    pub fn istat(code: &'a str) -> Self {
        Self {
            istat: Some(code),
            name: None,
        }
    }

    /// A comune given by name only.
    pub fn name(name: &'a str) -> Self {
        Self {
            istat: None,
            name: Some(name),
        }
    }
}

// === impl CompetenceError ===

impl CompetenceError {
    /// Stable snake_case code, for logs, metrics and problem types.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoComune => "comune_missing",
            Self::UnknownComune { .. } => "comune_unknown",
            Self::CompetenceUnknown { .. } => "competence_unknown",
            Self::Ambiguous { .. } => "comune_ambiguous",
        }
    }

    /// The message in English (also the `Display`).
    pub fn en(&self) -> String {
        match self {
            Self::NoComune => "the beneficiary's home address names no comune: \
                               the office must choose the court"
                .to_owned(),
            Self::UnknownComune { istat, name } => format!(
                "{} is not in the court registry: the office must choose the court",
                given_en(istat.as_deref(), name.as_deref())
            ),
            Self::CompetenceUnknown { comune } => format!(
                "the competent tribunal for comune {} ({}, {}) is not established \
                 in the registry: the office must choose the court",
                comune.comune, comune.istat, comune.province
            ),
            Self::Ambiguous { name, candidates } => format!(
                "the comune name \"{name}\" matches {} comuni in the court registry ({}): \
                 the sender must give the ISTAT code, or the office must choose the court",
                candidates.len(),
                list(candidates)
            ),
        }
    }

    /// The message in Italian.
    pub fn it(&self) -> String {
        match self {
            Self::NoComune => "l'indirizzo di residenza del beneficiario non indica il comune: \
                               l'ufficio deve scegliere il tribunale"
                .to_owned(),
            Self::UnknownComune { istat, name } => format!(
                "{} non è nel registro dei tribunali: l'ufficio deve scegliere il tribunale",
                given_it(istat.as_deref(), name.as_deref())
            ),
            Self::CompetenceUnknown { comune } => format!(
                "il tribunale competente per il comune di {} ({}, {}) non è stabilito \
                 nel registro: l'ufficio deve scegliere il tribunale",
                comune.comune, comune.istat, comune.province
            ),
            Self::Ambiguous { name, candidates } => format!(
                "il nome di comune \"{name}\" corrisponde a {} comuni nel registro dei tribunali \
                 ({}): il mittente deve indicare il codice ISTAT, oppure l'ufficio deve \
                 scegliere il tribunale",
                candidates.len(),
                list(candidates)
            ),
        }
    }
}

fn given_en(istat: Option<&str>, name: Option<&str>) -> String {
    match (istat, name) {
        (Some(code), _) => format!("the comune with ISTAT code \"{code}\""),
        (None, Some(name)) => format!("the comune \"{name}\""),
        (None, None) => "the comune".to_owned(),
    }
}

fn given_it(istat: Option<&str>, name: Option<&str>) -> String {
    match (istat, name) {
        (Some(code), _) => format!("il comune con codice ISTAT \"{code}\""),
        (None, Some(name)) => format!("il comune \"{name}\""),
        (None, None) => "il comune".to_owned(),
    }
}

fn list(candidates: &[Competence]) -> String {
    candidates
        .iter()
        .map(|c| format!("{} {} {}", c.istat, c.comune, c.province))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The key a comune name is matched by: lowercase ASCII letters and digits,
/// with accents taken off the common Latin letters and everything that is
/// not a letter or digit (spaces, apostrophes, hyphens, dots) dropped.
/// Letters it cannot fold stay as they are, so they match only themselves.
pub(crate) fn name_key(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        match fold(c) {
            Some(folded) => key.push_str(folded),
            None if c.is_alphanumeric() => key.push(c),
            None => {}
        }
    }
    key
}

/// Base letters of the accented lowercase Latin letters found in Italian,
/// French, German, Slovene and Ladin place names.
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'č' => "c",
        'ď' | 'đ' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
        'ğ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
        'ĺ' | 'ľ' | 'ł' => "l",
        'ñ' | 'ń' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ř' => "r",
        'ś' | 'š' | 'ş' => "s",
        'ß' => "ss",
        'ť' | 'ţ' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => "u",
        'ý' | 'ÿ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_key_ignores_case_accents_and_punctuation() {
        assert_eq!(name_key("La Spezia"), "laspezia");
        assert_eq!(name_key("  LA   SPEZIA "), "laspezia");
        assert_eq!(name_key("La-Spezia"), "laspezia");
        assert_eq!(name_key("Prelà"), name_key("Prela'"));
        assert_eq!(name_key("PRELÀ"), "prela");
        assert_eq!(name_key("Serra Riccò"), name_key("serra ricco`"));
        assert_eq!(
            name_key("Villanova d'Albenga"),
            name_key("Villanova d’Albenga")
        );
        assert_eq!(
            name_key("Villanova d'Albenga"),
            name_key("villanova d albenga")
        );
        assert_eq!(name_key("Cairo Montenotte"), "cairomontenotte");
        assert_eq!(name_key("'-. "), "");
    }

    #[test]
    fn unfoldable_letters_stay() {
        assert_eq!(name_key("Ωmega"), "ωmega");
        assert_ne!(name_key("Ωmega"), name_key("mega"));
    }

    fn carro() -> Competence {
        Competence {
            istat: "011009".parse().unwrap(),
            comune: "Carro".to_owned(),
            province: "SP".to_owned(),
            court: None,
            source: None,
        }
    }

    #[test]
    fn messages_ask_the_office_to_choose() {
        let errors = [
            CompetenceError::NoComune,
            CompetenceError::UnknownComune {
                istat: Some("999999".to_owned()),
                name: None,
            },
            CompetenceError::UnknownComune {
                istat: None,
                name: Some("Atlantide".to_owned()),
            },
            CompetenceError::CompetenceUnknown { comune: carro() },
            CompetenceError::Ambiguous {
                name: "Carro".to_owned(),
                candidates: vec![carro(), carro()],
            },
        ];
        for e in &errors {
            assert!(e.en().contains("the office must choose the court"), "{e}");
            assert!(
                e.it().contains("l'ufficio deve scegliere il tribunale"),
                "{}",
                e.it()
            );
            assert_eq!(e.to_string(), e.en());
            assert!(!e.en().ends_with('.'));
        }
        assert_eq!(
            errors[3].en(),
            "the competent tribunal for comune Carro (011009, SP) is not established in the \
             registry: the office must choose the court"
        );
        assert_eq!(
            errors[3].it(),
            "il tribunale competente per il comune di Carro (011009, SP) non è stabilito nel \
             registro: l'ufficio deve scegliere il tribunale"
        );
        let codes: Vec<_> = errors.iter().map(CompetenceError::code).collect();
        assert_eq!(
            codes,
            [
                "comune_missing",
                "comune_unknown",
                "comune_unknown",
                "competence_unknown",
                "comune_ambiguous"
            ]
        );
    }
}
