//! The real Claude Code, Codex and Gemini CLIs (pinned in `.ci/run`, installed into
//! `target/agent-clis`) each run one turn offline against the fake model server, with a
//! fake HOME; then `chats list` must find the session they wrote with the right cwd,
//! title and times. A format change in a new CLI version fails here, not silently.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::agent_clis::{self, cli, run_with_timeout};
use crate::chats::Machine;
use crate::fake_model::{FakeModel, Reply};

const PROMPT: &str = "Say hello to the fake model";

fn base_env(cmd: &mut Command, m: &Machine) {
    agent_clis::base_env(cmd, &m.home, &m.project);
}

/// The one session listed for `provider`, checked against the run's window.
fn check_listed(
    m: &Machine,
    provider: &str,
    started: chrono::DateTime<chrono::Utc>,
    log: &str,
) -> Value {
    let list = m.json(&["chats", "list", "--provider", provider, "--limit", "0"]);
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(
        sessions.len(),
        1,
        "{provider}: {list:#}\nCLI output:\n{log}"
    );
    assert_eq!(list["warning_count"], 0, "{:#}", list["warnings"]);
    let s = &sessions[0];
    let cwd = std::fs::canonicalize(&m.project).unwrap();
    assert_eq!(
        std::fs::canonicalize(s["cwd"].as_str().unwrap()).unwrap(),
        cwd,
        "{s:#}"
    );
    let ended = chrono::Utc::now();
    for field in ["created", "updated"] {
        let t = chrono::DateTime::parse_from_rfc3339(
            s[field]
                .as_str()
                .unwrap_or_else(|| panic!("{provider}: no {field}: {s:#}")),
        )
        .unwrap();
        assert!(
            t >= started - chrono::Duration::seconds(2) && t <= ended,
            "{provider} {field} {t} outside the run ({started} .. {ended})"
        );
    }
    s.clone()
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

#[test]
fn real_claude_code_writes_a_session_the_reader_lists() {
    let Some(claude) = cli("claude") else { return };
    let m = Machine::new();
    let model = FakeModel::start(vec![Reply::Text("Hello from the fake model.".into())]);
    let mut cmd = Command::new(claude);
    base_env(&mut cmd, &m);
    cmd.args(["-p", PROMPT, "--permission-mode", "acceptEdits"])
        .env("ANTHROPIC_BASE_URL", model.url())
        .env("ANTHROPIC_API_KEY", "sk-ant-fake")
        .env("CLAUDE_CODE_MAX_RETRIES", "0")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("DISABLE_TELEMETRY", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
    let started = now();
    let (ok, log) = run_with_timeout(cmd, Duration::from_secs(90));
    assert!(
        ok && log.contains("Hello from the fake model."),
        "claude failed:\n{log}\nrequests: {:?}",
        model.requests().iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    let s = check_listed(&m, "claude", started, &log);
    assert_eq!(s["title"], PROMPT, "{s:#}");
    let shown = m.json(&["chats", "show", s["id"].as_str().unwrap()]);
    let turns = shown["turns"].as_array().unwrap();
    assert_eq!(turns.first().unwrap()["text"], PROMPT);
    assert_eq!(turns.last().unwrap()["text"], "Hello from the fake model.");
}

#[test]
fn real_codex_writes_a_session_the_reader_lists() {
    let Some(codex) = cli("codex") else { return };
    let m = Machine::new();
    let model = FakeModel::start(vec![Reply::Text("Hello from the fake model.".into())]);
    let config = format!(
        "model = \"gpt-fake\"\nmodel_provider = \"fake\"\n\n[model_providers.fake]\nname = \"fake\"\nbase_url = \"{}/v1\"\nenv_key = \"FAKE_API_KEY\"\nwire_api = \"responses\"\nrequest_max_retries = 0\nstream_max_retries = 0\n",
        model.url()
    );
    m.write(".codex/config.toml", &config);
    let mut cmd = Command::new(codex);
    base_env(&mut cmd, &m);
    cmd.args(["exec", "--skip-git-repo-check", PROMPT])
        .env("FAKE_API_KEY", "fake")
        .env("CODEX_HOME", m.home.join(".codex"));
    let started = now();
    let (ok, log) = run_with_timeout(cmd, Duration::from_secs(90));
    assert!(
        ok && log.contains("Hello from the fake model."),
        "codex failed:\n{log}\nrequests: {:?}",
        model.requests().iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    let s = check_listed(&m, "codex", started, &log);
    assert_eq!(s["title"], PROMPT, "{s:#}");
    assert_eq!(s["model"], "gpt-fake");
    let shown = m.json(&["chats", "show", s["id"].as_str().unwrap()]);
    assert_eq!(
        shown["turns"].as_array().unwrap().last().unwrap()["text"],
        "Hello from the fake model."
    );
}

#[test]
fn real_gemini_cli_writes_a_session_the_reader_lists() {
    let Some(gemini) = cli("gemini") else { return };
    let m = Machine::new();
    let model = FakeModel::start(vec![Reply::Text("Hello from the fake model.".into())]);
    m.write(".gemini/settings.json", r#"{"security":{"auth":{"selectedType":"gemini-api-key"}},"general":{"disableAutoUpdate":true},"privacy":{"usageStatisticsEnabled":false}}"#);
    let mut cmd = Command::new(gemini);
    base_env(&mut cmd, &m);
    cmd.args(["-p", PROMPT, "--approval-mode", "yolo"])
        .env("GEMINI_API_KEY", "fake")
        .env("GEMINI_CLI_TRUST_WORKSPACE", "true")
        .env("GOOGLE_GEMINI_BASE_URL", model.url());
    let started = now();
    let (ok, log) = run_with_timeout(cmd, Duration::from_secs(90));
    assert!(
        ok && log.contains("Hello from the fake model."),
        "gemini failed:\n{log}\nrequests: {:?}",
        model.requests().iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    let s = check_listed(&m, "gemini", started, &log);
    assert_eq!(s["title"], PROMPT, "{s:#}");
    let shown = m.json(&["chats", "show", s["id"].as_str().unwrap()]);
    assert_eq!(
        shown["turns"].as_array().unwrap().last().unwrap()["text"],
        "Hello from the fake model."
    );
}
