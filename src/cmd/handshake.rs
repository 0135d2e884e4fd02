//! ID negotiation: propose an identity, vote, see the tally.

use clap::Subcommand;
use schemars::JsonSchema;
use serde::Serialize;
use sessions_core::Result;
use sessions_core::sessions::handshake::{self, Identity, ProposalStatus, Vote};

use crate::Ctx;
use crate::cmd::split_list;
use crate::output::{Output, Render, escape_untrusted as esc};

#[derive(Debug, Subcommand)]
pub enum HandshakeCommand {
    /// Propose an identity (yours by default); proposing your own counts as agreeing.
    #[command(
        after_help = "Example:\n  sessions --as session-5 handshake propose session-5 --name \"Orchestrator\" \\\n      --role \"AI Orchestration\" --spec crewai,orchestration"
    )]
    Propose {
        /// The session ID proposed.
        id: String,
        /// A name people read.
        #[arg(long)]
        name: Option<String>,
        /// The role proposed.
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
        /// The proposal ID (`<session-id>-identity`), the proposed session's ID, or a
        /// unique prefix or suffix.
        proposal: String,
        /// agree | question | object
        vote: String,
        /// Why (kept with the vote).
        #[arg(long)]
        comment: Option<String>,
    },
    /// Show one proposal with its tally, or all of them.
    #[command(
        after_help = "Example:\n  sessions handshake status\n  sessions handshake status session-5-identity --json"
    )]
    Status {
        /// One proposal (ID, the proposed session's ID, or a unique prefix or suffix).
        proposal: Option<String>,
    },
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
            ctx.emit(&Proposals::One(Box::new(st)))
        }
        HandshakeCommand::Vote {
            proposal,
            vote,
            comment,
        } => {
            let voter = ctx.me()?;
            let vote: Vote = vote.parse()?;
            let proposal = handshake::resolve_id(&hub, &proposal)?;
            let st = handshake::vote(&hub, &proposal, &voter, vote, comment.as_deref())?;
            ctx.emit(&Proposals::One(Box::new(st)))
        }
        HandshakeCommand::Status { proposal } => {
            let mut all = match proposal {
                Some(p) => vec![handshake::status(&hub, &handshake::resolve_id(&hub, &p)?)?],
                None => handshake::list(&hub)?,
            };
            // One proposal prints as itself, any other number as a list (as always).
            if all.len() == 1 {
                ctx.emit(&Proposals::One(Box::new(all.remove(0))))
            } else {
                ctx.emit(&Proposals::Many { proposals: all })
            }
        }
    }
}

/// `handshake propose|vote|status`: one proposal's state, or (status of all, when
/// there are not exactly one) `{"proposals": [...]}`.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Proposals {
    One(Box<ProposalStatus>),
    Many { proposals: Vec<ProposalStatus> },
}

impl Render for Proposals {
    fn text(&self, out: &mut Output) {
        match self {
            Proposals::One(p) => show(out, std::slice::from_ref(p.as_ref())),
            Proposals::Many { proposals } => show(out, proposals),
        }
    }
}

fn show(out: &mut Output, proposals: &[ProposalStatus]) {
    if proposals.is_empty() {
        out.line("No identity proposals.");
    }
    for p in proposals {
        let state = match p.state.as_str() {
            "agreed" => out.green("✅ agreed"),
            "objected" => out.red("⛔ objected"),
            _ => out.yellow("⏳ pending"),
        };
        let legacy = if p.legacy {
            " (from ACTIVE/CONSENSUS)"
        } else {
            ""
        };
        out.line(format!(
            "🆔 {} → {}  {state}{legacy}",
            esc(&p.proposal),
            out.bold(&esc(&p.session_id))
        ));
        if let Some(name) = &p.name {
            out.line(format!("   name: {}", esc(name)));
        }
        if let Some(role) = &p.role {
            out.line(format!("   role: {}", esc(role)));
        }
        let counted = if p.counted < p.tally.agree.len() {
            format!(" ({} from live registered sessions)", p.counted)
        } else {
            String::new()
        };
        out.line(format!(
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
                .map(|c| format!(": {}", esc(c)))
                .unwrap_or_default();
            let vote = format!("{:?}", v.vote).to_lowercase();
            out.line(format!("     {vote} {}{comment}", esc(&v.voter)));
        }
    }
}
