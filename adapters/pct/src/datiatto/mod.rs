//! The DatiAtto of a filing: a typed model of each act Ponte files, and the
//! writers of `DatiAtto.xml` and of the legacy `IndiceBusta.xml` part.
//!
//! - [`to_xml`] writes `DatiAtto.xml` for [`crate::xsd::SchemaSet::validate`]
//!   with [`Act::root`], then for signing (`DatiAtto.xml.p7m`).
//! - [`indice_busta_xml`] writes `IndiceBusta.xml`, the same index as
//!   DatiAtto's `IndiceBusta` plus the DatiAtto part itself, for
//!   [`crate::xsd::SchemaSet::validate_indice_busta`].
//!
//! Pure functions: no I/O, no clock. What each field becomes is in
//! `docs/pct-datiatto.md`.

mod check;
mod model;
mod write;
mod xml;

pub use check::IndexProblem;
pub use model::{
    Act, Address, Attachment, AttachmentKind, Beneficiary, CaseRef, DatiAtto, Delegant, Delegation,
    DocumentiRichiesti, IstanzaGenerica, IstanzaKind, MayorOrder, MedicalCertification, Nature,
    Party, ProximityOffice, RicorsoAmministrazioneSostegno, Subject,
    TrattamentoSanitarioObbligatorio,
};

pub(crate) use check::is_court_code;
pub(crate) use write::{NS_ATTI, NS_INTRODUTTIVI, NS_PARTE};

use crate::Error;

/// The envelope part that carries the signed DatiAtto: its MIME file name and
/// Content-ID, listed in `IndiceBusta.xml` with `Tipo="DA"`.
pub const DATI_ATTO_PART: &str = "DatiAtto.xml.p7m";

/// Writes `DatiAtto.xml`: UTF-8, namespaced and ordered as the act's schema
/// requires.
///
/// Refuses (before writing anything the schema would accept) a court code
/// that is not ten digits, an empty required value, a codice fiscale whose
/// shape or check character is wrong, control characters, and an attachment
/// list that is not one principal act plus uniquely named parts. Everything
/// else (dates, numbers, lengths) is the schema's to check.
pub fn to_xml(dati: &DatiAtto) -> Result<Vec<u8>, Error> {
    let attachments = index(&dati.attachments)?;
    write::dati_atto(dati, &attachments)
}

/// Writes `IndiceBusta.xml` (DTD `DTD_20180328/IndiceBusta.dtd`): the
/// principal act as `Atto`, then [`DATI_ATTO_PART`] as `Allegato Tipo="DA"`,
/// then every other part as `Allegato Tipo="SM"` (allegato semplice), each
/// with `Nome` = [`Attachment::name`] and `ID` = [`Attachment::id`].
pub fn indice_busta_xml(attachments: &[Attachment]) -> Result<Vec<u8>, Error> {
    let attachments = index(attachments)?;
    let mut x = xml::Xml::new()?;
    x.doctype(r#"IndiceBusta SYSTEM "IndiceBusta.dtd""#)?;
    x.start("IndiceBusta", &[])?;
    for attachment in &attachments {
        let (id, name) = (attachment.id.as_str(), attachment.name.as_str());
        if attachment.kind == AttachmentKind::Principal {
            x.empty("Atto", &[("Nome", name), ("ID", id)])?;
            let part = DATI_ATTO_PART;
            x.empty("Allegato", &[("Nome", part), ("ID", part), ("Tipo", "DA")])?;
        } else {
            x.empty("Allegato", &[("Nome", name), ("ID", id), ("Tipo", "SM")])?;
        }
    }
    x.end("IndiceBusta")?;
    Ok(x.finish())
}

/// The attachments in index order (the principal act first), once checked:
/// one principal, ids usable as `ID`s and unique (also against
/// [`DATI_ATTO_PART`]), names present and XML-safe.
fn index(attachments: &[Attachment]) -> Result<Vec<&Attachment>, Error> {
    let problem = |p| Err(Error::AttachmentIndex(p));
    let mut principal = None;
    let mut others = Vec::with_capacity(attachments.len());
    for (index, attachment) in attachments.iter().enumerate() {
        if !check::attachment_id(&attachment.id) {
            return problem(IndexProblem::InvalidId { index });
        }
        let earlier = &attachments[..index];
        if attachment.id == DATI_ATTO_PART || earlier.iter().any(|a| a.id == attachment.id) {
            return problem(IndexProblem::DuplicateId { index });
        }
        if attachment.name.trim().is_empty() {
            return problem(IndexProblem::EmptyName { index });
        }
        check::chars(&attachment.name, "attachment.name")?;
        if attachment.kind == AttachmentKind::Principal {
            if principal.replace(attachment).is_some() {
                return problem(IndexProblem::SeveralPrincipals);
            }
        } else {
            others.push(attachment);
        }
    }
    let Some(principal) = principal else {
        return problem(IndexProblem::NoPrincipal);
    };
    others.insert(0, principal);
    Ok(others)
}
