//! Issue 11: `sessions hook <provider> <event>` fed each provider's documented event
//! JSON, identity binding, reservations enforced at the edit, mid-turn delivery exactly
//! once, fail-open; `sessions hooks install|uninstall|status` on real settings files.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::support::*;

fn repo(hub: &TestHub) -> PathBuf {
    hub.root.parent().unwrap().to_path_buf()
}

/// Run one hook as the agent CLI would: JSON on stdin, from the repository.
fn hook_cmd(mut cmd: Command, provider: &str, event: &str, payload: &Value) -> (i32, String) {
    let mut child = cmd
        .args(["hook", provider, event])
        .env("SESSIONS_HOOK_DELIVERY_EVERY", "0s")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(payload.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        stdout(&out).trim().to_string(),
    )
}

fn hook(hub: &TestHub, provider: &str, event: &str, payload: &Value) -> Value {
    let mut cmd = hub.command("sessions");
    cmd.current_dir(repo(hub));
    let (code, out) = hook_cmd(cmd, provider, event, payload);
    assert_eq!(code, 0, "{provider} {event}: exit {code}");
    if out.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{provider} {event}: {e}: {out}"))
    }
}

/// The documented common fields of a Claude Code / Codex / Gemini CLI event.
fn event(hub: &TestHub, session: &str, name: &str, extra: Value) -> Value {
    let mut v = json!({
        "session_id": session,
        "transcript_path": "/tmp/transcript.jsonl",
        "cwd": repo(hub),
        "hook_event_name": name,
        "permission_mode": "default",
    });
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    v
}

/// A Cursor event: conversation id and workspace roots.
fn cursor_event(hub: &TestHub, conversation: &str, name: &str, extra: Value) -> Value {
    let mut v = json!({
        "conversation_id": conversation,
        "generation_id": "gen-1",
        "hook_event_name": name,
        "workspace_roots": [repo(hub)],
    });
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    v
}

/// `sessions whoami` from the repository, as an agent's shell would run it.
fn whoami(hub: &TestHub) -> String {
    let out = hub
        .command("sessions")
        .current_dir(repo(hub))
        .arg("whoami")
        .output()
        .unwrap();
    assert!(out.status.success(), "whoami: {}", stderr(&out));
    stdout(&out).trim().to_string()
}

fn context_of(answer: &Value) -> &str {
    answer["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap_or_else(|| panic!("no additionalContext in {answer}"))
}

#[test]
fn claude_and_codex_events_get_answers_in_their_shape() {
    let hub = TestHub::new();
    let target = repo(&hub).join("src/api/x.rs");
    hub.ok(&["--as", "owner", "heartbeat"]);
    hub.ok(&["--as", "owner", "reserve", &target.to_string_lossy()]);
    for provider in ["claude", "codex"] {
        let s = format!("{provider}-session-1");
        for source in ["startup", "resume", "clear", "compact"] {
            let a = hook(
                &hub,
                provider,
                "SessionStart",
                &event(&hub, &s, "SessionStart", json!({"source": source})),
            );
            assert_eq!(a["hookSpecificOutput"]["hookEventName"], "SessionStart");
            let brief = context_of(&a);
            assert!(
                brief.contains("you are") && brief.contains("owner"),
                "{brief}"
            );
            assert!(brief.chars().count() <= 1500);
        }
        let me = whoami(&hub); // the binding made in this folder
        assert!(!me.trim().is_empty());
        hub.ok(&[
            "--as",
            "owner",
            "msg",
            "send",
            "--to",
            me.trim(),
            "before the prompt",
        ]);
        let a = hook(
            &hub,
            provider,
            "UserPromptSubmit",
            &event(&hub, &s, "UserPromptSubmit", json!({"prompt": "go"})),
        );
        let _ = a; // delivered either here or at start: checked below across events

        // Edit tools: Claude's Write, Codex's apply_patch.
        let (tool, input) = if provider == "claude" {
            ("Write", json!({"file_path": target, "content": "x"}))
        } else {
            (
                "apply_patch",
                json!({"command": format!("*** Begin Patch\n*** Update File: {}\n@@\n-a\n+b\n*** End Patch", target.display())}),
            )
        };
        let deny = hook(
            &hub,
            provider,
            "PreToolUse",
            &event(
                &hub,
                &s,
                "PreToolUse",
                json!({"tool_name": tool, "tool_input": input, "tool_use_id": "t1"}),
            ),
        );
        let out = &deny["hookSpecificOutput"];
        assert_eq!(out["hookEventName"], "PreToolUse");
        assert_eq!(out["permissionDecision"], "deny", "{deny}");
        assert!(
            out["permissionDecisionReason"]
                .as_str()
                .unwrap()
                .contains("reserved by owner")
        );
        let (tool, input) = if provider == "claude" {
            (
                "Edit",
                json!({"file_path": repo(&hub).join("src/web/y.rs"), "old_string": "a", "new_string": "b"}),
            )
        } else {
            (
                "apply_patch",
                json!({"command": "*** Begin Patch\n*** Add File: src/web/y.rs\n+x\n*** End Patch"}),
            )
        };
        let allow = hook(
            &hub,
            provider,
            "PreToolUse",
            &event(
                &hub,
                &s,
                "PreToolUse",
                json!({"tool_name": tool, "tool_input": input, "tool_use_id": "t2"}),
            ),
        );
        assert_eq!(allow, Value::Null, "allowed: no output");
        let bash = hook(
            &hub,
            provider,
            "PreToolUse",
            &event(
                &hub,
                &s,
                "PreToolUse",
                json!({"tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_use_id": "t3"}),
            ),
        );
        assert_eq!(bash, Value::Null);

        hub.ok(&[
            "--as",
            "owner",
            "msg",
            "send",
            "--to",
            me.trim(),
            "after the tool",
        ]);
        let post = hook(
            &hub,
            provider,
            "PostToolUse",
            &event(
                &hub,
                &s,
                "PostToolUse",
                json!({"tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_response": {"stdout": ""}, "tool_use_id": "t3"}),
            ),
        );
        assert_eq!(post["hookSpecificOutput"]["hookEventName"], "PostToolUse");
        assert!(context_of(&post).contains("after the tool"), "{post}");
        let again = hook(
            &hub,
            provider,
            "PostToolUse",
            &event(
                &hub,
                &s,
                "PostToolUse",
                json!({"tool_name": "Bash", "tool_input": {}, "tool_use_id": "t4"}),
            ),
        );
        assert_eq!(again, Value::Null, "a message is injected once");

        assert_eq!(
            hook(
                &hub,
                provider,
                "Stop",
                &event(&hub, &s, "Stop", json!({"stop_hook_active": false}))
            ),
            Value::Null
        );
        let id = me.trim().to_string();
        let hb = hub.read_json(&format!("HEARTBEATS/{id}.json"));
        assert_eq!(hb["status"], "idle", "end of turn: idle heartbeat");
        // My reservation goes at session end.
        hub.ok(&["--as", &id, "reserve", "docs/**"]);
        assert_eq!(
            hook(
                &hub,
                provider,
                "SessionEnd",
                &event(&hub, &s, "SessionEnd", json!({"reason": "exit"}))
            ),
            Value::Null
        );
        let left = hub.json(&["reservations"]);
        assert!(!left.to_string().contains("docs/**"), "{left}");
        // Clean up the binding so the next provider gets its own `whoami` answer.
        std::fs::remove_dir_all(hub.path(".sessions/agents")).unwrap();
    }
}

#[test]
fn gemini_and_cursor_events_get_answers_in_their_shape() {
    let hub = TestHub::new();
    hub.ok(&["--as", "owner", "heartbeat"]);
    hub.ok(&[
        "--as",
        "owner",
        "reserve",
        &repo(&hub).join("src/api").to_string_lossy(),
        "--reason",
        "API",
    ]);
    let x = repo(&hub).join("src/api/x.rs");

    // Gemini CLI.
    let g = "gemini-1";
    let a = hook(
        &hub,
        "gemini",
        "SessionStart",
        &event(
            &hub,
            g,
            "SessionStart",
            json!({"source": "startup", "timestamp": "2026-01-01T00:00:00Z"}),
        ),
    );
    assert!(context_of(&a).contains("owner"));
    let deny = hook(
        &hub,
        "gemini",
        "BeforeTool",
        &event(
            &hub,
            g,
            "BeforeTool",
            json!({"tool_name": "write_file", "tool_input": {"file_path": x, "content": "x"}}),
        ),
    );
    assert_eq!(deny["decision"], "deny");
    let reason = deny["reason"].as_str().unwrap();
    assert!(
        reason.contains("reserved by owner")
            && reason.contains("`src/api`")
            && reason.contains("left"),
        "{reason}"
    );
    let allow = hook(
        &hub,
        "gemini",
        "BeforeTool",
        &event(
            &hub,
            g,
            "BeforeTool",
            json!({"tool_name": "replace", "tool_input": {"file_path": "src/web/y.rs", "old_string": "a", "new_string": "b"}}),
        ),
    );
    assert_eq!(allow, json!({"decision": "allow"}));
    let gemini_id = whoami(&hub);
    hub.ok(&[
        "--as",
        "owner",
        "msg",
        "send",
        "--to",
        &gemini_id,
        "for gemini",
    ]);
    let after = hook(
        &hub,
        "gemini",
        "AfterTool",
        &event(
            &hub,
            g,
            "AfterTool",
            json!({"tool_name": "read_file", "tool_input": {}, "tool_response": {"llmContent": "x"}}),
        ),
    );
    assert_eq!(after["hookSpecificOutput"]["hookEventName"], "AfterTool");
    assert!(context_of(&after).contains("for gemini"));
    assert_eq!(
        hook(
            &hub,
            "gemini",
            "AfterAgent",
            &event(
                &hub,
                g,
                "AfterAgent",
                json!({"prompt": "p", "prompt_response": "r", "stop_hook_active": false})
            )
        ),
        Value::Null
    );
    // SessionEnd may come several times: idempotent.
    for _ in 0..2 {
        assert_eq!(
            hook(
                &hub,
                "gemini",
                "SessionEnd",
                &event(&hub, g, "SessionEnd", json!({"reason": "exit"}))
            ),
            Value::Null
        );
    }

    // Cursor.
    let c = "conv-1";
    let a = hook(
        &hub,
        "cursor",
        "sessionStart",
        &cursor_event(&hub, c, "sessionStart", json!({})),
    );
    assert!(
        a["additional_context"].as_str().unwrap().contains("owner"),
        "{a}"
    );
    let deny = hook(
        &hub,
        "cursor",
        "preToolUse",
        &cursor_event(
            &hub,
            c,
            "preToolUse",
            json!({"tool_name": "Write", "tool_input": {"file_path": x}}),
        ),
    );
    assert_eq!(deny["permission"], "deny");
    assert!(
        deny["agent_message"]
            .as_str()
            .unwrap()
            .contains("reserved by owner")
    );
    let allow = hook(
        &hub,
        "cursor",
        "beforeShellExecution",
        &cursor_event(
            &hub,
            c,
            "beforeShellExecution",
            json!({"command": "ls", "cwd": repo(&hub)}),
        ),
    );
    // No `permission` at all: "allow" would approve what the person is otherwise asked.
    assert_eq!(allow, json!({}));
    assert_eq!(
        hook(
            &hub,
            "cursor",
            "stop",
            &cursor_event(
                &hub,
                c,
                "stop",
                json!({"status": "completed", "loop_count": 0})
            )
        ),
        Value::Null
    );
}

#[test]
fn garbage_missing_hub_and_broken_hub_fail_open() {
    let hub = TestHub::new();
    let run_raw = |cmd: Command, stdin: &[u8]| {
        let mut cmd = cmd;
        let mut child = cmd
            .args(["hook", "claude", "PostToolUse"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    };
    // Garbage on stdin.
    let mut cmd = hub.command("sessions");
    cmd.current_dir(repo(&hub));
    let out = run_raw(cmd, b"\x00not json{{");
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));
    assert!(hub.read(".sessions/hooks.log").contains("not JSON"));

    // No hub anywhere.
    let empty = tempfile::tempdir().unwrap();
    let payload = json!({"session_id": "s", "cwd": empty.path(), "hook_event_name": "PostToolUse"});
    let mut cmd = Command::new(bin("sessions"));
    cmd.current_dir(empty.path())
        .env_remove("SESSIONS_HUB")
        .env_remove("SESSIONS_ID");
    let out = run_raw(cmd, payload.to_string().as_bytes());
    assert_eq!(
        (out.status.code(), out.stdout.len()),
        (Some(0), 0),
        "{}",
        stderr(&out)
    );

    // A hub file that does not parse: the registry.
    hub.write("REGISTRY.json", "{ broken");
    let payload = json!({"session_id": "s2", "cwd": repo(&hub), "hook_event_name": "SessionStart", "source": "startup"});
    let mut cmd = hub.command("sessions");
    cmd.current_dir(repo(&hub));
    let (code, out) = hook_cmd(cmd, "claude", "SessionStart", &payload);
    assert_eq!((code, out.as_str()), (0, ""));
    assert!(hub.read(".sessions/hooks.log").contains("REGISTRY.json"));
    assert_eq!(hub.read("REGISTRY.json"), "{ broken", "left unchanged");
}

#[test]
fn identity_survives_clear_resume_and_compact_and_sessions_id_overrides() {
    let hub = TestHub::new();
    let start = |s: &str, source: &str| {
        hook(
            &hub,
            "claude",
            "SessionStart",
            &event(&hub, s, "SessionStart", json!({"source": source})),
        );
        whoami(&hub)
    };
    let first = start("aaaa1111-2222", "startup");
    assert_eq!(first, "claude-aaaa1111");
    let entry = &hub.read_json("REGISTRY.json")["sessions"][&first];
    assert_eq!(
        (
            entry["provider"].as_str(),
            entry["provider_session"].as_str()
        ),
        (Some("claude"), Some("aaaa1111-2222"))
    );
    // /clear gives a new provider session id; compact and resume keep going.
    assert_eq!(start("bbbb3333", "clear"), first);
    assert_eq!(start("bbbb3333", "compact"), first);
    assert_eq!(start("aaaa1111-2222", "resume"), first);
    // The environment's provider session wins over the folder.
    let out = hub
        .command("sessions")
        .current_dir(repo(&hub))
        .env("CLAUDE_CODE_SESSION_ID", "bbbb3333")
        .arg("whoami")
        .output()
        .unwrap();
    assert_eq!(stdout(&out).trim(), first);
    // A new session started fresh is someone else.
    let other = start("cccc5555", "startup");
    assert_ne!(other, first);
    // SESSIONS_ID overrides the binding.
    let mut cmd = hub.command("sessions");
    cmd.current_dir(repo(&hub)).env("SESSIONS_ID", "chosen-one");
    hook_cmd(
        cmd,
        "claude",
        "SessionStart",
        &event(&hub, "dddd", "SessionStart", json!({"source": "startup"})),
    );
    assert!(hub.read_json("REGISTRY.json")["sessions"]["chosen-one"].is_object());
    assert_eq!(
        hub.read_json("HEARTBEATS/chosen-one.json")["status"],
        "active"
    );
}

#[test]
fn two_agents_reservations_deny_then_allow_after_the_holder_ends() {
    let hub = TestHub::new();
    let (a, b) = ("agent-a-session", "agent-b-session");
    hook(
        &hub,
        "claude",
        "SessionStart",
        &event(&hub, a, "SessionStart", json!({"source": "startup"})),
    );
    hook(
        &hub,
        "gemini",
        "SessionStart",
        &event(&hub, b, "SessionStart", json!({"source": "startup"})),
    );
    let b_id = "gemini-agentbse";
    assert!(hub.read_json("REGISTRY.json")["sessions"][b_id].is_object());
    let out = hub
        .command("sessions")
        .current_dir(repo(&hub))
        .args([
            "--as",
            b_id,
            "reserve",
            "src/api/**",
            "--reason",
            "moving the API",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let edit = |path: &str| {
        hook(
            &hub,
            "claude",
            "PreToolUse",
            &event(
                &hub,
                a,
                "PreToolUse",
                json!({"tool_name": "Edit", "tool_input": {"file_path": repo(&hub).join(path), "old_string": "a", "new_string": "b"}}),
            ),
        )
    };
    let denied = edit("src/api/x.rs");
    let reason = denied["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains(b_id) && reason.contains("src/api/**") && reason.contains("moving the API"),
        "{reason}"
    );
    assert_eq!(edit("src/web/y.rs"), Value::Null);
    hook(
        &hub,
        "gemini",
        "SessionEnd",
        &event(&hub, b, "SessionEnd", json!({"reason": "exit"})),
    );
    assert_eq!(
        edit("src/api/x.rs"),
        Value::Null,
        "B's session ended: its reservation went"
    );

    // A reservation taken over from me (my heartbeat long gone, an hour later) is not mine.
    let a_id = "claude-agentase";
    hub.ok(&[
        "--as",
        a_id,
        "reserve",
        &repo(&hub).join("docs/x.md").to_string_lossy(),
        "--ttl",
        "1m",
    ]);
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let out = hub
        .command("sessions")
        .current_dir(repo(&hub))
        .env("SESSIONS_NOW", &later)
        .args(["--as", "c", "reserve", "docs/x.md", "--ttl", "3h"])
        .output()
        .unwrap();
    assert!(out.status.success(), "takeover: {}", stderr(&out));
    hub.ok(&["--as", "c", "heartbeat"]);
    let denied = edit("docs/x.md");
    let reason = denied["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("reserved by c"), "{denied}");
    assert!(
        hub.read("MESSAGES.md").contains("took over"),
        "the takeover is on the board"
    );
}

/// 100 messages from 4 concurrent senders while agent A's post-tool hook runs 1,000
/// times (two hook processes at a time): each message is injected exactly once, and
/// each has a receipt.
#[test]
fn each_message_is_injected_exactly_once_across_1000_hooks() {
    let hub = TestHub::new();
    let a = "exactly-once-a";
    hook(
        &hub,
        "claude",
        "SessionStart",
        &event(&hub, a, "SessionStart", json!({"source": "startup"})),
    );
    let me = "claude-exactlyo";
    let senders: Vec<_> = (0..4)
        .map(|s| {
            hub.sh(&format!(
                "for i in $(seq 1 25); do {} --as sender{s} msg send --to {me} \"note {s}-$i\" >/dev/null || exit 1; done",
                bin("sessions").display()
            ))
            .spawn()
            .unwrap()
        })
        .collect();
    let payload = event(
        &hub,
        a,
        "PostToolUse",
        json!({"tool_name": "Bash", "tool_input": {"command": "true"}, "tool_response": {}}),
    );
    let run_hooks = |n: usize| {
        let payload = payload.clone();
        let root = hub.root.clone();
        let dir = repo(&hub);
        std::thread::spawn(move || {
            let mut outs = Vec::new();
            for _ in 0..n {
                let mut cmd = Command::new(bin("sessions"));
                cmd.current_dir(&dir)
                    .env("SESSIONS_HUB", &root)
                    .env_remove("SESSIONS_ID");
                let (code, out) = hook_cmd(cmd, "claude", "PostToolUse", &payload);
                assert_eq!(code, 0);
                if !out.is_empty() {
                    outs.push(out);
                }
            }
            outs
        })
    };
    let loops = [run_hooks(500), run_hooks(500)];
    for mut s in senders {
        assert!(s.wait().unwrap().success());
    }
    let mut outputs: Vec<String> = loops.into_iter().flat_map(|h| h.join().unwrap()).collect();
    // Whatever arrived after the last hook ran is delivered by the next one.
    let mut cmd = hub.command("sessions");
    cmd.current_dir(repo(&hub));
    let (_, last) = hook_cmd(cmd, "claude", "PostToolUse", &payload);
    outputs.push(last);
    let mut seen: HashMap<String, usize> = HashMap::new();
    for out in outputs.iter().filter(|o| !o.is_empty()) {
        let v: Value = serde_json::from_str(out).unwrap();
        for line in context_of(&v).lines() {
            if let Some(rest) = line.split("): note ").nth(1) {
                *seen.entry(rest.trim().to_string()).or_default() += 1;
            }
        }
    }
    assert_eq!(seen.len(), 100, "every message delivered: {seen:?}");
    assert!(seen.values().all(|&n| n == 1), "exactly once: {seen:?}");
    // Receipts: one ack by A per message.
    let acks = std::fs::read_dir(hub.path("ACTIVE/ACKS")).unwrap().count();
    assert_eq!(acks, 100);
}

fn settings_case(provider: &str) -> (&'static str, String) {
    match provider {
        "claude" => (".claude/settings.json", "{\n  \"model\": \"opus\",\n  \"hooks\": {\n    \"PreToolUse\": [\n      {\n        \"matcher\": \"Bash\",\n        \"hooks\": [\n          {\n            \"type\": \"command\",\n            \"command\": \"./check.sh\"\n          }\n        ]\n      }\n    ]\n  },\n  \"permissions\": {\"allow\": [\"Bash(ls)\"]}\n}\n".into()),
        "codex" => (".codex/hooks.json", "{\"hooks\":{\"Stop\":[{\"hooks\":[{\"type\":\"command\",\"command\":\"notify\"}]}]}}".into()),
        "gemini" => (".gemini/settings.json", "{\n  \"theme\": \"dark\",\n  \"hooks\": {\n    \"BeforeTool\": [{\"matcher\": \"run_shell_command\", \"hooks\": [{\"type\": \"command\", \"command\": \"guard\", \"timeout\": 5000}]}]\n  }\n}\n".into()),
        _ => (".cursor/hooks.json", "{\n  \"version\": 1,\n  \"hooks\": {\n    \"afterFileEdit\": [{\"command\": \"fmt.sh\"}]\n  }\n}\n".into()),
    }
}

fn in_project(project: &Path, args: &[&str]) -> std::process::Output {
    Command::new(bin("sessions"))
        .current_dir(project)
        .env("HOME", project.join("home"))
        .env_remove("SESSIONS_HUB")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn hooks_install_merges_is_idempotent_and_uninstall_gives_back_the_bytes() {
    for provider in ["claude", "codex", "gemini", "cursor"] {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path();
        std::fs::create_dir(project.join(".git")).unwrap();
        let (rel, original) = settings_case(provider);
        let file = project.join(rel);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, &original).unwrap();

        let out = in_project(project, &["hooks", "install", provider]);
        assert!(out.status.success(), "{provider}: {}", stderr(&out));
        if provider == "codex" {
            assert!(stdout(&out).contains("trust"), "{}", stdout(&out));
        }
        let once = std::fs::read_to_string(&file).unwrap();
        let doc: Value = serde_json::from_str(&once).unwrap();
        let old: Value = serde_json::from_str(&original).unwrap();
        // Every other setting and hook is kept, in its place.
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&doc), keys(&old), "{provider}: key order");
        for (k, v) in old["hooks"].as_object().unwrap() {
            assert_eq!(
                &doc["hooks"][k].as_array().unwrap()[0],
                &v[0],
                "{provider}: {k} kept first"
            );
        }
        assert!(once.contains(&format!("hook {provider} ")), "{once}");
        if provider == "gemini" {
            assert!(once.contains("10000"), "milliseconds: {once}");
        }
        let status = serde_json::from_slice::<Value>(
            &in_project(project, &["--json", "hooks", "status", provider]).stdout,
        )
        .unwrap();
        assert!(
            status["providers"][0]["missing"]
                .as_array()
                .unwrap()
                .is_empty(),
            "{status}"
        );

        assert!(
            in_project(project, &["hooks", "install", provider])
                .status
                .success()
        );
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            once,
            "{provider}: install twice = once"
        );

        let out = in_project(project, &["hooks", "uninstall", provider]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            original,
            "{provider}: original bytes"
        );
    }
}

#[test]
fn hooks_install_into_nothing_and_back_and_refuses_a_broken_file() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path();
    std::fs::create_dir(project.join(".git")).unwrap();
    // Dry run writes nothing.
    let out = in_project(project, &["hooks", "install", "claude", "--dry-run"]);
    assert!(stdout(&out).contains("SessionStart"));
    assert!(!project.join(".claude/settings.json").exists());
    // Install creates the file; uninstall removes it again.
    assert!(
        in_project(project, &["hooks", "install", "claude"])
            .status
            .success()
    );
    assert!(project.join(".claude/settings.json").exists());
    assert!(
        in_project(project, &["hooks", "uninstall", "claude"])
            .status
            .success()
    );
    assert!(!project.join(".claude/settings.json").exists());
    // --user goes to $HOME.
    assert!(
        in_project(project, &["hooks", "install", "gemini", "--user"])
            .status
            .success()
    );
    assert!(project.join("home/.gemini/settings.json").exists());
    // A file that does not parse: refused with file:line:col, unchanged.
    let broken = "{\n  \"hooks\": {\n    oops\n}\n";
    std::fs::create_dir_all(project.join(".cursor")).unwrap();
    std::fs::write(project.join(".cursor/hooks.json"), broken).unwrap();
    let out = in_project(project, &["hooks", "install", "cursor"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("hooks.json:3:"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(project.join(".cursor/hooks.json")).unwrap(),
        broken
    );
}

/// `hooks install codex --toml`: our handlers go into `[hooks]` of .codex/config.toml
/// (which Codex reads like hooks.json), every other byte of the file is kept, installing
/// twice is once, uninstall gives back the original bytes, and a file that does not
/// parse is refused with file:line:col and left alone.
#[test]
fn codex_hooks_in_config_toml_keep_every_other_byte() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path();
    std::fs::create_dir(project.join(".git")).unwrap();
    let file = project.join(".codex/config.toml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    // Comments, odd spacing, an inline table and a hook of the person's own.
    let original = "# my codex settings\nmodel   = \"gpt-5.5\"  # the default\n\n[model_providers.local]\nname = \"local\"\nbase_url = \"http://127.0.0.1:9/v1\"   \nheaders = { X-Team = \"a\" }\n\n[[hooks.Stop]]\n# notify me\n[[hooks.Stop.hooks]]\ntype = \"command\"\ncommand = \"notify-send done\"\n\n[tui]\nnotifications = true\n";
    std::fs::write(&file, original).unwrap();

    let out = in_project(project, &["hooks", "install", "codex", "--toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("trust"), "{}", stdout(&out));
    let once = std::fs::read_to_string(&file).unwrap();
    // The original lines are all there, in their order, untouched.
    let mut rest = once.as_str();
    for line in original.lines() {
        let at = rest
            .find(&format!("{line}\n"))
            .unwrap_or_else(|| panic!("{line:?} lost or moved:\n{once}"));
        rest = &rest[at + line.len() + 1..];
    }
    let doc: toml_edit::DocumentMut = once.parse().unwrap();
    let stop = doc["hooks"]["Stop"].as_array_of_tables().unwrap();
    assert_eq!(stop.len(), 2, "the person's Stop hook first, then ours");
    assert_eq!(
        stop.get(0).unwrap()["hooks"]
            .as_array_of_tables()
            .unwrap()
            .get(0)
            .unwrap()["command"]
            .as_str(),
        Some("notify-send done")
    );
    for event in [
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "SessionEnd",
    ] {
        let groups = doc["hooks"][event].as_array_of_tables().unwrap();
        let command = groups.get(0).unwrap()["hooks"]
            .as_array_of_tables()
            .unwrap()
            .get(0)
            .unwrap()["command"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            command.ends_with(&format!("hook codex {event}")),
            "{command}"
        );
    }
    let status: Value = serde_json::from_slice(
        &in_project(project, &["--json", "hooks", "status", "codex"]).stdout,
    )
    .unwrap();
    assert!(
        status["providers"][0]["missing"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{status}"
    );
    assert!(
        status["providers"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("config.toml")
    );

    assert!(
        in_project(project, &["hooks", "install", "codex", "--toml"])
            .status
            .success()
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        once,
        "twice = once"
    );

    let out = in_project(project, &["hooks", "uninstall", "codex", "--toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        original,
        "original bytes"
    );

    // No file before: install creates it, uninstall removes it.
    std::fs::remove_file(&file).unwrap();
    assert!(
        in_project(project, &["hooks", "install", "codex", "--toml"])
            .status
            .success()
    );
    assert!(file.exists());
    assert!(
        in_project(project, &["hooks", "uninstall", "codex", "--toml"])
            .status
            .success()
    );
    assert!(!file.exists());

    // --toml is Codex's alone.
    let out = in_project(project, &["hooks", "install", "claude", "--toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // A config.toml that does not parse: refused with file:line:col, unchanged.
    let broken = "model = \"gpt-5.5\"\n[hooks\nStop = 1\n";
    std::fs::write(&file, broken).unwrap();
    let out = in_project(project, &["hooks", "install", "codex", "--toml"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("config.toml:2:"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), broken);
}

/// Cursor's hook contract as its documentation and its shipped CLI describe it
/// (cursor.com/docs/hooks): payloads carry `conversation_id`/`session_id`,
/// `workspace_roots`, `cursor_version`; before-hooks answer `permission` with
/// `user_message`/`agent_message`; sessionStart and postToolUse take
/// `additional_context`; beforeSubmitPrompt documents no context, so a message waiting
/// there is left for the next postToolUse instead of being marked delivered unseen.
/// Cursor also runs Claude Code's hooks from .claude/settings.json: those calls (a
/// `cursor_version` in a Claude payload) are left to the Cursor hooks.
#[test]
fn cursor_contract_as_documented() {
    let hub = TestHub::new();
    hub.ok(&["--as", "owner", "heartbeat"]);
    let out = hub
        .command("sessions")
        .current_dir(repo(&hub))
        .args(["--as", "owner", "reserve", "src/api/**"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let c = "5b0d6c1e-8a4f-4f1e-9d8e-2b7f1c3a9e10";
    let event = |name: &str, extra: Value| {
        let mut v = cursor_event(&hub, c, name, extra);
        let o = v.as_object_mut().unwrap();
        o.insert("session_id".into(), json!(c));
        o.insert("cursor_version".into(), json!("2026.09.18-9a7762b"));
        o.insert("model".into(), json!("composer-2.5"));
        o.insert("transcript_path".into(), Value::Null);
        v
    };
    let start = hook(
        &hub,
        "cursor",
        "sessionStart",
        &event("sessionStart", json!({"composer_mode": "agent"})),
    );
    assert_eq!(
        start.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["additional_context"]
    );
    let me = start["additional_context"]
        .as_str()
        .unwrap()
        .split("you are ")
        .nth(1)
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .to_string();

    hub.ok(&["--as", "owner", "msg", "send", "--to", &me, "cursor-note-1"]);
    let prompt = hook(
        &hub,
        "cursor",
        "beforeSubmitPrompt",
        &event(
            "beforeSubmitPrompt",
            json!({"prompt": "go", "attachments": []}),
        ),
    );
    assert_eq!(prompt, Value::Null, "no context at prompt submit");
    let after = hook(
        &hub,
        "cursor",
        "postToolUse",
        &event(
            "postToolUse",
            json!({"tool_name": "Shell", "tool_input": {"command": "ls", "cwd": repo(&hub)}, "tool_output": "{\"output\":\"\",\"exitCode\":0}", "tool_use_id": "call_1"}),
        ),
    );
    assert!(
        after["additional_context"]
            .as_str()
            .unwrap()
            .contains("cursor-note-1"),
        "the message waited for postToolUse: {after}"
    );

    // The agent's edit tools on a reserved path are denied, naming the holder.
    for tool in ["Write", "StrReplace", "Delete", "Edit"] {
        let denied = hook(
            &hub,
            "cursor",
            "preToolUse",
            &event(
                "preToolUse",
                json!({"tool_name": tool, "tool_input": {"file_path": repo(&hub).join("src/api/x.rs")}, "tool_use_id": "call_2"}),
            ),
        );
        assert_eq!(denied["permission"], "deny", "{tool}: {denied}");
        assert!(
            denied["user_message"]
                .as_str()
                .unwrap()
                .contains("reserved by owner")
        );
    }
    let read = hook(
        &hub,
        "cursor",
        "preToolUse",
        &event(
            "preToolUse",
            json!({"tool_name": "Read", "tool_input": {"file_path": repo(&hub).join("src/api/x.rs")}}),
        ),
    );
    assert_eq!(read, json!({}), "reading a reserved file is fine");

    // Cursor running Claude Code's hooks: left alone (no answer, no second identity).
    let bindings = || {
        std::fs::read_dir(hub.path(".sessions/agents"))
            .unwrap()
            .count()
    };
    let before = bindings();
    let mut from_cursor = event("sessionStart", json!({}));
    from_cursor["hook_event_name"] = json!("SessionStart");
    assert_eq!(
        hook(&hub, "claude", "SessionStart", &from_cursor),
        Value::Null
    );
    assert_eq!(bindings(), before);
}
