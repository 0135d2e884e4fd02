//! `sessions doctor`: find every file the commands would stumble on.

use clap::Args;
use sessions_core::{Result, views::doctor};

use crate::Ctx;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  sessions doctor\n  sessions doctor --fix      # also remove temp files left by interrupted writes"
)]
pub struct DoctorArgs {
    /// Remove what is safe to remove (temp files left by killed writers).
    #[arg(long)]
    pub fix: bool,
}

pub fn run(ctx: &mut Ctx, args: DoctorArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let findings = doctor::check(&hub)?;
    let fixed = if args.fix { doctor::fix(&findings)? } else { 0 };
    let remaining = findings.iter().filter(|f| !(args.fix && f.fixable)).count();
    // A clone that silently merges hub files as text is the classic failure: say so.
    let git_setup = sessions_git::setup::check(&hub)
        .ok()
        .flatten()
        .filter(|s| !s.changes.is_empty())
        .map(|s| sessions_git::setup::advice(&s));
    if ctx.json() {
        ctx.out.json(&serde_json::json!({
            "hub": hub.root(), "findings": findings, "fixed": fixed, "remaining": remaining,
            "warnings": git_setup.iter().collect::<Vec<_>>()
        }));
    } else {
        for f in &findings {
            let at = match (f.line, f.column) {
                (Some(l), Some(c)) => format!(":{l}:{c}"),
                _ => String::new(),
            };
            let fix = if f.fixable && !args.fix {
                " (sessions doctor --fix removes it)"
            } else {
                ""
            };
            ctx.out.line(format!(
                "{}{at}: {}{fix}",
                crate::rel(&hub, &f.path).display(),
                f.message
            ));
        }
        if let Some(w) = &git_setup {
            ctx.out.line(format!("warning: {w}"));
        }
        if findings.is_empty() {
            ctx.out.line(format!(
                "{}: every file reads cleanly.",
                hub.root().display()
            ));
        } else {
            ctx.out
                .line(format!("{} problem(s), {fixed} fixed.", findings.len()));
        }
    }
    Ok(if remaining == 0 { 0 } else { 1 })
}
