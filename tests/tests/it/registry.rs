//! The court registry from outside: its routes answer every agency, and
//! `ponte registry import` takes effect in a running server without a
//! restart; a broken file is refused.

use std::process::Command;
use std::time::{Duration, Instant};

use super::flow::get;
use super::harness::{Options, Server, ponte_bin, run};

#[tokio::test(flavor = "multi_thread")]
async fn registry_routes_answer_and_an_import_takes_effect_without_restart() {
    let server = Server::start(Options::default());
    let courts = get(&server, "asl3-genovese", "/registry/courts")
        .await
        .json();
    assert_eq!(courts["origin"]["from"], "file");
    assert_eq!(courts["courts"].as_array().unwrap().len(), 4);
    let genova = get(&server, "tribunale-genova", "/registry/courts/0100250093")
        .await
        .json();
    assert_eq!(
        genova["pec_deposit"],
        "tribunale.genova@civile.ptel.giustiziacert.it"
    );
    assert!(
        genova["encryption_certificate"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    let competence = get(&server, "upp-genova", "/registry/competence?comune=010025")
        .await
        .json();
    assert_eq!(competence["court"]["code"], "0100250093");
    let unknown = get(&server, "upp-genova", "/registry/competence?comune=011029")
        .await
        .json();
    assert_eq!(unknown["established"], false);
    assert_eq!(unknown["code"], "competence_unknown");
    assert_eq!(
        get(&server, "upp-genova", "/registry/competence?comune=999999")
            .await
            .status,
        404
    );
    assert_eq!(
        get(&server, "upp-genova", "/registry/courts/12")
            .await
            .status,
        400
    );

    // Import a registry that leaves only Genova, with competence for
    // Varese Ligure established there.
    let text = std::fs::read_to_string(server.dir.path().join("registry.toml")).unwrap();
    let imported = text.replace(
        r#"{ istat = "011029", comune = "Varese Ligure", province = "SP", court = "none" }"#,
        r#"{ istat = "011029", comune = "Varese Ligure", province = "SP", court = "0110150093" }"#,
    );
    assert_ne!(
        imported, text,
        "the development registry changed its Varese Ligure row"
    );
    let file = server.dir.path().join("imported.toml");
    std::fs::write(&file, imported).unwrap();
    let out = run(Command::new(ponte_bin())
        .args(["registry", "import", "--config"])
        .arg(server.dir.path().join("ponte.toml"))
        .arg(&file)
        .current_dir(server.dir.path()));
    assert!(String::from_utf8_lossy(&out).contains("imported registry #1"));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = get(&server, "upp-genova", "/registry/competence?comune=011029")
            .await
            .json();
        if answer["established"] == true {
            assert_eq!(answer["court"]["code"], "0110150093");
            break;
        }
        assert!(Instant::now() < deadline, "import not picked up: {answer}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let courts = get(&server, "asl3-genovese", "/registry/courts")
        .await
        .json();
    assert_eq!(courts["origin"]["from"], "imported");
    // A broken file is refused and changes nothing.
    let broken = server.dir.path().join("broken.toml");
    std::fs::write(&broken, "format = 1\n[[court]]\ncode = \"12\"\n").unwrap();
    let status = Command::new(ponte_bin())
        .args(["registry", "import", "--config"])
        .arg(server.dir.path().join("ponte.toml"))
        .arg(&broken)
        .current_dir(server.dir.path())
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(1));
}
