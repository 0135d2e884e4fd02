//! The edit planner: an [`Edit`] becomes byte patches of one line (and the header
//! timestamp), so every other byte of a hand-written file stays as it was.

use std::ops::Range;
use std::path::PathBuf;

use serde::Serialize;

use crate::status::doc::*;
use crate::store::error::{Error, Result};
use crate::store::time::{self, Timestamp};

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
    /// A new section was created in a file that had others (a probable typo of one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A warning when `edit` adds a section to a document that already has item sections
/// (`report set infra SERVCES ...`), with the near match. The section is still created:
/// a deliberate new group is allowed, a typo is made visible.
pub fn new_section_warning(doc: &StatusDoc, edit: &Edit) -> Option<String> {
    let Edit::Set { section, .. } = edit else {
        return None;
    };
    let known: Vec<&str> = doc
        .sections
        .iter()
        .filter(|s| s.kind == SectionKind::Items)
        .map(|s| s.name.as_str())
        .collect();
    if known.is_empty() || !matches!(doc.find_section(section), Ok(None)) {
        return None;
    }
    let normalized: Vec<String> = known.iter().map(|k| normalize(k)).collect();
    let hint =
        crate::store::ids::near_match(&normalize(section), normalized.iter().map(String::as_str))
            .map(|near| format!("; did you mean {near}?"))
            .unwrap_or_else(|| format!("; the sections are {}", known.join(", ")));
    Some(format!(
        "created a new section {}{hint}",
        section.trim().to_uppercase()
    ))
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

/// Compute the byte patches for `edit` on `text` (parsed as `doc`), including the
/// header timestamp. Returns the patches and a description of the new line.
pub(crate) fn plan(
    project: &str,
    text: &str,
    doc: &StatusDoc,
    edit: &Edit,
    now: Timestamp,
) -> Result<Plan> {
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
pub(crate) fn check_reads_back(old: &StatusDoc, new_text: &str, edit: &Edit) -> Result<()> {
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

pub(crate) fn apply(text: &str, mut patches: Vec<(Range<usize>, String)>) -> String {
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
pub(crate) fn edit_user_text(edit: &Edit) -> String {
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
