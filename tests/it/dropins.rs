//! Drop-in parity: every original script and argument form, run side by side with the
//! `sessions` drop-in of the same name on two copies of one hub. Exit codes and the set
//! of files written must match, and the files must say the same things; the differences
//! that remain are deliberate, each named in the table with its reason (README:
//! "Migrating from the scripts").

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::*;

fn originals_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/original-scripts")
}

/// A HOME with the fixture hub at `$HOME/Development/SESSIONS`, where the originals
/// look for it.
struct Side {
    home: tempfile::TempDir,
    hub: PathBuf,
}

impl Side {
    fn new() -> Side {
        let home = tempfile::tempdir().unwrap();
        let hub = home.path().join("Development/SESSIONS");
        copy_tree(&fixture_dir(), &hub);
        Side { home, hub }
    }

    fn env(&self, cmd: &mut Command, session: Option<&str>) {
        cmd.current_dir(&self.hub)
            .env("HOME", self.home.path())
            .env_remove("SESSIONS_HUB")
            .env_remove("SESSIONS_ID")
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null());
        if let Some(id) = session {
            cmd.env("SESSIONS_ID", id);
        }
    }

    fn original(&self, script: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new("bash");
        cmd.arg(originals_dir().join(format!("{script}.sh")))
            .args(args);
        self.env(&mut cmd, None);
        cmd.output().expect("run the original script")
    }

    fn dropin(&self, name: &str, args: &[&str], session: Option<&str>) -> Output {
        let mut cmd = Command::new(bin(name));
        cmd.args(args);
        self.env(&mut cmd, session);
        cmd.output().expect("run the drop-in")
    }

    /// Every file under the hub with a hash of its bytes.
    fn snapshot(&self) -> BTreeMap<String, u64> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, u64>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let e = e.unwrap();
                let p = e.path();
                if e.file_type().unwrap().is_dir() {
                    walk(root, &p, out);
                } else {
                    use std::hash::{Hash, Hasher};
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    std::fs::read(&p).unwrap().hash(&mut h);
                    let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                    out.insert(rel, h.finish());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.hub, &self.hub, &mut out);
        out
    }

    fn json(&self, rel: &str) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.hub.join(rel)).unwrap())
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// The board's messages as `sessions msg list --json` reads them.
    fn messages(&self) -> Vec<Value> {
        let out = Command::new(bin("sessions"))
            .args(["--json", "msg", "list", "--limit", "1000"])
            .env("SESSIONS_HUB", &self.hub)
            .env_remove("SESSIONS_ID")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["messages"].as_array().cloned().unwrap_or_default()
    }
}

/// What changed between two snapshots, with names the toolkit cannot share normalized
/// (a collaboration request's ID is unique per request, not `collab-<seconds>`) and the
/// toolkit's private bookkeeping left out (`.sessions/`: locks, token counter, grants).
fn changed(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeSet<String> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .filter(|k| !k.starts_with(".sessions/"))
        .map(|k| {
            if k.starts_with("ACTIVE/COLLABORATIONS/") {
                "ACTIVE/COLLABORATIONS/*".to_string()
            } else {
                k.clone()
            }
        })
        .collect()
}

/// One argument form of one script.
struct Case {
    script: &'static str,
    args: &'static [&'static str],
    /// Run after this setup on both sides (with the originals, so both start equal).
    setup: &'static [(&'static str, &'static [&'static str])],
    /// Files only the drop-in writes, each a deliberate difference (the reason is the
    /// comment in the table).
    only_ours: &'static [&'static str],
    /// What the files must say on both sides.
    check: fn(&Side, &Side),
}

fn no_check(_: &Side, _: &Side) {}

fn same_fields(o: &Value, n: &Value, fields: &[&str]) {
    for f in fields {
        assert_eq!(o[f], n[f], "field {f}: original {o} vs drop-in {n}");
    }
}

fn steps(v: &Value) -> Vec<(Value, Value, Value)> {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step"].clone(),
                s["description"].clone(),
                s["status"].clone(),
            )
        })
        .collect()
}

const CASES: &[Case] = &[
    // create-milestone: the three TODO steps, owner from the third argument, the ID
    // derived as `tr` did (`.`/`_` dropped, each space a dash).
    Case {
        script: "create-milestone",
        args: &["Deploy v1.2 the_app  now", "HIGH", "session-3"],
        setup: &[],
        only_ours: &[],
        check: |o, n| {
            let rel = "MILESTONES/deploy-v12-theapp--now.json";
            let (o, n) = (o.json(rel), n.json(rel));
            same_fields(
                &o,
                &n,
                &[
                    "milestone_id",
                    "title",
                    "priority",
                    "owner",
                    "status",
                    "progress",
                ],
            );
            same_fields(
                &o,
                &n,
                &["next_session_should", "blockers", "handoff_notes"],
            );
            assert_eq!(steps(&o), steps(&n));
            assert_eq!(o["context"], n["context"]);
        },
    },
    Case {
        script: "create-milestone",
        args: &["Simple Thing"],
        setup: &[],
        only_ours: &[],
        check: |o, n| {
            let rel = "MILESTONES/simple-thing.json";
            same_fields(&o.json(rel), &n.json(rel), &["owner", "priority", "status"]);
        },
    },
    Case {
        script: "create-milestone",
        args: &[],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    // An existing milestone: both refuse, nothing written.
    Case {
        script: "create-milestone",
        args: &["Deploy Dashboard"],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    Case {
        script: "claim-milestone",
        args: &["deploy-dashboard", "session-9"],
        setup: &[],
        only_ours: &[],
        check: |o, n| {
            let lock = "PRIORITIES/milestone-deploy-dashboard.lock";
            same_fields(
                &o.json(lock),
                &n.json(lock),
                &["milestone_id", "session_id", "type"],
            );
            let m = "MILESTONES/deploy-dashboard.json";
            same_fields(&o.json(m), &n.json(m), &["owner", "status"]);
        },
    },
    Case {
        script: "claim-milestone",
        args: &["no-such-milestone", "session-9"],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    Case {
        script: "claim-milestone",
        args: &["deploy-dashboard"],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    // Claimed by someone else: both refuse.
    Case {
        script: "claim-milestone",
        args: &["deploy-dashboard", "session-2"],
        setup: &[("claim-milestone", &["deploy-dashboard", "session-9"])],
        only_ours: &[],
        check: no_check,
    },
    // update-milestone without the session argument (the guide's form right after a claim).
    Case {
        script: "update-milestone",
        args: &["deploy-dashboard", "1", "completed"],
        setup: &[("claim-milestone", &["deploy-dashboard", "session-9"])],
        only_ours: &[],
        check: |o, n| {
            let m = "MILESTONES/deploy-dashboard.json";
            let (o, n) = (o.json(m), n.json(m));
            assert_eq!(steps(&o), steps(&n));
            same_fields(&o, &n, &["progress", "status"]);
        },
    },
    // ... and on a milestone nobody claimed: the original lets anyone (recorded as forced).
    Case {
        script: "update-milestone",
        args: &[
            "deploy-dashboard",
            "2",
            "in_progress",
            "looking at it",
            "session-4",
        ],
        setup: &[],
        only_ours: &[],
        check: |o, n| {
            let m = "MILESTONES/deploy-dashboard.json";
            let (o, n) = (o.json(m), n.json(m));
            assert_eq!(steps(&o), steps(&n));
            assert_eq!(o["steps"][1]["notes"], n["steps"][1]["notes"]);
            assert_eq!(o["steps"][1]["started_by"], n["steps"][1]["started_by"]);
        },
    },
    Case {
        script: "update-milestone",
        args: &["no-such-milestone", "1", "completed"],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    Case {
        script: "update-milestone",
        args: &["deploy-dashboard", "1"],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    // The guide's own example, with no identity anywhere.
    Case {
        script: "session-broadcast",
        args: &["hello"],
        setup: &[],
        only_ours: &[],
        check: |o, n| {
            let (o, n) = (o.messages(), n.messages());
            assert_eq!(o.len(), n.len());
            let (o, n) = (o.last().unwrap(), n.last().unwrap());
            same_fields(o, n, &["body", "subject", "priority", "broadcast"]);
        },
    },
    Case {
        script: "session-broadcast",
        args: &["deploy at 5", "urgent", "session-2"],
        setup: &[],
        only_ours: &[],
        check: |o, n| {
            let (o, n) = (o.messages(), n.messages());
            same_fields(
                o.last().unwrap(),
                n.last().unwrap(),
                &["from", "body", "priority"],
            );
        },
    },
    // A free-form priority: the original shows it as a 📬 normal message.
    Case {
        script: "session-broadcast",
        args: &["x", "loud", "session-1"],
        setup: &[],
        only_ours: &[],
        check: |o, n| {
            let (o, n) = (o.messages(), n.messages());
            same_fields(o.last().unwrap(), n.last().unwrap(), &["from", "priority"]);
        },
    },
    Case {
        script: "session-broadcast",
        args: &[],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    Case {
        script: "session-request-collaboration",
        args: &["session-1-dashboard", "Need UI for analytics"],
        setup: &[],
        only_ours: &[],
        check: |o, n| {
            let file = |s: &Side| {
                let dir = s.hub.join("ACTIVE/COLLABORATIONS");
                let newest = std::fs::read_dir(&dir)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .max_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap())
                    .unwrap();
                serde_json::from_str::<Value>(&std::fs::read_to_string(newest).unwrap()).unwrap()
            };
            same_fields(
                &file(o),
                &file(n),
                &["to_session", "request", "urgency", "status"],
            );
        },
    },
    Case {
        script: "session-request-collaboration",
        args: &["session-4", "deploy it", "someday", "session-2"],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    Case {
        script: "session-request-collaboration",
        args: &["session-4"],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    // save-progress with no arguments: auto mode as "session-unknown", a heartbeat.
    Case {
        script: "save-progress",
        args: &[],
        setup: &[],
        only_ours: &[],
        check: |o, n| {
            let hb = "HEARTBEATS/session-unknown.json";
            // Not `current_work`: the original wrote "In progress" over it when not asked
            // on a terminal; the drop-in keeps what the session said it works on.
            same_fields(&o.json(hb), &n.json(hb), &["session_id", "status"]);
        },
    },
    Case {
        script: "save-progress",
        args: &["quick", "session-7"],
        setup: &[],
        only_ours: &[],
        check: |o, n| {
            let hb = "HEARTBEATS/session-7.json";
            same_fields(&o.json(hb), &n.json(hb), &["session_id", "status"]);
        },
    },
    Case {
        script: "session-propose-identity",
        args: &[
            "session-6",
            "Revenue Builder",
            "Revenue Services",
            "i-match,monetization",
        ],
        setup: &[],
        // The toolkit's own record of the proposal and its vote (one file per voter).
        only_ours: &[
            "HANDSHAKES/session-6-identity/proposal.json",
            "HANDSHAKES/session-6-identity/votes/session-6.json",
        ],
        check: |o, n| {
            let p = "ACTIVE/CONSENSUS/proposals/session-6-identity.json";
            same_fields(
                &o.json(p),
                &n.json(p),
                &["session_id", "name", "role", "specializations", "status"],
            );
            let v = "ACTIVE/CONSENSUS/votes/session-6-votes-for-session-6.json";
            same_fields(
                &o.json(v),
                &n.json(v),
                &["voter", "proposal", "vote", "comment"],
            );
        },
    },
    Case {
        script: "session-propose-identity",
        args: &["session-6", "x"],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    Case {
        script: "session-vote",
        args: &["session-5-identity", "agree", "session-1", "welcome"],
        setup: &[],
        only_ours: &[
            "HANDSHAKES/session-5-identity/proposal.json",
            "HANDSHAKES/session-5-identity/votes/session-1.json",
        ],
        check: |o, n| {
            let v = "ACTIVE/CONSENSUS/votes/session-1-votes-for-session-5-identity.json";
            same_fields(
                &o.json(v),
                &n.json(v),
                &["voter", "proposal", "vote", "comment"],
            );
            // Two agreeing votes: not consensus under the original rule (7).
            assert!(!o.messages().iter().any(|m| {
                m["subject"]
                    .as_str()
                    .is_some_and(|s| s.contains("CONSENSUS"))
            }));
            assert_eq!(o.messages().len(), n.messages().len());
        },
    },
    Case {
        script: "session-vote",
        args: &["session-5-identity", "maybe", "session-1"],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    Case {
        script: "session-vote",
        args: &["no-such-identity", "agree", "session-1"],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    Case {
        script: "session-vote",
        args: &["session-5-identity"],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    Case {
        script: "session-agree-goal",
        args: &["session-4", "aligned"],
        setup: &[],
        only_ours: &[],
        check: |o, n| {
            let g = "ACTIVE/GOAL_AGREEMENTS/session-4.json";
            same_fields(&o.json(g), &n.json(g), &["session_id", "agreed", "comment"]);
            assert_eq!(o.messages().len(), n.messages().len());
        },
    },
    Case {
        script: "session-agree-goal",
        args: &[],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    // Views: exit 0, nothing written.
    Case {
        script: "quick-status",
        args: &[],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    Case {
        script: "session-sync",
        args: &[],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    Case {
        script: "milestone-status",
        args: &[],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    Case {
        script: "milestone-status",
        args: &["deploy-dashboard"],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    Case {
        script: "session-find-help",
        args: &["deployment"],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    Case {
        script: "session-find-help",
        args: &[],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    Case {
        script: "session-capability-match",
        args: &["deploy the dashboard"],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    Case {
        script: "session-capability-match",
        args: &[],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
    Case {
        script: "session-discover-all",
        args: &[],
        setup: &[],
        only_ours: &[],
        check: no_check,
    },
];

#[test]
fn every_drop_in_exits_and_writes_like_the_original_script() {
    let mut failures = Vec::new();
    for case in CASES {
        let (orig, ours) = (Side::new(), Side::new());
        for (script, args) in case.setup {
            for side in [&orig, &ours] {
                let out = side.original(script, args);
                assert!(
                    out.status.success(),
                    "setup {script} {args:?}: {}",
                    stdout(&out)
                );
            }
        }
        let (before_o, before_n) = (orig.snapshot(), ours.snapshot());
        let o = orig.original(case.script, case.args);
        let n = ours.dropin(case.script, case.args, None);
        let label = format!("{} {:?}", case.script, case.args);
        if o.status.code() != n.status.code() {
            failures.push(format!(
                "{label}: exit {:?} (original) vs {:?} (drop-in)\n  original: {}\n  drop-in: {}{}",
                o.status.code(),
                n.status.code(),
                stdout(&o).lines().last().unwrap_or(""),
                stdout(&n).lines().last().unwrap_or(""),
                stderr(&n)
            ));
            continue;
        }
        let co = changed(&before_o, &orig.snapshot());
        let mut cn = changed(&before_n, &ours.snapshot());
        for extra in case.only_ours {
            assert!(
                cn.remove(*extra),
                "{label}: expected the drop-in to write {extra}"
            );
        }
        if co != cn {
            failures.push(format!(
                "{label}: files written differ\n  original: {co:?}\n  drop-in:  {cn:?}"
            ));
            continue;
        }
        let checked =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (case.check)(&orig, &ours)));
        if checked.is_err() {
            failures.push(format!(
                "{label}: the files say different things (see the panic above)"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

/// Every drop-in name the shims call, from the shims `init` writes.
fn shim_names(hub: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(hub)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".sh").map(str::to_string))
        .collect();
    names.sort();
    names
}

#[test]
fn one_binary_answers_to_every_drop_in_name_and_as_first_argument() {
    let hub = TestHub::new();
    let names = shim_names(&hub.root);
    // The seventeen originals' names, plus the guides' register-session, claim-priority
    // and the healthcheck.
    for original in std::fs::read_dir(originals_dir()).unwrap() {
        let name = original.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".sh") {
            assert!(names.contains(&stem.to_string()), "no drop-in for {name}");
        }
    }
    assert_eq!(names.len(), 20, "{names:?}");
    for name in &names {
        // By its own name (a link), as `sessions dropin <name>` (what the shims run) and,
        // where the name is not also a command, as `sessions <name>`.
        let mut runs = vec![
            hub.command(name).arg("--help").output().unwrap(),
            hub.command("sessions")
                .args(["dropin", name.as_str(), "--help"])
                .output()
                .unwrap(),
        ];
        if !["save-progress", "quick-status"].contains(&name.as_str()) {
            runs.push(
                hub.command("sessions")
                    .args([name.as_str(), "--help"])
                    .output()
                    .unwrap(),
            );
        }
        for out in runs {
            assert!(out.status.success(), "{name}: {}", stderr(&out));
            assert!(
                stdout(&out).starts_with(&format!("usage: {name} ")),
                "{name}: {}",
                stdout(&out)
            );
        }
    }
    // `sessions save-progress` is the command (its flags work); the drop-in's defaults
    // are there through `dropin`: no identity is `session-unknown`, as in the original.
    let out = hub
        .command("sessions")
        .args(["save-progress", "--help"])
        .output()
        .unwrap();
    assert!(stdout(&out).contains("--step"), "{}", stdout(&out));
    let out = hub
        .command("sessions")
        .args(["dropin", "save-progress"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(hub.path("HEARTBEATS/session-unknown.json").exists());
    let out = hub
        .command("sessions")
        .args(["dropin", "no-such-script"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("update-milestone"),
        "{}",
        stderr(&out)
    );
    // One binary: no per-script programs in the package any more.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(!manifest.join("src/bin").exists());
    let cargo = std::fs::read_to_string(manifest.join("Cargo.toml")).unwrap();
    assert_eq!(cargo.matches("[[bin]]").count(), 1);
}

#[test]
fn install_dropins_links_the_old_names_to_the_one_binary() {
    let hub = TestHub::new();
    let dir = tempfile::tempdir().unwrap();
    let links = dir.path().join("bin");
    let v = hub.json(&["install-dropins", links.to_str().unwrap()]);
    assert_eq!(v["links"].as_array().unwrap().len(), 20, "{v}");
    let exe = std::fs::canonicalize(bin("sessions")).unwrap();
    assert_eq!(
        std::fs::canonicalize(links.join("update-milestone")).unwrap(),
        exe
    );
    // A link runs its drop-in.
    let out = Command::new(links.join("session-broadcast"))
        .args(["hello from a link", "normal", "s1"])
        .env("SESSIONS_HUB", &hub.root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(hub.read("MESSAGES.md").contains("hello from a link"));
    // Again: nothing to do. A file of ours in the way is left alone unless --force.
    assert_eq!(
        hub.run(&["install-dropins", links.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    std::fs::remove_file(links.join("quick-status")).unwrap();
    std::fs::write(links.join("quick-status"), "#!/bin/sh\necho mine\n").unwrap();
    let out = hub.run(&["install-dropins", links.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("quick-status"), "{}", stdout(&out));
    assert_eq!(
        std::fs::read_to_string(links.join("quick-status")).unwrap(),
        "#!/bin/sh\necho mine\n"
    );
    let out = hub.run(&["install-dropins", "--force", links.to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(
        std::fs::canonicalize(links.join("quick-status")).unwrap(),
        exe
    );
}

/// The quick start builds only `sessions`; `sessions init` then writes shims that find
/// it on PATH, else at the path it was started from, else say what to do.
#[test]
fn shims_work_with_only_sessions_built_and_say_what_to_do_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let built = dir.path().join("target/release");
    std::fs::create_dir_all(&built).unwrap();
    std::fs::copy(bin("sessions"), built.join("sessions")).unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let plain_path = "/usr/bin:/bin";
    let run = |cmd: &str, args: &[&str]| -> Output {
        Command::new(cmd)
            .args(args)
            .current_dir(&project)
            .env("PATH", plain_path)
            .env_remove("SESSIONS_HUB")
            .env_remove("SESSIONS_ID")
            .output()
            .unwrap()
    };
    let out = run(built.join("sessions").to_str().unwrap(), &["init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for (shim, args) in [
        ("./SESSIONS/create-milestone.sh", &["Ship It", "HIGH"][..]),
        ("./SESSIONS/claim-milestone.sh", &["ship-it", "s1"]),
        (
            "./SESSIONS/update-milestone.sh",
            &["ship-it", "1", "completed", "first step done"],
        ),
        (
            "./SESSIONS/scripts/register-session.sh",
            &["s2", "Helper", "Docs"],
        ),
        ("./SESSIONS/scripts/claim-priority.sh", &["7", "s2"]),
    ] {
        let out = run(shim, args);
        assert!(
            out.status.success(),
            "{shim} {args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
    }
    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(project.join("SESSIONS/MILESTONES/ship-it.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(m["steps"][0]["status"], "completed");
    assert_eq!(m["steps"][0]["notes"], "first step done");
    assert_eq!(
        m["steps"][0]["completed_by"], "s1",
        "the holder, as no session was named"
    );
    assert!(project.join("SESSIONS/PRIORITIES/priority-7.lock").exists());
    // On PATH, PATH wins (a link named `sessions` elsewhere).
    // Without the binary: a clear message and exit 127, nothing written.
    std::fs::remove_file(built.join("sessions")).unwrap();
    let out = run("./SESSIONS/quick-status.sh", &[]);
    assert_eq!(out.status.code(), Some(127));
    assert!(
        stderr(&out).contains("'sessions' is not on PATH"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("cargo build --release"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn drop_ins_find_the_hub_where_the_originals_did() {
    // $HOME/Development/SESSIONS, from anywhere.
    let home = tempfile::tempdir().unwrap();
    let hub = home.path().join("Development/SESSIONS");
    copy_tree(&fixture_dir(), &hub);
    let elsewhere = tempfile::tempdir().unwrap();
    let run = |cwd: &Path, name: &str, args: &[&str]| -> Output {
        Command::new(bin(name))
            .args(args)
            .current_dir(cwd)
            .env("HOME", home.path())
            .env_remove("SESSIONS_HUB")
            .env_remove("SESSIONS_ID")
            .output()
            .unwrap()
    };
    let out = run(
        elsewhere.path(),
        "session-broadcast",
        &["from far away", "normal", "s3"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(hub.join("MESSAGES.md"))
            .unwrap()
            .contains("from far away")
    );
    assert!(!elsewhere.path().join("MESSAGES.md").exists());
    // A hub folder with another name, used from inside (the board scripts' `./MESSAGES.md`).
    let other = elsewhere.path().join("coordination");
    copy_tree(&fixture_dir(), &other);
    let out = run(
        &other,
        "session-broadcast",
        &["in the other hub", "normal", "s3"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(other.join("MESSAGES.md"))
            .unwrap()
            .contains("in the other hub")
    );
    assert!(
        !std::fs::read_to_string(hub.join("MESSAGES.md"))
            .unwrap()
            .contains("in the other hub")
    );
    // No hub anywhere: the usual "no hub" answer (exit 3), nothing written.
    let empty_home = tempfile::tempdir().unwrap();
    let out = Command::new(bin("quick-status"))
        .current_dir(elsewhere.path())
        .env("HOME", empty_home.path())
        .env_remove("SESSIONS_HUB")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

#[test]
fn a_heartbeat_in_the_hub_readme_form_counts() {
    let hub = TestHub::new();
    hub.ok(&["register", "your-session"]);
    // The hub README's step 4: echo '{"id":"your-session","time":"'$(date -u)'"}'
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"echo '{"id":"your-session","time":"'"$(date -u)"'"}' > "$HUB/HEARTBEATS/your-session.json""#)
        .env("HUB", &hub.root)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v = hub.json(&["sync"]);
    let s = v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "your-session")
        .unwrap()
        .clone();
    assert_eq!(s["liveness"], "live", "{s}");
}

#[test]
fn next_finds_the_best_free_work_and_claims_it_once() {
    let hub = TestHub::new();
    hub.ok(&[
        "milestone",
        "create",
        "Low thing",
        "--priority",
        "LOW",
        "--step",
        "a",
    ]);
    hub.ok(&[
        "milestone",
        "create",
        "Urgent thing",
        "--priority",
        "HIGH",
        "--step",
        "a",
    ]);
    let v = hub.json(&["--as", "s1", "next"]);
    assert_eq!(v["ready"][0]["id"], "urgent-thing");
    assert!(v["claimed"].is_null());
    assert!(!hub.path("PRIORITIES/milestone-urgent-thing.lock").exists());
    // Two sessions claim at once: each gets a different item.
    let children: Vec<_> = ["s1", "s2"]
        .iter()
        .map(|id| {
            hub.command("sessions")
                .args(["--json", "--as", id, "next", "--claim"])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut got = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        got.push(v["claimed"]["item"]["id"].as_str().unwrap().to_string());
    }
    got.sort();
    assert_eq!(got, ["low-thing", "urgent-thing"]);
    // Holding work: nothing more is claimed. A third session finds nothing (exit 1).
    let v = hub.json(&["--as", "s1", "next", "--claim"]);
    assert_eq!(v["holding"].as_array().unwrap().len(), 1);
    assert!(v["claimed"].is_null());
    assert_eq!(
        hub.json_status(&["--as", "s3", "next", "--claim"], 1)["claimed"],
        Value::Null
    );
    // The drop-in: auto-consciousness [session] is `next --claim` for that session.
    hub.ok(&["milestone", "create", "More work", "--step", "a"]);
    let out = hub.run_bin("auto-consciousness", &["s3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        hub.read_json("PRIORITIES/milestone-more-work.lock")["session_id"],
        "s3"
    );
}

#[test]
fn goal_agreements_are_the_original_files_and_show_in_goal_list() {
    let hub = TestHub::fixture();
    let out = hub.run_bin("session-agree-goal", &["session-1-dashboard", "aligned"]);
    assert!(out.status.success(), "{}", stderr(&out));
    hub.ok(&["--as", "session-2", "goal", "agree", "--goal", "ship v1"]);
    let a = hub.read_json("ACTIVE/GOAL_AGREEMENTS/session-1-dashboard.json");
    assert_eq!(a["agreed"], true);
    assert_eq!(a["comment"], "aligned");
    let v = hub.json(&["goal", "list"]);
    assert_eq!(v["count"], 2);
    let ids: Vec<&str> = v["agreements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["session_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"session-1-dashboard") && ids.contains(&"session-2"));
    // Each agreement is on the board, from its session.
    let msgs = hub.json(&["msg", "list", "--from", "session-2"]);
    assert!(
        msgs["messages"][0]["subject"]
            .as_str()
            .unwrap()
            .contains("GOAL AGREEMENT")
    );
    // session-consensus-status shows proposals (the fixture's session-5-identity).
    let out = hub.run_bin("session-consensus-status", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("session-5"), "{}", stdout(&out));
}

/// The differences the README's migration section lists, each checked against the
/// original: where the original exited 0 and damaged the file or someone's work, the
/// drop-in refuses and changes nothing.
#[test]
fn the_deliberate_differences_are_the_ones_the_readme_lists() {
    let m = "MILESTONES/deploy-dashboard.json";
    // (setup claim by, args, the drop-in's exit)
    let cases: &[(Option<&str>, &[&str], i32)] = &[
        (None, &["deploy-dashboard", "1", "done", "", "session-9"], 1),
        (
            None,
            &["deploy-dashboard", "99", "completed", "", "session-9"],
            1,
        ),
        (
            Some("session-2"),
            &[
                "deploy-dashboard",
                "1",
                "completed",
                "mine now",
                "session-9",
            ],
            6,
        ),
    ];
    for (holder, args, code) in cases {
        let (orig, ours) = (Side::new(), Side::new());
        if let Some(h) = holder {
            for side in [&orig, &ours] {
                assert!(
                    side.original("claim-milestone", &["deploy-dashboard", h])
                        .status
                        .success()
                );
            }
        }
        let before = ours.snapshot();
        let o = orig.original("update-milestone", args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "the original said yes to {args:?}"
        );
        let n = ours.dropin("update-milestone", args, None);
        assert_eq!(n.status.code(), Some(*code), "{args:?}: {}", stderr(&n));
        assert!(
            changed(&before, &ours.snapshot()).is_empty(),
            "{args:?} changed files"
        );
        // What the original did instead: a status nobody knows, or another's step taken.
        if args[2] == "done" {
            assert_eq!(orig.json(m)["steps"][0]["status"], "done");
        }
    }
    // No identity: the original signs as a real session; the drop-in does not.
    let (orig, ours) = (Side::new(), Side::new());
    orig.original("session-broadcast", &["hello"]);
    ours.dropin("session-broadcast", &["hello"], None);
    assert_eq!(
        orig.messages().last().unwrap()["from"],
        "session-5-orchestration"
    );
    assert_eq!(ours.messages().last().unwrap()["from"], "session-unknown");
    // ... and with $SESSIONS_ID, that session.
    ours.dropin("session-broadcast", &["hello again"], Some("session-3"));
    assert_eq!(ours.messages().last().unwrap()["from"], "session-3");
}
