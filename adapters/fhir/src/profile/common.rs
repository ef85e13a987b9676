//! What both profiles share: the Bundle's entries and reference resolution,
//! JSON helpers, the codice fiscale, addresses, dates and PDF attachments.

use base64::Engine as _;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use super::ProfileLimits;
use super::rules::{self, Rule};
use crate::Issue;
use crate::codice_fiscale::{self, CfError};

pub(super) const LOINC: &str = "http://loinc.org";
pub(super) const ROLE_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";
pub(super) const SC_CODING: &str = "http://hl7.org/fhir/StructureDefinition/iso21090-SC-coding";

// ---------------------------------------------------------------- JSON access

/// The string at `key`, trimmed, if present and not blank.
pub(super) fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The array at `key`, or nothing.
pub(super) fn items<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The index of the first coding of a CodeableConcept with this system and code.
pub(super) fn coding_index(cc: Option<&Value>, system: &str, code: &str) -> Option<usize> {
    let cc = cc?;
    items(cc, "coding")
        .iter()
        .position(|c| text(c, "system") == Some(system) && text(c, "code") == Some(code))
}

/// Whether a CodeableConcept has a coding with this system and code.
pub(super) fn has_coding(cc: Option<&Value>, system: &str, code: &str) -> bool {
    coding_index(cc, system, code).is_some()
}

/// Whether a resource has any `value[x]` element.
pub(super) fn has_value_x(v: &Value) -> bool {
    v.as_object().is_some_and(|o| {
        o.keys().any(|k| {
            k.len() > 5 && k.starts_with("value") && k[5..].starts_with(char::is_uppercase)
        })
    })
}

// ------------------------------------------------------------- Bundle entries

/// One entry of the Bundle that holds a resource.
#[derive(Clone, Copy, Debug)]
pub(super) struct Entry<'a> {
    /// Position in `Bundle.entry`.
    pub index: usize,
    /// The resource.
    pub resource: &'a Value,
    full_url: Option<&'a str>,
}

impl<'a> Entry<'a> {
    /// FHIRPath of an element of the resource.
    pub fn at(&self, rel: &str) -> String {
        format!("Bundle.entry[{}].resource.{rel}", self.index)
    }

    /// `resourceType`.
    pub fn rtype(&self) -> &'a str {
        text(self.resource, "resourceType").unwrap_or("")
    }

    /// Whether this is the same entry as `other`.
    pub fn is(&self, other: &Entry<'_>) -> bool {
        self.index == other.index
    }
}

/// What a Reference leads to.
pub(super) enum Follow<'a> {
    /// No `reference` at all (missing element, or only identifier/display).
    Absent,
    /// A `reference` that names no entry (already reported).
    Unresolved,
    /// The entry.
    Found(Entry<'a>),
}

/// The state of one profile check: the Bundle, its entries, the issues so far.
pub(super) struct Cx<'a> {
    pub bundle: &'a Value,
    pub entries: Vec<Entry<'a>>,
    pub limits: &'a ProfileLimits,
    pub issues: Vec<Issue>,
}

impl<'a> Cx<'a> {
    pub fn new(bundle: &'a Value, limits: &'a ProfileLimits) -> Self {
        let entries = items(bundle, "entry")
            .iter()
            .enumerate()
            .filter_map(|(index, e)| {
                let resource = e.get("resource").filter(|r| r.is_object())?;
                Some(Entry {
                    index,
                    resource,
                    full_url: text(e, "fullUrl"),
                })
            })
            .collect();
        Self {
            bundle,
            entries,
            limits,
            issues: Vec::new(),
        }
    }

    /// Records an issue of `rule` at `expression`.
    pub fn push(&mut self, rule: &Rule, expression: impl Into<String>) {
        self.issues.push(rule.issue(expression));
    }

    /// The entry at position `index` of `Bundle.entry`.
    pub fn entry(&self, index: usize) -> Option<Entry<'a>> {
        self.entries.iter().find(|e| e.index == index).copied()
    }

    /// The entry a literal reference names: its `fullUrl`, or for a relative
    /// `Type/id[/_history/v]` the entry with that type and id.
    pub fn resolve(&self, reference: &str) -> Option<Entry<'a>> {
        if let Some(e) = self.entries.iter().find(|e| e.full_url == Some(reference)) {
            return Some(*e);
        }
        if reference.contains(':') {
            return None;
        }
        let mut parts = reference.split('/');
        let (Some(rtype), Some(id)) = (parts.next(), parts.next()) else {
            return None;
        };
        self.entries
            .iter()
            .find(|e| e.rtype() == rtype && text(e.resource, "id") == Some(id))
            .copied()
    }

    /// Follows the Reference element `reference` found at `path`; reports a
    /// reference that does not resolve.
    pub fn follow(&mut self, reference: Option<&'a Value>, path: &str) -> Follow<'a> {
        let Some(target) = reference.and_then(|r| text(r, "reference")) else {
            return Follow::Absent;
        };
        match self.resolve(target) {
            Some(e) => Follow::Found(e),
            None => {
                self.push(&rules::REFERENCE_UNRESOLVED, format!("{path}.reference"));
                Follow::Unresolved
            }
        }
    }

    /// Entries of the given resource type anywhere in the Bundle.
    pub fn of_type(&self, rtype: &str) -> Vec<Entry<'a>> {
        self.entries
            .iter()
            .filter(|e| e.rtype() == rtype)
            .copied()
            .collect()
    }

    /// The Practitioner behind a PractitionerRole or Practitioner; reports a
    /// role without one, and a Practitioner without a family name.
    pub fn practitioner(&mut self, who: Entry<'a>) -> Option<Entry<'a>> {
        let person = match who.rtype() {
            "Practitioner" => who,
            "PractitionerRole" => {
                let path = who.at("practitioner");
                match self.follow(who.resource.get("practitioner"), &path) {
                    Follow::Found(p) if p.rtype() == "Practitioner" => p,
                    Follow::Unresolved => return None,
                    _ => {
                        self.push(&rules::PRACTITIONER_REQUIRED, path);
                        return None;
                    }
                }
            }
            _ => return None,
        };
        if !items(person.resource, "name")
            .iter()
            .any(|n| text(n, "family").is_some())
        {
            self.push(&rules::PRACTITIONER_NAME_REQUIRED, person.at("name"));
        }
        self.check_cf_identifiers(person);
        Some(person)
    }

    /// Checks every codice fiscale identifier of `who` (pattern, check
    /// character, deprecated system) and returns `(count, the value if
    /// exactly one and valid, its index)`.
    pub fn check_cf_identifiers(&mut self, who: Entry<'_>) -> CfFound {
        let mut found = CfFound::default();
        for (j, ident) in items(who.resource, "identifier").iter().enumerate() {
            let Some(system) = text(ident, "system") else {
                continue;
            };
            if !is_any_cf_system(system) {
                continue;
            }
            found.count += 1;
            if system == codice_fiscale::SYSTEM_WRONG_OID {
                self.push(
                    &rules::CF_WRONG_SYSTEM,
                    who.at(&format!("identifier[{j}].system")),
                );
            }
            let value_path = who.at(&format!("identifier[{j}].value"));
            let value = text(ident, "value").unwrap_or("").to_ascii_uppercase();
            match codice_fiscale::validate(&value) {
                Err(CfError::Pattern) => self.push(&rules::CF_FORMAT, value_path),
                Err(CfError::CheckCharacter { .. }) => {
                    self.push(&rules::CF_CHECK_CHARACTER, value_path)
                }
                Ok(()) if found.count == 1 => {
                    found.value = Some(value);
                    found.index = j;
                }
                Ok(()) => {}
            }
            if found.count == 2 {
                self.push(&rules::CF_MULTIPLE, who.at(&format!("identifier[{j}]")));
            }
        }
        if found.count != 1 {
            found.value = None;
        }
        found
    }
}

/// What [`Cx::check_cf_identifiers`] found.
#[derive(Default)]
pub(super) struct CfFound {
    pub count: usize,
    pub value: Option<String>,
    pub index: usize,
}

// ------------------------------------------------------------- codice fiscale

/// A system under which a codice fiscale is read: the two correct ones, and
/// the wrong OID (accepted with a warning).
pub(super) fn is_any_cf_system(system: &str) -> bool {
    codice_fiscale::is_cf_system(system) || system == codice_fiscale::SYSTEM_WRONG_OID
}

/// Digits as written in an *omocodia* codice fiscale (0 → L … 9 → V).
const OMOCODIA: &[u8; 10] = b"LMNPQRSTUV";

/// Birth date (`yy`, month, day) and sex (`true` = female) encoded in a valid
/// codice fiscale.
pub(super) fn cf_demographics(cf: &str) -> Option<(u32, u32, u32, bool)> {
    let b = cf.as_bytes();
    let digit = |i: usize| -> Option<u32> {
        let c = *b.get(i)?;
        if c.is_ascii_digit() {
            Some(u32::from(c - b'0'))
        } else {
            OMOCODIA.iter().position(|&o| o == c).map(|p| p as u32)
        }
    };
    let yy = digit(6)? * 10 + digit(7)?;
    let month = b"ABCDEHLMPRST".iter().position(|&m| Some(&m) == b.get(8))? as u32 + 1;
    let day = digit(9)? * 10 + digit(10)?;
    let female = day > 40;
    Some((yy, month, if female { day - 40 } else { day }, female))
}

// ---------------------------------------------------------------- addresses

/// ISTAT comune code systems accepted on `Address.city` (HL7 Italia).
pub(super) const ISTAT_SYSTEMS: [&str; 2] = [
    "https://www.hl7.it/fhir/terminology/sid/istat-unitaAmministrativeTerritoriali",
    "https://www.hl7.it/fhir/terminology/CodeSystem/istat-comuni",
];

/// The comune of an address: `city`, and the ISTAT code from the
/// `iso21090-SC-coding` extension on `city`.
pub(super) struct Comune {
    pub name: Option<String>,
    pub istat: Option<String>,
}

impl Cx<'_> {
    /// Reads the comune of the address at `path`, reporting a malformed ISTAT code.
    pub fn comune(&mut self, address: &Value, path: &str) -> Comune {
        let name = text(address, "city").map(str::to_owned);
        let mut istat = None;
        let exts = address
            .get("_city")
            .map(|c| items(c, "extension"))
            .unwrap_or(&[]);
        for (k, ext) in exts.iter().enumerate() {
            if text(ext, "url") != Some(SC_CODING) {
                continue;
            }
            let Some(coding) = ext.get("valueCoding") else {
                continue;
            };
            let coding_path = format!("{path}.city.extension[{k}].valueCoding");
            if !text(coding, "system").is_some_and(|s| ISTAT_SYSTEMS.contains(&s)) {
                self.push(&rules::ISTAT_CODE_SYSTEM, format!("{coding_path}.system"));
                continue;
            }
            match text(coding, "code") {
                Some(c) if c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()) => {
                    if istat.is_none() {
                        istat = Some(c.to_owned());
                    }
                }
                _ => self.push(&rules::ISTAT_CODE_FORMAT, format!("{coding_path}.code")),
            }
        }
        Comune { name, istat }
    }
}

/// Whether an address has what the court's `Indirizzo` needs: street line,
/// city and postal code.
pub(super) fn is_postal_address(address: &Value) -> bool {
    items(address, "line")
        .first()
        .and_then(Value::as_str)
        .is_some_and(|l| !l.trim().is_empty())
        && text(address, "city").is_some()
        && text(address, "postalCode").is_some()
}

// -------------------------------------------------------------------- dates

/// A FHIR `date`, `dateTime` or `instant`, as far as it can be compared.
#[derive(Clone, Copy, Debug)]
pub(super) enum When {
    /// Date, time and offset.
    Instant(OffsetDateTime),
    /// A whole day.
    Day(Date),
    /// Year or year-month only.
    Partial,
}

impl When {
    pub fn parse(s: &str) -> Option<Self> {
        if s.contains('T') {
            return OffsetDateTime::parse(s, &Rfc3339).ok().map(When::Instant);
        }
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        match s.len() {
            10 => Date::parse(s, &fmt).ok().map(When::Day),
            4 | 7 => Some(When::Partial),
            _ => None,
        }
    }

    fn day(&self) -> Option<Date> {
        match self {
            When::Instant(t) => Some(t.date()),
            When::Day(d) => Some(*d),
            When::Partial => None,
        }
    }

    /// Whether `self` is certainly earlier than `other` (at the precision both have).
    pub fn before(&self, other: &When) -> bool {
        match (self, other) {
            (When::Instant(a), When::Instant(b)) => a < b,
            _ => match (self.day(), other.day()) {
                (Some(a), Some(b)) => a < b,
                _ => false,
            },
        }
    }
}

// -------------------------------------------------------------- attachments

/// Whether a MIME type is `application/pdf` (parameters and case ignored).
fn is_pdf_type(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/pdf"))
    })
}

impl<'a> Cx<'a> {
    /// Checks a PDF `Attachment` at `path`: content type, inline `data` or a
    /// `url` naming a Binary of the Bundle, base64, size limit (before
    /// decoding), `%PDF-` signature bytes and `size`.
    pub fn check_pdf(&mut self, att: &'a Value, path: &str) {
        if !is_pdf_type(text(att, "contentType")) {
            self.push(
                &rules::ATTACHMENT_CONTENT_TYPE,
                format!("{path}.contentType"),
            );
            return;
        }
        let (data, data_path) = if let Some(data) = att.get("data").and_then(Value::as_str) {
            (data, format!("{path}.data"))
        } else if let Some(url) = text(att, "url") {
            match self.resolve(url) {
                Some(bin) if bin.rtype() == "Binary" => {
                    if !is_pdf_type(text(bin.resource, "contentType")) {
                        self.push(&rules::ATTACHMENT_CONTENT_TYPE, bin.at("contentType"));
                        return;
                    }
                    match bin.resource.get("data").and_then(Value::as_str) {
                        Some(data) => (data, bin.at("data")),
                        None => {
                            self.push(&rules::ATTACHMENT_DATA_REQUIRED, bin.at("data"));
                            return;
                        }
                    }
                }
                _ => {
                    self.push(&rules::ATTACHMENT_URL_UNRESOLVED, format!("{path}.url"));
                    return;
                }
            }
        } else {
            self.push(&rules::ATTACHMENT_DATA_REQUIRED, path.to_owned());
            return;
        };
        let Some(bytes) = self.decode_limited(data, &data_path) else {
            return;
        };
        if !bytes.starts_with(b"%PDF-") {
            self.push(&rules::ATTACHMENT_NOT_PDF, data_path);
            return;
        }
        if let Some(size) = att.get("size").and_then(Value::as_u64)
            && usize::try_from(size).ok() != Some(bytes.len())
        {
            self.push(&rules::ATTACHMENT_SIZE_MISMATCH, format!("{path}.size"));
        }
    }

    /// Decodes base64 `data` unless its decoded size is over the limit,
    /// which is known before decoding.
    fn decode_limited(&mut self, data: &str, path: &str) -> Option<Vec<u8>> {
        let compact: std::borrow::Cow<'_, str> = if data.bytes().any(|b| b.is_ascii_whitespace()) {
            data.chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect::<String>()
                .into()
        } else {
            data.into()
        };
        let len = compact.len();
        if !len.is_multiple_of(4) {
            self.push(&rules::ATTACHMENT_BASE64, path.to_owned());
            return None;
        }
        let padding = compact.bytes().rev().take(2).filter(|&b| b == b'=').count();
        let decoded_len = (len / 4 * 3).saturating_sub(padding);
        if decoded_len > self.limits.max_attachment_bytes {
            self.push(&rules::ATTACHMENT_TOO_LARGE, path.to_owned());
            return None;
        }
        match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
            Ok(bytes) => Some(bytes),
            Err(_) => {
                self.push(&rules::ATTACHMENT_BASE64, path.to_owned());
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codice_fiscale_demographics() {
        assert_eq!(cf_demographics("RSSMRA40A41D969T"), Some((40, 1, 1, true)));
        assert_eq!(cf_demographics("RSSMRA80A01H501U"), Some((80, 1, 1, false)));
        assert_eq!(cf_demographics("RSSMRAULA01H501U"), Some((80, 1, 1, false)));
    }

    #[test]
    fn dates_compare_at_common_precision() {
        let a = When::parse("2026-11-24T19:05:00+01:00").unwrap();
        let b = When::parse("2026-11-24T19:30:00+01:00").unwrap();
        let day = When::parse("2026-11-25").unwrap();
        assert!(a.before(&b) && !b.before(&a));
        assert!(a.before(&day) && !day.before(&a));
        assert!(!When::parse("2026-11").unwrap().before(&a));
        assert!(When::parse("24/11/2026").is_none());
    }
}
