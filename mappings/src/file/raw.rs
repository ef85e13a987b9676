//! The mapping file as written: the TOML schema, before any check.

use std::collections::BTreeMap;

use ponte_pct::datiatto::AttachmentKind;
use serde::Deserialize;

use crate::bind::ActKind;

/// A whole mapping file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) act: ActKind,
    pub(super) requested_acts: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) description: Option<String>,
    pub(super) main_act_name: String,
    pub(super) deposit_description: String,
    #[serde(default)]
    pub(super) roots: BTreeMap<String, PathList>,
    pub(super) court: RawCourt,
    #[serde(default)]
    pub(super) values: toml::Table,
    #[serde(default)]
    pub(super) fields: toml::Table,
    #[serde(default)]
    pub(super) attachments: Vec<RawAttachment>,
    pub(super) main_act: RawMainAct,
}

/// One path or a list of paths tried in order.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum PathList {
    One(String),
    Many(Vec<String>),
}

impl PathList {
    /// The paths as written.
    pub(super) fn texts(&self) -> Vec<&str> {
        match self {
            Self::One(s) => vec![s.as_str()],
            Self::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// `[court]`: the paths that find the destination court.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCourt {
    pub(super) sender: Option<PathList>,
    pub(super) comune_istat: Option<PathList>,
    pub(super) comune_name: Option<PathList>,
}

/// One `[[attachments]]` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAttachment {
    pub(super) path: PathList,
    pub(super) kind: RawKind,
    pub(super) name: String,
    pub(super) description: String,
    #[serde(default = "yes")]
    pub(super) required: bool,
}

fn yes() -> bool {
    true
}

/// An attachment's `kind`, as written.
#[derive(Deserialize, Clone, Copy)]
pub(super) enum RawKind {
    Simple,
    DelegaSportelloProssimita,
    OrdinanzaInizioTso,
    CertificatoMedicoRichiedente,
    CertificatoMedicoConvalidante,
}

/// `[main_act]`: the main act's template.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMainAct {
    pub(super) addressee: Vec<String>,
    pub(super) title: String,
    pub(super) blocks: Vec<RawBlock>,
    pub(super) place_and_date: Option<String>,
    #[serde(default)]
    pub(super) signatures: Vec<String>,
    #[serde(default)]
    pub(super) metadata: RawMeta,
}

/// `[main_act.metadata]`: the PDF metadata.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMeta {
    pub(super) title: Option<String>,
    pub(super) author: Option<String>,
    pub(super) subject: Option<String>,
    pub(super) created: Option<String>,
}

/// One `[[main_act.blocks]]` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBlock {
    pub(super) heading: Option<String>,
    pub(super) paragraph: Option<String>,
    pub(super) item: Option<String>,
    pub(super) attachment_items: Option<bool>,
}

impl From<RawKind> for AttachmentKind {
    fn from(kind: RawKind) -> Self {
        match kind {
            RawKind::Simple => Self::Simple,
            RawKind::DelegaSportelloProssimita => Self::DelegaSportelloProssimita,
            RawKind::OrdinanzaInizioTso => Self::OrdinanzaInizioTso,
            RawKind::CertificatoMedicoRichiedente => Self::CertificatoMedicoRichiedente,
            RawKind::CertificatoMedicoConvalidante => Self::CertificatoMedicoConvalidante,
        }
    }
}
