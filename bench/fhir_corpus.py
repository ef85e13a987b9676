#!/usr/bin/env python3
"""Times Python's fhir.resources parsing the official FHIR R4 JSON examples.

The counterpart of the Rust benchmark `corpus/parse` in
adapters/fhir/benches/fhir_parse.rs (issue 4: Ponte's parse should be at
least 20 times faster than fhir.resources on the same files, same machine,
one thread). Setup, once per machine:

    pip install "fhir.resources==6.4.0" "pydantic<2"

fhir.resources 6.4.0 holds the R4 (4.0.1) models on pydantic 1; it decodes
JSON with orjson when orjson is installed (this script says whether it is).

    bench/fhir_corpus.py [--dir DIR] [--passes N] [--wrapped] [--json]

Each file is read into memory first. One timed pass then builds, for every
file, the model of its resourceType with
`fhir.resources.construct_fhir_element(resourceType, raw_bytes)`: JSON
decoding and pydantic validation, from the bytes as Rust gets them. The
resourceType is read beforehand (not timed). With --wrapped every
non-Bundle resource is instead wrapped in a `collection` Bundle with one
`urn:uuid:` fullUrl and parsed as a Bundle, exactly the bytes the Rust
benchmark parses. A failure (a ValidationError, say) is timed like a
success and counted. One untimed pass warms the model imports up, then
--passes timed passes (default 5); the best and the median are reported.
"""

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

import fhir.resources
from fhir.resources import construct_fhir_element

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared/fhir-examples/r4/json"
FULL_URL = "urn:uuid:00000000-0000-0000-0000-000000000000"


def load(directory, wrapped):
    """(name, resourceType, bytes) for every JSON file, sorted by name."""
    out = []
    for path in sorted(directory.glob("*.json")):
        raw = path.read_bytes()
        value = json.loads(raw)
        rtype = value["resourceType"]
        if wrapped and rtype != "Bundle":
            # serde_json's compact form, as the Rust benchmark writes it.
            raw = json.dumps(
                {"resourceType": "Bundle", "type": "collection",
                 "entry": [{"fullUrl": FULL_URL, "resource": value}]},
                separators=(",", ":"), ensure_ascii=False).encode()
            rtype = "Bundle"
        out.append((path.name, rtype, raw))
    return out


def one_pass(files):
    """Seconds for one pass; names of the files refused."""
    refused = []
    start = time.perf_counter()
    for name, rtype, raw in files:
        try:
            construct_fhir_element(rtype, raw)
        except Exception:  # noqa: BLE001 — any refusal counts the same
            refused.append(name)
    return time.perf_counter() - start, refused


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument("--wrapped", action="store_true",
                    help="wrap non-Bundles in a collection Bundle, as the Rust benchmark does")
    ap.add_argument("--json", action="store_true", help="one JSON line instead of text")
    args = ap.parse_args()

    files = load(args.dir, args.wrapped)
    if not files:
        sys.exit(f"no JSON files in {args.dir}")
    total_bytes = sum(len(raw) for _, _, raw in files)
    try:
        import orjson  # noqa: F401
        decoder = "orjson"
    except ImportError:
        decoder = "json"
    import pydantic

    one_pass(files)  # warm-up: imports every model module used
    times = []
    refused = []
    for _ in range(args.passes):
        gc.collect()
        seconds, refused = one_pass(files)
        times.append(seconds)
    best, median = min(times), statistics.median(times)
    result = {
        "tool": "fhir.resources",
        "fhir_resources": getattr(fhir.resources, "__version__", "?"),
        "fhir_version": getattr(fhir.resources, "__fhir_version__", "?"),
        "pydantic": pydantic.VERSION,
        "pydantic_compiled": bool(getattr(pydantic, "compiled", False)),
        "json_decoder": decoder,
        "python": sys.version.split()[0],
        "wrapped": args.wrapped,
        "files": len(files),
        "bytes": total_bytes,
        "refused": len(refused),
        "refused_files": refused,
        "passes": args.passes,
        "seconds_best": best,
        "seconds_median": median,
        "seconds_all": times,
        "mib_per_sec_best": total_bytes / best / 2**20,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"fhir.resources {result['fhir_resources']} (FHIR {result['fhir_version']}), "
          f"pydantic {result['pydantic']} (compiled: {result['pydantic_compiled']}), "
          f"JSON decoder {decoder}, Python {result['python']}")
    print(f"{len(files)} files{' (wrapped in collection Bundles)' if args.wrapped else ''}, "
          f"{total_bytes:,} bytes; {len(refused)} refused")
    print(f"one pass: best {best * 1000:.1f} ms, median {median * 1000:.1f} ms "
          f"of {args.passes} ({result['mib_per_sec_best']:.2f} MiB/s at best)")
    for name in refused:
        print(f"    refused: {name}")


if __name__ == "__main__":
    main()
