//! PKCS#11 URIs (RFC 7512), the subset a signer needs.

use std::path::PathBuf;

/// A parsed `pkcs11:` URI naming a private key on a token.
///
/// Path attributes understood: `token`, `manufacturer`, `model`, `serial`,
/// `slot-id` (which token), `object`, `id`, `type` (which key; `type` must be
/// `private` if given). Query attributes: `pin-value`, `module-path`. Any
/// other attribute is refused rather than ignored, so a URI never silently
/// matches more than it says.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// The token label (`token=`).
    pub token: Option<String>,
    /// The token manufacturer (`manufacturer=`).
    pub manufacturer: Option<String>,
    /// The token model (`model=`).
    pub model: Option<String>,
    /// The token serial number (`serial=`).
    pub serial: Option<String>,
    /// The slot id (`slot-id=`).
    pub slot_id: Option<u64>,
    /// The key's label, `CKA_LABEL` (`object=`).
    pub object: Option<String>,
    /// The key's id, `CKA_ID` (`id=`, percent-encoded bytes).
    pub id: Option<Vec<u8>>,
    /// The user PIN (`pin-value=`); prefer passing the PIN separately.
    pub pin_value: Option<String>,
    /// The PKCS#11 module to load (`module-path=`).
    pub module_path: Option<PathBuf>,
}

/// What is wrong with a PKCS#11 URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UriProblem {
    /// It does not start with `pkcs11:`.
    Scheme,
    /// An attribute is not `name=value`, or a value is badly percent-encoded.
    Syntax,
    /// An attribute this signer does not support (e.g. `pin-source`).
    Unsupported,
    /// An attribute appears twice.
    Repeated,
    /// `type=` names something other than a private key.
    NotPrivateKey,
}

// === impl Pkcs11Uri ===

impl Pkcs11Uri {
    /// Parses a `pkcs11:` URI.
    pub fn parse(uri: &str) -> Result<Self, UriProblem> {
        let rest = uri.strip_prefix("pkcs11:").ok_or(UriProblem::Scheme)?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut out = Self::default();
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (name, value) = attr.split_once('=').ok_or(UriProblem::Syntax)?;
            let value = percent_decode(value)?;
            match name {
                "token" => set(&mut out.token, utf8(value)?)?,
                "manufacturer" => set(&mut out.manufacturer, utf8(value)?)?,
                "model" => set(&mut out.model, utf8(value)?)?,
                "serial" => set(&mut out.serial, utf8(value)?)?,
                "slot-id" => {
                    let id = utf8(value)?.parse().map_err(|_| UriProblem::Syntax)?;
                    set(&mut out.slot_id, id)?;
                }
                "object" => set(&mut out.object, utf8(value)?)?,
                "id" => set(&mut out.id, value)?,
                "type" => {
                    if value != b"private" {
                        return Err(UriProblem::NotPrivateKey);
                    }
                }
                _ => return Err(UriProblem::Unsupported),
            }
        }
        for attr in query.split('&').filter(|a| !a.is_empty()) {
            let (name, value) = attr.split_once('=').ok_or(UriProblem::Syntax)?;
            let value = utf8(percent_decode(value)?)?;
            match name {
                "pin-value" => set(&mut out.pin_value, value)?,
                "module-path" => set(&mut out.module_path, PathBuf::from(value))?,
                _ => return Err(UriProblem::Unsupported),
            }
        }
        Ok(out)
    }
}

impl std::fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Uri")
            .field("token", &self.token)
            .field("manufacturer", &self.manufacturer)
            .field("model", &self.model)
            .field("serial", &self.serial)
            .field("slot_id", &self.slot_id)
            .field("object", &self.object)
            .field("id", &self.id)
            .field("pin_value", &self.pin_value.as_ref().map(|_| "<redacted>"))
            .field("module_path", &self.module_path)
            .finish()
    }
}

// === impl UriProblem ===

impl std::fmt::Display for UriProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Scheme => "not a pkcs11: uri",
            Self::Syntax => "malformed attribute",
            Self::Unsupported => "unsupported attribute",
            Self::Repeated => "repeated attribute",
            Self::NotPrivateKey => "type is not private",
        })
    }
}

fn set<T>(slot: &mut Option<T>, value: T) -> Result<(), UriProblem> {
    if slot.is_some() {
        return Err(UriProblem::Repeated);
    }
    *slot = Some(value);
    Ok(())
}

fn utf8(bytes: Vec<u8>) -> Result<String, UriProblem> {
    String::from_utf8(bytes).map_err(|_| UriProblem::Syntax)
}

fn percent_decode(s: &str) -> Result<Vec<u8>, UriProblem> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(UriProblem::Syntax)?;
            let hex = std::str::from_utf8(hex).map_err(|_| UriProblem::Syntax)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| UriProblem::Syntax)?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_uri() {
        let uri = Pkcs11Uri::parse(
            "pkcs11:token=Ponte%20firma;object=firma;id=%01%02;type=private\
             ?pin-value=1234&module-path=/usr/lib/softhsm/libsofthsm2.so",
        )
        .unwrap();
        assert_eq!(uri.token.as_deref(), Some("Ponte firma"));
        assert_eq!(uri.object.as_deref(), Some("firma"));
        assert_eq!(uri.id.as_deref(), Some(&[1u8, 2][..]));
        assert_eq!(uri.pin_value.as_deref(), Some("1234"));
        assert_eq!(
            uri.module_path.as_deref(),
            Some(std::path::Path::new("/usr/lib/softhsm/libsofthsm2.so"))
        );
        assert!(!format!("{uri:?}").contains("1234"));
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        assert_eq!(Pkcs11Uri::parse("file:x"), Err(UriProblem::Scheme));
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:token=a;token=b"),
            Err(UriProblem::Repeated)
        );
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:type=cert"),
            Err(UriProblem::NotPrivateKey)
        );
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:token=a?pin-source=file:/x"),
            Err(UriProblem::Unsupported)
        );
        assert_eq!(Pkcs11Uri::parse("pkcs11:id=%zz"), Err(UriProblem::Syntax));
        assert_eq!(Pkcs11Uri::parse("pkcs11:"), Ok(Pkcs11Uri::default()));
    }
}
