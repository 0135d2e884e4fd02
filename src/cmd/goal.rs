//! `sessions goal`: agreements to the shared goal (ACTIVE/GOAL_AGREEMENTS/).

use clap::Subcommand;
use schemars::JsonSchema;
use serde::Serialize;
use sessions_core::Result;
use sessions_core::work::goals::{self, Agreement};

use crate::Ctx;
use crate::output::{Output, Render, escape_untrusted as esc};

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
        /// A note kept with the agreement.
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
            let agreement = goals::agree(&hub, &me, goal.as_deref(), comment.as_deref())?;
            let agreements = goals::list(&hub)?.len();
            ctx.emit(&GoalAgreed {
                agreement,
                agreements,
            })
        }
        GoalCommand::List => {
            let agreements = goals::list(&hub)?;
            ctx.emit(&GoalList {
                count: agreements.len(),
                agreements,
            })
        }
    }
}

/// `goal agree`: the agreement written, and how many there are now.
#[derive(Serialize, JsonSchema)]
pub struct GoalAgreed {
    pub agreement: Agreement,
    pub agreements: usize,
}

impl Render for GoalAgreed {
    fn text(&self, out: &mut Output) {
        out.line(format!(
            "{} agrees to {} ({} agreement(s) so far)",
            esc(&self.agreement.session_id),
            esc(&self.agreement.goal),
            self.agreements
        ));
    }
}

/// `goal list`: every agreement, oldest first.
#[derive(Serialize, JsonSchema)]
pub struct GoalList {
    pub agreements: Vec<Agreement>,
    pub count: usize,
}

impl Render for GoalList {
    fn text(&self, out: &mut Output) {
        if self.agreements.is_empty() {
            out.line("No goal agreements yet: sessions --as <id> goal agree");
            return;
        }
        out.line(format!("{} session(s) agreed:", self.count));
        for a in &self.agreements {
            out.line(format!(
                "  {} ({}) {}",
                esc(&a.session_id),
                esc(a.time.as_deref().unwrap_or("no time")),
                esc(&a.goal)
            ));
        }
    }
}
