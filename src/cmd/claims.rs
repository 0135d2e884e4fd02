//! Claims (leases): claim, renew, release, claims.

use std::time::Duration;

use clap::Args;
use sessions_core::work::claims::{self, ClaimView, Grant};
use sessions_core::{Result, store::time};

use crate::Ctx;
use crate::cmd::session::parse_duration;

#[derive(Debug, Args)]
#[command(after_help = "\
Claims are advisory leases, not a mutex: they tell other sessions what you work on.
The lease (default 30m, `claims.ttl` in sessions.toml) is renewed by `sessions heartbeat`.
A claim can be taken over only after its lease plus a grace period (>= 15s) has passed
and its holder's heartbeat is no longer live; the takeover is posted on the board.
Exit code 1 when the key is already claimed (the error names the holder).

Examples:
  sessions --as s1 claim priority-3
  sessions --as s1 claim deploy-api --ttl 2h
  sessions --as s2 claim deploy-api --wait 5m      # wait for s1 to release it
  sessions --as s1 --json claim deploy-api | jq .token")]
pub struct ClaimArgs {
    /// The claim key (file `PRIORITIES/<key>.lock`): `milestone-<id>`, `priority-<n>`, or any name.
    pub key: String,
    /// Lease length (default: the hub's `claims.ttl`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub ttl: Option<Duration>,
    /// Wait up to this long for the key to become free instead of failing.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub wait: Option<Duration>,
}

pub fn claim(ctx: &mut Ctx, args: ClaimArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let me = ctx.me()?;
    let grant = match args.wait {
        Some(wait) => claims::claim_wait(&hub, &args.key, &me, args.ttl, wait)?,
        None => claims::claim(&hub, &args.key, &me, args.ttl)?,
    };
    render_grant(ctx, &grant);
    Ok(0)
}

pub fn render_grant(ctx: &mut Ctx, grant: &Grant) {
    for w in &grant.warnings {
        eprintln!("sessions: warning: {w}");
    }
    if ctx.json() {
        ctx.out.json(grant);
        return;
    }
    let verb = if grant.already_held {
        "Renewed (already yours)"
    } else if grant.took_over_from.is_some() {
        "Took over"
    } else {
        "Claimed"
    };
    ctx.out.line(format!(
        "{verb} {} for {}: token {}, expires {}",
        grant.key, grant.holder, grant.token, grant.expires_at
    ));
    if let Some(old) = &grant.took_over_from {
        ctx.out.line(format!(
            "  previous holder {} (token {}) had let its lease end; recorded on the board",
            old.holder,
            old.token.map_or("none".to_string(), |t| t.to_string())
        ));
    }
}

#[derive(Debug, Args)]
#[command(after_help = "\
Without a key, renews every claim you hold (as `sessions heartbeat` does).

Examples:
  sessions --as s1 renew deploy-api
  sessions --as s1 renew --ttl 1h")]
pub struct RenewArgs {
    /// The claim key (default: all claims you hold).
    pub key: Option<String>,
    /// New lease length from now (default: the claim's own, else the hub's `claims.ttl`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "key")]
    pub ttl: Option<Duration>,
}

pub fn renew(ctx: &mut Ctx, args: RenewArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let me = ctx.me()?;
    match args.key {
        Some(key) => {
            let claim = claims::renew(&hub, &key, &me, args.ttl)?;
            if ctx.json() {
                ctx.out.json(&claim);
            } else {
                ctx.out.line(format!(
                    "Renewed {key}: token {}, expires {}",
                    claim.token.map_or("none".into(), |t| t.to_string()),
                    claim.expires_at.as_deref().unwrap_or("?")
                ));
            }
        }
        None => {
            let renewed = claims::renew_held(&hub, &me)?;
            if ctx.json() {
                ctx.out.json(&serde_json::json!({ "renewed": renewed }));
            } else if renewed.is_empty() {
                ctx.out.line(format!("{me} holds no claims."));
            } else {
                ctx.out.line(format!("Renewed {}", renewed.join(", ")));
            }
        }
    }
    Ok(0)
}

#[derive(Debug, Args)]
#[command(after_help = "\
Only the holder can release a claim; --force (with --reason, posted on the board)
releases someone else's, or removes a damaged lock file.

Examples:
  sessions --as s1 release deploy-api
  sessions --as s1 release --all                   # a session that ends
  sessions --as s2 release deploy-api --force --reason \"s1 crashed; confirmed with the user\"")]
pub struct ReleaseArgs {
    /// The claim key.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub key: Option<String>,
    /// Release every claim you hold.
    #[arg(long)]
    pub all: bool,
    /// Release a claim you do not hold (needs --reason).
    #[arg(long, requires = "reason", conflicts_with = "all")]
    pub force: bool,
    /// Why you force the release (posted on the board).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

pub fn release(ctx: &mut Ctx, args: ReleaseArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let me = ctx.me()?;
    let released = if args.all {
        claims::release_all(&hub, &me)?
    } else {
        let key = args.key.expect("clap requires a key without --all");
        let reason = args.force.then_some(args.reason.as_deref()).flatten();
        vec![claims::release(&hub, &key, &me, reason)?]
    };
    if ctx.json() {
        ctx.out.json(&serde_json::json!({ "released": released }));
    } else if released.is_empty() {
        ctx.out.line(format!("{me} held no claims."));
    } else {
        for r in &released {
            let forced = if r.forced {
                format!(" (forced; held by {})", r.holder)
            } else {
                String::new()
            };
            ctx.out.line(format!("Released {}{forced}", r.key));
        }
    }
    Ok(0)
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  sessions claims
  sessions claims --json | jq '.claims[] | select(.takeover_possible)'")]
pub struct ClaimsArgs {
    /// Only the claims of this session.
    #[arg(long, value_name = "ID")]
    pub holder: Option<String>,
}

pub fn list(ctx: &mut Ctx, args: ClaimsArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let now = time::now();
    let views: Vec<ClaimView> = claims::views(&hub, now)?
        .into_iter()
        .filter(|v| args.holder.as_ref().is_none_or(|h| *h == v.claim.holder))
        .collect();
    if ctx.json() {
        ctx.out
            .json(&serde_json::json!({ "generated_at": time::format(now), "claims": views }));
        return Ok(0);
    }
    if views.is_empty() {
        ctx.out.line("Nothing claimed.");
    }
    for v in &views {
        ctx.out.line(render_view(ctx, v));
    }
    Ok(0)
}

pub fn render_view(ctx: &Ctx, v: &ClaimView) -> String {
    let left = match v.secs_left {
        Some(s) if s >= 0 => format!("{} left", time::human_age(s)),
        Some(s) => ctx.out.red(&format!("expired {} ago", time::human_age(-s))),
        None => "no expiry".into(),
    };
    let age = v
        .age_secs
        .map_or("?".into(), |a| format!("{} old", time::human_age(a)));
    let token = v
        .claim
        .token
        .map_or("no token (old format)".into(), |t| format!("token {t}"));
    let takeover = if v.takeover_possible {
        " · can be taken over"
    } else {
        ""
    };
    let overwritten = v
        .overwritten_from
        .as_ref()
        .map(|from| {
            ctx.out.red(&format!(
                " · OVERWRITTEN: granted to {from}, replaced by an old script's lock"
            ))
        })
        .unwrap_or_default();
    format!(
        "🔒 {:<30} {} ({}) · {token} · {age} · {left}{takeover}{overwritten}",
        v.claim.key,
        v.claim.holder,
        v.holder_liveness.as_str()
    )
}
