//! `ponte serve`: build every part from the configuration and run them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::{Config, ConfigError, ConfigErrors, Mode};
use crate::edge::{self, AppState, Evidence, Listener, Shared};
use crate::evidence::LogKey;
use crate::evidence::checkpointer::{self, Schedule};
use crate::identity::AgencyDirectory;
use crate::metrics::Metrics;
use crate::store::SqliteStore;
use crate::store::{AdminAction, EvidenceStore};
use crate::tls;

/// Checks what `load` cannot: the TLS material parses and fits together.
/// Returns notes for the operator (e.g. "the development PKI will be
/// created") or every error found.
pub fn check(config: &Config) -> Result<Vec<String>, ConfigErrors> {
    let mut notes = Vec::new();
    let mut errors = Vec::new();
    if will_create_dev_pki(config) {
        // The TLS files and the log key do not exist yet: nothing to check
        // there.
        notes.push(format!(
            "the development PKI will be created in {} on start",
            config.dev_pki.dir.display()
        ));
    } else {
        check_tls_and_log_key(config, &mut notes, &mut errors);
    }
    check_pec(config, &mut notes, &mut errors);
    notes.push(retention_note(config));
    if errors.is_empty() {
        Ok(notes)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// What `[retention]` will do, said at every check and start: keeping
/// health data without a period is a choice the operator must see.
fn retention_note(config: &Config) -> String {
    match config.retention.content_days {
        Some(days) => format!(
            "retention: the content in clear of a case is purged {days} day(s) after it is finished, checked every {}",
            humantime::format_duration(config.retention.interval)
        ),
        None => "retention.content_days is not set: the content in clear of finished cases \
             (submissions and filing artefacts, health data) is kept without limit; set the \
             period your data controller decided"
            .to_owned(),
    }
}

/// `[tls]` and `[evidence] key`: the files parse and fit together.
fn check_tls_and_log_key(config: &Config, notes: &mut Vec<String>, errors: &mut Vec<ConfigError>) {
    if let Err(e) = tls::server_config(&config.tls) {
        errors.push(ConfigError::new("tls", e.to_string()).expected(
            "readable PEM files: a certificate chain, its private key, CA certificates and CRLs",
        ));
    }
    match LogKey::load(&config.evidence.key, &config.evidence.origin) {
        Ok(key) => notes.push(format!(
            "evidence log verifier key: {}",
            key.verifier().to_vkey()
        )),
        Err(e) => errors.push(
            ConfigError::new("evidence.key", e.to_string())
                .expected("an Ed25519 private key, PKCS#8 PEM"),
        ),
    }
}

/// `[pec]`: what `serve` would refuse or silently skip.
fn check_pec(config: &Config, notes: &mut Vec<String>, errors: &mut Vec<ConfigError>) {
    let pec = &config.pec;
    if !pec.enabled {
        notes.push("pec.enabled = false: ready filings are not deposited".to_owned());
        return;
    }
    match (&pec.smtp, &pec.imap) {
        (Some(_), None) => errors.push(
            ConfigError::new("pec.imap", "missing while pec.smtp is set").expected(
                "the PEC box's IMAP server: unknown deposit outcomes are settled by reading it",
            ),
        ),
        (None, _) if config.mode == Mode::Production => notes.push(
            "no pec.smtp: ready filings are not deposited (the development .eml outbox is off in production)"
                .to_owned(),
        ),
        (None, _) => notes.push(format!(
            "no pec.smtp: deposits are written as .eml files in {} (development only)",
            pec.outbox_dir.display()
        )),
        (Some(_), Some(_)) => {}
    }
    for (key, var) in [
        (
            "pec.smtp.password_env",
            pec.smtp.as_ref().map(|s| &s.password_env),
        ),
        (
            "pec.imap.password_env",
            pec.imap.as_ref().map(|s| &s.password_env),
        ),
    ] {
        if let Some(var) = var
            && std::env::var_os(var).is_none()
        {
            errors.push(
                ConfigError::new(key, format!("environment variable {var} is not set"))
                    .expected("the password in that variable (not in the file)"),
            );
        }
    }
    if let Some(imap) = &pec.imap {
        check_provider_trust(imap, notes, errors);
    }
    if pec.max_attempts == 0 {
        errors.push(ConfigError::new("pec.max_attempts", "is 0").expected("at least 1"));
    }
    if pec.poll_interval < std::time::Duration::from_millis(10) {
        errors.push(
            ConfigError::new("pec.poll_interval", "is shorter than 10ms")
                .expected("a duration such as \"1s\""),
        );
    }
}

/// `[pec.imap]`'s provider signature settings.
fn check_provider_trust(
    imap: &crate::config::ImapServer,
    notes: &mut Vec<String>,
    errors: &mut Vec<ConfigError>,
) {
    use crate::config::SignaturePolicy;
    match (&imap.provider_ca_file, imap.provider_signatures) {
        (Some(path), _) => {
            match ponte_pec::ProviderTrust::from_files(path, imap.provider_crl_file.as_deref()) {
                Ok(_) => {}
                Err(e @ ponte_pec::TrustError::Crl { .. }) => errors.push(
                    ConfigError::new("pec.imap.provider_crl_file", e.to_string())
                        .expected("a PEM file of the PEC providers' CAs' CRLs"),
                ),
                Err(e) => errors.push(
                    ConfigError::new("pec.imap.provider_ca_file", e.to_string())
                        .expected("a PEM file of the PEC providers' CA certificates"),
                ),
            }
        }
        (None, SignaturePolicy::Require) => errors.push(
            ConfigError::new(
                "pec.imap.provider_ca_file",
                "missing while pec.imap.provider_signatures = \"require\"",
            )
            .expected(
                "a PEM file of the PEC providers' CA certificates (AgID's list of PEC \
                 providers): receipts whose signature does not verify are quarantined",
            ),
        ),
        (None, SignaturePolicy::Record) => {
            if imap.provider_crl_file.is_some() {
                errors.push(
                    ConfigError::new(
                        "pec.imap.provider_crl_file",
                        "set without pec.imap.provider_ca_file",
                    )
                    .expected("the CAs the CRLs belong to, in provider_ca_file"),
                );
            }
        }
    }
    if imap.provider_signatures == SignaturePolicy::Record {
        notes.push(
            "pec.imap.provider_signatures = \"record\": receipts are applied even when the PEC \
             provider's signature does not verify"
                .to_owned(),
        );
    }
}

fn will_create_dev_pki(config: &Config) -> bool {
    config.mode == Mode::Development
        && config.dev_pki.auto_create
        && !ponte_certs::exists(&config.dev_pki.dir)
}

/// The embedded store's file, from `store.url` (`sqlite:PATH`).
pub fn store_path(config: &Config) -> PathBuf {
    PathBuf::from(config.store.url.trim_start_matches("sqlite:"))
}

/// In development, a PKI made before the evidence log existed lacks the log
/// key: add it rather than fail.
fn ensure_dev_log_key(config: &Config) -> anyhow::Result<()> {
    let key = &config.evidence.key;
    if config.mode == Mode::Development
        && config.dev_pki.auto_create
        && !key.exists()
        && key.starts_with(&config.dev_pki.dir)
    {
        std::fs::write(key, ponte_certs::log_key_pem()?)
            .with_context(|| format!("writing {}", key.display()))?;
        tracing::info!(key = %key.display(), "Created a development evidence log key.");
    }
    Ok(())
}

fn config_digest(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// Runs the gateway until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    if will_create_dev_pki(&config) {
        ponte_certs::generate(&config.dev_pki.dir, false).with_context(|| {
            format!(
                "creating the development PKI in {}",
                config.dev_pki.dir.display()
            )
        })?;
        tracing::info!(dir = %config.dev_pki.dir.display(), "Created the development PKI.");
    }
    ensure_dev_log_key(&config)?;
    let (mut pec_notes, mut pec_errors) = (Vec::new(), Vec::new());
    check_pec(&config, &mut pec_notes, &mut pec_errors);
    if !pec_errors.is_empty() {
        anyhow::bail!("invalid configuration:\n{}", ConfigErrors(pec_errors));
    }
    pec_notes.iter().for_each(|n| tracing::info!("{n}"));
    match config.retention.content_days {
        Some(_) => tracing::info!("{}", retention_note(&config)),
        None => tracing::warn!("{}", retention_note(&config)),
    }
    let key = Arc::new(
        LogKey::load(&config.evidence.key, &config.evidence.origin)
            .context("loading the evidence log key")?,
    );
    let store = SqliteStore::open(
        &store_path(&config),
        config.store.read_connections,
        config.store.max_batch,
    )
    .context("opening the store")?;
    let metrics = Metrics::new().context("registering metrics")?;
    let tls = tls::server_config(&config.tls).context("loading TLS material")?;
    let courts = match crate::filing::Courts::load(&store, &config.pct.registry).await {
        Ok(courts) => Some(courts),
        Err(e) if config.mode == Mode::Development => {
            tracing::error!(error = %e, "The court registry cannot be loaded; /registry and filings are off.");
            None
        }
        Err(e) => return Err(e).context("loading the court registry"),
    };
    let pipeline_wake = Arc::new(tokio::sync::Notify::new());
    let deposit_wake = Arc::new(tokio::sync::Notify::new());
    let pipeline = match (&courts, config.pct.enabled) {
        (Some(courts), true) => match builder(&config, courts.clone()) {
            Ok(builder) => Some(crate::filing::Pipeline {
                store: store.clone(),
                builder: Arc::new(builder),
                config: config.pct.clone(),
                wake: Arc::clone(&pipeline_wake),
                metrics: metrics.clone(),
                deposit_wake: Arc::clone(&deposit_wake),
            }),
            Err(e) if config.mode == Mode::Development => {
                tracing::error!(error = %format!("{e:#}"), "The filing pipeline cannot start; submissions are accepted but not built.");
                None
            }
            Err(e) => return Err(e).context("starting the filing pipeline"),
        },
        _ => None,
    };
    let outbox = outbox(&config, &store, &metrics, &deposit_wake)?;
    let receipts = receipts(&config, &store, &metrics, &deposit_wake)?;
    let state_courts = courts.clone();
    let state = AppState::new(Shared {
        store: store.clone(),
        metrics: metrics.clone(),
        access: config.access.clone(),
        server: config.server.clone(),
        evidence: Evidence {
            key: Arc::clone(&key),
            origin: config.evidence.origin.clone(),
        },
        fhir_limits: crate::intake::limits(&config.fhir),
        in_flight: Default::default(),
        courts,
        pipeline_wake,
    });
    let config_sha256 = config_digest(&config.effective);
    tracing::info!(%config_sha256, vkey = %key.verifier().to_vkey(), "Evidence log ready.");
    // The first entry of every run says which configuration it runs with.
    store
        .append_admin(AdminAction {
            operation: "gateway-start".to_owned(),
            digests: [("config".to_owned(), config_sha256)].into(),
            objects: [("version".to_owned(), env!("CARGO_PKG_VERSION").to_owned())].into(),
            ..AdminAction::default()
        })
        .await
        .context("recording the start in the evidence log")?;
    let https = bind(config.server.listen).await?;
    let admin = bind(config.admin.listen).await?;
    let (https_addr, admin_addr) = (https.local_addr()?, admin.local_addr()?);

    let checkpoints = tokio::spawn(checkpointer::run(
        store.clone(),
        key,
        config.evidence.origin.clone(),
        config.evidence.tsa_url.clone(),
        Schedule {
            interval: config.evidence.checkpoint_interval,
            entries: config.evidence.checkpoint_entries,
        },
        shutdown_signal(),
    ));
    let pipeline_task = pipeline.map(|p| tokio::spawn(p.run(shutdown_signal())));
    let outbox_task = outbox.map(|o| tokio::spawn(o.run(shutdown_signal())));
    let receipts_task = receipts.map(|r| tokio::spawn(r.run(shutdown_signal())));
    let retention_task = config.retention.content_days.map(|content_days| {
        let retention = crate::retention::Retention {
            store: store.clone(),
            content_days,
            interval: config.retention.interval,
            metrics: metrics.clone(),
        };
        tokio::spawn(retention.run(shutdown_signal()))
    });
    // An import by `ponte registry import` (another process) reaches the
    // routes and the pipeline within seconds, without a restart.
    let refresher = state_courts.map(|courts| {
        let store = store.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown_signal() => break,
                    () = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
                }
                match courts.refresh(&store).await {
                    Ok(true) => tracing::info!("Switched to the newest court registry import."),
                    Ok(false) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "The newest registry import cannot be used.")
                    }
                }
            }
        })
    });
    let admin_task = tokio::spawn(crate::admin::serve(
        admin,
        store.clone(),
        metrics.clone(),
        shutdown_signal(),
    ));
    // Tests and scripts read this line to learn the bound ports.
    println!("ponte listening https={https_addr} admin={admin_addr}");
    tracing::info!(%https_addr, %admin_addr, "Ponte is serving.");
    let listener = Listener {
        tcp: https,
        tls,
        directory: Arc::new(AgencyDirectory::new(&config.agencies)),
        app: edge::app(state.clone()),
        state,
    };
    edge::serve(listener, shutdown_signal()).await;
    admin_task.await.context("admin listener")??;
    if let Some(task) = pipeline_task {
        task.await.context("filing pipeline")?;
    }
    for (name, task) in [
        ("outbox", outbox_task),
        ("receipt reader", receipts_task),
        ("retention", retention_task),
    ] {
        if let Some(task) = task {
            task.await.with_context(|| name.to_owned())?;
        }
    }
    if let Some(task) = refresher {
        task.await.context("registry refresher")?;
    }
    checkpoints.await.context("checkpointer")?;
    tracing::info!("Ponte stopped.");
    Ok(())
}

/// What the pipeline and `ponte map` need: mappings, schemas, signer and
/// the office's data, each checked now so that a wrong setting stops the
/// start with a clear message.
pub fn builder(
    config: &Config,
    courts: crate::filing::Courts,
) -> anyhow::Result<crate::filing::Builder> {
    let office = config
        .office
        .clone()
        .context("[office] is missing: the proximity office's name, codice fiscale, address, officers and PEC address")?;
    let mappings = ponte_mappings::Mappings::open(&config.pct.mappings)
        .with_context(|| format!("pct.mappings: loading {}", config.pct.mappings.display()))?;
    let schemas = ponte_pct::xsd::SchemaSet::load(&config.pct.schemas)
        .with_context(|| format!("pct.schemas: loading {}", config.pct.schemas.display()))?;
    let signer = crate::filing::signer::open(&config.signer)?;
    Ok(crate::filing::Builder::new(
        courts,
        mappings,
        office,
        schemas,
        signer,
        Some(crate::filing::worker::Sources {
            signer: config.signer.clone(),
            schemas: config.pct.schemas.clone(),
        }),
    ))
}

/// The PEC outbox: SMTP when `pec.smtp` is set; otherwise, in development,
/// `.eml` files in `pec.outbox_dir`; in production without SMTP, none (ready
/// filings wait, and the start says so).
fn outbox(
    config: &Config,
    store: &SqliteStore,
    metrics: &Metrics,
    wake: &Arc<tokio::sync::Notify>,
) -> anyhow::Result<Option<crate::deposit::Outbox<SqliteStore>>> {
    let pec = &config.pec;
    let Some(office) = config.office.as_ref().filter(|_| pec.enabled) else {
        return Ok(None);
    };
    let from = ponte_pec::PecAddress::parse(&office.pec_address)
        .context("office.pec_address is not an e-mail address")?;
    let outbound = match &pec.smtp {
        Some(smtp) => {
            let password = secret(&smtp.password_env, "pec.smtp.password_env")?;
            let submitter = ponte_pec::SmtpSubmitter::new(ponte_pec::SmtpConfig {
                host: smtp.host.clone(),
                port: smtp.port,
                security: match smtp.security {
                    crate::config::TlsMode::Tls => ponte_pec::SmtpSecurity::ImplicitTls,
                    crate::config::TlsMode::Starttls => ponte_pec::SmtpSecurity::StartTls,
                },
                tls_name: smtp.tls_name.clone(),
                trust: trust(&smtp.ca_file),
                credentials: Some(ponte_pec::SmtpCredentials {
                    username: smtp.username.clone(),
                    password,
                }),
                hello_name: from
                    .as_str()
                    .rsplit('@')
                    .next()
                    .unwrap_or("localhost")
                    .to_owned(),
                timeouts: ponte_pec::SmtpTimeouts::default(),
            })
            .context("pec.smtp")?;
            ponte_pec::Outbound::Smtp(Box::new(submitter))
        }
        None if config.mode == Mode::Development => {
            tracing::warn!(
                dir = %pec.outbox_dir.display(),
                "No PEC server configured: deposits are written as .eml files (development only)."
            );
            ponte_pec::Outbound::DevOutbox(ponte_pec::DevOutbox::new(&pec.outbox_dir))
        }
        None => {
            tracing::error!(
                "No PEC server configured ([pec] smtp): ready filings are not deposited."
            );
            return Ok(None);
        }
    };
    Ok(Some(crate::deposit::Outbox {
        store: store.clone(),
        outbound,
        from,
        config: pec.clone(),
        wake: Arc::clone(wake),
        metrics: metrics.clone(),
    }))
}

/// The receipt reader, when `pec.imap` is set.
fn receipts(
    config: &Config,
    store: &SqliteStore,
    metrics: &Metrics,
    wake: &Arc<tokio::sync::Notify>,
) -> anyhow::Result<Option<crate::deposit::Receipts<SqliteStore>>> {
    let Some(imap) = config.pec.imap.as_ref().filter(|_| config.pec.enabled) else {
        return Ok(None);
    };
    let password = secret(&imap.password_env, "pec.imap.password_env")?;
    let mut settings = ponte_pec::ImapConfig::new(
        imap.host.clone(),
        imap.port,
        imap.username.clone(),
        password,
    );
    settings.tls_name = imap.tls_name.clone();
    settings.trust = trust(&imap.ca_file);
    settings.mailbox = imap.mailbox.clone();
    let trust = imap
        .provider_ca_file
        .as_deref()
        .map(|cas| ponte_pec::ProviderTrust::from_files(cas, imap.provider_crl_file.as_deref()))
        .transpose()
        .context("pec.imap.provider_ca_file, provider_crl_file")?;
    Ok(Some(crate::deposit::Receipts {
        store: store.clone(),
        imap: settings,
        signatures: crate::deposit::SignatureCheck::new(
            trust,
            imap.provider_signatures == crate::config::SignaturePolicy::Require,
        ),
        poll_interval: imap.poll_interval,
        metrics: metrics.clone(),
        applied: Arc::clone(wake),
    }))
}

fn secret(var: &str, key: &str) -> anyhow::Result<ponte_pec::Secret> {
    std::env::var(var)
        .map(ponte_pec::Secret::new)
        .with_context(|| format!("{key}: environment variable {var} is not set"))
}

fn trust(ca_file: &Option<PathBuf>) -> ponte_pec::TrustAnchors {
    match ca_file {
        Some(path) => ponte_pec::TrustAnchors::CaFile(path.clone()),
        None => ponte_pec::TrustAnchors::System,
    }
}

async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        () = term => {},
    }
}
