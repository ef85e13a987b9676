//! Checked identifiers: court office codes and ISTAT comune codes.
//!
//! Both are strings of digits with significant leading zeros, so they are
//! kept as text, never as numbers. Parsing checks the shape only (length and
//! digits): whether a code names a real office or comune is the registry's
//! business.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A court's office code ("codice ufficio"), exactly 10 ASCII digits.
///
/// PCT and PST spell it with leading zeros (`0100250093`, Tribunale di
/// Genova); the first six digits are usually the ISTAT code of the comune
/// where the office sits. Offices with 11-character codes (procure, UNEP)
/// are not courts one files VG acts with, and are refused.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CourtCode(String);

/// An ISTAT comune code, exactly 6 ASCII digits (`010025`, Genova).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IstatCode(String);

/// A string that is not a well-formed [`CourtCode`] or [`IstatCode`].
///
/// The message says what was expected; it does not repeat the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}")]
pub struct InvalidCode {
    expected: &'static str,
}

const COURT_CODE_LEN: usize = 10;
const ISTAT_CODE_LEN: usize = 6;

fn all_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

// === impl CourtCode ===

impl CourtCode {
    /// The code as written, 10 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CourtCode {
    type Err = InvalidCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if all_digits(s, COURT_CODE_LEN) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidCode {
                expected: "a court code of exactly 10 digits",
            })
        }
    }
}

impl TryFrom<String> for CourtCode {
    type Error = InvalidCode;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<CourtCode> for String {
    fn from(code: CourtCode) -> Self {
        code.0
    }
}

impl fmt::Display for CourtCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// === impl IstatCode ===

impl IstatCode {
    /// The code as written, 6 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for IstatCode {
    type Err = InvalidCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if all_digits(s, ISTAT_CODE_LEN) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidCode {
                expected: "an ISTAT comune code of exactly 6 digits",
            })
        }
    }
}

impl TryFrom<String> for IstatCode {
    type Error = InvalidCode;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<IstatCode> for String {
    fn from(code: IstatCode) -> Self {
        code.0
    }
}

impl fmt::Display for IstatCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn court_code_is_ten_digits() {
        let code: CourtCode = "0100250093".parse().unwrap();
        assert_eq!(code.to_string(), "0100250093");
        assert_eq!(code.as_str(), "0100250093");
        for bad in [
            "",
            "010025009",
            "01002500931",
            "010025009a",
            " 0100250093",
            "０100250093",
        ] {
            assert!(bad.parse::<CourtCode>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn istat_code_is_six_digits() {
        let code: IstatCode = "010025".parse().unwrap();
        assert_eq!(code.to_string(), "010025");
        for bad in ["", "10025", "0100250", "01002x", "+10025"] {
            assert!(bad.parse::<IstatCode>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn serde_round_trip_and_refusal() {
        #[derive(Serialize, Deserialize)]
        struct Row {
            court: CourtCode,
            istat: IstatCode,
        }
        let row: Row = toml::from_str("court = \"0090560095\"\nistat = \"009056\"").unwrap();
        assert_eq!(row.court.as_str(), "0090560095");
        assert_eq!(row.istat.as_str(), "009056");
        let text = toml::to_string(&row).unwrap();
        assert!(text.contains("court = \"0090560095\""), "{text}");

        let err = toml::from_str::<Row>("court = \"123\"\nistat = \"009056\"")
            .err()
            .unwrap();
        assert!(err.to_string().contains("exactly 10 digits"), "{err}");
    }

    #[test]
    fn invalid_code_message_does_not_echo_input() {
        let err = "secret-ish".parse::<IstatCode>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected an ISTAT comune code of exactly 6 digits"
        );
    }
}
