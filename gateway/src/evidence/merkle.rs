//! RFC 6962 / RFC 9162 Merkle tree hashing, proofs and proof verification.
//!
//! Leaves are hashed `SHA-256(0x00 ‖ entry)` and interior nodes
//! `SHA-256(0x01 ‖ left ‖ right)`: the domain separation that stops a leaf
//! from being passed off as a node. Proof generation reads complete,
//! aligned subtree hashes from a [`NodeSource`] (the store keeps one row per
//! complete subtree), so a proof costs O(log n) lookups whatever the size of
//! the log. Verification needs nothing but the proof.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// Hash of the empty tree.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Leaf hash of an entry.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

/// Interior node hash.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Where proof generation finds hashes of complete subtrees.
pub trait NodeSource {
    /// Error of the source.
    type Error;
    /// Leaf hash at `index`.
    fn leaf(&mut self, index: u64) -> Result<Hash, Self::Error>;
    /// Hash of the complete subtree of height `level` (≥ 1) that covers
    /// leaves `[index·2^level, (index+1)·2^level)`.
    fn node(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Merkle tree hash of leaves `[start, end)`; `start` must be a multiple of
/// the largest power of two not above `end - start` (true of every range a
/// proof asks for).
pub fn subtree<S: NodeSource>(src: &mut S, start: u64, end: u64) -> Result<Hash, S::Error> {
    let n = end - start;
    match n {
        0 => Ok(empty_root()),
        1 => src.leaf(start),
        _ if n.is_power_of_two() && start.is_multiple_of(n) => {
            src.node(n.trailing_zeros(), start >> n.trailing_zeros())
        }
        _ => {
            let k = split(n);
            let left = subtree(src, start, start + k)?;
            let right = subtree(src, start + k, end)?;
            Ok(node_hash(&left, &right))
        }
    }
}

/// Root of the tree of the first `size` leaves.
pub fn root<S: NodeSource>(src: &mut S, size: u64) -> Result<Hash, S::Error> {
    subtree(src, 0, size)
}

/// Audit path of leaf `index` in the tree of `size` leaves (RFC 6962 PATH).
pub fn inclusion_path<S: NodeSource>(
    src: &mut S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, S::Error> {
    let mut out = Vec::new();
    path(src, index, 0, size, &mut out)?;
    Ok(out)
}

fn path<S: NodeSource>(
    src: &mut S,
    m: u64,
    start: u64,
    end: u64,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        path(src, m, start, start + k, out)?;
        out.push(subtree(src, start + k, end)?);
    } else {
        path(src, m - k, start + k, end, out)?;
        out.push(subtree(src, start, start + k)?);
    }
    Ok(())
}

/// Consistency proof between the trees of `first` and `second` leaves
/// (RFC 6962 PROOF), `0 < first <= second`.
pub fn consistency_path<S: NodeSource>(
    src: &mut S,
    first: u64,
    second: u64,
) -> Result<Vec<Hash>, S::Error> {
    let mut out = Vec::new();
    if first > 0 && first < second {
        subproof(src, first, 0, second, true, &mut out)?;
    }
    Ok(out)
}

fn subproof<S: NodeSource>(
    src: &mut S,
    m: u64,
    start: u64,
    end: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = end - start;
    if m == n {
        if !complete {
            out.push(subtree(src, start, end)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(src, m, start, start + k, complete, out)?;
        out.push(subtree(src, start + k, end)?);
    } else {
        subproof(src, m - k, start + k, end, false, out)?;
        out.push(subtree(src, start, start + k)?);
    }
    Ok(())
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, path: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && &r == root
}

/// Checks a consistency proof (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> bool {
    if first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    if first == 0 {
        // Every tree extends the empty tree.
        return proof.is_empty();
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    let Some((head, rest)) = path.split_first() else {
        return false;
    };
    let (mut fnode, mut snode) = (first - 1, second - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*head, *head);
    for c in rest {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    &fr == first_root && &sr == second_root && snode == 0
}

/// The right edge of a growing tree: the roots of its complete subtrees,
/// largest first. Appending is O(1) amortised and yields the complete
/// subtrees it closes, which the store persists for later proofs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

/// A complete subtree closed by an append: `(level, index, hash)`.
pub type ClosedNode = (u32, u64, Hash);

impl Frontier {
    /// Rebuilds the frontier of a tree of `size` leaves from its stored nodes.
    pub fn load<S: NodeSource>(src: &mut S, size: u64) -> Result<Self, S::Error> {
        let mut hashes = Vec::new();
        let mut start = 0;
        for level in (0..64u32).rev() {
            let span = 1u64 << level;
            if size & span != 0 {
                hashes.push(subtree(src, start, start + span)?);
                start += span;
            }
        }
        Ok(Self { size, hashes })
    }

    /// Leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash; returns the interior nodes it completed.
    pub fn push(&mut self, leaf: Hash) -> Vec<ClosedNode> {
        let mut closed = Vec::new();
        let mut hash = leaf;
        let mut index = self.size;
        let mut level = 0;
        while index & 1 == 1 {
            let Some(left) = self.hashes.pop() else {
                break;
            };
            hash = node_hash(&left, &hash);
            level += 1;
            index >>= 1;
            closed.push((level, index, hash));
        }
        self.hashes.push(hash);
        self.size += 1;
        closed
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        let mut iter = self.hashes.iter().rev();
        let Some(last) = iter.next() else {
            return empty_root();
        };
        iter.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

/// An in-memory [`NodeSource`] over leaf hashes (tests, offline bundles).
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    leaves: Vec<Hash>,
}

impl MemoryTree {
    /// A tree over these leaf hashes.
    pub fn new(leaves: Vec<Hash>) -> Self {
        Self { leaves }
    }
}

impl NodeSource for MemoryTree {
    type Error = std::convert::Infallible;

    fn leaf(&mut self, index: u64) -> Result<Hash, Self::Error> {
        Ok(self.leaves[index as usize])
    }

    fn node(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        let span = 1u64 << level;
        let start = index * span;
        let half = span / 2;
        let left = subtree(self, start, start + half)?;
        let right = subtree(self, start + half, start + span)?;
        Ok(node_hash(&left, &right))
    }
}

#[cfg(test)]
mod tests;
