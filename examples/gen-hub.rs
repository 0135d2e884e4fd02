//! Workload generator: writes a hub in the original scripts' formats, for benchmarks.
//!
//! ```sh
//! cargo run --release --example gen-hub -- /tmp/bighub            # the issue's default sizes
//! cargo run --release --example gen-hub -- /tmp/h --sessions 50 --messages 100000
//! ```
//!
//! Defaults: 1,000 sessions in REGISTRY.json, 1,000 heartbeats (half stale), 300 lock files,
//! 200 milestones of 8 steps, 10,000 messages in MESSAGES.md, 100 status files. Output is
//! deterministic for the same arguments (a fixed-seed generator), except for the heartbeat
//! times, which are relative to now so that half of the sessions are live.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{Duration, Utc};
use serde_json::json;

struct Sizes {
    sessions: usize,
    locks: usize,
    milestones: usize,
    messages: usize,
    status_files: usize,
}

/// A small fixed-seed generator (xorshift), so runs are repeatable without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SPECS: &[&str] = &[
    "ui",
    "react",
    "deployment",
    "devops",
    "architecture",
    "coordination",
    "testing",
    "database",
    "security",
    "analytics",
    "orchestration",
    "documentation",
];
const STATUSES: &[&str] = &["active", "idle", "busy", "completing"];
const PRIORITIES: &[&str] = &["HIGH", "MEDIUM", "LOW"];
const MARKERS: &[&str] = &["✅", "❌", "⏳", "🔄"];

fn usage() -> ! {
    eprintln!(
        "usage: gen-hub DIR [--sessions N] [--locks N] [--milestones N] [--messages N] [--status-files N]"
    );
    std::process::exit(2)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        usage()
    };
    let mut sizes = Sizes {
        sessions: 1000,
        locks: 300,
        milestones: 200,
        messages: 10_000,
        status_files: 100,
    };
    while let Some(flag) = args.next() {
        let n: usize = args
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| usage());
        match flag.as_str() {
            "--sessions" => sizes.sessions = n,
            "--locks" => sizes.locks = n,
            "--milestones" => sizes.milestones = n,
            "--messages" => sizes.messages = n,
            "--status-files" => sizes.status_files = n,
            _ => usage(),
        }
    }
    if dir.exists()
        && fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        eprintln!("gen-hub: {} exists and is not empty", dir.display());
        std::process::exit(1);
    }
    generate(&dir, &sizes).unwrap_or_else(|e| {
        eprintln!("gen-hub: {e}");
        std::process::exit(1)
    });
    println!(
        "wrote {}: {} sessions, {} heartbeats, {} locks, {} milestones, {} messages, {} status files",
        dir.display(),
        sizes.sessions,
        sizes.sessions,
        sizes.locks,
        sizes.milestones,
        sizes.messages,
        sizes.status_files
    );
}

fn old_style(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn write_json(path: &Path, value: &serde_json::Value) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(value).expect("json");
    text.push('\n');
    fs::write(path, text)
}

fn generate(dir: &Path, sizes: &Sizes) -> std::io::Result<()> {
    let mut rng = Rng(0x5e55_1025_dead_beef);
    let now = Utc::now();
    for sub in ["HEARTBEATS", "PRIORITIES", "MILESTONES", "DISCOVERY"] {
        fs::create_dir_all(dir.join(sub))?;
    }
    let id = |i: usize| format!("session-{i}-{}", SPECS[i % SPECS.len()]);

    // Registry and heartbeats: every other session is stale (an hour old).
    let mut sessions = serde_json::Map::new();
    for i in 0..sizes.sessions {
        let specs: Vec<&str> = (0..3).map(|k| SPECS[(i + k * 5) % SPECS.len()]).collect();
        sessions.insert(
            id(i),
            json!({
                "id": id(i),
                "name": format!("Session {i}"),
                "role": format!("{} work", SPECS[i % SPECS.len()]),
                "status": STATUSES[rng.below(STATUSES.len())],
                "last_work": format!("Finished task {}", rng.below(10_000)),
                "specialization": specs,
                "agreed": i % 3 != 0,
                "proposed_by": "self",
                "confirmed_at": old_style(now - Duration::days(2)),
            }),
        );
        let seen = if i % 2 == 0 {
            now - Duration::seconds(rng.below(120) as i64)
        } else {
            now - Duration::hours(1)
        };
        // Alternate the two heartbeat shapes the original scripts wrote.
        let hb = if i % 4 < 2 {
            json!({
                "session_id": id(i),
                "timestamp": old_style(seen),
                "status": "active",
                "working_on": format!("Task {}", rng.below(1000)),
            })
        } else {
            json!({
                "session_id": id(i),
                "status": "active",
                "current_work": format!("Task {}", rng.below(1000)),
                "started_at": (seen - Duration::hours(3)).to_rfc3339(),
                "last_heartbeat": seen.to_rfc3339(),
                "heartbeat_count": rng.below(500),
                "capabilities_offered": [SPECS[i % SPECS.len()]],
            })
        };
        write_json(&dir.join(format!("HEARTBEATS/{}.json", id(i))), &hb)?;
    }
    write_json(
        &dir.join("REGISTRY.json"),
        &json!({
            "registry_version": "1.0",
            "last_updated": old_style(now),
            "sessions": sessions,
        }),
    )?;

    // Lock files in the original shapes (no TTL, no token).
    for i in 0..sizes.locks {
        let holder = id(rng.below(sizes.sessions.max(1)));
        let claimed = old_style(now - Duration::minutes(rng.below(90) as i64));
        let (name, rec) = if i % 2 == 0 {
            (
                format!("milestone-m{i}"),
                json!({"milestone_id": format!("m{i}"), "session_id": holder, "claimed_at": claimed, "type": "milestone"}),
            )
        } else {
            (
                format!("priority-{i}"),
                json!({"priority_id": i.to_string(), "session_id": holder, "claimed_at": claimed, "type": "priority"}),
            )
        };
        write_json(&dir.join(format!("PRIORITIES/{name}.lock")), &rec)?;
    }

    // Milestones of 8 steps with some progress.
    for i in 0..sizes.milestones {
        let done = rng.below(9);
        let steps: Vec<_> = (1..=8)
            .map(|s| {
                json!({
                    "step": s,
                    "description": format!("Step {s} of milestone {i}"),
                    "status": if s <= done { "completed" } else { "pending" },
                    "notes": "",
                })
            })
            .collect();
        let status = match done {
            0 => "pending",
            8 => "completed",
            _ => "in_progress",
        };
        write_json(
            &dir.join(format!("MILESTONES/m{i}.json")),
            &json!({
                "milestone_id": format!("m{i}"),
                "title": format!("Milestone {i}"),
                "priority": PRIORITIES[i % 3],
                "owner": if done == 0 { "available".to_string() } else { id(i % sizes.sessions.max(1)) },
                "status": status,
                "progress": done * 100 / 8,
                "created_at": old_style(now - Duration::days(1)),
                "updated_at": old_style(now),
                "steps": steps,
                "next_session_should": ["Claim this milestone before starting work"],
                "blockers": [],
                "handoff_notes": "",
            }),
        )?;
    }

    // The board: a header, then script-written blocks.
    let mut board = String::from("# 📬 SESSION MESSAGES\n\n**Real-time message board**\n\n---\n");
    for i in 0..sizes.messages {
        let from = id(rng.below(sizes.sessions.max(1)));
        let t = old_style(now - Duration::seconds((sizes.messages - i) as i64 * 7));
        let _ = write!(
            board,
            "\n---\n\n**From:** {from}\n**Time:** {t}\n**Priority:** normal\n**Subject:** Update {i}\n\nMessage {i}: progress on task {} is going fine.\n",
            rng.below(1000)
        );
    }
    fs::write(dir.join("MESSAGES.md"), board)?;

    // CURRENT_STATE.md with the named sections.
    fs::write(
        dir.join("CURRENT_STATE.md"),
        format!(
            "# CURRENT_STATE\n\n**Last Updated:** {}\n**Updated By:** gen-hub\n\n---\n\n## 🎯 CURRENT PRIORITY (The ONE Thing)\n\n### Priority: Ship the benchmark workload\n\n---\n\n## ✅ RECENTLY COMPLETED (Last 7)\n\n1. **Generated the hub**\n\n---\n",
            old_style(now)
        ),
    )?;

    // Status files in the original shape.
    for i in 0..sizes.status_files {
        let mut text = format!(
            "## PROJECT-{i} STATUS - {}\n\n**INFRASTRUCTURE:**\n",
            old_style(now - Duration::minutes(rng.below(60) as i64))
        );
        for label in ["Server", "Database", "DNS", "Backups"] {
            let _ = writeln!(
                text,
                "- {label}: {} checked",
                MARKERS[rng.below(MARKERS.len())]
            );
        }
        text.push_str(
            "\n**ACTIONS REQUISES:**\n- [ ] Review the logs\n- [x] Rotate credentials\n\n",
        );
        let _ = write!(
            text,
            "**NEXT SESSION:** {}\n\n**DEPENDENCIES:**\n- api: {}\n",
            id(i % sizes.sessions.max(1)),
            MARKERS[rng.below(2)]
        );
        fs::write(dir.join(format!("project-{i}-status.md")), text)?;
    }
    Ok(())
}
