//! File reservations: reserve, reservations, unreserve.

use std::time::Duration;

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sessions_core::work::claims::{Grant, Released};
use sessions_core::work::reservations::{self, Mode, Reservation};
use sessions_core::{Error, Result, store::time};

use crate::Ctx;
use crate::cmd::session::parse_duration;
use crate::output::{Output, Render};

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
    let granted = grants
        .into_iter()
        .zip(patterns)
        .map(|(grant, pattern)| Reserved {
            pattern,
            mode,
            grant,
        })
        .collect();
    ctx.emit(&ReserveDone {
        holder: me,
        granted,
    })
}

/// One path reserved: the pattern as stored, its mode and the claim granted for it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Reserved {
    pub pattern: String,
    pub mode: Mode,
    pub grant: Grant,
}

/// `reserve`: one entry per path, in the order given.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct ReserveDone {
    #[serde(skip)]
    holder: String,
    granted: Vec<Reserved>,
}

impl Render for ReserveDone {
    fn text(&self, out: &mut Output) {
        for r in &self.granted {
            let g = &r.grant;
            let verb = if g.already_held {
                "Renewed"
            } else if g.took_over_from.is_some() {
                "Took over"
            } else {
                "Reserved"
            };
            out.line(format!(
                "{verb} {} ({}) for {}: {}, token {}, expires {}",
                r.pattern,
                r.mode.as_str(),
                self.holder,
                g.key,
                g.token,
                g.expires_at
            ));
        }
    }

    fn warnings(&self) -> Vec<String> {
        self.granted
            .iter()
            .flat_map(|r| r.grant.warnings.iter().cloned())
            .collect()
    }
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
    ctx.emit(&ReservationList(all))
}

/// `reservations`: every reservation, expired ones included (`active: false`).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct ReservationList(pub Vec<Reservation>);

impl Render for ReservationList {
    fn text(&self, out: &mut Output) {
        if self.0.is_empty() {
            out.line("No reservations.");
        }
        for r in &self.0 {
            let state = if r.active { "" } else { " [expired]" };
            out.line(format!("{}  {}{state}", r.holder, r.describe()));
        }
    }
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
    ctx.emit(&Unreserved {
        holder: me,
        released,
    })
}

/// `unreserve`: the reservations released.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Unreserved {
    #[serde(skip)]
    holder: String,
    released: Vec<Released>,
}

impl Render for Unreserved {
    fn text(&self, out: &mut Output) {
        if self.released.is_empty() {
            out.line(format!("{} holds no reservations.", self.holder));
        }
        for r in &self.released {
            out.line(format!("Released {} (held by {})", r.key, r.holder));
        }
    }
}
