//! The `sessions` command line: argument parsing and rendering over `sessions-core`.
//! The drop-ins ([`dropin`]) are this same binary under the original scripts' names: they
//! translate the scripts' arguments and call [`main_with`].

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

    /// Print a command's response (text or JSON) and return its exit code.
    pub fn emit<R: Render + ?Sized>(&mut self, response: &R) -> Result<u8> {
        self.out.emit(response)
    }
}

/// The binary's entry: started under a drop-in's name (`update-milestone`, a link made
/// by `install-dropins`) or with one as its first argument, it is that drop-in;
/// otherwise the `sessions` command line.
pub fn main_entry(args: Vec<OsString>) -> ExitCode {
    if let Some(dropin) = args.first().and_then(|a| dropin::find(a)) {
        return dropin::run(dropin, &args[1..]);
    }
    // `sessions dropin <name> ARGS` always means the drop-in (the shims use it);
    // `sessions <name> ARGS` does when `name` is not also a command (`save-progress`,
    // `quick-status` are: there the command, a superset, answers).
    if args.get(1).is_some_and(|a| a == "dropin") {
        return match args.get(2).and_then(|a| dropin::find(a)) {
            Some(dropin) => dropin::run(dropin, &args[3..]),
            None => {
                let names: Vec<&str> = dropin::DROPINS.iter().map(|d| d.name).collect();
                eprintln!(
                    "usage: sessions dropin <name> [ARGS]; names: {}",
                    names.join(", ")
                );
                ExitCode::from(sessions_core::store::error::exit::USAGE)
            }
        };
    }
    if let Some(dropin) = args.get(1).and_then(|a| dropin::find(a))
        && <Cli as clap::CommandFactory>::command()
            .find_subcommand(dropin.name)
            .is_none()
    {
        return dropin::run(dropin, &args[2..]);
    }
    main_with(args)
}

/// Run the command line with `args` (the first one is the program name).
pub fn main_with(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // The grouped command listing costs a walk of the whole grammar: build it only when
    // help may be printed (every other run starts faster without it).
    let may_print_help = args.len() < 2
        || args[1..]
            .iter()
            .any(|a| a == "-h" || a == "--help" || a == "help");
    let grammar = if may_print_help {
        cli::command()
    } else {
        <Cli as clap::CommandFactory>::command()
    };
    let parsed = grammar.try_get_matches_from(args).and_then(|m| {
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
    let out = Output::with(cli.global.json, cli.global.color, cli.global.quiet);
    let mut ctx = Ctx {
        global: cli.global,
        out,
    };
    restore_undone_step_writes(&ctx);
    let result = cmd::run(&mut ctx, cli.command);
    let result = match (result, ctx.out.flush()) {
        (result, Ok(()) | Err(WriteFailure::Closed)) => result,
        (Ok(_), Err(WriteFailure::Failed(e))) => Err(e),
        (Err(e), Err(WriteFailure::Failed(_))) => Err(e),
    };
    warn_of_overwritten_claims(&ctx);
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => ExitCode::from(ctx.out.fail(&e)),
    }
}

/// Mixed fleets: before any command looks at the hub, put back the recent step writes of
/// `sessions` that an old script's whole-file rewrite of a milestone undid (said on stderr).
fn restore_undone_step_writes(ctx: &Ctx) {
    let Ok(hub) = ctx.hub() else {
        return;
    };
    match sessions_core::work::milestones::restore_undone_step_writes(&hub) {
        Ok(restored) => {
            for r in restored {
                eprintln!(
                    "sessions: note: step {} of {} is {} again, as {} wrote it (an old script's rewrite of the file had undone it).",
                    r.step,
                    output::escape_untrusted(&r.milestone),
                    output::escape_untrusted(&r.status),
                    output::escape_untrusted(&r.by)
                );
            }
        }
        Err(e) => eprintln!("sessions: warning: could not check recent step writes: {e}"),
    }
}

/// Mixed fleets: tell a session whose claim an old script's lock replaced, on whatever
/// command it runs next (on stderr, so `--json` output stays one document), and keep
/// the milestone's owner in step with the lock.
fn warn_of_overwritten_claims(ctx: &Ctx) {
    let (Ok(Some(me)), Ok(hub)) = (ctx.me_if_given(), ctx.hub()) else {
        return;
    };
    let Ok(replaced) = sessions_core::work::milestones::reconcile_overwritten(&hub) else {
        return;
    };
    for o in replaced.iter().filter(|o| o.granted_to == me) {
        eprintln!(
            "sessions: warning: your claim {} (token {}) was overwritten: its lock now names {} (an old script wrote over it). Stop work on it and agree with {} who continues.",
            output::escape_untrusted(&o.key),
            o.granted_token,
            output::escape_untrusted(&o.now_held_by),
            output::escape_untrusted(&o.now_held_by)
        );
    }
}

/// The path of a file relative to the hub, for messages.
pub fn rel(hub: &Hub, path: &std::path::Path) -> PathBuf {
    path.strip_prefix(hub.root()).unwrap_or(path).to_path_buf()
}
