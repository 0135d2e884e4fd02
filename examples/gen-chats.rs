//! Corpus generator for the `chats` benchmark: a HOME with provider sessions in each
//! CLI's on-disk format (Claude Code, Codex, Gemini CLI JSONL, Cursor store.db, opencode.db).
//!
//! ```sh
//! cargo run --release --example gen-chats -- /tmp/chats-home            # the issue's sizes
//! cargo run --release --example gen-chats -- /tmp/h --claude 8000 --turns 10
//! ```
//!
//! Defaults: 2,000 Claude, 500 Codex, 500 Gemini, 100 Cursor and 100 opencode sessions of
//! 60 turns (a prompt and an answer each). Deterministic for the same arguments.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use chrono::{Duration, TimeZone, Utc};
use serde_json::{Value, json};

struct Sizes {
    claude: usize,
    codex: usize,
    gemini: usize,
    cursor: usize,
    opencode: usize,
    turns: usize,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let home = args.next().expect("usage: gen-chats HOME [--claude N] [--codex N] [--gemini N] [--cursor N] [--opencode N] [--turns N]");
    let mut s = Sizes {
        claude: 2000,
        codex: 500,
        gemini: 500,
        cursor: 100,
        opencode: 100,
        turns: 60,
    };
    while let Some(flag) = args.next() {
        let n: usize = args
            .next()
            .and_then(|v| v.parse().ok())
            .expect("a number after each flag");
        match flag.as_str() {
            "--claude" => s.claude = n,
            "--codex" => s.codex = n,
            "--gemini" => s.gemini = n,
            "--cursor" => s.cursor = n,
            "--opencode" => s.opencode = n,
            "--turns" => s.turns = n,
            other => panic!("unknown flag {other}"),
        }
    }
    let home = Path::new(&home);
    claude(home, &s);
    codex(home, &s);
    gemini(home, &s);
    cursor(home, &s);
    opencode(home, &s);
    println!(
        "{} sessions of {} turns in {}",
        s.claude + s.codex + s.gemini + s.cursor + s.opencode,
        s.turns,
        home.display()
    );
}

const WORDS: &[&str] = &[
    "refactor", "the", "parser", "so", "that", "errors", "name", "file", "line", "and", "column",
    "then", "add", "tests", "for", "each", "case",
];

fn text(seed: usize, words: usize) -> String {
    (0..words)
        .map(|i| WORDS[(seed * 7 + i * 13) % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

fn start(i: usize) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 1, 8, 0, 0).unwrap() + Duration::minutes(37 * i as i64)
}

fn uuid(kind: u32, i: usize) -> String {
    format!("{kind:08x}-{:04x}-4000-8000-{i:012x}", i % 65536)
}

fn project(i: usize) -> String {
    format!("/home/dev/src/project-{}", i % 40)
}

fn write_lines(path: &Path, lines: impl Iterator<Item = Value>) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut out = String::new();
    for l in lines {
        writeln!(out, "{l}").unwrap();
    }
    fs::write(path, out).unwrap();
}

fn claude(home: &Path, s: &Sizes) {
    for i in 0..s.claude {
        let (id, cwd, t0) = (uuid(1, i), project(i), start(i));
        let folder = cwd.replace(|c: char| !c.is_ascii_alphanumeric(), "-");
        let mut lines = vec![
            json!({"type":"file-history-snapshot","messageId":"m0","snapshot":{"trackedFileBackups":{}},"isSnapshotUpdate":false}),
        ];
        for t in 0..s.turns {
            let at = |k: i64| (t0 + Duration::seconds(t as i64 * 60 + k)).to_rfc3339();
            lines.push(json!({"parentUuid":null,"isSidechain":false,"userType":"external","cwd":cwd,"sessionId":id,"version":"2.0.61","gitBranch":"main","type":"user","message":{"role":"user","content":text(i + t, 30)},"uuid":format!("u{t}"),"timestamp":at(0)}));
            lines.push(json!({"parentUuid":format!("u{t}"),"isSidechain":false,"userType":"external","cwd":cwd,"sessionId":id,"version":"2.0.61","gitBranch":"main","type":"assistant","message":{"model":"claude-sonnet-4-5","id":"msg","role":"assistant","content":[{"type":"text","text":text(i + t + 1, 80)}],"stop_reason":"end_turn","usage":{"input_tokens":100,"output_tokens":80}},"uuid":format!("a{t}"),"timestamp":at(30)}));
        }
        lines.push(json!({"type":"summary","summary":format!("Session {i}: {}", text(i, 5)),"leafUuid":"a0"}));
        write_lines(
            &home.join(format!(".claude/projects/{folder}/{id}.jsonl")),
            lines.into_iter(),
        );
    }
}

fn codex(home: &Path, s: &Sizes) {
    for i in 0..s.codex {
        let (id, cwd, t0) = (uuid(2, i), project(i), start(i));
        let mut lines = vec![
            json!({"timestamp":t0.to_rfc3339(),"type":"session_meta","payload":{"id":id,"timestamp":t0.to_rfc3339(),"cwd":cwd,"originator":"codex_cli_rs","cli_version":"0.46.0","git":{"branch":"main"},"model_provider":"openai"}}),
        ];
        lines.push(json!({"timestamp":t0.to_rfc3339(),"type":"turn_context","payload":{"cwd":cwd,"model":"gpt-5-codex"}}));
        for t in 0..s.turns {
            let at = |k: i64| (t0 + Duration::seconds(t as i64 * 60 + k)).to_rfc3339();
            lines.push(json!({"timestamp":at(0),"type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":text(i + t, 30)}]}}));
            lines.push(json!({"timestamp":at(0),"type":"event_msg","payload":{"type":"user_message","message":text(i + t, 30)}}));
            lines.push(json!({"timestamp":at(30),"type":"response_item","payload":{"type":"message","role":"assistant","content":[{"type":"output_text","text":text(i + t + 1, 80)}]}}));
        }
        let d = t0.format("%Y/%m/%d").to_string();
        let ts = t0.format("%Y-%m-%dT%H-%M-%S").to_string();
        write_lines(
            &home.join(format!(".codex/sessions/{d}/rollout-{ts}-{id}.jsonl")),
            lines.into_iter(),
        );
    }
}

fn gemini(home: &Path, s: &Sizes) {
    let mut projects = serde_json::Map::new();
    for p in 0..40 {
        projects.insert(project(p), json!(format!("project-{p}")));
    }
    fs::create_dir_all(home.join(".gemini")).unwrap();
    fs::write(
        home.join(".gemini/projects.json"),
        json!({"projects": projects}).to_string(),
    )
    .unwrap();
    for i in 0..s.gemini {
        let (id, t0) = (uuid(3, i), start(i));
        let mut lines = vec![
            json!({"sessionId":id,"projectHash":"h","startTime":t0.to_rfc3339(),"lastUpdated":t0.to_rfc3339(),"kind":"main"}),
        ];
        for t in 0..s.turns {
            let at = |k: i64| (t0 + Duration::seconds(t as i64 * 60 + k)).to_rfc3339();
            lines.push(json!({"id":format!("u{t}"),"timestamp":at(0),"type":"user","content":[{"text":text(i + t, 30)}]}));
            lines.push(json!({"id":format!("g{t}"),"timestamp":at(30),"type":"gemini","content":text(i + t + 1, 80),"model":"gemini-2.5-pro"}));
            lines.push(json!({"$set":{"lastUpdated":at(31)}}));
        }
        let stamp = t0.format("%Y-%m-%dT%H-%M").to_string();
        write_lines(
            &home.join(format!(
                ".gemini/tmp/project-{}/chats/session-{stamp}-{}.jsonl",
                i % 40,
                &id[..8]
            )),
            lines.into_iter(),
        );
    }
}

fn cursor(home: &Path, s: &Sizes) {
    for i in 0..s.cursor {
        let (id, t0) = (uuid(4, i), start(i));
        let dir = home.join(format!(".cursor/chats/{:032x}/{id}", i % 40));
        fs::create_dir_all(&dir).unwrap();
        let db = rusqlite::Connection::open(dir.join("store.db")).unwrap();
        db.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE blobs (id TEXT PRIMARY KEY, data BLOB); CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); BEGIN;").unwrap();
        for t in 0..s.turns {
            for (role, words) in [("user", 30), ("assistant", 80)] {
                let m = json!({"role":role,"content":[{"type":"text","text":text(i + t, words)}]})
                    .to_string();
                db.execute(
                    "INSERT INTO blobs VALUES (?1, ?2)",
                    (format!("{role}{t}"), m.as_bytes()),
                )
                .unwrap();
            }
        }
        let ws = project(i);
        let mut root = vec![(9 << 3) | 2, ws.len() as u8];
        root.extend_from_slice(ws.as_bytes());
        db.execute("INSERT INTO blobs VALUES ('root', ?1)", [&root])
            .unwrap();
        let meta = json!({"agentId":id,"latestRootBlobId":"root","name":text(i, 4),"mode":"default","createdAt":t0.timestamp_millis(),"lastUsedModel":"gpt-5"}).to_string();
        let hex: String = meta.bytes().map(|b| format!("{b:02x}")).collect();
        db.execute("INSERT INTO meta VALUES ('0', ?1)", [hex])
            .unwrap();
        db.execute_batch("COMMIT; PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
}

fn opencode(home: &Path, s: &Sizes) {
    let dir = home.join(".local/share/opencode");
    fs::create_dir_all(&dir).unwrap();
    let db = rusqlite::Connection::open(dir.join("opencode.db")).unwrap();
    db.execute_batch(
        "CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, parent_id TEXT, slug TEXT, directory TEXT NOT NULL, title TEXT NOT NULL, version TEXT NOT NULL, share_url TEXT, time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, time_archived INTEGER);
         CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);
         CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT NOT NULL, session_id TEXT NOT NULL, time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);
         CREATE INDEX message_session ON message(session_id); BEGIN;",
    )
    .unwrap();
    for i in 0..s.opencode {
        let (id, t0) = (format!("ses_{i:08}"), start(i));
        let t1 = t0 + Duration::seconds(s.turns as i64 * 60);
        db.execute(
            "INSERT INTO session VALUES (?1, 'p', NULL, 'slug', ?2, ?3, '1.2.10', NULL, ?4, ?5, NULL)",
            (&id, project(i), text(i, 5), t0.timestamp_millis(), t1.timestamp_millis()),
        )
        .unwrap();
        for t in 0..s.turns {
            for (k, role) in ["user", "assistant"].iter().enumerate() {
                let mid = format!("msg_{i:08}_{t:04}_{k}");
                let at = t0.timestamp_millis() + (t * 60_000 + k * 30_000) as i64;
                db.execute(
                    "INSERT INTO message VALUES (?1, ?2, ?3, ?3, ?4)",
                    (
                        &mid,
                        &id,
                        at,
                        json!({"role":role,"modelID":"kimi-k2"}).to_string(),
                    ),
                )
                .unwrap();
                db.execute(
                    "INSERT INTO part VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
                    (
                        format!("prt_{mid}"),
                        &mid,
                        &id,
                        at,
                        json!({"type":"text","text":text(i + t, 50)}).to_string(),
                    ),
                )
                .unwrap();
            }
        }
    }
    db.execute_batch("COMMIT;").unwrap();
}
