//! DatiAtto.xml: each act's elements, in the order and namespaces the
//! schemas declare.
//!
//! Namespaces: the root element and the elements the root schema declares
//! locally (`Beneficiario` and its children, `documenti`, `deposito`, `note`)
//! take the default namespace of `sicid/introduttivi/v7` or `sicid/parte/v7`;
//! elements of `tipi-atti.xsd` are `pt:`, of `tipi-anagrafiche.xsd` `at:`, of
//! `tipi-allegati.xsd` `all:`, of `eventi-parte.xsd` `evt:`. Every schema is
//! `elementFormDefault="qualified"`, so a local element takes the namespace of
//! the schema that declares it, not of the type it extends.

use super::check;
use super::model::{
    Act, Address, Attachment, AttachmentKind, Beneficiary, CaseRef, DatiAtto, Delegation,
    DocumentiRichiesti, IstanzaGenerica, IstanzaKind, MayorOrder, MedicalCertification, Party,
    ProximityOffice, RicorsoAmministrazioneSostegno, Subject, TrattamentoSanitarioObbligatorio,
};
use super::xml::Xml;
use crate::Error;

/// `sicid_v7/Introduttivi.xsd`.
pub(crate) const NS_INTRODUTTIVI: &str =
    "http://schemi.processotelematico.giustizia.it/sicid/introduttivi/v7";
/// `sicid_v7/Parte.xsd`.
pub(crate) const NS_PARTE: &str = "http://schemi.processotelematico.giustizia.it/sicid/parte/v7";
/// `base_v7/tipi-atti.xsd`.
pub(crate) const NS_ATTI: &str = "http://schemi.processotelematico.giustizia.it/tipi/atti/v7";
/// `base_v4/tipi-anagrafiche.xsd`.
const NS_ANAGRAFICHE: &str = "http://schemi.processotelematico.giustizia.it/tipi/anagrafiche/v4";
/// `base_v2/tipi-allegati.xsd`.
const NS_ALLEGATI: &str = "http://schemi.processotelematico.giustizia.it/tipi/allegati/v2";
/// `eventi-parte.xsd`.
const NS_EVENTI: &str = "http://schemi.processotelematico.giustizia.it/eventi/parte";

/// Every act Ponte files is volontaria giurisdizione (giudice tutelare).
const RUOLO: &str = "VolontariaGiurisdizione";
/// `bt:CodiceOggetto` 413061: apertura amministrazione di sostegno.
const OGGETTO_ADS: &str = "413061";
/// `bt:CodiceOggetto` 413050: trattamento sanitario obbligatorio.
const OGGETTO_TSO: &str = "413050";
/// `@ID` of the first `Parte`; the proximity office's `parteDelegante` refers to it.
const PARTY_ID: &str = "P1";
/// `@ID` of the proximity office.
const OFFICE_ID: &str = "SP1";

/// Writes a whole DatiAtto. The attachments are already checked.
pub(super) fn dati_atto(dati: &DatiAtto, attachments: &[&Attachment]) -> Result<Vec<u8>, Error> {
    check::court(&dati.court)?;
    let mut x = Xml::new()?;
    match &dati.act {
        Act::RicorsoAmministrazioneSostegno(act) => ricorso_ads(&mut x, dati, attachments, act)?,
        Act::TrattamentoSanitarioObbligatorio(act) => tso(&mut x, dati, attachments, act)?,
        Act::RendicontoAmministrazioneSostegno(act) => documenti_richiesti(
            &mut x,
            dati,
            attachments,
            act,
            "evt:RendicontoAmministrazioneSostegno",
        )?,
        Act::RelazioneAmministrazioneSostegno(act) => documenti_richiesti(
            &mut x,
            dati,
            attachments,
            act,
            "evt:RelazioneAmministrazioneSostegno",
        )?,
        Act::IstanzaGenerica(act) => istanza_generica(&mut x, dati, attachments, act)?,
    }
    Ok(x.finish())
}

// --- Introduttivi.xsd ---

fn ricorso_ads(
    x: &mut Xml,
    dati: &DatiAtto,
    attachments: &[&Attachment],
    act: &RicorsoAmministrazioneSostegno,
) -> Result<(), Error> {
    const ROOT: &str = "RicorsoAmministrazioneSostegno";
    x.start(ROOT, &introduttivi_namespaces())?;
    atto_introduttivo(x, dati, OGGETTO_ADS, attachments)?;
    anagrafica_procedimento(x, &act.petitioner, act.proximity_office.as_ref())?;
    beneficiario(x, "Beneficiario", &act.beneficiary, "beneficiary")?;
    x.end(ROOT)
}

fn tso(
    x: &mut Xml,
    dati: &DatiAtto,
    attachments: &[&Attachment],
    act: &TrattamentoSanitarioObbligatorio,
) -> Result<(), Error> {
    const ROOT: &str = "TrattamentoSanitarioObbligatorio";
    x.start(ROOT, &introduttivi_namespaces())?;
    atto_introduttivo(x, dati, OGGETTO_TSO, attachments)?;
    anagrafica_procedimento(x, &act.applicant, None)?;
    beneficiario(x, "SottopostoTSO", &act.patient, "patient")?;
    provvedimento(x, &act.medical)?;
    ordinanza(x, &act.order)?;
    x.end(ROOT)
}

fn introduttivi_namespaces() -> [(&'static str, &'static str); 4] {
    [
        ("xmlns", NS_INTRODUTTIVI),
        ("xmlns:pt", NS_ATTI),
        ("xmlns:at", NS_ANAGRAFICHE),
        ("xmlns:all", NS_ALLEGATI),
    ]
}

/// `pt:AttoIntroduttivo`: destinazione, Oggetto, [ValoreCausa],
/// [ContributoUnificato], [IndiceBusta]. No `ContributoUnificato` means exempt,
/// as these proceedings are (DPR 115/2002 art. 10); no `ValoreCausa` either.
fn atto_introduttivo(
    x: &mut Xml,
    dati: &DatiAtto,
    oggetto: &str,
    attachments: &[&Attachment],
) -> Result<(), Error> {
    x.empty(
        "pt:destinazione",
        &[("ufficio", dati.court.as_str()), ("ruolo", RUOLO)],
    )?;
    x.required("pt:Oggetto", oggetto, "oggetto")?;
    indice_busta(x, attachments)
}

/// `pt:AnagraficaProcedimento`: the filing party, the proximity office it
/// delegated, and an empty `Soggetti` (no lawyer: these acts need none).
fn anagrafica_procedimento(
    x: &mut Xml,
    party: &Party,
    office: Option<&ProximityOffice>,
) -> Result<(), Error> {
    x.start("pt:AnagraficaProcedimento", &[])?;
    x.start("pt:Partecipanti", &[])?;
    x.start(
        "pt:Parte",
        &[("naturaGiuridica", party.nature.code()), ("ID", PARTY_ID)],
    )?;
    parte(x, party)?;
    x.end("pt:Parte")?;
    if let Some(office) = office {
        let tag = "pt:SportelloProssimita";
        x.start(tag, &[("naturaGiuridica", "SPP"), ("ID", OFFICE_ID)])?;
        sportello_head(x, office)?;
        x.start("at:delegatoDa", &[])?;
        x.empty("at:parteDelegante", &[("ref", PARTY_ID)])?;
        x.end("at:delegatoDa")?;
        x.boolean("at:delegaVisibilita", office.sees_case_file)?;
        x.end(tag)?;
    }
    x.end("pt:Partecipanti")?;
    x.empty("pt:Soggetti", &[])?;
    x.end("pt:AnagraficaProcedimento")
}

/// The content of `at:Parte`.
fn parte(x: &mut Xml, party: &Party) -> Result<(), Error> {
    x.required("at:denominazione", &party.name, "party.name")?;
    x.optional("at:nome", party.given_name.as_ref(), "party.given_name")?;
    let cf = check::codice_fiscale(&party.codice_fiscale, "party.codice_fiscale")?;
    x.required("at:codiceFiscale", cf, "party.codice_fiscale")?;
    indirizzo(x, &party.address, "party.address")
}

/// `at:SportelloProssimita` up to `delegaComunicazioni`: the `at:Parte` part
/// and the first delegation flag.
fn sportello_head(x: &mut Xml, office: &ProximityOffice) -> Result<(), Error> {
    x.required("at:denominazione", &office.name, "proximity_office.name")?;
    let field = "proximity_office.codice_fiscale";
    let cf = check::codice_fiscale(&office.codice_fiscale, field)?;
    x.required("at:codiceFiscale", cf, field)?;
    indirizzo(x, &office.address, "proximity_office.address")?;
    x.optional(
        "at:codiceUnivocoPA",
        office.codice_univoco_pa.as_ref(),
        "proximity_office.codice_univoco_pa",
    )?;
    x.boolean("at:delegaComunicazioni", office.receives_communications)
}

fn indirizzo(x: &mut Xml, address: &Address, field: &'static str) -> Result<(), Error> {
    x.start("at:indirizzo", &[])?;
    x.required("at:via", &address.street, field)?;
    x.optional("at:civico", address.number.as_ref(), field)?;
    x.required("at:cap", &address.postcode, field)?;
    x.required("at:localita", &address.town, field)?;
    x.required("at:provincia", &address.province, field)?;
    x.required("at:stato", &address.country, field)?;
    x.end("at:indirizzo")
}

/// The `Beneficiario` type, under the element name `tag`.
fn beneficiario(
    x: &mut Xml,
    tag: &str,
    person: &Beneficiary,
    field: &'static str,
) -> Result<(), Error> {
    x.start(tag, &[])?;
    x.required("Cognome", &person.surname, field)?;
    x.required("Nome", &person.given_name, field)?;
    if let Some(cf) = person
        .codice_fiscale
        .as_ref()
        .filter(|cf| !cf.trim().is_empty())
    {
        x.required("CodiceFiscale", check::codice_fiscale(cf, field)?, field)?;
    }
    x.optional("LuogoNascita", person.birth_place.as_ref(), field)?;
    x.optional("DataNascita", person.birth_date.as_ref(), field)?;
    x.optional(
        "IndirizzoResidenza",
        person.residence_address.as_ref(),
        field,
    )?;
    x.optional("CittaResidenza", person.residence_town.as_ref(), field)?;
    x.optional("Domicilio", person.domicile.as_ref(), field)?;
    x.optional("Nazionalita", person.nationality.as_ref(), field)?;
    x.end(tag)
}

/// `Provvedimento` (`DatiProvvedimento`).
fn provvedimento(x: &mut Xml, medical: &MedicalCertification) -> Result<(), Error> {
    let field = "medical";
    x.start("Provvedimento", &[])?;
    x.optional("DataAccertamento", medical.assessment_date.as_ref(), field)?;
    x.optional("PrimoMedico", medical.proposing_doctor.as_ref(), field)?;
    x.optional("SecondoMedico", medical.validating_doctor.as_ref(), field)?;
    x.required(
        "DataConvalida",
        &medical.validation_date,
        "medical.validation_date",
    )?;
    x.optional("OraConvalida", medical.validation_time.as_ref(), field)?;
    x.optional("Ospedale", medical.hospital.as_ref(), field)?;
    x.end("Provvedimento")
}

/// `Ordinanza` (`DatiOrdinanza`).
fn ordinanza(x: &mut Xml, order: &MayorOrder) -> Result<(), Error> {
    x.start("Ordinanza", &[])?;
    x.optional("Comune", order.municipality.as_ref(), "order")?;
    x.optional("DataOrdinanza", order.date.as_ref(), "order")?;
    x.required("Protocollo", &order.protocol, "order.protocol")?;
    x.end("Ordinanza")
}

// --- Parte.xsd ---

fn documenti_richiesti(
    x: &mut Xml,
    dati: &DatiAtto,
    attachments: &[&Attachment],
    act: &DocumentiRichiesti,
    event: &str,
) -> Result<(), Error> {
    const ROOT: &str = "ProduzioneDocumentiRichiesti";
    x.start(ROOT, &parte_namespaces())?;
    atto_procedimento(x, dati, &act.case, attachments)?;
    x.optional("pt:domanda", act.summary.as_ref(), "summary")?;
    x.start("documenti", &[])?;
    match &act.via {
        None => x.empty(event, &[])?,
        Some(via) => {
            x.start(event, &[])?;
            sportello_evento(x, via)?;
            x.end(event)?;
        }
    }
    x.end("documenti")?;
    x.end(ROOT)
}

fn istanza_generica(
    x: &mut Xml,
    dati: &DatiAtto,
    attachments: &[&Attachment],
    act: &IstanzaGenerica,
) -> Result<(), Error> {
    const ROOT: &str = "IstanzaGenerica";
    x.start(ROOT, &parte_namespaces())?;
    atto_procedimento(x, dati, &act.case, attachments)?;
    x.optional("note", act.note.as_ref(), "note")?;
    x.optional("pt:domanda", act.request.as_ref(), "request")?;
    match &act.kind {
        IstanzaKind::Generic => x.empty("deposito", &[])?,
        kind => {
            x.start("deposito", &[])?;
            evento_istanza(x, kind)?;
            x.end("deposito")?;
        }
    }
    x.end(ROOT)
}

/// The event inside `deposito`, for every kind but [`IstanzaKind::Generic`].
fn evento_istanza(x: &mut Xml, kind: &IstanzaKind) -> Result<(), Error> {
    match kind {
        IstanzaKind::Generic => Ok(()),
        IstanzaKind::Substitution {
            new_administrator,
            replaced_codice_fiscale,
            via,
        } => {
            let tag = "evt:SostituzioneAmministrazioneSostegno";
            x.start(tag, &[])?;
            x.start("evt:NuovaAmministrazione", &[])?;
            x.start("evt:amministrazione", &[])?;
            soggetto(x, new_administrator, "new_administrator")?;
            x.end("evt:amministrazione")?;
            x.end("evt:NuovaAmministrazione")?;
            let field = "replaced_codice_fiscale";
            let cf = check::codice_fiscale(replaced_codice_fiscale, field)?;
            x.empty("evt:AmministrazioneDaSostituire", &[("codiceFiscale", cf)])?;
            if let Some(via) = via {
                sportello_evento(x, via)?;
            }
            x.end(tag)
        }
        IstanzaKind::Removal {
            administrator_codice_fiscale,
            via,
        } => {
            let tag = "evt:RimozioneAmministrazioneSostegno";
            x.start(tag, &[])?;
            let field = "administrator_codice_fiscale";
            let cf = check::codice_fiscale(administrator_codice_fiscale, field)?;
            x.empty("evt:Amministrazione", &[("codiceFiscale", cf)])?;
            if let Some(via) = via {
                sportello_evento(x, via)?;
            }
            x.end(tag)
        }
        IstanzaKind::TsoRenewal => x.empty("evt:IstanzaRinnovoTSO", &[]),
        IstanzaKind::TsoRevocation => x.empty("evt:IstanzaRevocaTSO", &[]),
        IstanzaKind::TsoCessation => x.empty("evt:CessazioneTSO", &[]),
    }
}

fn parte_namespaces() -> [(&'static str, &'static str); 5] {
    [
        ("xmlns", NS_PARTE),
        ("xmlns:pt", NS_ATTI),
        ("xmlns:at", NS_ANAGRAFICHE),
        ("xmlns:all", NS_ALLEGATI),
        ("xmlns:evt", NS_EVENTI),
    ]
}

/// `pt:AttoProcedimento`: procedimento, [riferimento*], [IndiceBusta].
fn atto_procedimento(
    x: &mut Xml,
    dati: &DatiAtto,
    case: &CaseRef,
    attachments: &[&Attachment],
) -> Result<(), Error> {
    x.start(
        "pt:procedimento",
        &[("ufficio", dati.court.as_str()), ("ruolo", RUOLO)],
    )?;
    x.required("pt:numero", &case.number, "case.number")?;
    x.required("pt:anno", &case.year, "case.year")?;
    x.end("pt:procedimento")?;
    indice_busta(x, attachments)
}

/// `evt:SportelloProssimita` inside an event: `at:SportelloProssimita`
/// delegated by name and codice fiscale, then its officers (`evt:Funzionari`).
fn sportello_evento(x: &mut Xml, via: &Delegation) -> Result<(), Error> {
    let office = &via.office;
    let tag = "evt:SportelloProssimita";
    x.start(tag, &[("naturaGiuridica", "SPP"), ("ID", OFFICE_ID)])?;
    sportello_head(x, office)?;
    x.start("at:delegatoDa", &[])?;
    x.optional(
        "at:denominazione",
        via.delegant.name.as_ref(),
        "delegant.name",
    )?;
    let field = "delegant.codice_fiscale";
    let cf = check::codice_fiscale(&via.delegant.codice_fiscale, field)?;
    x.required("at:codiceFiscale", cf, field)?;
    x.end("at:delegatoDa")?;
    x.boolean("at:delegaVisibilita", office.sees_case_file)?;
    if office.officers.is_empty() {
        return Err(Error::MissingValue {
            field: "proximity_office.officers",
        });
    }
    // The officers represent the office. `parteRappresentata@ref` names it by
    // codice fiscale, as the keyref of Parte.xsd `ModificaVisibilitaFunzionari`
    // defines for the same `at:Avvocato` type; these events declare no keyref.
    let office_cf = office.codice_fiscale.as_str();
    for officer in &office.officers {
        x.start("evt:Funzionari", &[])?;
        soggetto(x, officer, "proximity_office.officers")?;
        x.empty("at:parteRappresentata", &[("ref", office_cf)])?;
        x.end("evt:Funzionari")?;
    }
    x.end(tag)
}

/// The content of `at:Soggetto`.
fn soggetto(x: &mut Xml, subject: &Subject, field: &'static str) -> Result<(), Error> {
    x.required("at:cognome", &subject.surname, field)?;
    x.optional("at:nome", subject.given_name.as_ref(), field)?;
    let cf = check::codice_fiscale(&subject.codice_fiscale, field)?;
    x.required("at:codiceFiscale", cf, field)
}

// --- tipi-allegati.xsd ---

/// `pt:IndiceBusta`: `all:AttoPrincipale` first, then the other parts in
/// their order, each by its element.
fn indice_busta(x: &mut Xml, attachments: &[&Attachment]) -> Result<(), Error> {
    x.start("pt:IndiceBusta", &[])?;
    for attachment in attachments {
        let tag = match attachment.kind {
            AttachmentKind::Principal => "all:AttoPrincipale",
            AttachmentKind::Simple => "all:AllegatoSemplice",
            AttachmentKind::DelegaSportelloProssimita => "all:DelegaSportelloProssimita",
            AttachmentKind::OrdinanzaInizioTso => "all:OrdinanzaInizioTSO",
            AttachmentKind::CertificatoMedicoRichiedente => "all:CertificatoMedicoRichiedente",
            AttachmentKind::CertificatoMedicoConvalidante => "all:CertificatoMedicoConvalidante",
        };
        x.empty(tag, &[("id", attachment.id.as_str())])?;
    }
    x.end("pt:IndiceBusta")
}
