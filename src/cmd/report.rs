//! Status documents (`<project>-status.md`): new, set, action, next, show, failing,
//! and the healthcheck over all of them.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use schemars::JsonSchema;
use serde::Serialize;
use sessions_core::status::report::{
    self, Edit, Edited, Health, Marker, StatusDoc, StatusFiles, Summary, Unreadable,
};
use sessions_core::store::error::exit;
use sessions_core::{Error, Result, init, store::time};

use crate::Ctx;
use crate::output::{Output, Render, escape_untrusted as esc};

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
        /// The project: its file is `<project>-status.md`.
        project: String,
        /// The built-in template (`sessions report templates` lists them).
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
        /// The project: its file is `<project>-status.md`.
        project: String,
        /// The group (`**SERVICES:**`); case and emoji do not matter.
        section: String,
        /// The item (`API`, `Auth service`); added when missing.
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
        /// The project: its file is `<project>-status.md`.
        project: String,
        /// add a new open action, or tick one done.
        #[arg(value_enum)]
        verb: ActionVerb,
        /// The action's text (for done: the whole text or a unique part of it).
        text: String,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Set the NEXT SESSION line.
    #[command(after_help = "Example:\n  sessions report next infra session-2-deploy")]
    Next {
        /// The project: its file is `<project>-status.md`.
        project: String,
        /// Who should pick it up next (a session ID or any text).
        session: String,
        #[command(flatten)]
        dir: DirArg,
    },
    /// One status file, parsed; without a project, the roll-up of all of them.
    #[command(
        after_help = "Example:\n  sessions report show\n  sessions report show infra --json | jq '.items[] | select(.marker == \"fail\")'"
    )]
    Show {
        /// One project (default: the roll-up of all).
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
            let file = files.create(&project, text)?;
            ctx.emit(&Created {
                project,
                file,
                template,
            })
        }
        ReportCommand::Templates => ctx.emit(&Templates {
            templates: init::status_templates()
                .iter()
                .map(|(name, text)| Template { name, text })
                .collect(),
        }),
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
            let failing = summaries
                .into_iter()
                .filter(|s| s.fail > 0)
                .map(|s| FailingFile {
                    project: s.project,
                    file: s.file,
                    failing: s.failing,
                })
                .collect();
            ctx.emit(&Failing {
                failing,
                errors: unreadable(errors),
            })
        }
    }
}

/// `report new`.
#[derive(Serialize, JsonSchema)]
pub struct Created {
    pub project: String,
    pub file: PathBuf,
    pub template: String,
}

impl Render for Created {
    fn text(&self, out: &mut Output) {
        out.line(format!(
            "Created {} from the {} template.",
            self.file.display(),
            self.template
        ));
    }
}

/// `report templates`.
#[derive(Serialize, JsonSchema)]
pub struct Templates {
    pub templates: Vec<Template>,
}

#[derive(Serialize, JsonSchema)]
pub struct Template {
    pub name: &'static str,
    pub text: &'static str,
}

impl Render for Templates {
    fn text(&self, out: &mut Output) {
        for t in &self.templates {
            out.line(t.name);
        }
    }
}

/// A status file that could not be read (it is named, not hidden: it may hold a ❌).
#[derive(Serialize, JsonSchema)]
pub struct UnreadableFile {
    pub file: PathBuf,
    pub error: String,
}

fn unreadable(errors: Unreadable) -> Vec<UnreadableFile> {
    errors
        .into_iter()
        .map(|(file, error)| UnreadableFile { file, error })
        .collect()
}

/// `report failing`: the files with a ❌ (exit 1 when none has one).
#[derive(Serialize, JsonSchema)]
pub struct Failing {
    pub failing: Vec<FailingFile>,
    pub errors: Vec<UnreadableFile>,
}

#[derive(Serialize, JsonSchema)]
pub struct FailingFile {
    pub project: String,
    pub file: PathBuf,
    /// The labels marked ❌.
    pub failing: Vec<String>,
}

impl Render for Failing {
    fn text(&self, out: &mut Output) {
        for s in &self.failing {
            out.line(format!(
                "{}\t{}",
                s.file.display(),
                esc(&s.failing.join(", "))
            ));
        }
    }

    fn exit_code(&self) -> u8 {
        if self.failing.is_empty() {
            exit::FAILURE
        } else {
            exit::OK
        }
    }

    fn warnings(&self) -> Vec<String> {
        self.errors
            .iter()
            .map(|e| format!("cannot read {}: {}", e.file.display(), e.error))
            .collect()
    }
}

fn edit_and_print(ctx: &mut Ctx, dir: Option<&Path>, project: &str, edit: &Edit) -> Result<u8> {
    let files = status_files(ctx, dir)?;
    ctx.emit(&files.edit(project, edit)?)
}

/// `report set|action|next`: the line as written.
impl Render for Edited {
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    fn text(&self, out: &mut Output) {
        out.line(format!(
            "{}: {}",
            self.file.display(),
            esc(self.line.trim())
        ));
    }
}

fn show_one(ctx: &mut Ctx, files: &StatusFiles, project: &str) -> Result<u8> {
    let (path, _, doc) = files.load(project)?;
    let summary = Summary::of(project, &path, &doc, time::now());
    ctx.emit(&StatusShown {
        project: project.to_string(),
        file: path,
        summary,
        document: doc,
    })
}

/// `report show PROJECT`: one status document, parsed, with its summary.
#[derive(Serialize, JsonSchema)]
pub struct StatusShown {
    pub project: String,
    pub file: PathBuf,
    pub summary: Summary,
    pub document: StatusDoc,
}

impl Render for StatusShown {
    fn text(&self, out: &mut Output) {
        let (doc, summary) = (&self.document, &self.summary);
        out.line(out.bold(&format!(
            "{} STATUS - {}",
            esc(&doc
                .header_project
                .clone()
                .unwrap_or_else(|| self.project.to_uppercase())),
            esc(doc.updated_at.as_deref().unwrap_or("(no timestamp)"))
        )));
        let mut section = None;
        for item in &doc.items {
            if section != Some(&item.section) {
                section = Some(&item.section);
                out.line(format!("{}:", esc(&item.section)));
            }
            let marker = item.marker.map_or("  ", Marker::emoji);
            let note = if item.note.is_empty() {
                String::new()
            } else {
                format!("  {}", out.dim(&esc(&item.note)))
            };
            out.line(format!("  {marker} {}{note}", esc(&item.label)));
        }
        if !doc.actions.is_empty() {
            out.line("ACTIONS:");
            for a in &doc.actions {
                out.line(format!(
                    "  [{}] {}",
                    if a.done { "x" } else { " " },
                    esc(&a.text)
                ));
            }
        }
        out.line(format!(
            "NEXT SESSION: {}",
            esc(doc.next().unwrap_or("(not set)"))
        ));
        if summary.blocked {
            out.line(out.red(&format!(
                "BLOCKED by: {}",
                esc(&summary.blocked_by.join(", "))
            )));
        }
    }
}

fn show_all(ctx: &mut Ctx, files: &StatusFiles) -> Result<u8> {
    let (summaries, errors) = report::rollup(files)?;
    ctx.emit(&StatusRollup {
        dir: files.dir().to_path_buf(),
        files: summaries,
        errors: unreadable(errors),
    })
}

/// `report show`: every status file's summary.
#[derive(Serialize, JsonSchema)]
pub struct StatusRollup {
    pub dir: PathBuf,
    pub files: Vec<Summary>,
    pub errors: Vec<UnreadableFile>,
}

impl Render for StatusRollup {
    fn text(&self, out: &mut Output) {
        render_rollup(out, self);
    }
}

fn render_rollup(out: &mut Output, rollup: &StatusRollup) {
    let (summaries, errors) = (&rollup.files, &rollup.errors);
    if summaries.is_empty() && errors.is_empty() {
        out.line(format!(
            "No status files in {} (create one with `sessions report new <project>`).",
            rollup.dir.display()
        ));
        return;
    }
    let width = summaries
        .iter()
        .map(|s| s.project.len())
        .max()
        .unwrap_or(7)
        .max(7);
    out.line(format!(
        "{:<width$}  ✅  ❌  ⏳  🔄  ACTIONS  AGE      NEXT SESSION",
        "PROJECT"
    ));
    for s in summaries {
        let age = s.age_secs.map_or("?".to_string(), time::human_age);
        let blocked = if s.blocked {
            format!("  {}", out.red("BLOCKED"))
        } else {
            String::new()
        };
        out.line(format!(
            "{:<width$}  {:>2}  {:>2}  {:>2}  {:>2}  {:>7}  {:<7}  {}{blocked}",
            s.project,
            s.ok,
            s.fail,
            s.wip,
            s.sync,
            s.open_actions,
            age,
            esc(s.next_session.as_deref().unwrap_or("-")),
        ));
    }
    for e in errors {
        out.line(format!("{}: {}", e.file.display(), e.error));
    }
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
    ctx.emit(&report::healthcheck(&files)?)
}

/// `healthcheck` (exit 1 when anything is wrong).
impl Render for Health {
    fn text(&self, out: &mut Output) {
        if self.ok {
            out.line(out.green(&format!(
                "✅ healthy: {} status file(s) checked",
                self.checked
            )));
            return;
        }
        out.line(out.red(&format!(
            "❌ {} problem(s) in {} status file(s)",
            self.problems.len(),
            self.checked
        )));
        for p in &self.problems {
            out.line(format!(
                "  {} [{}] {}",
                esc(&p.project),
                p.kind,
                esc(&p.message)
            ));
        }
    }

    fn exit_code(&self) -> u8 {
        if self.ok { exit::OK } else { exit::FAILURE }
    }
}
