//! Issue 5: `sessions watch` with real processes: signals consumed exactly once, the
//! hub deleted and recreated, a burst of 10,000 file events, messages, claims.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

const DEADLINE: Duration = Duration::from_secs(30);

/// A running `sessions --json watch ...`, killed when dropped (even on panic).
struct Watcher {
    child: Child,
    events: Arc<Mutex<Vec<Value>>>,
    notes: Arc<Mutex<Vec<String>>>,
}

impl Watcher {
    fn start(hub: &TestHub, args: &[&str]) -> Watcher {
        Watcher::start_as(hub, None, args)
    }

    fn start_as(hub: &TestHub, me: Option<&str>, args: &[&str]) -> Watcher {
        let mut cmd = hub.command("sessions");
        if let Some(me) = me {
            cmd.args(["--as", me]);
        }
        let mut child = cmd
            .args(["--json", "watch"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the watcher");
        let events = Arc::new(Mutex::new(Vec::new()));
        let notes = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let ev = events.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("watch printed a non-JSON line {line:?}: {e}"));
                ev.lock().unwrap().push(v);
            }
        });
        let no = notes.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                no.lock().unwrap().push(line);
            }
        });
        let w = Watcher {
            child,
            events,
            notes,
        };
        w.wait_until("the watcher to be ready", || {
            w.notes
                .lock()
                .unwrap()
                .iter()
                .any(|n| n.contains("watching"))
        });
        w
    }

    fn wait_until(&self, what: &str, mut f: impl FnMut() -> bool) {
        let start = Instant::now();
        while !f() {
            assert!(
                start.elapsed() < DEADLINE,
                "timed out waiting for {what}; notes: {:?}; events: {:?}",
                self.notes.lock().unwrap(),
                self.events.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn events(&self) -> Vec<Value> {
        self.events.lock().unwrap().clone()
    }

    fn signals_seen(&self) -> Vec<String> {
        self.events()
            .iter()
            .filter(|e| e["kind"] == "signal")
            .map(|e| e["signal"].as_str().unwrap().to_string())
            .collect()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Touch `names` from `procs` concurrent processes, each calling `sessions signal`
/// with batches of 25 names.
fn touch_from_processes(hub: &TestHub, names: &[String], procs: usize) {
    let children: Vec<_> = (0..procs)
        .map(|p| {
            let mine: Vec<&String> = names.iter().skip(p).step_by(procs).collect();
            let batches: Vec<String> = mine
                .chunks(25)
                .map(|c| c.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "))
                .collect();
            let script = batches
                .iter()
                .map(|b| format!("\"$BIN\" signal {b} >/dev/null || exit 1"))
                .collect::<Vec<_>>()
                .join("\n");
            Command::new("sh")
                .arg("-c")
                .arg(script)
                .env("BIN", bin("sessions"))
                .env("SESSIONS_HUB", &hub.root)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
}

#[test]
fn watcher_with_consume_handles_each_of_1000_signals_exactly_once() {
    let hub = TestHub::new();
    let log = hub.root.with_file_name("handled.log");
    let exec = format!("echo \"$SESSIONS_SIGNAL\" >> '{}'", log.display());
    let w = Watcher::start(&hub, &["--kind", "signal", "--consume", "--exec", &exec]);
    let names: Vec<String> = (0..1000).map(|i| format!("sig-{i}")).collect();
    touch_from_processes(&hub, &names, 8);
    w.wait_until("1000 handled signals", || log_lines(&log).len() >= 1000);
    // Give a double a chance to show up before counting.
    std::thread::sleep(Duration::from_millis(300));
    let handled = log_lines(&log);
    let unique: BTreeSet<_> = handled.iter().cloned().collect();
    assert_eq!(handled.len(), 1000, "each signal handled exactly once");
    assert_eq!(unique, names.iter().cloned().collect());
    assert_eq!(w.signals_seen().len(), 1000);
    assert_eq!(
        hub.json(&["signals"])["signals"].as_array().unwrap().len(),
        0,
        "every signal consumed"
    );
}

#[test]
fn two_consuming_watchers_never_handle_the_same_signal() {
    let hub = TestHub::new();
    let logs: Vec<_> = ["a", "b"]
        .iter()
        .map(|w| hub.root.with_file_name(format!("{w}.log")))
        .collect();
    let watchers: Vec<Watcher> = logs
        .iter()
        .map(|log| {
            let exec = format!("echo \"$SESSIONS_SIGNAL\" >> '{}'", log.display());
            Watcher::start(&hub, &["--kind", "signal", "--consume", "--exec", &exec])
        })
        .collect();
    let names: Vec<String> = (0..300).map(|i| format!("shared-{i}")).collect();
    touch_from_processes(&hub, &names, 4);
    let total = || logs.iter().map(|l| log_lines(l).len()).sum::<usize>();
    watchers[0].wait_until("300 handled signals", || total() >= 300);
    std::thread::sleep(Duration::from_millis(300));
    let all: Vec<String> = logs.iter().flat_map(|l| log_lines(l)).collect();
    let unique: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), 300, "no signal handled by both watchers");
    assert_eq!(unique.len(), 300);
}

#[test]
fn a_failed_command_puts_the_signal_back() {
    let hub = TestHub::new();
    let w = Watcher::start(
        &hub,
        &[
            "--kind",
            "signal",
            "--consume",
            "--exec",
            "exit 3",
            "--once",
        ],
    );
    hub.ok(&["signal", "infra"]);
    w.wait_until("one signal event", || !w.signals_seen().is_empty());
    let mut w = w;
    let status = w.child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "--once reports the failed command");
    assert!(hub.path(".infra-updated").exists(), "signal restored");

    // A watcher that keeps running does not retry the failing command in a loop ...
    let w = Watcher::start(&hub, &["--kind", "signal", "--consume", "--exec", "exit 3"]);
    w.wait_until("the pending signal", || w.signals_seen().len() == 1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(w.signals_seen().len(), 1, "no retry loop");
    // ... but a new touch is a new event.
    std::thread::sleep(Duration::from_millis(20));
    hub.ok(&["signal", "infra"]);
    w.wait_until("the new touch", || w.signals_seen().len() == 2);
}

#[test]
fn watcher_keeps_working_after_the_hub_is_deleted_and_recreated() {
    let hub = TestHub::new();
    let w = Watcher::start(&hub, &["--kind", "signal,status"]);
    hub.ok(&["signal", "before"]);
    w.wait_until("the first signal", || {
        w.signals_seen().contains(&"before".to_string())
    });
    std::fs::remove_dir_all(&hub.root).unwrap();
    w.wait_until("the watcher to notice", || {
        w.notes
            .lock()
            .unwrap()
            .iter()
            .any(|n| n.contains("removed"))
    });
    let out = hub
        .command("sessions")
        .arg("init")
        .arg(&hub.root)
        .output()
        .unwrap();
    assert!(out.status.success());
    hub.ok(&["signal", "after"]);
    hub.write(
        "web-status.md",
        "## WEB STATUS - 2025-11-15T19:28:00Z\n\n**BUILD:**\n- Compile: ⏳\n",
    );
    w.wait_until("the signal touched in the new hub", || {
        w.signals_seen().contains(&"after".to_string())
    });
    // And it keeps reacting to later changes in the new hub.
    hub.ok(&["report", "set", "web", "build", "compile", "ok"]);
    w.wait_until("the status change in the new hub", || {
        w.events()
            .iter()
            .any(|e| e["kind"] == "status" && e["label"] == "Compile" && e["to"] == "ok")
    });
}

/// Write `text` the way editors save: a temp file renamed over the target.
fn save_by_rename(path: &Path, text: &str) {
    let tmp = path.with_file_name(".edit.swp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn after_a_burst_of_10000_file_events_the_watcher_reports_the_true_final_state() {
    let hub = TestHub::new();
    let status = hub.path("burst-status.md");
    let doc = |marker: &str, note: &str| {
        format!(
            "## BURST STATUS - 2025-11-15T19:28:00Z\n\n**WORK:**\n- Counter: {marker} {note}\n- Other: ✅\n\n**NEXT SESSION:** s2\n"
        )
    };
    save_by_rename(&status, &doc("⏳", "start"));
    let w = Watcher::start(&hub, &["--kind", "signal,status"]);
    // Freeze the watcher during the burst, so the kernel's inotify queue (16,384 events
    // by default) overflows and the watcher must rescan rather than replay events.
    let pid = w.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .unwrap()
            .success()
    );
    // 3,000 rewrites by rename (each several inotify events) ...
    for i in 0..3000 {
        save_by_rename(&status, &doc("⏳", &format!("n{i}")));
    }
    save_by_rename(&status, &doc("✅", "final"));
    // ... and signals created, all but 100 deleted again: enough that their creations
    // and deletions alone (one event each at least, distinct names are never merged)
    // outnumber the kernel's queue, so it must overflow while the watcher is stopped.
    let queue: usize = std::fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
        .map_or(16_384, |s| s.trim().parse().unwrap());
    let signals = (queue / 2 + 1000).max(3000);
    for i in 0..signals {
        std::fs::write(hub.path(&format!(".b{i}-updated")), "").unwrap();
    }
    for i in 0..signals - 100 {
        std::fs::remove_file(hub.path(&format!(".b{i}-updated"))).unwrap();
    }
    assert!(
        Command::new("kill")
            .args(["-CONT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let remaining: BTreeSet<String> = (signals - 100..signals).map(|i| format!("b{i}")).collect();
    w.wait_until("the final state", || {
        let events = w.events();
        let last_counter = events
            .iter()
            .rfind(|e| e["kind"] == "status" && e["label"] == "Counter")
            .cloned();
        let seen: BTreeSet<String> = w.signals_seen().into_iter().collect();
        last_counter.is_some_and(|e| e["to"] == "ok" && e["note"] == "final")
            && remaining.is_subset(&seen)
    });
    // The overflow happened and was answered by a rescan (the hub was never removed,
    // the other reason to rescan). Its note goes to stderr, read by another thread
    // than the events: wait for it rather than count what has arrived so far.
    w.wait_until("the rescan after the overflow", || {
        w.notes.lock().unwrap().iter().any(|n| n.contains("rescan"))
    });
    let rescans = w
        .notes
        .lock()
        .unwrap()
        .iter()
        .filter(|n| n.contains("rescan"))
        .count();
    eprintln!("burst: {} events, {rescans} rescans", w.events().len());
    // The rescan reports the final state only.
    let seen: BTreeSet<String> = w.signals_seen().into_iter().collect();
    assert_eq!(seen, remaining, "only the signals that still exist");
    // No event claims a state that never held at the end: `Other` never changed.
    assert!(
        !w.events().iter().any(|e| e["label"] == "Other"),
        "Other never changed"
    );
}

#[test]
fn watch_once_exits_on_the_first_message_addressed_to_me() {
    let hub = TestHub::new();
    let mut w = Watcher::start_as(&hub, Some("s2"), &["--once", "--kind", "message"]);
    let board = hub.path("MESSAGES.md");
    let append = |text: &str| {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&board)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    };
    append("\n---\n\n**ID:** m-1\n**From:** s1\n**To:** s3\n\n### not yours\n\nbody\n");
    std::thread::sleep(Duration::from_millis(200));
    assert!(w.events().is_empty(), "a message to s3 is not for s2");
    append(
        "\n---\n\n**ID:** m-2\n**From:** s1\n**To:** s2\n**Time:** 2025-11-15T19:28:00Z\n\n### for you\n\nbody\n",
    );
    let start = Instant::now();
    let status = loop {
        if let Some(s) = w.child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < DEADLINE, "watch --once did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
    w.wait_until("the event", || !w.events().is_empty());
    let e = &w.events()[0];
    assert_eq!(e["message_id"], "m-2");
    assert_eq!(e["sender"], "s1");
    assert_eq!(e["subject"], "for you");
    // The event carries the text, and the recipients as a list.
    assert_eq!(e["text"], "body", "{e}");
    assert_eq!(e["recipients"], serde_json::json!(["s2"]), "{e}");
}

#[test]
fn watch_reports_claims_milestones_and_sessions() {
    let hub = TestHub::new();
    let w = Watcher::start(&hub, &["--tick", "200ms"]);
    let soon = chrono::Utc::now() + chrono::Duration::seconds(1);
    hub.write(
        "PRIORITIES/milestone-m1.lock",
        &serde_json::json!({
            "session_id": "s1", "milestone_id": "m1", "type": "milestone",
            "claimed_at": chrono::Utc::now().to_rfc3339(), "expires_at": soon.to_rfc3339()
        })
        .to_string(),
    );
    w.wait_until("claim_taken", || {
        w.events()
            .iter()
            .any(|e| e["kind"] == "claim_taken" && e["holder"] == "s1")
    });
    w.wait_until("claim_expired", || {
        w.events()
            .iter()
            .any(|e| e["kind"] == "claim_expired" && e["key"] == "milestone-m1")
    });
    std::fs::remove_file(hub.path("PRIORITIES/milestone-m1.lock")).unwrap();
    w.wait_until("claim_released", || {
        w.events().iter().any(|e| e["kind"] == "claim_released")
    });
    let ms = |p: u8| {
        serde_json::json!({"milestone_id": "m1", "title": "M one", "status": "in_progress", "progress": p})
            .to_string()
    };
    hub.write("MILESTONES/m1.json", &ms(10));
    w.wait_until("milestone created", || {
        w.events()
            .iter()
            .any(|e| e["kind"] == "milestone" && e["progress"] == 10)
    });
    save_by_rename(&hub.path("MILESTONES/m1.json"), &ms(60));
    w.wait_until("milestone progress", || {
        w.events().iter().any(|e| {
            e["kind"] == "milestone" && e["progress"] == 60 && e["from"] == "in_progress 10%"
        })
    });
    hub.ok(&["--as", "s9", "register", "--name", "Nine"]);
    w.wait_until("session_appeared", || {
        w.events()
            .iter()
            .any(|e| e["kind"] == "session_appeared" && e["session"] == "s9")
    });
    let kinds: BTreeMap<String, usize> = w.events().iter().fold(BTreeMap::new(), |mut m, e| {
        *m.entry(e["kind"].as_str().unwrap().to_string())
            .or_default() += 1;
        m
    });
    assert_eq!(kinds["claim_taken"], 1, "{kinds:?}");
    assert_eq!(kinds["claim_expired"], 1, "{kinds:?}");
}

#[test]
fn a_lock_file_caught_mid_edit_is_not_a_released_claim() {
    let hub = TestHub::new();
    let lock = |holder: &str, key: &str| {
        serde_json::json!({
            "session_id": holder, "milestone_id": key, "type": "milestone",
            "claimed_at": chrono::Utc::now().to_rfc3339()
        })
        .to_string()
    };
    hub.write("PRIORITIES/milestone-m1.lock", &lock("s1", "m1"));
    let w = Watcher::start(&hub, &["--tick", "200ms"]);
    // Half-written by hand (or by an old script), then a second claim as the marker
    // that the watcher has looked at the folder since.
    hub.write("PRIORITIES/milestone-m1.lock", "{\"session_id\": \"s1\", ");
    hub.write("PRIORITIES/milestone-m2.lock", &lock("s2", "m2"));
    w.wait_until("the marker claim", || {
        w.events()
            .iter()
            .any(|e| e["kind"] == "claim_taken" && e["holder"] == "s2")
    });
    hub.write("PRIORITIES/milestone-m1.lock", &lock("s1", "m1"));
    std::fs::remove_file(hub.path("PRIORITIES/milestone-m2.lock")).unwrap();
    w.wait_until("the marker released", || {
        w.events()
            .iter()
            .any(|e| e["kind"] == "claim_released" && e["key"] == "milestone-m2")
    });
    let about_m1: Vec<_> = w
        .events()
        .into_iter()
        .filter(|e| e["key"] == "milestone-m1")
        .collect();
    assert!(
        about_m1.is_empty(),
        "a torn lock became events: {about_m1:?}"
    );
}

#[test]
fn watch_exits_cleanly_on_sigterm() {
    let hub = TestHub::new();
    let mut w = Watcher::start(&hub, &[]);
    let pid = w.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let start = Instant::now();
    let status = loop {
        if let Some(s) = w.child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < DEADLINE, "watch did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn poll_mode_and_the_healthcheck_timer_report_events() {
    let hub = TestHub::new();
    hub.write("bare-status.md", "## BARE STATUS\n\n- Thing: ✅\n");
    let w = Watcher::start(&hub, &["--poll", "100ms", "--healthcheck-every", "300ms"]);
    hub.ok(&["signal", "polled"]);
    w.wait_until("the signal, by polling", || {
        w.signals_seen().contains(&"polled".to_string())
    });
    w.wait_until("a health event", || {
        w.events()
            .iter()
            .any(|e| e["kind"] == "health" && e["ok"] == false)
    });
}

/// Wait for a child to exit, with the deadline.
fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(start.elapsed() < DEADLINE, "the watcher did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn follow_mode_reacts_once_per_session_across_restarts() {
    let hub = TestHub::new();
    hub.ok(&["signal", "infra"]);
    for who in ["s1", "s2"] {
        // Each session sees the pending touch once ...
        let mut w = Watcher::start_as(&hub, Some(who), &["--follow", "--once", "--kind", "signal"]);
        assert!(wait_exit(&mut w.child).success());
        assert_eq!(w.signals_seen(), ["infra"], "{who}");
    }
    // ... and a restarted watcher does not repeat it, but sees the next touch.
    let mut w = Watcher::start_as(
        &hub,
        Some("s1"),
        &["--follow", "--once", "--kind", "signal"],
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        w.child.try_wait().unwrap().is_none(),
        "infra was already handled by s1"
    );
    hub.ok(&["signal", "web"]);
    assert!(wait_exit(&mut w.child).success());
    w.wait_until("the web event", || w.signals_seen() == ["web"]);
    assert!(
        hub.path(".infra-updated").exists(),
        "following never deletes signals"
    );
}

#[test]
fn a_command_that_times_out_is_killed_and_the_signal_kept() {
    let hub = TestHub::new();
    let mut w = Watcher::start(
        &hub,
        &[
            "--consume",
            "--once",
            "--exec",
            "sleep 20",
            "--timeout",
            "300ms",
        ],
    );
    let start = Instant::now();
    hub.ok(&["signal", "slow"]);
    let status = wait_exit(&mut w.child);
    assert_eq!(status.code(), Some(1));
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(hub.path(".slow-updated").exists());
    // The stderr reader thread may still be draining the pipe after the exit.
    w.wait_until("the timeout note", || {
        w.notes
            .lock()
            .unwrap()
            .iter()
            .any(|n| n.contains("timed out"))
    });
}

#[test]
fn a_separate_status_folder_is_watched_and_edited() {
    let hub = TestHub::new();
    let dir = hub.root.with_file_name("session-sync");
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let w = Watcher::start(&hub, &["--dir", d, "--kind", "signal,status"]);
    hub.ok(&["report", "new", "infra", "--dir", d]);
    hub.ok(&[
        "report", "set", "infra", "progress", "work", "fail", "broken", "--dir", d,
    ]);
    w.wait_until("the item change in the separate folder", || {
        w.events()
            .iter()
            .any(|e| e["kind"] == "status" && e["label"] == "Work" && e["to"] == "fail")
    });
    assert!(w.signals_seen().contains(&"infra".to_string()));
    assert!(dir.join("infra-status.md").exists());
    assert!(!hub.path("infra-status.md").exists());
}

#[test]
fn watch_reports_a_session_going_stale_on_its_tick() {
    let hub = TestHub::new();
    hub.write("sessions.toml", "[liveness]\nlive = \"1s\"\n");
    let w = Watcher::start(&hub, &["--kind", "session", "--tick", "200ms"]);
    hub.ok(&["--as", "s7", "register", "--name", "Seven"]);
    w.wait_until("session_appeared", || {
        w.events().iter().any(|e| e["kind"] == "session_appeared")
    });
    w.wait_until("session_stale", || {
        w.events()
            .iter()
            .any(|e| e["kind"] == "session_stale" && e["session"] == "s7" && e["from"] == "live")
    });
    hub.ok(&["--as", "s7", "heartbeat"]);
    w.wait_until("live again", || {
        w.events()
            .iter()
            .filter(|e| e["kind"] == "session_appeared")
            .count()
            == 2
    });
}

#[test]
fn touching_a_signal_while_a_consumer_takes_it_never_fails() {
    // `signal` finds the file present, a consumer renames it away, then `signal` sets
    // the time of a file that is gone: the touch must create it again, not fail. The
    // window is small, so touch the same signal many times while two loops consume it.
    let hub = TestHub::new();
    let consumers: Vec<Child> = (0..2)
        .map(|_| {
            hub.sh("while :; do \"$BIN\" consume busy >/dev/null 2>&1; done")
                .env("BIN", bin("sessions"))
                .spawn()
                .unwrap()
        })
        .collect();
    let mut failures = Vec::new();
    for _ in 0..10 {
        let out = hub
            .command("sessions")
            .arg("signal")
            .args(vec!["busy"; 50000])
            .output()
            .unwrap();
        if !out.status.success() {
            failures.push(stderr(&out));
        }
    }
    for mut c in consumers {
        let _ = c.kill();
        let _ = c.wait();
    }
    assert!(failures.is_empty(), "signal failed: {failures:?}");
}

#[test]
fn a_command_that_times_out_is_killed_with_its_children() {
    // The timeout kills the whole command, not only its `sh`: a child left running
    // would go on past the timeout, beside the next run of the same command.
    let hub = TestHub::new();
    let pid_file = hub.root.with_file_name("child.pid");
    let exec = format!(
        "trap '' TERM; sleep 30 & echo $! > '{}'; wait",
        pid_file.display()
    );
    let mut w = Watcher::start(
        &hub,
        &["--consume", "--once", "--exec", &exec, "--timeout", "300ms"],
    );
    hub.ok(&["signal", "slow"]);
    assert_eq!(wait_exit(&mut w.child).code(), Some(1));
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let pid = pid.trim();
    let start = Instant::now();
    let alive = || {
        Command::new("sh")
            .args(["-c", &format!("kill -0 {pid} 2>/dev/null")])
            .status()
            .unwrap()
            .success()
    };
    while alive() && start.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let still = alive();
    if still {
        let _ = Command::new("kill").args(["-KILL", pid]).status();
    }
    assert!(!still, "the command's child {pid} outlived the timeout");
}

#[test]
fn a_signal_taken_by_a_killed_watcher_is_handled_after_a_restart() {
    // SIGKILL while its command runs: the signal sits under the watcher's hidden
    // `.taken` name. The next consuming watcher puts it back and handles it.
    let hub = TestHub::new();
    let marker = hub.root.with_file_name("started");
    let exec = format!("touch '{}'; sleep 3", marker.display());
    let w = Watcher::start(&hub, &["--consume", "--kind", "signal", "--exec", &exec]);
    hub.ok(&["signal", "crash"]);
    w.wait_until("the command to start", || marker.exists());
    drop(w); // SIGKILL
    assert!(!hub.path(".crash-updated").exists());
    std::thread::sleep(Duration::from_millis(1200));
    let log = hub.root.with_file_name("handled.log");
    let exec = format!("echo \"$SESSIONS_SIGNAL\" >> '{}'", log.display());
    let mut w = Watcher::start(
        &hub,
        &["--consume", "--once", "--kind", "signal", "--exec", &exec],
    );
    assert_eq!(wait_exit(&mut w.child).code(), Some(0));
    assert_eq!(log_lines(&log), vec!["crash".to_string()]);
    let left: Vec<String> = std::fs::read_dir(&hub.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("crash"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_running_consumer_picks_up_a_signal_another_consumer_died_holding() {
    let hub = TestHub::new();
    let log = hub.root.with_file_name("survivor.log");
    // The survivor starts first and keeps running; its tick looks for abandoned signals.
    let exec = format!("echo \"$SESSIONS_SIGNAL\" >> '{}'", log.display());
    let survivor = Watcher::start(
        &hub,
        &[
            "--consume",
            "--kind",
            "signal",
            "--tick",
            "300ms",
            "--exec",
            &exec,
        ],
    );
    // A second consumer takes the signal and is killed during its command. Which one
    // takes it is a race; run until the doomed one got it.
    let marker = hub.root.with_file_name("doomed-started");
    let doomed_exec = format!("touch '{}'; sleep 30", marker.display());
    let doomed = Watcher::start(
        &hub,
        &["--consume", "--kind", "signal", "--exec", &doomed_exec],
    );
    for round in 0..20 {
        hub.ok(&["signal", &format!("job{round}")]);
        let start = Instant::now();
        while !marker.exists() && log_lines(&log).len() <= round && start.elapsed() < DEADLINE {
            std::thread::sleep(Duration::from_millis(20));
        }
        if marker.exists() {
            break;
        }
    }
    assert!(marker.exists(), "the doomed consumer never took a signal");
    let handled_before = log_lines(&log).len();
    drop(doomed); // SIGKILL while it holds the signal
    survivor.wait_until("the survivor to handle the abandoned signal", || {
        log_lines(&log).len() > handled_before
    });
}

#[test]
fn message_events_carry_the_text_and_a_list_of_recipients() {
    let hub = TestHub::new();
    let env_log = hub.root.with_file_name("recipients.log");
    let exec = format!(
        "printf '%s|%s\\n' \"$SESSIONS_RECIPIENTS\" \"$SESSIONS_TEXT\" >> '{}'",
        env_log.display()
    );
    let w = Watcher::start(&hub, &["--kind", "message", "--exec", &exec]);
    hub.ok(&[
        "--as",
        "s1",
        "msg",
        "send",
        "--to",
        "s2,s3",
        "two lines\nof text",
    ]);
    hub.ok(&["--as", "s1", "msg", "send", "--all", "to everyone"]);
    w.wait_until("two message events", || w.events().len() >= 2);
    let events = w.events();
    assert_eq!(
        events[0]["recipients"],
        serde_json::json!(["s2", "s3"]),
        "{events:?}"
    );
    assert_eq!(events[0]["text"], "two lines\nof text", "{events:?}");
    assert_eq!(
        events[1]["recipients"],
        serde_json::json!(["all"]),
        "{events:?}"
    );
    assert_eq!(events[1]["text"], "to everyone", "{events:?}");
    // --exec sees the list as it always read: names joined by ", ".
    w.wait_until("both commands ran", || {
        std::fs::read_to_string(&env_log).is_ok_and(|l| l.contains("all|to everyone"))
    });
    let log = std::fs::read_to_string(&env_log).unwrap();
    assert!(log.starts_with("s2, s3|two lines\nof text\n"), "{log:?}");
    // The help says what the stream is.
    let help = hub.ok(&["watch", "--help"]);
    assert!(help.contains("one JSON object per line"), "{help}");
}
