//! `ponte`: parse the command line, load the configuration, run.

use std::process::ExitCode;

use clap::Parser;
use ponte_gateway::cli::{CertsCommand, Cli, Command};
use ponte_gateway::config::{self, Source};
use ponte_gateway::{run, telemetry};

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format, &cli.log_level);
    match cli.command {
        Command::Certs {
            command: CertsCommand::Dev { out, force },
        } => match ponte_certs::generate(&out, force) {
            Ok(()) => {
                println!("development PKI written to {}", out.display());
                ExitCode::SUCCESS
            }
            Err(error) => fail(&anyhow::Error::new(error)),
        },
        Command::Serve {
            config,
            check_config,
        } => {
            let (config, source) = match config::load(&config, std::env::vars()) {
                Ok(loaded) => loaded,
                Err(errors) => return invalid_config(&errors),
            };
            if source == Source::Embedded {
                tracing::warn!("No configuration file; using the embedded development defaults.");
            }
            if check_config {
                return match run::check(&config) {
                    Ok(notes) => {
                        notes.iter().for_each(|n| println!("note: {n}"));
                        println!("configuration OK ({source:?})");
                        ExitCode::SUCCESS
                    }
                    Err(errors) => invalid_config(&errors),
                };
            }
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(rt) => rt,
                Err(error) => return fail(&error.into()),
            };
            match runtime.block_on(run::serve(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => fail(&error),
            }
        }
    }
}

fn invalid_config(errors: &config::ConfigErrors) -> ExitCode {
    eprintln!("invalid configuration:");
    for error in &errors.0 {
        eprintln!("  - {error}");
    }
    ExitCode::from(2)
}

fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
}
