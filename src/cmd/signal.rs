//! Touch signals: `signal` (touch), `signals` (list, or follow per session), `consume`.

use clap::Args;
use sessions_core::{Result, status::signals, store::time};

use crate::Ctx;
use crate::cmd::report::{DirArg, status_files};

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
    for name in &args.names {
        touched.push(signals::touch(&files, name)?);
    }
    if ctx.json() {
        ctx.out.json(&serde_json::json!({ "touched": touched }));
    } else {
        for path in &touched {
            ctx.out.line(format!("touched {}", path.display()));
        }
    }
    Ok(0)
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
    if ctx.json() {
        ctx.out.json(&serde_json::json!({ "signals": list }));
    } else if list.is_empty() {
        ctx.out.line(if args.new {
            "No new signals."
        } else {
            "No pending signals."
        });
    } else {
        for s in &list {
            ctx.out.line(format!(
                "{:<24} {:>8} ago  {}",
                s.name,
                time::human_age(s.age_secs),
                s.status_file
                    .as_ref()
                    .map_or(String::new(), |p| p.display().to_string())
            ));
        }
    }
    Ok(0)
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  f=$(sessions consume infra) && cat \"$f\"\n\nTakes .infra-updated atomically (two consumers never both get it) and prints the\nstatus file it belongs to. Exit 1 when the signal is not pending."
)]
pub struct ConsumeArgs {
    pub name: String,
    #[command(flatten)]
    pub dir: DirArg,
}

pub fn consume(ctx: &mut Ctx, args: ConsumeArgs) -> Result<u8> {
    let files = status_files(ctx, args.dir.dir.as_deref())?;
    files.signal_path(&args.name)?;
    let status_file = files.path(&args.name)?;
    match signals::consume(&files, &args.name)? {
        Some(signal) => {
            if ctx.json() {
                ctx.out.json(&serde_json::json!({
                    "consumed": true,
                    "signal": signal,
                    "status_file": status_file,
                    "status_file_exists": status_file.is_file(),
                }));
            } else {
                ctx.out.line(status_file.display().to_string());
            }
            Ok(0)
        }
        None => {
            if ctx.json() {
                ctx.out.json(&serde_json::json!({
                    "consumed": false, "name": args.name, "status_file": status_file
                }));
            } else {
                eprintln!("sessions: no pending signal {:?}", args.name);
            }
            Ok(1)
        }
    }
}
