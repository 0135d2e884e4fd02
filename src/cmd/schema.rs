//! `sessions schema [COMMAND]`: the JSON Schema of a command's `--json` output, derived
//! from the same response types that print it, so the contract agents read cannot drift
//! from what the commands emit.

use clap::Args;
use schemars::{JsonSchema, Schema, schema_for};
use serde::Serialize;
use sessions_core::{Error, Result};

use crate::Ctx;
use crate::cmd::{
    chats, claims, collab, doctor, dropins, goal, handshake, hooks, init, milestone, msg, next,
    report, reserve, session, signal, state,
};
use crate::output::{Output, Render};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  sessions schema                       # the commands whose --json output has a schema
  sessions schema status                # the JSON Schema of `sessions --json status`
  sessions schema msg list
  sessions schema error                 # what any command prints with --json when it fails

`watch --json` prints one event object per line; its events are described in README.")]
pub struct SchemaArgs {
    /// The command, as typed after `sessions` (e.g. `status`, `msg list`, `report show PROJECT`).
    pub command: Vec<String>,
}

/// A command as typed (`msg list`, `report show PROJECT`) and its schema's generator.
pub type Contract = (&'static str, fn() -> Schema);

/// Every documented `--json` output. Where the arguments change the shape, each form
/// has its own entry.
pub fn contracts() -> Vec<Contract> {
    fn of<T: JsonSchema>() -> Schema {
        schema_for!(T)
    }
    use sessions_core::sessions::{matching, registry};
    use sessions_core::status::report as status_report;
    use sessions_core::work::{claims as core_claims, collab as core_collab, milestones};
    vec![
        ("error", of::<crate::output::ErrorReport>),
        ("init", of::<init::Initialized>),
        ("register", of::<registry::Registered>),
        ("heartbeat", of::<session::HeartbeatDone>),
        ("unregister", of::<session::Unregistered>),
        ("prune", of::<session::PruneReport>),
        ("sync", of::<registry::SyncView>),
        ("find-help", of::<session::HelpFound>),
        ("match", of::<matching::MatchResult>),
        ("handshake propose", of::<handshake::Proposals>),
        ("handshake vote", of::<handshake::Proposals>),
        ("handshake status", of::<handshake::Proposals>),
        ("state show", of::<state::Sections>),
        ("state show SECTION", of::<state::SectionText>),
        ("state priority", of::<state::PrioritySet>),
        ("state done", of::<state::CompletedRecorded>),
        ("status", of::<sessions_core::views::glance::Glance>),
        ("claim", of::<core_claims::Grant>),
        ("renew", of::<claims::RenewedAll>),
        ("renew KEY", of::<claims::RenewedOne>),
        ("release", of::<claims::ReleasedClaims>),
        ("claims", of::<claims::ClaimList>),
        ("milestone create", of::<milestone::MilestoneDetail>),
        ("milestone add-step", of::<milestone::StepAdded>),
        ("milestone claim", of::<milestones::Claimed>),
        ("milestone update", of::<milestones::Updated>),
        ("milestone block", of::<milestone::MilestoneDetail>),
        ("milestone unblock", of::<milestone::MilestoneDetail>),
        ("milestone handoff", of::<milestones::HandedOff>),
        ("milestone status", of::<milestone::MilestoneList>),
        ("milestone status ID", of::<milestone::MilestoneDetail>),
        ("ready", of::<milestone::ReadyList>),
        ("save-progress", of::<milestone::Saved>),
        ("msg send", of::<msg::Sent>),
        ("msg list", of::<msg::MessageList>),
        ("msg show", of::<msg::Shown>),
        ("msg thread", of::<msg::Thread>),
        ("msg ack", of::<msg::Acked>),
        ("msg archive", of::<msg::ArchiveReport>),
        ("inbox", of::<msg::InboxShown>),
        ("collab request", of::<collab::Requested>),
        ("collab accept", of::<collab::Moved>),
        ("collab decline", of::<collab::Moved>),
        ("collab start", of::<collab::Moved>),
        ("collab complete", of::<collab::Moved>),
        ("collab handoff", of::<collab::Moved>),
        ("collab list", of::<collab::RequestList>),
        ("collab show", of::<collab::RequestShown>),
        ("collab metrics", of::<core_collab::Metrics>),
        ("report new", of::<report::Created>),
        ("report templates", of::<report::Templates>),
        ("report set", of::<status_report::Edited>),
        ("report action", of::<status_report::Edited>),
        ("report next", of::<status_report::Edited>),
        ("report show", of::<report::StatusRollup>),
        ("report show PROJECT", of::<report::StatusShown>),
        ("report failing", of::<report::Failing>),
        ("healthcheck", of::<status_report::Health>),
        ("signal", of::<signal::Touched>),
        ("signals", of::<signal::SignalList>),
        ("consume", of::<signal::Consumed>),
        ("doctor", of::<doctor::Checked>),
        ("git setup", of::<crate::cmd::git::SetupDone>),
        ("git sync", of::<sessions_git::sync::Report>),
        ("goal agree", of::<goal::GoalAgreed>),
        ("goal list", of::<goal::GoalList>),
        ("next", of::<next::NextShown>),
        ("install-dropins", of::<dropins::Installed>),
        ("reserve", of::<reserve::ReserveDone>),
        ("reservations", of::<reserve::ReservationList>),
        ("unreserve", of::<reserve::Unreserved>),
        ("whoami", of::<hooks::Identity>),
        ("chats list", of::<chats::ChatList>),
        ("chats show", of::<chats::ChatShown>),
        ("chats send", of::<chats::SendReport>),
        ("chats clean", of::<chats::CleanReport>),
        ("chats stats", of::<chats::StatsShown>),
        ("resume", of::<chats::ResumePrinted>),
        ("prime", of::<hooks::Primed>),
        ("hooks install", of::<hooks::HooksChanged>),
        ("hooks uninstall", of::<hooks::HooksChanged>),
        ("hooks status", of::<hooks::HooksStatus>),
    ]
}

pub fn run(ctx: &mut Ctx, args: SchemaArgs) -> Result<u8> {
    let contracts = contracts();
    if args.command.is_empty() {
        return ctx.emit(&SchemaList {
            commands: contracts.iter().map(|(name, _)| *name).collect(),
        });
    }
    let wanted = args.command.join(" ");
    // `quick-status` and `who` are aliases; `sessions schema msg` means its subcommands.
    let wanted = match wanted.as_str() {
        "quick-status" => "status",
        "who" => "sync",
        w => w,
    };
    match contracts.iter().find(|(name, _)| *name == wanted) {
        Some((_, schema)) => ctx.emit(&SchemaShown(schema())),
        None => {
            let close: Vec<&str> = contracts
                .iter()
                .map(|(name, _)| *name)
                .filter(|name| name.starts_with(wanted))
                .collect();
            Err(Error::Usage(if close.is_empty() {
                format!("no schema for {wanted:?}: `sessions schema` lists the commands")
            } else {
                format!(
                    "no schema for {wanted:?}; did you mean: {}",
                    close.join(", ")
                )
            }))
        }
    }
}

/// `sessions schema`: the commands that have a schema.
#[derive(Serialize, JsonSchema)]
pub struct SchemaList {
    pub commands: Vec<&'static str>,
}

impl Render for SchemaList {
    fn text(&self, out: &mut Output) {
        for name in &self.commands {
            out.line(*name);
        }
    }
}

/// `sessions schema COMMAND`: a JSON Schema (JSON in text mode too: it is for tools).
#[derive(Serialize)]
#[serde(transparent)]
pub struct SchemaShown(pub Schema);

impl Render for SchemaShown {
    fn text(&self, out: &mut Output) {
        if let Ok(text) = serde_json::to_string_pretty(&self.0) {
            out.line(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::contracts;
    use crate::cli::Cli;

    /// Every schema is named after a command that exists (its lower-case words are the
    /// subcommand path; upper-case words name an argument), and every one generates.
    #[test]
    fn every_schema_names_a_real_command() {
        let cli = Cli::command();
        for (name, schema) in contracts() {
            schema();
            if name == "error" {
                continue;
            }
            let mut command = &cli;
            for word in name
                .split(' ')
                .filter(|w| w.chars().any(char::is_lowercase))
            {
                command = command
                    .find_subcommand(word)
                    .unwrap_or_else(|| panic!("schema {name:?}: no command {word:?}"));
            }
            assert!(
                !command.has_subcommands(),
                "schema {name:?} names a group, not a command"
            );
        }
    }
}
