//! The filing's parts a file names: the main act's file name and the
//! attachments, each name a plain file name used once.

use std::collections::HashSet;

use ponte_pct::datiatto::DATI_ATTO_PART;

use super::AttachmentRule;
use super::checker::Checker;
use super::raw::RawAttachment;
use super::roots::Roots;
use super::templates::Templates;
use crate::error::LoadError;

/// Checks `main_act_name`: a plain file name ending in `.pdf`.
pub(super) fn main_act_name(c: &Checker<'_>, name: &str) -> Result<String, LoadError> {
    let main_act_name = name.to_owned();
    if !is_part_name(&main_act_name) || !main_act_name.ends_with(".pdf") {
        return Err(c.err(
            "main_act_name",
            "a plain file name ending in .pdf: letters, digits, '.', '-', '_'",
        ));
    }
    Ok(main_act_name)
}

/// Checks `[[attachments]]`: names not taken by the filing's own files (nor
/// by another attachment), paths from known roots, descriptions naming known
/// values.
pub(super) fn attachments(
    c: &Checker<'_>,
    main_act_name: &str,
    raw: &[RawAttachment],
    roots: &Roots,
    templates: &Templates<'_>,
) -> Result<Vec<AttachmentRule>, LoadError> {
    let principal = format!("{main_act_name}.p7m");
    // Names the filing already uses: the signed parts, the clear files kept
    // next to them and the envelope's own files (gateway/src/filing/build.rs).
    let mut names: HashSet<String> = [
        principal,
        main_act_name.to_owned(),
        DATI_ATTO_PART.to_owned(),
        "DatiAtto.xml".to_owned(),
        "IndiceBusta.xml".to_owned(),
        "Atto.msg".to_owned(),
        "Atto.enc".to_owned(),
    ]
    .into();
    let mut attachments = Vec::new();
    for (i, a) in raw.iter().enumerate() {
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
        roots.check_paths(c, &rule, &path, true)?;
        let description = templates.one(&rule, &a.description)?;
        attachments.push(AttachmentRule {
            path,
            kind: a.kind.into(),
            name: a.name.clone(),
            description,
            required: a.required,
        });
    }
    Ok(attachments)
}

/// A part name usable as a MIME file name and as an `IndiceBusta` id.
fn is_part_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}
