//! Courts: who they are, where deposits go, and which registries they keep.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::CourtCode;

/// The registry name of volontaria giurisdizione (SICID "VG"), the one a
/// court must list to be competent for a comune in this registry.
pub const VOLONTARIA_GIURISDIZIONE: &str = "VolontariaGiurisdizione";

/// A judicial office registered for PCT deposits.
///
/// Built only by [`Registry`](crate::Registry), from a checked data file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Court {
    /// Office code ("codice ufficio").
    pub code: CourtCode,
    /// Name as the ministry lists it, e.g. `Tribunale Ordinario - Genova`.
    pub name: String,
    /// What kind of office it is.
    pub kind: CourtKind,
    /// PCT PEC address that deposits are sent to (checked to look like an
    /// e-mail address; whether the mailbox exists is not checked).
    pub pec_deposit: String,
    /// PEM file of the court's encryption certificate ("certificato di
    /// cifratura"), already resolved against the data file's folder. A local
    /// path: do not show it to API clients.
    pub encryption_cert: Option<PathBuf>,
    /// Registries the court keeps for telematic deposits, e.g.
    /// [`VOLONTARIA_GIURISDIZIONE`].
    pub registries: Vec<String>,
    /// Where the data come from, free text, if the data file says.
    pub source: Option<String>,
}

/// Kind of judicial office, as the ministry's office list
/// (`tipo_ufficio` in `../shared/registry/uffici-giudiziari.csv`) has them.
///
/// In data files the kind is written as the variant's name (`"Tribunale"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CourtKind {
    /// Tribunale Ordinario, including the seats of suppressed tribunals
    /// (D.Lgs. 155/2012) that keep their own code.
    Tribunale,
    /// Tribunale per i Minorenni.
    TribunaleMinorenni,
    /// Corte d'Appello.
    CorteAppello,
    /// Giudice di Pace.
    GiudiceDiPace,
    /// Former sezione distaccata of a tribunal, still listed under its code.
    SezioneDistaccata,
    /// Tribunale or Ufficio di Sorveglianza.
    Sorveglianza,
    /// Tribunale Superiore delle Acque Pubbliche.
    TribunaleAcquePubbliche,
    /// Procura Generale della Repubblica.
    ProcuraGenerale,
    /// Procura della Repubblica presso il Tribunale per i Minorenni.
    ProcuraMinorenni,
    /// Procura della Repubblica.
    ProcuraRepubblica,
    /// UNEP, the bailiffs' office.
    Unep,
}

// === impl Court ===

impl Court {
    /// Whether the court keeps the registry `name` (exact spelling).
    pub fn keeps(&self, registry: &str) -> bool {
        self.registries.iter().any(|r| r == registry)
    }
}

// === impl CourtKind ===

impl CourtKind {
    /// The Italian name of the kind of office.
    pub fn label(self) -> &'static str {
        match self {
            Self::Tribunale => "Tribunale Ordinario",
            Self::TribunaleMinorenni => "Tribunale per i Minorenni",
            Self::CorteAppello => "Corte d'Appello",
            Self::GiudiceDiPace => "Giudice di Pace",
            Self::SezioneDistaccata => "Sezione distaccata di Tribunale",
            Self::Sorveglianza => "Tribunale/Ufficio di Sorveglianza",
            Self::TribunaleAcquePubbliche => "Tribunale Superiore delle Acque Pubbliche",
            Self::ProcuraGenerale => "Procura Generale della Repubblica",
            Self::ProcuraMinorenni => {
                "Procura della Repubblica presso il Tribunale per i Minorenni"
            }
            Self::ProcuraRepubblica => "Procura della Repubblica",
            Self::Unep => "UNEP",
        }
    }
}

impl fmt::Display for CourtKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}
