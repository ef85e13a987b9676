//! RFC 3161 time-stamps for checkpoints.
//!
//! A checkpoint's own `time` line is Ponte's word; a token from an
//! independent Time-Stamping Authority proves the signed note existed at a
//! time Ponte could not choose. The token covers SHA-256 of the whole signed
//! note and is kept as the TSA's full `TimeStampResp`, so it can be checked
//! with standard tools: `openssl ts -verify -in resp.tsr -data note.txt
//! -CAfile tsa-ca.pem`.
//!
//! Plain HTTP (RFC 3161 §3.4) is enough: the token is signed by the TSA.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;

/// Why a time-stamp could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configured URL is not `http://host[:port]/path` (operator).
    #[error("tsa url must be http://host[:port]/path")]
    Url,
    /// The TSA could not be reached or answered badly (the TSA; retriable).
    #[error("tsa unreachable: {0}")]
    Transport(String),
    /// The TSA refused or sent something that is not a granted response.
    #[error("tsa refused the request: {0}")]
    Refused(String),
}

/// DER `AlgorithmIdentifier` of SHA-256 with NULL parameters.
const SHA256_ALGORITHM: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
];

/// A DER `TimeStampReq` for a SHA-256 digest, with a nonce and a request
/// for the TSA's certificate.
pub fn request(digest: &[u8; 32], nonce: [u8; 8]) -> Vec<u8> {
    let mut imprint = vec![0x30, 0x31];
    imprint.extend_from_slice(&SHA256_ALGORITHM);
    imprint.extend_from_slice(&[0x04, 0x20]);
    imprint.extend_from_slice(digest);
    // A positive INTEGER in minimal form: first byte in 0x01..=0x7f.
    let mut nonce = nonce;
    nonce[0] = (nonce[0] & 0x7f).max(1);
    let mut body = vec![0x02, 0x01, 0x01];
    body.extend_from_slice(&imprint);
    body.extend_from_slice(&[0x02, 0x08]);
    body.extend_from_slice(&nonce);
    body.extend_from_slice(&[0x01, 0x01, 0xff]);
    let mut out = vec![0x30, body.len() as u8];
    out.extend_from_slice(&body);
    out
}

/// Checks that a DER `TimeStampResp` says granted (0) or granted with
/// modifications (1) and carries a token.
pub fn check_granted(response: &[u8]) -> Result<(), Error> {
    let refused = |why: &str| Error::Refused(why.to_owned());
    let (outer, _) = der(response, 0x30).ok_or_else(|| refused("not a DER sequence"))?;
    let (status_info, rest) = der(outer, 0x30).ok_or_else(|| refused("no status"))?;
    let (status, _) = der(status_info, 0x02).ok_or_else(|| refused("no status integer"))?;
    match status {
        [0] | [1] if !rest.is_empty() => Ok(()),
        [0] | [1] => Err(refused("granted without a token")),
        _ => Err(refused(&format!("status {status:?}"))),
    }
}

/// Splits one DER element of `tag` off the front: (contents, rest).
fn der(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&len, rest) = rest.split_first()?;
    let (len, rest) = if len < 0x80 {
        (usize::from(len), rest)
    } else {
        let n = usize::from(len & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| acc << 8 | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// Asks the TSA at `url` to time-stamp `data`; returns the DER response.
pub async fn timestamp(url: &str, data: &[u8]) -> Result<Vec<u8>, Error> {
    let uri: http::Uri = url.parse().map_err(|_| Error::Url)?;
    if uri.scheme_str() != Some("http") {
        return Err(Error::Url);
    }
    let host = uri.host().ok_or(Error::Url)?.to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let digest: [u8; 32] = Sha256::digest(data).into();
    let body = request(&digest, rand_nonce());
    let transport = |e: &dyn std::fmt::Display| Error::Transport(e.to_string());
    let exchange = async {
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| transport(&e))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| transport(&e))?;
        tokio::spawn(conn);
        let req = http::Request::post(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(http::header::HOST, host.as_str())
            .header(http::header::CONTENT_TYPE, "application/timestamp-query")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| transport(&e))?;
        let resp = sender.send_request(req).await.map_err(|e| transport(&e))?;
        if !resp.status().is_success() {
            return Err(Error::Refused(format!("http status {}", resp.status())));
        }
        // A time-stamp response is a few kilobytes; refuse anything huge.
        let bytes = Limited::new(resp.into_body(), 1 << 20)
            .collect()
            .await
            .map_err(|e| transport(&e))?
            .to_bytes();
        Ok(bytes.to_vec())
    };
    let response = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| Error::Transport("timed out".into()))??;
    check_granted(&response)?;
    Ok(response)
}

fn rand_nonce() -> [u8; 8] {
    let mut nonce = [0u8; 8];
    // Uniqueness, not secrecy: a v4 UUID's random bits are plenty.
    nonce.copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..8]);
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_well_formed_der() {
        let req = request(&[7; 32], [0xff; 8]);
        let (body, rest) = der(&req, 0x30).unwrap();
        assert!(rest.is_empty());
        let (version, body) = der(body, 0x02).unwrap();
        assert_eq!(version, [1]);
        let (imprint, body) = der(body, 0x30).unwrap();
        assert_eq!(&imprint[..15], &SHA256_ALGORITHM);
        let (nonce, body) = der(body, 0x02).unwrap();
        assert!(nonce[0] < 0x80, "nonce is a positive integer");
        assert_eq!(body, [0x01, 0x01, 0xff]);
    }

    #[test]
    fn responses_are_checked_for_a_granted_status() {
        // SEQUENCE { SEQUENCE { INTEGER 0 }, <token> }
        assert!(check_granted(&[0x30, 0x07, 0x30, 0x03, 0x02, 0x01, 0x00, 0x30, 0x00]).is_ok());
        // status 2 = rejection
        assert!(check_granted(&[0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02]).is_err());
        assert!(check_granted(b"<html>").is_err());
    }
}
