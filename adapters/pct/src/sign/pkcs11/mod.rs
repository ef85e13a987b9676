//! [`Pkcs11Signer`]: CAdES-BES with a key that never leaves a PKCS#11 token
//! (smart card, HSM, SoftHSM2 in tests), named by a `pkcs11:` URI.
//!
//! The token's module (`.so`) is loaded at run time with the `cryptoki`
//! crate; nothing is needed at build time. Only the private-key operation
//! happens on the token; the SignedData is written by the same code as for
//! [`super::FileSigner`].

mod uri;

use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{
    Attribute, AttributeType, CertificateType, KeyType, ObjectClass, ObjectHandle,
};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use openssl::x509::X509;

pub use uri::{Pkcs11Uri, UriProblem};

use super::cades::{self, CadesSigner, Scheme};
use super::material::SignerCert;
use super::{SignError, Signer};

/// `DigestInfo` prefix for SHA-256 (RFC 8017 §9.2 note 1), for tokens that
/// only offer raw `CKM_RSA_PKCS`.
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// Signs on a PKCS#11 token.
///
/// One logged-in session is kept open and used by one signature at a time
/// (PKCS#11 sessions are not thread-safe); signatures are serialised, as a
/// smart card would anyway.
pub struct Pkcs11Signer {
    session: Mutex<Session>,
    key: ObjectHandle,
    operation: Operation,
    scheme: Scheme,
    cert_der: Vec<u8>,
    chain_der: Vec<Vec<u8>>,
}

/// Which mechanism the token is driven with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    /// `CKM_SHA256_RSA_PKCS`: the token hashes.
    RsaSha256,
    /// `CKM_RSA_PKCS` over a DigestInfo we build (many smart cards).
    RsaRawDigestInfo,
    /// `CKM_ECDSA` over a SHA-256 hash we compute; returns `r || s`.
    EcdsaPrehashed,
}

/// The kind of token object that was looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pkcs11Object {
    /// A token (slot) matching the URI.
    Token,
    /// A private key matching the URI.
    PrivateKey,
    /// An X.509 certificate with the key's id or label.
    Certificate,
}

// === impl Pkcs11Signer ===

impl Pkcs11Signer {
    /// Opens the key named by `uri` and takes the signer certificate from the
    /// token (the X.509 object with the key's `CKA_ID`, or else its label).
    ///
    /// The module comes from the URI's `module-path`. `pin` is the user PIN;
    /// if `None`, the URI's `pin-value` is used, and failing that the token
    /// is logged in without a PIN (PIN pad / protected authentication path).
    pub fn open(uri: &str, pin: Option<&str>) -> Result<Self, SignError> {
        Self::open_inner(uri, pin, None)
    }

    /// Like [`Pkcs11Signer::open`], for tokens that do not hold the
    /// certificate: `cert` is given and must match the key.
    pub fn open_with_certificate(
        uri: &str,
        pin: Option<&str>,
        cert: &SignerCert,
    ) -> Result<Self, SignError> {
        Self::open_inner(uri, pin, Some(cert))
    }

    /// Adds intermediate CA certificates to embed next to the signer's.
    pub fn with_chain(mut self, chain: &[SignerCert]) -> Self {
        self.chain_der = chain.iter().map(|c| c.as_der().to_vec()).collect();
        self
    }

    /// The signer certificate.
    pub fn certificate(&self) -> Result<SignerCert, SignError> {
        SignerCert::from_der(&self.cert_der)
    }

    fn open_inner(
        uri: &str,
        pin: Option<&str>,
        cert: Option<&SignerCert>,
    ) -> Result<Self, SignError> {
        let uri = Pkcs11Uri::parse(uri).map_err(SignError::Pkcs11Uri)?;
        let module = uri
            .module_path
            .as_deref()
            .ok_or(SignError::Pkcs11ModuleMissing)?;
        let ctx = context(module)?;
        let slot = find_slot(&ctx, &uri)?;
        let session = ctx.open_ro_session(slot).map_err(SignError::Pkcs11)?;

        let pin = pin.or(uri.pin_value.as_deref());
        let login_required = ctx
            .get_token_info(slot)
            .map_err(SignError::Pkcs11)?
            .login_required();
        if login_required {
            let pin = pin.map(|p| AuthPin::from(p.to_owned()));
            match session.login(UserType::User, pin.as_ref()) {
                Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
                Err(err) => return Err(SignError::Pkcs11Login(err)),
            }
        }

        let key = find_one(&session, key_template(&uri), Pkcs11Object::PrivateKey)?;
        let key_attrs = session
            .get_attributes(
                key,
                &[
                    AttributeType::KeyType,
                    AttributeType::Id,
                    AttributeType::Label,
                ],
            )
            .map_err(SignError::Pkcs11)?;
        let mut key_type = None;
        let mut key_id = None;
        let mut key_label = None;
        for attr in key_attrs {
            match attr {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::Id(id) if !id.is_empty() => key_id = Some(id),
                Attribute::Label(label) if !label.is_empty() => key_label = Some(label),
                _ => {}
            }
        }
        let mechanisms = ctx.get_mechanism_list(slot).map_err(SignError::Pkcs11)?;
        let (scheme, operation) = match key_type {
            Some(KeyType::RSA) if mechanisms.contains(&MechanismType::SHA256_RSA_PKCS) => {
                (Scheme::RsaPkcs1Sha256, Operation::RsaSha256)
            }
            Some(KeyType::RSA) if mechanisms.contains(&MechanismType::RSA_PKCS) => {
                (Scheme::RsaPkcs1Sha256, Operation::RsaRawDigestInfo)
            }
            Some(KeyType::EC) if mechanisms.contains(&MechanismType::ECDSA) => {
                (Scheme::EcdsaSha256, Operation::EcdsaPrehashed)
            }
            _ => return Err(SignError::UnsupportedKey),
        };

        let cert_der = match cert {
            Some(cert) => cert.as_der().to_vec(),
            None => token_certificate(&session, key_id.as_deref(), key_label.as_deref())?,
        };
        let x509 = X509::from_der(&cert_der).map_err(SignError::InvalidCertificate)?;
        check_rsa_match(&session, key, &x509)?;

        Ok(Self {
            session: Mutex::new(session),
            key,
            operation,
            scheme,
            cert_der,
            chain_der: Vec::new(),
        })
    }

    fn raw_sign(&self, to_be_signed: &[u8]) -> Result<Vec<u8>, SignError> {
        // A panic elsewhere cannot leave the session half-used: every call
        // below is one complete C_SignInit/C_Sign pair.
        let session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        match self.operation {
            Operation::RsaSha256 => session
                .sign(&Mechanism::Sha256RsaPkcs, self.key, to_be_signed)
                .map_err(SignError::Pkcs11),
            Operation::RsaRawDigestInfo => {
                let mut info = SHA256_DIGEST_INFO.to_vec();
                info.extend_from_slice(&openssl::sha::sha256(to_be_signed));
                session
                    .sign(&Mechanism::RsaPkcs, self.key, &info)
                    .map_err(SignError::Pkcs11)
            }
            Operation::EcdsaPrehashed => {
                let hash = openssl::sha::sha256(to_be_signed);
                let raw = session
                    .sign(&Mechanism::Ecdsa, self.key, &hash)
                    .map_err(SignError::Pkcs11)?;
                ecdsa_raw_to_der(&raw)
            }
        }
    }
}

impl Signer for Pkcs11Signer {
    fn sign_cades(&self, content: &[u8]) -> Result<Vec<u8>, SignError> {
        let signer = CadesSigner {
            cert_der: &self.cert_der,
            chain: &self.chain_der,
            scheme: self.scheme,
        };
        cades::sign_attached(content, &signer, SystemTime::now(), |tbs| {
            self.raw_sign(tbs)
        })
    }
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("operation", &self.operation)
            .field("chain", &self.chain_der.len())
            .finish_non_exhaustive()
    }
}

// === impl Pkcs11Object ===

impl std::fmt::Display for Pkcs11Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Token => "token",
            Self::PrivateKey => "private key",
            Self::Certificate => "certificate",
        })
    }
}

/// Loads and initialises the module. Initialising a module twice in one
/// process is harmless (`CKR_CRYPTOKI_ALREADY_INITIALIZED`), and contexts are
/// never finalised, so signers on the same module do not disturb each other.
fn context(module: &Path) -> Result<Pkcs11, SignError> {
    let ctx = Pkcs11::new(module).map_err(SignError::Pkcs11)?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(ctx),
        Err(err) => Err(SignError::Pkcs11(err)),
    }
}

fn find_slot(ctx: &Pkcs11, uri: &Pkcs11Uri) -> Result<Slot, SignError> {
    let mut found = None;
    for slot in ctx.get_slots_with_token().map_err(SignError::Pkcs11)? {
        if uri.slot_id.is_some_and(|id| id != slot.id()) {
            continue;
        }
        let info = ctx.get_token_info(slot).map_err(SignError::Pkcs11)?;
        let matches = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        if matches(&uri.token, info.label())
            && matches(&uri.manufacturer, info.manufacturer_id())
            && matches(&uri.model, info.model())
            && matches(&uri.serial, info.serial_number())
        {
            if found.is_some() {
                return Err(SignError::Pkcs11Ambiguous(Pkcs11Object::Token));
            }
            found = Some(slot);
        }
    }
    found.ok_or(SignError::Pkcs11NotFound(Pkcs11Object::Token))
}

fn key_template(uri: &Pkcs11Uri) -> Vec<Attribute> {
    let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
    if let Some(id) = &uri.id {
        template.push(Attribute::Id(id.clone()));
    }
    if let Some(label) = &uri.object {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    template
}

fn find_one(
    session: &Session,
    template: Vec<Attribute>,
    what: Pkcs11Object,
) -> Result<ObjectHandle, SignError> {
    let found = session.find_objects(&template).map_err(SignError::Pkcs11)?;
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(SignError::Pkcs11NotFound(what)),
        _ => Err(SignError::Pkcs11Ambiguous(what)),
    }
}

fn token_certificate(
    session: &Session,
    id: Option<&[u8]>,
    label: Option<&[u8]>,
) -> Result<Vec<u8>, SignError> {
    let base = vec![
        Attribute::Class(ObjectClass::CERTIFICATE),
        Attribute::CertificateType(CertificateType::X_509),
    ];
    let template = match (id, label) {
        (Some(id), _) => [base, vec![Attribute::Id(id.to_vec())]].concat(),
        (None, Some(label)) => [base, vec![Attribute::Label(label.to_vec())]].concat(),
        (None, None) => return Err(SignError::Pkcs11NotFound(Pkcs11Object::Certificate)),
    };
    let handle = find_one(session, template, Pkcs11Object::Certificate)?;
    session
        .get_attributes(handle, &[AttributeType::Value])
        .map_err(SignError::Pkcs11)?
        .into_iter()
        .find_map(|attr| match attr {
            Attribute::Value(der) => Some(der),
            _ => None,
        })
        .ok_or(SignError::Pkcs11NotFound(Pkcs11Object::Certificate))
}

/// For RSA keys, compares the token key's modulus with the certificate's.
/// Tokens that hide the modulus, and EC keys, are not checked here; a
/// mismatch then shows as a signature that does not verify.
fn check_rsa_match(session: &Session, key: ObjectHandle, cert: &X509) -> Result<(), SignError> {
    let Ok(public) = cert.public_key().and_then(|k| k.rsa()) else {
        return Ok(());
    };
    let attrs = session
        .get_attributes(key, &[AttributeType::Modulus])
        .map_err(SignError::Pkcs11)?;
    for attr in attrs {
        if let Attribute::Modulus(modulus) = attr {
            let strip =
                |b: &[u8]| -> Vec<u8> { b.iter().copied().skip_while(|&x| x == 0).collect() };
            if strip(&modulus) != strip(&public.n().to_vec()) {
                return Err(SignError::KeyCertMismatch);
            }
        }
    }
    Ok(())
}

/// PKCS#11 ECDSA gives `r || s`; CMS carries `Ecdsa-Sig-Value` in DER.
fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, SignError> {
    let (r, s) = raw.split_at(raw.len() / 2);
    let r = openssl::bn::BigNum::from_slice(r).map_err(SignError::Crypto)?;
    let s = openssl::bn::BigNum::from_slice(s).map_err(SignError::Crypto)?;
    openssl::ecdsa::EcdsaSig::from_private_components(r, s)
        .and_then(|sig| sig.to_der())
        .map_err(SignError::Crypto)
}
