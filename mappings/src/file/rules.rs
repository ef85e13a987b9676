//! The `[fields]` and `[values]` rules: each entry read and checked, the
//! model's required fields present, references known and without cycles.

use std::collections::HashMap;

use super::checker::Checker;
use super::order::order;
use super::roots::Roots;
use super::{BUILTIN_VALUES, Rule, Source};
use crate::bind::{self, ActKind, FieldKind, FieldSpec};
use crate::error::LoadError;
use crate::template::is_value_name;

/// Checks the fields (against the model of `act`) and the values. Returns
/// every rule by name, and the fields' names in file order.
pub(super) fn check(
    c: &Checker<'_>,
    act: ActKind,
    fields_table: &toml::Table,
    values_table: &toml::Table,
    roots: &Roots,
) -> Result<(HashMap<String, Rule>, Vec<String>), LoadError> {
    let specs = bind::field_specs(act);
    let spec_of: HashMap<&str, &FieldSpec> = specs.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut rules = HashMap::new();
    let mut fields = Vec::new();
    for (name, value) in fields_table {
        let Some(spec) = spec_of.get(name.as_str()) else {
            return Err(c.err(
                name,
                format!("unknown field for act {:?} (see docs/mappings.md)", act),
            ));
        };
        let rule = rule(c, name, value)?;
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
    for (name, value) in values_table {
        if !is_value_name(name) {
            return Err(c.err(name, "a value name is letters, digits, _ and dots"));
        }
        if spec_of.contains_key(name.as_str()) || BUILTIN_VALUES.contains(&name.as_str()) {
            return Err(c.err(
                name,
                "a value cannot take the name of a field or a built-in value",
            ));
        }
        let rule = rule(c, name, value)?;
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
    let name_known = |n: &str| is_known(&rules, n);
    for (name, rule) in &rules {
        match &rule.source {
            Source::Paths(paths) => roots.check_paths(c, name, paths, true)?,
            Source::Template(t) => c.check_names(name, t, &name_known)?,
        }
        if let Some(d) = &rule.default {
            c.check_names(name, d, &name_known)?;
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
    Ok((rules, fields))
}

/// Whether a template may name `name`: a rule of the file or a built-in value.
pub(super) fn is_known(rules: &HashMap<String, Rule>, name: &str) -> bool {
    rules.contains_key(name) || BUILTIN_VALUES.contains(&name)
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
