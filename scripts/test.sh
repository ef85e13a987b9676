#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, unit tests and the black-box
# tests that start `ponte serve` and check it with curl, openssl and promtool,
# and the PEC tests against a local Postfix and Dovecot (started here).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
# The PEC adapter's tests talk to real SMTP/IMAP servers on 127.0.0.1; the
# script installs, configures and starts them (root needed: it uses sudo).
if [ "$(id -u)" -eq 0 ]; then
  scripts/pec-test-servers.sh
else
  sudo --preserve-env=PONTE_PEC_STATE,PONTE_PEC_ENV scripts/pec-test-servers.sh
fi
# A whole-suite run builds once: incremental caches would only double the
# disk it takes (set CARGO_INCREMENTAL=1 to keep them).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
cargo fmt --all -- --check
cargo clippy --locked --workspace --all-targets --all-features -- -D warnings
cargo test --locked --workspace --all-features
