#!/usr/bin/env python3
"""PEC provider + court (Tribunale) simulator over the local test mail servers.

Plays, against the real Postfix + Dovecot started by scripts/pec-test-servers.sh,
the two parties that answer a PCT deposit sent by PEC:

* the PEC provider (posta-certificata@<domain>): ricevuta di accettazione (RdA)
  and ricevuta di avvenuta consegna (RdAC, "completa": the deposit attached as
  postacert.eml), with daticert.xml, X-Ricevuta, X-Riferimento-Message-ID;
* the court: "terza PEC" (esito controlli automatici) and "quarta PEC" (esito
  intervento ufficio), each an EsitoAtto.xml inside the court's message, which
  reaches the office inside a busta di trasporto (X-Trasporto:
  posta-certificata, daticert.xml, postacert.eml).

Formats follow shared/pec/README.md (samples in shared/pec/samples), the
Ministry DTD EsitoAtto.dtd (DTD_20180328) and what ponte-pec's parser reads.
The provider's S/MIME signature (smime.p7s) is a real detached PKCS#7
signature over the multipart/mixed part, made with the `openssl smime` command
and the provider signing certificate of the env file
(PONTE_PEC_PROVIDER_SIGNING_CERT/KEY); --signature spoils it on purpose for
tests (tampered: one byte of the signed text changed after signing;
untrusted: signed by a throwaway self-signed certificate; none: a
placeholder that is not a signature, as in the public samples).

Python 3 standard library and the `openssl` command only.

    pec_sim.py --env /tmp/ponte-pec/env run --scenario ok --once
    pec_sim.py --env /tmp/ponte-pec/env run --scenario ok --for 60 --state s.json
    pec_sim.py --env /tmp/ponte-pec/env count [--message-id ID]
    pec_sim.py --env /tmp/ponte-pec/env deposits [--message-id ID]

Scenarios (what the office box receives for each new deposit):

    ok             RdA, RdAC, esito controlli 1 (passed), esito intervento 2
                   (accepted, NumeroRuolo = --case-number)
    checks-failed  RdA, RdAC, esito controlli -1 (FATAL anomaly), nothing more
    checks-warn    RdA, RdAC, esito controlli -1 (WARN anomaly, "l'atto verrà
                   comunque accettato"), esito intervento 2 (accepted)
    refused        RdA, RdAC, esito controlli 1, esito intervento -1 (refused)
    no-receipts    nothing (the deposit is only marked handled)
    rda-only       RdA only

A deposit is a message in the court's INBOX whose subject starts with
"DEPOSITO" and that carries exactly one attachment named *.enc. A handled
deposit is remembered three ways, so that no run ever answers it twice: the
IMAP keyword $PecSimHandled (plus \\Seen) on the court's copy, the --state
JSON file (if given), and a lock file that serialises concurrent simulators.
The deposit is marked *before* anything is sent (at most once: a crash in the
middle leaves a deposit partly answered, never answered twice).

Options of `run`: --message-id ID (repeatable) and --subject-contains TEXT
answer only matching deposits (the boxes are shared: tests should filter);
--idmsgmitt identificativo puts the provider's identificativo instead of the
deposit's Message-ID in EsitoAtto/IdMsgMitt (which one a real court uses is not
documented in the sources at hand). Each answered deposit is printed as one
JSON line (message_id, scenario, to, identificativo, id_busta, case_number,
sent).

Exit codes: 0 ok, 1 data error, 2 usage error, servers unreachable or login
refused.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import email
import email.header
import email.policy
import email.utils
import hashlib
import imaplib
import json
import os
import random
import re
import signal
import smtplib
import socket
import ssl
import sys
import tempfile
import time
import uuid
from pathlib import Path

try:  # fcntl is POSIX-only; without it there is no cross-process lock.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

try:
    from zoneinfo import ZoneInfo

    ROME = ZoneInfo("Europe/Rome")
except Exception:  # pragma: no cover - no tzdata: fall back to CET
    ROME = dt.timezone(dt.timedelta(hours=1), "CET")

SCENARIOS = ("ok", "checks-failed", "checks-warn", "refused", "no-receipts", "rda-only")
HANDLED_KEYWORD = "$PecSimHandled"
GESTORE = "PONTE TEST PEC S.p.A."
CRLF = b"\r\n"


class SimError(Exception):
    """A failure with a message for the user and an exit code."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------
# Configuration (the env file of scripts/pec-test-servers.sh)
# ---------------------------------------------------------------------------

HELP = "run scripts/pec-test-servers.sh (as root) to start the local Postfix + Dovecot"


class Env:
    def __init__(self, path: str):
        self.path = path
        try:
            text = Path(path).read_text()
        except OSError as e:
            raise SimError(f"cannot read env file {path}: {e.strerror}; {HELP}", 2) from e
        values = {}
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            values[k.strip()] = v.strip()

        def get(k: str) -> str:
            if k not in values:
                raise SimError(f"{k} missing in {path}; {HELP}", 2)
            return values[k]

        self.host = get("PONTE_PEC_HOST")
        self.tls_name = values.get("PONTE_PEC_TLS_NAME") or self.host
        self.domain = get("PONTE_PEC_DOMAIN")
        self.submission_port = int(get("PONTE_PEC_SUBMISSION_PORT"))
        self.imaps_port = int(get("PONTE_PEC_IMAPS_PORT"))
        self.ca = get("PONTE_PEC_CA")
        self.court = (get("PONTE_PEC_COURT_USER"), get("PONTE_PEC_COURT_PASSWORD"))
        self.provider = (get("PONTE_PEC_PROVIDER_USER"), get("PONTE_PEC_PROVIDER_PASSWORD"))
        self.office_user = values.get("PONTE_PEC_OFFICE_USER")
        self.signing = (values.get("PONTE_PEC_PROVIDER_SIGNING_CERT"),
                        values.get("PONTE_PEC_PROVIDER_SIGNING_KEY"))
        self.signing_ca = values.get("PONTE_PEC_PROVIDER_SIGNING_CA")

    def tls_context(self) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(cafile=self.ca)
        except (OSError, ssl.SSLError) as e:
            raise SimError(f"cannot load CA {self.ca}: {e}; {HELP}", 2) from e


# ---------------------------------------------------------------------------
# IMAP (court's box) and SMTP (provider's submission)
# ---------------------------------------------------------------------------


class _Imaps(imaplib.IMAP4_SSL):
    """IMAP4_SSL that checks the certificate against tls_name, not the host."""

    def __init__(self, host, port, ssl_context, tls_name, timeout):
        self._tls_name = tls_name
        super().__init__(host, port, ssl_context=ssl_context, timeout=timeout)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self._tls_name)


def imap_connect(env: Env) -> imaplib.IMAP4_SSL:
    where = f"IMAPS {env.host}:{env.imaps_port}"
    try:
        box = _Imaps(env.host, env.imaps_port, env.tls_context(), env.tls_name, 20)
    except (OSError, ssl.SSLError, imaplib.IMAP4.error) as e:
        raise SimError(f"cannot reach {where} ({e}); {HELP}", 2) from e
    try:
        box.login(*env.court)
    except imaplib.IMAP4.error as e:
        raise SimError(f"{where}: login as {env.court[0]} refused ({e}); {HELP}", 2) from e
    typ, _ = box.select("INBOX")
    if typ != "OK":
        raise SimError(f"{where}: cannot select INBOX of {env.court[0]}", 2)
    return box


def imap_logout(box: imaplib.IMAP4_SSL) -> None:
    try:
        box.logout()
    except Exception:
        pass


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def search_deposits(
    box: imaplib.IMAP4_SSL, message_ids: list[str], unhandled_only: bool
) -> list[bytes]:
    """UIDs of candidate deposits (server-side filter; checked again locally)."""
    base = ["UNDELETED", "SUBJECT", _quote("DEPOSITO")]
    if unhandled_only:
        base += ["NOT", "KEYWORD", HANDLED_KEYWORD]
    queries = [base + ["HEADER", "Message-ID", _quote(m)] for m in message_ids] or [base]
    uids: set[int] = set()
    for q in queries:
        typ, data = box.uid("SEARCH", *q)
        if typ != "OK":
            raise SimError(f"IMAP SEARCH failed: {data!r}")
        for chunk in data:
            if chunk:
                uids.update(int(u) for u in chunk.split())
    return [str(u).encode() for u in sorted(uids)]


def fetch(box: imaplib.IMAP4_SSL, uid: bytes, what: str) -> tuple[bytes | None, str]:
    """One message part (`BODY.PEEK[...]`) and its FLAGS."""
    typ, data = box.uid("FETCH", uid, f"(FLAGS {what})")
    if typ != "OK":
        raise SimError(f"IMAP FETCH {uid!r} failed: {data!r}")
    for item in data:
        if isinstance(item, tuple):
            return item[1], item[0].decode("ascii", "replace")
    return None, ""


class Smtp:
    def __init__(self, env: Env):
        self.env = env
        self.conn: smtplib.SMTP | None = None

    def __enter__(self) -> "Smtp":
        return self

    def __exit__(self, *exc) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except Exception:
                pass

    def _connect(self) -> smtplib.SMTP:
        env = self.env
        where = f"SMTP submission {env.host}:{env.submission_port}"
        try:
            c = smtplib.SMTP(env.host, env.submission_port, local_hostname="pec-sim.ponte.test", timeout=30)
            c._host = env.tls_name  # certificate name checked by starttls()
            c.starttls(context=env.tls_context())
            c.ehlo()
            c.login(*env.provider)
        except smtplib.SMTPAuthenticationError as e:
            raise SimError(f"{where}: login as {env.provider[0]} refused ({e}); {HELP}", 2) from e
        except (OSError, ssl.SSLError, smtplib.SMTPException) as e:
            raise SimError(f"cannot reach {where} ({e}); {HELP}", 2) from e
        return c

    def send(self, rcpt: str, raw: bytes) -> None:
        if self.conn is None:
            self.conn = self._connect()
        try:
            refused = self.conn.sendmail(self.env.provider[0], [rcpt], raw)
        except smtplib.SMTPException as e:
            raise SimError(f"submission to {rcpt} failed: {e}", 2) from e
        if refused:
            raise SimError(f"submission to {rcpt} refused: {refused}", 2)


# ---------------------------------------------------------------------------
# The deposit as found in the court's box
# ---------------------------------------------------------------------------


class Deposit:
    def __init__(self, uid: bytes, raw: bytes, flags: str):
        self.uid = uid
        self.raw = raw
        self.flags = flags
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.msg = msg
        self.message_id = strip_brackets(str(msg.get("Message-ID", "")))
        self.subject = " ".join(str(msg.get("Subject", "")).split())
        self.sender = email.utils.parseaddr(str(msg.get("From", "")))[1]
        self.recipient = email.utils.parseaddr(str(msg.get("To", "")))[1]
        self.date_header = str(msg.get("Date", ""))
        self.tipo_ricevuta = header_ci(raw, "X-TipoRicevuta") or "completa"
        self.attachments = [
            (p.get_filename() or "", p.get_payload(decode=True) or b"")
            for p in msg.walk()
            if not p.is_multipart() and p.get_content_disposition() == "attachment"
        ]

    @property
    def deposit_subject(self) -> str:
        """The subject without the PEC transport prefix."""
        s = self.subject
        while s.upper().startswith("POSTA CERTIFICATA:"):
            s = s[len("POSTA CERTIFICATA:"):].lstrip()
        return s

    def is_deposit(self) -> bool:
        enc = [a for a in self.attachments if a[0].lower().endswith(".enc")]
        return (
            bool(self.message_id)
            and self.deposit_subject.startswith("DEPOSITO")
            and len(self.attachments) == 1
            and len(enc) == 1
        )

    @property
    def atto(self) -> bytes:
        return self.attachments[0][1] if self.attachments else b""

    def handled_on_server(self) -> bool:
        return HANDLED_KEYWORD.lower() in self.flags.lower()

    def iso_date(self) -> str:
        try:
            return email.utils.parsedate_to_datetime(self.date_header).isoformat()
        except (TypeError, ValueError):
            return self.date_header


def strip_brackets(s: str) -> str:
    s = s.strip()
    if s.startswith("<") and s.endswith(">"):
        s = s[1:-1]
    return s.strip()


def header_ci(raw: bytes, name: str) -> str | None:
    """First header `name` (case-insensitive) of the top-level header block."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    m = re.search(rb"(?im)^" + re.escape(name.encode()) + rb":[ \t]*(.*(?:\r?\n[ \t].*)*)", head)
    if not m:
        return None
    return " ".join(m.group(1).decode("latin-1").split())


# ---------------------------------------------------------------------------
# MIME building (bytes, CRLF, nothing re-encoded behind our back)
# ---------------------------------------------------------------------------


def now_rome() -> dt.datetime:
    return dt.datetime.now(ROME).replace(microsecond=0)


def zona(t: dt.datetime) -> str:
    return t.strftime("%z") or "+0100"


def enc_header(value: str, name: str = "Subject") -> str:
    """A header value: ASCII as is, otherwise wholly RFC 2047 encoded words
    (UTF-8), folded with CRLF: whitespace between encoded words is dropped by
    decoders, so the value round-trips exactly."""
    try:
        value.encode("ascii")
        return value
    except UnicodeEncodeError:
        h = email.header.Header(value, "utf-8", maxlinelen=76, header_name=name)
        return h.encode(linesep="\r\n")


def headers_block(headers: list[tuple[str, str]]) -> bytes:
    out = []
    for k, v in headers:
        line = f"{k}: {v}"
        if len(line) > 78 and "\r\n" not in v and " " in v:
            line = _fold(line)
        out.append(line.encode("ascii"))
    return CRLF.join(out) + CRLF


def _fold(line: str) -> str:
    words, cur, lines = line.split(" "), "", []
    for w in words:
        if cur and len(cur) + 1 + len(w) > 76:
            lines.append(cur)
            cur = " " + w
        else:
            cur = f"{cur} {w}" if cur else w
    lines.append(cur)
    return "\r\n".join(lines)


def b64_lines(data: bytes) -> bytes:
    s = base64.b64encode(data)
    return CRLF.join(s[i:i + 76] for i in range(0, len(s), 76)) + CRLF


def qp(text: str, charset: str) -> bytes:
    import quopri

    body = text.replace("\r\n", "\n").encode(charset, "replace")
    enc = quopri.encodestring(body, quotetabs=False)
    return enc.replace(b"\r\n", b"\n").replace(b"\n", CRLF)


def part(headers: list[tuple[str, str]], body: bytes) -> bytes:
    return headers_block(headers) + CRLF + body


def multipart(boundary: str, parts: list[bytes], preamble: bytes = b"") -> bytes:
    """A multipart body; the CRLF before each delimiter belongs to it (RFC 2046)."""
    b = boundary.encode()
    out = preamble + CRLF if preamble else b""
    for p in parts:
        out += b"--" + b + CRLF + p + CRLF
    return out + b"--" + b + b"--" + CRLF


def new_boundary(tag: str) -> str:
    return f"----------=_{int(time.time())}-{os.getpid()}-{tag}{random.randrange(10**6)}"


def xml_escape(s: str) -> str:
    return (
        s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def identificativo(domain: str, t: dt.datetime) -> str:
    """Aruba-style provider id: opec<n>.<yyyymmddhhmmss>.<n>.<n>.<n>.<n>@domain."""
    r = random.SystemRandom()
    return (
        f"opec{r.randrange(100000, 999999)}.{t.strftime('%Y%m%d%H%M%S')}."
        f"{r.randrange(10000, 999999)}.{r.randrange(100, 9999)}.1.{r.randrange(10, 99)}@{domain}"
    )


def daticert(
    tipo: str,
    *,
    mittente: str,
    destinatario: str,
    oggetto: str,
    t: dt.datetime,
    ident: str,
    msgid: str,
    ricevuta: str | None = None,
    consegna: str | None = None,
) -> bytes:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<postacert tipo="{tipo}" errore="nessuno">',
        "    <intestazione>",
        f"        <mittente>{xml_escape(mittente)}</mittente>",
        f'        <destinatari tipo="certificato">{xml_escape(destinatario)}</destinatari>',
        f"        <risposte>{xml_escape(mittente)}</risposte>",
        f"        <oggetto>{xml_escape(oggetto)}</oggetto>",
        "    </intestazione>",
        "    <dati>",
        f"        <gestore-emittente>{xml_escape(GESTORE)}</gestore-emittente>",
        f'        <data zona="{zona(t)}">',
        f"            <giorno>{t.strftime('%d/%m/%Y')}</giorno>",
        f"            <ora>{t.strftime('%H:%M:%S')}</ora>",
        "        </data>",
        f"        <identificativo>{xml_escape(ident)}</identificativo>",
        f"        <msgid>&lt;{xml_escape(msgid)}&gt;</msgid>",
    ]
    if ricevuta:
        lines.append(f'        <ricevuta tipo="{ricevuta}" />')
    if consegna:
        lines.append(f"        <consegna>{xml_escape(consegna)}</consegna>")
    lines += ["    </dati>", "</postacert>", ""]
    return "\n".join(lines).encode("utf-8")


class Signer:
    """Signs provider messages like a PEC provider: a detached PKCS#7
    signature (SHA-256) over the multipart/mixed part, by `openssl smime`."""

    MODES = ("valid", "tampered", "untrusted", "none")

    def __init__(self, cert: str | None, key: str | None, mode: str = "valid"):
        if mode not in self.MODES:
            raise SimError(f"unknown signature mode {mode}", 2)
        self.mode = mode
        self.cert, self.key = cert, key
        self._tmp = None
        if mode in ("valid", "tampered") and not (cert and key):
            raise SimError("PONTE_PEC_PROVIDER_SIGNING_CERT/KEY missing in the env file; "
                           + HELP, 2)
        if mode == "untrusted":
            self._tmp = tempfile.TemporaryDirectory(prefix="pec_sim-")
            self.cert = os.path.join(self._tmp.name, "stranger.pem")
            self.key = os.path.join(self._tmp.name, "stranger.key")
            run_openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                         "-subj", "/C=IT/O=Falso gestore/CN=Falso gestore firma ricevute",
                         "-addext", "keyUsage=critical,digitalSignature,nonRepudiation",
                         "-addext", "extendedKeyUsage=emailProtection",
                         "-keyout", self.key, "-out", self.cert])

    def close(self) -> None:
        """Removes the throwaway certificate of `untrusted`, if any."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def p7s(self, content: bytes) -> tuple[bytes, bytes]:
        """(content as sent, DER signature)."""
        if self.mode == "none":
            return content, b"pec_sim: placeholder, not a CMS signature"
        with tempfile.NamedTemporaryFile(prefix="pec_sim-", suffix=".mime") as f:
            f.write(content)
            f.flush()
            der = run_openssl(["smime", "-sign", "-binary", "-md", "sha256",
                               "-signer", self.cert, "-inkey", self.key,
                               "-outform", "DER", "-in", f.name])
        if self.mode == "tampered":
            # The first letter of the human-readable text, case flipped.
            at = content.index(b"quoted-printable" + CRLF + CRLF) + len(b"quoted-printable") + 4
            while not content[at:at + 1].isalpha():
                at += 1
            content = content[:at] + content[at:at + 1].swapcase() + content[at + 1:]
        return content, der


def run_openssl(args: list[str]) -> bytes:
    import subprocess

    try:
        done = subprocess.run(["openssl", *args], capture_output=True, check=False)
    except OSError as e:
        raise SimError(f"cannot run openssl: {e}", 2) from e
    if done.returncode != 0:
        raise SimError(f"openssl {args[0]} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


SIGNER: Signer = Signer(None, None, "none")


def provider_message(
    headers: list[tuple[str, str]],
    text: str,
    html: str,
    daticert_xml: bytes,
    postacert: bytes | None,
) -> bytes:
    """multipart/signed( multipart/mixed( alternative(text, html), daticert.xml,
    [postacert.eml] ), smime.p7s ) — the layout of every sample."""
    alt_b, mix_b, sig_b = new_boundary("a"), new_boundary("m"), "----" + uuid.uuid4().hex.upper()
    alternative = part(
        [("Content-Type", f'multipart/alternative;\r\n boundary="{alt_b}"'),
         ("Content-Transfer-Encoding", "binary")],
        multipart(alt_b, [
            part([("Content-Type", 'text/plain; charset="iso-8859-1"'),
                  ("Content-Disposition", "inline"),
                  ("Content-Transfer-Encoding", "quoted-printable")], qp(text, "iso-8859-1")),
            part([("Content-Type", 'text/html; charset="iso-8859-1"'),
                  ("Content-Disposition", "inline"),
                  ("Content-Transfer-Encoding", "quoted-printable")], qp(html, "iso-8859-1")),
        ]),
    )
    parts = [
        alternative,
        part([("Content-Type", 'application/xml; name="daticert.xml"'),
              ("Content-Disposition", 'inline; filename="daticert.xml"'),
              ("Content-Transfer-Encoding", "base64")], b64_lines(daticert_xml)),
    ]
    if postacert is not None:
        cte = "7bit" if all(b < 128 for b in postacert) else "8bit"
        parts.append(part([("Content-Type", 'message/rfc822; name="postacert.eml"'),
                           ("Content-Disposition", 'inline; filename="postacert.eml"'),
                           ("Content-Transfer-Encoding", cte)], postacert))
    mixed = part(
        [("Content-Type", f'multipart/mixed; boundary="{mix_b}"'),
         ("Content-Transfer-Encoding", "binary"),
         ("MIME-Version", "1.0")],
        multipart(mix_b, parts),
    )
    # The signed content is the part as it travels: from its first header to
    # the CRLF before the next delimiter (which belongs to the delimiter).
    mixed, signature = SIGNER.p7s(mixed)
    p7s = part([("Content-Type", 'application/pkcs7-signature; name="smime.p7s"'),
                ("Content-Transfer-Encoding", "base64"),
                ("Content-Disposition", 'attachment; filename="smime.p7s"')],
               b64_lines(signature))
    top = headers + [
        ("MIME-Version", "1.0"),
        ("Content-Type", 'multipart/signed; protocol="application/pkcs7-signature"; '
                         f'micalg="sha-256"; boundary="{sig_b}"'),
    ]
    return headers_block(top) + CRLF + multipart(
        sig_b, [mixed, p7s], preamble=b"This is an S/MIME signed message" + CRLF
    )


def rewrite_headers(raw: bytes, drop: set[str], add: list[tuple[str, str]]) -> bytes:
    """Drops headers named in `drop` (lower-case), and the trace of the final
    LMTP delivery, from the top header block of `raw` and appends `add`; the
    body is kept byte for byte."""
    sep = raw.find(b"\r\n\r\n")
    if sep < 0:
        raise SimError("message without a header/body separator")
    head, body = raw[:sep + 2], raw[sep + 2:]
    fields: list[list[bytes]] = []
    for line in head.split(CRLF)[:-1]:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1].append(line)
        else:
            fields.append([line])
    kept = []
    for f in fields:
        name = f[0].split(b":", 1)[0].strip().decode("latin-1").lower()
        if name in drop or (name == "received" and b"with LMTP" in b" ".join(f)):
            continue
        kept.extend(f)
    return CRLF.join(kept) + CRLF + headers_block(add) + body


# ---------------------------------------------------------------------------
# What the provider and the court send
# ---------------------------------------------------------------------------


class Answerer:
    def __init__(self, env: Env, dep: Deposit, case_number: str,
                 idmsgmitt: str = "message-id"):
        self.env = env
        self.dep = dep
        self.case_number = case_number
        self.idmsgmitt = idmsgmitt
        self.provider = env.provider[0]
        self.court = dep.recipient or env.court[0]
        self.t = now_rome()
        self.ident = identificativo(env.domain, self.t)
        # The court's busta number: stable per deposit, same in 3rd and 4th PEC.
        self.id_busta = str(
            10_000_000 + int(hashlib.sha256(dep.message_id.encode()).hexdigest(), 16) % 90_000_000
        )

    # -- provider receipts ------------------------------------------------

    def _receipt(self, tipo: str, prefix: str, intro: str, outcome: str,
                 consegna: str | None, postacert: bytes | None) -> bytes:
        d, t = self.dep, now_rome()
        when = f"Il giorno {t.strftime('%d/%m/%Y')} alle ore {t.strftime('%H:%M:%S')} ({zona(t)})"
        text = (
            f"-- {intro} {self.court} (\"posta certificata\") --\n\n"
            f"{when} il messaggio con Oggetto\n\"{d.subject}\" inviato da \"{d.sender}\"\n"
            f"ed indirizzato a:\n{self.court} (\"posta certificata\")\n{outcome}\n"
            f"Identificativo del messaggio: {self.ident}\n"
            "L'allegato daticert.xml contiene informazioni di servizio sulla trasmissione\n"
        )
        html = (
            f"<html>\n<head><title>{intro.split(' del ')[0]}</title></head>\n<body>\n"
            f"<h3>{intro.split(' del ')[0]}</h3>\n<hr><br>\n{when} il messaggio<br>\n"
            f"&quot;{xml_escape(d.subject)}&quot; proveniente da &quot;{d.sender}&quot;<br>\n"
            f"ed indirizzato a:<br>\n{self.court}<br><br>\n{xml_escape(outcome)}<br>\n"
            f"Identificativo messaggio: {self.ident}<br>\n</body>\n</html>\n"
        )
        headers = [
            ("Return-Path", f"<{self.provider}>"),
            ("Subject", enc_header(f"{prefix}: {d.subject}")),
            ("X-Riferimento-Message-ID", f"<{d.message_id}>"),
            ("Date", email.utils.format_datetime(t)),
            ("To", d.sender),
            ("X-Ricevuta", tipo),
            ("From", self.provider),
            ("Message-ID", f"<{identificativo(self.env.domain, t)}>"),
        ]
        dc = daticert(
            tipo, mittente=d.sender, destinatario=self.court, oggetto=d.subject, t=t,
            ident=self.ident, msgid=d.message_id,
            ricevuta=d.tipo_ricevuta if tipo == "avvenuta-consegna" else None,
            consegna=consegna,
        )
        return provider_message(headers, text, html, dc, postacert)

    def accettazione(self) -> bytes:
        return self._receipt(
            "accettazione", "ACCETTAZIONE", "Ricevuta di accettazione del messaggio indirizzato a",
            "è stato accettato dal sistema ed inoltrato.", None, None,
        )

    def avvenuta_consegna(self) -> bytes:
        # The original as transported: Message-ID = the provider's
        # identificativo, the sender's id moved to X-Riferimento-Message-ID
        # (shared/pec/README.md §1); final-delivery trace headers dropped.
        original = rewrite_headers(
            self.dep.raw,
            {"return-path", "delivered-to", "message-id", "x-riferimento-message-id"},
            [("Message-ID", f"<{self.ident}>"),
             ("X-Riferimento-Message-ID", f"<{self.dep.message_id}>")],
        )
        postacert = None if self.dep.tipo_ricevuta.lower() == "sintetica" else original
        return self._receipt(
            "avvenuta-consegna", "CONSEGNA",
            "Ricevuta di avvenuta consegna del messaggio indirizzato a",
            "è stato correttamente consegnato al destinatario.", self.court, postacert,
        )

    # -- court messages ---------------------------------------------------

    def esito_xml(self, codice: str, descrizione: str, numero_ruolo: str | None) -> bytes:
        t = now_rome()
        impronta = base64.b64encode(hashlib.sha1(self.dep.atto).digest()).decode()
        nr = f"<NumeroRuolo>{xml_escape(numero_ruolo)}</NumeroRuolo>" if numero_ruolo else ""
        # Which id the court puts in IdMsgMitt is not documented in the
        # sources at hand: the sender's Message-ID (default) or the provider's
        # identificativo (the Message-ID of the transported original).
        mitt = self.ident if self.idmsgmitt == "identificativo" else self.dep.message_id
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            "<EsitoAtto>\n"
            f"  <IdMsgMitt>&lt;{xml_escape(mitt)}&gt;</IdMsgMitt>\n"
            f"  <IdMsgPdA><CodicePdA>PEC</CodicePdA><Anno>{self.t.year}</Anno>"
            f"<IdMsg>{xml_escape(self.ident)}</IdMsg></IdMsgPdA>\n"
            "  <DatiEsito>\n"
            f'    <Impronta algoritmo="SHA-1" codifica="base64" tipoImpronta="File">{impronta}</Impronta>\n'
            f"    <MsgEsito>{nr}<CodiceEsito>{codice}</CodiceEsito>"
            f"<DescrizioneEsito>{xml_escape(descrizione)}</DescrizioneEsito></MsgEsito>\n"
            f'    <Tempo zona="{zona(t)}"><Data>{t.strftime("%Y-%m-%d")}</Data>'
            f'<Ora zoneDesignator="{zona(t)}">{t.strftime("%H:%M:%S")}</Ora></Tempo>\n'
            "  </DatiEsito>\n"
            "</EsitoAtto>\n"
        ).encode("utf-8")

    def court_message(self, subject: str, codice: str, descrizione: str,
                      numero_ruolo: str | None = None) -> bytes:
        """The court's PEC (office → depositor) inside the provider's busta di
        trasporto, as the depositor receives it."""
        d, t = self.dep, now_rome()
        court_id = f"{uuid.uuid4().hex}@{self.env.domain}"
        env_ident = identificativo(self.env.domain, t)
        body = (
            f"Codice esito: {codice}\r\nDescrizione esito: {descrizione}\r\n"
            f"IDBUSTA: {self.id_busta}\r\n"
        )
        b = "=_court_" + uuid.uuid4().hex
        inner_body = multipart(b, [
            part([("Content-Type", "text/plain; charset=UTF-8"),
                  ("Content-Transfer-Encoding", "quoted-printable")], qp(body, "utf-8")),
            part([("Content-Type", 'application/xml; name="EsitoAtto.xml"'),
                  ("Content-Disposition", 'attachment; filename="EsitoAtto.xml"'),
                  ("Content-Transfer-Encoding", "base64")],
                 b64_lines(self.esito_xml(codice, descrizione, numero_ruolo))),
        ], preamble=b"This is a multi-part message in MIME format.")
        # As transported: Message-ID = the envelope's identificativo, the
        # court's own id in X-Riferimento-Message-ID.
        inner = headers_block([
            ("Date", email.utils.format_datetime(t)),
            ("From", self.court),
            ("To", d.sender),
            ("Subject", enc_header(subject)),
            ("MIME-Version", "1.0"),
            ("Content-Type", f'multipart/mixed; boundary="{b}"'),
            ("X-TipoRicevuta", "completa"),
            ("Message-ID", f"<{env_ident}>"),
            ("X-Riferimento-Message-ID", f"<{court_id}>"),
        ]) + CRLF + inner_body
        when = f"Il giorno {t.strftime('%d/%m/%Y')} alle ore {t.strftime('%H:%M:%S')} ({zona(t)})"
        text = (
            "--Questo è un Messaggio di Posta Certificata--\n\n"
            f"{when} il messaggio con Oggetto\n\"{subject}\" è stato inviato dal mittente "
            f"\"{self.court}\"\ne indirizzato a:\n{d.sender}\n"
            "Il messaggio originale è incluso in allegato, per aprirlo cliccare sul file "
            "\"postacert.eml\".\n"
            "L'allegato daticert.xml contiene informazioni di servizio sulla trasmissione\n"
            f"L'identificativo univoco di questo messaggio è: {env_ident}\n"
        )
        html = (
            "<html>\n<head><title>Messaggio di posta certificata</title></head>\n<body>\n"
            f"<h3>Messaggio di posta certificata</h3>\n<hr><br>\n{when} il messaggio<br>\n"
            f"&quot;{xml_escape(subject)}&quot; &egrave; stato inviato da &quot;{self.court}&quot;<br>\n"
            f"indirizzato a:<br>\n{d.sender}<br>\n<br>\nIl messaggio originale &egrave; incluso "
            f"in allegato.<br>\nIdentificativo messaggio: {env_ident}<br>\n</body>\n</html>\n"
        )
        headers = [
            ("Return-Path", f"<{self.provider}>"),
            ("Date", email.utils.format_datetime(t)),
            ("X-Trasporto", "posta-certificata"),
            ("X-Riferimento-Message-ID", f"<{court_id}>"),
            ("From", f'"Per conto di: {self.court}" <{self.provider}>'),
            ("X-TipoRicevuta", "completa"),
            ("To", d.sender),
            ("Subject", enc_header(f"POSTA CERTIFICATA: {subject}")),
            ("Reply-To", self.court),
            ("Message-ID", f"<{env_ident}>"),
        ]
        dc = daticert(
            "posta-certificata", mittente=self.court, destinatario=d.sender, oggetto=subject,
            t=t, ident=env_ident, msgid=court_id, ricevuta="completa",
        )
        return provider_message(headers, text, html, dc, inner)

    def esito_controlli(self, passed: bool, warn: bool = False) -> bytes:
        subject = f"ESITO CONTROLLI AUTOMATICI {self.dep.deposit_subject}"
        if passed:
            return self.court_message(
                subject, "1", "Controlli terminati con successo. Busta in attesa di accettazione."
            )
        if warn:
            return self.court_message(
                subject, "-1",
                f"IDBUSTA: {self.id_busta} - NOME FILE: DatiAtto.xml.p7m - WARN: Atto depositato "
                "fuori termine. L'atto verrà comunque accettato e non è necessario effettuare "
                "nuovamente il deposito.",
            )
        return self.court_message(
            subject, "-1",
            f"IDBUSTA: {self.id_busta} - NOME FILE: Atto.enc - FATAL: Impossibile decifrare la "
            "busta. Il deposito non può essere accettato: è necessario effettuare nuovamente "
            "il deposito.",
        )

    def esito_intervento(self, accepted: bool) -> bytes:
        if accepted:
            return self.court_message(
                f"ACCETTAZIONE {self.dep.deposit_subject}", "2",
                f"IDBUSTA: {self.id_busta} - Accettazione avvenuta con successo",
                self.case_number,
            )
        day = now_rome().strftime("%d/%m/%Y")
        return self.court_message(
            f"RIFIUTO {self.dep.deposit_subject}", "-1",
            f"IDBUSTA: {self.id_busta} - Anomalia non risolvibile; atti rifiutati il {day}",
        )

    def plan(self, scenario: str) -> list[tuple[str, callable]]:
        rda = ("accettazione", self.accettazione)
        rdac = ("avvenuta-consegna", self.avvenuta_consegna)
        return {
            "ok": [rda, rdac, ("esito-controlli-passed", lambda: self.esito_controlli(True)),
                   ("esito-intervento-accepted", lambda: self.esito_intervento(True))],
            "checks-failed": [rda, rdac,
                              ("esito-controlli-failed", lambda: self.esito_controlli(False))],
            "checks-warn": [rda, rdac,
                            ("esito-controlli-warn", lambda: self.esito_controlli(False, True)),
                            ("esito-intervento-accepted", lambda: self.esito_intervento(True))],
            "refused": [rda, rdac, ("esito-controlli-passed", lambda: self.esito_controlli(True)),
                        ("esito-intervento-refused", lambda: self.esito_intervento(False))],
            "no-receipts": [],
            "rda-only": [rda],
        }[scenario]


# ---------------------------------------------------------------------------
# State and locking
# ---------------------------------------------------------------------------


class State:
    def __init__(self, path: str | None):
        self.path = Path(path) if path else None
        self.handled: dict[str, dict] = {}
        if self.path and self.path.exists():
            try:
                data = json.loads(self.path.read_text() or "{}")
            except (OSError, ValueError) as e:
                raise SimError(f"cannot read state file {self.path}: {e}") from e
            self.handled = dict(data.get("handled", {}))

    def __contains__(self, message_id: str) -> bool:
        return message_id in self.handled

    def add(self, message_id: str, info: dict) -> None:
        self.handled[message_id] = info
        self.save()

    def save(self) -> None:
        if not self.path:
            return
        tmp = self.path.with_name(self.path.name + f".tmp{os.getpid()}")
        with open(tmp, "w") as f:
            json.dump({"handled": self.handled}, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


class Lock:
    """Serialises simulators sharing the same servers (claim + mark + send)."""

    def __init__(self, env: Env):
        candidates = [Path(env.path).resolve().parent / "pec_sim.lock",
                      Path(tempfile.gettempdir()) / f"pec_sim.{os.getuid()}.lock"]
        self.f = None
        for p in candidates:
            try:
                self.f = open(p, "a")
                break
            except OSError:
                continue

    def __enter__(self):
        if self.f is not None and fcntl is not None:
            fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self.f is not None and fcntl is not None:
            fcntl.flock(self.f, fcntl.LOCK_UN)


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------


def matches_filters(dep: Deposit, args) -> bool:
    if args.message_id and dep.message_id not in {strip_brackets(m) for m in args.message_id}:
        return False
    if args.subject_contains and args.subject_contains not in dep.subject:
        return False
    return True


def one_pass(env: Env, args, state: State, lock: Lock) -> int:
    handled = 0
    with lock:
        box = imap_connect(env)
        try:
            ids = [strip_brackets(m) for m in args.message_id or []]
            uids = search_deposits(box, ids, unhandled_only=True)
            todo = []
            for uid in uids:
                raw, flags = fetch(box, uid, "BODY.PEEK[]")
                if raw is None:
                    continue
                dep = Deposit(uid, raw, flags)
                if not dep.is_deposit() or not matches_filters(dep, args):
                    continue
                if dep.message_id in state:
                    # Handled by an earlier run whose keyword got lost: re-mark.
                    box.uid("STORE", uid, "+FLAGS.SILENT", f"(\\Seen {HANDLED_KEYWORD})")
                    continue
                todo.append(dep)
            for dep in todo:
                # Claim first (at most once), then answer.
                typ, data = box.uid("STORE", dep.uid, "+FLAGS.SILENT", f"(\\Seen {HANDLED_KEYWORD})")
                if typ != "OK":
                    raise SimError(f"IMAP STORE failed: {data!r}")
                ans = Answerer(env, dep, args.case_number, args.idmsgmitt)
                plan = ans.plan(args.scenario)
                state.add(dep.message_id, {
                    "scenario": args.scenario,
                    "at": now_rome().isoformat(),
                    "identificativo": ans.ident,
                    "id_busta": ans.id_busta,
                    "sent": [name for name, _ in plan],
                })
                rcpt = dep.sender
                with Smtp(env) as smtp:
                    for _, build in plan:
                        smtp.send(rcpt, build())
                print(json.dumps({
                    "message_id": dep.message_id,
                    "scenario": args.scenario,
                    "to": rcpt,
                    "identificativo": ans.ident,
                    "id_busta": ans.id_busta,
                    "case_number": args.case_number
                    if args.scenario in ("ok", "checks-warn") else None,
                    "sent": [name for name, _ in plan],
                }), flush=True)
                handled += 1
        finally:
            imap_logout(box)
    return handled


def cmd_run(env: Env, args) -> int:
    global SIGNER
    SIGNER = Signer(*env.signing, mode=args.signature)
    state = State(args.state)
    lock = Lock(env)
    if args.duration is None:
        n = one_pass(env, args, state, lock)
        print(f"pec_sim: {n} deposit(s) answered ({args.scenario})", file=sys.stderr)
        return 0
    deadline = time.monotonic() + args.duration
    total = 0
    while True:
        total += one_pass(env, args, state, lock)
        if time.monotonic() >= deadline:
            break
        time.sleep(min(args.interval, max(0.0, deadline - time.monotonic())))
    print(f"pec_sim: {total} deposit(s) answered ({args.scenario})", file=sys.stderr)
    return 0


def list_deposits(env: Env, args, with_body: bool) -> list[Deposit]:
    box = imap_connect(env)
    try:
        ids = [strip_brackets(m) for m in args.message_id or []]
        out = []
        for uid in search_deposits(box, ids, unhandled_only=False):
            what = "BODY.PEEK[]" if with_body else \
                "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID SUBJECT FROM TO DATE)]"
            raw, flags = fetch(box, uid, what)
            if raw is None:
                continue
            dep = Deposit(uid, raw, flags)
            ok = dep.is_deposit() if with_body else (
                bool(dep.message_id) and dep.deposit_subject.startswith("DEPOSITO"))
            if ok and matches_filters(dep, args):
                out.append(dep)
        return out
    finally:
        imap_logout(box)


def cmd_count(env: Env, args) -> int:
    deps = list_deposits(env, args, with_body=False)
    distinct = len({d.message_id for d in deps})
    print(json.dumps({"deposits": distinct, "messages": len(deps)}))
    return 0


def cmd_deposits(env: Env, args) -> int:
    for d in list_deposits(env, args, with_body=True):
        print(json.dumps({
            "message_id": d.message_id,
            "subject": d.subject,
            "attachment_sha256": hashlib.sha256(d.atto).hexdigest(),
            "date": d.iso_date(),
            "handled": d.handled_on_server(),
        }, ensure_ascii=False))
    return 0


def parse_args(argv: list[str]):
    p = argparse.ArgumentParser(
        prog="pec_sim.py",
        description="PEC provider + court simulator over the local test mail servers.",
    )
    p.add_argument("--env", default=os.environ.get("PONTE_PEC_ENV", "/tmp/ponte-pec/env"),
                   help="env file written by scripts/pec-test-servers.sh")
    sub = p.add_subparsers(dest="command", required=True)

    def filters(sp):
        sp.add_argument("--message-id", action="append", metavar="ID",
                        help="only this deposit Message-ID (repeatable; brackets optional)")
        sp.add_argument("--subject-contains", metavar="TEXT",
                        help="only deposits whose subject contains TEXT")

    r = sub.add_parser("run", help="answer new deposits in the court's box")
    r.add_argument("--scenario", required=True, choices=SCENARIOS)
    g = r.add_mutually_exclusive_group()
    g.add_argument("--once", action="store_true", help="one pass, then exit (default)")
    g.add_argument("--for", dest="duration", type=float, metavar="SECONDS",
                   help="keep polling for SECONDS")
    r.add_argument("--interval", type=float, default=1.0, help="poll interval with --for")
    r.add_argument("--case-number", default=None,
                   help="NumeroRuolo of an accepted deposit (default: random n/current year)")
    r.add_argument("--state", help="JSON file remembering handled Message-IDs")
    r.add_argument("--signature", choices=Signer.MODES, default="valid",
                   help="the provider's S/MIME signature: valid (default), tampered after "
                        "signing, by an untrusted certificate, or none (a placeholder)")
    r.add_argument("--idmsgmitt", choices=("message-id", "identificativo"), default="message-id",
                   help="what EsitoAtto/IdMsgMitt carries: the deposit's Message-ID (default) "
                        "or the provider's identificativo")
    filters(r)
    c = sub.add_parser("count", help='print {"deposits": distinct Message-IDs, "messages": n}')
    filters(c)
    d = sub.add_parser("deposits", help="print one JSON line per deposit in the court's box")
    filters(d)
    args = p.parse_args(argv)
    if args.command == "run" and args.case_number is None:
        args.case_number = f"{random.randrange(1, 20000)}/{dt.date.today().year}"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `deposits | head`
    except (AttributeError, ValueError):
        pass
    try:
        env = Env(args.env)
        return {"run": cmd_run, "count": cmd_count, "deposits": cmd_deposits}[args.command](env, args)
    except SimError as e:
        print(f"pec_sim: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
