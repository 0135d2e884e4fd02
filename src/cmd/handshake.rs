//! ID negotiation: propose an identity, vote, see the tally.

use clap::Subcommand;
use sessions_core::Result;
use sessions_core::sessions::handshake::{self, Identity, ProposalStatus, Vote};

use crate::Ctx;
use crate::cmd::split_list;

#[derive(Debug, Subcommand)]
pub enum HandshakeCommand {
    /// Propose an identity (yours by default); proposing your own counts as agreeing.
    #[command(
        after_help = "Example:\n  sessions --as session-5 handshake propose session-5 --name \"Orchestrator\" \\\n      --role \"AI Orchestration\" --spec crewai,orchestration"
    )]
    Propose {
        /// The session ID proposed.
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        role: Option<String>,
        /// Specializations, comma-separated or repeated.
        #[arg(long = "spec", value_name = "SPEC")]
        specs: Vec<String>,
    },
    /// Vote on a proposal: agree, question or object (one file per vote).
    #[command(
        after_help = "Example:\n  sessions --as session-1 handshake vote session-5-identity agree --comment \"welcome\""
    )]
    Vote {
        /// The proposal ID (`<session-id>-identity`).
        proposal: String,
        /// agree | question | object
        vote: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Show one proposal with its tally, or all of them.
    #[command(
        after_help = "Example:\n  sessions handshake status\n  sessions handshake status session-5-identity --json"
    )]
    Status { proposal: Option<String> },
}

pub fn run(ctx: &mut Ctx, command: HandshakeCommand) -> Result<u8> {
    let hub = ctx.hub()?;
    match command {
        HandshakeCommand::Propose {
            id,
            name,
            role,
            specs,
        } => {
            let by = ctx.me_if_given()?.unwrap_or_else(|| id.clone());
            let st = handshake::propose(
                &hub,
                &by,
                &Identity {
                    session_id: id,
                    name,
                    role,
                    specializations: split_list(&specs),
                },
            )?;
            show(ctx, &[st]);
        }
        HandshakeCommand::Vote {
            proposal,
            vote,
            comment,
        } => {
            let voter = ctx.me()?;
            let vote: Vote = vote.parse()?;
            let st = handshake::vote(&hub, &proposal, &voter, vote, comment.as_deref())?;
            show(ctx, &[st]);
        }
        HandshakeCommand::Status { proposal } => {
            let all = match proposal {
                Some(p) => vec![handshake::status(&hub, &p)?],
                None => handshake::list(&hub)?,
            };
            show(ctx, &all);
        }
    }
    Ok(0)
}

fn show(ctx: &mut Ctx, proposals: &[ProposalStatus]) {
    if ctx.json() {
        if let [one] = proposals {
            ctx.out.json(one);
        } else {
            ctx.out.json(&serde_json::json!({ "proposals": proposals }));
        }
        return;
    }
    if proposals.is_empty() {
        ctx.out.line("No identity proposals.");
    }
    for p in proposals {
        let state = match p.state.as_str() {
            "agreed" => ctx.out.green("✅ agreed"),
            "objected" => ctx.out.red("⛔ objected"),
            _ => ctx.out.yellow("⏳ pending"),
        };
        let legacy = if p.legacy {
            " (from ACTIVE/CONSENSUS)"
        } else {
            ""
        };
        ctx.out.line(format!(
            "🆔 {} → {}  {state}{legacy}",
            p.proposal,
            ctx.out.bold(&p.session_id)
        ));
        if let Some(name) = &p.name {
            ctx.out.line(format!("   name: {name}"));
        }
        if let Some(role) = &p.role {
            ctx.out.line(format!("   role: {role}"));
        }
        let counted = if p.counted < p.tally.agree.len() {
            format!(" ({} from live registered sessions)", p.counted)
        } else {
            String::new()
        };
        ctx.out.line(format!(
            "   votes: {} agree{counted}, {} question, {} object; {} agreeing needed ({} live sessions)",
            p.tally.agree.len(),
            p.tally.question.len(),
            p.tally.object.len(),
            p.needed,
            p.live_sessions
        ));
        for v in p.voters() {
            let comment = v
                .comment
                .as_deref()
                .map(|c| format!(": {c}"))
                .unwrap_or_default();
            let vote = format!("{:?}", v.vote).to_lowercase();
            ctx.out.line(format!("     {vote} {}{comment}", v.voter));
        }
    }
}
