//! Shell completions, generated from the command-line grammar; `--install` puts them
//! where the shell looks for them, in one command.

use std::path::PathBuf;

use clap::Args;
use clap_complete::Shell;
use sessions_core::store::error::exit;
use sessions_core::{Error, Result};

use crate::Ctx;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  sessions completions bash --install     # ~/.local/share/bash-completion/completions/sessions
  sessions completions zsh --install      # ~/.zfunc/_sessions (prints the fpath line to add)
  sessions completions fish --install     # ~/.config/fish/completions/sessions.fish
  sessions completions bash > /etc/bash_completion.d/sessions   # system-wide, by hand")]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: Shell,
    /// Write the script where the shell finds it (bash, zsh, fish) instead of printing it.
    #[arg(long)]
    pub install: bool,
}

pub fn run(ctx: &mut Ctx, args: CompletionsArgs) -> Result<u8> {
    let mut buffer = Vec::new();
    clap_complete::generate(
        args.shell,
        &mut crate::cli::command(),
        "sessions",
        &mut buffer,
    );
    if !args.install {
        ctx.out.line(String::from_utf8_lossy(&buffer).trim_end());
        return Ok(exit::OK);
    }
    let path = install_path(args.shell)?;
    let dir = path.parent().expect("an install path has a folder");
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    std::fs::write(&path, &buffer).map_err(|e| Error::io(&path, e))?;
    ctx.out.line(format!("installed {}", path.display()));
    match args.shell {
        Shell::Zsh => ctx.out.line(
            "add to ~/.zshrc (before compinit) if it is not there: fpath=(~/.zfunc $fpath); autoload -Uz compinit && compinit",
        ),
        _ => ctx.out.line("open a new shell to use it"),
    }
    Ok(exit::OK)
}

/// Where each shell looks for a user's completions.
fn install_path(shell: Shell) -> Result<PathBuf> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| Error::Usage("HOME is not set; --install needs it".into()))?;
    let xdg = |var: &str, default: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(default))
    };
    Ok(match shell {
        Shell::Bash => {
            xdg("XDG_DATA_HOME", ".local/share").join("bash-completion/completions/sessions")
        }
        Shell::Zsh => home.join(".zfunc/_sessions"),
        Shell::Fish => xdg("XDG_CONFIG_HOME", ".config").join("fish/completions/sessions.fish"),
        other => {
            return Err(Error::Usage(format!(
                "--install knows bash, zsh and fish; for {other}, redirect the output: sessions completions {other} > FILE"
            )));
        }
    })
}
