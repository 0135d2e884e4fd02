//! Goal agreements: `ACTIVE/GOAL_AGREEMENTS/<session>.json`, one file per session, in the
//! shape session-agree-goal.sh wrote, so old and new sessions count the same files.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::json;

use crate::board::messages::{self, Post};
use crate::store::error::Result;
use crate::store::hub::Hub;
use crate::store::record::{self, Record};
use crate::store::time::{self, Timestamp};
use crate::{store::ids, store::storage};

/// Where the agreements live (the original's folder).
pub const GOAL_AGREEMENTS: &str = "ACTIVE/GOAL_AGREEMENTS";

/// The goal named when neither the caller nor an earlier agreement names one.
pub const DEFAULT_GOAL: &str = "the shared goal (SHARED_GOAL.md)";

/// One session's agreement.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Agreement {
    pub session_id: String,
    pub goal: String,
    pub comment: Option<String>,
    pub time: Option<String>,
    #[serde(skip)]
    pub at: Option<Timestamp>,
    pub path: PathBuf,
}

/// Every agreement, oldest first. A file that does not parse is an error naming it.
pub fn list(hub: &Hub) -> Result<Vec<Agreement>> {
    let mut out = Vec::new();
    for path in hub.list(GOAL_AGREEMENTS, ".json")? {
        let Some(text) = storage::read_text(&path)? else {
            continue;
        };
        let r = storage::parse_json_object(&path, &text)?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(Agreement {
            session_id: record::text(&r, &["session_id"])
                .unwrap_or(&stem)
                .to_string(),
            goal: record::text(&r, &["goal"]).unwrap_or_default().to_string(),
            comment: record::text(&r, &["comment"]).map(str::to_string),
            time: record::text(&r, &["timestamp"]).map(str::to_string),
            at: record::timestamp(&r, &["timestamp"]),
            path,
        });
    }
    out.sort_by_key(|a| (a.at, a.session_id.clone()));
    Ok(out)
}

/// Record that `me` agrees to `goal` (default: the goal the earlier agreements name, else
/// [`DEFAULT_GOAL`]) and say so on the board. Agreeing again replaces one's own file.
pub fn agree(hub: &Hub, me: &str, goal: Option<&str>, comment: Option<&str>) -> Result<Agreement> {
    ids::validate("session ID", me)?;
    if let Some(c) = comment {
        hub.check_secrets("the comment", c)?;
    }
    if let Some(g) = goal {
        hub.check_secrets("the goal", g)?;
    }
    let goal = match goal {
        Some(g) => g.to_string(),
        None => list(hub)?
            .into_iter()
            .rev()
            .map(|a| a.goal)
            .find(|g| !g.is_empty())
            .unwrap_or_else(|| DEFAULT_GOAL.to_string()),
    };
    let now = time::format(time::now());
    let mut r = Record::new();
    r.insert("session_id".into(), json!(me));
    r.insert("goal".into(), json!(goal));
    r.insert("agreed".into(), json!(true));
    if let Some(c) = comment {
        r.insert("comment".into(), json!(c));
    }
    r.insert("timestamp".into(), json!(now));
    let dir = hub.dir(GOAL_AGREEMENTS)?;
    storage::ensure_dir(&dir)?;
    let path = dir.join(format!("{me}.json"));
    hub.ensure_inside(&path)?;
    storage::write_atomic(&path, &storage::json_bytes(&r))?;
    let mut body = format!("{me} has agreed to the goal: {goal}.");
    if let Some(c) = comment {
        body.push_str(&format!("\n\n**Comment:** {c}"));
    }
    messages::post(
        hub,
        &Post {
            from: me.to_string(),
            subject: Some(format!("✅ GOAL AGREEMENT: {me}")),
            body,
            ..Post::default()
        },
    )?;
    Ok(Agreement {
        session_id: me.to_string(),
        goal,
        comment: comment.map(str::to_string),
        time: Some(now),
        at: Some(time::now()),
        path,
    })
}
