//! One pass over the hub: the data behind `sessions status` (quick-status). Later
//! features add their part here, so every view and `--json` agree.

use serde::Serialize;

use crate::sessions::registry::{self, Liveness, Registry, SyncView};
use crate::store::error::Result;
use crate::store::hub::{Hub, layout};
use crate::store::scan::Problem;
use crate::store::time::{self, Timestamp};
use crate::work::claims::{self, Claim};
use crate::work::milestones::{self, Milestone};
use crate::{board::messages, store::storage, work::current_state};

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ClaimStatus {
    #[serde(flatten)]
    pub claim: Claim,
    pub holder_liveness: Liveness,
    pub expired: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Snapshot {
    pub hub: String,
    pub generated_at: String,
    pub sessions: SyncView,
    pub claims: Vec<ClaimStatus>,
    /// Open milestones only.
    pub milestones: Vec<Milestone>,
    pub current_priority: Option<String>,
    /// The latest messages on MESSAGES.md (parsed from the board's tail only).
    pub recent_messages: Vec<messages::Summary>,
    /// How many unread messages "me" has, when the snapshot was taken for a session.
    pub unread_messages: Option<usize>,
    /// Files left out because they do not parse (a claim or milestone being edited by
    /// hand, an old script's file). Heartbeats and the registry are never guessed
    /// around: one that does not parse fails the snapshot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Problem>,
}

/// How many of the latest messages the status shows.
pub const RECENT_MESSAGES: usize = 5;

impl Snapshot {
    /// Read the hub once. With `me`, the snapshot also counts that session's unread
    /// messages.
    pub fn load(hub: &Hub, me: Option<&str>) -> Result<Snapshot> {
        let now = time::now();
        // The two halves read disjoint files; on a large hub each costs about as much
        // as the other, so reading them on two threads halves the wait.
        let (sessions, rest) = std::thread::scope(|scope| {
            let rest = scope.spawn(|| -> Result<_> {
                let claims = claims::scan(hub)?;
                let milestones = milestones::scan(hub)?;
                let mut warnings = claims.problems;
                warnings.extend(milestones.problems);
                let claims = claims.items;
                let milestones: Vec<Milestone> = milestones
                    .items
                    .into_iter()
                    .filter(Milestone::is_open)
                    .collect();
                let current_priority = storage::read_text(&hub.file(layout::CURRENT_STATE)?)?
                    .and_then(|text| current_state::current_priority(&text));
                let recent_messages = messages::recent(hub, RECENT_MESSAGES)?;
                Ok((
                    claims,
                    milestones,
                    current_priority,
                    recent_messages,
                    warnings,
                ))
            });
            let sessions = (|| -> Result<SyncView> {
                let registry = Registry::load(hub)?;
                let heartbeats = registry::load_heartbeats(hub)?;
                Ok(registry::sync_view(hub, &registry, &heartbeats, now))
            })();
            (
                sessions,
                rest.join().expect("the snapshot reader does not panic"),
            )
        });
        let sessions = sessions?;
        let (claims, milestones, current_priority, recent_messages, warnings) = rest?;
        let claims = claims
            .into_iter()
            .map(|claim| claim_status(&sessions, claim, now))
            .collect();
        let unread_messages = match me {
            Some(me) => Some(messages::unread_count(hub, me)?),
            None => None,
        };
        Ok(Snapshot {
            hub: hub.root().display().to_string(),
            generated_at: time::format(now),
            sessions,
            claims,
            milestones,
            current_priority,
            recent_messages,
            unread_messages,
            warnings,
        })
    }
}

/// A claim with its holder's liveness (from `sessions`) and whether it has expired.
pub fn claim_status(sessions: &SyncView, claim: Claim, now: Timestamp) -> ClaimStatus {
    let holder_liveness = sessions
        .sessions
        .iter()
        .find(|s| s.id == claim.holder)
        .map_or(Liveness::Unknown, |s| s.liveness);
    let expired = claim.expires().is_some_and(|e| e < now);
    ClaimStatus {
        claim,
        holder_liveness,
        expired,
    }
}
