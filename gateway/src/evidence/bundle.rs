//! Offline evidence bundles: entries, their inclusion proofs, the signed
//! checkpoint they are proved against, and the log's public key — enough
//! for a third party to check, with no access to Ponte, that these entries
//! are in the log Ponte signed.

use serde::{Deserialize, Serialize};

use super::key::Verifier;
use super::merkle::{self, Hash};
use super::{Checkpoint, Entry};

/// Builds a bundle for `entries`: signs a checkpoint now (covering every
/// entry found) and proves each entry against it.
pub async fn prove<S: crate::store::EvidenceStore>(
    store: &S,
    key: &std::sync::Arc<super::LogKey>,
    origin: &str,
    entries: &[super::StoredEntry],
) -> Result<Bundle, crate::store::Error> {
    let cp = store
        .checkpoint(std::sync::Arc::clone(key), origin.to_owned())
        .await?;
    let mut proved = Vec::with_capacity(entries.len());
    for stored in entries {
        let path = store.inclusion_proof(stored.index, cp.size).await?;
        proved.push(ProvedEntry {
            index: stored.index,
            entry: String::from_utf8_lossy(&stored.entry).into_owned(),
            path: path.iter().map(hex::encode).collect(),
        });
    }
    Ok(Bundle {
        format: FORMAT.to_owned(),
        vkey: key.verifier().to_vkey(),
        checkpoint: cp.note,
        entries: proved,
        files: Vec::new(),
    })
}

/// Format tag of the bundles written now (version 2: a file may be given
/// by digest, size and link instead of its content).
pub const FORMAT: &str = "ponte-evidence-bundle/2";

/// Format tag of version 1, still read: every file carries its content.
pub const FORMAT_V1: &str = "ponte-evidence-bundle/1";

/// A bundle.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// [`FORMAT`], or [`FORMAT_V1`] in a bundle written before version 2.
    pub format: String,
    /// The log's verifier key (`name+keyid+base64`).
    pub vkey: String,
    /// The signed checkpoint note.
    pub checkpoint: String,
    /// The entries with their proofs.
    pub entries: Vec<ProvedEntry>,
    /// Files the entries speak of (the envelope deposited, the messages
    /// sent and received), each bound to the log by its SHA-256 appearing
    /// among the proved entries' digests. Optional.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<BundleFile>,
}

/// A file carried in a bundle.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleFile {
    /// What it is (`Atto.enc`, `deposit-12.eml`, `received-3-avvenuta-consegna.eml`).
    pub name: String,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// The content, base64; absent when the file was left out to keep the
    /// bundle small (then `size` says how big it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// The size in bytes of a file left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Where to fetch a file left out: a path of Ponte's API, when a route
    /// serves that file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
}

/// An entry and its audit path in the checkpoint's tree.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvedEntry {
    /// Leaf index.
    pub index: u64,
    /// The entry's canonical bytes, as text.
    pub entry: String,
    /// Audit path, hex hashes (as `path` on `/audit/proof/inclusion`).
    pub path: Vec<String>,
}

/// What a valid bundle proves.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The checkpoint the entries are proved against.
    pub checkpoint: Checkpoint,
    /// The entries, decoded.
    pub entries: Vec<Entry>,
    /// The key that signed it.
    pub verifier: Verifier,
}

impl Bundle {
    /// Verifies the bundle. With `trusted`, the checkpoint must be signed by
    /// that key; without, by the key the bundle names (which only proves
    /// internal consistency: pin the key to prove origin).
    pub fn check(&self, trusted: Option<&Verifier>) -> Result<Checked, String> {
        if self.format == FORMAT_V1 {
            if let Some(file) = self
                .files
                .iter()
                .find(|f| f.content.is_none() || f.size.is_some() || f.href.is_some())
            {
                return Err(format!(
                    "file {}: a version 1 bundle carries every file's content and nothing else",
                    file.name
                ));
            }
        } else if self.format != FORMAT {
            return Err(format!("unknown bundle format {:?}", self.format));
        }
        let own = Verifier::from_vkey(&self.vkey).map_err(|e| e.to_string())?;
        let verifier = match trusted {
            Some(t) if *t != own => return Err("the bundle is signed by another key".into()),
            Some(t) => t.clone(),
            None => own,
        };
        let checkpoint =
            Checkpoint::open(&self.checkpoint, &verifier).map_err(|e| e.to_string())?;
        let mut entries = Vec::with_capacity(self.entries.len());
        for proved in &self.entries {
            let proof = proved
                .path
                .iter()
                .map(|h| {
                    let mut out: Hash = [0; 32];
                    hex::decode_to_slice(h, &mut out).map(|()| out)
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| format!("entry {}: malformed proof", proved.index))?;
            let leaf = merkle::leaf_hash(proved.entry.as_bytes());
            if !merkle::verify_inclusion(
                &leaf,
                proved.index,
                checkpoint.size,
                &proof,
                &checkpoint.root,
            ) {
                return Err(format!(
                    "entry {}: not included in the checkpoint of {} entries",
                    proved.index, checkpoint.size
                ));
            }
            let entry = Entry::decode(proved.entry.as_bytes())
                .ok_or_else(|| format!("entry {}: not a canonical entry", proved.index))?;
            if entry.index != proved.index {
                return Err(format!(
                    "entry {}: claims index {}",
                    proved.index, entry.index
                ));
            }
            entries.push(entry);
        }
        for file in &self.files {
            use base64::Engine as _;
            use sha2::Digest as _;
            let digest = match &file.content {
                Some(content) => {
                    let content = base64::engine::general_purpose::STANDARD
                        .decode(content)
                        .map_err(|_| format!("file {}: content is not base64", file.name))?;
                    let digest = hex::encode(sha2::Sha256::digest(&content));
                    if digest != file.sha256 {
                        return Err(format!(
                            "file {}: content does not match its SHA-256",
                            file.name
                        ));
                    }
                    digest
                }
                // Left out: only its digest can be bound to the log.
                None => file.sha256.clone(),
            };
            if !entries
                .iter()
                .any(|e| e.digests.values().any(|d| *d == digest))
            {
                return Err(format!(
                    "file {}: no proved entry records its SHA-256",
                    file.name
                ));
            }
        }
        Ok(Checked {
            checkpoint,
            entries,
            verifier,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(format: &str, file: BundleFile) -> Bundle {
        Bundle {
            format: format.to_owned(),
            vkey: "not-a-key".to_owned(),
            checkpoint: String::new(),
            entries: Vec::new(),
            files: vec![file],
        }
    }

    fn inline() -> BundleFile {
        BundleFile {
            name: "Atto.enc".to_owned(),
            sha256: "00".repeat(32),
            content: Some(String::new()),
            size: None,
            href: None,
        }
    }

    #[test]
    fn a_version_1_bundle_must_carry_every_file() {
        // Past the format check, the made-up key is what fails.
        let err = bundle(FORMAT_V1, inline()).check(None).unwrap_err();
        assert!(
            !err.contains("format") && !err.contains("version 1"),
            "{err}"
        );
        let by_reference = BundleFile {
            content: None,
            size: Some(10),
            href: Some("/filings/f/artefacts/Atto.enc".to_owned()),
            ..inline()
        };
        let err = bundle(FORMAT_V1, by_reference.clone())
            .check(None)
            .unwrap_err();
        assert!(err.contains("version 1"), "{err}");
        let err = bundle(FORMAT, by_reference).check(None).unwrap_err();
        assert!(!err.contains("version 1"), "{err}");
        let err = bundle("ponte-evidence-bundle/3", inline())
            .check(None)
            .unwrap_err();
        assert!(err.contains("unknown bundle format"), "{err}");
    }
}
