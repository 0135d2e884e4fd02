//! Claims (leases) in `PRIORITIES/<key>.lock`: reading them, old and new formats.

use std::path::PathBuf;

use serde::Serialize;

use crate::error::Result;
use crate::hub::{Hub, layout};
use crate::record::{self, Record};
use crate::storage;
use crate::time::{self, Timestamp};

/// One lock file, read tolerantly. Files of the original scripts have only
/// `{milestone_id|priority_id, session_id, claimed_at, type}`: they count as claims
/// with the default lease from `claimed_at`.
#[derive(Debug, Clone, Serialize)]
pub struct Claim {
    pub key: String,
    pub holder: String,
    pub claimed_at: Option<String>,
    pub expires_at: Option<String>,
    pub token: Option<u64>,
    pub kind: Option<String>,
    #[serde(skip)]
    pub path: PathBuf,
    #[serde(skip)]
    pub record: Record,
}

impl Claim {
    pub fn from_record(hub: &Hub, key: &str, path: PathBuf, record: Record) -> Claim {
        let claimed = record::timestamp(&record, &["claimed_at", "timestamp"]);
        let expires = record::timestamp(&record, &["expires_at"]).or_else(|| {
            claimed
                .map(|c| c + chrono::Duration::from_std(hub.config.claims.ttl).unwrap_or_default())
        });
        Claim {
            key: key.to_string(),
            holder: record::text(&record, &["session_id", "holder", "claimed_by", "owner"])
                .unwrap_or("unknown")
                .to_string(),
            claimed_at: claimed.map(time::format),
            expires_at: expires.map(time::format),
            token: record.get("token").and_then(serde_json::Value::as_u64),
            kind: record::text(&record, &["type"]).map(str::to_string),
            path,
            record,
        }
    }

    pub fn expires(&self) -> Option<Timestamp> {
        self.expires_at.as_deref().and_then(time::parse_str)
    }
}

/// Every claim in `PRIORITIES/`, sorted by key.
pub fn list(hub: &Hub) -> Result<Vec<Claim>> {
    let mut out = Vec::new();
    for path in hub.list(layout::PRIORITIES, ".lock")? {
        let Some(text) = storage::read_text(&path)? else {
            continue; // released while we listed
        };
        let record = storage::parse_json_object(&path, &text)?;
        let key = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(Claim::from_record(hub, &key, path, record));
    }
    Ok(out)
}
