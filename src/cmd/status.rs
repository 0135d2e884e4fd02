//! `sessions status` (quick-status): the one glance — what needs me, what is blocked,
//! who is doing what, what is free — from the core's [`Glance`].

use clap::Args;
use sessions_core::views::glance::{Glance, message_headline};
use sessions_core::{Result, store::time, work::current_state};

use crate::Ctx;
use crate::cmd::session::render_session;
use crate::output::{Output, Render, escape_untrusted as esc, milestone_progress};

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  sessions status\n  sessions status --json | jq '.sessions.counts'"
)]
pub struct StatusArgs {}

pub fn run(ctx: &mut Ctx, _args: StatusArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let me = ctx.me_if_given()?;
    ctx.emit(&Glance::load(&hub, me.as_deref())?)
}

fn heading(out: &mut Output, title: &str) {
    out.line("");
    out.line(out.bold(title));
}

/// `status`: the one glance.
impl Render for Glance {
    fn text(&self, out: &mut Output) {
        render(out, self);
    }

    fn warnings(&self) -> Vec<String> {
        let snapshot = self.snapshot.warnings.iter().map(ToString::to_string);
        self.unreadable.iter().cloned().chain(snapshot).collect()
    }
}

fn render(out: &mut Output, glance: &Glance) {
    let snap = &glance.snapshot;
    let c = &snap.sessions.counts;
    out.line(format!(
        "{} {}",
        out.bold("🧠 MULTI-SESSION STATUS"),
        out.dim(&snap.hub)
    ));

    render_attention(out, glance);

    heading(
        out,
        &format!(
            "📡 LIVE SESSIONS ({} live, {} idle, {} busy)",
            c.live, c.idle, c.busy
        ),
    );
    let live: Vec<_> = snap
        .sessions
        .sessions
        .iter()
        .filter(|s| s.liveness == sessions_core::sessions::registry::Liveness::Live)
        .collect();
    if live.is_empty() {
        out.line("  none live");
    }
    for s in live {
        render_session(out, s);
    }

    // Live sessions are listed once, above; the rest here.
    heading(
        out,
        &format!(
            "📋 OTHER SESSIONS ({} registered of {}; {} stale, {} gone, {} never sent a heartbeat)",
            c.registered, c.total, c.stale, c.gone, c.never
        ),
    );
    let others: Vec<_> = snap
        .sessions
        .sessions
        .iter()
        .filter(|s| s.liveness != sessions_core::sessions::registry::Liveness::Live)
        .collect();
    if others.is_empty() {
        out.line("  none");
    }
    for s in others {
        let agreed = match s.agreed {
            Some(true) => " ✓ agreed",
            _ => "",
        };
        let unregistered = if s.registered {
            ""
        } else {
            " (heartbeat only)"
        };
        let seen = s
            .age_secs
            .map(|a| format!("{} ago", time::human_age(a)))
            .unwrap_or_else(|| "-".into());
        out.line(format!(
            "  {:<28} {:<7} {:>10}  {}{agreed}{unregistered}",
            esc(&s.id),
            s.liveness.as_str(),
            seen,
            esc(s.role.as_deref().unwrap_or("-"))
        ));
    }

    heading(out, &format!("🔒 CLAIMS ({})", snap.claims.len()));
    if snap.claims.is_empty() {
        out.line("  nothing claimed");
    }
    let now = time::now();
    for c in &snap.claims {
        let left = c
            .claim
            .expires()
            .map(|e| {
                let secs = (e - now).num_seconds();
                if secs < 0 {
                    format!("expired {} ago", time::human_age(-secs))
                } else {
                    format!("{} left", time::human_age(secs))
                }
            })
            .unwrap_or_else(|| "no expiry".into());
        let token = c
            .claim
            .token
            .map(|t| format!(" token {t}"))
            .unwrap_or_default();
        out.line(format!(
            "  🔒 {:<32} {} ({}) {left}{token}",
            c.claim.key,
            esc(&c.claim.holder),
            c.holder_liveness.as_str()
        ));
    }

    heading(
        out,
        &format!("🎯 OPEN MILESTONES ({})", snap.milestones.len()),
    );
    if snap.milestones.is_empty() {
        out.line("  none open");
    }
    for m in &snap.milestones {
        let icon = match m.status.as_str() {
            "pending" => "⏳",
            "in_progress" => "🔄",
            "blocked" => "🚫",
            _ => "❓",
        };
        let prio = match m.priority.as_str() {
            "HIGH" => "🔴",
            "MEDIUM" => "🟡",
            "LOW" => "🟢",
            _ => "⚪",
        };
        out.line(format!("  {icon} {prio} {} ({})", esc(&m.title), m.id));
        out.line(format!(
            "     {} | owner: {} | {}",
            milestone_progress(m),
            esc(m.owner.as_deref().unwrap_or("available")),
            m.status
        ));
    }

    heading(out, "🎯 CURRENT PRIORITY");
    match &snap.current_priority {
        Some(p) => out.line(format!("  {}", esc(&current_state::priority_headline(p)))),
        None => out.line("  none set (sessions state priority \"...\")"),
    }

    let unread = snap
        .unread_messages
        .map(|n| format!(" ({n} unread for you: sessions inbox --unread)"))
        .unwrap_or_default();
    heading(out, &format!("📬 LATEST MESSAGES{unread}"));
    if snap.recent_messages.is_empty() {
        out.line("  the board is empty");
    }
    for m in &snap.recent_messages {
        let when = m.time.as_deref().map_or("-", |t| t.get(..16).unwrap_or(t));
        let priority = match m.priority.as_str() {
            "normal" => String::new(),
            p => format!("[{p}] "),
        };
        out.line(format!(
            "  {} {} → {} {priority}{}",
            esc(&when.replace('T', " ")),
            esc(m.from.as_deref().unwrap_or("?")),
            esc(&m.to.join(", ")),
            esc(&message_headline(m))
        ));
    }
}

/// What needs me and what is blocked, before everything else.
fn render_attention(out: &mut Output, glance: &Glance) {
    let snap = &glance.snapshot;
    let me = snap.unread_messages.is_some();
    let title = if me {
        "⚠️  NEEDS YOU"
    } else {
        "⚠️  WAITING"
    };
    heading(
        out,
        &format!("{title} ({} requests)", glance.requests_waiting.len()),
    );
    if let Some(n) = snap.unread_messages.filter(|n| *n > 0) {
        out.line(format!(
            "  📬 {n} unread messages (sessions inbox --unread)"
        ));
    }
    if glance.requests_waiting.is_empty() {
        out.line("  no collaboration request is waiting");
    }
    for r in &glance.requests_waiting {
        out.line(format!(
            "  🤝 {} from {} [{}]: {}  (sessions collab accept {})",
            r.request_id,
            esc(&r.from_session),
            esc(&r.urgency),
            esc(&r.request),
            r.request_id
        ));
    }

    let blocked_milestones: Vec<_> = snap
        .milestones
        .iter()
        .filter(|m| m.status == "blocked")
        .collect();
    let troubled: Vec<_> = glance.troubled_status_files().collect();
    let verdict = match &glance.health {
        Some(h) if h.ok => "healthcheck: ok".to_string(),
        Some(h) => format!(
            "healthcheck: {} problems (sessions healthcheck)",
            h.problems.len()
        ),
        None => "healthcheck: could not run".into(),
    };
    heading(
        out,
        &format!(
            "🚫 BLOCKED ({} milestones, {} status files; {verdict})",
            blocked_milestones.len(),
            troubled.len()
        ),
    );
    if blocked_milestones.is_empty() && troubled.is_empty() {
        out.line("  nothing is blocked");
    }
    for m in blocked_milestones {
        out.line(format!("  🚫 milestone {} ({})", esc(&m.title), m.id));
    }
    for s in troubled {
        if s.blocked {
            out.line(format!(
                "  ❌ {} is blocked by {}",
                esc(&s.project),
                esc(&s.blocked_by.join(", "))
            ));
        } else {
            out.line(format!(
                "  ❌ {} failing: {}",
                esc(&s.project),
                esc(&s.failing.join(", "))
            ));
        }
    }
}
