//! CURRENT_STATE.md: show sections, set the current priority, record completed work.

use clap::Subcommand;
use sessions_core::store::hub::layout;
use sessions_core::{Error, Result, store::storage, work::current_state};

use crate::Ctx;

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
        text: String,
        /// Extra lines under the priority's title.
        #[arg(long)]
        details: Option<String>,
    },
    /// Record a completed item at the top of "Recently completed" (keeps the newest N).
    #[command(after_help = "Example:\n  sessions --as s1 state done \"Deployed the dashboard\"")]
    Done { item: String },
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
                    let sections = current_state::sections(&text);
                    if ctx.json() {
                        let list: Vec<_> = sections
                            .iter()
                            .map(|s| serde_json::json!({ "title": s.title, "body": s.body(&text) }))
                            .collect();
                        ctx.out
                            .json(&serde_json::json!({ "path": path, "sections": list }));
                    } else {
                        for s in &sections {
                            ctx.out.line(format!("## {}", s.title));
                        }
                    }
                }
                Some(name) => {
                    let s = current_state::find(&text, &name).ok_or_else(|| Error::NotFound {
                        what: "section",
                        name: name.clone(),
                    })?;
                    let body = &text[s.body_start..s.content_end(&text)];
                    if ctx.json() {
                        ctx.out
                            .json(&serde_json::json!({ "title": s.title, "body": body }));
                    } else {
                        ctx.out.line(format!("## {}", s.title));
                        ctx.out.line(body.trim_end());
                    }
                }
            }
        }
        StateCommand::Priority { text, details } => {
            let me = ctx.me()?;
            current_state::set_priority(&hub, &me, &text, details.as_deref())?;
            if ctx.json() {
                ctx.out
                    .json(&serde_json::json!({ "priority": text, "updated_by": me }));
            } else {
                ctx.out.line(format!("Current priority set: {text}"));
            }
        }
        StateCommand::Done { item } => {
            let me = ctx.me()?;
            let keep = hub.config.current_state.keep_completed;
            current_state::record_completed(&hub, &me, &item, keep)?;
            if ctx.json() {
                ctx.out.json(
                    &serde_json::json!({ "completed": item, "updated_by": me, "kept": keep }),
                );
            } else {
                ctx.out.line(format!("Recorded as completed: {item}"));
            }
        }
    }
    Ok(0)
}
