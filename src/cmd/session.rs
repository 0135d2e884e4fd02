//! Sessions and liveness: register, heartbeat, unregister, prune, sync, find-help, match.

use clap::Args;
use sessions_core::sessions::registry::{
    self, Beat, Registration, Registry, SessionView, SyncView,
};
use sessions_core::{Error, Result, sessions::matching, store::time, work::presence};

use crate::Ctx;
use crate::cmd::split_list;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  sessions --as session-1-dashboard register --name \"Dashboard Builder\" \\\n      --role \"Frontend\" --spec react,ui --work \"login page\""
)]
pub struct RegisterArgs {
    /// The session ID (default: --as / $SESSIONS_ID).
    pub id: Option<String>,
    #[arg(long)]
    pub name: Option<String>,
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
        },
    )?;
    if ctx.json() {
        ctx.out.json(&done);
    } else if done.created {
        ctx.out.line(format!(
            "Registered {} (heartbeat and hello written).",
            done.id
        ));
    } else {
        ctx.out.line(format!(
            "{} was already registered; entry and heartbeat refreshed.",
            done.id
        ));
    }
    Ok(0)
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
    if ctx.json() {
        ctx.out.json(
            &serde_json::json!({ "id": id, "heartbeat": path, "time": time::format(time::now()) }),
        );
    } else {
        ctx.out
            .line(format!("♥ {id} at {}", time::format(time::now())));
    }
    Ok(0)
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
    if ctx.json() {
        ctx.out
            .json(&serde_json::json!({ "id": id, "was_registered": was_registered }));
    } else {
        ctx.out.line(format!("Unregistered {id}."));
    }
    Ok(0)
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
    time::parse_duration(s).ok_or_else(|| format!("invalid duration {s:?}: use 30s, 5m, 2h, 1d"))
}

pub fn prune(ctx: &mut Ctx, args: PruneArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let older_than = args.older_than.unwrap_or(hub.config.liveness.gone);
    let pruned = registry::prune(&hub, older_than, args.dry_run)?;
    if ctx.json() {
        ctx.out
            .json(&serde_json::json!({ "dry_run": args.dry_run, "pruned": pruned }));
    } else {
        let verb = if args.dry_run {
            "Would remove"
        } else {
            "Removed"
        };
        for p in &pruned {
            ctx.out.line(format!(
                "{verb} heartbeat of {} (last seen {})",
                p.id,
                p.last_seen.as_deref().unwrap_or("never")
            ));
        }
        ctx.out.line(format!(
            "{verb} {} heartbeat(s); registry entries kept.",
            pruned.len()
        ));
    }
    Ok(0)
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
    if ctx.json() {
        ctx.out.json(&view);
        return Ok(0);
    }
    ctx.out.line(ctx.out.bold("SESSIONS"));
    for s in &view.sessions {
        render_session(ctx, s);
    }
    let c = &view.counts;
    ctx.out.line(format!(
        "{} sessions: {} live ({} idle, {} busy), {} stale, {} gone",
        c.total, c.live, c.idle, c.busy, c.stale, c.gone
    ));
    Ok(0)
}

/// The one rendering of a session line, shared by sync, find-help, match and status.
pub fn render_session(ctx: &mut Ctx, s: &SessionView) {
    let mark = match s.liveness {
        registry::Liveness::Live => ctx.out.green("● live "),
        registry::Liveness::Stale => ctx.out.yellow("◐ stale"),
        registry::Liveness::Gone => ctx.out.red("○ gone "),
        registry::Liveness::Unknown => ctx.out.dim("○ never"),
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
    ctx.out.line(format!(
        "  {mark} {}{unregistered}  {}",
        ctx.out.bold(&s.id),
        ctx.out.dim(&seen)
    ));
    let mut details = Vec::new();
    if let Some(role) = &s.role {
        details.push(format!("role: {role}"));
    }
    if let Some(status) = &s.status {
        details.push(format!("status: {status}"));
    }
    if !details.is_empty() {
        ctx.out.line(format!("      {}", details.join(" | ")));
    }
    if let Some(work) = &s.current_work {
        ctx.out.line(format!("      working on: {work}"));
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
    if ctx.json() {
        ctx.out
            .json(&serde_json::json!({ "capability": args.capability, "sessions": found }));
    } else if found.is_empty() {
        ctx.out
            .line(format!("No session offers {:?}.", args.capability));
    } else {
        ctx.out.line(format!(
            "Sessions offering {:?} (most available first):",
            args.capability
        ));
        for s in &found {
            render_session(ctx, s);
            let offers: Vec<&String> = s.specializations.iter().chain(&s.capabilities).collect();
            ctx.out.line(format!(
                "      offers: {}",
                offers
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        ctx.out.line(format!(
            "Next: sessions collab request {} \"<what you need>\"",
            found[0].id
        ));
    }
    Ok(if found.is_empty() { 1 } else { 0 })
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
    let result = matching::rank(&hub.config, &view, &task);
    if ctx.json() {
        ctx.out.json(&result);
    } else {
        ctx.out.line(format!("Task: {task}"));
        ctx.out.line(format!(
            "Looking for: {}",
            if result.wanted.is_empty() {
                "(no known keywords; matching task words)".into()
            } else {
                result.wanted.join(", ")
            }
        ));
        if result.candidates.is_empty() {
            ctx.out.line(
                "No session matches; try `sessions find-help <capability>` or broadcast a request.",
            );
        }
        for (rank, c) in result.candidates.iter().enumerate() {
            ctx.out.line(format!(
                "{}. relevance {} ({})",
                rank + 1,
                c.relevance,
                c.matched.join(", ")
            ));
            render_session(ctx, &c.session);
        }
        if let Some(next) = &result.next {
            ctx.out.line(format!("Next: {next}"));
        }
    }
    Ok(if result.candidates.is_empty() { 1 } else { 0 })
}
