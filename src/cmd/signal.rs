//! Touch signals: `signal` (touch), `signals` (list, or follow per session), `consume`.

use std::path::PathBuf;

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sessions_core::status::signals::{self, Signal};
use sessions_core::store::error::exit;
use sessions_core::{Result, store::time};

use crate::Ctx;
use crate::cmd::report::{DirArg, status_files};
use crate::output::{Output, Render, escape_untrusted as esc};

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  sessions signal infra              # touches .infra-updated\n  sessions signal infra web api      # several at once"
)]
pub struct SignalArgs {
    /// Signal names (`infra` -> `.infra-updated`).
    #[arg(required = true)]
    pub names: Vec<String>,
    #[command(flatten)]
    pub dir: DirArg,
}

pub fn signal(ctx: &mut Ctx, args: SignalArgs) -> Result<u8> {
    let files = status_files(ctx, args.dir.dir.as_deref())?;
    let mut touched = Vec::new();
    let mut warnings = Vec::new();
    for name in &args.names {
        touched.push(signals::touch(&files, name)?);
        warnings.extend(signals::unknown_name_warning(&files, name)?);
    }
    ctx.emit(&Touched { touched, warnings })
}

/// `signal`: the signal files touched, with a warning for each name that has no status
/// file (a probable typo).
#[derive(Serialize, JsonSchema)]
pub struct Touched {
    pub touched: Vec<PathBuf>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Render for Touched {
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    fn text(&self, out: &mut Output) {
        for path in &self.touched {
            out.line(format!("touched {}", path.display()));
        }
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  sessions signals                   # every pending signal with its age\n  sessions --as s2 signals --new     # only those s2 has not seen; marks them seen\n  sessions --as s2 signals --new --peek --json"
)]
pub struct SignalsArgs {
    /// Only the signals this session (--as) has not seen yet, then record them as seen,
    /// so every session reacts once to each touch.
    #[arg(long)]
    pub new: bool,
    /// With --new: do not record them as seen.
    #[arg(long, requires = "new")]
    pub peek: bool,
    #[command(flatten)]
    pub dir: DirArg,
}

pub fn list(ctx: &mut Ctx, args: SignalsArgs) -> Result<u8> {
    let files = status_files(ctx, args.dir.dir.as_deref())?;
    let list = if args.new {
        let me = ctx.me()?;
        signals::unseen(&files, &me, !args.peek)?
    } else {
        signals::list(&files)?
    };
    ctx.emit(&SignalList {
        signals: list,
        only_new: args.new,
    })
}

/// `signals`: pending (or, with --new, unseen) signals.
#[derive(Serialize, JsonSchema)]
pub struct SignalList {
    pub signals: Vec<Signal>,
    #[serde(skip)]
    pub only_new: bool,
}

impl Render for SignalList {
    fn text(&self, out: &mut Output) {
        if self.signals.is_empty() {
            out.line(if self.only_new {
                "No new signals."
            } else {
                "No pending signals."
            });
        }
        for s in &self.signals {
            out.line(format!(
                "{:<24} {:>8} ago  {}",
                esc(&s.name),
                time::human_age(s.age_secs),
                s.status_file
                    .as_ref()
                    .map_or(String::new(), |p| esc(&p.display().to_string())
                        .into_owned())
            ));
        }
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  f=$(sessions consume infra) && cat \"$f\"\n\nTakes .infra-updated atomically (two consumers never both get it) and prints the\nstatus file it belongs to. Exit 1 when the signal is not pending."
)]
pub struct ConsumeArgs {
    /// The signal name (`infra` takes `.infra-updated`).
    pub name: String,
    #[command(flatten)]
    pub dir: DirArg,
}

pub fn consume(ctx: &mut Ctx, args: ConsumeArgs) -> Result<u8> {
    let files = status_files(ctx, args.dir.dir.as_deref())?;
    files.signal_path(&args.name)?;
    let status_file = files.path(&args.name)?;
    let consumed = match signals::consume(&files, &args.name)? {
        Some(signal) => Consumed::Taken {
            consumed: true,
            signal,
            status_file_exists: status_file.is_file(),
            status_file,
        },
        None => Consumed::NotPending {
            consumed: false,
            name: args.name,
            status_file,
        },
    };
    ctx.emit(&consumed)
}

/// `consume`: the signal taken and its status file (exit 1 when it was not pending).
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Consumed {
    Taken {
        /// Always true here.
        consumed: bool,
        signal: Signal,
        status_file: PathBuf,
        status_file_exists: bool,
    },
    NotPending {
        /// Always false here.
        consumed: bool,
        name: String,
        status_file: PathBuf,
    },
}

impl Render for Consumed {
    fn text(&self, out: &mut Output) {
        match self {
            // Only the path on stdout: `f=$(sessions consume infra) && cat "$f"`.
            Consumed::Taken { status_file, .. } => out.line(status_file.display().to_string()),
            Consumed::NotPending { name, .. } => {
                out.note(&format!("sessions: no pending signal {name:?}"))
            }
        }
    }

    fn exit_code(&self) -> u8 {
        match self {
            Consumed::Taken { .. } => exit::OK,
            Consumed::NotPending { .. } => exit::FAILURE,
        }
    }
}
