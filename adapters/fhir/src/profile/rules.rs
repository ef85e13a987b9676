//! Every rule of Ponte's profiles: stable code, R4 issue type, severity and
//! the fixed English and Italian messages. Messages never carry data from the
//! submission; the offending element is named only by the FHIRPath
//! expression of the [`Issue`].

use crate::{Issue, Severity};

/// One profile rule, as documented in `docs/fhir-profiles.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable Ponte code, the [`Issue::rule`].
    pub rule: &'static str,
    /// R4 issue-type code, the [`Issue::code`].
    pub code: &'static str,
    /// Severity of the issue this rule raises.
    pub severity: Severity,
    /// Message in English.
    pub en: &'static str,
    /// Message in Italian.
    pub it: &'static str,
}

impl Rule {
    /// The issue this rule raises on the element at `expression`.
    pub fn issue(&self, expression: impl Into<String>) -> Issue {
        Issue {
            severity: self.severity,
            code: self.code,
            rule: self.rule,
            en: self.en.to_owned(),
            it: self.it.to_owned(),
            expression: Some(expression.into()),
        }
    }
}

macro_rules! rules {
    ($( $(#[$doc:meta])* $name:ident = ($rule:literal, $code:literal, $sev:ident, $en:literal, $it:literal); )*) => {
        $(
            $(#[$doc])*
            pub(crate) const $name: Rule = Rule {
                rule: $rule,
                code: $code,
                severity: Severity::$sev,
                en: $en,
                it: $it,
            };
        )*
        /// All profile rules, in documentation order.
        pub const RULES: &[Rule] = &[$($name),*];
    };
}

rules! {
    // ---- the document -----------------------------------------------------
    COMPOSITION_REQUIRED = ("composition_required", "required", Error,
        "the Bundle has no Composition where the profile expects one (first entry of a document Bundle, focus of the MessageHeader of a message Bundle)",
        "il Bundle non contiene una Composition dove il profilo la prevede (prima entry di un Bundle document, focus del MessageHeader di un Bundle message)");
    DOCUMENT_TYPE_UNSUPPORTED = ("document_type_unsupported", "code-invalid", Error,
        "Composition.type is not a capacity report (LOINC 72267-8), a TSO proposal or AdS accounts (Ponte document-type tso-proposal, ads-accounts)",
        "Composition.type non corrisponde a un certificato di incapacità (LOINC 72267-8), a una proposta di TSO o a un rendiconto dell'AdS (document-type Ponte tso-proposal, ads-accounts)");
    COMPOSITION_STATUS = ("composition_status", "value", Error,
        "only a final or amended Composition can be filed",
        "si può depositare solo una Composition con stato final o amended");
    COMPOSITION_DATE_REQUIRED = ("composition_date_required", "required", Error,
        "Composition.date is required",
        "Composition.date è obbligatorio");
    REQUESTED_ACT_UNKNOWN = ("requested_act_unknown", "code-invalid", Error,
        "unknown requested act: use ads-appointment, ads-report, tso-convalida, istanza or ads-accounts",
        "atto richiesto sconosciuto: usare ads-appointment, ads-report, tso-convalida, istanza o ads-accounts");
    REQUESTED_ACT_MULTIPLE = ("requested_act_multiple", "business-rule", Error,
        "more than one requested act: send one act per Bundle",
        "più di un atto richiesto: inviare un solo atto per Bundle");
    REQUESTED_ACT_KIND = ("requested_act_kind", "business-rule", Error,
        "the requested act does not fit the document: a TSO proposal asks for tso-convalida, a capacity report for ads-appointment, ads-report or istanza, AdS accounts for ads-accounts",
        "l'atto richiesto non è coerente con il documento: una proposta di TSO chiede tso-convalida, un certificato di incapacità ads-appointment, ads-report o istanza, un rendiconto dell'AdS ads-accounts");
    COMPETENT_COURT_FORMAT = ("competent_court_format", "value", Error,
        "the competent court must be a valueIdentifier with system urn:ponte:codice-ufficio and a 10-digit codice ufficio",
        "il tribunale competente deve essere un valueIdentifier con system urn:ponte:codice-ufficio e un codice ufficio di 10 cifre");
    COMPETENT_COURT_MULTIPLE = ("competent_court_multiple", "business-rule", Error,
        "more than one competent court",
        "più di un tribunale competente");
    COMPETENT_COURT_REQUIRED = ("competent_court_required", "required", Error,
        "an act in an existing case (ads-report, istanza, ads-accounts) needs the competent court, the court that has the case: Composition.extension competent-court",
        "un atto in un procedimento esistente (ads-report, istanza, ads-accounts) richiede il tribunale competente, quello presso cui pende il procedimento: Composition.extension competent-court");
    COURT_CASE_REQUIRED = ("court_case_required", "required", Error,
        "an act in an existing case (ads-report, istanza, ads-accounts) needs the case number: Composition.extension court-case",
        "un atto in un procedimento esistente (ads-report, istanza, ads-accounts) richiede il numero del procedimento: Composition.extension court-case");
    COURT_CASE_FORMAT = ("court_case_format", "value", Error,
        "the court case must be a valueIdentifier with system urn:ponte:numero-ruolo and value numero/anno: a number of 1 to 7 digits other than 0, a slash and a year from 1990 to 2100 (e.g. 1234/2025)",
        "il procedimento deve essere un valueIdentifier con system urn:ponte:numero-ruolo e valore numero/anno: un numero da 1 a 7 cifre diverso da 0, una barra e un anno dal 1990 al 2100 (es. 1234/2025)");
    COURT_CASE_MULTIPLE = ("court_case_multiple", "business-rule", Error,
        "more than one court case: send one act per case",
        "più di un procedimento: inviare un atto per procedimento");
    COURT_CASE_UNEXPECTED = ("court_case_unexpected", "business-rule", Warning,
        "a court case is given but the requested act opens a new case (ads-appointment, tso-convalida); it is ignored",
        "è indicato un procedimento ma l'atto richiesto ne apre uno nuovo (ads-appointment, tso-convalida); viene ignorato");
    REFERENCE_UNRESOLVED = ("reference_unresolved", "not-found", Error,
        "the reference does not resolve to an entry of the Bundle",
        "il riferimento non corrisponde a nessuna entry del Bundle");
    SECTION_CODE = ("section_code", "required", Warning,
        "section without a LOINC code",
        "sezione senza codice LOINC");
    ENTRY_SUBJECT_MISMATCH = ("entry_subject_mismatch", "invariant", Error,
        "this resource is about a different patient than Composition.subject",
        "questa risorsa riguarda un paziente diverso da Composition.subject");

    // ---- the subject --------------------------------------------------------
    SUBJECT_REQUIRED = ("subject_required", "required", Error,
        "Composition.subject must reference the Patient in the Bundle",
        "Composition.subject deve riferire il Patient contenuto nel Bundle");
    SUBJECT_TYPE = ("subject_type", "value", Error,
        "Composition.subject must be a Patient",
        "Composition.subject deve essere un Patient");
    CF_REQUIRED = ("cf_required", "required", Error,
        "the Patient needs one codice fiscale identifier (system urn:oid:2.16.840.1.113883.2.9.4.3.2 or http://hl7.it/sid/codiceFiscale)",
        "il Patient deve avere un identificativo codice fiscale (system urn:oid:2.16.840.1.113883.2.9.4.3.2 o http://hl7.it/sid/codiceFiscale)");
    CF_MULTIPLE = ("cf_multiple", "business-rule", Error,
        "more than one codice fiscale identifier",
        "più di un identificativo codice fiscale");
    CF_FORMAT = ("cf_format", "value", Error,
        "the codice fiscale does not have the 16-character format (omocodia allowed)",
        "il codice fiscale non rispetta il formato di 16 caratteri (omocodia ammessa)");
    CF_CHECK_CHARACTER = ("cf_check_character", "value", Error,
        "the check character (16th) of the codice fiscale is wrong",
        "il carattere di controllo (16°) del codice fiscale è errato");
    CF_WRONG_SYSTEM = ("cf_wrong_system", "value", Warning,
        "codice fiscale under OID 2.16.840.1.113883.2.9.4.3.8 (prescription numbers): accepted, but use urn:oid:2.16.840.1.113883.2.9.4.3.2",
        "codice fiscale con OID 2.16.840.1.113883.2.9.4.3.8 (numeri di ricetta): accettato, ma usare urn:oid:2.16.840.1.113883.2.9.4.3.2");
    CF_DEMOGRAPHICS_MISMATCH = ("cf_demographics_mismatch", "business-rule", Warning,
        "the birth date or sex encoded in the codice fiscale differs from Patient.birthDate or Patient.gender",
        "la data di nascita o il sesso codificati nel codice fiscale non corrispondono a Patient.birthDate o Patient.gender");
    PATIENT_NAME_REQUIRED = ("patient_name_required", "required", Error,
        "the Patient needs a family and a given name",
        "il Patient deve avere cognome e nome");
    PATIENT_DECEASED = ("patient_deceased", "business-rule", Error,
        "the Patient is recorded as deceased",
        "il Patient risulta deceduto");
    RESIDENCE_REQUIRED = ("residence_required", "required", Error,
        "a capacity report needs the Patient's home address with its comune (address.use home, address.city) or a competent court",
        "un certificato di incapacità richiede l'indirizzo di residenza del Patient con il comune (address.use home, address.city) oppure il tribunale competente");
    ISTAT_CODE_FORMAT = ("istat_code_format", "value", Error,
        "the ISTAT code of the comune must have 6 digits",
        "il codice ISTAT del comune deve avere 6 cifre");
    ISTAT_CODE_SYSTEM = ("istat_code_system", "code-invalid", Warning,
        "the comune code is not under an ISTAT code system Ponte knows; it is ignored",
        "il codice del comune non appartiene a un sistema di codifica ISTAT noto a Ponte; viene ignorato");

    // ---- author and custodian -------------------------------------------------
    AUTHOR_REQUIRED = ("author_required", "required", Error,
        "Composition.author must include a PractitionerRole or a Practitioner",
        "Composition.author deve includere un PractitionerRole o un Practitioner");
    ACCOUNTS_AUTHOR_REQUIRED = ("accounts_author_required", "required", Error,
        "Composition.author of AdS accounts must include the amministratore (RelatedPerson), a PractitionerRole or Practitioner, or an Organization",
        "Composition.author del rendiconto deve includere l'amministratore (RelatedPerson), un PractitionerRole o Practitioner, oppure un'Organization");
    PRACTITIONER_REQUIRED = ("practitioner_required", "required", Error,
        "the PractitionerRole must reference its Practitioner in the Bundle",
        "il PractitionerRole deve riferire il proprio Practitioner contenuto nel Bundle");
    PRACTITIONER_NAME_REQUIRED = ("practitioner_name_required", "required", Error,
        "the Practitioner needs a family name",
        "il Practitioner deve avere il cognome");
    CUSTODIAN_REQUIRED = ("custodian_required", "required", Error,
        "Composition.custodian must reference the issuing Organization",
        "Composition.custodian deve riferire l'Organization che emette il documento");

    // ---- clinical content -----------------------------------------------------
    DIAGNOSIS_REQUIRED = ("diagnosis_required", "required", Error,
        "a section must reference at least one Condition (the diagnosis)",
        "una sezione deve riferire almeno una Condition (la diagnosi)");
    CAPACITY_FINDING_REQUIRED = ("capacity_finding_required", "required", Error,
        "a section must reference the capacity finding: an Observation with code LOINC 8693-4",
        "una sezione deve riferire la valutazione della capacità: una Observation con codice LOINC 8693-4");
    CAPACITY_FINDING_STATUS = ("capacity_finding_status", "value", Error,
        "the capacity finding must be final, amended or corrected",
        "la valutazione della capacità deve avere stato final, amended o corrected");
    CAPACITY_FINDING_VALUE = ("capacity_finding_value", "required", Error,
        "the capacity finding needs a value (valueString or valueCodeableConcept)",
        "la valutazione della capacità deve avere un valore (valueString o valueCodeableConcept)");

    // ---- the signed PDF and other attachments -------------------------------------
    CERTIFICATE_REQUIRED = ("certificate_required", "required", Error,
        "the signed PDF is missing: a DocumentReference with the same type as the Composition and a PDF attachment",
        "manca il PDF firmato: una DocumentReference con lo stesso type della Composition e un allegato PDF");
    ATTACHMENT_CONTENT_TYPE = ("attachment_content_type", "value", Error,
        "the attachment must have contentType application/pdf",
        "l'allegato deve avere contentType application/pdf");
    ATTACHMENT_DATA_REQUIRED = ("attachment_data_required", "required", Error,
        "the attachment carries no content: give data (base64) or a url naming a Binary in the Bundle",
        "l'allegato non ha contenuto: indicare data (base64) o un url che identifichi un Binary nel Bundle");
    ATTACHMENT_URL_UNRESOLVED = ("attachment_url_unresolved", "not-found", Error,
        "attachment.url does not name a Binary in the Bundle",
        "attachment.url non identifica un Binary contenuto nel Bundle");
    ATTACHMENT_BASE64 = ("attachment_base64", "value", Error,
        "the attachment data is not valid base64",
        "i dati dell'allegato non sono base64 valido");
    ATTACHMENT_TOO_LARGE = ("attachment_too_large", "too-long", Error,
        "the attachment is larger than the configured limit (20 MiB by default)",
        "l'allegato supera il limite configurato (20 MiB salvo diversa configurazione)");
    ATTACHMENT_NOT_PDF = ("attachment_not_pdf", "value", Error,
        "the attachment is not a PDF: its content does not start with %PDF-",
        "l'allegato non è un PDF: il contenuto non inizia con %PDF-");
    ATTACHMENT_SIZE_MISMATCH = ("attachment_size_mismatch", "value", Error,
        "attachment.size differs from the size of the decoded content",
        "attachment.size non corrisponde alla dimensione del contenuto decodificato");

    // ---- the petitioner ------------------------------------------------------------
    PETITIONER_REQUIRED = ("petitioner_required", "required", Error,
        "a capacity report or AdS accounts need the petitioner: Composition.extension petitioner referencing a RelatedPerson or the subject Patient",
        "un certificato di incapacità o un rendiconto dell'AdS richiedono il ricorrente: Composition.extension petitioner che riferisca un RelatedPerson o il Patient stesso");
    PETITIONER_TYPE = ("petitioner_type", "value", Error,
        "the petitioner must be a RelatedPerson or the subject Patient",
        "il ricorrente deve essere un RelatedPerson o il Patient stesso");
    PETITIONER_PATIENT = ("petitioner_patient", "invariant", Error,
        "the petitioner must be related to the Composition's subject",
        "il ricorrente deve essere in relazione con il soggetto della Composition");
    PETITIONER_RELATIONSHIP = ("petitioner_relationship", "required", Error,
        "the petitioner's relationship needs a coding from http://terminology.hl7.org/CodeSystem/v3-RoleCode",
        "la relazione del ricorrente deve avere una codifica http://terminology.hl7.org/CodeSystem/v3-RoleCode");
    PETITIONER_RELATIONSHIP_UNKNOWN = ("petitioner_relationship_unknown", "code-invalid", Warning,
        "the petitioner's relationship code is not among the family or guardian codes Ponte expects",
        "il codice di relazione del ricorrente non è tra i codici di parentela o di tutela attesi da Ponte");
    PETITIONER_NOT_GUARDIAN = ("petitioner_not_guardian", "business-rule", Error,
        "AdS reports and accounts are filed by the amministratore di sostegno: the petitioner's relationship must include GUARD",
        "relazione e rendiconto sono depositati dall'amministratore di sostegno: il rapporto del ricorrente con il beneficiario deve includere GUARD");
    PETITIONER_NAME_REQUIRED = ("petitioner_name_required", "required", Error,
        "the petitioner needs a family name",
        "il ricorrente deve avere il cognome");
    PETITIONER_CF_REQUIRED = ("petitioner_cf_required", "required", Error,
        "the petitioner needs a codice fiscale identifier (the court filing requires it)",
        "il ricorrente deve avere un identificativo codice fiscale (richiesto dal deposito)");
    PETITIONER_ADDRESS_REQUIRED = ("petitioner_address_required", "required", Error,
        "the petitioner needs an address with line, city and postalCode (the court filing requires it)",
        "il ricorrente deve avere un indirizzo con line, city e postalCode (richiesto dal deposito)");

    // ---- TSO ---------------------------------------------------------------------------
    TSO_VALIDATOR_REQUIRED = ("tso_validator_required", "required", Error,
        "a TSO proposal needs the validating physician: Composition.attester with mode legal and a PractitionerRole or Practitioner as party",
        "una proposta di TSO richiede il medico che convalida: Composition.attester con mode legal e party un PractitionerRole o Practitioner");
    TSO_VALIDATION_TIME_REQUIRED = ("tso_validation_time_required", "required", Error,
        "the validation needs its time (Composition.attester.time)",
        "la convalida deve avere data e ora (Composition.attester.time)");
    TSO_SAME_PHYSICIAN = ("tso_same_physician", "business-rule", Error,
        "the validating physician must be a different person from the proposing physician",
        "il medico che convalida deve essere diverso dal medico proponente");
    TSO_ORDER_REQUIRED = ("tso_order_required", "required", Error,
        "the mayor's order is missing: a DocumentReference with type tso-mayor-order",
        "manca l'ordinanza del sindaco: una DocumentReference con type tso-mayor-order");
    TSO_ORDER_TIME_REQUIRED = ("tso_order_time_required", "required", Error,
        "the mayor's order needs its date and time (DocumentReference.date)",
        "l'ordinanza del sindaco deve avere data e ora (DocumentReference.date)");
    TSO_ORDER_TIME_PRECISION = ("tso_order_time_precision", "value", Error,
        "the time of the mayor's order must be a full date-time with time zone",
        "la data dell'ordinanza del sindaco deve comprendere ora e fuso orario");
    TSO_ORDER_PROTOCOL_REQUIRED = ("tso_order_protocol_required", "required", Error,
        "the mayor's order needs its protocol number (DocumentReference.identifier)",
        "l'ordinanza del sindaco deve avere il numero di protocollo (DocumentReference.identifier)");
    TSO_ORDER_COMUNE_REQUIRED = ("tso_order_comune_required", "required", Error,
        "the mayor's order needs its Comune: DocumentReference.author an Organization with address.city",
        "l'ordinanza del sindaco deve indicare il Comune: DocumentReference.author un'Organization con address.city");
    TSO_CHRONOLOGY = ("tso_chronology", "business-rule", Error,
        "times out of order: proposal (Composition.date), validation (attester.time) and mayor's order (DocumentReference.date) must follow each other",
        "orari incoerenti: proposta (Composition.date), convalida (attester.time) e ordinanza (DocumentReference.date) devono susseguirsi in quest'ordine");
    TSO_ORDER_AFTER_SUBMISSION = ("tso_order_after_submission", "business-rule", Error,
        "the mayor's order is dated after Bundle.timestamp",
        "l'ordinanza del sindaco ha una data successiva a Bundle.timestamp");
    TSO_DEADLINE_PASSED = ("tso_deadline_passed", "business-rule", Warning,
        "the 48 hours after the mayor's order had already passed at Bundle.timestamp",
        "le 48 ore dall'ordinanza del sindaco erano già trascorse a Bundle.timestamp");
}
