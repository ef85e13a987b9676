//! The binders: which model fields each act has (the names mapping files
//! use), and how the flat map of mapped values becomes the typed
//! `ponte_pct::datiatto::Act`. Which FHIR elements fill the fields is data
//! (the mapping files); this is the code side of the contract.

use std::collections::HashMap;
use std::path::Path;

use ponte_pct::datiatto::{
    Act, Address, Beneficiary, CaseRef, Delegant, Delegation, DocumentiRichiesti, IstanzaGenerica,
    IstanzaKind, MayorOrder, MedicalCertification, Nature, Party, ProximityOffice,
    RicorsoAmministrazioneSostegno, Subject, TrattamentoSanitarioObbligatorio,
};
use serde::Deserialize;

use crate::engine::Val;
use crate::error::{MapError, RuleProblem};

/// The DatiAtto act a mapping file fills (`act = "…"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) enum ActKind {
    /// `RicorsoAmministrazioneSostegno` (new case).
    RicorsoAmministrazioneSostegno,
    /// `TrattamentoSanitarioObbligatorio` (new case).
    TrattamentoSanitarioObbligatorio,
    /// `ProduzioneDocumentiRichiesti` / `RendicontoAmministrazioneSostegno`.
    RendicontoAmministrazioneSostegno,
    /// `ProduzioneDocumentiRichiesti` / `RelazioneAmministrazioneSostegno`.
    RelazioneAmministrazioneSostegno,
    /// `IstanzaGenerica`.
    IstanzaGenerica,
}

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldKind {
    Text,
    /// `true` or `false`.
    Bool,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A list (`many = true`).
    List,
}

/// One model field a mapping file may fill.
#[derive(Debug, Clone)]
pub(crate) struct FieldSpec {
    pub(crate) name: String,
    pub(crate) required: bool,
    pub(crate) kind: FieldKind,
    /// The optional group the field belongs to (`proximity_office.`): its
    /// required fields are required only when some field of the group is
    /// given.
    pub(crate) group: Option<&'static str>,
}

const NATURES: &[&str] = &["PFI", "ENP"];
const KINDS: &[&str] = &[
    "Generic",
    "Substitution",
    "Removal",
    "TsoRenewal",
    "TsoRevocation",
    "TsoCessation",
];

struct Specs(Vec<FieldSpec>);

impl Specs {
    fn add(&mut self, name: String, required: bool, kind: FieldKind, group: Option<&'static str>) {
        self.0.push(FieldSpec {
            name,
            required,
            kind,
            group,
        });
    }

    fn address(&mut self, p: &str, g: Option<&'static str>) {
        for (f, required) in [
            ("street", true),
            ("number", false),
            ("postcode", true),
            ("town", true),
            ("province", true),
            ("country", true),
        ] {
            self.add(format!("{p}.address.{f}"), required, FieldKind::Text, g);
        }
    }

    fn party(&mut self, p: &str) {
        self.add(
            format!("{p}.nature"),
            false,
            FieldKind::Choice(NATURES),
            None,
        );
        self.add(format!("{p}.name"), true, FieldKind::Text, None);
        self.add(format!("{p}.given_name"), false, FieldKind::Text, None);
        self.add(format!("{p}.codice_fiscale"), true, FieldKind::Text, None);
        self.address(p, None);
    }

    fn office(&mut self, p: &str, g: &'static str) {
        let g = Some(g);
        self.add(format!("{p}.name"), true, FieldKind::Text, g);
        self.add(format!("{p}.codice_fiscale"), true, FieldKind::Text, g);
        self.address(p, g);
        self.add(format!("{p}.codice_univoco_pa"), false, FieldKind::Text, g);
        self.add(
            format!("{p}.receives_communications"),
            false,
            FieldKind::Bool,
            g,
        );
        self.add(format!("{p}.sees_case_file"), false, FieldKind::Bool, g);
        for f in ["surname", "given_name", "codice_fiscale"] {
            self.add(format!("{p}.officers.{f}"), false, FieldKind::List, g);
        }
    }

    fn beneficiary(&mut self, p: &str) {
        self.add(format!("{p}.surname"), true, FieldKind::Text, None);
        self.add(format!("{p}.given_name"), true, FieldKind::Text, None);
        for f in [
            "codice_fiscale",
            "birth_place",
            "birth_date",
            "residence_address",
            "residence_town",
            "domicile",
            "nationality",
        ] {
            self.add(format!("{p}.{f}"), false, FieldKind::Text, None);
        }
    }

    fn case(&mut self) {
        self.add("case.number".into(), true, FieldKind::Text, None);
        self.add("case.year".into(), true, FieldKind::Text, None);
    }

    fn via(&mut self) {
        self.office("via.office", "via.");
        self.add(
            "via.delegant.name".into(),
            false,
            FieldKind::Text,
            Some("via."),
        );
        self.add(
            "via.delegant.codice_fiscale".into(),
            true,
            FieldKind::Text,
            Some("via."),
        );
    }

    fn text(&mut self, name: &str, required: bool) {
        self.add(name.into(), required, FieldKind::Text, None);
    }
}

/// Every field a file for `act` may fill (the list is in docs/mappings.md).
pub(crate) fn field_specs(act: ActKind) -> Vec<FieldSpec> {
    let mut s = Specs(Vec::new());
    match act {
        ActKind::RicorsoAmministrazioneSostegno => {
            s.party("petitioner");
            s.office("proximity_office", "proximity_office.");
            s.beneficiary("beneficiary");
        }
        ActKind::TrattamentoSanitarioObbligatorio => {
            s.party("applicant");
            s.beneficiary("patient");
            s.text("medical.assessment_date", false);
            s.text("medical.proposing_doctor", false);
            s.text("medical.validating_doctor", false);
            s.text("medical.validation_date", true);
            s.text("medical.validation_time", false);
            s.text("medical.hospital", false);
            s.text("order.municipality", false);
            s.text("order.date", false);
            s.text("order.protocol", true);
        }
        ActKind::RendicontoAmministrazioneSostegno | ActKind::RelazioneAmministrazioneSostegno => {
            s.case();
            s.text("summary", false);
            s.via();
        }
        ActKind::IstanzaGenerica => {
            s.case();
            s.text("note", false);
            s.text("request", false);
            s.add("kind".into(), false, FieldKind::Choice(KINDS), None);
            let g = Some("new_administrator.");
            s.add("new_administrator.surname".into(), true, FieldKind::Text, g);
            s.add(
                "new_administrator.given_name".into(),
                false,
                FieldKind::Text,
                g,
            );
            s.add(
                "new_administrator.codice_fiscale".into(),
                true,
                FieldKind::Text,
                g,
            );
            s.text("replaced_codice_fiscale", false);
            s.text("administrator_codice_fiscale", false);
            s.via();
        }
    }
    s.0
}

/// The mapped field values of one filing, and where each came from (for
/// errors).
pub(crate) struct Fields<'a> {
    pub(crate) file: &'a Path,
    pub(crate) values: &'a HashMap<String, Val>,
    /// The path (as written) of each field's rule, when it has one.
    pub(crate) elements: &'a HashMap<String, String>,
}

impl Fields<'_> {
    fn err(&self, name: &str, problem: RuleProblem) -> MapError {
        MapError::Rule {
            file: self.file.to_path_buf(),
            rule: name.to_owned(),
            element: self.elements.get(name).cloned(),
            problem,
        }
    }

    fn opt(&self, name: &str) -> Option<String> {
        match self.values.get(name)? {
            Val::One(s) => Some(s.clone()),
            Val::Many(v) => Some(v.join(" ")),
        }
        .filter(|s| !s.trim().is_empty())
    }

    fn req(&self, name: &str) -> Result<String, MapError> {
        self.opt(name)
            .ok_or_else(|| self.err(name, RuleProblem::Missing))
    }

    fn list(&self, name: &str) -> Vec<String> {
        match self.values.get(name) {
            Some(Val::Many(v)) => v.clone(),
            Some(Val::One(s)) => vec![s.clone()],
            None => Vec::new(),
        }
    }

    fn flag(&self, name: &str, default: bool) -> Result<bool, MapError> {
        match self.opt(name).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(_) => Err(self.err(
                name,
                RuleProblem::BadFormat {
                    expected: "true or false",
                },
            )),
        }
    }

    fn has_group(&self, prefix: &str) -> bool {
        self.values.keys().any(|k| k.starts_with(prefix))
    }

    fn address(&self, p: &str) -> Result<Address, MapError> {
        Ok(Address {
            street: self.req(&format!("{p}.address.street"))?,
            number: self.opt(&format!("{p}.address.number")),
            postcode: self.req(&format!("{p}.address.postcode"))?,
            town: self.req(&format!("{p}.address.town"))?,
            province: self.req(&format!("{p}.address.province"))?,
            country: self.req(&format!("{p}.address.country"))?,
        })
    }

    fn party(&self, p: &str, default: Nature) -> Result<Party, MapError> {
        let name = format!("{p}.nature");
        let nature = match self.opt(&name).as_deref() {
            None => default,
            Some("PFI") => Nature::NaturalPerson,
            Some("ENP") => Nature::PublicBody,
            Some(_) => {
                return Err(self.err(
                    &name,
                    RuleProblem::BadFormat {
                        expected: "PFI or ENP",
                    },
                ));
            }
        };
        Ok(Party {
            nature,
            name: self.req(&format!("{p}.name"))?,
            given_name: self.opt(&format!("{p}.given_name")),
            codice_fiscale: self.req(&format!("{p}.codice_fiscale"))?,
            address: self.address(p)?,
        })
    }

    fn office(&self, p: &str) -> Result<ProximityOffice, MapError> {
        let surnames = self.list(&format!("{p}.officers.surname"));
        let given = self.list(&format!("{p}.officers.given_name"));
        let cfs = self.list(&format!("{p}.officers.codice_fiscale"));
        if surnames.len() != cfs.len() || !(given.is_empty() || given.len() == surnames.len()) {
            return Err(self.err(
                &format!("{p}.officers.surname"),
                RuleProblem::LengthMismatch,
            ));
        }
        let officers = surnames
            .into_iter()
            .zip(cfs)
            .enumerate()
            .map(|(i, (surname, codice_fiscale))| Subject {
                surname,
                given_name: given.get(i).cloned(),
                codice_fiscale,
            })
            .collect();
        Ok(ProximityOffice {
            name: self.req(&format!("{p}.name"))?,
            codice_fiscale: self.req(&format!("{p}.codice_fiscale"))?,
            address: self.address(p)?,
            codice_univoco_pa: self.opt(&format!("{p}.codice_univoco_pa")),
            receives_communications: self.flag(&format!("{p}.receives_communications"), true)?,
            sees_case_file: self.flag(&format!("{p}.sees_case_file"), true)?,
            officers,
        })
    }

    fn beneficiary(&self, p: &str) -> Result<Beneficiary, MapError> {
        Ok(Beneficiary {
            surname: self.req(&format!("{p}.surname"))?,
            given_name: self.req(&format!("{p}.given_name"))?,
            codice_fiscale: self.opt(&format!("{p}.codice_fiscale")),
            birth_place: self.opt(&format!("{p}.birth_place")),
            birth_date: self.opt(&format!("{p}.birth_date")),
            residence_address: self.opt(&format!("{p}.residence_address")),
            residence_town: self.opt(&format!("{p}.residence_town")),
            domicile: self.opt(&format!("{p}.domicile")),
            nationality: self.opt(&format!("{p}.nationality")),
        })
    }

    fn case(&self) -> Result<CaseRef, MapError> {
        Ok(CaseRef {
            number: self.req("case.number")?,
            year: self.req("case.year")?,
        })
    }

    fn via(&self) -> Result<Option<Delegation>, MapError> {
        if !self.has_group("via.") {
            return Ok(None);
        }
        Ok(Some(Delegation {
            office: self.office("via.office")?,
            delegant: Delegant {
                name: self.opt("via.delegant.name"),
                codice_fiscale: self.req("via.delegant.codice_fiscale")?,
            },
        }))
    }
}

/// Builds the act from the mapped fields.
pub(crate) fn bind(act: ActKind, f: &Fields<'_>) -> Result<Act, MapError> {
    Ok(match act {
        ActKind::RicorsoAmministrazioneSostegno => {
            Act::RicorsoAmministrazioneSostegno(RicorsoAmministrazioneSostegno {
                petitioner: f.party("petitioner", Nature::NaturalPerson)?,
                proximity_office: if f.has_group("proximity_office.") {
                    Some(f.office("proximity_office")?)
                } else {
                    None
                },
                beneficiary: f.beneficiary("beneficiary")?,
            })
        }
        ActKind::TrattamentoSanitarioObbligatorio => {
            Act::TrattamentoSanitarioObbligatorio(TrattamentoSanitarioObbligatorio {
                applicant: f.party("applicant", Nature::PublicBody)?,
                patient: f.beneficiary("patient")?,
                medical: MedicalCertification {
                    assessment_date: f.opt("medical.assessment_date"),
                    proposing_doctor: f.opt("medical.proposing_doctor"),
                    validating_doctor: f.opt("medical.validating_doctor"),
                    validation_date: f.req("medical.validation_date")?,
                    validation_time: f.opt("medical.validation_time"),
                    hospital: f.opt("medical.hospital"),
                },
                order: MayorOrder {
                    municipality: f.opt("order.municipality"),
                    date: f.opt("order.date"),
                    protocol: f.req("order.protocol")?,
                },
            })
        }
        ActKind::RendicontoAmministrazioneSostegno | ActKind::RelazioneAmministrazioneSostegno => {
            let d = DocumentiRichiesti {
                case: f.case()?,
                summary: f.opt("summary"),
                via: f.via()?,
            };
            if act == ActKind::RendicontoAmministrazioneSostegno {
                Act::RendicontoAmministrazioneSostegno(d)
            } else {
                Act::RelazioneAmministrazioneSostegno(d)
            }
        }
        ActKind::IstanzaGenerica => {
            let kind = match f.opt("kind").as_deref().unwrap_or("Generic") {
                "Generic" => IstanzaKind::Generic,
                "Substitution" => IstanzaKind::Substitution {
                    new_administrator: Subject {
                        surname: f.req("new_administrator.surname")?,
                        given_name: f.opt("new_administrator.given_name"),
                        codice_fiscale: f.req("new_administrator.codice_fiscale")?,
                    },
                    replaced_codice_fiscale: f.req("replaced_codice_fiscale")?,
                    via: f.via()?,
                },
                "Removal" => IstanzaKind::Removal {
                    administrator_codice_fiscale: f.req("administrator_codice_fiscale")?,
                    via: f.via()?,
                },
                "TsoRenewal" => IstanzaKind::TsoRenewal,
                "TsoRevocation" => IstanzaKind::TsoRevocation,
                "TsoCessation" => IstanzaKind::TsoCessation,
                _ => {
                    return Err(f.err(
                        "kind",
                        RuleProblem::BadFormat {
                            expected: "Generic, Substitution, Removal, TsoRenewal, TsoRevocation or TsoCessation",
                        },
                    ));
                }
            };
            Act::IstanzaGenerica(IstanzaGenerica {
                case: f.case()?,
                note: f.opt("note"),
                request: f.opt("request"),
                kind,
            })
        }
    })
}
