//! The crate's error: a registry data file that cannot be read, parsed or
//! trusted. Lookup refusals are [`CompetenceError`](crate::CompetenceError).

use std::fmt;
use std::path::PathBuf;

use crate::{CourtCode, IstatCode};

/// Why a registry data file was refused. All of these are the data file's
/// (or the operator's) fault; none is worth retrying as is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The data file could not be read (missing, permissions): the
    /// operator's environment.
    #[error("cannot read registry data file {path}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not TOML, or not shaped like a registry data file (an
    /// unknown key, a value of the wrong type, an unknown court `kind`): the
    /// data file's author. The parser stops at the first such error.
    #[error("registry data file is not valid: {source}")]
    Syntax {
        /// The parser's error; its message gives line and column.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// The file parses but its content is wrong: every problem found is
    /// listed (the data file's author, or, for certificate files, the
    /// operator who placed them).
    #[error("registry data has {} problem{}: {}", .problems.len(), plural(.problems.len()), Listed(.problems))]
    Invalid {
        /// Every problem, in file order.
        problems: Vec<Problem>,
    },
}

/// One problem in a registry data file.
#[derive(Debug)]
pub struct Problem {
    /// 1-based line of the `[[court]]` table or `competence` row concerned,
    /// where there is one.
    pub line: Option<usize>,
    /// What is wrong.
    pub kind: ProblemKind,
}

/// What is wrong in a registry data file. Values are quoted as written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProblemKind {
    /// `format` is missing or not a version this crate reads (1).
    #[error("unsupported format {}: this version reads format = 1", found.map_or_else(|| "(missing)".to_owned(), |v| v.to_string()))]
    UnsupportedFormat {
        /// The value found, if any.
        found: Option<i64>,
    },
    /// The file lists no `[[court]]`.
    #[error("no court is listed")]
    NoCourts,
    /// A required key is absent.
    #[error("{table} {name}: `{key}` is missing")]
    Missing {
        /// `court` or `competence`.
        table: &'static str,
        /// The row's code as written, or `#n` (1-based position) without one.
        name: String,
        /// The missing key.
        key: &'static str,
    },
    /// A court `code` that is not 10 digits.
    #[error("court code \"{value}\" is not exactly 10 digits")]
    InvalidCourtCode {
        /// As written.
        value: String,
    },
    /// Two courts with the same code.
    #[error("court {code} is listed twice (first on line {first_line})")]
    DuplicateCourt {
        /// The code.
        code: CourtCode,
        /// Line of the first one.
        first_line: usize,
    },
    /// An empty `name`.
    #[error("court {court}: `name` is empty")]
    EmptyName {
        /// The court's code as written.
        court: String,
    },
    /// A `pec_deposit` that is not an e-mail address.
    #[error("court {court}: pec_deposit \"{value}\" is not an e-mail address")]
    InvalidPec {
        /// The court's code as written.
        court: String,
        /// As written.
        value: String,
    },
    /// An empty `registries` list.
    #[error("court {court}: `registries` is empty")]
    NoRegistries {
        /// The court's code as written.
        court: String,
    },
    /// A registry name that is not a word of ASCII letters and digits
    /// starting with a letter, or is listed twice.
    #[error(
        "court {court}: registry \"{value}\" is not a name like \"VolontariaGiurisdizione\" or is listed twice"
    )]
    InvalidRegistry {
        /// The court's code as written.
        court: String,
        /// As written.
        value: String,
    },
    /// An empty `encryption_cert`.
    #[error("court {court}: `encryption_cert` is empty")]
    EmptyCertificatePath {
        /// The court's code as written.
        court: String,
    },
    /// A competence `istat` that is not 6 digits.
    #[error("competence: istat \"{value}\" is not exactly 6 digits")]
    InvalidIstat {
        /// As written.
        value: String,
    },
    /// Two competence rows for the same comune.
    #[error("comune {istat} is listed twice (first on line {first_line})")]
    DuplicateComune {
        /// The comune.
        istat: IstatCode,
        /// Line of the first row.
        first_line: usize,
    },
    /// An empty comune name.
    #[error("comune {istat}: `comune` (its name) is empty")]
    EmptyComune {
        /// The ISTAT code as written.
        istat: String,
    },
    /// A `province` that is not two capital letters.
    #[error("comune {istat}: province \"{value}\" is not two capital letters like \"GE\"")]
    InvalidProvince {
        /// The ISTAT code as written.
        istat: String,
        /// As written.
        value: String,
    },
    /// A competence `court` that is neither a 10-digit code nor `"none"`.
    #[error("comune {istat}: court \"{value}\" is neither a 10-digit court code nor \"none\"")]
    InvalidCompetentCourt {
        /// The ISTAT code as written.
        istat: String,
        /// As written.
        value: String,
    },
    /// A competence row naming a court the file does not list.
    #[error("comune {istat}: court {court} is not listed as a [[court]]")]
    UnknownCourt {
        /// The ISTAT code as written.
        istat: String,
        /// The court named.
        court: CourtCode,
    },
    /// A competence row naming a court that is not a `Tribunale` keeping
    /// the `VolontariaGiurisdizione` registry.
    #[error(
        "comune {istat}: court {court} is not a Tribunale keeping the VolontariaGiurisdizione registry"
    )]
    NotVgCourt {
        /// The ISTAT code as written.
        istat: String,
        /// The court named.
        court: CourtCode,
    },
    /// A court competent for some comune has no `encryption_cert`, so
    /// nothing could be deposited with it.
    #[error("court {court} is competent for comuni but has no encryption_cert")]
    NoCertificate {
        /// The court.
        court: CourtCode,
    },
    /// On import: an encryption certificate file cannot be read.
    #[error("court {court}: cannot read encryption certificate {}: {source}", path.display())]
    CertificateUnreadable {
        /// The court.
        court: CourtCode,
        /// The resolved path.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// On import: an encryption certificate file holds no PEM X.509
    /// certificate.
    #[error("court {court}: {} is not a PEM X.509 certificate", path.display())]
    NotACertificate {
        /// The court.
        court: CourtCode,
        /// The resolved path.
        path: PathBuf,
    },
}

// === impl Error ===

impl Error {
    /// Stable snake_case code, for logs, metrics and problem types.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "registry_unreadable",
            Self::Syntax { .. } => "registry_syntax",
            Self::Invalid { .. } => "registry_invalid",
        }
    }

    /// The problems of an [`Error::Invalid`]; empty for the other variants.
    pub fn problems(&self) -> &[Problem] {
        match self {
            Self::Invalid { problems } => problems,
            Self::Io { .. } | Self::Syntax { .. } => &[],
        }
    }
}

/// Whether retrying the same operation could succeed: never, since every
/// error comes from the data file or the files it names, which an operator
/// must fix first.
pub fn is_retriable(error: &Error) -> bool {
    match error {
        Error::Io { .. } | Error::Syntax { .. } | Error::Invalid { .. } => false,
    }
}

// === impl Problem ===

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for Problem {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

struct Listed<'a>(&'a [Problem]);

impl fmt::Display for Listed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}
