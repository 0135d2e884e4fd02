//! Issue 2: storage, hub discovery, sessions and liveness, handshakes, CURRENT_STATE.md,
//! quick-status, drop-ins.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::*;

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
            // A refused claim spends no fencing token (private state in .sessions/).
            vec!["--as", "ok-id", "claim", bad],
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
    // Nobody here has a UI capability: the drop-in says what it looked for, and that
    // nobody matches (exit 1).
    hub.cli_bin("session-capability-match", ["Build a new dashboard UI"])
        .fails(1)
        .stdout_has("Looking for: dashboard, frontend")
        .stdout_has("No session matches");
    let out = run("session-vote", &["only-one-arg"]);
    assert_eq!(out.status.code(), Some(1), "the original's usage exit");
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
    hub.cli(["status"]).fails(6);
    hub.cli(["--as", "s1", "register"]).fails(6);
    assert_eq!(
        std::fs::read_to_string(&secret).unwrap(),
        r#"{"sessions": {"intruder": {"id": "intruder"}}}"#
    );
    std::fs::remove_file(hub.path("REGISTRY.json")).unwrap();

    hub.ok(&["--as", "s1", "handshake", "propose", "s1"]);
    let votes = hub.path("HANDSHAKES/s1-identity/votes");
    std::fs::remove_dir_all(&votes).unwrap();
    std::os::unix::fs::symlink(outside.path(), &votes).unwrap();
    hub.cli(["--as", "s2", "handshake", "vote", "s1-identity", "agree"])
        .fails(6);
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
    let out = demo(&["--keep", "--verbose"]);
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
        hub.cli(["--as", "s1", "heartbeat", "--work", &text])
            .fails(6);
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
    hub.cli(["--as", "s1", "register"]).fails(6);
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        0,
        "locks were made outside the hub"
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
