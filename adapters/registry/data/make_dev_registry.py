#!/usr/bin/env python3
"""Generate Ponte's development court registry, dev-registry.toml.

Reads the two shared CSV files of ../shared/registry/ (see its README.md) and
writes the registry data file described in docs/registry.md:

* four courts, the Tribunali Ordinari of Genova, Savona, Imperia and
  La Spezia, taken from uffici-giudiziari.csv by office code: name
  (`descrizione`, verbatim), PCT PEC deposit address (`pec_deposito`),
  registry VolontariaGiurisdizione (the QuickOrganizer list gives these four
  SICID "VG - Volontaria Giurisdizione"; no other registry is listed, so none
  is claimed) and the development encryption certificate;
* one competence row per comune of circondari-liguria.csv (234), in ISTAT
  order, whose court is:
  1. the `tribunale` column, where the CSV fills it (37 comuni of the former
     Albenga area, all Savona);
  2. else, for the comune where one of the four tribunals has its seat, that
     tribunal. A tribunal's circondario always contains its seat, so this is
     a derivation, not a guess. The seat is the ISTAT code in the first six
     digits of the office code, and is used only when uffici-giudiziari.csv
     names the same comune in its `comune` column;
  3. else "none": competence is not established, and a filing for that
     comune stops until the office chooses the court. The province-level
     working hypothesis of the README (section 3.5) is NOT applied.

The output depends only on the two CSV files: same input, same bytes. The
script fails (exit 1) rather than write a file it cannot justify: a missing
court row or PEC address, a `tribunale` value that is not one of the four
courts, or a seat rule that contradicts the CSV.

Usage, from any folder:

    python3 make_dev_registry.py            # rewrite dev-registry.toml
    python3 make_dev_registry.py --check    # exit 1 if the file is stale
    python3 make_dev_registry.py --shared DIR --out FILE

Needs Python 3.8 or later and nothing outside the standard library.
"""

import argparse
import csv
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# /work/main/adapters/registry/data -> /work/shared/registry
DEFAULT_SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "shared", "registry"))
DEFAULT_OUT = os.path.join(HERE, "dev-registry.toml")

# The four post-2013 Liguria tribunals (README section 3.2), in output order.
COURTS = ["0100250093", "0090560095", "0080310092", "0110150093"]
KIND = {"Tribunale Ordinario": "Tribunale"}
REGISTRIES = ["VolontariaGiurisdizione"]
# The development court encryption certificate written by `ponte certs dev`
# into certs/dev/ at the workspace root; relative paths in the data file are
# resolved against the data file's folder (adapters/registry/data/).
DEV_CERT = "../../../certs/dev/court-encryption.pem"
PROVINCES = [("IM", "Imperia"), ("SV", "Savona"), ("GE", "Genova"), ("SP", "La Spezia")]
CSV_SOURCE = "circondari-liguria.csv (tribunale column; its source column says why)"
SEAT_SOURCE = "seat of the tribunal (uffici-giudiziari.csv: office code and comune)"


def fail(message):
    print("make_dev_registry: " + message, file=sys.stderr)
    sys.exit(1)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def toml_str(value):
    """A TOML basic string."""
    out = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\u%04X" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def courts_from(offices):
    by_code = {}
    for row in offices:
        # The CSV repeats some offices (one row per source); keep the first.
        by_code.setdefault(row["codice_ufficio"], row)
    courts = []
    for code in COURTS:
        row = by_code.get(code)
        if row is None:
            fail("office %s not found in uffici-giudiziari.csv" % code)
        if row["tipo_ufficio"] not in KIND:
            fail("office %s has unexpected type %r" % (code, row["tipo_ufficio"]))
        if not row["pec_deposito"]:
            fail("office %s has no PEC deposit address" % code)
        if not row["comune"]:
            fail("office %s has no comune" % code)
        courts.append(
            {
                "code": code,
                "name": row["descrizione"],
                "kind": KIND[row["tipo_ufficio"]],
                "pec": row["pec_deposito"],
                "seat_istat": code[:6],
                "seat_comune": row["comune"],
                "province": row["provincia"],
            }
        )
    return courts


def competences_from(comuni, courts):
    codes = {c["code"] for c in courts}
    seats = {c["seat_istat"]: c for c in courts}
    rows = []
    seen = set()
    for row in sorted(comuni, key=lambda r: r["istat_comune"]):
        istat, name, province = row["istat_comune"], row["comune"], row["provincia"]
        if istat in seen:
            fail("comune %s appears twice" % istat)
        seen.add(istat)
        court, source = "none", None
        if row["tribunale"]:
            if row["tribunale"] not in codes:
                fail("comune %s: tribunale %s is not one of the four courts" % (istat, row["tribunale"]))
            court, source = row["tribunale"], CSV_SOURCE
        if istat in seats:
            seat = seats[istat]
            if seat["seat_comune"] != name or seat["province"] != province:
                fail("office %s: seat %s is %s (%s) in one file, %s (%s) in the other"
                     % (seat["code"], istat, seat["seat_comune"], seat["province"], name, province))
            if court not in ("none", seat["code"]):
                fail("comune %s: the CSV gives %s but it is the seat of %s" % (istat, court, seat["code"]))
            if court == "none":
                court, source = seat["code"], SEAT_SOURCE
        rows.append({"istat": istat, "comune": name, "province": province, "court": court, "source": source})
    for seat in seats:
        if seat not in seen:
            fail("seat %s of a court is not a Liguria comune in circondari-liguria.csv" % seat)
    return rows


def render(courts, rows):
    known = sum(1 for r in rows if r["court"] != "none")
    out = []
    w = out.append
    w("# Ponte development court registry (format 1, see docs/registry.md).")
    w("#")
    w("# GENERATED by make_dev_registry.py from ../shared/registry/uffici-giudiziari.csv")
    w("# and circondari-liguria.csv. Do not edit by hand: change the script or the")
    w("# CSV files and run it again (`--check` tells whether this file is stale).")
    w("#")
    w("# DEVELOPMENT DATA. Codes and PEC addresses are the real PCT ones as the shared")
    w("# CSV gives them, but the four courts share ONE development encryption")
    w("# certificate, the one `ponte certs dev` writes to certs/dev/ at the workspace")
    w("# root (the path below is relative to this file's folder). Never deposit with")
    w("# it: production imports the courts' real certificates (`ponte registry import`).")
    w("#")
    w("# Competence (volontaria giurisdizione): %d comuni, %d with a court, %d with" % (len(rows), known, len(rows) - known))
    w('# court = "none" because no source establishes their tribunal (see the shared')
    w("# README, section 3). A filing for those stops and the office chooses the court;")
    w("# the province-level hypothesis is deliberately not applied.")
    w("")
    w("format = 1")
    w("description = " + toml_str(
        "Development registry: the four Liguria tribunals and the competence of the Liguria comuni"))
    w("")
    w("# One row per comune, in ISTAT order. TOML requires top-level keys such as")
    w("# this array before the first table, so the [[court]] tables follow it.")
    w("competence = [")
    for code, pname in PROVINCES:
        w("  # Provincia di %s (%s)" % (pname, code))
        for r in rows:
            if r["province"] != code:
                continue
            fields = [
                "istat = " + toml_str(r["istat"]),
                "comune = " + toml_str(r["comune"]),
                "province = " + toml_str(r["province"]),
                "court = " + toml_str(r["court"]),
            ]
            if r["source"]:
                fields.append("source = " + toml_str(r["source"]))
            w("  { " + ", ".join(fields) + " },")
    w("]")
    for c in courts:
        w("")
        w("[[court]]")
        w("code = " + toml_str(c["code"]))
        w("name = " + toml_str(c["name"]))
        w("kind = " + toml_str(c["kind"]))
        w("pec_deposit = " + toml_str(c["pec"]))
        w("# Shared development certificate (see the header).")
        w("encryption_cert = " + toml_str(DEV_CERT))
        w("registries = [" + ", ".join(toml_str(r) for r in REGISTRIES) + "]")
    provinces = {p for p, _ in PROVINCES}
    for r in rows:
        if r["province"] not in provinces:
            fail("comune %s has unexpected province %s" % (r["istat"], r["province"]))
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", default=DEFAULT_SHARED, help="folder with the shared CSV files")
    parser.add_argument("--out", default=DEFAULT_OUT, help="file to write")
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 if different")
    args = parser.parse_args()

    offices = read_csv(os.path.join(args.shared, "uffici-giudiziari.csv"))
    comuni = read_csv(os.path.join(args.shared, "circondari-liguria.csv"))
    courts = courts_from(offices)
    text = render(courts, competences_from(comuni, courts))

    if args.check:
        try:
            with open(args.out, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != text:
            fail("%s is stale: run make_dev_registry.py" % args.out)
        return
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


if __name__ == "__main__":
    main()
