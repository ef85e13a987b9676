//! Mapping engine: turns an accepted FHIR Bundle, the court registry and the
//! proximity office's own data into a PCT filing — the typed DatiAtto, the
//! main act's document, the attachments and the destination court.
//!
//! Which FHIR element fills which model field is **data**: one TOML mapping
//! file per act type (`mappings/files/*.toml`), with paths in a documented
//! FHIRPath subset, a few transforms, the main act's Italian template and the
//! attachments. How the model fields become the typed DatiAtto is code (one
//! binder per act). The format, the path language and a worked example are in
//! `docs/mappings.md`.
//!
//! - [`MappingSet::load`] reads and checks every `*.toml` of a folder: syntax,
//!   known act and requested acts, known fields, parseable paths, templates
//!   naming known values. Mapping a Bundle can then fail only on the Bundle's
//!   content (or the court).
//! - [`MappingSet::map`] maps one Bundle ([`MapInput`] → [`MappedFiling`]).
//!   Where the registry cannot name the competent court, it stops with
//!   [`MapError::Competence`]: the office chooses a court and maps again with
//!   [`MapInput::court_override`]. It never guesses.
//! - [`Mappings`] reloads the folder when a file is added, removed or changed,
//!   keeping the previous set while the folder does not load.
//!
//! No network I/O; the only files read are the mapping folder's.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bind;
mod engine;
mod error;
mod file;
mod path;
mod reload;
mod template;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use error::{LoadError, MapError, RuleProblem};
pub use reload::Mappings;

/// The proximity office's own data, from the gateway config `[office]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeProfile {
    /// The office's name as the court sees it (`at:denominazione`), e.g.
    /// "Ufficio di Prossimità di Genova".
    pub name: String,
    /// Codice fiscale of the body hosting the office (11 digits, with its
    /// check digit): `at:codiceFiscale`.
    pub codice_fiscale: String,
    /// IPA code of the hosting administration (`at:codiceUnivocoPA`), if any.
    #[serde(default)]
    pub codice_univoco_pa: Option<String>,
    /// The office's address (`at:indirizzo`).
    pub address: OfficeAddress,
    /// The place written before the date in acts: "Genova, 26 novembre 2026".
    pub town: String,
    /// The office's staff who file (`evt:Funzionari` in existing cases).
    #[serde(default)]
    pub officers: Vec<Officer>,
    /// The office's PEC address, registered in ReGIndE (the sender of
    /// deposits).
    pub pec_address: String,
}

/// The office's address (`at:Indirizzo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeAddress {
    /// Street, without the house number: `at:via`.
    pub street: String,
    /// House number: `at:civico`.
    #[serde(default)]
    pub number: Option<String>,
    /// Postcode: `at:cap`.
    pub postcode: String,
    /// Town: `at:localita`.
    pub town: String,
    /// Province code, two letters (`GE`): `at:provincia`.
    pub province: String,
    /// Country code (`IT`): `at:stato`.
    pub country: String,
}

/// One of the office's staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Officer {
    /// Surname: `at:cognome`.
    pub surname: String,
    /// Given name: `at:nome`.
    pub given_name: String,
    /// Codice fiscale (16 characters): `at:codiceFiscale`.
    pub codice_fiscale: String,
}

/// What one mapping needs.
#[derive(Debug, Clone, Copy)]
pub struct MapInput<'a> {
    /// The accepted FHIR R4 Bundle, JSON form (XML submissions are converted
    /// before).
    pub bundle: &'a serde_json::Value,
    /// The requested act: `ads-appointment`, `ads-report`, `ads-accounts`,
    /// `tso-convalida` or `istanza`.
    pub requested_act: &'a str,
    /// The court registry.
    pub registry: &'a ponte_registry::Registry,
    /// The proximity office.
    pub office: &'a OfficeProfile,
    /// A codice ufficio the office chose after a [`MapError::Competence`]; it
    /// wins over the sender's court and over competence.
    pub court_override: Option<&'a str>,
    /// The filing date ("Genova, 26 novembre 2026", PDF metadata).
    pub filed_on: time::Date,
}

/// A mapped filing, ready to be rendered, signed and enveloped.
#[derive(Debug, Clone)]
pub struct MappedFiling {
    /// The mapping file that produced it.
    pub mapping_file: PathBuf,
    /// The complete DatiAtto, including `attachments`: the principal act (id
    /// and name `<main_act_name>.p7m`) and each of [`MappedFiling::attachments`]
    /// (same ids and names, same order); not the DatiAtto part itself.
    pub datiatto: ponte_pct::datiatto::DatiAtto,
    /// The main act's document, to be rendered as PDF.
    pub main_act: ponte_pct::mainact::MainActDocument,
    /// The main act's file name, e.g. `Ricorso.pdf`; its signed part is
    /// `<main_act_name>.p7m`.
    pub main_act_name: String,
    /// The documents of the Bundle that go with the act, bytes as in the
    /// Bundle.
    pub attachments: Vec<MappedAttachment>,
    /// The destination court.
    pub court: ponte_registry::Court,
    /// Free text after `DEPOSITO ` in the PEC subject (no personal data).
    pub deposit_description: String,
}

/// A document of the Bundle that becomes a part of the filing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedAttachment {
    /// The part's id (MIME Content-ID, `IndiceBusta` id); equal to `name`.
    pub id: String,
    /// The part's file name, e.g. `CertificatoMedico.pdf`.
    pub name: String,
    /// How `IndiceBusta` lists it.
    pub kind: ponte_pct::datiatto::AttachmentKind,
    /// MIME type from the attachment (or its Binary), parameters removed.
    pub content_type: String,
    /// The decoded bytes, unchanged.
    pub bytes: Vec<u8>,
}

/// Every mapping file of a folder, checked.
#[derive(Debug)]
pub struct MappingSet {
    files: Vec<file::MappingFile>,
    /// Requested act → index in `files`.
    by_act: BTreeMap<String, usize>,
}

impl MappingSet {
    /// Reads and checks every `*.toml` file of `dir` (not subfolders), in name
    /// order. Each requested act may be served by one file only.
    ///
    /// # Errors
    ///
    /// [`LoadError`] naming the file (and the rule) at fault; nothing is
    /// loaded.
    pub fn load(dir: &Path) -> Result<Self, LoadError> {
        let io = |source| LoadError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        let mut by_act = BTreeMap::new();
        for path in paths {
            let f = file::load(&path)?;
            for act in &f.requested_acts {
                if let Some(&other) = by_act.get(act) {
                    let first: &file::MappingFile = &files[other];
                    return Err(LoadError::Duplicate {
                        requested_act: act.clone(),
                        first: first.path.clone(),
                        second: path.clone(),
                    });
                }
                by_act.insert(act.clone(), files.len());
            }
            files.push(f);
        }
        Ok(Self { files, by_act })
    }

    /// The files loaded, in name order.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|f| f.path.as_path())
    }

    /// The requested acts served, each with its file.
    pub fn requested_acts(&self) -> impl Iterator<Item = (&str, &Path)> {
        self.by_act
            .iter()
            .map(|(a, &i)| (a.as_str(), self.files[i].path.as_path()))
    }

    /// Maps one Bundle with the file serving `input.requested_act`.
    ///
    /// # Errors
    ///
    /// [`MapError`]: no file for the act, a rule that the Bundle cannot
    /// satisfy (naming file, rule and path), the court (unknown competence,
    /// unknown court), or a filled model that `to_xml` refuses.
    pub fn map(&self, input: &MapInput<'_>) -> Result<MappedFiling, MapError> {
        let Some(&i) = self.by_act.get(input.requested_act) else {
            return Err(MapError::NoMapping {
                requested_act: input.requested_act.to_owned(),
            });
        };
        engine::map(&self.files[i], input)
    }
}
