//! `sessions watch`: react to the hub in milliseconds (over `sessions-watch`).

use std::time::Duration;

use clap::Args;
use sessions_core::store::error::exit;
use sessions_core::{Error, Result};
use sessions_watch::{Event, Options, Sink, Stopped};

use crate::Ctx;
use crate::cmd::report::{DirArg, status_files};
use crate::cmd::session::parse_duration;
use crate::cmd::split_list;
use crate::output::{Output, Render, WriteFailure, escape_untrusted};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  sessions watch                                   # every event, one line each
  sessions --json --as s2 watch --kind message,signal
  sessions watch --kind signal --consume --exec 'sessions report show \"$SESSIONS_SIGNAL\"'
  sessions --as s2 watch --once --kind message     # block until a message for s2 arrives
  sessions watch --kind health --healthcheck-every 5m --exec 'notify-send \"$SESSIONS_DETAIL\"'

Event kinds: signal, status, message, claim_taken, claim_released, claim_expired,
milestone, session_appeared, session_stale, session_gone, health (`claim` and
`session` select all of theirs). --exec runs `sh -c CMD` per event with SESSIONS_EVENT
(the kind), SESSIONS_EVENT_JSON (the whole event) and SESSIONS_<FIELD> for each field
(SESSIONS_SIGNAL, SESSIONS_FILE, SESSIONS_PROJECT, SESSIONS_LABEL, SESSIONS_FROM,
SESSIONS_TO, SESSIONS_MESSAGE_ID, SESSIONS_KEY, SESSIONS_HOLDER, SESSIONS_SESSION, ...).
The command's output goes to stderr; stdout is the event stream: one line per event,
and with --json one JSON object per line (JSON Lines), not one document.")]
pub struct WatchArgs {
    /// Only these event kinds (comma-separated or repeated).
    #[arg(long = "kind", value_name = "KIND")]
    pub kinds: Vec<String>,
    /// Run this shell command for every event.
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    /// Kill a command that runs longer than this.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Take each signal atomically, run the command, delete the signal when the command
    /// succeeded (put it back when it failed). Signals pending at start count too.
    #[arg(long)]
    pub consume: bool,
    /// Exit after the first matching event (exit 1 if its command failed).
    #[arg(long)]
    pub once: bool,
    /// Poll the folder at this interval instead of using inotify (network file systems).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub poll: Option<Duration>,
    /// Run the healthcheck at this interval and report a `health` event.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub healthcheck_every: Option<Duration>,
    /// Also report the signals already pending at start.
    #[arg(long)]
    pub pending: bool,
    /// With --as: report signals this session has not seen yet (its seen-record in
    /// .sessions/) and record each one handled, so a restart does not miss or repeat one.
    #[arg(long)]
    pub follow: bool,
    /// How long to wait for a burst of changes to settle.
    #[arg(long, value_name = "DURATION", default_value = "10ms", value_parser = parse_duration)]
    pub debounce: Duration,
    /// How often time-based events (claim expiry, stale sessions) are checked.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub tick: Duration,
    /// Keep the hub in step with its git remote: `sessions git sync` at this interval
    /// (merged changes then show up as events).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub git_sync: Option<Duration>,
    #[command(flatten)]
    pub dir: DirArg,
}

/// Prints each event as it comes (a JSON line, or a text line with the untrusted parts
/// escaped) and stops the watch when stdout cannot take more: quietly when the reader
/// went away, with the error otherwise.
struct Printer<'a> {
    out: &'a mut Output,
    failure: Option<Error>,
    /// `--git-sync`: started once the watcher has its baseline (see [`Sink::ready`]).
    git_sync: Option<(sessions_core::Hub, Duration)>,
}

/// One watch event as a text line, the parts other sessions wrote escaped.
impl Render for Event {
    fn text(&self, out: &mut Output) {
        let time = self.time().get(11..19).unwrap_or(self.time());
        let kind = format!("{:<16}", self.kind());
        let kind = match self.kind() {
            "signal" | "message" => out.bold(&kind),
            "claim_expired" | "session_stale" | "session_gone" => out.yellow(&kind),
            "health" if self.ok() == Some(false) => out.red(&kind),
            _ => kind,
        };
        let detail = escape_untrusted(self.detail());
        out.line(format!("{} {kind} {detail}", out.dim(time)));
    }
}

impl Sink for Printer<'_> {
    fn event(&mut self, event: &Event) -> bool {
        if let Err(e) = self.out.emit_line(event) {
            self.failure = Some(e);
            return false;
        }
        match self.out.flush() {
            Ok(()) => true,
            Err(WriteFailure::Closed) => false,
            Err(WriteFailure::Failed(e)) => {
                self.failure = Some(e);
                false
            }
        }
    }

    fn note(&mut self, text: &str) {
        self.out.note(&format!("sessions watch: {text}"));
    }

    fn ready(&mut self) {
        if let Some((hub, every)) = self.git_sync.take() {
            start_git_sync(hub, every);
        }
    }
}

pub fn run(ctx: &mut Ctx, args: WatchArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let files = status_files(ctx, args.dir.dir.as_deref())?;
    let kinds = split_list(&args.kinds);
    sessions_watch::check_kinds(&kinds)?;
    let me = ctx.me_if_given()?;
    if args.follow && me.is_none() {
        return Err(Error::Usage(
            "--follow needs to know which session you are: pass --as ID or set SESSIONS_ID".into(),
        ));
    }
    if args.debounce.is_zero() || args.tick.is_zero() {
        return Err(Error::Usage(
            "--debounce and --tick must be more than 0".into(),
        ));
    }
    let git_sync = match args.git_sync {
        Some(every) => Some((check_git_sync(&hub, every)?, every)),
        None => None,
    };
    let opts = Options {
        hub,
        files,
        me,
        kinds,
        exec: args.exec,
        exec_timeout: args.timeout,
        consume: args.consume,
        once: args.once,
        poll: args.poll,
        debounce: args.debounce,
        tick: args.tick,
        healthcheck_every: args.healthcheck_every,
        pending: args.pending,
        follow: args.follow,
    };
    let mut printer = Printer {
        out: &mut ctx.out,
        failure: None,
        git_sync,
    };
    let stopped = sessions_watch::run(opts, &mut printer)?;
    if let Some(e) = printer.failure {
        return Err(e);
    }
    match stopped {
        Stopped::Signal | Stopped::Closed | Stopped::Once(true) => Ok(exit::OK),
        Stopped::Once(false) => Ok(exit::FAILURE),
    }
}

/// `--git-sync EVERY` is usable here: an interval above 0 and a hub in a git repository.
fn check_git_sync(hub: &sessions_core::Hub, every: Duration) -> Result<sessions_core::Hub> {
    if every.is_zero() {
        return Err(Error::Usage("--git-sync must be more than 0".into()));
    }
    sessions_git::commit::Repo::require(hub)?;
    Ok(hub.clone())
}

/// `--git-sync EVERY`: a background thread running the same sync as `sessions git sync`;
/// its problems go to stderr (stdout is the event stream).
fn start_git_sync(hub: sessions_core::Hub, every: Duration) {
    let opts = sessions_git::sync::Options::for_hub(&hub);
    std::thread::spawn(move || {
        loop {
            match sessions_git::sync::sync(&hub, &opts) {
                Ok(r) => {
                    for l in &r.lost_claims {
                        eprintln!(
                            "sessions watch: git sync: lost claim {} to {}",
                            l.key, l.winner
                        );
                    }
                }
                Err(e) => eprintln!("sessions watch: git sync: {e}"),
            }
            std::thread::sleep(every);
        }
    });
}
