//! `sessions git setup|sync` and the hidden `sessions merge-driver` git runs.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use schemars::JsonSchema;
use serde::Serialize;
use sessions_core::store::error::exit;
use sessions_core::{Error, Result, store::time};
use sessions_git::{drivers, setup, sync};

use crate::Ctx;
use crate::output::{Output, Render, escape_untrusted as esc};

#[derive(Debug, Subcommand)]
pub enum GitCommand {
    /// Make this repository merge hub files by meaning: the hub's committed
    /// .gitattributes and this clone's merge drivers (idempotent).
    #[command(
        after_help = "Example:\n  sessions git setup            # once per clone\n  sessions git setup --check    # exit 1 and list what is missing"
    )]
    Setup(SetupArgs),
    /// Commit the hub's changes only, fetch, merge with the drivers, push (retrying when
    /// another clone pushed first). Never commits outside the hub, `.sessions/`, or what
    /// you staged; never leaves the repository mid-merge. Exit 1 when a claim of this
    /// clone was lost to another clone's session.
    #[command(
        after_help = "Example:\n  sessions git sync\n  sessions git sync --dry-run --json\n\nHeartbeats whose only change is their time are committed once the committed copy\nis older than --heartbeats-every (default: half the liveness window), so history\ndoes not drown while other machines still see sessions live."
    )]
    Sync(SyncArgs),
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Change nothing; list what is missing (exit 1 if anything is).
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Show what would be committed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Commit a heartbeat whose only change is its time once the committed one is this old (e.g. 2m, 0s).
    #[arg(long, value_name = "DURATION")]
    pub heartbeats_every: Option<String>,
    /// The commit message of the hub commit.
    #[arg(long, short)]
    pub message: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example (git runs it; `sessions git setup` configures it):\n  sessions merge-driver board %O %A %B %P"
)]
pub struct MergeDriverArgs {
    /// The file kind: board, registry, heartbeat, milestone, collab, current-state, status, lock.
    pub kind: String,
    /// The common ancestor's version (%O).
    pub base: PathBuf,
    /// Our version (%A); the result is written here.
    pub ours: PathBuf,
    /// Their version (%B).
    pub theirs: PathBuf,
    /// The file's path in the repository (%P), for messages.
    pub path: Option<String>,
}

pub fn run(ctx: &mut Ctx, command: GitCommand) -> Result<u8> {
    match command {
        GitCommand::Setup(args) => run_setup(ctx, args),
        GitCommand::Sync(args) => run_sync(ctx, args),
    }
}

fn run_setup(ctx: &mut Ctx, args: SetupArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let setup = if args.check {
        setup::check(&hub)?.ok_or_else(|| {
            Error::Usage(format!(
                "{} is not inside a git repository",
                hub.root().display()
            ))
        })?
    } else {
        let exe = std::env::current_exe().map_err(|e| Error::io("sessions", e))?;
        setup::setup(&hub, &exe)?
    };
    ctx.emit(&SetupDone {
        ok: !args.check || setup.changes.is_empty(),
        setup,
        check: args.check,
    })
}

/// `git setup`: what was written, or with --check what is missing (exit 1 if anything).
#[derive(Serialize, JsonSchema)]
pub struct SetupDone {
    /// With --check: nothing is missing.
    pub ok: bool,
    #[serde(flatten)]
    pub setup: setup::Setup,
    #[serde(skip)]
    pub check: bool,
}

impl Render for SetupDone {
    fn text(&self, out: &mut Output) {
        match (self.check, self.setup.changes.is_empty()) {
            (true, true) => out.line("git setup: every merge driver is configured in this clone."),
            (true, false) => {
                for m in &self.setup.changes {
                    out.line(format!("missing: {m}"));
                }
                out.line("run `sessions git setup` to add them.");
            }
            (false, true) => out.line("git setup: already set up; nothing changed."),
            (false, false) => {
                for c in &self.setup.changes {
                    out.line(c.clone());
                }
                out.line("Next: `sessions git sync` commits and shares the hub.");
            }
        }
    }

    fn exit_code(&self) -> u8 {
        if self.ok { exit::OK } else { exit::FAILURE }
    }
}

fn run_sync(ctx: &mut Ctx, args: SyncArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let mut opts = sync::Options::for_hub(&hub);
    opts.dry_run = args.dry_run;
    if let Some(every) = &args.heartbeats_every {
        // Zero is meaningful here (commit every beat), unlike for other durations.
        let zero = every.chars().any(|c| c == '0')
            && every.chars().all(|c| c == '0' || c.is_ascii_alphabetic());
        opts.heartbeat_every = if zero {
            std::time::Duration::ZERO
        } else {
            time::parse_duration(every)
                .map_err(|why| Error::Usage(format!("--heartbeats-every: {why}")))?
        };
    }
    if let Some(m) = args.message {
        opts.message = m;
    }
    // A clone without the drivers would merge hub files as text: set them up first
    // (this clone's config only, and the hub's .gitattributes).
    if !opts.dry_run && setup::check(&hub)?.is_some_and(|s| !s.changes.is_empty()) {
        let exe = std::env::current_exe().map_err(|e| Error::io("sessions", e))?;
        setup::setup(&hub, &exe)?;
    }
    ctx.emit(&sync::sync(&hub, &opts)?)
}

/// `git sync`: exit 1 when a claim of this clone was lost to another clone's session.
impl Render for sync::Report {
    fn text(&self, out: &mut Output) {
        let what = if self.dry_run {
            "would commit"
        } else {
            "committed"
        };
        out.line(format!("{what} {} hub file(s)", self.committed.len()));
        for f in &self.committed {
            out.line(format!("  {f}"));
        }
        if !self.held_back.is_empty() {
            out.line(format!(
                "held back {} time-only heartbeat change(s)",
                self.held_back.len()
            ));
        }
        if !self.dry_run {
            out.line(format!(
                "{}{}",
                if self.merged { "merged, " } else { "" },
                if self.pushed {
                    format!(
                        "pushed to {} ({} attempt(s))",
                        self.remote.clone().unwrap_or_default(),
                        self.attempts
                    )
                } else if self.remote.is_none() {
                    "no remote: nothing pushed".to_string()
                } else {
                    "in step with the remote".to_string()
                }
            ));
        }
        for l in &self.lost_claims {
            out.line(format!("lost claim {} to {}", esc(&l.key), esc(&l.winner)));
        }
    }

    fn exit_code(&self) -> u8 {
        if self.lost_claims.is_empty() {
            exit::OK
        } else {
            exit::FAILURE
        }
    }
}

/// What git runs for a hub file: merge %O %A %B into %A; exit 0 clean, 1 conflict.
pub fn merge_driver(_ctx: &mut Ctx, args: MergeDriverArgs) -> Result<u8> {
    let kind = drivers::Kind::from_name(&args.kind).ok_or_else(|| {
        Error::Usage(format!(
            "unknown file kind {:?}: use one of {}",
            args.kind,
            drivers::Kind::ALL.map(|k| k.name()).join(", ")
        ))
    })?;
    let read = |p: &PathBuf| std::fs::read(p).map_err(|e| Error::io(p, e));
    let path = args
        .path
        .clone()
        .unwrap_or_else(|| args.ours.display().to_string());
    let (base, ours, theirs) = (read(&args.base)?, read(&args.ours)?, read(&args.theirs)?);
    let (Ok(base), Ok(ours_text), Ok(theirs_text)) = (
        std::str::from_utf8(&base),
        std::str::from_utf8(&ours),
        std::str::from_utf8(&theirs),
    ) else {
        // Not text: both sides byte for byte between the markers.
        let mut out = format!("<<<<<<< ours ({path})\n").into_bytes();
        out.extend_from_slice(&ours);
        out.extend_from_slice(b"\n=======\n");
        out.extend_from_slice(&theirs);
        out.extend_from_slice(format!("\n>>>>>>> theirs ({path})\n").as_bytes());
        std::fs::write(&args.ours, &out).map_err(|e| Error::io(&args.ours, e))?;
        eprintln!(
            "sessions merge-driver: {path}: a side is not UTF-8 text; both sides are kept between conflict markers"
        );
        return Ok(1);
    };
    let (ours, theirs) = (ours_text, theirs_text);
    // %A is git's own temporary file: a plain write (git reads it back at once).
    let merged = drivers::merge(kind, base, ours, theirs, &path);
    std::fs::write(&args.ours, merged.text().as_bytes()).map_err(|e| Error::io(&args.ours, e))?;
    match merged {
        drivers::Merged::Clean(_) => Ok(0),
        drivers::Merged::Conflict { reason, .. } => {
            eprintln!("sessions merge-driver: {reason}");
            Ok(1)
        }
    }
}
