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
    /// Inside a git repository: also run `sessions git setup` (merge drivers).
    #[arg(long)]
    pub git_setup: bool,
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
    // Inside a git repository: offer (or, with --git-setup, run) the merge drivers.
    let hub = sessions_core::Hub::open(&dir)?;
    let in_git = sessions_git::commit::Repo::of(&hub)?.is_some();
    let git_setup = match (in_git, args.git_setup) {
        (true, true) => {
            let exe =
                std::env::current_exe().map_err(|e| sessions_core::Error::io("sessions", e))?;
            Some(sessions_git::setup::setup(&hub, &exe)?.changes)
        }
        _ => None,
    };
    ctx.emit(&Initialized {
        hub: dir,
        files: written,
        in_git,
        git_setup,
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
    /// The hub is inside a git repository (`sessions git setup` shares it).
    pub in_git: bool,
    /// With --git-setup: what `git setup` wrote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_setup: Option<Vec<String>>,
}

impl Render for Initialized {
    fn text(&self, out: &mut Output) {
        out.line(format!(
            "Created a hub in {} ({} files).",
            self.hub.display(),
            self.files.len()
        ));
        // Commands only, no `#` comments (zsh leaves them off in interactive shells) and
        // no `<placeholders>` (a redirection in every shell): the lines paste as they are
        // into bash, zsh and fish.
        let hub = std::fs::canonicalize(&self.hub).unwrap_or_else(|_| self.hub.clone());
        out.line("Next (these lines paste into bash, zsh or fish; pick your own session ID):");
        out.line(format!(
            "  export SESSIONS_HUB={}",
            shell_word(&hub.display().to_string())
        ));
        out.line("  export SESSIONS_ID=session-1");
        out.line("  sessions register --name \"Session 1\" --role Developer");
        out.line("  sessions status");
        if self.git_setup.is_some() {
            out.line("Git merge drivers are set up: `sessions git sync` shares the hub.");
        } else if self.in_git {
            out.line(format!(
                "This hub is in a git repository: to merge it by meaning across clones, run\n  sessions --hub {} git setup",
                shell_word(&self.hub.display().to_string())
            ));
        }
    }
}

/// `word` as one shell word that bash, zsh and fish all read back the same: bare when
/// it is plain, else single-quoted, with each `'` and `\` put in double quotes (`"'"`,
/// `"\\"`), the only spelling of them the three shells agree on inside quotes.
pub fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_string();
    }
    let mut out = String::new();
    let mut open = false;
    for c in word.chars() {
        match c {
            '\'' | '\\' => {
                if open {
                    out.push('\'');
                    open = false;
                }
                out.push_str(if c == '\'' { "\"'\"" } else { "\"\\\\\"" });
            }
            c => {
                if !open {
                    out.push('\'');
                    open = true;
                }
                out.push(c);
            }
        }
    }
    if open {
        out.push('\'');
    }
    if out.is_empty() {
        out.push_str("''");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn shell_words_read_back_the_same_in_every_shell() {
        assert_eq!(shell_word("/home/me/SESSIONS"), "/home/me/SESSIONS");
        assert_eq!(shell_word("/my project/SESSIONS"), "'/my project/SESSIONS'");
        assert_eq!(shell_word("/it's/x"), "'/it'\"'\"'s/x'");
        assert_eq!(shell_word(r"/a\b"), r#"'/a'"\\"'b'"#);
        assert_eq!(shell_word("/$HOME `x` *"), "'/$HOME `x` *'");
        assert_eq!(shell_word(""), "''");
    }
}
