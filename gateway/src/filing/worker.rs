//! The pipeline worker: takes received Tasks from the store's queue, builds
//! each filing and writes the outcome in one transaction.
//!
//! Restart safety: a claimed row carries a lease; the build happens in
//! memory; only [`FilingStore::finish_filing`] writes, atomically, the
//! artefacts, the filing, the Task's new state, the evidence entry and the
//! row's end. A crash mid-build therefore leaves no artefact and the row is
//! made ready again at the next start ([`FilingStore::recover_work`]).

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ponte_mappings::{MapInput, Mappings, OfficeProfile};
use ponte_pct::sign::Signer;
use ponte_pct::xsd::SchemaSet;
use time::OffsetDateTime;
use tokio::sync::Notify;

use super::build::{self, ATTO_ENC};
use super::courts::Courts;
use super::problem::{self, Stop};
use crate::config::{PctConfig, SignerConfig};
use crate::evidence::format_time;
use crate::store::{
    CourtRef, FilingProblem, FilingState, FilingStore, NewFiling, RegistryStore, WorkItem,
};

/// Everything a build needs, shared by the workers and `ponte map`.
pub struct Builder {
    /// The registry in force.
    pub courts: Courts,
    /// The mapping files.
    pub mappings: Mappings,
    /// The proximity office.
    pub office: OfficeProfile,
    schemas: RwLock<Arc<SchemaSet>>,
    signer: RwLock<Arc<dyn Signer>>,
    sources: Option<Sources>,
}

/// Where the signer and the schemas come from, to open them again after a
/// passing failure (a token removed and put back, a validator thread that
/// stopped).
pub struct Sources {
    /// `[signer]`.
    pub signer: SignerConfig,
    /// `pct.schemas`.
    pub schemas: PathBuf,
}

impl Builder {
    /// Puts the parts together; with `sources`, [`Builder::reopen`] can
    /// replace the signer and the schemas.
    pub fn new(
        courts: Courts,
        mappings: Mappings,
        office: OfficeProfile,
        schemas: SchemaSet,
        signer: Arc<dyn Signer>,
        sources: Option<Sources>,
    ) -> Self {
        Self {
            courts,
            mappings,
            office,
            schemas: RwLock::new(Arc::new(schemas)),
            signer: RwLock::new(signer),
            sources,
        }
    }

    /// The schemas in use.
    pub fn schemas(&self) -> Arc<SchemaSet> {
        match self.schemas.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The signer in use.
    pub fn signer(&self) -> Arc<dyn Signer> {
        match self.signer.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Opens the signer and the schemas again from their sources (after a
    /// failure that a fresh session may cure). Keeps the old ones if the new
    /// ones cannot be opened.
    pub fn reopen(&self) -> anyhow::Result<()> {
        let Some(sources) = &self.sources else {
            return Ok(());
        };
        let signer = super::signer::open(&sources.signer)?;
        let schemas = SchemaSet::load(&sources.schemas)?;
        if let Ok(mut guard) = self.signer.write() {
            *guard = signer;
        }
        if let Ok(mut guard) = self.schemas.write() {
            *guard = Arc::new(schemas);
        }
        Ok(())
    }
}

/// A finished build, ready to store.
struct Built {
    court: CourtRef,
    mapping_file: String,
    deposit_description: String,
    artefacts: Vec<crate::store::NewArtefact>,
}

/// The pipeline.
pub struct Pipeline<S> {
    /// The store.
    pub store: S,
    /// What builds need.
    pub builder: Arc<Builder>,
    /// Timing and limits.
    pub config: PctConfig,
    /// Notified when new work is queued.
    pub wake: Arc<Notify>,
    /// Build counts and durations.
    pub metrics: crate::metrics::Metrics,
    /// Wakes the outbox when a filing is ready.
    pub deposit_wake: Arc<Notify>,
}

impl<S: FilingStore + RegistryStore + Clone> Pipeline<S> {
    /// Runs until `shutdown` resolves; the build in progress is finished
    /// first (or, if the process dies, redone after the restart).
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        match self.store.recover_work().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "Pipeline: unfinished builds queued again."),
            Err(e) => tracing::error!(error = %e, "Pipeline: cannot recover unfinished builds."),
        }
        crate::workers::run_pool(
            self.config.workers,
            &self.wake,
            self.config.poll_interval,
            shutdown,
            || self.step(),
        )
        .await;
        tracing::info!("Pipeline stopped.");
    }

    /// Claims and processes one row; false when there was none (or the
    /// store failed).
    async fn step(&self) -> bool {
        let now = OffsetDateTime::now_utc();
        let lease = now + self.config.lease;
        let item = match self
            .store
            .claim_work(format_time(now), format_time(lease))
            .await
        {
            Ok(Some(item)) => item,
            Ok(None) => return false,
            Err(e) => {
                tracing::error!(error = %e, "Pipeline: cannot claim work.");
                return false;
            }
        };
        self.process(item).await;
        true
    }

    async fn process(&self, item: WorkItem) {
        let builder = Arc::clone(&self.builder);
        let attempts_left = item.attempts < self.config.max_attempts;
        let job = item.clone();
        let timer = self.metrics.filing_build_duration.start_timer();
        let result =
            tokio::task::spawn_blocking(move || build_item(&builder, &job, attempts_left)).await;
        timer.observe_duration();
        let result = result.unwrap_or_else(|_| {
            Err(Stop::Fail(Box::new(problem::problem(
                "build_panicked",
                "the build stopped unexpectedly".to_owned(),
                "la preparazione dell'atto si è interrotta in modo imprevisto".to_owned(),
            ))))
        });
        let task = item.task_id.clone();
        let (outcome, code) = match &result {
            Ok(_) => ("ready", String::new()),
            Err(Stop::Retry(code)) => ("retry", (*code).to_owned()),
            Err(Stop::Fail(p)) => ("failed", p.code.clone()),
            Err(Stop::Hold(p)) => ("on-hold", p.code.clone()),
        };
        self.metrics
            .filing_builds
            .with_label_values(&[outcome, code.as_str()])
            .inc();
        let stored = match result {
            Ok(built) => {
                let message_id = deposit_message_id(&self.builder.office.pec_address);
                let stored = self
                    .store
                    .finish_filing(ready(&item, built, message_id))
                    .await
                    .map(drop);
                if stored.is_ok() {
                    self.deposit_wake.notify_one();
                }
                stored
            }
            Err(Stop::Retry(code)) => {
                let wait = backoff(self.config.retry_backoff, item.attempts);
                let at = format_time(OffsetDateTime::now_utc() + wait);
                tracing::warn!(%task, code, attempts = item.attempts, "Pipeline: build will be retried.");
                if let Err(e) = self.builder.reopen() {
                    tracing::warn!(error = %format!("{e:#}"), "Pipeline: cannot reopen the signer or schemas yet.");
                }
                self.store
                    .retry_work(item.row, item.lease_until.clone(), at, code.to_owned())
                    .await
            }
            Err(stop) => {
                let Some((state, problem)) = stop.state() else {
                    return;
                };
                tracing::info!(%task, code = %problem.code, state = state.as_str(), "Pipeline: build stopped.");
                self.store
                    .finish_filing(stopped(&item, state, problem.clone()))
                    .await
                    .map(drop)
            }
        };
        if let Err(e) = stored {
            // The row stays running until its lease is recovered: nothing
            // half-written, the build is simply done again.
            tracing::error!(%task, error = %e, "Pipeline: cannot store the build's outcome.");
        }
    }
}

/// `base × 2^(attempts − 1)`, at most a day.
fn backoff(base: Duration, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(16));
    base.saturating_mul(factor).min(Duration::from_secs(86_400))
}

/// Maps and assembles one submission (blocking: signing and schema checks).
fn build_item(builder: &Builder, item: &WorkItem, attempts_left: bool) -> Result<Built, Stop> {
    let bundle: serde_json::Value =
        serde_json::from_slice(&item.submission.parsed).map_err(|_| {
            Stop::Fail(Box::new(problem::problem(
                "submission_unreadable",
                "the stored submission cannot be read".to_owned(),
                "la trasmissione memorizzata non è leggibile".to_owned(),
            )))
        })?;
    let directory = builder.courts.current();
    let mappings = builder.mappings.current();
    let input = MapInput {
        bundle: &bundle,
        requested_act: &item.submission.act,
        registry: &directory.registry,
        office: &builder.office,
        court_override: item.court_override.as_deref(),
        filed_on: filing_date(),
    };
    let mapped = mappings
        .map(&input)
        .map_err(|e| problem::from_map_error(&e))?;
    let Some(cert) = directory.court_cert(&mapped.court.code) else {
        return Err(Stop::Hold(Box::new(problem::problem(
            "court_certificate_missing",
            format!(
                "the registry has no encryption certificate for court {}: import it, then choose the court again",
                mapped.court.code
            ),
            format!(
                "il registro non ha il certificato di cifratura dell'ufficio {}: importarlo e scegliere di nuovo il tribunale",
                mapped.court.code
            ),
        ))));
    };
    let assembled = build::assemble(
        &mapped,
        &builder.schemas(),
        builder.signer().as_ref(),
        Some(&cert),
    )
    .map_err(|e| problem::from_build_error(&e, attempts_left))?;
    Ok(Built {
        court: CourtRef {
            code: mapped.court.code.as_str().to_owned(),
            name: mapped.court.name.clone(),
            pec: mapped.court.pec_deposit.clone(),
        },
        mapping_file: mapped.mapping_file.display().to_string(),
        deposit_description: mapped.deposit_description.clone(),
        artefacts: assembled.artefacts,
    })
}

/// Today in Italy (CET; summer time is an hour off at most, which only
/// matters for builds between 23:00 and 24:00 UTC).
pub fn filing_date() -> time::Date {
    let cet = time::UtcOffset::from_hms(1, 0, 0).unwrap_or(time::UtcOffset::UTC);
    OffsetDateTime::now_utc().to_offset(cet).date()
}

/// The Message-ID the deposit will carry in every attempt: unique, in the
/// office's PEC domain.
fn deposit_message_id(office_pec: &str) -> String {
    let domain = office_pec
        .rsplit_once('@')
        .map_or("ponte.localhost", |(_, d)| d);
    match ponte_pec::MessageId::generate(domain) {
        Ok(id) => id.as_str().to_owned(),
        Err(_) => format!("{}@ponte.localhost", uuid::Uuid::now_v7()),
    }
}

fn ready(item: &WorkItem, built: Built, message_id: String) -> NewFiling {
    NewFiling {
        row: item.row,
        lease: item.lease_until.clone(),
        id: uuid::Uuid::now_v7().to_string(),
        task_id: item.task_id.clone(),
        submission_id: item.submission.id.clone(),
        agency: item.submission.agency.clone(),
        act: item.submission.act.clone(),
        state: FilingState::Ready,
        outputs: vec![("court".to_owned(), built.court.code.clone())],
        court: Some(built.court),
        mapping_file: Some(built.mapping_file),
        deposit_description: Some(built.deposit_description),
        problem: None,
        artefacts: built.artefacts,
        envelope: Some(ATTO_ENC.to_owned()),
        deposit_message_id: Some(message_id),
        task_status: "in-progress".to_owned(),
        business_status: "atto pronto per il deposito".to_owned(),
    }
}

fn stopped(item: &WorkItem, state: FilingState, problem: FilingProblem) -> NewFiling {
    let (task_status, business_status) = match state {
        FilingState::OnHold => (
            "on-hold",
            "in attesa dell'ufficio di prossimità (scelta del tribunale competente)",
        ),
        _ => ("failed", "l'atto non può essere preparato"),
    };
    NewFiling {
        row: item.row,
        lease: item.lease_until.clone(),
        id: uuid::Uuid::now_v7().to_string(),
        task_id: item.task_id.clone(),
        submission_id: item.submission.id.clone(),
        agency: item.submission.agency.clone(),
        act: item.submission.act.clone(),
        state,
        court: None,
        mapping_file: problem.file.clone(),
        deposit_description: None,
        outputs: vec![
            ("error".to_owned(), problem.code.clone()),
            ("message".to_owned(), problem.message.clone()),
            ("messaggio".to_owned(), problem.message_it.clone()),
        ],
        problem: Some(problem),
        artefacts: Vec::new(),
        envelope: None,
        deposit_message_id: None,
        task_status: task_status.to_owned(),
        business_status: business_status.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 1), base);
        assert_eq!(backoff(base, 3), Duration::from_secs(120));
        assert_eq!(backoff(base, 40), Duration::from_secs(86_400));
    }
}
