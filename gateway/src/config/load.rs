//! Reading the configuration file, applying environment overrides and
//! collecting every error with its key.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::{Table, Value};

use super::{
    AccessRule, AdminConfig, AgencyConfig, Config, DevPkiConfig, EvidenceConfig, FhirConfig, Mode,
    PctConfig, PecConfig, RetentionConfig, ServerConfig, SignerConfig, StoreConfig, TlsConfig,
};

/// The development configuration compiled into the binary: the same text as
/// `config/ponte.toml` in the repository.
pub const EMBEDDED_DEFAULT: &str = include_str!("../../../config/ponte.toml");

/// Prefix of environment overrides.
const ENV_PREFIX: &str = "PONTE_";

/// Where the configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The named file.
    File(PathBuf),
    /// The file was absent; the embedded development configuration was used.
    Embedded,
}

/// One configuration problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The key concerned, dotted (`server.listen`, `agencies[2].roles`).
    pub key: String,
    /// What is wrong.
    pub problem: String,
    /// What is expected instead, when it can be said.
    pub expected: Option<String>,
}

impl ConfigError {
    /// An error about `key`.
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            problem: problem.into(),
            expected: None,
        }
    }

    /// Adds what is expected.
    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.problem)?;
        if let Some(expected) = &self.expected {
            write!(f, " (expected {expected})")?;
        }
        Ok(())
    }
}

/// Every problem found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Loads the configuration from `path` (or the embedded default when it does
/// not exist) and applies the `PONTE_…` variables found in `env`.
pub fn load(
    path: &Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(Config, Source), ConfigErrors> {
    let (text, source) = match std::fs::read_to_string(path) {
        Ok(text) => (text, Source::File(path.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            (EMBEDDED_DEFAULT.to_owned(), Source::Embedded)
        }
        Err(e) => {
            return Err(ConfigErrors(vec![ConfigError::new(
                path.display().to_string(),
                format!("cannot read the configuration file: {e}"),
            )]));
        }
    };
    let mut table: Table = text.parse().map_err(|e: toml::de::Error| {
        ConfigErrors(vec![
            ConfigError::new("(file)", e.message().to_owned())
                .expected(format!("valid TOML ({})", location(&text, e.span()))),
        ])
    })?;
    let mut errors = Vec::new();
    apply_env(&mut table, env, &mut errors);
    let config = deserialize_sections(table, &mut errors);
    if let Some(config) = &config {
        validate(config, &mut errors);
    }
    match config {
        Some(config) if errors.is_empty() => Ok((config, source)),
        _ => Err(ConfigErrors(errors)),
    }
}

fn location(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(span) = span else {
        return "position unknown".to_owned();
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, str::len) + 1;
    format!("line {line}, column {column}")
}

/// `PONTE_A__B=v` sets `a.b = v`. The value is read as a TOML value when it
/// parses as one (numbers, booleans, arrays), else as a string.
fn apply_env(
    table: &mut Table,
    env: impl IntoIterator<Item = (String, String)>,
    errors: &mut Vec<ConfigError>,
) {
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
        if path.iter().any(String::is_empty) {
            errors.push(
                ConfigError::new(name.clone(), "empty key segment")
                    .expected("PONTE_SECTION__KEY, segments separated by a double underscore"),
            );
            continue;
        }
        let value = format!("v = {raw}")
            .parse::<Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(Value::String(raw));
        if let Err(part) = set_path(table, &path, value) {
            errors.push(
                ConfigError::new(name.clone(), format!("'{part}' is not a section"))
                    .expected("a variable naming a key inside a section"),
            );
        }
    }
}

/// Sets `path` (non-empty) in `table`, creating sections; on a clash with a
/// non-table value, returns the offending segment.
fn set_path(table: &mut Table, path: &[String], value: Value) -> Result<(), String> {
    match path {
        [] => Ok(()),
        [last] => {
            table.insert(last.clone(), value);
            Ok(())
        }
        [first, rest @ ..] => match table
            .entry(first.clone())
            .or_insert_with(|| Value::Table(Table::new()))
        {
            Value::Table(inner) => set_path(inner, rest, value),
            _ => Err(first.clone()),
        },
    }
}

/// Deserializes each top-level section on its own so that errors in several
/// sections are all reported, then builds the whole configuration.
fn deserialize_sections(table: Table, errors: &mut Vec<ConfigError>) -> Option<Config> {
    let before = errors.len();
    let known: HashSet<&str> = [
        "mode",
        "server",
        "tls",
        "admin",
        "store",
        "dev_pki",
        "evidence",
        "fhir",
        "pct",
        "signer",
        "pec",
        "retention",
        "office",
        "agencies",
        "access",
    ]
    .into();
    for (key, value) in &table {
        let value = value.clone();
        match key.as_str() {
            "mode" => check::<Mode>(key, value, errors),
            "server" => check::<ServerConfig>(key, value, errors),
            "tls" => check::<TlsConfig>(key, value, errors),
            "admin" => check::<AdminConfig>(key, value, errors),
            "store" => check::<StoreConfig>(key, value, errors),
            "dev_pki" => check::<DevPkiConfig>(key, value, errors),
            "evidence" => check::<EvidenceConfig>(key, value, errors),
            "fhir" => check::<FhirConfig>(key, value, errors),
            "pct" => check::<PctConfig>(key, value, errors),
            "signer" => check::<SignerConfig>(key, value, errors),
            "pec" => check::<PecConfig>(key, value, errors),
            "retention" => check::<RetentionConfig>(key, value, errors),
            "office" => check::<ponte_mappings::OfficeProfile>(key, value, errors),
            "agencies" => check::<Vec<AgencyConfig>>(key, value, errors),
            "access" => check::<Vec<AccessRule>>(key, value, errors),
            other => errors.push(ConfigError::new(other, "unknown key").expected(format!(
                "one of {:?}",
                {
                    let mut k: Vec<_> = known.iter().collect();
                    k.sort();
                    k
                }
            ))),
        }
    }
    if !table.contains_key("tls") {
        errors.push(
            ConfigError::new("tls", "missing section")
                .expected("[tls] with cert, key and client_cas"),
        );
    }
    if errors.len() > before {
        return None;
    }
    let effective = toml::to_string(&table).unwrap_or_default();
    match Value::Table(table).try_into::<Config>() {
        Ok(config) => Some(Config {
            effective,
            ..config
        }),
        Err(e) => {
            errors.push(ConfigError::new("(file)", e.to_string()));
            None
        }
    }
}

fn check<T: DeserializeOwned>(section: &str, value: Value, errors: &mut Vec<ConfigError>) {
    if let Err(e) = serde_path_to_error::deserialize::<_, T>(value) {
        let inner = e.path().to_string();
        let key = if inner == "." || inner.is_empty() {
            section.to_owned()
        } else if inner.starts_with('[') {
            format!("{section}{inner}")
        } else {
            format!("{section}.{inner}")
        };
        errors.push(ConfigError::new(key, e.into_inner().message().to_owned()));
    }
}

/// Rules that involve more than one field.
fn validate(config: &Config, errors: &mut Vec<ConfigError>) {
    let server = &config.server;
    for (key, zero) in [
        (
            "server.handshake_timeout",
            server.handshake_timeout.is_zero(),
        ),
        (
            "server.header_read_timeout",
            server.header_read_timeout.is_zero(),
        ),
        ("server.request_timeout", server.request_timeout.is_zero()),
        (
            "server.max_concurrent_requests",
            server.max_concurrent_requests == 0,
        ),
        ("server.body_limit", server.body_limit.as_u64() == 0),
        (
            "server.fhir_body_limit",
            server.fhir_body_limit.as_u64() == 0,
        ),
        ("store.read_connections", config.store.read_connections == 0),
        ("store.max_batch", config.store.max_batch == 0),
        (
            "evidence.checkpoint_interval",
            config.evidence.checkpoint_interval.is_zero(),
        ),
        (
            "evidence.checkpoint_entries",
            config.evidence.checkpoint_entries == 0,
        ),
        ("retention.interval", config.retention.interval.is_zero()),
    ] {
        if zero {
            errors.push(ConfigError::new(key, "must not be zero").expected("a positive value"));
        }
    }
    if server.listen == config.admin.listen && server.listen.port() != 0 {
        errors.push(
            ConfigError::new("admin.listen", "same address as server.listen")
                .expected("a different address or port"),
        );
    }
    if !config.store.url.starts_with("sqlite:") {
        errors.push(
            ConfigError::new(
                "store.url",
                format!("unsupported store {:?}", config.store.url),
            )
            .expected("sqlite:PATH (the PostgreSQL backend is not built yet)"),
        );
    }
    if config.tls.client_cas.is_empty() {
        errors.push(
            ConfigError::new("tls.client_cas", "no client CA configured")
                .expected("at least one PEM file of a CA that issues agency certificates"),
        );
    }
    let origin = &config.evidence.origin;
    if origin.is_empty() || origin.contains(['\n', ' ', '+']) {
        errors.push(
            ConfigError::new("evidence.origin", format!("{origin:?} cannot name a log")).expected(
                "a non-empty name without spaces, '+' or newlines, e.g. example.org/ponte",
            ),
        );
    }
    if let Some(url) = &config.evidence.tsa_url
        && !url.starts_with("http://")
    {
        errors.push(
            ConfigError::new("evidence.tsa_url", format!("unsupported URL {url:?}"))
                .expected("http://host[:port]/path (RFC 3161 over HTTP; tokens are signed)"),
        );
    }
    validate_agencies(&config.agencies, errors);
    for (i, rule) in config.access.iter().enumerate() {
        if rule.roles.is_empty() {
            errors.push(
                ConfigError::new(format!("access[{i}].roles"), "empty role list")
                    .expected("at least one of health-authority, office, court, auditor"),
            );
        }
    }
    if config.mode == Mode::Production && config.dev_pki.auto_create {
        errors.push(
            ConfigError::new(
                "dev_pki.auto_create",
                "development PKI creation is not allowed in production mode",
            )
            .expected("false"),
        );
    }
}

fn validate_agencies(agencies: &[AgencyConfig], errors: &mut Vec<ConfigError>) {
    let mut ids = HashSet::new();
    let mut names = HashSet::new();
    let mut fingerprints = HashSet::new();
    for (i, agency) in agencies.iter().enumerate() {
        let key = |field: &str| format!("agencies[{i}].{field}");
        if !ids.insert(agency.id.clone()) {
            errors.push(
                ConfigError::new(key("id"), format!("duplicate agency id {}", agency.id))
                    .expected("each agency id once"),
            );
        }
        if agency.roles.is_empty() {
            errors.push(
                ConfigError::new(key("roles"), "empty role list")
                    .expected("at least one of health-authority, office, court, auditor"),
            );
        }
        if agency.subject_cn.is_none() && agency.fingerprints.is_empty() {
            errors.push(
                ConfigError::new(key("subject_cn"), "the agency has no way to be recognised")
                    .expected("subject_cn, fingerprints, or both"),
            );
        }
        if let Some(cn) = &agency.subject_cn
            && !names.insert(cn.clone())
        {
            errors.push(
                ConfigError::new(
                    key("subject_cn"),
                    format!("{cn:?} is used by another agency"),
                )
                .expected("a common name that identifies one agency"),
            );
        }
        for fp in &agency.fingerprints {
            if !fingerprints.insert(*fp) {
                errors.push(
                    ConfigError::new(key("fingerprints"), format!("{fp} is used twice"))
                        .expected("each certificate bound to one agency"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ponte.toml");
        std::fs::write(&path, text).unwrap();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        load(&path, env).map(|(c, _)| c)
    }

    #[test]
    fn embedded_default_and_example_parse() {
        let dir = tempfile::tempdir().unwrap();
        let (config, source) = load(&dir.path().join("absent.toml"), []).unwrap();
        assert_eq!(source, Source::Embedded);
        assert_eq!(config.agencies.len(), 4);
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/ponte.example.toml");
        let (example, _) = load(Path::new(example), []).unwrap();
        assert!(!example.access.is_empty());
    }

    #[test]
    fn shipped_rules_open_a_filings_messages_to_whom_its_evidence_is_open() {
        use crate::config::AccessRule;
        use crate::identity::Role;
        let dir = tempfile::tempdir().unwrap();
        let (embedded, _) = load(&dir.path().join("absent.toml"), []).unwrap();
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/ponte.example.toml");
        let (example, _) = load(Path::new(example), []).unwrap();
        let get = http::Method::GET;
        for rules in [&embedded.access, &example.access] {
            let evidence = AccessRule::allowed_roles(rules, &get, "/filings/f-1/evidence");
            assert_eq!(evidence, Some(&[Role::Office, Role::Auditor][..]));
            for name in ["deposit-7.eml", "received-3-accettazione.eml"] {
                let path = format!("/filings/f-1/messages/{name}");
                assert_eq!(AccessRule::allowed_roles(rules, &get, &path), evidence);
            }
            // The rest of /filings stays the office's.
            assert_eq!(
                AccessRule::allowed_roles(rules, &get, "/filings/f-1/envelope"),
                Some(&[Role::Office][..])
            );
        }
    }

    #[test]
    fn environment_overrides_nested_keys() {
        let config = load_str(
            EMBEDDED_DEFAULT,
            &[
                ("PONTE_SERVER__LISTEN", "127.0.0.1:9443"),
                ("PONTE_SERVER__MAX_CONCURRENT_REQUESTS", "7"),
                ("PONTE_STORE__URL", "sqlite:/tmp/x.db"),
                ("OTHER_VAR", "ignored"),
            ],
        )
        .unwrap();
        assert_eq!(config.server.listen.port(), 9443);
        assert_eq!(config.server.max_concurrent_requests, 7);
        assert_eq!(config.store.url, "sqlite:/tmp/x.db");
    }

    #[test]
    fn every_error_is_reported_with_its_key() {
        let text = EMBEDDED_DEFAULT
            .replace("listen = \"0.0.0.0:8443\"", "listen = \"nowhere\"")
            .replace("url = \"sqlite:data/ponte.db\"", "url = 42");
        let errors = load_str(&text, &[("PONTE_BOGUS", "1")]).unwrap_err().0;
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert!(keys.contains(&"server.listen"), "{errors:?}");
        assert!(keys.contains(&"store.url"), "{errors:?}");
        assert!(keys.contains(&"bogus"), "{errors:?}");
    }

    #[test]
    fn semantic_errors_are_collected() {
        let text =
            format!("{EMBEDDED_DEFAULT}\n[[agencies]]\nid = \"asl3-genovese\"\nroles = []\n");
        let errors = load_str(&text, &[]).unwrap_err().0;
        let rendered: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            rendered
                .iter()
                .any(|e| e.starts_with("agencies[4].id: duplicate")),
            "{rendered:?}"
        );
        assert!(rendered.iter().any(|e| e.starts_with("agencies[4].roles")));
        assert!(
            rendered
                .iter()
                .any(|e| e.starts_with("agencies[4].subject_cn"))
        );
    }

    #[test]
    fn toml_syntax_errors_give_a_position() {
        let errors = load_str("[server\nlisten = 1", &[]).unwrap_err();
        assert!(errors.to_string().contains("line 1"), "{errors}");
    }
}
