//! Issue 8 §4: the many-file views (status, milestone status, ready, collab list) show
//! everything that reads and name each file that does not, instead of failing whole;
//! doctor and the commands that would write such a file still refuse it.

use serde_json::Value;

use crate::support::*;

/// An old script's collaboration request: an unescaped `"` inside a string.
const OLD_REQUEST: &str = "{\n  \"request_id\": \"collab-old\",\n  \"from_session\": \"s9\",\n  \"to_session\": \"s1\",\n  \"message\": \"fix the \"auth\" flow\",\n  \"status\": \"pending\"\n}\n";
/// A milestone and a claim lock caught half-written.
const TORN_MILESTONE: &str = "{\n  \"title\": \"Torn\",\n  \"status\": ";
const TORN_LOCK: &str = "{\"session_id\": \"s2\", ";

fn warnings(v: &Value) -> Vec<String> {
    v["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("no warnings array in {v}"))
        .iter()
        .map(|w| {
            format!(
                "{}:{}:{}",
                w["path"].as_str().unwrap(),
                w["line"],
                w["column"]
            )
        })
        .collect()
}

#[test]
fn views_show_the_rest_and_name_each_file_that_does_not_parse() {
    let hub = TestHub::new();
    hub.ok(&["milestone", "create", "Good work", "--step", "a"]);
    hub.ok(&["--as", "s1", "collab", "request", "s2", "help with the API"]);
    hub.write("ACTIVE/COLLABORATIONS/collab-old.json", OLD_REQUEST);
    hub.write("MILESTONES/torn.json", TORN_MILESTONE);
    hub.write("PRIORITIES/milestone-good-work.lock", TORN_LOCK);
    let bad_files = [
        "ACTIVE/COLLABORATIONS/collab-old.json",
        "MILESTONES/torn.json",
        "PRIORITIES/milestone-good-work.lock",
    ];
    let before: Vec<String> = bad_files.iter().map(|f| hub.read(f)).collect();
    let request = hub.path("ACTIVE/COLLABORATIONS/collab-old.json");
    let milestone = hub.path("MILESTONES/torn.json");
    let lock = hub.path("PRIORITIES/milestone-good-work.lock");

    // collab list: the good request, and a warning with path:line:column.
    let out = hub.run(&["collab", "list", "--all"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("help with the API"),
        "{}",
        stdout(&out)
    );
    let expected = format!("warning: {}:5:", request.display());
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));
    let v = hub.json(&["collab", "list", "--all"]);
    assert_eq!(v["count"], 1, "{v}");
    assert_eq!(warnings(&v), [format!("{}:5:24", request.display())]);

    // status: the snapshot without the torn milestone and lock, both named.
    let out = hub.run(&["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for bad in [&milestone, &lock] {
        let expected = format!("warning: {}:", bad.display());
        assert!(
            stderr(&out).contains(&expected),
            "{expected}: {}",
            stderr(&out)
        );
    }
    let v = hub.json(&["status"]);
    let named = warnings(&v);
    assert_eq!(named.len(), 2, "{v}");
    assert!(
        named
            .iter()
            .any(|w| w.starts_with(&lock.display().to_string()))
    );
    assert!(
        named
            .iter()
            .any(|w| w.starts_with(&milestone.display().to_string()))
    );
    assert_eq!(v["milestones"][0]["id"], "good-work", "{v}");

    // milestone status: the good one listed, the torn one named.
    let out = hub.run(&["milestone", "status"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("good-work"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains(&format!("warning: {}:", milestone.display())),
        "{}",
        stderr(&out)
    );
    let v = hub.json(&["milestone", "status"]);
    assert_eq!(v["milestones"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(warnings(&v).len(), 1, "{v}");

    // ready: the item whose lock is damaged is not offered as free.
    let v = hub.json(&["ready"]);
    assert!(
        v["ready"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["key"] != "milestone-good-work"),
        "{v}"
    );
    assert_eq!(warnings(&v).len(), 2, "{v}");

    // A view with nothing wrong has no warnings key at all.
    let clean = TestHub::new();
    let v = clean.json(&["status"]);
    assert!(v.get("warnings").is_none(), "{v}");

    // doctor still reports each file, and commands that would write one refuse it.
    let out = hub.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    for name in ["collab-old.json", "torn.json", "milestone-good-work.lock"] {
        assert!(stdout(&out).contains(name), "{name}: {}", stdout(&out));
    }
    let out = hub.run(&["--as", "s1", "collab", "accept", "collab-old"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("collab-old.json:5:"),
        "{}",
        stderr(&out)
    );
    let out = hub.run(&["--as", "s1", "milestone", "add-step", "torn", "more"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let after: Vec<String> = bad_files.iter().map(|f| hub.read(f)).collect();
    assert_eq!(before, after, "a file that does not parse was rewritten");
}

/// One liveness rule (issue 8 §4): of several heartbeat files naming a session (the old
/// scripts named them differently), the newest speaks for it, for the sync view and for
/// a claim takeover alike; the takeover used to read only `<holder>.json`.
#[test]
fn the_claim_takeover_and_sync_agree_on_who_is_alive() {
    let hub = TestHub::new();
    let at = |minutes_ago: i64| {
        (chrono::Utc::now() - chrono::Duration::minutes(minutes_ago))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let beat = |minutes_ago: i64| {
        serde_json::json!({"session_id": "s1", "last_heartbeat": at(minutes_ago)}).to_string()
    };
    // s1's own file is days old; an old script's file for s1 is fresh.
    hub.write("HEARTBEATS/s1.json", &beat(3 * 24 * 60));
    hub.write("HEARTBEATS/session-1763229251.json", &beat(1));
    // Its claim's lease ran out long ago.
    hub.write(
        "PRIORITIES/k.lock",
        &serde_json::json!({
            "priority_id": "k", "session_id": "s1", "type": "priority",
            "claimed_at": at(2 * 24 * 60), "expires_at": at(24 * 60), "token": 1
        })
        .to_string(),
    );
    let sync = hub.json(&["sync"]);
    let s1 = sync["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "s1")
        .unwrap_or_else(|| panic!("no s1 in {sync}"));
    assert_eq!(s1["liveness"], "live", "{sync}");
    let out = hub.run(&["--as", "s2", "claim", "k"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("held by s1"), "{}", stderr(&out));
    assert_eq!(hub.read_json("PRIORITIES/k.lock")["session_id"], "s1");

    // Once every file of s1 is old, both agree it is gone and the claim can be taken.
    hub.write("HEARTBEATS/session-1763229251.json", &beat(3 * 24 * 60));
    let v = hub.json(&["--as", "s2", "claim", "k"]);
    assert_eq!(
        hub.read_json("PRIORITIES/k.lock")["session_id"],
        "s2",
        "{v}"
    );
}
