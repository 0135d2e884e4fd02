//! Fencing tokens reached for real: leases that run out in real time, a holder stopped
//! inside its guarded write by the test-only pause point, a successor that takes over
//! and writes, and the late writes refused by the token comparison itself (not by the
//! "held by someone else" check, whose message differs).

use std::time::Duration;

use serde_json::Value;

use crate::support::*;

/// A hub whose claims can be taken over as soon as their lease ends (grace 1 ms: test
/// builds only) with a milestone `pause` of two steps.
fn hub_with_milestone() -> TestHub {
    let hub = TestHub::new();
    hub.write("sessions.toml", "[claims]\ngrace = \"1ms\"\n");
    hub.cli([
        "milestone",
        "create",
        "Pause",
        "--step",
        "one",
        "--step",
        "two",
    ])
    .succeeds();
    hub
}

/// Wait, in real time, until the lease on `key` has ended and it can be taken over.
fn wait_until_takeover_possible(hub: &TestHub, key: &str) {
    wait_for(
        &format!("the lease on {key} to run out"),
        Duration::from_secs(10),
        || {
            let view = hub.cli(["claims"]).json_out().succeeds().json();
            view["claims"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["key"] == key && c["takeover_possible"] == true)
        },
    );
}

fn token_of(v: &Value) -> u64 {
    v["claim"]["token"]
        .as_u64()
        .or_else(|| v["token"].as_u64())
        .unwrap_or_else(|| panic!("no token in {v}"))
}

#[test]
fn a_holder_paused_inside_its_update_is_refused_by_the_token_after_a_real_takeover() {
    let hub = hub_with_milestone();
    let claimed = hub
        .cli(["milestone", "claim", "pause", "--ttl", "1s"])
        .as_("sleeper")
        .json_out()
        .succeeds()
        .json();
    let old_token = token_of(&claimed);

    // The holder starts its guarded update and stops after it has its token (read
    // from its claim: no --token given) and before the locked write.
    let mut pause = PausePoint::new("milestone-update");
    let mut cmd = hub.command("sessions");
    cmd.args([
        "--as",
        "sleeper",
        "milestone",
        "update",
        "pause",
        "1",
        "completed",
    ]);
    pause.arm(&mut cmd);
    let mut holder = spawn_piped(cmd);
    pause.wait_reached(&mut holder);

    // The lease runs out in real time; another session takes over and writes.
    wait_until_takeover_possible(&hub, "milestone-pause");
    let taken = hub
        .cli(["milestone", "claim", "pause"])
        .as_("taker")
        .json_out()
        .succeeds()
        .json();
    let new_token = token_of(&taken);
    assert!(new_token > old_token, "{taken}");
    assert_eq!(taken["claim"]["took_over_from"]["holder"], "sleeper");
    hub.cli([
        "milestone",
        "update",
        "pause",
        "2",
        "completed",
        "by the taker",
    ])
    .as_("taker")
    .succeeds();
    let before = hub.read_json("MILESTONES/pause.json");
    assert_eq!(holder.try_wait().unwrap(), None, "the holder did not wait");

    // The paused holder goes on: the token comparison in the update refuses it.
    pause.resume();
    let out = holder.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let expected = format!(
        "stale fencing token {old_token}: milestone pause was already written with token {new_token}"
    );
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));

    // The successor's write is intact, and nothing of the late write landed.
    let after = hub.read_json("MILESTONES/pause.json");
    assert_eq!(after, before);
    assert_eq!(
        after["steps"][0]["status"], "pending",
        "the stale write landed"
    );
    assert_eq!(after["steps"][1]["status"], "completed");
    assert_eq!(after["steps"][1]["notes"], "by the taker");
    assert_eq!(after["owner"], "taker");
    assert_eq!(after["fence_token"], new_token);
}

#[test]
fn a_stale_token_of_a_session_that_holds_the_key_again_is_refused_by_the_token() {
    let hub = hub_with_milestone();
    let key = "milestone-pause";
    let first = hub
        .cli(["claim", key, "--ttl", "1s"])
        .as_("s1")
        .json_out()
        .succeeds()
        .json();
    let stale = token_of(&first);

    // Its lease runs out in real time; s2 takes the key over, then gives it back.
    wait_until_takeover_possible(&hub, key);
    let taken = hub
        .cli(["claim", key])
        .as_("s2")
        .json_out()
        .succeeds()
        .json();
    assert_eq!(taken["took_over_from"]["holder"], "s1", "{taken}");
    hub.cli(["release", key]).as_("s2").succeeds();

    // s1 holds the key again, under a new token; its old token is refused by the
    // comparison with the claim's token, though s1 is the holder.
    let again = hub
        .cli(["claim", key])
        .as_("s1")
        .json_out()
        .succeeds()
        .json();
    let current = token_of(&again);
    assert!(current > token_of(&taken));
    let before = hub.read_json("MILESTONES/pause.json");
    hub.cli(["milestone", "update", "pause", "1", "completed"])
        .arg("--token")
        .arg(stale.to_string())
        .as_("s1")
        .fails(6)
        .stderr_has(&format!(
            "stale fencing token {stale}: {key} now has token {current}"
        ))
        .stderr_lacks("held by");
    assert_eq!(hub.read_json("MILESTONES/pause.json"), before);

    // With its current token the same write goes through.
    hub.cli(["milestone", "update", "pause", "1", "completed"])
        .arg("--token")
        .arg(current.to_string())
        .as_("s1")
        .succeeds();
    let after = hub.read_json("MILESTONES/pause.json");
    assert_eq!(after["steps"][0]["status"], "completed");
    assert_eq!(after["fence_token"], current);
}
