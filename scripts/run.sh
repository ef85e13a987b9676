#!/usr/bin/env bash
# Builds and runs the gateway on its embedded development defaults:
# creates certs/dev and data/ on first start, serves HTTPS (mutual TLS) on
# :8443 and metrics on 127.0.0.1:9464. Extra arguments go to `ponte serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh run
exec cargo run --release --locked -p ponte-gateway --bin ponte -- serve "$@"
