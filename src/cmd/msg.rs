//! The message board: `msg send|list|show|thread|ack|archive` and `inbox`.

use std::io::{IsTerminal, Read};

use clap::{Args, Subcommand};
use schemars::JsonSchema;
use serde::Serialize;
use sessions_core::board::messages::{
    self, Ack, Archived, Filter, Inbox, InboxEntry, Message, Post, Segment, TextSection,
};
use sessions_core::{Error, Result, store::time};

use crate::Ctx;
use crate::cmd::split_list;
use crate::output::{Output, Render, escape_untrusted as esc, escape_untrusted_lines};

#[derive(Debug, Subcommand)]
pub enum MsgCommand {
    /// Post a message to some sessions or to everyone (one locked, fsynced append).
    #[command(
        after_help = "Examples:\n  sessions --as s1 msg send --to s2,s3 --subject \"API ready\" \"The API is on port 8004\"\n  sessions --as s1 msg send --all --priority urgent \"Production is down\"\n  git diff --stat | sessions --as s1 msg send --to s2 --reply-to m-20251115T214925.123Z-0a1b2c3d4e5f\n  sessions --json --as s1 msg send --all \"hello\"    # {\"id\": ..., \"time\": ...}"
    )]
    Send(SendArgs),
    /// List messages on the board (newest last), with filters.
    #[command(
        after_help = "Examples:\n  sessions msg list --from session-5-orchestration --since 2h\n  sessions msg list --to s2 --priority high --limit 10\n  sessions msg list --thread m-20251115T214925.123Z-0a1b2c3d4e5f\n  sessions --json msg list --with-text    # messages and the free-text sections"
    )]
    List(ListArgs),
    /// Show one message (by ID or a unique prefix or suffix), with who acknowledged it.
    #[command(
        after_help = "Example:\n  sessions msg show m-20251115T214925\n  sessions msg show 4e5f                  # the last characters are enough when unique\n  sessions --json msg show h-7b18ebb6e180"
    )]
    Show {
        /// Message ID, or a unique prefix or suffix of it; blocks without an ID line have a
        /// derived `h-...` ID.
        id: String,
    },
    /// Show the conversation a message belongs to (its Reply-To chain and all replies).
    #[command(after_help = "Example:\n  sessions msg thread m-20251115T214925.123Z-0a1b2c3d4e5f")]
    Thread {
        /// Message ID, or a unique prefix or suffix of it (`4e5f`: its last characters).
        id: String,
    },
    /// Acknowledge a message; its sender sees who acknowledged it in `msg show`.
    #[command(
        after_help = "Example:\n  sessions --as s2 msg ack m-20251115T214925.123Z-0a1b2c3d4e5f \"on it\""
    )]
    Ack {
        /// Message ID, or a unique prefix or suffix of it (`4e5f`: its last characters).
        id: String,
        /// An optional short note.
        note: Option<String>,
    },
    /// Move messages dated before DATE into MESSAGES-<yyyy-mm>.md; free text stays.
    #[command(
        after_help = "Examples:\n  sessions msg archive --before 2025-11-01\n  sessions msg archive --before 30d --dry-run    # older than 30 days"
    )]
    Archive {
        /// A date/time (2025-11-01, RFC 3339) or an age (30d, 12h).
        #[arg(long, value_name = "DATE|AGE")]
        before: String,
        /// Only say what would move.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Recipients (comma-separated or repeated).
    #[arg(
        long,
        value_name = "ID[,ID...]",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub to: Vec<String>,
    /// Send to every session (a broadcast).
    #[arg(long)]
    pub all: bool,
    /// A one-line subject (shown as the block's `###` heading).
    #[arg(long)]
    pub subject: Option<String>,
    /// How urgent it is (urgent ones stand out in inboxes and status).
    #[arg(long, default_value = "normal", value_parser = clap::builder::PossibleValuesParser::new(sessions_core::board::post::PRIORITIES))]
    pub priority: String,
    /// The ID of the message this answers (or a unique prefix or suffix of it).
    #[arg(long, value_name = "MESSAGE-ID")]
    pub reply_to: Option<String>,
    /// The body; read from stdin when absent or `-`.
    pub body: Option<String>,
    /// Post each line of FILE (JSON strings) as its own message; used by the test
    /// suite's concurrency checks to avoid thousands of process starts. Test builds
    /// only (refused by a release binary), and every body gets the usual checks.
    #[arg(long, hide = true, value_name = "FILE")]
    pub bodies_from: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Messages from this session.
    #[arg(long)]
    pub from: Option<String>,
    /// Messages to this session (including broadcasts).
    #[arg(long)]
    pub to: Option<String>,
    /// A date/time or an age (2h, 1d).
    #[arg(long, value_name = "DATE|AGE")]
    pub since: Option<String>,
    /// This priority or higher.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(sessions_core::board::post::PRIORITIES))]
    pub priority: Option<String>,
    /// Only the conversation this message belongs to.
    #[arg(long, value_name = "MESSAGE-ID")]
    pub thread: Option<String>,
    /// Show at most the last N (0: all; default 30 as text, all with --json).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Include the free-text sections of the board (JSON: `segments`).
    #[arg(long)]
    pub with_text: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sessions --as s2 inbox                 everything addressed to me (direct, broadcast, mentions)\n  sessions --as s2 inbox --unread --mark-read\n  sessions --json --as s2 inbox --unread | jq '.messages[].id'"
)]
pub struct InboxArgs {
    /// Only messages not yet marked read (reads only the new part of the board).
    #[arg(long)]
    pub unread: bool,
    /// Mark what is shown (and everything before it) as read.
    #[arg(long)]
    pub mark_read: bool,
    /// Show at most the last N. Not with --mark-read, which would mark the hidden
    /// ones read too.
    #[arg(long, conflicts_with = "mark_read")]
    pub limit: Option<usize>,
}

pub fn run(ctx: &mut Ctx, command: MsgCommand) -> Result<u8> {
    match command {
        MsgCommand::Send(args) => send(ctx, args),
        MsgCommand::List(args) => list(ctx, args),
        MsgCommand::Show { id } => show(ctx, &id),
        MsgCommand::Thread { id } => thread(ctx, &id),
        MsgCommand::Ack { id, note } => ack(ctx, &id, note.as_deref()),
        MsgCommand::Archive { before, dry_run } => archive(ctx, &before, dry_run),
    }
}

/// A date/time, or an age counted back from now.
pub fn parse_when(s: &str) -> Result<time::Timestamp> {
    if let Some(t) = time::parse_str(s) {
        return Ok(t);
    }
    if let Ok(d) = time::parse_duration(s)
        && let Ok(d) = chrono::Duration::from_std(d)
    {
        return Ok(time::now() - d);
    }
    Err(Error::Usage(format!(
        "invalid date {s:?}: use 2025-11-15, 2025-11-15T21:00:00Z or an age such as 2h or 30d"
    )))
}

/// The body, from the argument or stdin; stdin is read only up to `limit` bytes (the
/// most one message may add to the board), so a flood is refused without holding it.
fn read_body(body: Option<String>, limit: u64) -> Result<String> {
    match body.as_deref() {
        Some(b) if b != "-" => Ok(b.to_string()),
        _ => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err(Error::Usage(
                    "no message body: give it as an argument or pipe it on stdin".into(),
                ));
            }
            let mut bytes = Vec::new();
            stdin
                .lock()
                .take(limit.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(|e| Error::io("<stdin>", e))?;
            if bytes.len() as u64 > limit {
                return Err(messages::too_large(bytes.len() as u64, limit, true));
            }
            let mut text = String::from_utf8(bytes).map_err(|e| {
                Error::Usage(format!(
                    "the message body on stdin is not valid UTF-8 (byte {}); convert it first, e.g. with `iconv -t UTF-8`",
                    e.utf8_error().valid_up_to()
                ))
            })?;
            // Like the shell's $(cat): the final newline is not part of the message.
            while text.ends_with('\n') {
                text.pop();
                if text.ends_with('\r') {
                    text.pop();
                }
            }
            Ok(text)
        }
    }
}

fn send(ctx: &mut Ctx, args: SendArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let from = ctx.me()?;
    let to = if args.all {
        Vec::new()
    } else {
        split_list(&args.to)
    };
    // An empty list means everyone to `Post`; `--to "$UNSET"` must not broadcast.
    if !args.all && to.is_empty() {
        return Err(Error::Usage(
            "--to names no session: give at least one ID, or --all to send to everyone".into(),
        ));
    }
    let mut post = Post {
        from,
        to,
        subject: args.subject.filter(|s| !s.trim().is_empty()),
        priority: Some(args.priority),
        reply_to: match args.reply_to {
            Some(typed) => Some(reply_target(&hub, typed)?),
            None => None,
        },
        body: String::new(),
    };
    if let Some(file) = &args.bodies_from {
        if !sessions_core::store::test_hooks::ENABLED {
            return Err(Error::Usage(
                "--bodies-from exists only in test builds; send one message per `msg send`".into(),
            ));
        }
        let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
        let mut ids = Vec::new();
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
            post.body = serde_json::from_str(line)
                .map_err(|e| Error::Usage(format!("{}:{}: {e}", file.display(), n + 1)))?;
            if post.body.trim().is_empty() {
                return Err(Error::Usage(format!(
                    "{}:{}: the message body is empty",
                    file.display(),
                    n + 1
                )));
            }
            ids.push(messages::post(&hub, &post)?.id);
        }
        return ctx.emit(&PostedMany { ids });
    }
    post.body = read_body(args.body, hub.config.board.max_message_bytes)?;
    if post.body.trim().is_empty() {
        return Err(Error::Usage("the message body is empty".into()));
    }
    let posted = messages::post(&hub, &post)?;
    let known = sessions_core::sessions::registry::Registry::load(&hub)?;
    let warnings = post
        .to
        .iter()
        .filter_map(|to| sessions_core::sessions::registry::unregistered_warning(&known, to))
        .collect();
    ctx.emit(&Sent {
        warnings,
        id: posted.id,
        time: posted.time,
        from: post.from,
        to: if post.to.is_empty() {
            vec!["all".to_string()]
        } else {
            post.to
        },
        priority: post.priority,
        subject: post.subject,
        reply_to: post.reply_to,
    })
}

/// `msg send --bodies-from FILE`: the IDs posted, in order.
#[derive(Serialize, JsonSchema)]
pub struct PostedMany {
    pub ids: Vec<String>,
}

impl Render for PostedMany {
    fn text(&self, out: &mut Output) {
        out.line(format!("Posted {} messages.", self.ids.len()));
    }
}

/// The message `--reply-to` names: a unique part resolves to the whole ID; an ID not on
/// the board (archived, say) is kept as typed; an ambiguous one is an error.
fn reply_target(hub: &sessions_core::Hub, typed: String) -> Result<String> {
    match messages::find(&messages::load(hub)?, &typed) {
        Ok(m) => Ok(m.id.clone()),
        Err(Error::NotFound { .. }) => Ok(typed),
        Err(e) => Err(e),
    }
}

/// `msg send`: the message as posted.
#[derive(Serialize, JsonSchema)]
pub struct Sent {
    pub id: String,
    pub time: String,
    pub from: String,
    /// The recipients; `["all"]` for a broadcast.
    pub to: Vec<String>,
    pub priority: Option<String>,
    pub subject: Option<String>,
    pub reply_to: Option<String>,
    /// Recipients that are not registered sessions (the message was still sent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Render for Sent {
    fn text(&self, out: &mut Output) {
        out.line(format!(
            "📨 {} → {}: {}",
            self.from,
            self.to.join(", "),
            self.id
        ));
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
}

fn list(ctx: &mut Ctx, args: ListArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    // The board is streamed: free text is kept only when asked for.
    let scan = messages::scan(&hub, args.with_text)?;
    let segments = scan.segments;
    // What is listed depends on who reads: agents get every message by default (people
    // the last 30), and `--json --with-text` the board's segments as they are.
    let for_agents = ctx.out.is_json();
    if args.with_text && for_agents {
        return ctx.emit(&MessageList::Segments { segments });
    }
    let sections = scan.text_sections;
    let texts: Vec<TextSection> = if args.with_text {
        segments
            .iter()
            .filter_map(|s| match s {
                Segment::Text(t) => Some(t.clone()),
                Segment::Message(_) => None,
            })
            .collect()
    } else {
        Vec::new()
    };
    let all = messages::messages(segments);
    let filter = Filter {
        from: args.from,
        to: args.to,
        since: args.since.as_deref().map(parse_when).transpose()?,
        priority: args.priority,
        thread: args.thread,
    };
    let mut found = filter.apply(&all)?;
    let limit = args.limit.unwrap_or(if for_agents { 0 } else { 30 });
    let total = found.len();
    if limit > 0 && found.len() > limit {
        found.drain(..found.len() - limit);
    }
    ctx.emit(&MessageList::Messages {
        count: total,
        shown: found.len(),
        text_sections: sections,
        messages: found,
        texts,
    })
}

/// `msg list`: the matching messages; with `--json --with-text`, the board's segments
/// (messages and free text, in order, unfiltered: kept as it always was).
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum MessageList {
    Segments {
        segments: Vec<Segment>,
    },
    Messages {
        /// How many messages match.
        count: usize,
        /// How many are listed (the last ones, after --limit).
        shown: usize,
        /// How many free-text sections the board has.
        text_sections: usize,
        messages: Vec<Message>,
        #[serde(skip)]
        texts: Vec<TextSection>,
    },
}

impl Render for MessageList {
    fn text(&self, out: &mut Output) {
        let (total, messages, texts) = match self {
            MessageList::Segments { segments } => {
                for s in segments {
                    match s {
                        Segment::Message(m) => line(out, m, None),
                        Segment::Text(t) => text_line(out, t),
                    }
                }
                return;
            }
            MessageList::Messages {
                count,
                messages,
                texts,
                ..
            } => (*count, messages, texts),
        };
        if messages.is_empty() {
            out.line("No messages match.");
        }
        if total > messages.len() {
            out.line(out.dim(&format!(
                "… {} earlier messages (use --limit 0 for all)",
                total - messages.len()
            )));
        }
        for m in messages {
            line(out, m, None);
        }
        for t in texts {
            text_line(out, t);
        }
    }
}

fn text_line(out: &mut Output, t: &TextSection) {
    if !t.text.trim().trim_matches('-').trim().is_empty() {
        out.line(format!(
            "📝 {}  {}",
            esc(&t.id),
            esc(t.title.as_deref().unwrap_or("(free text)"))
        ));
    }
}

fn priority_tag(out: &Output, p: &str) -> String {
    match p {
        "urgent" => out.red("[urgent]"),
        "high" => out.yellow("[high]"),
        "low" => out.dim("[low]"),
        _ => String::new(),
    }
}

fn when(m: &Message) -> String {
    match (&m.timestamp, &m.time_raw) {
        (Some(t), _) => t.format("%Y-%m-%d %H:%M").to_string(),
        (None, Some(_)) => "?".into(),
        (None, None) => "-".into(),
    }
}

/// One message as a list line (plus a preview line).
fn line(out: &mut Output, m: &Message, unread: Option<bool>) {
    let mark = match unread {
        Some(true) => out.bold("● "),
        Some(false) => "  ".into(),
        None => String::new(),
    };
    let title = esc(&m.subject.clone().unwrap_or_else(|| m.preview(70))).into_owned();
    let tag = priority_tag(out, &m.priority);
    out.line(format!(
        "{mark}{} {:<16} {} → {} {tag}{}",
        out.dim(&esc(&m.id)),
        when(m),
        esc(m.from.as_deref().unwrap_or("?")),
        esc(&m.to.join(", ")),
        if tag.is_empty() {
            title
        } else {
            format!(" {title}")
        }
    ));
    if m.subject.is_some() {
        let preview = m.preview(90);
        if !preview.is_empty() {
            out.line(format!(
                "{}    {}",
                if unread.is_some() { "  " } else { "" },
                out.dim(&esc(&preview))
            ));
        }
    }
}

fn show(ctx: &mut Ctx, id: &str) -> Result<u8> {
    let hub = ctx.hub()?;
    let all = messages::load(&hub)?;
    let m = messages::find(&all, id)?;
    let acks = messages::acks(&hub, &m.id)?;
    let replies: Vec<String> = all
        .iter()
        .filter(|r| r.reply_to.as_deref() == Some(m.id.as_str()))
        .map(|r| r.id.clone())
        .collect();
    ctx.emit(&Shown {
        message: m.clone(),
        acks,
        replies,
    })
}

/// `msg show`: one message with its acknowledgements and the IDs of its replies.
#[derive(Serialize, JsonSchema)]
pub struct Shown {
    #[serde(flatten)]
    pub message: Message,
    pub acks: Vec<Ack>,
    pub replies: Vec<String>,
}

impl Render for Shown {
    fn text(&self, out: &mut Output) {
        full(out, &self.message);
        if self.acks.is_empty() {
            out.line(out.dim("   not acknowledged yet"));
        }
        for a in &self.acks {
            let note = a
                .note
                .as_deref()
                .map(|n| format!(": {}", esc(n)))
                .unwrap_or_default();
            out.line(format!(
                "   ✅ acknowledged by {} at {}{note}",
                esc(&a.session_id),
                esc(&a.acked_at)
            ));
        }
        if !self.replies.is_empty() {
            out.line(format!("   replies: {}", esc(&self.replies.join(", "))));
        }
    }
}

/// A whole message as `msg show` and `msg thread` print it.
fn full(out: &mut Output, m: &Message) {
    out.line(format!(
        "📨 {} {}",
        out.bold(&esc(m.subject.as_deref().unwrap_or("(no subject)"))),
        priority_tag(out, &m.priority)
    ));
    out.line(format!(
        "   ID:   {}{}",
        esc(&m.id),
        if m.id_derived {
            " (derived: the block has no ID line)"
        } else {
            ""
        }
    ));
    out.line(format!(
        "   From: {}",
        esc(m.from.as_deref().unwrap_or("?"))
    ));
    out.line(format!("   To:   {}", esc(&m.to.join(", "))));
    let time = match (&m.time, &m.time_raw) {
        (Some(t), _) => t.clone(),
        (None, Some(raw)) => format!("{raw} (not a time)"),
        (None, None) => "-".into(),
    };
    out.line(format!("   Time: {}", esc(&time)));
    if let Some(r) = &m.reply_to {
        out.line(format!("   Reply-To: {}", esc(r)));
    }
    for (k, v) in &m.fields {
        out.line(format!("   {}: {}", esc(k), esc(v)));
    }
    out.line("");
    out.line(escape_untrusted_lines(&m.body));
    out.line("");
}

fn thread(ctx: &mut Ctx, id: &str) -> Result<u8> {
    let hub = ctx.hub()?;
    let all = messages::load(&hub)?;
    let members = messages::thread(&all, id)?;
    ctx.emit(&Thread {
        root: members.first().map(|m| m.id.clone()),
        messages: members,
    })
}

/// `msg thread`: the conversation, root first.
#[derive(Serialize, JsonSchema)]
pub struct Thread {
    pub root: Option<String>,
    pub messages: Vec<Message>,
}

impl Render for Thread {
    fn text(&self, out: &mut Output) {
        for m in &self.messages {
            full(out, m);
        }
    }
}

fn ack(ctx: &mut Ctx, id: &str, note: Option<&str>) -> Result<u8> {
    let hub = ctx.hub()?;
    let me = ctx.me()?;
    let (ack, new) = messages::ack(&hub, id, &me, note)?;
    ctx.emit(&Acked { ack, new })
}

/// `msg ack`: the acknowledgement, and whether this call made it.
#[derive(Serialize, JsonSchema)]
pub struct Acked {
    pub ack: Ack,
    pub new: bool,
}

impl Render for Acked {
    fn text(&self, out: &mut Output) {
        let (me, id) = (&self.ack.session_id, esc(&self.ack.message_id));
        if self.new {
            out.line(format!("✅ {me} acknowledged {id}"));
        } else {
            out.line(format!(
                "{me} had already acknowledged {id} at {}",
                self.ack.acked_at
            ));
        }
    }
}

/// Boards at least this large show a progress line while they are archived.
const ARCHIVE_PROGRESS_FROM: u64 = 1024 * 1024;

fn archive(ctx: &mut Ctx, before: &str, dry_run: bool) -> Result<u8> {
    let hub = ctx.hub()?;
    let before = parse_when(before)?;
    // A large board takes a while: say so on a terminal (nothing when piped).
    let size = std::fs::metadata(hub.display_path(sessions_core::store::hub::layout::MESSAGES))
        .map_or(0, |m| m.len());
    let ticker = (size >= ARCHIVE_PROGRESS_FROM).then(|| {
        let mib = size as f64 / (1024.0 * 1024.0);
        ctx.out.ticker(move |elapsed| {
            format!(
                "📦 archiving MESSAGES.md ({mib:.1} MiB): {}",
                time::human_age(elapsed.as_secs() as i64)
            )
        })
    });
    let archived = messages::archive(&hub, before, dry_run);
    if let Some(ticker) = ticker {
        ticker.finish(None);
    }
    let archived = archived?;
    ctx.emit(&ArchiveReport { archived, dry_run })
}

/// `msg archive`: what moved (or would) where.
#[derive(Serialize, JsonSchema)]
#[serde(transparent)]
pub struct ArchiveReport {
    pub archived: Archived,
    #[serde(skip)]
    pub dry_run: bool,
}

impl Render for ArchiveReport {
    fn text(&self, out: &mut Output) {
        let done = &self.archived;
        let verb = if self.dry_run { "Would move" } else { "Moved" };
        out.line(format!(
            "{verb} {} messages dated before {}; {} stay on MESSAGES.md.",
            done.moved, done.before, done.kept_messages
        ));
        for (file, n) in &done.files {
            out.line(format!("  {file}: {n}"));
        }
    }
}

pub fn inbox(ctx: &mut Ctx, args: InboxArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let me = ctx.me()?;
    let (mut inbox, marked) = if args.mark_read {
        let (inbox, marked) = messages::inbox_mark_read(&hub, &me, args.unread)?;
        (inbox, Some(marked))
    } else {
        (messages::inbox(&hub, &me, args.unread)?, None)
    };
    if let Some(limit) = args.limit.filter(|l| *l > 0)
        && inbox.messages.len() > limit
    {
        inbox.messages.drain(..inbox.messages.len() - limit);
    }
    ctx.emit(&InboxShown {
        inbox,
        marked_read: marked,
        unread_only: args.unread,
    })
}

/// `inbox`: messages addressed to me, and how many were marked read.
#[derive(Serialize, JsonSchema)]
pub struct InboxShown {
    #[serde(flatten)]
    pub inbox: Inbox,
    /// With --mark-read: how many messages were marked read.
    pub marked_read: Option<usize>,
    #[serde(skip)]
    pub unread_only: bool,
}

impl Render for InboxShown {
    fn text(&self, out: &mut Output) {
        let inbox = &self.inbox;
        let me = &inbox.session;
        if self.unread_only {
            out.line(format!("📬 Inbox of {me}: {} unread", inbox.unread));
        } else {
            out.line(format!(
                "📬 Inbox of {me}: {} message{}, {} unread",
                inbox.messages.len(),
                if inbox.messages.len() == 1 { "" } else { "s" },
                inbox.unread
            ));
        }
        for InboxEntry { message, unread } in &inbox.messages {
            line(out, message, Some(*unread));
        }
        if let Some(n) = self.marked_read {
            out.line(format!(
                "Marked {n} message{} read.",
                if n == 1 { "" } else { "s" }
            ));
        }
    }
}
