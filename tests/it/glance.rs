//! `sessions status` is the one glance: what needs me, what is blocked, who is doing
//! what, what is free; the same content in `--json`.

use crate::support::TestHub;

/// A hub with a blocked project, a request waiting on s1, a broadcast, a live session
/// and one that never sent a heartbeat.
fn busy_hub() -> TestHub {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "register", "--name", "One"]);
    hub.ok(&["--as", "s2", "register", "--name", "Two"]);
    hub.ok(&["--as", "s2", "heartbeat", "--work", "wiring the API"]);
    hub.ok(&[
        "--as",
        "s2",
        "collab",
        "request",
        "s1",
        "please review the schema",
    ]);
    hub.ok(&[
        "--as",
        "s2",
        "msg",
        "send",
        "--to",
        "all",
        "deploy freeze at five",
    ]);
    hub.ok(&["report", "new", "infra"]);
    hub.ok(&[
        "report",
        "set",
        "infra",
        "dependencies",
        "DNS",
        "❌",
        "registrar down",
    ]);
    // A registry entry whose session never sent a heartbeat.
    hub.ok(&["--as", "s3", "register", "--name", "Three"]);
    let heartbeats = hub.root.join("HEARTBEATS");
    let s3 = std::fs::read_dir(&heartbeats)
        .expect("HEARTBEATS")
        .map(|e| e.expect("entry").path())
        .find(|p| p.file_name().unwrap().to_string_lossy().contains("s3"))
        .expect("s3's heartbeat");
    std::fs::remove_file(s3).expect("remove s3's heartbeat");
    hub
}

#[test]
fn status_shows_what_needs_me_and_what_is_blocked() {
    let hub = busy_hub();
    let text = hub.ok(&["--as", "s1", "status"]);
    assert!(text.contains("NEEDS YOU (1 requests)"), "{text}");
    assert!(text.contains("please review the schema"), "{text}");
    assert!(text.contains("infra is blocked by DNS"), "{text}");
    assert!(text.contains("healthcheck: 2 problems"), "{text}");
    // The broadcast's text, not just a generic subject.
    assert!(text.contains("deploy freeze at five"), "{text}");
    // Live sessions are listed once.
    let live_section = text.split("OTHER SESSIONS").next().unwrap();
    let other_section = text.split("OTHER SESSIONS").nth(1).unwrap();
    let other_section = other_section.split("CLAIMS").next().unwrap();
    assert!(live_section.contains("s2"), "{text}");
    assert!(!other_section.contains(" s2 "), "s2 listed twice:\n{text}");
    // One name for the never-heartbeat state, not counted as gone.
    assert!(
        other_section.contains("s3") && other_section.contains("never"),
        "{text}"
    );
    assert!(other_section.contains("0 gone, 1 never"), "{text}");
    assert!(!text.contains("unknown"), "{text}");
}

#[test]
fn status_json_carries_the_same_glance() {
    let hub = busy_hub();
    let v = hub.json(&["--as", "s1", "status"]);
    let requests = v["requests_waiting"].as_array().expect("requests_waiting");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["from_session"], "s2");
    let infra = &v["status_files"][0];
    assert_eq!(infra["project"], "infra");
    assert_eq!(infra["blocked"], true);
    assert_eq!(v["health"]["ok"], false);
    assert_eq!(v["sessions"]["counts"]["never"], 1);
    assert_eq!(v["sessions"]["counts"]["gone"], 0);
    let s3 = v["sessions"]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "s3")
        .expect("s3");
    assert_eq!(s3["liveness"], "never");
    let broadcast = v["recent_messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["to"][0] == "all")
        .expect("the broadcast");
    assert!(
        broadcast["preview"]
            .as_str()
            .unwrap()
            .contains("deploy freeze")
    );
    // Without --as, pending requests to anyone are shown.
    let v = hub.json(&["status"]);
    assert_eq!(v["requests_waiting"].as_array().unwrap().len(), 1);
    // A request for someone else is not waiting on s2.
    let v = hub.json(&["--as", "s2", "status"]);
    assert_eq!(v["requests_waiting"].as_array().unwrap().len(), 0);
}
