//! The session-start brief (`sessions prime`): who I am, who else is live and on what,
//! my claims and reservations, the ready work and my unread messages, in at most
//! [`MAX_CHARS`] characters; what does not fit is counted, with the command to see it.

use serde::Serialize;

use sessions_core::board::messages::{self, InboxEntry, shorten};
use sessions_core::sessions::registry::{self, Liveness};
use sessions_core::store::time;
use sessions_core::work::{claims, milestones, reservations};
use sessions_core::{Hub, Result};

/// The longest brief, in characters.
pub const MAX_CHARS: usize = 1500;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Brief {
    pub me: Option<String>,
    pub live: Vec<Peer>,
    pub my_claims: Vec<String>,
    pub my_reservations: Vec<String>,
    pub ready: Vec<String>,
    pub unread: Vec<String>,
    /// The brief as text, at most [`MAX_CHARS`] characters.
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Peer {
    pub id: String,
    pub status: Option<String>,
    pub work: Option<String>,
}

/// One message as a line of the brief or of a mid-turn delivery.
pub fn message_line(e: &InboxEntry) -> String {
    let m = &e.message;
    let subject = m
        .subject
        .as_deref()
        .map(|s| format!("{s}: "))
        .unwrap_or_default();
    format!(
        "[{}] from {} ({}): {subject}{}",
        m.id,
        m.from.as_deref().unwrap_or("?"),
        m.priority,
        shorten(m.body.trim(), 300)
    )
}

/// Build the brief for `me`. `unread` are the messages to show (the caller decides
/// whether reading them marks them delivered).
pub fn build(hub: &Hub, me: Option<&str>, unread: &[InboxEntry]) -> Result<Brief> {
    let now = time::now();
    let reg = registry::Registry::load(hub)?;
    let beats = registry::load_heartbeats(hub)?;
    let view = registry::sync_view(hub, &reg, &beats, now);
    let live: Vec<Peer> = view
        .sessions
        .iter()
        .filter(|s| s.liveness == Liveness::Live && Some(s.id.as_str()) != me)
        .map(|s| Peer {
            id: s.id.clone(),
            status: s.status.clone(),
            work: s.current_work.clone(),
        })
        .collect();
    // One scan of the lock files serves both my claims and everyone's reservations.
    let all_claims = claims::list(hub)?;
    let all_res = reservations::of_claims(hub, &all_claims, now);
    let (my_claims, my_reservations) = match me {
        Some(me) => (
            all_claims
                .iter()
                .filter(|c| c.holder == me && !c.key.starts_with(reservations::KEY_PREFIX))
                .map(|c| format!("{} (token {})", c.key, c.token.unwrap_or(0)))
                .collect(),
            all_res
                .iter()
                .filter(|r| r.holder == me)
                .map(|r| r.describe())
                .collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let others_res: Vec<String> = all_res
        .iter()
        .filter(|r| r.active && Some(r.holder.as_str()) != me)
        .map(|r| format!("{} holds {}", r.holder, r.describe()))
        .collect();
    let ready: Vec<String> = milestones::ready(hub, now)?
        .items
        .into_iter()
        .map(|r| format!("{} ({}, {})", r.title, r.key, r.priority))
        .collect();
    let unread_lines: Vec<String> = unread.iter().map(message_line).collect();

    let mut text = String::new();
    let who = me.map_or("not bound (pass --as ID)".to_string(), |m| m.to_string());
    text.push_str(&format!(
        "SESSIONS hub: you are {who}. Run `sessions --as {} ...` for hub commands.\n",
        me.unwrap_or("ID")
    ));
    let mut sections: Vec<(String, Vec<String>, &str)> = vec![
        (
            format!("Unread messages ({})", unread_lines.len()),
            unread_lines.clone(),
            "sessions inbox",
        ),
        (
            format!("Live sessions ({})", live.len()),
            live.iter()
                .map(|p| {
                    format!(
                        "{} [{}] {}",
                        p.id,
                        p.status.as_deref().unwrap_or("?"),
                        p.work.as_deref().unwrap_or("")
                    )
                    .trim_end()
                    .to_string()
                })
                .collect(),
            "sessions who",
        ),
        (
            "Reserved by others (edits there are denied)".to_string(),
            others_res,
            "sessions reservations",
        ),
        (
            "Your claims".to_string(),
            my_claims.clone(),
            "sessions claims",
        ),
        (
            "Your reservations".to_string(),
            my_reservations.clone(),
            "sessions reservations",
        ),
        (
            format!("Ready work ({})", ready.len()),
            ready.clone(),
            "sessions ready",
        ),
    ];
    sections.retain(|(_, items, _)| !items.is_empty());
    // Give each section a fair share of what is left, so one long list cannot hide the rest.
    let footer =
        "Reserve before editing: `sessions reserve PATH`; message: `sessions msg send --to ID`.";
    let budget = MAX_CHARS.saturating_sub(text.chars().count() + footer.chars().count() + 1);
    let share = budget / sections.len().max(1);
    for (title, items, cmd) in &sections {
        let mut part = format!("{title}:\n");
        let mut shown = 0;
        for item in items {
            let line = format!("- {}\n", shorten(item, 200));
            let more = format!("  … {} more: `{cmd}`\n", items.len() - shown);
            if part.chars().count() + line.chars().count() + more.chars().count() > share {
                break;
            }
            part.push_str(&line);
            shown += 1;
        }
        if shown < items.len() {
            part.push_str(&format!("  … {} more: `{cmd}`\n", items.len() - shown));
        }
        text.push_str(&part);
    }
    text.push_str(footer);
    if text.chars().count() > MAX_CHARS {
        text = shorten(&text, MAX_CHARS);
    }
    Ok(Brief {
        me: me.map(str::to_string),
        live,
        my_claims,
        my_reservations,
        ready,
        unread: unread_lines,
        text,
    })
}

/// The unread messages of `me`, read without marking them (for `sessions prime`).
pub fn peek_unread(hub: &Hub, me: &str) -> Result<Vec<InboxEntry>> {
    Ok(messages::inbox(hub, me, true)?.messages)
}
