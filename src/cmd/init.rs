use std::path::PathBuf;

use clap::Args;
use sessions_core::{Result, init, store::hub::HUB_DIR_NAME};

use crate::Ctx;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  sessions init              # creates ./SESSIONS\n  sessions init /tmp/hub     # creates /tmp/hub"
)]
pub struct InitArgs {
    /// Where to create the hub (default: ./SESSIONS). Must not exist or be empty.
    pub dir: Option<PathBuf>,
    /// Do not add the shims for the old script names (quick-status.sh, ...).
    #[arg(long)]
    pub no_shims: bool,
}

pub fn run(ctx: &mut Ctx, args: InitArgs) -> Result<u8> {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(HUB_DIR_NAME));
    let written = init::create(&dir, !args.no_shims)?;
    if ctx.json() {
        ctx.out
            .json(&serde_json::json!({ "hub": dir, "files": written }));
    } else {
        ctx.out.line(format!(
            "Created a hub in {} ({} files).",
            dir.display(),
            written.len()
        ));
        ctx.out.line("Next:");
        ctx.out.line(format!(
            "  export SESSIONS_HUB={}  SESSIONS_ID=<your-session-id>",
            std::fs::canonicalize(&dir).unwrap_or(dir).display()
        ));
        ctx.out
            .line("  sessions register --name \"<name>\" --role \"<role>\" --spec <a,b>");
        ctx.out.line("  sessions status");
    }
    Ok(0)
}
