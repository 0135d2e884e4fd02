//! No silent surprises: outputs that used to mislead.

use crate::support::TestHub;

#[test]
fn ready_on_an_empty_backlog_says_there_is_nothing_yet() {
    let hub = TestHub::new();
    // A fresh hub's CURRENT_STATE.md may carry template BACKLOG items: empty it.
    hub.write("CURRENT_STATE.md", "# Current state\n\n## BACKLOG\n\n");
    let text = hub.ok(&["ready"]);
    assert!(text.contains("Nothing to do yet"), "{text}");
    assert!(!text.contains("claimed or blocked"), "{text}");
    assert_eq!(hub.json(&["ready"])["open_items"], 0);

    // Once the only item is claimed, the old message is the right one.
    hub.ok(&["--as", "s1", "register"]);
    hub.ok(&["--as", "s1", "milestone", "create", "Paint"]);
    hub.ok(&["--as", "s1", "milestone", "claim", "paint"]);
    let text = hub.ok(&["ready"]);
    assert!(
        text.contains("every open item is claimed or blocked"),
        "{text}"
    );
}

#[test]
fn the_consensus_note_counts_votes_against_what_was_needed() {
    let hub = TestHub::new();
    for id in ["a", "b", "c"] {
        hub.ok(&["--as", id, "register"]);
    }
    let st = hub.json(&["--as", "a", "handshake", "propose", "a"]);
    let needed = st["needed"].as_u64().unwrap();
    for v in ["b", "c"] {
        hub.ok(&["--as", v, "handshake", "vote", "a-identity", "agree"]);
    }
    let board = hub.read("MESSAGES.md");
    let note = board
        .lines()
        .find(|l| l.contains("Consensus reached"))
        .expect("a consensus note");
    assert!(
        note.contains(&format!("agreeing votes, {needed} needed")),
        "{note}"
    );
    assert!(!note.contains(" of "), "reads like 'N of M needed': {note}");
}

#[test]
fn renew_all_is_in_the_help_and_exists() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "register"]);
    hub.ok(&["--as", "s1", "claim", "k1"]);
    hub.ok(&["--as", "s1", "claim", "k2"]);
    let help = hub.ok(&["renew", "--help"]);
    assert!(help.contains("--all"), "{help}");
    let v = hub.json(&["--as", "s1", "renew", "--all"]);
    let renewed = v.to_string();
    assert!(renewed.contains("k1") && renewed.contains("k2"), "{v}");
    // The help's example with a TTL works as written.
    hub.ok(&["--as", "s1", "renew", "k1", "--ttl", "1h"]);
    let out = hub.run(&["--as", "s1", "renew", "k1", "--all"]);
    assert_eq!(out.status.code(), Some(2), "a key and --all conflict");
}

#[test]
fn init_below_an_existing_hub_refuses_without_force() {
    let hub = TestHub::new();
    let project = hub.root.parent().unwrap();
    let sub = project.join("app");
    std::fs::create_dir(&sub).unwrap();
    let init = |extra: &[&str]| {
        std::process::Command::new(crate::support::bin("sessions"))
            .arg("init")
            .args(extra)
            .current_dir(&sub)
            .env_remove("SESSIONS_HUB")
            .env_remove("SESSIONS_ID")
            .output()
            .unwrap()
    };
    let out = init(&[]);
    assert_eq!(out.status.code(), Some(6), "{out:?}");
    let err = crate::support::stderr(&out);
    assert!(err.contains("already exists"), "{err}");
    let existing = std::fs::canonicalize(&hub.root).unwrap();
    assert!(err.contains(&existing.display().to_string()), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert!(!sub.join("SESSIONS").exists(), "nothing was created");

    let out = init(&["--force"]);
    assert!(out.status.success(), "{out:?}");
    assert!(sub.join("SESSIONS").is_dir());
}

#[test]
fn match_never_recommends_asking_yourself() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "register", "--spec", "deployment"]);
    hub.ok(&["--as", "s2", "register", "--spec", "deployment"]);
    // s1 ranks first (same relevance and availability, then by ID) ...
    let anon = hub.json(&["match", "deployment"]);
    assert_eq!(anon["candidates"][0]["id"], "s1", "{anon}");
    // ... but s1 asking is pointed at s2.
    let mine = hub.json(&["--as", "s1", "match", "deployment"]);
    let next = mine["next"].as_str().unwrap();
    assert!(next.contains("collab request s2"), "{mine}");
    hub.cli(["match", "deployment"])
        .as_("s1")
        .succeeds()
        .stdout_has("Next: sessions collab request s2");
}

#[test]
fn find_help_lists_a_capability_once() {
    let hub = TestHub::new();
    hub.ok(&[
        "--as",
        "s1",
        "register",
        "--spec",
        "deployment",
        "--cap",
        "deployment,docs",
    ]);
    let text = hub.ok(&["find-help", "deploy"]);
    let offers = text
        .lines()
        .find(|l| l.contains("offers:"))
        .expect("an offers line");
    assert_eq!(offers.matches("deployment").count(), 1, "{text}");
    assert!(offers.contains("docs"), "{text}");
}

#[test]
fn a_message_to_an_unregistered_session_warns_with_the_near_match() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "register"]);
    hub.ok(&["--as", "s2", "register"]);
    hub.cli(["msg", "send", "--to", "s22", "hello"])
        .as_("s1")
        .succeeds()
        .stderr_has("did you mean s2?");
    // Still sent, as asked.
    assert!(hub.read("MESSAGES.md").contains("hello"));
    let v = hub.json(&["--as", "s1", "msg", "send", "--to", "s22", "again"]);
    assert!(v["warnings"][0].as_str().unwrap().contains("s2"), "{v}");
    // A registered recipient: no warning at all.
    hub.cli(["msg", "send", "--to", "s2", "fine"])
        .as_("s1")
        .succeeds()
        .stderr_lacks("registered");
    assert!(hub.json(&["--as", "s1", "msg", "send", "--to", "s2", "x"])["warnings"].is_null());
}

#[test]
fn a_heartbeat_from_an_unregistered_session_warns() {
    let hub = TestHub::new();
    hub.ok(&["--as", "ghost-1", "register"]);
    hub.cli(["heartbeat"])
        .as_("ghost")
        .succeeds()
        .stderr_has("did you mean ghost-1?");
    let v = hub.json(&["--as", "ghost", "heartbeat"]);
    assert!(v["warnings"][0].as_str().unwrap().contains("ghost"), "{v}");
    hub.cli(["heartbeat"])
        .as_("ghost-1")
        .succeeds()
        .stderr_lacks("registered");
}

/// The one rule for names that may be typos (README "Typos"): the command does what
/// was asked and warns, on stderr and in the JSON `warnings`, with the near match.
#[test]
fn a_collab_request_to_an_unregistered_session_warns_with_the_near_match() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "register"]);
    hub.ok(&["--as", "nobody-there", "register"]);
    hub.cli(["collab", "request", "nobody-here", "help me"])
        .as_("s1")
        .succeeds()
        .stderr_has("no registered session \"nobody-here\"; did you mean nobody-there?");
    let v = hub.json(&["--as", "s1", "collab", "request", "nobody-here", "again"]);
    assert_eq!(v["to_session"], "nobody-here", "still filed: {v}");
    assert!(
        v["warnings"][0].as_str().unwrap().contains("nobody-there"),
        "{v}"
    );
    let v = hub.json(&["--as", "s1", "collab", "request", "nobody-there", "fine"]);
    assert!(v.get("warnings").is_none(), "{v}");
    assert!(
        v["request_id"].as_str().unwrap().starts_with("collab-"),
        "{v}"
    );
}

#[test]
fn a_signal_without_a_status_file_warns_with_the_near_match() {
    let hub = TestHub::new();
    hub.ok(&["report", "new", "infra", "--template", "infrastructure"]);
    hub.cli(["signal", "infr"])
        .succeeds()
        .stderr_has("no status file infr-status.md; did you mean infra?");
    assert!(hub.root.join(".infr-updated").exists(), "still touched");
    let v = hub.json(&["signal", "nosuchproject"]);
    let warning = v["warnings"][0].as_str().unwrap();
    assert!(warning.contains("nosuchproject-status.md"), "{v}");
    hub.cli(["signal", "infra"])
        .succeeds()
        .stderr_lacks("warning");
}

#[test]
fn report_set_into_a_new_section_warns_with_the_near_match() {
    let hub = TestHub::new();
    hub.ok(&["report", "new", "infra", "--template", "infrastructure"]);
    hub.ok(&["report", "set", "infra", "SERVICES", "Server", "ok"]);
    hub.cli(["report", "set", "infra", "SERVCES", "Cache", "wip"])
        .succeeds()
        .stderr_has("created a new section SERVCES; did you mean SERVICES?");
    assert!(
        hub.read("infra-status.md").contains("**SERVCES:**"),
        "still created"
    );
    let v = hub.json(&["report", "set", "infra", "Monitoring", "Alerts", "ok"]);
    assert!(
        v["warnings"][0].as_str().unwrap().contains("MONITORING"),
        "{v}"
    );
    let v = hub.json(&["report", "set", "infra", "services", "Server", "fail"]);
    assert!(v.get("warnings").is_none(), "an existing section: {v}");
}

#[test]
fn milestone_claim_prints_the_next_steps_the_readme_promises() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "register"]);
    hub.ok(&[
        "--as",
        "s1",
        "milestone",
        "create",
        "Deploy Dashboard",
        "--step",
        "Review script",
        "--step",
        "Deploy",
    ]);
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains(
        "milestone claim deploy-dashboard      # claim + owner + in_progress; prints the next steps"
    ));
    hub.cli(["milestone", "claim", "deploy-dashboard"])
        .as_("s1")
        .succeeds()
        .stdout_has("Next steps:")
        .stdout_has("  - step 1: Review script")
        .stdout_has("  - step 2: Deploy")
        .stdout_has("sessions milestone update deploy-dashboard 1 completed");
    // After a handoff, what the last holder asked for comes first.
    hub.ok(&[
        "--as",
        "s1",
        "milestone",
        "update",
        "deploy-dashboard",
        "1",
        "completed",
    ]);
    hub.ok(&[
        "--as",
        "s1",
        "milestone",
        "handoff",
        "deploy-dashboard",
        "half way",
        "--next",
        "Open port 8002",
    ]);
    let text = hub.ok(&["--as", "s2", "milestone", "claim", "deploy-dashboard"]);
    let steps = text.split("Next steps:").nth(1).expect("next steps");
    assert!(
        steps.starts_with("\n  - Open port 8002\n  - step 2: Deploy\n"),
        "{text}"
    );
    assert!(
        !steps.contains("step 1"),
        "a completed step is not next: {text}"
    );
}

#[test]
fn consume_prints_the_status_file_path_as_the_readme_says() {
    let hub = TestHub::new();
    hub.ok(&["report", "new", "infra", "--template", "infrastructure"]);
    hub.ok(&["signal", "infra"]);
    let path = hub.ok(&["consume", "infra"]);
    let path = std::path::Path::new(path.trim());
    assert!(path.ends_with("infra-status.md"), "{path:?}");
    assert!(std::fs::read_to_string(path).unwrap().contains("STATUS"));
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains("prints the path of its status file"),
        "README says what it prints"
    );
    assert_eq!(
        hub.run(&["consume", "infra"]).status.code(),
        Some(1),
        "no longer pending"
    );
}
