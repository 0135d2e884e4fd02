//! `sessions status` (quick-status): the dashboard, from one snapshot of the hub.

use clap::Args;
use sessions_core::views::snapshot::Snapshot;
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
    ctx.emit(&Snapshot::load(&hub, me.as_deref())?)
}

fn heading(out: &mut Output, title: &str) {
    out.line("");
    out.line(out.bold(title));
}

/// `status`: the dashboard.
impl Render for Snapshot {
    fn text(&self, out: &mut Output) {
        render(out, self);
    }
}

fn render(out: &mut Output, snap: &Snapshot) {
    let c = &snap.sessions.counts;
    out.line(format!(
        "{} {}",
        out.bold("🧠 MULTI-SESSION STATUS"),
        out.dim(&snap.hub)
    ));

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

    heading(
        out,
        &format!(
            "📋 SESSIONS ({} registered of {}; {} stale, {} gone)",
            c.registered, c.total, c.stale, c.gone
        ),
    );
    for s in &snap.sessions.sessions {
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
            .unwrap_or_else(|| "never".into());
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
            esc(m.subject.as_deref().unwrap_or(&m.preview))
        ));
    }
}
