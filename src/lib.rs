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

use sessions_core::{Error, Hub, Result, store::ids};

use crate::cli::{Cli, GlobalArgs};
use crate::output::Output;

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
        hub.set_allow_secrets(self.global.allow_secrets);
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

    pub fn json(&self) -> bool {
        self.global.json
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
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                sessions_core::store::error::exit::USAGE
            } else {
                0
            });
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
    let mut ctx = Ctx {
        global: cli.global,
        out: Output::new(),
    };
    let result = cmd::run(&mut ctx, cli.command);
    ctx.out.flush();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => report(&mut ctx, &e),
    }
}

/// Print an error (and, with `--json`, a JSON error object on stdout); map it to its
/// exit code, the one place where that happens.
fn report(ctx: &mut Ctx, e: &Error) -> ExitCode {
    let code = e.exit_code();
    if ctx.json() {
        ctx.out.json(&serde_json::json!({
            "error": {
                "kind": e.kind(),
                "message": e.to_string(),
                "exit_code": code,
                "details": e.details(),
            }
        }));
        ctx.out.flush();
    }
    eprintln!("sessions: {e}");
    ExitCode::from(code)
}

/// The path of a file relative to the hub, for messages.
pub fn rel(hub: &Hub, path: &std::path::Path) -> PathBuf {
    path.strip_prefix(hub.root()).unwrap_or(path).to_path_buf()
}
