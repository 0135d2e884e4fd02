use std::path::PathBuf;

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sessions_core::{Result, init, store::hub::HUB_DIR_NAME};

use crate::Ctx;
use crate::output::{Output, Render};

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
    ctx.emit(&Initialized {
        hub: dir,
        files: written,
    })
}

/// `init`: the hub created and the files written.
#[derive(Serialize, JsonSchema)]
pub struct Initialized {
    pub hub: PathBuf,
    pub files: Vec<PathBuf>,
}

impl Render for Initialized {
    fn text(&self, out: &mut Output) {
        out.line(format!(
            "Created a hub in {} ({} files).",
            self.hub.display(),
            self.files.len()
        ));
        out.line("Next:");
        out.line(format!(
            "  export SESSIONS_HUB={}  SESSIONS_ID=<your-session-id>",
            std::fs::canonicalize(&self.hub)
                .unwrap_or_else(|_| self.hub.clone())
                .display()
        ));
        out.line("  sessions register --name \"<name>\" --role \"<role>\" --spec <a,b>");
        out.line("  sessions status");
    }
}
