//! `sessions next [--claim]`: the safe auto-consciousness.sh.

use clap::Args;
use serde_json::json;
use sessions_core::Result;
use sessions_core::store::time;
use sessions_core::work::next;

use crate::Ctx;

#[derive(Debug, Args)]
#[command(after_help = "\
Exit 0 when there is work for you (claimed, or free with no --claim, or already held),
1 when nothing is free.

Example:
  sessions --as s2 next            # what would I do next?
  sessions --as s2 next --claim    # ... and claim it (races lose cleanly to the next item)")]
pub struct NextArgs {
    /// Claim the best free item (not when you already hold work).
    #[arg(long)]
    pub claim: bool,
}

pub fn run(ctx: &mut Ctx, args: NextArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let me = ctx.me()?;
    let n = next::next(&hub, &me, time::now(), args.claim)?;
    let found =
        !n.holding.is_empty() || n.claimed.is_some() || (!args.claim && !n.ready.is_empty());
    if ctx.json() {
        ctx.out.json(&json!({
            "session": n.session,
            "current_priority": n.current_priority,
            "health": n.health,
            "holding": n.holding,
            "ready": n.ready,
            "claimed": n.claimed.as_ref().map(|(item, grant)| json!({"item": item, "claim": grant})),
            "lost_races": n.lost_races,
        }));
        return Ok(if found { 0 } else { 1 });
    }
    ctx.out.line(format!(
        "Current priority: {}",
        n.current_priority
            .as_deref()
            .unwrap_or("(none in CURRENT_STATE.md)")
    ));
    ctx.out.line(format!(
        "Health: {} live session(s), {} stale; {} claim(s){}",
        n.health.live_sessions,
        n.health.stale_sessions,
        n.health.claims,
        if n.health.claims_of_absent_holders.is_empty() {
            String::new()
        } else {
            format!(
                ", held by sessions that are not live: {}",
                n.health.claims_of_absent_holders.join(", ")
            )
        }
    ));
    if !n.holding.is_empty() {
        ctx.out.line(format!(
            "You already hold {}: finish (or release) that first.",
            n.holding.join(", ")
        ));
    } else if let Some((item, grant)) = &n.claimed {
        ctx.out.line(format!(
            "Claimed {} ({} {}, token {}): {}",
            item.key, item.priority, item.kind, grant.token, item.title
        ));
    } else if let Some(best) = n.ready.first().filter(|_| !args.claim) {
        ctx.out.line(format!(
            "Next: {} ({} {}) {}  → sessions next --claim",
            best.key, best.priority, best.kind, best.title
        ));
    } else {
        ctx.out
            .line("Nothing is free: every open item is claimed or blocked.");
    }
    if !n.lost_races.is_empty() {
        ctx.out.line(format!(
            "Taken by others while we looked: {}",
            n.lost_races.join(", ")
        ));
    }
    Ok(if found { 0 } else { 1 })
}
