//! The registry data file: TOML as written (raw, stringly typed, with
//! positions), then checked into courts and competences. Every problem is
//! collected before the file is refused; see `docs/registry.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::court::VOLONTARIA_GIURISDIZIONE;
use crate::{Competence, Court, CourtCode, CourtKind, Error, IstatCode, Problem, ProblemKind};

/// The only data format version this crate reads.
pub(crate) const FORMAT: i64 = 1;

/// The competence value meaning "not established".
const NONE: &str = "none";

/// A checked data file, ready to index.
pub(crate) struct Checked {
    pub(crate) description: Option<String>,
    pub(crate) courts: Vec<Court>,
    pub(crate) competences: Vec<Competence>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    format: Option<i64>,
    description: Option<String>,
    #[serde(default)]
    court: Vec<Spanned<RawCourt>>,
    #[serde(default)]
    competence: Vec<Spanned<RawCompetence>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCourt {
    code: Option<String>,
    name: Option<String>,
    kind: Option<CourtKind>,
    pec_deposit: Option<String>,
    encryption_cert: Option<String>,
    registries: Option<Vec<String>>,
    source: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCompetence {
    istat: Option<String>,
    comune: Option<String>,
    province: Option<String>,
    court: Option<String>,
    source: Option<String>,
}

/// Parses and checks a data file; relative certificate paths are resolved
/// against `base_dir`. Touches no file.
pub(crate) fn parse(text: &str, base_dir: &Path) -> Result<Checked, Error> {
    let raw: RawFile = toml::from_str(text).map_err(|e| Error::Syntax {
        source: Box::new(e),
    })?;
    let lines = Lines::new(text);
    let mut problems = Vec::new();

    if raw.format != Some(FORMAT) {
        problems.push(Problem {
            line: None,
            kind: ProblemKind::UnsupportedFormat { found: raw.format },
        });
    }
    if raw.court.is_empty() {
        problems.push(Problem {
            line: None,
            kind: ProblemKind::NoCourts,
        });
    }

    let mut courts = Vec::new();
    // Every well-formed court code, even of a row refused for another
    // reason, so that duplicates and competences are judged against it.
    let mut court_lines: BTreeMap<CourtCode, usize> = BTreeMap::new();
    for (i, row) in raw.court.into_iter().enumerate() {
        let line = lines.of(row.span().start);
        let mut report = |kind| {
            problems.push(Problem {
                line: Some(line),
                kind,
            })
        };
        let code = row
            .get_ref()
            .code
            .as_deref()
            .and_then(|c| c.parse::<CourtCode>().ok());
        let first = match code {
            Some(code) => match court_lines.get(&code) {
                Some(&first_line) => {
                    report(ProblemKind::DuplicateCourt { code, first_line });
                    false
                }
                None => {
                    court_lines.insert(code, line);
                    true
                }
            },
            None => true,
        };
        // A duplicate's own problems are still reported; the row is not kept.
        if let Some(court) = check_court(row.into_inner(), i, base_dir, &mut report)
            && first
        {
            courts.push(court);
        }
    }

    let mut competences = Vec::new();
    let mut comune_lines: BTreeMap<IstatCode, usize> = BTreeMap::new();
    let mut competent: BTreeSet<CourtCode> = BTreeSet::new();
    let known = Known {
        listed: &court_lines,
        valid: &courts,
    };
    for (i, row) in raw.competence.into_iter().enumerate() {
        let line = lines.of(row.span().start);
        let mut report = |kind| {
            problems.push(Problem {
                line: Some(line),
                kind,
            })
        };
        let istat = row
            .get_ref()
            .istat
            .as_deref()
            .and_then(|c| c.parse::<IstatCode>().ok());
        let first = match istat {
            Some(istat) => match comune_lines.get(&istat) {
                Some(&first_line) => {
                    report(ProblemKind::DuplicateComune { istat, first_line });
                    false
                }
                None => {
                    comune_lines.insert(istat, line);
                    true
                }
            },
            None => true,
        };
        if let Some(c) = check_competence(row.into_inner(), i, &known, &mut report)
            && first
        {
            if let Some(code) = &c.court {
                competent.insert(code.clone());
            }
            competences.push(c);
        }
    }

    for court in &courts {
        if court.encryption_cert.is_none() && competent.contains(&court.code) {
            problems.push(Problem {
                line: court_lines.get(&court.code).copied(),
                kind: ProblemKind::NoCertificate {
                    court: court.code.clone(),
                },
            });
        }
    }

    if problems.is_empty() {
        Ok(Checked {
            description: raw.description,
            courts,
            competences,
        })
    } else {
        problems.sort_by_key(|p| p.line.unwrap_or(0));
        Err(Error::Invalid { problems })
    }
}

fn check_court(
    raw: RawCourt,
    index: usize,
    base_dir: &Path,
    report: &mut impl FnMut(ProblemKind),
) -> Option<Court> {
    let label = raw
        .code
        .clone()
        .unwrap_or_else(|| format!("#{}", index + 1));
    let missing = |key| ProblemKind::Missing {
        table: "court",
        name: label.clone(),
        key,
    };
    let code = match raw.code {
        None => {
            report(missing("code"));
            None
        }
        Some(value) => match value.parse::<CourtCode>() {
            Ok(code) => Some(code),
            Err(_) => {
                report(ProblemKind::InvalidCourtCode { value });
                None
            }
        },
    };
    let name = match raw.name.map(|n| n.trim().to_owned()) {
        None => {
            report(missing("name"));
            None
        }
        Some(n) if n.is_empty() => {
            report(ProblemKind::EmptyName {
                court: label.clone(),
            });
            None
        }
        Some(n) => Some(n),
    };
    let kind = raw.kind.or_else(|| {
        report(missing("kind"));
        None
    });
    let pec_deposit = match raw.pec_deposit {
        None => {
            report(missing("pec_deposit"));
            None
        }
        Some(pec) if is_email(&pec) => Some(pec),
        Some(value) => {
            report(ProblemKind::InvalidPec {
                court: label.clone(),
                value,
            });
            None
        }
    };
    let registries = match raw.registries {
        None => {
            report(missing("registries"));
            None
        }
        Some(list) if list.is_empty() => {
            report(ProblemKind::NoRegistries {
                court: label.clone(),
            });
            None
        }
        Some(list) => {
            let mut seen = BTreeSet::new();
            let mut ok = true;
            for r in &list {
                if !is_registry_name(r) || !seen.insert(r.as_str()) {
                    report(ProblemKind::InvalidRegistry {
                        court: label.clone(),
                        value: r.clone(),
                    });
                    ok = false;
                }
            }
            ok.then_some(list)
        }
    };
    let encryption_cert = match raw.encryption_cert {
        None => Some(None),
        Some(p) if p.trim().is_empty() => {
            report(ProblemKind::EmptyCertificatePath {
                court: label.clone(),
            });
            None
        }
        Some(p) => Some(Some(resolve(base_dir, &p))),
    };
    Some(Court {
        code: code?,
        name: name?,
        kind: kind?,
        pec_deposit: pec_deposit?,
        encryption_cert: encryption_cert?,
        registries: registries?,
        source: raw.source,
    })
}

/// The courts competence rows may name.
struct Known<'a> {
    /// Every well-formed court code, with its line.
    listed: &'a BTreeMap<CourtCode, usize>,
    /// The courts that passed every check.
    valid: &'a [Court],
}

fn check_competence(
    raw: RawCompetence,
    index: usize,
    known: &Known<'_>,
    report: &mut impl FnMut(ProblemKind),
) -> Option<Competence> {
    let label = raw
        .istat
        .clone()
        .unwrap_or_else(|| format!("#{}", index + 1));
    let missing = |key| ProblemKind::Missing {
        table: "competence",
        name: label.clone(),
        key,
    };
    let istat = match raw.istat {
        None => {
            report(missing("istat"));
            None
        }
        Some(value) => match value.parse::<IstatCode>() {
            Ok(code) => Some(code),
            Err(_) => {
                report(ProblemKind::InvalidIstat { value });
                None
            }
        },
    };
    let comune = match raw.comune.map(|n| n.trim().to_owned()) {
        None => {
            report(missing("comune"));
            None
        }
        Some(n) if n.is_empty() => {
            report(ProblemKind::EmptyComune {
                istat: label.clone(),
            });
            None
        }
        Some(n) => Some(n),
    };
    let province = match raw.province {
        None => {
            report(missing("province"));
            None
        }
        Some(p) if p.len() == 2 && p.bytes().all(|b| b.is_ascii_uppercase()) => Some(p),
        Some(value) => {
            report(ProblemKind::InvalidProvince {
                istat: label.clone(),
                value,
            });
            None
        }
    };
    let court = match raw.court {
        None => {
            report(missing("court"));
            None
        }
        Some(value) if value == NONE => Some(None),
        Some(value) => match value.parse::<CourtCode>() {
            Err(_) => {
                report(ProblemKind::InvalidCompetentCourt {
                    istat: label.clone(),
                    value,
                });
                None
            }
            Ok(code) if !known.listed.contains_key(&code) => {
                report(ProblemKind::UnknownCourt {
                    istat: label.clone(),
                    court: code,
                });
                None
            }
            Ok(code) => match known.valid.iter().find(|c| c.code == code) {
                // The court's own problems are reported on its row.
                None => None,
                Some(c) if c.kind != CourtKind::Tribunale || !c.keeps(VOLONTARIA_GIURISDIZIONE) => {
                    report(ProblemKind::NotVgCourt {
                        istat: label.clone(),
                        court: code,
                    });
                    None
                }
                Some(_) => Some(Some(code)),
            },
        },
    };
    Some(Competence {
        istat: istat?,
        comune: comune?,
        province: province?,
        court: court?,
        source: raw.source,
    })
}

/// Relative paths are taken from `base_dir`; absolute ones stay.
fn resolve(base_dir: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base_dir.join(path)
    }
}

/// A registry name: an ASCII letter, then ASCII letters and digits.
fn is_registry_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric())
}

/// A plain e-mail address `local@domain` of the kind PEC uses: no display
/// name, no quoting, no IP literal, a domain of at least two DNS labels
/// with an alphabetic top-level label.
pub(crate) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    const LOCAL_SPECIALS: &[u8] = b"!#$%&'*+-/=?^_`{|}~.";
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || LOCAL_SPECIALS.contains(&b));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()));
    local_ok && domain_ok
}

/// Byte offset → 1-based line number.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { starts }
    }

    fn of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }
}

#[cfg(test)]
mod tests;
