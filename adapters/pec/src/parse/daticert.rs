//! `daticert.xml`: the certification data of every PEC message.

use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::{ParseError, strip_brackets};
use crate::xml;

/// The `postacert@tipo` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PecKind {
    /// Ricevuta di accettazione (sender's provider took the message).
    Accettazione,
    /// Avviso di non accettazione (sender's provider refused it).
    NonAccettazione,
    /// Ricevuta di presa in carico (between providers).
    PresaInCarico,
    /// Ricevuta di avvenuta consegna (delivered to the recipient's box).
    AvvenutaConsegna,
    /// Avviso di mancata consegna.
    ErroreConsegna,
    /// Preavviso di mancata consegna (12 hours without delivery).
    PreavvisoErroreConsegna,
    /// Avviso di rilevazione virus.
    RilevazioneVirus,
    /// Busta di trasporto (the message as delivered).
    PostaCertificata,
}

impl PecKind {
    /// Every kind.
    pub const ALL: [PecKind; 8] = [
        Self::Accettazione,
        Self::NonAccettazione,
        Self::PresaInCarico,
        Self::AvvenutaConsegna,
        Self::ErroreConsegna,
        Self::PreavvisoErroreConsegna,
        Self::RilevazioneVirus,
        Self::PostaCertificata,
    ];

    /// The `tipo` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accettazione => "accettazione",
            Self::NonAccettazione => "non-accettazione",
            Self::PresaInCarico => "presa-in-carico",
            Self::AvvenutaConsegna => "avvenuta-consegna",
            Self::ErroreConsegna => "errore-consegna",
            Self::PreavvisoErroreConsegna => "preavviso-errore-consegna",
            Self::RilevazioneVirus => "rilevazione-virus",
            Self::PostaCertificata => "posta-certificata",
        }
    }

    /// Parses a `tipo` value (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether this notice means the message did not (or may not) reach
    /// the recipient.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Self::NonAccettazione
                | Self::ErroreConsegna
                | Self::PreavvisoErroreConsegna
                | Self::RilevazioneVirus
        )
    }
}

/// A recipient listed in `intestazione/destinatari`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destinatario {
    /// The address.
    pub address: String,
    /// `certificato` (PEC) or `esterno`.
    pub tipo: Option<String>,
}

/// `dati/data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaticertTime {
    /// `giorno`, `dd/mm/yyyy`.
    pub giorno: String,
    /// `ora`, `hh:mm:ss`.
    pub ora: String,
    /// `@zona`, `±hhmm`.
    pub zona: String,
    /// The instant, when the three parse.
    pub instant: Option<OffsetDateTime>,
}

/// The content of `daticert.xml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daticert {
    /// `postacert@tipo`.
    pub kind: PecKind,
    /// `postacert@errore` (`nessuno`, `no-dest`, `no-dominio`, `virus`, `altro`).
    pub errore: String,
    /// `intestazione/mittente`.
    pub mittente: Option<String>,
    /// `intestazione/destinatari`.
    pub destinatari: Vec<Destinatario>,
    /// `intestazione/risposte`.
    pub risposte: Option<String>,
    /// `intestazione/oggetto`.
    pub oggetto: Option<String>,
    /// `dati/gestore-emittente`.
    pub gestore_emittente: Option<String>,
    /// `dati/data`.
    pub data: Option<DaticertTime>,
    /// `dati/identificativo`: the provider's id of the message, the same in
    /// all receipts of one sent message.
    pub identificativo: Option<String>,
    /// `dati/msgid` without brackets: the Message-ID of the original.
    pub msgid: Option<String>,
    /// `dati/ricevuta@tipo` (`completa`, `breve`, `sintetica`).
    pub ricevuta: Option<String>,
    /// `dati/consegna`: the recipient this receipt is about.
    pub consegna: Option<String>,
    /// `dati/ricezione` (presa in carico).
    pub ricezione: Vec<String>,
    /// `dati/errore-esteso`.
    pub errore_esteso: Option<String>,
}

/// Parses the bytes of `daticert.xml`.
pub fn parse(bytes: &[u8]) -> Result<Daticert, ParseError> {
    let root = xml::parse(bytes).map_err(ParseError::DaticertXml)?;
    if root.name != "postacert" {
        return Err(ParseError::DaticertContent(format!(
            "root element is {:?}, not postacert",
            root.name
        )));
    }
    let tipo = root.attr("tipo").unwrap_or_default();
    let kind = PecKind::parse(tipo)
        .ok_or_else(|| ParseError::DaticertContent(format!("unknown tipo {tipo:?}")))?;
    let empty = xml::Element::default();
    let head = root.child("intestazione").unwrap_or(&empty);
    let dati = root
        .child("dati")
        .ok_or_else(|| ParseError::DaticertContent("no dati element".into()))?;
    let data = dati.child("data").map(|d| {
        let giorno = d.child_text("giorno").unwrap_or_default();
        let ora = d.child_text("ora").unwrap_or_default();
        let zona = d.attr("zona").unwrap_or_default().trim().to_owned();
        let instant = instant(&giorno, &ora, &zona);
        DaticertTime {
            giorno,
            ora,
            zona,
            instant,
        }
    });
    Ok(Daticert {
        kind,
        errore: root.attr("errore").unwrap_or("nessuno").trim().to_owned(),
        mittente: head.child_text("mittente"),
        destinatari: head
            .children_named("destinatari")
            .map(|d| Destinatario {
                address: d.text.clone(),
                tipo: d.attr("tipo").map(str::to_owned),
            })
            .collect(),
        risposte: head.child_text("risposte"),
        oggetto: head.child_text("oggetto"),
        gestore_emittente: dati.child_text("gestore-emittente"),
        data,
        identificativo: dati.child_text("identificativo"),
        msgid: dati
            .child_text("msgid")
            .map(|m| strip_brackets(&m))
            .filter(|m| !m.is_empty()),
        ricevuta: dati
            .child("ricevuta")
            .map(|r| r.attr("tipo").unwrap_or("completa").to_owned()),
        consegna: dati.child_text("consegna"),
        ricezione: dati
            .children_named("ricezione")
            .map(|r| r.text.clone())
            .collect(),
        errore_esteso: dati.child_text("errore-esteso"),
    })
}

fn instant(giorno: &str, ora: &str, zona: &str) -> Option<OffsetDateTime> {
    let num = |s: &str| s.parse::<u16>().ok();
    let mut d = giorno.split('/');
    let (day, month, year) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let mut t = ora.split(':');
    let (h, m, s) = (
        num(t.next()?)?,
        num(t.next()?)?,
        num(t.next().unwrap_or("0"))?,
    );
    let date = Date::from_calendar_date(
        i32::from(year),
        u8::try_from(month).ok()?.try_into().ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()?;
    let time = Time::from_hms(
        u8::try_from(h).ok()?,
        u8::try_from(m).ok()?,
        u8::try_from(s).ok()?,
    )
    .ok()?;
    let (sign, digits) = match zona.as_bytes().first()? {
        b'+' => (1i8, &zona[1..]),
        b'-' => (-1i8, &zona[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let oh: i8 = digits[..2].parse().ok()?;
    let om: i8 = digits[2..].parse().ok()?;
    let offset = UtcOffset::from_hms(sign * oh, sign * om, 0).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}
