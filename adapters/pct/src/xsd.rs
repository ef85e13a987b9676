//! The Ministry's schemas, compiled once from a configurable folder, and
//! validation of DatiAtto.xml and IndiceBusta.xml against them.
//!
//! The folder is configuration, not code: the Ministry republishes the schema
//! package every few months, and a deployment points [`SchemaSet::load`] at the
//! current copy (the repository's is `../shared/pct-xsd`). Its layout is the
//! package's: `Atti/sici/sicid_v7/{Introduttivi,Parte}.xsd` and the types they
//! import, `DTD_20180328/IndiceBusta.dtd`.
//!
//! # Threading
//!
//! libxml2's compiled schema and validation context are raw pointers that the
//! `libxml` crate marks neither `Send` nor `Sync`, and this crate forbids
//! `unsafe`, so it cannot assert otherwise. A [`SchemaSet`] therefore owns one
//! OS thread (`ponte-pct-xsd`) that compiles every schema once and then serves
//! validations one at a time from a bounded queue. The handle is `Send`,
//! `Sync` and cheap to clone; every clone talks to the same thread, which ends
//! when the last clone is dropped. A call blocks its caller for the queue wait
//! plus the validation (tens of microseconds for a DatiAtto): from async code,
//! call it inside `spawn_blocking`.
//!
//! # IndiceBusta.dtd
//!
//! The `libxml` crate exposes no DTD validation without `unsafe`. The DTD
//! (three declarations, unchanged since 2018) is transcribed into an
//! equivalent XSD that libxml2 validates with; [`SchemaSet::load`] refuses a
//! folder whose `IndiceBusta.dtd` differs from the transcription, so a new DTD
//! cannot be missed. The XSD is stricter in one point only: `ID` values must
//! be `NCName`s (no `:`), which [`crate::datiatto`] guarantees anyway.
//!
//! # Beyond the schemas
//!
//! `destinazione@ufficio` and `procedimento@ufficio` are `xs:string` in the
//! schemas; [`SchemaSet::validate`] also requires a ten-digit court code there,
//! as the court's own checks do.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread;

use libxml::error::{StructuredError, XmlErrorLevel};
use libxml::parser::{Parser, ParserOptions, XmlParseFailure};
use libxml::schemas::{SchemaParserContext, SchemaValidationContext};
use libxml::tree::Document;

use crate::Error;
use crate::datiatto::{NS_ATTI, NS_INTRODUTTIVI, NS_PARTE};

/// The schema a DatiAtto root element is declared in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Root {
    /// `Atti/sici/sicid_v7/Introduttivi.xsd`: acts that open a case.
    Introduttivi,
    /// `Atti/sici/sicid_v7/Parte.xsd`: a party's acts in an existing case.
    Parte,
}

/// One problem found in a document.
///
/// `message` is libxml2's, with the document's values replaced by `…`: it
/// names elements, attributes and types, never the data (which is personal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XsdError {
    /// The line in the document, when libxml2 knows it.
    pub line: Option<u32>,
    /// The local name of the element the problem is about, when the message
    /// names one (for a missing child, the element found in its place).
    pub element: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// The compiled schemas and the thread that validates with them.
#[derive(Debug, Clone)]
pub struct SchemaSet {
    jobs: SyncSender<Job>,
    dir: Arc<PathBuf>,
}

/// Entry schema of each root, relative to the schema folder.
const INTRODUTTIVI_XSD: &str = "Atti/sici/sicid_v7/Introduttivi.xsd";
const PARTE_XSD: &str = "Atti/sici/sicid_v7/Parte.xsd";
const INDICE_BUSTA_DTD: &str = "DTD_20180328/IndiceBusta.dtd";

/// Validations waiting beyond this make callers wait to enqueue: back
/// pressure instead of an unbounded queue.
const QUEUE: usize = 64;

/// More problems than this in one document are dropped: hostile input can
/// make one per few bytes, and the first ones are the useful ones.
const MAX_ERRORS: usize = 50;

/// The declarations of `DTD_20180328/IndiceBusta.dtd`, as published
/// (comments and the XML declaration aside). [`INDICE_BUSTA_XSD`] transcribes
/// them; [`SchemaSet::load`] compares the folder's DTD with this text.
const INDICE_BUSTA_DTD_DECLARATIONS: &str = r#"
<!ELEMENT IndiceBusta (Atto, Allegato*)>
<!ELEMENT Atto EMPTY>
<!ELEMENT Allegato EMPTY>
<!ATTLIST Atto
	Nome CDATA #REQUIRED
	ID   ID #REQUIRED
>
<!ATTLIST Allegato
	Nome CDATA #REQUIRED
	ID   ID #REQUIRED
	Tipo (SM | IR | PL | DA | RT | RU | PA | RA) #REQUIRED
>
"#;

/// [`INDICE_BUSTA_DTD_DECLARATIONS`] as XSD: `EMPTY` → no content, `CDATA` →
/// `xs:string`, `ID` → `xs:ID` (unique in the document), the enumeration of
/// `Tipo` on `xs:NMTOKEN` (whitespace collapsed, as for a DTD enumeration).
const INDICE_BUSTA_XSD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="IndiceBusta">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="Atto">
          <xs:complexType>
            <xs:attribute name="Nome" type="xs:string" use="required"/>
            <xs:attribute name="ID" type="xs:ID" use="required"/>
          </xs:complexType>
        </xs:element>
        <xs:element name="Allegato" minOccurs="0" maxOccurs="unbounded">
          <xs:complexType>
            <xs:attribute name="Nome" type="xs:string" use="required"/>
            <xs:attribute name="ID" type="xs:ID" use="required"/>
            <xs:attribute name="Tipo" use="required">
              <xs:simpleType>
                <xs:restriction base="xs:NMTOKEN">
                  <xs:enumeration value="SM"/>
                  <xs:enumeration value="IR"/>
                  <xs:enumeration value="PL"/>
                  <xs:enumeration value="DA"/>
                  <xs:enumeration value="RT"/>
                  <xs:enumeration value="RU"/>
                  <xs:enumeration value="PA"/>
                  <xs:enumeration value="RA"/>
                </xs:restriction>
              </xs:simpleType>
            </xs:attribute>
          </xs:complexType>
        </xs:element>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>
"#;

// === impl SchemaSet ===

impl SchemaSet {
    /// Compiles the schemas under `dir` on a new validation thread, and
    /// returns once they are ready (a few tens of milliseconds).
    ///
    /// Fails with [`Error::SchemaLoad`] when a file is missing, does not
    /// compile, or `IndiceBusta.dtd` is not the one this crate transcribes.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, Error> {
        let dir = dir.as_ref();
        let load_error = |path: &Path, reason: String| Error::SchemaLoad {
            path: path.to_path_buf(),
            reason,
        };
        let dir = dir
            .canonicalize()
            .map_err(|e| load_error(dir, e.to_string()))?;
        check_dtd(&dir.join(INDICE_BUSTA_DTD))?;
        let entries = [INTRODUTTIVI_XSD, PARTE_XSD].map(|entry| dir.join(entry));
        for path in &entries {
            if !path.is_file() {
                return Err(load_error(path, "not a file".into()));
            }
            // libxml2 takes a C string; its wrapper panics on a NUL byte.
            if path.to_str().is_none_or(|p| p.contains('\0')) {
                return Err(load_error(path, "path is not utf-8 or holds a nul".into()));
            }
        }

        let (jobs, queue) = mpsc::sync_channel(QUEUE);
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let [introduttivi, parte] = entries;
        thread::Builder::new()
            .name("ponte-pct-xsd".into())
            .spawn(move || serve(&introduttivi, &parte, &ready_tx, &queue))
            .map_err(|e| load_error(&dir, format!("cannot start the validation thread: {e}")))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Self {
                jobs,
                dir: Arc::new(dir),
            }),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(load_error(&dir, "the validation thread stopped".into())),
        }
    }

    /// The schema folder, canonicalised.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Validates a DatiAtto against the entry schema of `root`, and its court
    /// codes (see the module docs).
    ///
    /// [`Error::XsdInvalid`] lists the problems (a document that is not
    /// well-formed XML gets the parser's); [`Error::ValidatorStopped`] means
    /// the thread is gone.
    pub fn validate(&self, root: Root, xml: &[u8]) -> Result<(), Error> {
        self.run(Target::DatiAtto(root), xml)
    }

    /// Validates an `IndiceBusta.xml` against `DTD_20180328/IndiceBusta.dtd`
    /// (through its XSD transcription, see the module docs). A `DOCTYPE` in
    /// the document is ignored, never loaded.
    pub fn validate_indice_busta(&self, xml: &[u8]) -> Result<(), Error> {
        self.run(Target::IndiceBusta, xml)
    }

    fn run(&self, target: Target, xml: &[u8]) -> Result<(), Error> {
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Job {
            target,
            xml: xml.to_vec(),
            reply,
        };
        self.jobs.send(job).map_err(|_| Error::ValidatorStopped)?;
        match answer.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(errors)) => Err(Error::XsdInvalid(errors)),
            Err(_) => Err(Error::ValidatorStopped),
        }
    }
}

/// Refuses a folder whose `IndiceBusta.dtd` declares something else than
/// [`INDICE_BUSTA_DTD_DECLARATIONS`] (comments and layout aside).
fn check_dtd(path: &Path) -> Result<(), Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::SchemaLoad {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if dtd_declarations(&text) == dtd_declarations(INDICE_BUSTA_DTD_DECLARATIONS) {
        Ok(())
    } else {
        Err(Error::SchemaLoad {
            path: path.to_path_buf(),
            reason: "declarations differ from the ones ponte validates with".into(),
        })
    }
}

/// The declarations of a DTD: no XML declaration, no comments, whitespace
/// collapsed to single spaces.
fn dtd_declarations(text: &str) -> String {
    let mut kept = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = [("<!--", "-->"), ("<?", "?>")]
            .into_iter()
            .filter_map(|(open, close)| rest.find(open).map(|at| (at, close)))
            .min_by_key(|&(at, _)| at);
        let Some((start, close)) = next else { break };
        kept.push_str(&rest[..start]);
        rest = rest[start..]
            .find(close)
            .map_or("", |end| &rest[start + end + close.len()..]);
    }
    kept.push_str(rest);
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

// === the validation thread ===

/// What to validate against.
#[derive(Debug, Clone, Copy)]
enum Target {
    DatiAtto(Root),
    IndiceBusta,
}

#[derive(Debug)]
struct Job {
    target: Target,
    xml: Vec<u8>,
    reply: SyncSender<Result<(), Vec<XsdError>>>,
}

/// The compiled schemas; they live and die on the validation thread.
struct Validators {
    introduttivi: SchemaValidationContext,
    parte: SchemaValidationContext,
    indice_busta: SchemaValidationContext,
}

/// The validation thread: compile, report readiness, serve until every
/// [`SchemaSet`] clone is dropped. A panic inside libxml's wrapper ends the
/// thread (the caller sees [`Error::ValidatorStopped`]) rather than leave a
/// context in an unknown state.
fn serve(
    introduttivi: &Path,
    parte: &Path,
    ready: &SyncSender<Result<(), Error>>,
    queue: &Receiver<Job>,
) {
    let compiled = panic::catch_unwind(|| Validators::compile(introduttivi, parte));
    let mut validators = match compiled {
        Ok(Ok(validators)) => validators,
        Ok(Err(error)) => {
            let _ = ready.send(Err(error));
            return;
        }
        Err(_) => return,
    };
    if ready.send(Ok(())).is_err() {
        return;
    }
    for job in queue {
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            validators.validate(job.target, &job.xml)
        }));
        match outcome {
            // The caller may have gone; nothing to do then.
            Ok(result) => drop(job.reply.send(result)),
            Err(_) => return,
        }
    }
}

impl Validators {
    fn compile(introduttivi: &Path, parte: &Path) -> Result<Self, Error> {
        let file = |path: &Path| {
            let name = path.to_str().unwrap_or_default();
            let mut parser = SchemaParserContext::from_file(name);
            SchemaValidationContext::from_parser(&mut parser)
                .map_err(|errors| compile_error(path, &errors))
        };
        let mut indice_parser = SchemaParserContext::from_buffer(INDICE_BUSTA_XSD);
        let indice_busta = SchemaValidationContext::from_parser(&mut indice_parser)
            .map_err(|errors| compile_error(Path::new(INDICE_BUSTA_DTD), &errors))?;
        Ok(Self {
            introduttivi: file(introduttivi)?,
            parte: file(parte)?,
            indice_busta,
        })
    }

    fn validate(&mut self, target: Target, xml: &[u8]) -> Result<(), Vec<XsdError>> {
        let document = parse(xml)?;
        let context = match target {
            Target::DatiAtto(Root::Introduttivi) => &mut self.introduttivi,
            Target::DatiAtto(Root::Parte) => &mut self.parte,
            Target::IndiceBusta => &mut self.indice_busta,
        };
        let mut errors = match context.validate_document(&document) {
            Ok(()) => Vec::new(),
            Err(errors) => errors.iter().take(MAX_ERRORS).map(XsdError::from).collect(),
        };
        if let Target::DatiAtto(_) = target {
            errors.extend(court_codes(&document));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

fn compile_error(path: &Path, errors: &[StructuredError]) -> Error {
    let reason = errors
        .iter()
        .find_map(|e| e.message.as_deref())
        .map_or("does not compile", str::trim)
        .to_string();
    Error::SchemaLoad {
        path: path.to_path_buf(),
        reason,
    }
}

/// Parses strictly: no recovery, no network, no DTD loading or entity
/// substitution (libxml2's defaults), errors collected rather than printed.
fn parse(xml: &[u8]) -> Result<Document, Vec<XsdError>> {
    let options = ParserOptions {
        recover: false,
        no_net: true,
        ..ParserOptions::default()
    };
    let serious =
        |e: &&StructuredError| matches!(e.level, XmlErrorLevel::Error | XmlErrorLevel::Fatal);
    match Parser::default().parse_string_with_diagnostics(xml, options) {
        Ok((document, diagnostics)) => {
            let errors: Vec<XsdError> = diagnostics
                .iter()
                .filter(serious)
                .take(MAX_ERRORS)
                .map(XsdError::from)
                .collect();
            if errors.is_empty() {
                Ok(document)
            } else {
                Err(errors)
            }
        }
        Err(XmlParseFailure::ParseFailed(diagnostics)) if !diagnostics.is_empty() => {
            Err(diagnostics
                .iter()
                .take(MAX_ERRORS)
                .map(XsdError::from)
                .collect())
        }
        Err(failure) => Err(vec![XsdError {
            line: None,
            element: None,
            message: format!("document cannot be parsed: {failure}"),
        }]),
    }
}

/// The court code in `destinazione@ufficio` / `procedimento@ufficio` of a
/// DatiAtto root: ten digits.
fn court_codes(document: &Document) -> Vec<XsdError> {
    let Some(root) = document.get_root_element() else {
        return Vec::new();
    };
    let root_ns = root.get_namespace().map(|ns| ns.get_href());
    if !matches!(root_ns.as_deref(), Some(NS_INTRODUTTIVI | NS_PARTE)) {
        return Vec::new();
    }
    root.get_child_elements()
        .into_iter()
        .filter(|child| {
            let name = child.get_name();
            (name == "destinazione" || name == "procedimento")
                && child
                    .get_namespace()
                    .is_some_and(|ns| ns.get_href() == NS_ATTI)
        })
        .filter(|child| {
            let code = child.get_attribute_no_ns("ufficio").unwrap_or_default();
            !crate::datiatto::is_court_code(&code)
        })
        .map(|child| {
            let name = child.get_name();
            XsdError {
                line: None,
                message: format!(
                    "Element '{{{NS_ATTI}}}{name}', attribute 'ufficio': \
                     not a ten-digit court code."
                ),
                element: Some(name),
            }
        })
        .collect()
}

// === impl XsdError ===

impl From<&StructuredError> for XsdError {
    fn from(error: &StructuredError) -> Self {
        let message = redact(error.message.as_deref().unwrap_or("invalid").trim());
        Self {
            line: error.line.and_then(|line| u32::try_from(line).ok()),
            element: element_of(&message),
            message,
        }
    }
}

impl fmt::Display for XsdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The local name in a message that starts `Element '{ns}name'`.
fn element_of(message: &str) -> Option<String> {
    let quoted = message.strip_prefix("Element '")?;
    let name = &quoted[..quoted.find('\'')?];
    let local = name.rsplit_once('}').map_or(name, |(_, local)| local);
    Some(local.to_string())
}

/// Replaces the document's values in a libxml2 schema message with `…`:
/// `The value '…'`, `: '…' is not a valid value`, `key-sequence […]`.
fn redact(message: &str) -> String {
    let mut out = message.to_string();
    // `[facet 'x'] The value 'V' is not accepted…` / `has a length of…`.
    out = replace_between(&out, "The value '", &["' is ", "' has "]);
    // `Element 'E': 'V' is not a valid value of…`, also after `, attribute 'A'`.
    out = replace_between(&out, "': '", &["' is not a valid value"]);
    // Identity constraints quote the key's values.
    out = replace_between(&out, "key-sequence [", &["]"]);
    out
}

/// Replaces the text between `open` and the first of `closes` after it with `…`,
/// everywhere.
fn replace_between(text: &str, open: &str, closes: &[&str]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        let value_start = start + open.len();
        let end = closes
            .iter()
            .filter_map(|close| rest[value_start..].find(close))
            .min();
        let Some(end) = end else { break };
        out.push_str(&rest[..value_start]);
        out.push('…');
        rest = &rest[value_start + end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_redacted() {
        let pattern = "Element '{ns}codiceFiscale': [facet 'pattern'] The value 'RSSMRA85T10A562' \
                       is not accepted by the pattern '[0-9]{11,11}'.";
        assert_eq!(
            redact(pattern),
            "Element '{ns}codiceFiscale': [facet 'pattern'] The value '…' is not accepted by \
             the pattern '[0-9]{11,11}'."
        );
        let atomic = "Element '{ns}DataNascita': 'l'altro ieri' is not a valid value of the \
                      atomic type 'xs:date'.";
        assert_eq!(
            redact(atomic),
            "Element '{ns}DataNascita': '…' is not a valid value of the atomic type 'xs:date'."
        );
        let key = "Element '{ns}Parte': Duplicate key-sequence ['RSSMRA85T10A562S'] in unique \
                   identity-constraint '{ns}AK_PARTECIPANTI'.";
        assert!(redact(key).contains("key-sequence […]"));
        assert!(!redact(key).contains("RSSMRA"));
    }

    #[test]
    fn element_names() {
        let message = "Element '{http://x/v7}Nome': This element is not expected.";
        assert_eq!(element_of(message).as_deref(), Some("Nome"));
        assert_eq!(element_of("Element 'Atto': x").as_deref(), Some("Atto"));
        assert_eq!(element_of("Opening and ending tag mismatch"), None);
    }

    #[test]
    fn dtd_comparison_ignores_comments_and_layout() {
        let published =
            "<?xml version=\"1.0\"?>\n<!-- c -->\n<!ELEMENT IndiceBusta   (Atto, Allegato*)>";
        assert_eq!(
            dtd_declarations(published),
            "<!ELEMENT IndiceBusta (Atto, Allegato*)>"
        );
    }
}
