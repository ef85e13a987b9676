//! FHIR JSON → FHIR XML, for answering in `application/fhir+xml`: children
//! in the order of the R4 definitions, `id` and an extension's `url` as
//! attributes, `name` and `_name` merged, resources wrapped; see the
//! [module documentation](super).

use serde_json::{Map, Value};

use fhirbolt_shared::{FhirReleases, path::ElementPath};

use super::{FHIR_NAMESPACE, MAX_JSON_DEPTH, chars::is_fhir_name, chars::xml_char};
use crate::{Issue, Rejection};

mod narrative;

use narrative::checked_xhtml;

const XML_DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// The body of [`json_to_xml`](super::json_to_xml).
pub(super) fn document(value: &Value) -> Result<String, Rejection> {
    let Some(object) = value.as_object() else {
        return Err(write_error(
            "the value is not a JSON object",
            "il valore non è un oggetto JSON",
            "",
        ));
    };
    let Some(resource_type) = object.get("resourceType").and_then(Value::as_str) else {
        return Err(write_error(
            "the value has no resourceType",
            "il valore non ha resourceType",
            "",
        ));
    };
    let mut writer = Writer {
        out: String::from(XML_DECLARATION),
        path: ElementPath::new(FhirReleases::R4),
        depth: 0,
    };
    writer.resource(resource_type, object, true, "")?;
    Ok(writer.out)
}

struct Writer {
    out: String,
    path: ElementPath,
    depth: usize,
}

fn write_error(en: &str, it: &str, expression: &str) -> Rejection {
    Rejection::one(
        500,
        Issue::error(
            "exception",
            "xml_serialization",
            format!("cannot write the answer as FHIR XML: {en}"),
            format!("impossibile scrivere la risposta in FHIR XML: {it}"),
            (!expression.is_empty()).then(|| expression.to_owned()),
        ),
    )
}

fn join(parent: &str, segment: &str) -> String {
    if parent.is_empty() {
        segment.to_owned()
    } else {
        format!("{parent}.{segment}")
    }
}

impl Writer {
    fn enter(&mut self, expression: &str) -> Result<(), Rejection> {
        self.depth += 1;
        if self.depth > MAX_JSON_DEPTH {
            return Err(write_error(
                &format!("nested deeper than {MAX_JSON_DEPTH} levels"),
                &format!("annidamento oltre {MAX_JSON_DEPTH} livelli"),
                expression,
            ));
        }
        Ok(())
    }

    fn resource(
        &mut self,
        resource_type: &str,
        object: &Map<String, Value>,
        root: bool,
        expression: &str,
    ) -> Result<(), Rejection> {
        if !is_fhir_name(resource_type)
            || !resource_type.starts_with(|c: char| c.is_ascii_uppercase())
        {
            return Err(write_error(
                &format!("{resource_type:?} is not a resource type"),
                &format!("{resource_type:?} non è un tipo di risorsa"),
                expression,
            ));
        }
        let expression = if expression.is_empty() {
            resource_type.to_owned()
        } else {
            expression.to_owned()
        };
        self.enter(&expression)?;
        self.path.push(resource_type);
        self.out.push('<');
        self.out.push_str(resource_type);
        if root {
            self.out.push_str(&format!(" xmlns=\"{FHIR_NAMESPACE}\""));
        }
        self.out.push('>');
        let result = self.children(object, &["resourceType"], &expression);
        self.path.pop();
        result?;
        self.out.push_str("</");
        self.out.push_str(resource_type);
        self.out.push('>');
        self.depth -= 1;
        Ok(())
    }

    /// Writes the children of the current element, in definition order,
    /// leaving out `skip` (keys written as attributes).
    fn children(
        &mut self,
        object: &Map<String, Value>,
        skip: &[&str],
        expression: &str,
    ) -> Result<(), Rejection> {
        let mut names: Vec<&str> = object
            .keys()
            .map(|key| key.strip_prefix('_').unwrap_or(key))
            .filter(|name| !skip.contains(name))
            .collect();
        names.sort_unstable();
        names.dedup();
        names.sort_by_key(|name| self.path.position_of_child(name));
        for name in names {
            if !is_fhir_name(name) {
                return Err(write_error(
                    &format!("{name:?} is not an element name"),
                    &format!("{name:?} non è un nome di elemento"),
                    expression,
                ));
            }
            let main = object.get(name);
            let extra = object.get(&format!("_{name}"));
            self.path.push(name);
            let result = self.field(name, main, extra, expression);
            self.path.pop();
            result?;
        }
        Ok(())
    }

    fn field(
        &mut self,
        name: &str,
        main: Option<&Value>,
        extra: Option<&Value>,
        parent: &str,
    ) -> Result<(), Rejection> {
        match (main, extra) {
            (Some(Value::Array(values)), Some(Value::Array(extras))) => {
                for index in 0..values.len().max(extras.len()) {
                    let expression = join(parent, &format!("{name}[{index}]"));
                    self.item(name, values.get(index), extras.get(index), &expression)?;
                }
            }
            (Some(Value::Array(values)), None | Some(Value::Null)) => {
                for (index, value) in values.iter().enumerate() {
                    self.item(
                        name,
                        Some(value),
                        None,
                        &join(parent, &format!("{name}[{index}]")),
                    )?;
                }
            }
            (None | Some(Value::Null), Some(Value::Array(extras))) => {
                for (index, extra) in extras.iter().enumerate() {
                    self.item(
                        name,
                        None,
                        Some(extra),
                        &join(parent, &format!("{name}[{index}]")),
                    )?;
                }
            }
            (Some(Value::Array(_)), Some(_)) | (Some(_), Some(Value::Array(_))) => {
                return Err(write_error(
                    &format!("{name} and _{name} are not both lists"),
                    &format!("{name} e _{name} non sono entrambi liste"),
                    &join(parent, name),
                ));
            }
            (main, extra) => self.item(name, main, extra, &join(parent, name))?,
        }
        Ok(())
    }

    fn item(
        &mut self,
        name: &str,
        main: Option<&Value>,
        extra: Option<&Value>,
        expression: &str,
    ) -> Result<(), Rejection> {
        let extra = extra.filter(|e| !e.is_null());
        match main {
            Some(Value::String(xhtml)) if name == "div" && extra.is_none() => {
                let div = checked_xhtml(xhtml).ok_or_else(|| {
                    write_error(
                        "the narrative is not well-formed XHTML in a <div>",
                        "la narrativa non è XHTML ben formato in un <div>",
                        expression,
                    )
                })?;
                self.out.push_str(&div);
                Ok(())
            }
            Some(Value::Object(object)) => {
                if extra.is_some() {
                    return Err(write_error(
                        &format!("{name} is an object and has _{name}"),
                        &format!("{name} è un oggetto e ha _{name}"),
                        expression,
                    ));
                }
                let resource_type = object.get("resourceType").and_then(Value::as_str);
                match resource_type {
                    Some(resource_type) if self.path.current_element_is_resource() => {
                        self.open_tag(name, &[]);
                        self.out.push('>');
                        self.resource(resource_type, object, false, expression)?;
                        self.close_tag(name);
                        Ok(())
                    }
                    _ => self.complex(name, object, expression),
                }
            }
            Some(Value::Array(_)) => Err(write_error(
                &format!("{name} is a list inside a list"),
                &format!("{name} è una lista dentro una lista"),
                expression,
            )),
            Some(Value::Null) | None => match extra {
                None => Ok(()),
                Some(extra) => self.primitive(name, None, extra, expression),
            },
            Some(value) => {
                self.primitive(name, Some(value), extra.unwrap_or(&Value::Null), expression)
            }
        }
    }

    fn complex(
        &mut self,
        name: &str,
        object: &Map<String, Value>,
        expression: &str,
    ) -> Result<(), Rejection> {
        self.enter(expression)?;
        let mut attributes: Vec<(&str, String)> = Vec::new();
        let mut skip: Vec<&str> = Vec::new();
        if let Some(id) = object.get("id") {
            attributes.push(("id", self.attribute_text("id", id, expression)?));
            skip.push("id");
        }
        if let Some(url) = object
            .get("url")
            .filter(|_| self.path.current_element_is_extension())
        {
            attributes.push(("url", self.attribute_text("url", url, expression)?));
            skip.push("url");
        }
        self.open_tag(name, &attributes);
        let empty = object
            .keys()
            .all(|key| skip.contains(&key.strip_prefix('_').unwrap_or(key)));
        if empty {
            self.out.push_str("/>");
        } else {
            self.out.push('>');
            self.children(object, &skip, expression)?;
            self.close_tag(name);
        }
        self.depth -= 1;
        Ok(())
    }

    fn primitive(
        &mut self,
        name: &str,
        value: Option<&Value>,
        extra: &Value,
        expression: &str,
    ) -> Result<(), Rejection> {
        self.enter(expression)?;
        let extra = match extra {
            Value::Null => None,
            Value::Object(object) => Some(object),
            _ => {
                return Err(write_error(
                    &format!("_{name} is not an object"),
                    &format!("_{name} non è un oggetto"),
                    expression,
                ));
            }
        };
        let mut attributes: Vec<(&str, String)> = Vec::new();
        if let Some(id) = extra.and_then(|e| e.get("id")) {
            attributes.push(("id", self.attribute_text("id", id, expression)?));
        }
        if let Some(value) = value {
            attributes.push(("value", self.attribute_text(name, value, expression)?));
        }
        if let Some(key) =
            extra.and_then(|e| e.keys().find(|k| !matches!(k.as_str(), "id" | "extension")))
        {
            return Err(write_error(
                &format!("_{name} has {key:?}; a primitive has only id and extension"),
                &format!("_{name} ha {key:?}; un primitivo ha solo id ed extension"),
                expression,
            ));
        }
        self.open_tag(name, &attributes);
        match extra.and_then(|e| e.get("extension")) {
            None | Some(Value::Null) => self.out.push_str("/>"),
            Some(extensions) => {
                self.out.push('>');
                self.path.push("extension");
                let result = match extensions {
                    Value::Array(extensions) => {
                        extensions
                            .iter()
                            .enumerate()
                            .try_for_each(|(index, extension)| {
                                self.item(
                                    "extension",
                                    Some(extension),
                                    None,
                                    &join(expression, &format!("extension[{index}]")),
                                )
                            })
                    }
                    extension => self.item(
                        "extension",
                        Some(extension),
                        None,
                        &join(expression, "extension"),
                    ),
                };
                self.path.pop();
                result?;
                self.close_tag(name);
            }
        }
        self.depth -= 1;
        Ok(())
    }

    fn attribute_text(
        &self,
        name: &str,
        value: &Value,
        expression: &str,
    ) -> Result<String, Rejection> {
        match value {
            Value::String(text) => Ok(text.clone()),
            Value::Number(number) => Ok(number.to_string()),
            Value::Bool(flag) => Ok(flag.to_string()),
            _ => Err(write_error(
                &format!("{name} is not a string, number or boolean"),
                &format!("{name} non è una stringa, un numero o un booleano"),
                expression,
            )),
        }
    }

    fn open_tag(&mut self, name: &str, attributes: &[(&str, String)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attributes {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            escape_attribute_into(&mut self.out, value);
            self.out.push('"');
        }
    }

    fn close_tag(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }
}

/// Escapes an attribute value so that an XML parser gives it back exactly
/// (tabs and line breaks as character references, which attribute-value
/// normalisation keeps); characters XML 1.0 cannot carry become U+FFFD.
fn escape_attribute_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}
