//! Issue 2: storage, hub discovery, sessions and liveness, handshakes, CURRENT_STATE.md,
//! quick-status, drop-ins.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::support::*;

/// Every file under `dir` with its bytes, for "nothing changed" checks.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(base).unwrap().display().to_string();
            if rel.starts_with(".sessions") {
                continue; // lock files are created on demand; they are not data
            }
            if entry.file_type().unwrap().is_dir() {
                walk(base, &path, out);
            } else {
                out.insert(rel, std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Assert two trees are equal, naming the files that differ (not dumping bytes).
fn assert_same_tree(before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) {
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), "files changed: {changed:?}");
}

fn ids_of(view: &Value) -> Vec<String> {
    view["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn init_then_register_shows_in_status() {
    let hub = TestHub::new();
    hub.ok(&[
        "--as", "s1", "register", "--name", "One", "--role", "Builder", "--spec", "ui,react",
    ]);
    let status = hub.json(&["status"]);
    assert_eq!(status["sessions"]["counts"]["live"], 1);
    assert_eq!(status["sessions"]["sessions"][0]["id"], "s1");
    assert_eq!(
        status["sessions"]["sessions"][0]["specializations"][1],
        "react"
    );
    assert!(hub.path("DISCOVERY/s1-HELLO.md").is_file());
    assert!(hub.path(".gitignore").is_file());
    assert!(
        hub.path("quick-status.sh").is_file(),
        "init adds the shims by default"
    );
}

#[test]
fn init_refuses_an_existing_hub() {
    let hub = TestHub::new();
    let before = tree(&hub.root);
    let out = hub.run(&["init", hub.root.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("refusing to overwrite"),
        "{}",
        stderr(&out)
    );
    assert_same_tree(&before, &tree(&hub.root));
}

#[test]
fn fixture_read_commands_show_every_heartbeat_session_milestone_and_priority() {
    let hub = TestHub::fixture();
    let status = hub.json(&["status"]);
    let sessions = &status["sessions"]["sessions"];
    let ids = ids_of(&status["sessions"]);
    for id in [
        "session-2-consciousness",
        "session-3-coordinator",
        "session-3",
        "session-4-deployment",
        "session-5-orchestration",
    ] {
        let s = sessions.as_array().unwrap().iter().find(|s| s["id"] == id);
        let s = s.unwrap_or_else(|| panic!("{id} missing from {ids:?}"));
        assert!(
            s["last_seen"].is_string(),
            "{id}: heartbeat time not parsed"
        );
    }
    // Differing field names: working_on vs current_work, capabilities_offered.
    let find = |id: &str| {
        sessions
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(find("session-3")["current_work"], "Active session");
    assert_eq!(
        find("session-4-deployment")["last_seen"],
        "2025-11-14T16:15:00Z"
    );
    assert!(
        find("session-5-orchestration")["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "Multi-agent CrewAI orchestration")
    );
    assert_eq!(status["sessions"]["counts"]["registered"], 5);
    assert_eq!(status["milestones"][0]["id"], "deploy-dashboard");
    assert_eq!(status["milestones"][0]["steps_total"], 8);
    assert!(
        status["current_priority"]
            .as_str()
            .unwrap()
            .contains("Launch I MATCH")
    );

    let text = hub.ok(&["status"]);
    for needle in [
        "session-3-coordinator",
        "Deploy Dashboard to Server",
        "Launch I MATCH",
        "session-1-dashboard",
    ] {
        assert!(text.contains(needle), "status text lacks {needle}");
    }
    for args in [
        &["sync"][..],
        &["find-help", "deployment"],
        &["match", "deploy the dashboard"],
        &["handshake", "status"],
        &["state", "show"],
        &["state", "show", "current priority"],
    ] {
        hub.ok(args);
    }
    let help = hub.json(&["find-help", "deployment"]);
    assert_eq!(help["sessions"][0]["id"], "session-4-deployment");
    let legacy = hub.json(&["handshake", "status", "session-5-identity"]);
    assert_eq!(legacy["legacy"], true);
    assert_eq!(legacy["tally"]["agree"][0]["voter"], "session-5");
}

#[test]
fn register_rewrite_keeps_every_unknown_registry_field() {
    let hub = TestHub::fixture();
    let before = hub.read_json("REGISTRY.json");
    hub.ok(&[
        "--as",
        "session-1-dashboard",
        "register",
        "--work",
        "polishing charts",
    ]);
    hub.ok(&["--as", "session-9-new", "register", "--name", "Newcomer"]);
    let after = hub.read_json("REGISTRY.json");
    for key in [
        "coordinator",
        "pending_proposals",
        "id_assignment_protocol",
        "registry_version",
    ] {
        assert_eq!(before[key], after[key], "{key} changed");
    }
    let (old, new) = (
        &before["sessions"]["session-1-dashboard"],
        &after["sessions"]["session-1-dashboard"],
    );
    for key in [
        "agreed",
        "proposed_by",
        "awaiting_confirmation",
        "confirmed_at",
        "specialization",
        "last_work",
        "name",
        "role",
    ] {
        assert_eq!(old[key], new[key], "session-1-dashboard.{key} changed");
    }
    assert_eq!(new["current_work"], "polishing charts");
    for id in [
        "session-2-consciousness",
        "session-3-coordinator",
        "session-4-deployment",
        "session-5-orchestration",
    ] {
        assert_eq!(
            before["sessions"][id], after["sessions"][id],
            "{id} changed"
        );
    }
    assert_eq!(after["sessions"]["session-9-new"]["name"], "Newcomer");
    // Key order of the original file is kept.
    let keys: Vec<_> = after.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        &keys[..4],
        [
            "registry_version",
            "last_updated",
            "coordinator",
            "sessions"
        ]
    );
}

#[test]
fn register_is_idempotent() {
    let hub = TestHub::new();
    let first = hub.json(&["--as", "s1", "register", "--name", "One"]);
    let second = hub.json(&["--as", "s1", "register"]);
    assert_eq!(first["created"], true);
    assert_eq!(second["created"], false);
    let reg = hub.read_json("REGISTRY.json");
    assert_eq!(reg["sessions"].as_object().unwrap().len(), 1);
    assert_eq!(reg["sessions"]["s1"]["name"], "One");
    assert_eq!(hub.read_json("HEARTBEATS/s1.json")["heartbeat_count"], 2);
}

#[test]
fn thirty_two_processes_register_and_heartbeat_at_once_without_losing_an_entry() {
    let hub = TestHub::new();
    let done = Arc::new(AtomicBool::new(false));
    let registry = hub.path("REGISTRY.json");
    let reader = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut reads = 0;
            while !done.load(Ordering::Relaxed) {
                let text = std::fs::read_to_string(&registry).expect("registry readable");
                serde_json::from_str::<Value>(&text)
                    .unwrap_or_else(|e| panic!("reader saw a torn REGISTRY.json: {e}\n{text}"));
                reads += 1;
            }
            reads
        })
    };
    run_all_at_once((0..32).map(|i| {
        let id = format!("s{i}");
        hub.sh(&format!(
            "{0} --as {id} register --name 'Session {i}' --spec spec{i} && {0} --as {id} heartbeat --work 'task {i}' && {0} --as {id} heartbeat --status idle",
            bin("sessions").display()
        ))
    }));
    done.store(true, Ordering::Relaxed);
    let reads = reader.join().unwrap();
    assert!(reads > 0);
    let reg = hub.read_json("REGISTRY.json");
    let sessions = reg["sessions"].as_object().unwrap();
    assert_eq!(sessions.len(), 32, "lost registry entries");
    for i in 0..32 {
        let hb = hub.read_json(&format!("HEARTBEATS/s{i}.json"));
        assert_eq!(hb["heartbeat_count"], 3);
        assert_eq!(hb["current_work"], format!("task {i}"));
        assert_eq!(hb["status"], "idle");
    }
    let status = hub.json(&["status"]);
    assert_eq!(status["sessions"]["counts"]["live"], 32);
    assert_eq!(status["sessions"]["counts"]["idle"], 32);
}

#[test]
fn writer_killed_at_random_moments_never_leaves_a_torn_registry() {
    let hub = TestHub::new();
    // A large registry makes each rewrite long enough for kills to land mid-write.
    let mut sessions = serde_json::Map::new();
    for i in 0..3000 {
        sessions.insert(
            format!("old-{i}"),
            serde_json::json!({"id": format!("old-{i}"), "role": "x".repeat(40)}),
        );
    }
    hub.write(
        "REGISTRY.json",
        &serde_json::to_string_pretty(
            &serde_json::json!({"registry_version": "1.0", "sessions": sessions}),
        )
        .unwrap(),
    );
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..200 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut child = hub
            .command("sessions")
            .args([
                "--as",
                &format!("k{round}"),
                "register",
                "--work",
                "being killed",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(seed % 6000));
        let _ = child.kill();
        let _ = child.wait();
        let text = hub.read("REGISTRY.json");
        let reg: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("round {round}: torn registry: {e}"));
        let n = reg["sessions"].as_object().unwrap().len();
        assert!(
            (3000..=3000 + round + 1).contains(&n),
            "round {round}: {n} entries"
        );
    }
    // Temp files a killed writer leaves are hidden (dot files), never data.
    for entry in std::fs::read_dir(&hub.root).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            !name.ends_with(".tmp") || name.starts_with('.'),
            "visible temp file {name}"
        );
    }
    let status = hub.json(&["status"]);
    assert!(status["sessions"]["counts"]["registered"].as_u64().unwrap() >= 3000);
}

#[test]
fn unparseable_registry_fails_every_command_with_path_line_column_and_stays_unchanged() {
    let hub = TestHub::fixture();
    let broken = "{\n  \"registry_version\": \"1.0\",\n  \"sessions\": {\n    \"a\": \n}\n";
    hub.write("REGISTRY.json", broken);
    let before = tree(&hub.root);
    for args in [
        &["status"][..],
        &["sync"],
        &["find-help", "ui"],
        &["match", "build a ui"],
        &["--as", "s1", "register"],
        &["unregister", "session-3"],
        &["--as", "s1", "handshake", "propose", "s1"],
    ] {
        let out = hub.run(args);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("REGISTRY.json:5:1"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("left unchanged"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_same_tree(&before, &tree(&hub.root));
    assert_eq!(hub.read("REGISTRY.json"), broken);
}

#[test]
fn unparseable_heartbeat_fails_with_its_path_and_stays_unchanged() {
    let hub = TestHub::fixture();
    let broken = "{\n  \"session_id\": \"session-3\",\n  \"timestamp\": 2025-11-14\n}\n";
    hub.write("HEARTBEATS/session-3.json", broken);
    let before = tree(&hub.root);
    for args in [
        &["status"][..],
        &["sync"],
        &["--as", "session-3", "heartbeat", "--work", "x"],
        &["prune"],
    ] {
        let out = hub.run(args);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("HEARTBEATS/session-3.json:3:"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_same_tree(&before, &tree(&hub.root));
    let json = hub.run(&["--json", "status"]);
    let err: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(err["error"]["kind"], "parse");
    assert_eq!(err["error"]["exit_code"], 4);
    assert_eq!(err["error"]["details"]["line"], 3);
    assert!(
        err["error"]["details"]["path"]
            .as_str()
            .unwrap()
            .ends_with("HEARTBEATS/session-3.json")
    );
}

#[test]
fn path_like_ids_are_refused_and_nothing_is_written() {
    let hub = TestHub::new();
    let before = tree(&hub.root);
    // NUL cannot pass through argv; ids::validate's unit test covers it.
    for bad in ["../x", "/etc/passwd", "a/b", "..", ".", "", "a\nb", "-rf"] {
        for args in [
            vec!["register", "--", bad],
            vec!["--as", bad, "heartbeat"],
            vec!["--as", bad, "handshake", "propose", "ok-id"],
            vec!["--as", "ok-id", "handshake", "vote", bad, "agree"],
        ] {
            let out = hub.run(&args);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{args:?} was not refused: {}",
                stderr(&out)
            );
            let err = stderr(&out);
            assert!(
                err.contains("invalid")
                    || err.contains("needs to know")
                    || err.contains("unexpected argument"),
                "{args:?}: {err}"
            );
        }
    }
    assert_same_tree(&before, &tree(&hub.root));
}

#[test]
fn heartbeats_folder_symlinked_outside_the_hub_is_refused() {
    let hub = TestHub::new();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("evil.json"),
        r#"{"session_id":"evil","timestamp":"2025-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    std::fs::remove_dir_all(hub.path("HEARTBEATS")).unwrap();
    std::os::unix::fs::symlink(outside.path(), hub.path("HEARTBEATS")).unwrap();
    for args in [
        &["status"][..],
        &["--as", "s1", "heartbeat"],
        &["--as", "s1", "register"],
    ] {
        let out = hub.run(args);
        assert_eq!(out.status.code(), Some(6), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("outside the hub"), "{}", stderr(&out));
    }
    let names: Vec<_> = std::fs::read_dir(outside.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        names.len(),
        1,
        "something was written outside the hub: {names:?}"
    );
}

#[test]
fn hub_is_found_upwards_and_a_missing_hub_names_init() {
    let hub = TestHub::new();
    let project = hub.root.parent().unwrap();
    let deep = project.join("src/deep/er");
    std::fs::create_dir_all(&deep).unwrap();
    let out = Command::new(bin("sessions"))
        .args(["--json", "status"])
        .current_dir(&deep)
        .env_remove("SESSIONS_HUB")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(status["hub"].as_str().unwrap().ends_with("SESSIONS"));

    // --hub may name the project folder instead of its SESSIONS/.
    let out = Command::new(bin("sessions"))
        .args(["--json", "--hub"])
        .arg(project)
        .arg("status")
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        status["hub"].as_str().unwrap().ends_with("SESSIONS"),
        "{status}"
    );

    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(bin("sessions"))
        .arg("status")
        .current_dir(empty.path())
        .env_remove("SESSIONS_HUB")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("sessions init"), "{}", stderr(&out));
}

#[test]
fn inside_a_git_worktree_the_main_worktrees_hub_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("main");
    std::fs::create_dir_all(&main).unwrap();
    let git = |args: &[&str], cwd: &Path| {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(cwd)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    };
    git(&["init", "-q"], &main);
    std::fs::write(main.join("README"), "x").unwrap();
    git(&["add", "README"], &main);
    git(&["commit", "-qm", "init"], &main);
    git(&["worktree", "add", "-q", "../wt"], &main);
    let out = Command::new(bin("sessions"))
        .arg("init")
        .current_dir(&main)
        .env_remove("SESSIONS_HUB")
        .output()
        .unwrap();
    assert!(out.status.success());
    let sub = dir.path().join("wt/sub");
    std::fs::create_dir_all(&sub).unwrap();
    let out = Command::new(bin("sessions"))
        .args(["--json", "status"])
        .current_dir(&sub)
        .env_remove("SESSIONS_HUB")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = std::fs::canonicalize(status["hub"].as_str().unwrap()).unwrap();
    assert_eq!(found, std::fs::canonicalize(main.join("SESSIONS")).unwrap());

    // The worktree's own checkout of the hub folder: from inside it, still the main one.
    let copy = dir.path().join("wt/SESSIONS");
    let out = Command::new(bin("sessions"))
        .arg("init")
        .arg(&copy)
        .env_remove("SESSIONS_HUB")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = Command::new(bin("sessions"))
        .args(["--json", "status"])
        .current_dir(copy.join("HEARTBEATS"))
        .env_remove("SESSIONS_HUB")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = std::fs::canonicalize(status["hub"].as_str().unwrap()).unwrap();
    assert_eq!(found, std::fs::canonicalize(main.join("SESSIONS")).unwrap());
}

#[test]
fn liveness_follows_heartbeat_age_and_the_configured_thresholds() {
    let hub = TestHub::new();
    let at = |minutes_ago: i64| {
        let t = chrono::Utc::now() - chrono::Duration::minutes(minutes_ago);
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    for (id, ago) in [("fresh", 1), ("quiet", 10), ("ancient", 60 * 30)] {
        let out = hub
            .command("sessions")
            .args(["--as", id, "register"])
            .env("SESSIONS_NOW", at(ago))
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    let liveness = |hub: &TestHub| -> BTreeMap<String, String> {
        let view = hub.json(&["sync"]);
        view["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["id"].as_str().unwrap().into(),
                    s["liveness"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let l = liveness(&hub);
    assert_eq!(
        (
            l["fresh"].as_str(),
            l["quiet"].as_str(),
            l["ancient"].as_str()
        ),
        ("live", "stale", "gone")
    );
    let counts = hub.json(&["sync"])["counts"].clone();
    assert_eq!(
        (
            counts["live"].as_u64(),
            counts["stale"].as_u64(),
            counts["gone"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );

    hub.write(
        "sessions.toml",
        "[liveness]\nlive = \"15m\"\ngone = \"48h\"\n",
    );
    let l = liveness(&hub);
    assert_eq!(
        (l["quiet"].as_str(), l["ancient"].as_str()),
        ("live", "stale")
    );

    hub.write("sessions.toml", "[liveness]\nlive = \"soon\"\n");
    let out = hub.run(&["sync"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("sessions.toml:2:"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(hub.path("sessions.toml")).unwrap();

    let pruned = hub.json(&["prune", "--older-than", "1h"]);
    assert_eq!(pruned["pruned"].as_array().unwrap().len(), 1);
    assert!(!hub.path("HEARTBEATS/ancient.json").exists());
    assert!(
        hub.read_json("REGISTRY.json")["sessions"]["ancient"].is_object(),
        "prune keeps the registry entry"
    );
    hub.ok(&["unregister", "quiet"]);
    assert!(hub.read_json("REGISTRY.json")["sessions"]["quiet"].is_null());
    assert!(!hub.path("HEARTBEATS/quiet.json").exists());
}

#[test]
fn match_ranks_by_relevance_then_live_idle_before_busy_before_stale() {
    let hub = TestHub::new();
    let old = (chrono::Utc::now() - chrono::Duration::minutes(20)).to_rfc3339();
    let reg = |id: &str, specs: &str, status: &str, now: Option<&str>| {
        let mut cmd = hub.command("sessions");
        cmd.args(["--as", id, "register", "--spec", specs]);
        if let Some(now) = now {
            cmd.env("SESSIONS_NOW", now);
        }
        assert!(cmd.output().unwrap().status.success());
        let mut cmd = hub.command("sessions");
        cmd.args(["--as", id, "heartbeat", "--status", status]);
        if let Some(now) = now {
            cmd.env("SESSIONS_NOW", now);
        }
        assert!(cmd.output().unwrap().status.success());
    };
    reg("stale-deployer", "deployment,devops", "idle", Some(&old));
    reg("busy-deployer", "deployment,devops", "active", None);
    reg("idle-deployer", "deployment,devops", "idle", None);
    reg("half-deployer", "deployment", "idle", None);
    reg("painter", "ui", "idle", None);
    let result = hub.json(&["match", "Deploy the service to production"]);
    let order: Vec<_> = result["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "idle-deployer",
            "busy-deployer",
            "stale-deployer",
            "half-deployer"
        ]
    );
    assert!(result["next"].as_str().unwrap().contains("idle-deployer"));
    hub.write("sessions.toml", "[match.keywords]\npaint = [\"ui\"]\n");
    let result = hub.json(&["match", "paint the fence"]);
    assert_eq!(result["candidates"][0]["id"], "painter");
}

#[test]
fn handshake_reaches_consensus_once_marks_the_registry_and_posts_on_the_board() {
    let hub = TestHub::new();
    for id in ["a", "b", "c", "d"] {
        hub.ok(&["--as", id, "register"]);
    }
    let st = hub.json(&[
        "--as",
        "newbie",
        "handshake",
        "propose",
        "newbie",
        "--name",
        "New",
        "--role",
        "Docs",
    ]);
    assert_eq!(st["state"], "pending");
    assert_eq!(st["needed"], 3, "majority of 4 live registered sessions");
    // Concurrent votes: one file each, none lost.
    run_all_at_once(["a", "b", "c", "d"].iter().map(|v| {
        let mut cmd = hub.command("sessions");
        cmd.args(["--as", v, "handshake", "vote", "newbie-identity", "agree"]);
        cmd
    }));
    let st = hub.json(&["handshake", "status", "newbie-identity"]);
    assert_eq!(st["state"], "agreed");
    assert_eq!(st["tally"]["agree"].as_array().unwrap().len(), 5);
    let reg = hub.read_json("REGISTRY.json");
    assert_eq!(reg["sessions"]["newbie"]["agreed"], true);
    assert_eq!(reg["sessions"]["newbie"]["name"], "New");
    let board = hub.read("MESSAGES.md");
    assert_eq!(
        board.matches("Identity agreed: newbie").count(),
        1,
        "consensus noted exactly once"
    );

    // One objection blocks.
    hub.ok(&["--as", "other", "handshake", "propose", "other"]);
    hub.ok(&[
        "--as",
        "c",
        "handshake",
        "vote",
        "other-identity",
        "object",
        "--comment",
        "name clash",
    ]);
    hub.ok(&["--as", "a", "handshake", "vote", "other-identity", "agree"]);
    hub.ok(&["--as", "b", "handshake", "vote", "other-identity", "agree"]);
    let st = hub.json(&["handshake", "status", "other-identity"]);
    assert_eq!(st["state"], "objected");
    assert!(hub.read_json("REGISTRY.json")["sessions"]["other"]["agreed"].is_null());
    let out = hub.run(&["--as", "x", "handshake", "propose", "other"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a second proposal of the same ID is refused"
    );
}

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
fn secret_looking_text_is_refused_and_nothing_changes() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "register"]);
    let before = tree(&hub.root);
    let key = format!("sk-ant-api03-{}", "Zq8mK2pL9xW4vN7bR3tY6uJ1hG5");
    let out = hub.run(&[
        "--as",
        "s1",
        "heartbeat",
        "--work",
        &format!("testing with {key}"),
    ]);
    assert_eq!(out.status.code(), Some(6));
    assert!(
        stderr(&out).contains("Anthropic API key"),
        "{}",
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains(&key),
        "the error must not echo the secret"
    );
    let out = hub.run(&[
        "--as",
        "s1",
        "state",
        "priority",
        &format!("use AWS key AKIA{}", "ABCDEFGHIJKLMNOP"),
    ]);
    assert_eq!(out.status.code(), Some(6));
    assert_same_tree(&before, &tree(&hub.root));
    hub.ok(&[
        "--as",
        "s1",
        "--allow-secrets",
        "heartbeat",
        "--work",
        "sk-ant-not-really-a-key-but-long-enough",
    ]);
}

#[test]
fn drop_in_binaries_take_the_original_positional_arguments() {
    let hub = TestHub::new();
    let run = |name: &str, args: &[&str]| hub.command(name).args(args).output().unwrap();
    assert!(
        run("register-session", &["s1", "Dashboard Builder", "Frontend"])
            .status
            .success()
    );
    assert!(run("register-session", &["s2"]).status.success());
    let reg = hub.read_json("REGISTRY.json");
    assert_eq!(reg["sessions"]["s1"]["role"], "Frontend");
    assert!(
        run(
            "session-propose-identity",
            &["s3", "Doc Writer", "Docs", "documentation,writing"]
        )
        .status
        .success()
    );
    assert!(
        run("session-vote", &["s3-identity", "agree", "s1", "welcome"])
            .status
            .success()
    );
    let st = hub.json(&["handshake", "status", "s3-identity"]);
    assert_eq!(st["tally"]["agree"].as_array().unwrap().len(), 2);
    assert_eq!(st["specializations"][1], "writing");
    let out = run("quick-status", &[]);
    assert!(out.status.success() && stdout(&out).contains("MULTI-SESSION STATUS"));
    let out = run("session-sync", &["--json"]);
    let view: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["counts"]["registered"], 3);
    let out = run("session-find-help", &["documentation"]);
    assert!(stdout(&out).contains("s3"), "{}", stdout(&out));
    let out = run("session-capability-match", &["Build a new dashboard UI"]);
    assert!(out.status.code().is_some());
    let out = run("session-vote", &["only-one-arg"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("usage: session-vote"));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let hub = TestHub::fixture();
    let mut child = hub
        .command("sessions")
        .arg("status")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn doctor_names_broken_files_and_fix_removes_old_temp_files() {
    let hub = TestHub::fixture();
    assert!(hub.run(&["doctor"]).status.success());
    hub.write(
        "MILESTONES/broken.json",
        "{\n  \"title\": \"x\",\n  oops\n}\n",
    );
    hub.write("HEARTBEATS/.s1.json.123.0.0.tmp", "{\"half\": ");
    hub.write("ACTIVE/ACKS/m-1/s2.json", "{\"by\": ");
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(hub.path("HEARTBEATS/.s1.json.123.0.0.tmp"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let out = hub.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("MILESTONES/broken.json:3:3"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("ACTIVE/ACKS/m-1/s2.json:1:"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("--fix"), "{}", stdout(&out));
    let report = hub.json_status(&["doctor", "--fix"], 1);
    assert_eq!(report["fixed"], 1);
    assert_eq!(report["remaining"], 2, "broken data is left for a person");
    assert!(!hub.path("HEARTBEATS/.s1.json.123.0.0.tmp").exists());
    assert!(
        hub.path("MILESTONES/broken.json").exists(),
        "doctor never deletes data"
    );
}

#[test]
fn completions_are_generated_for_common_shells() {
    let hub = TestHub::new();
    for shell in ["bash", "zsh", "fish"] {
        let text = hub.ok(&["completions", shell]);
        assert!(
            text.contains("sessions") && text.contains("heartbeat"),
            "{shell}"
        );
    }
}

#[test]
fn symlinked_files_and_nested_folders_leading_outside_are_refused() {
    let hub = TestHub::new();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("registry.json");
    std::fs::write(&secret, r#"{"sessions": {"intruder": {"id": "intruder"}}}"#).unwrap();
    std::fs::remove_file(hub.path("REGISTRY.json")).unwrap();
    std::os::unix::fs::symlink(&secret, hub.path("REGISTRY.json")).unwrap();
    let out = hub.run(&["status"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let out = hub.run(&["--as", "s1", "register"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&secret).unwrap(),
        r#"{"sessions": {"intruder": {"id": "intruder"}}}"#
    );
    std::fs::remove_file(hub.path("REGISTRY.json")).unwrap();

    hub.ok(&["--as", "s1", "handshake", "propose", "s1"]);
    let votes = hub.path("HANDSHAKES/s1-identity/votes");
    std::fs::remove_dir_all(&votes).unwrap();
    std::os::unix::fs::symlink(outside.path(), &votes).unwrap();
    let out = hub.run(&["--as", "s2", "handshake", "vote", "s1-identity", "agree"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        1,
        "a vote was written outside the hub"
    );
}

#[test]
fn hub_shims_keep_the_old_script_paths_working() {
    let hub = TestHub::new();
    let bin_dir = bin("sessions").parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let shim = |name: &str, args: &[&str]| {
        Command::new(hub.path(name))
            .args(args)
            .env("PATH", &path)
            .env_remove("SESSIONS_HUB")
            .env_remove("SESSIONS_ID")
            .output()
            .unwrap()
    };
    assert!(
        shim("register-session.sh", &["s1", "One", "Builder"])
            .status
            .success()
    );
    assert!(
        shim("create-milestone.sh", &["Ship it", "HIGH", "s1"])
            .status
            .success()
    );
    let out = shim("claim-milestone.sh", &["ship-it", "s1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = shim("quick-status.sh", &[]);
    assert!(
        stdout(&out).contains("Ship it") && stdout(&out).contains("s1"),
        "{}",
        stdout(&out)
    );
    assert_eq!(hub.read_json("MILESTONES/ship-it.json")["owner"], "s1");
}

#[test]
fn demo_runs_real_session_processes_and_ends_on_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let demo = |extra: &[&str]| {
        Command::new(bin("sessions"))
            .args(["demo", "--dir"])
            .arg(dir.path())
            .args(extra)
            .env_remove("SESSIONS_HUB")
            .env_remove("SESSIONS_ID")
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let out = demo(&["--keep"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    for needle in [
        "Registered session-4-tests",
        "stale",
        "✅ agreed",
        "0 unread",
        "(lost the race: exit 1)",
        "Milestone ship-login completed",
        "Took over flaky-suite",
        "reacting to infra",
        "MULTI-SESSION STATUS",
        "Ship the dashboard to production",
    ] {
        assert!(
            text.contains(needle),
            "demo output lacks {needle:?}:\n{text}"
        );
    }
    // Whichever voter saw consensus first posted it; it is on the board exactly once.
    let board = std::fs::read_to_string(dir.path().join("SESSIONS/MESSAGES.md")).unwrap();
    assert_eq!(board.matches("Identity agreed: session-5-docs").count(), 1);
    std::fs::remove_dir_all(dir.path().join("SESSIONS")).unwrap();

    assert!(demo(&[]).status.success());
    assert!(
        !dir.path().join("SESSIONS").exists(),
        "the demo removes its hub unless --keep"
    );
}

#[test]
fn private_state_stays_out_of_git_even_in_an_old_hub() {
    let hub = TestHub::fixture();
    let git = |args: &[&str]| {
        Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .current_dir(&hub.root)
            .output()
            .unwrap()
    };
    assert!(git(&["init", "-q", "."]).status.success());
    assert!(git(&["add", "-A"]).status.success());
    assert!(git(&["commit", "-qm", "fixture"]).status.success());
    hub.ok(&["--as", "s1", "register"]);
    hub.ok(&["--as", "s1", "msg", "send", "--all", "hello"]);
    let status = stdout(&git(&["status", "--porcelain"]));
    assert!(
        !status.contains(".sessions"),
        "private state shows in git: {status}"
    );
    assert!(status.contains("REGISTRY.json"), "{status}");
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
fn only_votes_of_live_registered_sessions_count_towards_consensus() {
    let hub = TestHub::new();
    for id in ["a", "b", "c"] {
        hub.ok(&["--as", id, "register"]);
    }
    hub.ok(&["--as", "a", "handshake", "propose", "newbie"]);
    for ghost in ["ghost1", "ghost2", "ghost3"] {
        hub.ok(&[
            "--as",
            ghost,
            "handshake",
            "vote",
            "newbie-identity",
            "agree",
        ]);
    }
    let st = hub.json(&["handshake", "status", "newbie-identity"]);
    assert_eq!(st["needed"], 2);
    assert_eq!(
        st["state"], "pending",
        "unregistered voters are not the electorate"
    );
    assert_eq!(st["counted"], 0);
    let shown = hub.ok(&["handshake", "status", "newbie-identity"]);
    assert!(
        shown.contains("3 agree (0 from live registered sessions)"),
        "{shown}"
    );
    assert!(hub.read_json("REGISTRY.json")["sessions"]["newbie"].is_null());
    hub.ok(&["--as", "a", "handshake", "vote", "newbie-identity", "agree"]);
    hub.ok(&["--as", "b", "handshake", "vote", "newbie-identity", "agree"]);
    let st = hub.json(&["handshake", "status", "newbie-identity"]);
    assert_eq!(st["state"], "agreed");
}

#[test]
fn empty_sessions_hub_and_sessions_id_count_as_unset() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "register"]);
    // `export SESSIONS_HUB= SESSIONS_ID=` is how people unset them in a shell.
    let out = hub
        .command("sessions")
        .args(["status"])
        .env("SESSIONS_HUB", "")
        .env("SESSIONS_ID", "")
        .current_dir(hub.root.parent().unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("s1"), "{}", stdout(&out));
    let out = hub
        .command("sessions")
        .args(["heartbeat"])
        .env("SESSIONS_ID", "")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--as"), "{}", stderr(&out));
}

#[test]
fn init_into_a_non_empty_folder_says_so_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("notes");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("todo.txt"), "mine").unwrap();
    let before = tree(&target);
    let out = Command::new(bin("sessions"))
        .arg("init")
        .arg(&target)
        .env_remove("SESSIONS_HUB")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("not empty") && !err.contains("holds a hub"),
        "{err}"
    );
    assert_same_tree(&before, &tree(&target));
}

#[test]
fn prefixed_env_style_secrets_are_refused_too() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "register"]);
    let before = tree(&hub.root);
    let value = format!("Zk3m9Qx7{}", "Lp2Vb8Nw4Rt6Yh1Jd5");
    for name in [
        "OPENAI_API_KEY",
        "DB_PASSWORD",
        "STRIPE_SECRET_KEY",
        "SLACK_BOT_TOKEN",
    ] {
        let text = format!("run it with {name}={value}");
        let out = hub.run(&["--as", "s1", "heartbeat", "--work", &text]);
        assert_eq!(out.status.code(), Some(6), "{name}: {}", stderr(&out));
    }
    assert_same_tree(&before, &tree(&hub.root));
    // Ordinary text with those words still passes.
    hub.ok(&[
        "--as",
        "s1",
        "heartbeat",
        "--work",
        "rotate DB_PASSWORD and MY_API_KEY",
    ]);
}

#[test]
fn a_private_folder_symlinked_outside_the_hub_is_refused() {
    let hub = TestHub::new();
    let outside = tempfile::tempdir().unwrap();
    std::fs::remove_dir_all(hub.path(".sessions")).unwrap();
    std::os::unix::fs::symlink(outside.path(), hub.path(".sessions")).unwrap();
    let out = hub.run(&["--as", "s1", "register"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        0,
        "locks were made outside the hub"
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
fn hub_pointing_at_a_folder_that_is_no_hub_names_init_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(project.join("main.rs"), "fn main() {}\n").unwrap();
    let before = tree(&project);
    for args in [&["--as", "s1", "register"][..], &["status"][..]] {
        let out = Command::new(bin("sessions"))
            .env("SESSIONS_HUB", &project)
            .env_remove("SESSIONS_ID")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("sessions init"), "{}", stderr(&out));
    }
    assert_same_tree(&before, &tree(&project));
}

#[test]
fn find_help_with_an_empty_capability_is_a_usage_error() {
    let hub = TestHub::fixture();
    for cap in ["", "  "] {
        let out = hub.run(&["find-help", cap]);
        assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
        assert!(
            stderr(&out).contains("sessions find-help"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn doctor_reports_a_registry_whose_sessions_is_not_an_object() {
    let hub = TestHub::new();
    hub.write("REGISTRY.json", "{\"sessions\": [\"a\", \"b\"]}\n");
    assert_eq!(hub.run(&["status"]).status.code(), Some(4));
    let out = hub.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("REGISTRY.json:1:1"),
        "{}",
        stdout(&out)
    );
    let line = stdout(&out)
        .lines()
        .find(|l| l.contains("REGISTRY.json"))
        .unwrap()
        .to_string();
    assert_eq!(
        line.matches("REGISTRY.json").count(),
        1,
        "path said twice: {line}"
    );
}

#[test]
fn register_over_a_broken_heartbeat_fails_before_touching_the_registry() {
    let hub = TestHub::new();
    hub.write(
        "HEARTBEATS/s1.json",
        "{\n  \"session_id\": \"s1\",\n  oops\n}\n",
    );
    let before = tree(&hub.root);
    let out = hub.run(&["--as", "s1", "register", "--name", "One"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("HEARTBEATS/s1.json:3:"),
        "{}",
        stderr(&out)
    );
    let after = tree(&hub.root);
    let private = |t: &BTreeMap<String, Vec<u8>>| {
        t.iter()
            .filter(|(k, _)| !k.starts_with(".sessions"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    assert_same_tree(&private(&before), &private(&after));
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
fn proposing_an_id_too_long_for_its_proposal_writes_nothing() {
    let hub = TestHub::new();
    let long = "a".repeat(125);
    let before = tree(&hub.root);
    let out = hub.run(&["--as", &long, "handshake", "propose", &long]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_same_tree(&before, &tree(&hub.root));
}

#[test]
fn consensus_rule_takes_a_bare_number_and_refuses_nonsense() {
    let hub = TestHub::new();
    for id in ["a", "b", "c"] {
        hub.ok(&["--as", id, "register"]);
    }
    hub.write("sessions.toml", "[consensus]\nrule = 3\n");
    let st = hub.json(&["--as", "a", "handshake", "propose", "newbie"]);
    assert_eq!(st["needed"], 3);
    hub.write("sessions.toml", "[consensus]\nrule = \"three\"\n");
    let out = hub.run(&["handshake", "status", "newbie-identity"]);
    assert_eq!(out.status.code(), Some(4), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("sessions.toml:2:"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn prune_never_removes_a_live_heartbeat() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "register"]);
    for age in ["0", "1s", "4m"] {
        let out = hub.run(&["prune", "--older-than", age]);
        assert_eq!(out.status.code(), Some(2), "{age}: {}", stdout(&out));
        // Zero is refused by the one duration rule before prune looks at liveness.
        let why = if age == "0" { "more than zero" } else { "live" };
        assert!(stderr(&out).contains(why), "{}", stderr(&out));
    }
    assert!(hub.path("HEARTBEATS/s1.json").exists());
    hub.ok(&["prune", "--older-than", "5m"]);
    assert!(hub.path("HEARTBEATS/s1.json").exists());
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

#[test]
fn two_heartbeat_files_of_one_session_show_it_once_with_the_newest() {
    let hub = TestHub::new();
    hub.ok(&["--as", "bar", "register"]);
    // An old scripts' heartbeat under another file name, for the same session.
    hub.write(
        "HEARTBEATS/zz-old.json",
        r#"{"session_id": "bar", "timestamp": "2020-01-01T00:00:00Z"}"#,
    );
    hub.write(
        "HEARTBEATS/other.json",
        r#"{"session_id": "ghost", "timestamp": "2020-01-01T00:00:00Z"}"#,
    );
    hub.write(
        "HEARTBEATS/other2.json",
        r#"{"session_id": "ghost", "timestamp": "2021-01-01T00:00:00Z"}"#,
    );
    let view = hub.json(&["sync"]);
    assert_eq!(ids_of(&view), ["bar", "ghost"], "{view}");
    assert_eq!(view["sessions"][0]["liveness"], "live", "{view}");
    assert_eq!(view["sessions"][1]["last_seen"], "2021-01-01T00:00:00Z");
    assert_eq!(view["counts"]["total"], 2);
}
