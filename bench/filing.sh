#!/usr/bin/env bash
# PCT filing build (issue 5): filings built per second on one core, for a
# Bundle of about 100 KB and one of about 10 MB (mapping, DatiAtto and
# IndiceBusta checked against the XSD, main act PDF, two CAdES signatures
# RSA-2048, Atto.msg, Atto.enc), with the split by stage and the floor of
# two bare signatures, and the rate with two builds at once
# (filing_parallel, both cores).
#
#   bench/filing.sh [criterion options]
#       (default: --warm-up-time 2 --measurement-time 8)
#
# Runs gateway/benches/filing_build.rs, then `openssl speed rsa2048` for the
# OpenSSL reference of this machine. Output: Criterion's report on stdout
# (and target/criterion/), the input and artefact sizes on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -eq 0 ]; then
    set -- --warm-up-time 2 --measurement-time 8
fi

echo "# $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
cargo bench -p ponte-gateway --bench filing_build -- "$@"
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if command -v openssl >/dev/null; then
    echo "# OpenSSL reference, one core:"
    openssl speed -seconds 5 rsa2048 2>/dev/null | tail -n 2
fi
