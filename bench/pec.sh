#!/usr/bin/env bash
# PEC deposits and receipts (issue 6): deposits per second through the local
# Postfix with [pec] workers = 2 and 4, receipts processed per second, and
# the gateway's resident memory while 10,000 filings wait in the outbox.
#
#   bench/pec.sh [pec_load.py options]
#       --filings N            filings waiting in the outbox (default 10000)
#       --seconds S            measured seconds per workers setting (default 30)
#       --workers 2,4          [pec] workers settings to run
#       --receipt-deposits M   deposits answered with 4 messages each (default 250)
#       --keep                 keep the store and the mail (default: cleaned up)
#
# Needs the local Postfix + Dovecot of scripts/pec-test-servers.sh (as root,
# once). Builds `ponte` in release mode, then runs bench/pec_load.py, which
# prints a Markdown table on stdout and writes JSON lines to
# bench-out/pec-<timestamp>.jsonl (git-ignored). About 2–3 minutes with the
# defaults on the 2-core machine of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

env_file=${PONTE_PEC_ENV:-/tmp/ponte-pec/env}
fail() { echo "bench/pec.sh: $*" >&2; exit 2; }

command -v python3 >/dev/null || fail "python3 is required"
[ -r "$env_file" ] || fail "$env_file missing: start the PEC test servers with scripts/pec-test-servers.sh (as root)"
[ -d ../shared/pct-xsd ] || fail "../shared/pct-xsd missing: the PCT schemas are needed to build the seed filing"
host=$(sed -n 's/^PONTE_PEC_HOST=//p' "$env_file")
for var in PONTE_PEC_SUBMISSION_PORT PONTE_PEC_IMAPS_PORT; do
    port=$(sed -n "s/^$var=//p" "$env_file")
    if ! (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
        fail "nothing listens on $host:$port ($var): start the PEC test servers with scripts/pec-test-servers.sh (as root)"
    fi
done
python3 tests/interop/pec_sim.py --env "$env_file" count >/dev/null ||
    fail "the court's box cannot be read (see above): restart scripts/pec-test-servers.sh"

echo "# building ponte (release)" >&2
cargo build --release -q -p ponte-gateway --bin ponte
echo "# $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" >&2
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
PONTE_PEC_ENV=$env_file python3 bench/pec_load.py --env "$env_file" "$@"
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
