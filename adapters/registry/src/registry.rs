//! The loaded registry and its lookups.

use std::collections::BTreeMap;
use std::path::Path;

use crate::competence::name_key;
use crate::{
    Competence, CompetenceError, ComuneRef, Court, CourtCode, Error, IstatCode, Problem, file,
};

/// Courts and competence, checked and indexed. Immutable once built.
#[derive(Clone, Debug)]
pub struct Registry {
    description: Option<String>,
    courts: Vec<Court>,
    court_index: BTreeMap<CourtCode, usize>,
    competences: Vec<Competence>,
    by_istat: BTreeMap<IstatCode, usize>,
    by_name: BTreeMap<String, Vec<usize>>,
}

// === impl Registry ===

impl Registry {
    /// Parses and checks a registry data file (format in `docs/registry.md`).
    ///
    /// Relative `encryption_cert` paths are resolved against `base_dir`,
    /// normally the data file's folder. Reads no file: certificates are
    /// checked by [`Registry::check_certificates`] (and [`crate::import`]).
    ///
    /// # Errors
    ///
    /// [`Error::Syntax`] for the first TOML or shape error;
    /// [`Error::Invalid`] listing every content problem (bad or duplicate
    /// codes, e-mail addresses, provinces, competences naming unknown courts
    /// or courts without the VG registry, …).
    pub fn from_toml(text: &str, base_dir: impl AsRef<Path>) -> Result<Self, Error> {
        let checked = file::parse(text, base_dir.as_ref())?;
        let court_index = checked
            .courts
            .iter()
            .enumerate()
            .map(|(i, c)| (c.code.clone(), i))
            .collect();
        let by_istat = checked
            .competences
            .iter()
            .enumerate()
            .map(|(i, c)| (c.istat.clone(), i))
            .collect();
        let mut order: Vec<usize> = (0..checked.competences.len()).collect();
        order.sort_by(|&a, &b| {
            checked.competences[a]
                .istat
                .cmp(&checked.competences[b].istat)
        });
        let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for i in order {
            by_name
                .entry(name_key(&checked.competences[i].comune))
                .or_default()
                .push(i);
        }
        Ok(Self {
            description: checked.description,
            courts: checked.courts,
            court_index,
            competences: checked.competences,
            by_istat,
            by_name,
        })
    }

    /// Reads and checks the data file at `path`; relative certificate paths
    /// are resolved against the file's folder. Does not read the
    /// certificates (see [`crate::import`]).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be read; otherwise as
    /// [`Registry::from_toml`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let base_dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        Self::from_toml(&text, base_dir)
    }

    /// Checks that every `encryption_cert` file can be read and holds a PEM
    /// X.509 certificate. Reads local files only.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] listing every court whose certificate is missing,
    /// unreadable or not a certificate.
    pub fn check_certificates(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        for court in &self.courts {
            let Some(path) = &court.encryption_cert else {
                continue;
            };
            if let Err(kind) = crate::cert::check(&court.code, path) {
                problems.push(Problem { line: None, kind });
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid { problems })
        }
    }

    /// The data file's `description`, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The court with this code.
    pub fn court(&self, code: &CourtCode) -> Option<&Court> {
        self.court_index.get(code).map(|&i| &self.courts[i])
    }

    /// Every court, in data-file order.
    pub fn courts(&self) -> impl ExactSizeIterator<Item = &Court> + '_ {
        self.courts.iter()
    }

    /// The competence row of the comune with this ISTAT code (its `court`
    /// is `None` where competence is not established).
    pub fn competence(&self, istat: &IstatCode) -> Option<&Competence> {
        self.by_istat.get(istat).map(|&i| &self.competences[i])
    }

    /// Every competence row, in data-file order.
    pub fn competences(&self) -> impl ExactSizeIterator<Item = &Competence> + '_ {
        self.competences.iter()
    }

    /// The tribunal competent in volontaria giurisdizione for the comune of
    /// the beneficiary's home address.
    ///
    /// By ISTAT code when `comune.istat` is given (non-blank), and then
    /// only by it; otherwise by name, ignoring case, accents, apostrophes,
    /// hyphens and spaces. Never guesses.
    ///
    /// # Errors
    ///
    /// Every [`CompetenceError`] means the filing must stop and the office
    /// must choose the court: no comune given, a comune the registry does
    /// not know, a name matching several comuni, or a comune whose
    /// competence the registry marks as not established.
    pub fn competent_court(&self, comune: ComuneRef<'_>) -> Result<&Court, CompetenceError> {
        let row = match (given(comune.istat), given(comune.name)) {
            (Some(istat), _) => istat
                .parse::<IstatCode>()
                .ok()
                .and_then(|code| self.competence(&code))
                .ok_or_else(|| CompetenceError::UnknownComune {
                    istat: Some(istat.to_owned()),
                    name: None,
                })?,
            (None, Some(name)) => self.by_name_unique(name)?,
            (None, None) => return Err(CompetenceError::NoComune),
        };
        let unknown = || CompetenceError::CompetenceUnknown {
            comune: row.clone(),
        };
        // `from_toml` checked that every competent court is listed; were it
        // not, the filing would stop here rather than go anywhere.
        let code = row.court.as_ref().ok_or_else(unknown)?;
        self.court(code).ok_or_else(unknown)
    }

    fn by_name_unique(&self, name: &str) -> Result<&Competence, CompetenceError> {
        let unknown = || CompetenceError::UnknownComune {
            istat: None,
            name: Some(name.to_owned()),
        };
        let key = name_key(name);
        if key.is_empty() {
            return Err(unknown());
        }
        match self.by_name.get(&key).map(Vec::as_slice) {
            Some([only]) => Ok(&self.competences[*only]),
            Some(many @ [_, _, ..]) => Err(CompetenceError::Ambiguous {
                name: name.to_owned(),
                candidates: many.iter().map(|&i| self.competences[i].clone()).collect(),
            }),
            Some([]) | None => Err(unknown()),
        }
    }
}

/// A value the sender actually gave: trimmed, and not blank.
fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests;
