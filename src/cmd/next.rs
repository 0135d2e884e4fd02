//! `sessions next [--claim]`: the safe auto-consciousness.sh.

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sessions_core::Result;
use sessions_core::store::error::exit;
use sessions_core::store::time;
use sessions_core::work::next::{self, Next};

use crate::Ctx;
use crate::output::{Output, Render, escape_untrusted as esc};

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
    let next = next::next(&hub, &me, time::now(), args.claim)?;
    ctx.emit(&NextShown {
        next,
        claim: args.claim,
    })
}

/// `next`: state, health, the free work and what was claimed.
#[derive(Serialize, JsonSchema)]
pub struct NextShown {
    #[serde(flatten)]
    pub next: Next,
    #[serde(skip)]
    pub claim: bool,
}

impl NextShown {
    fn found(&self) -> bool {
        let n = &self.next;
        !n.holding.is_empty() || n.claimed.is_some() || (!self.claim && !n.ready.is_empty())
    }
}

impl Render for NextShown {
    fn exit_code(&self) -> u8 {
        if self.found() {
            exit::OK
        } else {
            exit::FAILURE
        }
    }

    fn text(&self, out: &mut Output) {
        let n = &self.next;
        out.line(format!(
            "Current priority: {}",
            esc(n
                .current_priority
                .as_deref()
                .unwrap_or("(none in CURRENT_STATE.md)"))
        ));
        let absent = &n.health.claims_of_absent_holders;
        out.line(format!(
            "Health: {} live session(s), {} stale; {} claim(s){}",
            n.health.live_sessions,
            n.health.stale_sessions,
            n.health.claims,
            if absent.is_empty() {
                String::new()
            } else {
                format!(
                    ", held by sessions that are not live: {}",
                    esc(&absent.join(", "))
                )
            }
        ));
        if !n.holding.is_empty() {
            out.line(format!(
                "You already hold {}: finish (or release) that first.",
                esc(&n.holding.join(", "))
            ));
        } else if let Some(c) = &n.claimed {
            out.line(format!(
                "Claimed {} ({} {}, token {}): {}",
                esc(&c.item.key),
                c.item.priority,
                c.item.kind,
                c.claim.token,
                esc(&c.item.title)
            ));
        } else if let Some(best) = n.ready.first().filter(|_| !self.claim) {
            out.line(format!(
                "Next: {} ({} {}) {}  → sessions next --claim",
                esc(&best.key),
                best.priority,
                best.kind,
                esc(&best.title)
            ));
        } else {
            out.line("Nothing is free: every open item is claimed or blocked.");
        }
        if !n.lost_races.is_empty() {
            out.line(format!(
                "Taken by others while we looked: {}",
                esc(&n.lost_races.join(", "))
            ));
        }
    }
}
