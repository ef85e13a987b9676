//! The local Postfix + Dovecot of `scripts/pec-test-servers.sh`, shared by
//! the tests that talk to them: their connection details and the lock that
//! keeps those tests from answering each other's deposits.
#![cfg(feature = "it-pec")]

use std::collections::BTreeMap;
use std::path::PathBuf;

const HELP: &str = "run `scripts/pec-test-servers.sh` (as root) to start the local Postfix + \
                    Dovecot, or point PONTE_PEC_ENV at its env file";

/// The PEC mailboxes are shared: one test at a time talks to them.
pub async fn pec_lock() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// The connection details written by `scripts/pec-test-servers.sh` to its
/// env file (`PONTE_PEC_ENV`, else `/tmp/ponte-pec/env`).
pub struct PecEnv {
    /// The env file, for tools that read it themselves (`pec_sim.py`).
    pub file: PathBuf,
    vars: BTreeMap<String, String>,
}

impl PecEnv {
    /// Reads the env file and checks that the servers answer; fails (never
    /// skips) with instructions otherwise.
    pub fn load() -> Self {
        let file = PathBuf::from(
            std::env::var("PONTE_PEC_ENV").unwrap_or_else(|_| "/tmp/ponte-pec/env".into()),
        );
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
            panic!(
                "PEC test servers: cannot read {}: {e}; {HELP}",
                file.display()
            )
        });
        let env = Self {
            vars: parse(&text),
            file,
        };
        let host = env.get("PONTE_PEC_HOST");
        for k in ["PONTE_PEC_SUBMISSION_PORT", "PONTE_PEC_IMAPS_PORT"] {
            let port = env.port(k);
            std::net::TcpStream::connect((host.as_str(), port)).unwrap_or_else(|e| {
                panic!("PEC test servers: nothing answers on {host}:{port} ({e}); {HELP}")
            });
        }
        env
    }

    /// The value of `key`; the test fails if the file lacks it.
    pub fn get(&self, key: &str) -> String {
        self.vars.get(key).cloned().unwrap_or_else(|| {
            panic!(
                "PEC test servers: {key} missing in {}; {HELP}",
                self.file.display()
            )
        })
    }

    /// The port in `key`.
    pub fn port(&self, key: &str) -> u16 {
        self.get(key)
            .parse()
            .unwrap_or_else(|_| panic!("{key} is not a port"))
    }

    /// The mailbox account `who` (`OFFICE`, `COURT`, `PROVIDER`): (user,
    /// password).
    pub fn user(&self, who: &str) -> (String, String) {
        (
            self.get(&format!("PONTE_PEC_{who}_USER")),
            self.get(&format!("PONTE_PEC_{who}_PASSWORD")),
        )
    }
}

/// `KEY=value` lines; comments skipped, blanks and surrounding double
/// quotes trimmed.
fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
        .collect()
}
