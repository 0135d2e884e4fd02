//! `sessions chats …` and `sessions resume`: the agents' own sessions, read from fixture
//! homes written here in each provider's on-disk format (several versions where the
//! format changed), with fake provider binaries on PATH that record what they were run with.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use crate::support::{PausePoint, TestHub, bin, run_like, stderr};

const NOW: &str = "2026-11-20T12:00:00Z";

/// A fake machine: a HOME with provider files, a cache folder, a PATH folder, a hub.
pub struct Machine {
    pub hub: TestHub,
    _dir: tempfile::TempDir,
    pub home: PathBuf,
    pub cache: PathBuf,
    pub bin: PathBuf,
    /// A project folder the sessions ran in.
    pub project: PathBuf,
}

impl Machine {
    pub fn new() -> Machine {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let cache = dir.path().join("cache");
        let bin = dir.path().join("bin");
        let project = dir.path().join("work/api");
        for d in [&home, &cache, &bin, &project] {
            std::fs::create_dir_all(d).unwrap();
        }
        Machine {
            hub: TestHub::new(),
            _dir: dir,
            home,
            cache,
            bin,
            project,
        }
    }

    pub fn command(&self) -> Command {
        let mut cmd = self.hub.command("sessions");
        let path = format!("{}:/usr/bin:/bin", self.bin.display());
        cmd.env("HOME", &self.home)
            .env("XDG_CACHE_HOME", &self.cache)
            .env("PATH", path)
            .env("SESSIONS_NOW", NOW)
            .env_remove("XDG_DATA_HOME")
            .env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("CODEX_HOME");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "sessions {args:?} failed: {}\n{}",
            stderr(&out),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let text = self.ok(&all);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("bad JSON from {args:?}: {e}\n{text}"))
    }

    /// `chats list --json` of everything, one page.
    pub fn list(&self) -> Value {
        self.json(&["chats", "list", "--limit", "0"])
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.home.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A fake provider binary: records argv and cwd (one JSON line per run) in
    /// `<bin>/<name>.log`, answers --version, then runs `body` (shell).
    pub fn fake_provider(&self, name: &str, body: &str) {
        let log = self.bin.join(format!("{name}.log"));
        // One append per run (cwd, then the arguments, NUL-separated), so concurrent
        // runs never interleave their records.
        let script = format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then echo '{name} 9.9.9'; exit 0; fi\n\
             rec=$(printf '%s\\001' \"$PWD\" \"$@\")\nprintf '%s\\n' \"$rec\" >> '{log}'\n{body}\n",
            log = log.display()
        );
        let path = self.bin.join(name);
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Each recorded run of a fake provider: (argv, cwd).
    pub fn runs(&self, name: &str) -> Vec<(Vec<String>, String)> {
        let log = self.bin.join(format!("{name}.log"));
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let mut fields: Vec<String> = l.split('\u{1}').map(str::to_string).collect();
                fields.pop(); // after the last separator
                let cwd = fields.remove(0);
                (fields, cwd)
            })
            .collect()
    }
}

pub fn line(v: Value) -> String {
    format!("{v}\n")
}

// ---------- fixture writers, one per provider format ----------

pub const CLAUDE_A: &str = "0b6c3f0e-1111-4a4a-8a8a-aaaaaaaaaaaa";
pub const CLAUDE_B: &str = "0b6c3f0e-2222-4b4b-8b8b-bbbbbbbbbbbb";
pub const CODEX_A: &str = "019a0000-0000-7000-8000-00000000c0de";
pub const CODEX_OLD: &str = "5973b6c0-94b8-487b-a530-2aeb6098ae0e";
pub const GEMINI_JSON: &str = "gem-json-0001";
pub const GEMINI_JSONL: &str = "gem-jsonl-0002";
pub const GEMINI_SUB: &str = "gem-sub-0003";
pub const CURSOR_A: &str = "c0c0c0c0-aaaa-4bbb-8ccc-dddddddddddd";
pub const OPENCODE_DB: &str = "ses_db0001";
pub const OPENCODE_JSON: &str = "ses_json0002";

/// Claude Code: a folder named after the cwd, records carrying the real cwd.
pub fn claude_session(m: &Machine, id: &str, cwd: &str, extra: &[Value]) -> PathBuf {
    let folder = cwd.replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    let mut text = line(
        json!({"type":"file-history-snapshot","messageId":"m0","snapshot":{},"isSnapshotUpdate":false}),
    );
    text += &line(
        json!({"parentUuid":null,"isSidechain":false,"userType":"external","cwd":cwd,"sessionId":id,"version":"2.0.61","gitBranch":"main","type":"user","message":{"role":"user","content":"Add a health endpoint\nwith tests"},"uuid":"u1","timestamp":"2026-11-20T09:00:00.000Z"}),
    );
    text += &line(
        json!({"parentUuid":"u1","isSidechain":false,"cwd":cwd,"sessionId":id,"version":"2.0.61","gitBranch":"main","type":"assistant","message":{"model":"claude-sonnet-4-5","role":"assistant","content":[{"type":"text","text":"Done: GET /health returns 200."}]},"uuid":"a1","timestamp":"2026-11-20T09:05:00.000Z"}),
    );
    for v in extra {
        text += &line(v.clone());
    }
    m.write(&format!(".claude/projects/{folder}/{id}.jsonl"), &text)
}

pub fn write_all_providers(m: &Machine) -> Vec<PathBuf> {
    let cwd = m.project.to_str().unwrap().to_string();
    let mut bad = Vec::new();

    // Claude: one renamed session (custom-title wins over summary and the prompt), one
    // with an unknown record type and a first message that is a tool result.
    claude_session(
        m,
        CLAUDE_A,
        &cwd,
        &[
            json!({"type":"summary","summary":"Health endpoint work","leafUuid":"a1"}),
            json!({"type":"custom-title","customTitle":"api: health","sessionId":CLAUDE_A}),
            json!({"type":"agent-name","agentName":"health-agent","sessionId":CLAUDE_A}),
        ],
    );
    let folder = cwd.replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    let b = [
        json!({"type":"queue-operation","operation":"enqueue","timestamp":"2026-11-19T08:00:00Z","sessionId":CLAUDE_B}),
        json!({"cwd":"/srv/other","sessionId":CLAUDE_B,"version":"1.0.30","gitBranch":"dev","type":"user","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"x"}]},"uuid":"u0","timestamp":"2026-11-19T08:00:01Z"}),
        json!({"cwd":"/srv/other","sessionId":CLAUDE_B,"type":"user","isMeta":true,"message":{"role":"user","content":"<command-name>/clear</command-name>"},"uuid":"u1","timestamp":"2026-11-19T08:00:02Z"}),
        json!({"cwd":"/srv/other","sessionId":CLAUDE_B,"type":"user","message":{"role":"user","content":[{"type":"text","text":"Fix the flaky login test"}]},"uuid":"u2","timestamp":"2026-11-19T08:00:03Z"}),
        json!({"type":"some-future-record","payload":{"x":1}}),
        json!({"cwd":"/srv/other","sessionId":CLAUDE_B,"type":"assistant","message":{"model":"claude-opus-4-1","role":"assistant","content":[{"type":"text","text":"Fixed."}]},"uuid":"a2","timestamp":"2026-11-19T08:30:00Z"}),
    ];
    m.write(
        &format!(".claude/projects/-srv-other/{CLAUDE_B}.jsonl"),
        &b.into_iter().map(line).collect::<String>(),
    );
    // Not sessions: subagent transcripts, tool results, side chains.
    m.write(
        &format!(".claude/projects/{folder}/{CLAUDE_A}/subagents/agent-1.jsonl"),
        &line(
            json!({"sessionId":"sub","cwd":"/x","type":"user","timestamp":"2026-11-20T09:00:00Z"}),
        ),
    );
    m.write(
        &format!(".claude/projects/{folder}/{CLAUDE_A}/tool-results/r.jsonl"),
        "{}\n",
    );
    m.write(
        &format!(".claude/projects/{folder}/agent-deadbeef.jsonl"),
        &line(json!({"sessionId":"side","cwd":"/x","type":"user","isSidechain":true})),
    );
    bad.push(m.write(&format!(".claude/projects/{folder}/empty0000.jsonl"), ""));
    bad.push(m.write(
        &format!(".claude/projects/{folder}/garbage000.jsonl"),
        "this is not json\nnor this\n",
    ));

    // Codex: current rollout + title index (newest entry wins), an archived one in the
    // first format (meta fields at the top level), and a broken one.
    let rollout = [
        json!({"timestamp":"2026-11-18T10:00:00.000Z","type":"session_meta","payload":{"id":CODEX_A,"timestamp":"2026-11-18T10:00:00.000Z","cwd":cwd,"originator":"codex_cli_rs","cli_version":"0.46.0","git":{"commit_hash":"abc","branch":"feature/x","repository_url":"git@example:r.git"},"model_provider":"openai"}}),
        json!({"timestamp":"2026-11-18T10:00:00.100Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"<environment_context>\n  <cwd>/x</cwd>\n</environment_context>"}]}}),
        json!({"timestamp":"2026-11-18T10:00:01.000Z","type":"turn_context","payload":{"cwd":cwd,"model":"gpt-5-codex","approval_policy":"on-request"}}),
        json!({"timestamp":"2026-11-18T10:00:01.100Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"Write the migration"}]}}),
        json!({"timestamp":"2026-11-18T10:00:01.200Z","type":"event_msg","payload":{"type":"user_message","message":"Write the migration","images":[]}}),
        json!({"timestamp":"2026-11-18T10:20:00.000Z","type":"response_item","payload":{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Migration written."}]}}),
        json!({"timestamp":"2026-11-18T10:20:01.000Z","type":"event_msg","payload":{"type":"token_count","info":null}}),
    ];
    m.write(
        &format!(".codex/sessions/2026/11/18/rollout-2026-11-18T10-00-00-{CODEX_A}.jsonl"),
        &rollout.into_iter().map(line).collect::<String>(),
    );
    m.write(".codex/session_index.jsonl", &[
        json!({"id":CODEX_A,"thread_name":"old name","updated_at":"2026-11-18T10:01:00Z"}),
        json!({"id":CODEX_A,"thread_name":"Migrations for v2","updated_at":"2026-11-18T10:05:00Z"}),
    ].into_iter().map(line).collect::<String>());
    let old = [
        json!({"id":CODEX_OLD,"timestamp":"2025-08-01T07:00:00.000Z","instructions":null,"git":{"branch":"main"}}),
        json!({"record_type":"state"}),
        json!({"type":"message","role":"user","content":[{"type":"input_text","text":"Explain this repo"}]}),
    ];
    m.write(
        &format!(".codex/archived_sessions/rollout-2025-08-01T07-00-00-{CODEX_OLD}.jsonl"),
        &old.into_iter().map(line).collect::<String>(),
    );
    bad.push(m.write(".codex/sessions/2026/11/18/rollout-2026-11-18T11-00-00-00000000-0000-0000-0000-000000000bad.jsonl", "{\"type\":\"response_item\"\n"));

    // Gemini: the old JSON document (project by slug in projects.json), the JSONL
    // format with $set and $rewindTo (legacy sha256 folder), a subagent, a broken file.
    let gem_root = format!("{cwd}-gemini");
    std::fs::create_dir_all(&gem_root).unwrap();
    m.write(
        ".gemini/projects.json",
        &json!({"projects":{ (cwd.clone()): "api", (gem_root.clone()): "api-1" }}).to_string(),
    );
    m.write(&format!(".gemini/tmp/api/chats/session-2026-11-17T09-00-{}.json", &GEMINI_JSON[..8]), &json!({
        "sessionId": GEMINI_JSON, "projectHash": "h", "startTime": "2026-11-17T09:00:00.000Z", "lastUpdated": "2026-11-17T09:30:00.000Z",
        "messages": [
            {"id":"m1","timestamp":"2026-11-17T09:00:00.000Z","type":"user","content":"Summarise the README"},
            {"id":"m2","timestamp":"2026-11-17T09:01:00.000Z","type":"gemini","content":"It is a toolkit.","model":"gemini-2.5-pro"}
        ]
    }).to_string());
    let sha = {
        use std::fmt::Write;
        let out = Command::new("sha256sum")
            .arg("-")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        out.stdin
            .as_ref()
            .unwrap()
            .write_all(gem_root.as_bytes())
            .unwrap();
        let o = out.wait_with_output().unwrap();
        let mut s = String::new();
        write!(
            s,
            "{}",
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .next()
                .unwrap()
        )
        .unwrap();
        s
    };
    let jsonl = [
        json!({"sessionId":GEMINI_JSONL,"projectHash":sha,"startTime":"2026-11-19T14:00:00.000Z","lastUpdated":"2026-11-19T14:00:00.000Z","kind":"main"}),
        json!({"id":"g1","timestamp":"2026-11-19T14:00:01.000Z","type":"user","content":[{"text":"Plan the release"}]}),
        json!({"id":"g2","timestamp":"2026-11-19T14:00:05.000Z","type":"gemini","content":"Draft plan","model":"gemini-2.5-flash"}),
        json!({"id":"g3","timestamp":"2026-11-19T14:01:00.000Z","type":"user","content":"scrap that"}),
        json!({"$rewindTo":"g3"}),
        json!({"id":"g2","timestamp":"2026-11-19T14:02:00.000Z","type":"gemini","content":"Final plan","model":"gemini-2.5-flash"}),
        json!({"$set":{"lastUpdated":"2026-11-19T14:10:00.000Z","summary":"Release plan for v3"}}),
        json!({"some":"unknown record"}),
    ];
    m.write(
        &format!(
            ".gemini/tmp/{sha}/chats/session-2026-11-19T14-00-{}.jsonl",
            &GEMINI_JSONL[..8]
        ),
        &jsonl.into_iter().map(line).collect::<String>(),
    );
    let sub = [
        json!({"sessionId":GEMINI_SUB,"projectHash":sha,"startTime":"2026-11-19T14:03:00.000Z","lastUpdated":"2026-11-19T14:04:00.000Z","kind":"subagent"}),
        json!({"id":"s1","timestamp":"2026-11-19T14:03:00.000Z","type":"user","content":"Find the changelog"}),
    ];
    m.write(
        &format!(".gemini/tmp/{sha}/chats/{GEMINI_JSONL}/{GEMINI_SUB}.jsonl"),
        &sub.into_iter().map(line).collect::<String>(),
    );
    bad.push(m.write(
        ".gemini/tmp/api/chats/session-2026-11-17T10-00-broken00.json",
        "{\"sessionId\": \"x\", \"messages\": [",
    ));

    // Cursor agent: a real SQLite store with hex-encoded JSON meta; a store that is not SQLite.
    let ws = m.project.to_str().unwrap();
    let store = m.home.join(format!(
        ".cursor/chats/0123456789abcdef0123456789abcdef/{CURSOR_A}/store.db"
    ));
    std::fs::create_dir_all(store.parent().unwrap()).unwrap();
    let db = rusqlite::Connection::open(&store).unwrap();
    db.execute_batch("CREATE TABLE blobs (id TEXT PRIMARY KEY, data BLOB); CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);").unwrap();
    let msg1 =
        json!({"role":"user","content":[{"type":"text","text":"Rename the module"}]}).to_string();
    let msg2 =
        json!({"role":"assistant","content":[{"type":"text","text":"Renamed."}]}).to_string();
    db.execute("INSERT INTO blobs VALUES ('b1', ?1)", [msg1.as_bytes()])
        .unwrap();
    db.execute("INSERT INTO blobs VALUES ('b2', ?1)", [msg2.as_bytes()])
        .unwrap();
    // The root blob: protobuf, field 1 = message ids, field 9 = the workspace path.
    let mut root = vec![0x0a, 2, b'b', b'1'];
    root.push(9 << 3 | 2);
    root.push(ws.len() as u8);
    root.extend_from_slice(ws.as_bytes());
    db.execute("INSERT INTO blobs VALUES ('root', ?1)", [&root])
        .unwrap();
    let meta = json!({"agentId":CURSOR_A,"latestRootBlobId":"root","name":"Module rename","mode":"default","createdAt":1_763_550_000_000i64,"lastUsedModel":"gpt-5"}).to_string();
    let hex: String = meta.bytes().map(|b| format!("{b:02x}")).collect();
    db.execute("INSERT INTO meta VALUES ('0', ?1)", [hex])
        .unwrap();
    drop(db);
    // Cursor records no update time: the store's modification time is the last activity.
    let touched = Command::new("touch")
        .args(["-d", "2025-11-19T12:00:00Z"])
        .arg(&store)
        .status()
        .unwrap();
    assert!(touched.success());
    bad.push(m.write(".cursor/chats/0123456789abcdef0123456789abcdef/badbadba-d000-4000-8000-000000000000/store.db", "not a database"));

    // opencode: the SQLite database and the older JSON storage.
    let oc = m.home.join(".local/share/opencode/opencode.db");
    std::fs::create_dir_all(oc.parent().unwrap()).unwrap();
    let db = rusqlite::Connection::open(&oc).unwrap();
    db.execute_batch(
        "CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, parent_id TEXT, slug TEXT, directory TEXT NOT NULL, title TEXT NOT NULL, version TEXT NOT NULL, share_url TEXT, time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, time_archived INTEGER);
         CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);
         CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT NOT NULL, session_id TEXT NOT NULL, time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);",
    ).unwrap();
    db.execute("INSERT INTO session VALUES (?1, 'p1', NULL, 'calm-owl', ?2, 'Tidy the CI config', '1.2.10', NULL, 1763636400000, 1763640000000, NULL)", [OPENCODE_DB, &cwd]).unwrap();
    db.execute(
        "INSERT INTO message VALUES ('msg1', ?1, 1763636400000, 1763636400000, ?2)",
        [OPENCODE_DB, &json!({"role":"user"}).to_string()],
    )
    .unwrap();
    db.execute(
        "INSERT INTO message VALUES ('msg2', ?1, 1763636500000, 1763636500000, ?2)",
        [
            OPENCODE_DB,
            &json!({"role":"assistant","modelID":"kimi-k2"}).to_string(),
        ],
    )
    .unwrap();
    db.execute(
        "INSERT INTO part VALUES ('prt1', 'msg1', ?1, 1, 1, ?2)",
        [
            OPENCODE_DB,
            &json!({"type":"text","text":"tidy ci please"}).to_string(),
        ],
    )
    .unwrap();
    db.execute(
        "INSERT INTO part VALUES ('prt2', 'msg2', ?1, 1, 1, ?2)",
        [
            OPENCODE_DB,
            &json!({"type":"text","text":"CI tidied."}).to_string(),
        ],
    )
    .unwrap();
    drop(db);
    m.write(&format!(".local/share/opencode/storage/session/p1/{OPENCODE_JSON}.json"), &json!({
        "id": OPENCODE_JSON, "version": "0.9.1", "projectID": "p1", "directory": "/srv/legacy", "title": "Legacy storage session",
        "time": {"created": 1_750_000_000_000i64, "updated": 1_750_000_600_000i64}
    }).to_string());
    m.write(&format!(".local/share/opencode/storage/message/{OPENCODE_JSON}/msg_a.json"), &json!({"id":"msg_a","sessionID":OPENCODE_JSON,"role":"user","time":{"created":1_750_000_000_000i64}}).to_string());
    bad.push(m.write(
        ".local/share/opencode/storage/session/p1/ses_broken.json",
        "[1, 2",
    ));
    bad
}

pub fn by_id<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("session {id} not listed in {list:#}"))
}

#[test]
fn every_provider_is_listed_with_cwd_title_and_times_and_each_bad_file_is_one_warning() {
    let m = Machine::new();
    let bad = write_all_providers(&m);
    let cwd = m.project.to_str().unwrap();
    let list = m.list();

    let expect = [
        (
            CLAUDE_A,
            "claude",
            cwd,
            "api: health",
            "2026-11-20T09:00:00Z",
            "2026-11-20T09:05:00Z",
        ),
        (
            CLAUDE_B,
            "claude",
            "/srv/other",
            "Fix the flaky login test",
            "2026-11-19T08:00:00Z",
            "2026-11-19T08:30:00Z",
        ),
        (
            CODEX_A,
            "codex",
            cwd,
            "Migrations for v2",
            "2026-11-18T10:00:00Z",
            "2026-11-18T10:20:01Z",
        ),
        (
            GEMINI_JSON,
            "gemini",
            cwd,
            "Summarise the README",
            "2026-11-17T09:00:00Z",
            "2026-11-17T09:30:00Z",
        ),
        (
            CURSOR_A,
            "cursor",
            cwd,
            "Module rename",
            "2025-11-19T11:00:00Z",
            "2025-11-19T12:00:00Z",
        ),
        (
            OPENCODE_DB,
            "opencode",
            cwd,
            "Tidy the CI config",
            "2025-11-20T11:00:00Z",
            "2025-11-20T12:00:00Z",
        ),
        (
            OPENCODE_JSON,
            "opencode",
            "/srv/legacy",
            "Legacy storage session",
            "2025-06-15T15:06:40Z",
            "2025-06-15T15:16:40Z",
        ),
    ];
    for (id, provider, want_cwd, title, created, updated) in expect {
        let s = by_id(&list, id);
        assert_eq!(s["provider"], provider, "{id}");
        assert_eq!(s["cwd"], want_cwd, "{id}");
        assert_eq!(s["title"], title, "{id}");
        let t = |v: &Value| {
            chrono::DateTime::parse_from_rfc3339(
                v.as_str().unwrap_or_else(|| panic!("{id}: no time in {s}")),
            )
            .unwrap()
        };
        assert_eq!(
            t(&s["created"]),
            chrono::DateTime::parse_from_rfc3339(created).unwrap(),
            "{id} created"
        );
        assert_eq!(
            t(&s["updated"]),
            chrono::DateTime::parse_from_rfc3339(updated).unwrap(),
            "{id} updated"
        );
    }
    // Fields from the records, not the folder names.
    assert_eq!(by_id(&list, CLAUDE_A)["branch"], "main");
    assert_eq!(by_id(&list, CLAUDE_A)["version"], "2.0.61");
    assert_eq!(by_id(&list, CLAUDE_A)["model"], "claude-sonnet-4-5");
    assert_eq!(by_id(&list, CODEX_A)["branch"], "feature/x");
    assert_eq!(by_id(&list, CODEX_A)["model"], "gpt-5-codex");
    assert_eq!(by_id(&list, CODEX_A)["version"], "0.46.0");
    assert_eq!(by_id(&list, OPENCODE_DB)["model"], "kimi-k2");
    assert_eq!(by_id(&list, OPENCODE_DB)["messages"], 2);
    assert_eq!(by_id(&list, CURSOR_A)["model"], "gpt-5");

    // Codex's first format, archived.
    let old = by_id(&list, CODEX_OLD);
    assert_eq!(old["archived"], true);
    assert_eq!(old["title"], "Explain this repo");
    assert_eq!(old["branch"], "main");

    // Gemini JSONL: $set summary, rewind and re-append applied, cwd from projects.json's
    // sha256 of the root; the subagent knows its parent.
    let g = by_id(&list, GEMINI_JSONL);
    assert_eq!(g["title"], "Release plan for v3");
    assert_eq!(g["cwd"], format!("{cwd}-gemini"));
    assert_eq!(g["messages"], 2, "g1 and g2 after the rewind: {g}");
    assert_eq!(g["model"], "gemini-2.5-flash");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(g["updated"].as_str().unwrap()).unwrap(),
        chrono::DateTime::parse_from_rfc3339("2026-11-19T14:10:00Z").unwrap()
    );
    let sub = by_id(&list, GEMINI_SUB);
    assert_eq!(sub["parent"], GEMINI_JSONL);
    assert_eq!(sub["cwd"], format!("{cwd}-gemini"));

    // Nothing else: no subagent, tool-result or side-chain files as sessions.
    let ids: Vec<&str> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 10, "{ids:?}");
    assert_eq!(list["total"], 10);

    // One warning per bad file, each naming it.
    assert_eq!(list["warning_count"], bad.len(), "{:#}", list["warnings"]);
    for path in &bad {
        let named = list["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["path"] == path.to_str().unwrap())
            .count();
        assert_eq!(
            named,
            1,
            "{} warned {named} times: {:#}",
            path.display(),
            list["warnings"]
        );
    }

    // Text: a row per session, the warnings on stderr naming the files.
    let out = m.run(&["chats", "list"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("api: health")
            && text.contains("Migrations for v2")
            && text.contains("Module rename"),
        "{text}"
    );
    assert!(text.contains("10 sessions"), "{text}");
    let err = stderr(&out);
    for path in &bad {
        assert!(
            err.contains(path.to_str().unwrap()),
            "no warning for {}: {err}",
            path.display()
        );
    }
}

#[test]
fn list_filters_sorts_and_pages() {
    let m = Machine::new();
    write_all_providers(&m);
    let ids = |v: &Value| -> Vec<String> {
        v["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect()
    };

    let claude = m.json(&["chats", "list", "--provider", "claude"]);
    assert_eq!(ids(&claude), [CLAUDE_A, CLAUDE_B], "newest activity first");
    let other = m.json(&["chats", "list", "--project", "/srv/"]);
    assert_eq!(ids(&other), [CLAUDE_B, OPENCODE_JSON]);
    // NOW is 2026-11-20T12:00Z: the Claude A session (09:05) is idle, nothing is active
    // within 15 minutes; sessions older than 30 days are expired.
    let expired = m.json(&["chats", "list", "--status", "expired"]);
    assert_eq!(
        ids(&expired),
        [OPENCODE_DB, CURSOR_A, CODEX_OLD, OPENCODE_JSON]
    );
    let recent = m.json(&["chats", "list", "--since", "1d"]);
    assert_eq!(ids(&recent), [CLAUDE_A, GEMINI_JSONL, GEMINI_SUB]);
    let by_created = m.json(&["chats", "list", "--sort", "created", "--provider", "gemini"]);
    assert_eq!(ids(&by_created), [GEMINI_SUB, GEMINI_JSONL, GEMINI_JSON]);

    let p1 = m.json(&["chats", "list", "--limit", "4"]);
    let p3 = m.json(&["chats", "list", "--limit", "4", "--page", "3"]);
    assert_eq!(
        (p1["pages"].as_u64(), p1["total"].as_u64()),
        (Some(3), Some(10))
    );
    assert_eq!(ids(&p1).len(), 4);
    assert_eq!(ids(&p3).len(), 2);
    let all = ids(&m.list());
    assert_eq!(ids(&p3), all[8..]);

    let out = m.run(&["chats", "list", "--status", "sleeping"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("active, idle or expired"));
}

#[test]
fn show_prints_metadata_and_the_last_turns_of_each_format() {
    let m = Machine::new();
    write_all_providers(&m);
    let show = m.json(&["chats", "show", "0b6c3f0e-1111", "--turns", "1"]);
    assert_eq!(show["session"]["id"], CLAUDE_A);
    assert_eq!(show["session"]["messages"], 2);
    assert_eq!(show["turns"].as_array().unwrap().len(), 1);
    assert_eq!(show["turns"][0]["text"], "Done: GET /health returns 200.");
    assert!(
        show["resume"]
            .as_str()
            .unwrap()
            .ends_with(&format!("claude --resume {CLAUDE_A}"))
    );

    for (id, last) in [
        (CODEX_A, "Migration written."),
        (GEMINI_JSONL, "Final plan"),
        (GEMINI_JSON, "It is a toolkit."),
        (CURSOR_A, "Renamed."),
        (OPENCODE_DB, "CI tidied."),
    ] {
        let show = m.json(&["chats", "show", id]);
        let turns = show["turns"].as_array().unwrap();
        assert_eq!(turns.last().unwrap()["text"], last, "{id}: {show:#}");
    }
    let text = m.ok(&["chats", "show", CODEX_A]);
    assert!(
        text.contains("Migrations for v2")
            && text.contains("Write the migration")
            && text.contains("codex resume"),
        "{text}"
    );

    // A prefix shared by two sessions is refused, naming both.
    let out = m.run(&["chats", "show", "0b6c3f0e"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(CLAUDE_A) && stderr(&out).contains(CLAUDE_B),
        "{}",
        stderr(&out)
    );
    let out = m.run(&["chats", "show", "nope"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("nope"));
}

#[test]
fn the_index_is_reused_re_reads_changed_files_and_rebuilds_a_corrupt_cache() {
    let m = Machine::new();
    let bad = write_all_providers(&m);
    age_folders(&m.home, 3600);
    let cold = m.list();
    let files = cold["index"]["files"].as_u64().unwrap();
    assert_eq!(cold["index"]["read"], files);
    let cache = m.cache.join("sessions/chats-index.bin");
    assert!(
        cache.is_file(),
        "the index is kept under $XDG_CACHE_HOME/sessions"
    );

    let warm = m.list();
    assert_eq!(
        warm["index"]["read"], 0,
        "nothing changed: nothing read again"
    );
    assert_eq!(warm["sessions"], cold["sessions"]);
    assert_eq!(
        warm["warning_count"],
        bad.len(),
        "cached warnings are still reported"
    );

    // A file changed after indexing is read again (and only that one).
    let path = claude_session(
        &m,
        CLAUDE_A,
        m.project.to_str().unwrap(),
        &[json!({"type":"custom-title","customTitle":"renamed later","sessionId":CLAUDE_A})],
    );
    let after = m.list();
    assert_eq!(after["index"]["read"], 1);
    assert_eq!(by_id(&after, CLAUDE_A)["title"], "renamed later");
    // A deleted file disappears.
    std::fs::remove_file(&path).unwrap();
    let gone = m.list();
    assert!(
        gone["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["id"] != CLAUDE_A)
    );

    // A corrupt cache is rebuilt, not trusted: junk, a truncated cache, one damaged byte.
    let good = std::fs::read(&cache).unwrap();
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x20;
    let junk: [(&str, Vec<u8>); 5] = [
        ("old JSON", b"{\"version\":1,\"entries\":{".to_vec()),
        ("garbage", b"garbage".to_vec()),
        ("empty", Vec::new()),
        ("truncated", good[..good.len() - 9].to_vec()),
        ("one byte flipped", flipped),
    ];
    for (what, bytes) in junk {
        std::fs::write(&cache, bytes).unwrap();
        let rebuilt = m.list();
        assert_eq!(rebuilt["index"]["rebuilt"], true, "{what}");
        assert_eq!(rebuilt["index"]["read"], files - 1, "{what}");
        assert_eq!(rebuilt["sessions"], gone["sessions"], "{what}");
        let again = m.list();
        assert_eq!(again["index"]["rebuilt"], false, "{what}: rewritten whole");
        assert_eq!(again["index"]["read"], 0, "{what}");
        assert_eq!(again["sessions"], gone["sessions"], "{what}");
    }
    // The JSON cache of the previous version is replaced by the binary one.
    let old_json = m.cache.join("sessions/chats-index.json");
    std::fs::write(&old_json, "{\"version\":1,\"entries\":{}}").unwrap();
    std::fs::remove_file(&cache).unwrap();
    assert_eq!(m.list()["index"]["read"], files - 1);
    assert!(cache.is_file() && !old_json.exists());
}

/// Every folder under `dir` (and `dir`) last changed `secs` ago, and every file at
/// least that long ago, as on a machine where nothing was written for a while (a file
/// or folder changed within the racy window is read again on the next listing).
fn age_folders(dir: &Path, secs: u64) {
    let then = std::time::SystemTime::now() - std::time::Duration::from_secs(secs);
    let times = std::fs::FileTimes::new().set_modified(then);
    std::fs::File::open(dir).unwrap().set_times(times).unwrap();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            age_folders(&e.path(), secs);
        } else if e.file_type().unwrap().is_file()
            && e.metadata().unwrap().modified().unwrap() > then
        {
            std::fs::File::open(e.path())
                .unwrap()
                .set_times(times)
                .unwrap();
        }
    }
}

/// Append one record to a transcript, as a provider writing to it does.
fn append(path: &Path, record: Value) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    std::io::Write::write_all(&mut f, line(record).as_bytes()).unwrap();
}

fn ids_of(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn kept_folder_listings_still_see_appends_new_files_renames_and_deletions() {
    let m = Machine::new();
    let bad = write_all_providers(&m);
    let cold = m.list();
    let folders = cold["index"]["folders_listed"].as_u64().unwrap();
    assert!(
        folders > 5,
        "every provider's folders are listed: {}",
        cold["index"]
    );
    // Folders that changed just now are listed again: a file added within the same
    // timestamp tick would not change their stamp.
    let racy = m.list();
    assert_eq!(racy["index"]["folders_kept"], 0, "{}", racy["index"]);
    assert_eq!(racy["sessions"], cold["sessions"]);

    // Folders quiet for an hour: listed once more (their mtime moved), then kept.
    age_folders(&m.home, 3600);
    m.list();
    let warm = m.list();
    assert_eq!(warm["index"]["folders_listed"], 0, "{}", warm["index"]);
    assert_eq!(warm["index"]["folders_kept"], folders);
    assert_eq!(warm["index"]["read"], 0);
    assert_eq!(warm["sessions"], cold["sessions"]);
    assert_eq!(
        warm["warning_count"],
        bad.len(),
        "kept warnings are reported"
    );

    // An append changes the file, not its folder: the kept listing still finds it.
    let cwd = m.project.to_str().unwrap().to_string();
    let folder = m.home.join(format!(
        ".claude/projects/{}",
        cwd.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    ));
    let transcript = folder.join(format!("{CLAUDE_A}.jsonl"));
    append(
        &transcript,
        json!({"type":"custom-title","customTitle":"appended later","sessionId":CLAUDE_A}),
    );
    let appended = m.list();
    assert_eq!(appended["index"]["read"], 1, "{}", appended["index"]);
    assert_eq!(appended["index"]["folders_listed"], 0);
    assert_eq!(by_id(&appended, CLAUDE_A)["title"], "appended later");

    // A new session in a kept folder changes the folder: it is listed again.
    let new_id = "0b6c3f0e-3333-4c4c-8c8c-cccccccccccc";
    claude_session(&m, new_id, &cwd, &[]);
    let added = m.list();
    assert!(added["index"]["folders_listed"].as_u64().unwrap() >= 1);
    assert_eq!(by_id(&added, new_id)["cwd"], cwd.as_str());

    // Deleted, and renamed over (an editor's save): both seen once the folder is kept again.
    age_folders(&m.home, 3600);
    m.list();
    assert_eq!(m.list()["index"]["folders_listed"], 0);
    std::fs::remove_file(folder.join(format!("{new_id}.jsonl"))).unwrap();
    let replacement = folder.join(".tmp-save");
    std::fs::copy(&transcript, &replacement).unwrap();
    let mut text = std::fs::read_to_string(&replacement).unwrap();
    text += &line(json!({"type":"custom-title","customTitle":"saved over","sessionId":CLAUDE_A}));
    std::fs::write(&replacement, text).unwrap();
    std::fs::rename(&replacement, &transcript).unwrap();
    let changed = m.list();
    assert!(
        !ids_of(&changed).contains(&new_id.to_string()),
        "the deleted session is gone"
    );
    assert_eq!(by_id(&changed, CLAUDE_A)["title"], "saved over");
    assert_eq!(ids_of(&changed), ids_of(&cold));

    // A whole project folder removed: its parent changed, its sessions are gone.
    age_folders(&m.home, 3600);
    m.list();
    std::fs::remove_dir_all(&folder).unwrap();
    let removed = m.list();
    assert!(!ids_of(&removed).contains(&CLAUDE_A.to_string()));
    assert_eq!(
        removed["sessions"],
        m.json(&["chats", "list", "--limit", "0", "--no-cache"])["sessions"]
    );
}

#[test]
fn provider_folders_and_transcripts_behind_links_are_listed_and_followed() {
    let m = Machine::new();
    // ~/.claude kept with dotfiles: the config folder and its projects folder are links.
    let dotfiles = m.home.join("dotfiles/claude");
    let real_projects = m.home.join("elsewhere/projects");
    std::fs::create_dir_all(&dotfiles).unwrap();
    std::fs::create_dir_all(&real_projects).unwrap();
    std::os::unix::fs::symlink(&dotfiles, m.home.join(".claude")).unwrap();
    std::os::unix::fs::symlink(&real_projects, dotfiles.join("projects")).unwrap();
    let cwd = m.project.to_str().unwrap().to_string();
    let path = claude_session(&m, CLAUDE_A, &cwd, &[]);
    // A transcript that is itself a link (to a file kept elsewhere).
    let kept = m.home.join("elsewhere/kept.jsonl");
    std::fs::rename(&path, &kept).unwrap();
    std::os::unix::fs::symlink(&kept, &path).unwrap();
    let first = m.list();
    assert_eq!(ids_of(&first), [CLAUDE_A], "{first}");
    assert_eq!(first["warning_count"], 0);
    age_folders(&m.home, 3600);
    m.list();
    // Appending to the file the link points at is seen (the link is stamped by its target).
    append(
        &kept,
        json!({"type":"custom-title","customTitle":"through the link","sessionId":CLAUDE_A}),
    );
    let after = m.list();
    assert_eq!(after["index"]["read"], 1, "{}", after["index"]);
    assert_eq!(by_id(&after, CLAUDE_A)["title"], "through the link");
}

#[test]
fn a_cold_index_over_a_second_shows_progress_on_a_terminal_only() {
    let m = Machine::new();
    let cwd = m.project.to_str().unwrap().to_string();
    let ids: Vec<String> = (0..6)
        .map(|i| format!("0b6c3f0e-{i:04}-4a4a-8a8a-aaaaaaaaaaaa"))
        .collect();
    for id in &ids {
        claude_session(&m, id, &cwd, &[]);
    }
    // Every read waits at the pause point until the index has taken over a second.
    let run = |on_terminal: bool| -> (String, String) {
        let mut pause = PausePoint::new("chats-read");
        let inner = m.command();
        let mut cmd = if on_terminal {
            let mut c = Command::new("script");
            let line = format!("'{}' chats list --limit 0", bin("sessions").display());
            c.args(["-qec", &line, "/dev/null"]);
            c
        } else {
            let mut c = Command::new(bin("sessions"));
            c.args(["chats", "list", "--limit", "0"]);
            c
        };
        run_like(&inner, &mut cmd);
        std::fs::remove_dir_all(m.cache.join("sessions")).ok();
        pause.arm(&mut cmd);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        pause.wait_reached(&mut child);
        // The threshold itself is a time: the index must have run for over a second.
        std::thread::sleep(std::time::Duration::from_millis(1200));
        pause.release(64);
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr(&out),
        )
    };
    let (shown, _) = run(true);
    assert!(
        shown.contains("indexing provider sessions: "),
        "progress on a terminal: {shown:?}"
    );
    assert!(shown.contains("6/6 done"), "{shown:?}");
    assert!(shown.contains("6 sessions"), "then the listing: {shown:?}");
    let (listed, err) = run(false);
    assert!(
        !err.contains("indexing"),
        "nothing extra when piped: {err:?}"
    );
    assert!(listed.contains("6 sessions"), "{listed}");
}

#[test]
fn a_transcript_being_appended_to_while_listing_is_listed_every_time_without_warnings() {
    let m = Machine::new();
    let cwd = m.project.to_str().unwrap().to_string();
    let path = claude_session(&m, CLAUDE_A, &cwd, &[]);
    // Big enough that only its head and tail are read.
    let filler = line(
        json!({"cwd":cwd,"sessionId":CLAUDE_A,"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"x".repeat(2000)}]},"uuid":"f","timestamp":"2026-11-20T09:06:00.000Z"}),
    );
    std::fs::write(
        &path,
        std::fs::read_to_string(&path).unwrap() + &filler.repeat(100),
    )
    .unwrap();
    // A writer appending records in small pieces (partial lines included) while we list.
    let mut writer = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "i=0; while [ $i -lt 400 ]; do printf '{{\"cwd\":\"{cwd}\",\"sessionId\":\"{CLAUDE_A}\",\"type\":\"user\",\"message\":{{\"role\":\"user\",\"content\":\"more' >> '{p}'; printf ' text\"}},\"timestamp\":\"2026-11-20T10:00:00Z\"}}\\n' >> '{p}'; i=$((i+1)); done",
            p = path.display()
        ))
        .spawn()
        .unwrap();
    let mut listings = 0;
    loop {
        let done = writer.try_wait().unwrap().is_some();
        let list = m.list();
        let s = by_id(&list, CLAUDE_A);
        assert_eq!(s["cwd"], cwd.as_str());
        assert_eq!(s["title"], "Add a health endpoint");
        assert_eq!(list["warning_count"], 0, "{:#}", list["warnings"]);
        listings += 1;
        if done {
            break;
        }
    }
    assert!(listings >= 2);
    let last = m.list();
    assert_eq!(by_id(&last, CLAUDE_A)["updated"], "2026-11-20T10:00:00Z");
}

#[test]
fn the_cache_survives_sigkill_of_the_indexer_at_any_moment() {
    let m = Machine::new();
    let cwd = m.project.to_str().unwrap().to_string();
    for i in 0..400 {
        claude_session(&m, &format!("00000000-0000-4000-8000-{i:012}"), &cwd, &[]);
    }
    let truth = m.json(&["chats", "list", "--limit", "0", "--no-cache"]);
    let cache = m.cache.join("sessions/chats-index.bin");
    // Kill indexers after they have started (observable: the process exists) at
    // increasing moments, with files changing between runs so the cache is rewritten.
    for round in 0..12u64 {
        claude_session(
            &m,
            &format!("00000000-0000-4000-8000-{:012}", round % 400),
            &cwd,
            &[json!({"type":"summary","summary":format!("round {round}")})],
        );
        let mut child = m
            .command()
            .args(["--json", "chats", "list", "--limit", "0"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5 + round * 9));
        let _ = child.kill();
        child.wait().unwrap();
        let had_cache = cache.exists();
        let list = m.list();
        if had_cache {
            assert_eq!(
                list["index"]["rebuilt"], false,
                "round {round}: a half-written cache"
            );
        }
        let mut expected = truth.clone();
        let fresh = m.json(&["chats", "list", "--limit", "0", "--no-cache"]);
        expected["sessions"] = fresh["sessions"].clone();
        assert_eq!(
            list["sessions"], expected["sessions"],
            "round {round}: the cached listing differs from the files"
        );
    }
    // No temporary files are left behind by the killed runs… beyond those of killed
    // processes, which the next successful run does not need.
    assert!(cache.is_file());
}

#[test]
fn resume_runs_the_providers_own_resume_in_the_sessions_folder() {
    let m = Machine::new();
    write_all_providers(&m);
    let cwd = m.project.to_str().unwrap().to_string();
    for name in ["claude", "codex", "gemini", "cursor-agent", "opencode"] {
        m.fake_provider(name, "exit 0");
    }
    // SESSIONS_NOW makes the 2025 sessions expired; these four are recent.
    let cases = [
        (
            "0b6c3f0e-1111",
            "claude",
            vec!["--resume".to_string(), CLAUDE_A.to_string()],
        ),
        (
            CODEX_A,
            "codex",
            vec!["resume".to_string(), CODEX_A.to_string()],
        ),
        (
            GEMINI_JSONL,
            "gemini",
            vec!["--resume".to_string(), GEMINI_JSONL.to_string()],
        ),
    ];
    for (key, bin, argv) in &cases {
        let out = m.run(&["resume", key]);
        assert!(out.status.success(), "{key}: {}", stderr(&out));
        let runs = m.runs(bin);
        let (got, dir) = runs.last().unwrap_or_else(|| panic!("{bin} was not run"));
        assert_eq!(got, argv);
        let want = if *bin == "gemini" {
            format!("{cwd}-gemini")
        } else {
            cwd.clone()
        };
        assert_eq!(
            std::fs::canonicalize(dir).unwrap(),
            std::fs::canonicalize(want).unwrap()
        );
    }
    // --print shows the command and runs nothing.
    let before = m.runs("claude").len();
    let printed = m.ok(&["resume", CLAUDE_A, "--print"]);
    assert_eq!(
        printed.trim(),
        format!("cd {cwd} && claude --resume {CLAUDE_A}")
    );
    let j = m.json(&["resume", CURSOR_A, "--print", "--new-if-expired"]);
    assert_eq!(
        j["new"], true,
        "the Cursor session is expired: a new one would start"
    );
    assert_eq!(j["command"], json!(["cursor-agent"]));
    assert_eq!(m.runs("claude").len(), before);

    // Linked from the hub: `resume session-3-api`.
    m.ok(&[
        "register",
        "session-3-api",
        "--provider",
        "claude-code",
        "--provider-session",
        CLAUDE_B,
    ]);
    let reg = m.hub.read_json("REGISTRY.json");
    assert_eq!(reg["sessions"]["session-3-api"]["provider"], "claude");
    assert_eq!(
        reg["sessions"]["session-3-api"]["provider_session"],
        CLAUDE_B
    );
    std::fs::create_dir_all("/tmp").unwrap();
    // CLAUDE_B ran in /srv/other, which does not exist here: a clear error.
    let out = m.run(&["resume", "session-3-api"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/srv/other") && stderr(&out).contains("no longer exists"),
        "{}",
        stderr(&out)
    );
    let listed = m.json(&["chats", "list", "--hub-session", "session-3-api"]);
    assert_eq!(listed["sessions"][0]["id"], CLAUDE_B);
    assert_eq!(listed["sessions"][0]["hub_session"], "session-3-api");
}

#[test]
fn resume_refuses_clearly_missing_slow_or_expired_providers() {
    let m = Machine::new();
    write_all_providers(&m);
    // No codex on PATH.
    let out = m.run(&["resume", CODEX_A]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("codex is not on PATH"),
        "{}",
        stderr(&out)
    );
    // A provider that does not answer --version within [chats] check_timeout.
    m.hub
        .write("sessions.toml", "[chats]\ncheck_timeout = \"1s\"\n");
    let slow = m.bin.join("codex");
    std::fs::write(&slow, "#!/bin/sh\nsleep 30\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).unwrap();
    let started = std::time::Instant::now();
    let out = m.run(&["resume", CODEX_A]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("did not answer --version in time"),
        "{}",
        stderr(&out)
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the slow provider was killed, not waited for"
    );
    // Expired (no activity for more than 30 days).
    m.fake_provider("opencode", "exit 0");
    let out = m.run(&["resume", OPENCODE_DB]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("expired") && stderr(&out).contains("--new-if-expired"),
        "{}",
        stderr(&out)
    );
    assert!(m.runs("opencode").is_empty());
    let out = m.run(&["resume", OPENCODE_DB, "--new-if-expired"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let runs = m.runs("opencode");
    assert_eq!(runs.len(), 1);
    assert!(
        runs[0].0.is_empty(),
        "a fresh session: no --session argument"
    );
    // Unknown session.
    let out = m.run(&["resume", "zzzz"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("zzzz"));
}

/// Sessions of one provider, each in its own folder, for `send`.
fn claude_sessions(m: &Machine, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let dir = m.project.join(format!("s{i}"));
            std::fs::create_dir_all(&dir).unwrap();
            let id = format!("5e5e5e5e-0000-4000-8000-{i:012}");
            claude_session(m, &id, dir.to_str().unwrap(), &[]);
            id
        })
        .collect()
}

#[test]
fn send_runs_at_most_three_providers_at_once_in_each_sessions_folder() {
    let m = Machine::new();
    let ids = claude_sessions(&m, 10);
    let running = m.bin.join("running");
    std::fs::create_dir_all(&running).unwrap();
    // Each run marks itself running, records how many are running, works a moment, leaves.
    m.fake_provider(
        "claude",
        &format!(
            "touch '{r}/'$$; ls '{r}' | wc -l >> '{r}.seen'; sleep 0.3; rm '{r}/'$$; echo \"answer from $PWD\"",
            r = running.display()
        ),
    );
    let mut args = vec!["--json", "chats", "send"];
    args.extend(ids.iter().map(String::as_str));
    args.push("run the tests");
    let out = m.command().args(&args).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 10);
    for (r, id) in results.iter().zip(&ids) {
        assert_eq!(r["id"], id.as_str());
        assert_eq!(r["exit"], 0);
        assert_eq!(r["timed_out"], false);
        assert!(
            r["stdout"]
                .as_str()
                .unwrap()
                .contains(&format!("s{}", &id[id.len() - 1..])),
            "{r}"
        );
    }
    let seen: Vec<u32> = std::fs::read_to_string(m.bin.join("running.seen"))
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(seen.len(), 10);
    assert!(
        seen.iter().all(|&n| n <= 3),
        "more than 3 at once: {seen:?}"
    );
    assert!(seen.iter().any(|&n| n >= 2), "never concurrent: {seen:?}");
    let runs = m.runs("claude");
    assert_eq!(runs.len(), 10);
    for (argv, cwd) in &runs {
        let id = &argv[2];
        assert_eq!(
            argv,
            &vec![
                "-p".to_string(),
                "--resume".into(),
                id.clone(),
                "run the tests".into()
            ]
        );
        let i: usize = id[id.len() - 12..].parse().unwrap();
        assert!(cwd.ends_with(&format!("/s{i}")), "{id} ran in {cwd}");
    }
}

#[test]
fn send_kills_a_provider_past_the_timeout_with_its_children_and_reports_missing_ones() {
    let m = Machine::new();
    let ids = claude_sessions(&m, 2);
    write_all_providers(&m);
    let pids = m.bin.join("pids");
    // The provider starts a child that would outlive it, then hangs.
    m.fake_provider(
        "claude",
        &format!(
            "sleep 120 & echo $! >> '{p}'; echo $$ >> '{p}'; wait",
            p = pids.display()
        ),
    );
    let started = std::time::Instant::now();
    let out = m
        .command()
        .args([
            "--json",
            "chats",
            "send",
            &ids[0],
            CODEX_A,
            "hello",
            "--timeout",
            "1s",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["failed"], 2);
    assert_eq!(v["results"][0]["timed_out"], true);
    assert!(
        v["results"][1]["error"]
            .as_str()
            .unwrap()
            .contains("codex is not on PATH"),
        "{v:#}"
    );
    for pid in std::fs::read_to_string(&pids).unwrap().split_whitespace() {
        // Gone, or a zombie waiting for an init that does not reap. A SIGKILLed process
        // takes a moment to finish exiting: wait for it, up to a deadline.
        let alive = || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.rsplit(") ")
                .next()
                .is_some_and(|rest| !rest.starts_with('Z') && !rest.is_empty())
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while alive() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(
            !alive(),
            "process {pid} of the timed-out provider is still running"
        );
    }
    let text = m.run(&["chats", "send", &ids[1], "hello", "--timeout", "1s"]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("killed after"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
}

#[test]
fn stats_and_clean_expire_links_and_cache_entries_but_never_transcripts_unless_asked() {
    let m = Machine::new();
    write_all_providers(&m);
    let st = m.json(&["chats", "stats"]);
    assert_eq!(st["stats"]["total"]["sessions"], 10);
    assert_eq!(st["stats"]["providers"]["claude"]["sessions"], 2);
    assert_eq!(st["stats"]["providers"]["opencode"]["expired"], 2);
    assert_eq!(st["stats"]["providers"]["gemini"]["idle"], 3);
    assert_eq!(
        st["stats"]["providers"]["codex"]["mean_lifetime_secs"]
            .as_f64()
            .unwrap()
            .round(),
        601.0,
        "1201 s and 0 s"
    );
    assert!(m.ok(&["chats", "stats"]).contains("claude"));

    m.ok(&[
        "register",
        "s-old",
        "--provider",
        "codex",
        "--provider-session",
        CODEX_OLD,
    ]);
    let old_path = by_id(&m.list(), CODEX_OLD)["path"]
        .as_str()
        .unwrap()
        .to_string();
    let dry = m.json(&["chats", "clean", "--older-than", "30d", "--dry-run"]);
    assert_eq!(dry["expired"].as_array().unwrap().len(), 4);
    assert_eq!(
        m.hub.read_json("REGISTRY.json")["sessions"]["s-old"]["provider_session"],
        CODEX_OLD
    );
    let done = m.json(&["chats", "clean", "--older-than", "30d"]);
    assert_eq!(done["links_removed"][0]["hub_session"], "s-old");
    assert!(
        m.hub.read_json("REGISTRY.json")["sessions"]["s-old"]
            .get("provider_session")
            .is_none()
    );
    assert!(
        Path::new(&old_path).is_file(),
        "clean never deletes a transcript by default"
    );
    // Without a terminal, deleting needs --yes.
    let out = m.run(&[
        "chats",
        "clean",
        "--older-than",
        "30d",
        "--delete-transcripts",
    ]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(Path::new(&old_path).is_file());
    let gone = m.json(&[
        "chats",
        "clean",
        "--older-than",
        "30d",
        "--delete-transcripts",
        "--yes",
    ]);
    assert!(!Path::new(&old_path).exists());
    assert!(
        gone["transcripts_deleted"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == old_path.as_str())
    );
    // The databases of Cursor and opencode hold other sessions: never deleted.
    assert!(m.home.join(".local/share/opencode/opencode.db").is_file());
}

#[test]
fn long_first_records_do_not_hide_the_cwd_or_the_title() {
    let m = Machine::new();
    let cwd = m.project.to_str().unwrap().to_string();
    // A 40 KB file snapshot before the first prompt, and enough turns after it that only
    // the head and tail would be read.
    let big = json!({"type":"file-history-snapshot","messageId":"m0","snapshot":{"blob":"s".repeat(40_000)}});
    let mut extra = vec![];
    for i in 0..200 {
        extra.push(json!({"cwd":cwd,"sessionId":CLAUDE_B,"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":format!("answer {i} {}", "x".repeat(300))}]},"timestamp":"2026-11-20T10:00:00Z"}));
    }
    let path = m.home.join(format!(".claude/projects/p/{CLAUDE_B}.jsonl"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let first = json!({"cwd":cwd,"sessionId":CLAUDE_B,"type":"user","message":{"role":"user","content":"Long first record"},"timestamp":"2026-11-20T09:00:00Z"});
    let text = line(big) + &line(first) + &extra.into_iter().map(line).collect::<String>();
    std::fs::write(&path, text).unwrap();
    // Codex: a session_meta of 50 KB (its instructions) on one line.
    let meta = json!({"timestamp":"2026-11-18T10:00:00Z","type":"session_meta","payload":{"id":CODEX_A,"timestamp":"2026-11-18T10:00:00Z","cwd":cwd,"cli_version":"0.46.0","base_instructions":{"text":"i".repeat(50_000)}}});
    let mut rollout = line(meta);
    for i in 0..200 {
        rollout += &line(
            json!({"timestamp":"2026-11-18T10:05:00Z","type":"response_item","payload":{"type":"message","role":"assistant","content":[{"type":"output_text","text":format!("{i} {}", "y".repeat(300))}]}}),
        );
    }
    rollout += &line(
        json!({"timestamp":"2026-11-18T10:06:00Z","type":"event_msg","payload":{"type":"user_message","message":"Late first prompt"}}),
    );
    m.write(
        &format!(".codex/sessions/2026/11/18/rollout-2026-11-18T10-00-00-{CODEX_A}.jsonl"),
        &rollout,
    );
    let list = m.list();
    assert_eq!(list["warning_count"], 0, "{:#}", list["warnings"]);
    let c = by_id(&list, CLAUDE_B);
    assert_eq!(
        (c["cwd"].as_str(), c["title"].as_str()),
        (Some(cwd.as_str()), Some("Long first record"))
    );
    assert_eq!(c["updated"], "2026-11-20T10:00:00Z");
    let x = by_id(&list, CODEX_A);
    assert_eq!(
        (x["cwd"].as_str(), x["title"].as_str()),
        (Some(cwd.as_str()), Some("Late first prompt"))
    );
}

#[test]
fn long_transcripts_take_late_titles_models_branches_and_times_from_their_tails() {
    let m = Machine::new();
    let cwd = m.project.to_str().unwrap().to_string();
    let answer = |i: usize| format!("answer {i} {}", "x".repeat(300));
    // Claude: an old-style summary at the top, 200 turns, then a rename and a last turn
    // on another model, branch and CLI version.
    let mut extra = vec![json!({"type":"summary","summary":"Early summary","leafUuid":"a1"})];
    for i in 0..200 {
        extra.push(json!({"cwd":cwd,"sessionId":CLAUDE_A,"version":"2.0.61","gitBranch":"main","type":"assistant","message":{"model":"claude-sonnet-4-5","role":"assistant","content":[{"type":"text","text":answer(i)}]},"timestamp":"2026-11-20T09:30:00.000Z"}));
    }
    extra.push(json!({"type":"custom-title","customTitle":"Renamed late","sessionId":CLAUDE_A}));
    extra.push(json!({"cwd":cwd,"sessionId":CLAUDE_A,"version":"2.1.0","gitBranch":"feature","type":"assistant","message":{"model":"claude-opus-4-5","role":"assistant","content":[{"type":"text","text":"last"}]},"timestamp":"2026-11-20T11:00:00.000Z"}));
    extra.push(json!({"type":"file-history-snapshot","messageId":"m9","snapshot":{}}));
    claude_session(&m, CLAUDE_A, &cwd, &extra);
    // Codex: the model changes in a late turn_context.
    let mut rollout = line(
        json!({"timestamp":"2026-11-18T10:00:00Z","type":"session_meta","payload":{"id":CODEX_A,"timestamp":"2026-11-18T10:00:00Z","cwd":cwd,"cli_version":"0.46.0"}}),
    );
    rollout += &line(
        json!({"timestamp":"2026-11-18T10:00:00Z","type":"turn_context","payload":{"cwd":cwd,"model":"gpt-5-codex"}}),
    );
    rollout += &line(
        json!({"timestamp":"2026-11-18T10:00:01Z","type":"event_msg","payload":{"type":"user_message","message":"Port the parser"}}),
    );
    for i in 0..200 {
        rollout += &line(
            json!({"timestamp":"2026-11-18T10:05:00Z","type":"response_item","payload":{"type":"message","role":"assistant","content":[{"type":"output_text","text":answer(i)}]}}),
        );
    }
    rollout += &line(
        json!({"timestamp":"2026-11-18T12:00:00Z","type":"turn_context","payload":{"cwd":cwd,"model":"gpt-5.1-codex"}}),
    );
    rollout += &line(
        json!({"timestamp":"2026-11-18T12:00:05Z","type":"response_item","payload":{"type":"message","role":"assistant","content":[{"type":"output_text","text":"done"}]}}),
    );
    m.write(
        &format!(".codex/sessions/2026/11/18/rollout-2026-11-18T10-00-00-{CODEX_A}.jsonl"),
        &rollout,
    );
    // Gemini JSONL: a summary patched in at the end, and a last message on another model.
    std::fs::create_dir_all(m.home.join(".gemini/tmp/api")).unwrap();
    m.write(".gemini/tmp/api/.project_root", &cwd);
    let mut chat = line(
        json!({"sessionId":GEMINI_JSONL,"projectHash":"h","startTime":"2026-11-19T14:00:00.000Z","lastUpdated":"2026-11-19T14:00:00.000Z","kind":"main"}),
    );
    chat += &line(
        json!({"id":"g0","timestamp":"2026-11-19T14:00:01.000Z","type":"user","content":[{"text":"Plan the release"}]}),
    );
    for i in 0..200 {
        chat += &line(
            json!({"id":format!("g{}", i + 1),"timestamp":"2026-11-19T14:00:05.000Z","type":"gemini","content":answer(i),"model":"gemini-2.5-flash"}),
        );
    }
    chat += &line(json!({"$set":{"summary":"Release plan, late"}}));
    chat += &line(
        json!({"id":"g999","timestamp":"2026-11-19T16:00:00.000Z","type":"gemini","content":"ok","model":"gemini-2.5-pro"}),
    );
    m.write(
        ".gemini/tmp/api/chats/session-2026-11-19T14-00-gemjsonl.jsonl",
        &chat,
    );

    let cold = m.list();
    assert_eq!(cold["warning_count"], 0, "{:#}", cold["warnings"]);
    let c = by_id(&cold, CLAUDE_A);
    assert_eq!(
        c["title"], "Renamed late",
        "custom-title wins, found in the tail"
    );
    assert_eq!(
        (&c["model"], &c["branch"], &c["version"]),
        (
            &json!("claude-opus-4-5"),
            &json!("feature"),
            &json!("2.1.0")
        )
    );
    assert_eq!(
        (&c["created"], &c["updated"]),
        (
            &json!("2026-11-20T09:00:00Z"),
            &json!("2026-11-20T11:00:00Z")
        )
    );
    assert!(
        c.get("messages").is_none(),
        "not counted from head and tail"
    );
    let x = by_id(&cold, CODEX_A);
    assert_eq!(
        (&x["title"], &x["model"], &x["updated"]),
        (
            &json!("Port the parser"),
            &json!("gpt-5.1-codex"),
            &json!("2026-11-18T12:00:05Z")
        )
    );
    let g = by_id(&cold, GEMINI_JSONL);
    assert_eq!(
        (&g["title"], &g["model"], &g["cwd"]),
        (
            &json!("Release plan, late"),
            &json!("gemini-2.5-pro"),
            &json!(cwd)
        )
    );
    assert_eq!(
        (&g["created"], &g["updated"]),
        (
            &json!("2026-11-19T14:00:00Z"),
            &json!("2026-11-19T16:00:00Z")
        )
    );
    // The index gives back exactly what was read (once the files are past the racy window).
    age_folders(&m.home, 3600);
    m.list();
    let warm = m.list();
    assert_eq!(warm["index"]["read"], 0);
    assert_eq!(warm["sessions"], cold["sessions"]);
}

#[test]
fn resume_new_if_expired_starts_a_fresh_session_in_the_same_folder_and_links_it_to_the_hub_session()
{
    const OLD: &str = "0e0e0e0e-0000-4000-8000-000000000001";
    const NEW: &str = "0f0f0f0f-0000-4000-8000-000000000002";
    let m = Machine::new();
    let cwd = m.project.to_str().unwrap().to_string();
    m.write(
        ".claude/projects/old/0e0e0e0e-0000-4000-8000-000000000001.jsonl",
        &line(
            json!({"cwd":cwd,"sessionId":OLD,"type":"user","message":{"role":"user","content":"Long ago"},"timestamp":"2025-06-01T10:00:00Z"}),
        ),
    );
    // The fake claude, started without arguments (a new session), writes a transcript
    // for it in the folder it was started in, as the real one does.
    m.fake_provider(
        "claude",
        &format!(
            "if [ $# -eq 0 ]; then mkdir -p \"$HOME/.claude/projects/fresh\" && printf '{{\"cwd\":\"%s\",\"sessionId\":\"{NEW}\",\"type\":\"user\",\"message\":{{\"role\":\"user\",\"content\":\"fresh start\"}},\"timestamp\":\"2026-11-20T11:59:00Z\"}}\\n' \"$PWD\" > \"$HOME/.claude/projects/fresh/{NEW}.jsonl\"; fi"
        ),
    );
    m.ok(&[
        "register",
        "session-3-api",
        "--provider",
        "claude",
        "--provider-session",
        OLD,
    ]);
    let printed = m.json(&["resume", "session-3-api", "--new-if-expired", "--print"]);
    assert_eq!(
        (&printed["new"], &printed["link_to"]),
        (&json!(true), &json!("session-3-api"))
    );
    let out = m.run(&["resume", "session-3-api", "--new-if-expired"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let runs = m.runs("claude");
    assert_eq!(runs.len(), 1);
    assert!(runs[0].0.is_empty(), "a fresh session: {:?}", runs[0].0);
    assert_eq!(
        std::fs::canonicalize(&runs[0].1).unwrap(),
        std::fs::canonicalize(&m.project).unwrap()
    );
    // The linker links the new session as soon as its transcript is there.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let reg = m.hub.read_json("REGISTRY.json");
        if reg["sessions"]["session-3-api"]["provider_session"] == NEW {
            assert_eq!(reg["sessions"]["session-3-api"]["provider"], "claude");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new session was never linked: {reg:#}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let listed = m.json(&["chats", "list", "--hub-session", "session-3-api"]);
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["sessions"][0]["id"], NEW);
    assert_eq!(listed["sessions"][0]["status"], "active");
}

#[test]
fn every_chats_json_document_matches_the_schema_sessions_schema_prints() {
    use crate::output::{assert_matches, schema_of};
    let m = Machine::new();
    write_all_providers(&m);
    m.fake_provider("claude", "echo answered");
    let cases: Vec<(&[&str], Vec<&str>)> = vec![
        (&["chats", "list"], vec!["chats", "list"]),
        (
            &["chats", "list"],
            vec!["chats", "list", "--counts", "--limit", "3"],
        ),
        (&["chats", "show"], vec!["chats", "show", CLAUDE_A]),
        (&["chats", "show"], vec!["chats", "show", GEMINI_JSONL]),
        (&["chats", "stats"], vec!["chats", "stats"]),
        (&["chats", "send"], vec!["chats", "send", CLAUDE_A, "hello"]),
        (&["chats", "clean"], vec!["chats", "clean", "--dry-run"]),
        (&["resume"], vec!["resume", CLAUDE_A, "--print"]),
        (
            &["resume"],
            vec!["resume", CURSOR_A, "--print", "--new-if-expired"],
        ),
    ];
    for (command, args) in cases {
        let schema = schema_of(&m.hub, command);
        let mut all = vec!["--json"];
        all.extend(args.iter().copied());
        let value = m.json(&args);
        assert_matches(&schema, &value, &format!("sessions {all:?}"));
    }
    let names = m.json(&["schema"]);
    for name in [
        "chats list",
        "chats show",
        "chats send",
        "chats clean",
        "chats stats",
        "resume",
    ] {
        assert!(
            names["commands"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n == name),
            "{name} is listed by `sessions schema`"
        );
    }
}

// ---------- review: attacks on the kept folder listings and the cache ----------

/// The listing through the cache equals a listing that reads every file (`--no-cache`).
fn assert_same_as_uncached(m: &Machine, what: &str) -> Value {
    let cached = m.list();
    let fresh = m.json(&["chats", "list", "--limit", "0", "--no-cache"]);
    assert_eq!(cached["sessions"], fresh["sessions"], "{what}");
    assert_eq!(cached["warnings"], fresh["warnings"], "{what}");
    cached
}

#[test]
fn review_one_provider_then_all_then_another_keeps_every_providers_entries_and_folders() {
    let m = Machine::new();
    write_all_providers(&m);
    age_folders(&m.home, 3600);
    let claude = m.json(&["chats", "list", "--limit", "0", "--provider", "claude"]);
    let claude_files = claude["index"]["files"].as_u64().unwrap();
    assert_eq!(claude["index"]["read"], claude_files, "{}", claude["index"]);
    let all = m.list();
    let files = all["index"]["files"].as_u64().unwrap();
    assert_eq!(
        all["index"]["read"],
        files - claude_files,
        "claude's entries were kept by the claude-only listing: {}",
        all["index"]
    );
    // Every folder's listing is now older than the racy window: kept from here on.
    let codex = m.json(&["chats", "list", "--limit", "0", "--provider", "codex"]);
    assert_eq!(codex["index"]["read"], 0, "{}", codex["index"]);
    assert_eq!(codex["index"]["folders_listed"], 0, "{}", codex["index"]);
    let again = m.json(&["chats", "list", "--limit", "0", "--provider", "claude"]);
    assert_eq!(again["index"]["read"], 0, "{}", again["index"]);
    assert_eq!(again["index"]["folders_listed"], 0, "{}", again["index"]);
    let last = assert_same_as_uncached(&m, "after the per-provider listings");
    assert_eq!(last["index"]["read"], 0, "{}", last["index"]);
    assert_eq!(last["index"]["folders_listed"], 0, "{}", last["index"]);
    assert_eq!(last["sessions"], all["sessions"]);
}

#[test]
fn review_clean_then_list_reads_the_forgotten_files_again() {
    let m = Machine::new();
    write_all_providers(&m);
    age_folders(&m.home, 3600);
    let before = m.list();
    m.list();
    let done = m.json(&["chats", "clean", "--older-than", "30d"]);
    assert!(!done["expired"].as_array().unwrap().is_empty());
    let after = assert_same_as_uncached(&m, "after clean");
    assert!(
        after["index"]["read"].as_u64().unwrap() >= 1,
        "{}",
        after["index"]
    );
    assert_eq!(ids_of(&after), ids_of(&before));
    let warm = m.list();
    assert_eq!(warm["index"]["read"], 0, "{}", warm["index"]);
}

/// Set a cursor store's chat name (the meta row's hex JSON), on `db`.
fn rename_cursor_chat(db: &rusqlite::Connection, name: &str) {
    let hex: String = db
        .query_row("SELECT value FROM meta WHERE key = '0'", [], |r| r.get(0))
        .unwrap();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let mut meta: Value = serde_json::from_slice(&bytes).unwrap();
    meta["name"] = json!(name);
    let hex: String = meta
        .to_string()
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    db.execute("UPDATE meta SET value = ?1 WHERE key = '0'", [hex])
        .unwrap();
}

#[test]
fn review_sqlite_write_ahead_logs_that_appear_grow_and_go_in_kept_folders_are_seen() {
    let m = Machine::new();
    write_all_providers(&m);
    let store = std::fs::read_dir(
        m.home
            .join(".cursor/chats/0123456789abcdef0123456789abcdef"),
    )
    .unwrap()
    .map(|e| e.unwrap().path().join("store.db"))
    .find(|p| p.to_string_lossy().contains(CURSOR_A))
    .unwrap();
    let oc = m.home.join(".local/share/opencode/opencode.db");
    for db in [&store, &oc] {
        let c = rusqlite::Connection::open(db).unwrap();
        let mode: String = c
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
    assert!(!Path::new(&format!("{}-wal", store.display())).exists());
    age_folders(&m.home, 3600);
    m.list();
    for db in [&store, &oc] {
        for suffix in ["-wal", "-shm"] {
            let beside = format!("{}{suffix}", db.display());
            assert!(!Path::new(&beside).exists(), "the listing wrote {beside}");
        }
    }
    assert_eq!(m.list()["index"]["folders_listed"], 0);

    // A writer opens the stores: the log appears, holding the change (no checkpoint).
    let cursor = rusqlite::Connection::open(&store).unwrap();
    let open = rusqlite::Connection::open(&oc).unwrap();
    for c in [&cursor, &open] {
        c.execute_batch("PRAGMA wal_autocheckpoint=0").unwrap();
    }
    rename_cursor_chat(&cursor, "in the log");
    open.execute(
        "UPDATE session SET title = 'in the log too' WHERE id = ?1",
        [OPENCODE_DB],
    )
    .unwrap();
    assert!(Path::new(&format!("{}-wal", store.display())).exists());
    let appeared = assert_same_as_uncached(&m, "log appeared");
    assert_eq!(by_id(&appeared, CURSOR_A)["title"], "in the log");
    assert_eq!(by_id(&appeared, OPENCODE_DB)["title"], "in the log too");

    // The folders go quiet with the log there (kept, the log stamped), and it grows.
    age_folders(&m.home, 3600);
    m.list();
    assert_eq!(m.list()["index"]["folders_listed"], 0);
    rename_cursor_chat(&cursor, "grown log");
    open.execute(
        "UPDATE session SET title = 'grown log too' WHERE id = ?1",
        [OPENCODE_DB],
    )
    .unwrap();
    let grown = assert_same_as_uncached(&m, "log grew");
    assert_eq!(grown["index"]["folders_listed"], 0, "{}", grown["index"]);
    assert_eq!(by_id(&grown, CURSOR_A)["title"], "grown log");
    assert_eq!(by_id(&grown, OPENCODE_DB)["title"], "grown log too");

    // A log that stays as it is is not read again: reading a database with a log opens
    // the log (SQLite gives it the database's owner again, which moves its change time).
    age_folders(&m.home, 3600);
    m.list();
    let quiet = m.list();
    assert_eq!(quiet["index"]["read"], 0, "{}", quiet["index"]);

    // The writers close: checkpointed into the database, the log removed.
    drop(cursor);
    drop(open);
    assert!(!Path::new(&format!("{}-wal", store.display())).exists());
    let gone = assert_same_as_uncached(&m, "log gone");
    assert_eq!(by_id(&gone, CURSOR_A)["title"], "grown log");
    assert_eq!(by_id(&gone, OPENCODE_DB)["title"], "grown log too");
}

#[test]
fn review_odd_names_and_files_and_folders_swapped_for_each_other_list_as_read_afresh() {
    use std::os::unix::ffi::OsStrExt;
    let m = Machine::new();
    write_all_providers(&m);
    let projects = m.home.join(".claude/projects");
    // A folder and a transcript whose names are not UTF-8 and hold a newline.
    let odd_dir = projects.join(std::ffi::OsStr::from_bytes(b"odd\xff\nfolder"));
    std::fs::create_dir_all(&odd_dir).unwrap();
    let odd_id = "0b6c3f0e-4444-4d4d-8d8d-dddddddddddd";
    let src = claude_session(&m, odd_id, "/srv/odd", &[]);
    let odd_file = odd_dir.join(std::ffi::OsStr::from_bytes(b"name\xfe\nx.jsonl"));
    std::fs::rename(&src, &odd_file).unwrap();
    std::fs::remove_dir(src.parent().unwrap()).unwrap();
    let first = assert_same_as_uncached(&m, "odd names");
    assert_eq!(by_id(&first, odd_id)["cwd"], "/srv/odd");
    age_folders(&m.home, 3600);
    m.list();
    let kept = assert_same_as_uncached(&m, "odd names, kept");
    assert_eq!(kept["index"]["folders_listed"], 0, "{}", kept["index"]);
    assert_eq!(by_id(&kept, odd_id)["cwd"], "/srv/odd");

    // The transcript replaced by a folder of the same name (holding a transcript).
    let cwd = m.project.to_str().unwrap().to_string();
    let folder = projects.join(cwd.replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
    let transcript = folder.join(format!("{CLAUDE_A}.jsonl"));
    let text = std::fs::read(&transcript).unwrap();
    std::fs::remove_file(&transcript).unwrap();
    std::fs::create_dir(&transcript).unwrap();
    std::fs::write(transcript.join("inner.jsonl"), &text).unwrap();
    let as_dir = assert_same_as_uncached(&m, "file became a folder");
    assert!(!ids_of(&as_dir).contains(&CLAUDE_A.to_string()));
    age_folders(&m.home, 3600);
    m.list();
    // And back: the folder replaced by the file, then by a link to it.
    std::fs::remove_dir_all(&transcript).unwrap();
    std::fs::write(&transcript, &text).unwrap();
    let back = assert_same_as_uncached(&m, "folder became a file");
    assert!(ids_of(&back).contains(&CLAUDE_A.to_string()));
    let real = m.home.join("real.jsonl");
    std::fs::rename(&transcript, &real).unwrap();
    std::os::unix::fs::symlink(&real, &transcript).unwrap();
    let linked = assert_same_as_uncached(&m, "file became a link");
    assert!(ids_of(&linked).contains(&CLAUDE_A.to_string()));

    // Two kept project folders swapped by renames, their mtimes put back as they were
    // (as rsync or tar would): the inode and ctime still tell them apart.
    age_folders(&m.home, 3600);
    m.list();
    assert_eq!(m.list()["index"]["folders_listed"], 0);
    let other = projects.join("-srv-other");
    let mtime = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let times: Vec<_> = [&projects, &folder, &other]
        .iter()
        .map(|p| (p.to_path_buf(), mtime(p)))
        .collect();
    let tmp = projects.join("swap");
    std::fs::rename(&folder, &tmp).unwrap();
    std::fs::rename(&other, &folder).unwrap();
    std::fs::rename(&tmp, &other).unwrap();
    for (p, t) in &times {
        let times = std::fs::FileTimes::new().set_modified(*t);
        std::fs::File::open(p).unwrap().set_times(times).unwrap();
    }
    let swapped = assert_same_as_uncached(&m, "folders swapped");
    assert!(
        by_id(&swapped, CLAUDE_B)["path"]
            .as_str()
            .unwrap()
            .starts_with(folder.to_str().unwrap())
    );
}

#[test]
fn review_lists_at_once_on_a_cold_cache_all_succeed_and_leave_a_good_cache() {
    let m = Machine::new();
    write_all_providers(&m);
    let expected = m.json(&["chats", "list", "--limit", "0", "--no-cache"]);
    let children: Vec<_> = (0..4)
        .map(|_| {
            m.command()
                .args(["--json", "chats", "list", "--limit", "0"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["sessions"], expected["sessions"]);
    }
    let after = m.list();
    assert_eq!(after["index"]["rebuilt"], false);
    assert_eq!(after["sessions"], expected["sessions"]);
    let leftovers: Vec<_> = std::fs::read_dir(m.cache.join("sessions"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "chats-index.bin")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn review_the_same_codex_session_live_and_archived_is_listed_once_the_same_way_every_time() {
    let m = Machine::new();
    write_all_providers(&m);
    let live = m.home.join(format!(
        ".codex/sessions/2026/11/18/rollout-2026-11-18T10-00-00-{CODEX_A}.jsonl"
    ));
    let archived = m.home.join(format!(
        ".codex/archived_sessions/rollout-2026-11-18T10-00-00-{CODEX_A}.jsonl"
    ));
    std::fs::copy(&live, &archived).unwrap();
    let cold = assert_same_as_uncached(&m, "live and archived");
    let n = cold["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["id"] == CODEX_A)
        .count();
    assert_eq!(n, 1, "{cold}");
    let path = by_id(&cold, CODEX_A)["path"].clone();
    for _ in 0..3 {
        assert_eq!(by_id(&m.list(), CODEX_A)["path"], path);
    }
}

#[test]
fn review_a_database_written_again_within_the_tick_it_was_indexed_in_is_read_again() {
    let m = Machine::new();
    write_all_providers(&m);
    let oc = m.home.join(".local/share/opencode/opencode.db");
    let stamp = |p: &Path| {
        let md = std::fs::metadata(p).unwrap();
        (md.len(), md.modified().unwrap())
    };
    let (size, mtime) = stamp(&oc);
    assert_eq!(by_id(&m.list(), OPENCODE_DB)["title"], "Tidy the CI config");
    // opencode updates the row in place (same pages, same size) right after the listing
    // read it, within the same tick of the file system's clock: the mtime does not move
    // (a coarse clock, or FAT's two seconds; set back here to make that tick certain).
    let db = rusqlite::Connection::open(&oc).unwrap();
    db.execute(
        "UPDATE session SET title = 'Tidy the CD config' WHERE id = ?1",
        [OPENCODE_DB],
    )
    .unwrap();
    drop(db);
    let times = std::fs::FileTimes::new().set_modified(mtime);
    std::fs::File::options()
        .write(true)
        .open(&oc)
        .unwrap()
        .set_times(times)
        .unwrap();
    assert_eq!(stamp(&oc), (size, mtime), "same size, same mtime");
    let after = assert_same_as_uncached(&m, "written again within the tick");
    assert_eq!(by_id(&after, OPENCODE_DB)["title"], "Tidy the CD config");
}

#[test]
fn a_provider_folder_that_cannot_be_read_is_one_warning_and_the_rest_is_listed() {
    let m = Machine::new();
    let cwd = m.project.to_str().unwrap().to_string();
    claude_session(&m, CLAUDE_A, &cwd, &[]);
    // Cursor's chats folder is a file here (a sync tool's conflict copy, a bad restore).
    m.write(".cursor/chats", "not a folder\n");
    for _ in 0..2 {
        let list = m.list();
        assert_eq!(ids_of(&list), [CLAUDE_A], "{list}");
        assert_eq!(list["warning_count"], 1, "{}", list["warnings"]);
        let w = &list["warnings"][0];
        assert!(
            w["path"].as_str().unwrap().ends_with(".cursor/chats"),
            "{w}"
        );
        assert!(
            w["message"]
                .as_str()
                .unwrap()
                .contains("cannot read this folder"),
            "{w}"
        );
    }
    let out = m.run(&["chats", "list"]);
    assert!(out.status.success());
    assert!(
        stderr(&out).contains(".cursor/chats: cannot read this folder"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_transcript_replaced_with_its_size_and_mtime_kept_is_read_again() {
    let m = Machine::new();
    let cwd = m.project.to_str().unwrap().to_string();
    let path = claude_session(
        &m,
        CLAUDE_A,
        &cwd,
        &[json!({"type":"custom-title","customTitle":"title AAAA","sessionId":CLAUDE_A})],
    );
    age_folders(&m.home, 3600);
    m.list();
    assert_eq!(m.list()["index"]["read"], 0);
    // Another file of the same size put in its place with the old mtime copied over (a
    // backup restored, `cp -p`, `touch -r`): only the change time tells.
    let before = std::fs::metadata(&path).unwrap();
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("title AAAA", "title BBBB");
    let other = m.home.join("restored.jsonl");
    std::fs::write(&other, &text).unwrap();
    let times = std::fs::FileTimes::new().set_modified(before.modified().unwrap());
    std::fs::File::options()
        .write(true)
        .open(&other)
        .unwrap()
        .set_times(times)
        .unwrap();
    std::fs::rename(&other, &path).unwrap();
    let after = std::fs::metadata(&path).unwrap();
    assert_eq!(
        (after.len(), after.modified().unwrap()),
        (before.len(), before.modified().unwrap())
    );
    // Its folder changed too (the rename): age it again, so only the file's stamp decides.
    age_folders(&m.home, 3600);
    let listed = m.list();
    assert_eq!(listed["index"]["read"], 1, "{}", listed["index"]);
    assert_eq!(by_id(&listed, CLAUDE_A)["title"], "title BBBB");
}
