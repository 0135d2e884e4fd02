use std::path::{Path, PathBuf};

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sessions_core::{Error, Result, init, store::hub::HUB_DIR_NAME};

use crate::Ctx;
use crate::output::{Output, Render};

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  sessions init              # creates ./SESSIONS\n  sessions init /tmp/hub     # creates /tmp/hub\n  sessions init --force      # a second hub below an existing one"
)]
pub struct InitArgs {
    /// Where to create the hub (default: ./SESSIONS). Must not exist or be empty.
    pub dir: Option<PathBuf>,
    /// Do not add the shims for the old script names (quick-status.sh, ...).
    #[arg(long)]
    pub no_shims: bool,
    /// Create the hub even inside a project that already has one further up.
    #[arg(long)]
    pub force: bool,
}

pub fn run(ctx: &mut Ctx, args: InitArgs) -> Result<u8> {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(HUB_DIR_NAME));
    if !args.force
        && let Some(existing) = enclosing_hub(&dir)
    {
        return Err(Error::Refused(format!(
            "a hub already exists further up: {}\n  use it (run from there, or --hub {0}), or pass --force to create a second hub here",
            existing.display()
        )));
    }
    let written = init::create(&dir, !args.no_shims)?;
    ctx.emit(&Initialized {
        hub: dir,
        files: written,
    })
}

/// A `SESSIONS/` folder in a folder above the one `dir` would be created in:
/// a second hub there would silently split the project's sessions in two.
fn enclosing_hub(dir: &Path) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    let target = cwd.join(dir);
    let parent = target.parent()?;
    let parent = std::fs::canonicalize(parent).ok()?;
    let target = parent.join(target.file_name()?);
    parent
        .ancestors()
        .map(|a| a.join(HUB_DIR_NAME))
        .find(|hub| hub.is_dir() && *hub != target)
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
