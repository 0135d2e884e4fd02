//! What one frame shows, read from the hub through the core's views (the same ones
//! `sessions status`, `report show`, `healthcheck`, `collab list` and `ready` use).

use std::collections::HashSet;

use sessions_core::board::messages;
use sessions_core::status::report::{self, Health, StatusFiles};
use sessions_core::views::snapshot::Snapshot;
use sessions_core::work::{collab, milestones};
use sessions_core::{Hub, Result, store::time};

/// How many board messages the board pane keeps.
pub const BOARD_TAIL: usize = 30;

pub struct Model {
    pub snapshot: Snapshot,
    pub status: Vec<report::Summary>,
    pub health: Option<Health>,
    /// Collaboration requests still pending on me (on anyone, without `--as`).
    pub requests: Vec<collab::Request>,
    pub ready: Vec<milestones::ReadyItem>,
    pub board: Vec<messages::Summary>,
    pub unread: HashSet<String>,
    /// Problems reading parts of the hub: shown, never fatal.
    pub errors: Vec<String>,
}

impl Model {
    pub fn load(hub: &Hub, me: Option<&str>) -> Result<Model> {
        let snapshot = Snapshot::load(hub, me)?;
        let mut errors = Vec::new();
        let mut keep = |what: &str, r: Result<()>| {
            if let Err(e) = r {
                errors.push(format!("{what}: {e}"));
            }
        };
        let (mut status, mut health) = (Vec::new(), None);
        // Unreadable status files are among the healthcheck's problems: not repeated.
        keep(
            "status files",
            StatusFiles::for_hub(hub, None).and_then(|files| {
                status = report::rollup(&files)?.0;
                health = Some(report::healthcheck(&files)?);
                Ok(())
            }),
        );
        // Blocked and failing projects first.
        status.sort_by_key(|s| (!s.blocked, s.fail == 0, s.project.clone()));
        let mut requests = Vec::new();
        keep(
            "collaborations",
            collab::list(hub).map(|all| {
                requests = all
                    .into_iter()
                    .filter(|r| r.status == "pending")
                    .filter(|r| me.is_none_or(|me| r.to_session == me))
                    .collect();
            }),
        );
        let mut ready = Vec::new();
        keep(
            "ready work",
            milestones::ready(hub, time::now()).map(|r| ready = r),
        );
        let mut board = Vec::new();
        keep(
            "board",
            messages::recent(hub, BOARD_TAIL).map(|b| board = b),
        );
        let mut unread = HashSet::new();
        if let Some(me) = me {
            keep(
                "inbox",
                messages::inbox(hub, me, true).map(|inbox| {
                    unread = inbox.messages.into_iter().map(|m| m.message.id).collect();
                }),
            );
        }
        Ok(Model {
            snapshot,
            status,
            health,
            requests,
            ready,
            board,
            unread,
            errors,
        })
    }
}
