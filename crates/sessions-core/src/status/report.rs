//! Status documents, `<project>-status.md` (the original "session-sync" files).
//!
//! The shape the old scripts and people wrote:
//!
//! ```text
//! ## INFRA STATUS - 2025-11-15 19:28:00 UTC
//!
//! **SERVICES:**
//! - API: ✅ running on :8080
//! - Database: ⏳ migrating
//!
//! **DEPENDENCIES:**
//! - Auth service: ❌ token endpoint down
//!
//! **ACTIONS REQUISES:**
//! - [ ] Rotate the certificates
//! - [x] Deploy v2
//!
//! **NEXT SESSION:** session-2-infra
//! ```
//!
//! Parsing is a line scanner rather than a markdown parser: every construct of the shape
//! is one line (a header, a `**SECTION:**` line, a list item, a task, the NEXT SESSION
//! line), and hand-written files put them in places a CommonMark parser reads
//! differently (a bold line directly followed by a list is one paragraph plus a list;
//! `**NEXT SESSION:** x` inside a list is an item). Scanning lines keeps the byte offset
//! of every construct exactly, which is what edits need: an edit replaces the bytes of
//! one line (and the header timestamp) and leaves every other byte of the file alone.
//! Lines the scanner does not recognise are kept and ignored.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use regex::Regex;
use serde::Serialize;

use crate::store::error::{Error, Result};
use crate::store::hub::Hub;
use crate::store::storage::{self, FileLock};
use crate::store::time::{self, Timestamp};
use crate::{store::ids, store::secrets};

/// File names: `<project>-status.md`.
pub const STATUS_SUFFIX: &str = "-status.md";

/// One of the four markers of the original files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Marker {
    /// ✅
    Ok,
    /// ❌
    Fail,
    /// ⏳
    Wip,
    /// 🔄
    Sync,
}

impl Marker {
    pub fn emoji(self) -> &'static str {
        match self {
            Marker::Ok => "✅",
            Marker::Fail => "❌",
            Marker::Wip => "⏳",
            Marker::Sync => "🔄",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Marker::Ok => "ok",
            Marker::Fail => "fail",
            Marker::Wip => "wip",
            Marker::Sync => "sync",
        }
    }

    /// Parse a marker given on the command line: an emoji or a word.
    pub fn parse(s: &str) -> Option<Marker> {
        let s = s.trim();
        leading_marker(s)
            .filter(|(_, rest)| rest.trim().is_empty())
            .map(|(m, _)| m)
    }
}

const EMOJI: &[(&str, Marker)] = &[
    ("✅", Marker::Ok),
    ("✔", Marker::Ok),
    ("☑", Marker::Ok),
    ("🟢", Marker::Ok),
    ("❌", Marker::Fail),
    ("✖", Marker::Fail),
    ("✗", Marker::Fail),
    ("🔴", Marker::Fail),
    ("⛔", Marker::Fail),
    ("⏳", Marker::Wip),
    ("⌛", Marker::Wip),
    ("🟡", Marker::Wip),
    ("🚧", Marker::Wip),
    ("🔄", Marker::Sync),
    ("🔁", Marker::Sync),
];

const WORDS: &[(&str, Marker)] = &[
    ("ok", Marker::Ok),
    ("done", Marker::Ok),
    ("pass", Marker::Ok),
    ("passed", Marker::Ok),
    ("fail", Marker::Fail),
    ("failed", Marker::Fail),
    ("failing", Marker::Fail),
    ("error", Marker::Fail),
    ("wip", Marker::Wip),
    ("pending", Marker::Wip),
    ("sync", Marker::Sync),
    ("syncing", Marker::Sync),
];

/// A marker at the start of `s` (emoji, or a whole word), and the rest after it.
fn leading_marker(s: &str) -> Option<(Marker, &str)> {
    let s = s.trim_start();
    let s_plain = s.strip_prefix('[').unwrap_or(s);
    for (emoji, marker) in EMOJI {
        if let Some(rest) = s.strip_prefix(emoji) {
            return Some((*marker, rest.trim_start_matches('\u{fe0f}')));
        }
    }
    let word_len = s_plain
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(s_plain.len());
    let word = &s_plain[..word_len];
    let (marker, mut rest) = WORDS
        .iter()
        .find(|(w, _)| word.eq_ignore_ascii_case(w))
        .map(|(_, m)| (*m, &s_plain[word_len..]))?;
    if s_plain.len() != s.len() {
        rest = rest.strip_prefix(']')?;
    }
    Some((marker, rest))
}

/// Where a marker emoji sits anywhere in `s` (for `- Label ✅ note` forms).
fn find_marker(s: &str) -> Option<(usize, Marker, usize)> {
    EMOJI
        .iter()
        .filter_map(|(e, m)| s.find(e).map(|at| (at, *m, at + e.len())))
        .min_by_key(|(at, _, _)| *at)
}

/// What kind of group a section is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum SectionKind {
    Items,
    Actions,
    Dependencies,
    Next,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Section {
    pub name: String,
    pub kind: SectionKind,
    pub line: usize,
    #[serde(skip)]
    pub header: Range<usize>,
    /// Byte offset just after the last non-blank line of the section (where a new
    /// item goes).
    #[serde(skip)]
    pub content_end: usize,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Item {
    pub section: String,
    pub label: String,
    pub marker: Option<Marker>,
    pub note: String,
    pub line: usize,
    #[serde(skip)]
    pub span: Range<usize>,
    /// Indentation and bullet (`"- "`), kept when the line is rewritten.
    #[serde(skip)]
    pub prefix: String,
    /// The label as written (may carry `**`), kept when the line is rewritten.
    #[serde(skip)]
    pub raw_label: String,
}

impl Item {
    pub fn is_dependency(&self, doc: &StatusDoc) -> bool {
        doc.sections
            .iter()
            .any(|s| s.kind == SectionKind::Dependencies && s.name == self.section)
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Action {
    pub text: String,
    pub done: bool,
    pub line: usize,
    #[serde(skip)]
    pub span: Range<usize>,
    #[serde(skip)]
    pub check: Range<usize>,
}

/// A parsed status document. Spans are byte ranges of whole lines without their line
/// terminator.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StatusDoc {
    /// The project named in the header (None when there is no header).
    pub header_project: Option<String>,
    /// The header timestamp in canonical form, when it parses.
    pub updated_at: Option<String>,
    /// The header timestamp as written.
    pub timestamp_text: Option<String>,
    pub sections: Vec<Section>,
    pub items: Vec<Item>,
    pub actions: Vec<Action>,
    pub next_session: Option<String>,
    #[serde(skip)]
    pub header: Option<Range<usize>>,
    #[serde(skip)]
    pub header_timestamp: Option<Range<usize>>,
    #[serde(skip)]
    pub next_line: Option<Range<usize>>,
}

fn regexes() -> &'static [Regex; 3] {
    static RE: OnceLock<[Regex; 3]> = OnceLock::new();
    RE.get_or_init(|| {
        [
            // 0: `## <PROJECT> STATUS - <timestamp>`
            Regex::new(r"(?i)^\s*#{1,6}\s*(.*?)\bSTATUS\b[\s:|\-–—]*(.*?)\s*$").unwrap(),
            // 1: `**NEXT SESSION:** value` (bold or not, maybe as a list item)
            Regex::new(r"(?i)^\s*(?:[-*+]\s+)?(?:\*\*|__)?\s*NEXT[ _-]SESSIONS?\s*:?\s*(?:\*\*|__)?\s*:?\s*(.*?)\s*$").unwrap(),
            // 2: section lines: `**NAME:**`, `**NAME**:`, `### NAME`, `NAME:`
            Regex::new(r"^\s*(?:(?:\*\*|__)\s*([^*_].*?)\s*:?\s*(?:\*\*|__)\s*:?|#{2,6}\s+(.+?)\s*:?|([A-Z][A-Z0-9 _/&'-]{2,}):)\s*$").unwrap(),
        ]
    })
}

/// Upper case letters, digits and single spaces: how section names and labels compare.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_uppercase));
    }
    out
}

fn section_kind(name: &str) -> SectionKind {
    let n = normalize(name);
    if n.contains("ACTION") || n == "TODO" || n.contains("TO DO") {
        SectionKind::Actions
    } else if n.contains("DEPENDENC") || n.contains("BLOCKER") {
        SectionKind::Dependencies
    } else if n.starts_with("NEXT SESSION") {
        SectionKind::Next
    } else {
        SectionKind::Items
    }
}

fn clean_label(s: &str) -> String {
    s.trim()
        .trim_matches(|c| c == '*' || c == '_' || c == '`')
        .trim()
        .to_string()
}

fn clean_note(s: &str) -> String {
    let s = s.trim();
    let s = s
        .strip_prefix("- ")
        .or_else(|| s.strip_prefix("— "))
        .or_else(|| s.strip_prefix("– "))
        .unwrap_or(s);
    s.trim().to_string()
}

/// Split a list item's text into label, marker and note.
fn parse_item_text(text: &str) -> (String, Option<Marker>, String, String) {
    // `✅ Label: note` / `✅ Label`
    if let Some((marker, rest)) = leading_marker(text).filter(|_| find_marker(text).is_some()) {
        let (label, note) = rest.split_once(':').unwrap_or((rest, ""));
        return (
            clean_label(label),
            Some(marker),
            clean_note(note),
            label.trim().to_string(),
        );
    }
    // `Label: ✅ note` / `Label: ok note` / `Label: note`
    if let Some((label, value)) = text.split_once(':') {
        let raw = label.trim_end().to_string();
        return match leading_marker(value) {
            Some((marker, note)) => (clean_label(label), Some(marker), clean_note(note), raw),
            None => match find_marker(value) {
                Some((at, marker, end)) if value[..at].trim().is_empty() => (
                    clean_label(label),
                    Some(marker),
                    clean_note(&value[end..]),
                    raw,
                ),
                _ => (clean_label(label), None, clean_note(value), raw),
            },
        };
    }
    // `Label ✅ note`
    if let Some((at, marker, end)) = find_marker(text) {
        let label = text[..at].trim_end_matches([' ', '-', '—']);
        return (
            clean_label(label),
            Some(marker),
            clean_note(&text[end..]),
            label.to_string(),
        );
    }
    (
        clean_label(text),
        None,
        String::new(),
        text.trim().to_string(),
    )
}

/// A list item: `(prefix length, offset of the task check mark, body)`. The prefix is
/// the indentation, the bullet (`-`, `*`, `+`, `1.`, `1)`) and the space after it. A
/// hand-written scanner rather than a regex: it runs on every line of every file of a
/// roll-up, and the regex's backtracking was most of that time.
fn list_item(line: &str) -> Option<(usize, Option<usize>, &str)> {
    let b = line.as_bytes();
    let mut i = b.iter().take_while(|c| **c == b' ' || **c == b'\t').count();
    match b.get(i)? {
        b'-' | b'*' | b'+' => i += 1,
        b'0'..=b'9' => {
            i += b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            if !matches!(b.get(i), Some(b'.' | b')')) {
                return None;
            }
            i += 1;
        }
        _ => return None,
    }
    let spaces = b[i..]
        .iter()
        .take_while(|c| **c == b' ' || **c == b'\t')
        .count();
    if spaces == 0 {
        return None;
    }
    i += spaces;
    let rest = &line[i..];
    let task = rest.len() >= 3
        && rest.as_bytes()[0] == b'['
        && matches!(rest.as_bytes()[1], b' ' | b'x' | b'X')
        && rest.as_bytes()[2] == b']'
        && rest
            .as_bytes()
            .get(3)
            .is_none_or(|c| *c == b' ' || *c == b'\t');
    if task {
        return Some((i, Some(i + 1), rest[3..].trim()));
    }
    Some((i, None, rest.trim()))
}

/// Whether `line` contains "next" in any case (before trying the NEXT SESSION regex).
fn mentions_next(line: &str) -> bool {
    line.as_bytes()
        .windows(4)
        .any(|w| w.eq_ignore_ascii_case(b"next"))
}

fn no_value(v: &str) -> bool {
    let v = normalize(v);
    v.is_empty() || matches!(v.as_str(), "TBD" | "NONE" | "N A" | "TODO" | "UNKNOWN")
}

impl StatusDoc {
    /// Parse a status document. Never fails: unknown lines are ignored.
    pub fn parse(text: &str) -> StatusDoc {
        let [header_re, next_re, section_re] = regexes();
        let mut doc = StatusDoc::default();
        let mut current: Option<usize> = None;
        // A byte order mark (editors on Windows) is not part of the first line.
        let body = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut offset = text.len() - body.len();
        for (index, raw_line) in body.split_inclusive('\n').enumerate() {
            let start = offset;
            offset += raw_line.len();
            let line = raw_line.trim_end_matches(['\n', '\r']);
            let span = start..start + line.len();
            let line_no = index + 1;
            if line.trim().is_empty() {
                continue;
            }
            // Cheap tests on the first character keep the regexes off most lines.
            let first = line.trim_start().as_bytes()[0];
            if doc.header.is_none()
                && first == b'#'
                && let Some(c) = header_re.captures(line)
            {
                let project = c.get(1).map_or("", |m| m.as_str());
                let project = project
                    .trim_matches(|ch: char| !ch.is_alphanumeric())
                    .to_string();
                doc.header_project = (!project.is_empty()).then_some(project);
                let ts = c.get(2).expect("group 2 always matches");
                if !ts.as_str().is_empty() {
                    doc.timestamp_text = Some(ts.as_str().to_string());
                    doc.updated_at = time::parse_str(ts.as_str()).map(time::format);
                    doc.header_timestamp = Some(start + ts.start()..start + ts.end());
                }
                doc.header = Some(span);
                current = None;
                continue;
            }
            if mentions_next(line)
                && let Some(c) = next_re.captures(line)
            {
                let value = c.get(1).map_or("", |m| m.as_str());
                let value =
                    value.trim_matches(|ch: char| ch == '*' || ch == '`' || ch.is_whitespace());
                if value.is_empty() {
                    // `**NEXT SESSION:**` on its own: the value is on the next line.
                    doc.sections.push(Section {
                        name: "NEXT SESSION".into(),
                        kind: SectionKind::Next,
                        line: line_no,
                        header: span.clone(),
                        content_end: start + raw_line.len(),
                    });
                    current = Some(doc.sections.len() - 1);
                    doc.next_line.get_or_insert(span);
                } else {
                    doc.next_session = Some(value.to_string());
                    doc.next_line = Some(span);
                    current = None;
                }
                continue;
            }
            let trimmed = line.trim_start();
            if (trimmed.starts_with("**")
                || trimmed.starts_with("__")
                || first == b'#'
                || trimmed.trim_end().ends_with(':'))
                && let Some(c) = section_re.captures(line)
            {
                let name = c
                    .get(1)
                    .or_else(|| c.get(2))
                    .or_else(|| c.get(3))
                    .map_or("", |m| m.as_str())
                    .trim_end_matches(':')
                    .trim();
                doc.sections.push(Section {
                    name: name.to_string(),
                    kind: section_kind(name),
                    line: line_no,
                    header: span,
                    content_end: start + raw_line.len(),
                });
                current = Some(doc.sections.len() - 1);
                continue;
            }
            // Everything below belongs to the current section.
            if let Some(cur) = current {
                doc.sections[cur].content_end = start + raw_line.len();
            }
            let Some((prefix_len, check, body)) = list_item(line) else {
                continue; // free text: kept, ignored
            };
            let prefix = &line[..prefix_len];
            if let Some(at) = check {
                doc.actions.push(Action {
                    text: body.to_string(),
                    done: line.as_bytes()[at] != b' ',
                    line: line_no,
                    span,
                    check: start + at..start + at + 1,
                });
                continue;
            }
            let section = current.map(|i| &doc.sections[i]);
            if section.is_some_and(|s| s.kind == SectionKind::Next) {
                if doc.next_session.is_none() {
                    doc.next_session = Some(body.trim_matches('`').to_string());
                    doc.next_line = Some(span);
                }
                continue;
            }
            let (label, marker, note, raw_label) = parse_item_text(body);
            if label.is_empty() {
                continue;
            }
            doc.items.push(Item {
                section: section.map_or_else(String::new, |s| s.name.clone()),
                label,
                marker,
                note,
                line: line_no,
                span,
                prefix: prefix.to_string(),
                raw_label,
            });
        }
        doc
    }

    pub fn updated(&self) -> Option<Timestamp> {
        self.updated_at.as_deref().and_then(time::parse_str)
    }

    /// The NEXT SESSION value, unless it is empty or a placeholder (TBD, none, ...).
    pub fn next(&self) -> Option<&str> {
        self.next_session.as_deref().filter(|v| !no_value(v))
    }

    pub fn count(&self, marker: Marker) -> usize {
        self.items
            .iter()
            .filter(|i| i.marker == Some(marker))
            .count()
    }

    /// Dependencies marked ❌: they block the next session.
    pub fn failing_dependencies(&self) -> Vec<&Item> {
        self.items
            .iter()
            .filter(|i| i.marker == Some(Marker::Fail) && i.is_dependency(self))
            .collect()
    }

    fn find_section(&self, name: &str) -> Result<Option<usize>> {
        let want = normalize(name);
        let mut found: Vec<usize> = (0..self.sections.len())
            .filter(|&i| normalize(&self.sections[i].name) == want)
            .collect();
        if found.is_empty() {
            found = (0..self.sections.len())
                .filter(|&i| normalize(&self.sections[i].name).contains(&want))
                .collect();
        }
        found.dedup_by_key(|i| normalize(&self.sections[*i].name));
        match found.len() {
            0 => Ok(None),
            1 => Ok(Some(found[0])),
            _ => Err(Error::Usage(format!(
                "section {name:?} matches several sections ({}); give the whole name",
                found
                    .iter()
                    .map(|&i| self.sections[i].name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

/// A change to one status document.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Set an item's marker (and note; no note clears it). Creates the item, and the
    /// section, when missing.
    Set {
        section: String,
        label: String,
        marker: Marker,
        note: Option<String>,
    },
    /// Add an open action (`- [ ] text`).
    ActionAdd(String),
    /// Tick an open action (matched by its whole text, else a unique part of it).
    ActionDone(String),
    /// Set the NEXT SESSION line.
    Next(String),
}

/// What an edit did, for output.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Edited {
    pub project: String,
    pub file: PathBuf,
    pub line: String,
    pub previous: Option<String>,
    pub updated_at: String,
    pub signal: PathBuf,
}

/// The file's line terminator, so edits keep CRLF files CRLF.
fn eol_of(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// What goes between the end of `text` and a new block appended to it: one blank line.
fn tail_sep(text: &str, nl: &'static str) -> &'static str {
    if text.is_empty() || text.ends_with(&format!("{nl}{nl}")) {
        ""
    } else if text.ends_with('\n') {
        nl
    } else if nl == "\r\n" {
        "\r\n\r\n"
    } else {
        "\n\n"
    }
}

/// Byte offset just past the line terminator of the line ending at `end`.
fn past_eol(text: &str, end: usize) -> usize {
    let rest = &text[end..];
    end + if rest.starts_with("\r\n") {
        2
    } else if rest.starts_with('\n') {
        1
    } else {
        0
    }
}

/// Byte patches, the new line, and the line it replaced.
type Plan = (Vec<(Range<usize>, String)>, String, Option<String>);

/// Unreadable files of a roll-up, with the error.
pub type Unreadable = Vec<(PathBuf, String)>;

/// Compute the byte patches for `edit` on `text` (parsed as `doc`), including the
/// header timestamp. Returns the patches and a description of the new line.
fn plan(project: &str, text: &str, doc: &StatusDoc, edit: &Edit, now: Timestamp) -> Result<Plan> {
    let mut patches: Vec<(Range<usize>, String)> = Vec::new();
    let nl = eol_of(text);
    // Where to insert at `pos` a new line: make sure it starts on a fresh line.
    let insert_line = |pos: usize, line: &str| -> (Range<usize>, String) {
        if pos > 0 && !text[..pos].ends_with('\n') {
            (pos..pos, format!("{nl}{line}"))
        } else {
            (pos..pos, format!("{line}{nl}"))
        }
    };
    let new_line;
    let mut previous = None;
    match edit {
        Edit::Set {
            section,
            label,
            marker,
            note,
        } => {
            // What would not read back as the same one-line item.
            for (what, value) in [("section", section), ("label", label)] {
                if value.chars().any(|c| c.is_control() && c != '\t')
                    || (what == "label" && value.contains(':'))
                {
                    return Err(Error::Usage(format!(
                        "the {what} {value:?} cannot hold {}; it must stay one line that reads back as written",
                        if what == "label" {
                            "`:` or a line break"
                        } else {
                            "a line break"
                        }
                    )));
                }
            }
            let note = note.as_deref().map(str::trim).filter(|n| !n.is_empty());
            let render = |prefix: &str, raw_label: &str| {
                let mut l = format!("{prefix}{raw_label}: {}", marker.emoji());
                if let Some(n) = note {
                    l.push(' ');
                    l.push_str(&n.replace(['\n', '\r'], " "));
                }
                l
            };
            let sec = doc.find_section(section)?;
            let want = normalize(label);
            // Only within the named section: the same label may exist in another group.
            let existing = sec.and_then(|s| {
                let name = normalize(&doc.sections[s].name);
                doc.items
                    .iter()
                    .find(|i| normalize(&i.label) == want && normalize(&i.section) == name)
            });
            match (existing, sec) {
                (Some(item), _) => {
                    previous = Some(text[item.span.clone()].to_string());
                    new_line = render(&item.prefix, &item.raw_label);
                    patches.push((item.span.clone(), new_line.clone()));
                }
                (None, Some(s)) => {
                    let prefix = doc
                        .items
                        .iter()
                        .rev()
                        .find(|i| i.section == doc.sections[s].name)
                        .map_or("- ", |i| i.prefix.as_str());
                    new_line = render(prefix, label.trim());
                    patches.push(insert_line(doc.sections[s].content_end, &new_line));
                }
                (None, None) => {
                    new_line = render("- ", label.trim());
                    let name = section.trim().to_uppercase();
                    let block = format!("**{name}:**{nl}{new_line}{nl}");
                    // A new group goes before the actions / NEXT SESSION tail, else at the end.
                    let before = doc
                        .sections
                        .iter()
                        .filter(|s| s.kind != SectionKind::Items)
                        .map(|s| s.header.start)
                        .chain(doc.next_line.as_ref().map(|r| r.start))
                        .min();
                    match before {
                        Some(pos) => patches.push((pos..pos, format!("{block}{nl}"))),
                        None => patches.push((
                            text.len()..text.len(),
                            format!("{}{block}", tail_sep(text, nl)),
                        )),
                    }
                }
            }
        }
        Edit::ActionAdd(action) | Edit::ActionDone(action) if normalize(action).is_empty() => {
            return Err(Error::Usage(format!(
                "the action text {action:?} is empty; give the action's words"
            )));
        }
        Edit::ActionAdd(action) => {
            new_line = format!("- [ ] {}", action.trim().replace(['\n', '\r'], " "));
            let sec = doc.sections.iter().find(|s| s.kind == SectionKind::Actions);
            let last_action = doc.actions.last();
            match (sec, last_action) {
                (Some(s), Some(a)) if a.span.start >= s.header.start => {
                    patches.push(insert_line(past_eol(text, a.span.end), &new_line));
                }
                (Some(s), _) => patches.push(insert_line(s.content_end, &new_line)),
                (None, _) => {
                    let block = format!("**ACTIONS REQUIRED:**{nl}{new_line}{nl}");
                    match &doc.next_line {
                        Some(r) => patches.push((r.start..r.start, format!("{block}{nl}"))),
                        None => patches.push((
                            text.len()..text.len(),
                            format!("{}{block}", tail_sep(text, nl)),
                        )),
                    }
                }
            }
        }
        Edit::ActionDone(action) => {
            let want = normalize(action);
            let open: Vec<&Action> = doc.actions.iter().filter(|a| !a.done).collect();
            let exact: Vec<&&Action> = open.iter().filter(|a| normalize(&a.text) == want).collect();
            let hit = if let Some(a) = exact.first() {
                *a
            } else {
                let partial: Vec<&&Action> = open
                    .iter()
                    .filter(|a| normalize(&a.text).contains(&want))
                    .collect();
                match partial.len() {
                    1 => partial[0],
                    0 => {
                        return Err(Error::NotFound {
                            what: "open action",
                            name: action.clone(),
                        });
                    }
                    _ => {
                        return Err(Error::Usage(format!(
                            "{action:?} matches several open actions: {}",
                            partial
                                .iter()
                                .map(|a| format!("{:?}", a.text))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                }
            };
            previous = Some(text[hit.span.clone()].to_string());
            patches.push((hit.check.clone(), "x".into()));
            new_line = format!(
                "{}x{}",
                &text[hit.span.start..hit.check.start],
                &text[hit.check.end..hit.span.end]
            );
        }
        Edit::Next(session) => {
            let session = session.trim().replace(['\n', '\r'], " ");
            match (&doc.next_line, &doc.next_session) {
                (Some(r), Some(value)) => {
                    previous = Some(text[r.clone()].to_string());
                    // Keep the line's own style (`**NEXT SESSION:**`, a list bullet, ...).
                    let line = &text[r.clone()];
                    // Keep what surrounds the value (`**`, backticks) as it was.
                    new_line = match line.rfind(value.as_str()) {
                        Some(at) => {
                            format!("{}{session}{}", &line[..at], &line[at + value.len()..])
                        }
                        None => format!("**NEXT SESSION:** {session}"),
                    };
                    patches.push((r.clone(), new_line.clone()));
                }
                (Some(r), None) => {
                    new_line = format!("**NEXT SESSION:** {session}");
                    patches.push((r.clone(), new_line.clone()));
                }
                (None, _) => {
                    new_line = format!("**NEXT SESSION:** {session}");
                    patches.push((
                        text.len()..text.len(),
                        format!("{}{new_line}{nl}", tail_sep(text, nl)),
                    ));
                }
            }
        }
    }
    // The header timestamp.
    let stamp = time::format(now);
    match (&doc.header, &doc.header_timestamp) {
        (_, Some(ts)) => patches.push((ts.clone(), stamp.clone())),
        (Some(h), None) => patches.push((h.end..h.end, format!(" - {stamp}"))),
        (None, None) => patches.push((
            // After a byte order mark, which must stay first.
            if text.starts_with('\u{feff}') {
                3..3
            } else {
                0..0
            },
            format!("## {} STATUS - {stamp}{nl}{nl}", project.to_uppercase()),
        )),
    }
    Ok((patches, new_line, previous))
}

/// What a document says, without positions: what a reader of the file gets.
#[derive(Debug, Clone, PartialEq)]
struct Meaning {
    project: Option<String>,
    sections: Vec<(String, SectionKind)>,
    items: Vec<(String, String, Option<Marker>, String)>,
    actions: Vec<(String, bool)>,
    next: Option<String>,
}

impl Meaning {
    fn of(doc: &StatusDoc) -> Meaning {
        let mut items: Vec<_> = doc
            .items
            .iter()
            .map(|i| (i.section.clone(), i.label.clone(), i.marker, i.note.clone()))
            .collect();
        items.sort();
        let mut actions: Vec<_> = doc
            .actions
            .iter()
            .map(|a| (a.text.clone(), a.done))
            .collect();
        actions.sort();
        let mut sections: Vec<_> = doc
            .sections
            .iter()
            .map(|s| (s.name.clone(), s.kind))
            .collect();
        sections.sort_by(|a, b| a.0.cmp(&b.0));
        Meaning {
            project: doc.header_project.clone(),
            sections,
            items,
            actions,
            next: doc.next_session.clone(),
        }
    }
}

/// Refuse an edit whose result would not read back as exactly what was asked: the
/// edited item with the asked marker and note, nothing else changed. Text that looks
/// like markup (a label `✅ Auth`, a note holding a section header) would otherwise
/// change its own meaning or another line's when the file is read again.
fn check_reads_back(old: &StatusDoc, new_text: &str, edit: &Edit) -> Result<()> {
    let new = StatusDoc::parse(new_text);
    let mut want = Meaning::of(old);
    let got = Meaning::of(&new);
    // What the edit is allowed to change, in `want`.
    match edit {
        Edit::Set {
            section,
            label,
            marker,
            note,
        } => {
            let note = note
                .as_deref()
                .map_or(String::new(), |n| n.trim().replace(['\n', '\r'], " "));
            let label_key = normalize(label);
            let section_key = normalize(section);
            // The section it landed in: an existing one (matched loosely), or a new one.
            let landed = new.items.iter().find(|i| {
                normalize(&i.label) == label_key && normalize(&i.section).contains(&section_key)
            });
            let Some(landed) = landed else {
                return Err(not_read_back(&format!("label {label:?}")));
            };
            want.items.retain(|(sec, l, _, _)| {
                !(normalize(l) == label_key && normalize(sec) == normalize(&landed.section))
            });
            want.items.push((
                landed.section.clone(),
                landed.label.clone(),
                Some(*marker),
                note,
            ));
            want.items.sort();
            if !want
                .sections
                .iter()
                .any(|(name, _)| *name == landed.section)
            {
                let kind = section_kind(&landed.section);
                want.sections.push((landed.section.clone(), kind));
                want.sections.sort_by(|a, b| a.0.cmp(&b.0));
            }
        }
        Edit::ActionAdd(action) => {
            want.actions
                .push((action.trim().replace(['\n', '\r'], " "), false));
            want.actions.sort();
            if !want
                .sections
                .iter()
                .any(|(_, k)| *k == SectionKind::Actions)
            {
                want.sections
                    .push(("ACTIONS REQUIRED".into(), SectionKind::Actions));
                want.sections.sort_by(|a, b| a.0.cmp(&b.0));
            }
        }
        Edit::ActionDone(_) => {
            // Exactly one open action became done; its text is the file's own.
            let mut opened: Vec<_> = want.actions.clone();
            let closed = got
                .actions
                .iter()
                .find(|a| a.1 && !want.actions.contains(a))
                .cloned();
            if let Some((text, _)) = closed
                && let Some(slot) = opened.iter_mut().find(|a| a.0 == text && !a.1)
            {
                slot.1 = true;
            }
            opened.sort();
            want.actions = opened;
        }
        Edit::Next(session) => {
            let session = session.trim().replace(['\n', '\r'], " ");
            want.next = Some(
                session
                    .trim_matches(|c: char| c == '*' || c == '`' || c.is_whitespace())
                    .to_string(),
            );
        }
    }
    if want.project.is_none() {
        want.project = got.project.clone();
    }
    if want == got {
        return Ok(());
    }
    let what = match edit {
        Edit::Set { label, note, .. } => {
            format!("label {label:?} / note {:?}", note.as_deref().unwrap_or(""))
        }
        Edit::ActionAdd(t) | Edit::ActionDone(t) => format!("action {t:?}"),
        Edit::Next(t) => format!("NEXT SESSION value {t:?}"),
    };
    Err(not_read_back(&what))
}

fn not_read_back(what: &str) -> Error {
    Error::Usage(format!(
        "the {what} would not read back as written (it looks like status markup: a \
         marker emoji or word at its start, a section header, a list bullet); nothing was \
         written. Reword it, e.g. move the emoji or `:` out of the label"
    ))
}

fn apply(text: &str, mut patches: Vec<(Range<usize>, String)>) -> String {
    patches.sort_by_key(|(r, _)| std::cmp::Reverse((r.start, r.end)));
    let mut out = text.to_string();
    for (range, with) in patches {
        out.replace_range(range, &with);
    }
    out
}

/// Apply `edit` to `text` (pure: no I/O), for tests and previews.
pub fn edit_text(project: &str, text: &str, edit: &Edit, now: Timestamp) -> Result<String> {
    let doc = StatusDoc::parse(text);
    let (patches, _, _) = plan(project, text, &doc, edit, now)?;
    let next = apply(text, patches);
    check_reads_back(&doc, &next, edit)?;
    Ok(next)
}

/// The user text an edit writes, for the secret check.
fn edit_user_text(edit: &Edit) -> String {
    match edit {
        Edit::Set {
            section,
            label,
            note,
            ..
        } => format!("{section}\n{label}: {}", note.as_deref().unwrap_or("")),
        Edit::ActionAdd(t) | Edit::ActionDone(t) | Edit::Next(t) => t.clone(),
    }
}

/// The folder of status files (the hub itself, or a separate folder such as the old
/// `session-sync/`), with its locks and private state in `<dir>/.sessions/`.
#[derive(Debug, Clone)]
pub struct StatusFiles {
    pub dir: PathBuf,
    /// Files whose timestamp is older than this are stale.
    pub stale_after: Duration,
    pub allow_secrets: bool,
}

impl StatusFiles {
    /// The status folder of a hub: `dir` if given, else `[status] dir` from the hub
    /// config (relative to the hub), else the hub itself.
    pub fn for_hub(hub: &Hub, dir: Option<&Path>) -> Result<StatusFiles> {
        let dir = match dir {
            Some(d) => d.to_path_buf(),
            None => match &hub.config.status.dir {
                Some(d) => hub.root().join(d),
                None => hub.root().to_path_buf(),
            },
        };
        Ok(StatusFiles {
            dir,
            stale_after: hub.config.status.stale_after,
            allow_secrets: hub.allow_secrets,
        })
    }

    /// A status folder outside any hub, with the default settings.
    pub fn at(dir: &Path) -> StatusFiles {
        StatusFiles {
            dir: dir.to_path_buf(),
            stale_after: crate::store::config::Status::default().stale_after,
            allow_secrets: false,
        }
    }

    /// `<dir>/<project>-status.md`, the project validated, refused when it is a
    /// symlink leading outside the folder.
    pub fn path(&self, project: &str) -> Result<PathBuf> {
        ids::validate("project", project)?;
        let path = self.dir.join(format!("{project}{STATUS_SUFFIX}"));
        self.ensure_inside(&path)?;
        Ok(path)
    }

    /// Refuse a file of the folder that is a symlink leading outside it (what
    /// `Hub::file` does for the hub): reading it would show, and editing it copy, a
    /// file from elsewhere; touching it would change a file elsewhere.
    pub fn ensure_inside(&self, path: &Path) -> Result<()> {
        let canonical = std::fs::canonicalize(&self.dir).unwrap_or_else(|_| self.dir.clone());
        crate::store::hub::ensure_within(&self.dir, &canonical, path)
    }

    /// The toolkit's private state beside the status files.
    pub fn private_dir(&self) -> PathBuf {
        self.dir.join(crate::store::hub::layout::PRIVATE)
    }

    /// The sidecar lock `name` in the folder's private `.sessions/locks/`, refusing one
    /// that leads outside the folder.
    pub(crate) fn lock(&self, name: &str) -> Result<FileLock> {
        let path = self
            .dir
            .join(crate::store::hub::layout::LOCKS)
            .join(format!("{name}.lock"));
        self.ensure_inside(&path)?;
        FileLock::acquire(&path, storage::DEFAULT_LOCK_TIMEOUT)
    }

    fn check_secrets(&self, what: &str, text: &str) -> Result<()> {
        if self.allow_secrets {
            Ok(())
        } else {
            secrets::check(what, text)
        }
    }

    /// Every `<project>-status.md`, sorted by name.
    pub fn list(&self) -> Result<Vec<(String, PathBuf)>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&self.dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&self.dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if storage::is_temp_or_hidden(&name) {
                continue;
            }
            if let Some(project) = name.strip_suffix(STATUS_SUFFIX)
                && ids::validate("project", project).is_ok()
            {
                out.push((project.to_string(), entry.path()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Read and parse one project's file.
    pub fn load(&self, project: &str) -> Result<(PathBuf, String, StatusDoc)> {
        let path = self.path(project)?;
        let text = storage::read_text(&path)?.ok_or_else(|| Error::NotFound {
            what: "status file",
            name: path.display().to_string(),
        })?;
        let doc = StatusDoc::parse(&text);
        Ok((path, text, doc))
    }

    /// Create `<project>-status.md` from template text (`{{PROJECT}}`, `{{NOW}}`).
    /// Refuses to replace an existing file.
    pub fn create(&self, project: &str, template: &str) -> Result<PathBuf> {
        let path = self.path(project)?;
        storage::ensure_dir(&self.dir)?;
        let text = template
            .replace("{{PROJECT}}", &project.to_uppercase())
            .replace("{{project}}", project)
            .replace("{{NOW}}", &time::format(time::now()));
        self.check_secrets("the status file", &text)?;
        if !storage::create_exclusive(&path, text.as_bytes())? {
            return Err(Error::Failed(format!(
                "{} already exists; edit it with `sessions report set`, or remove it first",
                path.display()
            )));
        }
        self.touch_signal(project)?;
        Ok(path)
    }

    /// Apply one edit: under the file's lock, re-read, patch only the changed line and
    /// the header timestamp, write atomically, then touch `.<project>-updated`.
    /// A file that does not exist yet is created.
    pub fn edit(&self, project: &str, edit: &Edit) -> Result<Edited> {
        let path = self.path(project)?;
        self.check_secrets("the status text", &edit_user_text(edit))?;
        storage::ensure_dir(&self.dir)?;
        let file_name = format!("{project}{STATUS_SUFFIX}");
        let now = time::now();
        let (line, previous) = {
            let _lock = self.lock(&file_name)?;
            let text = storage::read_text(&path)?.unwrap_or_default();
            let doc = StatusDoc::parse(&text);
            let (patches, line, previous) = plan(project, &text, &doc, edit, now)?;
            let next = apply(&text, patches);
            check_reads_back(&doc, &next, edit)?;
            storage::write_atomic(&path, next.as_bytes())?;
            (line, previous)
        };
        let signal = self.touch_signal(project)?;
        Ok(Edited {
            project: project.to_string(),
            file: path,
            line,
            previous,
            updated_at: time::format(now),
            signal,
        })
    }

    /// `.<name>-updated`, the name validated.
    pub fn signal_path(&self, name: &str) -> Result<PathBuf> {
        ids::validate("signal name", name)?;
        let path = self
            .dir
            .join(format!(".{name}{}", crate::status::signals::SIGNAL_SUFFIX));
        self.ensure_inside(&path)?;
        Ok(path)
    }

    /// Touch `.<name>-updated` (create it, or set its time to now).
    pub fn touch_signal(&self, name: &str) -> Result<PathBuf> {
        crate::status::signals::touch(self, name)
    }
}

/// One line of the roll-up.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Summary {
    pub project: String,
    pub file: PathBuf,
    pub ok: usize,
    pub fail: usize,
    pub wip: usize,
    pub sync: usize,
    pub open_actions: usize,
    pub done_actions: usize,
    pub updated_at: Option<String>,
    pub age_secs: Option<i64>,
    pub next_session: Option<String>,
    pub blocked: bool,
    pub blocked_by: Vec<String>,
    pub failing: Vec<String>,
}

impl Summary {
    pub fn of(project: &str, file: &Path, doc: &StatusDoc, now: Timestamp) -> Summary {
        let updated = doc.updated();
        Summary {
            project: project.to_string(),
            file: file.to_path_buf(),
            ok: doc.count(Marker::Ok),
            fail: doc.count(Marker::Fail),
            wip: doc.count(Marker::Wip),
            sync: doc.count(Marker::Sync),
            open_actions: doc.actions.iter().filter(|a| !a.done).count(),
            done_actions: doc.actions.iter().filter(|a| a.done).count(),
            updated_at: doc.updated_at.clone(),
            age_secs: updated.map(|u| (now - u).num_seconds()),
            next_session: doc.next().map(str::to_string),
            blocked: !doc.failing_dependencies().is_empty(),
            blocked_by: doc
                .failing_dependencies()
                .iter()
                .map(|i| i.label.clone())
                .collect(),
            failing: doc
                .items
                .iter()
                .filter(|i| i.marker == Some(Marker::Fail))
                .map(|i| i.label.clone())
                .collect(),
        }
    }
}

/// The roll-up of every status file. Files that cannot be read are reported as errors
/// beside the summaries rather than aborting the whole table.
pub fn rollup(files: &StatusFiles) -> Result<(Vec<Summary>, Unreadable)> {
    let now = time::now();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (project, path) in files.list()? {
        match files
            .ensure_inside(&path)
            .and_then(|()| storage::read_text(&path))
        {
            Ok(Some(text)) => out.push(Summary::of(&project, &path, &StatusDoc::parse(&text), now)),
            Ok(None) => {}
            Err(e) => errors.push((path, e.to_string())),
        }
    }
    Ok((out, errors))
}

/// One thing the healthcheck found wrong.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Problem {
    pub project: String,
    pub file: PathBuf,
    /// `stale`, `blocked`, `missing_timestamp`, `missing_next_session`, `unreadable`.
    pub kind: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_session: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_secs: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Health {
    pub ok: bool,
    pub checked: usize,
    pub stale_after_secs: u64,
    pub problems: Vec<Problem>,
}

/// The healthcheck over every status file: stale files, ❌ dependencies (which block
/// the NEXT SESSION), missing timestamps, missing NEXT SESSION lines.
pub fn healthcheck(files: &StatusFiles) -> Result<Health> {
    let now = time::now();
    let stale_secs = files.stale_after.as_secs() as i64;
    let mut problems = Vec::new();
    let list = files.list()?;
    for (project, path) in &list {
        let problem = |kind, message: String| Problem {
            project: project.clone(),
            file: path.clone(),
            kind,
            message,
            dependency: None,
            blocked_session: None,
            age_secs: None,
        };
        let text = match files
            .ensure_inside(path)
            .and_then(|()| storage::read_text(path))
        {
            Ok(Some(t)) => t,
            Ok(None) => continue,
            Err(e) => {
                problems.push(problem("unreadable", e.to_string()));
                continue;
            }
        };
        let doc = StatusDoc::parse(&text);
        match doc.updated() {
            Some(at) => {
                let age = (now - at).num_seconds();
                if age > stale_secs {
                    let mut p = problem(
                        "stale",
                        format!(
                            "not updated for {} (limit {})",
                            time::human_age(age),
                            time::human_age(stale_secs)
                        ),
                    );
                    p.age_secs = Some(age);
                    problems.push(p);
                }
            }
            None => problems.push(problem(
                "missing_timestamp",
                match &doc.timestamp_text {
                    Some(t) => format!("the header timestamp {t:?} does not parse"),
                    None if doc.header.is_none() => {
                        "no `## <PROJECT> STATUS - <timestamp>` header".to_string()
                    }
                    None => "the header has no timestamp".to_string(),
                },
            )),
        }
        if doc.next().is_none() {
            problems.push(problem(
                "missing_next_session",
                "no NEXT SESSION line (or only a placeholder)".to_string(),
            ));
        }
        for dep in doc.failing_dependencies() {
            let who = doc.next().unwrap_or("the next session").to_string();
            let mut p = problem(
                "blocked",
                format!(
                    "dependency {:?} is ❌{}: {who} is blocked",
                    dep.label,
                    if dep.note.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", dep.note)
                    }
                ),
            );
            p.dependency = Some(dep.label.clone());
            p.blocked_session = doc.next().map(str::to_string);
            problems.push(p);
        }
    }
    Ok(Health {
        ok: problems.is_empty(),
        checked: list.len(),
        stale_after_secs: files.stale_after.as_secs(),
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_that_would_read_back_differently_are_refused() {
        let set = |label: &str, marker, note: Option<&str>| Edit::Set {
            section: "SERVICES".into(),
            label: label.into(),
            marker,
            note: note.map(str::to_string),
        };
        for edit in [
            set("✅ Auth", Marker::Fail, None),
            set("fail Auth", Marker::Ok, None),
            set("Auth", Marker::Fail, Some("- see the log")),
        ] {
            let err = edit_text("infra", SAMPLE, &edit, now()).unwrap_err();
            assert!(
                err.to_string().contains("would not read back"),
                "{edit:?}: {err}"
            );
        }
        // A NEXT SESSION value that would become a section header, or an action text
        // that would end up as a second line, cannot: each edit is one line.
        let out = edit_text(
            "infra",
            SAMPLE,
            &Edit::Next("s3\n**SERVICES:**".into()),
            now(),
        )
        .unwrap();
        assert_eq!(
            StatusDoc::parse(&out).sections.len(),
            StatusDoc::parse(SAMPLE).sections.len()
        );
        let ok = edit_text(
            "infra",
            SAMPLE,
            &set("Auth ✅", Marker::Fail, Some("x ✅ y")),
            now(),
        )
        .unwrap();
        let doc = StatusDoc::parse(&ok);
        let item = doc.items.iter().find(|i| i.label == "Auth ✅").unwrap();
        assert_eq!(
            (item.marker, item.note.as_str()),
            (Some(Marker::Fail), "x ✅ y")
        );
    }

    const SAMPLE: &str = "## INFRA STATUS - 2025-11-15 19:28:00 UTC\n\nSome free text.\n\n**SERVICES:**\n- API: ✅ running on :8080\n- Database: ⏳ migrating\n* **Cache**: fail evicting\n\n**DEPENDENCIES:**\n- Auth service: ❌ token endpoint down\n\n**ACTIONS REQUISES:**\n- [ ] Rotate the certificates\n- [x] Deploy v2\n\n**NEXT SESSION:** session-2-infra\n";

    fn now() -> Timestamp {
        time::parse_str("2025-11-15T20:00:00Z").unwrap()
    }

    #[test]
    fn parses_the_original_shape() {
        let doc = StatusDoc::parse(SAMPLE);
        assert_eq!(doc.header_project.as_deref(), Some("INFRA"));
        assert_eq!(doc.updated_at.as_deref(), Some("2025-11-15T19:28:00Z"));
        assert_eq!(doc.items.len(), 4);
        assert_eq!(doc.items[0].label, "API");
        assert_eq!(doc.items[0].marker, Some(Marker::Ok));
        assert_eq!(doc.items[0].note, "running on :8080");
        assert_eq!(doc.items[2].label, "Cache");
        assert_eq!(doc.items[2].marker, Some(Marker::Fail));
        assert_eq!(doc.actions.len(), 2);
        assert!(doc.actions[1].done);
        assert_eq!(doc.next(), Some("session-2-infra"));
        assert_eq!(doc.failing_dependencies()[0].label, "Auth service");
    }

    #[test]
    fn parses_variations() {
        let text = "# Web status: 2025-11-15T19:28:00Z\n\n### Build\n- ✅ Compile: clean\n- Tests 🔄 rerunning\n\nACTIONS REQUIRED:\n* [X] ship\n\nNEXT SESSION:\n- s3\n";
        let doc = StatusDoc::parse(text);
        assert_eq!(doc.header_project.as_deref(), Some("Web"));
        assert!(doc.updated_at.is_some());
        assert_eq!(doc.items[0].label, "Compile");
        assert_eq!(doc.items[0].marker, Some(Marker::Ok));
        assert_eq!(doc.items[1].label, "Tests");
        assert_eq!(doc.items[1].marker, Some(Marker::Sync));
        assert_eq!(doc.actions.len(), 1);
        assert_eq!(doc.next(), Some("s3"));
    }

    #[test]
    fn set_changes_only_its_line_and_the_timestamp() {
        let edit = Edit::Set {
            section: "services".into(),
            label: "database".into(),
            marker: Marker::Ok,
            note: Some("migrated".into()),
        };
        let out = edit_text("infra", SAMPLE, &edit, now()).unwrap();
        let before: Vec<_> = SAMPLE.lines().collect();
        let after: Vec<_> = out.lines().collect();
        assert_eq!(before.len(), after.len());
        let changed: Vec<usize> = (0..before.len())
            .filter(|&i| before[i] != after[i])
            .collect();
        assert_eq!(changed, vec![0, 6]);
        assert_eq!(after[0], "## INFRA STATUS - 2025-11-15T20:00:00Z");
        assert_eq!(after[6], "- Database: ✅ migrated");
    }

    #[test]
    fn set_adds_missing_items_and_sections() {
        let edit = Edit::Set {
            section: "SERVICES".into(),
            label: "Queue".into(),
            marker: Marker::Wip,
            note: None,
        };
        let out = edit_text("infra", SAMPLE, &edit, now()).unwrap();
        assert!(out.contains("* **Cache**: fail evicting\n* Queue: ⏳\n"));
        let edit = Edit::Set {
            section: "Monitoring".into(),
            label: "Alerts".into(),
            marker: Marker::Ok,
            note: None,
        };
        let out = edit_text("infra", SAMPLE, &edit, now()).unwrap();
        let doc = StatusDoc::parse(&out);
        let item = doc.items.iter().find(|i| i.label == "Alerts").unwrap();
        assert_eq!(item.section, "MONITORING");
        assert_eq!(doc.next(), Some("session-2-infra"));
        assert_eq!(doc.actions.len(), 2);
    }

    #[test]
    fn crlf_files_stay_crlf_and_decorations_survive() {
        let text = "## WEB STATUS - 2025-11-15T19:28:00Z\r\n\r\n**BUILD:**\r\n- Compile: ⏳\r\n\r\n**NEXT SESSION:** `s2`\r\n";
        let out = edit_text(
            "web",
            text,
            &Edit::Set {
                section: "build".into(),
                label: "Tests".into(),
                marker: Marker::Fail,
                note: None,
            },
            now(),
        )
        .unwrap();
        assert!(out.contains("- Compile: ⏳\r\n- Tests: ❌\r\n"), "{out:?}");
        assert!(!out.replace("\r\n", "").contains('\n'), "{out:?}");
        let out = edit_text("web", &out, &Edit::Next("s9".into()), now()).unwrap();
        assert!(out.ends_with("**NEXT SESSION:** `s9`\r\n"), "{out:?}");
        // Parsing arbitrary text never panics.
        for junk in [
            "", "-", "- [", "- [x", "#", "**", "**:**", "1.", "1. [ ]", "NEXT", "\r\n\r\n",
        ] {
            let _ = StatusDoc::parse(junk);
            let _ = edit_text("j", junk, &Edit::ActionAdd("a".into()), now()).unwrap();
        }
    }

    #[test]
    fn actions_and_next() {
        let out = edit_text("infra", SAMPLE, &Edit::ActionAdd("Renew DNS".into()), now()).unwrap();
        assert!(out.contains("- [x] Deploy v2\n- [ ] Renew DNS\n"));
        let out = edit_text("infra", &out, &Edit::ActionDone("rotate".into()), now()).unwrap();
        assert!(out.contains("- [x] Rotate the certificates\n"));
        let out = edit_text("infra", &out, &Edit::Next("s9".into()), now()).unwrap();
        assert!(out.ends_with("**NEXT SESSION:** s9\n"));
        let fresh = edit_text("new", "", &Edit::Next("s1".into()), now()).unwrap();
        assert_eq!(
            fresh,
            "## NEW STATUS - 2025-11-15T20:00:00Z\n\n**NEXT SESSION:** s1\n"
        );
    }
}
