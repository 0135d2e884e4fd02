//! IDs people type: a unique prefix or suffix of the unique part, like git's short
//! hashes, for messages, collaboration requests and proposals (one core resolver).

use crate::support::TestHub;

#[test]
fn messages_from_the_same_second_resolve_by_their_last_characters() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "register"]);
    hub.ok(&["--as", "s2", "register"]);
    let a = hub.json(&["--as", "s1", "msg", "send", "--to", "s2", "first"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = hub.json(&["--as", "s1", "msg", "send", "--to", "s2", "second"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The tail (random hex) tells them apart whatever the clock said.
    let tail = |id: &str| id[id.len() - 6..].to_string();
    assert_ne!(tail(&a), tail(&b));
    let shown = hub.json(&["msg", "show", &tail(&b)]);
    assert_eq!(
        shown["message"]["id"].as_str().or(shown["id"].as_str()),
        Some(b.as_str()),
        "{shown}"
    );
    hub.ok(&["--as", "s2", "msg", "ack", &tail(&a), "on it"]);
    let acked = hub.json(&["msg", "show", &a]);
    assert!(acked.to_string().contains("on it"), "{acked}");
    // A prefix both share (the kind and the day) is ambiguous: an error naming both.
    let day = &a[..10];
    let out = hub.run(&["msg", "show", day]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = crate::support::stderr(&out);
    assert!(
        err.contains("matches") && err.contains(&a) && err.contains(&b),
        "{err}"
    );
    // A reply by suffix records the whole ID.
    let reply = hub.json(&[
        "--as",
        "s2",
        "msg",
        "send",
        "--to",
        "s1",
        "--reply-to",
        &tail(&a),
        "re",
    ]);
    assert_eq!(reply["reply_to"], a.as_str(), "{reply}");
    // Unknown: not found, pointing at the list.
    hub.cli(["msg", "show", "zzzzzz"])
        .fails(1)
        .stderr_has("sessions msg list");
}

#[test]
fn collaboration_requests_resolve_by_prefix_or_suffix() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "register"]);
    hub.ok(&["--as", "s2", "register"]);
    let id = hub.json(&["--as", "s1", "collab", "request", "s2", "help"])["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let other = hub.json(&["--as", "s1", "collab", "request", "s2", "more"])["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let moved = hub.json(&["--as", "s2", "collab", "accept", &id[id.len() - 5..]]);
    assert_eq!(moved["request_id"], id.as_str(), "{moved}");
    assert_eq!(moved["status"], "accepted", "{moved}");
    // The time part after `collab-` is a prefix too.
    let time_prefix = &other["collab-".len()..other.len() - 10];
    let shown = hub.json(&["collab", "show", time_prefix]);
    let shown_id = shown["request_id"].as_str().unwrap();
    assert!(shown_id == other || shown_id == id, "{shown}");
    let out = hub.run(&["collab", "show", "collab-"]);
    assert_eq!(out.status.code(), Some(2), "ambiguous: {out:?}");
    let err = crate::support::stderr(&out);
    assert!(err.contains(&id) && err.contains(&other), "{err}");
}

#[test]
fn proposals_resolve_by_session_id_or_prefix() {
    let hub = TestHub::new();
    for id in ["alpha", "beta", "gamma"] {
        hub.ok(&["--as", id, "register"]);
    }
    hub.ok(&["--as", "alpha", "handshake", "propose", "alpha"]);
    let v = hub.json(&["--as", "beta", "handshake", "vote", "alpha", "agree"]);
    assert_eq!(v["proposal"], "alpha-identity", "{v}");
    let v = hub.json(&["--as", "gamma", "handshake", "vote", "alph", "agree"]);
    assert_eq!(v["proposal"], "alpha-identity", "{v}");
    let v = hub.json(&["handshake", "status", "alpha"]);
    assert_eq!(v["proposal"], "alpha-identity", "{v}");
    hub.cli(["handshake", "status", "delta"])
        .fails(1)
        .stderr_has("handshake status");
}
