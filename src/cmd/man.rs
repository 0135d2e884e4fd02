//! `sessions man`: the manual page, generated from the same grammar as `--help`
//! (clap_mangen), so it never drifts from the commands.

use std::path::PathBuf;

use clap::Args;
use sessions_core::store::error::exit;
use sessions_core::{Error, Result};

use crate::Ctx;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  sessions man | man -l -                                   # read it now
  mkdir -p ~/.local/share/man/man1 && sessions man > ~/.local/share/man/man1/sessions.1
  sessions man --out-dir ~/.local/share/man/man1            # plus one page per command")]
pub struct ManArgs {
    /// Write sessions.1 and one page per command (sessions-claim.1, ...) into DIR
    /// instead of printing sessions.1.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub fn run(ctx: &mut Ctx, args: ManArgs) -> Result<u8> {
    let cmd = crate::cli::command();
    match args.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            clap_mangen::generate_to(cmd, &dir).map_err(|e| Error::io(&dir, e))?;
            ctx.out
                .line(format!("wrote the manual pages to {}", dir.display()));
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut page)
                .map_err(|e| Error::io("standard output", e))?;
            ctx.out.line(String::from_utf8_lossy(&page).trim_end());
        }
    }
    Ok(exit::OK)
}
