//! The events a watcher reports: one typed variant per kind, serialized with a `kind`
//! tag. Field order is the order of the JSON (and of `SESSIONS_*` variables); empty
//! fields are left out, so the stream reads as it always has.

use std::path::PathBuf;

use serde::Serialize;
use sessions_core::status::report::{self, STATUS_SUFFIX, StatusFiles};
use sessions_core::{Error, Result, status::signals, store::time};

/// The longest message text an event carries: the event is one line and also goes into
/// `--exec`'s environment, which has a size limit; `msg show` has the whole message.
pub const MAX_EVENT_TEXT: usize = 16 * 1024;

/// A message body as an event carries it: at most [`MAX_EVENT_TEXT`] bytes (on a
/// character boundary), marked with `…` when cut.
pub fn event_text(body: &str) -> String {
    let body = body.trim();
    if body.len() <= MAX_EVENT_TEXT {
        return body.to_string();
    }
    let mut end = MAX_EVENT_TEXT;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &body[..end])
}

/// Event kinds, for filters.
pub const KINDS: &[&str] = &[
    "signal",
    "status",
    "message",
    "claim_taken",
    "claim_released",
    "claim_expired",
    "milestone",
    "session_appeared",
    "session_stale",
    "session_gone",
    "health",
];

/// One event.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A `.<name>-updated` touch.
    Signal {
        time: String,
        file: PathBuf,
        signal: String,
        project: String,
        detail: String,
    },
    /// A change in a status document: `change` is `item`, `action`, `next`, `created`
    /// or `removed`.
    Status {
        time: String,
        file: PathBuf,
        project: String,
        change: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        section: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        label: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        to: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        detail: String,
    },
    /// A new message on the board: who, to whom (a list; `["all"]` for a broadcast),
    /// its subject and its text (the body, cut at [`MAX_EVENT_TEXT`] bytes).
    Message {
        time: String,
        file: PathBuf,
        message_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        sender: Option<String>,
        recipients: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
        #[serde(skip_serializing_if = "String::is_empty")]
        text: String,
        detail: String,
    },
    ClaimTaken {
        time: String,
        file: PathBuf,
        key: String,
        holder: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        previous_holder: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        expires_at: Option<String>,
        detail: String,
    },
    ClaimReleased {
        time: String,
        file: PathBuf,
        key: String,
        holder: String,
        detail: String,
    },
    ClaimExpired {
        time: String,
        key: String,
        holder: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        expires_at: Option<String>,
        detail: String,
    },
    /// A milestone created or changed: `change` is its status, `subject` its title.
    Milestone {
        time: String,
        change: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        to: String,
        subject: String,
        milestone: String,
        progress: u8,
        detail: String,
    },
    SessionAppeared(SessionChange),
    SessionStale(SessionChange),
    SessionGone(SessionChange),
    /// A healthcheck of the status folder.
    Health {
        time: String,
        ok: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        problems: Option<Vec<report::Problem>>,
        detail: String,
    },
}

/// A session's liveness moving from one state to another (`from`/`to` are left out
/// when its heartbeat was removed).
#[derive(Debug, Clone, Serialize)]
pub struct SessionChange {
    pub time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub session: String,
    pub detail: String,
}

/// The time of an event that happens now.
pub(crate) fn now() -> String {
    time::format(time::now())
}

impl Event {
    /// The kind, as in the JSON's `kind` and in `--kind` filters.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Signal { .. } => "signal",
            Event::Status { .. } => "status",
            Event::Message { .. } => "message",
            Event::ClaimTaken { .. } => "claim_taken",
            Event::ClaimReleased { .. } => "claim_released",
            Event::ClaimExpired { .. } => "claim_expired",
            Event::Milestone { .. } => "milestone",
            Event::SessionAppeared(_) => "session_appeared",
            Event::SessionStale(_) => "session_stale",
            Event::SessionGone(_) => "session_gone",
            Event::Health { .. } => "health",
        }
    }

    /// When it happened (RFC 3339).
    pub fn time(&self) -> &str {
        match self {
            Event::Signal { time, .. }
            | Event::Status { time, .. }
            | Event::Message { time, .. }
            | Event::ClaimTaken { time, .. }
            | Event::ClaimReleased { time, .. }
            | Event::ClaimExpired { time, .. }
            | Event::Milestone { time, .. }
            | Event::Health { time, .. } => time,
            Event::SessionAppeared(s) | Event::SessionStale(s) | Event::SessionGone(s) => &s.time,
        }
    }

    /// A one-line description for people.
    pub fn detail(&self) -> &str {
        match self {
            Event::Signal { detail, .. }
            | Event::Status { detail, .. }
            | Event::Message { detail, .. }
            | Event::ClaimTaken { detail, .. }
            | Event::ClaimReleased { detail, .. }
            | Event::ClaimExpired { detail, .. }
            | Event::Milestone { detail, .. }
            | Event::Health { detail, .. } => detail,
            Event::SessionAppeared(s) | Event::SessionStale(s) | Event::SessionGone(s) => &s.detail,
        }
    }

    /// For `health` events: whether the folder is healthy.
    pub fn ok(&self) -> Option<bool> {
        match self {
            Event::Health { ok, .. } => Some(*ok),
            _ => None,
        }
    }

    /// The event as environment variables for `--exec`: SESSIONS_EVENT (the kind),
    /// SESSIONS_EVENT_JSON (all of it), and SESSIONS_<FIELD> for every text field
    /// (SESSIONS_SIGNAL, SESSIONS_FILE, SESSIONS_PROJECT, SESSIONS_LABEL, ...).
    pub fn env(&self) -> Vec<(String, String)> {
        let json = serde_json::to_value(self).unwrap_or_default();
        let mut out = vec![
            ("SESSIONS_EVENT".to_string(), self.kind().to_string()),
            ("SESSIONS_EVENT_JSON".to_string(), json.to_string()),
        ];
        if let Some(map) = json.as_object() {
            for (k, v) in map {
                let value = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::Bool(b) => b.to_string(),
                    // A list of names (`recipients`): as it always read, `s2, s3`.
                    serde_json::Value::Array(items) if items.iter().all(|i| i.is_string()) => items
                        .iter()
                        .filter_map(|i| i.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    _ => continue,
                };
                out.push((format!("SESSIONS_{}", k.to_uppercase()), value));
            }
        }
        out
    }
}

/// The `health` event of a healthcheck now.
pub(crate) fn health_event(files: &StatusFiles) -> Event {
    match report::healthcheck(files) {
        Ok(h) => Event::Health {
            time: now(),
            detail: if h.ok {
                format!("healthy ({} status files)", h.checked)
            } else {
                format!(
                    "{} problem(s): {}",
                    h.problems.len(),
                    h.problems
                        .iter()
                        .map(|p| format!("{} {}", p.project, p.kind))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            ok: h.ok,
            problems: Some(h.problems),
        },
        Err(err) => Event::Health {
            time: now(),
            ok: false,
            problems: None,
            detail: format!("healthcheck failed: {err}"),
        },
    }
}

/// The `signal` event of a pending signal, timed when it was touched.
pub(crate) fn signal_event(s: &signals::Signal) -> Event {
    Event::Signal {
        time: s.touched_at.clone(),
        file: s
            .status_file
            .clone()
            .unwrap_or_else(|| s.path.with_file_name(format!("{}{STATUS_SUFFIX}", s.name))),
        signal: s.name.clone(),
        project: s.name.clone(),
        detail: format!("signal {} touched", s.name),
    }
}

/// Refuse `--kind` values that name no kind (prefixes such as `claim` are fine).
pub fn check_kinds(kinds: &[String]) -> Result<()> {
    for k in kinds {
        if !KINDS
            .iter()
            .any(|known| known == k || known.starts_with(&format!("{k}_")))
        {
            return Err(Error::Usage(format!(
                "unknown event kind {k:?}; known: {} (claim and session match all their kinds)",
                KINDS.join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn env_carries_event_fields() {
        let e = Event::Signal {
            time: now(),
            file: PathBuf::from("infra-status.md"),
            signal: "infra".into(),
            project: "infra".into(),
            detail: "x".into(),
        };
        let env: HashMap<_, _> = e.env().into_iter().collect();
        assert_eq!(env["SESSIONS_EVENT"], "signal");
        assert_eq!(env["SESSIONS_SIGNAL"], "infra");
        assert!(env["SESSIONS_EVENT_JSON"].contains("\"signal\":\"infra\""));
    }

    #[test]
    fn kind_filters_accept_prefixes() {
        assert!(check_kinds(&["claim".into(), "signal".into()]).is_ok());
        assert!(check_kinds(&["nope".into()]).is_err());
    }

    #[test]
    fn json_keeps_the_field_order_of_the_stream() {
        let e = Event::ClaimTaken {
            time: "2026-01-01T00:00:00Z".into(),
            file: PathBuf::from("PRIORITIES/k.lock"),
            key: "k".into(),
            holder: "s2".into(),
            previous_holder: Some("s1".into()),
            expires_at: None,
            detail: "k taken over by s2 from s1".into(),
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"kind":"claim_taken","time":"2026-01-01T00:00:00Z","file":"PRIORITIES/k.lock","key":"k","holder":"s2","previous_holder":"s1","detail":"k taken over by s2 from s1"}"#
        );
        let gone = Event::SessionGone(SessionChange {
            time: "2026-01-01T00:00:00Z".into(),
            from: None,
            to: None,
            session: "s1".into(),
            detail: "s1: heartbeat removed".into(),
        });
        assert_eq!(
            serde_json::to_string(&gone).unwrap(),
            r#"{"kind":"session_gone","time":"2026-01-01T00:00:00Z","session":"s1","detail":"s1: heartbeat removed"}"#
        );
    }
}
