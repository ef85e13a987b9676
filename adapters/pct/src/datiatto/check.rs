//! Checks the writer makes because the schemas do not: the court code
//! (`@ufficio` is `xs:string`), codici fiscali (`Beneficiario/CodiceFiscale` is
//! `xs:string`; `bt:CodiceFiscale` checks the shape, not the check character),
//! empty required values (an empty `xs:string` is valid), characters XML cannot
//! carry, and the attachment identifiers (`xs:NMTOKEN` in DatiAtto, but `ID`
//! in `IndiceBusta.dtd`).

use crate::Error;

/// Why a list of attachments cannot form an `IndiceBusta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IndexProblem {
    /// No attachment is [`super::AttachmentKind::Principal`].
    #[error("no principal act")]
    NoPrincipal,
    /// More than one attachment is the principal act.
    #[error("more than one principal act")]
    SeveralPrincipals,
    /// The attachment at `index` has an identifier that is not a letter or `_`
    /// followed by letters, digits, `.`, `-` or `_`.
    #[error("attachment {index} has an invalid id")]
    InvalidId {
        /// Position in [`super::DatiAtto::attachments`].
        index: usize,
    },
    /// The attachment at `index` repeats an earlier identifier, or the
    /// identifier of the DatiAtto part itself.
    #[error("attachment {index} repeats an id")]
    DuplicateId {
        /// Position in [`super::DatiAtto::attachments`].
        index: usize,
    },
    /// The attachment at `index` has an empty name.
    #[error("attachment {index} has no name")]
    EmptyName {
        /// Position in [`super::DatiAtto::attachments`].
        index: usize,
    },
}

/// A codice ufficio: ten ASCII digits.
pub(super) fn court(code: &str) -> Result<(), Error> {
    if is_court_code(code) {
        Ok(())
    } else {
        Err(Error::InvalidCourtCode)
    }
}

/// Whether `code` is ten ASCII digits. Shared with [`crate::xsd`], which
/// applies the same rule to documents it did not write.
pub(crate) fn is_court_code(code: &str) -> bool {
    code.len() == 10 && code.bytes().all(|b| b.is_ascii_digit())
}

/// A value the schema requires: not blank, and only XML characters.
pub(super) fn required<'a>(value: &'a str, field: &'static str) -> Result<&'a str, Error> {
    if value.trim().is_empty() {
        return Err(Error::MissingValue { field });
    }
    chars(value, field)
}

/// Any value: only characters XML 1.0 allows (`Char` production).
pub(super) fn chars<'a>(value: &'a str, field: &'static str) -> Result<&'a str, Error> {
    let xml_char = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | ' '..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
            || c >= '\u{10000}'
    };
    if value.chars().all(xml_char) {
        Ok(value)
    } else {
        Err(Error::InvalidCharacters { field })
    }
}

/// A codice fiscale as `bt:CodiceFiscale` accepts it, with its check character
/// (16 characters) or check digit (11 digits) verified.
///
/// The 14- and 15-character forms and `EX:` + 13 digits that the schema also
/// allows are accepted as they are: they have no published check.
pub(super) fn codice_fiscale<'a>(value: &'a str, field: &'static str) -> Result<&'a str, Error> {
    let ok = if let Some(digits) = value.strip_prefix("EX:") {
        digits.len() == 13 && digits.bytes().all(|b| b.is_ascii_digit())
    } else {
        match value.len() {
            16 => personal_cf(value.as_bytes()),
            11 => value.bytes().all(|b| b.is_ascii_digit()) && numeric_cf(value.as_bytes()),
            14 | 15 => value.bytes().all(|b| b.is_ascii_alphanumeric()),
            _ => false,
        }
    };
    if ok {
        Ok(value)
    } else {
        Err(Error::InvalidCodiceFiscale { field })
    }
}

/// An attachment id usable both as `xs:NMTOKEN` and as a DTD `ID` (an XML
/// `Name`), kept to the plain characters that PEC gateways have accepted.
pub(super) fn attachment_id(id: &str) -> bool {
    let mut bytes = id.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// A 16-character personal codice fiscale: `SSSNNNYYMDDCCCCK`, where the
/// digits may be replaced by letters (omocodia), and `K` is the check
/// character over the first fifteen (DM 23/12/1976).
fn personal_cf(cf: &[u8]) -> bool {
    // Positions that hold a digit, or its omocodia letter.
    const DIGIT_POSITIONS: [usize; 7] = [6, 7, 9, 10, 12, 13, 14];
    const OMOCODIA: &[u8] = b"LMNPQRSTUV";
    let shape = cf.iter().enumerate().all(|(i, &b)| {
        if DIGIT_POSITIONS.contains(&i) {
            b.is_ascii_digit() || OMOCODIA.contains(&b)
        } else {
            b.is_ascii_uppercase()
        }
    });
    if !shape || !b"ABCDEHLMPRST".contains(&cf[8]) {
        return false;
    }
    // Values of a character in an odd (1st, 3rd, …) position; digits take
    // the value of the letter with the same index.
    const ODD: [u32; 26] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23,
    ];
    let index = |b: u8| -> usize {
        if b.is_ascii_digit() {
            usize::from(b - b'0')
        } else {
            usize::from(b - b'A')
        }
    };
    let sum: u32 = cf[..15]
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if i % 2 == 0 {
                ODD[index(b)]
            } else {
                index(b) as u32
            }
        })
        .sum();
    // `sum % 26` is below 26, so the check character is an uppercase letter.
    cf[15] == b'A' + (sum % 26) as u8
}

/// An 11-digit codice fiscale / partita IVA: the last digit is the Luhn-style
/// check over the first ten.
fn numeric_cf(cf: &[u8]) -> bool {
    let sum: u32 = cf[..10]
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                d
            } else if d * 2 > 9 {
                d * 2 - 9
            } else {
                d * 2
            }
        })
        .sum();
    u32::from(cf[10] - b'0') == (10 - sum % 10) % 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_codici_fiscali() {
        for good in [
            "RSSMRA85T10A562S",
            "RSSMRA85T10D969T",
            "RSSLCU70C10D969T",
            "RSSMRA40A41D969T",
            "BNCGLI75E60D969V",
        ] {
            assert!(codice_fiscale(good, "cf").is_ok(), "{good}");
        }
        for bad in [
            "RSSMRA85T10A562T",
            "RSSMRA85Z10A562S",
            "rssmra85t10a562s",
            "RSSMRA85T10A5",
        ] {
            assert!(codice_fiscale(bad, "cf").is_err(), "{bad}");
        }
    }

    #[test]
    fn numeric_codici_fiscali() {
        assert!(codice_fiscale("00856930102", "cf").is_ok());
        assert!(codice_fiscale("00000000000", "cf").is_ok());
        assert!(codice_fiscale("00856930103", "cf").is_err());
        assert!(codice_fiscale("EX:1234567890123", "cf").is_ok());
    }

    #[test]
    fn court_codes_and_ids() {
        assert!(court("0100250093").is_ok());
        assert!(court("010025009").is_err());
        assert!(court("010025009A").is_err());
        assert!(attachment_id("Ricorso.pdf.p7m"));
        assert!(!attachment_id("1.pdf"));
        assert!(!attachment_id("a b.pdf"));
        assert!(!attachment_id(""));
    }

    #[test]
    fn values() {
        assert!(required("  ", "f").is_err());
        assert!(required("Rossi", "f").is_ok());
        assert!(chars("a\u{1}b", "f").is_err());
        assert!(chars("Università", "f").is_ok());
    }
}
