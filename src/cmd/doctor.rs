//! `sessions doctor`: find every file the commands would stumble on.

use std::path::PathBuf;

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sessions_core::store::error::exit;
use sessions_core::{
    Result,
    views::doctor::{self, Finding},
};

use crate::Ctx;
use crate::output::{Output, Render, escape_untrusted as esc};

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  sessions doctor\n  sessions doctor --fix      # also remove temp files left by interrupted writes,\n                             # and finish operations a crash left half done"
)]
pub struct DoctorArgs {
    /// Repair what is safe: remove temp files left by killed writers, finish the
    /// multi-file operations (milestone completion, handoff, collab moves, forced
    /// releases) a crash left half done.
    #[arg(long)]
    pub fix: bool,
}

pub fn run(ctx: &mut Ctx, args: DoctorArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let findings = doctor::check(&hub)?;
    let fixed = if args.fix {
        doctor::fix(&hub, &findings)?
    } else {
        0
    };
    let remaining = findings.iter().filter(|f| !(args.fix && f.fixable)).count();
    // A clone that silently merges hub files as text is the classic failure: say so.
    let git_setup = sessions_git::setup::check(&hub)
        .ok()
        .flatten()
        .filter(|s| !s.changes.is_empty())
        .map(|s| sessions_git::setup::advice(&s));
    ctx.emit(&Checked {
        hub: hub.root().to_path_buf(),
        findings,
        fixed,
        remaining,
        fix: args.fix,
        git_setup,
    })
}

/// `doctor`: every problem found (exit 1 while any remains).
#[derive(Serialize, JsonSchema)]
pub struct Checked {
    pub hub: PathBuf,
    pub findings: Vec<Finding>,
    /// How many --fix removed.
    pub fixed: usize,
    /// How many are left.
    pub remaining: usize,
    #[serde(skip)]
    pub fix: bool,
    /// This clone lacks the hub's git merge drivers (a warning).
    #[serde(skip)]
    pub git_setup: Option<String>,
}

impl Render for Checked {
    fn text(&self, out: &mut Output) {
        for f in &self.findings {
            let at = match (f.line, f.column) {
                (Some(l), Some(c)) => format!(":{l}:{c}"),
                _ => String::new(),
            };
            let fix = match (f.fixable && !self.fix, f.kind) {
                (false, _) => "",
                (true, "unfinished_operation") => " (sessions doctor --fix finishes it)",
                (true, _) => " (sessions doctor --fix removes it)",
            };
            let path = f.path.strip_prefix(&self.hub).unwrap_or(&f.path);
            out.line(format!(
                "{}{at}: {}{fix}",
                esc(&path.display().to_string()),
                esc(&f.message)
            ));
        }
        if self.findings.is_empty() {
            out.line(format!("{}: every file reads cleanly.", self.hub.display()));
        } else {
            out.line(format!(
                "{} problem(s), {} fixed.",
                self.findings.len(),
                self.fixed
            ));
        }
    }

    fn warnings(&self) -> Vec<String> {
        self.git_setup.iter().cloned().collect()
    }

    fn exit_code(&self) -> u8 {
        if self.remaining == 0 {
            exit::OK
        } else {
            exit::FAILURE
        }
    }
}
