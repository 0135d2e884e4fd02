//! Sessions: registering, heartbeats and liveness, matching and finding help,
//! identity handshakes and consensus (split out of foundation.rs).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::support::*;

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
    let mut rng = Rng::seeded(0x9e37_79b9_7f4a_7c15);
    // Temp files of the registry a killed writer left behind: each one is a kill that
    // landed mid-write (after the new registry's temp file was created, before the
    // rename that publishes it).
    let registry_temps = |hub: &TestHub| -> BTreeSet<String> {
        std::fs::read_dir(&hub.root)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".REGISTRY.json.") && n.ends_with(".tmp"))
            .collect()
    };
    let mut left_behind = BTreeSet::new();
    let mut mid_write = 0;
    for round in 0..200 {
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
        if round % 2 == 0 {
            // Half the kills aim at the write: the moment its temp file appears.
            while registry_temps(&hub).len() == left_behind.len()
                && child.try_wait().unwrap().is_none()
            {}
        } else {
            std::thread::sleep(Duration::from_micros(rng.below(6000)));
        }
        let _ = child.kill();
        let _ = child.wait();
        let temps = registry_temps(&hub);
        if temps.len() > left_behind.len() {
            mid_write += 1;
        }
        left_behind = temps;
        let text = hub.read("REGISTRY.json");
        let reg: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("round {round}: torn registry: {e}"));
        let n = reg["sessions"].as_object().unwrap().len();
        assert!(
            (3000..=3000 + round + 1).contains(&n),
            "round {round}: {n} entries"
        );
    }
    assert!(
        mid_write >= 40,
        "only {mid_write} of 200 kills landed mid-write"
    );
    eprintln!("{mid_write} of 200 kills landed mid-write");
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
    assert_same_tree(&before, &tree(&hub.root));
}

#[test]
fn proposing_an_id_too_long_for_its_proposal_writes_nothing() {
    let hub = TestHub::new();
    let long = "a".repeat(125);
    let before = tree(&hub.root);
    hub.cli(["--as", &long, "handshake", "propose", &long])
        .fails(2);
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
        // Zero is refused by the one duration rule before prune looks at liveness.
        let why = if age == "0" { "more than zero" } else { "live" };
        hub.cli(["prune", "--older-than", age])
            .fails(2)
            .stderr_has(why);
    }
    assert!(hub.path("HEARTBEATS/s1.json").exists());
    hub.ok(&["prune", "--older-than", "5m"]);
    assert!(hub.path("HEARTBEATS/s1.json").exists());
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
