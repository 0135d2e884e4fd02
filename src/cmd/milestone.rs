//! Milestones (create, add-step, claim, update, block, unblock, handoff, status),
//! `ready`, and `save-progress`.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use sessions_core::sessions::registry::{self, Beat};
use sessions_core::work::milestones::{self, Milestone, NewMilestone, StepUpdate};
use sessions_core::{Error, Hub, Result, store::time};

use crate::Ctx;
use crate::cmd::claims::render_grant;
use crate::cmd::session::parse_duration;
use crate::output::{milestone_progress, progress_bar};

#[derive(Debug, Subcommand)]
pub enum MilestoneCommand {
    /// Create MILESTONES/<id>.json; the ID comes from the title (an existing one is an error).
    #[command(
        after_help = "Example:\n  sessions --as s1 milestone create \"Deploy Dashboard\" --priority HIGH \\\n      --step \"Review the deploy script\" --step \"Deploy\" --step \"Verify endpoints\""
    )]
    Create {
        title: String,
        /// HIGH, MEDIUM or LOW.
        #[arg(long, default_value = "MEDIUM")]
        priority: String,
        /// A step (repeat for more, in order).
        #[arg(long = "step", value_name = "DESCRIPTION")]
        steps: Vec<String>,
        /// Why this matters (context.why).
        #[arg(long)]
        why: Option<String>,
    },
    /// Append a step to a milestone.
    #[command(
        after_help = "Example:\n  sessions milestone add-step deploy-dashboard \"Update the health monitor\""
    )]
    AddStep { id: String, description: String },
    /// Claim a milestone (claim `milestone-<id>`, owner, in_progress); prints what to do next.
    #[command(
        after_help = "Example:\n  sessions --as s2 milestone claim deploy-dashboard\n  sessions --as s2 --json milestone claim deploy-dashboard | jq .claim.token"
    )]
    Claim {
        id: String,
        /// Lease length (default: the hub's `claims.ttl`).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        ttl: Option<Duration>,
    },
    /// Set a step's status (pending, in_progress, completed, blocked); only the holder.
    #[command(after_help = "\
Guarded by the claim: you must hold `milestone-<id>`; with --token the write is refused
(exit 6) unless that token is still the current one. Completing the last step completes
the milestone, releases the claim, records it in CURRENT_STATE.md and posts on the board.

Example:
  sessions --as s2 milestone update deploy-dashboard 3 completed \"deployed to the server\"")]
    Update {
        id: String,
        step: u64,
        status: String,
        notes: Option<String>,
        /// The fencing token of your claim (from `milestone claim`).
        #[arg(long)]
        token: Option<u64>,
        /// Write without holding the claim (recorded in the step as forced_by).
        #[arg(long)]
        force: bool,
    },
    /// Mark a milestone blocked, with the reason.
    #[command(
        after_help = "Example:\n  sessions --as s2 milestone block deploy-dashboard \"server credentials missing\""
    )]
    Block { id: String, reason: String },
    /// Clear a milestone's blockers.
    #[command(after_help = "Example:\n  sessions --as s2 milestone unblock deploy-dashboard")]
    Unblock { id: String },
    /// Leave notes for the next session and release the claim.
    #[command(
        after_help = "Example:\n  sessions --as s2 milestone handoff deploy-dashboard \"step 4 half done; port 8002 still closed\" \\\n      --next \"Open port 8002\" --next \"Finish step 4\""
    )]
    Handoff {
        id: String,
        notes: String,
        /// What the next session should do (repeat; replaces next_session_should).
        #[arg(long = "next", value_name = "TEXT")]
        next: Vec<String>,
        /// Hand off a milestone you do not hold.
        #[arg(long)]
        force: bool,
    },
    /// All open milestones with progress bars, or one in detail.
    #[command(
        after_help = "Example:\n  sessions milestone status\n  sessions milestone status deploy-dashboard --json"
    )]
    Status {
        id: Option<String>,
        /// Include completed milestones.
        #[arg(long)]
        all: bool,
    },
}

pub fn run(ctx: &mut Ctx, command: MilestoneCommand) -> Result<u8> {
    let hub = ctx.hub()?;
    match command {
        MilestoneCommand::Create {
            title,
            priority,
            steps,
            why,
        } => {
            let m = milestones::create(
                &hub,
                &NewMilestone {
                    title,
                    priority: Some(priority),
                    steps,
                    why,
                    by: ctx.me_if_given()?,
                },
            )?;
            if ctx.json() {
                ctx.out.json(&detail(&m));
            } else {
                ctx.out.line(format!(
                    "Created milestone {} ({} steps): {}",
                    m.id,
                    m.steps_total,
                    m.path.display()
                ));
                ctx.out
                    .line(format!("Claim it with: sessions milestone claim {}", m.id));
            }
        }
        MilestoneCommand::AddStep { id, description } => {
            let (m, n) = milestones::add_step(&hub, &id, &description)?;
            if ctx.json() {
                ctx.out.json(&json!({ "step": n, "milestone": detail(&m) }));
            } else {
                ctx.out.line(format!("Added step {n} to {}.", m.id));
            }
        }
        MilestoneCommand::Claim { id, ttl } => {
            let me = ctx.me()?;
            let claimed = milestones::claim(&hub, &id, &me, ttl)?;
            if ctx.json() {
                ctx.out.json(&claimed);
                return Ok(0);
            }
            render_grant(ctx, &claimed.claim);
            let m = &claimed.milestone;
            ctx.out
                .line(format!("{} {}", m.title, milestone_progress(m)));
            if let Some(notes) = &claimed.handoff_notes {
                ctx.out.line(format!("Handoff notes: {notes}"));
            }
            if !claimed.next_session_should.is_empty() {
                ctx.out.line("Next session should:");
                for s in &claimed.next_session_should {
                    ctx.out.line(format!("  - {s}"));
                }
            }
        }
        MilestoneCommand::Update {
            id,
            step,
            status,
            notes,
            token,
            force,
        } => {
            let me = ctx.me()?;
            let up = milestones::update_step(
                &hub,
                &id,
                &StepUpdate {
                    step,
                    status: &status,
                    notes: notes.as_deref(),
                    by: &me,
                    token,
                    force,
                },
            )?;
            for w in &up.warnings {
                eprintln!("sessions: warning: {w}");
            }
            if ctx.json() {
                ctx.out.json(&up);
            } else {
                let m = &up.milestone;
                ctx.out.line(format!(
                    "Step {step} of {} is {status}. {}",
                    m.id,
                    milestone_progress(m)
                ));
                if up.completed_now {
                    ctx.out.line(format!(
                        "🎉 Milestone {} completed: claim released, recorded in CURRENT_STATE.md and on the board.",
                        m.id
                    ));
                }
            }
        }
        MilestoneCommand::Block { id, reason } => {
            let me = ctx.me()?;
            let m = milestones::block(&hub, &id, &reason, &me)?;
            print_short(ctx, &m, &format!("Blocked {}: {reason}", m.id));
        }
        MilestoneCommand::Unblock { id } => {
            let m = milestones::unblock(&hub, &id)?;
            print_short(ctx, &m, &format!("Unblocked {} ({}).", m.id, m.status));
        }
        MilestoneCommand::Handoff {
            id,
            notes,
            next,
            force,
        } => {
            let me = ctx.me()?;
            let done = milestones::handoff(&hub, &id, &notes, &next, &me, force)?;
            if ctx.json() {
                ctx.out.json(&done);
            } else {
                ctx.out.line(format!(
                    "Handed off {} at {}%; the claim is released and the notes are kept for the next session.",
                    done.milestone.id, done.milestone.progress
                ));
            }
        }
        MilestoneCommand::Status { id: Some(id), .. } => {
            let m = milestones::read(&hub, &id)?;
            if ctx.json() {
                ctx.out.json(&detail(&m));
            } else {
                render_detail(ctx, &hub, &m);
            }
        }
        MilestoneCommand::Status { id: None, all } => {
            let mut list: Vec<Milestone> = milestones::list(&hub)?
                .into_iter()
                .filter(|m| all || m.is_open())
                .collect();
            list.sort_by(|a, b| (a.priority_rank(), &a.id).cmp(&(b.priority_rank(), &b.id)));
            if ctx.json() {
                ctx.out.json(&json!({ "milestones": list }));
            } else {
                if list.is_empty() {
                    ctx.out.line("No open milestones.");
                }
                for m in &list {
                    render_line(ctx, m);
                }
            }
        }
    }
    Ok(0)
}

fn print_short(ctx: &mut Ctx, m: &Milestone, text: &str) {
    if ctx.json() {
        ctx.out.json(&detail(m));
    } else {
        ctx.out.line(text);
    }
}

/// The JSON of one milestone: the summary plus the whole file.
fn detail(m: &Milestone) -> serde_json::Value {
    json!({ "summary": m, "path": m.path, "milestone": m.record })
}

fn status_icon(status: &str) -> &'static str {
    match status {
        "pending" => "⏳",
        "in_progress" => "🔄",
        "blocked" => "🚫",
        "completed" => "✅",
        _ => "❓",
    }
}

fn render_line(ctx: &mut Ctx, m: &Milestone) {
    ctx.out.line(format!(
        "{} {:<6} {:<32} {} {}/{} · {} · {}",
        status_icon(&m.status),
        m.priority,
        m.id,
        progress_bar(m.progress, 20),
        m.steps_done,
        m.steps_total,
        m.owner.as_deref().unwrap_or("available"),
        m.status
    ));
}

fn render_detail(ctx: &mut Ctx, hub: &Hub, m: &Milestone) {
    ctx.out
        .line(ctx.out.bold(&format!("{} ({})", m.title, m.id)));
    ctx.out.line(format!(
        "{} {} · priority {} · owner {} · {}",
        status_icon(&m.status),
        m.status,
        m.priority,
        m.owner.as_deref().unwrap_or("available"),
        progress_bar(m.progress, 20)
    ));
    let key = sessions_core::work::claims::milestone_key(&m.id);
    if let Ok(Some(c)) = sessions_core::work::claims::read(hub, &key) {
        ctx.out.line(format!(
            "🔒 claimed by {} (token {}, expires {})",
            c.holder,
            c.token.map_or("none".into(), |t| t.to_string()),
            c.expires_at.as_deref().unwrap_or("?")
        ));
    }
    for step in m
        .record
        .get("steps")
        .and_then(|s| s.as_array())
        .into_iter()
        .flatten()
    {
        let text = |k: &str| step.get(k).and_then(|v| v.as_str()).unwrap_or("");
        let n = step.get("step").map(|v| v.to_string()).unwrap_or_default();
        let by = match (text("completed_by"), text("started_by")) {
            ("", "") => String::new(),
            ("", s) => format!(" (started by {s})"),
            (c, _) => format!(" (by {c})"),
        };
        ctx.out.line(format!(
            "  {} {n}. {}{by}",
            status_icon(text("status")),
            text("description")
        ));
        if !text("notes").is_empty() {
            ctx.out
                .line(format!("       {}", ctx.out.dim(text("notes"))));
        }
    }
    let blockers = sessions_core::store::record::list(&m.record, &["blockers"]);
    if !blockers.is_empty() {
        ctx.out.line(format!("Blockers: {}", blockers.join("; ")));
    }
    if let Some(notes) = m.handoff_notes() {
        ctx.out.line(format!("Handoff notes: {notes}"));
    }
    let next = m.next_session_should();
    if !next.is_empty() {
        ctx.out.line("Next session should:");
        for s in next {
            ctx.out.line(format!("  - {s}"));
        }
    }
}

#[derive(Debug, Args)]
#[command(after_help = "\
Highest priority first: open milestones nobody holds (blocked ones left out), then the
items of CURRENT_STATE.md's BACKLOG section as `priority-<n>` keys nobody holds.

Examples:
  sessions ready
  sessions ready --json | jq -r '.ready[0].key'")]
pub struct ReadyArgs {}

pub fn ready(ctx: &mut Ctx, _args: ReadyArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let items = milestones::ready(&hub, time::now())?;
    if ctx.json() {
        ctx.out.json(&json!({ "ready": items }));
        return Ok(0);
    }
    if items.is_empty() {
        ctx.out
            .line("Nothing is free: every open item is claimed or blocked.");
    }
    for i in &items {
        let progress = i
            .progress
            .map(|p| format!(" {}", progress_bar(p, 10)))
            .unwrap_or_default();
        let stale = i
            .stale_claim_by
            .as_ref()
            .map(|h| format!(" (stale claim by {h}: can be taken over)"))
            .unwrap_or_default();
        let next = if i.kind == "milestone" {
            format!("sessions milestone claim {}", i.id)
        } else {
            format!("sessions claim {}", i.key)
        };
        ctx.out.line(format!(
            "{:<6} {:<9} {}{progress}  → {next}{stale}",
            i.priority, i.kind, i.title
        ));
    }
    Ok(0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SaveMode {
    /// Milestone mode when you hold a milestone, else quick.
    Auto,
    /// Refresh the heartbeat (and with it your claims).
    Quick,
    /// Heartbeat, and record progress on the milestone you hold.
    Milestone,
    /// Both, then `git commit` the hub folder (only it) when it is in a repository.
    Full,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  sessions save-progress auto session-3
  sessions --as s1 save-progress milestone --step 3 --notes \"deployed\"
  sessions --as s1 save-progress full")]
pub struct SaveProgressArgs {
    #[arg(value_enum, default_value = "auto")]
    pub mode: SaveMode,
    /// The session (default: --as / $SESSIONS_ID).
    pub session: Option<String>,
    /// What you work on now (quick mode asks for it on a terminal).
    #[arg(long)]
    pub work: Option<String>,
    /// Mark this step of your milestone completed (milestone mode asks on a terminal).
    #[arg(long)]
    pub step: Option<u64>,
    /// Notes for that step.
    #[arg(long)]
    pub notes: Option<String>,
}

fn ask(question: &str) -> Option<String> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    eprint!("{question} ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).ok()?;
    Some(line.trim().to_string()).filter(|l| !l.is_empty())
}

pub fn save_progress(ctx: &mut Ctx, args: SaveProgressArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let me = ctx.id_or_me(args.session.as_deref())?;
    let held: Vec<String> = milestones::held_by(&hub, &me)?;
    let mode = match args.mode {
        SaveMode::Auto if held.is_empty() => SaveMode::Quick,
        SaveMode::Auto => SaveMode::Milestone,
        m => m,
    };
    if let (Some(step), true) = (args.step, held.len() > 1) {
        // Step numbers belong to one milestone: completing step N of every held one is
        // never what was meant.
        return Err(Error::Usage(format!(
            "you hold {} milestones ({}): --step {step} would complete step {step} of each; use `sessions milestone update <id> {step} completed`",
            held.len(),
            held.join(", ")
        )));
    }
    if let Some(notes) = &args.notes {
        hub.check_secrets("the step notes", notes)?; // before the heartbeat is written
    }
    let mut report = serde_json::Map::new();
    report.insert("session".into(), json!(me));
    report.insert("mode".into(), json!(format!("{mode:?}").to_lowercase()));

    let work = match args.work {
        Some(w) => Some(w),
        None if mode == SaveMode::Quick => ask("What are you working on now? (enter to keep)"),
        None => None,
    };
    registry::heartbeat(
        &hub,
        &me,
        &Beat {
            current_work: work,
            ..Beat::default()
        },
    )?;
    report.insert("heartbeat".into(), json!(true));

    if matches!(mode, SaveMode::Milestone | SaveMode::Full) {
        let mut saved = Vec::new();
        for id in &held {
            let step = args.step.or_else(|| {
                ask(&format!(
                    "{id}: which step did you complete? (enter for none)"
                ))?
                .parse()
                .ok()
            });
            let m = match step {
                Some(step) => {
                    let notes = args.notes.clone().or_else(|| ask("What did you do?"));
                    let up = milestones::update_step(
                        &hub,
                        id,
                        &StepUpdate {
                            step,
                            status: "completed",
                            notes: notes.as_deref(),
                            by: &me,
                            token: None,
                            force: false,
                        },
                    )?;
                    for w in &up.warnings {
                        eprintln!("sessions: warning: {w}");
                    }
                    up.milestone
                }
                None => milestones::touch(&hub, id, &me)?,
            };
            saved.push(
                json!({ "id": m.id, "progress": m.progress, "status": m.status, "step": step }),
            );
        }
        report.insert("milestones".into(), json!(saved));
    }

    if mode == SaveMode::Full {
        let message = format!("save-progress: {me} at {}", time::format(time::now()));
        let committed = sessions_git::commit::commit_hub(&hub, &message)?;
        report.insert("git_commit".into(), json!(committed));
    }

    if ctx.json() {
        ctx.out.json(&report);
    } else {
        ctx.out.line(format!(
            "💾 Saved ({}) for {me}:",
            report["mode"].as_str().unwrap_or("")
        ));
        ctx.out.line("  ♥ heartbeat refreshed (claims renewed)");
        if let Some(list) = report.get("milestones").and_then(|v| v.as_array()) {
            if list.is_empty() {
                ctx.out.line("  no milestone held");
            }
            for m in list {
                ctx.out.line(format!(
                    "  🎯 {} at {}% ({})",
                    m["id"].as_str().unwrap_or(""),
                    m["progress"],
                    m["status"].as_str().unwrap_or("")
                ));
            }
        }
        match report.get("git_commit") {
            Some(serde_json::Value::String(c)) => {
                ctx.out.line(format!("  📦 committed the hub: {c}"))
            }
            Some(_) => ctx
                .out
                .line("  📦 nothing to commit (or the hub is not in a git repository)"),
            None => {}
        }
    }
    Ok(0)
}
