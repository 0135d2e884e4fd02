//! The command-line grammar. Each area's arguments live beside its command in `cmd/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::cmd;
use crate::output::ColorChoice;

const AFTER_HELP: &str = "\
Examples:
  sessions init                          create ./SESSIONS from the built-in template
  sessions --as s1 register --name \"Dashboard Builder\" --spec ui,react
  sessions --as s1 heartbeat --work \"building the login page\"
  sessions status                        the dashboard (add --json for agents)
  sessions match \"deploy the API to production\"

The original scripts' names: sessions dropin update-milestone <id> <step> <status> ...
(or a link named like the script: sessions install-dropins DIR).

Environment: SESSIONS_HUB (the hub folder), SESSIONS_ID (who you are), NO_COLOR.
Exit codes: 0 ok, 1 failure or a \"no\" answer (e.g. already claimed), 2 usage,
3 no hub, 4 a hub file does not parse, 5 lock timeout, 6 refused (secret, stale token,
forbidden transition).";

#[derive(Debug, Parser)]
#[command(
    name = "sessions",
    version,
    about = "Coordinate parallel AI coding sessions through a plain SESSIONS/ folder",
    after_help = AFTER_HELP,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// The hub folder (default: the nearest SESSIONS/ upwards).
    #[arg(long, global = true, env = "SESSIONS_HUB", value_name = "DIR",
          value_parser = clap::builder::TypedValueParser::map(
              clap::builder::OsStringValueParser::new(), PathBuf::from))]
    pub hub: Option<PathBuf>,
    /// Act as this session.
    #[arg(long = "as", global = true, env = "SESSIONS_ID", value_name = "ID")]
    pub as_id: Option<String>,
    /// Print JSON for agents and scripts: one document (`sessions schema COMMAND` gives
    /// its JSON Schema); `watch` prints one JSON object per line.
    #[arg(long, global = true)]
    pub json: bool,
    /// Write text even if it looks like a secret (API key, token, private key).
    #[arg(long, global = true)]
    pub allow_secrets: bool,
    /// Colour text output: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Quiet: no warnings, notes or progress lines on stderr (errors still print).
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a hub from the built-in template.
    Init(cmd::init::InitArgs),
    /// Register a session: registry entry, heartbeat and hello file (idempotent).
    Register(cmd::session::RegisterArgs),
    /// Refresh this session's heartbeat (status, current work).
    Heartbeat(cmd::session::HeartbeatArgs),
    /// Remove a session from the registry and delete its heartbeat.
    Unregister(cmd::session::UnregisterArgs),
    /// Delete heartbeats that have not been refreshed for a while (registry entries stay).
    Prune(cmd::session::PruneArgs),
    /// Every session with liveness, role, status and current work (session-sync).
    #[command(visible_alias = "who")]
    Sync(cmd::session::SyncArgs),
    /// Sessions offering a capability, the most available first.
    FindHelp(cmd::session::FindHelpArgs),
    /// Rank sessions for a task description.
    Match(cmd::session::MatchArgs),
    /// Agree on session identities: propose, vote, status.
    #[command(subcommand)]
    Handshake(cmd::handshake::HandshakeCommand),
    /// Read and edit CURRENT_STATE.md's named sections.
    #[command(subcommand)]
    State(cmd::state::StateCommand),
    /// The dashboard: sessions, claims, milestones, current priority, messages.
    #[command(visible_alias = "quick-status")]
    Status(cmd::status::StatusArgs),
    /// Claim a key (a lease in PRIORITIES/<key>.lock); prints the fencing token.
    Claim(cmd::claims::ClaimArgs),
    /// Extend the lease of a claim you hold (or of all of them).
    Renew(cmd::claims::RenewArgs),
    /// Release a claim you hold (or --all; --force with a reason for someone else's).
    Release(cmd::claims::ReleaseArgs),
    /// Every claim with holder, liveness, token, age and time left.
    Claims(cmd::claims::ClaimsArgs),
    /// Reserve paths or globs of the repository (a claim on files; edits by others are denied by hooks).
    Reserve(cmd::reserve::ReserveArgs),
    /// Every file reservation with holder, mode, token and time left.
    Reservations(cmd::reserve::ReservationsArgs),
    /// Release file reservations you hold (or --force with a reason for someone else's).
    Unreserve(cmd::reserve::UnreserveArgs),
    /// Multi-step work: create, add-step, claim, update, block, unblock, handoff, status.
    #[command(subcommand)]
    Milestone(cmd::milestone::MilestoneCommand),
    /// The work nobody holds, highest priority first.
    Ready(cmd::milestone::ReadyArgs),
    /// Save progress: heartbeat, milestone, and (full) a git commit of the hub.
    SaveProgress(cmd::milestone::SaveProgressArgs),
    /// The message board: send, list, show, thread, ack, archive.
    #[command(subcommand)]
    Msg(cmd::msg::MsgCommand),
    /// Messages addressed to me (direct, broadcast, mentions); --unread, --mark-read.
    Inbox(cmd::msg::InboxArgs),
    /// Collaboration requests: request, accept, decline, start, complete, handoff, list, metrics.
    #[command(subcommand)]
    Collab(cmd::collab::CollabCommand),
    /// Status documents (<project>-status.md): new, set, action, next, show, failing.
    #[command(
        subcommand,
        after_help = "Example:\n  sessions report new infra --template infrastructure\n  sessions report set infra INFRASTRUCTURE Server ok \"up on :8080\"\n  sessions report show"
    )]
    Report(cmd::report::ReportCommand),
    /// Check every status file: stale, blocked by a ❌ dependency, missing timestamp or
    /// NEXT SESSION (exit 1 when anything is wrong).
    Healthcheck(cmd::report::HealthcheckArgs),
    /// Touch signals: `signal infra` touches .infra-updated.
    Signal(cmd::signal::SignalArgs),
    /// List pending signals with their age (--new: only those this session has not seen).
    Signals(cmd::signal::SignalsArgs),
    /// Take one signal atomically and print the status file it belongs to.
    Consume(cmd::signal::ConsumeArgs),
    /// Watch the hub and report events as they happen (signals, status changes,
    /// messages, claims, milestones, sessions), optionally running a command for each.
    Watch(cmd::watch::WatchArgs),
    /// Check every hub file the commands read; report problems with file, line and column.
    Doctor(cmd::doctor::DoctorArgs),
    /// The hook handler agent CLIs run: provider JSON on stdin, the provider's answer out.
    Hook(cmd::hooks::HookArgs),
    /// Install, remove or check the hooks of Claude Code, Codex, Gemini CLI or Cursor.
    #[command(subcommand)]
    Hooks(cmd::hooks::HooksCommand),
    /// The hub session this agent is (bound by the hooks; SESSIONS_ID overrides).
    Whoami(cmd::hooks::WhoamiArgs),
    /// The session-start brief: who you are, who is live, your claims, ready work, messages.
    Prime(cmd::hooks::PrimeArgs),
    /// Serve the hub to MCP clients on stdio (status, inbox, send, claim, reserve, ...).
    Mcp(cmd::mcp::McpArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell), or --install them.
    Completions(cmd::completions::CompletionsArgs),
    /// Print the manual page (or write one per command with --out-dir).
    Man(cmd::man::ManArgs),
    /// Run a demo: a throw-away hub with several real session processes.
    Demo(cmd::demo::DemoArgs),
    /// Share the hub through git: `git setup` (merge drivers), `git sync` (commit the
    /// hub, fetch, merge, push).
    #[command(subcommand)]
    Git(cmd::git::GitCommand),
    /// The merge driver git runs for hub files (configured by `sessions git setup`).
    #[command(hide = true)]
    MergeDriver(cmd::git::MergeDriverArgs),
    /// The agents' own sessions (Claude Code, Codex, Gemini CLI, Cursor, opencode):
    /// list, show, send, clean, stats.
    #[command(subcommand)]
    Chats(cmd::chats::ChatsCommand),
    /// Resume a provider session (or a hub session's linked one) in its own folder.
    Resume(cmd::chats::ResumeArgs),
    /// Agreements to the shared goal (ACTIVE/GOAL_AGREEMENTS/): agree, list.
    #[command(subcommand)]
    Goal(cmd::goal::GoalCommand),
    /// The highest-priority free work for you (and with --claim, claim it).
    Next(cmd::next::NextArgs),
    /// Put links named like the original scripts (update-milestone, ...) on a folder.
    InstallDropins(cmd::dropins::InstallDropinsArgs),
    /// The JSON Schema of a command's --json output (the contract for agents).
    Schema(cmd::schema::SchemaArgs),
    /// A live dashboard: sessions, claims, work, status files, requests, board (q quits).
    Top(cmd::top::TopArgs),
}

/// The commands by task, as `sessions --help` lists them. Every visible command is in
/// exactly one group (a test checks it).
pub const COMMAND_GROUPS: &[(&str, &[&str])] = &[
    (
        "Sessions (who is here, what they do)",
        &[
            "status",
            "top",
            "register",
            "heartbeat",
            "sync",
            "whoami",
            "find-help",
            "match",
            "handshake",
            "goal",
            "unregister",
            "prune",
        ],
    ),
    (
        "Work (claims, milestones, what is free)",
        &[
            "ready",
            "next",
            "claim",
            "renew",
            "release",
            "claims",
            "milestone",
            "save-progress",
            "reserve",
            "reservations",
            "unreserve",
            "state",
        ],
    ),
    ("Messages", &["msg", "inbox", "collab"]),
    (
        "Status files and signals",
        &[
            "report",
            "healthcheck",
            "signal",
            "signals",
            "consume",
            "watch",
        ],
    ),
    (
        "Agents (hooks, MCP, their own sessions)",
        &["prime", "hooks", "hook", "mcp", "chats", "resume", "schema"],
    ),
    (
        "Setup and maintenance",
        &[
            "init",
            "doctor",
            "git",
            "demo",
            "completions",
            "man",
            "install-dropins",
        ],
    ),
];

/// The command-line grammar with `--help` listing the commands by task
/// ([`COMMAND_GROUPS`]) and the global flags in their own section.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let width = COMMAND_GROUPS
        .iter()
        .flat_map(|(_, names)| names.iter())
        .map(|n| n.len())
        .max()
        .unwrap_or(0);
    let mut listing = String::new();
    for (group, names) in COMMAND_GROUPS {
        listing.push_str(&format!("{group}:\n"));
        for name in *names {
            let about = cmd
                .find_subcommand(name)
                .and_then(|c| c.get_about())
                .map(|a| a.to_string())
                .unwrap_or_default();
            let first = about.lines().next().unwrap_or_default();
            listing.push_str(&format!("  {name:<width$}  {first}\n"));
        }
        listing.push('\n');
    }
    cmd.help_template(format!(
        "{{before-help}}{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{listing}Global options (every command takes them):\n{{options}}{{after-help}}"
    ))
    .subcommand_help_heading("All commands")
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn grammar_is_consistent() {
        Cli::command().debug_assert();
        super::command().debug_assert();
    }

    /// `--help` lists every visible command in exactly one task group, and the groups
    /// name nothing that is not a command.
    #[test]
    fn help_groups_every_command_once() {
        let cmd = Cli::command();
        let grouped: Vec<&str> = super::COMMAND_GROUPS
            .iter()
            .flat_map(|(_, names)| names.iter().copied())
            .collect();
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let n = grouped.iter().filter(|g| **g == sub.get_name()).count();
            assert_eq!(n, 1, "{} is in {n} help groups", sub.get_name());
        }
        for name in &grouped {
            assert!(
                cmd.find_subcommand(name).is_some(),
                "{name} is not a command"
            );
        }
    }

    /// Every argument of every command says what it is (shown by `--help`).
    #[test]
    fn every_argument_is_described() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !arg.is_hide_set() && !builtin && arg.get_help().is_none() {
                    missing.push(format!("{path} <{}>", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "sessions", &mut missing);
        assert!(missing.is_empty(), "arguments without help: {missing:#?}");
    }

    /// DESIGN §5: `--help` on every command has an example.
    #[test]
    fn every_command_help_has_an_example() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for sub in cmd.get_subcommands() {
                let name = format!("{path} {}", sub.get_name());
                if sub.has_subcommands() {
                    walk(sub, &name, missing);
                } else {
                    let help = sub
                        .get_after_help()
                        .map(|h| h.to_string())
                        .unwrap_or_default();
                    if !help.contains("Example") {
                        missing.push(name);
                    }
                }
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "sessions", &mut missing);
        let missing: Vec<_> = missing
            .into_iter()
            .filter(|m| !m.ends_with(" help"))
            .collect();
        assert!(
            missing.is_empty(),
            "commands without an example in --help: {missing:?}"
        );
    }
}
