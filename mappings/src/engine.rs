//! Mapping one Bundle with one checked file: court, values, attachments,
//! main act, binder, and the final `to_xml` check.

use std::collections::HashMap;

use base64::Engine as _;
use ponte_pct::datiatto::{self, Attachment, AttachmentKind, DatiAtto};
use ponte_pct::mainact::{Block, DocumentMetadata, MainActDocument};
use ponte_registry::{ComuneRef, Court, CourtCode};
use serde_json::{Value, json};

use crate::bind::{self, Fields};
use crate::error::{MapError, RuleProblem};
use crate::file::{BlockTemplate, MappingFile, Rule, Source};
use crate::path::{self, Item, Path, Scope};
use crate::template::{Template, TemplateError};
use crate::{MapInput, MappedAttachment, MappedFiling};

/// A mapped value: one text, or a list (`many = true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Val {
    One(String),
    Many(Vec<String>),
}

impl Val {
    /// As template text: a list joined with ", ".
    fn text(&self) -> String {
        match self {
            Self::One(s) => s.clone(),
            Self::Many(v) => v.join(", "),
        }
    }
}

struct Ctx<'f, 'a> {
    file: &'f MappingFile,
    scope: Scope<'a>,
    builtins: HashMap<&'static str, String>,
    memo: HashMap<String, Option<Val>>,
    /// The path each evaluated rule used (or the first it tried).
    elements: HashMap<String, String>,
}

impl<'f> Ctx<'f, '_> {
    fn rule_err(&self, rule: &str, element: Option<&str>, problem: RuleProblem) -> MapError {
        MapError::Rule {
            file: self.file.path.clone(),
            rule: rule.to_owned(),
            element: element.map(str::to_owned),
            problem,
        }
    }

    /// Texts of a path list: the first path with a result; objects refused.
    /// Returns the texts and the path used.
    fn texts(&self, rule: &str, paths: &'f [Path]) -> Result<(Vec<String>, &'f Path), MapError> {
        let mut used = &paths[0];
        let mut items = Vec::new();
        for p in paths {
            used = p;
            items = p.eval(&self.scope);
            if !items.is_empty() {
                break;
            }
        }
        let texts = items
            .iter()
            .map(|i| {
                path::scalar(&i.value).ok_or_else(|| {
                    self.rule_err(
                        rule,
                        Some(&used.text),
                        RuleProblem::WrongType {
                            expected: "a primitive value (text, number, boolean)",
                        },
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((texts, used))
    }

    /// At most one text from a path list.
    fn one(&self, rule: &str, paths: &'f [Path]) -> Result<Option<String>, MapError> {
        if paths.is_empty() {
            return Ok(None);
        }
        let (mut texts, used) = self.texts(rule, paths)?;
        match texts.len() {
            0 => Ok(None),
            1 => Ok(texts.pop().filter(|s| !s.trim().is_empty())),
            count => Err(self.rule_err(rule, Some(&used.text), RuleProblem::Several { count })),
        }
    }

    /// The value of a field, a file value or a built-in value.
    fn value(&mut self, name: &str) -> Result<Option<Val>, MapError> {
        if let Some(b) = self.builtins.get(name) {
            return Ok(Some(Val::One(b.clone())).filter(|_| !b.is_empty()));
        }
        if let Some(v) = self.memo.get(name) {
            return Ok(v.clone());
        }
        let file = self.file;
        let Some(rule) = file.rules.get(name) else {
            return Ok(None);
        };
        let v = self.eval_rule(name, rule)?;
        self.memo.insert(name.to_owned(), v.clone());
        Ok(v)
    }

    fn render(&mut self, rule: &str, t: &Template) -> Result<Option<String>, MapError> {
        t.render(|n| Ok(self.value(n)?.map(|v| v.text())))
            .map_err(|e| match e {
                TemplateError::Lookup(e) => e,
                TemplateError::Transform { name, problem } => {
                    self.rule_err(rule, Some(&format!("{{{name}}}")), problem)
                }
            })
    }

    fn eval_rule(&mut self, name: &str, rule: &'f Rule) -> Result<Option<Val>, MapError> {
        let mut element = None;
        let raw = match &rule.source {
            Source::Paths(paths) => {
                let (texts, used) = self.texts(name, paths)?;
                element = Some(used.text.clone());
                self.elements.insert(name.to_owned(), used.text.clone());
                if !rule.many && texts.len() > 1 {
                    return Err(self.rule_err(
                        name,
                        element.as_deref(),
                        RuleProblem::Several { count: texts.len() },
                    ));
                }
                texts
            }
            Source::Template(t) => self.render(name, t)?.into_iter().collect(),
        };
        let mut out = Vec::with_capacity(raw.len());
        'values: for v in raw {
            let mut v = match &rule.map {
                Some(m) => match m.get(&v) {
                    Some(mapped) => mapped.clone(),
                    None => continue,
                },
                None => v,
            };
            for t in &rule.transforms {
                match t.apply(&v) {
                    Ok(Some(next)) => v = next,
                    Ok(None) => continue 'values,
                    Err(problem) => return Err(self.rule_err(name, element.as_deref(), problem)),
                }
            }
            if !v.trim().is_empty() {
                out.push(v);
            }
        }
        if out.is_empty() {
            if let Some(d) = &rule.default
                && let Some(v) = self.render(name, d)?
            {
                out.push(v);
            } else if rule.required {
                return Err(self.rule_err(name, element.as_deref(), RuleProblem::Missing));
            } else {
                return Ok(None);
            }
        }
        Ok(Some(if rule.many {
            Val::Many(out)
        } else {
            Val::One(out.remove(0))
        }))
    }

    fn court(&self, input: &MapInput<'_>) -> Result<Court, MapError> {
        let registry = input.registry;
        let by_code = |code: &str| {
            code.trim()
                .parse::<CourtCode>()
                .ok()
                .and_then(|c| registry.court(&c))
                .cloned()
                .ok_or_else(|| MapError::UnknownCourt {
                    code: code.trim().to_owned(),
                })
        };
        if let Some(code) = input.court_override {
            return by_code(code);
        }
        let rule = &self.file.court;
        if let Some(code) = self.one("court.sender", &rule.sender)? {
            return by_code(&code);
        }
        let istat = self.one("court.comune_istat", &rule.comune_istat)?;
        let name = self.one("court.comune_name", &rule.comune_name)?;
        registry
            .competent_court(ComuneRef {
                istat: istat.as_deref(),
                name: name.as_deref(),
            })
            .cloned()
            .map_err(MapError::Competence)
    }

    fn attachment(
        &self,
        rule: &str,
        paths: &'f [Path],
    ) -> Result<Option<(String, Vec<u8>)>, MapError> {
        let mut used = &paths[0];
        let mut items: Vec<Item<'_>> = Vec::new();
        for p in paths {
            used = p;
            items = p.eval(&self.scope);
            if !items.is_empty() {
                break;
            }
        }
        let element = Some(used.text.as_str());
        let att = match items.as_slice() {
            [] => return Ok(None),
            [one] => one.value.as_ref(),
            many => {
                return Err(self.rule_err(
                    rule,
                    element,
                    RuleProblem::Several { count: many.len() },
                ));
            }
        };
        if !att.is_object() {
            return Err(self.rule_err(
                rule,
                element,
                RuleProblem::WrongType {
                    expected: "an Attachment (DocumentReference.content.attachment)",
                },
            ));
        }
        let content_type = |v: &Value| {
            v.get("contentType")
                .and_then(Value::as_str)
                .map(|c| c.split(';').next().unwrap_or(c).trim().to_owned())
        };
        let (data, binary_type) = match att.get("data").and_then(Value::as_str) {
            Some(d) => (d, None),
            None => {
                let binary = att
                    .get("url")
                    .and_then(Value::as_str)
                    .and_then(|u| path::resolve(self.scope.bundle, u))
                    .filter(|b| b.get("resourceType").and_then(Value::as_str) == Some("Binary"));
                let data = binary.and_then(|b| b.get("data")).and_then(Value::as_str);
                match data {
                    Some(d) => (d, binary.and_then(content_type)),
                    None => {
                        return Err(self.rule_err(rule, element, RuleProblem::AttachmentNoContent));
                    }
                }
            }
        };
        let bytes = decode_base64(data)
            .ok_or_else(|| self.rule_err(rule, element, RuleProblem::AttachmentBase64))?;
        let ctype = content_type(att)
            .or(binary_type)
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        Ok(Some((ctype, bytes)))
    }
}

/// Decodes FHIR `base64Binary` (RFC 4648 with padding), ignoring whitespace
/// (line breaks of wrapped base64). Data without whitespace, the usual case,
/// is decoded as it is, without a copy; ASCII data with whitespace is
/// compacted byte by byte; anything else (non-ASCII, which base64 never
/// is) is compacted by `char` as before, dropping Unicode whitespace.
fn decode_base64(data: &str) -> Option<Vec<u8>> {
    let engine = &base64::engine::general_purpose::STANDARD;
    let bytes = data.as_bytes();
    // `char::is_whitespace` on ASCII: space, \t, \n, \x0b, \x0c, \r.
    let is_space = |b: u8| b.is_ascii_whitespace() || b == 0x0b;
    if !bytes.iter().any(|&b| is_space(b) || !b.is_ascii()) {
        return engine.decode(bytes).ok();
    }
    let compact: Vec<u8> = if bytes.is_ascii() {
        bytes.iter().copied().filter(|&b| !is_space(b)).collect()
    } else {
        data.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .into_bytes()
    };
    engine.decode(compact).ok()
}

/// The place in a court's registry name: "Tribunale Ordinario - Genova" →
/// "Genova".
fn court_place(name: &str) -> &str {
    name.rsplit_once(" - ")
        .map_or(name, |(_, place)| place.trim())
}

/// The Composition: first entry of a document Bundle, or what
/// `MessageHeader.focus[0]` references in a message Bundle.
fn composition(bundle: &Value) -> Option<&Value> {
    let first = bundle.get("entry")?.get(0)?.get("resource")?;
    match first.get("resourceType").and_then(Value::as_str) {
        Some("Composition") => Some(first),
        Some("MessageHeader") => {
            let reference = first.get("focus")?.get(0)?.get("reference")?.as_str()?;
            path::resolve(bundle, reference)
        }
        _ => None,
    }
}

pub(crate) fn map(file: &MappingFile, input: &MapInput<'_>) -> Result<MappedFiling, MapError> {
    let bundle = input.bundle;
    let office_json = serde_json::to_value(input.office).unwrap_or(Value::Null);
    let filed_on = input.filed_on;
    let date = format!(
        "{:04}-{:02}-{:02}",
        filed_on.year(),
        u8::from(filed_on.month()),
        filed_on.day()
    );
    let filing_json = json!({"date": date, "requested_act": input.requested_act});

    let mut roots: HashMap<String, Vec<Item<'_>>> = HashMap::new();
    roots.insert("bundle".into(), vec![Item::node(bundle)]);
    let comp = composition(bundle);
    roots.insert(
        "composition".into(),
        comp.into_iter().map(Item::node).collect(),
    );
    let subject = comp
        .and_then(|c| c.get("subject"))
        .and_then(|s| s.get("reference"))
        .and_then(Value::as_str)
        .and_then(|r| path::resolve(bundle, r));
    roots.insert(
        "subject".into(),
        subject.into_iter().map(Item::node).collect(),
    );
    roots.insert("office".into(), vec![Item::node(&office_json)]);
    roots.insert("filing".into(), vec![Item::node(&filing_json)]);

    let mut ctx = Ctx {
        file,
        scope: Scope { bundle, roots },
        builtins: HashMap::new(),
        memo: HashMap::new(),
        elements: HashMap::new(),
    };
    for (name, paths) in &file.roots {
        let items = paths
            .iter()
            .map(|p| p.eval(&ctx.scope))
            .find(|items| !items.is_empty())
            .unwrap_or_default();
        ctx.scope.roots.insert(name.clone(), items);
    }

    // The court first: values may use it.
    let court = ctx.court(input)?;
    let court_json = json!({
        "code": court.code.as_str(),
        "name": court.name,
        "place": court_place(&court.name),
        "pec_deposit": court.pec_deposit,
    });
    ctx.scope
        .roots
        .insert("court".into(), vec![Item::node(&court_json)]);
    let office = input.office;
    ctx.builtins = HashMap::from([
        ("court.code", court.code.as_str().to_owned()),
        ("court.name", court.name.clone()),
        ("court.place", court_place(&court.name).to_owned()),
        ("filing.date", date.clone()),
        ("filing.requested_act", input.requested_act.to_owned()),
        ("office.name", office.name.clone()),
        ("office.town", office.town.clone()),
        ("office.codice_fiscale", office.codice_fiscale.clone()),
        ("office.pec_address", office.pec_address.clone()),
        (
            "office.codice_univoco_pa",
            office.codice_univoco_pa.clone().unwrap_or_default(),
        ),
    ]);

    // Fields.
    let mut values = HashMap::new();
    for name in &file.fields {
        if let Some(v) = ctx.value(name)? {
            values.insert(name.clone(), v);
        }
    }

    // Attachments.
    let mut attachments = Vec::new();
    let mut descriptions = Vec::new();
    for (i, a) in file.attachments.iter().enumerate() {
        let rule = format!("attachments[{i}]");
        match ctx.attachment(&rule, &a.path)? {
            Some((content_type, bytes)) => {
                let description = ctx
                    .render(&rule, &a.description)?
                    .unwrap_or_else(|| a.name.clone());
                descriptions.push((description, a.name.clone()));
                attachments.push(MappedAttachment {
                    id: a.name.clone(),
                    name: a.name.clone(),
                    kind: a.kind,
                    content_type,
                    bytes,
                });
            }
            None if a.required => {
                return Err(ctx.rule_err(&rule, Some(&a.path[0].text), RuleProblem::Missing));
            }
            None => {}
        }
    }

    // Main act.
    let m = &file.main_act;
    let lines = |ctx: &mut Ctx<'_, '_>, rule: &str, ts: &[Template]| {
        let mut out = Vec::new();
        for (i, t) in ts.iter().enumerate() {
            if let Some(line) = ctx.render(&format!("{rule}[{i}]"), t)? {
                out.push(line);
            }
        }
        Ok::<_, MapError>(out)
    };
    let addressee = lines(&mut ctx, "main_act.addressee", &m.addressee)?;
    let signatures = lines(&mut ctx, "main_act.signatures", &m.signatures)?;
    let title = ctx
        .render("main_act.title", &m.title)?
        .ok_or_else(|| ctx.rule_err("main_act.title", None, RuleProblem::Missing))?;
    let mut blocks = Vec::new();
    for (i, b) in m.blocks.iter().enumerate() {
        let rule = format!("main_act.blocks[{i}]");
        match b {
            BlockTemplate::Heading(t) => blocks.extend(ctx.render(&rule, t)?.map(Block::Heading)),
            BlockTemplate::Paragraph(t) => {
                blocks.extend(ctx.render(&rule, t)?.map(Block::Paragraph));
            }
            BlockTemplate::Item(t) => blocks.extend(ctx.render(&rule, t)?.map(Block::Item)),
            BlockTemplate::AttachmentItems => blocks.extend(
                descriptions
                    .iter()
                    .map(|(d, name)| Block::Item(format!("{d} ({name})"))),
            ),
        }
    }
    let place_and_date = match &m.place_and_date {
        Some(t) => ctx.render("main_act.place_and_date", t)?,
        None => None,
    };
    let opt = |ctx: &mut Ctx<'_, '_>, rule: &str, t: &Option<Template>| match t {
        Some(t) => ctx.render(rule, t),
        None => Ok(None),
    };
    let metadata = DocumentMetadata {
        title: opt(&mut ctx, "main_act.metadata.title", &m.meta_title)?
            .unwrap_or_else(|| title.clone()),
        author: opt(&mut ctx, "main_act.metadata.author", &m.meta_author)?,
        subject: opt(&mut ctx, "main_act.metadata.subject", &m.meta_subject)?,
        created: opt(&mut ctx, "main_act.metadata.created", &m.meta_created)?,
    };
    let main_act = MainActDocument {
        addressee,
        title,
        blocks,
        place_and_date,
        signatures,
        metadata,
    };
    let deposit_description = ctx
        .render("deposit_description", &file.deposit_description)?
        .ok_or_else(|| ctx.rule_err("deposit_description", None, RuleProblem::Missing))?;

    // The act.
    let fields = Fields {
        file: &file.path,
        values: &values,
        elements: &ctx.elements,
    };
    let act = bind::bind(file.act, &fields)?;
    let principal = format!("{}.p7m", file.main_act_name);
    let mut index = vec![Attachment {
        id: principal.clone(),
        name: principal,
        kind: AttachmentKind::Principal,
    }];
    index.extend(attachments.iter().map(|a| Attachment {
        id: a.id.clone(),
        name: a.name.clone(),
        kind: a.kind,
    }));
    let dati = DatiAtto {
        court: court.code.as_str().to_owned(),
        act,
        attachments: index,
    };
    datiatto::to_xml(&dati).map_err(|source| MapError::Model {
        file: file.path.clone(),
        source,
    })?;
    Ok(MappedFiling {
        mapping_file: file.path.clone(),
        datiatto: dati,
        main_act,
        main_act_name: file.main_act_name.clone(),
        attachments,
        court,
        deposit_description,
    })
}
