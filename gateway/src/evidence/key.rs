//! The log key: an Ed25519 key that signs checkpoints and receipts, and its
//! public form for verifiers (a C2SP signed-note verifier key).

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};

use super::Error;

/// Signature algorithm byte of Ed25519 in signed notes.
const ALG_ED25519: u8 = 0x01;

/// The private log key with its note name.
pub struct LogKey {
    pair: Ed25519KeyPair,
    verifier: Verifier,
}

impl std::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogKey")
            .field("verifier", &self.verifier.to_vkey())
            .finish_non_exhaustive()
    }
}

impl LogKey {
    /// Loads a PKCS#8 PEM Ed25519 key (as written by `ponte certs dev` or
    /// `openssl genpkey -algorithm ed25519`); `name` is the log's origin.
    pub fn load(path: &Path, name: &str) -> Result<Self, Error> {
        let der = PrivateKeyDer::from_pem_file(path).map_err(|e| Error::Key(e.to_string()))?;
        let PrivateKeyDer::Pkcs8(der) = der else {
            return Err(Error::Key("the log key must be PKCS#8".into()));
        };
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der.secret_pkcs8_der())
            .map_err(|e| Error::Key(format!("not an Ed25519 key: {e}")))?;
        let mut public = [0u8; 32];
        public.copy_from_slice(pair.public_key().as_ref());
        Ok(Self {
            verifier: Verifier::new(name, public),
            pair,
        })
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.pair.sign(message).as_ref());
        out
    }

    /// The public side.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }
}

/// A public log key: note name, key id and Ed25519 public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    key_id: [u8; 4],
    public: [u8; 32],
}

impl Verifier {
    /// A verifier for `public` under `name`.
    pub fn new(name: &str, public: [u8; 32]) -> Self {
        let mut h = Sha256::new();
        h.update(name.as_bytes());
        h.update(b"\n");
        h.update([ALG_ED25519]);
        h.update(public);
        let digest = h.finalize();
        Self {
            name: name.to_owned(),
            key_id: [digest[0], digest[1], digest[2], digest[3]],
            public,
        }
    }

    /// Parses a verifier key `name+keyid+base64(0x01 ‖ public key)`.
    pub fn from_vkey(vkey: &str) -> Result<Self, Error> {
        let bad = || Error::Key("a verifier key reads name+hex8+base64".into());
        // The name cannot contain '+'; the base64 key data can.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let raw = STANDARD.decode(key).map_err(|_| bad())?;
        let [ALG_ED25519, rest @ ..] = raw.as_slice() else {
            return Err(bad());
        };
        let public: [u8; 32] = rest.try_into().map_err(|_| bad())?;
        let verifier = Self::new(name, public);
        if hex::encode(verifier.key_id) != id {
            return Err(Error::Key("verifier key id does not match the key".into()));
        }
        Ok(verifier)
    }

    /// The verifier key string.
    pub fn to_vkey(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(&self.public);
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id),
            STANDARD.encode(raw)
        )
    }

    /// Note name (the log origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Key id (first four bytes of the key hash).
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The raw Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public
    }

    /// Checks a signature.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.public)
            .verify(message, signature)
            .is_ok()
    }
}
