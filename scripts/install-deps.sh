#!/usr/bin/env bash
# Installs the Debian packages Ponte needs, only those missing.
#   scripts/install-deps.sh run    what building and running needs
#   scripts/install-deps.sh test   that, plus the independent checkers the tests use
#   scripts/install-deps.sh bench  that, plus nginx for the side-by-side benchmark
set -euo pipefail

purpose=${1:-run}
# command-to-check:debian-package
need=(cc:gcc pkg-config:pkg-config curl:curl openssl:openssl)
case "$purpose" in
  run) ;;
  # poppler-utils (pdftotext, pdfinfo, pdffonts) and qpdf check the main
  # act's PDF (adapters/pct/tests/mainact.rs).
  test) need+=(promtool:prometheus python3:python3 pdftotext:poppler-utils qpdf:qpdf) ;;
  bench) need+=(promtool:prometheus nginx:nginx-light) ;;
  *) echo "usage: $0 run|test|bench" >&2; exit 2 ;;
esac

# Libraries the build links against (no command to look for): checked with dpkg.
# libssl-dev: OpenSSL for CMS signatures and envelopes; libxml2-dev and
# libclang-dev (bindgen): the Ministry's XSD validation through libxml2.
libs=(libssl-dev libxml2-dev libclang-dev)
case "$purpose" in
  # xmllint and the openssl CLI are the tests' independent checkers;
  # SoftHSM2 is the PKCS#11 token the signer tests use.
  test|bench) need+=(xmllint:libxml2-utils softhsm2-util:softhsm2) ;;
esac

missing=()
for pair in "${need[@]}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
for lib in "${libs[@]}"; do
  dpkg-query -W -f='${Status}' "$lib" 2>/dev/null | grep -q "install ok installed" || missing+=("$lib")
done
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}" >&2
  if [ -n "$sudo" ] && ! command -v sudo >/dev/null 2>&1; then
    echo "need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Independent checkers written in Python (FHIR R4 structure with
# fhir.resources 6.4.0, the evidence-log verifier with cryptography) live in
# a private virtual environment, so nothing is installed system-wide.
if [ "$purpose" = test ] || [ "$purpose" = bench ]; then
  venv=.venv-interop
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "installing Debian package: python3-venv" >&2
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  fi
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import fhir.resources, cryptography' >/dev/null 2>&1; then
    echo "preparing $venv (fhir.resources 6.4.0, pydantic 1, cryptography)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check \
      "fhir.resources==6.4.0" "pydantic<2" "cryptography>=42"
  fi
fi
