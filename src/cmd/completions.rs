//! Shell completions, generated from the command-line grammar.

use clap::{Args, CommandFactory};
use clap_complete::Shell;
use sessions_core::Result;
use sessions_core::store::error::exit;

use crate::Ctx;
use crate::cli::Cli;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  sessions completions bash > ~/.local/share/bash-completion/completions/sessions"
)]
pub struct CompletionsArgs {
    pub shell: Shell,
}

pub fn run(ctx: &mut Ctx, args: CompletionsArgs) -> Result<u8> {
    let mut buffer = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "sessions", &mut buffer);
    ctx.out.line(String::from_utf8_lossy(&buffer).trim_end());
    Ok(exit::OK)
}
