//! The drop-in binaries keep the original scripts' names and positional arguments;
//! each translates its arguments into a `sessions` command line and runs it.

use std::ffi::OsString;
use std::process::ExitCode;

/// Run a drop-in: `usage` is printed when `translate` rejects the arguments.
pub fn run(usage: &str, translate: impl FnOnce(&[String]) -> Option<Vec<String>>) -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("usage: {usage}");
        println!("(a drop-in for the original script; see `sessions --help`)");
        return ExitCode::SUCCESS;
    }
    match translate(&args) {
        Some(command) => {
            let argv = std::iter::once(OsString::from("sessions"))
                .chain(command.into_iter().map(OsString::from));
            crate::main_with(argv.collect::<Vec<_>>())
        }
        None => {
            eprintln!("usage: {usage}");
            ExitCode::from(sessions_core::store::error::exit::USAGE)
        }
    }
}

/// `--as <id>` when the optional session argument is present (else $SESSIONS_ID applies).
pub fn as_session(id: Option<&String>) -> Vec<String> {
    id.map(|id| vec!["--as".to_string(), id.clone()])
        .unwrap_or_default()
}
