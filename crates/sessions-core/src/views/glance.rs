//! The one glance: the snapshot plus what needs attention elsewhere in the hub (status
//! files that are blocked or failing, the healthcheck's verdict, collaboration requests
//! waiting on me). `sessions status` prints it; `sessions top` draws it.

use serde::Serialize;

use crate::board::messages;
use crate::status::report::{self, Health, StatusFiles};
use crate::store::error::Result;
use crate::store::hub::Hub;
use crate::views::snapshot::Snapshot;
use crate::work::collab;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Glance {
    #[serde(flatten)]
    pub snapshot: Snapshot,
    /// Every status file's roll-up, blocked and failing ones first.
    pub status_files: Vec<report::Summary>,
    /// The healthcheck over the status files (`None` when they could not be listed).
    pub health: Option<Health>,
    /// Pending collaboration requests addressed to me (to anyone, without a session).
    pub requests_waiting: Vec<collab::Request>,
    /// Parts of the hub that could not be read: reported, never fatal.
    pub unreadable: Vec<String>,
}

impl Glance {
    pub fn load(hub: &Hub, me: Option<&str>) -> Result<Glance> {
        let snapshot = Snapshot::load(hub, me)?;
        let mut unreadable = Vec::new();
        let (mut status_files, mut health) = (Vec::new(), None);
        match StatusFiles::for_hub(hub, None)
            .and_then(|files| Ok((report::rollup(&files)?.0, report::healthcheck(&files)?)))
        {
            // Unreadable status files are among the healthcheck's problems.
            Ok((summaries, checked)) => {
                status_files = summaries;
                health = Some(checked);
            }
            Err(e) => unreadable.push(format!("status files: {e}")),
        }
        sort_status_files(&mut status_files);
        let requests_waiting = match collab::list(hub) {
            Ok(all) => waiting_on(all, me),
            Err(e) => {
                unreadable.push(format!("collaborations: {e}"));
                Vec::new()
            }
        };
        Ok(Glance {
            snapshot,
            status_files,
            health,
            requests_waiting,
            unreadable,
        })
    }

    /// Status files that need someone: blocked by a ❌ dependency or with ❌ items.
    pub fn troubled_status_files(&self) -> impl Iterator<Item = &report::Summary> {
        self.status_files.iter().filter(|s| s.blocked || s.fail > 0)
    }
}

/// Blocked status files first, then failing ones, then by project.
pub fn sort_status_files(files: &mut [report::Summary]) {
    files.sort_by_key(|s| (!s.blocked, s.fail == 0, s.project.clone()));
}

/// The pending collaboration requests addressed to `me` (every pending one without).
pub fn waiting_on(requests: Vec<collab::Request>, me: Option<&str>) -> Vec<collab::Request> {
    requests
        .into_iter()
        .filter(|r| r.status == "pending")
        .filter(|r| me.is_none_or(|me| r.to_session == me))
        .collect()
}

/// A message in one line: a generic subject ("Broadcast Message") is followed by what
/// the message says.
pub fn message_headline(m: &messages::Summary) -> String {
    match m.subject.as_deref() {
        Some(subject) if !m.preview.is_empty() && !m.preview.starts_with(subject) => {
            format!("{subject}: {}", m.preview)
        }
        Some(subject) => subject.to_string(),
        None => m.preview.clone(),
    }
}
