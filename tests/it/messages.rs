//! Issue 4: the message board, inboxes with read cursors, acks, archive, and
//! collaboration requests. Real binaries, real processes, real temp hubs.

use std::collections::{HashMap, HashSet};
use std::process::Stdio;

use serde_json::Value;
use sessions_core::board::messages::{self, Format, Post, Segment};

use crate::support::*;

/// A body of exactly `len` bytes that looks like trouble for a parser: separators,
/// fake headers, headings, multi-byte characters, blank lines.
fn body(rng: &mut Rng, tag: &str, len: usize) -> String {
    const ATOMS: [&str; 12] = [
        "lorem ",
        "ipsum\n",
        "---\n",
        "\n**From:** s9\n**To:** all\n",
        "### heading\n",
        "é",
        "→",
        "\n\n",
        "**ID:** m-fake\n",
        "**Length:** 5\n",
        "a",
        "1",
    ];
    let mut s = String::with_capacity(len + 8);
    if len > tag.len() {
        s.push_str(tag);
    }
    while s.len() < len {
        let atom = ATOMS[(rng.next_u64() % ATOMS.len() as u64) as usize];
        if s.len() + atom.len() <= len {
            s.push_str(atom);
        } else {
            s.push('z');
        }
    }
    if s.trim().is_empty() {
        // `msg send` refuses a blank body; keep the length, make it a message.
        s.replace_range(0..1, "x");
    }
    s
}

fn status_code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn board_messages(hub: &TestHub) -> Vec<messages::Message> {
    messages::messages(messages::parse(&hub.read("MESSAGES.md")))
}

fn send(hub: &TestHub, from: &str, args: &[&str]) -> String {
    let mut all = vec!["--as", from, "msg", "send"];
    all.extend_from_slice(args);
    let v = hub.json(&all);
    v["id"].as_str().expect("send returns an id").to_string()
}

/// Run `sessions ARGS` with `input` on its stdin.
fn with_stdin(hub: &TestHub, args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = hub
        .command("sessions")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn inbox_ids(hub: &TestHub, me: &str, args: &[&str]) -> (Vec<String>, Value) {
    let mut all = vec!["--as", me, "inbox"];
    all.extend_from_slice(args);
    let v = hub.json(&all);
    let ids = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    (ids, v)
}

#[test]
fn sixteen_processes_times_500_messages_lose_nothing_and_never_interleave() {
    const PROCS: usize = 16;
    const PER: usize = 500;
    let hub = TestHub::new();
    let before = hub.read("MESSAGES.md");
    let mut rng = Rng::seeded(0x5eed_1234_abcd_0001);
    let mut expected: HashMap<String, usize> = HashMap::new();
    let mut order: Vec<Vec<String>> = Vec::new();
    let work = tempfile::tempdir().unwrap();
    let mut children = Vec::new();
    for p in 0..PROCS {
        let mut lines = String::new();
        let mut tags = Vec::new();
        for i in 0..PER {
            // Sizes from 1 byte to 64 KiB: mostly small, a few large, the extremes exact.
            let len = match (p * PER + i) % 97 {
                0 => 1,
                1 => 64 * 1024,
                2..=4 => 1 + (rng.next_u64() % (64 * 1024)) as usize,
                _ => 1 + (rng.next_u64() % 1500) as usize,
            };
            let tag = format!("<p{p}-{i}>");
            let b = body(&mut rng, &tag, len);
            assert_eq!(b.len(), len);
            *expected.entry(b.clone()).or_default() += 1;
            if b.starts_with(&tag) {
                tags.push(tag);
            }
            lines.push_str(&serde_json::to_string(&b).unwrap());
            lines.push('\n');
        }
        order.push(tags);
        let file = work.path().join(format!("bodies-{p}.jsonl"));
        std::fs::write(&file, lines).unwrap();
        let child = hub
            .command("sessions")
            .args(["--as", &format!("p{p}"), "msg", "send", "--to", "sink"])
            .arg("--bodies-from")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sender");
        children.push(child);
    }
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "sender failed: {}", stderr(&out));
    }

    let text = hub.read("MESSAGES.md");
    assert!(text.starts_with(&before), "existing bytes changed");
    let segments = messages::parse(&text);
    // Every byte belongs to exactly one segment; the only free text is the header.
    let joined: String = segments
        .iter()
        .map(|s| {
            let (o, l) = s.range();
            &text[o as usize..(o + l) as usize]
        })
        .collect();
    assert_eq!(joined, text);
    let texts: Vec<_> = segments
        .iter()
        .filter(|s| matches!(s, Segment::Text(_)))
        .collect();
    assert_eq!(texts.len(), 1, "a block was torn or interleaved");
    let msgs = messages::messages(segments);
    assert_eq!(msgs.len(), PROCS * PER);
    let ids: HashSet<&str> = msgs.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids.len(), PROCS * PER, "duplicate message IDs");
    let mut got: HashMap<String, usize> = HashMap::new();
    for m in &msgs {
        assert_eq!(m.format, Format::Toolkit);
        *got.entry(m.body.clone()).or_default() += 1;
    }
    assert!(got == expected, "some body did not parse back exactly");
    // Each sender's messages appear in the order it sent them.
    for (p, tags) in order.iter().enumerate() {
        let from = format!("p{p}");
        let seen: Vec<&str> = msgs
            .iter()
            .filter(|m| m.from.as_deref() == Some(from.as_str()))
            .filter_map(|m| tags.iter().find(|t| m.body.starts_with(t.as_str())))
            .map(String::as_str)
            .collect();
        assert_eq!(seen, tags.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

#[test]
fn thirty_two_collaboration_requests_in_one_second_get_distinct_ids() {
    let hub = TestHub::new();
    let children: Vec<_> = (0..32)
        .map(|i| {
            hub.command("session-request-collaboration")
                .env("SESSIONS_NOW", "2026-01-01T12:00:00Z")
                .args([
                    "target-session",
                    &format!("request number {i}"),
                    "high",
                    &format!("asker-{i}"),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "request failed: {}", stderr(&out));
    }
    let files = std::fs::read_dir(hub.path("ACTIVE/COLLABORATIONS"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .count();
    assert_eq!(files, 32);
    let list = hub.json(&["collab", "list", "--all"]);
    let reqs = list["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 32);
    let ids: HashSet<&str> = reqs
        .iter()
        .map(|r| r["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 32);
    let msgs = board_messages(&hub);
    let requests: Vec<_> = msgs
        .iter()
        .filter(|m| {
            m.subject
                .as_deref()
                .is_some_and(|s| s.contains("Collaboration request"))
        })
        .collect();
    assert_eq!(requests.len(), 32);
    let msg_ids: HashSet<&str> = requests.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(msg_ids.len(), 32);
    for r in reqs {
        // The original format's fields, and the board message it points at.
        for key in [
            "request_id",
            "from_session",
            "to_session",
            "request",
            "urgency",
            "status",
            "created_at",
            "updated_at",
        ] {
            assert!(r.get(key).is_some(), "missing {key}");
        }
        assert_eq!(r["status"], "pending");
        assert_eq!(r["urgency"], "high");
        assert!(msg_ids.contains(r["message_id"].as_str().unwrap()));
    }
}

#[test]
fn fixture_board_parses_script_blocks_keeps_free_text_and_appends_without_touching_bytes() {
    let hub = TestHub::fixture();
    let path = hub.path("MESSAGES.md");
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
    let original = hub.read("MESSAGES.md");

    let v = hub.json(&["msg", "list", "--with-text"]);
    let segs = v["segments"].as_array().unwrap();
    let msgs: Vec<&Value> = segs.iter().filter(|s| s["kind"] == "message").collect();
    let texts: Vec<&Value> = segs.iter().filter(|s| s["kind"] == "text").collect();
    // Every byte is in some segment.
    let total: u64 = segs.iter().map(|s| s["len"].as_u64().unwrap()).sum();
    assert_eq!(total as usize, original.len());
    // Free text kept.
    assert!(texts.iter().any(|t| {
        t["text"]
            .as_str()
            .unwrap()
            .contains("## 📋 COORDINATION REQUESTS")
    }));
    assert!(
        texts[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("# 📬 SESSION MESSAGES")
    );
    // The broadcast the original session-broadcast.sh wrote.
    let broadcast = msgs
        .iter()
        .find(|m| m["from"] == "session-5-orchestration")
        .expect("script broadcast recognised");
    assert_eq!(broadcast["priority"], "high");
    assert_eq!(broadcast["broadcast"], true);
    assert_eq!(broadcast["time"], "2025-11-15T21:49:25Z");
    assert_eq!(broadcast["subject"], "Broadcast Message");
    assert_eq!(broadcast["id_derived"], true);
    // The block with a literal `$(date ...)` as its time, addressed by a `### To:` heading.
    let test_msg = msgs
        .iter()
        .find(|m| m["to"][0] == "session-3-coordinator")
        .expect("### To: block recognised");
    assert_eq!(test_msg["from"], "session-2-consciousness");
    assert!(test_msg["time"].is_null());
    assert!(test_msg["time_raw"].as_str().unwrap().starts_with("$(date"));
    // `### From:` heading with a `**Date:**` line.
    assert!(
        msgs.iter()
            .any(|m| m["from"] == "session-2-consciousness" && m["time"] == "2025-11-15T00:45:00Z")
    );
    // The identity proposal: subject from the heading after the header.
    assert!(
        msgs.iter()
            .any(|m| m["from"] == "session-5" && m["subject"] == "🆔 IDENTITY PROPOSAL: session-5")
    );
    assert!(
        msgs.len() >= 7,
        "only {} script blocks recognised",
        msgs.len()
    );

    // Derived IDs are stable and usable.
    let id = broadcast["id"].as_str().unwrap();
    let shown = hub.json(&["msg", "show", id]);
    assert_eq!(shown["id"], id);
    // session-3-coordinator's inbox holds the test message and the broadcasts.
    let (inbox, _) = inbox_ids(&hub, "session-3-coordinator", &[]);
    assert!(inbox.contains(&test_msg["id"].as_str().unwrap().to_string()));
    assert!(inbox.contains(&id.to_string()));

    send(&hub, "s1", &["--all", "appended by the toolkit"]);
    let after = hub.read("MESSAGES.md");
    assert!(after.starts_with(&original), "existing bytes changed");
    assert!(after.len() > original.len());
    let v2 = hub.json(&["msg", "list"]);
    assert_eq!(v2["count"].as_u64().unwrap() as usize, msgs.len() + 1);
}

/// Rewrite MESSAGES.md the way a git merge does: a new file renamed into place.
fn rewrite(hub: &TestHub, text: &str) {
    let tmp = hub.path(".MESSAGES.md.merge.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, hub.path("MESSAGES.md")).unwrap();
}

fn block(id: &str, from: &str, to: &str, body: &str) -> String {
    messages::render_block(
        id,
        "2026-01-01T00:00:00Z",
        &Post {
            from: from.into(),
            to: vec![to.into()],
            subject: None,
            priority: None,
            reply_to: None,
            body: body.into(),
        },
    )
}

#[test]
fn unread_after_merge_like_rewrite_shows_exactly_the_unseen_none_twice() {
    let hub = TestHub::new();
    let a = send(&hub, "s1", &["--to", "s2", "A"]);
    let b = send(&hub, "s1", &["--to", "s2", "B"]);
    let _other = send(&hub, "s1", &["--to", "s3", "not for you"]);
    let c = send(&hub, "s1", &["--all", "C"]);
    let (first, v) = inbox_ids(&hub, "s2", &["--unread", "--mark-read"]);
    assert_eq!(first, vec![a.clone(), b.clone(), c.clone()]);
    assert_eq!(v["marked_read"], 3);
    let (again, v) = inbox_ids(&hub, "s2", &["--unread"]);
    assert!(again.is_empty());
    assert_eq!(v["incremental"], true, "the unread part was not read alone");

    // The other side of a merge: blocks reordered, new ones in the middle, one of them
    // written by an old script (no ID line).
    let text = hub.read("MESSAGES.md");
    let segs = messages::parse(&text);
    let raw = |s: &Segment| {
        let (o, l) = s.range();
        text[o as usize..(o + l) as usize].to_string()
    };
    let mut parts: Vec<String> = segs.iter().map(raw).collect();
    let header = parts.remove(0);
    parts.reverse();
    let d = "m-20260101T000000.000Z-00000000000d";
    let e = "m-20260101T000000.000Z-00000000000e";
    parts.insert(1, block(d, "s4", "s2", "D from the other branch"));
    parts.insert(3, block(e, "s4", "s3", "E mentions s2 by name"));
    parts.insert(
        2,
        "\n---\n\n**From:** s5\n**To:** s2\n**Time:** 2026-01-01 00:00:00 UTC\n\nF from an old script\n"
            .into(),
    );
    rewrite(&hub, &format!("{header}{}", parts.concat()));

    let (unread, v) = inbox_ids(&hub, "s2", &["--unread", "--mark-read"]);
    assert_eq!(v["incremental"], false);
    assert_eq!(unread.len(), 3, "{unread:?}");
    assert!(unread.contains(&d.to_string()));
    assert!(unread.contains(&e.to_string()));
    assert!(unread.iter().any(|id| id.starts_with("h-")));
    for old in [&a, &b, &c] {
        assert!(!unread.contains(old), "{old} shown twice");
    }
    // Nothing twice, even after another rewrite that moves the script block.
    let (none, _) = inbox_ids(&hub, "s2", &["--unread"]);
    assert!(none.is_empty(), "{none:?}");
    let text = hub.read("MESSAGES.md");
    let mut parts: Vec<String> = messages::parse(&text)
        .iter()
        .map(|s| {
            let (o, l) = s.range();
            text[o as usize..(o + l) as usize].to_string()
        })
        .collect();
    let header = parts.remove(0);
    parts.rotate_left(2);
    rewrite(&hub, &format!("{header}{}", parts.concat()));
    let (none, _) = inbox_ids(&hub, "s2", &["--unread", "--mark-read"]);
    assert!(none.is_empty(), "{none:?}");

    // Back on the fast path: only the new message.
    let g = send(&hub, "s1", &["--to", "s2", "G"]);
    let (unread, v) = inbox_ids(&hub, "s2", &["--unread"]);
    assert_eq!(unread, vec![g]);
    assert_eq!(v["incremental"], true);
    // The full inbox still lists everything, with unread flags.
    let (all, v) = inbox_ids(&hub, "s2", &[]);
    assert_eq!(all.len(), 7);
    assert_eq!(v["unread"], 1);
}

#[test]
fn inbox_holds_direct_broadcast_and_mentions_but_not_my_own() {
    let hub = TestHub::new();
    let direct = send(&hub, "s1", &["--to", "s2,s3", "direct"]);
    send(&hub, "s1", &["--to", "s3", "for s3 only"]);
    let all = send(&hub, "s1", &["--all", "--priority", "high", "everyone"]);
    let mention = send(&hub, "s1", &["--to", "s3", "please ask s2, they know"]);
    send(&hub, "s1", &["--to", "s3", "sessions2 is not a mention"]);
    send(&hub, "s2", &["--all", "my own broadcast"]);
    let (ids, v) = inbox_ids(&hub, "s2", &[]);
    assert_eq!(ids, vec![direct, all.clone(), mention]);
    assert_eq!(v["unread"], 3);
    let list = hub.json(&["msg", "list", "--priority", "high"]);
    assert_eq!(list["count"], 1);
    assert_eq!(list["messages"][0]["id"], all.as_str());
    let from = hub.json(&["msg", "list", "--from", "s2"]);
    assert_eq!(from["count"], 1);
}

#[test]
fn replies_form_threads_and_acks_are_visible_to_the_sender() {
    let hub = TestHub::new();
    let root = send(&hub, "s1", &["--to", "s2", "--subject", "question", "why?"]);
    let reply = send(&hub, "s2", &["--to", "s1", "--reply-to", &root, "because"]);
    send(&hub, "s3", &["--all", "unrelated"]);
    let reply2 = send(&hub, "s1", &["--to", "s2", "--reply-to", &reply, "ok"]);
    let thread = hub.json(&["msg", "thread", &reply2]);
    let ids: Vec<&str> = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![root.as_str(), reply.as_str(), reply2.as_str()]);
    let listed = hub.json(&["msg", "list", "--thread", &root]);
    assert_eq!(listed["count"], 3);

    let ack = hub.json(&["--as", "s2", "msg", "ack", &root, "on it"]);
    assert_eq!(ack["new"], true);
    let again = hub.json(&["--as", "s2", "msg", "ack", &root]);
    assert_eq!(again["new"], false);
    let shown = hub.json(&["msg", "show", &root]);
    assert_eq!(shown["acks"][0]["session_id"], "s2");
    assert_eq!(shown["acks"][0]["note"], "on it");
    assert_eq!(shown["replies"][0], reply.as_str());
    assert!(
        hub.path(&format!("ACTIVE/ACKS/{root}/s2.json")).is_file(),
        "acks are one file each"
    );
    let missing = hub.run(&["--as", "s2", "msg", "ack", "m-nope"]);
    assert_eq!(status_code(&missing), 1);
}

#[test]
fn invalid_collaboration_transitions_are_refused_and_change_nothing() {
    let hub = TestHub::new();
    let req = hub.json(&["--as", "s1", "collab", "request", "s2", "help with the API"]);
    let id = req["request_id"].as_str().unwrap().to_string();
    let file = format!("ACTIVE/COLLABORATIONS/{id}.json");
    let snapshot = || (hub.read(&file), hub.read("MESSAGES.md"));

    let before = snapshot();
    let out = hub.run(&["--as", "s3", "collab", "decline", &id]);
    assert_eq!(status_code(&out), 6);
    assert!(
        stderr(&out).contains("only the target (s2)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(), before);
    let out = hub.run(&["--as", "s2", "collab", "start", &id]);
    assert_eq!(status_code(&out), 6);
    assert!(stderr(&out).contains("its status is pending"));
    assert!(stderr(&out).contains("accept, decline, handoff"));
    assert_eq!(snapshot(), before);

    hub.ok(&["--as", "s2", "collab", "accept", &id, "on it"]);
    hub.ok(&["--as", "s2", "collab", "start", &id]);
    hub.ok(&["--as", "s1", "collab", "complete", &id]);
    let done = hub.read_json(&file);
    assert_eq!(done["status"], "completed");
    assert_eq!(done["history"].as_array().unwrap().len(), 4);

    let before = snapshot();
    for (who, action) in [
        ("s2", "accept"),
        ("s2", "decline"),
        ("s2", "start"),
        ("s1", "complete"),
    ] {
        let out = hub.run(&["--as", who, "collab", action, &id]);
        assert_eq!(status_code(&out), 6, "{action} left a completed request");
        let err = stderr(&out);
        assert!(
            err.contains("its status is completed") && err.contains("final"),
            "{err}"
        );
        assert_eq!(snapshot(), before);
    }
    // Every change was noted on the board, as replies to the request's message.
    let thread = hub.json(&["msg", "thread", req["message_id"].as_str().unwrap()]);
    assert_eq!(thread["messages"].as_array().unwrap().len(), 4);
}

#[test]
fn handoff_moves_the_request_and_metrics_count_responses() {
    let hub = TestHub::new();
    let t0 = "2026-01-01T10:00:00Z";
    let run_at = |now: &str, args: &[&str]| {
        let out = hub
            .command("sessions")
            .env("SESSIONS_NOW", now)
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let a = run_at(t0, &["--as", "s1", "collab", "request", "s2", "one"]);
    let b = run_at(t0, &["--as", "s1", "collab", "request", "s2", "two"]);
    let c = run_at(t0, &["--as", "s3", "collab", "request", "s2", "three"]);
    let id = |v: &Value| v["request_id"].as_str().unwrap().to_string();
    run_at(
        "2026-01-01T10:01:00Z",
        &["--as", "s2", "collab", "accept", &id(&a)],
    );
    run_at(
        "2026-01-01T10:03:00Z",
        &["--as", "s2", "collab", "complete", &id(&a)],
    );
    run_at(
        "2026-01-01T10:10:00Z",
        &["--as", "s2", "collab", "decline", &id(&b)],
    );
    let h = run_at(
        "2026-01-01T10:20:00Z",
        &[
            "--as",
            "s2",
            "collab",
            "handoff",
            &id(&c),
            "s4",
            "s4 owns this",
        ],
    );
    assert_eq!(h["to_session"], "s4");
    assert_eq!(h["status"], "pending");
    let pending = hub.json(&["--as", "s4", "collab", "list", "--to-me", "--pending"]);
    assert_eq!(pending["count"], 1);
    let m = hub.json(&["collab", "metrics"]);
    assert_eq!(m["overall"]["total"], 3);
    assert_eq!(m["overall"]["by_status"]["completed"], 1);
    assert_eq!(m["overall"]["by_status"]["declined"], 1);
    assert_eq!(m["overall"]["by_status"]["pending"], 1);
    assert_eq!(m["overall"]["responded"], 2);
    assert_eq!(m["overall"]["median_response_secs"], 330.0);
    assert_eq!(m["overall"]["p90_response_secs"], 600.0);
    let rate = m["overall"]["completion_rate"].as_f64().unwrap();
    assert!((rate - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(m["per_session"]["s1"]["sent"], 2);
    assert_eq!(m["per_session"]["s2"]["received"]["total"], 2);
    assert_eq!(m["per_session"]["s4"]["received"]["total"], 1);
}

#[test]
fn archive_moves_old_blocks_and_keeps_free_text_and_newer_messages() {
    let hub = TestHub::fixture();
    let path = hub.path("MESSAGES.md");
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
    let new = send(&hub, "s1", &["--all", "new message"]);
    let original = hub.read("MESSAGES.md");
    let before = messages::parse(&original);

    let done = hub.json(&["msg", "archive", "--before", "2025-11-16"]);
    let moved = done["moved"].as_u64().unwrap() as usize;
    assert!(moved >= 6, "{done}");
    let board = hub.read("MESSAGES.md");
    let archive = hub.read("MESSAGES-2025-11.md");
    // Every original segment is on the board or in the archive, byte for byte.
    for seg in &before {
        let (o, l) = seg.range();
        let raw = &original[o as usize..(o + l) as usize];
        assert!(
            board.contains(raw) || archive.contains(raw),
            "lost: {raw:.80}"
        );
        if let Segment::Text(_) = seg {
            assert!(board.contains(raw), "free text left the board");
        }
    }
    assert!(board.starts_with("# 📬 SESSION MESSAGES - Inter-Instance Communication"));
    assert!(
        board.contains("$(date -u"),
        "a block without a real time stays"
    );
    let left = board_messages(&hub);
    assert!(left.iter().any(|m| m.id == new));
    assert!(left.iter().all(|m| {
        m.timestamp
            .is_none_or(|t| t.to_rfc3339() > "2025-11-16".into())
    }));
    let archived = messages::messages(messages::parse(&archive));
    assert_eq!(archived.len(), moved);
    // Idempotent: nothing more to move.
    let again = hub.json(&["msg", "archive", "--before", "2025-11-16"]);
    assert_eq!(again["moved"], 0);
}

#[test]
fn secrets_in_bodies_are_refused_and_nothing_is_written() {
    let hub = TestHub::new();
    let before = hub.read("MESSAGES.md");
    let key = format!("sk-ant-api03-{}", "aB3dE5fG7hJ9kL1mN2pQ4rS6");
    let out = hub.run(&["--as", "s1", "msg", "send", "--all", &format!("use {key}")]);
    assert_eq!(status_code(&out), 6);
    assert!(stderr(&out).contains("Anthropic"));
    let out = hub.run(&[
        "--as",
        "s1",
        "collab",
        "request",
        "s2",
        &format!("key {key}"),
    ]);
    assert_eq!(status_code(&out), 6);
    assert_eq!(hub.read("MESSAGES.md"), before);
    assert!(
        !hub.path("ACTIVE/COLLABORATIONS").exists()
            || std::fs::read_dir(hub.path("ACTIVE/COLLABORATIONS"))
                .unwrap()
                .filter_map(|e| e.ok())
                .all(|e| e.file_name().to_string_lossy().starts_with('.'))
    );
}

#[test]
fn broadcast_dropin_and_status_show_parsed_messages_and_my_unread_count() {
    let hub = TestHub::new();
    let out = hub.run_bin(
        "session-broadcast",
        &["Maintenance tonight 2-4am UTC", "high", "session-5"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let piped = with_stdin(
        &hub,
        &[
            "--as",
            "s2",
            "msg",
            "send",
            "--to",
            "s1",
            "--subject",
            "from stdin",
        ],
        b"line one\nline two\n",
    );
    assert!(piped.status.success());
    let msgs = board_messages(&hub);
    assert_eq!(msgs[0].priority, "high");
    assert_eq!(msgs[0].subject.as_deref(), Some("Broadcast Message"));
    assert_eq!(msgs[0].from.as_deref(), Some("session-5"));
    assert!(msgs[0].broadcast);
    assert_eq!(msgs[1].body, "line one\nline two");

    let status = hub.json(&["--as", "s1", "status"]);
    assert_eq!(status["unread_messages"], 2);
    let recent = status["recent_messages"].as_array().unwrap();
    assert_eq!(recent.len(), 2);
    assert_eq!(recent[0]["from"], "session-5");
    assert_eq!(recent[1]["subject"], "from stdin");
    let anonymous = hub.json(&["status"]);
    assert!(anonymous["unread_messages"].is_null());
    let text = hub.ok(&["--as", "s1", "status"]);
    assert!(text.contains("2 unread for you"), "{text}");

    // The original's usage exit (1); its free-form priority is shown as normal.
    let usage = hub.command("session-broadcast").output().unwrap();
    assert_eq!(status_code(&usage), 1);
    let free_form = hub.run_bin("session-broadcast", &["x", "loud", "s1"]);
    assert_eq!(status_code(&free_form), 0);
}

#[test]
fn a_board_of_random_bytes_never_crashes_a_reader() {
    let hub = TestHub::new();
    let mut rng = Rng::seeded(0xfeed_beef_0000_0042);
    for round in 0..4 {
        let mut bytes: Vec<u8> = (0..4096).map(|_| (rng.next_u64() % 256) as u8).collect();
        // Sprinkle real structure into the noise.
        let structure = b"\n---\n\n**ID:** m-1\n**From:** s1\n**To:** s2\n**Length:** 7\n\n";
        let at = (rng.next_u64() % 3000) as usize;
        bytes[at..at + structure.len()].copy_from_slice(structure);
        std::fs::write(hub.path("MESSAGES.md"), &bytes).unwrap();
        for args in [
            vec!["--json", "msg", "list", "--with-text"],
            vec!["msg", "list"],
            vec!["--as", "s2", "inbox", "--unread", "--mark-read"],
            vec!["--as", "s2", "status"],
        ] {
            let out = hub.run(&args);
            assert!(
                out.status.success(),
                "round {round} {args:?}: {}",
                stderr(&out)
            );
        }
        send(&hub, "s1", &["--to", "s2", "after the noise"]);
        let (unread, _) = inbox_ids(&hub, "s2", &["--unread"]);
        assert_eq!(unread.len(), 1, "round {round}");
    }
}

#[test]
fn help_of_every_message_command_has_an_example() {
    let hub = TestHub::new();
    for args in [
        vec!["msg", "send", "--help"],
        vec!["msg", "list", "--help"],
        vec!["msg", "show", "--help"],
        vec!["msg", "thread", "--help"],
        vec!["msg", "ack", "--help"],
        vec!["msg", "archive", "--help"],
        vec!["inbox", "--help"],
        vec!["collab", "request", "--help"],
        vec!["collab", "accept", "--help"],
        vec!["collab", "handoff", "--help"],
        vec!["collab", "list", "--help"],
        vec!["collab", "metrics", "--help"],
    ] {
        let text = hub.ok(&args);
        assert!(text.contains("Example"), "{args:?} has no example");
    }
    // The drop-in answers --help with the original script's usage line.
    hub.cli_bin("session-request-collaboration", ["--help"])
        .succeeds()
        .stdout_has("usage: session-request-collaboration <target-session>");
}

#[test]
fn archiving_rewrites_the_board_without_resurfacing_read_messages() {
    let hub = TestHub::new();
    for body in ["old one", "old two"] {
        let out = hub
            .command("sessions")
            .env("SESSIONS_NOW", "2025-01-15T10:00:00Z")
            .args(["--as", "s1", "msg", "send", "--to", "s2", body])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    let recent = send(&hub, "s1", &["--to", "s2", "recent, already read"]);
    inbox_ids(&hub, "s2", &["--unread", "--mark-read"]);
    let fresh = send(&hub, "s1", &["--to", "s2", "fresh"]);
    let done = hub.json(&["msg", "archive", "--before", "2025-06-01"]);
    assert_eq!(done["moved"], 2);
    assert_eq!(done["files"]["MESSAGES-2025-01.md"], 2);
    assert!(hub.read("MESSAGES-2025-01.md").contains("old two"));
    let (unread, v) = inbox_ids(&hub, "s2", &["--unread", "--mark-read"]);
    assert_eq!(unread, vec![fresh.clone()]);
    assert_eq!(v["incremental"], false);
    // The seen set now holds exactly the inbox messages still on the board.
    let seen = hub.read(".sessions/cursors/s2.seen");
    let mut seen: Vec<&str> = seen.lines().collect();
    seen.sort();
    let mut want = vec![recent.as_str(), fresh.as_str()];
    want.sort();
    assert_eq!(seen, want);
}

#[test]
fn a_collaboration_file_from_the_original_script_keeps_its_fields_through_a_transition() {
    let hub = TestHub::new();
    hub.write(
        "ACTIVE/COLLABORATIONS/collab-1763240000.json",
        r#"{
  "request_id": "collab-1763240000",
  "from_session": "session-5-orchestration",
  "to_session": "session-1-dashboard",
  "request": "Need analytics UI",
  "urgency": "normal",
  "status": "pending",
  "created_at": "2025-11-15T21:00:00Z",
  "updated_at": "2025-11-15T21:00:00Z",
  "custom_field": {"kept": true}
}
"#,
    );
    let listed = hub.json(&["--as", "session-1-dashboard", "collab", "list", "--to-me"]);
    assert_eq!(listed["count"], 1);
    hub.ok(&[
        "--as",
        "session-1-dashboard",
        "collab",
        "accept",
        "collab-1763240000",
    ]);
    let v = hub.read_json("ACTIVE/COLLABORATIONS/collab-1763240000.json");
    assert_eq!(v["status"], "accepted");
    assert_eq!(v["custom_field"]["kept"], true);
    assert_eq!(v["request"], "Need analytics UI");
    assert_eq!(v["created_at"], "2025-11-15T21:00:00Z");
    assert_eq!(v["history"][0]["action"], "accept");
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys[0], "request_id", "original key order kept");
    let own = hub.run(&["--as", "s1", "collab", "request", "s1", "help me"]);
    assert_eq!(status_code(&own), 2);
}

#[test]
fn archive_never_drops_a_block_whose_id_the_archive_already_holds_with_other_text() {
    let hub = TestHub::new();
    let dated = |id: &str, body: &str| {
        messages::render_block(
            id,
            "2025-01-05T00:00:00Z",
            &Post {
                from: "s1".into(),
                to: vec!["s2".into()],
                body: body.into(),
                ..Post::default()
            },
        )
    };
    let mut board = hub.read("MESSAGES.md");
    board.push_str(&dated("m-dup", "first"));
    hub.write("MESSAGES.md", &board);
    hub.json(&["msg", "archive", "--before", "2025-02-01"]);
    // A hand edit (or a merge) brings in another block with the same ID.
    let mut board = hub.read("MESSAGES.md");
    board.push_str(&dated("m-dup", "second, a different text"));
    hub.write("MESSAGES.md", &board);
    let done = hub.json(&["msg", "archive", "--before", "2025-02-01"]);
    assert_eq!(done["moved"], 1);
    let archive = hub.read("MESSAGES-2025-01.md");
    assert!(archive.contains("first"));
    assert!(
        archive.contains("second, a different text"),
        "the block left the board but never reached the archive"
    );
    // A rerun after a crash still skips the exact copy it already holds.
    let mut board = hub.read("MESSAGES.md");
    board.push_str(&dated("m-dup", "first"));
    hub.write("MESSAGES.md", &board);
    hub.json(&["msg", "archive", "--before", "2025-02-01"]);
    assert_eq!(hub.read("MESSAGES-2025-01.md").matches("first").count(), 1);
}

#[test]
fn concurrent_mark_read_of_one_session_shows_each_message_once() {
    let hub = TestHub::new();
    let total = 120;
    let bodies: String = (0..total).map(|i| format!("\"m{i}\"\n")).collect();
    let list = hub.root.join("../bodies.jsonl");
    std::fs::write(&list, bodies).unwrap();
    let mut writer = hub
        .command("sessions")
        .args(["--as", "s1", "msg", "send", "--to", "s2", "--bodies-from"])
        .arg(&list)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut shown: Vec<String> = Vec::new();
    let read = |shown: &mut Vec<String>| {
        let readers: Vec<_> = (0..3)
            .map(|_| {
                hub.command("sessions")
                    .args(["--json", "--as", "s2", "inbox", "--unread", "--mark-read"])
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for r in readers {
            let out = r.wait_with_output().unwrap();
            assert!(out.status.success());
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            for m in v["messages"].as_array().unwrap() {
                shown.push(m["body"].as_str().unwrap().to_string());
            }
        }
    };
    while writer.try_wait().unwrap().is_none() {
        read(&mut shown);
    }
    read(&mut shown);
    let unique: HashSet<&String> = shown.iter().collect();
    assert_eq!(unique.len(), total, "a message was never shown");
    assert_eq!(shown.len(), total, "some messages were shown twice");
}

#[test]
fn mark_read_never_marks_messages_a_limit_kept_from_view() {
    let hub = TestHub::new();
    for i in 0..5 {
        send(&hub, "s1", &["--to", "s2", &format!("m{i}")]);
    }
    let out = hub.run(&[
        "--as",
        "s2",
        "inbox",
        "--unread",
        "--mark-read",
        "--limit",
        "2",
    ]);
    assert_eq!(status_code(&out), 2, "{}", stdout(&out));
    let (unread, _) = inbox_ids(&hub, "s2", &["--unread"]);
    assert_eq!(unread.len(), 5, "messages never shown were marked read");
}

#[test]
fn archive_of_a_board_over_64_mib_with_invalid_utf8_changes_nothing() {
    let hub = TestHub::new();
    let mut board = hub.read("MESSAGES.md").into_bytes();
    board.extend_from_slice(
        messages::render_block(
            "m-old",
            "2025-01-05T00:00:00Z",
            &Post {
                from: "s1".into(),
                body: "old".into(),
                ..Post::default()
            },
        )
        .as_bytes(),
    );
    board.extend_from_slice(b"\n---\n\n## Notes pasted by hand\n\n");
    let line = [b'x'; 1023];
    for _ in 0..65 * 1024 {
        board.extend_from_slice(&line);
        board.push(b'\n');
    }
    board.extend_from_slice(b"caf\xe9 in Latin-1\n");
    std::fs::write(hub.path("MESSAGES.md"), &board).unwrap();
    let out = hub.run(&["msg", "archive", "--before", "2025-02-01"]);
    assert_eq!(status_code(&out), 4, "{}", stderr(&out));
    assert!(stderr(&out).contains("MESSAGES.md:"), "{}", stderr(&out));
    assert!(std::fs::read(hub.path("MESSAGES.md")).unwrap() == board);
    assert!(!hub.path("MESSAGES-2025-01.md").exists());
}

#[test]
fn a_transition_refused_for_a_secret_in_its_board_note_changes_nothing() {
    let hub = TestHub::new();
    let key = format!("sk-ant-api03-{}", "aB3dE5fG7hJ9kL1mN2pQ4rS6");
    let req = hub.json(&[
        "--allow-secrets",
        "--as",
        "s1",
        "collab",
        "request",
        "s2",
        &format!("use {key}"),
    ]);
    let id = req["request_id"].as_str().unwrap();
    let file = format!("ACTIVE/COLLABORATIONS/{id}.json");
    let before = hub.read(&file);
    let board = hub.read("MESSAGES.md");
    let out = hub.run(&["--as", "s2", "collab", "accept", id]);
    assert_eq!(status_code(&out), 6, "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing was written"));
    assert_eq!(hub.read(&file), before, "the status changed after all");
    assert_eq!(hub.read("MESSAGES.md"), board);
    let v = hub.json(&["--allow-secrets", "--as", "s2", "collab", "accept", id]);
    assert_eq!(v["status"], "accepted");
}

#[test]
fn a_body_on_stdin_that_is_not_utf8_is_a_usage_error_that_says_so() {
    let hub = TestHub::new();
    let board = hub.read("MESSAGES.md");
    let out = with_stdin(
        &hub,
        &["--as", "s1", "msg", "send", "--to", "s2"],
        b"caf\xe9 latin-1\n",
    );
    assert_eq!(status_code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("not valid UTF-8"), "{}", stderr(&out));
    assert_eq!(hub.read("MESSAGES.md"), board);
}

#[test]
fn a_script_block_padded_with_blank_lines_parses_in_linear_time() {
    let hub = TestHub::new();
    let mut board = hub.read("MESSAGES.md");
    board.push_str("\n---\n\n**From:** s1\n**To:** s2\n");
    board.push_str(&"\n".repeat(400_000));
    board.push_str("### late subject\n");
    board.push_str(&"\n".repeat(400_000));
    board.push_str("body\n");
    hub.write("MESSAGES.md", &board);
    let started = std::time::Instant::now();
    let v = hub.json(&["msg", "list"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(v["messages"][0]["subject"], "late subject");
    assert_eq!(v["messages"][0]["body"], "body");
}

#[test]
fn many_identical_script_blocks_get_distinct_ids_in_linear_time() {
    let hub = TestHub::new();
    let mut board = hub.read("MESSAGES.md");
    // What the original script wrote on every run when its date never expanded.
    let block = "\n---\n\n**From:** s1\n**To:** s2\n**Time:** $(date -u)\n\nping\n";
    board.push_str(&block.repeat(8000));
    hub.write("MESSAGES.md", &board);
    let started = std::time::Instant::now();
    let v = hub.json(&["msg", "list"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let ids: HashSet<&str> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 8000);
    let last = v["messages"][7999]["id"].as_str().unwrap();
    assert!(last.starts_with("h-") && last.ends_with("-8000"), "{last}");
}

#[test]
fn an_empty_to_list_is_refused_rather_than_sent_to_everyone() {
    let hub = TestHub::new();
    let board = hub.read("MESSAGES.md");
    // `--to "$TARGET"` with TARGET unset.
    for to in ["", ",", " , "] {
        let out = hub.run(&["--as", "s1", "msg", "send", "--to", to, "private"]);
        assert_eq!(status_code(&out), 2, "--to {to:?}: {}", stdout(&out));
    }
    assert_eq!(hub.read("MESSAGES.md"), board);
}

#[test]
fn a_session_whose_id_starts_with_all_gets_direct_messages_not_broadcasts() {
    let hub = TestHub::new();
    let id = send(&hub, "s1", &["--to", "allocator", "only for the allocator"]);
    let m = board_messages(&hub)
        .into_iter()
        .find(|m| m.id == id)
        .unwrap();
    assert!(!m.broadcast, "{:?}", m.to);
    assert_eq!(m.to, vec!["allocator"]);
    let (s2, _) = inbox_ids(&hub, "s2", &[]);
    assert!(s2.is_empty(), "s2 got the allocator's message: {s2:?}");
    let (mine, _) = inbox_ids(&hub, "allocator", &[]);
    assert_eq!(mine, vec![id]);
    // The old scripts' broadcasts still are.
    for to in [
        "all",
        "All sessions (1, 2, 4+)",
        "All Active Sessions",
        "ALL",
        "everyone",
        "*",
    ] {
        let board = format!("\n---\n\n**From:** s9\n**To:** {to}\n\nhello\n");
        let m = &messages::messages(messages::parse(&board))[0];
        assert!(m.broadcast, "{to}");
    }
}

#[test]
fn a_transition_note_with_no_valid_recipient_is_not_broadcast() {
    let hub = TestHub::new();
    hub.write(
        "ACTIVE/COLLABORATIONS/collab-1763240001.json",
        r#"{
  "request_id": "collab-1763240001",
  "from_session": "Session 5 (orchestration)",
  "to_session": "s2",
  "request": "Need a review",
  "urgency": "normal",
  "status": "pending",
  "created_at": "2025-11-15T21:00:00Z",
  "updated_at": "2025-11-15T21:00:00Z"
}
"#,
    );
    hub.ok(&["--as", "s2", "collab", "accept", "collab-1763240001"]);
    let note = board_messages(&hub)
        .into_iter()
        .find(|m| m.body.starts_with("s2 accepted"))
        .expect("the change is noted on the board");
    assert!(!note.broadcast, "the note went to everyone: {:?}", note.to);
    let (s3, _) = inbox_ids(&hub, "s3", &[]);
    assert!(s3.is_empty(), "{s3:?}");
}

#[test]
fn a_collaboration_request_to_everyone_is_refused() {
    let hub = TestHub::new();
    for target in ["all", "everyone", "ALL"] {
        hub.cli(["--as", "s1", "collab", "request", target, "help me"])
            .fails(2)
            .stderr_has("msg send --all");
    }
    assert_eq!(
        hub.data_files("ACTIVE/COLLABORATIONS"),
        Vec::<String>::new(),
        "a request file was written"
    );
}

#[test]
fn a_collaboration_request_that_cannot_be_posted_leaves_no_file() {
    let hub = TestHub::new();
    // A board that cannot be appended to (here: a folder in its place).
    std::fs::remove_file(hub.path("MESSAGES.md")).unwrap();
    std::fs::create_dir(hub.path("MESSAGES.md")).unwrap();
    let out = hub.run(&["--as", "s1", "collab", "request", "s2", "help me"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("MESSAGES.md"), "{}", stderr(&out));
    assert_eq!(
        hub.data_files("ACTIVE/COLLABORATIONS"),
        Vec::<String>::new(),
        "a request nobody was told about was left behind"
    );
}

/// The test-build-only bulk path checks each body like `msg send`: an empty body or a
/// secret is refused with the file and line, and nothing of the file is posted after it.
#[test]
fn bodies_from_checks_every_body_like_msg_send() {
    let hub = TestHub::new();
    let list = hub.root.join("../bodies.jsonl");
    for (bodies, needle) in [
        (
            "\"fine\"\n\"  \"\n\"never posted\"\n",
            "bodies.jsonl:2: the message body is empty",
        ),
        (
            "\"fine\"\n\"AWS_SECRET_ACCESS_KEY=abcd1234abcd1234abcd1234abcd1234abcd1234\"\n",
            "secret",
        ),
    ] {
        std::fs::write(&list, bodies).unwrap();
        let before = hub.read("MESSAGES.md");
        let out = hub
            .cli(["msg", "send", "--to", "s2", "--bodies-from"])
            .arg(&list)
            .as_("s1")
            .output();
        assert_ne!(out.code(), Some(0), "{}", out.stderr());
        assert!(out.stderr().contains(needle), "{}", out.stderr());
        let after = hub.read("MESSAGES.md");
        assert!(!after.contains("never posted"));
        assert_eq!(
            after.matches("fine").count(),
            before.matches("fine").count() + 1
        );
    }
}
