"""Self-test for tests/interop/verify_evidence.py.

Run from the repository root:
    python3 -m unittest tests/interop/test_verify_evidence.py

The test builds its own small evidence log in Python - Ed25519 key, canonical
entries, RFC 6962 tree, inclusion paths (PATH) and consistency proofs
(PROOF/SUBPROOF) computed by straightforward recursion from RFC 6962 s2.1,
signed-note checkpoints and a JWS receipt - and checks that the verifier
accepts it and rejects tampered variants.  The recursive generators below are
written from the RFC's definitions and are independent of the verifier's
iterative RFC 9162 checks, so each cross-checks the other.  Published RFC 6962
known-answer vectors anchor both to the reference implementation.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = Path(__file__).resolve().parent
VERIFIER = HERE / "verify_evidence.py"
sys.path.insert(0, str(HERE))
import verify_evidence as ve  # noqa: E402

# --------------------------------------------------------------------------
# RFC 6962 s2.1 reference definitions (recursive, as written in the RFC)
# --------------------------------------------------------------------------


def _split(n: int) -> int:
    """Largest power of two strictly smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) over raw leaf data."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = _split(n)
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def rfc_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]): audit path for leaf m."""
    n = len(leaves)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return rfc_path(m, leaves[:k]) + [mth(leaves[k:])]
    return rfc_path(m - k, leaves[k:]) + [mth(leaves[:k])]


def rfc_subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b)."""
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = _split(n)
    if m <= k:
        return rfc_subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return rfc_subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def rfc_proof(m: int, leaves: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true)."""
    return rfc_subproof(m, leaves, True)


# --------------------------------------------------------------------------
# A tiny log builder: signed notes, checkpoints, receipts
# --------------------------------------------------------------------------

ORIGIN = "ponte.example/test/log"  # contains '/' and '.' like real origins
TIME = "2026-11-26T10:00:00Z"


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode("ascii").rstrip("=")


def raw_pub(sk: Ed25519PrivateKey) -> bytes:
    return sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, pub: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4]


def make_vkey(name: str, sk: Ed25519PrivateKey) -> str:
    pub = raw_pub(sk)
    key = b"\x01" + pub  # signed-note key type 0x01 = Ed25519
    return f"{name}+{key_id(name, pub).hex()}+{b64(key)}"


def sign_note(body: str, name: str, sk: Ed25519PrivateKey, kid: bytes | None = None) -> str:
    kid = key_id(name, raw_pub(sk)) if kid is None else kid
    sig = sk.sign(body.encode())
    return body + "\n" + f"\u2014 {name} {b64(kid + sig)}\n"


def checkpoint_body(size: int, root: bytes, origin: str = ORIGIN) -> str:
    return f"{origin}\n{size}\n{b64(root)}\ntime {TIME}\n"


def canon(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def make_entry(i: int) -> str:
    return canon({"exchange": f"ex-{i:04d}", "index": i, "kind": "exchange",
                  "outcome": "ok", "time": TIME, "v": 1})


def make_receipt(sk: Ed25519PrivateKey, index: int, entry: str, origin: str = ORIGIN,
                 header: dict | None = None) -> str:
    payload = {
        "exchange": json.loads(entry)["exchange"],
        "index": index,
        "leaf_hash": hashlib.sha256(b"\x00" + entry.encode()).hexdigest(),
        "log": origin,
        "request_sha256": hashlib.sha256(b"request %d" % index).hexdigest(),
        "time": TIME,
        "v": 1,
    }
    h = b64url(canon(header or {"alg": "EdDSA"}).encode())
    p = b64url(canon(payload).encode())
    sig = sk.sign(f"{h}.{p}".encode())
    return f"{h}.{p}.{b64url(sig)}"


def build_case(entries: list[str], sk: Ed25519PrivateKey, older: int | None = 7,
               receipts_for=(0, 4, 10)) -> dict:
    data = [e.encode() for e in entries]
    n = len(data)
    case = {
        "vkey": make_vkey(ORIGIN, sk),
        "checkpoint": sign_note(checkpoint_body(n, mth(data)), ORIGIN, sk),
        "entries": [
            {"index": i, "entry": entries[i], "path": [h.hex() for h in rfc_path(i, data)]}
            for i in range(n)
        ],
    }
    if older is not None:
        case["older_checkpoint"] = sign_note(checkpoint_body(older, mth(data[:older])), ORIGIN, sk)
        case["consistency_path"] = [h.hex() for h in rfc_proof(older, data)]
    if receipts_for:
        case["receipts"] = [make_receipt(sk, i, entries[i]) for i in receipts_for]
    return case


# --------------------------------------------------------------------------
# Known-answer tests (RFC 6962 reference vectors)
# --------------------------------------------------------------------------

KAT_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]
KAT_ROOT8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
KAT_ROOT3 = "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"
KAT_ROOT6 = "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"
KAT_PATH_5_OF_8 = [
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
]
KAT_CONSISTENCY_6_TO_8 = [
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
]


class KnownAnswers(unittest.TestCase):
    def test_roots(self):
        self.assertEqual(mth(KAT_LEAVES).hex(), KAT_ROOT8)
        self.assertEqual(mth(KAT_LEAVES[:3]).hex(), KAT_ROOT3)
        self.assertEqual(mth(KAT_LEAVES[:6]).hex(), KAT_ROOT6)

    def test_inclusion_5_of_8(self):
        path = [bytes.fromhex(h) for h in KAT_PATH_5_OF_8]
        self.assertEqual(rfc_path(5, KAT_LEAVES), path)
        leaf = ve.leaf_hash(KAT_LEAVES[5])
        root = bytes.fromhex(KAT_ROOT8)
        self.assertTrue(ve.verify_inclusion(5, 8, leaf, path, root))
        self.assertFalse(ve.verify_inclusion(4, 8, leaf, path, root))
        # (size 7 is not tested: leaf 5's path has the same shape in 7 and 8.)
        self.assertFalse(ve.verify_inclusion(5, 6, leaf, path, root))
        self.assertFalse(ve.verify_inclusion(5, 9, leaf, path, root))
        self.assertFalse(ve.verify_inclusion(5, 8, leaf, path[:2], root))
        self.assertFalse(ve.verify_inclusion(5, 8, leaf, path + [path[0]], root))

    def test_consistency_6_to_8(self):
        proof = [bytes.fromhex(h) for h in KAT_CONSISTENCY_6_TO_8]
        self.assertEqual(rfc_proof(6, KAT_LEAVES), proof)
        r6, r8 = bytes.fromhex(KAT_ROOT6), bytes.fromhex(KAT_ROOT8)
        self.assertTrue(ve.verify_consistency(6, 8, r6, r8, proof))
        self.assertFalse(ve.verify_consistency(6, 8, r8, r8, proof))
        self.assertFalse(ve.verify_consistency(5, 8, r6, r8, proof))
        self.assertFalse(ve.verify_consistency(6, 8, r6, r8, proof[:2]))
        self.assertFalse(ve.verify_consistency(8, 6, r8, r6, proof))


class VerifierKeyParsing(unittest.TestCase):
    def test_base64_with_plus_and_slash(self):
        # The key's base64 may itself contain '+'; NAME never does.
        for _ in range(1000):
            sk = Ed25519PrivateKey.generate()
            vkey = make_vkey(ORIGIN, sk)
            if "+" in vkey.split("+", 2)[2]:
                break
        else:
            self.skipTest("no key with '+' in its base64 found")
        vk = ve.parse_vkey(vkey)
        self.assertEqual((vk.name, vk.pubkey), (ORIGIN, raw_pub(sk)))

    def test_rejects_bad_shapes(self):
        vkey = make_vkey(ORIGIN, Ed25519PrivateKey.generate())
        name, kid, key = vkey.split("+", 2)
        wrong_type = b64(b"\x02" + bytes(32))  # key type byte must be 0x01
        for bad in (f"{name}+ABCDEF01+{key}",        # upper-case key id
                    f"{name}+{kid}",                    # missing key
                    f"{name}+{kid}+{key[:-4]}",         # 30-byte key
                    f"{name}+{kid}+{key}=",             # bad base64 length
                    f"na me+{kid}+{key}",               # whitespace in name
                    f"{name}+{kid}+{wrong_type}"):
            with self.assertRaises(ve.Malformed, msg=bad):
                ve.parse_vkey(bad)


class ExhaustiveCrossCheck(unittest.TestCase):
    """Recursive RFC 6962 generators vs. the verifier's RFC 9162 checks."""

    def test_all_inclusion_and_consistency_up_to_16(self):
        data = [b"leaf %d" % i for i in range(16)]
        for n in range(1, 17):
            root = mth(data[:n])
            for i in range(n):
                path = rfc_path(i, data[:n])
                leaf = ve.leaf_hash(data[i])
                self.assertTrue(ve.verify_inclusion(i, n, leaf, path, root), (i, n))
                for j in range(len(path)):  # any corrupted hash must fail
                    bad = list(path)
                    bad[j] = bytes([bad[j][0] ^ 1]) + bad[j][1:]
                    self.assertFalse(ve.verify_inclusion(i, n, leaf, bad, root), (i, n, j))
                if n > 1:
                    self.assertFalse(ve.verify_inclusion((i + 1) % n, n, leaf, path, root))
            for m in range(0, n + 1):
                proof = rfc_proof(m, data[:n]) if m > 0 else []
                old = mth(data[:m])
                self.assertTrue(ve.verify_consistency(m, n, old, root, proof), (m, n))
                for j in range(len(proof)):
                    bad = list(proof)
                    bad[j] = bytes([bad[j][0] ^ 1]) + bad[j][1:]
                    self.assertFalse(ve.verify_consistency(m, n, old, root, bad), (m, n, j))
                if 0 < m < n:
                    self.assertFalse(ve.verify_consistency(m, n, root, root, proof), (m, n))


# --------------------------------------------------------------------------
# End-to-end: the CLI on a case built here
# --------------------------------------------------------------------------


def run_cli(case) -> subprocess.CompletedProcess:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        if isinstance(case, str):
            f.write(case)
        else:
            json.dump(case, f, ensure_ascii=False)
        name = f.name
    try:
        return subprocess.run([sys.executable, str(VERIFIER), name],
                              capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(name)


class EndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sk = Ed25519PrivateKey.generate()
        cls.entries = [make_entry(i) for i in range(11)]
        cls.good = build_case(cls.entries, cls.sk)

    def case(self) -> dict:
        return copy.deepcopy(self.good)

    def assertFails(self, case, needle: str, code: int = 1):
        r = run_cli(case)
        self.assertEqual(r.returncode, code, r.stderr + r.stdout)
        self.assertEqual(r.stdout, "")
        self.assertIn(needle, r.stderr)

    # --- acceptance -------------------------------------------------------

    def test_accepts_good_case(self):
        r = run_cli(self.good)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("OK: "), r.stdout)
        self.assertEqual(r.stdout.count("\n"), 1)
        self.assertIn("11 entries included", r.stdout)
        self.assertIn("consistent 7->11", r.stdout)
        self.assertIn("3 receipts (3 bound to proven entries)", r.stdout)

    def test_accepts_minimal_and_power_of_two_older(self):
        c = build_case(self.entries, self.sk, older=8, receipts_for=())
        self.assertTrue(ve.verify_case(c).startswith("OK: "))
        c = build_case(self.entries, self.sk, older=11, receipts_for=())
        self.assertTrue(ve.verify_case(c).startswith("OK: "))
        c = build_case(self.entries, self.sk, older=None, receipts_for=())
        self.assertTrue(ve.verify_case(c).startswith("OK: "))

    def test_accepts_unknown_cosignature_and_unbound_receipt(self):
        c = self.case()
        other = Ed25519PrivateKey.generate()
        body = c["checkpoint"].split("\n\n")[0] + "\n"
        c["checkpoint"] += sign_note(body, "witness.example", other).split("\n\n")[1]
        del c["entries"][4]  # receipt for 4 is now valid but not bound
        self.assertIn("3 receipts (2 bound", ve.verify_case(c))

    # --- rejections required by the brief --------------------------------

    def test_rejects_flipped_byte_in_entry(self):
        c = self.case()
        c["entries"][3]["entry"] = c["entries"][3]["entry"].replace('"ok"', '"ol"')
        self.assertFails(c, "entry index 3: inclusion proof")

    def test_rejects_wrong_proof_hash(self):
        c = self.case()
        h = c["entries"][6]["path"][1]
        c["entries"][6]["path"][1] = ("0" if h[0] != "0" else "1") + h[1:]
        self.assertFails(c, "entry index 6: inclusion proof")

    def test_rejects_checkpoint_signed_by_other_key(self):
        other = Ed25519PrivateKey.generate()
        body = self.good["checkpoint"].split("\n\n")[0] + "\n"
        c = self.case()
        c["checkpoint"] = sign_note(body, ORIGIN, other)  # honest other key id
        self.assertFails(c, "checkpoint: no signature by the log key")
        c["checkpoint"] = sign_note(body, ORIGIN, other, kid=key_id(ORIGIN, raw_pub(self.sk)))
        self.assertFails(c, "checkpoint: invalid signature")  # forged key id

    def test_rejects_altered_size_line(self):
        c = self.case()
        c["checkpoint"] = c["checkpoint"].replace("\n11\n", "\n10\n", 1)
        self.assertFails(c, "checkpoint: invalid signature")

    def test_rejects_bad_receipt_signature(self):
        c = self.case()
        h, p, s = c["receipts"][1].split(".")
        sig = bytearray(base64.urlsafe_b64decode(s + "=="))
        sig[10] ^= 0x01
        c["receipts"][1] = f"{h}.{p}.{b64url(bytes(sig))}"
        self.assertFails(c, "receipts[1]: invalid Ed25519 signature")

    def test_rejects_non_canonical_entry(self):
        # The log itself commits to a non-canonical entry (extra space), so the
        # proof is valid and only the canonical-form check can catch it.
        entries = list(self.entries)
        entries[3] = entries[3].replace('"index":3', '"index": 3')
        c = build_case(entries, self.sk)
        self.assertFails(c, "entry index 3: entry is not canonical JSON")

    # --- further rejections ----------------------------------------------

    def test_rejects_bad_consistency_proof(self):
        c = self.case()
        c["consistency_path"] = c["consistency_path"][:-1]
        self.assertFails(c, "consistency proof 7 -> 11")

    def test_rejects_older_checkpoint_other_key(self):
        other = Ed25519PrivateKey.generate()
        c = self.case()
        body = c["older_checkpoint"].split("\n\n")[0] + "\n"
        c["older_checkpoint"] = sign_note(body, ORIGIN, other)
        self.assertFails(c, "older_checkpoint: no signature by the log key")

    def test_rejects_vkey_keyid_mismatch(self):
        c = self.case()
        name, kid, key = c["vkey"].split("+", 2)
        c["vkey"] = f"{name}+{'%08x' % (int(kid, 16) ^ 1)}+{key}"
        self.assertFails(c, "vkey: KEYID")

    def test_rejects_origin_mismatch(self):
        c = self.case()
        data = [e.encode() for e in self.entries]
        c["checkpoint"] = sign_note(checkpoint_body(11, mth(data), "other.example/log"),
                                    ORIGIN, self.sk)
        self.assertFails(c, "does not match key name")

    def test_rejects_entry_index_mismatch(self):
        entries = list(self.entries)
        entries[2] = make_entry(5).replace('"ex-0005"', '"ex-0002"')  # says index 5
        c = build_case(entries, self.sk, receipts_for=())
        self.assertFails(c, "entry index 2: entry 'index' field 5")

    def test_rejects_receipt_mismatches(self):
        c = self.case()
        c["receipts"][0] = make_receipt(self.sk, 0, self.entries[1])  # wrong leaf
        self.assertFails(c, "leaf_hash differs")
        c = self.case()
        c["receipts"][0] = make_receipt(self.sk, 0, self.entries[0], origin="evil.example")
        self.assertFails(c, "receipt for index 0 (receipts[0]): log")
        c = self.case()
        c["receipts"][0] = make_receipt(self.sk, 0, self.entries[0], header={"alg": "none"})
        self.assertFails(c, "not 'EdDSA'")
        c = self.case()
        other = Ed25519PrivateKey.generate()
        c["receipts"][0] = make_receipt(other, 0, self.entries[0])
        self.assertFails(c, "receipts[0]: invalid Ed25519 signature")

    def test_malformed_input_exits_2(self):
        self.assertFails("{not json", "MALFORMED", code=2)
        c = self.case()
        del c["checkpoint"]
        self.assertFails(c, "missing 'checkpoint'", code=2)
        c = self.case()
        c["entries"][0]["path"][0] = "zz"
        self.assertFails(c, "expected 64 hex digits", code=2)
        c = self.case()
        c["checkpoint"] = c["checkpoint"].replace("\u2014 ", "- ")
        self.assertFails(c, "MALFORMED", code=2)


if __name__ == "__main__":
    unittest.main()
