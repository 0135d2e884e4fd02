//! The agents' own sessions (Claude Code, Codex, Gemini CLI, Cursor agent, opencode):
//! list, show, resume, send, clean, stats. The work is in `sessions-chats`; this module
//! parses arguments, joins the hub's links, and renders.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};
use serde::Serialize;
use sessions_chats::{
    self as chats, ChatSession, Filter, Homes, Lifetimes, Listing, Provider, Status, index, run,
};
use sessions_core::sessions::registry::Registry;
use sessions_core::store::config::{self, Config};
use sessions_core::store::time;
use sessions_core::{Error, Result};

use crate::Ctx;

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
    stats: index::IndexStats,
    /// provider session id → hub session id.
    links: HashMap<String, String>,
    config: config::Chats,
    lifetimes: Lifetimes,
    now: time::Timestamp,
    hub: Option<sessions_core::Hub>,
}

fn world(ctx: &Ctx, common: &Common) -> Result<World> {
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
    let opts = index::Options {
        providers: providers(&common.providers)?,
        cache_dir: if common.no_cache {
            None
        } else {
            index::default_cache_dir()
        },
        progress: !ctx.out.is_json(),
    };
    let (listing, stats) = index::list(&Homes::from_env(), &opts);
    let lifetimes = Lifetimes {
        active: chrono::Duration::from_std(config.active).unwrap_or(chrono::Duration::minutes(15)),
        retention: chrono::Duration::from_std(config.retention)
            .unwrap_or(chrono::Duration::days(30)),
    };
    Ok(World {
        listing,
        stats,
        links,
        config,
        lifetimes,
        now: time::now(),
        hub,
    })
}

impl World {
    fn status(&self, s: &ChatSession) -> Status {
        self.lifetimes.status(s, self.now)
    }

    /// A hub session with a link, a provider id, or a unique prefix.
    fn find(&self, key: &str) -> Result<&ChatSession> {
        let key = match self.links.iter().find(|(_, hub)| *hub == key) {
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

    fn row<'a>(&'a self, s: &'a ChatSession) -> Row<'a> {
        Row {
            session: s,
            status: self.status(s),
            hub_session: self.links.get(&s.id).map(String::as_str),
        }
    }

    fn warn(&self, ctx: &mut Ctx) {
        if !ctx.out.is_json() {
            for w in &self.listing.warnings {
                ctx.out.warn(&format!("skipped {w}"));
            }
        }
    }
}

#[derive(Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    session: &'a ChatSession,
    status: Status,
    hub_session: Option<&'a str>,
}

pub fn run(ctx: &mut Ctx, command: ChatsCommand) -> Result<u8> {
    match command {
        ChatsCommand::List(args) => list(ctx, args),
        ChatsCommand::Show(args) => show(ctx, args),
        ChatsCommand::Send(args) => send(ctx, args),
        ChatsCommand::Clean(args) => clean(ctx, args),
        ChatsCommand::Stats(args) => stats(ctx, args),
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
    let w = world(ctx, &args.common)?;
    let filter = Filter {
        providers: Vec::new(),
        project: args.project.clone(),
        status: match args.status.as_deref() {
            Some(s) => Some(Status::parse(s).ok_or_else(|| {
                Error::Usage(format!("--status {s:?}: use active, idle or expired"))
            })?),
            None => None,
        },
        since: args.since.as_deref().map(|s| since(s, w.now)).transpose()?,
    };
    let mut rows: Vec<Row> = w
        .listing
        .sessions
        .iter()
        .map(|s| w.row(s))
        .filter(|r| filter.keeps(r.session, r.status))
        .filter(|r| {
            args.hub_session
                .as_deref()
                .is_none_or(|h| r.hub_session == Some(h))
        })
        .collect();
    match args.sort.as_str() {
        "activity" => rows.sort_by(|a, b| {
            b.session
                .activity()
                .cmp(&a.session.activity())
                .then(a.session.id.cmp(&b.session.id))
        }),
        "created" => rows.sort_by(|a, b| {
            b.session
                .created
                .cmp(&a.session.created)
                .then(a.session.id.cmp(&b.session.id))
        }),
        other => {
            return Err(Error::Usage(format!(
                "--sort {other:?}: use activity or created"
            )));
        }
    }
    let total = rows.len();
    let limit = if args.limit == 0 {
        total.max(1)
    } else {
        args.limit
    };
    let pages = total.div_ceil(limit).max(1);
    let page = args.page.max(1);
    let mut shown: Vec<Row> = rows
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .collect();
    let counted: Vec<ChatSession> = if args.counts {
        shown
            .iter()
            .map(|r| {
                let mut s = r.session.clone();
                if s.messages.is_none() {
                    s.messages = chats::transcript::turns(&s).ok().map(|t| t.len() as u64);
                }
                s
            })
            .collect()
    } else {
        Vec::new()
    };
    if args.counts {
        shown = counted.iter().map(|s| w.row(s)).collect();
    }
    if ctx.out.is_json() {
        ctx.out.json_document(&serde_json::json!({
            "sessions": shown,
            "total": total,
            "page": page,
            "pages": pages,
            "limit": limit,
            "warnings": w.listing.warnings,
            "warning_count": w.listing.warnings.len(),
            "index": w.stats,
        }))?;
        return Ok(0);
    }
    w.warn(ctx);
    if shown.is_empty() {
        ctx.out.line(if total == 0 {
            "No provider sessions found."
        } else {
            "No sessions on this page."
        });
        return Ok(0);
    }
    let home = std::env::var("HOME").unwrap_or_default();
    ctx.out.line(ctx.out.bold(&format!(
        "{:<8} {:<10} {:<8} {:<8} {:<16} {:<28} TITLE",
        "PROVIDER", "ID", "ACTIVE", "STATUS", "HUB", "PROJECT"
    )));
    for r in &shown {
        let s = r.session;
        let age = s
            .activity()
            .map(|t| time::human_age((w.now - t).num_seconds()))
            .unwrap_or_else(|| "?".into());
        let cwd = s
            .cwd
            .as_deref()
            .map(|c| tilde(c, &home))
            .unwrap_or_else(|| "?".into());
        let mut title = s.title.clone().unwrap_or_default();
        if let Some(n) = s.messages.filter(|_| args.counts) {
            title = format!("[{n} msgs] {title}");
        }
        ctx.out.line(format!(
            "{:<8} {:<10} {:<8} {:<8} {:<16} {:<28} {}",
            s.provider.name(),
            short(&s.id, 10),
            age,
            r.status.name(),
            short(r.hub_session.unwrap_or("-"), 16),
            short(&cwd, 28),
            short(&title, 60)
        ));
    }
    let mut footer = format!("{total} sessions");
    if pages > 1 {
        footer.push_str(&format!(", page {page} of {pages} (--page N)"));
    }
    if !w.listing.warnings.is_empty() {
        footer.push_str(&format!(", {} files skipped", w.listing.warnings.len()));
    }
    ctx.out.line(ctx.out.dim(&footer));
    Ok(0)
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
    let s = w.find(&args.id)?.clone();
    let turns = chats::transcript::turns(&s).map_err(Error::Failed)?;
    let mut counted = s.clone();
    counted.messages = Some(turns.len() as u64);
    let last = &turns[turns.len().saturating_sub(args.turns)..];
    if ctx.out.is_json() {
        ctx.out.json_document(&serde_json::json!({
            "session": w.row(&counted),
            "turns": last,
            "resume": run::shell_line(s.cwd.as_deref(), run::binary(s.provider), &run::resume_args(s.provider, &s.id)),
        }))?;
        return Ok(0);
    }
    let fmt_time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(time::format).unwrap_or_else(|| "?".into())
    };
    let r = w.row(&counted);
    let lines = [
        ("Provider", s.provider.name().to_string()),
        ("Session", s.id.clone()),
        ("Title", s.title.clone().unwrap_or_default()),
        ("Folder", s.cwd.clone().unwrap_or_else(|| "?".into())),
        ("Created", fmt_time(s.created)),
        ("Last activity", fmt_time(s.updated)),
        ("Status", r.status.name().to_string()),
        ("Hub session", r.hub_session.unwrap_or("-").to_string()),
        ("Model", s.model.clone().unwrap_or_else(|| "-".into())),
        ("Branch", s.branch.clone().unwrap_or_else(|| "-".into())),
        ("Version", s.version.clone().unwrap_or_else(|| "-".into())),
        ("Messages", turns.len().to_string()),
        ("Transcript", s.path.display().to_string()),
        (
            "Resume",
            run::shell_line(
                s.cwd.as_deref(),
                run::binary(s.provider),
                &run::resume_args(s.provider, &s.id),
            ),
        ),
    ];
    for (k, v) in lines {
        ctx.out.line(format!("{:<14} {v}", format!("{k}:")));
    }
    if !last.is_empty() {
        ctx.out.line("");
        ctx.out
            .line(ctx.out.bold(&format!("Last {} turns:", last.len())));
        for t in last {
            ctx.out
                .line(format!("── {} {}", t.role, t.time.as_deref().unwrap_or("")));
            ctx.out.line(short(&t.text, 2000));
        }
    }
    Ok(0)
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
            time::human_age(w.config.retention.as_secs() as i64)
        )));
    }
    let name = run::binary(s.provider);
    let bin = match run::check_provider(s.provider, w.config.check_timeout) {
        Ok((bin, _version)) => bin,
        Err(problem) if args.print && problem == run::ProviderCheck::Missing => PathBuf::from(name),
        Err(problem) => {
            return Err(Error::Failed(format!(
                "{name} {problem} (checked with a {}s timeout): install the {} CLI or fix PATH",
                w.config.check_timeout.as_secs(),
                s.provider
            )));
        }
    };
    let argv = if expired {
        run::new_session_args(s.provider)
    } else {
        run::resume_args(s.provider, &s.id)
    };
    if args.print {
        let line = run::shell_line(Some(&cwd), name, &argv);
        if ctx.out.is_json() {
            let mut command = vec![name.to_string()];
            command.extend(argv);
            ctx.out.json_document(&serde_json::json!({"provider": s.provider, "id": s.id, "cwd": cwd, "command": command, "shell": line, "new": expired}))?;
        } else {
            ctx.out.line(line);
        }
        return Ok(0);
    }
    if expired {
        eprintln!(
            "{} session {} is expired: starting a new one in {cwd}",
            s.provider, s.id
        );
    }
    // Whatever was buffered goes out before this process is replaced.
    let _ = ctx.out.flush();
    let err = run::exec_in(&bin, &argv, Path::new(&cwd));
    Err(Error::Failed(format!(
        "cannot run {}: {err}",
        bin.display()
    )))
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
        None => w.config.send_timeout,
    };
    let concurrency = args.concurrency.unwrap_or(w.config.concurrency).max(1);
    let results = run::send_all(&sessions, prompt, concurrency, timeout);
    let failed = results.iter().filter(|r| !r.ok()).count();
    if ctx.out.is_json() {
        ctx.out.json_document(
            &serde_json::json!({"results": results, "sent": results.len(), "failed": failed}),
        )?;
    } else {
        for r in &results {
            let head = format!("{} {}", r.provider, r.id);
            match (&r.error, &r.run) {
                (Some(e), _) => ctx.out.line(format!("{} {head}: {e}", ctx.out.red("✗"))),
                (None, Some(run)) if run.timed_out => ctx.out.line(format!(
                    "{} {head}: killed after {}s (timeout)",
                    ctx.out.red("✗"),
                    run.duration_ms / 1000
                )),
                (None, Some(run)) => {
                    let mark = if run.exit == Some(0) {
                        ctx.out.green("✓")
                    } else {
                        ctx.out.red("✗")
                    };
                    ctx.out.line(format!(
                        "{mark} {head}: exit {} in {} ms",
                        run.exit.map_or("?".into(), |c| c.to_string()),
                        run.duration_ms
                    ));
                    for line in run.stdout.trim_end().lines() {
                        ctx.out.line(format!("  {line}"));
                    }
                }
                (None, None) => {}
            }
        }
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

fn clean(ctx: &mut Ctx, args: CleanArgs) -> Result<u8> {
    let mut w = world(ctx, &args.common)?;
    if let Some(d) = &args.older_than {
        w.lifetimes.retention =
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
        .filter_map(|s| w.links.get(&s.id).map(|h| (h.clone(), s.id.clone())))
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
        if let Some(hub) = &w.hub
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
    if ctx.out.is_json() {
        ctx.out.json_document(&serde_json::json!({
            "dry_run": args.dry_run,
            "expired": old.iter().map(|s| serde_json::json!({"provider": s.provider, "id": s.id, "path": s.path})).collect::<Vec<_>>(),
            "links_removed": links.iter().map(|(h, p)| serde_json::json!({"hub_session": h, "provider_session": p})).collect::<Vec<_>>(),
            "transcripts_deleted": deleted,
        }))?;
    } else {
        let verb = if args.dry_run {
            "would forget"
        } else {
            "forgot"
        };
        ctx.out.line(format!(
            "{} expired sessions: {verb} their cache entries and {} hub links.",
            old.len(),
            links.len()
        ));
        for (h, p) in &links {
            ctx.out.line(format!("  {h} → {p}"));
        }
        if !deleted.is_empty() {
            ctx.out
                .line(format!("Deleted {} transcript files.", deleted.len()));
        } else if args.delete_transcripts && args.dry_run {
            ctx.out
                .line(format!("Would delete {} transcript files.", files.len()));
        }
    }
    Ok(0)
}

fn stats(ctx: &mut Ctx, args: StatsArgs) -> Result<u8> {
    let w = world(ctx, &args.common)?;
    let st = chats::stats::compute(&w.listing.sessions, &w.lifetimes, w.now);
    if ctx.out.is_json() {
        ctx.out.json_document(
            &serde_json::json!({"stats": st, "warning_count": w.listing.warnings.len()}),
        )?;
        return Ok(0);
    }
    w.warn(ctx);
    ctx.out.line(ctx.out.bold(&format!(
        "{:<9} {:>8} {:>7} {:>7} {:>8} {:>13} {:>8} {:>7}",
        "PROVIDER", "SESSIONS", "ACTIVE", "IDLE", "EXPIRED", "MEAN LIFETIME", "PER DAY", "ACTIVE%"
    )));
    let rows = st
        .providers
        .iter()
        .map(|(k, v)| (k.as_str(), v))
        .chain(std::iter::once(("total", &st.total)));
    for (name, p) in rows {
        ctx.out.line(format!(
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
    Ok(0)
}
