//! Starting and stopping `ponte serve` for a test.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The freshly built `ponte` binary.
pub fn ponte_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // Build it, so the tests never run a stale binary.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            // The same package selection and features as scripts/test.sh's
            // `cargo test --workspace --all-features`, so this is a no-op
            // there instead of a rebuild with other features.
            .args([
                "build",
                "-q",
                "--workspace",
                "--all-features",
                "--bin",
                "ponte",
            ])
            .current_dir(workspace_root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building ponte failed");
        let exe = std::env::current_exe().unwrap();
        // target/<profile>/deps/it-… → target/<profile>/ponte
        exe.parent().unwrap().parent().unwrap().join("ponte")
    })
}

/// The repository root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs `command`, which must succeed; returns its stdout.
pub fn run(command: &mut Command) -> Vec<u8> {
    let out = command.output().expect("tool runs");
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The Python of the independent checkers: the virtual environment that
/// `scripts/install-deps.sh test` prepares, else the system's `python3`.
pub fn python() -> PathBuf {
    let venv = workspace_root().join(".venv-interop/bin/python");
    if venv.is_file() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// A development PKI made once per test run with `ponte certs dev`.
pub fn dev_pki() -> &'static Path {
    static PKI: OnceLock<tempfile::TempDir> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("dev");
        let status = Command::new(ponte_bin())
            .args(["certs", "dev", "--out"])
            .arg(&out)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "ponte certs dev failed");
        dir
    })
    .path()
    .join("dev")
    .leak_path()
}

trait LeakPath {
    fn leak_path(self) -> &'static Path;
}

impl LeakPath for PathBuf {
    fn leak_path(self) -> &'static Path {
        Box::leak(self.into_boxed_path())
    }
}

/// Options for a test server.
#[derive(Clone, Debug)]
pub struct Options {
    /// CRL files (default: the dev CA's empty CRL).
    pub crls: Vec<PathBuf>,
    /// `server.header_read_timeout`.
    pub header_read_timeout: &'static str,
    /// `server.fhir_body_limit`.
    pub fhir_body_limit: &'static str,
    /// `evidence.checkpoint_entries`.
    pub checkpoint_entries: u64,
    /// `evidence.tsa_url`.
    pub tsa_url: Option<String>,
    /// More TOML appended to the configuration (agencies, rules).
    pub extra: &'static str,
    /// Reuse this working folder (config, data) instead of a fresh one.
    pub dir: Option<std::sync::Arc<tempfile::TempDir>>,
    /// A `[pec]` section (TOML), to deposit through real servers.
    pub pec: Option<String>,
    /// Replace every court's PEC deposit address in the registry.
    pub court_pec: Option<String>,
    /// Environment variables for the server.
    pub env: Vec<(String, String)>,
    /// `production` (default) or `development`.
    pub mode: &'static str,
    /// Run the filing pipeline (default); off for tests that look at
    /// Tasks as intake left them.
    pub pipeline: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            crls: vec![dev_pki().join("ca.crl.pem")],
            header_read_timeout: "10s",
            fhir_body_limit: "64MiB",
            checkpoint_entries: 10_000,
            tsa_url: None,
            extra: "",
            dir: None,
            pec: None,
            court_pec: None,
            env: Vec::new(),
            mode: "production",
            pipeline: true,
        }
    }
}

/// `[pct]`, `[signer]` and `[office]` for a test server: the repository's
/// schemas and mapping files, the development registry with its courts'
/// certificate pointed at the test PKI, the test PKI's signer.
pub fn pipeline_config(dir: &Path, court_pec: Option<&str>, enabled: bool) -> String {
    let pki = dev_pki();
    let root = workspace_root();
    let registry = registry_for_test_pki(dir, court_pec);
    format!(
        r#"
[pct]
enabled = {enabled}
schemas = "{schemas}"
mappings = "{mappings}"
registry = "{registry}"
poll_interval = "100ms"
retry_backoff = "1s"
[signer]
cert = "{pki}/signer.pem"
key = "{pki}/signer.key"
[office]
name = "Ufficio di Prossimità di Genova (test)"
codice_fiscale = "00856930102"
town = "Genova"
pec_address = "ufficio@pec.ponte.test"
address = {{ street = "Via Garibaldi", number = "9", postcode = "16124", town = "Genova", province = "GE", country = "IT" }}
officers = [{{ surname = "Rossi", given_name = "Maria", codice_fiscale = "RSSMRA80C55D969V" }}]
"#,
        enabled = enabled,
        schemas = shared_dir().join("pct-xsd").display(),
        mappings = root.join("mappings/files").display(),
        registry = registry.display(),
        pki = pki.display(),
    )
}

/// `../shared` beside the repository.
pub fn shared_dir() -> PathBuf {
    workspace_root().join("../shared")
}

/// The development registry, with every court's encryption certificate
/// pointed at the test PKI's court certificate; written into `dir`.
pub fn registry_for_test_pki(dir: &Path, court_pec: Option<&str>) -> PathBuf {
    let text =
        std::fs::read_to_string(workspace_root().join("adapters/registry/data/dev-registry.toml"))
            .unwrap();
    let cert = dev_pki().join("court-encryption.pem");
    let text = text.replace(
        "\"../../../certs/dev/court-encryption.pem\"",
        &format!("{:?}", cert.display().to_string()),
    );
    assert!(
        text.contains(&cert.display().to_string()),
        "registry cert path changed"
    );
    let text = match court_pec {
        Some(address) => text
            .lines()
            .map(|line| {
                if line.starts_with("pec_deposit = ") {
                    format!("pec_deposit = {address:?}")
                } else {
                    line.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n"),
        None => text,
    };
    let path = dir.join("registry.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A running `ponte serve`, killed on drop.
pub struct Server {
    child: Child,
    /// HTTPS address.
    pub https: SocketAddr,
    /// Admin address.
    pub admin: SocketAddr,
    /// Its working folder (config, data).
    pub dir: std::sync::Arc<tempfile::TempDir>,
}

impl Server {
    /// Starts a server with the dev PKI and the given options.
    pub fn start(options: Options) -> Server {
        let dir = options
            .dir
            .clone()
            .unwrap_or_else(|| std::sync::Arc::new(tempfile::tempdir().unwrap()));
        let pki = dev_pki();
        let embedded = std::fs::read_to_string(workspace_root().join("config/ponte.toml")).unwrap();
        // Keep the development agencies and access rules; point everything
        // else at this test's files.
        let rules = &embedded[embedded.find("[[agencies]]").unwrap()..];
        let crls: Vec<String> = options
            .crls
            .iter()
            .map(|p| format!("{:?}", p.display().to_string()))
            .collect();
        let config = format!(
            r#"mode = "{mode}"
[server]
listen = "127.0.0.1:0"
header_read_timeout = "{hrt}"
fhir_body_limit = "{fbl}"
[tls]
cert = "{pki}/server.pem"
key = "{pki}/server.key"
client_cas = ["{pki}/ca.pem"]
crls = [{crls}]
[admin]
listen = "127.0.0.1:0"
[store]
url = "sqlite:{data}/ponte.db"
[dev_pki]
auto_create = false
[evidence]
origin = "ponte.test/evidence"
key = "{pki}/log-key.pem"
checkpoint_entries = {cpe}
{tsa}
{extra}
{rules}"#,
            extra = options.extra,
            mode = options.mode,
            cpe = options.checkpoint_entries,
            tsa = options
                .tsa_url
                .as_ref()
                .map(|u| format!("tsa_url = {u:?}"))
                .unwrap_or_default(),
            hrt = options.header_read_timeout,
            fbl = options.fhir_body_limit,
            pki = pki.display(),
            crls = crls.join(", "),
            data = dir.path().join("data").display(),
        );
        let config = format!(
            "{config}\n{}\n{}",
            pipeline_config(dir.path(), options.court_pec.as_deref(), options.pipeline),
            options.pec.as_deref().unwrap_or_default()
        );
        let config_path = dir.path().join("ponte.toml");
        std::fs::write(&config_path, config).unwrap();
        let mut command = Command::new(ponte_bin());
        command
            .args(["serve", "--config"])
            .arg(&config_path)
            .current_dir(dir.path());
        Self::spawn_with(command, dir, &options.env)
    }

    /// Spawns a prepared `ponte serve` command and waits for its listeners.
    pub fn spawn(command: Command, dir: std::sync::Arc<tempfile::TempDir>) -> Server {
        Self::spawn_with(command, dir, &[])
    }

    /// [`Server::spawn`] with environment variables set for the server.
    pub fn spawn_with(
        mut command: Command,
        dir: std::sync::Arc<tempfile::TempDir>,
        env: &[(String, String)],
    ) -> Server {
        for (key, _) in std::env::vars() {
            if key.starts_with("PONTE_") {
                command.env_remove(key);
            }
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("ponte listening") {
                    let _ = tx.send(line);
                }
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("ponte serve announced its listeners");
        let field = |name: &str| -> SocketAddr {
            line.split_whitespace()
                .find_map(|f| f.strip_prefix(&format!("{name}=")))
                .unwrap()
                .parse()
                .unwrap()
        };
        Server {
            https: field("https"),
            admin: field("admin"),
            child,
            dir,
        }
    }

    /// Stops the server with SIGTERM (graceful: final checkpoint) and waits.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    /// Kills the server with SIGKILL: no chance to clean up.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The store file.
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("data/ponte.db")
    }

    /// GET on the admin listener: (status, body).
    pub fn admin_get(&self, path: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(self.admin).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let status = raw[9..12].parse().unwrap();
        let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        (status, dechunk(body))
    }

    /// Waits until `f` holds, polling for up to 10 s.
    pub fn eventually(&self, what: &str, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if f() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("timed out waiting for {what}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dechunk(body: &str) -> String {
    // axum's admin answers with Content-Length; chunked only for streams.
    body.to_owned()
}

/// A metric's value in Prometheus text, summed over series whose labels
/// include every `label=value` pair given.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
