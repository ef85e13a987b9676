//! Validated PEC addresses and Message-IDs.

use std::fmt;

/// Longest address accepted (RFC 5321 path limit).
const MAX_ADDRESS_LEN: usize = 254;
/// Longest Message-ID accepted, without the angle brackets.
const MAX_MESSAGE_ID_LEN: usize = 250;

/// A value that is not a valid address or Message-ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Not `local@domain` with plain ASCII characters.
    #[error("not a valid e-mail address")]
    InvalidAddress,
    /// Not `<left@right>` with RFC 5322 `dot-atom-text` characters.
    #[error("not a valid Message-ID")]
    InvalidMessageId,
}

impl AddressError {
    /// A bounded snake_case code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidAddress => "address_invalid",
            Self::InvalidMessageId => "message_id_invalid",
        }
    }
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

fn is_dot_atom(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && !s.ends_with('.')
        && !s.contains("..")
        && s.chars().all(|c| c == '.' || is_atext(c))
}

/// An e-mail (PEC) address `local@domain`, ASCII only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PecAddress(String);

impl PecAddress {
    /// Validates `s` (surrounding whitespace and angle brackets are not
    /// accepted).
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        if s.len() > MAX_ADDRESS_LEN {
            return Err(AddressError::InvalidAddress);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(AddressError::InvalidAddress)?;
        let domain_ok = !domain.is_empty()
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !is_dot_atom(local) || !domain_ok {
            return Err(AddressError::InvalidAddress);
        }
        Ok(Self(s.to_owned()))
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

impl fmt::Display for PecAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An RFC 5322 Message-ID, stored without the angle brackets.
///
/// The gateway fixes the Message-ID of a deposit before the first attempt
/// and stores it: it is the key that PEC receipts (`X-Riferimento-Message-ID`,
/// `daticert.xml` `msgid`) refer back to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(String);

impl MessageId {
    /// Validates `s`, with or without the surrounding `<` `>`; surrounding
    /// whitespace is ignored.
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        let s = s.trim();
        let inner = match s.strip_prefix('<') {
            Some(rest) => rest
                .strip_suffix('>')
                .ok_or(AddressError::InvalidMessageId)?,
            None => s,
        };
        if inner.len() > MAX_MESSAGE_ID_LEN {
            return Err(AddressError::InvalidMessageId);
        }
        let (left, right) = inner
            .split_once('@')
            .ok_or(AddressError::InvalidMessageId)?;
        if !is_dot_atom(left) || !is_dot_atom(right) {
            return Err(AddressError::InvalidMessageId);
        }
        Ok(Self(inner.to_owned()))
    }

    /// A new unique Message-ID `<uuid-v7>@domain`. `domain` should be the
    /// sending office's mail domain.
    pub fn generate(domain: &str) -> Result<Self, AddressError> {
        Self::parse(&format!("{}@{domain}", uuid::Uuid::now_v7().simple()))
    }

    /// The id without angle brackets (`left@right`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as written in a header: `<left@right>`.
    pub fn bracketed(&self) -> String {
        format!("<{}>", self.0)
    }

    /// A file name stem made of the id: letters, digits and `.-_@+=` are
    /// kept, every other byte becomes `%XX` (so two different ids never
    /// give the same name), and a leading `.` is escaped too.
    pub fn file_stem(&self) -> String {
        let mut out = String::with_capacity(self.0.len());
        for (i, b) in self.0.bytes().enumerate() {
            let keep = b.is_ascii_alphanumeric() || (b"-_@+=".contains(&b)) || (b == b'.' && i > 0);
            if keep {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert!(PecAddress::parse("ufficio@pec.ponte.test").is_ok());
        assert!(PecAddress::parse("tribunale.genova@civile.ptel.giustiziacert.it").is_ok());
        for bad in [
            "",
            "a",
            "@x",
            "a@",
            "a b@x.it",
            "a@x..it",
            "a@-x.it",
            "à@x.it",
            "a@x.it\r\n",
        ] {
            assert_eq!(
                PecAddress::parse(bad),
                Err(AddressError::InvalidAddress),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn message_ids() {
        let id = MessageId::parse("<SN05IE$951DEC@fakepec.it>").unwrap();
        assert_eq!(id.as_str(), "SN05IE$951DEC@fakepec.it");
        assert_eq!(id.bracketed(), "<SN05IE$951DEC@fakepec.it>");
        assert_eq!(MessageId::parse("SN05IE$951DEC@fakepec.it").unwrap(), id);
        assert_eq!(id.file_stem(), "SN05IE%24951DEC@fakepec.it");
        assert_eq!(MessageId::parse("<a/b@x>").unwrap().file_stem(), "a%2Fb@x");
        assert_eq!(
            MessageId::parse("<a%2Fb@x>").unwrap().file_stem(),
            "a%252Fb@x"
        );
        for bad in [
            "",
            "<>",
            "<a>",
            "<a@b",
            "a@b>",
            "<a b@c>",
            "<a@b\r\nX: y>",
            "<.a@b>",
        ] {
            assert!(MessageId::parse(bad).is_err(), "{bad:?}");
        }
        let generated = MessageId::generate("pec.ponte.test").unwrap();
        assert!(generated.as_str().ends_with("@pec.ponte.test"));
    }
}
