//! Agent CLIs: `hook` (the handler they run), `hooks install|uninstall|status`,
//! `whoami` and `prime`.

use std::io::Read;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use schemars::JsonSchema;
use serde::Serialize;
use sessions_agents::handler::{self, Settings};
use sessions_agents::install::{self, Scope};
use sessions_agents::providers::{self, Provider};
use sessions_agents::{brief, identity};
use sessions_core::{Error, Result};

use crate::Ctx;
use crate::output::{Output, Render};

#[derive(Debug, Args)]
#[command(after_help = "\
Run by the agent CLIs (see `sessions hooks install`), with the event's JSON on stdin.
It answers in the provider's contract and always exits 0: on any internal error it prints
nothing and logs a line to SESSIONS/.sessions/hooks.log (the agent is never broken).
Tuning: SESSIONS_HOOK_DELIVERY_EVERY (default 20s), SESSIONS_HOOK_BEAT_EVERY (default 60s).

Example:
  echo '{\"session_id\":\"abc\",\"cwd\":\"'$PWD'\",\"hook_event_name\":\"SessionStart\",\"source\":\"startup\"}' \\
    | sessions hook claude SessionStart")]
pub struct HookArgs {
    /// claude, codex, gemini or cursor.
    pub provider: String,
    /// The provider's event name (SessionStart, PreToolUse, BeforeTool, preToolUse, ...).
    pub event: String,
}

pub fn hook(ctx: &mut Ctx, args: HookArgs) -> Result<u8> {
    let mut stdin = Vec::new();
    // A stdin that cannot be read is garbage: the handler fails open on it.
    let _ = std::io::stdin()
        .take(16 * 1024 * 1024)
        .read_to_end(&mut stdin);
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let mut settings = Settings::from_env(cwd);
    settings.hub = ctx.global.hub.clone().or(settings.hub);
    settings.sessions_id = ctx.global.as_id.clone().or(settings.sessions_id);
    let answer = handler::run(&args.provider, &args.event, &stdin, &settings);
    if let Some(out) = answer.stdout {
        ctx.out.line(out);
    }
    Ok(0)
}

#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// Merge the handlers into the provider's settings (other hooks and settings kept).
    #[command(after_help = "\
Files: claude .claude/settings.json, codex .codex/hooks.json, gemini .gemini/settings.json,
cursor .cursor/hooks.json; in the project (git top folder, default) or in your home (--user).
Installing twice changes nothing; `uninstall` removes exactly what was added.
Codex reads hooks from hooks.json and from [hooks] in .codex/config.toml alike: --toml
puts them in config.toml, keeping every other byte of it.

Examples:
  sessions hooks install claude
  sessions hooks install codex --user --dry-run
  sessions hooks install codex --toml")]
    Install(HooksTarget),
    /// Remove exactly the handlers `install` added.
    #[command(
        after_help = "Examples:\n  sessions hooks uninstall claude\n  sessions hooks uninstall codex --toml"
    )]
    Uninstall(HooksTarget),
    /// Which events have the handler, per provider.
    #[command(
        after_help = "Examples:\n  sessions hooks status\n  sessions hooks status gemini --user --json"
    )]
    Status(HooksStatusArgs),
}

#[derive(Debug, Args)]
pub struct HooksTarget {
    /// claude, codex, gemini or cursor.
    pub provider: String,
    /// The project's settings (the default).
    #[arg(long, conflicts_with = "user")]
    pub project: bool,
    /// Your own settings in your home folder.
    #[arg(long)]
    pub user: bool,
    /// Show the resulting file; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Codex only: `[hooks]` in .codex/config.toml instead of .codex/hooks.json.
    #[arg(long)]
    pub toml: bool,
}

#[derive(Debug, Args)]
pub struct HooksStatusArgs {
    /// One provider (default: all).
    pub provider: Option<String>,
    /// The project's settings (the default).
    #[arg(long, conflicts_with = "user")]
    pub project: bool,
    /// Your own settings in your home folder.
    #[arg(long)]
    pub user: bool,
}

fn provider(name: &str) -> Result<Provider> {
    Provider::parse(name).ok_or_else(|| {
        Error::Usage(format!(
            "unknown provider {name:?}: use claude, codex, gemini or cursor"
        ))
    })
}

/// The scope, the project (git top folder, else the current one) and the home folder.
fn locate(user: bool) -> Result<(Scope, PathBuf, PathBuf)> {
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    let project = cwd
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map_or(cwd.clone(), PathBuf::from);
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .ok_or_else(|| Error::Usage("HOME is not set; --user needs it".into()));
    let scope = if user { Scope::User } else { Scope::Project };
    let home = if user {
        home?
    } else {
        home.unwrap_or_default()
    };
    Ok((scope, project, home))
}

fn target_path(p: Provider, user: bool) -> Result<PathBuf> {
    let (scope, project, home) = locate(user)?;
    Ok(install::settings_path(p, scope, &project, &home))
}

/// Whether `--toml` asks for Codex's config.toml (refused for other providers).
fn toml_target(p: Provider, t: &HooksTarget) -> Result<bool> {
    if t.toml && p != Provider::Codex {
        return Err(Error::Usage(format!(
            "--toml is for codex only ({} keeps its hooks in JSON)",
            p.name()
        )));
    }
    Ok(t.toml)
}

fn codex_toml_path(user: bool) -> Result<PathBuf> {
    let (scope, project, home) = locate(user)?;
    Ok(install::codex_config_path(scope, &project, &home))
}

pub fn run(ctx: &mut Ctx, command: HooksCommand) -> Result<u8> {
    match command {
        HooksCommand::Install(t) => {
            let p = provider(&t.provider)?;
            let exe = std::env::current_exe().map_err(|e| Error::io("sessions", e))?;
            let exe = exe.to_string_lossy();
            let change = if toml_target(p, &t)? {
                install::install_codex_toml(&codex_toml_path(t.user)?, &exe, t.dry_run)?
            } else {
                install::install(p, &target_path(p, t.user)?, &exe, t.dry_run)?
            };
            ctx.emit(&HooksChanged {
                action: "installed",
                change,
            })
        }
        HooksCommand::Uninstall(t) => {
            let p = provider(&t.provider)?;
            let change = if toml_target(p, &t)? {
                install::uninstall_codex_toml(&codex_toml_path(t.user)?, t.dry_run)?
            } else {
                install::uninstall(p, &target_path(p, t.user)?, t.dry_run)?
            };
            ctx.emit(&HooksChanged {
                action: "removed",
                change,
            })
        }
        HooksCommand::Status(a) => {
            let list: Vec<Provider> = match &a.provider {
                Some(name) => vec![provider(name)?],
                None => providers::ALL.to_vec(),
            };
            let mut out = Vec::new();
            for p in list {
                let mut status = install::status(p, &target_path(p, a.user)?)?;
                // Codex's hooks may live in config.toml instead (`install codex --toml`).
                if p == Provider::Codex && status.installed.is_empty() {
                    let in_toml = install::status_codex_toml(&codex_toml_path(a.user)?)?;
                    if !in_toml.installed.is_empty() {
                        status = in_toml;
                    }
                }
                out.push(status);
            }
            ctx.emit(&HooksStatus { providers: out })
        }
    }
}

/// `hooks install|uninstall`: what changed in which file.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HooksChanged {
    /// `installed` or `removed`.
    pub action: &'static str,
    #[serde(flatten)]
    pub change: install::Change,
}

impl Render for HooksChanged {
    fn text(&self, out: &mut Output) {
        let change = &self.change;
        if change.dry_run {
            out.line(format!("Dry run: {} would become:", change.path.display()));
            out.line(
                change
                    .contents
                    .as_deref()
                    .unwrap_or("(removed)\n")
                    .trim_end(),
            );
        } else if change.changed.is_empty() {
            out.line(format!("Nothing to change in {}.", change.path.display()));
        } else {
            let verb = if self.action == "installed" {
                "Installed"
            } else {
                "Removed"
            };
            out.line(format!(
                "{verb} the {} hooks in {}: {}",
                change.provider.name(),
                change.path.display(),
                change.changed.join(", ")
            ));
        }
        for note in &change.notes {
            out.line(format!("Note: {note}"));
        }
    }
}

/// `hooks status`: per provider, which events have the handler.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HooksStatus {
    pub providers: Vec<install::Status>,
}

impl Render for HooksStatus {
    fn text(&self, out: &mut Output) {
        for s in &self.providers {
            let state = if s.missing.is_empty() {
                "installed"
            } else if s.installed.is_empty() {
                "not installed"
            } else {
                "partly installed"
            };
            let missing = if s.missing.is_empty() || s.installed.is_empty() {
                String::new()
            } else {
                format!(" (missing: {})", s.missing.join(", "))
            };
            out.line(format!(
                "{:7} {state}  {}{missing}",
                s.provider.name(),
                s.path.display()
            ));
        }
    }
}

#[derive(Debug, Args)]
#[command(after_help = "\
The hub session bound to this agent: --as / SESSIONS_ID, else the binding of the
provider session in the environment (CLAUDE_CODE_SESSION_ID ...), else the latest
binding made in this folder or above. Exit code 1 when none is bound.

Examples:
  sessions whoami
  sessions whoami --json")]
pub struct WhoamiArgs {}

pub fn whoami(ctx: &mut Ctx, _args: WhoamiArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    if let Some(id) = ctx.me_if_given()? {
        return ctx.emit(&Identity {
            id,
            source: "SESSIONS_ID",
            provider: None,
            provider_session: None,
            cwd: None,
        });
    }
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    match identity::whoami(&hub, &cwd, &identity::env_sessions())? {
        Some(b) => ctx.emit(&Identity {
            id: b.hub_id,
            source: "binding",
            provider: Some(b.provider),
            provider_session: Some(b.provider_session),
            cwd: Some(b.cwd),
        }),
        None => Err(identity::unknown()),
    }
}

/// `whoami`: the hub session this agent is, and how that was decided.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Identity {
    pub id: String,
    /// `SESSIONS_ID` (from --as or the environment) or `binding` (made by the hooks).
    pub source: &'static str,
    /// With a binding: the agent CLI, its own session id and the folder it was bound in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_session: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
}

impl Render for Identity {
    fn text(&self, out: &mut Output) {
        out.line(&self.id);
    }
}

#[derive(Debug, Args)]
#[command(after_help = "\
The session-start brief the hooks inject (at most 1,500 characters): who you are, who
else is live and on what, your claims and reservations, the ready work, unread messages.
Paste it into AGENTS.md/CLAUDE.md instructions, or run it at the start of any agent.
Reading it does not mark messages read.

Examples:
  sessions --as s1 prime
  sessions --as s1 prime --json | jq .unread")]
pub struct PrimeArgs {}

pub fn prime(ctx: &mut Ctx, _args: PrimeArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let me = match ctx.me_if_given()? {
        Some(id) => Some(id),
        None => {
            let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
            identity::whoami(&hub, &cwd, &identity::env_sessions())?.map(|b| b.hub_id)
        }
    };
    let unread = match &me {
        Some(me) => brief::peek_unread(&hub, me)?,
        None => Vec::new(),
    };
    ctx.emit(&Primed(brief::build(&hub, me.as_deref(), &unread)?))
}

/// `prime`: the session-start brief, its parts and its text.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Primed(pub brief::Brief);

impl Render for Primed {
    fn text(&self, out: &mut Output) {
        out.line(&self.0.text);
    }
}
