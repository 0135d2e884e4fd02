//! Issue 5: status documents, touch signals, healthcheck.

use std::collections::BTreeSet;
use std::process::Command;

use crate::support::*;

const HAND_WRITTEN: &str = "## INFRA STATUS - 2025-11-15 19:28:00 UTC\n\nWritten by hand; this line is kept.\n\n**SERVICES:**\n- API: ✅ running on :8080\n- Database: ⏳ migrating\n*   **Cache**: fail evicting   \n\n**DEPENDENCIES:**\n- Auth service: ❌ token endpoint down\n\n**ACTIONS REQUISES:**\n- [ ] Rotate the certificates\n- [x] Deploy v2\n\n**NEXT SESSION:** session-2-infra\n\n<!-- trailing comment -->\n";

fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split_inclusive(|b| *b == b'\n').collect()
}

#[test]
fn editing_one_item_changes_only_its_line_and_the_timestamp() {
    let hub = TestHub::new();
    hub.write("infra-status.md", HAND_WRITTEN);
    let before = std::fs::read(hub.path("infra-status.md")).unwrap();
    hub.ok(&[
        "report", "set", "infra", "services", "database", "ok", "migrated",
    ]);
    let after = std::fs::read(hub.path("infra-status.md")).unwrap();
    let (b, a) = (lines(&before), lines(&after));
    assert_eq!(b.len(), a.len(), "no line added or removed");
    let changed: Vec<usize> = (0..b.len()).filter(|&i| b[i] != a[i]).collect();
    assert_eq!(
        changed,
        vec![0, 6],
        "only the header and the Database line differ"
    );
    assert_eq!(a[6], "- Database: ✅ migrated\n".as_bytes());
    assert!(String::from_utf8_lossy(a[0]).starts_with("## INFRA STATUS - 20"));
    // The signal was touched.
    assert!(hub.path(".infra-updated").exists());

    // Ticking an action and setting NEXT SESSION each change one line too.
    let before = after;
    hub.ok(&["report", "action", "infra", "done", "rotate"]);
    hub.ok(&["report", "next", "infra", "session-3"]);
    let after = std::fs::read(hub.path("infra-status.md")).unwrap();
    let (b, a) = (lines(&before), lines(&after));
    // (line 0, the timestamp, may or may not differ within the same second)
    let changed: Vec<usize> = (1..b.len()).filter(|&i| b[i] != a[i]).collect();
    assert_eq!(changed, vec![13, 16]);
    assert_eq!(a[13], b"- [x] Rotate the certificates\n");
    assert_eq!(a[16], b"**NEXT SESSION:** session-3\n");
}

#[test]
fn hand_written_variations_parse_and_unknown_lines_are_ignored() {
    let hub = TestHub::new();
    hub.write(
        "web-status.md",
        "# Web status: 2025-11-15T19:28:00Z\n\nnotes nobody parses\n\n### Build\n- ✅ Compile: clean\n- Tests 🔄 rerunning\n- Lint: wip\n\nDEPENDENCIES:\n- API: ok\n\nACTIONS REQUIRED:\n* [X] ship\n* [ ] announce\n\nNEXT SESSION:\n- s3\n",
    );
    let v = hub.json(&["report", "show", "web"]);
    let s = &v["summary"];
    assert_eq!(s["ok"], 2);
    assert_eq!(s["sync"], 1);
    assert_eq!(s["wip"], 1);
    assert_eq!(s["open_actions"], 1);
    assert_eq!(s["done_actions"], 1);
    assert_eq!(s["next_session"], "s3");
    assert_eq!(s["updated_at"], "2025-11-15T19:28:00Z");
    assert_eq!(v["document"]["items"][0]["label"], "Compile");
}

#[test]
fn report_new_uses_templates_and_rollup_lists_every_file() {
    let hub = TestHub::new();
    for (p, t) in [
        ("infra", "infrastructure"),
        ("leads", "prospecting"),
        ("misc", "generic"),
    ] {
        hub.ok(&["report", "new", p, "--template", t]);
    }
    // Templates are not copied into new hubs.
    assert!(!hub.path("status-templates").exists());
    let again = hub.run(&["report", "new", "infra"]);
    assert_eq!(
        again.status.code(),
        Some(1),
        "existing file is not replaced"
    );
    hub.ok(&[
        "report",
        "set",
        "infra",
        "dependencies",
        "DNS",
        "❌",
        "registrar down",
    ]);
    let roll = hub.json(&["report", "show"]);
    let files = roll["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(files[0]["project"], "infra");
    assert_eq!(files[0]["blocked"], true);
    assert_eq!(files[0]["fail"], 1);
    let failing = hub.json(&["report", "failing"]);
    assert_eq!(failing["failing"][0]["project"], "infra");
    assert_eq!(failing["failing"].as_array().unwrap().len(), 1);
    let text = hub.ok(&["report", "show"]);
    assert!(text.contains("BLOCKED"), "{text}");
}

#[test]
fn eight_processes_setting_different_items_lose_no_update() {
    let hub = TestHub::new();
    hub.write("race-status.md", HAND_WRITTEN);
    for round in 0..100 {
        run_all_at_once((0..8).map(|p| {
            let mut cmd = hub.command("sessions");
            cmd.args(["report", "set", "race", "workers"])
                .arg(format!("worker-{p}"))
                .arg("wip")
                .arg(format!("round-{round}"));
            cmd
        }));
        let v = hub.json(&["report", "show", "race"]);
        let items = v["document"]["items"].as_array().unwrap();
        for p in 0..8 {
            let label = format!("worker-{p}");
            let item = items
                .iter()
                .find(|i| i["label"] == label.as_str())
                .unwrap_or_else(|| panic!("round {round}: {label} lost"));
            assert_eq!(item["note"], format!("round-{round}"), "round {round}");
        }
        assert_eq!(items.len(), 4 + 8, "round {round}: no duplicate items");
    }
    // The hand-written part survived every rewrite.
    let text = hub.read("race-status.md");
    assert!(text.contains("Written by hand; this line is kept.\n"));
    assert!(text.ends_with("<!-- trailing comment -->\n"));
}

#[test]
fn secret_in_a_status_value_is_refused_and_the_file_left_unchanged() {
    let hub = TestHub::new();
    hub.write("infra-status.md", HAND_WRITTEN);
    let before = std::fs::read(hub.path("infra-status.md")).unwrap();
    let secret = format!("sk-ant-api03-{}", "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8");
    hub.cli(["report", "set", "infra", "services", "API", "ok", &secret])
        .fails(6)
        .stderr_has("Anthropic");
    let out = hub.run(&[
        "report",
        "action",
        "infra",
        "add",
        &format!("use API_KEY={}", "Zk3m9Qx7Lp2Vb8Nw4Rt6Yh1Jd5"),
    ]);
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(std::fs::read(hub.path("infra-status.md")).unwrap(), before);
    assert!(
        !hub.path(".infra-updated").exists(),
        "no signal for a refused edit"
    );
}

#[test]
fn healthcheck_flags_stale_blocked_and_missing_parts() {
    let hub = TestHub::new();
    hub.write("infra-status.md", HAND_WRITTEN); // ❌ dependency, 2025 timestamp
    hub.write(
        "bare-status.md",
        "## BARE STATUS\n\n**WORK:**\n- Thing: ✅\n",
    );
    let out = hub
        .command("sessions")
        .args(["--json", "healthcheck"])
        .env("SESSIONS_NOW", "2025-11-15T19:40:00Z")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: BTreeSet<String> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}:{}",
                p["project"].as_str().unwrap(),
                p["kind"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "bare:missing_next_session".to_string(),
            "bare:missing_timestamp".to_string(),
            "infra:blocked".to_string(),
        ])
    );
    let blocked = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "blocked")
        .unwrap();
    assert_eq!(blocked["blocked_session"], "session-2-infra");
    assert_eq!(blocked["dependency"], "Auth service");

    // An hour later the infra file is stale too (30 min default, configurable).
    let out = hub
        .command("healthcheck-sync")
        .env("SESSIONS_NOW", "2025-11-15T20:30:00Z")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("[stale]"), "{}", stdout(&out));
    let out = hub
        .command("sessions")
        .args(["healthcheck", "--stale-after", "2h"])
        .env("SESSIONS_NOW", "2025-11-15T20:30:00Z")
        .output()
        .unwrap();
    assert!(!stdout(&out).contains("[stale]"));

    // Fixed, it passes.
    std::fs::remove_file(hub.path("bare-status.md")).unwrap();
    hub.ok(&[
        "report",
        "set",
        "infra",
        "dependencies",
        "auth service",
        "ok",
    ]);
    let v = hub.json(&["healthcheck"]);
    assert_eq!(v["ok"], true);
}

#[test]
fn signals_list_consume_and_follow_per_session() {
    let hub = TestHub::new();
    hub.write("infra-status.md", HAND_WRITTEN);
    hub.ok(&["signal", "infra", "web"]);
    let v = hub.json(&["signals"]);
    let names: Vec<_> = v["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["infra", "web"]);
    // Two sessions each see each touch once.
    for who in ["s1", "s2"] {
        let v = hub.json(&["--as", who, "signals", "--new"]);
        assert_eq!(v["signals"].as_array().unwrap().len(), 2, "{who}");
        let v = hub.json(&["--as", who, "signals", "--new"]);
        assert_eq!(v["signals"].as_array().unwrap().len(), 0, "{who} again");
    }
    std::thread::sleep(std::time::Duration::from_millis(20));
    hub.ok(&["signal", "web"]);
    let v = hub.json(&["--as", "s1", "signals", "--new"]);
    assert_eq!(v["signals"][0]["name"], "web");
    // Destructive consume prints the status file.
    let out = hub.ok(&["consume", "infra"]);
    assert_eq!(
        out.trim(),
        hub.path("infra-status.md").display().to_string()
    );
    assert_eq!(hub.run(&["consume", "infra"]).status.code(), Some(1));
    assert_eq!(hub.run(&["signal", "../x"]).status.code(), Some(2));
}

#[test]
fn two_destructive_consumers_never_take_the_same_signal() {
    let hub = TestHub::new();
    let names: Vec<String> = (0..150).map(|i| format!("sig{i}")).collect();
    let mut args = vec!["signal"];
    args.extend(names.iter().map(String::as_str));
    hub.ok(&args);
    let list = names.join(" ");
    let consumers: Vec<_> = ["a", "b"]
        .iter()
        .map(|who| {
            let log = hub.root.with_file_name(format!("taken-{who}.log"));
            let script = format!(
                "for n in {list}; do \"$BIN\" consume \"$n\" >/dev/null 2>&1 && echo \"$n\" >> '{}'; done; true",
                log.display()
            );
            let mut cmd = Command::new("sh");
            cmd.arg("-c")
                .arg(script)
                .env("BIN", bin("sessions"))
                .env("SESSIONS_HUB", &hub.root);
            (cmd.spawn().unwrap(), log)
        })
        .collect();
    let mut all = Vec::new();
    for (mut child, log) in consumers {
        assert!(child.wait().unwrap().success());
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        all.extend(text.lines().map(str::to_string));
    }
    let unique: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), names.len(), "each signal taken exactly once");
    assert_eq!(unique.len(), names.len());
    assert_eq!(
        hub.json(&["signals"])["signals"].as_array().unwrap().len(),
        0
    );
}

#[test]
fn status_files_and_signals_symlinked_outside_the_folder_are_refused() {
    let hub = TestHub::new();
    let outside = hub.root.with_file_name("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let private = outside.join("private-status.md");
    std::fs::write(
        &private,
        "## PRIVATE STATUS - 2025-11-15T19:28:00Z\n- Key: ✅ hush\n",
    )
    .unwrap();
    let before = std::fs::read(&private).unwrap();
    std::os::unix::fs::symlink(&private, hub.path("leak-status.md")).unwrap();
    let touched = outside.join("stamp");
    std::fs::write(&touched, "").unwrap();
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    std::fs::File::options()
        .write(true)
        .open(&touched)
        .unwrap()
        .set_modified(old)
        .unwrap();
    std::os::unix::fs::symlink(&touched, hub.path(".stamp-updated")).unwrap();

    for args in [
        &["report", "show", "leak"][..],
        &["report", "set", "leak", "services", "API", "ok"],
        &["report", "next", "leak", "s2"],
        &["signal", "stamp"],
    ] {
        let out = hub.run(args);
        assert_eq!(out.status.code(), Some(6), "{args:?}: {}", stdout(&out));
        assert!(!stdout(&out).contains("hush"), "{args:?} leaked the file");
    }
    let show = hub.json(&["report", "show"]).to_string();
    assert!(
        !show.contains("hush") && !show.contains("\"ok\":1"),
        "{show}"
    );
    assert_eq!(std::fs::read(&private).unwrap(), before);
    assert!(
        std::fs::symlink_metadata(hub.path("leak-status.md"))
            .unwrap()
            .is_symlink()
    );
    let mtime = std::fs::metadata(&touched).unwrap().modified().unwrap();
    assert_eq!(mtime, old, "the signal touched a file outside the hub");
}

#[test]
fn a_label_or_section_that_cannot_round_trip_is_refused() {
    // A label with `:` reads back as another label (each set added one more line); a
    // newline in a label or section wrote extra lines into the file.
    let hub = TestHub::new();
    hub.write("infra-status.md", HAND_WRITTEN);
    let before = std::fs::read(hub.path("infra-status.md")).unwrap();
    for (section, label) in [
        ("services", "a:b"),
        ("services", "x\n- Evil: ✅ injected"),
        ("new\n- Sec: ✅", "y"),
    ] {
        hub.cli(["report", "set", "infra", section, label, "ok"])
            .fails(2);
    }
    assert_eq!(std::fs::read(hub.path("infra-status.md")).unwrap(), before);
}

#[test]
fn report_failing_names_a_file_it_cannot_read() {
    // The old `grep -l "❌"` listed such a file; a silent exit 1 ("none failing") hid it.
    let hub = TestHub::new();
    std::fs::write(
        hub.path("bad-status.md"),
        b"\xff\xfe\n- API: \xe2\x9d\x8c\n",
    )
    .unwrap();
    let out = hub.run(&["report", "failing"]);
    assert!(stderr(&out).contains("bad-status.md"), "{}", stderr(&out));
    let v = hub.json_status(&["report", "failing"], out.status.code().unwrap());
    assert_eq!(
        v["errors"][0]["file"].as_str().unwrap(),
        hub.path("bad-status.md").to_str().unwrap()
    );
}

#[test]
fn an_empty_action_text_is_refused() {
    // `done ""` matched every open action (and ticked the only one); `add ""` wrote an
    // empty checkbox.
    let hub = TestHub::new();
    hub.write("infra-status.md", HAND_WRITTEN);
    let before = std::fs::read(hub.path("infra-status.md")).unwrap();
    for verb in ["done", "add"] {
        hub.cli(["report", "action", "infra", verb, " "]).fails(2);
    }
    assert_eq!(std::fs::read(hub.path("infra-status.md")).unwrap(), before);
}

#[test]
fn healthcheck_of_a_folder_that_does_not_exist_is_not_healthy() {
    // A mistyped folder reported "healthy: 0 status file(s)" and exit 0.
    let hub = TestHub::new();
    let missing = hub.root.with_file_name("no-such-sync");
    let out = hub
        .command("healthcheck-sync")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("no-such-sync"), "{}", stderr(&out));
    hub.cli(["healthcheck", "--dir", missing.to_str().unwrap()])
        .fails(1);
    // An empty folder, and the fixture hub (no status files at all), are healthy.
    let empty = hub.root.with_file_name("empty-sync");
    std::fs::create_dir_all(&empty).unwrap();
    hub.ok(&["healthcheck", "--dir", empty.to_str().unwrap()]);
    TestHub::fixture().ok(&["healthcheck"]);
}

#[test]
fn a_file_saved_with_a_byte_order_mark_keeps_its_header() {
    // The header after a BOM was not recognised: an edit put a second header on top.
    let hub = TestHub::new();
    let text = format!("\u{feff}{HAND_WRITTEN}");
    hub.write("infra-status.md", &text);
    hub.ok(&["report", "set", "infra", "services", "API", "wip"]);
    let after = hub.read("infra-status.md");
    assert_eq!(after.matches("STATUS").count(), 1, "{after}");
    assert!(after.starts_with("\u{feff}## INFRA STATUS - "), "{after}");
    assert_eq!(lines(after.as_bytes()).len(), lines(text.as_bytes()).len());
    let v = hub.json(&["report", "show", "infra"]);
    assert_eq!(v["document"]["header_project"], "INFRA");
}

#[test]
fn a_private_folder_symlinked_outside_is_refused_for_status_edits_and_signals() {
    let hub = TestHub::new();
    hub.ok(&["report", "new", "infra"]);
    let outside = tempfile::tempdir().unwrap();
    let private = hub.path(".sessions");
    std::fs::remove_dir_all(&private).unwrap();
    std::os::unix::fs::symlink(outside.path(), &private).unwrap();
    hub.cli(["report", "set", "infra", "SERVICES", "API", "ok"])
        .fails(6);
    hub.cli(["--as", "s1", "signals", "--new"]).fails(6);
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        0,
        "something was written outside the hub"
    );
}
