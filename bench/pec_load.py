#!/usr/bin/env python3
"""PEC benchmark (issue 6): deposits per second through the local Postfix,
receipts processed per second, and the gateway's memory while 10,000 filings
wait in the outbox.

Run by bench/pec.sh, which checks the prerequisites and builds `ponte`; see
docs/benchmarks.md, section "PEC (issue 6)", for the method.

    pec_load.py [--filings 10000] [--seconds 30] [--workers 2,4]
                [--receipt-deposits 250] [--keep]

Phases, each with a fresh `ponte serve` (release build, production mode,
RUST_LOG=warn) on one store:

1. seed     one real filing: a FHIR capacity report submitted over mutual
            TLS, built by the pipeline (mapping, XSD, two CAdES signatures,
            Atto.enc), with [pec] disabled so that it waits in the outbox;
2. clone    the store is filled to --filings ready filings with a queued
            deposit each, by copying the seed's rows in SQL with new ids
            (exchange, exchange_body, submission, task, filing, its
            artefacts, deposit; no evidence entries);
3. idle     all deposits not due yet: resident memory with them waiting;
4. deposit  all due; the outbox sends to the local Postfix (STARTTLS,
            AUTH, one connection per deposit) with [pec] workers = 2, then
            4: `sent` deposits counted in the store over --seconds after a
            3 s warm-up, memory sampled every 0.25 s;
5. receipts for --receipt-deposits of the sent deposits, the four messages
            of pec_sim.py's scenario `ok` (RdA, RdAC with the deposit as
            postacert.eml, esito controlli, esito intervento) are appended by
            IMAP to a folder of the office's box made for this run; the
            reader is pointed at that folder and timed until all are
            stored in `inbound_message`.

Every deposit's subject carries PONTEBENCH<run>; at the end the deposits are
deleted from the court's box and the folder from the office's box (--keep
leaves them and the store).

Output: Markdown on stdout, JSON lines in bench-out/pec-<run>.jsonl.
Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "interop"))
import pec_sim  # noqa: E402  (the simulator's IMAP helpers and receipt builder)

COURT_FIXTURE = ROOT / "tests/fixtures/fhir/valid/capacity-genova-parodi.json"
FAR_FUTURE = "2999-01-01T00:00:00.000000Z"


def log(msg: str) -> None:
    print(f"# {dt.datetime.now().strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def fmt_time(t: dt.datetime) -> str:
    """As the gateway's format_time: UTC, 6 decimals, Z."""
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(s: str) -> dt.datetime:
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)


# ---------------------------------------------------------------------------
# The gateway
# ---------------------------------------------------------------------------


class Gateway:
    """One `ponte serve`, with RSS and CPU read from /proc."""

    def __init__(self, bin_: Path, work: Path, pec_section: str, env: dict[str, str], name: str):
        config = work / f"ponte-{name}.toml"
        config.write_text(base_config(work) + "\n" + pec_section)
        clean = {k: v for k, v in os.environ.items() if not k.startswith("PONTE_")}
        clean.update(env)
        clean["RUST_LOG"] = "warn"
        self.stderr = open(work / f"ponte-{name}.log", "ab")
        self.proc = subprocess.Popen(
            [str(bin_), "serve", "--config", str(config)],
            cwd=work, env=clean, stdout=subprocess.PIPE, stderr=self.stderr,
        )
        self.pid = self.proc.pid
        line_q: list[str] = []
        ready = threading.Event()

        def drain():
            for raw in self.proc.stdout:  # type: ignore[union-attr]
                line = raw.decode("utf-8", "replace")
                if line.startswith("ponte listening"):
                    line_q.append(line)
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(90) or not line_q:
            self.stop()
            raise SystemExit(f"ponte serve did not start; see {work}/ponte-{name}.log")
        fields = dict(f.split("=", 1) for f in line_q[0].split()[2:])
        host, port = fields["https"].rsplit(":", 1)
        self.https = (host, int(port))
        self.started = time.monotonic()

    def rss_kib(self) -> tuple[int, int]:
        """(VmRSS, VmHWM) in KiB."""
        vals = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    k, v = line.split(":", 1)
                    vals[k] = int(v.split()[0])
        return vals.get("VmRSS", 0), vals.get("VmHWM", 0)

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


class Sampler:
    """Samples a gateway's VmRSS every 0.25 s in a thread."""

    def __init__(self, gw: Gateway):
        self.gw = gw
        self.samples: list[int] = []
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop_ev.is_set():
            try:
                self.samples.append(self.gw.rss_kib()[0])
            except OSError:
                return
            self.stop_ev.wait(0.25)

    def finish(self) -> list[int]:
        self.stop_ev.set()
        self.t.join()
        return self.samples


BASE = None


def base_config(work: Path) -> str:
    return BASE  # set by main()


def make_base_config(work: Path, pki: Path) -> str:
    embedded = (ROOT / "config/ponte.toml").read_text()
    rules = embedded[embedded.index("[[agencies]]"):]
    registry = (ROOT / "adapters/registry/data/dev-registry.toml").read_text()
    cert = str(pki / "court-encryption.pem")
    registry = registry.replace('"../../../certs/dev/court-encryption.pem"', json.dumps(cert))
    if cert not in registry:
        raise SystemExit("dev-registry.toml: the court certificate path changed; update bench/pec_load.py")
    registry = "\n".join(
        'pec_deposit = "tribunale@pec.ponte.test"' if line.startswith("pec_deposit = ") else line
        for line in registry.splitlines()
    )
    (work / "registry.toml").write_text(registry)
    return f"""mode = "production"
[server]
listen = "127.0.0.1:0"
[tls]
cert = "{pki}/server.pem"
key = "{pki}/server.key"
client_cas = ["{pki}/ca.pem"]
crls = ["{pki}/ca.crl.pem"]
[admin]
listen = "127.0.0.1:0"
[store]
url = "sqlite:{work}/data/ponte.db"
[dev_pki]
auto_create = false
[evidence]
origin = "ponte.test/evidence"
key = "{pki}/log-key.pem"
[pct]
schemas = "{ROOT.parent / 'shared/pct-xsd'}"
mappings = "{ROOT / 'mappings/files'}"
registry = "{work / 'registry.toml'}"
poll_interval = "100ms"
[signer]
cert = "{pki}/signer.pem"
key = "{pki}/signer.key"
[office]
name = "Ufficio di Prossimità di Genova (bench)"
codice_fiscale = "00856930102"
town = "Genova"
pec_address = "ufficio@pec.ponte.test"
address = {{ street = "Via Garibaldi", number = "9", postcode = "16124", town = "Genova", province = "GE", country = "IT" }}
officers = [{{ surname = "Rossi", given_name = "Maria", codice_fiscale = "RSSMRA80C55D969V" }}]

{rules}"""


def pec_section(env: pec_sim.Env, workers: int, mailbox: str, imap_poll: str) -> str:
    return f"""[pec]
workers = {workers}
poll_interval = "100ms"
retry_backoff = "60s"
max_attempts = 8
reconcile_window = "900s"
lease = "900s"
smtp = {{ host = "{env.host}", port = {env.submission_port}, security = "starttls", tls_name = "{env.tls_name}", ca_file = "{env.ca}", username = "{env.office_user}", password_env = "BENCH_PEC_PASSWORD" }}
imap = {{ host = "{env.host}", port = {env.imaps_port}, tls_name = "{env.tls_name}", ca_file = "{env.ca}", username = "{env.office_user}", password_env = "BENCH_PEC_PASSWORD", mailbox = "{mailbox}", poll_interval = "{imap_poll}", provider_ca_file = "{env.signing_ca}" }}
"""


# ---------------------------------------------------------------------------
# Store
# ---------------------------------------------------------------------------


def db(work: Path) -> sqlite3.Connection:
    con = sqlite3.connect(work / "data/ponte.db", timeout=30)
    con.execute("PRAGMA busy_timeout = 30000")
    return con


def count(con: sqlite3.Connection, sql: str, *args) -> int:
    return con.execute(sql, args).fetchone()[0]


def deposit_states(con: sqlite3.Connection) -> dict[str, int]:
    return dict(con.execute("SELECT state, count(*) FROM deposit GROUP BY state").fetchall())


def rows(con: sqlite3.Connection, table: str, where: str, *args) -> tuple[list[str], list[tuple]]:
    cur = con.execute(f"SELECT * FROM {table} WHERE {where}", args)
    return [d[0] for d in cur.description], cur.fetchall()


def insert(con: sqlite3.Connection, table: str, cols: list[str], values: list[tuple]) -> None:
    con.executemany(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", values
    )


def clone(work: Path, total: int, tag: str) -> dict:
    """Copies the one ready filing (and what it hangs on) until the store
    holds `total` ready filings, each with a queued deposit."""
    con = db(work)
    con.execute("PRAGMA foreign_keys = ON")
    (filing_id,) = con.execute("SELECT filing_id FROM deposit").fetchone()
    fcols, (frow,) = rows(con, "filing", "id = ?", filing_id)
    f = dict(zip(fcols, frow))
    tcols, (trow,) = rows(con, "task", "id = ?", f["task_id"])
    scols, (srow,) = rows(con, "submission", "id = ?", f["submission_id"])
    s = dict(zip(scols, srow))
    ecols, (erow,) = rows(con, "exchange", "id = ?", s["exchange_id"])
    bcols, brows = rows(con, "exchange_body", "exchange_id = ?", s["exchange_id"])
    acols, arows = rows(con, "filing_artefact", "filing_id = ?", filing_id)
    dcols, (drow,) = rows(con, "deposit", "filing_id = ?", filing_id)
    desc = f"{f['deposit_description'] or ''} PONTEBENCH{tag}".strip()
    con.execute("UPDATE filing SET deposit_description = ? WHERE id = ?", (desc, filing_id))
    domain = drow[dcols.index("message_id")].split("@", 1)[1]
    ecols_n = [c for c in ecols if c != "seq"]
    acols_n = [c for c in acols if c != "id"]
    started = time.monotonic()
    batch = 500
    made = 1
    while made < total:
        n = min(batch, total - made)
        ex, bodies, subs, tasks, fils, arts, deps = [], [], [], [], [], [], []
        for _ in range(n):
            eid, sid, tid, fid = uuid.uuid4().bytes, str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
            e = dict(zip(ecols, erow)); e["id"] = eid
            ex.append(tuple(e[c] for c in ecols_n))
            for b in brows:
                bd = dict(zip(bcols, b)); bd["exchange_id"] = eid
                bodies.append(tuple(bd[c] for c in bcols))
            sd = dict(s); sd["id"] = sid; sd["exchange_id"] = eid
            subs.append(tuple(sd[c] for c in scols))
            td = dict(zip(tcols, trow)); td["id"] = tid; td["submission_id"] = sid
            td["outputs"] = td["outputs"].replace(filing_id, fid)
            tasks.append(tuple(td[c] for c in tcols))
            fd = dict(f); fd["id"] = fid; fd["task_id"] = tid; fd["submission_id"] = sid
            fd["deposit_description"] = desc
            fils.append(tuple(fd[c] for c in fcols))
            for a in arows:
                ad = dict(zip(acols, a)); ad["filing_id"] = fid
                arts.append(tuple(ad[c] for c in acols_n))
            dd = dict(zip(dcols, drow)); dd["filing_id"] = fid
            dd["message_id"] = f"{uuid.uuid4().hex}@{domain}"
            deps.append(tuple(dd[c] for c in dcols))
        with con:
            insert(con, "exchange", ecols_n, ex)
            insert(con, "exchange_body", bcols, bodies)
            insert(con, "submission", scols, subs)
            insert(con, "task", tcols, tasks)
            insert(con, "filing", fcols, fils)
            insert(con, "filing_artefact", acols_n, arts)
            insert(con, "deposit", dcols, deps)
        made += n
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    took = time.monotonic() - started
    enc = [a for a in arows if a[acols.index("name")] == "Atto.enc"][0]
    info = {
        "filings": count(con, "SELECT count(*) FROM filing WHERE status = 'ready'"),
        "queued": count(con, "SELECT count(*) FROM deposit WHERE state = 'queued'"),
        "atto_enc_bytes": enc[acols.index("size")],
        "artefacts": {a[acols.index("name")]: a[acols.index("size")] for a in arows},
        "clone_seconds": round(took, 1),
        "db_bytes": os.path.getsize(work / "data/ponte.db"),
    }
    con.close()
    return info


# ---------------------------------------------------------------------------
# Mail boxes
# ---------------------------------------------------------------------------


def imap_login(env: pec_sim.Env, who: tuple[str, str]):
    box = pec_sim._Imaps(env.host, env.imaps_port, env.tls_context(), env.tls_name, 60)
    box.login(*who)
    return box


def court_uids(box, tag: str) -> list[bytes]:
    typ, data = box.uid("SEARCH", "UNDELETED", "SUBJECT", f'"PONTEBENCH{tag}"')
    assert typ == "OK", data
    return data[0].split() if data and data[0] else []


def wait_court(env: pec_sim.Env, tag: str, want: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    have = 0
    while time.monotonic() < deadline:
        box = imap_login(env, env.court)
        box.select("INBOX")
        have = len(court_uids(box, tag))
        box.logout()
        if have >= want:
            break
        time.sleep(1)
    return have


def load_receipts(env: pec_sim.Env, office: tuple[str, str], tag: str, folder: str,
                  deposits: int) -> dict:
    """Builds scenario `ok` for `deposits` deposits found in the court's box
    and appends the messages to `folder` in the office's box."""
    court = imap_login(env, env.court)
    court.select("INBOX")
    uids = court_uids(court, tag)[:deposits]
    ob = imap_login(env, office)
    sizes: dict[str, list[int]] = {}
    n = 0
    for uid in uids:
        raw, flags = pec_sim.fetch(court, uid, "BODY.PEEK[]")
        dep = pec_sim.Deposit(uid, raw, flags)
        if not dep.is_deposit():
            raise SystemExit(f"court message {uid!r} is not a deposit")
        court.uid("STORE", uid, "+FLAGS.SILENT", f"(\\Seen {pec_sim.HANDLED_KEYWORD})")
        ans = pec_sim.Answerer(env, dep, "4242/2026", "message-id")
        for name, build in ans.plan("ok"):
            msg = build()
            typ, data = ob.append(folder, None, None, msg)
            assert typ == "OK", data
            sizes.setdefault(name, []).append(len(msg))
            n += 1
    court.logout()
    ob.logout()
    return {"deposits": len(uids), "messages": n,
            "bytes_mean": {k: round(sum(v) / len(v)) for k, v in sizes.items()}}


def cleanup(env: pec_sim.Env, office: tuple[str, str], tag: str, folder: str | None) -> int:
    court = imap_login(env, env.court)
    court.select("INBOX")
    uids = court_uids(court, tag)
    for i in range(0, len(uids), 500):
        court.uid("STORE", b",".join(uids[i:i + 500]), "+FLAGS.SILENT", "(\\Seen \\Deleted)")
    court.expunge()
    court.logout()
    if folder:
        ob = imap_login(env, office)
        ob.delete(folder)
        ob.logout()
    return len(uids)


# ---------------------------------------------------------------------------
# Phases
# ---------------------------------------------------------------------------


def submit_seed(gw: Gateway, pki: Path) -> None:
    ctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    ctx.load_cert_chain(str(pki / "client-asl3-genovese.pem"), str(pki / "client-asl3-genovese.key"))
    ctx.check_hostname = False
    conn = http.client.HTTPSConnection(gw.https[0], gw.https[1], context=ctx, timeout=30)
    conn.request("POST", "/fhir/Bundle", body=COURT_FIXTURE.read_bytes(),
                 headers={"content-type": "application/fhir+json"})
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 201:
        raise SystemExit(f"seed submission: {resp.status} {body[:300]!r}")


def wait_for(pred, timeout: float, what: str, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise SystemExit(f"timed out waiting for {what}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", default=str(ROOT / "target/release/ponte"))
    p.add_argument("--env", default=os.environ.get("PONTE_PEC_ENV", "/tmp/ponte-pec/env"))
    p.add_argument("--filings", type=int, default=10_000)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--workers", default="2,4")
    p.add_argument("--receipt-deposits", type=int, default=250)
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()

    env = pec_sim.Env(args.env)
    # Receipts signed as a provider signs them, so that the gateway verifies
    # each one (as in production) instead of quarantining it.
    pec_sim.SIGNER = pec_sim.Signer(*env.signing)
    raw_env = dict(l.split("=", 1) for l in Path(args.env).read_text().splitlines() if "=" in l and not l.startswith("#"))
    office = (raw_env["PONTE_PEC_OFFICE_USER"], raw_env["PONTE_PEC_OFFICE_PASSWORD"])
    run = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    tag = run.replace("T", "")
    folder = f"PonteBench{tag}"
    out_dir = ROOT / "bench-out"
    out_dir.mkdir(exist_ok=True)
    jsonl = open(out_dir / f"pec-{run}.jsonl", "w")

    def emit(record: dict) -> None:
        record["run"] = run
        jsonl.write(json.dumps(record) + "\n")
        jsonl.flush()
        log(json.dumps(record))

    work = ROOT / "target/bench-data/pec" / run
    work.mkdir(parents=True)
    (work / "data").mkdir()
    pki = work / "pki"
    subprocess.run([args.bin, "certs", "dev", "--out", str(pki)], check=True, stdout=subprocess.DEVNULL)
    global BASE
    BASE = make_base_config(work, pki)
    gw_env = {"BENCH_PEC_PASSWORD": office[1]}
    bin_ = Path(args.bin)
    folder_made = False
    ok = False
    emit({"phase": "start", "cores": os.cpu_count(), "loadavg": open("/proc/loadavg").read().split()[:3]})
    try:
        # 1. seed
        log("seed: one real filing, [pec] disabled")
        gw = Gateway(bin_, work, "[pec]\nenabled = false\n", gw_env, "seed")
        try:
            submit_seed(gw, pki)
            con = db(work)
            wait_for(lambda: count(con, "SELECT count(*) FROM deposit"), 180, "the seed filing")
            con.close()
        finally:
            gw.stop()

        # 2. clone
        log(f"clone: filling the store to {args.filings} ready filings")
        info = clone(work, args.filings, tag)
        emit({"phase": "clone", **info})

        # 3. idle, all waiting, none due
        con = db(work)
        with con:
            con.execute("UPDATE deposit SET next_attempt_at = ?", (FAR_FUTURE,))
        ob = imap_login(env, office)
        ob.create(folder)
        ob.logout()
        folder_made = True
        gw = Gateway(bin_, work, pec_section(env, 2, folder, "1s"), gw_env, "idle")
        try:
            time.sleep(2)
            rss2, _ = gw.rss_kib()
            time.sleep(8)
            rss10, hwm = gw.rss_kib()
            emit({"phase": "idle", "waiting": count(con, "SELECT count(*) FROM deposit WHERE state = 'queued'"),
                  "rss_kib_2s": rss2, "rss_kib_10s": rss10, "hwm_kib": hwm,
                  "cpu_s": round(gw.cpu_seconds(), 2)})
        finally:
            gw.stop()

        # 4. deposits
        with con:
            con.execute("UPDATE deposit SET next_attempt_at = ? WHERE state = 'queued'",
                        (fmt_time(dt.datetime.now(dt.timezone.utc)),))
        for workers in [int(w) for w in args.workers.split(",")]:
            log(f"deposits: workers = {workers}, {args.seconds:g} s after 3 s warm-up")
            gw = Gateway(bin_, work, pec_section(env, workers, folder, "1s"), gw_env, f"deposit-w{workers}")
            try:
                sampler = Sampler(gw)
                waiting0 = count(con, "SELECT count(*) FROM deposit WHERE state = 'queued'")
                rss_start = gw.rss_kib()[0]
                time.sleep(3)
                sent0 = count(con, "SELECT count(*) FROM deposit WHERE state = 'sent'")
                cpu0, t0 = gw.cpu_seconds(), time.monotonic()
                time.sleep(args.seconds)
                sent1 = count(con, "SELECT count(*) FROM deposit WHERE state = 'sent'")
                if count(con, "SELECT count(*) FROM deposit WHERE state = 'queued'") == 0:
                    raise SystemExit("the outbox ran dry during the measurement: use more --filings")
                cpu1, t1 = gw.cpu_seconds(), time.monotonic()
                samples = sampler.finish()
                _, hwm = gw.rss_kib()
            finally:
                gw.stop()
            n = sent1 - sent0
            emit({"phase": "deposit", "workers": workers, "waiting_at_start": waiting0,
                  "sent": n, "seconds": round(t1 - t0, 2), "per_second": round(n / (t1 - t0), 1),
                  "cpu_ms_per_deposit": round(1000 * (cpu1 - cpu0) / max(n, 1), 2),
                  "rss_kib_start": rss_start, "rss_kib_max": max(samples), "rss_kib_last": samples[-1],
                  "hwm_kib": hwm, "states_after": deposit_states(con)})

        # 5. receipts
        sent = count(con, "SELECT count(*) FROM deposit WHERE state = 'sent'")
        bad = count(con, "SELECT count(*) FROM deposit WHERE state NOT IN ('sent', 'queued')")
        with con:
            con.execute("UPDATE deposit SET next_attempt_at = ? WHERE state = 'queued'", (FAR_FUTURE,))
        log(f"waiting for Postfix to deliver the {sent} accepted deposits to the court's box")
        t_deliv = time.monotonic()
        delivered = wait_court(env, tag, sent, 300)
        emit({"phase": "delivery", "accepted_by_postfix": sent, "in_court_box": delivered,
              "not_sent_or_queued": bad, "wait_s": round(time.monotonic() - t_deliv, 1)})
        m = min(args.receipt_deposits, delivered)
        log(f"receipts: appending 4 messages for each of {m} deposits to {folder}")
        t_load = time.monotonic()
        loaded = load_receipts(env, office, tag, folder, m)
        loaded["append_s"] = round(time.monotonic() - t_load, 1)
        emit({"phase": "receipts-loaded", **loaded})
        before = count(con, "SELECT count(*) FROM inbound_message")
        gw = Gateway(bin_, work, pec_section(env, 2, folder, "200ms"), gw_env, "receipts")
        try:
            sampler = Sampler(gw)
            cpu0, t0 = gw.cpu_seconds(), time.monotonic()
            target = before + loaded["messages"]
            wait_for(lambda: count(con, "SELECT count(*) FROM inbound_message") >= target,
                     600, "the receipts", 0.1)
            t1, cpu1 = time.monotonic(), gw.cpu_seconds()
            samples = sampler.finish()
        finally:
            gw.stop()
        first, last = con.execute("SELECT min(received_at), max(received_at) FROM inbound_message").fetchone()
        span = (parse_time(last) - parse_time(first)).total_seconds()
        n = loaded["messages"]
        emit({"phase": "receipts", "messages": n,
              "by_state": dict(con.execute("SELECT state, count(*) FROM inbound_message GROUP BY state")),
              "by_kind": dict(con.execute("SELECT kind, count(*) FROM inbound_message GROUP BY kind")),
              "first_to_last_s": round(span, 2), "per_second": round((n - 1) / span, 1) if span else None,
              "start_to_last_s": round(t1 - t0, 2),
              "cpu_ms_per_message": round(1000 * (cpu1 - cpu0) / n, 2),
              "rss_kib_max": max(samples),
              "deposit_states": deposit_states(con)})
        con.close()
        ok = True
    finally:
        if not args.keep:
            try:
                removed = cleanup(env, office, tag, folder if folder_made else None)
                log(f"cleanup: {removed} deposits deleted from the court's box"
                    + (f", folder {folder} deleted" if folder_made else ""))
                if ok:
                    shutil.rmtree(work, ignore_errors=True)
                else:
                    log(f"kept {work} for inspection")
            except Exception as e:  # noqa: BLE001
                log(f"cleanup failed: {e}")
        jsonl.close()
    print_summary(out_dir / f"pec-{run}.jsonl")
    return 0


def print_summary(path: Path) -> None:
    recs = [json.loads(l) for l in path.read_text().splitlines()]
    by = {}
    for r in recs:
        by.setdefault(r["phase"], []).append(r)
    mib = lambda k: f"{k / 1024:.1f} MiB"  # noqa: E731
    print(f"PEC benchmark, run {recs[0]['run']}, load average at start {' '.join(recs[0]['loadavg'])}\n")
    c = by["clone"][0]
    print(f"Store: {c['filings']:,} ready filings, Atto.enc {c['atto_enc_bytes']:,} bytes, "
          f"{c['db_bytes'] / 2**20:,.0f} MiB\n")
    print("| measurement | result |\n|---|---|")
    i = by["idle"][0]
    print(f"| resident memory, {i['waiting']:,} deposits waiting (not due), 2 s / 10 s after start | "
          f"{mib(i['rss_kib_2s'])} / {mib(i['rss_kib_10s'])} |")
    for d in by.get("deposit", []):
        print(f"| deposits/s, workers = {d['workers']} ({d['sent']:,} in {d['seconds']:g} s) | "
              f"**{d['per_second']:g}** |")
        print(f"| Ponte CPU per deposit, workers = {d['workers']} | {d['cpu_ms_per_deposit']:g} ms |")
        print(f"| resident memory while sending, {d['waiting_at_start']:,} waiting, workers = {d['workers']} | "
              f"max {mib(d['rss_kib_max'])} (start {mib(d['rss_kib_start'])}) |")
    r = by.get("receipts", [None])[0]
    if r:
        print(f"| receipts/s ({r['messages']:,} messages, first to last stored) | **{r['per_second']:g}** |")
        print(f"| Ponte CPU per receipt | {r['cpu_ms_per_message']:g} ms |")
        print(f"| receipt states | {r['by_state']} |")


if __name__ == "__main__":
    sys.exit(main())
