#!/usr/bin/env python3
"""Independent FHIR R4 structural check for Ponte's tests.

Validates each given JSON file with the Python library fhir.resources 6.4.0
(FHIR R4 4.0.1; pydantic 1), which shares no code with Ponte's Rust parser:
unknown elements, wrong types and missing required elements are errors.
Codes are not checked by that library.

    pip install "fhir.resources==6.4.0" "pydantic<2"
    check_fhir_r4.py FILE.json [FILE.json ...]

Exit 0 and "OK: N resources valid R4" when every file validates; otherwise
print "FAIL: <file>: <first error>" for each bad file to stderr and exit 1.
"""

import json
import sys

from fhir.resources import construct_fhir_element, __version__


def main(paths):
    if __version__ != "6.4.0":
        print(f"MALFORMED: fhir.resources {__version__} is not 6.4.0 (R4)", file=sys.stderr)
        return 2
    failures = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        try:
            construct_fhir_element(data["resourceType"], data)
        except Exception as error:  # pydantic.ValidationError and friends
            failures += 1
            first = str(error).splitlines()[:3]
            print(f"FAIL: {path}: {' / '.join(first)}", file=sys.stderr)
    if failures:
        return 1
    print(f"OK: {len(paths)} resources valid R4")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
