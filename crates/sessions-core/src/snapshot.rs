//! One pass over the hub: the data behind `sessions status` (quick-status). Later
//! features add their part here, so every view and `--json` agree.

use std::io::{Read, Seek, SeekFrom};

use serde::Serialize;

use crate::claims::{self, Claim};
use crate::error::{Error, Result};
use crate::hub::{Hub, layout};
use crate::milestones::{self, Milestone};
use crate::sessions::{self, Liveness, Registry, SyncView};
use crate::time::{self, Timestamp};
use crate::{current_state, storage};

#[derive(Debug, Clone, Serialize)]
pub struct ClaimStatus {
    #[serde(flatten)]
    pub claim: Claim,
    pub holder_liveness: Liveness,
    pub expired: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub hub: String,
    pub generated_at: String,
    pub sessions: SyncView,
    pub claims: Vec<ClaimStatus>,
    /// Open milestones only.
    pub milestones: Vec<Milestone>,
    pub current_priority: Option<String>,
    /// The last lines of MESSAGES.md.
    pub recent_messages: Vec<String>,
}

/// How many trailing board lines the status shows.
pub const RECENT_MESSAGE_LINES: usize = 10;

impl Snapshot {
    pub fn load(hub: &Hub) -> Result<Snapshot> {
        let now = time::now();
        let registry = Registry::load(hub)?;
        let heartbeats = sessions::load_heartbeats(hub)?;
        let sessions = sessions::sync_view(hub, &registry, &heartbeats, now);
        let claims = claims::list(hub)?
            .into_iter()
            .map(|claim| claim_status(&sessions, claim, now))
            .collect();
        let milestones = milestones::list(hub)?
            .into_iter()
            .filter(Milestone::is_open)
            .collect();
        let current_priority = storage::read_text(&hub.file(layout::CURRENT_STATE)?)?
            .and_then(|text| current_state::current_priority(&text));
        let recent_messages = tail_lines(hub, RECENT_MESSAGE_LINES)?;
        Ok(Snapshot {
            hub: hub.root().display().to_string(),
            generated_at: time::format(now),
            sessions,
            claims,
            milestones,
            current_priority,
            recent_messages,
        })
    }
}

fn claim_status(sessions: &SyncView, claim: Claim, now: Timestamp) -> ClaimStatus {
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

/// The last `n` non-empty lines of MESSAGES.md, reading only the file's tail so a
/// large board costs no more than a small one.
pub fn tail_lines(hub: &Hub, n: usize) -> Result<Vec<String>> {
    const TAIL_BYTES: u64 = 16 * 1024;
    let path = hub.file(layout::MESSAGES)?;
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
    let start = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start))
        .map_err(|e| Error::io(&path, e))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::io(&path, e))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<String> = text
        .lines()
        .skip(usize::from(start > 0)) // the first line may be cut
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let keep_from = lines.len().saturating_sub(n);
    Ok(lines.split_off(keep_from))
}
