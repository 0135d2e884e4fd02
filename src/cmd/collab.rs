//! Collaboration requests: `collab request|accept|decline|start|complete|handoff|list|show|metrics`.

use clap::Subcommand;
use schemars::JsonSchema;
use serde::Serialize;
use sessions_core::Result;
use sessions_core::store::scan::Problem;
use sessions_core::work::collab::{self, Action, Metrics, Request, Stats};

use crate::Ctx;
use crate::output::{Output, Render, escape_untrusted as esc};

#[derive(Debug, Subcommand)]
pub enum CollabCommand {
    /// Ask another session for help: a request file plus a board message to it.
    #[command(
        after_help = "Example:\n  sessions --as session-5 collab request session-1-dashboard \"Need an analytics UI\" --urgency high"
    )]
    Request {
        /// The session asked.
        target: String,
        /// What you need.
        request: String,
        /// How urgent it is.
        #[arg(long, default_value = "normal", value_parser = clap::builder::PossibleValuesParser::new(collab::URGENCIES))]
        urgency: String,
    },
    /// Accept a request addressed to you (pending → accepted).
    #[command(
        after_help = "Example:\n  sessions --as session-1-dashboard collab accept collab-20251115T214925.123Z-0a1b2c3d4e5f \"starting after lunch\""
    )]
    Accept {
        /// Request ID, or a unique prefix or suffix of it (`4e5f`: its last characters).
        id: String,
        /// A note recorded in the history and the board message.
        note: Option<String>,
    },
    /// Decline a request addressed to you (pending → declined, final).
    #[command(
        after_help = "Example:\n  sessions --as session-1-dashboard collab decline collab-20251115T214925.123Z-0a1b2c3d4e5f \"no capacity\""
    )]
    Decline {
        /// Request ID, or a unique prefix or suffix of it (`4e5f`: its last characters).
        id: String,
        /// A note recorded in the history and the board message.
        note: Option<String>,
    },
    /// Start work on an accepted request (accepted → in_progress).
    #[command(
        after_help = "Example:\n  sessions --as session-1-dashboard collab start collab-20251115T214925.123Z-0a1b2c3d4e5f"
    )]
    Start {
        /// Request ID, or a unique prefix or suffix of it (`4e5f`: its last characters).
        id: String,
        /// A note recorded in the history and the board message.
        note: Option<String>,
    },
    /// Complete a request (target or requester; final).
    #[command(
        after_help = "Example:\n  sessions --as session-1-dashboard collab complete collab-20251115T214925.123Z-0a1b2c3d4e5f \"shipped in #42\""
    )]
    Complete {
        /// Request ID, or a unique prefix or suffix of it (`4e5f`: its last characters).
        id: String,
        /// A note recorded in the history and the board message.
        note: Option<String>,
    },
    /// Hand a request to another session; it becomes pending for them.
    #[command(
        after_help = "Example:\n  sessions --as session-1-dashboard collab handoff collab-20251115T214925.123Z-0a1b2c3d4e5f session-4-deployment \"they own deploys\""
    )]
    Handoff {
        /// Request ID, or a unique prefix or suffix of it (`4e5f`: its last characters).
        id: String,
        /// The session that takes it over.
        to: String,
        /// A note recorded in the history and the board message.
        note: Option<String>,
    },
    /// List requests: by default those involving me (or all when I am unknown).
    #[command(
        after_help = "Examples:\n  sessions --as s1 collab list --to-me --pending\n  sessions --json collab list --all"
    )]
    List {
        /// Requests I made.
        #[arg(long)]
        mine: bool,
        /// Requests addressed to me.
        #[arg(long)]
        to_me: bool,
        /// Only pending ones.
        #[arg(long)]
        pending: bool,
        /// Every request in the hub.
        #[arg(long)]
        all: bool,
    },
    /// One request with its history.
    #[command(
        after_help = "Example:\n  sessions collab show collab-20251115T214925.123Z-0a1b2c3d4e5f"
    )]
    Show {
        /// Request ID, or a unique prefix or suffix of it (`4e5f`: its last characters).
        id: String,
    },
    /// Requests by status, time to first response (median, p90), completion rate.
    #[command(
        after_help = "Example:\n  sessions collab metrics\n  sessions --json collab metrics | jq '.overall'"
    )]
    Metrics,
}

pub fn run(ctx: &mut Ctx, command: CollabCommand) -> Result<u8> {
    let hub = ctx.hub()?;
    let (id, action, note) = match command {
        CollabCommand::Request {
            target,
            request,
            urgency,
        } => {
            let me = ctx.me()?;
            let req = collab::request(&hub, &me, &target, &request, &urgency)?;
            let known = sessions_core::sessions::registry::Registry::load(&hub)?;
            let warnings = sessions_core::sessions::registry::unregistered_warning(&known, &target)
                .into_iter()
                .collect();
            return ctx.emit(&Requested {
                request: req,
                warnings,
            });
        }
        CollabCommand::Accept { id, note } => (id, Action::Accept, note),
        CollabCommand::Decline { id, note } => (id, Action::Decline, note),
        CollabCommand::Start { id, note } => (id, Action::Start, note),
        CollabCommand::Complete { id, note } => (id, Action::Complete, note),
        CollabCommand::Handoff { id, to, note } => (id, Action::Handoff(to), note),
        CollabCommand::List {
            mine,
            to_me,
            pending,
            all,
        } => return list(ctx, &hub, mine, to_me, pending, all),
        CollabCommand::Show { id } => {
            return ctx.emit(&RequestShown(collab::get(&hub, &id)?));
        }
        CollabCommand::Metrics => return metrics(ctx, &hub),
    };
    let me = ctx.me()?;
    let req = collab::transition(&hub, &id, &me, &action, note.as_deref())?;
    ctx.emit(&Moved {
        request: req,
        by: me,
    })
}

/// `collab request`: the request as filed, with a warning when the target is not a
/// registered session (a probable typo).
#[derive(Serialize, JsonSchema)]
pub struct Requested {
    #[serde(flatten)]
    pub request: Request,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Render for Requested {
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    fn text(&self, out: &mut Output) {
        let req = &self.request;
        out.line(format!(
            "🤝 {} asked {} ({}): {}",
            req.from_session,
            esc(&req.to_session),
            esc(&req.urgency),
            req.request_id
        ));
    }
}

/// `collab show`: one request with its history.
#[derive(Serialize, JsonSchema)]
#[serde(transparent)]
pub struct RequestShown(pub Request);

impl Render for RequestShown {
    fn text(&self, out: &mut Output) {
        render(out, &self.0, true);
    }
}

/// `collab accept|decline|start|complete|handoff`: the request after the move.
#[derive(Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Moved {
    pub request: Request,
    #[serde(skip)]
    pub by: String,
}

impl Render for Moved {
    fn text(&self, out: &mut Output) {
        out.line(format!(
            "🤝 {} is now {} (by {})",
            esc(&self.request.request_id),
            esc(&self.request.status),
            self.by
        ));
    }
}

fn list(
    ctx: &mut Ctx,
    hub: &sessions_core::Hub,
    mine: bool,
    to_me: bool,
    pending: bool,
    all: bool,
) -> Result<u8> {
    let me = if all { None } else { ctx.me().ok() };
    if (mine || to_me) && me.is_none() {
        ctx.me()?;
    }
    let found = collab::scan(hub)?;
    let reqs: Vec<Request> = found
        .items
        .into_iter()
        .filter(|r| match &me {
            None => true,
            Some(me) => {
                let from = r.from_session == *me;
                let to = r.to_session == *me;
                match (mine, to_me) {
                    (true, false) => from,
                    (false, true) => to,
                    _ => from || to,
                }
            }
        })
        .filter(|r| !pending || r.status == "pending")
        .collect();
    ctx.emit(&RequestList {
        count: reqs.len(),
        requests: reqs,
        warnings: found.problems,
    })
}

/// `collab list`.
#[derive(Serialize, JsonSchema)]
pub struct RequestList {
    pub count: usize,
    pub requests: Vec<Request>,
    /// Files left out because they do not parse, each with path, line and column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Problem>,
}

impl Render for RequestList {
    fn text(&self, out: &mut Output) {
        if self.requests.is_empty() {
            out.line("No collaboration requests.");
        }
        for r in &self.requests {
            render(out, r, false);
        }
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.iter().map(ToString::to_string).collect()
    }
}

fn icon(status: &str) -> &'static str {
    match status {
        "pending" => "⏳",
        "accepted" => "👍",
        "in_progress" => "🔄",
        "completed" => "✅",
        "declined" => "❌",
        _ => "❓",
    }
}

fn render(out: &mut Output, r: &Request, history: bool) {
    out.line(format!(
        "{} {} {} → {} [{}] {}",
        icon(&r.status),
        out.bold(&esc(&r.request_id)),
        esc(&r.from_session),
        esc(&r.to_session),
        esc(&r.urgency),
        esc(&r.status)
    ));
    out.line(format!(
        "   {}",
        esc(r.request.lines().next().unwrap_or(""))
    ));
    if history {
        out.line(format!(
            "   created {} · updated {}",
            esc(r.created_at.as_deref().unwrap_or("?")),
            esc(r.updated_at.as_deref().unwrap_or("?"))
        ));
        for h in &r.history {
            let get = |k: &str| esc(h.get(k).and_then(|v| v.as_str()).unwrap_or("")).into_owned();
            let note = if get("note").is_empty() {
                String::new()
            } else {
                format!(": {}", get("note"))
            };
            out.line(format!(
                "   {} {} by {} → {}{note}",
                get("at"),
                get("action"),
                get("by"),
                get("status")
            ));
        }
        let moves = collab::allowed_moves(&r.status);
        out.line(format!(
            "   next: {}",
            if moves.is_empty() {
                "none (final)".to_string()
            } else {
                moves.join(", ")
            }
        ));
    }
}

fn secs(v: Option<f64>) -> String {
    v.map(|s| sessions_core::store::time::human_age(s.round() as i64))
        .unwrap_or_else(|| "-".into())
}

fn stats_line(s: &Stats) -> String {
    let statuses: Vec<String> = s
        .by_status
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    format!(
        "{} requests ({}); first response median {} p90 {} ({} answered); completed {}",
        s.total,
        if statuses.is_empty() {
            "none".to_string()
        } else {
            statuses.join(", ")
        },
        secs(s.median_response_secs),
        secs(s.p90_response_secs),
        s.responded,
        s.completion_rate
            .map(|r| format!("{:.0}%", r * 100.0))
            .unwrap_or_else(|| "-".into())
    )
}

fn metrics(ctx: &mut Ctx, hub: &sessions_core::Hub) -> Result<u8> {
    ctx.emit(&collab::metrics(&collab::list(hub)?))
}

/// `collab metrics`.
impl Render for Metrics {
    fn text(&self, out: &mut Output) {
        out.line(out.bold("📊 COLLABORATION METRICS"));
        out.line(format!("  overall: {}", stats_line(&self.overall)));
        for (session, s) in &self.per_session {
            out.line(format!("  {}: sent {}", esc(session), s.sent));
            if s.received.total > 0 {
                out.line(format!("     received {}", stats_line(&s.received)));
            }
        }
    }
}
