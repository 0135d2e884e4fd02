//! The message board: `msg send|list|show|thread|ack|archive` and `inbox`.

use std::io::{IsTerminal, Read};

use clap::{Args, Subcommand};
use serde_json::json;
use sessions_core::board::messages::{self, Filter, InboxEntry, Message, Post};
use sessions_core::{Error, Result, store::time};

use crate::Ctx;
use crate::cmd::split_list;

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
    /// Show one message (by ID or a unique prefix), with who acknowledged it.
    #[command(
        after_help = "Example:\n  sessions msg show m-20251115T214925\n  sessions --json msg show h-7b18ebb6e180"
    )]
    Show {
        /// Message ID (or a unique prefix); blocks without an ID line have a derived `h-...` ID.
        id: String,
    },
    /// Show the conversation a message belongs to (its Reply-To chain and all replies).
    #[command(after_help = "Example:\n  sessions msg thread m-20251115T214925.123Z-0a1b2c3d4e5f")]
    Thread { id: String },
    /// Acknowledge a message; its sender sees who acknowledged it in `msg show`.
    #[command(
        after_help = "Example:\n  sessions --as s2 msg ack m-20251115T214925.123Z-0a1b2c3d4e5f \"on it\""
    )]
    Ack {
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
    /// normal, high or urgent.
    #[arg(long, default_value = "normal", value_parser = ["low", "normal", "high", "urgent"])]
    pub priority: String,
    /// The ID of the message this answers.
    #[arg(long, value_name = "MESSAGE-ID")]
    pub reply_to: Option<String>,
    /// The body; read from stdin when absent or `-`.
    pub body: Option<String>,
    /// Post each line of FILE (JSON strings) as its own message; used by the test
    /// suite's concurrency checks to avoid thousands of process starts.
    #[arg(long, hide = true, value_name = "FILE")]
    pub bodies_from: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    pub from: Option<String>,
    /// Messages to this session (including broadcasts).
    #[arg(long)]
    pub to: Option<String>,
    /// A date/time or an age (2h, 1d).
    #[arg(long, value_name = "DATE|AGE")]
    pub since: Option<String>,
    /// This priority or higher: low, normal, high, urgent.
    #[arg(long, value_parser = ["low", "normal", "high", "urgent"])]
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

fn read_body(body: Option<String>) -> Result<String> {
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
                .read_to_end(&mut bytes)
                .map_err(|e| Error::io("<stdin>", e))?;
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
        reply_to: args.reply_to,
        body: String::new(),
    };
    if let Some(file) = &args.bodies_from {
        let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
        let mut ids = Vec::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            post.body = serde_json::from_str(line)
                .map_err(|e| Error::Usage(format!("{}: {e}", file.display())))?;
            ids.push(messages::post(&hub, &post)?.id);
        }
        if ctx.json() {
            ctx.out.json(&json!({ "ids": ids }));
        } else {
            ctx.out.line(format!("Posted {} messages.", ids.len()));
        }
        return Ok(0);
    }
    post.body = read_body(args.body)?;
    if post.body.trim().is_empty() {
        return Err(Error::Usage("the message body is empty".into()));
    }
    let posted = messages::post(&hub, &post)?;
    if ctx.json() {
        ctx.out.json(&json!({
            "id": posted.id,
            "time": posted.time,
            "from": post.from,
            "to": if post.to.is_empty() { vec!["all".to_string()] } else { post.to.clone() },
            "priority": post.priority,
            "subject": post.subject,
            "reply_to": post.reply_to,
        }));
    } else {
        let to = if post.to.is_empty() {
            "all".to_string()
        } else {
            post.to.join(", ")
        };
        ctx.out
            .line(format!("📨 {} → {to}: {}", post.from, posted.id));
    }
    Ok(0)
}

fn list(ctx: &mut Ctx, args: ListArgs) -> Result<u8> {
    let hub = ctx.hub()?;
    let text = messages::read_board(&hub)?;
    let segments = messages::parse(&text);
    if args.with_text && ctx.json() {
        ctx.out.json(&json!({ "segments": segments }));
        return Ok(0);
    }
    let sections = segments
        .iter()
        .filter(|s| matches!(s, messages::Segment::Text(_)))
        .count();
    let texts: Vec<messages::TextSection> = if args.with_text {
        segments
            .iter()
            .filter_map(|s| match s {
                messages::Segment::Text(t) => Some(t.clone()),
                messages::Segment::Message(_) => None,
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
    let limit = args.limit.unwrap_or(if ctx.json() { 0 } else { 30 });
    let total = found.len();
    if limit > 0 && found.len() > limit {
        found.drain(..found.len() - limit);
    }
    if ctx.json() {
        ctx.out.json(&json!({
            "count": total,
            "shown": found.len(),
            "text_sections": sections,
            "messages": found,
        }));
        return Ok(0);
    }
    if found.is_empty() {
        ctx.out.line("No messages match.");
    }
    if total > found.len() {
        ctx.out.line(ctx.out.dim(&format!(
            "… {} earlier messages (use --limit 0 for all)",
            total - found.len()
        )));
    }
    for m in &found {
        line(ctx, m, None);
    }
    for t in &texts {
        if !t.text.trim().trim_matches('-').trim().is_empty() {
            ctx.out.line(format!(
                "📝 {}  {}",
                t.id,
                t.title.as_deref().unwrap_or("(free text)")
            ));
        }
    }
    Ok(0)
}

fn priority_tag(ctx: &Ctx, p: &str) -> String {
    match p {
        "urgent" => ctx.out.red("[urgent]"),
        "high" => ctx.out.yellow("[high]"),
        "low" => ctx.out.dim("[low]"),
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
fn line(ctx: &mut Ctx, m: &Message, unread: Option<bool>) {
    let mark = match unread {
        Some(true) => ctx.out.bold("● "),
        Some(false) => "  ".into(),
        None => String::new(),
    };
    let title = m.subject.clone().unwrap_or_else(|| m.preview(70));
    ctx.out.line(format!(
        "{mark}{} {:<16} {} → {} {}{}",
        ctx.out.dim(&m.id),
        when(m),
        m.from.as_deref().unwrap_or("?"),
        m.to.join(", "),
        priority_tag(ctx, &m.priority),
        if priority_tag(ctx, &m.priority).is_empty() {
            title
        } else {
            format!(" {title}")
        }
    ));
    if m.subject.is_some() {
        let preview = m.preview(90);
        if !preview.is_empty() {
            ctx.out.line(format!(
                "{}    {}",
                if unread.is_some() { "  " } else { "" },
                ctx.out.dim(&preview)
            ));
        }
    }
}

fn show(ctx: &mut Ctx, id: &str) -> Result<u8> {
    let hub = ctx.hub()?;
    let all = messages::load(&hub)?;
    let m = messages::find(&all, id)?;
    let acks = messages::acks(&hub, &m.id)?;
    let replies: Vec<&str> = all
        .iter()
        .filter(|r| r.reply_to.as_deref() == Some(m.id.as_str()))
        .map(|r| r.id.as_str())
        .collect();
    if ctx.json() {
        let mut v = serde_json::to_value(m).expect("messages serialize");
        v["acks"] = json!(acks);
        v["replies"] = json!(replies);
        ctx.out.json(&v);
        return Ok(0);
    }
    full(ctx, m);
    if acks.is_empty() {
        ctx.out.line(ctx.out.dim("   not acknowledged yet"));
    } else {
        for a in &acks {
            let note = a
                .note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default();
            ctx.out.line(format!(
                "   ✅ acknowledged by {} at {}{note}",
                a.session_id, a.acked_at
            ));
        }
    }
    if !replies.is_empty() {
        ctx.out.line(format!("   replies: {}", replies.join(", ")));
    }
    Ok(0)
}

fn full(ctx: &mut Ctx, m: &Message) {
    ctx.out.line(format!(
        "📨 {} {}",
        ctx.out.bold(m.subject.as_deref().unwrap_or("(no subject)")),
        priority_tag(ctx, &m.priority)
    ));
    ctx.out.line(format!(
        "   ID:   {}{}",
        m.id,
        if m.id_derived {
            " (derived: the block has no ID line)"
        } else {
            ""
        }
    ));
    ctx.out
        .line(format!("   From: {}", m.from.as_deref().unwrap_or("?")));
    ctx.out.line(format!("   To:   {}", m.to.join(", ")));
    let time = match (&m.time, &m.time_raw) {
        (Some(t), _) => t.clone(),
        (None, Some(raw)) => format!("{raw} (not a time)"),
        (None, None) => "-".into(),
    };
    ctx.out.line(format!("   Time: {time}"));
    if let Some(r) = &m.reply_to {
        ctx.out.line(format!("   Reply-To: {r}"));
    }
    for (k, v) in &m.fields {
        ctx.out.line(format!("   {k}: {v}"));
    }
    ctx.out.line("");
    ctx.out.line(&m.body);
    ctx.out.line("");
}

fn thread(ctx: &mut Ctx, id: &str) -> Result<u8> {
    let hub = ctx.hub()?;
    let all = messages::load(&hub)?;
    let members = messages::thread(&all, id)?;
    if ctx.json() {
        ctx.out.json(&json!({
            "root": members.first().map(|m| m.id.clone()),
            "messages": members,
        }));
        return Ok(0);
    }
    for m in &members {
        full(ctx, m);
    }
    Ok(0)
}

fn ack(ctx: &mut Ctx, id: &str, note: Option<&str>) -> Result<u8> {
    let hub = ctx.hub()?;
    let me = ctx.me()?;
    let (ack, new) = messages::ack(&hub, id, &me, note)?;
    if ctx.json() {
        ctx.out.json(&json!({ "ack": ack, "new": new }));
    } else if new {
        ctx.out
            .line(format!("✅ {me} acknowledged {}", ack.message_id));
    } else {
        ctx.out.line(format!(
            "{me} had already acknowledged {} at {}",
            ack.message_id, ack.acked_at
        ));
    }
    Ok(0)
}

fn archive(ctx: &mut Ctx, before: &str, dry_run: bool) -> Result<u8> {
    let hub = ctx.hub()?;
    let before = parse_when(before)?;
    let done = messages::archive(&hub, before, dry_run)?;
    if ctx.json() {
        ctx.out.json(&done);
        return Ok(0);
    }
    let verb = if dry_run { "Would move" } else { "Moved" };
    ctx.out.line(format!(
        "{verb} {} messages dated before {}; {} stay on MESSAGES.md.",
        done.moved, done.before, done.kept_messages
    ));
    for (file, n) in &done.files {
        ctx.out.line(format!("  {file}: {n}"));
    }
    Ok(0)
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
    if ctx.json() {
        let mut v = serde_json::to_value(&inbox).expect("inbox serializes");
        v["marked_read"] = json!(marked);
        ctx.out.json(&v);
        return Ok(0);
    }
    if args.unread {
        ctx.out
            .line(format!("📬 Inbox of {me}: {} unread", inbox.unread));
    } else {
        ctx.out.line(format!(
            "📬 Inbox of {me}: {} message{}, {} unread",
            inbox.messages.len(),
            if inbox.messages.len() == 1 { "" } else { "s" },
            inbox.unread
        ));
    }
    for InboxEntry { message, unread } in &inbox.messages {
        line(ctx, message, Some(*unread));
    }
    if let Some(n) = marked {
        ctx.out.line(format!(
            "Marked {n} message{} read.",
            if n == 1 { "" } else { "s" }
        ));
    }
    Ok(0)
}
