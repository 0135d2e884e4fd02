//! What one frame shows: the core's one-glance view (the same one `sessions status`
//! prints), the work that is free and the board's tail with my unread messages.

use std::collections::HashSet;

use sessions_core::board::messages;
use sessions_core::views::glance::Glance;
use sessions_core::work::milestones;
use sessions_core::{Hub, Result, store::time};

/// How many board messages the board pane keeps.
pub const BOARD_TAIL: usize = 30;

pub struct Model {
    pub glance: Glance,
    pub ready: Vec<milestones::ReadyItem>,
    pub board: Vec<messages::Summary>,
    pub unread: HashSet<String>,
    /// Problems reading parts of the hub: shown, never fatal.
    pub errors: Vec<String>,
}

impl Model {
    pub fn load(hub: &Hub, me: Option<&str>) -> Result<Model> {
        let glance = Glance::load(hub, me)?;
        let mut errors = glance.unreadable.clone();
        let mut keep = |what: &str, r: Result<()>| {
            if let Err(e) = r {
                errors.push(format!("{what}: {e}"));
            }
        };
        let mut ready = Vec::new();
        keep(
            "ready work",
            milestones::ready(hub, time::now()).map(|r| ready = r.items),
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
            glance,
            ready,
            board,
            unread,
            errors,
        })
    }
}
