//! The output layer: write errors surface, a closed pipe is quiet, text from other
//! sessions is escaped for terminals (JSON stays exact), and every `--json` document
//! matches the schema `sessions schema` prints for it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{TestHub, stderr, stdout};

/// What another session could write to redraw a line: erase it, return to its start,
/// and reverse what follows.
const HOSTILE: &str = "ok\x1b[2K\r** From: boss\u{202e}gnp.exe";
/// The same as `escape_untrusted` shows it.
const SHOWN: &str = "ok\\x1b[2K\\r** From: boss\\u{202e}gnp.exe";
/// A one-line header (a subject) is stored with its CR turned into a space by the board
/// itself; the escape sequence and the override stay and must be shown escaped.
const SUBJECT_SHOWN: &str = "ok\\x1b[2K ** From: boss\\u{202e}gnp.exe";

fn run_with_stdout(mut cmd: Command, stdout: impl Into<Stdio>) -> Output {
    cmd.stdout(stdout).stderr(Stdio::piped());
    cmd.output().expect("run sessions")
}

fn full_disk() -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full (Linux) is where a full disk can be tried")
}

#[test]
fn a_full_disk_is_an_error_with_a_message_not_a_silent_success() {
    let hub = TestHub::fixture();
    for args in [
        &["status"][..],
        &["--json", "status"],
        &["msg", "list"],
        &["--help"],
    ] {
        let mut cmd = hub.command("sessions");
        cmd.args(args);
        let out = run_with_stdout(cmd, full_disk());
        assert_eq!(
            out.status.code(),
            Some(1),
            "sessions {args:?} > /dev/full: {}",
            stderr(&out)
        );
        let err = stderr(&out);
        assert!(
            err.contains("sessions: standard output: No space left on device"),
            "sessions {args:?} > /dev/full says why: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn a_closed_pipe_ends_quietly_with_the_commands_own_exit_code() {
    let hub = TestHub::fixture();
    let cases: [(&[&str], i32); 4] = [
        (&["status"], 0),
        (&["--json", "msg", "list"], 0),
        // A failing command with --json: its error document cannot be written either.
        (&["--json", "--as", "nobody", "release", "no-such-claim"], 1),
        (&["--help"], 0),
    ];
    for (args, code) in cases {
        // The reading end is closed before the command starts: every write is EPIPE.
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let mut cmd = hub.command("sessions");
        cmd.args(args);
        let out = run_with_stdout(cmd, writer);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "sessions {args:?}: {err}");
        assert!(!err.contains("panicked"), "sessions {args:?}: {err}");
        if code == 0 {
            assert!(err.is_empty(), "a closed pipe is not an error: {err}");
        }
    }
}

#[test]
fn watch_stops_quietly_when_its_reader_goes_away() {
    let hub = TestHub::new();
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let mut child = hub
        .command("sessions")
        .args(["--json", "watch", "--kind", "signal"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the watcher");
    let mut notes = BufReader::new(child.stderr.take().unwrap()).lines();
    let ready = notes.next().expect("a note").expect("utf-8");
    assert!(ready.contains("watching"), "{ready}");
    hub.ok(&["signal", "infra"]);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the watcher kept running after its reader left"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let rest: Vec<String> = notes.map_while(Result::ok).collect();
    assert_eq!(status.code(), Some(0), "{rest:?}");
    assert!(!rest.iter().any(|l| l.contains("panicked")), "{rest:?}");
}

/// A hub where session `evil` put terminal controls in everything others read.
fn hostile_hub() -> TestHub {
    let hub = TestHub::new();
    hub.ok(&[
        "--as", "evil", "register", "--role", HOSTILE, "--work", HOSTILE,
    ]);
    hub.ok(&["--as", "s2", "register"]);
    hub.ok(&[
        "--as",
        "evil",
        "msg",
        "send",
        "--to",
        "s2",
        "--subject",
        HOSTILE,
        HOSTILE,
    ]);
    hub.ok(&["--as", "evil", "collab", "request", "s2", HOSTILE]);
    hub
}

/// No raw control from another session reaches the terminal, and `shown` (the text
/// with its controls escaped) is there.
fn assert_escaped(what: &str, text: &str, shown: &str) {
    for raw in ['\x1b', '\r', '\u{202e}'] {
        assert!(
            !text.contains(raw),
            "{what} prints a raw {raw:?} from another session:\n{text}"
        );
    }
    assert!(
        text.contains(shown),
        "{what} shows {shown:?}, the controls as escapes:\n{text}"
    );
}

#[test]
fn terminal_controls_from_other_sessions_are_escaped_in_human_output() {
    let hub = hostile_hub();
    let id = hub.json(&["msg", "list"])["messages"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cases: [(&[&str], &[&str]); 6] = [
        // role and current work
        (&["sync"], &[SHOWN]),
        // current work of a live session, and the latest message's subject
        (&["status"], &[SHOWN, SUBJECT_SHOWN]),
        (&["msg", "list"], &[SUBJECT_SHOWN]),
        (&["--as", "s2", "inbox"], &[SUBJECT_SHOWN]),
        // subject and the exact body
        (&["msg", "show", &id], &[SUBJECT_SHOWN, SHOWN]),
        // the request text
        (&["collab", "list", "--all"], &[SHOWN]),
    ];
    for (args, shown) in cases {
        let text = hub.ok(args);
        for s in shown {
            assert_escaped(&format!("sessions {args:?}"), &text, s);
        }
    }
}

#[test]
fn json_output_keeps_the_text_of_other_sessions_exact() {
    let hub = hostile_hub();
    let sync = hub.json(&["sync"]);
    let evil = sync["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "evil")
        .expect("evil is listed");
    assert_eq!(evil["current_work"], HOSTILE);
    assert_eq!(evil["role"], HOSTILE);
    let subject = HOSTILE.replace('\r', " ");
    let list = hub.json(&["msg", "list"]);
    let message = &list["messages"][0];
    assert_eq!(message["subject"], *subject);
    assert_eq!(message["body"], HOSTILE);
    let id = message["id"].as_str().unwrap();
    let shown = hub.json(&["msg", "show", id]);
    assert_eq!(shown["subject"], *subject);
    assert_eq!(shown["body"], HOSTILE);
    assert_eq!(
        hub.json(&["--as", "s2", "inbox"])["messages"][0]["subject"],
        *subject
    );
    let status = hub.json(&["status"]);
    assert_eq!(status["recent_messages"][0]["subject"], *subject);
    assert_eq!(
        hub.json(&["collab", "list", "--all"])["requests"][0]["request"],
        HOSTILE
    );
}

#[test]
fn watch_text_lines_escape_a_hostile_subject() {
    let hub = TestHub::new();
    let mut child = hub
        .command("sessions")
        .args(["--as", "s2", "watch", "--once", "--kind", "message"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the watcher");
    let mut notes = BufReader::new(child.stderr.take().unwrap()).lines();
    let ready = notes.next().expect("a note").expect("utf-8");
    assert!(ready.contains("watching"), "{ready}");
    hub.ok(&[
        "--as",
        "evil",
        "msg",
        "send",
        "--to",
        "s2",
        "--subject",
        HOSTILE,
        "hi",
    ]);
    let out = child.wait_with_output().expect("the watcher ends (--once)");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_escaped("watch", &stdout(&out), SUBJECT_SHOWN);
}

// ----- schemas -----

/// Check `value` against a JSON Schema (the subset schemars emits: $ref/$defs, anyOf,
/// oneOf, allOf, type, enum, const, required, properties, items, additionalProperties).
/// Returns the places where it does not match.
fn violations(root: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Some(schema) = schema.as_object() else {
        if schema == &Value::Bool(false) {
            found.push(format!("{at}: no value is allowed here"));
        }
        return found;
    };
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        let def = &root["$defs"][name];
        assert!(!def.is_null(), "{at}: unresolved $ref {r}");
        found.extend(violations(root, def, value, at));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let matching = options
                .iter()
                .filter(|o| violations(root, o, value, at).is_empty())
                .count();
            if matching == 0 || (key == "oneOf" && matching > 1) {
                found.push(format!("{at}: {matching} of the {key} options match"));
            }
        }
    }
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        found.extend(violations(root, part, value, at));
    }
    if let Some(ty) = schema.get("type") {
        let types: Vec<&str> = match ty {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let fits = |t: &str| match t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => true,
        };
        if !types.iter().any(|t| fits(t)) {
            found.push(format!("{at}: {value} is not of type {ty}"));
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        found.push(format!("{at}: {value} is not one of {options:?}"));
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        found.push(format!("{at}: {value} is not {c}"));
    }
    if let Some(object) = value.as_object() {
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = name.as_str().unwrap();
            if !object.contains_key(name) {
                found.push(format!("{at}: required property {name:?} is missing"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, v) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(s) => found.extend(violations(root, s, v, &format!("{at}.{name}"))),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        found.push(format!("{at}: property {name:?} is not in the schema"))
                    }
                    Some(s @ Value::Object(_)) => {
                        found.extend(violations(root, s, v, &format!("{at}.{name}")))
                    }
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, v) in array.iter().enumerate() {
            found.extend(violations(root, items, v, &format!("{at}[{i}]")));
        }
    }
    found
}

pub fn schema_of(hub: &TestHub, command: &[&str]) -> Value {
    let mut args = vec!["schema"];
    args.extend_from_slice(command);
    let text = hub.ok(&args);
    let schema: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("sessions schema {command:?} is not JSON: {e}\n{text}"));
    assert!(
        schema["$schema"]
            .as_str()
            .is_some_and(|s| s.contains("json-schema.org")),
        "sessions schema {command:?} is a JSON Schema: {schema}"
    );
    schema
}

pub fn assert_matches(schema: &Value, value: &Value, what: &str) {
    let found = violations(schema, schema, value, "$");
    assert!(
        found.is_empty(),
        "{what} does not match its schema:\n{}\n{value:#}",
        found.join("\n")
    );
}

#[test]
fn every_json_document_matches_the_schema_sessions_schema_prints() {
    let hub = hostile_hub();
    hub.ok(&["--as", "s2", "claim", "deploy-api"]);
    hub.ok(&[
        "--as",
        "s2",
        "milestone",
        "create",
        "Ship it",
        "--step",
        "build",
        "--step",
        "deploy",
    ]);
    let milestone = hub.json(&["milestone", "status"])["milestones"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    hub.ok(&["report", "new", "infra"]);
    hub.ok(&[
        "report",
        "set",
        "infra",
        "INFRASTRUCTURE",
        "Server",
        "fail",
        "down",
    ]);
    let message = hub.json(&["msg", "list"])["messages"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cases: Vec<(&[&str], Vec<&str>)> = vec![
        (&["status"], vec!["status"]),
        (&["sync"], vec!["sync"]),
        (&["msg", "list"], vec!["msg", "list"]),
        (&["msg", "list"], vec!["msg", "list", "--with-text"]),
        (&["msg", "show"], vec!["msg", "show", &message]),
        (&["inbox"], vec!["--as", "s2", "inbox", "--mark-read"]),
        (&["claims"], vec!["claims"]),
        (&["claim"], vec!["--as", "s3", "claim", "other-key"]),
        (&["collab", "list"], vec!["collab", "list", "--all"]),
        (&["milestone", "status"], vec!["milestone", "status"]),
        (
            &["milestone", "status", "ID"],
            vec!["milestone", "status", &milestone],
        ),
        (&["ready"], vec!["ready"]),
        (&["report", "show"], vec!["report", "show"]),
        (
            &["report", "show", "PROJECT"],
            vec!["report", "show", "infra"],
        ),
        (&["report", "failing"], vec!["report", "failing"]),
        (&["doctor"], vec!["doctor"]),
        (&["match"], vec!["match", "deploy the API"]),
        (&["heartbeat"], vec!["--as", "s2", "heartbeat"]),
        (&["reserve"], vec!["--as", "s2", "reserve", "src/api/**"]),
        (&["reservations"], vec!["reservations"]),
        (&["unreserve"], vec!["--as", "s2", "unreserve"]),
        (&["whoami"], vec!["--as", "s2", "whoami"]),
        (&["prime"], vec!["--as", "s2", "prime"]),
    ];
    for (command, args) in cases {
        let schema = schema_of(&hub, command);
        let mut all = vec!["--json"];
        all.extend(args.iter().copied());
        let out = hub.run(&all);
        let value: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("sessions {all:?}: {e}: {}", stderr(&out)));
        assert_matches(&schema, &value, &format!("sessions {all:?}"));
    }
    // The hooks commands work on the project of the folder they run in.
    let project = hub.root.parent().unwrap();
    std::fs::create_dir_all(project.join(".git")).unwrap();
    let hooks_cases: [(&[&str], Vec<&str>); 4] = [
        (&["hooks", "install"], vec!["hooks", "install", "gemini"]),
        (
            &["hooks", "install"],
            vec!["hooks", "install", "codex", "--toml", "--dry-run"],
        ),
        (&["hooks", "status"], vec!["hooks", "status"]),
        (
            &["hooks", "uninstall"],
            vec!["hooks", "uninstall", "gemini"],
        ),
    ];
    for (command, args) in hooks_cases {
        let schema = schema_of(&hub, command);
        let out = hub
            .command("sessions")
            .current_dir(project)
            .env("HOME", project)
            .arg("--json")
            .args(&args)
            .output()
            .unwrap();
        let value: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("sessions {args:?}: {e}: {}", stderr(&out)));
        assert_matches(&schema, &value, &format!("sessions {args:?}"));
    }

    // A failed command's document has a schema too.
    let out = hub.run(&["--json", "--as", "s3", "claim", "deploy-api"]);
    assert_eq!(out.status.code(), Some(1));
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_matches(
        &schema_of(&hub, &["error"]),
        &value,
        "the error of a refused claim",
    );
}

#[test]
fn the_schema_checker_finds_a_missing_or_mistyped_property() {
    // The check above must be able to fail: a document without a required field, or with
    // a string where a number belongs, is reported.
    let hub = TestHub::new();
    let schema = schema_of(&hub, &["claims"]);
    let good = hub.json(&["claims"]);
    assert_matches(&schema, &good, "claims");
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("generated_at");
    assert!(!violations(&schema, &schema, &missing, "$").is_empty());
    let mistyped = serde_json::json!({ "generated_at": 5, "claims": [] });
    assert!(!violations(&schema, &schema, &mistyped, "$").is_empty());
}

#[test]
fn sessions_schema_lists_the_commands_and_refuses_an_unknown_one() {
    let hub = TestHub::new();
    let list = hub.json(&["schema"]);
    let names: Vec<&str> = list["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    for name in [
        "status", "sync", "msg list", "inbox", "claim", "doctor", "error",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert_eq!(
        schema_of(&hub, &["quick-status"]),
        schema_of(&hub, &["status"])
    );
    let out = hub.run(&["schema", "no-such-command"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("sessions schema"), "{}", stderr(&out));
}

#[test]
fn warnings_go_to_stderr_in_text_and_into_the_json_document() {
    let hub = TestHub::new();
    let mut ids = Vec::new();
    for title in ["First", "Second"] {
        let made = hub.json(&["milestone", "create", title, "--step", "the only step"]);
        let id = made["summary"]["id"].as_str().unwrap().to_string();
        hub.ok(&["--as", "s1", "milestone", "claim", &id]);
        ids.push(id);
    }
    // CURRENT_STATE.md cannot be written: completing a milestone still succeeds, and
    // says what it could not do.
    std::fs::remove_file(hub.path("CURRENT_STATE.md")).unwrap();
    std::fs::create_dir(hub.path("CURRENT_STATE.md")).unwrap();
    let warning = "CURRENT_STATE.md was not updated";

    let text = hub.run(&[
        "--as",
        "s1",
        "milestone",
        "update",
        &ids[0],
        "1",
        "completed",
    ]);
    assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
    assert!(
        stderr(&text).contains(&format!("sessions: warning: {warning}")),
        "{}",
        stderr(&text)
    );
    assert!(!stdout(&text).contains(warning), "{}", stdout(&text));

    let json = hub.run(&[
        "--json",
        "--as",
        "s1",
        "milestone",
        "update",
        &ids[1],
        "1",
        "completed",
    ]);
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
    let warnings = doc["warnings"].as_array().expect("a warnings list");
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().starts_with(warning)),
        "{doc:#}"
    );
    assert!(!stderr(&json).contains(warning), "{}", stderr(&json));
    assert_matches(
        &schema_of(&hub, &["milestone", "update"]),
        &doc,
        "milestone update",
    );
}
