//! The message board, MESSAGES.md (DESIGN §3.4): appending, parsing, inboxes with
//! read cursors, acknowledgements and archiving.
//!
//! Each block the toolkit writes keeps the original shape (`---`, a `###` subject,
//! `**From:**`, `**To:**`, `**Time:**`, `**Priority:**`, the body) and adds two lines:
//! `**ID:**`, so readers can keep cursors and replies can point at it, and
//! `**Length:**`, the body's size in bytes, so a body holding `---` lines or quoted
//! headers still parses back exactly. Everything else on the board (the blocks the
//! original scripts wrote, hand-written sections) is parsed tolerantly: blocks with a
//! `**From:**` header become messages with a derived, content-based ID; the rest is
//! kept as free-text sections. Parsing never fails and never drops a byte: the
//! segments of a board, concatenated, are the board.

use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

use crate::store::error::{Error, Result};
use crate::store::hub::{Hub, layout};
use crate::store::time::{self, Timestamp};
use crate::{store::ids, store::storage};

/// Where acknowledgements live: `ACTIVE/ACKS/<message-id>/<session>.json`, one file per
/// ack, created exclusively, so acks never conflict in a git merge.
pub const ACKS: &str = "ACTIVE/ACKS";
/// Read cursors: `.sessions/cursors/<session>.json` (+ `<session>.seen`).
pub const CURSORS: &str = ".sessions/cursors";
/// Priorities a sender may give.
pub const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];

/// A message to post.
#[derive(Debug, Clone, Default)]
pub struct Post {
    pub from: String,
    /// Recipients; empty means everyone (`all`).
    pub to: Vec<String>,
    pub subject: Option<String>,
    pub priority: Option<String>,
    pub reply_to: Option<String>,
    pub body: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Posted {
    pub id: String,
    pub time: String,
}

/// Render one block. The block begins with a separator so that appending it to any
/// board, whatever its last line, starts a new section. The body is written as given
/// (its exact bytes are recorded in `**Length:**`), followed by one newline.
pub fn render_block(id: &str, time: &str, post: &Post) -> String {
    let to = if post.to.is_empty() {
        "all".to_string()
    } else {
        post.to.join(", ")
    };
    let mut block = String::with_capacity(post.body.len() + 256);
    block.push_str("\n---\n\n");
    if let Some(subject) = &post.subject {
        block.push_str(&format!("### {}\n", one_line(subject)));
    }
    block.push_str(&format!("**ID:** {id}\n"));
    block.push_str(&format!("**From:** {}\n", post.from));
    block.push_str(&format!("**To:** {to}\n"));
    block.push_str(&format!("**Time:** {time}\n"));
    block.push_str(&format!(
        "**Priority:** {}\n",
        post.priority.as_deref().unwrap_or("normal")
    ));
    if let Some(reply_to) = &post.reply_to {
        block.push_str(&format!("**Reply-To:** {reply_to}\n"));
    }
    block.push_str(&format!("**Length:** {}\n", post.body.len()));
    block.push('\n');
    block.push_str(&post.body);
    block.push('\n');
    block
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ").trim().to_string()
}

/// Append a message: one locked write of the whole block, then fsync. The body passes
/// the secret check first.
pub fn post(hub: &Hub, post: &Post) -> Result<Posted> {
    post_with_id(hub, post, &ids::unique("m"))
}

/// [`post`] with an ID chosen by the caller (a collaboration request records its
/// message's ID in its file before the message is written).
pub fn post_with_id(hub: &Hub, post: &Post, id: &str) -> Result<Posted> {
    ids::validate("message ID", id)?;
    ids::validate("session ID", &post.from)?;
    for to in &post.to {
        ids::validate("recipient ID", to)?;
    }
    if let Some(reply_to) = &post.reply_to {
        ids::validate("message ID (--reply-to)", reply_to)?;
    }
    if let Some(p) = &post.priority
        && !PRIORITIES.contains(&p.as_str())
    {
        return Err(Error::Usage(format!(
            "invalid priority {p:?}: use one of {}",
            PRIORITIES.join(", ")
        )));
    }
    hub.check_secrets("the message body", &post.body)?;
    if let Some(subject) = &post.subject {
        hub.check_secrets("the message subject", subject)?;
    }
    let time = time::format(time::now());
    let block = render_block(id, &time, post);
    append(hub, layout::MESSAGES, block.as_bytes())?;
    Ok(Posted {
        id: id.to_string(),
        time,
    })
}

/// Append `bytes` to a hub file in one write under its sidecar lock, then fsync.
pub fn append(hub: &Hub, rel: &str, bytes: &[u8]) -> Result<()> {
    let path = hub.file(rel)?;
    let _lock = hub.lock(rel)?;
    let mut file = storage::open_regular(&path, OpenOptions::new().create(true).append(true))
        .map_err(|e| Error::io(&path, e))?;
    file.write_all(bytes).map_err(|e| Error::io(&path, e))?;
    file.sync_data().map_err(|e| Error::io(&path, e))?;
    Ok(())
}

// ---------------------------------------------------------------------------------
// Parsing

/// Who wrote a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Written by this toolkit: has `**ID:**` and `**Length:**`; the body is exact.
    Toolkit,
    /// Written by the original scripts or by hand with a `**From:**` header.
    Script,
}

/// One message parsed from the board.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Message {
    pub id: String,
    /// True when the block has no `**ID:**` line and the ID was derived from its bytes.
    pub id_derived: bool,
    pub format: Format,
    pub from: Option<String>,
    /// Recipients as written (split on commas); `["all"]` for broadcasts.
    pub to: Vec<String>,
    /// Addressed to everyone (`all`, `All sessions ...`, or no `**To:**` line).
    pub broadcast: bool,
    /// Canonical RFC 3339 time, when the block's time parses.
    pub time: Option<String>,
    /// The time as written (e.g. a literal `$(date ...)` from a broken script).
    pub time_raw: Option<String>,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    /// The priority as written, when it differs (`⚠️ high`, `🎯 CONSENSUS NEEDED`).
    pub priority_raw: Option<String>,
    pub subject: Option<String>,
    pub reply_to: Option<String>,
    pub body: String,
    /// Other header fields (`Urgency`, `Request-ID`, ...), in order.
    pub fields: BTreeMap<String, String>,
    /// Byte offset and length of the whole block in the file.
    pub offset: u64,
    pub len: u64,
    #[serde(skip)]
    pub timestamp: Option<Timestamp>,
}

/// A free-text section, kept as written.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TextSection {
    pub id: String,
    /// Its first heading, if any.
    pub title: Option<String>,
    pub text: String,
    pub offset: u64,
    pub len: u64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
// Most segments are messages: boxing them would only add an allocation each.
#[allow(clippy::large_enum_variant)]
pub enum Segment {
    Message(Message),
    Text(TextSection),
}

impl Segment {
    pub fn range(&self) -> (u64, u64) {
        match self {
            Segment::Message(m) => (m.offset, m.len),
            Segment::Text(t) => (t.offset, t.len),
        }
    }
    pub fn id(&self) -> &str {
        match self {
            Segment::Message(m) => &m.id,
            Segment::Text(t) => &t.id,
        }
    }
}

/// Parse a whole board.
pub fn parse(text: &str) -> Vec<Segment> {
    parse_at(text, 0)
}

/// Parse `text`, which starts at byte `base` of the file (for reading only the tail).
/// Never fails: what is not a message is a text section; every byte lands in exactly
/// one segment, in order.
pub fn parse_at(text: &str, base: u64) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut derived = Taken::new();
    let mut chunk_start = 0;
    let mut pos = 0;
    let mut blank_run_start: Option<usize> = None;
    while pos < text.len() {
        let (line, next) = line_at(text, pos);
        if line.trim().is_empty() {
            blank_run_start.get_or_insert(pos);
            pos = next;
            continue;
        }
        if is_separator(line) {
            // The block owns the blank lines before its separator.
            let start = blank_run_start.unwrap_or(pos).max(chunk_start);
            if let Some((end, msg)) = toolkit_block(text, start, pos, next, base) {
                if chunk_start < start {
                    segments.push(chunk(text, chunk_start, start, base, &mut derived));
                }
                segments.push(Segment::Message(msg));
                chunk_start = end;
                pos = end;
                blank_run_start = None;
                continue;
            }
            if chunk_start < start {
                segments.push(chunk(text, chunk_start, start, base, &mut derived));
                chunk_start = start;
            }
        }
        blank_run_start = None;
        pos = next;
    }
    if chunk_start < text.len() {
        segments.push(chunk(text, chunk_start, text.len(), base, &mut derived));
    }
    segments
}

/// The line at `pos` (without its newline and any `\r`) and the start of the next line.
fn line_at(text: &str, pos: usize) -> (&str, usize) {
    match text[pos..].find('\n') {
        Some(i) => (text[pos..pos + i].trim_end_matches('\r'), pos + i + 1),
        None => (text[pos..].trim_end_matches('\r'), text.len()),
    }
}

fn is_separator(line: &str) -> bool {
    line.trim() == "---"
}

/// A `**Key:** value` header line.
fn field(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    let rest = line.strip_prefix("**")?;
    let end = rest.find(":**")?;
    let key = &rest[..end];
    if key.is_empty()
        || key.len() > 32
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-' || c == '_')
        || !key.starts_with(|c: char| c.is_ascii_alphabetic())
    {
        return None;
    }
    Some((key, rest[end + 3..].trim()))
}

fn heading(line: &str) -> Option<&str> {
    let t = line.trim_start();
    if !t.starts_with('#') {
        return None;
    }
    let rest = t.trim_start_matches('#');
    if !rest.starts_with(' ') {
        return None;
    }
    Some(rest.trim())
}

/// Try to read a toolkit block whose separator line is at `sep` (its blank lines begin
/// at `start`). Returns the block's end and the message when the header and the
/// recorded body length fit the file exactly.
fn toolkit_block(
    text: &str,
    start: usize,
    sep: usize,
    after_sep: usize,
    base: u64,
) -> Option<(usize, Message)> {
    let _ = sep;
    let mut pos = after_sep;
    // Blank lines, then an optional `### subject`, then `**ID:**`.
    loop {
        let (line, next) = line_at(text, pos);
        if pos >= text.len() {
            return None;
        }
        if !line.trim().is_empty() {
            break;
        }
        pos = next;
    }
    let mut subject = None;
    let (line, next) = line_at(text, pos);
    if let Some(h) = heading(line) {
        subject = Some(h.to_string());
        pos = next;
    }
    let (first, _) = line_at(text, pos);
    if !first.trim_start().starts_with("**ID:**") {
        return None;
    }
    let mut fields = Vec::new();
    while pos < text.len() {
        let (line, next) = line_at(text, pos);
        match field(line) {
            Some((k, v)) => {
                fields.push((k.to_string(), v.to_string()));
                pos = next;
            }
            None => break,
        }
    }
    let get = |k: &str| {
        fields
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    };
    let length: usize = get("Length")?.split_whitespace().next()?.parse().ok()?;
    // One empty line, then exactly `length` bytes of body, then a newline.
    let (line, body_start) = line_at(text, pos);
    if !line.is_empty() || pos >= text.len() {
        return None;
    }
    let body_end = body_start.checked_add(length)?;
    if body_end >= text.len()
        || text.as_bytes()[body_end] != b'\n'
        || !text.is_char_boundary(body_end)
    {
        return None;
    }
    let end = body_end + 1;
    let id = get("ID")?.to_string();
    if ids::validate("message ID", &id).is_err() {
        return None;
    }
    let body = text[body_start..body_end].to_string();
    let msg = build_message(
        id,
        false,
        Format::Toolkit,
        &fields,
        subject,
        None,
        None,
        body,
        base + start as u64,
        (end - start) as u64,
    );
    Some((end, msg))
}

/// Classify a chunk between separators: a script-written message or free text.
fn chunk(text: &str, start: usize, end: usize, base: u64, derived: &mut Taken) -> Segment {
    let raw = &text[start..end];
    let offset = base + start as u64;
    let len = (end - start) as u64;
    match script_message(raw, offset, len, derived) {
        Some(msg) => Segment::Message(msg),
        None => {
            let title = raw.lines().find_map(heading).map(str::to_string);
            Segment::Text(TextSection {
                id: derive_id("t", raw, derived),
                title,
                text: raw.to_string(),
                offset,
                len,
            })
        }
    }
}

/// A content-based ID for a block without one: stable across processes, and across a
/// merge that moves the block, because it depends only on the block's own text.
fn derive_id(prefix: &str, raw: &str, seen: &mut Taken) -> String {
    let base = format!(
        "{prefix}-{:012x}",
        fnv1a(raw.trim().as_bytes()) & 0xffff_ffff_ffff
    );
    if seen.claim(&base) {
        return base;
    }
    // The first free `<base>-<n>`, starting where the last search for this base ended
    // (every name below it is taken), so a board of k identical blocks costs O(k).
    let mut n = seen.next_suffix.get(&base).copied().unwrap_or(2);
    loop {
        let id = format!("{base}-{n}");
        n += 1;
        if seen.claim(&id) {
            seen.next_suffix.insert(base, n);
            return id;
        }
    }
}

/// The IDs given out so far while parsing one board.
struct Taken {
    ids: HashSet<String>,
    /// For each derived base ID, the suffix to try next.
    next_suffix: std::collections::HashMap<String, usize>,
}

impl Taken {
    fn new() -> Taken {
        Taken {
            ids: HashSet::new(),
            next_suffix: std::collections::HashMap::new(),
        }
    }

    /// Take `id` if it is free.
    fn claim(&mut self, id: &str) -> bool {
        !self.ids.contains(id) && self.ids.insert(id.to_string())
    }
}

pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn script_message(raw: &str, offset: u64, len: u64, derived: &mut Taken) -> Option<Message> {
    let mut lines = raw.lines().map(|l| l.trim_end_matches('\r')).peekable();
    let mut consumed = 0usize; // lines consumed
    let mut headings: Vec<&str> = Vec::new();
    let mut from_heading = None;
    let mut to_heading = None;
    // Separator, blank lines and up to three headings.
    while let Some(line) = lines.peek() {
        let t = line.trim();
        if t.is_empty() || is_separator(t) {
        } else if let Some(h) = heading(t) {
            if headings.len() + usize::from(from_heading.is_some() || to_heading.is_some()) >= 3 {
                return None;
            }
            if let Some(v) = strip_label(h, "From") {
                from_heading = Some(v.to_string());
            } else if let Some(v) = strip_label(h, "To") {
                to_heading = Some(v.to_string());
            } else {
                headings.push(h);
            }
        } else {
            break;
        }
        lines.next();
        consumed += 1;
    }
    let mut fields: Vec<(String, String)> = Vec::new();
    while let Some(line) = lines.peek() {
        match field(line) {
            Some((k, v)) => fields.push((k.to_string(), v.to_string())),
            None => break,
        }
        lines.next();
        consumed += 1;
    }
    let has = |k: &str| fields.iter().any(|(key, _)| key.eq_ignore_ascii_case(k));
    // session-vote.sh's "CONSENSUS REACHED" block has no From line, only Time and
    // Priority: it is a message all the same (from nobody in particular).
    if !(has("From") || from_heading.is_some() || (has("Time") && has("Priority"))) {
        return None;
    }
    // The body: the rest, without leading blank lines; a `###` heading right after the
    // header is the subject when there is no other.
    // (Slicing, not `remove(0)`: a block padded with many blank lines stays linear.)
    let all_rest: Vec<&str> = raw
        .lines()
        .skip(consumed)
        .map(|l| l.trim_end_matches('\r'))
        .collect();
    let skip_blank = |lines: &[&str]| lines.iter().take_while(|l| l.trim().is_empty()).count();
    let mut rest = &all_rest[skip_blank(&all_rest)..];
    let mut subject = None;
    if !has("Subject")
        && headings.is_empty()
        && let Some(h) = rest.first().and_then(|l| heading(l))
    {
        subject = Some(h.to_string());
        rest = &rest[1..];
        rest = &rest[skip_blank(rest)..];
    }
    if subject.is_none() && !has("Subject") {
        subject = headings.last().map(|h| h.to_string());
    }
    let body = rest.join("\n").trim_end().to_string();
    let given_id = fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("ID"))
        .map(|(_, v)| v.clone())
        .filter(|v| ids::validate("message ID", v).is_ok() && derived.claim(v));
    let (id, id_derived) = match given_id {
        Some(id) => (id, false),
        None => (derive_id("h", raw, derived), true),
    };
    let mut msg = build_message(
        id,
        id_derived,
        Format::Script,
        &fields,
        subject,
        from_heading,
        to_heading,
        body,
        offset,
        len,
    );
    if msg.timestamp.is_none() {
        // `**From:** Current Session (2025-11-15 21:30 UTC)`, `### ... (15:53 UTC)`.
        let header = raw.lines().take(consumed).collect::<Vec<_>>().join("\n");
        if let Some(t) = find_datetime(&header) {
            msg.timestamp = Some(t);
            msg.time = Some(time::format(t));
        }
    }
    Some(msg)
}

fn strip_label<'a>(heading: &'a str, label: &str) -> Option<&'a str> {
    let rest = heading.get(..label.len() + 1)?;
    if rest
        .get(..label.len())
        .is_some_and(|l| l.eq_ignore_ascii_case(label))
        && rest.ends_with(':')
    {
        Some(heading[label.len() + 1..].trim())
    } else {
        None
    }
}

fn find_datetime(text: &str) -> Option<Timestamp> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?(?:\s*UTC|Z)?")
            .expect("valid regex")
    });
    re.find_iter(text).find_map(|m| time::parse_str(m.as_str()))
}

#[allow(clippy::too_many_arguments)]
fn build_message(
    id: String,
    id_derived: bool,
    format: Format,
    fields: &[(String, String)],
    subject: Option<String>,
    from_heading: Option<String>,
    to_heading: Option<String>,
    body: String,
    offset: u64,
    len: u64,
) -> Message {
    let mut from = from_heading;
    let mut to_raw = to_heading;
    let mut time_raw = None;
    let mut priority_raw = None;
    let mut subject_field = None;
    let mut reply_to = None;
    let mut other = BTreeMap::new();
    for (key, value) in fields {
        let k = key.to_ascii_lowercase();
        let value = value.trim();
        match k.as_str() {
            "from" => from = Some(value.to_string()),
            "to" => to_raw = Some(value.to_string()),
            "time" | "date" | "sent" => {
                time_raw.get_or_insert_with(|| value.to_string());
            }
            "priority" | "urgency" => {
                priority_raw.get_or_insert_with(|| value.to_string());
                if k == "urgency" {
                    other.insert(key.clone(), value.to_string());
                }
            }
            "subject" => subject_field = Some(value.to_string()),
            "reply-to" | "reply to" | "in-reply-to" | "re" => reply_to = Some(value.to_string()),
            "id" | "length" if format == Format::Toolkit => {}
            "message" if value.is_empty() => {}
            _ => {
                other.insert(key.clone(), value.to_string());
            }
        }
    }
    let timestamp = time_raw
        .as_deref()
        .and_then(|t| time::parse_str(t).or_else(|| find_datetime(t)));
    let (to, broadcast) = recipients(to_raw.as_deref());
    let priority = normalize_priority(priority_raw.as_deref());
    let priority_raw = priority_raw.filter(|raw| raw != &priority);
    Message {
        id,
        id_derived,
        format,
        from: from.filter(|f| !f.is_empty()),
        to,
        broadcast,
        time: timestamp.map(time::format),
        time_raw,
        priority,
        priority_raw,
        subject: subject_field.or(subject).filter(|s| !s.is_empty()),
        reply_to: reply_to.filter(|r| !r.is_empty()),
        body,
        fields: other,
        offset,
        len,
        timestamp,
    }
}

/// Whether a recipient name means everyone (`all`, `everyone`, `*`, any case).
pub fn is_broadcast_name(name: &str) -> bool {
    matches!(name.to_lowercase().as_str(), "*" | "all" | "everyone")
}

fn recipients(raw: Option<&str>) -> (Vec<String>, bool) {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return (vec!["all".into()], true);
    };
    let lower = raw.to_lowercase();
    // The first word, so `All sessions (1, 2)` is everyone but a session named
    // `allocator` (or `all-hands`) is not.
    let first = lower
        .split(|c: char| c.is_whitespace() || c == ',' || c == '(')
        .next()
        .unwrap_or("");
    if is_broadcast_name(first) {
        return (vec!["all".into()], true);
    }
    let to = raw
        .split(',')
        .map(|s| s.trim().trim_matches('`').to_string())
        .filter(|s| !s.is_empty())
        .collect();
    (to, false)
}

fn normalize_priority(raw: Option<&str>) -> String {
    let lower = raw.unwrap_or("").to_lowercase();
    if lower.contains("urgent") || lower.contains("critical") || lower.contains('🚨') {
        "urgent"
    } else if lower.contains("high") {
        "high"
    } else if lower.contains("low") {
        "low"
    } else {
        "normal"
    }
    .to_string()
}

impl Message {
    /// Is this message for `me`: sent to me, to everyone, or mentioning my ID? My own
    /// messages are not.
    pub fn is_for(&self, me: &str) -> bool {
        if self
            .from
            .as_deref()
            .is_some_and(|f| f.eq_ignore_ascii_case(me))
        {
            return false;
        }
        self.broadcast
            || self.to.iter().any(|t| t.eq_ignore_ascii_case(me))
            || mentions(&self.body, me)
            || self.subject.as_deref().is_some_and(|s| mentions(s, me))
    }

    /// The first non-empty line of the body, shortened.
    pub fn preview(&self, max: usize) -> String {
        let line = self
            .body
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        shorten(line, max)
    }

    /// A compact form for dashboards.
    pub fn summary(&self) -> Summary {
        Summary {
            id: self.id.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            time: self.time.clone(),
            priority: self.priority.clone(),
            subject: self.subject.clone(),
            preview: self.preview(100),
        }
    }
}

pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `me` as a whole word (or `@me`) in `text`.
fn mentions(text: &str, me: &str) -> bool {
    if me.is_empty() {
        return false;
    }
    let is_id = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut from = 0;
    while let Some(i) = text[from..].find(me) {
        let at = from + i;
        let end = at + me.len();
        let before_ok = !text[..at].chars().next_back().is_some_and(is_id);
        let mut after = text[end..].chars();
        let after_ok = match after.next() {
            None => true,
            Some('.') => !after.next().is_some_and(|c| c.is_ascii_alphanumeric()),
            Some(c) => !is_id(c),
        };
        if before_ok && after_ok {
            return true;
        }
        from = at + me.len().max(1);
        while !text.is_char_boundary(from) {
            from += 1;
        }
    }
    false
}

/// A compact message for `sessions status`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Summary {
    pub id: String,
    pub from: Option<String>,
    pub to: Vec<String>,
    pub time: Option<String>,
    pub priority: String,
    pub subject: Option<String>,
    pub preview: String,
}

pub fn messages(segments: Vec<Segment>) -> Vec<Message> {
    segments
        .into_iter()
        .filter_map(|s| match s {
            Segment::Message(m) => Some(m),
            Segment::Text(_) => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// Reading the board

/// Largest board parsed whole; `msg archive` keeps boards far below it.
const MAX_BOARD_BYTES: u64 = 512 * 1024 * 1024;

fn board_path(hub: &Hub) -> Result<PathBuf> {
    let path = hub.path(layout::MESSAGES);
    hub.ensure_inside(&path)?;
    Ok(path)
}

/// Take the board's lock for the moment of a read, so no half-appended block is seen.
/// A hub we cannot write to (a read-only copy) is read without it.
fn read_lock(hub: &Hub) -> Result<Option<storage::FileLock>> {
    match hub.lock(layout::MESSAGES) {
        Ok(lock) => Ok(Some(lock)),
        Err(Error::Io { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The whole board as text (empty when missing).
pub fn read_board(hub: &Hub) -> Result<String> {
    let path = board_path(hub)?;
    let _lock = read_lock(hub)?;
    read_board_at(&path, MAX_BOARD_BYTES)
}

fn read_board_at(path: &Path, limit: u64) -> Result<String> {
    Ok(lossy(read_board_bytes(path, limit)?))
}

fn read_board_bytes(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let mut file = match storage::open_read(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len > limit {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// Every message on the board, in board order.
pub fn load(hub: &Hub) -> Result<Vec<Message>> {
    Ok(messages(parse(&read_board(hub)?)))
}

/// Find a message by ID or unique ID prefix.
pub fn find<'a>(all: &'a [Message], id: &str) -> Result<&'a Message> {
    if let Some(m) = all.iter().find(|m| m.id == id) {
        return Ok(m);
    }
    let hits: Vec<&Message> = all.iter().filter(|m| m.id.starts_with(id)).collect();
    match hits.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::NotFound {
            what: "message",
            name: format!("{id} (see `sessions msg list`)"),
        }),
        many => Err(Error::Usage(format!(
            "{id:?} matches {} messages; give more of the ID",
            many.len()
        ))),
    }
}

/// Filters for `msg list`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub since: Option<Timestamp>,
    pub priority: Option<String>,
    pub thread: Option<String>,
}

impl Filter {
    pub fn apply(&self, all: &[Message]) -> Result<Vec<Message>> {
        let thread_ids: Option<HashSet<String>> = match &self.thread {
            Some(id) => Some(thread(all, id)?.into_iter().map(|m| m.id).collect()),
            None => None,
        };
        let rank = |p: &str| PRIORITIES.iter().position(|x| *x == p).unwrap_or(1);
        Ok(all
            .iter()
            .filter(|m| {
                self.from.as_deref().is_none_or(|f| {
                    m.from
                        .as_deref()
                        .is_some_and(|mf| mf.eq_ignore_ascii_case(f))
                })
            })
            .filter(|m| {
                self.to
                    .as_deref()
                    .is_none_or(|t| m.broadcast || m.to.iter().any(|x| x.eq_ignore_ascii_case(t)))
            })
            .filter(|m| {
                self.since
                    .is_none_or(|s| m.timestamp.is_some_and(|t| t >= s))
            })
            .filter(|m| {
                self.priority
                    .as_deref()
                    .is_none_or(|p| rank(&m.priority) >= rank(p))
            })
            .filter(|m| thread_ids.as_ref().is_none_or(|ids| ids.contains(&m.id)))
            .cloned()
            .collect())
    }
}

/// The whole conversation `id` belongs to: up the `Reply-To` chain to its root, then
/// every reply below it, in board order.
pub fn thread(all: &[Message], id: &str) -> Result<Vec<Message>> {
    let start = find(all, id)?;
    let by_id: BTreeMap<&str, &Message> = all.iter().map(|m| (m.id.as_str(), m)).collect();
    let mut root = start;
    let mut guard = 0;
    while let Some(parent) = root.reply_to.as_deref().and_then(|p| by_id.get(p)) {
        root = parent;
        guard += 1;
        if guard > all.len() {
            break; // a cycle written by hand
        }
    }
    let mut members: HashSet<&str> = HashSet::from([root.id.as_str()]);
    // Board order is mostly reply order; repeat until no new member (cheap, bounded).
    loop {
        let before = members.len();
        for m in all {
            if m.reply_to.as_deref().is_some_and(|r| members.contains(r)) {
                members.insert(m.id.as_str());
            }
        }
        if members.len() == before {
            break;
        }
    }
    Ok(all
        .iter()
        .filter(|m| members.contains(m.id.as_str()))
        .cloned()
        .collect())
}

/// The last `n` messages, reading only the board's tail (for `sessions status`).
pub fn recent(hub: &Hub, n: usize) -> Result<Vec<Summary>> {
    const TAIL_BYTES: u64 = 128 * 1024;
    let path = board_path(hub)?;
    let lock = read_lock(hub)?;
    let mut file = match storage::open_read(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
    let start = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start))
        .map_err(|e| Error::io(&path, e))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::io(&path, e))?;
    drop(lock);
    let text = String::from_utf8_lossy(&bytes);
    // Start at the first separator: the bytes before it may be a cut block.
    let from = if start == 0 {
        0
    } else {
        text.find("\n---").unwrap_or(text.len())
    };
    let all = messages(parse_at(&text[from..], start + from as u64));
    let keep = all.len().saturating_sub(n);
    Ok(all[keep..].iter().map(Message::summary).collect())
}

// ---------------------------------------------------------------------------------
// Inbox and read cursors

/// Where a session stopped reading: the board's length at that time, the file's
/// identity and a checksum of the bytes just before the offset. When all three still
/// hold, the board has only grown since, and only the new bytes are read. Otherwise
/// (a git merge or an archive rewrote the file) the whole board is parsed and the set
/// of seen IDs (`<session>.seen`, one ID a line) decides what is new.
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Cursor {
    pub session: String,
    pub offset: u64,
    pub dev: u64,
    pub ino: u64,
    pub check: String,
    pub updated_at: String,
}

const CHECK_BYTES: u64 = 64;

fn cursor_path(hub: &Hub, me: &str) -> Result<PathBuf> {
    ids::validate("session ID", me)?;
    hub.file(&format!("{CURSORS}/{me}.json"))
}

fn seen_path(hub: &Hub, me: &str) -> Result<PathBuf> {
    ids::validate("session ID", me)?;
    hub.file(&format!("{CURSORS}/{me}.seen"))
}

pub fn load_cursor(hub: &Hub, me: &str) -> Result<Option<Cursor>> {
    let path = cursor_path(hub, me)?;
    match storage::read_text(&path)? {
        None => Ok(None),
        // A damaged cursor is private state: fall back to the seen set.
        Some(text) => Ok(serde_json::from_str(&text).ok()),
    }
}

fn load_seen(hub: &Hub, me: &str) -> Result<HashSet<String>> {
    let path = seen_path(hub, me)?;
    Ok(storage::read_text(&path)?
        .map(|t| {
            t.lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(_meta: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

fn checksum(bytes: &[u8]) -> String {
    format!("{:016x}", fnv1a(bytes))
}

fn read_range(file: &mut File, path: &Path, from: u64, to: u64) -> Result<Vec<u8>> {
    file.seek(SeekFrom::Start(from))
        .map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::with_capacity((to - from) as usize);
    file.take(to - from)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// One inbox entry.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InboxEntry {
    #[serde(flatten)]
    pub message: Message,
    pub unread: bool,
}

/// The result of reading an inbox.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Inbox {
    pub session: String,
    pub messages: Vec<InboxEntry>,
    pub unread: usize,
    /// True when only the bytes after the cursor were read.
    pub incremental: bool,
    /// The board length read up to (the next cursor).
    #[serde(skip)]
    pub read_to: u64,
    #[serde(skip)]
    pub file: (u64, u64),
    #[serde(skip)]
    pub check: String,
    /// Every inbox message ID on the board, when the whole board was read (lets
    /// `mark_read` rewrite the seen set to just those, so it never grows past the board).
    #[serde(skip)]
    pub all_ids: Option<Vec<String>>,
}

/// Read my inbox. With `unread_only`, return only messages I have not marked read;
/// when my cursor still matches the board, only the bytes after it are read.
pub fn inbox(hub: &Hub, me: &str, unread_only: bool) -> Result<Inbox> {
    ids::validate("session ID", me)?;
    let path = board_path(hub)?;
    let cursor = load_cursor(hub, me)?;
    let lock = read_lock(hub)?;
    let mut file = match storage::open_read(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Inbox {
                session: me.into(),
                messages: Vec::new(),
                unread: 0,
                incremental: false,
                read_to: 0,
                file: (0, 0),
                check: String::new(),
                all_ids: None,
            });
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    let meta = file.metadata().map_err(|e| Error::io(&path, e))?;
    let len = meta.len();
    let ident = identity(&meta);
    let valid_cursor = match &cursor {
        Some(c) if (c.dev, c.ino) == ident && c.offset <= len => {
            let from = c.offset.saturating_sub(CHECK_BYTES);
            checksum(&read_range(&mut file, &path, from, c.offset)?) == c.check
        }
        _ => false,
    };
    let check_from = len.saturating_sub(CHECK_BYTES);
    let (text, base, check) = if unread_only && valid_cursor {
        let offset = cursor.as_ref().map_or(0, |c| c.offset);
        let start = offset.min(check_from);
        let bytes = read_range(&mut file, &path, start, len)?;
        let check = checksum(&bytes[(check_from - start) as usize..]);
        let text = lossy(bytes[(offset - start) as usize..].to_vec());
        (text, offset, check)
    } else {
        if len > MAX_BOARD_BYTES {
            return Err(Error::TooLarge {
                path,
                limit: MAX_BOARD_BYTES,
            });
        }
        let bytes = read_range(&mut file, &path, 0, len)?;
        let check = checksum(&bytes[check_from as usize..]);
        (lossy(bytes), 0, check)
    };
    drop(lock);
    let all = messages(parse_at(&text, base));
    let seen = if valid_cursor && unread_only {
        HashSet::new()
    } else {
        load_seen(hub, me)?
    };
    let read_offset = if valid_cursor {
        cursor.as_ref().map_or(0, |c| c.offset)
    } else {
        0
    };
    let incremental = unread_only && valid_cursor;
    let mut entries = Vec::new();
    let mut all_ids = (!incremental).then(Vec::new);
    for m in all.into_iter().filter(|m| m.is_for(me)) {
        if let Some(ids) = &mut all_ids {
            ids.push(m.id.clone());
        }
        let unread = m.offset + m.len > read_offset && !seen.contains(&m.id);
        if unread || !unread_only {
            entries.push(InboxEntry { message: m, unread });
        }
    }
    let unread = entries.iter().filter(|e| e.unread).count();
    Ok(Inbox {
        session: me.into(),
        messages: entries,
        unread,
        incremental,
        read_to: len,
        file: ident,
        check,
        all_ids,
    })
}

fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Mark everything in `inbox` (and the board up to where it was read) as read.
/// Returns how many messages became read.
pub fn mark_read(hub: &Hub, inbox: &Inbox) -> Result<usize> {
    let me = &inbox.session;
    storage::ensure_dir(&hub.dir(CURSORS)?)?;
    let newly: Vec<&str> = inbox
        .messages
        .iter()
        .filter(|e| e.unread)
        .map(|e| e.message.id.as_str())
        .collect();
    let path = seen_path(hub, me)?;
    if let Some(all) = &inbox.all_ids {
        // The whole board was read: after this, every inbox message on it is read.
        let mut lines = all.join("\n");
        lines.push('\n');
        storage::write_atomic(&path, lines.as_bytes())?;
    } else if !newly.is_empty() {
        let mut lines = newly.join("\n");
        lines.push('\n');
        let mut file = storage::open_regular(&path, OpenOptions::new().create(true).append(true))
            .map_err(|e| Error::io(&path, e))?;
        file.write_all(lines.as_bytes())
            .map_err(|e| Error::io(&path, e))?;
    }
    let cursor = Cursor {
        session: me.clone(),
        offset: inbox.read_to,
        dev: inbox.file.0,
        ino: inbox.file.1,
        check: inbox.check.clone(),
        updated_at: time::format(time::now()),
    };
    storage::write_atomic(&cursor_path(hub, me)?, &storage::json_bytes(&cursor))?;
    Ok(newly.len())
}

/// Read my inbox and mark it read as one step, under a lock on my cursor: two readers
/// of the same session (a hook and the agent) never both show a message, and a slower
/// one never moves the cursor back over what the other has shown.
pub fn inbox_mark_read(hub: &Hub, me: &str, unread_only: bool) -> Result<(Inbox, usize)> {
    ids::validate("session ID", me)?;
    let _lock = hub.lock(&format!("{CURSORS}/{me}"))?;
    let inbox = inbox(hub, me, unread_only)?;
    let marked = mark_read(hub, &inbox)?;
    Ok((inbox, marked))
}

/// How many unread messages `me` has (cheap when the cursor holds).
pub fn unread_count(hub: &Hub, me: &str) -> Result<usize> {
    Ok(inbox(hub, me, true)?.unread)
}

// ---------------------------------------------------------------------------------
// Acknowledgements

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Ack {
    pub message_id: String,
    pub session_id: String,
    pub acked_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Acknowledge a message: `ACTIVE/ACKS/<message-id>/<session>.json`, created once.
/// Returns the ack and whether it is new.
pub fn ack(hub: &Hub, id: &str, by: &str, note: Option<&str>) -> Result<(Ack, bool)> {
    ids::validate("session ID", by)?;
    let all = load(hub)?;
    let msg = find(&all, id)?;
    if let Some(note) = note {
        hub.check_secrets("the ack note", note)?;
    }
    let dir = hub.dir(&format!("{ACKS}/{}", msg.id))?;
    storage::ensure_dir(&dir)?;
    let path = dir.join(format!("{by}.json"));
    let ack = Ack {
        message_id: msg.id.clone(),
        session_id: by.to_string(),
        acked_at: time::format(time::now()),
        note: note.map(str::to_string),
    };
    if storage::create_exclusive(&path, &storage::json_bytes(&ack))? {
        Ok((ack, true))
    } else {
        let existing = acks(hub, &msg.id)?
            .into_iter()
            .find(|a| a.session_id == by)
            .unwrap_or(ack);
        Ok((existing, false))
    }
}

/// Who acknowledged message `id`, oldest first.
pub fn acks(hub: &Hub, id: &str) -> Result<Vec<Ack>> {
    ids::validate("message ID", id)?;
    let mut out = Vec::new();
    for path in hub.list(&format!("{ACKS}/{id}"), ".json")? {
        if let Some(map) = storage::read_json_object(&path)?
            && let Ok(ack) = serde_json::from_value::<Ack>(serde_json::Value::Object(map))
        {
            out.push(ack);
        }
    }
    out.sort_by(|a, b| a.acked_at.cmp(&b.acked_at));
    Ok(out)
}

// ---------------------------------------------------------------------------------
// Archive

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Archived {
    pub moved: usize,
    pub kept_messages: usize,
    /// Archive files written (relative to the hub), with how many blocks each got.
    pub files: BTreeMap<String, usize>,
    pub before: String,
}

/// Move the messages dated before `before` into `MESSAGES-<yyyy-mm>.md` (by their
/// month). Under the board's lock: the archive files are written first (atomically),
/// then the board is replaced atomically without those blocks; free text and newer
/// messages stay byte for byte. A crash in between leaves blocks in both places, never
/// in neither; a rerun skips blocks the archive already has.
pub fn archive(hub: &Hub, before: Timestamp, dry_run: bool) -> Result<Archived> {
    let path = board_path(hub)?;
    let _lock = hub.lock(layout::MESSAGES)?;
    // Held open on the board we read: old scripts append without the lock (`cat >>`),
    // and what they add while we work is carried over from this very file.
    let board = std::fs::File::open(&path).ok();
    // The board is rewritten from this text, so it must be the file's exact bytes: a
    // lossy read of invalid UTF-8 would replace them.
    let text = match storage::read_text(&path) {
        Err(Error::TooLarge { .. }) => String::from_utf8(read_board_bytes(&path, MAX_BOARD_BYTES)?)
            .map_err(|e| {
                let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                Error::Parse {
                    path: path.clone(),
                    line: valid.iter().filter(|b| **b == b'\n').count() + 1,
                    column: String::from_utf8_lossy(&valid[line_start..])
                        .chars()
                        .count()
                        + 1,
                    message: "the file is not valid UTF-8".into(),
                }
            })?,
        other => other?.unwrap_or_default(),
    };
    let segments = parse(&text);
    let mut keep = String::with_capacity(text.len());
    let mut by_month: BTreeMap<String, Vec<(String, &str)>> = BTreeMap::new();
    let mut kept_messages = 0;
    for seg in &segments {
        let (offset, len) = seg.range();
        let raw = &text[offset as usize..(offset + len) as usize];
        match seg {
            Segment::Message(m) if m.timestamp.is_some_and(|t| t < before) => {
                let month = m.timestamp.map(|t| t.format("%Y-%m").to_string());
                by_month
                    .entry(month.unwrap_or_default())
                    .or_default()
                    .push((m.id.clone(), raw));
            }
            Segment::Message(_) => {
                kept_messages += 1;
                keep.push_str(raw);
            }
            Segment::Text(_) => keep.push_str(raw),
        }
    }
    let mut files = BTreeMap::new();
    let moved = by_month.values().map(Vec::len).sum();
    for (month, blocks) in &by_month {
        let name = format!("MESSAGES-{month}.md");
        files.insert(name.clone(), blocks.len());
        if dry_run {
            continue;
        }
        let target = hub.path(&name);
        hub.ensure_inside(&target)?;
        let mut archive = storage::read_text(&target)?.unwrap_or_else(|| {
            format!(
                "# 📬 SESSION MESSAGES — archive {month}\n\nBlocks moved here from MESSAGES.md by `sessions msg archive`.\n"
            )
        });
        // A block counts as present only with the same ID and the same text: a block
        // that merely shares an ID (a hand edit, a merge) must still be moved, or it
        // would leave the board without reaching the archive.
        let present: HashSet<(String, u64)> = messages(parse(&archive))
            .into_iter()
            .map(|m| {
                let raw = &archive[m.offset as usize..(m.offset + m.len) as usize];
                (m.id, fnv1a(raw.trim().as_bytes()))
            })
            .collect();
        for (id, raw) in blocks {
            if !present.contains(&(id.clone(), fnv1a(raw.trim().as_bytes()))) {
                if !archive.ends_with('\n') {
                    archive.push('\n');
                }
                archive.push_str(raw);
            }
        }
        storage::write_atomic(&target, archive.as_bytes())?;
    }
    if !dry_run && moved > 0 {
        let mut keep = keep.into_bytes();
        let mut seen = text.len() as u64;
        // Appended since we read: carried over before the board is replaced.
        if let Some(board) = &board {
            let extra = read_from(board, &path, seen)?;
            seen += extra.len() as u64;
            keep.extend_from_slice(&extra);
        }
        storage::write_atomic(&path, &keep)?;
        // A writer that opened the old board just before the replace may still write to
        // it: look again (twice, briefly) and append what arrived to the new board.
        if let Some(board) = &board {
            for pause in [0, 50] {
                std::thread::sleep(std::time::Duration::from_millis(pause));
                let late = read_from(board, &path, seen)?;
                if !late.is_empty() {
                    seen += late.len() as u64;
                    append_bytes(&path, &late)?;
                }
            }
        }
    }
    Ok(Archived {
        moved,
        kept_messages,
        files,
        before: time::format(before),
    })
}

/// The bytes of `file` from `offset` to its current end.
fn read_from(file: &std::fs::File, path: &Path, offset: u64) -> Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    let mut out = Vec::new();
    f.seek(SeekFrom::Start(offset))
        .and_then(|_| f.read_to_end(&mut out))
        .map_err(|e| Error::io(path, e))?;
    Ok(out)
}

fn append_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(body: &str, subject: Option<&str>) -> Post {
        Post {
            from: "s1".into(),
            to: vec!["s2".into()],
            subject: subject.map(str::to_string),
            priority: Some("high".into()),
            reply_to: None,
            body: body.into(),
        }
    }

    #[test]
    fn toolkit_blocks_round_trip_exactly() {
        let bodies = [
            "x",
            "---\n\n**ID:** m-fake\n**From:** evil\n**Length:** 3\n\nabc",
            "### not a subject\n\nbody\n\n",
            "\n\n",
            "",
            "tail without newline\r",
        ];
        let mut board = String::from("# header\n\nfree text\n");
        for (i, b) in bodies.iter().enumerate() {
            let subject = (i % 2 == 0).then_some("subj");
            board.push_str(&render_block(
                &format!("m-{i}"),
                "2026-01-01T00:00:00Z",
                &p(b, subject),
            ));
        }
        board.push_str("\n---\n\nhand-written trailing notes\n");
        let segs = parse(&board);
        let joined: String = segs
            .iter()
            .map(|s| {
                let (o, l) = s.range();
                &board[o as usize..(o + l) as usize]
            })
            .collect();
        assert_eq!(joined, board);
        let msgs = messages(segs);
        assert_eq!(msgs.len(), bodies.len());
        for (i, (m, b)) in msgs.iter().zip(bodies).enumerate() {
            assert_eq!(m.id, format!("m-{i}"));
            assert_eq!(m.body, b);
            assert_eq!(m.format, Format::Toolkit);
            assert_eq!(m.priority, "high");
            assert_eq!(m.subject.is_some(), i % 2 == 0);
        }
    }

    #[test]
    fn never_panics_and_covers_every_byte_on_random_text() {
        let atoms = [
            "---",
            "\n",
            "**ID:** m-1",
            "### Té",
            "### From: x",
            "## To:",
            "**From:** a",
            "**Length:** 3",
            "### h",
            "é",
            "**To:**",
            " ",
            "abc",
            "\r",
            "**Length:** 99999999999999999999",
            "#",
            "**:**",
            "\n\n",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            let mut text = String::new();
            let n = (seed % 40) as usize;
            for _ in 0..n {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(atoms[(seed % atoms.len() as u64) as usize]);
            }
            let segs = parse(&text);
            let total: u64 = segs.iter().map(|s| s.range().1).sum();
            assert_eq!(total as usize, text.len(), "{text:?}");
        }
    }

    #[test]
    fn mentions_are_whole_words() {
        assert!(mentions("ping s1, please", "s1"));
        assert!(mentions("@s1", "s1"));
        assert!(mentions("ask s1.", "s1"));
        assert!(!mentions("sessions1", "s1"));
        assert!(!mentions("s1-dashboard", "s1"));
        assert!(!mentions("s1.x", "s1"));
    }
}
