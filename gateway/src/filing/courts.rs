//! The court registry in force: the newest import in the store, else the
//! configured data file. Swapped in place when a new import appears, so the
//! routes and the pipeline never need a restart.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use ponte_pct::envelope::CourtRecipientCert;
use ponte_registry::{CourtCode, Registry};

use crate::store::{RegistrySnapshot, RegistryStore};

/// Where the registry in force came from.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(tag = "from", rename_all = "kebab-case")]
pub enum RegistryOrigin {
    /// `ponte registry import`.
    Imported {
        /// Import id.
        id: i64,
        /// When.
        imported_at: String,
        /// The file it came from.
        source: String,
    },
    /// The configured data file (nothing imported yet).
    File {
        /// The file.
        path: String,
    },
}

/// A registry with the courts' encryption certificates.
#[derive(Debug)]
pub struct CourtDirectory {
    /// Courts and competence.
    pub registry: Registry,
    /// Encryption certificate (PEM) of each court that has one.
    pub certificates: BTreeMap<String, String>,
    /// The same certificates parsed, once per registry rather than once per
    /// filing; a PEM that does not parse has no entry.
    recipients: BTreeMap<String, CourtRecipientCert>,
    /// Where it came from.
    pub origin: RegistryOrigin,
}

/// Why the registry could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CourtsError {
    /// The data file or snapshot is invalid.
    #[error("court registry: {0}")]
    Registry(#[from] ponte_registry::Error),
    /// The store could not be read.
    #[error("court registry: {0}")]
    Store(#[from] crate::store::Error),
}

impl CourtDirectory {
    /// From an imported snapshot.
    pub fn from_snapshot(snapshot: RegistrySnapshot) -> Result<Self, CourtsError> {
        let registry = Registry::from_toml(&snapshot.document, ".")?;
        Ok(Self {
            registry,
            recipients: parse_certificates(&snapshot.certificates),
            certificates: snapshot.certificates,
            origin: RegistryOrigin::Imported {
                id: snapshot.id,
                imported_at: snapshot.imported_at,
                source: snapshot.source,
            },
        })
    }

    /// From a data file; certificates are read from the files it names
    /// (a court whose file is missing simply has none: its filings stop
    /// before encryption).
    pub fn from_file(path: &Path) -> Result<Self, CourtsError> {
        let registry = Registry::load(path)?;
        let certificates = read_certificates(&registry);
        Ok(Self {
            registry,
            recipients: parse_certificates(&certificates),
            certificates,
            origin: RegistryOrigin::File {
                path: path.display().to_string(),
            },
        })
    }

    /// The encryption certificate of `code`, if the registry has one.
    pub fn court_cert(&self, code: &CourtCode) -> Option<CourtRecipientCert> {
        self.recipients.get(code.as_str()).cloned()
    }

    /// The import id, if imported.
    fn import_id(&self) -> Option<i64> {
        match self.origin {
            RegistryOrigin::Imported { id, .. } => Some(id),
            RegistryOrigin::File { .. } => None,
        }
    }
}

/// Parses each court's PEM certificate; one that does not parse is left out
/// (its court's filings stop before encryption, as with no certificate).
fn parse_certificates(pems: &BTreeMap<String, String>) -> BTreeMap<String, CourtRecipientCert> {
    pems.iter()
        .filter_map(|(code, pem)| {
            let cert = CourtRecipientCert::from_pem(pem.as_bytes()).ok()?;
            Some((code.clone(), cert))
        })
        .collect()
}

/// Reads the PEM certificate file of every court that names one.
pub fn read_certificates(registry: &Registry) -> BTreeMap<String, String> {
    registry
        .courts()
        .filter_map(|court| {
            let path = court.encryption_cert.as_ref()?;
            let pem = std::fs::read_to_string(path).ok()?;
            Some((court.code.as_str().to_owned(), pem))
        })
        .collect()
}

/// The registry in force, shared by routes and workers.
#[derive(Clone, Debug)]
pub struct Courts {
    current: Arc<RwLock<Arc<CourtDirectory>>>,
}

impl Courts {
    /// Loads the newest import from `store`, else the data file at `fallback`.
    pub async fn load<S: RegistryStore>(store: &S, fallback: &Path) -> Result<Self, CourtsError> {
        let directory = match store.latest_registry().await? {
            Some(snapshot) => CourtDirectory::from_snapshot(snapshot)?,
            None => CourtDirectory::from_file(fallback)?,
        };
        Ok(Self {
            current: Arc::new(RwLock::new(Arc::new(directory))),
        })
    }

    /// A fixed registry (for `ponte map`).
    pub fn from_directory(directory: CourtDirectory) -> Self {
        Self {
            current: Arc::new(RwLock::new(Arc::new(directory))),
        }
    }

    /// The registry in force now.
    pub fn current(&self) -> Arc<CourtDirectory> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Switches to a newer import if there is one. An import that no longer
    /// parses (it was checked when imported) keeps the registry in force and
    /// is reported.
    pub async fn refresh<S: RegistryStore>(&self, store: &S) -> Result<bool, CourtsError> {
        let newest = store.latest_registry_id().await?;
        if newest.is_none() || newest == self.current().import_id() {
            return Ok(false);
        }
        let Some(snapshot) = store.latest_registry().await? else {
            return Ok(false);
        };
        let directory = CourtDirectory::from_snapshot(snapshot)?;
        let mut guard = match self.current.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(directory);
        Ok(true)
    }
}
