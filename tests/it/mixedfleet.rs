//! A mixed fleet: the original scripts and `sessions` on one hub, as real concurrent
//! processes. Nothing `sessions` wrote is lost, and every overwrite by an old script is
//! detected.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

use crate::support::*;

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../shared/original-scripts/{name}.sh"))
}

/// The fixture hub at `$HOME/Development/SESSIONS` (where the originals look).
struct Fleet {
    home: tempfile::TempDir,
    hub: PathBuf,
}

impl Fleet {
    fn new() -> Fleet {
        let home = tempfile::tempdir().unwrap();
        let hub = home.path().join("Development/SESSIONS");
        copy_tree(&fixture_dir(), &hub);
        Fleet { home, hub }
    }

    /// An original script, run from the hub folder as the guides do.
    fn old(&self, name: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg(script(name))
            .args(args)
            .current_dir(&self.hub)
            .env("HOME", self.home.path())
            .stdin(Stdio::null());
        cmd
    }

    fn new_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin("sessions"));
        cmd.args(args)
            .env("SESSIONS_HUB", &self.hub)
            .env_remove("SESSIONS_ID")
            .env("NO_COLOR", "1");
        cmd
    }

    fn sessions(&self, args: &[&str]) -> Output {
        self.new_cmd(args).output().unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.sessions(&all);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn read_json(&self, rel: &str) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.hub.join(rel)).unwrap()).unwrap()
    }

    /// session-vote.sh's own count: `grep -l '"vote": "agree"'` over the proposal's files.
    fn original_agree_count(&self, proposal: &str) -> usize {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                r#"grep -l '"vote": "agree"' ACTIVE/CONSENSUS/votes/*-votes-for-{proposal}.json 2>/dev/null | wc -l"#
            ))
            .current_dir(&self.hub)
            .output()
            .unwrap();
        stdout(&out).trim().parse().unwrap()
    }
}

fn wait_all(children: Vec<Child>) -> Vec<Output> {
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

#[test]
fn old_and_new_votes_land_in_one_place_and_are_counted_the_same_way() {
    let fleet = Fleet::new();
    let proposal = "session-5-identity"; // proposed by the original scripts in the fixture
    // Three old voters and three new ones, all at once.
    let mut children = Vec::new();
    for i in 1..=3 {
        let voter = format!("old-{i}");
        children.push(
            fleet
                .old("session-vote", &[proposal, "agree", &voter])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let voter = format!("new-{i}");
        children.push(
            fleet
                .new_cmd(&["--as", &voter, "handshake", "vote", proposal, "agree"])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    for out in wait_all(children) {
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    }
    // Six agreeing votes: both count six, neither calls it agreed (the original needs 7).
    assert_eq!(fleet.original_agree_count(proposal), 6);
    let st = fleet.json(&["handshake", "status", proposal]);
    assert_eq!(st["counted"], 6, "{st}");
    assert_eq!(st["needed"], 7);
    assert_eq!(st["state"], "pending");
    // The seventh by an old script: it announces consensus on the board (no From line),
    // and `sessions` agrees and shows that announcement.
    let out = fleet
        .old("session-vote", &[proposal, "agree", "old-4"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("CONSENSUS REACHED"),
        "{}",
        stdout(&out)
    );
    assert_eq!(fleet.original_agree_count(proposal), 7);
    let st = fleet.json(&["handshake", "status", proposal]);
    assert_eq!(st["state"], "agreed", "{st}");
    let msgs = fleet.json(&["msg", "list", "--limit", "1000"]);
    let announced = msgs["messages"].as_array().unwrap().iter().any(|m| {
        m["subject"]
            .as_str()
            .is_some_and(|s| s.contains("CONSENSUS: session-5-identity APPROVED"))
    });
    assert!(
        announced,
        "the original's CONSENSUS REACHED block is listed"
    );
    // An objection through `sessions` blocks it for the old scripts' count too.
    let out = fleet
        .old("session-vote", &["session-5-identity", "agree", "old-5"])
        .output()
        .unwrap();
    assert!(out.status.success());
    fleet.json(&["--as", "new-9", "handshake", "vote", proposal, "object"]);
    let objections = Command::new("sh")
        .arg("-c")
        .arg(format!(r#"grep -l '"vote": "object"' ACTIVE/CONSENSUS/votes/*-votes-for-{proposal}.json | wc -l"#))
        .current_dir(&fleet.hub)
        .output()
        .unwrap();
    assert_eq!(stdout(&objections).trim(), "1");
}

#[test]
fn a_proposal_made_by_sessions_can_be_voted_on_by_the_old_scripts() {
    let fleet = Fleet::new();
    fleet.json(&[
        "--as",
        "session-8",
        "handshake",
        "propose",
        "session-8",
        "--name",
        "Tester",
        "--role",
        "QA",
    ]);
    let out = fleet
        .old(
            "session-vote",
            &["session-8-identity", "agree", "session-1"],
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("Agree: 1"), "{}", stdout(&out));
    let st = fleet.json(&["handshake", "status", "session-8-identity"]);
    assert_eq!(st["counted"], 1, "the same count as the original's: {st}");
}

#[test]
fn heartbeat_status_keeps_the_registry_in_step_for_the_old_capability_match() {
    let fleet = Fleet::new();
    let before = fleet.read_json("REGISTRY.json");
    let id = "session-1-dashboard";
    assert!(before["sessions"][id].is_object());
    assert!(
        fleet
            .sessions(&["--as", id, "heartbeat", "--status", "busy"])
            .status
            .success()
    );
    let reg = fleet.read_json("REGISTRY.json");
    assert_eq!(reg["sessions"][id]["status"], "busy");
    // Everything else in the registry is kept.
    assert_eq!(reg["coordinator"], before["coordinator"]);
    // The old session-find-help reads the registry's status: it now says busy.
    let out = fleet
        .old("session-find-help", &["dashboard"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("\"status\": \"busy\""),
        "{}",
        stdout(&out)
    );
    // An unregistered session's heartbeat does not add it to the registry.
    assert!(
        fleet
            .sessions(&["--as", "drifter", "heartbeat", "--status", "busy"])
            .status
            .success()
    );
    assert!(fleet.read_json("REGISTRY.json")["sessions"]["drifter"].is_null());
}

#[test]
fn an_old_lock_written_over_a_sessions_claim_is_noticed_everywhere() {
    let fleet = Fleet::new();
    fleet.json(&["--as", "s-new", "milestone", "claim", "deploy-dashboard"]);
    // The old guide's way of claiming, after its own check missed ours.
    std::fs::write(
        fleet.hub.join("PRIORITIES/milestone-deploy-dashboard.lock"),
        r#"{"session":"s-old","task":"deploy","time":"Sun Nov  2 00:45:46 UTC 2026"}"#,
    )
    .unwrap();
    // The holder learns it on its next command, whatever it is.
    let out = fleet.sessions(&["--as", "s-new", "status"]);
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("your claim milestone-deploy-dashboard"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("s-old"), "{}", stderr(&out));
    // The milestone's owner follows the lock.
    assert_eq!(
        fleet.read_json("MILESTONES/deploy-dashboard.json")["owner"],
        "s-old"
    );
    // `claims` and `doctor` flag it.
    let claims = fleet.json(&["claims"]);
    let c = claims["claims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "milestone-deploy-dashboard")
        .unwrap()
        .clone();
    assert_eq!(c["overwritten_from"], "s-new", "{c}");
    let out = fleet.sessions(&["claims"]);
    assert!(stdout(&out).contains("OVERWRITTEN"), "{}", stdout(&out));
    let out = fleet.sessions(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("an old script wrote over it"),
        "{}",
        stdout(&out)
    );
    // Its guarded writes are refused: it no longer holds the claim.
    let out = fleet.sessions(&[
        "--as",
        "s-new",
        "milestone",
        "update",
        "deploy-dashboard",
        "1",
        "completed",
    ]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    // Once the lock is gone (released by hand), nothing is flagged any more.
    std::fs::remove_file(fleet.hub.join("PRIORITIES/milestone-deploy-dashboard.lock")).unwrap();
    assert!(fleet.sessions(&["doctor"]).status.success());
}

#[test]
fn racing_old_and_new_claims_every_overwrite_is_detected() {
    let fleet = Fleet::new();
    let rounds = 8;
    let mut overwrites = 0;
    for round in 0..rounds {
        let title = format!("Race {round}");
        let id = format!("race-{round}");
        assert!(
            fleet
                .sessions(&["milestone", "create", &title, "--step", "a"])
                .status
                .success()
        );
        let old = fleet
            .old("claim-milestone", &[&id, "s-old"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let new = fleet
            .new_cmd(&["--as", "s-new", "milestone", "claim", &id])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let outs = wait_all(vec![old, new]);
        let new_won = outs[1].status.success();
        let lock = fleet.read_json(&format!("PRIORITIES/milestone-{id}.lock"));
        let holder = lock["session_id"].as_str().unwrap().to_string();
        let claims = fleet.json(&["--as", "s-new", "claims"]);
        let flagged = claims["claims"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == format!("milestone-{id}"))
            .map(|c| c["overwritten_from"].clone())
            .unwrap();
        if new_won && holder != "s-new" {
            overwrites += 1;
            assert_eq!(flagged, "s-new", "round {round}: an overwrite not flagged");
        } else {
            assert!(
                flagged.is_null(),
                "round {round}: flagged without an overwrite: {flagged}"
            );
        }
        // Whoever won, the milestone's owner is the lock's holder.
        assert_eq!(
            fleet.read_json(&format!("MILESTONES/{id}.json"))["owner"],
            holder.as_str(),
            "round {round}"
        );
    }
    eprintln!("{overwrites} of {rounds} rounds had an old script write over a sessions claim");
}

#[test]
fn archive_loses_nothing_while_old_scripts_and_sessions_append() {
    let fleet = Fleet::new();
    let n_old = 120;
    let n_new = 40;
    // Old scripts append without any lock (`cat >>`), one process per message.
    let old = Command::new("bash")
        .arg("-c")
        .arg(format!(
            r#"for i in $(seq 1 {n_old}); do bash "$SCRIPT" "old-msg-$i" normal old-1 >/dev/null; done"#
        ))
        .env("SCRIPT", script("session-broadcast"))
        .current_dir(&fleet.hub)
        .spawn()
        .unwrap();
    let new = Command::new("sh")
        .arg("-c")
        .arg(format!(
            r#"for i in $(seq 1 {n_new}); do "$BIN" --as new-1 msg send --all "new-msg-$i" >/dev/null || exit 1; done"#
        ))
        .env("BIN", bin("sessions"))
        .env("SESSIONS_HUB", &fleet.hub)
        .spawn()
        .unwrap();
    // Archive everything, again and again, until both writers are done.
    let mut writers = vec![old, new];
    let mut archives = 0;
    while !writers.is_empty() {
        let out = fleet.sessions(&["msg", "archive", "--before", "2099-01-01"]);
        assert!(out.status.success(), "{}", stderr(&out));
        archives += 1;
        writers.retain_mut(|w| match w.try_wait().unwrap() {
            Some(status) => {
                assert!(status.success());
                false
            }
            None => true,
        });
    }
    assert!(
        fleet
            .sessions(&["msg", "archive", "--before", "2099-01-01"])
            .status
            .success()
    );
    let mut all = String::new();
    for e in std::fs::read_dir(&fleet.hub).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with("MESSAGES") && name.ends_with(".md") {
            all.push_str(&std::fs::read_to_string(fleet.hub.join(&name)).unwrap());
        }
    }
    let missing: Vec<String> = (1..=n_old)
        .map(|i| format!("old-msg-{i}\n"))
        .chain((1..=n_new).map(|i| format!("new-msg-{i}\n")))
        .filter(|m| !all.contains(m.as_str()))
        .collect();
    assert!(archives > 1, "the archive ran while the writers wrote");
    assert!(
        missing.is_empty(),
        "lost {} messages over {archives} archives: {missing:?}",
        missing.len()
    );
}

#[test]
fn step_updates_by_sessions_survive_old_scripts_rewriting_the_milestone() {
    let fleet = Fleet::new();
    let steps: Vec<String> = (1..=6).map(|i| format!("step {i}")).collect();
    let mut create = vec!["milestone", "create", "Shared Work"];
    for s in &steps {
        create.extend(["--step", s.as_str()]);
    }
    assert!(fleet.sessions(&create).status.success());
    fleet.json(&["--as", "s-new", "milestone", "claim", "shared-work"]);
    let rounds = 6;
    // The old script rewrites the whole file (jq > tmp; mv) for steps 1-3, unlocked...
    let old = Command::new("bash")
        .arg("-c")
        .arg(format!(
            r#"for i in $(seq 1 {rounds}); do for s in 1 2 3; do bash "$SCRIPT" shared-work $s in_progress "old $i" s-old >/dev/null; done; done"#
        ))
        .env("SCRIPT", script("update-milestone"))
        .env("HOME", fleet.home.path())
        .spawn()
        .unwrap();
    // ... while `sessions` updates steps 4-6.
    let new = Command::new("sh")
        .arg("-c")
        .arg(format!(
            r#"for i in $(seq 1 {rounds}); do for s in 4 5 6; do "$BIN" --as s-new milestone update shared-work $s in_progress "new $i" 2>>"$LOG" || exit 1; done; done"#
        ))
        .env("BIN", bin("sessions"))
        .env("SESSIONS_HUB", &fleet.hub)
        .env("LOG", fleet.home.path().join("new.log"))
        .spawn()
        .unwrap();
    assert!(wait_all(vec![old, new]).iter().all(|o| o.status.success()));
    // The next command of any session puts back what an old rewrite undid.
    let out = fleet.sessions(&["milestone", "status", "shared-work"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let m = fleet.read_json("MILESTONES/shared-work.json");
    for s in 3..6 {
        assert_eq!(m["steps"][s]["status"], "in_progress", "{m}");
        assert_eq!(
            m["steps"][s]["notes"],
            format!("new {rounds}"),
            "step {}: {m}",
            s + 1
        );
    }
    let restored =
        std::fs::read_to_string(fleet.home.path().join("new.log")).unwrap() + &stderr(&out);
    eprintln!(
        "{} step writes restored after an old rewrite",
        restored.matches("again, as").count()
    );
}

#[test]
fn a_deliberate_old_update_after_ours_is_not_undone() {
    let fleet = Fleet::new();
    assert!(
        fleet
            .sessions(&[
                "milestone",
                "create",
                "Reopen",
                "--step",
                "a",
                "--step",
                "b"
            ])
            .status
            .success()
    );
    fleet.json(&["--as", "s-new", "milestone", "claim", "reopen"]);
    assert!(
        fleet
            .sessions(&[
                "--as",
                "s-new",
                "milestone",
                "update",
                "reopen",
                "1",
                "completed",
                "done"
            ])
            .status
            .success()
    );
    // An old session reopens it on purpose: that is a later decision, kept.
    let out = fleet
        .old("update-milestone", &["reopen", "1", "pending", "", "s-old"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = fleet.sessions(&["milestone", "status", "reopen"]);
    assert!(!stderr(&out).contains("again, as"), "{}", stderr(&out));
    assert_eq!(
        fleet.read_json("MILESTONES/reopen.json")["steps"][0]["status"],
        "pending"
    );
    // A stale rewrite (the step exactly as it was before our write) is undone.
    assert!(
        fleet
            .sessions(&[
                "--as",
                "s-new",
                "milestone",
                "update",
                "reopen",
                "2",
                "in_progress",
                "working"
            ])
            .status
            .success()
    );
    let mut m = fleet.read_json("MILESTONES/reopen.json");
    m["steps"][1] =
        serde_json::json!({"step": 2, "description": "b", "status": "pending", "notes": ""});
    std::fs::write(
        fleet.hub.join("MILESTONES/reopen.json"),
        serde_json::to_string_pretty(&m).unwrap(),
    )
    .unwrap();
    let out = fleet.sessions(&["milestone", "status", "reopen"]);
    assert!(
        stderr(&out).contains("step 2 of reopen is in_progress again"),
        "{}",
        stderr(&out)
    );
    let m = fleet.read_json("MILESTONES/reopen.json");
    assert_eq!(m["steps"][1]["status"], "in_progress");
    assert_eq!(m["steps"][1]["notes"], "working");
}
