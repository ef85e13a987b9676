//! `ponte`: parse the command line, load the configuration, run.

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use ponte_gateway::cli::{
    AuditCommand, CertsCommand, Cli, Command, EnvelopeCommand, RegistryCommand,
};
use ponte_gateway::config::{self, Config, Source};
use ponte_gateway::pct_cli::{self, InspectOptions, MapOptions};
use ponte_gateway::{audit_cli, run, telemetry};

/// mimalloc instead of glibc's allocator: FHIR intake allocates a JSON tree
/// per submission, and with glibc's allocator about a fifth of the gateway's
/// CPU went into `malloc`/`free` (docs/benchmarks.md, issue 4, "With
/// mimalloc as the allocator": +21% accepted submissions per second).
/// Built with `no_thp`: with transparent huge pages on, its eagerly committed
/// arenas would add about 14 MiB of idle RSS.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format, &cli.log_level);
    match cli.command {
        Command::Certs {
            command: CertsCommand::Dev { out, force },
        } => report(
            ponte_certs::generate(&out, force)
                .map(|()| format!("development PKI written to {}", out.display()))
                .map_err(Into::into),
        ),
        Command::Audit {
            command: AuditCommand::CheckBundle { file, vkey },
            ..
        } => report(audit_cli::check_bundle(&file, vkey.as_deref())),
        Command::Audit { config, command } => {
            let config = match load(&config) {
                Ok(config) => config,
                Err(code) => return code,
            };
            report(match command {
                AuditCommand::Verify { vkey } => audit_cli::verify(&config, vkey.as_deref()),
                AuditCommand::Checkpoint => block_on(audit_cli::checkpoint(&config)),
                AuditCommand::Prove { id, out } => block_on(audit_cli::prove(&config, &id, &out)),
                AuditCommand::CheckBundle { .. } => unreachable!("handled above"),
            })
        }
        Command::Registry {
            config,
            command: RegistryCommand::Import { file },
        } => {
            let config = match load(&config) {
                Ok(config) => config,
                Err(code) => return code,
            };
            report(block_on(pct_cli::registry_import(&config, &file)))
        }
        Command::Map {
            bundle,
            out,
            config,
            registry,
            court,
        } => {
            let config = match load(&config) {
                Ok(config) => config,
                Err(code) => return code,
            };
            report(pct_cli::map(
                &config,
                &MapOptions {
                    bundle,
                    out,
                    registry,
                    court,
                },
            ))
        }
        Command::Envelope {
            command:
                EnvelopeCommand::Inspect {
                    envelope,
                    key,
                    cert,
                    ca,
                    schemas,
                },
        } => match pct_cli::inspect(&InspectOptions {
            envelope,
            key,
            cert,
            ca,
            schemas,
        }) {
            Ok((text, true)) => report(Ok(text)),
            Ok((text, false)) => {
                print!("{text}");
                eprintln!("error: the envelope does not pass every check");
                ExitCode::FAILURE
            }
            Err(e) => report(Err(e)),
        },
        Command::Serve {
            config,
            check_config,
        } => {
            let config = match load(&config) {
                Ok(config) => config,
                Err(code) => return code,
            };
            if check_config {
                return match run::check(&config) {
                    Ok(notes) => {
                        notes.iter().for_each(|n| println!("note: {n}"));
                        println!("configuration OK");
                        ExitCode::SUCCESS
                    }
                    Err(errors) => invalid_config(&errors),
                };
            }
            report(block_on(run::serve(config)).map(|()| String::new()))
        }
    }
}

fn load(path: &Path) -> Result<Config, ExitCode> {
    match config::load(path, std::env::vars()) {
        Ok((config, source)) => {
            if source == Source::Embedded {
                tracing::warn!("No configuration file; using the embedded development defaults.");
            }
            Ok(config)
        }
        Err(errors) => Err(invalid_config(&errors)),
    }
}

fn block_on<T>(future: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Runtime::new()?.block_on(future)
}

fn report(result: anyhow::Result<String>) -> ExitCode {
    match result {
        Ok(message) => {
            if !message.is_empty() {
                println!("{message}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
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
