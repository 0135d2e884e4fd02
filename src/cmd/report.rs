//! Status documents (`<project>-status.md`): new, set, action, next, show, failing,
//! and the healthcheck over all of them.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use sessions_core::status::report::{self, Edit, Marker, StatusFiles, Summary};
use sessions_core::{Error, Result, init, store::time};

use crate::Ctx;

/// `--dir`: the folder of status files and signals.
#[derive(Debug, Clone, Args)]
pub struct DirArg {
    /// Folder of the status files and signals (default: `[status] dir` in
    /// sessions.toml, else the hub itself). Works without a hub, e.g. an old session-sync/.
    #[arg(long, value_name = "DIR", env = "SESSIONS_STATUS_DIR")]
    pub dir: Option<PathBuf>,
}

/// The status folder: `--dir` (with the hub's settings when there is a hub), else the
/// hub's.
pub fn status_files(ctx: &Ctx, dir: Option<&Path>) -> Result<StatusFiles> {
    match dir {
        Some(d) => match ctx.hub() {
            Ok(hub) => StatusFiles::for_hub(&hub, Some(d)),
            Err(Error::NoHub { .. }) => {
                let mut files = StatusFiles::at(d);
                files.set_allow_secrets(ctx.global.allow_secrets);
                Ok(files)
            }
            Err(e) => Err(e),
        },
        None => StatusFiles::for_hub(&ctx.hub()?, None),
    }
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Create `<project>-status.md` from a template (generic, infrastructure, prospecting).
    #[command(
        after_help = "Example:\n  sessions report new infra --template infrastructure\n  sessions report templates"
    )]
    New {
        project: String,
        #[arg(long, short, default_value = "generic")]
        template: String,
        #[command(flatten)]
        dir: DirArg,
    },
    /// List the built-in templates.
    #[command(after_help = "Example:\n  sessions report templates")]
    Templates,
    /// Set one item's marker (✅ ❌ ⏳ 🔄 or ok fail wip sync) and note; only its line and
    /// the header timestamp change. A missing item or section is added.
    #[command(
        after_help = "Example:\n  sessions report set infra SERVICES API ok \"running on :8080\"\n  sessions report set infra DEPENDENCIES \"Auth service\" ❌ token endpoint down\n\nWithout a note, the item's old note is cleared. The file's signal .<project>-updated is touched."
    )]
    Set {
        project: String,
        /// The group (`**SERVICES:**`); case and emoji do not matter.
        section: String,
        label: String,
        /// ✅ ❌ ⏳ 🔄, or ok fail wip sync.
        #[arg(value_parser = parse_marker)]
        marker: Marker,
        /// A note after the marker (the remaining words; put `--` before a note that
        /// starts with `-`).
        note: Vec<String>,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Add an open action, or tick one (matched by its text or a unique part of it).
    #[command(
        after_help = "Example:\n  sessions report action infra add \"Rotate the certificates\"\n  sessions report action infra done rotate"
    )]
    Action {
        project: String,
        #[arg(value_enum)]
        verb: ActionVerb,
        text: String,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Set the NEXT SESSION line.
    #[command(after_help = "Example:\n  sessions report next infra session-2-deploy")]
    Next {
        project: String,
        session: String,
        #[command(flatten)]
        dir: DirArg,
    },
    /// One status file, parsed; without a project, the roll-up of all of them.
    #[command(
        after_help = "Example:\n  sessions report show\n  sessions report show infra --json | jq '.items[] | select(.marker == \"fail\")'"
    )]
    Show {
        project: Option<String>,
        #[command(flatten)]
        dir: DirArg,
    },
    /// The status files with a ❌ item (the original `grep -l "❌"`); exit 1 when none.
    #[command(after_help = "Example:\n  sessions report failing\n  sessions report failing --json")]
    Failing {
        #[command(flatten)]
        dir: DirArg,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ActionVerb {
    Add,
    Done,
}

fn parse_marker(s: &str) -> std::result::Result<Marker, String> {
    Marker::parse(s)
        .ok_or_else(|| format!("invalid marker {s:?}: use ✅ ❌ ⏳ 🔄 or ok fail wip sync"))
}

pub fn run(ctx: &mut Ctx, command: ReportCommand) -> Result<u8> {
    match command {
        ReportCommand::New {
            project,
            template,
            dir,
        } => {
            let files = status_files(ctx, dir.dir.as_deref())?;
            let templates = init::status_templates();
            let text = templates
                .iter()
                .find(|(name, _)| *name == template)
                .map(|(_, text)| *text)
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "unknown template {template:?}; available: {}",
                        templates
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
            let path = files.create(&project, text)?;
            if ctx.json() {
                ctx.out.json(&serde_json::json!({
                    "project": project, "file": path, "template": template
                }));
            } else {
                ctx.out.line(format!(
                    "Created {} from the {template} template.",
                    path.display()
                ));
            }
            Ok(0)
        }
        ReportCommand::Templates => {
            let templates = init::status_templates();
            if ctx.json() {
                let list: Vec<_> = templates
                    .iter()
                    .map(|(n, t)| serde_json::json!({ "name": n, "text": t }))
                    .collect();
                ctx.out.json(&serde_json::json!({ "templates": list }));
            } else {
                for (name, _) in templates {
                    ctx.out.line(name);
                }
            }
            Ok(0)
        }
        ReportCommand::Set {
            project,
            section,
            label,
            marker,
            note,
            dir,
        } => {
            let note = (!note.is_empty()).then(|| note.join(" "));
            let edit = Edit::Set {
                section,
                label,
                marker,
                note,
            };
            edit_and_print(ctx, dir.dir.as_deref(), &project, &edit)
        }
        ReportCommand::Action {
            project,
            verb,
            text,
            dir,
        } => {
            let edit = match verb {
                ActionVerb::Add => Edit::ActionAdd(text),
                ActionVerb::Done => Edit::ActionDone(text),
            };
            edit_and_print(ctx, dir.dir.as_deref(), &project, &edit)
        }
        ReportCommand::Next {
            project,
            session,
            dir,
        } => edit_and_print(ctx, dir.dir.as_deref(), &project, &Edit::Next(session)),
        ReportCommand::Show { project, dir } => {
            let files = status_files(ctx, dir.dir.as_deref())?;
            match project {
                Some(p) => show_one(ctx, &files, &p),
                None => show_all(ctx, &files),
            }
        }
        ReportCommand::Failing { dir } => {
            let files = status_files(ctx, dir.dir.as_deref())?;
            let (summaries, errors) = report::rollup(&files)?;
            let failing: Vec<&Summary> = summaries.iter().filter(|s| s.fail > 0).collect();
            // A file it cannot read may hold a ❌ too: name it rather than hide it.
            for (path, e) in &errors {
                eprintln!("sessions: cannot read {}: {e}", path.display());
            }
            if ctx.json() {
                let list: Vec<_> = failing
                    .iter()
                    .map(|s| serde_json::json!({ "project": s.project, "file": s.file, "failing": s.failing }))
                    .collect();
                let errors: Vec<_> = errors
                    .iter()
                    .map(|(p, e)| serde_json::json!({ "file": p, "error": e }))
                    .collect();
                ctx.out
                    .json(&serde_json::json!({ "failing": list, "errors": errors }));
            } else {
                for s in &failing {
                    ctx.out
                        .line(format!("{}\t{}", s.file.display(), s.failing.join(", ")));
                }
            }
            Ok(if failing.is_empty() { 1 } else { 0 })
        }
    }
}

fn edit_and_print(ctx: &mut Ctx, dir: Option<&Path>, project: &str, edit: &Edit) -> Result<u8> {
    let files = status_files(ctx, dir)?;
    let done = files.edit(project, edit)?;
    if ctx.json() {
        ctx.out.json(&done);
    } else {
        ctx.out
            .line(format!("{}: {}", done.file.display(), done.line.trim()));
    }
    Ok(0)
}

fn show_one(ctx: &mut Ctx, files: &StatusFiles, project: &str) -> Result<u8> {
    let (path, _, doc) = files.load(project)?;
    let summary = Summary::of(project, &path, &doc, time::now());
    if ctx.json() {
        ctx.out.json(&serde_json::json!({
            "project": project,
            "file": path,
            "summary": summary,
            "document": doc,
        }));
        return Ok(0);
    }
    ctx.out.line(ctx.out.bold(&format!(
        "{} STATUS - {}",
        doc.header_project
            .clone()
            .unwrap_or_else(|| project.to_uppercase()),
        doc.updated_at.as_deref().unwrap_or("(no timestamp)")
    )));
    let mut section = None;
    for item in &doc.items {
        if section != Some(&item.section) {
            section = Some(&item.section);
            ctx.out.line(format!("{}:", item.section));
        }
        let marker = item.marker.map_or("  ", Marker::emoji);
        let note = if item.note.is_empty() {
            String::new()
        } else {
            format!("  {}", ctx.out.dim(&item.note))
        };
        ctx.out.line(format!("  {marker} {}{note}", item.label));
    }
    if !doc.actions.is_empty() {
        ctx.out.line("ACTIONS:");
        for a in &doc.actions {
            ctx.out
                .line(format!("  [{}] {}", if a.done { "x" } else { " " }, a.text));
        }
    }
    ctx.out.line(format!(
        "NEXT SESSION: {}",
        doc.next().unwrap_or("(not set)")
    ));
    if summary.blocked {
        ctx.out.line(
            ctx.out
                .red(&format!("BLOCKED by: {}", summary.blocked_by.join(", "))),
        );
    }
    Ok(0)
}

fn show_all(ctx: &mut Ctx, files: &StatusFiles) -> Result<u8> {
    let (summaries, errors) = report::rollup(files)?;
    if ctx.json() {
        let errors: Vec<_> = errors
            .iter()
            .map(|(p, e)| serde_json::json!({ "file": p, "error": e }))
            .collect();
        ctx.out.json(&serde_json::json!({
            "dir": files.dir(),
            "files": summaries,
            "errors": errors,
        }));
        return Ok(0);
    }
    if summaries.is_empty() && errors.is_empty() {
        ctx.out.line(format!(
            "No status files in {} (create one with `sessions report new <project>`).",
            files.dir().display()
        ));
        return Ok(0);
    }
    let width = summaries
        .iter()
        .map(|s| s.project.len())
        .max()
        .unwrap_or(7)
        .max(7);
    ctx.out.line(format!(
        "{:<width$}  ✅  ❌  ⏳  🔄  ACTIONS  AGE      NEXT SESSION",
        "PROJECT"
    ));
    for s in &summaries {
        let age = s.age_secs.map_or("?".to_string(), time::human_age);
        let blocked = if s.blocked {
            format!("  {}", ctx.out.red("BLOCKED"))
        } else {
            String::new()
        };
        ctx.out.line(format!(
            "{:<width$}  {:>2}  {:>2}  {:>2}  {:>2}  {:>7}  {:<7}  {}{blocked}",
            s.project,
            s.ok,
            s.fail,
            s.wip,
            s.sync,
            s.open_actions,
            age,
            s.next_session.as_deref().unwrap_or("-"),
        ));
    }
    for (path, e) in &errors {
        ctx.out.line(format!("{}: {e}", path.display()));
    }
    Ok(0)
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  sessions healthcheck                      # exit 1 when anything is wrong\n  sessions healthcheck --stale-after 10m --json\n\nChecks every <project>-status.md: not updated for 30 min ([status] stale_after in\nsessions.toml), ❌ on a dependency (blocks the NEXT SESSION), missing timestamp,\nmissing NEXT SESSION."
)]
pub struct HealthcheckArgs {
    /// A file is stale after this long without an update (default 30m).
    #[arg(long, value_name = "DURATION", value_parser = crate::cmd::session::parse_duration)]
    pub stale_after: Option<std::time::Duration>,
    #[command(flatten)]
    pub dir: DirArg,
}

pub fn healthcheck(ctx: &mut Ctx, args: HealthcheckArgs) -> Result<u8> {
    let mut files = status_files(ctx, args.dir.dir.as_deref())?;
    // A folder named on purpose must exist: a typo would otherwise check nothing and
    // report healthy.
    if args.dir.dir.is_some() && !files.dir().is_dir() {
        return Err(Error::NotFound {
            what: "status folder",
            name: files.dir().display().to_string(),
        });
    }
    if let Some(s) = args.stale_after {
        files.stale_after = s;
    }
    let health = report::healthcheck(&files)?;
    if ctx.json() {
        ctx.out.json(&health);
    } else {
        render_health(ctx, &health);
    }
    Ok(if health.ok { 0 } else { 1 })
}

pub fn render_health(ctx: &mut Ctx, health: &report::Health) {
    if health.ok {
        ctx.out.line(ctx.out.green(&format!(
            "✅ healthy: {} status file(s) checked",
            health.checked
        )));
        return;
    }
    ctx.out.line(ctx.out.red(&format!(
        "❌ {} problem(s) in {} status file(s)",
        health.problems.len(),
        health.checked
    )));
    for p in &health.problems {
        ctx.out
            .line(format!("  {} [{}] {}", p.project, p.kind, p.message));
    }
}
