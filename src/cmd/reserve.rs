//! File reservations: reserve, reservations, unreserve.

use std::time::Duration;

use clap::Args;
use sessions_core::work::reservations::{self, Mode};
use sessions_core::{Error, Result, store::time};

use crate::Ctx;
use crate::cmd::session::parse_duration;

#[derive(Debug, Args)]
#[command(after_help = "\
A reservation is a claim on paths (relative to the repository root: the folder that holds
SESSIONS/). Globs: `*` and `?` within one folder, `**` across folders; a folder means all
of it. Overlaps are found both ways (`src/**` and `src/api/x.rs`). With hooks installed
(`sessions hooks install claude`), an agent's edit of a path another live session reserved
is denied. Leases, renewal by heartbeats, fencing tokens and takeovers are the claims'.
Exit code 1 when another session holds an overlapping reservation (the error names it).

Examples:
  sessions --as s1 reserve 'src/api/**' --reason \"reworking the API\"
  sessions --as s2 reserve docs/ README.md --shared --ttl 2h
  sessions --as s1 --json reserve src/lib.rs | jq '.[0].token'")]
pub struct ReserveArgs {
    /// Paths or globs, relative to the current folder or absolute.
    #[arg(required = true, value_name = "PATH|GLOB")]
    pub paths: Vec<String>,
    /// Lease length (default: the hub's `claims.ttl`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub ttl: Option<Duration>,
    /// Nobody else may reserve an overlapping path (the default).
    #[arg(long, conflicts_with = "shared")]
    pub exclusive: bool,
    /// Others may hold overlapping shared reservations too (no exclusive one).
    #[arg(long)]
    pub shared: bool,
    /// Why (shown to sessions whose edits it stops).
    #[arg(long)]
    pub reason: Option<String>,
}

fn normalized(hub: &sessions_core::Hub, paths: &[String]) -> Result<Vec<String>> {
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    paths
        .iter()
        .map(|p| reservations::normalize(hub, &cwd, p))
        .collect()
}

pub fn reserve(ctx: &mut Ctx, args: ReserveArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let me = ctx.me()?;
    let patterns = normalized(&hub, &args.paths)?;
    let mode = if args.shared {
        Mode::Shared
    } else {
        Mode::Exclusive
    };
    let grants =
        reservations::reserve(&hub, &me, &patterns, mode, args.ttl, args.reason.as_deref())?;
    if ctx.out.is_json() {
        let out: Vec<_> = grants
            .iter()
            .zip(&patterns)
            .map(|(g, p)| serde_json::json!({ "pattern": p, "mode": mode.as_str(), "grant": g }))
            .collect();
        ctx.out.json_document(&out)?;
        return Ok(0);
    }
    for (g, p) in grants.iter().zip(&patterns) {
        for w in &g.warnings {
            eprintln!("sessions: warning: {w}");
        }
        let verb = if g.already_held {
            "Renewed"
        } else if g.took_over_from.is_some() {
            "Took over"
        } else {
            "Reserved"
        };
        ctx.out.line(format!(
            "{verb} {p} ({}) for {me}: {}, token {}, expires {}",
            mode.as_str(),
            g.key,
            g.token,
            g.expires_at
        ));
    }
    Ok(0)
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  sessions reservations
  sessions reservations --json | jq '.[] | select(.active) | .pattern'")]
pub struct ReservationsArgs {}

pub fn list(ctx: &mut Ctx, _args: ReservationsArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let all = reservations::list(&hub, time::now())?;
    if ctx.out.is_json() {
        ctx.out.json_document(&all)?;
        return Ok(0);
    }
    if all.is_empty() {
        ctx.out.line("No reservations.");
    }
    for r in &all {
        let state = if r.active { "" } else { " [expired]" };
        ctx.out
            .line(format!("{}  {}{state}", r.holder, r.describe()));
    }
    Ok(0)
}

#[derive(Debug, Args)]
#[command(after_help = "\
Without paths, releases every reservation you hold.

Examples:
  sessions --as s1 unreserve 'src/api/**'
  sessions --as s1 unreserve
  sessions --as s2 unreserve 'src/**' --force --reason \"s1 crashed\"")]
pub struct UnreserveArgs {
    /// The reserved paths or globs (as reserved; default: all of yours).
    #[arg(value_name = "PATH|GLOB")]
    pub paths: Vec<String>,
    /// Release someone else's reservation (posted on the board); needs --reason.
    #[arg(long, requires = "reason", requires = "paths")]
    pub force: bool,
    /// Why, for --force.
    #[arg(long)]
    pub reason: Option<String>,
}

pub fn unreserve(ctx: &mut Ctx, args: UnreserveArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let me = ctx.me()?;
    let patterns = normalized(&hub, &args.paths)?;
    let force = args.force.then_some(args.reason.as_deref().unwrap_or(""));
    let released = reservations::unreserve(&hub, &me, &patterns, force)?;
    if ctx.out.is_json() {
        ctx.out.json_document(&released)?;
    } else if released.is_empty() {
        ctx.out.line(format!("{me} holds no reservations."));
    } else {
        for r in &released {
            ctx.out
                .line(format!("Released {} (held by {})", r.key, r.holder));
        }
    }
    Ok(0)
}
