#!/usr/bin/env bash
# FHIR intake end to end (issue 4): capacity reports of about 20 KB POSTed to
# /fhir/Bundle over keep-alive mutual TLS, each accepted durably before its
# 201 (exchange, evidence-log entry, submission, Task and work-queue row in
# one fsync'd, group-committed SQLite transaction).
#
#   bench/intake.sh [seconds]      (default 10 s per measurement)
#
# Ponte (release build, production mode, a throwaway dev PKI, a fresh store)
# and the load generator (tests/load, `ponte-load`) share the 2 cores of
# this machine on loopback, as in bench/edge.sh. Results: a Markdown table on
# stdout, the raw JSON lines in bench-out/intake-<timestamp>.jsonl and the
# bodies beside them.
#
# Two bodies, both from tests/fixtures/fhir/valid/capacity-genova-parodi.json
# with one more paragraph of clinical text in the first section's narrative
# (PADDING below, the same text as in adapters/fhir/benches/fhir_parse.rs,
# so the document body is byte for byte the bench's `json_20k`):
#
# - document: the padded document Bundle as it is. Every request carries a
#   unique Idempotency-Key (`--unique-header idempotency-key`), but the
#   gateway also treats Bundle.identifier as an idempotency key, so every
#   copy after the first is a *replay* of the first answer, not a new
#   submission. Measured to show that cost, and checked by counting rows.
# - message: the same content as a message Bundle (a MessageHeader whose
#   focus is the Composition, Bundle.type message) without Bundle.identifier,
#   which only documents must carry (bdl-9). With a unique Idempotency-Key,
#   every request is a new submission stored durably: this is the body of
#   the accepted-submissions measurements.
#
# Measurements, each with --warmup 0s so that the client's count of 201s
# covers every request sent (the server was warmed up by the runs before):
#   warm-up     message, closed loop, 64 connections, 3 s (not reported)
#   accept      message, closed loop, 64 connections: accepted submissions/s
#   latency     message, open loop, 1,000 req/s over 32 connections: p50/p99
#   latency500  the same at 500 req/s, for the latency below saturation
#   replay      document, closed loop, 64 connections: replays/s
# After each run the rows added to submission, task, work_queue, exchange
# and evidence_entry are counted (python3's sqlite3) and compared with the
# 201s the client received, and Ponte's CPU time over the run (user +
# system, from /proc/PID/stat) is divided by the requests: a per-request
# cost that other load on the machine does not inflate much.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
cargo build --release --locked -q -p ponte-gateway -p ponte-load
bin=target/release
work=$(mktemp -d)
stamp=$(date +%Y%m%dT%H%M%S)
out=bench-out/intake-$stamp.jsonl
mkdir -p bench-out
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

"$bin/ponte" certs dev --out "$work/pki" >/dev/null
pki=$work/pki
port=18453 admin_port=19474
db=$work/data/ponte.db

cat > "$work/ponte.toml" <<TOML
mode = "production"
[server]
listen = "127.0.0.1:$port"
[tls]
cert = "$pki/server.pem"
key = "$pki/server.key"
client_cas = ["$pki/ca.pem"]
crls = ["$pki/ca.crl.pem"]
[admin]
listen = "127.0.0.1:$admin_port"
[store]
url = "sqlite:$db"
[dev_pki]
auto_create = false
# The filing pipeline is off: the benchmark measures acceptance alone (in production
# the pipeline also needs an [office], which the benchmark has no use for).
[pct]
enabled = false
[evidence]
origin = "ponte.localhost/evidence"
key = "$pki/log-key.pem"
$(sed -n '/^\[\[agencies\]\]/,$p' config/ponte.toml)
TOML

# The two bodies.
python3 - tests/fixtures/fhir/valid/capacity-genova-parodi.json "$work" <<'PY'
import json, sys
PADDING = (
    "Anamnesi: vedova dal 2019, vive sola in un appartamento al terzo piano "
    "senza ascensore; la figlia, che abita nello stesso quartiere, la assiste ogni giorno. "
    "Scolarità: licenza elementare. In trattamento con donepezil 10 mg/die dal 2023, con iniziale "
    "stabilizzazione e successivo peggioramento nell'ultimo anno. La figlia riferisce episodi di "
    "smarrimento fuori casa (due nel mese di settembre), bollette non pagate e ripetuti acquisti non "
    "necessari; in un'occasione ha consegnato una somma di denaro a sconosciuti presentatisi come "
    "tecnici del gas. Nessun disturbo del comportamento di rilievo; sonno frammentato. All'esame: "
    "orientata nella persona, non nel tempo; eloquio fluente con frequenti anomie; comprensione "
    "conservata per ordini semplici. Non deficit motori focali. Pressione arteriosa 135/80 mmHg, "
    "frequenza cardiaca 72/min, ritmica. Test dell'orologio patologico; GDS 3/15. La paziente è "
    "consapevole solo in parte delle proprie difficoltà e accetta l'aiuto della figlia, che si è "
    "resa disponibile all'incarico. Si ritiene opportuno un sostegno per la gestione del "
    "patrimonio, il pagamento delle utenze, i rapporti con la banca e con l'ente previdenziale e "
    "l'espressione del consenso informato ai trattamenti sanitari."
)
fixture, work = sys.argv[1], sys.argv[2]
text = open(fixture, encoding="utf-8").read()
closing = '</div>"'
assert closing in text
document = text.replace(closing, f"<p>{PADDING}</p>{closing}", 1).encode()
open(f"{work}/document.json", "wb").write(document)

bundle = json.loads(document)
bundle["type"] = "message"
del bundle["identifier"]
composition = bundle["entry"][0]["fullUrl"]
bundle["entry"].insert(0, {
    "fullUrl": "urn:uuid:5d3e4a52-8c2f-4a1e-9d0b-3c1f2e4d5a60",
    "resource": {
        "resourceType": "MessageHeader",
        "id": "5d3e4a52-8c2f-4a1e-9d0b-3c1f2e4d5a60",
        "eventCoding": {"system": "https://ponte.example/fhir/CodeSystem/event",
                        "code": "capacity-report"},
        "source": {"name": "Sistema certificati ASL 3",
                   "endpoint": "urn:asl3-genovese:sistema-certificati"},
        "focus": [{"reference": composition}],
    },
})
message = (json.dumps(bundle, indent=2, ensure_ascii=False) + "\n").encode()
open(f"{work}/message.json", "wb").write(message)
PY
cp "$work/document.json" "bench-out/intake-$stamp-document.json"
cp "$work/message.json" "bench-out/intake-$stamp-message.json"

RUST_LOG=warn "$bin/ponte" serve --config "$work/ponte.toml" >"$work/ponte.out" 2>"$work/ponte.err" &
ponte_pid=$!; pids+=("$ponte_pid")
for _ in $(seq 100); do grep -q "ponte listening" "$work/ponte.out" 2>/dev/null && break; sleep 0.1; done
if ! grep -q "ponte listening" "$work/ponte.out"; then cat "$work/ponte.out" "$work/ponte.err" >&2; exit 1; fi

counts() { # the rows of the tables a submission writes, as JSON
  python3 - "$db" <<'PY'
import json, sqlite3, sys
con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
tables = ["submission", "task", "work_queue", "exchange", "evidence_entry"]
print(json.dumps({t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}))
PY
}

# One request of each body first: both must be accepted (201).
for body in message document; do
  code=$(curl -sS -o "$work/first-$body.out" -w '%{http_code}' \
    --resolve "localhost:$port:127.0.0.1" --cacert "$pki/ca.pem" \
    --cert "$pki/client-asl3-genovese.pem" --key "$pki/client-asl3-genovese.key" \
    -H 'content-type: application/fhir+json' -H "idempotency-key: first-$body" \
    --data-binary "@$work/$body.json" "https://localhost:$port/fhir/Bundle")
  if [ "$code" != 201 ]; then
    echo "first $body: HTTP $code" >&2; cat "$work/first-$body.out" >&2; exit 1
  fi
done

cpu() { # CPU time Ponte has used so far, user + system, in clock ticks
  awk '{print $14 + $15}' "/proc/$ponte_pid/stat"
}
ticks=$(getconf CLK_TCK)

run() { # name body args...
  local name=$1 body=$2; shift 2
  local before after cpu_before cpu_after
  before=$(counts)
  cpu_before=$(cpu)
  "$bin/ponte-load" --url "https://127.0.0.1:$port/fhir/Bundle" --server-name localhost \
    --ca "$pki/ca.pem" --cert "$pki/client-asl3-genovese.pem" --key "$pki/client-asl3-genovese.key" \
    --body "$work/$body.json" --content-type application/fhir+json --unique-header idempotency-key \
    --warmup 0s --json "$@" >"$work/run.json" || true
  cpu_after=$(cpu)
  after=$(counts)
  python3 - "$name" "$body" "$(stat -c %s "$work/$body.json")" "$before" "$after" "$work/run.json" \
    "$(( cpu_after - cpu_before ))" "$ticks" <<'PY' | tee -a "$out"
import json, sys
name, body, size, before, after, result, cpu_ticks, ticks = sys.argv[1:]
run = json.loads(open(result).read())
before, after = json.loads(before), json.loads(after)
cpu_ms = int(cpu_ticks) * 1000 / int(ticks)
run.update(run_name=name, body=body, body_bytes=int(size),
           rows_added={t: after[t] - before[t] for t in after},
           server_cpu_ms=cpu_ms,
           server_cpu_ms_per_request=cpu_ms / max(run["requests"], 1))
print(json.dumps(run))
PY
}
run warmup message --connections 64 --duration 3s >/dev/null
run accept message --connections 64 --duration "${secs}s" >/dev/null
run latency message --connections 32 --duration "${secs}s" --rate 1000 >/dev/null
run latency500 message --connections 32 --duration "${secs}s" --rate 500 >/dev/null
run replay document --connections 64 --duration "${secs}s" >/dev/null
db_bytes=$(du -cb "$db"* | tail -1 | cut -f1)

python3 - "$out" "$db_bytes" "$(counts)" <<'PY'
import json, sys
rows = {r["run_name"]: r for r in map(json.loads, open(sys.argv[1]))}
db_bytes, totals = int(sys.argv[2]), json.loads(sys.argv[3])
def get(name):
    return rows.get(name) or sys.exit(f"run {name} missing")
a, l, h, r = get("accept"), get("latency"), get("latency500"), get("replay")
print(f"Bodies: message {a['body_bytes']:,} bytes, document {r['body_bytes']:,} bytes.\n")
print("| measurement | result |")
print("|---|---|")
print(f"| accepted submissions/s, closed loop, 64 connections (message body) | {a['requests_per_sec']:,.0f} |")
print(f"| latency p50 / p99 / max there (ms) | {a['latency_ms']['p50']:.2f} / {a['latency_ms']['p99']:.2f} / {a['latency_ms']['max']:.2f} |")
print(f"| latency p50 / p99 / max at 1,000 req/s open loop, 32 connections (ms) | {l['latency_ms']['p50']:.2f} / {l['latency_ms']['p99']:.2f} / {l['latency_ms']['max']:.2f} |")
print(f"| latency p50 / p99 / max at 500 req/s open loop, 32 connections (ms) | {h['latency_ms']['p50']:.2f} / {h['latency_ms']['p99']:.2f} / {h['latency_ms']['max']:.2f} |")
print(f"| replayed answers/s, closed loop, 64 connections (document body, same Bundle.identifier) | {r['requests_per_sec']:,.0f} |")
print()
print("| run | requests | 201 | non-2xx | I/O errors | unsent | Ponte CPU ms/request | submission | task | work_queue | exchange | evidence_entry | rows = 201s |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for name in ["warmup", "accept", "latency", "latency500", "replay"]:
    x = get(name); ra = x["rows_added"]
    same = "yes" if ra["submission"] == x["ok"] else "**no**"
    print(f"| {name} | {x['requests']:,} | {x['ok']:,} | {x['status_errors']} | {x['io_errors']} | {x['unsent']} | "
          f"{x['server_cpu_ms_per_request']:.2f} | "
          f"{ra['submission']:,} | {ra['task']:,} | {ra['work_queue']:,} | {ra['exchange']:,} | {ra['evidence_entry']:,} | {same} |")
rr = r["rows_added"]
if rr["submission"] == 0 and r["ok"] > 0:
    print(f"\nThe {r['ok']:,} 201s of the replay run are replays of the first answer "
          f"(same Bundle.identifier): no submission was stored, and "
          f"{'no exchange was recorded either' if rr['exchange'] == 0 else str(rr['exchange']) + ' exchanges were recorded'}.")
print(f"\nStore after all runs: {totals['submission']:,} submissions, "
      f"{db_bytes / 2**20:,.0f} MiB (database, WAL and shared memory), "
      f"{db_bytes / max(totals['submission'], 1) / 1024:.1f} KiB per submission.")
PY
echo "raw results: $out"
