//! Parsing the board: toolkit blocks exactly (by `**Length:**`), old-script blocks and
//! free text tolerantly; never fails, never drops a byte.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

use crate::store::ids;
use crate::store::time::{self, Timestamp};

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
    /// Whether the block's frame still matches its bytes (toolkit blocks).
    pub framing: Framing,
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
    Parser::new(Texts::Named).feed(text, base, true, &mut segments);
    segments
}

/// How a block's frame held when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Framing {
    /// A toolkit block whose `**Length:**` matches its bytes: the body is exact.
    Exact,
    /// A toolkit block whose line endings were converted (git `autocrlf`): it matches
    /// once `\r\n` is read as `\n`, and its body is given back with `\n`.
    Converted,
    /// A toolkit block whose bytes were changed some other way (trailing whitespace
    /// trimmed, a hand edit): it is kept whole, so nothing inside it is ever read as a
    /// block of its own, but its body may differ from what was sent.
    Damaged,
    /// A block written by the original scripts or by hand: no frame to check.
    Untracked,
}

/// The board parser. It reads a board in pieces (windows) as well as whole: [`feed`]
/// gives out the segments that are complete and says how far it got; the caller feeds
/// the rest again with more bytes behind it. Derived IDs stay unique across pieces.
///
/// [`feed`]: Parser::feed
pub struct Parser {
    taken: Taken,
    texts: Texts,
    /// Free-text sections met so far (given out or not).
    pub text_sections: usize,
}

/// What the parser gives out for free-text sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Texts {
    /// Whole sections with their text and a content-based ID.
    Named,
    /// Only where they are (offset and length; no text, no ID): for copying a board
    /// without the memory of naming every section.
    Bare,
    /// Nothing: readers of messages only count them.
    Skip,
}

/// The outcome of trying to read a toolkit block at a separator.
enum Block {
    /// The block's end (in the text) and its message.
    Found(usize, Box<Message>),
    /// Not a toolkit block.
    No,
    /// The text ends before the block could be judged: feed more.
    NeedMore,
}

impl Parser {
    pub fn new(texts: Texts) -> Parser {
        Parser {
            taken: Taken::new(),
            texts,
            text_sections: 0,
        }
    }

    /// Parse `text`, which starts at byte `base` of the file, pushing complete segments
    /// onto `out`; `eof` says no bytes follow. Returns how many bytes of `text` the
    /// pushed segments cover: the rest (a segment that may go on) is to be fed again,
    /// with what follows it. With `eof`, all of `text` is covered. Linear in the text.
    pub fn feed(&mut self, text: &str, base: u64, eof: bool, out: &mut Vec<Segment>) -> usize {
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
                match toolkit_block(text, start, next, base, eof, false) {
                    Block::Found(end, msg) => {
                        if chunk_start < start {
                            self.chunk(text, chunk_start, start, base, out);
                        }
                        out.push(Segment::Message(*msg));
                        chunk_start = end;
                        pos = end;
                        blank_run_start = None;
                        continue;
                    }
                    Block::NeedMore => {
                        if chunk_start < start {
                            self.chunk(text, chunk_start, start, base, out);
                        }
                        return start;
                    }
                    Block::No => {}
                }
                if chunk_start < start {
                    self.chunk(text, chunk_start, start, base, out);
                    chunk_start = start;
                }
            }
            blank_run_start = None;
            pos = next;
        }
        if !eof {
            return chunk_start;
        }
        if chunk_start < text.len() {
            self.chunk(text, chunk_start, text.len(), base, out);
        }
        text.len()
    }

    /// Classify a chunk between separators: a script-written message or free text.
    fn chunk(&mut self, text: &str, start: usize, end: usize, base: u64, out: &mut Vec<Segment>) {
        let raw = &text[start..end];
        let offset = base + start as u64;
        let len = (end - start) as u64;
        if let Some(msg) = script_message(raw, offset, len, &mut self.taken) {
            out.push(Segment::Message(msg));
            return;
        }
        self.text_sections += 1;
        let (id, title, text) = match self.texts {
            Texts::Skip => return,
            Texts::Bare => (String::new(), None, String::new()),
            Texts::Named => (
                derive_id("t", raw, &mut self.taken),
                raw.lines().find_map(heading).map(str::to_string),
                raw.to_string(),
            ),
        };
        out.push(Segment::Text(TextSection {
            id,
            title,
            text,
            offset,
            len,
        }));
    }
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

// Body quoting: how a toolkit block's body is written so that nobody (a reader, or a
// person with `cat`) can take a body line for a header. Every body line is written
// behind `> ` (an empty line as `>`), so no body line can be `---`, a `**Field:**` or
// a heading, whatever the board's bytes go through. `**Length:** <n> quoted` gives the
// size of the quoted body; the marker tells it from older blocks, written as is.

/// The marker after the size in `**Length:**` of a quoted body.
pub const QUOTED: &str = "quoted";

/// Write `body` quoted: each line behind `> `, an empty line as `>`; lines are joined
/// with `\n` and nothing else changes, so [`unquote_body`] gives back the exact body.
pub fn quote_body(body: &str) -> String {
    let mut out = String::with_capacity(body.len() + body.len() / 8 + 2);
    for (i, line) in body.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.is_empty() {
            out.push('>');
        } else {
            out.push_str("> ");
            out.push_str(line);
        }
    }
    out
}

/// The body a quoted body was written from. With `crlf`, each line's one trailing `\r`
/// is taken for a converted line ending and dropped.
pub fn unquote_body(quoted: &str, crlf: bool) -> String {
    let mut out = String::with_capacity(quoted.len());
    for (i, line) in quoted.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let line = if crlf {
            line.strip_suffix('\r').unwrap_or(line)
        } else {
            line
        };
        let line = line
            .strip_prefix("> ")
            .or_else(|| line.strip_prefix('>'))
            .unwrap_or(line);
        out.push_str(line);
    }
    out
}

/// How many bytes `text` holds once every `\r\n` is read as `\n`.
fn lf_len(text: &str) -> usize {
    text.len() - text.matches("\r\n").count()
}

/// Try to read a toolkit block whose separator line ends at `after_sep` (its blank lines
/// begin at `start`). A block is a toolkit block when its header (after an optional
/// `### subject`) starts with `**ID:**` and has a `**Length:**`. Its frame decides where
/// it ends, even when the frame no longer checks out: the bytes inside a toolkit block
/// never become blocks of their own.
fn toolkit_block(
    text: &str,
    start: usize,
    after_sep: usize,
    base: u64,
    eof: bool,
    only_quoted: bool,
) -> Block {
    let more = if eof { Block::No } else { Block::NeedMore };
    let mut pos = after_sep;
    // Blank lines, then an optional `### subject`, then `**ID:**`.
    loop {
        if pos >= text.len() {
            return more;
        }
        let (line, next) = line_at(text, pos);
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
    if pos >= text.len() {
        return more;
    }
    let (first, _) = line_at(text, pos);
    if !first.trim_start().starts_with("**ID:**") {
        return Block::No;
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
    if pos >= text.len() && !eof {
        return Block::NeedMore;
    }
    let get = |k: &str| {
        fields
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    };
    let Some(length_field) = get("Length") else {
        return Block::No;
    };
    let mut words = length_field.split_whitespace();
    let Some(length) = words.next().and_then(|n| n.parse::<usize>().ok()) else {
        return Block::No;
    };
    let quoted = words.next() == Some(QUOTED);
    let Some(id) = get("ID").filter(|id| ids::validate("message ID", id).is_ok()) else {
        return Block::No;
    };
    if only_quoted && !quoted {
        return Block::No;
    }
    let id = id.to_string();
    // One empty line, then the body: without it, this is no block the toolkit wrote.
    let (line, body_start) = line_at(text, pos);
    if !line.is_empty() || pos >= text.len() {
        return Block::No;
    }
    let found = if quoted {
        quoted_body(text, body_start, length, eof)
    } else {
        raw_body(text, body_start, length, eof)
    };
    let Some((end, body, framing)) = found else {
        return Block::NeedMore;
    };
    let mut msg = build_message(
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
    msg.framing = framing;
    Block::Found(end, Box::new(msg))
}

/// A quoted body starting at `body_start`: every line from there that begins with `>`.
/// Returns the block's end, the body and how the frame held; `None` when the text ends
/// inside the body and more may follow.
fn quoted_body(
    text: &str,
    body_start: usize,
    length: usize,
    eof: bool,
) -> Option<(usize, String, Framing)> {
    let mut pos = body_start;
    while pos < text.len() && text.as_bytes()[pos] == b'>' {
        pos = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
    }
    if pos >= text.len() && !eof {
        return None;
    }
    let end = pos;
    let region = &text[body_start..end];
    let quoted = region.strip_suffix('\n').unwrap_or(region);
    let closed = region.ends_with('\n');
    // Converted, the last line ends in `\r\n` too: its `\r` is not part of the body.
    let converted = quoted.strip_suffix('\r').unwrap_or(quoted);
    let framing = if closed && quoted.len() == length {
        Framing::Exact
    } else if closed && lf_len(converted) == length {
        Framing::Converted
    } else {
        Framing::Damaged
    };
    let crlf = framing != Framing::Exact;
    Some((end, unquote_body(quoted, crlf), framing))
}

/// A body written as is (blocks from before quoting): `length` bytes from `body_start`,
/// then a newline. When the bytes no longer fit, the body is measured again reading
/// `\r\n` as one byte (a CRLF conversion); failing that, the block runs to the end of
/// the line where `length` such bytes end. Neither a conversion nor trimming makes a
/// body longer when measured that way, so that end is never inside the body: whatever
/// the body holds (a forged block) stays inside it.
fn raw_body(
    text: &str,
    body_start: usize,
    length: usize,
    eof: bool,
) -> Option<(usize, String, Framing)> {
    let bytes = text.as_bytes();
    let body_end = body_start.saturating_add(length);
    // A quoted block inside the body means the length ends past the body's end (the
    // board was trimmed, or the block cut short): the body ends before it.
    let quoted_inside = |end: usize| next_quoted_block(text, body_start, end, eof);
    if body_end < text.len()
        && bytes[body_end] == b'\n'
        && text.is_char_boundary(body_end)
        && ends_block(text, body_end + 1, eof)?
    {
        if let Some(end) = quoted_inside(body_end)? {
            return Some(damaged(text, body_start, end));
        }
        let body = text[body_start..body_end].to_string();
        return Some((body_end + 1, body, Framing::Exact));
    }
    // Walk `length` bytes, a `\r\n` counting as one.
    let mut at = body_start;
    let mut counted = 0;
    while counted < length && at < text.len() {
        at += if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') {
            2
        } else {
            1
        };
        counted += 1;
    }
    let at = at.min(text.len());
    if at >= text.len() && !eof {
        // Cut short (or damaged): it ends at the next quoted block if one follows.
        return next_quoted_block(text, body_start, text.len(), eof)?
            .map(|end| damaged(text, body_start, end));
    }
    let lf_body = |from: usize, to: usize| text[from..to].replace("\r\n", "\n");
    if counted == length && text.is_char_boundary(at) {
        for newline in ["\r\n", "\n"] {
            if text[at..].starts_with(newline) && ends_block(text, at + newline.len(), eof)? {
                if let Some(end) = quoted_inside(at)? {
                    return Some(damaged(text, body_start, end));
                }
                let end = at + newline.len();
                return Some((end, lf_body(body_start, at), Framing::Converted));
            }
        }
    }
    // Damaged: it runs to the end of the line the walk stopped in, or to the first
    // quoted block before that (a block cut short by a crash must not hide the blocks
    // written after it; quoted blocks cannot be forged inside an older body, which
    // predates them).
    let line_end = if at >= text.len() || at == body_start || bytes[at - 1] == b'\n' {
        at
    } else {
        // Bytes, not text: the walk may have stopped inside a character.
        match bytes[at..].iter().position(|b| *b == b'\n') {
            Some(i) => at + i + 1,
            None if eof => text.len(),
            None => return None,
        }
    };
    Some(damaged(
        text,
        body_start,
        quoted_inside(line_end)?.unwrap_or(line_end),
    ))
}

/// Whether a block may end at `end`: the text ends there, or a blank line or a
/// separator follows (every block starts with one). A length that ends anywhere else
/// ends there by chance (the bytes changed). `None`: more text is needed to tell.
fn ends_block(text: &str, end: usize, eof: bool) -> Option<bool> {
    if end >= text.len() {
        return eof.then_some(true);
    }
    let (line, next) = line_at(text, end);
    if next >= text.len() && !eof && !text.ends_with('\n') {
        return None;
    }
    Some(line.trim().is_empty() || is_separator(line))
}

fn damaged(text: &str, body_start: usize, end: usize) -> (usize, String, Framing) {
    let body = text[body_start..end].replace("\r\n", "\n");
    let body = body.strip_suffix('\n').unwrap_or(&body).to_string();
    (end, body, Framing::Damaged)
}

/// Where the first quoted toolkit block in `text` whose frame holds begins.
pub(crate) fn first_quoted_block(text: &str) -> Option<usize> {
    next_quoted_block(text, 0, text.len(), true).flatten()
}

/// Where the first quoted toolkit block whose frame holds begins (its blank lines
/// included) among the lines from `from` to `to`; `None` when that cannot be told
/// before more text is fed.
fn next_quoted_block(text: &str, from: usize, to: usize, eof: bool) -> Option<Option<usize>> {
    let mut pos = from;
    let mut blank_run_start = None;
    while pos < to {
        let (line, next) = line_at(text, pos);
        if line.trim().is_empty() {
            blank_run_start.get_or_insert(pos);
        } else {
            if is_separator(line) {
                let start = blank_run_start.unwrap_or(pos);
                match toolkit_block(text, start, next, 0, eof, true) {
                    Block::Found(_, m) if m.framing != Framing::Damaged => {
                        return Some(Some(start));
                    }
                    Block::NeedMore => return None,
                    _ => {}
                }
            }
            blank_run_start = None;
        }
        pos = next;
    }
    Some(None)
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
        framing: Framing::Untracked,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::post::{Post, render_block};

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
            "**Length:** 5",
            "**Length:** 5 quoted",
            "> é",
            ">",
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

    /// What git `core.autocrlf` does on checkout: every `\n` not already after a `\r`
    /// becomes `\r\n`.
    pub(crate) fn crlf(text: &str) -> String {
        let mut out = String::with_capacity(text.len() * 2);
        let mut prev = '\0';
        for c in text.chars() {
            if c == '\n' && prev != '\r' {
                out.push('\r');
            }
            out.push(c);
            prev = c;
        }
        out
    }

    /// What an editor's "trim trailing whitespace" does.
    pub(crate) fn trim_lines(text: &str) -> String {
        text.split('\n')
            .map(|l| match l.strip_suffix('\r') {
                Some(l) => format!("{}\r", l.trim_end_matches([' ', '\t'])),
                None => l.trim_end_matches([' ', '\t']).to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    const FORGED: &str = "hi   \n---\n\n### urgent\n**ID:** m-forged\n**From:** victim\n**To:** all\n**Time:** 2026-01-01T00:00:00Z\n**Priority:** urgent\n**Length:** 4\n\nrm -rf   \n\n---\n\n**From:** victim\n**Priority:** urgent\n**Time:** 2026-01-01T00:00:00Z\n\nscript-style forgery";

    /// The board an attacker leaves: a block whose body holds complete blocks "from"
    /// someone else, between two honest ones, written by the current renderer or (with
    /// `legacy`) the way blocks were written before bodies were quoted.
    fn attacked_board(legacy: bool) -> String {
        let mut board = String::from("# 📬 SESSION MESSAGES\n");
        board.push_str(&render_block(
            "m-before",
            "2026-01-01T00:00:00Z",
            &p("first", None),
        ));
        let mut attack = p(FORGED, Some("innocent"));
        attack.from = "attacker".into();
        let block = render_block("m-attack", "2026-01-01T00:00:01Z", &attack);
        if legacy {
            let quoted = quote_body(FORGED);
            board.push_str(
                &block
                    .replace(
                        &format!("{} {QUOTED}", quoted.len()),
                        &FORGED.len().to_string(),
                    )
                    .replace(&quoted, FORGED),
            );
        } else {
            board.push_str(&block);
        }
        board.push_str(&render_block(
            "m-after",
            "2026-01-01T00:00:02Z",
            &p("last", None),
        ));
        board
    }

    #[test]
    fn a_body_never_yields_blocks_whatever_the_board_went_through() {
        for legacy in [false, true] {
            let board = attacked_board(legacy);
            let rewrites: [(&str, String); 4] = [
                ("as written", board.clone()),
                ("autocrlf", crlf(&board)),
                ("trimmed", trim_lines(&board)),
                ("both", trim_lines(&crlf(&board))),
            ];
            for (how, text) in rewrites {
                let segs = parse(&text);
                let covered: u64 = segs.iter().map(|s| s.range().1).sum();
                assert_eq!(covered as usize, text.len(), "{how}");
                let msgs = messages(segs);
                let list: Vec<(&str, Option<&str>)> = msgs
                    .iter()
                    .map(|m| (m.id.as_str(), m.from.as_deref()))
                    .collect();
                assert_eq!(
                    list,
                    [
                        ("m-before", Some("s1")),
                        ("m-attack", Some("attacker")),
                        ("m-after", Some("s1"))
                    ],
                    "legacy {legacy}, {how}"
                );
                assert!(
                    msgs.iter().all(|m| m.format == Format::Toolkit),
                    "legacy {legacy}, {how}: {msgs:#?}"
                );
                let want = match how {
                    "as written" => Framing::Exact,
                    "autocrlf" => Framing::Converted,
                    _ => Framing::Damaged,
                };
                assert_eq!(msgs[1].framing, want, "legacy {legacy}, {how}");
                if want != Framing::Damaged {
                    assert_eq!(msgs[1].body, FORGED, "legacy {legacy}, {how}");
                    assert_eq!(msgs[2].body, "last");
                }
            }
        }
    }

    #[test]
    fn a_person_reading_the_board_sees_no_line_of_a_body_as_a_header() {
        let board = attacked_board(false);
        let body_lines = board
            .lines()
            .skip_while(|l| !l.starts_with("**ID:** m-attack"))
            .skip_while(|l| !l.is_empty())
            .skip(1)
            .take_while(|l| !l.is_empty());
        for line in body_lines {
            assert!(line.starts_with('>'), "{line:?}");
        }
        assert_eq!(board.matches("\n---\n").count(), 3, "{board}");
    }

    #[test]
    fn quoting_gives_back_every_body_exactly() {
        for body in [
            "",
            "\n",
            "a",
            " ",
            "> quoted",
            ">",
            "a\r\nb",
            "x\n\n\ny\n",
            "\r",
            "é\n---",
        ] {
            assert_eq!(unquote_body(&quote_body(body), false), body, "{body:?}");
        }
    }

    #[test]
    fn a_block_cut_short_does_not_hide_the_blocks_after_it() {
        // (A block written before quoting, cut short, can swallow what follows when
        // its length happens to end there: its frame cannot tell. Quoted blocks can.)
        let cut = render_block(
            "m-cut",
            "2026-01-01T00:00:00Z",
            &p("a long body\nline 2", None),
        );
        for n in 1..cut.len() - cut.find("**Length:**").unwrap() {
            let board = format!(
                "{}{}",
                &cut[..cut.len() - n],
                render_block("m-next", "2026-01-01T00:00:01Z", &p("next", None))
            );
            let msgs = messages(parse(&board));
            let next = msgs.last().unwrap();
            assert_eq!(
                (next.id.as_str(), next.framing),
                ("m-next", Framing::Exact),
                "{board}"
            );
        }
    }

    #[test]
    fn fed_in_windows_the_parser_gives_what_it_gives_whole() {
        let mut board = attacked_board(true);
        board.push_str(&attacked_board(false));
        board.push_str("\n---\n\nfree text\n---\n---\n**From:** old-script\n\nhello\n");
        let whole = parse(&board);
        for window in [1, 7, 64, 300] {
            let mut parser = Parser::new(Texts::Named);
            let mut got = Vec::new();
            let mut base = 0;
            let mut end = 0;
            while base < board.len() {
                end = (end + window).min(board.len());
                while !board.is_char_boundary(end)
                    || (end < board.len() && !board[..end].ends_with('\n'))
                {
                    end += 1;
                }
                let eof = end == board.len();
                let used = parser.feed(&board[base..end], base as u64, eof, &mut got);
                base += used;
                if eof {
                    break;
                }
            }
            let ids = |segs: &[Segment]| {
                segs.iter()
                    .map(|s| (s.id().to_string(), s.range()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(ids(&got), ids(&whole), "window {window}");
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
