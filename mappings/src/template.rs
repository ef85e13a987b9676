//! Transforms applied to values, and templates: text with `{name}` or
//! `{name|transform|…}` placeholders.

use std::str::FromStr;

use crate::error::RuleProblem;

/// A value transform, named in `transform = [...]` or after `|` in a
/// placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transform {
    Upper,
    Lower,
    Title,
    Trim,
    Text,
    Date,
    DateIt,
    Time,
    CaseNumber,
    CaseYear,
    StreetName,
    HouseNumber,
}

/// Every transform name, for messages.
pub(crate) const TRANSFORMS: &str = "upper, lower, title, trim, text, date, date_it, time, \
                                     case_number, case_year, street_name, house_number";

impl FromStr for Transform {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim() {
            "upper" => Self::Upper,
            "lower" => Self::Lower,
            "title" => Self::Title,
            "trim" => Self::Trim,
            "text" => Self::Text,
            "date" => Self::Date,
            "date_it" => Self::DateIt,
            "time" => Self::Time,
            "case_number" => Self::CaseNumber,
            "case_year" => Self::CaseYear,
            "street_name" => Self::StreetName,
            "house_number" => Self::HouseNumber,
            other => return Err(format!("unknown transform {other:?} (known: {TRANSFORMS})")),
        })
    }
}

const MONTHS: [&str; 12] = [
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
];

impl Transform {
    /// Applies the transform. `Ok(None)`: the value has no such part (a
    /// street line without a house number), and counts as absent.
    pub(crate) fn apply(self, v: &str) -> Result<Option<String>, RuleProblem> {
        Ok(Some(match self {
            Self::Upper => v.to_uppercase(),
            Self::Lower => v.to_lowercase(),
            Self::Title => title_case(v),
            Self::Trim => v.trim().to_owned(),
            Self::Text => xhtml_text(v),
            Self::Date => {
                let (y, m, d) = date(v)?;
                format!("{y:04}-{m:02}-{d:02}")
            }
            Self::DateIt => {
                let (y, m, d) = date(v)?;
                format!("{d} {} {y}", MONTHS[usize::from(m) - 1])
            }
            Self::Time => time(v)?,
            Self::CaseNumber => case(v)?.0,
            Self::CaseYear => case(v)?.1,
            Self::StreetName => split_street(v).0,
            Self::HouseNumber => match split_street(v).1 {
                Some(n) => n,
                None => return Ok(None),
            },
        }))
    }
}

/// `YYYY-MM-DD` at the start of a FHIR date, dateTime or instant.
fn date(v: &str) -> Result<(i32, u8, u8), RuleProblem> {
    let bad = RuleProblem::BadFormat {
        expected: "a full date YYYY-MM-DD",
    };
    let head = v.trim().get(..10).ok_or(bad)?;
    let b = head.as_bytes();
    if b[4] != b'-' || b[7] != b'-' {
        return Err(bad);
    }
    let y: i32 = head[..4].parse().map_err(|_| bad)?;
    let m: u8 = head[5..7].parse().map_err(|_| bad)?;
    let d: u8 = head[8..10].parse().map_err(|_| bad)?;
    let month = time::Month::try_from(m).map_err(|_| bad)?;
    time::Date::from_calendar_date(y, month, d).map_err(|_| bad)?;
    Ok((y, m, d))
}

/// `HH:MM:SS` of a dateTime or instant, in the offset it is written in (the
/// local time of the sender).
fn time(v: &str) -> Result<String, RuleProblem> {
    let bad = RuleProblem::BadFormat {
        expected: "a date-time YYYY-MM-DDThh:mm:ss",
    };
    let v = v.trim();
    date(v).map_err(|_| bad)?;
    let t = v.get(11..19).ok_or(bad)?;
    let b = t.as_bytes();
    if v.as_bytes()[10] != b'T' || b[2] != b':' || b[5] != b':' {
        return Err(bad);
    }
    let h: u8 = t[..2].parse().map_err(|_| bad)?;
    let m: u8 = t[3..5].parse().map_err(|_| bad)?;
    let s: u8 = t[6..8].parse().map_err(|_| bad)?;
    if h > 23 || m > 59 || s > 60 {
        return Err(bad);
    }
    Ok(t.to_owned())
}

/// `1234/2025` → (`1234`, `2025`): 1 to 7 digits, a slash, 4 digits.
fn case(v: &str) -> Result<(String, String), RuleProblem> {
    let bad = RuleProblem::BadFormat {
        expected: "<numero>/<anno>, e.g. 1234/2025",
    };
    let (n, y) = v.trim().split_once('/').ok_or(bad)?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(n) || n.len() > 7 || !digits(y) || y.len() != 4 {
        return Err(bad);
    }
    Ok((n.to_owned(), y.to_owned()))
}

/// "Via Cantore 12/3" → ("Via Cantore", Some("12/3")): the last word is the
/// house number when it starts with a digit and is not the only word.
fn split_street(v: &str) -> (String, Option<String>) {
    let v = v.trim();
    match v.rsplit_once(char::is_whitespace) {
        Some((street, number))
            if number.starts_with(|c: char| c.is_ascii_digit()) && !street.trim().is_empty() =>
        {
            (street.trim().to_owned(), Some(number.to_owned()))
        }
        _ => (v.to_owned(), None),
    }
}

fn title_case(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut start = true;
    for c in v.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start = !c.is_alphanumeric();
    }
    out
}

/// The text of a narrative `div` (XHTML): tags removed (block ends become a
/// space), the five XML entities and numeric references decoded, whitespace
/// collapsed.
fn xhtml_text(v: &str) -> String {
    let mut raw = String::with_capacity(v.len());
    let mut rest = v;
    while let Some(lt) = rest.find('<') {
        raw.push_str(&rest[..lt]);
        match rest[lt..].find('>') {
            Some(gt) => {
                raw.push(' ');
                rest = &rest[lt + gt + 1..];
            }
            None => {
                rest = "";
            }
        }
    }
    raw.push_str(rest);
    let decoded = decode_entities(&raw);
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let Some(semi) = tail.find(';').filter(|&i| i <= 10) else {
            out.push('&');
            rest = &tail[1..];
            continue;
        };
        let entity = &tail[1..semi];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &tail[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A template: literal text and `{name|transform…}` placeholders; `{{` and
/// `}}` write braces.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Value {
        name: String,
        transforms: Vec<Transform>,
    },
}

impl FromStr for Template {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '}' => return Err("unmatched '}' (write '}}' for a brace)".to_owned()),
                '{' => {
                    let mut inner = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some('{') | None => {
                                return Err("unterminated placeholder".to_owned());
                            }
                            Some(c) => inner.push(c),
                        }
                    }
                    let mut pieces = inner.split('|');
                    let name = pieces.next().unwrap_or_default().trim().to_owned();
                    if !is_value_name(&name) {
                        return Err(format!("placeholder {{{inner}}} does not name a value"));
                    }
                    let transforms = pieces.map(str::parse).collect::<Result<_, _>>()?;
                    if !lit.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Value { name, transforms });
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Text(lit));
        }
        Ok(Self { parts })
    }
}

/// A value name: letters, digits, `_`, `.` (dotted like model fields),
/// starting with a letter.
pub(crate) fn is_value_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !name.ends_with('.')
        && !name.contains("..")
}

impl Template {
    /// The names the placeholders refer to.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Value { name, .. } => Some(name.as_str()),
            Part::Text(_) => None,
        })
    }

    /// Renders the template. `lookup` gives a value's text (lists already
    /// joined) or `None` when the value is absent; then the whole template is
    /// absent (`Ok(None)`). A failing transform names the placeholder.
    pub(crate) fn render(
        &self,
        mut lookup: impl FnMut(&str) -> Result<Option<String>, crate::MapError>,
    ) -> Result<Option<String>, TemplateError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Value { name, transforms } => {
                    let Some(mut v) = lookup(name).map_err(TemplateError::Lookup)? else {
                        return Ok(None);
                    };
                    for t in transforms {
                        match t.apply(&v) {
                            Ok(Some(next)) => v = next,
                            Ok(None) => return Ok(None),
                            Err(problem) => {
                                return Err(TemplateError::Transform {
                                    name: name.clone(),
                                    problem,
                                });
                            }
                        }
                    }
                    out.push_str(&v);
                }
            }
        }
        Ok(Some(out))
    }
}

/// Why a template cannot be rendered.
#[derive(Debug)]
pub(crate) enum TemplateError {
    /// Computing a referenced value failed.
    Lookup(crate::MapError),
    /// A transform in a placeholder refused the value.
    Transform { name: String, problem: RuleProblem },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transforms() {
        let t = |t: Transform, v: &str| t.apply(v).unwrap();
        assert_eq!(
            t(Transform::DateIt, "2026-11-26"),
            Some("26 novembre 2026".into())
        );
        assert_eq!(
            t(Transform::DateIt, "2026-01-01T10:00:00+01:00"),
            Some("1 gennaio 2026".into())
        );
        assert_eq!(
            t(Transform::Date, "2026-11-24T19:05:00+01:00"),
            Some("2026-11-24".into())
        );
        assert_eq!(
            t(Transform::Time, "2026-11-24T19:05:00+01:00"),
            Some("19:05:00".into())
        );
        assert_eq!(t(Transform::CaseNumber, "1234/2025"), Some("1234".into()));
        assert_eq!(t(Transform::CaseYear, "1234/2025"), Some("2025".into()));
        assert_eq!(
            t(Transform::StreetName, "Via Cantore 12/3"),
            Some("Via Cantore".into())
        );
        assert_eq!(
            t(Transform::HouseNumber, "Via Cantore 12/3"),
            Some("12/3".into())
        );
        assert_eq!(t(Transform::HouseNumber, "Piazza Dante"), None);
        assert_eq!(
            t(Transform::Title, "MARIA grazia"),
            Some("Maria Grazia".into())
        );
        assert_eq!(
            t(
                Transform::Text,
                "<div xmlns=\"x\"><p>Uno &amp; due.</p><p>Tre&#39;</p></div>"
            ),
            Some("Uno & due. Tre'".into())
        );
        assert!(Transform::Date.apply("1965").is_err());
        assert!(Transform::Date.apply("2026-02-30").is_err());
        assert!(Transform::Time.apply("2026-02-03").is_err());
        assert!(Transform::CaseNumber.apply("1234-2025").is_err());
    }

    #[test]
    fn templates() {
        let t: Template = "{a}, {b|upper} {{x}}".parse().unwrap();
        assert_eq!(t.names().collect::<Vec<_>>(), ["a", "b"]);
        let r = t
            .render(|n| Ok(Some(n.to_owned())))
            .map_err(|_| ())
            .unwrap();
        assert_eq!(r.as_deref(), Some("a, B {x}"));
        assert_eq!(t.render(|_| Ok(None)).map_err(|_| ()).unwrap(), None);
        assert!("{a".parse::<Template>().is_err());
        assert!("{a|nope}".parse::<Template>().is_err());
        assert!("{}".parse::<Template>().is_err());
        assert!("a}".parse::<Template>().is_err());
    }
}
