//! Sessions and liveness: register, heartbeat, unregister, prune, sync, find-help, match.

use std::path::PathBuf;

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sessions_core::sessions::matching::{self, MatchResult};
use sessions_core::sessions::registry::{
    self, Beat, Pruned, Registered, Registration, Registry, SessionView, SyncView,
};
use sessions_core::store::error::exit;
use sessions_core::{Error, Result, store::time, work::presence};

use crate::Ctx;
use crate::cmd::split_list;
use crate::output::{Output, Render, escape_untrusted as esc};

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  sessions --as session-1-dashboard register --name \"Dashboard Builder\" \\\n      --role \"Frontend\" --spec react,ui --work \"login page\""
)]
pub struct RegisterArgs {
    /// The session ID (default: --as / $SESSIONS_ID).
    pub id: Option<String>,
    /// A name people read ("Dashboard Builder").
    #[arg(long)]
    pub name: Option<String>,
    /// The role in the team ("Frontend", "Coordinator").
    #[arg(long)]
    pub role: Option<String>,
    /// Specializations, comma-separated or repeated.
    #[arg(long = "spec", value_name = "SPEC")]
    pub specs: Vec<String>,
    /// Capabilities offered, comma-separated or repeated.
    #[arg(long = "cap", value_name = "CAPABILITY")]
    pub caps: Vec<String>,
    /// What the session is working on.
    #[arg(long)]
    pub work: Option<String>,
    /// The agent CLI running this session: claude, codex, gemini, cursor, opencode.
    #[arg(long, requires = "provider_session")]
    pub provider: Option<String>,
    /// That CLI's own session id (see `sessions chats list`), for `sessions resume <id>`.
    #[arg(long, requires = "provider")]
    pub provider_session: Option<String>,
}

pub fn register(ctx: &mut Ctx, args: RegisterArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let id = ctx.id_or_me(args.id.as_deref())?;
    let done = presence::register(
        &hub,
        &Registration {
            id,
            name: args.name,
            role: args.role,
            specializations: split_list(&args.specs),
            capabilities: split_list(&args.caps),
            current_work: args.work,
            provider: match args.provider.as_deref() {
                Some(p) => Some(crate::cmd::chats::provider_name(p)?),
                None => None,
            },
            provider_session: args.provider_session,
        },
    )?;
    ctx.emit(&done)
}

/// `register`.
impl Render for Registered {
    fn text(&self, out: &mut Output) {
        if self.created {
            out.line(format!(
                "Registered {} (heartbeat and hello written).",
                self.id
            ));
        } else {
            out.line(format!(
                "{} was already registered; entry and heartbeat refreshed.",
                self.id
            ));
        }
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  sessions --as s1 heartbeat --status active --work \"reviewing PR 12\""
)]
pub struct HeartbeatArgs {
    /// Status to record (active, idle, busy, ...).
    #[arg(long)]
    pub status: Option<String>,
    /// What the session is working on now.
    #[arg(long)]
    pub work: Option<String>,
}

pub fn heartbeat(ctx: &mut Ctx, args: HeartbeatArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let id = ctx.me()?;
    let path = presence::heartbeat(
        &hub,
        &id,
        &Beat {
            status: args.status,
            current_work: args.work,
            ..Beat::default()
        },
    )?;
    let warnings = registry::unregistered_warning(&Registry::load(&hub)?, &id)
        .into_iter()
        .collect();
    ctx.emit(&HeartbeatDone {
        id,
        heartbeat: path,
        time: time::format(time::now()),
        warnings,
    })
}

/// `heartbeat`: who, the file written, when.
#[derive(Serialize, JsonSchema)]
pub struct HeartbeatDone {
    pub id: String,
    pub heartbeat: PathBuf,
    pub time: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Render for HeartbeatDone {
    fn text(&self, out: &mut Output) {
        out.line(format!("♥ {} at {}", self.id, self.time));
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  sessions unregister session-9-old")]
pub struct UnregisterArgs {
    /// The session ID (default: --as / $SESSIONS_ID).
    pub id: Option<String>,
}

pub fn unregister(ctx: &mut Ctx, args: UnregisterArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let id = ctx.id_or_me(args.id.as_deref())?;
    let was_registered = registry::unregister(&hub, &id)?;
    ctx.emit(&Unregistered { id, was_registered })
}

/// `unregister`.
#[derive(Serialize, JsonSchema)]
pub struct Unregistered {
    pub id: String,
    pub was_registered: bool,
}

impl Render for Unregistered {
    fn text(&self, out: &mut Output) {
        out.line(format!("Unregistered {}.", self.id));
    }
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  sessions prune --older-than 24h --dry-run")]
pub struct PruneArgs {
    /// Age past which a heartbeat is removed (default: the hub's `gone` threshold).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub older_than: Option<std::time::Duration>,
    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn parse_duration(s: &str) -> std::result::Result<std::time::Duration, String> {
    time::parse_duration(s)
}

pub fn prune(ctx: &mut Ctx, args: PruneArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let older_than = args.older_than.unwrap_or(hub.config.liveness.gone);
    let pruned = registry::prune(&hub, older_than, args.dry_run)?;
    ctx.emit(&PruneReport {
        dry_run: args.dry_run,
        pruned,
    })
}

/// `prune`: the heartbeats removed (or that would be).
#[derive(Serialize, JsonSchema)]
pub struct PruneReport {
    pub dry_run: bool,
    pub pruned: Vec<Pruned>,
}

impl Render for PruneReport {
    fn text(&self, out: &mut Output) {
        let verb = if self.dry_run {
            "Would remove"
        } else {
            "Removed"
        };
        for p in &self.pruned {
            out.line(format!(
                "{verb} heartbeat of {} (last seen {})",
                esc(&p.id),
                esc(p.last_seen.as_deref().unwrap_or("never"))
            ));
        }
        out.line(format!(
            "{verb} {} heartbeat(s); registry entries kept.",
            self.pruned.len()
        ));
    }
}

/// Load the registry and heartbeats and build the session-sync view.
pub fn load_view(ctx: &Ctx) -> Result<(sessions_core::Hub, SyncView)> {
    let hub = ctx.hub()?;
    let registry = Registry::load(&hub)?;
    let heartbeats = registry::load_heartbeats(&hub)?;
    let view = registry::sync_view(&hub, &registry, &heartbeats, time::now());
    Ok((hub, view))
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  sessions sync\n  sessions sync --json | jq '.counts'")]
pub struct SyncArgs {}

pub fn sync(ctx: &mut Ctx, _args: SyncArgs) -> Result<u8> {
    let (_, view) = load_view(ctx)?;
    ctx.emit(&view)
}

/// `sync`: every session with its liveness.
impl Render for SyncView {
    fn text(&self, out: &mut Output) {
        out.line(out.bold("SESSIONS"));
        for s in &self.sessions {
            render_session(out, s);
        }
        let c = &self.counts;
        out.line(format!(
            "{} sessions: {} live ({} idle, {} busy), {} stale, {} gone",
            c.total, c.live, c.idle, c.busy, c.stale, c.gone
        ));
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
}

/// The one rendering of a session line, shared by sync, find-help, match and status.
pub fn render_session(out: &mut Output, s: &SessionView) {
    let mark = match s.liveness {
        registry::Liveness::Live => out.green("● live "),
        registry::Liveness::Stale => out.yellow("◐ stale"),
        registry::Liveness::Gone => out.red("○ gone "),
        registry::Liveness::Unknown => out.dim("○ never"),
    };
    let seen = s
        .age_secs
        .map(|a| format!("seen {} ago", time::human_age(a)))
        .unwrap_or_else(|| "no heartbeat".into());
    let unregistered = if s.registered {
        ""
    } else {
        " (not registered)"
    };
    out.line(format!(
        "  {mark} {}{unregistered}  {}",
        out.bold(&esc(&s.id)),
        out.dim(&seen)
    ));
    let mut details = Vec::new();
    if let Some(role) = &s.role {
        details.push(format!("role: {}", esc(role)));
    }
    if let Some(status) = &s.status {
        details.push(format!("status: {}", esc(status)));
    }
    if let (Some(provider), Some(id)) = (&s.provider, &s.provider_session) {
        details.push(format!("{} {}", esc(provider), esc(id)));
    }
    if !details.is_empty() {
        out.line(format!("      {}", details.join(" | ")));
    }
    if let Some(work) = &s.current_work {
        out.line(format!("      working on: {}", esc(work)));
    }
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  sessions find-help deployment")]
pub struct FindHelpArgs {
    /// A capability or specialization, matched case-insensitively as a substring.
    pub capability: String,
}

pub fn find_help(ctx: &mut Ctx, args: FindHelpArgs) -> Result<u8> {
    // An empty capability is a substring of every one: it would list everybody.
    if args.capability.trim().is_empty() {
        return Err(Error::Usage(
            "name a capability: sessions find-help deployment".into(),
        ));
    }
    let (_, view) = load_view(ctx)?;
    let found = registry::find_help(&view, &args.capability);
    ctx.emit(&HelpFound {
        capability: args.capability,
        sessions: found,
    })
}

/// `find-help`: the sessions offering a capability (exit 1 when none does).
#[derive(Serialize, JsonSchema)]
pub struct HelpFound {
    pub capability: String,
    pub sessions: Vec<SessionView>,
}

impl Render for HelpFound {
    fn text(&self, out: &mut Output) {
        let Some(first) = self.sessions.first() else {
            out.line(format!("No session offers {:?}.", self.capability));
            return;
        };
        out.line(format!(
            "Sessions offering {:?} (most available first):",
            self.capability
        ));
        for s in &self.sessions {
            render_session(out, s);
            // A capability given both as --spec and --cap is offered once.
            let mut offers: Vec<&str> = Vec::new();
            for o in s.specializations.iter().chain(&s.capabilities) {
                if !offers.iter().any(|seen| seen.eq_ignore_ascii_case(o)) {
                    offers.push(o);
                }
            }
            out.line(format!("      offers: {}", esc(&offers.join(", "))));
        }
        out.line(format!(
            "Next: sessions collab request {} \"<what you need>\"",
            esc(&first.id)
        ));
    }

    fn exit_code(&self) -> u8 {
        if self.sessions.is_empty() {
            exit::FAILURE
        } else {
            exit::OK
        }
    }
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  sessions match \"Build a new dashboard UI\"")]
pub struct MatchArgs {
    /// The task, in words.
    pub task: Vec<String>,
}

pub fn matching(ctx: &mut Ctx, args: MatchArgs) -> Result<u8> {
    let task = args.task.join(" ");
    if task.trim().is_empty() {
        return Err(Error::Usage(
            "describe the task: sessions match \"deploy the API\"".into(),
        ));
    }
    let (hub, view) = load_view(ctx)?;
    let me = ctx.me_if_given()?;
    ctx.emit(&matching::rank(&hub.config, &view, &task, me.as_deref()))
}

/// `match`: sessions ranked for a task (exit 1 when none matches).
impl Render for MatchResult {
    fn text(&self, out: &mut Output) {
        out.line(format!("Task: {}", self.task));
        out.line(format!(
            "Looking for: {}",
            if self.wanted.is_empty() {
                "(no known keywords; matching task words)".into()
            } else {
                self.wanted.join(", ")
            }
        ));
        if self.candidates.is_empty() {
            out.line(
                "No session matches; try `sessions find-help <capability>` or broadcast a request.",
            );
        }
        for (rank, c) in self.candidates.iter().enumerate() {
            out.line(format!(
                "{}. relevance {} ({})",
                rank + 1,
                c.relevance,
                esc(&c.matched.join(", "))
            ));
            render_session(out, &c.session);
        }
        if let Some(next) = &self.next {
            out.line(format!("Next: {}", esc(next)));
        }
    }

    fn exit_code(&self) -> u8 {
        if self.candidates.is_empty() {
            exit::FAILURE
        } else {
            exit::OK
        }
    }
}
