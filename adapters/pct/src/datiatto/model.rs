//! The typed model of a filing's DatiAtto: what each act needs, and no more.
//!
//! Values are plain `String`s as the schemas give them (`xs:date` is
//! `YYYY-MM-DD`, `xs:time` is `HH:MM:SS`); the writer checks what the schemas
//! leave unchecked (court code, codici fiscali, empty required values) and
//! [`crate::xsd::SchemaSet`] checks the rest. The element each field becomes
//! is named in its doc and in `docs/pct-datiatto.md`.

use crate::xsd::Root;

/// Everything `DatiAtto.xml` says about one filing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatiAtto {
    /// Codice ufficio of the destination court, ten digits (e.g. `0100250093`,
    /// Tribunale di Genova): `destinazione@ufficio` or `procedimento@ufficio`.
    pub court: String,
    /// The act being filed; decides the root element and the schema.
    pub act: Act,
    /// The parts of the envelope (`IndiceBusta`): exactly one
    /// [`AttachmentKind::Principal`], in any position; the others in order.
    pub attachments: Vec<Attachment>,
}

/// The acts Ponte files, one variant per root element (and per event, where
/// one root carries several).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Act {
    /// New case: ricorso per amministrazione di sostegno (`Introduttivi.xsd`,
    /// root `RicorsoAmministrazioneSostegno`, Oggetto 413061).
    RicorsoAmministrazioneSostegno(RicorsoAmministrazioneSostegno),
    /// New case: convalida of a compulsory health treatment (`Introduttivi.xsd`,
    /// root `TrattamentoSanitarioObbligatorio`, Oggetto 413050).
    TrattamentoSanitarioObbligatorio(TrattamentoSanitarioObbligatorio),
    /// Existing case: the administrator's periodic accounts (`Parte.xsd`, root
    /// `ProduzioneDocumentiRichiesti`, `documenti/evt:RendicontoAmministrazioneSostegno`).
    RendicontoAmministrazioneSostegno(DocumentiRichiesti),
    /// Existing case: the administrator's periodic report (`Parte.xsd`, root
    /// `ProduzioneDocumentiRichiesti`, `documenti/evt:RelazioneAmministrazioneSostegno`).
    RelazioneAmministrazioneSostegno(DocumentiRichiesti),
    /// Existing case: a request to the giudice tutelare (`Parte.xsd`, root
    /// `IstanzaGenerica`).
    IstanzaGenerica(IstanzaGenerica),
}

/// `RicorsoAmministrazioneSostegno`: opens a case for a beneficiary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RicorsoAmministrazioneSostegno {
    /// The petitioner: `AnagraficaProcedimento/Partecipanti/Parte` (`ID="P1"`).
    pub petitioner: Party,
    /// The proximity office filing on the petitioner's behalf:
    /// `Partecipanti/SportelloProssimita` (`ID="SP1"`), delegated by the petitioner.
    pub proximity_office: Option<ProximityOffice>,
    /// The person to be supported: `Beneficiario`.
    pub beneficiary: Beneficiary,
}

/// `TrattamentoSanitarioObbligatorio`: asks the giudice tutelare to validate a
/// mayor's order of compulsory treatment (48-hour deadline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrattamentoSanitarioObbligatorio {
    /// Who files: `Partecipanti/Parte` (`ID="P1"`), typically the municipality
    /// or the health authority ([`Nature::PublicBody`]).
    pub applicant: Party,
    /// The patient: `SottopostoTSO` (the schema's `Beneficiario` type).
    pub patient: Beneficiary,
    /// The medical proposal and its validation: `Provvedimento`.
    pub medical: MedicalCertification,
    /// The mayor's order: `Ordinanza`.
    pub order: MayorOrder,
}

/// `ProduzioneDocumentiRichiesti` with a rendiconto or a relazione of an
/// amministrazione di sostegno, filed in an existing case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentiRichiesti {
    /// The case: `pt:procedimento`.
    pub case: CaseRef,
    /// Free text summarising the filing: `pt:domanda`.
    pub summary: Option<String>,
    /// The proximity office filing for the administrator:
    /// `evt:…/SportelloProssimita`.
    pub via: Option<Delegation>,
}

/// `IstanzaGenerica`: a request in an existing case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IstanzaGenerica {
    /// The case: `pt:procedimento`.
    pub case: CaseRef,
    /// Notes for the registry: `note`.
    pub note: Option<String>,
    /// The request as stated in the act: `pt:domanda`.
    pub request: Option<String>,
    /// What is asked: the event inside `deposito`.
    pub kind: IstanzaKind,
}

/// The event an [`IstanzaGenerica`] carries in `deposito`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IstanzaKind {
    /// No coded event (e.g. an authorisation to an act of extraordinary
    /// administration): an empty `deposito`.
    Generic,
    /// `evt:SostituzioneAmministrazioneSostegno`: replace the administrator.
    Substitution {
        /// `NuovaAmministrazione/amministrazione`: the new administrator.
        new_administrator: Subject,
        /// `AmministrazioneDaSostituire@codiceFiscale`: the one to replace.
        replaced_codice_fiscale: String,
        /// `SportelloProssimita`, when a proximity office files.
        via: Option<Delegation>,
    },
    /// `evt:RimozioneAmministrazioneSostegno`: remove the administrator.
    Removal {
        /// `Amministrazione@codiceFiscale`: the administrator to remove.
        administrator_codice_fiscale: String,
        /// `SportelloProssimita`, when a proximity office files.
        via: Option<Delegation>,
    },
    /// `evt:IstanzaRinnovoTSO`: renew a compulsory treatment.
    TsoRenewal,
    /// `evt:IstanzaRevocaTSO`: revoke a compulsory treatment.
    TsoRevocation,
    /// `evt:CessazioneTSO`: a compulsory treatment has ended.
    TsoCessation,
}

/// A party (`at:Parte`): a natural person or a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// `@naturaGiuridica`.
    pub nature: Nature,
    /// Surname, or the body's name: `at:denominazione`.
    pub name: String,
    /// Given name, for a person: `at:nome`.
    pub given_name: Option<String>,
    /// Codice fiscale (16 characters) or partita IVA / numeric codice fiscale
    /// (11 digits): `at:codiceFiscale`.
    pub codice_fiscale: String,
    /// Residence or seat: `at:indirizzo`.
    pub address: Address,
}

/// `bt:NaturaGiuridica`, the values Ponte uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Nature {
    /// `PFI`, persona fisica.
    NaturalPerson,
    /// `ENP`, ente pubblico (a municipality, a health authority).
    PublicBody,
}

/// `at:Indirizzo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Street: `at:via`.
    pub street: String,
    /// House number: `at:civico`.
    pub number: Option<String>,
    /// Postcode: `at:cap`.
    pub postcode: String,
    /// Town: `at:localita`.
    pub town: String,
    /// Province code (`GE`): `at:provincia`.
    pub province: String,
    /// Country code (`IT`): `at:stato`.
    pub country: String,
}

/// The schema's `Beneficiario` type: the beneficiary of an amministrazione di
/// sostegno, or the patient of a TSO. Only surname and given name are required.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beneficiary {
    /// `Cognome`.
    pub surname: String,
    /// `Nome`.
    pub given_name: String,
    /// `CodiceFiscale` (the schema types it `xs:string`; the writer checks it).
    pub codice_fiscale: Option<String>,
    /// `LuogoNascita`, the town of birth.
    pub birth_place: Option<String>,
    /// `DataNascita`, `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    /// `IndirizzoResidenza`, street and number.
    pub residence_address: Option<String>,
    /// `CittaResidenza`.
    pub residence_town: Option<String>,
    /// `Domicilio`, where it differs from the residence (e.g. a care home).
    pub domicile: Option<String>,
    /// `Nazionalita`.
    pub nationality: Option<String>,
}

/// A proximity office (`at:SportelloProssimita`, `naturaGiuridica="SPP"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProximityOffice {
    /// `at:denominazione`, e.g. "Ufficio di Prossimità di Genova".
    pub name: String,
    /// Codice fiscale of the body hosting the office: `at:codiceFiscale`.
    pub codice_fiscale: String,
    /// `at:indirizzo`.
    pub address: Address,
    /// IPA code of the hosting administration: `at:codiceUnivocoPA`.
    pub codice_univoco_pa: Option<String>,
    /// The office receives the court's communications: `at:delegaComunicazioni`.
    pub receives_communications: bool,
    /// The office may see the case file: `at:delegaVisibilita`.
    pub sees_case_file: bool,
    /// The office's staff (`Funzionari`). Required, at least one, in the events
    /// of existing cases; not written in new-case acts, whose schema has no place
    /// for them.
    pub officers: Vec<Subject>,
}

/// A proximity office acting in an existing case, and who delegated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    /// The office.
    pub office: ProximityOffice,
    /// Who delegated it (usually the administrator): `at:delegatoDa`.
    pub delegant: Delegant,
}

/// `at:delegatoDa` by name and codice fiscale, for acts without a list of
/// participants to refer to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegant {
    /// `at:denominazione`, "Surname Name" or the body's name.
    pub name: Option<String>,
    /// `at:codiceFiscale`.
    pub codice_fiscale: String,
}

/// `at:Soggetto`: surname, given name, codice fiscale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// `at:cognome`.
    pub surname: String,
    /// `at:nome`.
    pub given_name: Option<String>,
    /// `at:codiceFiscale`.
    pub codice_fiscale: String,
}

/// The schema's `DatiProvvedimento`: the medical proposal of a TSO and its
/// validation by a second doctor of the public health service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedicalCertification {
    /// `DataAccertamento`, date of the first doctor's assessment.
    pub assessment_date: Option<String>,
    /// `PrimoMedico`, the proposing doctor.
    pub proposing_doctor: Option<String>,
    /// `SecondoMedico`, the validating doctor.
    pub validating_doctor: Option<String>,
    /// `DataConvalida` (required), date of the validation.
    pub validation_date: String,
    /// `OraConvalida`, `HH:MM:SS`.
    pub validation_time: Option<String>,
    /// `Ospedale`, where the treatment takes place.
    pub hospital: Option<String>,
}

/// The schema's `DatiOrdinanza`: the mayor's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MayorOrder {
    /// `Comune`.
    pub municipality: Option<String>,
    /// `DataOrdinanza`.
    pub date: Option<String>,
    /// `Protocollo` (required): the order's registry number.
    pub protocol: String,
}

/// `pt:procedimento`: an existing case. The court is [`DatiAtto::court`] and
/// the ruolo is always `VolontariaGiurisdizione`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRef {
    /// `pt:numero`, the case number (digits).
    pub number: String,
    /// `pt:anno`, the case year.
    pub year: String,
}

/// One part of the envelope, as listed in `IndiceBusta`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The part's identifier (its MIME Content-ID), also `ID` in
    /// `IndiceBusta.xml`: a letter or `_` then letters, digits, `.`, `-`, `_`.
    pub id: String,
    /// The part's file name, `Nome` in `IndiceBusta.xml`.
    pub name: String,
    /// What the part is.
    pub kind: AttachmentKind,
}

/// The element that lists a part in DatiAtto's `IndiceBusta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttachmentKind {
    /// `all:AttoPrincipale` (`Atto` in `IndiceBusta.xml`).
    Principal,
    /// `all:AllegatoSemplice`.
    Simple,
    /// `all:DelegaSportelloProssimita`: the delegation to the proximity office.
    DelegaSportelloProssimita,
    /// `all:OrdinanzaInizioTSO`: the mayor's order starting a TSO.
    OrdinanzaInizioTso,
    /// `all:CertificatoMedicoRichiedente`: the proposing doctor's certificate.
    CertificatoMedicoRichiedente,
    /// `all:CertificatoMedicoConvalidante`: the validating doctor's certificate.
    CertificatoMedicoConvalidante,
}

// === impl Act ===

impl Act {
    /// The schema this act's root element is declared in.
    pub fn root(&self) -> Root {
        match self {
            Self::RicorsoAmministrazioneSostegno(_) | Self::TrattamentoSanitarioObbligatorio(_) => {
                Root::Introduttivi
            }
            Self::RendicontoAmministrazioneSostegno(_)
            | Self::RelazioneAmministrazioneSostegno(_)
            | Self::IstanzaGenerica(_) => Root::Parte,
        }
    }
}

// === impl Nature ===

impl Nature {
    /// The `bt:NaturaGiuridica` code.
    pub fn code(self) -> &'static str {
        match self {
            Self::NaturalPerson => "PFI",
            Self::PublicBody => "ENP",
        }
    }
}
