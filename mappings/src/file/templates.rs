//! The file's templates: the deposit description and the main act (blocks,
//! addressee, signatures, PDF metadata), each naming only known values.

use super::checker::Checker;
use super::raw::{RawBlock, RawMainAct};
use super::{BlockTemplate, MainActTemplate};
use crate::error::LoadError;
use crate::template::Template;

/// Parses templates and checks the names they use.
pub(super) struct Templates<'a> {
    c: &'a Checker<'a>,
    /// Whether a placeholder names a field or value.
    known: &'a dyn Fn(&str) -> bool,
}

impl<'a> Templates<'a> {
    /// Templates of `c`'s file whose placeholders must be `known`.
    pub(super) fn new(c: &'a Checker<'a>, known: &'a dyn Fn(&str) -> bool) -> Self {
        Self { c, known }
    }

    /// One template.
    pub(super) fn one(&self, rule: &str, text: &str) -> Result<Template, LoadError> {
        let t = self.c.template(rule, text)?;
        self.c.check_names(rule, &t, self.known)?;
        Ok(t)
    }

    /// A template that may be left out.
    fn optional(&self, rule: &str, text: &Option<String>) -> Result<Option<Template>, LoadError> {
        text.as_deref().map(|t| self.one(rule, t)).transpose()
    }

    /// A list of templates; each error names the item (`rule[i]`).
    fn list(&self, rule: &str, items: &[String]) -> Result<Vec<Template>, LoadError> {
        items
            .iter()
            .enumerate()
            .map(|(i, t)| self.one(&format!("{rule}[{i}]"), t))
            .collect()
    }

    /// The main act's template: blocks first, then the other parts in
    /// document order.
    pub(super) fn main_act(&self, m: &RawMainAct) -> Result<MainActTemplate, LoadError> {
        let mut blocks = Vec::new();
        for (i, b) in m.blocks.iter().enumerate() {
            blocks.push(self.block(&format!("main_act.blocks[{i}]"), b)?);
        }
        Ok(MainActTemplate {
            addressee: self.list("main_act.addressee", &m.addressee)?,
            title: self.one("main_act.title", &m.title)?,
            blocks,
            place_and_date: self.optional("main_act.place_and_date", &m.place_and_date)?,
            signatures: self.list("main_act.signatures", &m.signatures)?,
            meta_title: self.optional("main_act.metadata.title", &m.metadata.title)?,
            meta_author: self.optional("main_act.metadata.author", &m.metadata.author)?,
            meta_subject: self.optional("main_act.metadata.subject", &m.metadata.subject)?,
            meta_created: self.optional("main_act.metadata.created", &m.metadata.created)?,
        })
    }

    /// One block: exactly one of heading, paragraph, item, attachment_items.
    fn block(&self, rule: &str, b: &RawBlock) -> Result<BlockTemplate, LoadError> {
        let given = [
            b.heading.is_some(),
            b.paragraph.is_some(),
            b.item.is_some(),
            b.attachment_items.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(self.c.err(
                rule,
                "a block has exactly one of heading, paragraph, item, attachment_items",
            ));
        }
        Ok(match b {
            RawBlock {
                heading: Some(t), ..
            } => BlockTemplate::Heading(self.one(rule, t)?),
            RawBlock {
                paragraph: Some(t), ..
            } => BlockTemplate::Paragraph(self.one(rule, t)?),
            RawBlock { item: Some(t), .. } => BlockTemplate::Item(self.one(rule, t)?),
            RawBlock {
                attachment_items: Some(true),
                ..
            } => BlockTemplate::AttachmentItems,
            _ => return Err(self.c.err(rule, "attachment_items can only be true")),
        })
    }
}
