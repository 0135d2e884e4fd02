//! Milestones in `MILESTONES/<id>.json`, in the original format.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use crate::error::Result;
use crate::hub::{Hub, layout};
use crate::record::{self, Record};
use crate::storage;

/// A milestone file, read tolerantly; the whole record is kept for rewrites.
#[derive(Debug, Clone, Serialize)]
pub struct Milestone {
    pub id: String,
    pub title: String,
    pub priority: String,
    pub owner: Option<String>,
    pub status: String,
    pub progress: u8,
    pub steps_total: usize,
    pub steps_done: usize,
    #[serde(skip)]
    pub path: PathBuf,
    #[serde(skip)]
    pub record: Record,
}

impl Milestone {
    pub fn from_record(id: &str, path: PathBuf, record: Record) -> Milestone {
        let steps = record.get("steps").and_then(Value::as_array);
        let steps_total = steps.map_or(0, Vec::len);
        let steps_done = steps.map_or(0, |s| {
            s.iter()
                .filter(|step| step.get("status").and_then(Value::as_str) == Some("completed"))
                .count()
        });
        let progress = record
            .get("progress")
            .and_then(Value::as_f64)
            .map(|p| p.clamp(0.0, 100.0) as u8)
            .unwrap_or(0);
        Milestone {
            id: record::text(&record, &["milestone_id", "id"])
                .unwrap_or(id)
                .to_string(),
            title: record::text(&record, &["title", "name"])
                .unwrap_or(id)
                .to_string(),
            priority: record::text(&record, &["priority"])
                .unwrap_or("MEDIUM")
                .to_ascii_uppercase(),
            owner: record::text(&record, &["owner"])
                .filter(|o| *o != "available" && *o != "none")
                .map(str::to_string),
            status: record::text(&record, &["status"])
                .unwrap_or("pending")
                .to_string(),
            progress,
            steps_total,
            steps_done,
            path,
            record,
        }
    }

    pub fn is_open(&self) -> bool {
        self.status != "completed"
    }
}

/// Every milestone in `MILESTONES/`, sorted by file name.
pub fn list(hub: &Hub) -> Result<Vec<Milestone>> {
    let mut out = Vec::new();
    for path in hub.list(layout::MILESTONES, ".json")? {
        let Some(text) = storage::read_text(&path)? else {
            continue;
        };
        let record = storage::parse_json_object(&path, &text)?;
        let id = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(Milestone::from_record(&id, path, record));
    }
    Ok(out)
}
