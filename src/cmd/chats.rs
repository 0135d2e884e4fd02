//! The agents' own sessions (Claude Code, Codex, Gemini CLI, Cursor agent, opencode):
//! list, show, resume, send, clean, stats. The work is in `sessions-chats`; this module
//! parses arguments, joins the hub's links, and renders.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};
use schemars::JsonSchema;
use serde::Serialize;
use sessions_chats::{
    self as chats, ChatSession, Filter, Homes, Lifetimes, Listing, Provider, Sort, Status, index,
    run,
};
use sessions_core::sessions::registry::Registry;
use sessions_core::store::config::{self, Config};
use sessions_core::store::time;
use sessions_core::{Error, Result};

use crate::Ctx;
use crate::output::{Output, Render};

#[derive(Debug, Subcommand)]
pub enum ChatsCommand {
    /// Every provider session on this machine, newest activity first, 50 a page.
    #[command(
        after_help = "Examples:\n  sessions chats list\n  sessions chats list --provider claude --project api --status active\n  sessions chats list --since 2d --sort created --page 2 --json"
    )]
    List(ListArgs),
    /// One session's metadata and its last turns.
    #[command(after_help = "Example:\n  sessions chats show 3f2a --turns 5")]
    Show(ShowArgs),
    /// Send a prompt into existing sessions headless (at most [chats] concurrency at once).
    #[command(
        after_help = "Example:\n  sessions chats send 3f2a 9c1e \"rebase on main and rerun the tests\" --timeout 10m"
    )]
    Send(SendArgs),
    /// Forget links and cache entries of sessions idle past the retention.
    #[command(after_help = "Example:\n  sessions chats clean --older-than 30d --dry-run")]
    Clean(CleanArgs),
    /// Counts per provider and status, mean lifetime, sessions per day, share active.
    #[command(after_help = "Example:\n  sessions chats stats --json")]
    Stats(StatsArgs),
    /// (internal) Started by `resume --new-if-expired`: links the new provider session to
    /// the hub session as soon as its transcript appears.
    #[command(
        hide = true,
        after_help = "Example:\n  sessions chats link-new --hub-session session-3-api --provider claude --cwd ~/src/api --pid 4242"
    )]
    LinkNew(LinkNewArgs),
}

#[derive(Debug, Args)]
pub struct LinkNewArgs {
    /// The hub session the new provider session is recorded on.
    #[arg(long)]
    pub hub_session: String,
    /// The provider whose new session is awaited (claude, codex, gemini, cursor, opencode).
    #[arg(long)]
    pub provider: String,
    /// The folder the provider was started in.
    #[arg(long)]
    pub cwd: PathBuf,
    /// The process running the provider: once it is gone, one last look, then stop.
    #[arg(long)]
    pub pid: i32,
    /// Sessions of this provider in this folder that existed before (not the new one).
    #[arg(long = "known")]
    pub known: Vec<String>,
}

#[derive(Debug, Args, Default)]
pub struct Common {
    /// Only this provider (claude, codex, gemini, cursor, opencode); repeatable.
    #[arg(long = "provider", value_name = "PROVIDER")]
    pub providers: Vec<String>,
    /// Read every file again and do not use or write the index cache.
    #[arg(long)]
    pub no_cache: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub common: Common,
    /// Only sessions whose cwd contains this text.
    #[arg(long)]
    pub project: Option<String>,
    /// active, idle or expired.
    #[arg(long)]
    pub status: Option<String>,
    /// Only the session linked to this hub session.
    #[arg(long)]
    pub hub_session: Option<String>,
    /// Only sessions active within this long (30m, 2d) or since this time (RFC 3339).
    #[arg(long)]
    pub since: Option<String>,
    /// Order by `activity` (default) or `created`, newest first.
    #[arg(long, default_value = "activity")]
    pub sort: String,
    /// Page number, from 1.
    #[arg(long, default_value_t = 1)]
    pub page: usize,
    /// Sessions per page (0: all).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Count the messages of every listed session (reads whole transcripts).
    #[arg(long)]
    pub counts: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A provider session id or a unique prefix of one, or a linked hub session.
    pub id: String,
    /// How many of the last turns to print.
    #[arg(long, default_value_t = 10)]
    pub turns: usize,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sessions resume 3f2a              run `claude --resume <id>` (etc.) in the session's folder\n  sessions resume session-3-api     the provider session linked to a hub session\n  sessions resume 3f2a --print      show the command instead of running it"
)]
pub struct ResumeArgs {
    /// A hub session, a provider session id, or a unique prefix of one.
    pub id: String,
    /// Print the command (with its cd) instead of running it.
    #[arg(long)]
    pub print: bool,
    /// When the session is expired, start a new one in the same folder.
    #[arg(long)]
    pub new_if_expired: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Session ids (or prefixes, or linked hub sessions), then the prompt.
    #[arg(required = true, num_args = 2..)]
    pub targets: Vec<String>,
    /// Kill a provider (and its children) running longer than this (default [chats] send_timeout).
    #[arg(long)]
    pub timeout: Option<String>,
    /// At most this many providers at once (default [chats] concurrency).
    #[arg(long)]
    pub concurrency: Option<usize>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Sessions without activity for this long (default [chats] retention).
    #[arg(long)]
    pub older_than: Option<String>,
    /// Say what would be done, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also delete the providers' transcript files (asks on a terminal).
    #[arg(long)]
    pub delete_transcripts: bool,
    /// Do not ask before deleting transcripts.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub common: Common,
}

/// A provider name as the registry stores it (`claude-code` → `claude`).
pub fn provider_name(text: &str) -> Result<String> {
    Provider::parse(text)
        .map(|p| p.name().to_string())
        .ok_or_else(|| {
            Error::Usage(format!(
                "unknown provider {text:?}: use claude, codex, gemini, cursor or opencode"
            ))
        })
}

fn providers(names: &[String]) -> Result<Vec<Provider>> {
    crate::cmd::split_list(names)
        .iter()
        .map(|n| provider_name(n).map(|p| Provider::parse(&p).expect("a provider name parses")))
        .collect()
}

/// Everything a chats command works from: the listing, the hub's links, the settings.
struct World {
    listing: Listing,
    side: HubSide,
}

/// The hub's side of the chats commands: its links, its settings, the time.
struct HubSide {
    /// provider session id → hub session id.
    links: HashMap<String, String>,
    config: config::Chats,
    lifetimes: Lifetimes,
    now: time::Timestamp,
    hub: Option<sessions_core::Hub>,
}

fn hub_side(ctx: &Ctx) -> Result<HubSide> {
    let hub = ctx.hub().ok();
    let config = match &hub {
        Some(h) => Config::load(h.root())?.chats,
        None => config::Chats::default(),
    };
    let mut links = HashMap::new();
    if let Some(h) = &hub {
        let registry = Registry::load(h)?;
        for (id, entry) in registry.sessions() {
            if let Some(ps) = entry.get("provider_session").and_then(|v| v.as_str()) {
                links.insert(ps.to_string(), id.to_string());
            }
        }
    }
    let lifetimes = Lifetimes {
        active: chrono::Duration::from_std(config.active).unwrap_or(chrono::Duration::minutes(15)),
        retention: chrono::Duration::from_std(config.retention)
            .unwrap_or(chrono::Duration::days(30)),
    };
    Ok(HubSide {
        links,
        config,
        lifetimes,
        now: time::now(),
        hub,
    })
}

impl HubSide {
    fn row(&self, s: ChatSession) -> ChatRow {
        ChatRow {
            status: self.lifetimes.status(&s, self.now),
            hub_session: self.links.get(&s.id).cloned(),
            session: s,
        }
    }
}

/// The provider sessions, read through the index unless `--no-cache`.
fn index(ctx: &Ctx, common: &Common) -> Result<index::Index> {
    let opts = index::Options {
        providers: providers(&common.providers)?,
        cache_dir: if common.no_cache {
            None
        } else {
            index::default_cache_dir()
        },
        progress: !ctx.out.is_json(),
    };
    Ok(index::Index::build(&Homes::from_env(), &opts))
}

fn world(ctx: &Ctx, common: &Common) -> Result<World> {
    let hub = hub_side(ctx)?;
    Ok(World {
        listing: index(ctx, common)?.into_listing(),
        side: hub,
    })
}

impl World {
    fn status(&self, s: &ChatSession) -> Status {
        self.side.lifetimes.status(s, self.side.now)
    }

    /// A hub session with a link, a provider id, or a unique prefix.
    fn find(&self, key: &str) -> Result<&ChatSession> {
        let key = match self.side.links.iter().find(|(_, hub)| *hub == key) {
            Some((provider_id, _)) => provider_id.as_str(),
            None => key,
        };
        chats::find(&self.listing.sessions, key).map_err(|e| match e {
            chats::FindError::NotFound(_) => Error::NotFound {
                what: "provider session",
                name: format!("{key} (`sessions chats list` shows the sessions found)"),
            },
            other => Error::Usage(other.to_string()),
        })
    }

    fn row(&self, s: &ChatSession) -> ChatRow {
        self.side.row(s.clone())
    }

    /// The skipped files, as text-mode warnings.
    fn skipped(&self) -> Vec<String> {
        skipped(&self.listing.warnings)
    }
}

/// Files that could not be read as sessions, as text-mode warnings.
fn skipped(warnings: &[chats::Warning]) -> Vec<String> {
    warnings.iter().map(|w| format!("skipped {w}")).collect()
}

/// One provider session as the chats commands print it: what its files say, its status
/// from the last activity, and the hub session linked to it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChatRow {
    #[serde(flatten)]
    pub session: ChatSession,
    pub status: Status,
    pub hub_session: Option<String>,
}

pub fn run(ctx: &mut Ctx, command: ChatsCommand) -> Result<u8> {
    match command {
        ChatsCommand::List(args) => list(ctx, args),
        ChatsCommand::Show(args) => show(ctx, args),
        ChatsCommand::Send(args) => send(ctx, args),
        ChatsCommand::Clean(args) => clean(ctx, args),
        ChatsCommand::Stats(args) => stats(ctx, args),
        ChatsCommand::LinkNew(args) => link_new(ctx, args),
    }
}

fn since(text: &str, now: time::Timestamp) -> Result<time::Timestamp> {
    if let Ok(d) = time::parse_duration(text) {
        return Ok(now - chrono::Duration::from_std(d).unwrap_or_default());
    }
    time::parse_str(text).ok_or_else(|| {
        Error::Usage(format!(
            "--since {text:?}: use a duration (30m, 2d) or a time (2025-11-15T10:00:00Z)"
        ))
    })
}

fn duration_arg(flag: &str, text: &str) -> Result<Duration> {
    time::parse_duration(text).map_err(|e| Error::Usage(format!("{flag} {text:?}: {e}")))
}

fn list(ctx: &mut Ctx, args: ListArgs) -> Result<u8> {
    let side = hub_side(ctx)?;
    let filter = Filter {
        providers: Vec::new(),
        project: args.project.clone(),
        status: match args.status.as_deref() {
            Some(s) => Some(Status::parse(s).ok_or_else(|| {
                Error::Usage(format!("--status {s:?}: use active, idle or expired"))
            })?),
            None => None,
        },
        since: args
            .since
            .as_deref()
            .map(|s| since(s, side.now))
            .transpose()?,
        ids: args.hub_session.as_deref().map(|h| {
            side.links
                .iter()
                .filter(|(_, hub)| *hub == h)
                .map(|(provider_id, _)| provider_id.clone())
                .collect()
        }),
    };
    let sort = Sort::parse(&args.sort)
        .ok_or_else(|| Error::Usage(format!("--sort {:?}: use activity or created", args.sort)))?;
    let index = index(ctx, &args.common)?;
    let page = index.page(&index::Query {
        filter,
        sort,
        page: args.page,
        limit: args.limit,
        lifetimes: side.lifetimes,
        now: side.now,
    });
    let sessions: Vec<ChatRow> = page
        .sessions
        .into_iter()
        .map(|mut s| {
            if args.counts && s.messages.is_none() {
                s.messages = chats::transcript::turns(&s).ok().map(|t| t.len() as u64);
            }
            side.row(s)
        })
        .collect();
    ctx.emit(&ChatList {
        sessions,
        total: page.total,
        page: page.page,
        pages: page.pages,
        limit: page.limit,
        warning_count: page.warnings.len(),
        skipped: skipped(&page.warnings),
        warnings: page.warnings,
        index: index.stats.clone(),
        now: side.now,
        counts: args.counts,
    })
}

/// `chats list`: one page of sessions, newest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ChatList {
    pub sessions: Vec<ChatRow>,
    /// Sessions that pass the filters, on all pages.
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    pub limit: usize,
    /// Files that could not be read as a session (each listed once).
    pub warnings: Vec<chats::Warning>,
    pub warning_count: usize,
    /// What the index did: files seen, read, taken from the cache.
    pub index: index::IndexStats,
    #[serde(skip)]
    skipped: Vec<String>,
    #[serde(skip)]
    now: time::Timestamp,
    #[serde(skip)]
    counts: bool,
}

impl Render for ChatList {
    fn warnings(&self) -> Vec<String> {
        self.skipped.clone()
    }

    fn text(&self, out: &mut Output) {
        if self.sessions.is_empty() {
            out.line(if self.total == 0 {
                "No provider sessions found."
            } else {
                "No sessions on this page."
            });
            return;
        }
        let home = std::env::var("HOME").unwrap_or_default();
        out.line(out.bold(&format!(
            "{:<8} {:<10} {:<8} {:<8} {:<16} {:<28} TITLE",
            "PROVIDER", "ID", "ACTIVE", "STATUS", "HUB", "PROJECT"
        )));
        for r in &self.sessions {
            let s = &r.session;
            let age = s
                .activity()
                .map(|t| time::human_age((self.now - t).num_seconds()))
                .unwrap_or_else(|| "?".into());
            let cwd = s
                .cwd
                .as_deref()
                .map(|c| tilde(c, &home))
                .unwrap_or_else(|| "?".into());
            let mut title = s.title.clone().unwrap_or_default();
            if let Some(n) = s.messages.filter(|_| self.counts) {
                title = format!("[{n} msgs] {title}");
            }
            out.line(format!(
                "{:<8} {:<10} {:<8} {:<8} {:<16} {:<28} {}",
                s.provider.name(),
                short(&s.id, 10),
                age,
                r.status.name(),
                short(r.hub_session.as_deref().unwrap_or("-"), 16),
                short(&cwd, 28),
                short(&title, 60)
            ));
        }
        let mut footer = format!("{} sessions", self.total);
        if self.pages > 1 {
            footer.push_str(&format!(
                ", page {} of {} (--page N)",
                self.page, self.pages
            ));
        }
        if self.warning_count > 0 {
            footer.push_str(&format!(", {} files skipped", self.warning_count));
        }
        out.line(out.dim(&footer));
    }
}

fn short(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

fn tilde(path: &str, home: &str) -> String {
    match path.strip_prefix(home) {
        Some(rest) if !home.is_empty() && (rest.is_empty() || rest.starts_with('/')) => {
            format!("~{rest}")
        }
        _ => path.to_string(),
    }
}

fn show(ctx: &mut Ctx, args: ShowArgs) -> Result<u8> {
    let w = world(ctx, &args.common)?;
    let s = w.find(&args.id)?;
    let turns = chats::transcript::turns(s).map_err(Error::Failed)?;
    let mut session = w.row(s);
    session.session.messages = Some(turns.len() as u64);
    let resume = run::shell_line(
        s.cwd.as_deref(),
        run::binary(s.provider),
        &run::resume_args(s.provider, &s.id),
    );
    let last = turns.len().saturating_sub(args.turns);
    ctx.emit(&ChatShown {
        session,
        turns: turns.into_iter().skip(last).collect(),
        resume,
    })
}

/// `chats show`: one session's metadata (with its exact message count) and its last turns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ChatShown {
    pub session: ChatRow,
    /// The last turns asked for (`--turns`), oldest first.
    pub turns: Vec<chats::transcript::Turn>,
    /// The shell line that resumes it.
    pub resume: String,
}

impl Render for ChatShown {
    fn text(&self, out: &mut Output) {
        let fmt_time = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(time::format).unwrap_or_else(|| "?".into())
        };
        let r = &self.session;
        let s = &r.session;
        let lines = [
            ("Provider", s.provider.name().to_string()),
            ("Session", s.id.clone()),
            ("Title", s.title.clone().unwrap_or_default()),
            ("Folder", s.cwd.clone().unwrap_or_else(|| "?".into())),
            ("Created", fmt_time(s.created)),
            ("Last activity", fmt_time(s.updated)),
            ("Status", r.status.name().to_string()),
            (
                "Hub session",
                r.hub_session.clone().unwrap_or_else(|| "-".into()),
            ),
            ("Model", s.model.clone().unwrap_or_else(|| "-".into())),
            ("Branch", s.branch.clone().unwrap_or_else(|| "-".into())),
            ("Version", s.version.clone().unwrap_or_else(|| "-".into())),
            ("Messages", s.messages.unwrap_or_default().to_string()),
            ("Transcript", s.path.display().to_string()),
            ("Resume", self.resume.clone()),
        ];
        for (k, v) in lines {
            out.line(format!("{:<14} {v}", format!("{k}:")));
        }
        if !self.turns.is_empty() {
            out.line("");
            out.line(out.bold(&format!("Last {} turns:", self.turns.len())));
            for t in &self.turns {
                out.line(format!("── {} {}", t.role, t.time.as_deref().unwrap_or("")));
                out.line(short(&t.text, 2000));
            }
        }
    }
}

pub fn resume(ctx: &mut Ctx, args: ResumeArgs) -> Result<u8> {
    let w = world(ctx, &args.common)?;
    let s = w.find(&args.id)?.clone();
    // Validate: the transcript is there and parses (it was listed from it), the folder
    // exists, the provider answers, the session is not expired.
    if !s.path.exists() {
        return Err(Error::Failed(format!(
            "{}: the transcript is gone",
            s.path.display()
        )));
    }
    let cwd = s.cwd.clone().ok_or_else(|| {
        Error::Failed(format!(
            "{} session {}: its folder is not recorded, so it cannot be resumed in place",
            s.provider, s.id
        ))
    })?;
    if !Path::new(&cwd).is_dir() {
        return Err(Error::Failed(format!(
            "{} session {}: its folder {cwd} no longer exists",
            s.provider, s.id
        )));
    }
    let expired = w.status(&s) == Status::Expired;
    if expired && !args.new_if_expired {
        return Err(Error::Refused(format!(
            "{} session {} is expired (no activity for more than {}); pass --new-if-expired to start a new session in {cwd}",
            s.provider,
            s.id,
            time::human_age(w.side.config.retention.as_secs() as i64)
        )));
    }
    let name = run::binary(s.provider);
    let bin = match run::check_provider(s.provider, w.side.config.check_timeout) {
        Ok((bin, _version)) => bin,
        Err(problem) if args.print && problem == run::ProviderCheck::Missing => PathBuf::from(name),
        Err(problem) => {
            return Err(Error::Failed(format!(
                "{name} {problem} (checked with a {}s timeout): install the {} CLI or fix PATH",
                w.side.config.check_timeout.as_secs(),
                s.provider
            )));
        }
    };
    let argv = if expired {
        run::new_session_args(s.provider)
    } else {
        run::resume_args(s.provider, &s.id)
    };
    // The hub session a fresh session is linked to: the one named, or the one linked
    // to the expired session.
    let hub_session = w
        .side
        .links
        .values()
        .find(|h| **h == args.id)
        .or_else(|| w.side.links.get(&s.id))
        .cloned();
    if args.print {
        let mut command = vec![name.to_string()];
        command.extend(argv.iter().cloned());
        return ctx.emit(&ResumePrinted {
            provider: s.provider,
            id: s.id.clone(),
            shell: run::shell_line(Some(&cwd), name, &argv),
            cwd,
            command,
            new: expired,
            link_to: hub_session.filter(|_| expired),
        });
    }
    if expired {
        eprintln!(
            "{} session {} is expired: starting a new one in {cwd}",
            s.provider, s.id
        );
        if let Some(hub_session) = &hub_session {
            start_linker(&w, &s, &cwd, hub_session)?;
        }
    }
    // Whatever was buffered goes out before this process is replaced.
    let _ = ctx.out.flush();
    let err = run::exec_in(&bin, &argv, Path::new(&cwd));
    Err(Error::Failed(format!(
        "cannot run {}: {err}",
        bin.display()
    )))
}

/// `resume --print`: the command that would run, in which folder.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ResumePrinted {
    pub provider: Provider,
    /// The provider session.
    pub id: String,
    pub cwd: String,
    /// The program and its arguments.
    pub command: Vec<String>,
    /// The same as one shell line, with its `cd`.
    pub shell: String,
    /// The session is expired and `--new-if-expired` starts a fresh one.
    pub new: bool,
    /// The hub session the fresh session would be linked to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_to: Option<String>,
}

impl Render for ResumePrinted {
    fn text(&self, out: &mut Output) {
        out.line(&self.shell);
    }
}

/// Start the watcher that links the fresh session to `hub_session` once the provider
/// has written its transcript (this process is about to become the provider, so the
/// watcher is a process of its own, in its own process group so that a Ctrl-C meant for
/// the provider does not stop it).
fn start_linker(w: &World, old: &ChatSession, cwd: &str, hub_session: &str) -> Result<()> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::Failed(format!("cannot find sessions itself: {e}")))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["chats", "link-new", "--hub-session", hub_session])
        .args(["--provider", old.provider.name(), "--cwd", cwd])
        .args(["--pid", &std::process::id().to_string()]);
    for s in w
        .listing
        .sessions
        .iter()
        .filter(|s| s.provider == old.provider && same_folder(s.cwd.as_deref(), cwd))
    {
        cmd.args(["--known", &s.id]);
    }
    use std::os::unix::process::CommandExt;
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| Error::Failed(format!("cannot start the session linker: {e}")))?;
    Ok(())
}

fn same_folder(a: Option<&str>, b: &str) -> bool {
    let Some(a) = a else { return false };
    a == b
        || matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

/// `chats link-new`: wait for a session of `provider` in `cwd` that is not one of the
/// known ones, and record it on the hub session; stop once the provider process is gone
/// (after one last look) or after a day.
fn link_new(ctx: &mut Ctx, args: LinkNewArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let provider = Provider::parse(&args.provider)
        .ok_or_else(|| Error::Usage(format!("unknown provider {:?}", args.provider)))?;
    let cwd = args.cwd.to_string_lossy().into_owned();
    let opts = index::Options {
        providers: vec![provider],
        cache_dir: index::default_cache_dir(),
        progress: false,
    };
    let homes = Homes::from_env();
    let started = std::time::Instant::now();
    loop {
        let alive = run::is_running(args.pid);
        let (listing, _) = index::list(&homes, &opts);
        let fresh = listing
            .sessions
            .iter()
            .filter(|s| !args.known.contains(&s.id) && same_folder(s.cwd.as_deref(), &cwd))
            .max_by_key(|s| s.created);
        if let Some(new) = fresh {
            link(&hub, &args.hub_session, provider, &new.id)?;
            return Ok(0);
        }
        if !alive || started.elapsed() > Duration::from_secs(24 * 3600) {
            return Ok(1);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Record `provider_id` as the provider session of `hub_session` in the registry.
fn link(
    hub: &sessions_core::Hub,
    hub_session: &str,
    provider: Provider,
    provider_id: &str,
) -> Result<()> {
    sessions_core::sessions::registry::update_registry(hub, |doc| {
        let sessions = sessions_core::sessions::registry::registry_sessions(doc);
        let entry = sessions
            .get_mut(hub_session)
            .and_then(|e| e.as_object_mut())
            .ok_or_else(|| Error::NotFound {
                what: "hub session",
                name: hub_session.to_string(),
            })?;
        entry.insert("provider".into(), provider.name().into());
        entry.insert("provider_session".into(), provider_id.into());
        Ok(())
    })
}

fn send(ctx: &mut Ctx, args: SendArgs) -> Result<u8> {
    let w = world(ctx, &args.common)?;
    let (prompt, keys) = args.targets.split_last().expect("clap requires two values");
    let sessions: Vec<ChatSession> = keys
        .iter()
        .map(|k| w.find(k).cloned())
        .collect::<Result<_>>()?;
    let timeout = match &args.timeout {
        Some(t) => duration_arg("--timeout", t)?,
        None => w.side.config.send_timeout,
    };
    let concurrency = args.concurrency.unwrap_or(w.side.config.concurrency).max(1);
    let results = run::send_all(&sessions, prompt, concurrency, timeout);
    let failed = results.iter().filter(|r| !r.ok()).count();
    ctx.emit(&SendReport {
        sent: results.len(),
        results,
        failed,
    })
}

/// `chats send`: one result per session (exit, output, duration, or why it did not run).
#[derive(Debug, Serialize, JsonSchema)]
pub struct SendReport {
    pub results: Vec<run::SendResult>,
    pub sent: usize,
    pub failed: usize,
}

impl Render for SendReport {
    fn exit_code(&self) -> u8 {
        if self.failed > 0 {
            sessions_core::store::error::exit::FAILURE
        } else {
            sessions_core::store::error::exit::OK
        }
    }

    fn text(&self, out: &mut Output) {
        for r in &self.results {
            let head = format!("{} {}", r.provider, r.id);
            match (&r.error, &r.run) {
                (Some(e), _) => out.line(format!("{} {head}: {e}", out.red("✗"))),
                (None, Some(run)) if run.timed_out => out.line(format!(
                    "{} {head}: killed after {}s (timeout)",
                    out.red("✗"),
                    run.duration_ms / 1000
                )),
                (None, Some(run)) => {
                    let mark = if run.exit == Some(0) {
                        out.green("✓")
                    } else {
                        out.red("✗")
                    };
                    out.line(format!(
                        "{mark} {head}: exit {} in {} ms",
                        run.exit.map_or("?".into(), |c| c.to_string()),
                        run.duration_ms
                    ));
                    for line in run.stdout.trim_end().lines() {
                        out.line(format!("  {line}"));
                    }
                }
                (None, None) => {}
            }
        }
    }
}

fn clean(ctx: &mut Ctx, args: CleanArgs) -> Result<u8> {
    let mut w = world(ctx, &args.common)?;
    if let Some(d) = &args.older_than {
        w.side.lifetimes.retention =
            chrono::Duration::from_std(duration_arg("--older-than", d)?).unwrap_or_default();
    }
    let old: Vec<ChatSession> = w
        .listing
        .sessions
        .iter()
        .filter(|s| w.status(s) == Status::Expired)
        .cloned()
        .collect();
    let links: Vec<(String, String)> = old
        .iter()
        .filter_map(|s| w.side.links.get(&s.id).map(|h| (h.clone(), s.id.clone())))
        .collect();
    // Only whole files can be deleted: a session inside a database stays.
    let files: Vec<PathBuf> = old
        .iter()
        .filter(|s| {
            !matches!(s.provider, Provider::Cursor | Provider::Opencode)
                || s.path.extension().is_some_and(|e| e == "json")
        })
        .map(|s| s.path.clone())
        .collect();
    let mut deleted = Vec::new();
    if !args.dry_run {
        if let Some(hub) = &w.side.hub
            && !links.is_empty()
        {
            sessions_core::sessions::registry::update_registry(hub, |doc| {
                let sessions = sessions_core::sessions::registry::registry_sessions(doc);
                for (hub_id, _) in &links {
                    if let Some(entry) = sessions.get_mut(hub_id).and_then(|e| e.as_object_mut()) {
                        entry.remove("provider_session");
                        entry.remove("provider");
                    }
                }
                Ok(())
            })?;
        }
        if let Some(dir) = index::default_cache_dir() {
            index::forget(
                &dir,
                &old.iter().map(|s| s.path.clone()).collect::<Vec<_>>(),
            )
            .map_err(|e| Error::io(&dir, e))?;
        }
        if args.delete_transcripts && !files.is_empty() {
            let ok = if std::io::stdin().is_terminal() && !args.yes {
                eprint!("Delete {} provider transcript files? [y/N] ", files.len());
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer).ok();
                answer.trim().eq_ignore_ascii_case("y")
            } else {
                args.yes
            };
            if !ok {
                return Err(Error::Refused(
                    "transcripts not deleted: answer y, or pass --yes when not on a terminal"
                        .into(),
                ));
            }
            for f in &files {
                std::fs::remove_file(f).map_err(|e| Error::io(f, e))?;
                deleted.push(f.clone());
            }
        }
    }
    ctx.emit(&CleanReport {
        dry_run: args.dry_run,
        expired: old
            .iter()
            .map(|s| Expired {
                provider: s.provider,
                id: s.id.clone(),
                path: s.path.clone(),
            })
            .collect(),
        links_removed: links
            .into_iter()
            .map(|(hub_session, provider_session)| LinkRemoved {
                hub_session,
                provider_session,
            })
            .collect(),
        transcripts_deleted: deleted,
        would_delete: (args.delete_transcripts && args.dry_run).then_some(files.len()),
    })
}

/// `chats clean`: the expired sessions, the hub links removed, the transcripts deleted.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CleanReport {
    pub dry_run: bool,
    pub expired: Vec<Expired>,
    pub links_removed: Vec<LinkRemoved>,
    pub transcripts_deleted: Vec<PathBuf>,
    #[serde(skip)]
    would_delete: Option<usize>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Expired {
    pub provider: Provider,
    pub id: String,
    pub path: PathBuf,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LinkRemoved {
    pub hub_session: String,
    pub provider_session: String,
}

impl Render for CleanReport {
    fn text(&self, out: &mut Output) {
        let verb = if self.dry_run {
            "would forget"
        } else {
            "forgot"
        };
        out.line(format!(
            "{} expired sessions: {verb} their cache entries and {} hub links.",
            self.expired.len(),
            self.links_removed.len()
        ));
        for l in &self.links_removed {
            out.line(format!("  {} → {}", l.hub_session, l.provider_session));
        }
        if !self.transcripts_deleted.is_empty() {
            out.line(format!(
                "Deleted {} transcript files.",
                self.transcripts_deleted.len()
            ));
        } else if let Some(n) = self.would_delete {
            out.line(format!("Would delete {n} transcript files."));
        }
    }
}

fn stats(ctx: &mut Ctx, args: StatsArgs) -> Result<u8> {
    let w = world(ctx, &args.common)?;
    let stats = chats::stats::compute(&w.listing.sessions, &w.side.lifetimes, w.side.now);
    ctx.emit(&StatsShown {
        stats,
        warning_count: w.listing.warnings.len(),
        skipped: w.skipped(),
    })
}

/// `chats stats`: per provider and in total.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StatsShown {
    pub stats: chats::stats::Stats,
    /// Files that could not be read as a session.
    pub warning_count: usize,
    #[serde(skip)]
    skipped: Vec<String>,
}

impl Render for StatsShown {
    fn warnings(&self) -> Vec<String> {
        self.skipped.clone()
    }

    fn text(&self, out: &mut Output) {
        out.line(out.bold(&format!(
            "{:<9} {:>8} {:>7} {:>7} {:>8} {:>13} {:>8} {:>7}",
            "PROVIDER",
            "SESSIONS",
            "ACTIVE",
            "IDLE",
            "EXPIRED",
            "MEAN LIFETIME",
            "PER DAY",
            "ACTIVE%"
        )));
        let st = &self.stats;
        let rows = st
            .providers
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .chain(std::iter::once(("total", &st.total)));
        for (name, p) in rows {
            out.line(format!(
                "{:<9} {:>8} {:>7} {:>7} {:>8} {:>13} {:>8} {:>6.0}%",
                name,
                p.sessions,
                p.active,
                p.idle,
                p.expired,
                p.mean_lifetime_secs
                    .map(|s| time::human_age(s as i64))
                    .unwrap_or_else(|| "-".into()),
                p.sessions_per_day
                    .map(|d| format!("{d:.1}"))
                    .unwrap_or_else(|| "-".into()),
                p.share_active * 100.0
            ));
        }
    }
}
