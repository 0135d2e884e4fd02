//! One module per area. Each command builds a typed response and hands it to
//! `Ctx::emit`, which renders it for people or, with `--json`, agents (`output.rs`).

pub mod chats;
pub mod claims;
pub mod collab;
pub mod completions;
pub mod demo;
pub mod doctor;
pub mod dropins;
pub mod git;
pub mod goal;
pub mod handshake;
pub mod hooks;
pub mod init;
pub mod man;
pub mod mcp;
pub mod milestone;
pub mod msg;
pub mod next;
pub mod report;
pub mod reserve;
pub mod schema;
pub mod session;
pub mod signal;
pub mod state;
pub mod status;
pub mod top;
pub mod watch;

use sessions_core::Result;

use crate::Ctx;
use crate::cli::Command;

/// Run one command; the result is the exit code for successful runs that answer "no".
pub fn run(ctx: &mut Ctx, command: Command) -> Result<u8> {
    match command {
        Command::Init(args) => init::run(ctx, args),
        Command::Register(args) => session::register(ctx, args),
        Command::Heartbeat(args) => session::heartbeat(ctx, args),
        Command::Unregister(args) => session::unregister(ctx, args),
        Command::Prune(args) => session::prune(ctx, args),
        Command::Sync(args) => session::sync(ctx, args),
        Command::FindHelp(args) => session::find_help(ctx, args),
        Command::Match(args) => session::matching(ctx, args),
        Command::Handshake(command) => handshake::run(ctx, command),
        Command::State(command) => state::run(ctx, command),
        Command::Status(args) => status::run(ctx, args),
        Command::Claim(args) => claims::claim(ctx, args),
        Command::Renew(args) => claims::renew(ctx, args),
        Command::Release(args) => claims::release(ctx, args),
        Command::Claims(args) => claims::list(ctx, args),
        Command::Reserve(args) => reserve::reserve(ctx, args),
        Command::Reservations(args) => reserve::list(ctx, args),
        Command::Unreserve(args) => reserve::unreserve(ctx, args),
        Command::Milestone(command) => milestone::run(ctx, command),
        Command::Ready(args) => milestone::ready(ctx, args),
        Command::SaveProgress(args) => milestone::save_progress(ctx, args),
        Command::Doctor(args) => doctor::run(ctx, args),
        Command::Hook(args) => hooks::hook(ctx, args),
        Command::Hooks(command) => hooks::run(ctx, command),
        Command::Whoami(args) => hooks::whoami(ctx, args),
        Command::Prime(args) => hooks::prime(ctx, args),
        Command::Mcp(args) => mcp::run(ctx, args),
        Command::Completions(args) => completions::run(ctx, args),
        Command::Man(args) => man::run(ctx, args),
        Command::Msg(command) => msg::run(ctx, command),
        Command::Inbox(args) => msg::inbox(ctx, args),
        Command::Collab(command) => collab::run(ctx, command),
        Command::Report(command) => report::run(ctx, command),
        Command::Healthcheck(args) => report::healthcheck(ctx, args),
        Command::Signal(args) => signal::signal(ctx, args),
        Command::Signals(args) => signal::list(ctx, args),
        Command::Consume(args) => signal::consume(ctx, args),
        Command::Watch(args) => watch::run(ctx, args),
        Command::Demo(args) => demo::run(ctx, args),
        Command::Git(command) => git::run(ctx, command),
        Command::MergeDriver(args) => git::merge_driver(ctx, args),
        Command::Chats(command) => chats::run(ctx, command),
        Command::Resume(args) => chats::resume(ctx, args),
        Command::Goal(command) => goal::run(ctx, command),
        Command::Next(args) => next::run(ctx, args),
        Command::InstallDropins(args) => dropins::run(ctx, args),
        Command::Schema(args) => schema::run(ctx, args),
        Command::Top(args) => top::run(ctx, args),
    }
}

/// Split comma-separated list arguments (`--spec ui,react --spec visualization`).
pub fn split_list(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
