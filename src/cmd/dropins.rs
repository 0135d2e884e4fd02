//! `sessions install-dropins [DIR]`: links named like the original scripts, all to this
//! one binary (it dispatches on the name it is started as).

use std::path::{Path, PathBuf};

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sessions_core::store::error::exit;
use sessions_core::{Error, Result};

use crate::Ctx;
use crate::dropin::DROPINS;
use crate::output::{Output, Render};

#[derive(Debug, Args)]
#[command(after_help = "\
Each link is `<DIR>/<script name without .sh>` pointing at this binary; running it is the
same as `sessions <script name> ARGS`. An existing file of that name that is not already
such a link is left alone (exit 1) unless --force.

Example:
  sessions install-dropins ~/.local/bin
  update-milestone deploy-dashboard 1 completed \"done\" session-3")]
pub struct InstallDropinsArgs {
    /// Where to put the links (default: the folder this binary is in).
    pub dir: Option<PathBuf>,
    /// Replace files that already have a drop-in's name.
    #[arg(long)]
    pub force: bool,
}

pub fn run(ctx: &mut Ctx, args: InstallDropinsArgs) -> Result<u8> {
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| Error::io("the sessions binary", e))?;
    let dir = match args.dir {
        Some(d) => d,
        None => exe.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut made = Vec::new();
    let mut kept = Vec::new();
    for d in DROPINS {
        let link = dir.join(d.name);
        let already = std::fs::canonicalize(&link).is_ok_and(|t| t == exe);
        if already {
            made.push(link);
            continue;
        }
        if link.symlink_metadata().is_ok() {
            if !args.force {
                kept.push(link);
                continue;
            }
            std::fs::remove_file(&link).map_err(|e| Error::io(&link, e))?;
        }
        make_link(&exe, &link)?;
        made.push(link);
    }
    ctx.emit(&Installed {
        dir,
        binary: exe,
        links: made,
        left_alone: kept,
    })
}

/// `install-dropins`: the links there are now, and the files left alone.
#[derive(Serialize, JsonSchema)]
pub struct Installed {
    #[serde(skip)]
    pub dir: PathBuf,
    pub binary: PathBuf,
    pub links: Vec<PathBuf>,
    /// Files with a drop-in's name that are not ours (kept without --force; exit 1).
    pub left_alone: Vec<PathBuf>,
}

impl Render for Installed {
    fn exit_code(&self) -> u8 {
        if self.left_alone.is_empty() {
            exit::OK
        } else {
            exit::FAILURE
        }
    }

    fn text(&self, out: &mut Output) {
        out.line(format!(
            "{} drop-in link(s) in {} → {}",
            self.links.len(),
            self.dir.display(),
            self.binary.display()
        ));
        for k in &self.left_alone {
            out.line(format!(
                "  left alone (not ours; --force replaces it): {}",
                k.display()
            ));
        }
    }
}

#[cfg(unix)]
fn make_link(exe: &Path, link: &Path) -> Result<()> {
    std::os::unix::fs::symlink(exe, link).map_err(|e| Error::io(link, e))
}

#[cfg(not(unix))]
fn make_link(exe: &Path, link: &Path) -> Result<()> {
    std::fs::hard_link(exe, link).map_err(|e| Error::io(link, e))
}
