//! The filing signer chosen in `[signer]`: a key file (PEM/DER pair or
//! PKCS#12) or a PKCS#11 token.

use std::sync::Arc;

use anyhow::{Context, bail};
use ponte_pct::sign::{FileSigner, Pkcs11Signer, Signer};

use crate::config::SignerConfig;

/// Opens the configured signer. Secrets (PKCS#12 password, token PIN) come
/// from the environment variable named by `secret_env`, never the file.
pub fn open(config: &SignerConfig) -> anyhow::Result<Arc<dyn Signer>> {
    let secret = match &config.secret_env {
        Some(var) => Some(std::env::var(var).with_context(|| {
            format!("signer.secret_env: environment variable {var} is not set")
        })?),
        None => None,
    };
    if let Some(uri) = &config.pkcs11 {
        let signer = Pkcs11Signer::open(uri, secret.as_deref())
            .context("signer.pkcs11: cannot open the token")?;
        return Ok(Arc::new(signer));
    }
    if let Some(path) = &config.pkcs12 {
        let der = std::fs::read(path)
            .with_context(|| format!("signer.pkcs12: reading {}", path.display()))?;
        let signer = FileSigner::from_pkcs12(&der, secret.as_deref().unwrap_or(""))
            .context("signer.pkcs12: cannot read the key and certificate")?;
        return Ok(Arc::new(signer));
    }
    let (Some(cert), Some(key)) = (&config.cert, &config.key) else {
        bail!("[signer]: give cert and key, pkcs12, or pkcs11");
    };
    let cert_bytes =
        std::fs::read(cert).with_context(|| format!("signer.cert: reading {}", cert.display()))?;
    let key_bytes =
        std::fs::read(key).with_context(|| format!("signer.key: reading {}", key.display()))?;
    let signer = FileSigner::from_key_and_cert(&key_bytes, &cert_bytes)
        .context("signer: the key and certificate do not form a signer")?;
    Ok(Arc::new(signer))
}
