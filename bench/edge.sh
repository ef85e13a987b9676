#!/usr/bin/env bash
# Side-by-side benchmark of Ponte's mutual-TLS edge and nginx terminating the
# same mutual TLS (same certificates, CA and CRL) with a static reply.
#
#   bench/edge.sh [seconds]        (default 10 s per measurement)
#
# Both servers run on loopback on this machine; the load generator
# (tests/load, `ponte-load`) shares the same 2 cores, so absolute figures are
# for client + server together. Results: a Markdown table on stdout and the
# raw JSON lines in bench-out/edge-<timestamp>.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
scripts/install-deps.sh bench
cargo build --release --locked -q -p ponte-gateway -p ponte-load
bin=target/release
work=$(mktemp -d)
out=bench-out/edge-$(date +%Y%m%dT%H%M%S).jsonl
mkdir -p bench-out
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

"$bin/ponte" certs dev --out "$work/pki" >/dev/null
pki=$work/pki
ponte_port=18443 nginx_port=18444 admin_port=19464

cat > "$work/ponte.toml" <<TOML
mode = "production"
[server]
listen = "127.0.0.1:$ponte_port"
[tls]
cert = "$pki/server.pem"
key = "$pki/server.key"
client_cas = ["$pki/ca.pem"]
crls = ["$pki/ca.crl.pem"]
[admin]
listen = "127.0.0.1:$admin_port"
[store]
url = "sqlite:$work/data/ponte.db"
[dev_pki]
auto_create = false
# The filing pipeline is off: the benchmark measures the edge alone (in production
# the pipeline also needs an [office], which the benchmark has no use for).
[pct]
enabled = false
$(sed -n '/^\[\[agencies\]\]/,$p' config/ponte.toml)
TOML

RUST_LOG=warn "$bin/ponte" serve --config "$work/ponte.toml" >"$work/ponte.out" 2>"$work/ponte.err" &
ponte_pid=$!; pids+=("$ponte_pid")
for _ in $(seq 100); do grep -q "ponte listening" "$work/ponte.out" 2>/dev/null && break; sleep 0.1; done
sleep 2
rss_idle=$(awk '/VmRSS/ {print $2}' "/proc/$ponte_pid/status")

mkdir -p "$work/nginx"
sed -e "s#@PORT@#$nginx_port#g" -e "s#@CERT@#$pki/server.pem#g" -e "s#@KEY@#$pki/server.key#g" \
    -e "s#@CA@#$pki/ca.pem#g" -e "s#@CRL@#$pki/ca.crl.pem#g" -e "s#@PREFIX@#$work/nginx#g" \
    bench/nginx-mtls.conf.template > "$work/nginx.conf"
nginx -e "$work/nginx/error.log" -c "$work/nginx.conf" &
pids+=("$!")
sleep 1

load() { # name port args...
  local name=$1 port=$2; shift 2
  "$bin/ponte-load" --url "https://127.0.0.1:$port/whoami" --server-name localhost \
    --ca "$pki/ca.pem" --cert "$pki/client-asl3-genovese.pem" --key "$pki/client-asl3-genovese.key" \
    --duration "${secs}s" --warmup 2s --json "$@" | sed "s/^{/{\"server\":\"$name\",/" | tee -a "$out"
}
for server in ponte:$ponte_port nginx:$nginx_port; do
  name=${server%%:*} port=${server##*:}
  load "$name" "$port" --connections 64 --mode keepalive >/dev/null || true
  load "$name" "$port" --connections 32 --mode keepalive --rate 1000 >/dev/null || true
  load "$name" "$port" --connections 16 --mode handshake >/dev/null || true
done
rss_after=$(awk '/VmRSS/ {print $2}' "/proc/$ponte_pid/status")

python3 - "$out" "$rss_idle" "$rss_after" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def pick(server, mode, rate):
    for r in rows:
        if r["server"] == server and r["mode"] == mode and (r["rate"] is None) == (rate is None):
            return r
    return None
print("| measurement | Ponte | nginx | Ponte / nginx |")
print("|---|---|---|---|")
def line(label, mode, rate, key, fmt):
    p, n = pick("ponte", mode, rate), pick("nginx", mode, rate)
    if not p or not n: return
    pv, nv = key(p), key(n)
    ratio = f"{pv / nv:.2f}" if nv else "-"
    print(f"| {label} | {fmt(pv)} | {fmt(nv)} | {ratio} |")
line("requests/s, keep-alive, 64 connections", "keepalive", None, lambda r: r["requests_per_sec"], lambda v: f"{v:,.0f}")
line("p50 latency at 1,000 req/s (ms)", "keepalive", 1000, lambda r: r["latency_ms"]["p50"], lambda v: f"{v:.2f}")
line("p99 latency at 1,000 req/s (ms)", "keepalive", 1000, lambda r: r["latency_ms"]["p99"], lambda v: f"{v:.2f}")
line("full mTLS handshakes/s, 16 connections", "handshake", None, lambda r: r["handshakes_per_sec"], lambda v: f"{v:,.0f}")
errs = sum(r["status_errors"] + r["io_errors"] for r in rows)
print(f"\nPonte RSS: idle {int(sys.argv[2])/1024:.1f} MiB, after the runs {int(sys.argv[3])/1024:.1f} MiB; errors in all runs: {errs}")
PY
echo "raw results: $out"
