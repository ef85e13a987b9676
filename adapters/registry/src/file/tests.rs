use super::*;

const GENOVA: &str = r#"
[[court]]
code = "0100250093"
name = "Tribunale Ordinario - Genova"
kind = "Tribunale"
pec_deposit = "tribunale.genova@civile.ptel.giustiziacert.it"
encryption_cert = "certs/genova.pem"
registries = ["VolontariaGiurisdizione"]
"#;

fn problems(text: &str) -> Vec<String> {
    match parse(text, Path::new("/data")) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(Error::Invalid { problems }) => problems.iter().map(ToString::to_string).collect(),
        Err(e) => panic!("{e}"),
    }
}

fn assert_has(problems: &[String], expected: &str) {
    assert!(
        problems.iter().any(|p| p == expected),
        "{expected:?} not among {problems:#?}"
    );
}

#[test]
fn table_and_compact_competence_forms_are_the_same() {
    let tables = format!(
        "format = 1\n{GENOVA}\n[[competence]]\nistat = \"010025\"\ncomune = \"Genova\"\n\
         province = \"GE\"\ncourt = \"0100250093\"\n\n[[competence]]\nistat = \"011009\"\n\
         comune = \"Carro\"\nprovince = \"SP\"\ncourt = \"none\"\nsource = \"README §3.4\"\n"
    );
    let compact = format!(
        "format = 1\ncompetence = [\n  {{ istat = \"010025\", comune = \"Genova\", province = \"GE\", \
         court = \"0100250093\" }},\n  {{ istat = \"011009\", comune = \"Carro\", province = \"SP\", \
         court = \"none\", source = \"README §3.4\" }},\n]\n{GENOVA}"
    );
    let a = parse(&tables, Path::new("/data")).unwrap();
    let b = parse(&compact, Path::new("/data")).unwrap();
    assert_eq!(a.courts, b.courts);
    assert_eq!(a.competences, b.competences);
    assert_eq!(a.competences.len(), 2);
    assert_eq!(a.competences[1].court, None);
    assert_eq!(a.competences[1].source.as_deref(), Some("README §3.4"));
    assert_eq!(
        a.courts[0].encryption_cert.as_deref(),
        Some(Path::new("/data/certs/genova.pem"))
    );
}

#[test]
fn absolute_certificate_paths_stay() {
    let text = format!("format = 1\n{GENOVA}").replace("certs/genova.pem", "/etc/ponte/g.pem");
    let checked = parse(&text, Path::new("/data")).unwrap();
    assert_eq!(
        checked.courts[0].encryption_cert.as_deref(),
        Some(Path::new("/etc/ponte/g.pem"))
    );
}

#[test]
fn every_problem_is_collected_and_named_with_its_line() {
    let text = r#"format = 1
competence = [
  { istat = "10025", comune = "Genova", province = "GE", court = "0100250093" },
  { istat = "010025", comune = "Genova", province = "Ge", court = "0100250093" },
  { istat = "010025", comune = "Genova bis", province = "GE", court = "none" },
  { istat = "011009", comune = " ", province = "SP", court = "maybe" },
  { istat = "011018", comune = "Maissana", province = "SP" },
  { istat = "011029", comune = "Varese Ligure", province = "SP", court = "0110150093" },
  { istat = "010015", comune = "Chiavari", province = "GE", court = "0100250060" },
  { istat = "009056", comune = "Savona", province = "SV", court = "0090560095" },
]

[[court]]
code = "0100250093"
name = "Tribunale Ordinario - Genova"
kind = "Tribunale"
pec_deposit = "tribunale.genova@civile.ptel.giustiziacert.it"
encryption_cert = "court.pem"
registries = ["VolontariaGiurisdizione"]

[[court]]
code = "0100250093"
name = "Tribunale Ordinario - Genova (again)"
kind = "Tribunale"
pec_deposit = "tribunale.genova@civile.ptel.giustiziacert.it"
registries = ["VolontariaGiurisdizione"]

[[court]]
code = "010025006"
name = ""
kind = "CorteAppello"
pec_deposit = "ca.genova at civile.ptel.giustiziacert.it"
registries = []

[[court]]
code = "0100250060"
name = "Corte d'Appello - Genova"
kind = "CorteAppello"
pec_deposit = "ca.genova@civile.ptel.giustiziacert.it"
encryption_cert = ""
registries = ["Volontaria Giurisdizione", "VolontariaGiurisdizione", "VolontariaGiurisdizione"]

[[court]]
code = "0090560095"
name = "Tribunale Ordinario - Savona"
kind = "Tribunale"
pec_deposit = "tribunale.savona@civile.ptel.giustiziacert.it"
registries = ["VolontariaGiurisdizione"]
"#;
    let found = problems(text);
    for expected in [
        "line 3: competence: istat \"10025\" is not exactly 6 digits",
        "line 4: comune 010025: province \"Ge\" is not two capital letters like \"GE\"",
        "line 5: comune 010025 is listed twice (first on line 4)",
        "line 6: comune 011009: `comune` (its name) is empty",
        "line 6: comune 011009: court \"maybe\" is neither a 10-digit court code nor \"none\"",
        "line 7: competence 011018: `court` is missing",
        "line 8: comune 011029: court 0110150093 is not listed as a [[court]]",
        "line 28: court code \"010025006\" is not exactly 10 digits",
        "line 21: court 0100250093 is listed twice (first on line 13)",
        "line 28: court 010025006: `name` is empty",
        "line 28: court 010025006: pec_deposit \"ca.genova at civile.ptel.giustiziacert.it\" is not an e-mail address",
        "line 28: court 010025006: `registries` is empty",
        "line 35: court 0100250060: registry \"Volontaria Giurisdizione\" is not a name like \"VolontariaGiurisdizione\" or is listed twice",
        "line 35: court 0100250060: registry \"VolontariaGiurisdizione\" is not a name like \"VolontariaGiurisdizione\" or is listed twice",
        "line 35: court 0100250060: `encryption_cert` is empty",
        "line 43: court 0090560095 is competent for comuni but has no encryption_cert",
    ] {
        assert_has(&found, expected);
    }
    // The Corte d'Appello row is refused for its own problems; the
    // competence naming it adds nothing more.
    assert_eq!(found.len(), 16, "{found:#?}");
}

#[test]
fn competence_must_name_a_vg_tribunal() {
    let text = r#"format = 1
competence = [
  { istat = "010015", comune = "Chiavari", province = "GE", court = "0100250060" },
  { istat = "010025", comune = "Genova", province = "GE", court = "0100250093" },
]

[[court]]
code = "0100250060"
name = "Corte d'Appello - Genova"
kind = "CorteAppello"
pec_deposit = "ca.genova@civile.ptel.giustiziacert.it"
encryption_cert = "c.pem"
registries = ["VolontariaGiurisdizione"]

[[court]]
code = "0100250093"
name = "Tribunale Ordinario - Genova"
kind = "Tribunale"
pec_deposit = "tribunale.genova@civile.ptel.giustiziacert.it"
encryption_cert = "c.pem"
registries = ["ContenziosoCivile"]
"#;
    let found = problems(text);
    assert_eq!(
        found,
        [
            "line 3: comune 010015: court 0100250060 is not a Tribunale keeping the VolontariaGiurisdizione registry",
            "line 4: comune 010025: court 0100250093 is not a Tribunale keeping the VolontariaGiurisdizione registry",
        ]
    );
}

#[test]
fn format_is_required_and_checked() {
    assert_eq!(
        problems(GENOVA),
        ["unsupported format (missing): this version reads format = 1"]
    );
    assert_eq!(
        problems(&format!("format = 2\n{GENOVA}")),
        ["unsupported format 2: this version reads format = 1"]
    );
}

#[test]
fn a_registry_without_courts_is_refused() {
    assert_eq!(problems("format = 1\n"), ["no court is listed"]);
}

#[test]
fn missing_keys_are_named() {
    let found = problems("format = 1\n[[court]]\nkind = \"Tribunale\"\n");
    assert_eq!(
        found,
        [
            "line 2: court #1: `code` is missing",
            "line 2: court #1: `name` is missing",
            "line 2: court #1: `pec_deposit` is missing",
            "line 2: court #1: `registries` is missing",
        ]
    );
}

#[test]
fn shape_errors_are_syntax_errors_naming_the_key() {
    for (text, needle) in [
        (
            format!("format = 1\n{GENOVA}").replace("pec_deposit", "pec_deposito"),
            "pec_deposito",
        ),
        (
            format!("format = 1\n{GENOVA}").replace("\"Tribunale\"", "\"Tribunal\""),
            "Tribunal",
        ),
        (
            format!("format = 1\n{GENOVA}").replace("\"0100250093\"", "100250093"),
            "code",
        ),
        ("format = 1\n[[court]\n".to_owned(), "line 2"),
    ] {
        let err = parse(&text, Path::new(".")).err().unwrap();
        assert!(matches!(err, Error::Syntax { .. }), "{err}");
        assert_eq!(err.code(), "registry_syntax");
        assert!(err.to_string().contains(needle), "{needle:?} not in {err}");
    }
}

#[test]
fn error_codes_and_retry() {
    let invalid = parse("format = 1\n", Path::new(".")).err().unwrap();
    assert_eq!(invalid.code(), "registry_invalid");
    assert_eq!(invalid.problems().len(), 1);
    assert_eq!(
        invalid.to_string(),
        "registry data has 1 problem: no court is listed"
    );
    assert!(!crate::is_retriable(&invalid));
    let syntax = parse("=", Path::new(".")).err().unwrap();
    assert!(syntax.problems().is_empty());
    assert!(!crate::is_retriable(&syntax));
}

#[test]
fn emails() {
    for ok in [
        "tribunale.genova@civile.ptel.giustiziacert.it",
        "gdp.la-spezia@civile.ptel.giustiziacert.it",
        "a+b@x.it",
    ] {
        assert!(is_email(ok), "{ok}");
    }
    for bad in [
        "",
        "@x.it",
        "a@",
        "a@it",
        "a@@x.it",
        "a@x..it",
        "a@-x.it",
        "a@x.i1",
        ".a@x.it",
        "a..b@x.it",
        "a b@x.it",
        " a@x.it",
        "a@x.it ",
        "Tribunale <a@x.it>",
        "a@[127.0.0.1]",
        "mailto:a@x.it",
    ] {
        assert!(!is_email(bad), "{bad}");
    }
}

#[test]
fn line_numbers() {
    let lines = Lines::new("a\nbc\n\nd");
    assert_eq!(lines.of(0), 1);
    assert_eq!(lines.of(1), 1);
    assert_eq!(lines.of(2), 2);
    assert_eq!(lines.of(5), 3);
    assert_eq!(lines.of(6), 4);
}
