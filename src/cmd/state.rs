//! CURRENT_STATE.md: show sections, set the current priority, record completed work.

use std::path::PathBuf;

use clap::Subcommand;
use schemars::JsonSchema;
use serde::Serialize;
use sessions_core::store::hub::layout;
use sessions_core::{Error, Result, store::storage, work::current_state};

use crate::Ctx;
use crate::output::{Output, Render, escape_untrusted as esc, escape_untrusted_lines};

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the sections, or print one (matched loosely: `sessions state show priority`).
    #[command(
        after_help = "Example:\n  sessions state show\n  sessions state show \"current priority\""
    )]
    Show {
        /// Part of a section title; emoji and case do not matter.
        section: Option<String>,
    },
    /// Replace the current priority (the section's heading and separator stay).
    #[command(
        after_help = "Example:\n  sessions --as s1 state priority \"Ship the login page\" --details \"Owner: s1\""
    )]
    Priority {
        /// The new priority's title.
        text: String,
        /// Extra lines under the priority's title.
        #[arg(long)]
        details: Option<String>,
    },
    /// Record a completed item at the top of "Recently completed" (keeps the newest N).
    #[command(after_help = "Example:\n  sessions --as s1 state done \"Deployed the dashboard\"")]
    Done {
        /// What was completed.
        item: String,
    },
}

pub fn run(ctx: &mut Ctx, command: StateCommand) -> Result<u8> {
    let hub = ctx.hub()?;
    let path = hub.file(layout::CURRENT_STATE)?;
    match command {
        StateCommand::Show { section } => {
            let text = storage::read_text(&path)?.ok_or_else(|| Error::NotFound {
                what: "file",
                name: path.display().to_string(),
            })?;
            match section {
                None => {
                    let sections = current_state::sections(&text)
                        .iter()
                        .map(|s| SectionText {
                            title: s.title.clone(),
                            body: s.body(&text).to_string(),
                        })
                        .collect();
                    ctx.emit(&Sections { path, sections })
                }
                Some(name) => {
                    let s = current_state::find(&text, &name).ok_or_else(|| Error::NotFound {
                        what: "section",
                        name: name.clone(),
                    })?;
                    ctx.emit(&SectionText {
                        title: s.title.clone(),
                        body: text[s.body_start..s.content_end(&text)].to_string(),
                    })
                }
            }
        }
        StateCommand::Priority { text, details } => {
            let me = ctx.me()?;
            current_state::set_priority(&hub, &me, &text, details.as_deref())?;
            ctx.emit(&PrioritySet {
                priority: text,
                updated_by: me,
            })
        }
        StateCommand::Done { item } => {
            let me = ctx.me()?;
            let keep = hub.config.current_state.keep_completed;
            current_state::record_completed(&hub, &me, &item, keep)?;
            ctx.emit(&CompletedRecorded {
                completed: item,
                updated_by: me,
                kept: keep,
            })
        }
    }
}

/// `state show`: the sections of CURRENT_STATE.md (text: their titles).
#[derive(Serialize, JsonSchema)]
pub struct Sections {
    pub path: PathBuf,
    pub sections: Vec<SectionText>,
}

impl Render for Sections {
    fn text(&self, out: &mut Output) {
        for s in &self.sections {
            out.line(format!("## {}", esc(&s.title)));
        }
    }
}

/// `state show SECTION`: one section.
#[derive(Serialize, JsonSchema)]
pub struct SectionText {
    pub title: String,
    pub body: String,
}

impl Render for SectionText {
    fn text(&self, out: &mut Output) {
        out.line(format!("## {}", esc(&self.title)));
        out.line(escape_untrusted_lines(self.body.trim_end()));
    }
}

/// `state priority`.
#[derive(Serialize, JsonSchema)]
pub struct PrioritySet {
    pub priority: String,
    pub updated_by: String,
}

impl Render for PrioritySet {
    fn text(&self, out: &mut Output) {
        out.line(format!("Current priority set: {}", esc(&self.priority)));
    }
}

/// `state done`.
#[derive(Serialize, JsonSchema)]
pub struct CompletedRecorded {
    pub completed: String,
    pub updated_by: String,
    /// How many completed items CURRENT_STATE.md keeps.
    pub kept: usize,
}

impl Render for CompletedRecorded {
    fn text(&self, out: &mut Output) {
        out.line(format!("Recorded as completed: {}", esc(&self.completed)));
    }
}
