//! The status document model: `<project>-status.md` (the original "session-sync"
//! files) parsed into sections, items, actions and the NEXT SESSION line.
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
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

use crate::store::error::{Error, Result};
use crate::store::time::{self, Timestamp};

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

pub(crate) fn section_kind(name: &str) -> SectionKind {
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

    pub(crate) fn find_section(&self, name: &str) -> Result<Option<usize>> {
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
