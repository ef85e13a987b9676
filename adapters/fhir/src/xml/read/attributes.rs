//! The attributes of a FHIR XML element: `id`, `value` and `url`;
//! namespace declarations and `xsi:` attributes are ignored, anything else
//! is refused.

use quick_xml::{
    events::BytesStart,
    name::{Namespace, ResolveResult},
};

use super::Reader;
use crate::{Rejection, xml::errors::syntax};

/// Namespace of `xsi:schemaLocation`, which examples carry and which is
/// ignored.
const XSI_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Why the attributes of an element were refused: a ready syntax error, or
/// a structure error (English, Italian) waiting for its FHIRPath.
pub(super) enum AttributeError {
    Syntax(Rejection),
    Structure(String, String),
}

/// Attributes of a FHIR element.
#[derive(Default)]
pub(super) struct Attributes {
    pub(super) id: Option<String>,
    pub(super) url: Option<String>,
    pub(super) value: Option<String>,
}

impl Reader<'_> {
    pub(super) fn attributes(
        &self,
        start: &BytesStart<'_>,
        name: &str,
        at: usize,
    ) -> Result<Attributes, AttributeError> {
        let mut found = Attributes::default();
        for attribute in start.attributes() {
            let attribute = match attribute {
                Ok(attribute) => attribute,
                Err(error) => {
                    let (line, column) = self.line_column(at);
                    return Err(AttributeError::Syntax(syntax(
                        format!(
                            "invalid attribute in <{name}> at line {line}, column {column}: {error}"
                        ),
                        format!(
                            "attributo non valido in <{name}> alla riga {line}, colonna {column} ({error})"
                        ),
                    )));
                }
            };
            if attribute.key.as_namespace_binding().is_some() {
                continue;
            }
            let (resolved, local) = self.reader.resolver().resolve_attribute(attribute.key);
            let local = local.into_inner().to_owned();
            match resolved {
                ResolveResult::Unbound => {}
                ResolveResult::Bound(Namespace(ns)) if ns == XSI_NAMESPACE => continue,
                _ => {
                    return Err(AttributeError::Structure(
                        format!("attribute {local} of <{name}> is not a FHIR attribute"),
                        format!("l'attributo {local} di <{name}> non è un attributo FHIR"),
                    ));
                }
            }
            let value = match attribute.normalized_value(self.version) {
                Ok(value) => value.into_owned(),
                Err(error) => {
                    let (line, column) = self.line_column(at);
                    return Err(AttributeError::Syntax(syntax(
                        format!(
                            "invalid value of attribute {local} in <{name}> at line {line}, column {column}: {error}"
                        ),
                        format!(
                            "valore non valido dell'attributo {local} in <{name}> alla riga {line}, colonna {column} ({error})"
                        ),
                    )));
                }
            };
            let slot = match local.as_str() {
                "id" => &mut found.id,
                "url" => &mut found.url,
                "value" => &mut found.value,
                _ => {
                    return Err(AttributeError::Structure(
                        format!(
                            "attribute {local} is not allowed on <{name}> (FHIR XML uses id, value and url)"
                        ),
                        format!(
                            "l'attributo {local} non è ammesso su <{name}> (FHIR XML usa id, value e url)"
                        ),
                    ));
                }
            };
            *slot = Some(value);
        }
        Ok(found)
    }
}
