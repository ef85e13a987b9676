//! The `Atto.msg` writer: a MIME `multipart/mixed` of base64 attachments.

use std::collections::HashSet;
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{Error, Part};

/// RFC 2045 §6.8: encoded lines are at most 76 characters.
const LINE_CHARS: usize = 76;
/// Input bytes per encoded line (76 / 4 * 3).
const LINE_BYTES: usize = 57;
/// Input bytes per base64 call: whole lines, so no padding inside.
const CHUNK_BYTES: usize = LINE_BYTES * 1024;
/// Longest id or file name accepted (common file-system limit).
const MAX_NAME: usize = 255;

/// Writes `Atto.msg` from `parts`, in the order given.
///
/// The output is deterministic: the same parts give the same bytes (the
/// boundary is derived from a SHA-256 of the parts), so the copy the sender
/// keeps can be rebuilt and compared. Lines end in CRLF.
///
/// Each part looks like:
///
/// ```text
/// Content-Type: application/pkcs7-mime; name="DatiAtto.xml.p7m"
/// Content-Transfer-Encoding: base64
/// Content-Disposition: attachment; filename="DatiAtto.xml.p7m"
/// Content-ID: <DatiAtto>
/// ```
pub fn build_atto_msg(parts: &[Part]) -> Result<Vec<u8>, Error> {
    validate(parts)?;
    let boundary = boundary(parts);

    let encoded: usize = parts.iter().map(|p| encoded_len(p.bytes.len())).sum();
    let mut out = Vec::with_capacity(encoded + 512 * (parts.len() + 1));
    let mut head = String::new();
    head.push_str("MIME-Version: 1.0\r\n");
    // Writing to a String cannot fail; the results are ignored on purpose.
    let _ = write!(
        head,
        "Content-Type: multipart/mixed;\r\n boundary=\"{boundary}\"\r\n\r\n"
    );
    out.extend_from_slice(head.as_bytes());

    for part in parts {
        head.clear();
        let _ = write!(
            head,
            "--{boundary}\r\n\
             Content-Type: {ct}; name=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-ID: <{id}>\r\n\r\n",
            ct = part.content_type,
            name = part.filename,
            id = part.id,
        );
        out.extend_from_slice(head.as_bytes());
        write_base64_lines(&mut out, &part.bytes);
    }
    head.clear();
    let _ = write!(head, "--{boundary}--\r\n");
    out.extend_from_slice(head.as_bytes());
    Ok(out)
}

fn validate(parts: &[Part]) -> Result<(), Error> {
    if parts.is_empty() {
        return Err(Error::NoParts);
    }
    let mut ids = HashSet::new();
    let mut names = HashSet::new();
    for (index, part) in parts.iter().enumerate() {
        if !is_plain_id(&part.id) {
            return Err(Error::InvalidPartId { index });
        }
        if !is_plain_filename(&part.filename) {
            return Err(Error::InvalidFilename { index });
        }
        if !is_media_type(&part.content_type) {
            return Err(Error::InvalidContentType { index });
        }
        if !ids.insert(part.id.as_str()) {
            return Err(Error::DuplicatePartId { index });
        }
        // Names compare case-insensitively: the court may store parts on a
        // case-insensitive file system.
        if !names.insert(part.filename.to_ascii_lowercase()) {
            return Err(Error::DuplicateFilename { index });
        }
    }
    Ok(())
}

/// An XML NCName restricted to ASCII, since the index refers to the part by
/// an attribute of type ID.
pub(crate) fn is_plain_id(id: &str) -> bool {
    let mut chars = id.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    id.len() <= MAX_NAME
        && (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// ASCII letters, digits, `.`, `_`, `-`; not starting with `.`.
pub(crate) fn is_plain_filename(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// `type/subtype`, both RFC 2045 tokens, no parameters.
fn is_media_type(ct: &str) -> bool {
    let Some((ty, sub)) = ct.split_once('/') else {
        return false;
    };
    is_token(ty) && is_token(sub)
}

fn is_token(s: &str) -> bool {
    const TSPECIALS: &[u8] = b"()<>@,;:\\\"/[]?=";
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !TSPECIALS.contains(&b))
}

/// A boundary that cannot occur in the body: base64 lines never contain `_`
/// or `-`, and every header line is ours.
fn boundary(parts: &[Part]) -> String {
    let mut hasher = openssl::sha::Sha256::new();
    for part in parts {
        for field in [
            part.id.as_bytes(),
            part.filename.as_bytes(),
            part.content_type.as_bytes(),
        ] {
            hasher.update(&(field.len() as u64).to_be_bytes());
            hasher.update(field);
        }
        hasher.update(&(part.bytes.len() as u64).to_be_bytes());
        hasher.update(&part.bytes);
    }
    let digest = hasher.finish();
    let mut b = String::from("----=_Part_Ponte_");
    for byte in &digest[..16] {
        let _ = write!(b, "{byte:02x}");
    }
    b
}

fn encoded_len(n: usize) -> usize {
    let chars = n.div_ceil(3) * 4;
    chars + chars.div_ceil(LINE_CHARS) * 2
}

fn write_base64_lines(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut buf = String::with_capacity(CHUNK_BYTES / 3 * 4 + 4);
    for chunk in bytes.chunks(CHUNK_BYTES) {
        buf.clear();
        STANDARD.encode_string(chunk, &mut buf);
        for line in buf.as_bytes().chunks(LINE_CHARS) {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids() {
        assert!(is_plain_id("DatiAtto"));
        assert!(is_plain_id("_a1.b-c"));
        assert!(!is_plain_id("1abc"));
        assert!(!is_plain_id("a b"));
        assert!(!is_plain_id("a@b"));
        assert!(!is_plain_id(""));
        assert!(is_plain_filename("Ricorso.pdf.p7m"));
        assert!(!is_plain_filename(".hidden"));
        assert!(!is_plain_filename("a/b.pdf"));
        assert!(!is_plain_filename("è.pdf"));
        assert!(is_media_type("application/pkcs7-mime"));
        assert!(!is_media_type("text/xml; charset=utf-8"));
        assert!(!is_media_type("text"));
    }

    #[test]
    fn base64_lines_are_76_chars() {
        let mut out = Vec::new();
        let bytes: Vec<u8> = (0..=255u8).cycle().take(CHUNK_BYTES + 100).collect();
        write_base64_lines(&mut out, &bytes);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.split_terminator("\r\n").collect();
        assert!(lines.iter().all(|l| l.len() <= LINE_CHARS));
        assert!(
            lines[..lines.len() - 1]
                .iter()
                .all(|l| l.len() == LINE_CHARS)
        );
        assert_eq!(text.len(), encoded_len(bytes.len()));
        let joined: String = lines.concat();
        assert_eq!(STANDARD.decode(joined).unwrap(), bytes);
    }
}
