//! Reloading the mapping folder without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use crate::{LoadError, MappingSet};

/// How often [`Mappings::current`] looks at the folder, at most.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The mapping folder, reloaded when a `*.toml` file is added, removed or
/// changed.
///
/// [`Mappings::current`] compares the folder's file names, modification
/// times and lengths with those of the last look, at most once per check
/// interval (one second by default), and reloads on a difference. A folder
/// that no longer loads keeps the previous set in service; the error is
/// logged (file and rule only) and returned by [`Mappings::last_reload_error`]
/// until a later reload succeeds.
#[derive(Debug)]
pub struct Mappings {
    dir: PathBuf,
    interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    set: Arc<MappingSet>,
    fingerprint: Fingerprint,
    checked: Instant,
    error: Option<String>,
}

type Fingerprint = Vec<(PathBuf, Option<SystemTime>, u64)>;

fn fingerprint(dir: &Path) -> std::io::Result<Fingerprint> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let meta = std::fs::metadata(&path)?;
            out.push((path, meta.modified().ok(), meta.len()));
        }
    }
    out.sort();
    Ok(out)
}

impl Mappings {
    /// Loads the folder once ([`MappingSet::load`]).
    ///
    /// # Errors
    ///
    /// As [`MappingSet::load`]: at start-up a folder that does not load is an
    /// error, not a warning.
    pub fn open(dir: &Path) -> Result<Self, LoadError> {
        Self::open_with_interval(dir, CHECK_INTERVAL)
    }

    /// As [`Mappings::open`], looking at the folder at most once per
    /// `interval` (tests use a short one).
    ///
    /// # Errors
    ///
    /// As [`MappingSet::load`].
    pub fn open_with_interval(dir: &Path, interval: Duration) -> Result<Self, LoadError> {
        let io = |source| LoadError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let fingerprint = fingerprint(dir).map_err(io)?;
        let set = MappingSet::load(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            interval,
            state: Mutex::new(State {
                set: Arc::new(set),
                fingerprint,
                checked: Instant::now(),
                error: None,
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves a consistent State (every
        // field is replaced whole): keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The mapping set in service, after reloading the folder if it changed
    /// (looked at no more than once per interval).
    pub fn current(&self) -> Arc<MappingSet> {
        let mut state = self.state();
        if state.checked.elapsed() >= self.interval {
            self.check(&mut state);
        }
        Arc::clone(&state.set)
    }

    /// Looks at the folder now, whatever the interval, and reloads it if it
    /// changed.
    pub fn refresh(&self) -> Arc<MappingSet> {
        let mut state = self.state();
        self.check(&mut state);
        Arc::clone(&state.set)
    }

    /// Why the last reload failed, while the previous set is kept in
    /// service; `None` once a reload succeeds.
    pub fn last_reload_error(&self) -> Option<String> {
        self.state().error.clone()
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn check(&self, state: &mut State) {
        state.checked = Instant::now();
        let now = match fingerprint(&self.dir) {
            Ok(f) => f,
            Err(e) => {
                let message = format!("cannot read mapping folder {}: {e}", self.dir.display());
                tracing::warn!(error = %message, "mapping folder not reloaded; the previous mappings stay in service");
                state.error = Some(message);
                return;
            }
        };
        if now == state.fingerprint {
            return;
        }
        state.fingerprint = now;
        match MappingSet::load(&self.dir) {
            Ok(set) => {
                tracing::info!(
                    dir = %self.dir.display(),
                    files = set.files().count(),
                    "mapping folder reloaded"
                );
                state.set = Arc::new(set);
                state.error = None;
            }
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    code = e.code(),
                    "mapping folder does not load; the previous mappings stay in service"
                );
                state.error = Some(e.to_string());
            }
        }
    }
}
