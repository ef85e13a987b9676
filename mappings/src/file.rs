//! Mapping files: reading one TOML file and checking it completely, so that
//! mapping a Bundle can only fail on the Bundle's content.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path as FsPath, PathBuf};

use ponte_pct::datiatto::{AttachmentKind, DATI_ATTO_PART};
use serde::Deserialize;

use crate::bind::{self, ActKind, FieldKind, FieldSpec};
use crate::error::LoadError;
use crate::path::{self, Path};
use crate::template::{Template, Transform, is_value_name};

/// The requested acts a file may serve (`Composition.category` codes).
pub(crate) const REQUESTED_ACTS: [&str; 5] = [
    "ads-appointment",
    "ads-report",
    "ads-accounts",
    "tso-convalida",
    "istanza",
];

/// Starting points every path may use, besides the file's own `[roots]`.
pub(crate) const BUILTIN_ROOTS: [&str; 6] = [
    "bundle",
    "composition",
    "subject",
    "office",
    "court",
    "filing",
];

/// Values every template may name, besides the file's fields and values.
pub(crate) const BUILTIN_VALUES: [&str; 10] = [
    "court.code",
    "court.name",
    "court.place",
    "filing.date",
    "filing.requested_act",
    "office.name",
    "office.town",
    "office.codice_fiscale",
    "office.pec_address",
    "office.codice_univoco_pa",
];

/// A checked mapping file.
#[derive(Debug)]
pub(crate) struct MappingFile {
    pub(crate) path: PathBuf,
    pub(crate) act: ActKind,
    pub(crate) requested_acts: Vec<String>,
    pub(crate) main_act_name: String,
    pub(crate) deposit_description: Template,
    /// File roots in an order where each comes after the roots it uses.
    pub(crate) roots: Vec<(String, Vec<Path>)>,
    pub(crate) court: CourtRule,
    /// Values and fields by name.
    pub(crate) rules: HashMap<String, Rule>,
    /// The model fields (names also in `rules`), in file order.
    pub(crate) fields: Vec<String>,
    pub(crate) attachments: Vec<AttachmentRule>,
    pub(crate) main_act: MainActTemplate,
}

/// How the destination court is found.
#[derive(Debug)]
pub(crate) struct CourtRule {
    pub(crate) sender: Vec<Path>,
    pub(crate) comune_istat: Vec<Path>,
    pub(crate) comune_name: Vec<Path>,
}

/// One value or field rule.
#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) source: Source,
    pub(crate) required: bool,
    pub(crate) default: Option<Template>,
    pub(crate) many: bool,
    pub(crate) map: Option<BTreeMap<String, String>>,
    pub(crate) transforms: Vec<Transform>,
}

/// Where a rule's value comes from.
#[derive(Debug)]
pub(crate) enum Source {
    /// Paths tried in order; the first with a result wins.
    Paths(Vec<Path>),
    /// A template (a constant when it has no placeholder).
    Template(Template),
}

/// A document of the Bundle that becomes a part of the filing.
#[derive(Debug)]
pub(crate) struct AttachmentRule {
    pub(crate) path: Vec<Path>,
    pub(crate) kind: AttachmentKind,
    pub(crate) name: String,
    pub(crate) description: Template,
    pub(crate) required: bool,
}

/// The main act's template.
#[derive(Debug)]
pub(crate) struct MainActTemplate {
    pub(crate) addressee: Vec<Template>,
    pub(crate) title: Template,
    pub(crate) blocks: Vec<BlockTemplate>,
    pub(crate) place_and_date: Option<Template>,
    pub(crate) signatures: Vec<Template>,
    pub(crate) meta_title: Option<Template>,
    pub(crate) meta_author: Option<Template>,
    pub(crate) meta_subject: Option<Template>,
    pub(crate) meta_created: Option<Template>,
}

/// One block of the main act.
#[derive(Debug)]
pub(crate) enum BlockTemplate {
    Heading(Template),
    Paragraph(Template),
    Item(Template),
    /// One item per attachment: its description and file name.
    AttachmentItems,
}

// --- the file as written ---

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    act: ActKind,
    requested_acts: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    main_act_name: String,
    deposit_description: String,
    #[serde(default)]
    roots: BTreeMap<String, PathList>,
    court: RawCourt,
    #[serde(default)]
    values: toml::Table,
    #[serde(default)]
    fields: toml::Table,
    #[serde(default)]
    attachments: Vec<RawAttachment>,
    main_act: RawMainAct,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PathList {
    One(String),
    Many(Vec<String>),
}

impl PathList {
    fn texts(&self) -> Vec<&str> {
        match self {
            Self::One(s) => vec![s.as_str()],
            Self::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCourt {
    sender: Option<PathList>,
    comune_istat: Option<PathList>,
    comune_name: Option<PathList>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttachment {
    path: PathList,
    kind: RawKind,
    name: String,
    description: String,
    #[serde(default = "yes")]
    required: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, Clone, Copy)]
enum RawKind {
    Simple,
    DelegaSportelloProssimita,
    OrdinanzaInizioTso,
    CertificatoMedicoRichiedente,
    CertificatoMedicoConvalidante,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMainAct {
    addressee: Vec<String>,
    title: String,
    blocks: Vec<RawBlock>,
    place_and_date: Option<String>,
    #[serde(default)]
    signatures: Vec<String>,
    #[serde(default)]
    metadata: RawMeta,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    title: Option<String>,
    author: Option<String>,
    subject: Option<String>,
    created: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBlock {
    heading: Option<String>,
    paragraph: Option<String>,
    item: Option<String>,
    attachment_items: Option<bool>,
}

// --- loading ---

struct Checker<'p> {
    file: &'p FsPath,
}

impl Checker<'_> {
    fn err(&self, rule: impl Into<String>, problem: impl Into<String>) -> LoadError {
        LoadError::Rule {
            file: self.file.to_path_buf(),
            rule: rule.into(),
            problem: problem.into(),
        }
    }

    fn paths(&self, rule: &str, texts: &[&str]) -> Result<Vec<Path>, LoadError> {
        if texts.is_empty() {
            return Err(self.err(rule, "no path given"));
        }
        texts
            .iter()
            .map(|t| {
                path::parse(t).map_err(|e| self.err(rule, format!("path {t:?} does not parse {e}")))
            })
            .collect()
    }

    fn template(&self, rule: &str, text: &str) -> Result<Template, LoadError> {
        text.parse()
            .map_err(|e: String| self.err(rule, format!("template {text:?}: {e}")))
    }
}

/// Reads and checks one mapping file.
pub(crate) fn load(file: &FsPath) -> Result<MappingFile, LoadError> {
    let text = std::fs::read_to_string(file).map_err(|source| LoadError::Io {
        path: file.to_path_buf(),
        source,
    })?;
    parse(file, &text)
}

/// Checks one mapping file's text; `file` names it in errors.
pub(crate) fn parse(file: &FsPath, text: &str) -> Result<MappingFile, LoadError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| LoadError::Syntax {
        file: file.to_path_buf(),
        message: e.to_string().trim_end().to_owned(),
    })?;
    let c = Checker { file };

    // Requested acts.
    if raw.requested_acts.is_empty() {
        return Err(c.err("requested_acts", "lists no requested act"));
    }
    for a in &raw.requested_acts {
        if !REQUESTED_ACTS.contains(&a.as_str()) {
            return Err(c.err(
                "requested_acts",
                format!(
                    "unknown requested act {a:?} (known: {})",
                    REQUESTED_ACTS.join(", ")
                ),
            ));
        }
    }

    // Roots: parse, check names and dependencies, order them.
    let mut roots = BTreeMap::new();
    for (name, list) in &raw.roots {
        let rule = format!("roots.{name}");
        if !is_value_name(name) || name.contains('.') || BUILTIN_ROOTS.contains(&name.as_str()) {
            return Err(c.err(
                &rule,
                "a root name is letters, digits and _, not a built-in root",
            ));
        }
        roots.insert(name.clone(), c.paths(&rule, &list.texts())?);
    }
    let root_known = |r: &str| BUILTIN_ROOTS.contains(&r) || roots.contains_key(r);
    for (name, paths) in &roots {
        for p in paths {
            if p.root == "court" {
                return Err(c.err(format!("roots.{name}"), "roots cannot use %court"));
            }
            if !root_known(&p.root) {
                return Err(c.err(format!("roots.{name}"), format!("unknown root %{}", p.root)));
            }
        }
    }
    let root_order = order(&roots, |paths: &Vec<Path>| {
        paths.iter().map(|p| p.root.clone()).collect()
    })
    .map_err(|cycle| {
        c.err(
            format!("roots.{cycle}"),
            "roots refer to each other in a cycle",
        )
    })?;
    let check_roots = |rule: &str, paths: &[Path], court_allowed: bool| {
        for p in paths {
            if !root_known(&p.root) || (!court_allowed && p.root == "court") {
                return Err(c.err(rule, format!("unknown root %{} in {:?}", p.root, p.text)));
            }
        }
        Ok(())
    };

    // Court.
    let opt_paths = |rule: &str, list: &Option<PathList>| -> Result<Vec<Path>, LoadError> {
        match list {
            Some(l) => {
                let paths = c.paths(rule, &l.texts())?;
                check_roots(rule, &paths, false)?;
                Ok(paths)
            }
            None => Ok(Vec::new()),
        }
    };
    let court = CourtRule {
        sender: opt_paths("court.sender", &raw.court.sender)?,
        comune_istat: opt_paths("court.comune_istat", &raw.court.comune_istat)?,
        comune_name: opt_paths("court.comune_name", &raw.court.comune_name)?,
    };

    // Fields and values.
    let specs = bind::field_specs(raw.act);
    let spec_of: HashMap<&str, &FieldSpec> = specs.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut rules = HashMap::new();
    let mut fields = Vec::new();
    for (name, value) in &raw.fields {
        let Some(spec) = spec_of.get(name.as_str()) else {
            return Err(c.err(
                name,
                format!("unknown field for act {:?} (see docs/mappings.md)", raw.act),
            ));
        };
        let rule = rule(&c, name, value)?;
        match (spec.kind, rule.many) {
            (FieldKind::List, false) => {
                return Err(c.err(name, "this field is a list: many = true"));
            }
            (FieldKind::List, true) => {}
            (_, true) => return Err(c.err(name, "this field holds one value: many is not allowed")),
            _ => {}
        }
        if let (Source::Template(t), FieldKind::Choice(choices)) = (&rule.source, spec.kind)
            && t.names().next().is_none()
        {
            let constant = t.render(|_| Ok(None)).ok().flatten().unwrap_or_default();
            if !choices.contains(&constant.as_str()) {
                return Err(c.err(
                    name,
                    format!("value {constant:?} is not one of {}", choices.join(", ")),
                ));
            }
        }
        rules.insert(name.clone(), rule);
        fields.push(name.clone());
    }
    for (name, value) in &raw.values {
        if !is_value_name(name) {
            return Err(c.err(name, "a value name is letters, digits, _ and dots"));
        }
        if spec_of.contains_key(name.as_str()) || BUILTIN_VALUES.contains(&name.as_str()) {
            return Err(c.err(
                name,
                "a value cannot take the name of a field or a built-in value",
            ));
        }
        let rule = rule(&c, name, value)?;
        rules.insert(name.clone(), rule);
    }
    // Required fields, per group.
    for spec in &specs {
        let group_used = match spec.group {
            None => true,
            Some(g) => fields.iter().any(|f| f.starts_with(g)),
        };
        if spec.required && group_used && !rules.contains_key(&spec.name) {
            let why = match spec.group {
                Some(g) => {
                    format!("required field has no rule (required when any {g}* field is given)")
                }
                None => "required field has no rule".to_owned(),
            };
            return Err(c.err(&spec.name, why));
        }
    }
    // References: roots of paths, names of templates, no cycles.
    let name_known = |n: &str| rules.contains_key(n) || BUILTIN_VALUES.contains(&n);
    for (name, rule) in &rules {
        match &rule.source {
            Source::Paths(paths) => check_roots(name, paths, true)?,
            Source::Template(t) => check_names(&c, name, t, &name_known)?,
        }
        if let Some(d) = &rule.default {
            check_names(&c, name, d, &name_known)?;
        }
    }
    order(&rules, |r: &Rule| {
        let mut deps: Vec<String> = Vec::new();
        if let Source::Template(t) = &r.source {
            deps.extend(t.names().map(str::to_owned));
        }
        if let Some(d) = &r.default {
            deps.extend(d.names().map(str::to_owned));
        }
        deps
    })
    .map_err(|cycle| c.err(cycle, "values refer to each other in a cycle"))?;

    // Main act name and attachments.
    let main_act_name = raw.main_act_name.clone();
    if !is_part_name(&main_act_name) || !main_act_name.ends_with(".pdf") {
        return Err(c.err(
            "main_act_name",
            "a plain file name ending in .pdf: letters, digits, '.', '-', '_'",
        ));
    }
    let principal = format!("{main_act_name}.p7m");
    // Names the filing already uses: the signed parts, the clear files kept
    // next to them and the envelope's own files (gateway/src/filing/build.rs).
    let mut names: HashSet<String> = [
        principal,
        main_act_name.clone(),
        DATI_ATTO_PART.to_owned(),
        "DatiAtto.xml".to_owned(),
        "IndiceBusta.xml".to_owned(),
        "Atto.msg".to_owned(),
        "Atto.enc".to_owned(),
    ]
    .into();
    let mut attachments = Vec::new();
    for (i, a) in raw.attachments.iter().enumerate() {
        let rule = format!("attachments[{i}]");
        if !is_part_name(&a.name) {
            return Err(c.err(
                &rule,
                "name: a plain file name: letters, digits, '.', '-', '_'",
            ));
        }
        if !names.insert(a.name.clone()) {
            return Err(c.err(&rule, format!("name {:?} is already used", a.name)));
        }
        let path = c.paths(&rule, &a.path.texts())?;
        check_roots(&rule, &path, true)?;
        let description = c.template(&rule, &a.description)?;
        check_names(&c, &rule, &description, &name_known)?;
        attachments.push(AttachmentRule {
            path,
            kind: match a.kind {
                RawKind::Simple => AttachmentKind::Simple,
                RawKind::DelegaSportelloProssimita => AttachmentKind::DelegaSportelloProssimita,
                RawKind::OrdinanzaInizioTso => AttachmentKind::OrdinanzaInizioTso,
                RawKind::CertificatoMedicoRichiedente => {
                    AttachmentKind::CertificatoMedicoRichiedente
                }
                RawKind::CertificatoMedicoConvalidante => {
                    AttachmentKind::CertificatoMedicoConvalidante
                }
            },
            name: a.name.clone(),
            description,
            required: a.required,
        });
    }

    // Templates.
    let tpl = |rule: &str, text: &str| -> Result<Template, LoadError> {
        let t = c.template(rule, text)?;
        check_names(&c, rule, &t, &name_known)?;
        Ok(t)
    };
    let opt_tpl = |rule: &str, text: &Option<String>| -> Result<Option<Template>, LoadError> {
        text.as_deref().map(|t| tpl(rule, t)).transpose()
    };
    let deposit_description = tpl("deposit_description", &raw.deposit_description)?;
    let m = &raw.main_act;
    let mut blocks = Vec::new();
    for (i, b) in m.blocks.iter().enumerate() {
        let rule = format!("main_act.blocks[{i}]");
        let given = [
            b.heading.is_some(),
            b.paragraph.is_some(),
            b.item.is_some(),
            b.attachment_items.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(c.err(
                &rule,
                "a block has exactly one of heading, paragraph, item, attachment_items",
            ));
        }
        blocks.push(match b {
            RawBlock {
                heading: Some(t), ..
            } => BlockTemplate::Heading(tpl(&rule, t)?),
            RawBlock {
                paragraph: Some(t), ..
            } => BlockTemplate::Paragraph(tpl(&rule, t)?),
            RawBlock { item: Some(t), .. } => BlockTemplate::Item(tpl(&rule, t)?),
            RawBlock {
                attachment_items: Some(true),
                ..
            } => BlockTemplate::AttachmentItems,
            _ => return Err(c.err(&rule, "attachment_items can only be true")),
        });
    }
    let list = |rule: &str, items: &[String]| -> Result<Vec<Template>, LoadError> {
        items
            .iter()
            .enumerate()
            .map(|(i, t)| tpl(&format!("{rule}[{i}]"), t))
            .collect()
    };
    let main_act = MainActTemplate {
        addressee: list("main_act.addressee", &m.addressee)?,
        title: tpl("main_act.title", &m.title)?,
        blocks,
        place_and_date: opt_tpl("main_act.place_and_date", &m.place_and_date)?,
        signatures: list("main_act.signatures", &m.signatures)?,
        meta_title: opt_tpl("main_act.metadata.title", &m.metadata.title)?,
        meta_author: opt_tpl("main_act.metadata.author", &m.metadata.author)?,
        meta_subject: opt_tpl("main_act.metadata.subject", &m.metadata.subject)?,
        meta_created: opt_tpl("main_act.metadata.created", &m.metadata.created)?,
    };

    let roots = root_order
        .into_iter()
        .filter_map(|n| roots.remove(&n).map(|p| (n, p)))
        .collect();
    Ok(MappingFile {
        path: file.to_path_buf(),
        act: raw.act,
        requested_acts: raw.requested_acts,
        main_act_name,
        deposit_description,
        roots,
        court,
        rules,
        fields,
        attachments,
        main_act,
    })
}

/// A part name usable as a MIME file name and as an `IndiceBusta` id.
fn is_part_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn check_names(
    c: &Checker<'_>,
    rule: &str,
    t: &Template,
    known: &dyn Fn(&str) -> bool,
) -> Result<(), LoadError> {
    match t.names().find(|n| !known(n)) {
        Some(n) => Err(c.err(rule, format!("placeholder {{{n}}} names no field or value"))),
        None => Ok(()),
    }
}

const TABLE_KEYS: &str = "path, value, required, default, many, map, transform";

/// One `[fields]` / `[values]` entry: a path string, or a table.
fn rule(c: &Checker<'_>, name: &str, value: &toml::Value) -> Result<Rule, LoadError> {
    let t = match value {
        toml::Value::String(p) => {
            return Ok(Rule {
                source: Source::Paths(c.paths(name, &[p])?),
                required: true,
                default: None,
                many: false,
                map: None,
                transforms: Vec::new(),
            });
        }
        toml::Value::Table(t) => t,
        _ => return Err(c.err(name, "a rule is a path string or a table")),
    };
    for k in t.keys() {
        if !TABLE_KEYS.split(", ").any(|known| known == k) {
            return Err(c.err(name, format!("unknown key {k:?} (known: {TABLE_KEYS})")));
        }
    }
    let string = |k: &str| -> Result<Option<&str>, LoadError> {
        match t.get(k) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(c.err(name, format!("{k} must be a string"))),
        }
    };
    let flag = |k: &str, default: bool| -> Result<bool, LoadError> {
        match t.get(k) {
            None => Ok(default),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(_) => Err(c.err(name, format!("{k} must be true or false"))),
        }
    };
    let source = match (t.get("path"), string("value")?) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(c.err(name, "a rule has exactly one of path and value"));
        }
        (Some(toml::Value::String(p)), None) => Source::Paths(c.paths(name, &[p])?),
        (Some(toml::Value::Array(a)), None) => {
            let texts: Option<Vec<&str>> = a.iter().map(toml::Value::as_str).collect();
            let texts = texts.ok_or_else(|| c.err(name, "path must be strings"))?;
            Source::Paths(c.paths(name, &texts)?)
        }
        (Some(_), None) => return Err(c.err(name, "path must be a string or a list of strings")),
        (None, Some(v)) => Source::Template(c.template(name, v)?),
    };
    let default = string("default")?
        .map(|d| c.template(name, d))
        .transpose()?;
    let map = match t.get("map") {
        None => None,
        Some(toml::Value::Table(m)) => Some(
            m.iter()
                .map(|(k, v)| match v {
                    toml::Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(c.err(name, "map values must be strings")),
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => return Err(c.err(name, "map must be a table of strings")),
    };
    let transforms = match t.get("transform") {
        None => Vec::new(),
        Some(toml::Value::String(s)) => vec![s.parse().map_err(|e: String| c.err(name, e))?],
        Some(toml::Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| c.err(name, "transform must be names"))?
                    .parse()
                    .map_err(|e: String| c.err(name, e))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(c.err(name, "transform must be a name or a list of names")),
    };
    Ok(Rule {
        source,
        required: flag("required", true)? && !t.contains_key("default"),
        default,
        many: flag("many", false)?,
        map,
        transforms,
    })
}

/// Orders `items` so that each comes after the items it depends on (names
/// that are not items are ignored). `Err(name)`: a cycle through `name`.
fn order<T>(
    items: &(impl MapLike<T> + ?Sized),
    deps: impl Fn(&T) -> Vec<String>,
) -> Result<Vec<String>, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit<T>(
        name: &str,
        items: &(impl MapLike<T> + ?Sized),
        deps: &dyn Fn(&T) -> Vec<String>,
        marks: &mut HashMap<String, Mark>,
        out: &mut Vec<String>,
    ) -> Result<(), String> {
        match marks.get(name) {
            Some(Mark::Done) => return Ok(()),
            Some(Mark::Visiting) => return Err(name.to_owned()),
            None => {}
        }
        let Some(item) = items.lookup(name) else {
            return Ok(());
        };
        marks.insert(name.to_owned(), Mark::Visiting);
        for d in deps(item) {
            visit(&d, items, deps, marks, out)?;
        }
        marks.insert(name.to_owned(), Mark::Done);
        out.push(name.to_owned());
        Ok(())
    }
    let mut marks = HashMap::new();
    let mut out = Vec::new();
    let mut names = items.names();
    names.sort();
    for n in names {
        visit(&n, items, &deps, &mut marks, &mut out)?;
    }
    Ok(out)
}

trait MapLike<T> {
    fn lookup(&self, name: &str) -> Option<&T>;
    fn names(&self) -> Vec<String>;
}

impl<T> MapLike<T> for BTreeMap<String, T> {
    fn lookup(&self, name: &str) -> Option<&T> {
        self.get(name)
    }
    fn names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }
}

impl<T> MapLike<T> for HashMap<String, T> {
    fn lookup(&self, name: &str) -> Option<&T> {
        self.get(name)
    }
    fn names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }
}
