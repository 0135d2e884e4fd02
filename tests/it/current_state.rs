//! CURRENT_STATE.md: section edits that touch only their section and the header
//! lines (split out of foundation.rs).

use crate::support::*;

/// Lines of `text` except those starting with one of `skip`.
fn without(text: &str, skip: &[&str]) -> String {
    text.lines()
        .filter(|l| !skip.iter().any(|s| l.starts_with(s)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn current_state_edits_touch_only_their_section_and_the_header_lines() {
    let hub = TestHub::fixture();
    let original = hub.read("CURRENT_STATE.md");
    hub.ok(&["--as", "s9", "state", "priority", "Ship the toolkit"]);
    let edited = hub.read("CURRENT_STATE.md");
    let start = original.find("## 🎯 CURRENT PRIORITY").unwrap();
    let end = original.find("## ✅ RECENTLY COMPLETED").unwrap();
    let (new_start, new_end) = (
        edited.find("## 🎯 CURRENT PRIORITY").unwrap(),
        edited.find("## ✅ RECENTLY COMPLETED").unwrap(),
    );
    let header = ["**Last Updated:**", "**Updated By:**"];
    assert_eq!(
        without(&original[..start], &header),
        without(&edited[..new_start], &header)
    );
    assert_eq!(
        original[end..],
        edited[new_end..],
        "bytes after the section changed"
    );
    assert!(edited[new_start..new_end].contains("### Priority: Ship the toolkit"));
    assert!(
        edited[new_start..new_end].ends_with("---\n\n"),
        "the separator stays"
    );
    assert!(edited.contains("**Updated By:** s9\n"));
    let shown = hub.json(&["status"]);
    assert!(
        shown["current_priority"]
            .as_str()
            .unwrap()
            .contains("Ship the toolkit")
    );

    let before_done = edited.clone();
    hub.ok(&["--as", "s9", "state", "done", "Wrote the tests"]);
    let done = hub.read("CURRENT_STATE.md");
    let section = hub.json(&["state", "show", "recently completed"]);
    let body = section["body"].as_str().unwrap();
    assert!(
        body.trim_start().starts_with("1. **Wrote the tests**"),
        "{body}"
    );
    let items = body
        .lines()
        .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .count();
    assert_eq!(items, 7, "keeps the newest 7");
    let sys = before_done.find("## 🌐 SYSTEM STATE").unwrap();
    assert_eq!(
        before_done[sys..],
        done[done.find("## 🌐 SYSTEM STATE").unwrap()..]
    );
    assert_eq!(
        before_done[..before_done.find("**Last Updated:**").unwrap()],
        done[..done.find("**Last Updated:**").unwrap()]
    );
}

#[test]
fn trimming_recently_completed_keeps_the_human_text_after_the_list() {
    let hub = TestHub::new();
    hub.write(
        "CURRENT_STATE.md",
        "# STATE\n\n## CURRENT PRIORITY\n\nold\n\n## RECENTLY COMPLETED\n\n1. **A**\n   - detail\n2. **B**\n\nOlder items: see ARCHIVE.md.\n\n```\n## not a heading\n```\n\n## Other\ntext",
    );
    hub.write("sessions.toml", "[current_state]\nkeep_completed = 1\n");
    hub.ok(&["--as", "s1", "state", "done", "C"]);
    let text = hub.read("CURRENT_STATE.md");
    assert!(text.contains("1. **C**"), "{text}");
    assert!(!text.contains("**A**") && !text.contains("**B**"), "{text}");
    assert!(
        text.ends_with(
            "\n\nOlder items: see ARCHIVE.md.\n\n```\n## not a heading\n```\n\n## Other\ntext"
        ),
        "text after the list was lost:\n{text}"
    );
}

#[test]
fn header_lines_are_only_looked_for_above_the_first_section() {
    let hub = TestHub::new();
    let tail =
        "## SYSTEM STATE\n\n**Last Updated:** 2025-01-01 by the ops team\n**Updated By:** ops\n";
    hub.write(
        "CURRENT_STATE.md",
        &format!("# STATE\n\n## CURRENT PRIORITY\n\nold\n\n{tail}"),
    );
    hub.ok(&["--as", "s1", "state", "priority", "new"]);
    let text = hub.read("CURRENT_STATE.md");
    assert!(
        text.ends_with(tail),
        "a line in another section changed:\n{text}"
    );
    let head = &text[..text.find("## CURRENT PRIORITY").unwrap()];
    assert!(
        head.find("**Last Updated:**") < head.find("**Updated By:**"),
        "{head}"
    );
    assert!(
        head.contains("**Last Updated:** ") && head.contains("**Updated By:** s1"),
        "{text}"
    );
}

#[test]
fn headings_inside_tilde_fences_are_not_sections() {
    let hub = TestHub::new();
    let head = "# STATE\n\n## NOTES\n\n~~~md\n## CURRENT PRIORITY\nexample only\n```\n~~~\n\n";
    hub.write(
        "CURRENT_STATE.md",
        &format!("{head}## CURRENT PRIORITY\n\nold\n"),
    );
    hub.ok(&["--as", "s1", "state", "priority", "new"]);
    let text = hub.read("CURRENT_STATE.md");
    assert!(
        text.contains(&head[head.find("## NOTES").unwrap()..]),
        "{text}"
    );
    assert!(
        text.contains("### Priority: new") && !text.contains("old"),
        "{text}"
    );
}

#[test]
fn done_puts_the_newest_item_first_even_above_a_bullet_list() {
    let hub = TestHub::new();
    hub.write(
        "CURRENT_STATE.md",
        "# STATE\n\n## RECENTLY COMPLETED\n\n- **Old A**\n- **Old B**\n\n---\n\n## NEXT\nx\n",
    );
    hub.ok(&["--as", "s1", "state", "done", "New"]);
    let text = hub.read("CURRENT_STATE.md");
    let new = text.find("**New**").unwrap();
    assert!(new < text.find("**Old A**").unwrap(), "{text}");
    assert!(
        text.ends_with("- **Old A**\n- **Old B**\n\n---\n\n## NEXT\nx\n"),
        "{text}"
    );
}
