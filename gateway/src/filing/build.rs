//! From a mapped filing to the files a court receives: `DatiAtto.xml`
//! checked against the Ministry's schema before anything is signed, the
//! main act rendered as PDF, both signed CAdES-BES, `IndiceBusta.xml`,
//! `Atto.msg` and, when the court's certificate is known, `Atto.enc`.
//!
//! Pure computation over its inputs (no store, no clock): the same function
//! serves the pipeline worker and `ponte map`.

use ponte_mappings::MappedFiling;
use ponte_pct::datiatto::{self, DATI_ATTO_PART};
use ponte_pct::envelope::{self, CourtRecipientCert, Part};
use ponte_pct::sign::{SignError, Signer};
use ponte_pct::xsd::SchemaSet;

use crate::store::NewArtefact;

/// `application/pkcs7-mime`: the media type of `.p7m` and `Atto.enc`.
const P7M: &str = "application/pkcs7-mime";
/// Name of the index part inside `Atto.msg`.
pub const INDICE_BUSTA: &str = "IndiceBusta.xml";
/// Name of the clear envelope content.
pub const ATTO_MSG: &str = "Atto.msg";
/// Name of the encrypted envelope, the only attachment of the deposit.
pub const ATTO_ENC: &str = "Atto.enc";

/// The files of one filing, in the order they are stored and listed.
#[derive(Debug)]
pub struct Assembled {
    /// `DatiAtto.xml`, its `.p7m`, the main act PDF and its `.p7m`, the
    /// attachments, `IndiceBusta.xml`, `Atto.msg` and (when sealed) `Atto.enc`.
    pub artefacts: Vec<NewArtefact>,
    /// Whether `Atto.enc` is among them.
    pub sealed: bool,
}

/// Why a filing could not be assembled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The DatiAtto the mapping produced is refused by the writer or by the
    /// Ministry's schema: a mapping error, never a deposit.
    #[error("DatiAtto.xml is not valid: {0}")]
    DatiAtto(#[source] ponte_pct::Error),
    /// The main act could not be rendered (a character the font lacks, …).
    #[error("the main act cannot be rendered as PDF: {0}")]
    MainAct(#[source] ponte_pct::mainact::RenderError),
    /// Signing failed (token absent, wrong PIN, key mismatch).
    #[error("signing failed: {0}")]
    Sign(#[source] SignError),
    /// `Atto.msg` or `Atto.enc` could not be built (too large, bad name).
    #[error("the envelope cannot be built: {0}")]
    Envelope(#[source] envelope::Error),
}

impl BuildError {
    /// Bounded code for metrics and problem documents.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DatiAtto(_) => "datiatto_invalid",
            Self::MainAct(_) => "main_act_render",
            Self::Sign(e) => e.code(),
            Self::Envelope(e) => e.code(),
        }
    }

    /// Whether trying again later may succeed (a token or validator that is
    /// momentarily unavailable), as opposed to a filing that is wrong.
    pub fn is_retriable(&self) -> bool {
        match self {
            Self::DatiAtto(ponte_pct::Error::ValidatorStopped) => true,
            Self::DatiAtto(_) | Self::MainAct(_) => false,
            // A token removed or a session closed: a reopened signer may
            // work (the worker reopens before the retry).
            Self::Sign(e) => {
                e.is_retriable() || matches!(e.code(), "pkcs11_failed" | "pkcs11_not_found")
            }
            Self::Envelope(e) => e.is_retriable(),
        }
    }
}

/// Assembles the filing. The schema check runs before any signature; the
/// envelope is sealed for `court_cert` when given (`ponte map` may run
/// without one).
pub fn assemble(
    mapped: &MappedFiling,
    schemas: &SchemaSet,
    signer: &dyn Signer,
    court_cert: Option<&CourtRecipientCert>,
) -> Result<Assembled, BuildError> {
    let dati_xml = datiatto::to_xml(&mapped.datiatto).map_err(BuildError::DatiAtto)?;
    schemas
        .validate(mapped.datiatto.act.root(), &dati_xml)
        .map_err(BuildError::DatiAtto)?;
    let indice =
        datiatto::indice_busta_xml(&mapped.datiatto.attachments).map_err(BuildError::DatiAtto)?;
    schemas
        .validate_indice_busta(&indice)
        .map_err(BuildError::DatiAtto)?;
    let pdf = ponte_pct::mainact::render_pdf(&mapped.main_act).map_err(BuildError::MainAct)?;
    let dati_p7m = signer.sign_cades(&dati_xml).map_err(BuildError::Sign)?;
    let pdf_p7m = signer.sign_cades(&pdf).map_err(BuildError::Sign)?;
    let main_part = format!("{}.p7m", mapped.main_act_name);

    // The order of public deposit practice (PCT.md §1): DatiAtto first,
    // then the main act, the attachments and the legacy index. The parts
    // own their bytes: the signatures and the index move in and back out
    // below, and each attachment is copied once (the mapping keeps its own).
    let mut parts = Vec::with_capacity(mapped.attachments.len() + 3);
    parts.push(Part {
        id: DATI_ATTO_PART.to_owned(),
        filename: DATI_ATTO_PART.to_owned(),
        content_type: P7M.to_owned(),
        bytes: dati_p7m,
    });
    parts.push(Part {
        id: main_part.clone(),
        filename: main_part.clone(),
        content_type: P7M.to_owned(),
        bytes: pdf_p7m,
    });
    parts.extend(mapped.attachments.iter().map(|a| Part {
        id: a.id.clone(),
        filename: a.name.clone(),
        content_type: a.content_type.clone(),
        bytes: a.bytes.clone(),
    }));
    parts.push(Part {
        id: INDICE_BUSTA.to_owned(),
        filename: INDICE_BUSTA.to_owned(),
        content_type: "text/xml".to_owned(),
        bytes: indice,
    });
    let atto_msg = envelope::build_atto_msg(&parts).map_err(BuildError::Envelope)?;
    let sealed = match court_cert {
        Some(cert) => Some(envelope::seal(&atto_msg, cert).map_err(BuildError::Envelope)?),
        None => None,
    };

    let artefact = |name: &str, content_type: &str, bytes: Vec<u8>| NewArtefact {
        name: name.to_owned(),
        content_type: content_type.to_owned(),
        bytes,
    };
    // Back out of the parts, in the order they went in.
    let mut parts = parts.into_iter().map(|p| p.bytes);
    let mut next = || parts.next().unwrap_or_default();
    let dati_p7m = next();
    let pdf_p7m = next();
    let mut artefacts = Vec::with_capacity(mapped.attachments.len() + 7);
    artefacts.push(artefact("DatiAtto.xml", "application/xml", dati_xml));
    artefacts.push(artefact(DATI_ATTO_PART, P7M, dati_p7m));
    artefacts.push(artefact(&mapped.main_act_name, "application/pdf", pdf));
    artefacts.push(artefact(&main_part, P7M, pdf_p7m));
    for a in &mapped.attachments {
        artefacts.push(artefact(&a.name, &a.content_type, next()));
    }
    artefacts.push(artefact(INDICE_BUSTA, "application/xml", next()));
    artefacts.push(artefact(ATTO_MSG, "message/rfc822", atto_msg));
    let was_sealed = sealed.is_some();
    if let Some(enc) = sealed {
        artefacts.push(artefact(ATTO_ENC, P7M, enc));
    }
    Ok(Assembled {
        artefacts,
        sealed: was_sealed,
    })
}
