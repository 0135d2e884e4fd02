//! Sessions whose clocks disagree (issue 10 §5). Two machines are simulated with the
//! test clock (`SESSIONS_NOW`): the skewed session writes with its clock, the observer
//! reads with the real one (or with a later one, as time passes for it).

use std::process::Output;

use serde_json::Value;

use crate::support::*;

/// `sessions <args>` with the clock at `now` (RFC 3339), or the real clock.
fn at(hub: &TestHub, now: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = hub.command("sessions");
    if let Some(now) = now {
        cmd.env("SESSIONS_NOW", now);
    }
    cmd.args(args).output().expect("run sessions")
}

fn ok_at(hub: &TestHub, now: Option<&str>, args: &[&str]) -> String {
    let out = at(hub, now, args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

fn liveness_in_sync(hub: &TestHub, now: Option<&str>, id: &str) -> (String, Value) {
    let doc: Value = serde_json::from_str(&ok_at(hub, now, &["--json", "sync"])).unwrap();
    let s = doc["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {doc}"))
        .clone();
    (s["liveness"].as_str().unwrap().to_string(), doc)
}

#[test]
fn a_dead_session_whose_clock_is_a_day_fast_is_not_live_for_a_day() {
    let hub = TestHub::new();
    let fast = in_future(24 * 3600);
    // s1's machine is a day ahead: its heartbeat and its lease say so. Then it dies.
    ok_at(&hub, Some(&fast), &["--as", "s1", "heartbeat"]);
    ok_at(&hub, Some(&fast), &["--as", "s1", "claim", "deploy"]);
    // This machine looks at the hub (any command that reads heartbeats): s1 is fresh
    // to it, and it says the clock is off.
    let (now_live, doc) = liveness_in_sync(&hub, None, "s1");
    assert_eq!(now_live, "live");
    let warnings = doc["warnings"].as_array().expect("a skew warning in sync");
    assert!(
        warnings.iter().any(
            |w| w.as_str().unwrap().contains("clock of session s1 looks")
                && w.as_str().unwrap().contains("fast")
        ),
        "{doc}"
    );
    let text = at(&hub, None, &["sync"]);
    assert!(
        stderr(&text).contains("warning: the clock of session s1"),
        "{}",
        stderr(&text)
    );
    let doctor = at(&hub, None, &["--json", "doctor"]);
    let found: Value = serde_json::from_slice(&doctor.stdout).unwrap();
    assert!(
        found["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "clock_skew"),
        "{found}"
    );
    // Two hours later by this machine's clock, s1 never beat again: not live, and its
    // claim (whose lease its clock put a day ahead) can be taken over.
    let later = in_future(2 * 3600);
    let (then, _) = liveness_in_sync(&hub, Some(&later), "s1");
    assert_ne!(
        then, "live",
        "a day-fast heartbeat kept a dead session live"
    );
    ok_at(&hub, Some(&later), &["--as", "s2", "claim", "deploy"]);
    assert_eq!(hub.read_json("PRIORITIES/deploy.lock")["session_id"], "s2");
}

#[test]
fn a_live_holder_whose_clock_is_an_hour_slow_keeps_its_claim() {
    let hub = TestHub::new();
    let slow = in_future(-3600);
    // s1's machine is an hour behind. Its lease of 10 minutes has, by the real clock,
    // already ended, and its heartbeat reads as an hour old.
    ok_at(&hub, Some(&slow), &["--as", "s1", "heartbeat"]);
    ok_at(
        &hub,
        Some(&slow),
        &["--as", "s1", "claim", "deploy", "--ttl", "10m"],
    );
    // This machine sees the hub, then sees s1 beat again (its clock moved on a minute).
    ok_at(&hub, None, &["sync"]);
    let slow_later = in_future(-3600 + 60);
    ok_at(&hub, Some(&slow_later), &["--as", "s1", "heartbeat"]);
    // s2 on this machine: s1 is beating, so its claim is not taken.
    let out = at(&hub, None, &["--as", "s2", "claim", "deploy"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("held by s1"), "{}", stderr(&out));
    assert_eq!(hub.read_json("PRIORITIES/deploy.lock")["session_id"], "s1");
    let (live, doc) = liveness_in_sync(&hub, None, "s1");
    assert_eq!(live, "live", "{doc}");
    assert!(
        doc["warnings"]
            .as_array()
            .is_some_and(|w| w.iter().any(|w| w.as_str().unwrap().contains("slow"))),
        "{doc}"
    );
    // Once s1 stops beating, time (this machine's) makes it stale like anyone else.
    let later = in_future(2 * 3600);
    let (then, _) = liveness_in_sync(&hub, Some(&later), "s1");
    assert_ne!(then, "live");
    ok_at(&hub, Some(&later), &["--as", "s2", "claim", "deploy"]);
    assert_eq!(hub.read_json("PRIORITIES/deploy.lock")["session_id"], "s2");
}

#[test]
fn clocks_that_agree_get_no_skew_warning() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "heartbeat"]);
    hub.ok(&["sync"]);
    hub.ok(&["--as", "s1", "heartbeat"]);
    let out = at(&hub, None, &["sync"]);
    assert!(out.status.success());
    assert!(!stderr(&out).contains("clock"), "{}", stderr(&out));
    let doc: Value = serde_json::from_str(&hub.ok(&["--json", "doctor"])).unwrap();
    assert!(
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["kind"] != "clock_skew"),
        "{doc}"
    );
}
