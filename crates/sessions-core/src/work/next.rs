//! `sessions next`: what auto-consciousness.sh did, safely. Load the state (current
//! priority), check the fleet's health (live sessions, claims nobody renews, the claims
//! I hold), find the highest-priority unblocked work nobody holds and, when asked, claim
//! it through the normal claim (exactly one of several racing sessions gets each item;
//! a lost race moves on to the next item).

use serde::Serialize;

use crate::sessions::registry::{self, Liveness, Registry};
use crate::store::error::{Error, Result};
use crate::store::hub::{Hub, layout};
use crate::store::storage;
use crate::store::time::Timestamp;
use crate::work::claims::{self, Grant};
use crate::work::current_state;
use crate::work::milestones::{self, ReadyItem};

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Health {
    pub live_sessions: usize,
    pub stale_sessions: usize,
    pub claims: usize,
    /// Claims whose holder is no longer live (they can be taken over once expired).
    pub claims_of_absent_holders: Vec<String>,
}

/// The item `next --claim` took, with its claim.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ClaimedItem {
    pub item: ReadyItem,
    pub claim: Grant,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Next {
    pub session: String,
    pub current_priority: Option<String>,
    pub health: Health,
    /// The claims this session already holds (it should finish those first).
    pub holding: Vec<String>,
    /// The free work, highest priority first.
    pub ready: Vec<ReadyItem>,
    /// What was claimed (with `claim`), and its grant.
    pub claimed: Option<ClaimedItem>,
    /// Items another session took between our look and our claim.
    pub lost_races: Vec<String>,
}

/// Look (and with `claim`, take the best free item). When this session already holds
/// work, nothing new is claimed: finishing it comes first.
pub fn next(hub: &Hub, me: &str, now: Timestamp, claim: bool) -> Result<Next> {
    let current_priority = storage::read_text(&hub.file(layout::CURRENT_STATE)?)?
        .and_then(|t| current_state::current_priority(&t))
        .map(|p| current_state::priority_headline(&p));
    let registry = Registry::load(hub)?;
    let heartbeats = registry::load_heartbeats(hub)?;
    let view = registry::sync_view(hub, &registry, &heartbeats, now);
    let all_claims = claims::list(hub)?;
    let absent = all_claims
        .iter()
        .filter(|c| claims::holder_liveness(hub, &c.holder, now) != Liveness::Live)
        .map(|c| format!("{} ({})", c.key, c.holder))
        .collect();
    let health = Health {
        live_sessions: view.counts.live,
        stale_sessions: view.counts.stale,
        claims: all_claims.len(),
        claims_of_absent_holders: absent,
    };
    let holding: Vec<String> = all_claims
        .iter()
        .filter(|c| c.holder == me)
        .map(|c| c.key.clone())
        .collect();
    let ready = milestones::ready(hub, now)?.items;
    let mut out = Next {
        session: me.to_string(),
        current_priority,
        health,
        holding,
        ready,
        claimed: None,
        lost_races: Vec::new(),
    };
    if !claim || !out.holding.is_empty() {
        return Ok(out);
    }
    for item in &out.ready {
        let taken = if item.kind == "milestone" {
            milestones::claim(hub, &item.id, me, None).map(|c| c.claim)
        } else {
            claims::claim(hub, &item.key, me, None)
        };
        match taken {
            Ok(grant) => {
                out.claimed = Some(ClaimedItem {
                    item: item.clone(),
                    claim: grant,
                });
                break;
            }
            Err(Error::AlreadyClaimed { .. }) | Err(Error::Refused(_)) => {
                out.lost_races.push(item.key.clone());
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
