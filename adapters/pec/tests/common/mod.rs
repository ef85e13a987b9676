//! Builders for provider-style PEC messages (what a PEC provider would send
//! back), and access to the local test servers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;

/// `../shared/pec/samples` (or `$PONTE_SHARED/pec/samples`).
pub fn samples() -> std::path::PathBuf {
    let dir = std::env::var("PONTE_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
        });
    dir.join("pec/samples")
}

/// Base64 in 76-character CRLF lines.
pub fn b64(data: &[u8]) -> String {
    let s = base64::engine::general_purpose::STANDARD.encode(data);
    s.as_bytes()
        .chunks(76)
        .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
        .collect()
}

/// A `daticert.xml` like the providers write.
pub fn daticert(
    tipo: &str,
    msgid: &str,
    identificativo: &str,
    oggetto: &str,
    consegna: Option<&str>,
) -> String {
    let consegna = consegna
        .map(|c| format!("        <consegna>{c}</consegna>\n"))
        .unwrap_or_default();
    let ricevuta = if tipo == "avvenuta-consegna" || tipo == "posta-certificata" {
        "        <ricevuta tipo=\"completa\" />\n"
    } else {
        ""
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<postacert tipo=\"{tipo}\" errore=\"nessuno\">\n    <intestazione>\n        <mittente>ufficio@pec.ponte.test</mittente>\n        <destinatari tipo=\"certificato\">tribunale@pec.ponte.test</destinatari>\n        <risposte>ufficio@pec.ponte.test</risposte>\n        <oggetto>{oggetto}</oggetto>\n    </intestazione>\n    <dati>\n        <gestore-emittente>PONTE TEST PEC S.p.A.</gestore-emittente>\n        <data zona=\"+0100\">\n            <giorno>04/03/2025</giorno>\n            <ora>10:20:31</ora>\n        </data>\n        <identificativo>{identificativo}</identificativo>\n        <msgid>&lt;{msgid}&gt;</msgid>\n{ricevuta}{consegna}    </dati>\n</postacert>\n"
    )
}

/// A signed provider message: multipart/signed around multipart/mixed with
/// the text, `daticert.xml`, optionally `postacert.eml`, and a (dummy)
/// `smime.p7s`.
pub fn provider_message(
    headers: &str,
    text: &str,
    daticert_xml: &str,
    postacert: Option<&[u8]>,
) -> Vec<u8> {
    let mut m = String::new();
    m.push_str(headers);
    m.push_str("MIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=\"sha-256\"; boundary=\"----SIGNED0001\"\r\n\r\nThis is an S/MIME signed message\r\n\r\n------SIGNED0001\r\nContent-Type: multipart/mixed; boundary=\"----------=_MIXED0001\"\r\n\r\n------------=_MIXED0001\r\nContent-Type: text/plain; charset=\"iso-8859-1\"\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
    m.push_str(text);
    m.push_str("\r\n\r\n------------=_MIXED0001\r\nContent-Type: application/xml; name=\"daticert.xml\"\r\nContent-Disposition: inline; filename=\"daticert.xml\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    m.push_str(&b64(daticert_xml.as_bytes()));
    let mut bytes = m.into_bytes();
    if let Some(inner) = postacert {
        bytes.extend_from_slice(b"\r\n------------=_MIXED0001\r\nContent-Type: message/rfc822; name=\"postacert.eml\"\r\nContent-Disposition: inline; filename=\"postacert.eml\"\r\n\r\n");
        bytes.extend_from_slice(inner);
    }
    bytes.extend_from_slice(b"\r\n------------=_MIXED0001--\r\n\r\n------SIGNED0001\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n");
    bytes.extend_from_slice(b64(b"not a real signature").as_bytes());
    bytes.extend_from_slice(b"\r\n------SIGNED0001--\r\n");
    bytes
}

/// A receipt (`accettazione`, `avvenuta-consegna`, …) about `msgid`.
pub fn receipt(
    tipo: &str,
    msgid: &str,
    identificativo: &str,
    subject: &str,
    original: Option<&[u8]>,
) -> Vec<u8> {
    let prefix = match tipo {
        "accettazione" => "ACCETTAZIONE",
        "avvenuta-consegna" => "CONSEGNA",
        "errore-consegna" => "AVVISO DI MANCATA CONSEGNA",
        "non-accettazione" => "AVVISO DI NON ACCETTAZIONE",
        "presa-in-carico" => "PRESA IN CARICO",
        "preavviso-errore-consegna" => "AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO",
        "rilevazione-virus" => "PROBLEMA DI SICUREZZA",
        _ => "POSTA CERTIFICATA",
    };
    let consegna = (tipo == "avvenuta-consegna" || tipo == "errore-consegna")
        .then_some("tribunale@pec.ponte.test");
    let headers = format!(
        "Return-Path: <posta-certificata@pec.ponte.test>\r\nSubject: {prefix}: {subject}\r\nX-Riferimento-Message-ID: <{msgid}>\r\nDate: Tue, 04 Mar 2025 10:20:31 +0100\r\nTo: ufficio@pec.ponte.test\r\nX-Ricevuta: {tipo}\r\nFrom: posta-certificata@pec.ponte.test\r\nMessage-ID: <opec.{identificativo}.{tipo}@pec.ponte.test>\r\n"
    );
    let text =
        format!("-- Ricevuta di {tipo} --\r\nIdentificativo del messaggio: {identificativo}");
    provider_message(
        &headers,
        &text,
        &daticert(tipo, msgid, identificativo, subject, consegna),
        original,
    )
}

/// The court's own message (what goes inside `postacert.eml`), with one XML
/// attachment.
pub fn court_inner(subject: &str, body: &str, xml_name: &str, xml: &str) -> Vec<u8> {
    format!(
        "Date: Tue, 04 Mar 2025 11:00:00 +0100\r\nFrom: tribunale@pec.ponte.test\r\nTo: ufficio@pec.ponte.test\r\nSubject: {subject}\r\nMessage-ID: <esito-1@giustiziacert.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"COURT01\"\r\n\r\n--COURT01\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n--COURT01\r\nContent-Type: text/xml; name=\"{xml_name}\"\r\nContent-Disposition: attachment; filename=\"{xml_name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--COURT01--\r\n",
        b64(xml.as_bytes())
    )
    .into_bytes()
}

/// A transport envelope (`posta-certificata`) around the court's message.
pub fn court_envelope(inner_subject: &str, inner: &[u8]) -> Vec<u8> {
    let headers = format!(
        "Subject: POSTA CERTIFICATA: {inner_subject}\r\nX-Trasporto: posta-certificata\r\nX-Riferimento-Message-ID: <esito-1@giustiziacert.test>\r\nDate: Tue, 04 Mar 2025 11:00:01 +0100\r\nFrom: \"Per conto di: tribunale@pec.ponte.test\" <posta-certificata@pec.ponte.test>\r\nTo: ufficio@pec.ponte.test\r\nMessage-ID: <opec.court.1@pec.ponte.test>\r\n"
    );
    let dc = daticert(
        "posta-certificata",
        "esito-1@giustiziacert.test",
        "opec.court.1@pec.ponte.test",
        inner_subject,
        None,
    );
    provider_message(
        &headers,
        "--Questo e' un Messaggio di Posta Certificata--",
        &dc,
        Some(inner),
    )
}

/// An `EsitoAtto.xml` as in the Ministry's DTD.
pub fn esito_xml(
    id_msg_mitt: &str,
    id_msg: &str,
    codice: &str,
    descrizione: &str,
    numero_ruolo: Option<&str>,
) -> String {
    let nr = numero_ruolo
        .map(|n| format!("<NumeroRuolo>{n}</NumeroRuolo>"))
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<EsitoAtto><IdMsgMitt>&lt;{id_msg_mitt}&gt;</IdMsgMitt><IdMsgPdA><CodicePdA>GIUSTIZIA</CodicePdA><Anno>2025</Anno><IdMsg>{id_msg}</IdMsg></IdMsgPdA><DatiEsito><Impronta algoritmo=\"SHA-1\" codifica=\"base64\" tipoImpronta=\"File\">2jmj7l5rSw0yVb/vlWAYkK/YBwk=</Impronta><MsgEsito>{nr}<CodiceEsito>{codice}</CodiceEsito><DescrizioneEsito>{descrizione}</DescrizioneEsito></MsgEsito><Tempo zona=\"+0100\"><Data>2025-03-04</Data><Ora zoneDesignator=\"+0100\">11:00:00</Ora></Tempo></DatiEsito></EsitoAtto>\n"
    )
}

/// Connection details of the local servers (scripts/pec-test-servers.sh).
#[derive(Debug, Clone)]
pub struct Servers {
    pub host: String,
    pub tls_name: String,
    pub domain: String,
    pub submission_port: u16,
    pub smtps_port: u16,
    pub untrusted_port: u16,
    pub imaps_port: u16,
    pub ca: std::path::PathBuf,
    pub untrusted_ca: std::path::PathBuf,
    pub office: (String, String),
    pub court: (String, String),
    pub provider: (String, String),
}

/// Reads the env file written by scripts/pec-test-servers.sh and checks the
/// servers answer. Panics (fails the test) with instructions otherwise.
pub fn servers() -> Servers {
    let path = std::env::var("PONTE_PEC_ENV").unwrap_or_else(|_| "/tmp/ponte-pec/env".into());
    let help = "run `scripts/pec-test-servers.sh` (as root) to install and start the local Postfix + Dovecot, \
                or point PONTE_PEC_ENV at its env file";
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("PEC test servers: cannot read {path}: {e}; {help}"));
    let get = |k: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("PEC test servers: {k} missing in {path}; {help}"))
            .to_owned()
    };
    let port = |k: &str| {
        get(k)
            .parse::<u16>()
            .unwrap_or_else(|_| panic!("{k} is not a port"))
    };
    let s = Servers {
        host: get("PONTE_PEC_HOST"),
        tls_name: get("PONTE_PEC_TLS_NAME"),
        domain: get("PONTE_PEC_DOMAIN"),
        submission_port: port("PONTE_PEC_SUBMISSION_PORT"),
        smtps_port: port("PONTE_PEC_SMTPS_PORT"),
        untrusted_port: port("PONTE_PEC_UNTRUSTED_PORT"),
        imaps_port: port("PONTE_PEC_IMAPS_PORT"),
        ca: get("PONTE_PEC_CA").into(),
        untrusted_ca: get("PONTE_PEC_UNTRUSTED_CA").into(),
        office: (
            get("PONTE_PEC_OFFICE_USER"),
            get("PONTE_PEC_OFFICE_PASSWORD"),
        ),
        court: (get("PONTE_PEC_COURT_USER"), get("PONTE_PEC_COURT_PASSWORD")),
        provider: (
            get("PONTE_PEC_PROVIDER_USER"),
            get("PONTE_PEC_PROVIDER_PASSWORD"),
        ),
    };
    for p in [
        s.submission_port,
        s.smtps_port,
        s.untrusted_port,
        s.imaps_port,
    ] {
        std::net::TcpStream::connect((s.host.as_str(), p)).unwrap_or_else(|e| {
            panic!(
                "PEC test servers: nothing answers on {}:{p} ({e}); {help}",
                s.host
            )
        });
    }
    s
}
