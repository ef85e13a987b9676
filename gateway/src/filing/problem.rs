//! What the office and the sender are told when a build stops, and whether
//! it stops for good, waits for the office, or is tried again.

use ponte_mappings::MapError;

use super::build::BuildError;
use crate::store::{FilingProblem, FilingState};

/// How a stopped build is handled.
#[derive(Debug)]
pub enum Stop {
    /// The filing cannot be built from this submission as it is.
    Fail(Box<FilingProblem>),
    /// The office must decide (choose the competent court).
    Hold(Box<FilingProblem>),
    /// A passing cause: try again later.
    Retry(&'static str),
}

impl Stop {
    /// The filing state for a stop that ends the build.
    pub fn state(&self) -> Option<(FilingState, &FilingProblem)> {
        match self {
            Stop::Fail(p) => Some((FilingState::Failed, p)),
            Stop::Hold(p) => Some((FilingState::OnHold, p)),
            Stop::Retry(_) => None,
        }
    }
}

/// A problem with no mapping detail.
pub fn problem(code: &str, message: String, message_it: String) -> FilingProblem {
    FilingProblem {
        code: code.to_owned(),
        message,
        message_it,
        file: None,
        rule: None,
        element: None,
    }
}

/// A mapping error as a stop.
pub fn from_map_error(error: &MapError) -> Stop {
    match error {
        // Whatever stopped competence (unknown comune, none established,
        // ambiguous name), the office can choose the court: hold.
        MapError::Competence(competence) => Stop::Hold(Box::new(problem(
            competence.code(),
            competence.en(),
            competence.it(),
        ))),
        MapError::UnknownCourt { code } => Stop::Hold(Box::new(problem(
            "court_unknown",
            format!("court {code} is not in the court registry: the office must choose the court"),
            format!(
                "l'ufficio giudiziario {code} non è nel registro: l'ufficio deve scegliere il tribunale"
            ),
        ))),
        MapError::NoMapping { requested_act } => Stop::Fail(Box::new(problem(
            error.code(),
            format!("no mapping file serves the requested act {requested_act}"),
            format!("nessun file di mappatura per l'atto richiesto {requested_act}"),
        ))),
        MapError::Rule {
            file,
            rule,
            element,
            ..
        } => Stop::Fail(Box::new(FilingProblem {
            file: Some(file.display().to_string()),
            rule: Some(rule.clone()),
            element: element.clone(),
            ..problem(
                error.code(),
                error.to_string(),
                format!(
                    "la mappatura non ha potuto compilare {rule}: dato mancante o non valido nel documento inviato"
                ),
            )
        })),
        MapError::Model { file, .. } => Stop::Fail(Box::new(FilingProblem {
            file: Some(file.display().to_string()),
            ..problem(
                error.code(),
                error.to_string(),
                "i dati dell'atto non superano i controlli del modello DatiAtto".to_owned(),
            )
        })),
        #[allow(unreachable_patterns)]
        _ => Stop::Fail(Box::new(problem(
            error.code(),
            error.to_string(),
            "errore di mappatura".to_owned(),
        ))),
    }
}

/// An assembly error as a stop.
pub fn from_build_error(error: &BuildError, attempts_left: bool) -> Stop {
    if error.is_retriable() && attempts_left {
        return Stop::Retry(error.code());
    }
    let it = match error {
        BuildError::DatiAtto(_) => {
            "DatiAtto.xml non è valido secondo lo schema del Ministero: errore di mappatura"
        }
        BuildError::MainAct(_) => "l'atto principale non può essere generato in PDF",
        BuildError::Sign(_) => "la firma dell'atto non è riuscita",
        BuildError::Envelope(_) => "la busta telematica non può essere costruita",
    };
    Stop::Fail(Box::new(problem(
        error.code(),
        error.to_string(),
        it.to_owned(),
    )))
}
