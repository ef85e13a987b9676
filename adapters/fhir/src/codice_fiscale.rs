//! The Italian *codice fiscale* (tax code) as a patient identifier.
//!
//! This module knows the identifier systems in real use for it, checks the
//! 16-character format (omocodia included) and the check character of
//! DM 23/12/1976. It does not check that the code belongs to a real person,
//! nor that the birth date, sex or municipality it encodes are plausible,
//! and it never looks anything up: there is no I/O here.

use thiserror::Error;

/// The codice fiscale system of IT Core and the Ministero's FSE 2.0 examples;
/// the form Ponte emits.
pub const SYSTEM_OID: &str = "urn:oid:2.16.840.1.113883.2.9.4.3.2";

/// The codice fiscale system of HL7 Italia's base profiles.
pub const SYSTEM_HL7IT: &str = "http://hl7.it/sid/codiceFiscale";

/// The prescription-number root, used by mistake for the codice fiscale in
/// one Ministero example: accepted on read with a warning, never emitted.
pub const SYSTEM_WRONG_OID: &str = "urn:oid:2.16.840.1.113883.2.9.4.3.8";

/// Whether `system` is one of the two correct codice fiscale systems
/// ([`SYSTEM_OID`], [`SYSTEM_HL7IT`]). [`SYSTEM_WRONG_OID`] is not one: the
/// caller decides whether to accept it with a warning.
pub fn is_cf_system(system: &str) -> bool {
    system == SYSTEM_OID || system == SYSTEM_HL7IT
}

/// Why a string is not a valid codice fiscale. The messages never repeat
/// the code itself, which is personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum CfError {
    /// Not 16 characters of the form `AAAAAA00A00A000A` (letters and
    /// digits in the right places, digits possibly replaced by `LMNPQRSTUV`).
    #[error("not a codice fiscale: expected 16 characters of the form AAAAAA00A00A000A")]
    Pattern,
    /// The form is right but the 16th character does not match the first 15.
    #[error("wrong codice fiscale check character: expected {expected}, found {found}")]
    CheckCharacter {
        /// The check character computed from the first 15 characters.
        expected: char,
        /// The 16th character as sent (upper-cased).
        found: char,
    },
}

/// Checks a codice fiscale: form and check character, ignoring letter case.
pub fn validate(cf: &str) -> Result<(), CfError> {
    let bytes = cf.as_bytes();
    if bytes.len() != 16 || !matches_pattern(bytes) {
        return Err(CfError::Pattern);
    }
    let expected = check_character(&cf[..15]).ok_or(CfError::Pattern)?;
    let found = char::from(bytes[15].to_ascii_uppercase());
    if expected == found {
        Ok(())
    } else {
        Err(CfError::CheckCharacter { expected, found })
    }
}

/// The check character (an upper-case letter) for the first 15 characters
/// of a codice fiscale, or `None` if `first15` is not 15 ASCII letters and
/// digits.
///
/// Characters in odd positions (1st, 3rd, …, 15th) are valued with the odd
/// table of DM 23/12/1976, those in even positions with the even table
/// (digits 0–9, letters A–Z → 0–25); the sum modulo 26 is the letter.
pub fn check_character(first15: &str) -> Option<char> {
    let bytes = first15.as_bytes();
    if bytes.len() != 15 {
        return None;
    }
    let mut sum = 0u32;
    for (i, &b) in bytes.iter().enumerate() {
        // `i` is 0-based, so even `i` is an odd (1st, 3rd, …) position.
        let value = if i % 2 == 0 {
            odd_value(b)?
        } else {
            even_value(b)?
        };
        sum += value;
    }
    // The remainder is below 26, so the addition stays within `A..=Z`.
    let letter = b'A' + u8::try_from(sum % 26).ok()?;
    Some(char::from(letter))
}

/// Values of odd-position characters for `0`–`9` (same as `A`–`J`).
const ODD_DIGITS: [u32; 10] = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21];

/// Values of odd-position letters `K`–`Z`.
const ODD_K_TO_Z: [u32; 16] = [2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];

fn odd_value(b: u8) -> Option<u32> {
    let b = b.to_ascii_uppercase();
    match b {
        b'0'..=b'9' => Some(ODD_DIGITS[usize::from(b - b'0')]),
        b'A'..=b'J' => Some(ODD_DIGITS[usize::from(b - b'A')]),
        b'K'..=b'Z' => Some(ODD_K_TO_Z[usize::from(b - b'K')]),
        _ => None,
    }
}

fn even_value(b: u8) -> Option<u32> {
    let b = b.to_ascii_uppercase();
    match b {
        b'0'..=b'9' => Some(u32::from(b - b'0')),
        b'A'..=b'Z' => Some(u32::from(b - b'A')),
        _ => None,
    }
}

/// `^[A-Za-z]{6}[0-9LMNPQRSTUV]{2}[A-Za-z][0-9LMNPQRSTUV]{2}[A-Za-z][0-9LMNPQRSTUV]{3}[A-Za-z]$`,
/// letters in any case (omocodia letters included).
fn matches_pattern(bytes: &[u8]) -> bool {
    // `L` = letter, `N` = digit or its omocodia letter.
    const SHAPE: &[u8; 16] = b"LLLLLLNNLNNLNNNL";
    bytes.iter().zip(SHAPE).all(|(&b, &kind)| {
        if kind == b'L' {
            b.is_ascii_alphabetic()
        } else {
            b.is_ascii_digit() || b"LMNPQRSTUV".contains(&b.to_ascii_uppercase())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_valid_codes() {
        // RSSMRA85T10A562S, checked by hand: odd positions R S R 8 T 0 5 2
        // = 8+12+8+19+14+1+13+5 = 80; even positions S M A 5 1 A 6
        // = 18+12+0+5+1+0+6 = 42; 122 mod 26 = 18 = S.
        for cf in [
            "RSSMRA85T10A562S",
            "MRTMTT91D08F205J",
            "VRDGPP80A01H501U",
            "BNCLRA92M41F205B",
            "FRNGNN60B45L219D",
        ] {
            assert_eq!(validate(cf), Ok(()), "{cf}");
        }
    }

    #[test]
    fn case_insensitive() {
        assert_eq!(validate("rssmra85t10a562s"), Ok(()));
        assert_eq!(validate("RssMra85t10A562s"), Ok(()));
    }

    #[test]
    fn check_character_of_first_15() {
        assert_eq!(check_character("RSSMRA85T10A562"), Some('S'));
        assert_eq!(check_character("rssmra85t10a562"), Some('S'));
        assert_eq!(check_character("RSSMRA85T10A56"), None);
        assert_eq!(check_character("RSSMRA85T10A56-"), None);
        assert_eq!(check_character("RSSMRA85T10A56è"), None);
    }

    #[test]
    fn wrong_check_character() {
        assert_eq!(
            validate("RSSMRA85T10A562T"),
            Err(CfError::CheckCharacter {
                expected: 'S',
                found: 'T'
            })
        );
        assert_eq!(
            validate("rssmra85t10a562x"),
            Err(CfError::CheckCharacter {
                expected: 'S',
                found: 'X'
            })
        );
    }

    #[test]
    fn omocodia() {
        // The last digit 2 of RSSMRA85T10A562S replaced by N: the check
        // character changes from S to H (2 is worth 5 in the odd table, N 20).
        assert_eq!(validate("RSSMRA85T10A56NH"), Ok(()));
        // Every digit replaced (8→U, 5→R, 1→M, 0→L, 5→R, 6→S, 2→N).
        assert_eq!(validate("RSSMRAURTMLARSNL"), Ok(()));
        assert_eq!(
            validate("RSSMRA85T10A56NS"),
            Err(CfError::CheckCharacter {
                expected: 'H',
                found: 'S'
            })
        );
        // O is not an omocodia letter.
        assert_eq!(validate("RSSMRA85T10A56OH"), Err(CfError::Pattern));
    }

    #[test]
    fn bad_patterns() {
        for cf in [
            "",
            "RSSMRA85T10A562",
            "RSSMRA85T10A562SS",
            "RSSMR485T10A562S",
            "RSSMRA85110A562S",
            "RSSMRA85T10A5620",
            "RSSMRA85T10A56 S",
            "RSSMRA85T10À562",
            "12345678901",
        ] {
            assert_eq!(validate(cf), Err(CfError::Pattern), "{cf:?}");
        }
    }

    #[test]
    fn systems() {
        assert!(is_cf_system(SYSTEM_OID));
        assert!(is_cf_system(SYSTEM_HL7IT));
        assert!(!is_cf_system(SYSTEM_WRONG_OID));
        assert!(!is_cf_system("urn:oid:2.16.840.1.113883.2.9.4.3.2 "));
    }

    #[test]
    fn messages_do_not_repeat_the_code() {
        let err = validate("RSSMRA85T10A562T").unwrap_err();
        assert_eq!(
            err.to_string(),
            "wrong codice fiscale check character: expected S, found T"
        );
        assert!(!CfError::Pattern.to_string().contains("RSS"));
    }
}
