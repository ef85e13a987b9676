//! Known-answer tests: the RFC 6962 test vectors used by Certificate
//! Transparency implementations (8 leaves, roots for every size, sample
//! inclusion and consistency proofs).

use super::*;

fn h(s: &str) -> Hash {
    let mut out = [0; 32];
    hex::decode_to_slice(s, &mut out).unwrap();
    out
}

fn vector_leaves() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|s| hex::decode(s).unwrap())
    .collect()
}

fn tree(n: usize) -> MemoryTree {
    MemoryTree::new(vector_leaves()[..n].iter().map(|l| leaf_hash(l)).collect())
}

const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

#[test]
fn empty_tree_root() {
    assert_eq!(
        hex::encode(empty_root()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn roots_match_the_vectors_by_recursion_and_by_frontier() {
    let mut frontier = Frontier::default();
    for (i, leaf) in vector_leaves().iter().enumerate() {
        frontier.push(leaf_hash(leaf));
        let n = i as u64 + 1;
        assert_eq!(root(&mut tree(i + 1), n).unwrap(), h(ROOTS[i]), "size {n}");
        assert_eq!(frontier.root(), h(ROOTS[i]), "frontier size {n}");
        let mut reloaded = Frontier::load(&mut tree(i + 1), n).unwrap();
        assert_eq!(reloaded, frontier);
        assert_eq!(reloaded.root(), frontier.root());
        reloaded.push([0; 32]);
    }
}

#[test]
fn inclusion_proofs_match_the_vectors() {
    let cases: [(u64, u64, &[&str]); 4] = [
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    let leaves = vector_leaves();
    for (index, size, expected) in cases {
        let mut t = tree(size as usize);
        let proof = inclusion_path(&mut t, index, size).unwrap();
        let expected: Vec<Hash> = expected.iter().map(|s| h(s)).collect();
        assert_eq!(proof, expected, "leaf {index} of {size}");
        let leaf = leaf_hash(&leaves[index as usize]);
        let root = h(ROOTS[size as usize - 1]);
        assert!(verify_inclusion(&leaf, index, size, &proof, &root));
        // A wrong index, size, leaf or path must not verify.
        assert!(!verify_inclusion(&leaf, index ^ 1, size, &proof, &root));
        assert!(!verify_inclusion(&leaf, index, size * 4, &proof, &root));
        let other_root = h(ROOTS[(size as usize + 2) % 8]);
        assert!(!verify_inclusion(&leaf, index, size, &proof, &other_root));
        assert!(!verify_inclusion(&[9; 32], index, size, &proof, &root));
        assert!(!verify_inclusion(&leaf, index, size, &proof[1..], &root));
    }
}

#[test]
fn consistency_proofs_match_the_vectors() {
    let cases: [(u64, u64, &[&str]); 3] = [
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (first, second, expected) in cases {
        let proof = consistency_path(&mut tree(second as usize), first, second).unwrap();
        let expected: Vec<Hash> = expected.iter().map(|s| h(s)).collect();
        assert_eq!(proof, expected, "{first} -> {second}");
        let (r1, r2) = (h(ROOTS[first as usize - 1]), h(ROOTS[second as usize - 1]));
        assert!(verify_consistency(first, second, &r1, &r2, &proof));
        assert!(!verify_consistency(first, second, &r2, &r1, &proof));
        assert!(!verify_consistency(first, second, &r1, &r2, &proof[1..]));
    }
}

#[test]
fn every_proof_of_every_small_tree_verifies() {
    let leaves: Vec<Hash> = (0u32..40).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    for size in 1..=40u64 {
        let mut t = MemoryTree::new(leaves[..size as usize].to_vec());
        let r = root(&mut t, size).unwrap();
        for index in 0..size {
            let p = inclusion_path(&mut t, index, size).unwrap();
            assert!(verify_inclusion(
                &leaves[index as usize],
                index,
                size,
                &p,
                &r
            ));
        }
        for first in 1..=size {
            let r1 = root(&mut t, first).unwrap();
            let p = consistency_path(&mut t, first, size).unwrap();
            assert!(
                verify_consistency(first, size, &r1, &r, &p),
                "{first}->{size}"
            );
        }
    }
}
