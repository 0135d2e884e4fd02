//! `sessions top`: the live dashboard (the work is in `sessions-tui`).

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use sessions_core::{Error, Result};

use crate::Ctx;
use crate::output::escape_untrusted;

#[derive(Debug, Args)]
#[command(after_help = "\
Keys: q quit · Tab/Shift-Tab focus · ↑↓ select · / filter (Enter keep, Esc clear)
      c claim the selected free item (Work pane) · r release the selected claim of yours
      Board pane: Enter open the message in full · a acknowledge it · r reply to its sender
      (type the reply; Enter sends, Esc cancels)

Example:
  sessions --as s1 top       the dashboard for session s1 (its requests, unread messages)
  sessions top               the whole hub, read-only")]
pub struct TopArgs {
    /// Append `<unix ns> change` for every frame drawn after a hub change (benchmarks).
    #[arg(long, hide = true, value_name = "FILE")]
    pub bench_log: Option<PathBuf>,
    /// Read the whole hub again on every change, as top did before it kept each part
    /// apart (the benchmark's baseline).
    #[arg(long, hide = true)]
    pub bench_reload_all: bool,
}

pub fn run(ctx: &mut Ctx, args: TopArgs) -> Result<u8> {
    if ctx.out.is_json() {
        return Err(Error::Usage(
            "top is a live screen for people; for agents use `sessions status --json` or `sessions watch --json`".into(),
        ));
    }
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "top needs a terminal; use `sessions status` (or `sessions watch`) in scripts".into(),
        ));
    }
    let hub = ctx.hub()?;
    let me = ctx.me_if_given()?;
    sessions_tui::run(
        &hub,
        sessions_tui::Options {
            me,
            sanitize: |text| escape_untrusted(text).into_owned(),
            bench_log: args.bench_log,
            reload_all: args.bench_reload_all,
        },
    )?;
    Ok(0)
}
