//! Acknowledgements: `ACTIVE/ACKS/<message-id>/<session>.json`, one file per ack.

use serde::Serialize;

use crate::board::post::*;
use crate::board::read::*;
use crate::store::error::Result;
use crate::store::hub::Hub;
use crate::store::time;
use crate::{store::ids, store::storage};

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Ack {
    pub message_id: String,
    pub session_id: String,
    pub acked_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Acknowledge a message: `ACTIVE/ACKS/<message-id>/<session>.json`, created once.
/// Returns the ack and whether it is new.
pub fn ack(hub: &Hub, id: &str, by: &str, note: Option<&str>) -> Result<(Ack, bool)> {
    ids::validate("session ID", by)?;
    let all = load(hub)?;
    let msg = find(&all, id)?;
    if let Some(note) = note {
        hub.check_secrets("the ack note", note)?;
    }
    let dir = hub.dir(&format!("{ACKS}/{}", msg.id))?;
    storage::ensure_dir(&dir)?;
    let path = dir.join(format!("{by}.json"));
    let ack = Ack {
        message_id: msg.id.clone(),
        session_id: by.to_string(),
        acked_at: time::format(time::now()),
        note: note.map(str::to_string),
    };
    if storage::create_exclusive(&path, &storage::json_bytes(&ack))? {
        Ok((ack, true))
    } else {
        let existing = acks(hub, &msg.id)?
            .into_iter()
            .find(|a| a.session_id == by)
            .unwrap_or(ack);
        Ok((existing, false))
    }
}

/// Who acknowledged message `id`, oldest first.
pub fn acks(hub: &Hub, id: &str) -> Result<Vec<Ack>> {
    ids::validate("message ID", id)?;
    let mut out = Vec::new();
    for path in hub.list(&format!("{ACKS}/{id}"), ".json")? {
        if let Some(map) = storage::read_json_object(&path)?
            && let Ok(ack) = serde_json::from_value::<Ack>(serde_json::Value::Object(map))
        {
            out.push(ack);
        }
    }
    out.sort_by(|a, b| a.acked_at.cmp(&b.acked_at));
    Ok(out)
}
