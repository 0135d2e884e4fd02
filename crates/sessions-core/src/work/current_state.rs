//! CURRENT_STATE.md: human-owned; the toolkit edits only named sections and the
//! "Last Updated"/"Updated By" lines, and leaves every other byte alone.

use serde::Serialize;

use crate::store::error::{Error, Result};
use crate::store::hub::{Hub, layout};
use crate::{store::storage, store::time};

/// A `## ` section: byte offsets into the file.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Section {
    /// The heading text after `## `, as written (emoji and all).
    pub title: String,
    /// Start of the heading line.
    pub start: usize,
    /// Start of the line after the heading.
    pub body_start: usize,
    /// Start of the next `#`/`##` heading, or the end of the file.
    pub end: usize,
}

impl Section {
    pub fn body<'a>(&self, text: &'a str) -> &'a str {
        &text[self.body_start..self.end]
    }

    /// Where the section's content ends: before the trailing blank lines and `---`
    /// separator that close it off from the next section.
    pub fn content_end(&self, text: &str) -> usize {
        let body = self.body(text);
        let mut end = body.len();
        loop {
            let before = &body[..end];
            let trimmed = before.trim_end_matches([' ', '\t', '\r', '\n']);
            let line_start = trimmed.rfind('\n').map_or(0, |i| i + 1);
            let last_line = trimmed[line_start..].trim();
            if trimmed.len() < end && last_line == "---" {
                end = line_start;
                continue;
            }
            if trimmed.len() < end {
                // Keep the newline ending the last content line.
                end = (trimmed.len() + 1).min(end);
            }
            break;
        }
        self.body_start + end
    }
}

/// Normalize a heading for matching: letters and digits only, lower case, single spaces.
pub fn normalize(title: &str) -> String {
    title
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The file's level-2 sections, ignoring headings inside code fences.
pub fn sections(text: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    // The open fence's character and length: only a run of the same character at least
    // as long closes it (CommonMark), so "```" inside a "~~~" fence stays inside.
    let mut fence: Option<(char, usize)> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim_end();
        let lead = trimmed.trim_start();
        if let Some(c) = lead.chars().next().filter(|c| *c == '`' || *c == '~') {
            let run = lead.chars().take_while(|x| *x == c).count();
            if run >= 3 {
                match fence {
                    None => fence = Some((c, run)),
                    Some((open, len)) if open == c && run >= len => fence = None,
                    Some(_) => {}
                }
                continue;
            }
        }
        if fence.is_some() {
            continue;
        }
        let is_h1 = trimmed.starts_with("# ");
        let h2 = trimmed.strip_prefix("## ");
        if (is_h1 || h2.is_some())
            && let Some(last) = out.last_mut()
            && last.end == text.len()
        {
            last.end = start;
        }
        if let Some(title) = h2 {
            out.push(Section {
                title: title.trim().to_string(),
                start,
                body_start: offset,
                end: text.len(),
            });
        }
    }
    out
}

/// The first section whose normalized title contains `name` normalized
/// ("current priority" finds "🎯 CURRENT PRIORITY (The ONE Thing)").
pub fn find(text: &str, name: &str) -> Option<Section> {
    let want = normalize(name);
    sections(text)
        .into_iter()
        .find(|s| normalize(&s.title).contains(&want))
}

pub const PRIORITY_SECTION: &str = "current priority";
pub const COMPLETED_SECTION: &str = "recently completed";

/// The current priority's text, without the closing separator.
pub fn current_priority(text: &str) -> Option<String> {
    let section = find(text, PRIORITY_SECTION)?;
    let body = text[section.body_start..section.content_end(text)].trim();
    (!body.is_empty()).then(|| body.to_string())
}

/// The first line of the current priority, without markdown decoration: a headline.
pub fn priority_headline(priority: &str) -> String {
    let line = priority
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let line = line.trim_start_matches('#').trim();
    let line = line.strip_prefix("Priority:").unwrap_or(line).trim();
    line.replace("**", "")
}

/// Replace the first line starting with `**<label>:**` (or insert it after the title).
fn set_header_line(text: &mut String, label: &str, value: &str) {
    let prefix = format!("**{label}:**");
    let new_line = format!("{prefix} {value}");
    // The header is what comes before the first section; the same label further down
    // belongs to a section the toolkit does not own.
    let header_end = sections(text).first().map_or(text.len(), |s| s.start);
    let mut offset = 0;
    for line in text[..header_end].split_inclusive('\n') {
        if line.starts_with(&prefix) {
            let end = offset + line.trim_end_matches(['\n', '\r']).len();
            text.replace_range(offset..end, &new_line);
            return;
        }
        offset += line.len();
    }
    // Not there: add it after the title line (or at the top).
    let at = if text.starts_with("# ") {
        text.find('\n').map_or(text.len(), |i| i + 1)
    } else {
        0
    };
    let insert = if at == text.len() && !text.ends_with('\n') && !text.is_empty() {
        format!("\n{new_line}\n")
    } else {
        format!("{new_line}\n")
    };
    text.insert_str(at, &insert);
}

fn stamp(text: &mut String, by: &str) {
    let now = time::now().format("%Y-%m-%d %H:%M UTC").to_string();
    // In this order, two missing lines end up as "Last Updated" then "Updated By".
    set_header_line(text, "Updated By", by);
    set_header_line(text, "Last Updated", &now);
}

/// Locked read-modify-write of CURRENT_STATE.md.
fn edit(hub: &Hub, by: &str, f: impl FnOnce(&mut String) -> Result<()>) -> Result<()> {
    edit_if(hub, by, |text| f(text).map(|()| true)).map(|_| ())
}

/// [`edit`] where `f` may decide, inside the lock, that nothing is to change (`false`):
/// then nothing is written. Returns what `f` decided.
fn edit_if(hub: &Hub, by: &str, f: impl FnOnce(&mut String) -> Result<bool>) -> Result<bool> {
    let path = hub.file(layout::CURRENT_STATE)?;
    let _lock = hub.lock(layout::CURRENT_STATE)?;
    let mut text = storage::read_text(&path)?.ok_or_else(|| Error::NotFound {
        what: "file",
        name: path.display().to_string(),
    })?;
    let before: Vec<String> = sections(&text).into_iter().map(|s| s.title).collect();
    if !f(&mut text)? {
        return Ok(false);
    }
    stamp(&mut text, by);
    // The toolkit never adds, removes or renames a section: text that would (a `## `
    // line, a `# ` heading, an unclosed code fence swallowing the headings after it)
    // would be read back as a different file, and later edits would use the planted one.
    let after: Vec<String> = sections(&text).into_iter().map(|s| s.title).collect();
    if before != after {
        return Err(Error::Usage(format!(
            "{}: the text would change the file's sections when read back (a line starting \
             with `#`, or a code fence ``` left open); nothing was written. Indent such lines \
             or close the fence",
            path.display()
        )));
    }
    storage::write_atomic(&path, text.as_bytes())?;
    Ok(true)
}

fn missing_section(hub: &Hub, name: &str) -> Error {
    Error::Failed(format!(
        "{}: no \"## {name}\" section; add one (any emoji or suffix is fine) and run the command again",
        hub.display_path(layout::CURRENT_STATE).display()
    ))
}

/// Set the current priority: the section's content is replaced, its heading and the
/// separator after it stay.
pub fn set_priority(hub: &Hub, by: &str, priority: &str, details: Option<&str>) -> Result<()> {
    hub.check_secrets("the priority", priority)?;
    if let Some(details) = details {
        hub.check_secrets("the priority details", details)?;
    }
    edit(hub, by, |text| {
        let section =
            find(text, PRIORITY_SECTION).ok_or_else(|| missing_section(hub, "CURRENT PRIORITY"))?;
        let mut body = format!(
            "\n### Priority: {}\n",
            priority.trim().replace(['\n', '\r'], " ")
        );
        body.push_str(&format!(
            "**Set By:** {by} ({})\n",
            time::now().format("%Y-%m-%d %H:%M UTC")
        ));
        if let Some(details) = details {
            body.push('\n');
            body.push_str(details.trim_end());
            body.push('\n');
        }
        body.push('\n');
        let end = section.content_end(text);
        let want = body.trim().to_string();
        text.replace_range(section.body_start..end, &body);
        // Read back: the section must hold exactly what was written (a `---` line in the
        // details would end it early, a heading would start another).
        if current_priority(text).as_deref() != Some(want.as_str()) {
            return Err(Error::Usage(
                "the priority or its details would not read back as written (a `---` line or \
                 a heading inside them ends the section); nothing was written. Indent such lines"
                    .into(),
            ));
        }
        Ok(())
    })
}

/// Record a completed item at the top of "Recently completed", keeping the newest `keep`.
pub fn record_completed(hub: &Hub, by: &str, item: &str, keep: usize) -> Result<()> {
    record_completed_once(hub, by, item, &completed_stamp(time::now()), keep).map(|_| ())
}

/// The time written beside a completed item (`at` of [`record_completed_once`]).
pub fn completed_stamp(t: time::Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// [`record_completed`] with the time given, unless that exact entry is in the section
/// already (an operation finished again after a crash records its item once). Returns
/// whether it was added.
pub fn record_completed_once(
    hub: &Hub,
    by: &str,
    item: &str,
    at: &str,
    keep: usize,
) -> Result<bool> {
    hub.check_secrets("the completed item", item)?;
    let entry = format!(
        "1. **{}** ({at} - {by})\n",
        item.trim().replace(['\n', '\r'], " "),
    );
    let listed = |text: &str| {
        find(text, COMPLETED_SECTION).is_some_and(|section| {
            let body = &text[section.body_start..section.content_end(text)];
            let want = &entry[entry.find(". ").map_or(0, |i| i + 2)..];
            body.lines().any(|line| {
                let digits = line.chars().take_while(char::is_ascii_digit).count();
                digits > 0 && line[digits..].strip_prefix(". ") == Some(want.trim_end())
            })
        })
    };
    let path = hub.file(layout::CURRENT_STATE)?;
    if storage::read_text(&path)?.is_some_and(|t| listed(&t)) {
        return Ok(false); // the common case of a re-run: not even the lock
    }
    edit_if(hub, by, |text| {
        if listed(text) {
            return Ok(false);
        }
        let section = find(text, COMPLETED_SECTION)
            .ok_or_else(|| missing_section(hub, "RECENTLY COMPLETED"))?;
        let items = item_starts(text, &section);
        let content_end = section.content_end(text);
        // Above the first numbered item, else above whatever the section holds (a bullet
        // list, a note): the newest item comes first.
        let first_content = text[section.body_start..content_end]
            .split_inclusive('\n')
            .scan(section.body_start, |at, line| {
                let start = *at;
                *at += line.len();
                Some((start, line))
            })
            .find(|(_, line)| !line.trim().is_empty())
            .map(|(start, _)| start);
        match items.first().copied().or(first_content) {
            Some(first) => text.insert_str(first, &format!("{entry}\n")),
            None => {
                let lead = if text[..content_end].ends_with("\n\n") {
                    ""
                } else {
                    "\n"
                };
                text.insert_str(content_end, &format!("{lead}{entry}\n"));
            }
        }
        // Re-read the offsets after the insert and drop items past `keep`.
        let section = find(text, COMPLETED_SECTION).expect("section still there");
        let items = item_starts(text, &section);
        if items.len() > keep.max(1) {
            // Cut from the end of the last kept item's text (its trailing blank lines go
            // with the cut) to the end of the list: text after the list stays.
            let first_cut = items[keep.max(1)];
            let before = &text[..first_cut];
            let kept_end = before.trim_end().len();
            let cut_from = before[kept_end..]
                .find('\n')
                .map_or(first_cut, |i| kept_end + i + 1);
            let cut_to = list_end(text, *items.last().expect("more than one item"), &section);
            text.replace_range(cut_from..cut_to, "");
        }
        Ok(true)
    })
}

/// The end of the list whose last item starts at `last`: after the last line that is the
/// item, indented under it, or another item; a blank line followed by other text ends it.
fn list_end(text: &str, last: usize, section: &Section) -> usize {
    let limit = section.content_end(text);
    let mut offset = last;
    let mut end = limit;
    for (i, line) in text[last..limit].split_inclusive('\n').enumerate() {
        let blank = line.trim().is_empty();
        let digits = line.chars().take_while(char::is_ascii_digit).count();
        let item = digits > 0 && line[digits..].starts_with(". ");
        if i == 0 || item || line.starts_with([' ', '\t']) {
            end = offset + line.len();
        } else if !blank {
            break;
        }
        offset += line.len();
    }
    end.min(limit)
}

/// Byte offsets of the numbered list items (`1. `, `12. `) at column 0 in a section.
fn item_starts(text: &str, section: &Section) -> Vec<usize> {
    let mut out = Vec::new();
    let mut offset = section.body_start;
    for line in text[section.body_start..section.end].split_inclusive('\n') {
        let digits = line.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && line[digits..].starts_with(". ") {
            out.push(offset);
        }
        offset += line.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# STATE\n\n**Last Updated:** x\n\n## 🎯 CURRENT PRIORITY (The ONE Thing)\n\n### Priority: Old\nbody\n\n---\n\n## ✅ RECENTLY COMPLETED (Last 7)\n\n1. **A** (d)\n   - detail\n\n2. **B** (d)\n\n---\n\n```bash\n## not a heading\n```\n";

    #[test]
    fn finds_sections_by_loose_name() {
        let s = find(DOC, "current priority").unwrap();
        assert!(s.title.contains("CURRENT PRIORITY"));
        assert_eq!(current_priority(DOC).unwrap(), "### Priority: Old\nbody");
        assert_eq!(sections(DOC).len(), 2);
        assert_eq!(priority_headline("### Priority: Old\nbody"), "Old");
    }
}
