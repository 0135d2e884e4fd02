//! The `sessions` command line: argument parsing and rendering over `sessions-core`.
//! The drop-in binaries in `src/bin/` translate the original scripts' arguments and
//! call [`main_with`].

pub mod cli;
pub mod cmd;
pub mod dropin;
pub mod output;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use sessions_core::store::error::exit;
use sessions_core::{Error, Hub, Result, store::ids};

use crate::cli::{Cli, GlobalArgs};
use crate::output::{Output, Render, WriteFailure};

/// What every command gets: the global flags and the output.
pub struct Ctx {
    pub global: GlobalArgs,
    pub out: Output,
}

impl Ctx {
    /// The hub: `--hub`, `$SESSIONS_HUB`, or the nearest `SESSIONS/` upwards.
    pub fn hub(&self) -> Result<Hub> {
        let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
        let mut hub = Hub::discover(self.global.hub.as_deref(), &cwd)?;
        hub.allow_secrets = self.global.allow_secrets;
        Ok(hub)
    }

    /// "Me": `--as` or `$SESSIONS_ID`, validated.
    pub fn me(&self) -> Result<String> {
        let id = self.global.as_id.as_deref().ok_or_else(|| {
            Error::Usage(
                "this command needs to know which session you are: pass --as ID or set SESSIONS_ID"
                    .into(),
            )
        })?;
        ids::validate("session ID", id)?;
        Ok(id.to_string())
    }

    /// "Me" when `--as` / `$SESSIONS_ID` is given (validated), else `None`.
    pub fn me_if_given(&self) -> Result<Option<String>> {
        match self.global.as_id {
            Some(_) => self.me().map(Some),
            None => Ok(None),
        }
    }

    /// An explicit ID argument, else "me".
    pub fn id_or_me(&self, id: Option<&str>) -> Result<String> {
        match id {
            Some(id) => ids::validate("session ID", id).map(str::to_string),
            None => self.me(),
        }
    }

    /// Print a command's response (text or JSON) and return its exit code.
    pub fn emit<R: Render + ?Sized>(&mut self, response: &R) -> Result<u8> {
        self.out.emit(response)
    }
}

/// Run the command line with `args` (the first one is the program name).
pub fn main_with(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> ExitCode {
    let parsed = <Cli as clap::CommandFactory>::command()
        .try_get_matches_from(args)
        .and_then(|m| {
            let cli = <Cli as clap::FromArgMatches>::from_arg_matches(&m)?;
            Ok((cli, m))
        });
    let (mut cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            let printed = e.print();
            if e.use_stderr() {
                return ExitCode::from(exit::USAGE);
            }
            // --help and --version print on stdout: a full disk is an error there too.
            return match printed {
                Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
                    let err = Error::io("standard output", err);
                    output::stderr_line(&format!("sessions: {err}"));
                    ExitCode::from(err.exit_code())
                }
                _ => ExitCode::from(exit::OK),
            };
        }
    };
    // `export SESSIONS_HUB= SESSIONS_ID=` is how a shell unsets them: empty is unset
    // (an empty `--hub ""` or `--as ""` on the command line stays an error).
    let from_env =
        |id: &str| matches.value_source(id) == Some(clap::parser::ValueSource::EnvVariable);
    if from_env("hub")
        && cli
            .global
            .hub
            .as_ref()
            .is_some_and(|p| p.as_os_str().is_empty())
    {
        cli.global.hub = None;
    }
    if from_env("as_id") && cli.global.as_id.as_ref().is_some_and(String::is_empty) {
        cli.global.as_id = None;
    }
    let json = cli.global.json;
    let mut ctx = Ctx {
        global: cli.global,
        out: Output::new(json),
    };
    let result = cmd::run(&mut ctx, cli.command);
    let result = match (result, ctx.out.flush()) {
        (result, Ok(()) | Err(WriteFailure::Closed)) => result,
        (Ok(_), Err(WriteFailure::Failed(e))) => Err(e),
        (Err(e), Err(WriteFailure::Failed(_))) => Err(e),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => ExitCode::from(ctx.out.fail(&e)),
    }
}

/// The path of a file relative to the hub, for messages.
pub fn rel(hub: &Hub, path: &std::path::Path) -> PathBuf {
    path.strip_prefix(hub.root()).unwrap_or(path).to_path_buf()
}
