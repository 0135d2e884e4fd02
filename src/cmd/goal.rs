//! `sessions goal`: agreements to the shared goal (ACTIVE/GOAL_AGREEMENTS/).

use clap::Subcommand;
use serde_json::json;
use sessions_core::Result;
use sessions_core::work::goals;

use crate::Ctx;

#[derive(Debug, Subcommand)]
pub enum GoalCommand {
    /// Record that you agree to the shared goal (one file per session; again replaces it).
    #[command(
        after_help = "Example:\n  sessions --as session-1-dashboard goal agree --comment \"aligned on revenue focus\""
    )]
    Agree {
        /// What you agree to (default: the goal the earlier agreements name).
        #[arg(long)]
        goal: Option<String>,
        #[arg(long)]
        comment: Option<String>,
    },
    /// The sessions that agreed, oldest first.
    #[command(after_help = "Example:\n  sessions goal list\n  sessions --json goal list")]
    List,
}

pub fn run(ctx: &mut Ctx, command: GoalCommand) -> Result<u8> {
    let hub = ctx.hub()?;
    match command {
        GoalCommand::Agree { goal, comment } => {
            let me = ctx.me()?;
            let a = goals::agree(&hub, &me, goal.as_deref(), comment.as_deref())?;
            let total = goals::list(&hub)?.len();
            if ctx.json() {
                ctx.out
                    .json(&json!({ "agreement": a, "agreements": total }));
            } else {
                ctx.out.line(format!(
                    "{me} agrees to {}: {} ({total} agreement(s) so far)",
                    a.goal,
                    crate::rel(&hub, &a.path).display()
                ));
            }
        }
        GoalCommand::List => {
            let all = goals::list(&hub)?;
            if ctx.json() {
                ctx.out
                    .json(&json!({ "agreements": all, "count": all.len() }));
            } else if all.is_empty() {
                ctx.out
                    .line("No goal agreements yet: sessions --as <id> goal agree");
            } else {
                ctx.out.line(format!("{} session(s) agreed:", all.len()));
                for a in &all {
                    ctx.out.line(format!(
                        "  {} ({}) {}",
                        a.session_id,
                        a.time.as_deref().unwrap_or("no time"),
                        a.goal
                    ));
                }
            }
        }
    }
    Ok(0)
}
