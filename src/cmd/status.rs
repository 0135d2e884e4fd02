//! `sessions status` (quick-status): the dashboard, from one snapshot of the hub.

use clap::Args;
use sessions_core::views::snapshot::Snapshot;
use sessions_core::{Result, store::time, work::current_state};

use crate::Ctx;
use crate::cmd::session::render_session;
use crate::output::milestone_progress;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  sessions status\n  sessions status --json | jq '.sessions.counts'"
)]
pub struct StatusArgs {}

pub fn run(ctx: &mut Ctx, _args: StatusArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let me = ctx.me_if_given()?;
    let snap = Snapshot::load(&hub, me.as_deref())?;
    crate::output::warn_problems(&snap.warnings);
    if ctx.json() {
        ctx.out.json(&snap);
    } else {
        render(ctx, &snap);
    }
    Ok(0)
}

fn heading(ctx: &mut Ctx, title: &str) {
    ctx.out.line("");
    ctx.out.line(ctx.out.bold(title));
}

pub fn render(ctx: &mut Ctx, snap: &Snapshot) {
    let c = &snap.sessions.counts;
    ctx.out.line(format!(
        "{} {}",
        ctx.out.bold("🧠 MULTI-SESSION STATUS"),
        ctx.out.dim(&snap.hub)
    ));

    heading(
        ctx,
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
        ctx.out.line("  none live");
    }
    for s in live {
        render_session(ctx, s);
    }

    heading(
        ctx,
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
        ctx.out.line(format!(
            "  {:<28} {:<7} {:>10}  {}{agreed}{unregistered}",
            s.id,
            s.liveness.as_str(),
            seen,
            s.role.as_deref().unwrap_or("-")
        ));
    }

    heading(ctx, &format!("🔒 CLAIMS ({})", snap.claims.len()));
    if snap.claims.is_empty() {
        ctx.out.line("  nothing claimed");
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
        ctx.out.line(format!(
            "  🔒 {:<32} {} ({}) {left}{token}",
            c.claim.key,
            c.claim.holder,
            c.holder_liveness.as_str()
        ));
    }

    heading(
        ctx,
        &format!("🎯 OPEN MILESTONES ({})", snap.milestones.len()),
    );
    if snap.milestones.is_empty() {
        ctx.out.line("  none open");
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
        ctx.out
            .line(format!("  {icon} {prio} {} ({})", m.title, m.id));
        ctx.out.line(format!(
            "     {} | owner: {} | {}",
            milestone_progress(m),
            m.owner.as_deref().unwrap_or("available"),
            m.status
        ));
    }

    heading(ctx, "🎯 CURRENT PRIORITY");
    match &snap.current_priority {
        Some(p) => ctx
            .out
            .line(format!("  {}", current_state::priority_headline(p))),
        None => ctx.out.line("  none set (sessions state priority \"...\")"),
    }

    let unread = snap
        .unread_messages
        .map(|n| format!(" ({n} unread for you: sessions inbox --unread)"))
        .unwrap_or_default();
    heading(ctx, &format!("📬 LATEST MESSAGES{unread}"));
    if snap.recent_messages.is_empty() {
        ctx.out.line("  the board is empty");
    }
    for m in &snap.recent_messages {
        let when = m.time.as_deref().map_or("-", |t| t.get(..16).unwrap_or(t));
        let priority = match m.priority.as_str() {
            "normal" => String::new(),
            p => format!("[{p}] "),
        };
        ctx.out.line(format!(
            "  {} {} → {} {priority}{}",
            when.replace('T', " "),
            m.from.as_deref().unwrap_or("?"),
            m.to.join(", "),
            m.subject.as_deref().unwrap_or(&m.preview)
        ));
    }
}
