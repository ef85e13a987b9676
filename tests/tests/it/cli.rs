//! The command line: a clean start on embedded defaults, config checking.

use std::process::Command;

use super::harness::{Server, ponte_bin};

#[test]
fn serve_on_a_clean_checkout_creates_pki_and_store_and_answers_curl() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(ponte_bin());
    command
        .arg("serve")
        .current_dir(dir.path())
        .env("PONTE_SERVER__LISTEN", "127.0.0.1:0")
        .env("PONTE_ADMIN__LISTEN", "127.0.0.1:0");
    // `spawn` clears inherited PONTE_ variables first; set ours after.
    let root = dir.path().to_path_buf();
    let server = Server::spawn(command, std::sync::Arc::new(dir));
    for file in [
        "ca.pem",
        "ca.crl.pem",
        "server.pem",
        "client-upp-genova.pem",
        "signer.pem",
    ] {
        assert!(root.join("certs/dev").join(file).is_file(), "{file}");
    }
    assert!(root.join("data/ponte.db").is_file());
    let pki = root.join("certs/dev");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(pki.join("ca.pem"))
        .arg("--cert")
        .arg(pki.join("client-upp-genova.pem"))
        .arg("--key")
        .arg(pki.join("client-upp-genova.key"))
        .arg(format!("https://localhost:{}/whoami", server.https.port()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["agency"], "upp-genova");
    assert_eq!(body["roles"][0], "office");
}

#[test]
fn check_config_explains_every_error_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"
mode = "production"
colour = "blue"
[server]
listen = "not an address"
[tls]
cert = "x.pem"
key = "x.key"
client_cas = []
[store]
url = "mysql://db"
"#,
    )
    .unwrap();
    let out = Command::new(ponte_bin())
        .args(["serve", "--check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    for key in ["colour: unknown key", "server.listen:"] {
        assert!(err.contains(key), "{key} missing in:\n{err}");
    }

    // Once the syntax is right, the semantic rules report together.
    std::fs::write(
        &path,
        r#"
mode = "production"
[tls]
cert = "x.pem"
key = "x.key"
client_cas = []
[store]
url = "mysql://db"
"#,
    )
    .unwrap();
    let out = Command::new(ponte_bin())
        .args(["serve", "--check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for key in ["store.url:", "tls.client_cas:", "dev_pki.auto_create:"] {
        assert!(err.contains(key), "{key} missing in:\n{err}");
    }
}

#[test]
fn check_config_requires_the_pec_providers_cas_to_verify_receipts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ponte.toml");
    let not_pem = dir.path().join("providers.pem");
    std::fs::write(&not_pem, "not a certificate").unwrap();
    let check = |imap_extra: &str| {
        // The shipped configuration (which passes) with a [pec] that
        // deposits and reads receipts.
        let shipped =
            std::fs::read_to_string(super::harness::workspace_root().join("config/ponte.toml"))
                .unwrap();
        std::fs::write(
            &path,
            format!(
                r#"{shipped}
[pec]
smtp = {{ host = "smtp.pec.test", port = 587, security = "starttls", username = "u", password_env = "XP_SMTP_PASSWORD" }}
imap = {{ host = "imap.pec.test", port = 993, username = "u", password_env = "XP_IMAP_PASSWORD"{imap_extra} }}
"#
            ),
        )
        .unwrap();
        let out = Command::new(ponte_bin())
            .args(["serve", "--check-config", "--config"])
            .arg(&path)
            .env("XP_SMTP_PASSWORD", "x")
            .env("XP_IMAP_PASSWORD", "x")
            .current_dir(dir.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, err, _) = check("");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("pec.imap.provider_ca_file: missing while pec.imap.provider_signatures"),
        "{err}"
    );
    let (code, err, _) = check(&format!(", provider_ca_file = \"{}\"", not_pem.display()));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("pec.imap.provider_ca_file:"), "{err}");
    // A CRL file that holds no CRL, next to a good CA file.
    let ca = super::harness::dev_pki().join("ca.pem");
    let (code, err, _) = check(&format!(
        ", provider_ca_file = \"{}\", provider_crl_file = \"{}\"",
        ca.display(),
        not_pem.display()
    ));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("pec.imap.provider_crl_file:"), "{err}");
    assert!(!err.contains("pec.imap.provider_ca_file:"), "{err}");
    let (code, err, out) = check(", provider_signatures = \"record\"");
    assert!(!err.contains("provider_ca_file"), "{err}");
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("provider_signatures = \"record\""), "{out}");
}

#[test]
fn check_config_accepts_the_shipped_configuration() {
    let out = Command::new(ponte_bin())
        .args(["serve", "--check-config", "--config"])
        .arg(super::harness::workspace_root().join("config/ponte.toml"))
        .current_dir(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("configuration OK"));
}

#[test]
fn check_config_says_what_retention_will_do() {
    let check = |env: &[(&str, &str)]| {
        let out = Command::new(ponte_bin())
            .args(["serve", "--check-config", "--config"])
            .arg(super::harness::workspace_root().join("config/ponte.toml"))
            .envs(env.iter().copied())
            .current_dir(tempfile::tempdir().unwrap().path())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = check(&[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("retention.content_days is not set") && out.contains("kept without limit"),
        "{out}"
    );
    let (code, out, err) = check(&[
        ("PONTE_RETENTION__CONTENT_DAYS", "30"),
        ("PONTE_RETENTION__INTERVAL", "15m"),
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("purged 30 day(s) after it is finished, checked every 15m"),
        "{out}"
    );
    for (key, value, says) in [
        (
            "PONTE_RETENTION__INTERVAL",
            "0s",
            "retention.interval: must not be zero",
        ),
        ("PONTE_RETENTION__CONTENT_DAYS", "-1", "retention"),
        ("PONTE_RETENTION__FOREVER", "true", "retention"),
    ] {
        let (code, _, err) = check(&[(key, value)]);
        assert_eq!(code, Some(2), "{key}={value}: {err}");
        assert!(err.contains(says), "{key}={value}: {err}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = Command::new(ponte_bin())
        .arg("frobnicate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(ponte_bin()).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("serve"));
}
