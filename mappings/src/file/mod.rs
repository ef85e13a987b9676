//! Mapping files: reading one TOML file and checking it completely, so that
//! mapping a Bundle can only fail on the Bundle's content.
//!
//! The file as written ([`raw`]) is checked part by part: requested acts,
//! [`roots`] and the court, the field and value [`rules`], the filing's
//! [`parts`] and the [`templates`]; [`checker`] holds what they share.

mod checker;
mod order;
mod parts;
mod raw;
mod roots;
mod rules;
mod templates;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path as FsPath, PathBuf};

use ponte_pct::datiatto::AttachmentKind;

use self::checker::Checker;
use self::raw::RawFile;
use self::roots::Roots;
use self::templates::Templates;
use crate::bind::ActKind;
use crate::error::LoadError;
use crate::path::Path;
use crate::template::{Template, Transform};

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
    check_requested_acts(&c, &raw.requested_acts)?;
    let roots = Roots::check(&c, &raw.roots)?;
    let court = roots::court(&c, &roots, &raw.court)?;
    let (rules, fields) = rules::check(&c, raw.act, &raw.fields, &raw.values, &roots)?;
    let name_known = |n: &str| rules::is_known(&rules, n);
    let templates = Templates::new(&c, &name_known);
    let main_act_name = parts::main_act_name(&c, &raw.main_act_name)?;
    let attachments = parts::attachments(&c, &main_act_name, &raw.attachments, &roots, &templates)?;
    let deposit_description = templates.one("deposit_description", &raw.deposit_description)?;
    let main_act = templates.main_act(&raw.main_act)?;
    Ok(MappingFile {
        path: file.to_path_buf(),
        act: raw.act,
        requested_acts: raw.requested_acts,
        main_act_name,
        deposit_description,
        roots: roots.into_ordered(),
        court,
        rules,
        fields,
        attachments,
        main_act,
    })
}

/// Checks `requested_acts`: at least one, each known.
fn check_requested_acts(c: &Checker<'_>, acts: &[String]) -> Result<(), LoadError> {
    if acts.is_empty() {
        return Err(c.err("requested_acts", "lists no requested act"));
    }
    for a in acts {
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
    Ok(())
}
