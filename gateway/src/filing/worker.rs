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
    /// ones cannot be opened. Blocking (PKCS#11 session, schema files): call
    /// it off the async runtime, as [`Pipeline`] does.
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

    /// Reopens the signer and the schemas on a blocking thread (before a
    /// retry); a failure keeps the old ones and is only logged.
    async fn reopen(&self) {
        let builder = Arc::clone(&self.builder);
        let reopened = tokio::task::spawn_blocking(move || builder.reopen())
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("reopening stopped unexpectedly")));
        if let Err(e) = reopened {
            tracing::warn!(error = %format!("{e:#}"), "Pipeline: cannot reopen the signer or schemas yet.");
        }
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
                let message_id = crate::deposit::new_message_id(&self.builder.office.pec_address);
                let stored = self
                    .store
                    .finish_filing(new_filing(&item, Outcome::Ready { built, message_id }))
                    .await
                    .map(drop);
                if stored.is_ok() {
                    self.deposit_wake.notify_one();
                }
                stored
            }
            Err(Stop::Retry(code)) => {
                let wait = crate::workers::backoff(self.config.retry_backoff, item.attempts);
                let at = format_time(OffsetDateTime::now_utc() + wait);
                tracing::warn!(%task, code, attempts = item.attempts, "Pipeline: build will be retried.");
                self.reopen().await;
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
                    .finish_filing(new_filing(
                        &item,
                        Outcome::Stopped {
                            state,
                            problem: problem.clone(),
                        },
                    ))
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

/// How a build ended, with what only that ending has.
enum Outcome {
    /// Built: the filing is ready for its deposit.
    Ready { built: Built, message_id: String },
    /// Stopped: `failed` or `on-hold`, with the reason.
    Stopped {
        state: FilingState,
        problem: FilingProblem,
    },
}

impl Outcome {
    fn state(&self) -> FilingState {
        match self {
            Self::Ready { .. } => FilingState::Ready,
            Self::Stopped { state, .. } => *state,
        }
    }
}

/// The filing to store for `item`'s build, whatever its outcome.
fn new_filing(item: &WorkItem, outcome: Outcome) -> NewFiling {
    let state = outcome.state();
    let (task_status, business_status) = match state {
        FilingState::Ready => ("in-progress", "atto pronto per il deposito"),
        FilingState::OnHold => (
            "on-hold",
            "in attesa dell'ufficio di prossimità (scelta del tribunale competente)",
        ),
        _ => ("failed", "l'atto non può essere preparato"),
    };
    let mut filing = NewFiling {
        row: item.row,
        lease: item.lease_until.clone(),
        id: uuid::Uuid::now_v7().to_string(),
        task_id: item.task_id.clone(),
        submission_id: item.submission.id.clone(),
        agency: item.submission.agency.clone(),
        act: item.submission.act.clone(),
        state,
        outputs: Vec::new(),
        court: None,
        mapping_file: None,
        deposit_description: None,
        problem: None,
        artefacts: Vec::new(),
        envelope: None,
        deposit_message_id: None,
        task_status: task_status.to_owned(),
        business_status: business_status.to_owned(),
    };
    match outcome {
        Outcome::Ready { built, message_id } => {
            filing.outputs = vec![("court".to_owned(), built.court.code.clone())];
            filing.court = Some(built.court);
            filing.mapping_file = Some(built.mapping_file);
            filing.deposit_description = Some(built.deposit_description);
            filing.artefacts = built.artefacts;
            filing.envelope = Some(ATTO_ENC.to_owned());
            filing.deposit_message_id = Some(message_id);
        }
        Outcome::Stopped { problem, .. } => {
            filing.mapping_file = problem.file.clone();
            filing.outputs = vec![
                ("error".to_owned(), problem.code.clone()),
                ("message".to_owned(), problem.message.clone()),
                ("messaggio".to_owned(), problem.message_it.clone()),
            ];
            filing.problem = Some(problem);
        }
    }
    filing
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> WorkItem {
        WorkItem {
            row: 7,
            task_id: "task-1".to_owned(),
            job: "build-filing".to_owned(),
            attempts: 1,
            court_override: None,
            lease_until: "2026-01-01T00:05:00Z".to_owned(),
            submission: crate::store::SubmissionRecord {
                id: "sub-1".to_owned(),
                agency: "asl3".to_owned(),
                kind: "tso-proposal".to_owned(),
                act: "TSO".to_owned(),
                received_at: "2026-01-01T00:00:00Z".to_owned(),
                parsed: b"{}".to_vec(),
            },
        }
    }

    #[test]
    fn a_ready_filing_carries_court_envelope_and_message_id() {
        let built = Built {
            court: CourtRef {
                code: "0580910099".to_owned(),
                name: "Tribunale".to_owned(),
                pec: "court@pec.test".to_owned(),
            },
            mapping_file: "tso.toml".to_owned(),
            deposit_description: "Deposito".to_owned(),
            artefacts: Vec::new(),
        };
        let f = new_filing(
            &item(),
            Outcome::Ready {
                built,
                message_id: "m@pec.test".to_owned(),
            },
        );
        assert_eq!(f.state, FilingState::Ready);
        assert_eq!((f.row, f.lease.as_str()), (7, "2026-01-01T00:05:00Z"));
        assert_eq!(f.task_status, "in-progress");
        assert_eq!(f.outputs, [("court".to_owned(), "0580910099".to_owned())]);
        assert_eq!(f.envelope.as_deref(), Some(ATTO_ENC));
        assert_eq!(f.deposit_message_id.as_deref(), Some("m@pec.test"));
        assert!(f.problem.is_none());
    }

    #[test]
    fn a_stopped_filing_carries_the_problem_and_no_envelope() {
        let mut p = problem::problem("competence_unknown", "en".to_owned(), "it".to_owned());
        p.file = Some("tso.toml".to_owned());
        for (state, status) in [
            (FilingState::OnHold, "on-hold"),
            (FilingState::Failed, "failed"),
        ] {
            let f = new_filing(
                &item(),
                Outcome::Stopped {
                    state,
                    problem: p.clone(),
                },
            );
            assert_eq!(f.state, state);
            assert_eq!(f.task_status, status);
            assert_eq!(f.mapping_file.as_deref(), Some("tso.toml"));
            assert_eq!(
                f.outputs[0],
                ("error".to_owned(), "competence_unknown".to_owned())
            );
            assert_eq!(
                f.problem.map(|p| p.code).as_deref(),
                Some("competence_unknown")
            );
            assert!(f.envelope.is_none() && f.deposit_message_id.is_none() && f.court.is_none());
        }
    }
}
