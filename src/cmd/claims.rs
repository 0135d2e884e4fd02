//! Claims (leases): claim, renew, release, claims.

use std::time::Duration;

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sessions_core::work::claims::{self, Claim, ClaimView, Grant, Released};
use sessions_core::{Error, Result, store::time};

use crate::Ctx;
use crate::cmd::session::parse_duration;
use crate::output::{Output, Render, escape_untrusted as esc};

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
        Some(wait) => claim_waiting(ctx, &hub, &args.key, &me, args.ttl, wait)?,
        None => claims::claim(&hub, &args.key, &me, args.ttl)?,
    };
    ctx.emit(&grant)
}

/// `claim --wait`: on a terminal, a line on stderr says what it waits for (the key, its
/// holder and lease) and for how long, and a last line says when the wait ran out.
fn claim_waiting(
    ctx: &Ctx,
    hub: &sessions_core::Hub,
    key: &str,
    me: &str,
    ttl: Option<Duration>,
    wait: Duration,
) -> Result<Grant> {
    let held_by = claims::read(hub, key)
        .ok()
        .flatten()
        .filter(|c| c.holder != me)
        .map(|c| {
            let lease = claims::lease_end(hub, &c)
                .map(|end| {
                    format!(
                        ", lease ends in {}",
                        time::human_age((end - time::now()).num_seconds())
                    )
                })
                .unwrap_or_default();
            format!(" (held by {}{lease})", esc(&c.holder))
        })
        .unwrap_or_default();
    let what = format!("{}{held_by}", esc(key));
    let line = what.clone();
    let ticker = ctx.out.ticker(move |elapsed| {
        format!(
            "⏳ waiting for {line}: {} of {}",
            time::human_age(elapsed.as_secs() as i64),
            time::human_age(wait.as_secs() as i64)
        )
    });
    let result = claims::claim_wait(hub, key, me, ttl, wait);
    let ended = matches!(result, Err(Error::AlreadyClaimed { .. })).then(|| {
        format!(
            "⌛ waited {} for {}; the wait ran out",
            time::human_age(wait.as_secs() as i64),
            esc(key)
        )
    });
    ticker.finish(ended.as_deref());
    result
}

/// `claim` (and `milestone claim`): the grant, with its warnings.
impl Render for Grant {
    fn text(&self, out: &mut Output) {
        let verb = if self.already_held {
            "Renewed (already yours)"
        } else if self.took_over_from.is_some() {
            "Took over"
        } else {
            "Claimed"
        };
        out.line(format!(
            "{verb} {} for {}: token {}, expires {}",
            self.key, self.holder, self.token, self.expires_at
        ));
        if let Some(old) = &self.took_over_from {
            out.line(format!(
                "  previous holder {} (token {}) had let its lease end; recorded on the board",
                esc(&old.holder),
                old.token.map_or("none".to_string(), |t| t.to_string())
            ));
        }
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
}

#[derive(Debug, Args)]
#[command(after_help = "\
Without a key, renews every claim you hold (as `sessions heartbeat` does).

Examples:
  sessions --as s1 renew deploy-api --ttl 1h
  sessions --as s1 renew --all")]
pub struct RenewArgs {
    /// The claim key (default: all claims you hold).
    #[arg(conflicts_with = "all")]
    pub key: Option<String>,
    /// Renew every claim you hold (the same as giving no key).
    #[arg(long)]
    pub all: bool,
    /// New lease length from now (default: the claim's own, else the hub's `claims.ttl`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "key")]
    pub ttl: Option<Duration>,
}

pub fn renew(ctx: &mut Ctx, args: RenewArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let me = ctx.me()?;
    match args.key {
        Some(key) => ctx.emit(&RenewedOne(claims::renew(&hub, &key, &me, args.ttl)?)),
        None => {
            let renewed = claims::renew_held(&hub, &me)?;
            ctx.emit(&RenewedAll { renewed, me })
        }
    }
}

/// `renew KEY`: the renewed claim.
#[derive(Serialize, JsonSchema)]
#[serde(transparent)]
pub struct RenewedOne(pub Claim);

impl Render for RenewedOne {
    fn text(&self, out: &mut Output) {
        out.line(format!(
            "Renewed {}: token {}, expires {}",
            self.0.key,
            self.0.token.map_or("none".into(), |t| t.to_string()),
            self.0.expires_at.as_deref().unwrap_or("?")
        ));
    }
}

/// `renew` without a key: the keys renewed.
#[derive(Serialize, JsonSchema)]
pub struct RenewedAll {
    pub renewed: Vec<String>,
    #[serde(skip)]
    pub me: String,
}

impl Render for RenewedAll {
    fn text(&self, out: &mut Output) {
        if self.renewed.is_empty() {
            out.line(format!("{} holds no claims.", self.me));
        } else {
            out.line(format!("Renewed {}", self.renewed.join(", ")));
        }
    }
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
    ctx.emit(&ReleasedClaims { released, me })
}

/// `release`: the claims released.
#[derive(Serialize, JsonSchema)]
pub struct ReleasedClaims {
    pub released: Vec<Released>,
    #[serde(skip)]
    pub me: String,
}

impl Render for ReleasedClaims {
    fn text(&self, out: &mut Output) {
        if self.released.is_empty() {
            out.line(format!("{} held no claims.", self.me));
        }
        for r in &self.released {
            let forced = if r.forced {
                format!(" (forced; held by {})", esc(&r.holder))
            } else {
                String::new()
            };
            out.line(format!("Released {}{forced}", r.key));
        }
    }
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
    ctx.emit(&ClaimList {
        generated_at: time::format(now),
        claims: views,
    })
}

/// `claims`: every claim with its holder's liveness.
#[derive(Serialize, JsonSchema)]
pub struct ClaimList {
    pub generated_at: String,
    pub claims: Vec<ClaimView>,
}

impl Render for ClaimList {
    fn text(&self, out: &mut Output) {
        if self.claims.is_empty() {
            out.line("Nothing claimed.");
        }
        for v in &self.claims {
            out.line(render_view(out, v));
        }
    }
}

pub fn render_view(out: &Output, v: &ClaimView) -> String {
    let left = match v.secs_left {
        Some(s) if s >= 0 => format!("{} left", time::human_age(s)),
        Some(s) => out.red(&format!("expired {} ago", time::human_age(-s))),
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
            out.red(&format!(
                " · OVERWRITTEN: granted to {from}, replaced by an old script's lock"
            ))
        })
        .unwrap_or_default();
    format!(
        "🔒 {:<30} {} ({}) · {token} · {age} · {left}{takeover}{overwritten}",
        v.claim.key,
        esc(&v.claim.holder),
        v.holder_liveness.as_str()
    )
}
