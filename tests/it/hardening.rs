//! Issue 10 (hardening): durations, FIFOs where hub files should be, edits that must read
//! back as asked, and secrets (missed kinds, false alarms, doctor's scan).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// Run `cmd`, killing it if it has not exited within `limit`: a hang fails the test
/// instead of hanging the suite.
fn run_within(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "{cmd:?} still running after {limit:?} (blocked); stderr: {}",
                stderr(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

// ---------------------------------------------------------------------------------
// Durations

#[test]
fn zero_and_absurd_durations_are_refused_with_a_usage_error() {
    let hub = TestHub::new();
    let cases: &[&[&str]] = &[
        &["watch", "--healthcheck-every", "0s"],
        &["watch", "--poll", "0s"],
        &["watch", "--poll", "0ms"],
        &["watch", "--tick", "0"],
        &["watch", "--debounce", "0s"],
        &["watch", "--timeout", "0s"],
        &["watch", "--timeout", "999999999d"],
        &["watch", "--healthcheck-every", "3651d"],
        &["--as", "s1", "claim", "k", "--ttl", "0s"],
        &["--as", "s1", "claim", "k", "--wait", "0s"],
        &["prune", "--older-than", "0s"],
        &["msg", "archive", "--before", "0s"],
    ];
    for args in cases {
        let mut cmd = hub.command("sessions");
        cmd.args(*args);
        let out = run_within(cmd, Duration::from_secs(20));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("more than zero")
                || err.contains("at most 3650d")
                || err.contains("invalid"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn zero_durations_in_sessions_toml_are_refused_naming_the_file() {
    let hub = TestHub::new();
    for (toml, line) in [
        ("[claims]\nttl = \"0s\"\n", 2),
        ("[liveness]\n\nlive = 0\n", 3),
        ("[status]\nstale_after = \"99999d\"\n", 2),
    ] {
        hub.write("sessions.toml", toml);
        let out = hub.run(&["status"]);
        assert_ne!(out.status.code(), Some(0), "{toml}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!("sessions.toml:{line}:")),
            "{toml}: {err}"
        );
        assert!(err.contains("invalid duration"), "{toml}: {err}");
    }
}

// ---------------------------------------------------------------------------------
// FIFOs (and other non-files) where hub files should be

#[test]
fn a_fifo_where_a_hub_file_should_be_is_refused_without_blocking() {
    let cases: &[(&str, &[&str])] = &[
        ("MESSAGES.md", &["msg", "list"]),
        (
            "MESSAGES.md",
            &["--as", "s1", "msg", "send", "--to", "all", "hello"],
        ),
        ("MESSAGES.md", &["--as", "s1", "inbox"]),
        ("CURRENT_STATE.md", &["state", "show"]),
        ("CURRENT_STATE.md", &["status"]),
        ("REGISTRY.json", &["sync"]),
        ("sessions.toml", &["status"]),
        ("HEARTBEATS/s1.json", &["--as", "s1", "heartbeat"]),
        ("PRIORITIES/k1.lock", &["--as", "s1", "claim", "k1"]),
        ("web-status.md", &["report", "show", "web"]),
        (
            "web-status.md",
            &["report", "set", "web", "CHECKS", "Auth", "ok"],
        ),
        // The sidecar lock of the board: msg send would block holding nothing.
        (
            ".sessions/locks/MESSAGES.md.lock",
            &["--as", "s1", "msg", "send", "--to", "all", "hi"],
        ),
    ];
    for (file, args) in cases {
        let hub = TestHub::new();
        mkfifo(&hub.path(file));
        let mut cmd = hub.command("sessions");
        cmd.args(*args);
        let out = run_within(cmd, Duration::from_secs(20));
        let err = stderr(&out);
        assert!(!out.status.success(), "{file} / {args:?} succeeded: {err}");
        assert!(
            err.contains("FIFO") && err.contains(file.rsplit('/').next().unwrap()),
            "{file} / {args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        // Nothing replaced the FIFO: the person decides what to do with it.
        let kind = std::fs::symlink_metadata(hub.path(file))
            .unwrap()
            .file_type();
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&kind), "{file}");
    }
}

#[test]
fn doctor_reports_a_fifo_instead_of_hanging() {
    let hub = TestHub::new();
    mkfifo(&hub.path("MESSAGES.md"));
    let mut cmd = hub.command("sessions");
    cmd.args(["--json", "doctor"]);
    let out = run_within(cmd, Duration::from_secs(20));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let text = report.to_string();
    assert!(
        text.contains("MESSAGES.md") && text.contains("FIFO"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------
// Edits read back as asked

#[test]
fn a_status_label_that_reads_back_differently_is_refused_and_nothing_changes() {
    let hub = TestHub::new();
    hub.ok(&["report", "new", "web"]);
    let before = hub.read("web-status.md");
    for args in [
        // Reads back as an ok item "Auth" with note "❌".
        &["report", "set", "web", "CHECKS", "✅ Auth", "fail"][..],
        &["report", "set", "web", "CHECKS", "ok Auth", "fail"][..],
        &["report", "set", "web", "CHECKS", "[done] Auth", "fail"][..],
        // A note holding a list bullet's dash reads back without it.
        &[
            "report",
            "set",
            "web",
            "CHECKS",
            "Auth",
            "fail",
            "--",
            "- see log",
        ][..],
    ] {
        let out = hub.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("would not read back"),
            "{}",
            stderr(&out)
        );
        assert_eq!(
            hub.read("web-status.md"),
            before,
            "{args:?} changed the file"
        );
    }
    // What reads back is written, and reads back as asked.
    hub.ok(&[
        "report",
        "set",
        "web",
        "CHECKS",
        "Auth ✅",
        "fail",
        "token endpoint ✅ down",
    ]);
    let shown = hub.json(&["report", "show", "web"]);
    let item = shown["document"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "Auth ✅")
        .unwrap_or_else(|| panic!("{shown}"));
    assert_eq!(item["marker"], "fail");
    assert_eq!(item["note"], "token endpoint ✅ down");
}

#[test]
fn current_state_text_cannot_plant_or_swallow_a_section() {
    let hub = TestHub::new();
    let before = hub.read("CURRENT_STATE.md");
    for details in [
        "Plan\n## ✅ RECENTLY COMPLETED\n1. **forged item**",
        "Plan\n# A title ends the section",
        "Plan\n```\nan open fence swallows every heading after it",
        "Plan\n---",
    ] {
        let out = hub.run(&[
            "--as",
            "s1",
            "state",
            "priority",
            "Ship it",
            "--details",
            details,
        ]);
        assert_eq!(out.status.code(), Some(2), "{details:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("nothing was written"),
            "{}",
            stderr(&out)
        );
        assert_eq!(
            hub.read("CURRENT_STATE.md"),
            before,
            "{details:?} changed the file"
        );
    }
    // A priority with a line break stays one headline; the sections stay as they were.
    hub.ok(&[
        "--as",
        "s1",
        "state",
        "priority",
        "Ship\n## RECENTLY COMPLETED",
    ]);
    hub.ok(&["--as", "s1", "state", "done", "Release\n## Planted"]);
    let text = hub.read("CURRENT_STATE.md");
    assert_eq!(text.matches("RECENTLY COMPLETED").count(), 2, "{text}"); // heading + headline
    assert!(!text.contains("\n## Planted"), "{text}");
    assert!(!text.contains("\n## RECENTLY COMPLETED\n### "), "{text}");
    let shown = hub.json(&["state", "show"]);
    let titles: Vec<String> = shown["sections"]
        .as_array()
        .unwrap_or_else(|| panic!("{shown}"))
        .iter()
        .map(|s| s["title"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        titles
            .iter()
            .filter(|t| t.contains("RECENTLY COMPLETED"))
            .count(),
        1,
        "{titles:?}"
    );
}

// ---------------------------------------------------------------------------------
// Secrets

/// Token-shaped values built from parts: no such literal sits in the repository.
fn fake(prefix: &str, n: usize) -> String {
    let chars = "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xYz".repeat(8);
    format!("{prefix}{}", &chars[..n])
}

#[test]
fn msg_send_refuses_the_kinds_that_were_missed_and_allows_look_alikes() {
    let hub = TestHub::new();
    let missed = [
        fake(&format!("sk_{}_", "live"), 24),
        fake(&format!("rk_{}_", "live"), 24),
        fake("AI\u{7a}a", 35),
        fake("glpat-", 20),
        format!("{}.{}.{}", fake("eyJ", 20), fake("eyJ", 30), fake("", 25)),
        format!(
            "xapp-1-A0123ABCDE-1234567890123-{}",
            "0a1b2c3d4e5f6a7b8c9d0e1f"
        ),
        fake("npm_", 36),
        format!("hf_{}", "aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH"),
        "-----BEGIN PGP PRIVATE KEY BLOCK-----".to_string(),
        "postgres://user:pass@db.internal:5432/app".to_string(),
        format!("Authorization: Bearer {}", fake("", 32)),
        format!("AccountName=x;AccountKey={}==", fake("", 86)),
    ];
    for secret in &missed {
        let body = format!("deploy notes: {secret}");
        let out = hub.run(&["--as", "s1", "msg", "send", "--to", "all", &body]);
        assert_eq!(out.status.code(), Some(6), "not refused: {secret}");
        assert!(stderr(&out).contains("--allow-secrets"), "{}", stderr(&out));
        assert!(
            !stderr(&out).contains(secret.as_str()),
            "the refusal repeats the secret"
        );
    }
    assert!(
        !hub.read("MESSAGES.md").contains("deploy notes"),
        "a refused message was written"
    );
    // With --allow-secrets it goes through (the person said it is not a secret).
    hub.ok(&[
        "--allow-secrets",
        "--as",
        "s1",
        "msg",
        "send",
        "--to",
        "all",
        &missed[0],
    ]);

    for ordinary in [
        "idempotency key: 3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
        "cache key=build-linux-x86_64",
        "primary key: users_table_id",
        "claim key: milestone-deploy-dashboard",
    ] {
        hub.ok(&["--as", "s1", "msg", "send", "--to", "all", ordinary]);
    }
    let board = hub.read("MESSAGES.md");
    assert!(board.contains("primary key: users_table_id"));
}

#[test]
fn doctor_reports_secrets_already_in_the_hub_without_printing_them() {
    let hub = TestHub::new();
    let token = fake("ghp_", 36);
    let url = "postgres://app:hunter2x@db:5432/prod";
    let mut state = hub.read("CURRENT_STATE.md");
    state.push_str(&format!("\nold note: {token}\n"));
    hub.write("CURRENT_STATE.md", &state);
    let line = state.lines().count();
    hub.write(
        "HEARTBEATS/s9.json",
        &format!("{{\n  \"current_work\": \"db at {url}\"\n}}\n"),
    );
    let out = hub.run(&["--json", "doctor"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        !text.contains(&token[4..]) && !text.contains("hunter2x"),
        "doctor printed a secret"
    );
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    let findings = report["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{report}"));
    let secrets: Vec<_> = findings.iter().filter(|f| f["kind"] == "secret").collect();
    assert_eq!(secrets.len(), 2, "{report}");
    let in_state = secrets
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("CURRENT_STATE.md"))
        .unwrap();
    assert_eq!(in_state["line"], line);
    assert!(
        in_state["message"]
            .as_str()
            .unwrap()
            .contains("github-token")
    );
    let in_heartbeat = secrets
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("s9.json"))
        .unwrap();
    assert_eq!(in_heartbeat["line"], 2);
    assert!(
        in_heartbeat["message"]
            .as_str()
            .unwrap()
            .contains("url-credentials")
    );
    // Human output names file:line and the rule too.
    let human = stdout(&hub.run(&["doctor"])) + &stderr(&hub.run(&["doctor"]));
    assert!(
        human.contains("CURRENT_STATE.md") && human.contains("github-token"),
        "{human}"
    );
    assert!(!human.contains(&token[4..]));
}

#[test]
fn a_zero_lease_length_in_a_lock_file_is_not_used_by_renew() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "claim", "k1", "--ttl", "10m"]);
    let mut lock = hub.read_json("PRIORITIES/k1.lock");
    lock["ttl_seconds"] = serde_json::json!(0);
    hub.write(
        "PRIORITIES/k1.lock",
        &serde_json::to_string_pretty(&lock).unwrap(),
    );
    hub.ok(&["--as", "s1", "renew", "k1"]);
    let lock = hub.read_json("PRIORITIES/k1.lock");
    let claimed =
        chrono::DateTime::parse_from_rfc3339(lock["claimed_at"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(lock["expires_at"].as_str().unwrap()).unwrap();
    // The hub's default lease (30m), not a lease that is over as it starts.
    assert!(expires - claimed >= chrono::Duration::minutes(29), "{lock}");
}
