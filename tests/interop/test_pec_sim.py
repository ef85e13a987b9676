"""Offline self-test of tests/interop/pec_sim.py (no mail servers needed).

Run from the repository root:
    python3 -m unittest tests/interop/test_pec_sim.py

Builds every message a scenario sends for a synthetic deposit and reads it
back with Python's `email` package and ElementTree: headers, MIME layout
(multipart/signed > multipart/mixed > alternative + daticert.xml
[+ postacert.eml]; smime.p7s), daticert.xml and EsitoAtto.xml content in DTD
order; the provider's signature in each --signature mode, checked with the
`openssl smime -verify` command. The end-to-end check against ponte-pec's
parser is the Rust test tests/tests/it/pec_sim/, which also runs this
self-test.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pec_sim  # noqa: E402

ATTO = bytes(range(256)) * 4
DEPOSIT = (
    "Return-Path: <ufficio@pec.ponte.test>\r\n"
    "Delivered-To: tribunale@pec.ponte.test\r\n"
    "Received: from mail.pec.ponte.test\r\n\tby vm with LMTP\r\n\tid x\r\n"
    "Message-ID: <dep-1@pec.ponte.test>\r\n"
    "Date: Tue, 04 Mar 2025 10:20:31 +0100\r\n"
    "From: ufficio@pec.ponte.test\r\n"
    "To: tribunale@pec.ponte.test\r\n"
    "Subject: =?UTF-8?B?REVQT1NJVE8gUmljb3JzbyDDqA==?=\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
    "--B\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nDeposito.\r\n"
    '--B\r\nContent-Type: application/pkcs7-mime; name="Atto.enc"\r\n'
    'Content-Disposition: attachment; filename="Atto.enc"\r\n'
    "Content-Transfer-Encoding: base64\r\n\r\n"
    + base64.encodebytes(ATTO).decode().replace("\n", "\r\n")
    + "--B--\r\n"
).encode()


class Env:
    domain = "pec.ponte.test"
    provider = ("posta-certificata@pec.ponte.test", "x")
    court = ("tribunale@pec.ponte.test", "x")


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def named(msg, name):
    return [p for p in msg.walk() if p.get_filename() == name]


class Builders(unittest.TestCase):
    def setUp(self):
        self.dep = pec_sim.Deposit(b"1", DEPOSIT, "")
        self.ans = pec_sim.Answerer(Env(), self.dep, "1234/2026")

    def test_deposit_recognised(self):
        self.assertTrue(self.dep.is_deposit())
        self.assertEqual(self.dep.message_id, "dep-1@pec.ponte.test")
        self.assertEqual(self.dep.subject, "DEPOSITO Ricorso è")
        self.assertEqual(self.dep.atto, ATTO)

    def check_layout(self, raw, postacert: bool):
        self.assertNotIn(b"\n", raw.replace(b"\r\n", b""), "bare LF")
        m = parse(raw)
        self.assertEqual(m.get_content_type(), "multipart/signed")
        mixed, sig = m.get_payload()
        self.assertEqual(mixed.get_content_type(), "multipart/mixed")
        self.assertEqual(sig.get_filename(), "smime.p7s")
        kinds = [p.get_content_type() for p in mixed.get_payload()]
        want = ["multipart/alternative", "application/xml"] + (["message/rfc822"] if postacert else [])
        self.assertEqual(kinds, want)
        (dc,) = named(m, "daticert.xml")
        return m, ET.fromstring(dc.get_payload(decode=True))

    def test_receipts(self):
        for build, tipo, prefix, postacert in [
            (self.ans.accettazione, "accettazione", "ACCETTAZIONE", False),
            (self.ans.avvenuta_consegna, "avvenuta-consegna", "CONSEGNA", True),
        ]:
            m, dc = self.check_layout(build(), postacert)
            self.assertEqual(m["X-Ricevuta"], tipo)
            self.assertEqual(m["X-Riferimento-Message-ID"], "<dep-1@pec.ponte.test>")
            self.assertEqual(str(m["Subject"]), f"{prefix}: DEPOSITO Ricorso è")
            self.assertEqual(dc.get("tipo"), tipo)
            self.assertEqual(dc.findtext("dati/msgid"), "<dep-1@pec.ponte.test>")
            self.assertEqual(dc.findtext("dati/identificativo"), self.ans.ident)
            self.assertEqual(dc.findtext("intestazione/oggetto"), "DEPOSITO Ricorso è")
            if postacert:
                inner = [p for p in m.walk() if p.get_content_type() == "message/rfc822"][0]
                orig = inner.get_payload()[0]
                self.assertEqual(orig["Message-ID"], f"<{self.ans.ident}>")
                self.assertEqual(orig["X-Riferimento-Message-ID"], "<dep-1@pec.ponte.test>")
                self.assertIsNone(orig["Delivered-To"])
                self.assertIsNone(orig["Received"])
                self.assertEqual(dc.findtext("dati/consegna"), "tribunale@pec.ponte.test")

    def test_court_messages(self):
        cases = [
            (lambda: self.ans.esito_controlli(True), "ESITO CONTROLLI AUTOMATICI", "1", None),
            (lambda: self.ans.esito_controlli(False), "ESITO CONTROLLI AUTOMATICI", "-1", None),
            (lambda: self.ans.esito_intervento(True), "ACCETTAZIONE", "2", "1234/2026"),
            (lambda: self.ans.esito_intervento(False), "RIFIUTO", "-1", None),
        ]
        for build, prefix, codice, ruolo in cases:
            m, dc = self.check_layout(build(), True)
            subject = f"{prefix} DEPOSITO Ricorso è"
            self.assertEqual(m["X-Trasporto"], "posta-certificata")
            self.assertEqual(str(m["Subject"]), f"POSTA CERTIFICATA: {subject}")
            self.assertEqual(dc.get("tipo"), "posta-certificata")
            inner = [p for p in m.walk() if p.get_content_type() == "message/rfc822"][0]
            court = inner.get_payload()[0]
            self.assertEqual(str(court["Subject"]), subject)
            (x,) = named(court, "EsitoAtto.xml")
            e = ET.fromstring(x.get_payload(decode=True))
            # Element order of EsitoAtto.dtd.
            self.assertEqual([c.tag for c in e], ["IdMsgMitt", "IdMsgPdA", "DatiEsito"])
            self.assertEqual([c.tag for c in e.find("IdMsgPdA")], ["CodicePdA", "Anno", "IdMsg"])
            self.assertEqual([c.tag for c in e.find("DatiEsito")], ["Impronta", "MsgEsito", "Tempo"])
            tags = [c.tag for c in e.find("DatiEsito/MsgEsito")]
            self.assertEqual(tags, (["NumeroRuolo"] if ruolo else []) + ["CodiceEsito", "DescrizioneEsito"])
            self.assertEqual(e.findtext("IdMsgMitt"), "<dep-1@pec.ponte.test>")
            self.assertEqual(e.findtext("IdMsgPdA/IdMsg"), self.ans.ident)
            self.assertEqual(e.findtext("DatiEsito/MsgEsito/CodiceEsito"), codice)
            self.assertEqual(e.findtext("DatiEsito/MsgEsito/NumeroRuolo"), ruolo)
            self.assertEqual(
                e.findtext("DatiEsito/Impronta"),
                base64.b64encode(hashlib.sha1(ATTO).digest()).decode(),
            )
            body = court.get_body(("plain",)).get_content()
            self.assertIn(f"Codice esito: {codice}", body)
            self.assertIn(f"IDBUSTA: {self.ans.id_busta}", body)

    def test_plans(self):
        names = {s: [n for n, _ in self.ans.plan(s)] for s in pec_sim.SCENARIOS}
        self.assertEqual(len(names["ok"]), 4)
        self.assertEqual(names["checks-failed"][-1], "esito-controlli-failed")
        self.assertEqual(names["refused"][-1], "esito-intervento-refused")
        self.assertEqual(names["no-receipts"], [])
        self.assertEqual(names["rda-only"], ["accettazione"])


class Signatures(unittest.TestCase):
    """The provider's smime.p7s, verified by the openssl command against a
    provider CA made here."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.ca = os.path.join(d, "ca.pem")

        def ossl(*args):
            subprocess.run(["openssl", *args], check=True, capture_output=True)

        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=Test provider CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign", "-keyout", os.path.join(d, "ca.key"),
             "-out", cls.ca)
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=Test provider signer",
             "-keyout", os.path.join(d, "signer.key"), "-out", os.path.join(d, "signer.csr"))
        Path(d, "ext").write_text("keyUsage=critical,digitalSignature\n"
                                  "extendedKeyUsage=emailProtection\n")
        ossl("x509", "-req", "-in", os.path.join(d, "signer.csr"), "-CA", cls.ca,
             "-CAkey", os.path.join(d, "ca.key"), "-CAcreateserial", "-days", "2",
             "-extfile", os.path.join(d, "ext"), "-out", os.path.join(d, "signer.pem"))
        cls.signing = (os.path.join(d, "signer.pem"), os.path.join(d, "signer.key"))

    @classmethod
    def tearDownClass(cls):
        pec_sim.SIGNER.close()
        pec_sim.SIGNER = pec_sim.Signer(None, None, "none")
        cls.tmp.cleanup()

    def receipt(self, mode: str) -> bytes:
        pec_sim.SIGNER.close()
        pec_sim.SIGNER = pec_sim.Signer(*self.signing, mode=mode)
        ans = pec_sim.Answerer(Env(), pec_sim.Deposit(b"1", DEPOSIT, ""), "1234/2026")
        return ans.avvenuta_consegna()

    def verifies(self, raw: bytes) -> bool:
        path = os.path.join(self.tmp.name, "msg.eml")
        Path(path).write_bytes(raw)
        done = subprocess.run(["openssl", "smime", "-verify", "-in", path, "-CAfile", self.ca,
                               "-out", os.devnull], capture_output=True)
        return done.returncode == 0

    def test_valid_verifies_and_every_spoiled_mode_does_not(self):
        self.assertTrue(self.verifies(self.receipt("valid")))
        for mode in ("tampered", "untrusted", "none"):
            with self.subTest(mode=mode):
                self.assertFalse(self.verifies(self.receipt(mode)))


if __name__ == "__main__":
    unittest.main()
