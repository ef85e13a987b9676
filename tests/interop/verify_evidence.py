#!/usr/bin/env python3
"""Independent verifier for Ponte's evidence log.

This script re-checks, from first principles, evidence exported by a running
Ponte gateway: a signed checkpoint, inclusion proofs for log entries, an
optional consistency proof from an older checkpoint, and optional signed
receipts.  It is DELIBERATELY INDEPENDENT of the Rust implementation: it shares
no code with it and was written only from the public specifications and a
short prose description of Ponte's formats, so that a bug in the Rust code is
not silently reproduced here.  Dependencies: Python 3.11 standard library plus
the `cryptography` package (for Ed25519 only).

Specifications implemented here:
  * C2SP signed-note       - verifier key "NAME+KEYID+BASE64", note layout,
                             key id = SHA-256(NAME || 0x0A || 0x01 || pubkey)[:4].
  * C2SP tlog-checkpoint   - body "ORIGIN\\nSIZE\\nBASE64(ROOT)\\n" plus, in
                             Ponte, exactly one extra line "time <RFC 3339>".
  * RFC 6962 / RFC 9162    - leaf hash SHA-256(0x00||entry), node hash
                             SHA-256(0x01||left||right); inclusion proof
                             verification (RFC 9162 s2.1.3.2) and consistency
                             proof verification (RFC 9162 s2.1.4.2).
  * RFC 7515 / RFC 8037    - compact JWS with "alg":"EdDSA" (Ed25519).

What is checked (any failure rejects the whole case):
  1. The verifier key is well formed and its KEYID matches the public key.
  2. The checkpoint is a well-formed signed note, carries exactly one valid
     Ed25519 signature by that key (other keys' signatures are ignored, as the
     signed-note spec requires), and its origin line equals the key name.
  3. Every entry is canonical JSON (sorted keys, no whitespace, UTF-8), has
     "v" == 1 and "index" equal to its claimed index, and its inclusion proof
     leads to the checkpoint root at the checkpoint size.
  4. Optionally, an older checkpoint is validly signed by the same key, has
     the same origin, is not larger, and the consistency proof holds.
  5. Optionally, every receipt is a compact JWS with alg EdDSA, validly signed
     by the log key, with a well-formed payload for this log; when the
     receipt's index is among the proven entries, its leaf_hash and exchange
     must match that entry.

CLI contract:
  verify_evidence.py CASE.json
  exit 0  everything verified; one line "OK: ..." on stdout
  exit 1  evidence parsed but does not verify; "FAIL: ..." on stderr
  exit 2  malformed input (case file or an evidence item cannot be parsed
          in the expected format) or usage error; "MALFORMED: ..." on stderr
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# --------------------------------------------------------------------------
# Errors and exit codes
# --------------------------------------------------------------------------

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_MALFORMED = 2


class Malformed(Exception):
    """Input cannot be parsed in the expected format (exit 2)."""


class VerificationFailure(Exception):
    """Input parsed but a cryptographic or semantic check failed (exit 1)."""


HASH_LEN = 32
ED25519_PUB_LEN = 32
ED25519_SIG_LEN = 64
KEY_ALG_ED25519 = 0x01          # signed-note key-type byte for Ed25519
EM_DASH_PREFIX = "\u2014 "       # "— " starts every signature line

# --------------------------------------------------------------------------
# Strict decoding helpers
# --------------------------------------------------------------------------

_B64STD_RE = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")
_HEX32_RE = re.compile(r"[0-9a-fA-F]{64}")
_KEYID_RE = re.compile(r"[0-9a-f]{8}")
_DECIMAL_RE = re.compile(r"0|[1-9][0-9]*")
_RFC3339_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?"
    r"([Zz]|[+-]\d{2}:\d{2})"
)


def b64std_decode(s: str, what: str) -> bytes:
    """Standard, padded base64; rejects non-alphabet chars and non-canonical
    encodings (e.g. non-zero padding bits), so one value has one encoding."""
    if not isinstance(s, str) or len(s) % 4 != 0 or not _B64STD_RE.fullmatch(s):
        raise Malformed(f"{what}: not standard padded base64")
    raw = base64.b64decode(s, validate=True)
    if base64.b64encode(raw).decode("ascii") != s:
        raise Malformed(f"{what}: non-canonical base64")
    return raw


def b64url_decode(s: str, what: str) -> bytes:
    """base64url without padding (RFC 7515 s2), canonical encodings only."""
    if not isinstance(s, str) or len(s) % 4 == 1 or not _B64URL_RE.fullmatch(s):
        raise Malformed(f"{what}: not unpadded base64url")
    raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != s:
        raise Malformed(f"{what}: non-canonical base64url")
    return raw


def hex32_decode(s: Any, what: str) -> bytes:
    """A 32-byte hash as 64 hex digits."""
    if not isinstance(s, str) or not _HEX32_RE.fullmatch(s):
        raise Malformed(f"{what}: expected 64 hex digits")
    return bytes.fromhex(s)


def check_rfc3339(s: Any, what: str) -> None:
    """Syntax and range check of an RFC 3339 date-time (leap second allowed)."""
    m = _RFC3339_RE.fullmatch(s) if isinstance(s, str) else None
    if not m:
        raise Malformed(f"{what}: not an RFC 3339 timestamp: {s!r}")
    year, mon, day, hh, mm, ss = (int(g) for g in m.groups()[:6])
    try:
        datetime(year, mon, day, hh, mm, min(ss, 59))  # validates ranges
        if ss > 60:
            raise ValueError("second out of range")
        tz = m.group(8)
        if tz not in ("Z", "z"):
            oh, om = int(tz[1:3]), int(tz[4:6])
            timezone(timedelta(hours=oh, minutes=om))
            if om > 59:
                raise ValueError("offset minutes out of range")
    except ValueError as e:
        raise Malformed(f"{what}: invalid RFC 3339 timestamp {s!r}: {e}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for k, v in pairs:
        if k in obj:
            raise ValueError(f"duplicate JSON key {k!r}")
        obj[k] = v
    return obj


def strict_json_loads(text: str, what: str) -> Any:
    """json.loads that rejects duplicate keys and NaN/Infinity."""
    try:
        return json.loads(
            text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant
        )
    except ValueError as e:  # includes json.JSONDecodeError
        raise Malformed(f"{what}: invalid JSON: {e}") from None


def canonical_json(obj: Any) -> str:
    """The canonical form Ponte uses for entries (per the format description)."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def is_int(v: Any) -> bool:
    """True for JSON integers only (Python's bool is a subclass of int)."""
    return isinstance(v, int) and not isinstance(v, bool)


def ed25519_verify(pub: bytes, sig: bytes, msg: bytes) -> bool:
    if len(sig) != ED25519_SIG_LEN:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
        return True
    except InvalidSignature:
        return False


# --------------------------------------------------------------------------
# RFC 6962 / RFC 9162 Merkle tree hashing and proof verification
# --------------------------------------------------------------------------

def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node = SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) for the empty tree


def verify_inclusion(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 s2.1.3.2, step by step."""
    # 1. leaf_index must be < tree_size.
    if index < 0 or index >= size:
        return False
    # 2. fn = leaf_index, sn = tree_size - 1.
    fn, sn = index, size - 1
    # 3. r = hash.
    r = leaf
    # 4. For each p in inclusion_path:
    for p in path:
        # a. If sn is 0, the path is too long.
        if sn == 0:
            return False
        # b. If LSB(fn) is set, or fn == sn:
        if fn & 1 or fn == sn:
            # i. r = HASH(0x01 || p || r)
            r = node_hash(p, r)
            # ii. If LSB(fn) is not set, right-shift fn and sn equally until
            #     either LSB(fn) is set or fn is 0.
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            # Otherwise: r = HASH(0x01 || r || p)
            r = node_hash(r, p)
        # c. Right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 5. sn must be 0 (path not too short) and r must equal the root.
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: list[bytes]
) -> bool:
    """RFC 9162 s2.1.4.2, plus the trivial cases first == second and first == 0
    (for which RFC 6962 PROOF() is the empty list)."""
    if first < 0 or first > second:
        return False
    if first == second:
        return len(path) == 0 and first_root == second_root
    if first == 0:
        # Every tree extends the empty tree; its root is SHA-256("").
        return len(path) == 0 and first_root == EMPTY_ROOT
    # 1. An empty consistency_path fails.
    if not path:
        return False
    path = list(path)
    # 2. If first is an exact power of 2, prepend first_hash.
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    # 3. fn = first - 1, sn = second - 1.
    fn, sn = first - 1, second - 1
    # 4. If LSB(fn) is set, right-shift fn and sn equally until it is not.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. fr = sr = first value of consistency_path.
    fr = sr = path[0]
    # 6. For each subsequent value c in consistency_path:
    for c in path[1:]:
        # a. If sn is 0, the path is too long.
        if sn == 0:
            return False
        # b. If LSB(fn) is set, or fn == sn:
        if fn & 1 or fn == sn:
            # i. fr = HASH(0x01 || c || fr), sr = HASH(0x01 || c || sr)
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            # ii. If LSB(fn) is not set, right-shift fn and sn equally until
            #     either LSB(fn) is set or fn is 0.
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            # Otherwise: sr = HASH(0x01 || sr || c)
            sr = node_hash(sr, c)
        # c. Right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 7. fr == first_hash, sr == second_hash and sn == 0.
    return fr == first_root and sr == second_root and sn == 0


# --------------------------------------------------------------------------
# C2SP signed-note: verifier key, note parsing/verification, checkpoint
# --------------------------------------------------------------------------

def _valid_key_name(name: str) -> bool:
    """signed-note: a key name is non-empty, has no whitespace and no '+'."""
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


def note_key_id(name: str, alg_and_key: bytes) -> bytes:
    """signed-note key id: SHA-256(name || '\\n' || alg byte || key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + alg_and_key).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    name: str
    key_id: bytes   # 4 bytes
    pubkey: bytes   # 32-byte Ed25519 public key


def parse_vkey(vkey: Any) -> VerifierKey:
    """Parse "NAME+KEYID+BASE64" and check that KEYID matches the key."""
    if not isinstance(vkey, str):
        raise Malformed("vkey: not a string")
    # NAME cannot contain '+', but the base64 alphabet can: split twice only.
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise Malformed("vkey: expected NAME+KEYID+BASE64")
    name, keyid_hex, key_b64 = parts
    if not _valid_key_name(name):
        raise Malformed(f"vkey: invalid key name {name!r}")
    if not _KEYID_RE.fullmatch(keyid_hex):
        raise Malformed("vkey: KEYID must be 8 lowercase hex digits")
    key = b64std_decode(key_b64, "vkey key")
    if len(key) != 1 + ED25519_PUB_LEN or key[0] != KEY_ALG_ED25519:
        raise Malformed("vkey: key must be 0x01 followed by a 32-byte Ed25519 key")
    expected = note_key_id(name, key)
    if expected.hex() != keyid_hex:
        raise VerificationFailure(
            f"vkey: KEYID {keyid_hex} does not match key (expected {expected.hex()})"
        )
    return VerifierKey(name=name, key_id=expected, pubkey=key[1:])


def open_note(note: Any, vk: VerifierKey, what: str) -> str:
    """Verify a signed note against one Ed25519 key; return the body text
    (everything before the blank line, including its final newline).

    Per signed-note: signature lines from other keys (different name or key
    id) are ignored; a line from this key that does not verify is an error;
    at least one valid signature from this key is required.  We additionally
    reject duplicate signature lines from this key."""
    if not isinstance(note, str):
        raise Malformed(f"{what}: not a string")
    # Notes are UTF-8 text; ASCII control characters other than '\n' are banned.
    if any((ord(ch) < 0x20 and ch != "\n") or ch == "\x7f" for ch in note):
        raise Malformed(f"{what}: control character in note")
    if not note.endswith("\n"):
        raise Malformed(f"{what}: note does not end with a newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise Malformed(f"{what}: no blank line between text and signatures")
    body = note[: split + 1]
    sig_block = note[split + 2:]
    if not body or body == "\n":
        raise Malformed(f"{what}: empty note text")
    if not sig_block:
        raise Malformed(f"{what}: no signature lines")

    valid = 0
    for line in sig_block[:-1].split("\n"):
        if not line.startswith(EM_DASH_PREFIX):
            raise Malformed(f"{what}: signature line does not start with '\u2014 '")
        fields = line[len(EM_DASH_PREFIX):].split(" ")
        if len(fields) != 2:
            raise Malformed(f"{what}: signature line must be '\u2014 NAME BASE64'")
        name, sig_b64 = fields
        if not _valid_key_name(name):
            raise Malformed(f"{what}: invalid signer name {name!r}")
        blob = b64std_decode(sig_b64, f"{what} signature")
        if len(blob) < 5:
            raise Malformed(f"{what}: signature too short")
        key_id, sig = blob[:4], blob[4:]
        if name != vk.name or key_id != vk.key_id:
            continue  # someone else's (co)signature: ignored by design
        if valid:
            raise Malformed(f"{what}: duplicate signature from the log key")
        if not ed25519_verify(vk.pubkey, sig, body.encode("utf-8")):
            raise VerificationFailure(f"{what}: invalid signature by {vk.name}")
        valid += 1
    if not valid:
        raise VerificationFailure(f"{what}: no signature by the log key {vk.name}")
    return body


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    time: str


def parse_checkpoint_body(body: str, what: str) -> Checkpoint:
    """Ponte checkpoint body: ORIGIN, SIZE, BASE64(ROOT), 'time RFC3339'."""
    lines = body.split("\n")
    if lines[-1] != "" or len(lines) != 5:
        raise Malformed(f"{what}: expected exactly 4 body lines (origin, size, root, time)")
    origin, size_s, root_b64, time_line = lines[:4]
    if not origin:
        raise Malformed(f"{what}: empty origin line")
    if not _DECIMAL_RE.fullmatch(size_s):
        raise Malformed(f"{what}: size line is not a canonical decimal: {size_s!r}")
    root = b64std_decode(root_b64, f"{what} root")
    if len(root) != HASH_LEN:
        raise Malformed(f"{what}: root hash is not 32 bytes")
    if not time_line.startswith("time "):
        raise Malformed(f"{what}: 4th line must be 'time <RFC 3339>'")
    ts = time_line[len("time "):]
    check_rfc3339(ts, f"{what} time")
    return Checkpoint(origin=origin, size=int(size_s), root=root, time=ts)


def verify_checkpoint(note: Any, vk: VerifierKey, what: str) -> Checkpoint:
    body = open_note(note, vk, what)   # signature first, then interpret body
    cp = parse_checkpoint_body(body, what)
    if cp.origin != vk.name:
        raise VerificationFailure(
            f"{what}: origin {cp.origin!r} does not match key name {vk.name!r}"
        )
    return cp


# --------------------------------------------------------------------------
# Entries
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class ProvenEntry:
    index: int
    leaf: bytes
    obj: dict[str, Any]


def verify_entry(item: Any, pos: int, cp: Checkpoint) -> ProvenEntry:
    what = f"entries[{pos}]"
    if not isinstance(item, dict):
        raise Malformed(f"{what}: not an object")
    for k in ("index", "entry", "path"):
        if k not in item:
            raise Malformed(f"{what}: missing {k!r}")
    index, text, path = item["index"], item["entry"], item["path"]
    if not is_int(index) or index < 0:
        raise Malformed(f"{what}: index must be a non-negative integer")
    what = f"entry index {index}"
    if not isinstance(text, str):
        raise Malformed(f"{what}: 'entry' must be a string")
    if not isinstance(path, list):
        raise Malformed(f"{what}: 'path' must be a list")
    proof = [hex32_decode(h, f"{what} path[{i}]") for i, h in enumerate(path)]
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise Malformed(f"{what}: entry is not valid Unicode text") from None

    # Inclusion: the exact bytes, at the claimed index, under the signed root.
    leaf = leaf_hash(data)
    if not verify_inclusion(index, cp.size, leaf, proof, cp.root):
        raise VerificationFailure(
            f"{what}: inclusion proof does not verify against checkpoint "
            f"(size {cp.size}, root {cp.root.hex()})"
        )

    # Content: canonical JSON, version 1, self-describing index.
    obj = strict_json_loads(text, what)
    if not isinstance(obj, dict):
        raise Malformed(f"{what}: entry JSON is not an object")
    if canonical_json(obj) != text:
        raise VerificationFailure(f"{what}: entry is not canonical JSON")
    if not (is_int(obj.get("v")) and obj["v"] == 1):
        raise VerificationFailure(f"{what}: entry 'v' is not 1")
    if not (is_int(obj.get("index")) and obj["index"] == index):
        raise VerificationFailure(
            f"{what}: entry 'index' field {obj.get('index')!r} differs from its position"
        )
    return ProvenEntry(index=index, leaf=leaf, obj=obj)


# --------------------------------------------------------------------------
# Receipts (compact JWS, EdDSA / Ed25519)
# --------------------------------------------------------------------------

RECEIPT_KEYS = frozenset({"exchange", "index", "leaf_hash", "log", "request_sha256", "time", "v"})


def verify_receipt(
    jws: Any, pos: int, vk: VerifierKey, proven: dict[int, ProvenEntry]
) -> bool:
    """Verify one receipt; return True if it was bound to a proven entry."""
    what = f"receipts[{pos}]"
    if not isinstance(jws, str):
        raise Malformed(f"{what}: not a string")
    parts = jws.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise Malformed(f"{what}: not a compact JWS (header.payload.signature)")
    h_b64, p_b64, s_b64 = parts
    header_raw = b64url_decode(h_b64, f"{what} header")
    payload_raw = b64url_decode(p_b64, f"{what} payload")
    sig = b64url_decode(s_b64, f"{what} signature")
    try:
        header = strict_json_loads(header_raw.decode("utf-8"), f"{what} header")
        payload = strict_json_loads(payload_raw.decode("utf-8"), f"{what} payload")
    except UnicodeDecodeError:
        raise Malformed(f"{what}: header or payload is not UTF-8") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise Malformed(f"{what}: header and payload must be JSON objects")

    # Header: only EdDSA; refuse "crit" (we understand no extensions, RFC 7515
    # s4.1.11), which also rules out the RFC 7797 unencoded-payload mode.
    if header.get("alg") != "EdDSA":
        raise VerificationFailure(f"{what}: header alg is {header.get('alg')!r}, not 'EdDSA'")
    if "crit" in header:
        raise VerificationFailure(f"{what}: header has unsupported 'crit'")

    # Signature over the ASCII signing input exactly as transmitted.
    signing_input = (h_b64 + "." + p_b64).encode("ascii")
    if not ed25519_verify(vk.pubkey, sig, signing_input):
        raise VerificationFailure(f"{what}: invalid Ed25519 signature")

    # Payload shape.
    if set(payload) != RECEIPT_KEYS:
        raise Malformed(
            f"{what}: payload keys {sorted(payload)} != {sorted(RECEIPT_KEYS)}"
        )
    index = payload["index"]
    if not is_int(index) or index < 0:
        raise Malformed(f"{what}: payload index must be a non-negative integer")
    what = f"receipt for index {index} (receipts[{pos}])"
    rleaf = hex32_decode(payload["leaf_hash"], f"{what} leaf_hash")
    hex32_decode(payload["request_sha256"], f"{what} request_sha256")
    check_rfc3339(payload["time"], f"{what} time")
    if not (is_int(payload["v"]) and payload["v"] == 1):
        raise VerificationFailure(f"{what}: 'v' is not 1")
    if payload["log"] != vk.name:
        raise VerificationFailure(f"{what}: log {payload['log']!r} is not {vk.name!r}")

    # Binding to a proven entry, when we have one at that index.
    entry = proven.get(index)
    if entry is None:
        return False
    if rleaf != entry.leaf:
        raise VerificationFailure(f"{what}: leaf_hash differs from the proven entry's leaf hash")
    if "exchange" not in entry.obj:
        raise VerificationFailure(f"{what}: proven entry has no 'exchange' field")
    # Compare as canonical JSON so that e.g. true and 1 are not confused.
    if canonical_json(entry.obj["exchange"]) != canonical_json(payload["exchange"]):
        raise VerificationFailure(f"{what}: exchange differs from the proven entry's exchange")
    return True


# --------------------------------------------------------------------------
# Whole case
# --------------------------------------------------------------------------

def verify_case(case: Any) -> str:
    """Verify a parsed CASE object; return the one-line OK summary or raise
    Malformed / VerificationFailure."""
    if not isinstance(case, dict):
        raise Malformed("case: top level is not a JSON object")
    for k in ("vkey", "checkpoint", "entries"):
        if k not in case:
            raise Malformed(f"case: missing {k!r}")
    if ("older_checkpoint" in case) != ("consistency_path" in case):
        raise Malformed("case: 'older_checkpoint' and 'consistency_path' go together")

    vk = parse_vkey(case["vkey"])
    cp = verify_checkpoint(case["checkpoint"], vk, "checkpoint")

    entries = case["entries"]
    if not isinstance(entries, list):
        raise Malformed("case: 'entries' must be a list")
    proven: dict[int, ProvenEntry] = {}
    for pos, item in enumerate(entries):
        e = verify_entry(item, pos, cp)
        # Two proven leaves at one index would mean a SHA-256 collision.
        if e.index in proven and proven[e.index].leaf != e.leaf:
            raise VerificationFailure(f"entry index {e.index}: two different entries proven")
        proven[e.index] = e

    summary = [
        f"log {vk.name} key {vk.key_id.hex()}",
        f"checkpoint size {cp.size} root {cp.root.hex()}",
        f"{len(entries)} entries included",
    ]

    if "older_checkpoint" in case:
        old = verify_checkpoint(case["older_checkpoint"], vk, "older_checkpoint")
        cpath = case["consistency_path"]
        if not isinstance(cpath, list):
            raise Malformed("case: 'consistency_path' must be a list")
        proof = [hex32_decode(h, f"consistency_path[{i}]") for i, h in enumerate(cpath)]
        if old.size > cp.size:
            raise VerificationFailure(
                f"older_checkpoint: size {old.size} is larger than checkpoint size {cp.size}"
            )
        if not verify_consistency(old.size, cp.size, old.root, cp.root, proof):
            raise VerificationFailure(
                f"consistency proof {old.size} -> {cp.size} does not verify"
            )
        summary.append(f"consistent {old.size}->{cp.size}")

    if "receipts" in case:
        receipts = case["receipts"]
        if not isinstance(receipts, list):
            raise Malformed("case: 'receipts' must be a list")
        bound = sum(verify_receipt(r, i, vk, proven) for i, r in enumerate(receipts))
        summary.append(f"{len(receipts)} receipts ({bound} bound to proven entries)")

    return "OK: " + "; ".join(summary)


def load_case(path: str) -> Any:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise Malformed(f"cannot read {path}: {e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed(f"{path}: not UTF-8") from None
    return strict_json_loads(text, path)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("MALFORMED: usage: verify_evidence.py CASE.json", file=sys.stderr)
        return EXIT_MALFORMED
    try:
        print(verify_case(load_case(argv[1])))
        return EXIT_OK
    except VerificationFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return EXIT_FAIL
    except Malformed as e:
        print(f"MALFORMED: {e}", file=sys.stderr)
        return EXIT_MALFORMED
    except Exception as e:  # a bug here must never look like success
        print(f"MALFORMED: internal error {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_MALFORMED


if __name__ == "__main__":
    sys.exit(main(sys.argv))
