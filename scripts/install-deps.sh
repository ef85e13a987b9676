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
  test) need+=(promtool:prometheus) ;;
  bench) need+=(promtool:prometheus nginx:nginx-light) ;;
  *) echo "usage: $0 run|test|bench" >&2; exit 2 ;;
esac

missing=()
for pair in "${need[@]}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing Debian packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
