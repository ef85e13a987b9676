#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, unit tests and the black-box
# tests that start `ponte serve` and check it with curl, openssl and promtool.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
cargo fmt --all -- --check
cargo clippy --locked --workspace --all-targets --all-features -- -D warnings
cargo test --locked --workspace --all-features
