//! The `tallkv` binary: parse the command line like redis-server, then serve.

use std::process::ExitCode;

use tallkv::config::{self, CommandLine};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "check-journal") {
        return match tallkv::persist::journal::check::run(&args[1..]) {
            0 => ExitCode::SUCCESS,
            _ => ExitCode::FAILURE,
        };
    }
    let parsed = match config::parse_command_line(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let (config, config_file) = match parsed {
        CommandLine::Help => {
            println!("{}", config::usage());
            return ExitCode::SUCCESS;
        }
        CommandLine::Version => {
            println!("tallkv v={} (Redis 7.2.0 compatible)", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        CommandLine::Run { config, file } => (config, file),
    };
    match tallkv::server::run(config, file_or_none(config_file)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn file_or_none(file: Option<String>) -> Option<String> {
    file.filter(|f| !f.is_empty())
}
