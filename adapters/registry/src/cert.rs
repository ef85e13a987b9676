//! The import-time check of a court's encryption certificate file: it must
//! be readable and hold a PEM X.509 certificate. Nothing else is checked
//! here (key type, validity dates and the chain are the envelope's
//! business when a filing is encrypted), and nothing is kept.

use std::path::Path;

use x509_parser::pem::Pem;

use crate::{CourtCode, ProblemKind};

pub(crate) fn check(court: &CourtCode, path: &Path) -> Result<(), ProblemKind> {
    let bytes = std::fs::read(path).map_err(|source| ProblemKind::CertificateUnreadable {
        court: court.clone(),
        path: path.to_path_buf(),
        source,
    })?;
    let not_a_certificate = || ProblemKind::NotACertificate {
        court: court.clone(),
        path: path.to_path_buf(),
    };
    // The first PEM block must be a certificate that parses; later blocks
    // (a chain) are allowed and not examined.
    let pem = Pem::iter_from_buffer(&bytes)
        .next()
        .and_then(Result::ok)
        .ok_or_else(not_a_certificate)?;
    if pem.label != "CERTIFICATE" || pem.parse_x509().is_err() {
        return Err(not_a_certificate());
    }
    Ok(())
}
