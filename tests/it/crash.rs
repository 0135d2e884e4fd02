//! Multi-file operations across a SIGKILL at each of their writes (issue 10 §3): a real
//! `sessions` process is stopped at write k (a test-hooks pause point), killed, and the
//! next command must leave the hub as the uninterrupted run does: one board post, one
//! CURRENT_STATE record, the claim released, nothing pending.

use std::process::Command;

use serde_json::Value;

use crate::support::*;

/// Run `sessions <args>` stopped at pause point `point`, then SIGKILL it there.
fn kill_at(hub: &TestHub, point: &str, args: &[&str]) {
    let mut pause = PausePoint::new(point);
    let mut cmd: Command = hub.command("sessions");
    cmd.args(args);
    pause.arm(&mut cmd);
    let mut child = spawn_piped(cmd);
    pause.wait_reached(&mut child);
    child.kill().expect("SIGKILL the paused command");
    let status = child.wait().unwrap();
    assert!(!status.success(), "{point}: the command was not killed");
}

/// How many times `needle` occurs in hub file `rel`.
fn count_in(hub: &TestHub, rel: &str, needle: &str) -> usize {
    hub.read(rel).matches(needle).count()
}

fn pending_files(hub: &TestHub) -> Vec<String> {
    match std::fs::read_dir(hub.path(".sessions/pending")) {
        Ok(dir) => dir
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn unfinished_in_doctor(hub: &TestHub) -> Vec<Value> {
    let out = hub.run(&["--json", "doctor"]);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("doctor JSON");
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "unfinished_operation")
        .cloned()
        .collect()
}

/// A hub with milestone `ship-it` (two steps, the first done) claimed by s1.
fn milestone_hub() -> TestHub {
    let hub = TestHub::new();
    hub.ok(&[
        "milestone",
        "create",
        "Ship it",
        "--step",
        "build",
        "--step",
        "deploy",
    ]);
    hub.ok(&["--as", "s1", "milestone", "claim", "ship-it"]);
    hub.ok(&[
        "--as",
        "s1",
        "milestone",
        "update",
        "ship-it",
        "1",
        "completed",
    ]);
    hub
}

const COMPLETE: &[&str] = &[
    "--as",
    "s1",
    "milestone",
    "update",
    "ship-it",
    "2",
    "completed",
];

fn assert_completed_once(hub: &TestHub, label: &str) {
    let m = hub.read_json("MILESTONES/ship-it.json");
    assert_eq!(m["status"], "completed", "{label}");
    assert!(
        !hub.path("PRIORITIES/milestone-ship-it.lock").exists(),
        "{label}: the claim was not released"
    );
    assert_eq!(
        count_in(
            hub,
            "CURRENT_STATE.md",
            "Milestone completed: Ship it (ship-it)"
        ),
        1,
        "{label}: CURRENT_STATE.md:\n{}",
        hub.read("CURRENT_STATE.md")
    );
    assert_eq!(
        count_in(
            hub,
            "MESSAGES.md",
            "### ✅ Milestone completed: Ship it (ship-it)"
        ),
        1,
        "{label}: MESSAGES.md:\n{}",
        hub.read("MESSAGES.md")
    );
    assert_eq!(pending_files(hub), Vec::<String>::new(), "{label}");
    assert!(unfinished_in_doctor(hub).is_empty(), "{label}");
}

#[test]
fn milestone_completion_finishes_once_after_a_kill_at_every_write() {
    // The uninterrupted run: what every interrupted one must end as.
    let reference = milestone_hub();
    reference.ok(COMPLETE);
    assert_completed_once(&reference, "uninterrupted");

    // Write 1: the intent (before the milestone file); 2, 3, 4: before the claim
    // release, the CURRENT_STATE record, the board post; 5: before the intent is removed.
    for k in 1..=5 {
        let label = format!("killed at write {k}");
        let hub = milestone_hub();
        kill_at(&hub, &format!("milestone-complete-{k}"), COMPLETE);
        assert_eq!(pending_files(&hub).len(), 1, "{label}: no intent left");
        let found = unfinished_in_doctor(&hub);
        assert_eq!(found.len(), 1, "{label}: doctor does not report it");
        assert!(
            found[0]["message"]
                .as_str()
                .unwrap()
                .contains("milestone-complete of ship-it by s1"),
            "{label}: {found:?}"
        );
        if k > 1 {
            // The milestone file says completed: the old refusal ("already completed")
            // is what a re-run met before.
            assert_eq!(
                hub.read_json("MILESTONES/ship-it.json")["status"],
                "completed"
            );
        }
        // The next command is the re-run itself: it finishes what was pending and
        // answers (no "already completed" refusal).
        let out = hub.run(COMPLETE);
        assert!(
            out.status.success(),
            "{label}: re-run failed: {}",
            stderr(&out)
        );
        assert_completed_once(&hub, &label);
        // And again: now nothing is pending, a third run is refused as before (its
        // claim is gone), and changes nothing.
        let again = hub.run(COMPLETE);
        assert!(!again.status.success(), "{label}: {}", stdout(&again));
        assert_completed_once(&hub, &label);
    }
}

#[test]
fn doctor_fix_finishes_an_interrupted_completion_and_a_second_fix_changes_nothing() {
    for k in 2..=4 {
        let label = format!("killed at write {k}");
        let hub = milestone_hub();
        kill_at(&hub, &format!("milestone-complete-{k}"), COMPLETE);
        let text = hub.run(&["doctor"]);
        assert_eq!(text.status.code(), Some(1), "{label}");
        assert!(
            stdout(&text).contains("sessions doctor --fix finishes it"),
            "{label}: {}",
            stdout(&text)
        );
        hub.ok(&["doctor", "--fix"]);
        assert_completed_once(&hub, &label);
        let before = hub.tree();
        hub.ok(&["doctor", "--fix"]);
        assert_completed_once(&hub, &label);
        assert_eq!(
            before.keys().collect::<Vec<_>>(),
            hub.tree().keys().collect::<Vec<_>>(),
            "{label}"
        );
    }
}

#[test]
fn an_unrelated_command_finishes_an_interrupted_completion_for_the_next_claimer() {
    let hub = milestone_hub();
    kill_at(&hub, "milestone-complete-2", COMPLETE);
    // The claim is still s1's on disk; s2 claiming any key finishes the completion first.
    hub.ok(&["--as", "s2", "claim", "other-work"]);
    assert_completed_once(&hub, "after s2's claim");
}

/// A request from s1 to s2; returns its ID.
fn requested(hub: &TestHub) -> String {
    let made = hub.json(&["--as", "s1", "collab", "request", "s2", "Need a review"]);
    made["request"]["request_id"]
        .as_str()
        .or_else(|| made["request_id"].as_str())
        .unwrap_or_else(|| panic!("no request ID in {made}"))
        .to_string()
}

#[test]
fn collab_accept_tells_the_requester_exactly_once_after_a_kill_at_every_write() {
    // Write 1: the intent (before the request file); 2: before the board notice; 3:
    // before the intent is removed.
    for k in 1..=3 {
        let label = format!("killed at write {k}");
        let hub = TestHub::new();
        let id = requested(&hub);
        let accept = ["--as", "s2", "collab", "accept", id.as_str()];
        kill_at(&hub, &format!("collab-accept-{k}"), &accept);
        assert_eq!(unfinished_in_doctor(&hub).len(), 1, "{label}");
        let out = hub.run(&accept);
        assert!(out.status.success(), "{label}: re-run: {}", stderr(&out));
        let req = hub.read_json(&format!("ACTIVE/COLLABORATIONS/{id}.json"));
        assert_eq!(req["status"], "accepted", "{label}");
        let accepts = req["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["action"] == "accept")
            .count();
        assert_eq!(accepts, 1, "{label}: {req}");
        assert_eq!(
            count_in(&hub, "MESSAGES.md", &format!("### 🤝 {id}: accepted")),
            1,
            "{label}: {}",
            hub.read("MESSAGES.md")
        );
        // The requester hears of it.
        let inbox = hub.ok(&["--as", "s1", "inbox"]);
        assert!(
            inbox.contains(&format!("{id}: accepted")),
            "{label}: {inbox}"
        );
        assert!(pending_files(&hub).is_empty(), "{label}");
    }
}

#[test]
fn a_collab_request_killed_after_its_file_still_reaches_its_target_once() {
    for k in 1..=3 {
        let label = format!("killed at write {k}");
        let hub = TestHub::new();
        kill_at(
            &hub,
            &format!("collab-request-{k}"),
            &["--as", "s1", "collab", "request", "s2", "Need a review"],
        );
        hub.ok(&["doctor", "--fix"]);
        let files = hub.data_files("ACTIVE/COLLABORATIONS");
        if k == 1 {
            // Killed before the request file: nothing happened, nothing is told.
            assert!(files.is_empty(), "{label}: {files:?}");
            assert_eq!(count_in(&hub, "MESSAGES.md", "Collaboration request"), 0);
        } else {
            assert_eq!(files.len(), 1, "{label}");
            let id = files[0].trim_end_matches(".json");
            assert_eq!(
                count_in(
                    &hub,
                    "MESSAGES.md",
                    &format!("### 🤝 Collaboration request {id}")
                ),
                1,
                "{label}"
            );
            let req = hub.read_json(&format!("ACTIVE/COLLABORATIONS/{}", files[0]));
            assert!(
                hub.read("MESSAGES.md")
                    .contains(&format!("**ID:** {}", req["message_id"].as_str().unwrap())),
                "{label}: the notice does not carry the ID the request records"
            );
        }
        assert!(pending_files(&hub).is_empty(), "{label}");
    }
}

#[test]
fn a_forced_release_killed_at_every_write_is_released_and_posted_once() {
    // Write 1: the intent (before the lock is removed); 2: before the release step; 3:
    // before the board post; 4: before the intent is removed.
    for k in 1..=4 {
        let label = format!("killed at write {k}");
        let hub = TestHub::new();
        hub.ok(&["--as", "s1", "claim", "deploy"]);
        let release = [
            "--as",
            "s2",
            "release",
            "deploy",
            "--force",
            "--reason",
            "s1 crashed",
        ];
        kill_at(&hub, &format!("claim-force-release-{k}"), &release);
        assert_eq!(unfinished_in_doctor(&hub).len(), 1, "{label}");
        if k % 2 == 0 {
            // The re-run finishes it and answers (no "no such claim").
            let done = hub.json(&release);
            assert_eq!(done["released"][0]["holder"], "s1", "{label}: {done}");
        } else {
            hub.ok(&["doctor", "--fix"]);
        }
        assert!(!hub.path("PRIORITIES/deploy.lock").exists(), "{label}");
        assert_eq!(
            count_in(&hub, "MESSAGES.md", "### ⚠️ Claim force-released: deploy"),
            1,
            "{label}"
        );
        assert!(pending_files(&hub).is_empty(), "{label}");
    }
}

#[test]
fn a_takeover_killed_at_every_write_is_announced_once() {
    let later = in_future(3600);
    // Write 1: the intent (before the lock is replaced); 2: before the board post; 3:
    // before the intent is removed.
    for k in 1..=3 {
        let label = format!("killed at write {k}");
        let hub = TestHub::new();
        hub.ok(&["--as", "s1", "claim", "deploy", "--ttl", "60s"]);
        let mut pause = PausePoint::new(&format!("claim-takeover-{k}"));
        let mut cmd = hub.command("sessions");
        cmd.env("SESSIONS_NOW", &later)
            .args(["--as", "s2", "claim", "deploy"]);
        pause.arm(&mut cmd);
        let mut child = spawn_piped(cmd);
        pause.wait_reached(&mut child);
        child.kill().unwrap();
        child.wait().unwrap();
        // The re-run: it finishes the announcement and holds the claim.
        let out = hub
            .command("sessions")
            .env("SESSIONS_NOW", &later)
            .args(["--as", "s2", "claim", "deploy"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{label}: {}", stderr(&out));
        assert_eq!(
            hub.read_json("PRIORITIES/deploy.lock")["session_id"],
            "s2",
            "{label}"
        );
        assert_eq!(
            count_in(&hub, "MESSAGES.md", "### 🔓 Claim taken over: deploy"),
            1,
            "{label}: {}",
            hub.read("MESSAGES.md")
        );
        assert!(pending_files(&hub).is_empty(), "{label}");
    }
}

#[test]
fn a_handoff_killed_at_every_write_releases_and_posts_once() {
    // Write 1: the intent (before the milestone file); 2: before the release; 3: before
    // the board post; 4: before the intent is removed.
    for k in 1..=4 {
        let label = format!("killed at write {k}");
        let hub = milestone_hub();
        let handoff = [
            "--as",
            "s1",
            "milestone",
            "handoff",
            "ship-it",
            "over to you",
        ];
        kill_at(&hub, &format!("milestone-handoff-{k}"), &handoff);
        if k % 2 == 0 {
            // The re-run finishes it and answers (no "nobody holds" refusal).
            hub.ok(&handoff);
        } else {
            hub.ok(&["doctor", "--fix"]);
        }
        if k == 1 {
            // Killed before the milestone said so: the handoff never happened; do it.
            assert_eq!(
                hub.read_json("MILESTONES/ship-it.json")["owner"],
                "s1",
                "{label}"
            );
            hub.ok(&handoff);
        }
        let m = hub.read_json("MILESTONES/ship-it.json");
        assert_eq!(m["owner"], "available", "{label}");
        assert_eq!(m["handoff_notes"], "over to you", "{label}");
        assert!(
            !hub.path("PRIORITIES/milestone-ship-it.lock").exists(),
            "{label}"
        );
        assert_eq!(
            count_in(&hub, "MESSAGES.md", "### 🤝 Handoff: Ship it (ship-it)"),
            1,
            "{label}"
        );
        assert!(pending_files(&hub).is_empty(), "{label}");
    }
}

#[test]
fn a_damaged_intent_is_reported_with_its_path_and_never_run() {
    let hub = TestHub::new();
    std::fs::create_dir_all(hub.path(".sessions/pending")).unwrap();
    hub.write(
        ".sessions/pending/op-bad.json",
        "{\"op\": \"op-bad\", \"kind\": 3",
    );
    let out = hub.run(&["--json", "doctor", "--fix"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("op-bad.json"))
        .expect("the damaged intent is reported");
    assert_eq!(f["kind"], "parse");
    assert!(f["line"].is_number());
    // Never overwritten or removed: a person looks at it.
    assert_eq!(
        hub.read(".sessions/pending/op-bad.json"),
        "{\"op\": \"op-bad\", \"kind\": 3"
    );
}
