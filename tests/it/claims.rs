//! Issue 3: claims that hold under a race, and milestones that lose no update.
//! Every test runs the real binaries as real processes on a temp hub.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::support::*;

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn spawn(hub: &TestHub, args: &[&str]) -> Child {
    hub.command("sessions")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sessions")
}

fn lock_json(hub: &TestHub, key: &str) -> Value {
    hub.read_json(&format!("PRIORITIES/{key}.lock"))
}

/// Run git in `repo` (with an identity), requiring success; returns stdout.
fn git_in(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(repo)
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    stdout(&out)
}

/// A binary of this package aimed at the hub `root`, with a git identity for its commits.
fn with_git_identity(binary: &str, root: &Path) -> Command {
    let mut cmd = Command::new(bin(binary));
    cmd.env("SESSIONS_HUB", root)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .env_remove("SESSIONS_ID")
        .env_remove("SESSIONS_NOW")
        .stdin(Stdio::null());
    cmd
}

/// Every non-temp file in PRIORITIES/ parses completely as a JSON object.
fn assert_all_locks_complete(root: &Path) {
    let dir = root.join("PRIORITIES");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue; // temp files of killed writers are dot files, skipped by every reader
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("half-written lock {name}: {e}\n{text:?}"));
        assert!(v["session_id"].is_string(), "{name}: {text}");
        assert!(v["token"].is_u64(), "{name}: {text}");
        assert!(v["expires_at"].is_string(), "{name}: {text}");
    }
}

#[test]
fn thirty_two_racers_get_exactly_one_winner_every_round() {
    const ROUNDS: usize = 100;
    let hub = TestHub::new();
    // The start line is inside the binary, past start-up: all 32 processes are loaded
    // and waiting before any claim attempt, then let go with one write.
    let mut line = PausePoint::new("claim");
    let mut overlaps = Vec::new();
    let mut spreads = Vec::new();
    for round in 0..ROUNDS {
        let ids: Vec<String> = (0..32).map(|i| format!("racer-{i}")).collect();
        let children: Vec<Child> = ids
            .iter()
            .map(|id| {
                let mut cmd = hub.command("sessions");
                cmd.args(["--as", id, "claim", "race"]);
                line.arm(&mut cmd);
                spawn_piped(cmd)
            })
            .collect();
        line.wait_arrived(32);
        line.release(32);
        let mut winners = Vec::new();
        let mut losers = Vec::new();
        let mut winner_end = 0;
        for (id, (out, end)) in ids.into_iter().zip(wait_all_timed(children)) {
            match out.status.code() {
                Some(0) => {
                    winners.push(id);
                    winner_end = end;
                }
                Some(1) => losers.push((id, stderr(&out))),
                other => panic!("round {round}: {id} exited {other:?}: {}", stderr(&out)),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let winner = &winners[0];
        assert_eq!(lock_json(&hub, "race")["session_id"], winner.as_str());
        for (id, err) in &losers {
            assert!(
                err.contains("already claimed") && err.contains(winner.as_str()),
                "round {round}: loser {id} does not name the holder {winner}: {err}"
            );
        }
        hub.ok(&["--as", winner, "release", "race"]);
        // The start line held: every racer was waiting at it before the first left.
        let (arrived, left) = line.take_times();
        assert_eq!((arrived.len(), left.len()), (32, 32), "round {round}");
        assert!(
            arrived.iter().max() < left.iter().min(),
            "round {round}: a racer set off before all had arrived"
        );
        // The attempts overlapped: racers set off before the winner was done.
        overlaps.push(left.iter().filter(|t| **t < winner_end).count());
        spreads.push(left.iter().max().unwrap() - left.iter().min().unwrap());
    }
    overlaps.sort_unstable();
    spreads.sort_unstable();
    eprintln!("racers off before the winner finished, per round (sorted): {overlaps:?}");
    eprintln!("spread of set-off times in µs (sorted): {spreads:?}");
    // Spawned one by one (no start line), 2-5 racers get going before the winner is
    // done, never more. Let go together, woken racers still queue for the two CPUs
    // (their set-off times spread over 30-60 ms), and the winner's short command can end
    // before the last few set off: a full 32 is common on a quiet machine but not
    // certain under load (a clean CI run saw at most 29 in 100 rounds). The start line
    // itself is checked every round above; here some round must show three quarters of
    // the racers attempting while the winner held the claim, five times what racers
    // without it reach.
    let best = overlaps.iter().max().copied().unwrap_or(0);
    assert!(
        best >= 24,
        "in no round did 24 of 32 attempts overlap the winner's: {overlaps:?}"
    );
}

/// Ignored in a normal run: it is not a test by itself, only the child process of
/// lost_update_torture_keeps_counter_exact_and_holds_disjoint (run with `--ignored`).
#[test]
#[ignore = "a child process of lost_update_torture_keeps_counter_exact_and_holds_disjoint"]
fn lost_update_worker_process() {
    let spec = std::env::var("SESSIONS_IT_WORKER")
        .expect("SESSIONS_IT_WORKER: run only by lost_update_torture_keeps_counter_exact_and_holds_disjoint");
    let parts: Vec<&str> = spec.split('|').collect();
    let (hub, id, counter, log, cycles) = (
        PathBuf::from(parts[0]),
        parts[1],
        PathBuf::from(parts[2]),
        PathBuf::from(parts[3]),
        parts[4].parse::<u32>().unwrap(),
    );
    let sessions = |args: &[&str]| {
        let out = Command::new(bin("sessions"))
            .env("SESSIONS_HUB", &hub)
            .env_remove("SESSIONS_NOW")
            .args(["--as", id])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    };
    let worker: u64 = id.trim_start_matches("worker-").parse().unwrap();
    let mut rng = Rng::seeded(0x1057 + worker);
    let mut intervals = String::new();
    for _ in 0..cycles {
        sessions(&["claim", "--wait", "300s", "counter"]);
        let start = now_nanos();
        let value: u64 = std::fs::read_to_string(&counter)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(400)));
        std::fs::write(&counter, format!("{}\n", value + 1)).unwrap();
        let end = now_nanos();
        intervals.push_str(&format!("{start} {end}\n"));
        sessions(&["release", "counter"]);
        std::thread::sleep(Duration::from_micros(rng.below(800)));
    }
    std::fs::write(log, intervals).unwrap();
}

#[test]
fn lost_update_torture_keeps_counter_exact_and_holds_disjoint() {
    const WORKERS: usize = 16;
    const CYCLES: u32 = 200;
    let hub = TestHub::new();
    let counter = hub.root.join("counter.txt");
    std::fs::write(&counter, "0\n").unwrap();
    let exe = std::env::current_exe().unwrap();
    let workers: Vec<(PathBuf, Child)> = (0..WORKERS)
        .map(|i| {
            let log = hub.root.join(format!("holds-{i}.log"));
            let spec = format!(
                "{}|worker-{i}|{}|{}|{CYCLES}",
                hub.root.display(),
                counter.display(),
                log.display()
            );
            let child = Command::new(&exe)
                .args([
                    "claims::lost_update_worker_process",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads",
                    "1",
                ])
                .env("SESSIONS_IT_WORKER", spec)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (log, child)
        })
        .collect();
    let mut holds: Vec<(u128, u128)> = Vec::new();
    for (log, child) in workers {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "worker failed: {}{}",
            stdout(&out),
            stderr(&out)
        );
        for line in std::fs::read_to_string(&log).unwrap().lines() {
            let (a, b) = line.split_once(' ').unwrap();
            holds.push((a.parse().unwrap(), b.parse().unwrap()));
        }
    }
    let total = WORKERS as u64 * u64::from(CYCLES);
    assert_eq!(holds.len() as u64, total);
    assert_eq!(
        std::fs::read_to_string(&counter).unwrap().trim(),
        total.to_string(),
        "lost updates"
    );
    holds.sort();
    for pair in holds.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0,
            "hold intervals overlap: {:?} and {:?}",
            pair[0],
            pair[1]
        );
    }
    assert!(!hub.path("PRIORITIES/counter.lock").exists());
}

#[test]
fn eight_processes_completing_eight_steps_complete_the_milestone_once() {
    let hub = TestHub::new();
    let steps: Vec<String> = (1..=8).map(|i| format!("step {i}")).collect();
    for round in 0..100 {
        let title = format!("Round {round}");
        let id = format!("round-{round}");
        let mut create = vec!["milestone", "create", &title];
        for s in &steps {
            create.extend(["--step", s]);
        }
        hub.ok(&create);
        hub.ok(&["--as", "owner", "milestone", "claim", &id]);
        let children: Vec<Child> = (1..=8)
            .map(|step| {
                spawn(
                    &hub,
                    &[
                        "--as",
                        "owner",
                        "--json",
                        "milestone",
                        "update",
                        &id,
                        &step.to_string(),
                        "completed",
                    ],
                )
            })
            .collect();
        let mut completions = 0;
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {}", stderr(&out));
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            if v["completed_now"] == true {
                completions += 1;
            }
        }
        assert_eq!(
            completions, 1,
            "round {round}: completed {completions} times"
        );
        let m = hub.read_json(&format!("MILESTONES/{id}.json"));
        assert_eq!(m["status"], "completed", "round {round}");
        assert_eq!(m["progress"], 100, "round {round}");
        let steps = m["steps"].as_array().unwrap();
        assert!(
            steps.iter().all(|s| s["status"] == "completed"),
            "round {round}: {steps:?}"
        );
        assert!(
            !hub.path(&format!("PRIORITIES/milestone-{id}.lock"))
                .exists(),
            "round {round}: the claim was not released"
        );
    }
    let board = hub.read("MESSAGES.md");
    for round in 0..100 {
        let line = format!("### ✅ Milestone completed: Round {round} (round-{round})\n");
        assert_eq!(board.matches(&line).count(), 1, "round {round}");
    }
    let state = hub.read("CURRENT_STATE.md");
    assert!(state.contains("Milestone completed: Round 99 (round-99)"));
}

#[test]
fn racing_takeovers_of_one_stale_claim_have_one_winner() {
    let hub = TestHub::new();
    let later = in_future(3600);
    let mut line = PausePoint::new("claim");
    let mut overlapping = 0;
    for round in 0..10 {
        hub.ok(&["--as", "old", "claim", "stale-key"]);
        let old_token = lock_json(&hub, "stale-key")["token"].as_u64().unwrap();
        let children: Vec<Child> = (0..12)
            .map(|i| {
                let mut cmd = hub.command("sessions");
                cmd.env("SESSIONS_NOW", &later).args([
                    "--as",
                    &format!("taker-{i}"),
                    "claim",
                    "stale-key",
                ]);
                line.arm(&mut cmd);
                spawn_piped(cmd)
            })
            .collect();
        line.wait_arrived(12);
        line.release(12);
        let done = wait_all_timed(children);
        let winner_end = done
            .iter()
            .find(|(out, _)| out.status.success())
            .map_or(0, |(_, end)| *end);
        let (arrived, left) = line.take_times();
        assert_eq!((arrived.len(), left.len()), (12, 12), "round {round}");
        assert!(
            arrived.iter().max() < left.iter().min(),
            "round {round}: a taker set off before all had arrived"
        );
        overlapping += left.iter().filter(|t| **t < winner_end).count();
        let codes: Vec<i32> = done
            .iter()
            .map(|(out, _)| out.status.code().unwrap())
            .collect();
        assert_eq!(
            codes.iter().filter(|c| **c == 0).count(),
            1,
            "round {round}: {codes:?}"
        );
        assert!(codes.iter().all(|c| *c == 0 || *c == 1), "{codes:?}");
        let lock = lock_json(&hub, "stale-key");
        assert!(lock["token"].as_u64().unwrap() > old_token);
        assert_eq!(lock["taken_over_from"]["session_id"], "old");
        let winner = lock["session_id"].as_str().unwrap().to_string();
        hub.ok(&["--as", &winner, "release", "stale-key"]);
    }
    // The takeovers overlapped: many set off before the round's winner was done
    // (spawned one by one, one or two per round would).
    assert!(
        overlapping >= 40,
        "only {overlapping} of 120 takeovers set off before their winner was done"
    );
    let board = hub.read("MESSAGES.md");
    assert_eq!(board.matches("Claim taken over: stale-key").count(), 10);
}

#[test]
fn takeover_waits_for_expiry_plus_grace_and_a_stale_heartbeat() {
    let hub = TestHub::new();
    hub.ok(&["--as", "holder", "heartbeat"]);
    hub.ok(&["--as", "holder", "claim", "k", "--ttl", "60s"]);
    let at = |secs: i64, who: &str| {
        hub.command("sessions")
            .env("SESSIONS_NOW", in_future(secs))
            .args(["--as", who, "claim", "k"])
            .output()
            .unwrap()
    };
    // Expired, but within the 15 s grace: refused, and the error names the holder.
    let early = at(65, "taker");
    assert_eq!(early.status.code(), Some(1));
    assert!(stderr(&early).contains("holder"));
    // Past the grace, but the holder's heartbeat (5 min liveness) is still live: refused.
    let live = at(100, "taker");
    assert_eq!(live.status.code(), Some(1), "{}", stderr(&live));
    // Long after, with the heartbeat stale: taken over.
    let late = at(400, "taker");
    assert!(late.status.success(), "{}", stderr(&late));
    assert_eq!(lock_json(&hub, "k")["session_id"], "taker");
}

#[test]
fn heartbeat_renews_the_claims_its_session_holds() {
    let hub = TestHub::new();
    // Claimed ten minutes ago with a one-minute lease: expired, not yet taken over.
    for (who, key) in [("s1", "a"), ("s2", "b")] {
        let out = hub
            .command("sessions")
            .env("SESSIONS_NOW", in_future(-600))
            .args(["--as", who, "claim", key, "--ttl", "60s"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let before_a = lock_json(&hub, "a");
    let before_b = lock_json(&hub, "b");
    hub.ok(&["--as", "s1", "heartbeat"]);
    let after_a = lock_json(&hub, "a");
    // Renewed by its own lease length, from now; same token.
    let expires = chrono::DateTime::parse_from_rfc3339(after_a["expires_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let left = (expires - chrono::Utc::now()).num_seconds();
    assert!((50..=61).contains(&left), "{after_a}");
    assert_eq!(after_a["token"], before_a["token"]);
    assert_eq!(lock_json(&hub, "b"), before_b, "s2's claim changed");
}

#[test]
fn sigkill_at_random_moments_never_leaves_a_half_written_lock() {
    let hub = TestHub::new();
    // One claim first, so the counter exists and its value must only grow.
    hub.ok(&["--as", "first", "claim", "seed"]);
    let mut rng = Rng::seeded(0x5167_4b11);
    for i in 0..60 {
        let key = format!("k{}", i % 3);
        let id = format!("victim-{i}");
        let mut children = vec![spawn(&hub, &["--as", &id, "claim", &key])];
        if i % 2 == 0 {
            children.push(spawn(&hub, &["--as", "other", "claim", &key]));
        }
        std::thread::sleep(Duration::from_micros(rng.below(12_000)));
        for c in &mut children {
            let _ = c.kill(); // SIGKILL
            let _ = c.wait();
        }
        assert_all_locks_complete(&hub.root);
        if hub.path(".sessions/fence.json").exists() {
            let fence = hub.read_json(".sessions/fence.json");
            assert!(fence["last_token"].is_u64(), "{fence}");
        }
        let claims = hub.json(&["claims"]);
        for c in claims["claims"].as_array().unwrap() {
            assert!(c["token"].is_u64(), "{c}");
        }
        if i % 5 == 4 {
            for key in ["k0", "k1", "k2"] {
                let _ = hub.run(&[
                    "--as",
                    "admin",
                    "release",
                    key,
                    "--force",
                    "--reason",
                    "test reset",
                ]);
            }
        }
    }
    // Tokens keep growing after all those kills.
    let last = hub.read_json(".sessions/fence.json")["last_token"]
        .as_u64()
        .unwrap();
    assert!(last >= 1);
    hub.ok(&["--as", "after", "claim", "fresh"]);
    assert!(lock_json(&hub, "fresh")["token"].as_u64().unwrap() > last);
}

#[test]
fn fencing_tokens_only_grow_even_when_the_counter_is_lost() {
    let hub = TestHub::new();
    let mut last = 0;
    for i in 0..5 {
        let v = hub.json(&["--as", "s", "claim", &format!("k{i}")]);
        let t = v["token"].as_u64().unwrap();
        assert!(t > last);
        last = t;
    }
    std::fs::remove_file(hub.path(".sessions/fence.json")).unwrap();
    let v = hub.json(&["--as", "s", "claim", "after-loss"]);
    assert!(
        v["token"].as_u64().unwrap() > last,
        "a token was reused: {v}"
    );
    // After an OS crash (a new boot ID), counting resumes above the durable ceiling,
    // since tokens below it may have been handed out without reaching the disk.
    let mut fence = hub.read_json(".sessions/fence.json");
    let ceiling = fence["ceiling"].as_u64().unwrap();
    assert!(ceiling > fence["last_token"].as_u64().unwrap());
    fence["boot_id"] = Value::from("an-earlier-boot");
    hub.write(".sessions/fence.json", &fence.to_string());
    let v = hub.json(&["--as", "s", "claim", "after-reboot"]);
    assert!(v["token"].as_u64().unwrap() > ceiling, "{v}");
    // A damaged counter is an error, never overwritten.
    hub.write(".sessions/fence.json", "{\"last_token\": ");
    let out = hub.run(&["--as", "s", "claim", "damaged"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(hub.read(".sessions/fence.json"), "{\"last_token\": ");
    // The error says what to do (the folder is git-ignored: nothing to restore from git),
    // and doing it works without giving an old token again.
    assert!(stderr(&out).contains("remove the file"), "{}", stderr(&out));
    let before = lock_json(&hub, "after-reboot")["token"].as_u64().unwrap();
    std::fs::remove_file(hub.path(".sessions/fence.json")).unwrap();
    let v = hub.json(&["--as", "s", "claim", "damaged"]);
    assert!(v["token"].as_u64().unwrap() > before, "{v}");
    // A counter (or, once it is lost, a lock file) at the top of the range: a data
    // error, never an overflow (a panic, or a token that starts again from 0).
    hub.write(
        ".sessions/fence.json",
        &format!("{{\"last_token\": {}}}", u64::MAX),
    );
    hub.cli(["--as", "s", "claim", "top"]).fails(4);
    std::fs::remove_file(hub.path(".sessions/fence.json")).unwrap();
    let mut lock = lock_json(&hub, "damaged");
    lock["token"] = Value::from(u64::MAX);
    hub.write("PRIORITIES/damaged.lock", &lock.to_string());
    hub.cli(["--as", "s", "claim", "top"]).fails(4);
    assert!(!hub.path("PRIORITIES/top.lock").exists());
}

#[test]
fn claim_wait_takes_the_key_once_it_is_released() {
    let hub = TestHub::new();
    hub.ok(&["--as", "first", "claim", "shared"]);
    let mut waiter = spawn(
        &hub,
        &["--as", "second", "claim", "shared", "--wait", "30s"],
    );
    // The waiter found the key held and queued: its queue lock appears.
    let queue = hub.path(".sessions/locks/PRIORITIES%shared.lock.wait");
    wait_for("the waiter to queue", Duration::from_secs(30), || {
        queue.exists()
    });
    // It is still waiting (not answered "already claimed") while the key is held.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        waiter.try_wait().unwrap(),
        None,
        "claim --wait did not wait"
    );
    assert_eq!(lock_json(&hub, "shared")["session_id"], "first");
    hub.ok(&["--as", "first", "release", "shared"]);
    let out = waiter.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("token"));
    assert_eq!(lock_json(&hub, "shared")["session_id"], "second");
    // A wait that runs out answers "already claimed" with the holder.
    hub.cli(["--as", "third", "claim", "shared", "--wait", "200ms"])
        .fails(1)
        .stderr_has("second");
}

#[test]
fn release_is_for_the_holder_or_forced_with_a_reason_on_the_board() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "claim", "a"]);
    hub.ok(&["--as", "s1", "claim", "b"]);
    hub.ok(&["--as", "s2", "claim", "c"]);
    hub.cli(["--as", "s2", "release", "a"])
        .fails(6)
        .stderr_has("held by s1");
    hub.cli(["--as", "s2", "release", "a", "--force"]).fails(2);
    hub.ok(&[
        "--as",
        "s2",
        "release",
        "a",
        "--force",
        "--reason",
        "s1 is gone",
    ]);
    assert!(hub.read("MESSAGES.md").contains("s1 is gone"));
    let all = hub.json(&["--as", "s1", "release", "--all"]);
    assert_eq!(all["released"].as_array().unwrap().len(), 1);
    let left = hub.json(&["claims"]);
    let keys: Vec<&str> = left["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["c"]);
    hub.cli(["--as", "s1", "release", "zzz"]).fails(1);
}

#[test]
fn claims_lists_holder_liveness_token_and_time_left() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "register"]);
    hub.ok(&["--as", "s1", "claim", "deploy", "--ttl", "10m"]);
    let v = hub.json(&["claims"]);
    let c = &v["claims"][0];
    assert_eq!(c["key"], "deploy");
    assert_eq!(c["holder"], "s1");
    assert_eq!(c["holder_liveness"], "live");
    assert!(c["token"].as_u64().unwrap() >= 1);
    let left = c["secs_left"].as_i64().unwrap();
    assert!((500..=600).contains(&left), "{left}");
    let text = hub.ok(&["claims"]);
    assert!(text.contains("deploy") && text.contains("token") && text.contains("left"));
    let status = hub.json(&["status"]);
    assert_eq!(status["claims"][0]["token"], c["token"]);
    assert!(hub.ok(&["status"]).contains("token"));
}

const LEGACY_MILESTONE_LOCK: &str = r#"{
  "milestone_id": "deploy-dashboard",
  "session_id": "session-3-coordinator",
  "claimed_at": "2025-11-15 00:20:00 UTC",
  "type": "milestone"
}
"#;

#[test]
fn lock_files_of_the_original_scripts_count_as_claims_with_the_default_lease() {
    let hub = TestHub::fixture();
    hub.write(
        "PRIORITIES/milestone-deploy-dashboard.lock",
        LEGACY_MILESTONE_LOCK,
    );
    let now = chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string();
    hub.write(
        "PRIORITIES/priority-2.lock",
        &format!(
            "{{\"priority_id\": \"2\", \"session_id\": \"session-4-deployment\", \"claimed_at\": \"{now}\", \"type\": \"priority\"}}\n"
        ),
    );
    let v = hub.json(&["claims"]);
    let claims = v["claims"].as_array().unwrap();
    assert_eq!(claims.len(), 2);
    let old = &claims[0];
    assert_eq!(old["holder"], "session-3-coordinator");
    assert_eq!(old["legacy"], true);
    assert_eq!(
        old["expires_at"], "2025-11-15T00:50:00Z",
        "claimed_at + 30 min"
    );
    assert_eq!(old["takeover_possible"], true);
    // A fresh old-format claim holds: the loser is told who holds it.
    hub.cli(["--as", "me", "claim", "priority-2"])
        .fails(1)
        .stderr_has("session-4-deployment");
    // The drop-in also reads old claims.
    let out = hub.run_bin("claim-priority", &["2", "me"]);
    assert_eq!(out.status.code(), Some(1));
    // The expired old claim (holder's heartbeat stale) is taken over, keeping the
    // original fields, with a token.
    let claimed = hub.json(&["--as", "me", "milestone", "claim", "deploy-dashboard"]);
    assert_eq!(
        claimed["claim"]["took_over_from"]["holder"],
        "session-3-coordinator"
    );
    let lock = lock_json(&hub, "milestone-deploy-dashboard");
    assert_eq!(lock["milestone_id"], "deploy-dashboard");
    assert_eq!(lock["session_id"], "me");
    assert_eq!(lock["type"], "milestone");
    assert!(lock["claimed_at"].is_string() && lock["token"].is_u64());
    assert_eq!(
        claimed["next_session_should"][0],
        "Start from step 1: Review the deployment script"
    );
}

#[test]
fn fixture_milestone_reads_and_updates_keeping_every_field() {
    let hub = TestHub::fixture();
    let original = hub.read("MILESTONES/deploy-dashboard.json");
    let v = hub.json(&["milestone", "status", "deploy-dashboard"]);
    assert_eq!(v["summary"]["steps_total"], 8);
    assert_eq!(v["summary"]["priority"], "HIGH");
    let all = hub.json(&["milestone", "status"]);
    assert_eq!(all["milestones"][0]["id"], "deploy-dashboard");
    let text = hub.command("milestone-status").output().unwrap();
    assert!(stdout(&text).contains("deploy-dashboard"));
    assert_eq!(
        hub.read("MILESTONES/deploy-dashboard.json"),
        original,
        "reading changed it"
    );
    let ready = hub.json(&["ready"]);
    let first = &ready["ready"][0];
    assert_eq!(first["key"], "milestone-deploy-dashboard", "{ready}");
    assert!(
        ready["ready"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "priority"
                && i["title"].as_str().unwrap().contains("Proxy Manager"))
    );

    let out = hub.run_bin("claim-milestone", &["deploy-dashboard", "session-9"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = hub.run_bin(
        "update-milestone",
        &[
            "deploy-dashboard",
            "1",
            "completed",
            "script reviewed",
            "session-9",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let m = hub.read_json("MILESTONES/deploy-dashboard.json");
    let before: Value = serde_json::from_str(&original).unwrap();
    assert_eq!(m["progress"], 12);
    assert_eq!(m["owner"], "session-9");
    assert_eq!(m["status"], "in_progress");
    assert_eq!(m["steps"][0]["completed_by"], "session-9");
    assert_eq!(m["steps"][0]["notes"], "script reviewed");
    assert_eq!(m["context"], before["context"]);
    assert_eq!(m["steps"][1], before["steps"][1]);
    assert_eq!(m["handoff_notes"], before["handoff_notes"]);
    let keys: Vec<&String> = m.as_object().unwrap().keys().collect();
    let old_keys: Vec<&String> = before.as_object().unwrap().keys().collect();
    assert_eq!(
        &keys[..old_keys.len()],
        &old_keys[..],
        "field order changed"
    );
    // Nobody holds it now? It is claimed: `ready` leaves it out.
    let ready = hub.json(&["ready"]);
    assert!(
        ready["ready"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["key"] != "milestone-deploy-dashboard")
    );
}

#[test]
fn a_milestone_file_that_does_not_parse_is_never_overwritten() {
    let hub = TestHub::new();
    let broken = "{\n  \"milestone_id\": \"broken\",\n  \"steps\": [\n    {\"step\": 1 \"status\": \"pending\"}\n  ]\n}\n";
    hub.write("MILESTONES/broken.json", broken);
    for args in [
        vec![
            "--as",
            "s1",
            "milestone",
            "update",
            "broken",
            "1",
            "completed",
            "--force",
        ],
        vec!["--as", "s1", "milestone", "claim", "broken"],
        vec!["--as", "s1", "milestone", "add-step", "broken", "more"],
        vec!["--as", "s1", "milestone", "block", "broken", "why"],
        vec![
            "--as",
            "s1",
            "milestone",
            "handoff",
            "broken",
            "notes",
            "--force",
        ],
        vec!["milestone", "create", "Broken"],
    ] {
        let out = hub.run(&args);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(
            hub.read("MILESTONES/broken.json"),
            broken,
            "{args:?} overwrote it"
        );
        if args[0] == "--as" {
            assert_eq!(out.status.code(), Some(4), "{args:?}: {}", stderr(&out));
            assert!(
                stderr(&out).contains("broken.json:4:"),
                "{args:?}: no path:line:col in {}",
                stderr(&out)
            );
        } else {
            assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
        }
    }
    assert!(!hub.path("PRIORITIES/milestone-broken.lock").exists());
}

#[test]
fn milestone_lifecycle_create_block_handoff_and_drop_ins() {
    let hub = TestHub::new();
    // (The create-milestone drop-in adds the original's three TODO steps: dropins.rs.)
    let out = hub.run(&[
        "--as",
        "s1",
        "milestone",
        "create",
        "Ship the API",
        "--priority",
        "HIGH",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Collisions are an error, not an overwrite.
    let again = hub.run(&["milestone", "create", "ship the api!"]);
    assert_eq!(again.status.code(), Some(1));
    hub.ok(&["milestone", "add-step", "ship-the-api", "write it"]);
    hub.ok(&["milestone", "add-step", "ship-the-api", "ship it"]);
    let m = hub.json(&["milestone", "status", "ship-the-api"]);
    assert_eq!(m["milestone"]["created_by"], "s1");
    assert_eq!(m["summary"]["steps_total"], 2);

    hub.ok(&[
        "--as",
        "s1",
        "milestone",
        "block",
        "ship-the-api",
        "no credentials",
    ]);
    let ready = hub.json(&["ready"]);
    assert!(
        ready["ready"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["id"] != "ship-the-api")
    );
    hub.ok(&["--as", "s1", "milestone", "unblock", "ship-the-api"]);
    let ready = hub.json(&["ready"]);
    assert_eq!(ready["ready"][0]["id"], "ship-the-api");

    hub.ok(&["--as", "s1", "milestone", "claim", "ship-the-api"]);
    // Another session cannot claim it, nor update it.
    let out = hub.run_bin("claim-milestone", &["ship-the-api", "s2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("s1"));
    let out = hub.run(&[
        "--as",
        "s2",
        "milestone",
        "update",
        "ship-the-api",
        "1",
        "completed",
    ]);
    assert_eq!(out.status.code(), Some(6));
    hub.ok(&[
        "--as",
        "s1",
        "milestone",
        "update",
        "ship-the-api",
        "1",
        "completed",
    ]);
    hub.ok(&[
        "--as",
        "s1",
        "milestone",
        "handoff",
        "ship-the-api",
        "half done",
        "--next",
        "ship it",
    ]);
    assert!(!hub.path("PRIORITIES/milestone-ship-the-api.lock").exists());
    let claimed = hub.json(&["--as", "s2", "milestone", "claim", "ship-the-api"]);
    assert_eq!(claimed["handoff_notes"], "half done");
    assert_eq!(claimed["next_session_should"][0], "ship it");
    assert_eq!(claimed["milestone"]["progress"], 50);
    let out = hub.run_bin(
        "update-milestone",
        &["ship-the-api", "2", "completed", "shipped", "s2"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let m = hub.read_json("MILESTONES/ship-the-api.json");
    assert_eq!(m["status"], "completed");
    assert_eq!(m["progress"], 100);
    // Completed: no further updates without --force.
    let out = hub.run(&[
        "--as",
        "s2",
        "milestone",
        "update",
        "ship-the-api",
        "2",
        "pending",
    ]);
    assert_eq!(out.status.code(), Some(6));
    let listing = hub.json(&["milestone", "status"]);
    assert!(listing["milestones"].as_array().unwrap().is_empty());
}

#[test]
fn save_progress_modes_and_full_commits_only_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    let git = |args: &[&str]| git_in(repo, args);
    git(&["init", "-q"]);
    let root = repo.join("SESSIONS");
    let run = |args: &[&str]| -> Output {
        with_git_identity("sessions", &root)
            .args(args)
            .output()
            .unwrap()
    };
    let init = Command::new(bin("sessions"))
        .env_remove("SESSIONS_HUB")
        .args(["init", root.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", stderr(&init));
    std::fs::write(repo.join("unrelated.txt"), "not the hub").unwrap();

    let quick = run(&["--json", "save-progress", "auto", "s1"]);
    assert!(quick.status.success(), "{}", stderr(&quick));
    let v: Value = serde_json::from_slice(&quick.stdout).unwrap();
    assert_eq!(v["mode"], "quick");
    assert!(root.join("HEARTBEATS/s1.json").exists());

    assert!(
        run(&["milestone", "create", "Work", "--step", "a", "--step", "b"])
            .status
            .success()
    );
    assert!(
        run(&["--as", "s1", "milestone", "claim", "work"])
            .status
            .success()
    );
    let auto = run(&["--json", "save-progress", "auto", "s1", "--step", "1"]);
    assert!(auto.status.success(), "{}", stderr(&auto));
    let v: Value = serde_json::from_slice(&auto.stdout).unwrap();
    assert_eq!(v["mode"], "milestone");
    assert_eq!(v["milestones"][0]["progress"], 50);

    let out = with_git_identity("save-progress", &root)
        .args(["full", "s1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let files = git(&["show", "--name-only", "--format=", "HEAD"]);
    assert!(files.contains("SESSIONS/MILESTONES/work.json"), "{files}");
    assert!(files.lines().all(|f| f.starts_with("SESSIONS/")), "{files}");
    assert!(
        !files.contains(".sessions/"),
        "private state committed: {files}"
    );
    let status = git(&["status", "--porcelain"]);
    assert!(status.contains("unrelated.txt"), "{status}");
}

#[test]
fn claim_keys_are_validated_and_help_has_examples() {
    let hub = TestHub::new();
    for bad in ["../x", "a/b", ".hidden", ""] {
        hub.cli(["--as", "s1", "claim", bad]).fails(2);
    }
    let mut seen = BTreeMap::new();
    for cmd in [
        vec!["claim"],
        vec!["renew"],
        vec!["release"],
        vec!["claims"],
        vec!["ready"],
        vec!["save-progress"],
        vec!["milestone", "create"],
        vec!["milestone", "update"],
        vec!["milestone", "status"],
        vec!["milestone", "handoff"],
    ] {
        let mut args = cmd.clone();
        args.push("--help");
        let text = hub.ok(&args);
        seen.insert(cmd.join(" "), text.contains("Example"));
    }
    assert!(seen.values().all(|v| *v), "{seen:?}");
}

#[test]
fn an_already_claimed_answer_names_the_holder_in_json() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "claim", "deploy-api"]);
    let loser = hub.json_status(&["--as", "s2", "claim", "deploy-api"], 1);
    assert_eq!(loser["error"]["kind"], "already_claimed");
    assert_eq!(loser["error"]["details"]["holder"], "s1");
    assert_eq!(loser["error"]["details"]["key"], "deploy-api");
    assert!(loser["error"]["details"]["expires_at"].is_string());
}

#[test]
fn absurd_lease_lengths_and_times_are_errors_not_panics() {
    let hub = TestHub::new();
    // A lease that ends past what a timestamp can hold: a usage error, no lock, no panic.
    hub.cli(["--as", "s1", "claim", "k", "--ttl", "99999999999d"])
        .fails(2);
    assert!(!hub.path("PRIORITIES/k.lock").exists());
    hub.ok(&["--as", "s1", "claim", "k"]);
    hub.cli(["--as", "s1", "renew", "k", "--ttl", "99999999999d"])
        .fails(2);
    // A hand-edited lease length in a lock file: the heartbeat still renews (default lease).
    let mut lock = lock_json(&hub, "k");
    lock["ttl_seconds"] = Value::from(u64::MAX);
    hub.write("PRIORITIES/k.lock", &lock.to_string());
    hub.ok(&["--as", "s1", "heartbeat"]);
    hub.ok(&["--as", "s1", "renew", "k"]);
    // A claim time at the very end of the calendar: listed, never a panic.
    hub.write(
        "PRIORITIES/odd.lock",
        "{\"session_id\": \"zz\", \"claimed_at\": 8210266876799}\n",
    );
    hub.ok(&["claims"]);
    hub.ok(&["ready"]);
    hub.cli(["--as", "s2", "claim", "odd"]).fails(1);
}

#[test]
fn a_milestone_is_listed_by_the_id_commands_take_even_when_its_milestone_id_differs() {
    // The old guide makes milestones by copying an example file; a copy keeps the
    // example's `milestone_id`. Every listing must show the ID the commands accept.
    let hub = TestHub::fixture();
    let copy = hub
        .read("MILESTONES/deploy-dashboard.json")
        .replace("Deploy Dashboard to Server", "Monitoring alerts");
    hub.write("MILESTONES/monitoring-alerts.json", &copy);
    let all = hub.json(&["milestone", "status"]);
    let mut ids: Vec<String> = all["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, ["deploy-dashboard", "monitoring-alerts"], "{all}");
    let text = hub.ok(&["milestone", "status"]);
    assert!(text.contains("monitoring-alerts"), "{text}");
    for id in &ids {
        hub.ok(&["--as", "s1", "milestone", "claim", id]);
        let detail = hub.ok(&["milestone", "status", id]);
        assert!(detail.contains("claimed by s1"), "{detail}");
    }
    let copy_after = hub.read_json("MILESTONES/monitoring-alerts.json");
    assert_eq!(
        copy_after["milestone_id"], "deploy-dashboard",
        "a field was rewritten"
    );
}

#[test]
fn hand_written_milestone_shapes_are_read_and_nothing_in_them_is_dropped() {
    let hub = TestHub::new();
    hub.write(
        "MILESTONES/hand.json",
        r#"{"milestone_id": "hand", "title": "Hand made", "steps": ["Write it", "Ship it"],
            "blockers": "waiting for keys, waiting for DNS", "mine": {"kept": true}}"#,
    );
    // Blocking keeps the blockers that were there (a comma string is a list).
    hub.ok(&["--as", "s1", "milestone", "block", "hand", "no server"]);
    let m = hub.read_json("MILESTONES/hand.json");
    assert_eq!(
        m["blockers"],
        serde_json::json!(["waiting for keys", "waiting for DNS", "no server"]),
        "{m}"
    );
    hub.ok(&["--as", "s1", "milestone", "unblock", "hand"]);
    // Steps written as plain strings work like steps, keeping their text.
    hub.ok(&["--as", "s1", "milestone", "claim", "hand"]);
    hub.ok(&[
        "--as",
        "s1",
        "milestone",
        "update",
        "hand",
        "1",
        "completed",
    ]);
    let m = hub.read_json("MILESTONES/hand.json");
    assert_eq!(m["steps"][0]["description"], "Write it", "{m}");
    assert_eq!(m["steps"][0]["status"], "completed");
    assert_eq!(m["steps"][1]["description"], "Ship it");
    assert_eq!(m["progress"], 50);
    assert_eq!(m["mine"]["kept"], true);
    hub.ok(&["--as", "s1", "milestone", "handoff", "hand", "half"]);
}

#[test]
fn save_progress_full_never_commits_private_state_or_temp_files() {
    // A hub the old scripts made has no `.gitignore` for `.sessions/`.
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    let git = |args: &[&str]| git_in(repo, args);
    git(&["init", "-q"]);
    let root = repo.join("SESSIONS");
    copy_tree(&fixture_dir(), &root);
    std::fs::write(
        root.join("MILESTONES/.deploy-dashboard.json.1.2.3.tmp"),
        "{\"half\": ",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = with_git_identity("sessions", &root)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    };
    run(&["--as", "s1", "milestone", "claim", "deploy-dashboard"]);
    run(&["save-progress", "full", "s1"]);
    let files = git(&["show", "--name-only", "--format=", "HEAD"]);
    assert!(
        files.contains("SESSIONS/MILESTONES/deploy-dashboard.json"),
        "{files}"
    );
    assert!(
        !files.contains(".sessions/"),
        "private state committed: {files}"
    );
    assert!(!files.contains(".tmp"), "a temp file committed: {files}");
}

#[test]
fn ready_and_claims_do_not_read_through_symlinks_out_of_the_hub() {
    let hub = TestHub::new();
    let outside = tempfile::tempdir().unwrap();
    let state = outside.path().join("state.md");
    std::fs::write(&state, "# S\n\n## BACKLOG\n\n- Outside item HIGH\n").unwrap();
    std::fs::remove_file(hub.path("CURRENT_STATE.md")).unwrap();
    std::os::unix::fs::symlink(&state, hub.path("CURRENT_STATE.md")).unwrap();
    let out = hub.run(&["ready"]);
    assert!(!stdout(&out).contains("Outside item"), "{}", stdout(&out));
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("outside the hub"), "{}", stderr(&out));

    // A heartbeat that lives outside the hub does not make a holder live.
    let beat = outside.path().join("ghost.json");
    let now = chrono::Utc::now().to_rfc3339();
    std::fs::write(&beat, format!("{{\"last_heartbeat\": \"{now}\"}}")).unwrap();
    std::os::unix::fs::symlink(&beat, hub.path("HEARTBEATS/ghost.json")).unwrap();
    hub.ok(&["--as", "ghost", "claim", "k"]);
    let v = hub.json(&["claims"]);
    assert_ne!(v["claims"][0]["holder_liveness"], "live", "{v}");
}

#[test]
fn save_progress_skips_held_keys_that_are_not_open_milestones() {
    let hub = TestHub::new();
    // `claim-priority milestone-x s1`, as old guides do, with no such milestone file.
    let out = hub.run_bin("claim-priority", &["milestone-nope", "s1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A milestone completed while its claim stayed (the completer was killed before
    // releasing it).
    hub.ok(&["milestone", "create", "Done", "--step", "a"]);
    hub.ok(&["--as", "s1", "milestone", "claim", "done"]);
    let lock = hub.read("PRIORITIES/milestone-done.lock");
    hub.ok(&[
        "--as",
        "s1",
        "milestone",
        "update",
        "done",
        "1",
        "completed",
    ]);
    hub.write("PRIORITIES/milestone-done.lock", &lock);

    let out = hub
        .command("sessions")
        .args(["--json", "save-progress", "auto", "s1", "--step", "1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mode"], "quick", "{v}");
    let m = hub.read_json("MILESTONES/done.json");
    assert!(m.get("last_saved_by").is_none(), "{m}");
}

#[test]
fn drop_ins_take_an_empty_placeholder_argument_as_not_given() {
    // `update-milestone <id> <step> <status> [notes] [session]`: naming the session needs a
    // notes argument, and "" is the placeholder; it must not erase the planned notes.
    let hub = TestHub::fixture();
    let before = hub.read_json("MILESTONES/deploy-dashboard.json");
    let out = hub.run_bin("claim-milestone", &["deploy-dashboard", "s9"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = hub.run_bin(
        "update-milestone",
        &["deploy-dashboard", "1", "completed", "", "s9"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let m = hub.read_json("MILESTONES/deploy-dashboard.json");
    assert_eq!(m["steps"][0]["status"], "completed");
    assert_eq!(m["steps"][0]["notes"], before["steps"][0]["notes"], "{m}");
    // The same placeholder for the priority of create-milestone means the default.
    let out = hub.run_bin("create-milestone", &["Placeholder priority", "", "s9"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let m = hub.read_json("MILESTONES/placeholder-priority.json");
    assert_eq!(m["priority"], "MEDIUM");
    assert_eq!(
        m["owner"], "s9",
        "the third argument is the owner, as in the original"
    );
}

#[test]
fn a_damaged_lock_of_another_session_does_not_stop_save_progress_or_release_all() {
    let hub = TestHub::new();
    hub.ok(&["milestone", "create", "Mine", "--step", "a", "--step", "b"]);
    hub.ok(&["--as", "s1", "milestone", "claim", "mine"]);
    hub.ok(&["--as", "s1", "claim", "extra"]);
    hub.write("PRIORITIES/theirs.lock", "{\"session_id\": \"s2\", ");
    let out = hub
        .command("sessions")
        .args(["--json", "save-progress", "auto", "s1", "--step", "1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(hub.read_json("MILESTONES/mine.json")["progress"], 50);
    let v = hub.json(&["--as", "s1", "release", "--all"]);
    assert_eq!(v["released"].as_array().unwrap().len(), 2, "{v}");
    assert!(!hub.path("PRIORITIES/extra.lock").exists());
    assert_eq!(
        hub.read("PRIORITIES/theirs.lock"),
        "{\"session_id\": \"s2\", ",
        "the damaged lock was touched"
    );
    // Listing all claims still names the damaged file.
    hub.cli(["claims"]).fails(4).stderr_has("theirs.lock");
}

#[test]
fn lock_files_in_the_old_protocol_format_name_their_holder_and_time() {
    // PROTOCOLS/README.md of the original hub claims work with
    // echo '{"session":"...","task":"...","time":"'$(date -u)'"}' > PRIORITIES/<task>.lock
    let hub = TestHub::fixture();
    let two_hours_ago = chrono::Utc::now() - chrono::Duration::hours(2);
    let date_u = two_hours_ago.format("%a %b %e %H:%M:%S UTC %Y").to_string();
    hub.write(
        "PRIORITIES/protocols.lock",
        &format!(
            "{{\"session\":\"session-2-consciousness\",\"task\":\"protocols\",\"time\":\"{date_u}\"}}\n"
        ),
    );
    let v = hub.json(&["claims"]);
    let c = &v["claims"][0];
    assert_eq!(c["holder"], "session-2-consciousness", "{v}");
    let expected = (two_hours_ago + chrono::Duration::minutes(30))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(c["expires_at"], expected.as_str(), "{v}");
    // Its holder can release it without --force.
    hub.ok(&["--as", "session-2-consciousness", "release", "protocols"]);
    // `date -u` pads a one-digit day with a space.
    hub.write(
        "PRIORITIES/old.lock",
        "{\"session\":\"s\",\"time\":\"Mon Nov  2 00:45:46 UTC 2026\"}\n",
    );
    let v = hub.json(&["claims"]);
    assert_eq!(v["claims"][0]["claimed_at"], "2026-11-02T00:45:46Z", "{v}");
}

#[test]
fn a_guarded_update_by_the_holder_of_a_plain_claim_makes_it_the_owner() {
    // Old guides claim milestones with claim-priority (a plain claim of milestone-<id>).
    let hub = TestHub::fixture();
    let out = hub.run_bin("claim-priority", &["milestone-deploy-dashboard", "s9"]);
    assert!(out.status.success(), "{}", stderr(&out));
    hub.ok(&[
        "--as",
        "s9",
        "milestone",
        "update",
        "deploy-dashboard",
        "1",
        "in_progress",
    ]);
    let m = hub.read_json("MILESTONES/deploy-dashboard.json");
    assert_eq!(m["owner"], "s9", "{m}");
    let v = hub.json(&["milestone", "status"]);
    assert_eq!(v["milestones"][0]["owner"], "s9");
}

#[test]
fn save_progress_step_is_refused_when_it_would_hit_several_milestones() {
    let hub = TestHub::new();
    for title in ["One", "Two"] {
        hub.ok(&["milestone", "create", title, "--step", "a", "--step", "b"]);
        hub.ok(&["--as", "s1", "milestone", "claim", &title.to_lowercase()]);
    }
    let out = hub
        .command("sessions")
        .args(["save-progress", "milestone", "s1", "--step", "1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("milestone update"),
        "{}",
        stderr(&out)
    );
    for id in ["one", "two"] {
        let m = hub.read_json(&format!("MILESTONES/{id}.json"));
        assert_eq!(m["steps"][0]["status"], "pending", "{m}");
    }
    // Without --step it saves on both.
    let out = hub
        .command("sessions")
        .args(["--json", "save-progress", "milestone", "s1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn save_progress_with_secret_notes_writes_nothing() {
    let hub = TestHub::new();
    hub.ok(&["milestone", "create", "One", "--step", "a"]);
    hub.ok(&["--as", "s1", "milestone", "claim", "one"]);
    let out = hub
        .command("sessions")
        .args(["save-progress", "auto", "s1", "--step", "1"])
        .args(["--notes", "AKIAABCDEFGHIJKLMNOP"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(
        !hub.path("HEARTBEATS/s1.json").exists(),
        "the heartbeat was written"
    );
    assert_eq!(
        hub.read_json("MILESTONES/one.json")["steps"][0]["status"],
        "pending"
    );
}

#[test]
fn a_session_claiming_while_it_releases_the_same_key_never_gets_not_found() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "claim", "k"]);
    for _ in 0..30 {
        let mut claim = hub.command("sessions");
        claim.args(["--as", "s1", "claim", "k"]);
        let mut release = hub.command("sessions");
        release.args(["--as", "s1", "release", "k"]);
        let claimer = claim
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = release.stdout(Stdio::null()).stderr(Stdio::null()).status();
        let out = claimer.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Whatever the order, s1 ends up holding k or having released it; claim again.
        hub.ok(&["--as", "s1", "claim", "k"]);
    }
}
