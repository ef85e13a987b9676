//! What the kind-specific profiles require of the Bundle's content: the
//! signed PDFs (DocumentReferences typed like the Composition, each
//! attachment checked) and a diagnosis among the section entries.

use super::Doc;
use super::common::{Cx, Entry, has_coding, items};
use super::rules;

/// DocumentReferences whose type has the Composition's type code.
pub(super) fn documents_of_type<'a>(cx: &Cx<'a>, system: &str, code: &str) -> Vec<Entry<'a>> {
    cx.of_type("DocumentReference")
        .into_iter()
        .filter(|e| has_coding(e.resource.get("type"), system, code))
        .collect()
}

/// Checks every `content.attachment` of a DocumentReference as a PDF.
pub(super) fn check_document_pdfs<'a>(cx: &mut Cx<'a>, doc: Entry<'a>) {
    let contents = items(doc.resource, "content");
    if contents.is_empty() {
        cx.push(&rules::ATTACHMENT_DATA_REQUIRED, doc.at("content"));
    }
    for (k, content) in contents.iter().enumerate() {
        let path = doc.at(&format!("content[{k}].attachment"));
        match content.get("attachment") {
            Some(att) => cx.check_pdf(att, &path),
            None => cx.push(&rules::ATTACHMENT_DATA_REQUIRED, path),
        }
    }
}

/// At least one Condition referenced from a section.
pub(super) fn require_diagnosis(cx: &mut Cx<'_>, doc: &Doc<'_>) {
    if !doc.section_entries.iter().any(|e| e.rtype() == "Condition") {
        cx.push(&rules::DIAGNOSIS_REQUIRED, doc.composition.at("section"));
    }
}

/// The signed PDF: DocumentReferences typed like the Composition, each
/// attachment checked.
pub(super) fn require_certificate(cx: &mut Cx<'_>, system: &str, code: &str) {
    let certificates = documents_of_type(cx, system, code);
    if certificates.is_empty() {
        cx.push(&rules::CERTIFICATE_REQUIRED, "Bundle.entry");
    }
    for c in certificates {
        check_document_pdfs(cx, c);
    }
}
