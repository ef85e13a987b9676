//! The acts of the DatiAtto tests: people, offices and numbers are
//! fictitious; the codici fiscali have valid check characters.

use ponte_pct::datiatto::{
    Act, Address, Attachment, AttachmentKind, Beneficiary, CaseRef, DatiAtto, Delegant, Delegation,
    DocumentiRichiesti, IstanzaGenerica, IstanzaKind, MayorOrder, MedicalCertification, Nature,
    Party, ProximityOffice, RicorsoAmministrazioneSostegno, Subject,
    TrattamentoSanitarioObbligatorio,
};

use crate::GENOVA;

pub(crate) fn address(street: &str, number: &str, postcode: &str, town: &str) -> Address {
    Address {
        street: street.into(),
        number: Some(number.into()),
        postcode: postcode.into(),
        town: town.into(),
        province: "GE".into(),
        country: "IT".into(),
    }
}

/// The beneficiary: Mario Rossi, born in Genova on 10 December 1985.
pub(crate) fn mario_rossi() -> Beneficiary {
    Beneficiary {
        surname: "Rossi".into(),
        given_name: "Mario".into(),
        codice_fiscale: Some("RSSMRA85T10D969T".into()),
        birth_place: Some("Genova".into()),
        birth_date: Some("1985-12-10".into()),
        residence_address: Some("Via Assarotti 12".into()),
        residence_town: Some("Genova".into()),
        domicile: Some("RSA Villa Serena, Via Bobbio 3, Genova".into()),
        nationality: Some("italiana".into()),
    }
}

/// The petitioner: his sister Anna Rossi.
pub(crate) fn anna_rossi() -> Party {
    Party {
        nature: Nature::NaturalPerson,
        name: "Rossi".into(),
        given_name: Some("Anna".into()),
        codice_fiscale: "RSSNNA82C55D969K".into(),
        address: address("Corso Italia", "7", "16145", "Genova"),
    }
}

pub(crate) fn proximity_office() -> ProximityOffice {
    ProximityOffice {
        name: "Ufficio di Prossimità di Genova".into(),
        codice_fiscale: "00856930102".into(),
        address: address("Piazza Dante", "1", "16121", "Genova"),
        codice_univoco_pa: None,
        receives_communications: true,
        sees_case_file: true,
        officers: vec![Subject {
            surname: "Verdi".into(),
            given_name: Some("Paolo".into()),
            codice_fiscale: "VRDPLA70A01D969S".into(),
        }],
    }
}

/// The administrator (amministratrice di sostegno): Giulia Bianchi.
pub(crate) fn giulia_bianchi() -> Delegant {
    Delegant {
        name: Some("Bianchi Giulia".into()),
        codice_fiscale: "BNCGLI75E60D969V".into(),
    }
}

pub(crate) fn attachments(principal: &str, others: &[(&str, AttachmentKind)]) -> Vec<Attachment> {
    let principal = Attachment {
        id: principal.into(),
        name: principal.into(),
        kind: AttachmentKind::Principal,
    };
    let others = others.iter().map(|&(name, kind)| Attachment {
        id: name.into(),
        name: name.into(),
        kind,
    });
    std::iter::once(principal).chain(others).collect()
}

pub(crate) fn case() -> CaseRef {
    CaseRef {
        number: "1234".into(),
        year: "2024".into(),
    }
}

pub(crate) fn ricorso() -> DatiAtto {
    DatiAtto {
        court: GENOVA.into(),
        act: Act::RicorsoAmministrazioneSostegno(RicorsoAmministrazioneSostegno {
            petitioner: anna_rossi(),
            proximity_office: Some(proximity_office()),
            beneficiary: mario_rossi(),
        }),
        attachments: attachments(
            "Ricorso.pdf.p7m",
            &[
                ("CertificatoMedico.pdf", AttachmentKind::Simple),
                ("Delega.pdf.p7m", AttachmentKind::DelegaSportelloProssimita),
            ],
        ),
    }
}

pub(crate) fn tso() -> DatiAtto {
    DatiAtto {
        court: GENOVA.into(),
        act: Act::TrattamentoSanitarioObbligatorio(TrattamentoSanitarioObbligatorio {
            applicant: Party {
                nature: Nature::PublicBody,
                name: "Comune di Genova".into(),
                given_name: None,
                codice_fiscale: "00856930102".into(),
                address: address("Via Garibaldi", "9", "16124", "Genova"),
            },
            patient: Beneficiary {
                surname: "Esposito".into(),
                given_name: "Luca".into(),
                codice_fiscale: Some("SPSLCU90B28D969M".into()),
                birth_place: Some("Genova".into()),
                birth_date: Some("1990-02-28".into()),
                residence_address: Some("Via Pré 40".into()),
                residence_town: Some("Genova".into()),
                domicile: None,
                nationality: None,
            },
            medical: MedicalCertification {
                assessment_date: Some("2024-06-03".into()),
                proposing_doctor: Some("Dott. Carlo Neri".into()),
                validating_doctor: Some("Dott.ssa Sara Galli".into()),
                validation_date: "2024-06-03".into(),
                validation_time: Some("18:30:00".into()),
                hospital: Some("Ospedale Policlinico San Martino, SPDC".into()),
            },
            order: MayorOrder {
                municipality: Some("Genova".into()),
                date: Some("2024-06-04".into()),
                protocol: "PG/2024/123456".into(),
            },
        }),
        attachments: attachments(
            "RichiestaConvalida.pdf.p7m",
            &[
                ("Ordinanza.pdf.p7m", AttachmentKind::OrdinanzaInizioTso),
                ("Proposta.pdf", AttachmentKind::CertificatoMedicoRichiedente),
                (
                    "Convalida.pdf",
                    AttachmentKind::CertificatoMedicoConvalidante,
                ),
            ],
        ),
    }
}

pub(crate) fn rendiconto() -> DatiAtto {
    DatiAtto {
        court: GENOVA.into(),
        act: Act::RendicontoAmministrazioneSostegno(DocumentiRichiesti {
            case: case(),
            summary: Some("Rendiconto annuale 2023 dell'amministrazione di sostegno".into()),
            via: Some(Delegation {
                office: proximity_office(),
                delegant: giulia_bianchi(),
            }),
        }),
        attachments: attachments(
            "Rendiconto.pdf.p7m",
            &[("EstrattoConto.pdf", AttachmentKind::Simple)],
        ),
    }
}

pub(crate) fn relazione() -> DatiAtto {
    DatiAtto {
        court: GENOVA.into(),
        act: Act::RelazioneAmministrazioneSostegno(DocumentiRichiesti {
            case: case(),
            summary: None,
            via: None,
        }),
        attachments: attachments("Relazione.pdf.p7m", &[]),
    }
}

pub(crate) fn istanza(kind: IstanzaKind) -> DatiAtto {
    DatiAtto {
        court: GENOVA.into(),
        act: Act::IstanzaGenerica(IstanzaGenerica {
            case: case(),
            note: Some("Deposito tramite ufficio di prossimità".into()),
            request: Some("Sostituzione dell'amministratrice di sostegno".into()),
            kind,
        }),
        attachments: attachments(
            "Istanza.pdf.p7m",
            &[("Rinuncia.pdf", AttachmentKind::Simple)],
        ),
    }
}

pub(crate) fn sostituzione() -> IstanzaKind {
    IstanzaKind::Substitution {
        new_administrator: Subject {
            surname: "Neri".into(),
            given_name: Some("Franco".into()),
            codice_fiscale: "NRIFNC68L04C621I".into(),
        },
        replaced_codice_fiscale: "BNCGLI75E60D969V".into(),
        via: Some(Delegation {
            office: proximity_office(),
            delegant: giulia_bianchi(),
        }),
    }
}

// --- checks ---
