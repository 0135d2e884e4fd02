//! Milestones (create, add-step, claim, update, block, unblock, handoff, status),
//! `ready`, and `save-progress`.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use schemars::JsonSchema;
use serde::Serialize;
use sessions_core::sessions::registry::Beat;
use sessions_core::store::scan::Problem;
use sessions_core::store::{hub::layout, storage};
use sessions_core::work::claims::Claim;
use sessions_core::work::milestones::{
    self, Claimed, HandedOff, Milestone, NewMilestone, ReadyItem, StepUpdate, Updated,
};
use sessions_core::work::presence;
use sessions_core::{Error, Result, store::time};

use crate::Ctx;
use crate::cmd::session::parse_duration;
use crate::output::{Output, Render, escape_untrusted as esc, milestone_progress, progress_bar};

#[derive(Debug, Subcommand)]
pub enum MilestoneCommand {
    /// Create MILESTONES/<id>.json; the ID comes from the title (an existing one is an error).
    #[command(
        after_help = "Example:\n  sessions --as s1 milestone create \"Deploy Dashboard\" --priority HIGH \\\n      --step \"Review the deploy script\" --step \"Deploy\" --step \"Verify endpoints\""
    )]
    Create {
        /// The title; the ID is derived from it (`Deploy Dashboard` -> `deploy-dashboard`).
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
        /// Use this ID instead of the one derived from the title.
        #[arg(long)]
        id: Option<String>,
        /// Record this session as the owner (default: available).
        #[arg(long)]
        owner: Option<String>,
        /// Fill what is not given with create-milestone.sh's TODO placeholders (three
        /// steps, context, next steps).
        #[arg(long)]
        original_template: bool,
    },
    /// Append a step to a milestone.
    #[command(
        after_help = "Example:\n  sessions milestone add-step deploy-dashboard \"Update the health monitor\""
    )]
    AddStep {
        /// The milestone ID (`deploy-dashboard`; see `sessions milestone status`).
        id: String,
        /// What the step does.
        description: String,
    },
    /// Claim a milestone (claim `milestone-<id>`, owner, in_progress); prints what to do next.
    #[command(
        after_help = "Example:\n  sessions --as s2 milestone claim deploy-dashboard\n  sessions --as s2 --json milestone claim deploy-dashboard | jq .claim.token"
    )]
    Claim {
        /// The milestone ID (`deploy-dashboard`; see `sessions milestone status`).
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
        /// The milestone ID (`deploy-dashboard`; see `sessions milestone status`).
        id: String,
        /// The step number (from 1).
        step: u64,
        /// The step's new status.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(milestones::STEP_STATUSES))]
        status: String,
        /// What you did or found (kept in the step).
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
    Block {
        /// The milestone ID (`deploy-dashboard`; see `sessions milestone status`).
        id: String,
        /// Why it cannot go on.
        reason: String,
    },
    /// Clear a milestone's blockers.
    #[command(after_help = "Example:\n  sessions --as s2 milestone unblock deploy-dashboard")]
    Unblock {
        /// The milestone ID (`deploy-dashboard`; see `sessions milestone status`).
        id: String,
    },
    /// Leave notes for the next session and release the claim.
    #[command(
        after_help = "Example:\n  sessions --as s2 milestone handoff deploy-dashboard \"step 4 half done; port 8002 still closed\" \\\n      --next \"Open port 8002\" --next \"Finish step 4\""
    )]
    Handoff {
        /// The milestone ID (`deploy-dashboard`; see `sessions milestone status`).
        id: String,
        /// Where you stopped and what the next session must know.
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
        /// One milestone in detail (default: all open ones).
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
            id,
            owner,
            original_template,
        } => {
            let m = milestones::create(
                &hub,
                &NewMilestone {
                    title,
                    priority: Some(priority),
                    steps,
                    why,
                    by: ctx.me_if_given()?,
                    id,
                    owner,
                    original_template,
                },
            )?;
            ctx.emit(&MilestoneDetail::new(m, Shown::Created))
        }
        MilestoneCommand::AddStep { id, description } => {
            let (m, step) = milestones::add_step(&hub, &id, &description)?;
            ctx.emit(&StepAdded {
                step,
                milestone: MilestoneDetail::new(m, Shown::Short(String::new())),
            })
        }
        MilestoneCommand::Claim { id, ttl } => {
            let me = ctx.me()?;
            ctx.emit(&milestones::claim(&hub, &id, &me, ttl)?)
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
            ctx.emit(&up)
        }
        MilestoneCommand::Block { id, reason } => {
            let me = ctx.me()?;
            let m = milestones::block(&hub, &id, &reason, &me)?;
            let text = format!("Blocked {}: {reason}", m.id);
            ctx.emit(&MilestoneDetail::new(m, Shown::Short(text)))
        }
        MilestoneCommand::Unblock { id } => {
            let m = milestones::unblock(&hub, &id)?;
            let text = format!("Unblocked {} ({}).", m.id, m.status);
            ctx.emit(&MilestoneDetail::new(m, Shown::Short(text)))
        }
        MilestoneCommand::Handoff {
            id,
            notes,
            next,
            force,
        } => {
            let me = ctx.me()?;
            ctx.emit(&milestones::handoff(&hub, &id, &notes, &next, &me, force)?)
        }
        MilestoneCommand::Status { id: Some(id), .. } => {
            let m = milestones::read(&hub, &id)?;
            let key = sessions_core::work::claims::milestone_key(&m.id);
            // The claim only adds a line for people; a damaged lock is `doctor`'s to report.
            let claim = sessions_core::work::claims::read(&hub, &key)
                .ok()
                .flatten()
                .map(Box::new);
            ctx.emit(&MilestoneDetail::new(m, Shown::Detail { claim }))
        }
        MilestoneCommand::Status { id: None, all } => {
            let found = milestones::scan(&hub)?;
            let mut list: Vec<Milestone> = found
                .items
                .into_iter()
                .filter(|m| all || m.is_open())
                .collect();
            list.sort_by(|a, b| (a.priority_rank(), &a.id).cmp(&(b.priority_rank(), &b.id)));
            ctx.emit(&MilestoneList {
                milestones: list,
                warnings: found.problems,
            })
        }
    }
}

/// One milestone: the summary plus the whole file (`create`, `block`, `unblock`,
/// `status ID`).
#[derive(Serialize, JsonSchema)]
pub struct MilestoneDetail {
    pub summary: Milestone,
    pub path: std::path::PathBuf,
    /// The milestone file as it is.
    pub milestone: sessions_core::store::record::Record,
    #[serde(skip)]
    shown: Shown,
}

/// What the text of a [`MilestoneDetail`] says.
enum Shown {
    Created,
    Short(String),
    Detail { claim: Option<Box<Claim>> },
}

impl MilestoneDetail {
    fn new(m: Milestone, shown: Shown) -> MilestoneDetail {
        MilestoneDetail {
            path: m.path.clone(),
            milestone: m.record.clone(),
            summary: m,
            shown,
        }
    }
}

impl Render for MilestoneDetail {
    fn text(&self, out: &mut Output) {
        let m = &self.summary;
        match &self.shown {
            Shown::Created => {
                out.line(format!(
                    "Created milestone {} ({} steps): {}",
                    m.id,
                    m.steps_total,
                    m.path.display()
                ));
                out.line(format!("Claim it with: sessions milestone claim {}", m.id));
            }
            Shown::Short(text) => out.line(esc(text)),
            Shown::Detail { claim } => render_detail(out, m, claim.as_deref()),
        }
    }
}

/// `milestone add-step`: the new step's number and the milestone.
#[derive(Serialize, JsonSchema)]
pub struct StepAdded {
    pub step: u64,
    pub milestone: MilestoneDetail,
}

impl Render for StepAdded {
    fn text(&self, out: &mut Output) {
        out.line(format!(
            "Added step {} to {}.",
            self.step, self.milestone.summary.id
        ));
    }
}

/// `milestone claim`: the grant, the milestone and what the last holder left.
impl Render for Claimed {
    fn text(&self, out: &mut Output) {
        self.claim.text(out);
        let m = &self.milestone;
        out.line(format!("{} {}", esc(&m.title), milestone_progress(m)));
        if let Some(notes) = &self.handoff_notes {
            out.line(format!("Handoff notes: {}", esc(notes)));
        }
        // The next steps README promises: what the last holder asked for, the open
        // steps, and the commands that move the work on.
        out.line("Next steps:");
        for s in &self.next_session_should {
            out.line(format!("  - {}", esc(s)));
        }
        let open: Vec<(u64, &str)> = m
            .record
            .get("steps")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter(|s| s.get("status").and_then(serde_json::Value::as_str) != Some("completed"))
            .filter_map(|s| {
                let n = s.get("step")?.as_u64()?;
                let d = s.get("description").and_then(serde_json::Value::as_str);
                Some((n, d.unwrap_or("")))
            })
            .collect();
        for (n, d) in open.iter().take(3) {
            out.line(format!("  - step {n}: {}", esc(d)));
        }
        if open.len() > 3 {
            out.line(format!("  - … {} more open steps", open.len() - 3));
        }
        let id = &m.id;
        match open.first() {
            Some((n, _)) => out.line(format!(
                "  sessions milestone update {id} {n} completed \"what you did\"   # when a step is done"
            )),
            None => out.line(format!(
                "  sessions milestone add-step {id} \"what comes next\"   # it has no open step yet"
            )),
        }
        out.line(format!(
            "  sessions milestone handoff {id} \"where you stopped\"   # if you must stop before it is done"
        ));
        out.line(format!("  sessions milestone status {id}   # the details"));
    }

    fn warnings(&self) -> Vec<String> {
        self.claim.warnings.clone()
    }
}

/// `milestone update`.
impl Render for Updated {
    fn text(&self, out: &mut Output) {
        let m = &self.milestone;
        out.line(format!(
            "Step {} of {} is {}. {}",
            self.step,
            m.id,
            self.status,
            milestone_progress(m)
        ));
        if self.completed_now {
            out.line(format!(
                "🎉 Milestone {} completed: claim released, recorded in CURRENT_STATE.md and on the board.",
                m.id
            ));
        }
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
}

/// `milestone handoff`.
impl Render for HandedOff {
    fn text(&self, out: &mut Output) {
        out.line(format!(
            "Handed off {} at {}%; the claim is released and the notes are kept for the next session.",
            self.milestone.id, self.milestone.progress
        ));
    }
}

/// `milestone status` without an ID: the open (or --all) milestones.
#[derive(Serialize, JsonSchema)]
pub struct MilestoneList {
    pub milestones: Vec<Milestone>,
    /// Files left out because they do not parse, each with path, line and column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Problem>,
}

impl Render for MilestoneList {
    fn text(&self, out: &mut Output) {
        if self.milestones.is_empty() {
            out.line("No open milestones.");
        }
        for m in &self.milestones {
            render_line(out, m);
        }
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.iter().map(ToString::to_string).collect()
    }
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

fn render_line(out: &mut Output, m: &Milestone) {
    out.line(format!(
        "{} {:<6} {:<32} {} {}/{} · {} · {}",
        status_icon(&m.status),
        esc(&m.priority),
        m.id,
        progress_bar(m.progress, 20),
        m.steps_done,
        m.steps_total,
        esc(m.owner.as_deref().unwrap_or("available")),
        esc(&m.status)
    ));
}

fn render_detail(out: &mut Output, m: &Milestone, claim: Option<&Claim>) {
    out.line(out.bold(&format!("{} ({})", esc(&m.title), m.id)));
    out.line(format!(
        "{} {} · priority {} · owner {} · {}",
        status_icon(&m.status),
        esc(&m.status),
        esc(&m.priority),
        esc(m.owner.as_deref().unwrap_or("available")),
        progress_bar(m.progress, 20)
    ));
    if let Some(c) = claim {
        out.line(format!(
            "🔒 claimed by {} (token {}, expires {})",
            esc(&c.holder),
            c.token.map_or("none".into(), |t| t.to_string()),
            esc(c.expires_at.as_deref().unwrap_or("?"))
        ));
    }
    for step in m
        .record
        .get("steps")
        .and_then(|s| s.as_array())
        .into_iter()
        .flatten()
    {
        let text = |k: &str| esc(step.get(k).and_then(|v| v.as_str()).unwrap_or("")).into_owned();
        let n = step.get("step").map(|v| v.to_string()).unwrap_or_default();
        let by = match (text("completed_by").as_str(), text("started_by").as_str()) {
            ("", "") => String::new(),
            ("", s) => format!(" (started by {s})"),
            (c, _) => format!(" (by {c})"),
        };
        out.line(format!(
            "  {} {}. {}{by}",
            status_icon(&text("status")),
            esc(&n),
            text("description")
        ));
        if !text("notes").is_empty() {
            out.line(format!("       {}", out.dim(&text("notes"))));
        }
    }
    let blockers = sessions_core::store::record::list(&m.record, &["blockers"]);
    if !blockers.is_empty() {
        out.line(format!("Blockers: {}", esc(&blockers.join("; "))));
    }
    if let Some(notes) = m.handoff_notes() {
        out.line(format!("Handoff notes: {}", esc(notes)));
    }
    let next = m.next_session_should();
    if !next.is_empty() {
        out.line("Next session should:");
        for s in next {
            out.line(format!("  - {}", esc(&s)));
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
    let found = milestones::ready(&hub, time::now())?;
    let open_milestones = milestones::scan(&hub)?
        .items
        .iter()
        .filter(|m| m.is_open())
        .count();
    let backlog = storage::read_text(&hub.file(layout::CURRENT_STATE)?)?
        .map_or(0, |text| milestones::backlog_items(&text).len());
    ctx.emit(&ReadyList {
        ready: found.items,
        open_items: open_milestones + backlog,
        warnings: found.problems,
    })
}

/// `ready`: the work nobody holds, highest priority first.
#[derive(Serialize, JsonSchema)]
pub struct ReadyList {
    pub ready: Vec<ReadyItem>,
    /// Open milestones plus BACKLOG items, free or not.
    pub open_items: usize,
    /// Files left out because they do not parse, each with path, line and column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Problem>,
}

impl Render for ReadyList {
    fn text(&self, out: &mut Output) {
        if self.ready.is_empty() && self.open_items == 0 {
            out.line(
                "Nothing to do yet: no open milestone and no BACKLOG item. Add one with \
                 `sessions milestone create \"TITLE\"`.",
            );
        } else if self.ready.is_empty() {
            out.line("Nothing is free: every open item is claimed or blocked.");
        }
        for i in &self.ready {
            let progress = i
                .progress
                .map(|p| format!(" {}", progress_bar(p, 10)))
                .unwrap_or_default();
            let stale = i
                .stale_claim_by
                .as_ref()
                .map(|h| format!(" (stale claim by {}: can be taken over)", esc(h)))
                .unwrap_or_default();
            let next = if i.kind == "milestone" {
                format!("sessions milestone claim {}", i.id)
            } else {
                format!("sessions claim {}", i.key)
            };
            out.line(format!(
                "{:<6} {:<9} {}{progress}  → {next}{stale}",
                esc(&i.priority),
                i.kind,
                esc(&i.title)
            ));
        }
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.iter().map(ToString::to_string).collect()
    }
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
    /// What to save: auto (milestone when you hold one, else quick), quick, milestone, full.
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
    // A prompt on a terminal; if stderr is gone the question simply is not shown.
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "{question} ");
    let _ = stderr.flush();
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
    let mut report = Saved {
        session: me.clone(),
        mode: format!("{mode:?}").to_lowercase(),
        heartbeat: false,
        milestones: None,
        git_commit: None,
        warnings: Vec::new(),
    };

    let work = match args.work {
        Some(w) => Some(w),
        None if mode == SaveMode::Quick => ask("What are you working on now? (enter to keep)"),
        None => None,
    };
    presence::heartbeat(
        &hub,
        &me,
        &Beat {
            current_work: work,
            ..Beat::default()
        },
    )?;
    report.heartbeat = true;

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
                    report.warnings.extend(up.warnings);
                    up.milestone
                }
                None => milestones::touch(&hub, id, &me)?,
            };
            saved.push(SavedMilestone {
                id: m.id,
                progress: m.progress,
                status: m.status,
                step,
            });
        }
        report.milestones = Some(saved);
    }

    if mode == SaveMode::Full {
        let message = format!("save-progress: {me} at {}", time::format(time::now()));
        let committed = sessions_git::commit::commit_hub(&hub, &message)?;
        report.git_commit = Some(committed);
    }

    ctx.emit(&report)
}

/// `save-progress`: what was saved.
#[derive(Serialize, JsonSchema)]
pub struct Saved {
    pub session: String,
    /// quick, milestone or full (auto resolved).
    pub mode: String,
    pub heartbeat: bool,
    /// Milestone and full modes: the milestones held, as saved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub milestones: Option<Vec<SavedMilestone>>,
    /// Full mode: the commit made, or null when there was nothing to commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Serialize, JsonSchema)]
pub struct SavedMilestone {
    pub id: String,
    pub progress: u8,
    pub status: String,
    /// The step completed, if any.
    pub step: Option<u64>,
}

impl Render for Saved {
    fn text(&self, out: &mut Output) {
        out.line(format!("💾 Saved ({}) for {}:", self.mode, self.session));
        out.line("  ♥ heartbeat refreshed (claims renewed)");
        if let Some(list) = &self.milestones {
            if list.is_empty() {
                out.line("  no milestone held");
            }
            for m in list {
                out.line(format!(
                    "  🎯 {} at {}% ({})",
                    m.id,
                    m.progress,
                    esc(&m.status)
                ));
            }
        }
        match &self.git_commit {
            Some(Some(c)) => out.line(format!("  📦 committed the hub: {c}")),
            Some(None) => {
                out.line("  📦 nothing to commit (or the hub is not in a git repository)")
            }
            None => {}
        }
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
}
