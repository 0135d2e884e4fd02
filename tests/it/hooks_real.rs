//! Issue 11, "Real clients, offline": the real Claude Code, Codex and Gemini CLIs run
//! our hooks (installed with `sessions hooks install <provider> --project`) for one turn
//! against the fake model server, each with its own fake HOME and a deadline.
//!
//! The scene: a project with a hub, where another session (`owner`) is live and has
//! reserved `src/api/**`. The model answers the prompt with a tool call writing
//! `src/api/x.rs`, then one writing `src/web/y.rs`, then text. While it "thinks" about
//! the first request, `owner` sends the agent a message. The run must show:
//! - the session-start brief (naming the agent's hub id and `owner`'s reservation) in
//!   the model's first request;
//! - the reserved write denied: the file is not written and the next request carries
//!   the reason naming `owner`;
//! - the other write allowed: the file is written;
//! - the message in the request after the allowed tool, exactly once, and in no
//!   request before it (a denied tool runs no post-tool hook in any of the three, so the
//!   message comes with the allowed one).
//!
//! Cursor has no CLI that runs offline against a fake model (its agent needs Cursor's
//! backend), so its contract is checked with documented payloads in `hooks.rs` only.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::agent_clis::{base_env, cli, run_with_timeout};
use crate::fake_model::{FakeModel, Reply};
use crate::support::*;

const PROMPT: &str = "Write the two files";
const RESERVED: &str = "src/api/x.rs";
const FREE: &str = "src/web/y.rs";
const NOTE: &str = "owner-note-mind-the-schema";
const LIMIT: Duration = Duration::from_secs(120);

struct Scene {
    hub: TestHub,
    home: tempfile::TempDir,
    project: PathBuf,
    model: FakeModel,
    /// The hub id the brief in the first request named (the agent's binding).
    agent: Arc<Mutex<Option<String>>>,
}

impl Scene {
    /// The hub, `owner`'s reservation, our hooks installed for `provider` and the fake
    /// model scripted with `write(path, text)` calls (absolute paths).
    fn new(provider: &str, install: &[&str], write: impl Fn(&Path, &str) -> Reply) -> Scene {
        let hub = TestHub::new();
        let project = hub.root.parent().unwrap().to_path_buf();
        let home = tempfile::tempdir().unwrap();
        let git = Command::new("git")
            .args(["init", "-q"])
            .current_dir(&project)
            .status()
            .unwrap();
        assert!(git.success());
        hub.ok(&["--as", "owner", "heartbeat"]);
        let out = hub
            .command("sessions")
            .current_dir(&project)
            .args([
                "--as",
                "owner",
                "reserve",
                "src/api/**",
                "--reason",
                "moving the API",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let out = hub
            .command("sessions")
            .current_dir(&project)
            .env("HOME", home.path())
            .env_remove("SESSIONS_HUB")
            .args(["hooks", "install", provider, "--project"])
            .args(install)
            .output()
            .unwrap();
        assert!(out.status.success(), "install: {}", stderr(&out));

        let agent = Arc::new(Mutex::new(None));
        let seen = agent.clone();
        let root = hub.root.clone();
        let on_turn = Arc::new(move |turn: usize, body: &Value| {
            if turn != 0 {
                return;
            }
            let text = body.to_string();
            let Some(id) = text
                .split("SESSIONS hub: you are ")
                .nth(1)
                .and_then(|rest| rest.split(". ").next())
            else {
                return;
            };
            *seen.lock().unwrap() = Some(id.to_string());
            // The message arrives before the tool the model is about to call runs.
            let out = Command::new(bin("sessions"))
                .env("SESSIONS_HUB", &root)
                .env_remove("SESSIONS_ID")
                .args(["--as", "owner", "msg", "send", "--to", id, NOTE])
                .output()
                .unwrap();
            assert!(out.status.success(), "send: {}", stderr(&out));
        });
        let script = vec![
            write(&project.join(RESERVED), "this must not be written\n"),
            write(&project.join(FREE), "written by the agent\n"),
            Reply::Text("Both done.".into()),
        ];
        let model = FakeModel::start_with(script, on_turn);
        Scene {
            hub,
            home,
            project,
            model,
            agent,
        }
    }

    /// The CLI's command in a clean environment (fake HOME, the project as cwd). Mid-turn
    /// delivery is not throttled, so the message comes after the very next tool.
    fn command(&self, exe: &Path) -> Command {
        let mut cmd = Command::new(exe);
        base_env(&mut cmd, self.home.path(), &self.project);
        cmd.env("SESSIONS_HOOK_DELIVERY_EVERY", "0s");
        cmd
    }

    /// The conversation requests (those carrying the prompt and the tools; not side
    /// calls such as Gemini's router), as JSON text.
    fn turns(&self) -> Vec<String> {
        self.model
            .requests()
            .iter()
            .filter(|r| {
                r.body
                    .get("tools")
                    .and_then(Value::as_array)
                    .is_some_and(|t| !t.is_empty())
            })
            .map(|r| r.body.to_string())
            .filter(|b| b.contains(PROMPT))
            .collect()
    }

    fn check(&self, name: &str, ok: bool, log: &str) {
        let turns = self.turns();
        if let Some(dump) = std::env::var_os("HOOKS_REAL_DUMP") {
            std::fs::write(dump, turns.join("\n")).unwrap();
        }
        let paths: Vec<String> = self
            .model
            .requests()
            .iter()
            .map(|r| r.path.clone())
            .collect();
        let hooks_log =
            std::fs::read_to_string(self.hub.root.join(".sessions/hooks.log")).unwrap_or_default();
        // The ends of the requests: where the hooks' context and tool results land.
        let tails: Vec<String> = turns
            .iter()
            .map(|t| {
                let chars: Vec<char> = t.chars().collect();
                chars[chars.len().saturating_sub(3000)..].iter().collect()
            })
            .collect();
        let context = format!(
            "{name} output:\n{log}\nrequests: {paths:?}\nhooks.log:\n{hooks_log}\nturns (ends):\n{}",
            tails.join("\n---\n")
        );
        assert!(ok, "{name} failed\n{context}");
        assert!(turns.len() >= 3, "three model turns expected\n{context}");

        // The brief, with the agent's own hub id and owner's reservation, came first.
        let agent = self.agent.lock().unwrap().clone();
        let agent = agent.unwrap_or_else(|| panic!("no brief in the first request\n{context}"));
        assert!(
            turns[0].contains("Reserved by others")
                && turns[0].contains("owner holds `src/api/**`"),
            "brief\n{context}"
        );
        let registry = self.hub.read_json("REGISTRY.json");
        assert!(
            registry["sessions"][&agent].is_object(),
            "{agent} registered: {registry:#}"
        );

        // The reserved write was denied, with the holder named to the model.
        assert!(
            !self.project.join(RESERVED).exists(),
            "the reserved file was written\n{context}"
        );
        assert!(
            !turns[0].contains("reserved by owner"),
            "the denial is not in the first request\n{context}"
        );
        assert!(
            turns[1].contains("reserved by owner") && turns[1].contains("moving the API"),
            "the denial's reason reaches the model\n{context}"
        );

        // The write elsewhere ran.
        assert_eq!(
            std::fs::read_to_string(self.project.join(FREE))
                .ok()
                .as_deref(),
            Some("written by the agent\n"),
            "{context}"
        );

        // The message: after the allowed tool, exactly once, not before.
        for t in &turns[..2] {
            assert!(!t.contains(NOTE), "message before its tool ran\n{context}");
        }
        let last = turns.last().unwrap();
        assert_eq!(last.matches(NOTE).count(), 1, "message once\n{context}");
        let inbox = self.hub.json(&["--as", &agent, "inbox", "--unread"]);
        assert_eq!(
            inbox["messages"].as_array().map(Vec::len),
            Some(0),
            "delivered messages are read: {inbox:#}"
        );
    }
}

/// Claude Code: `.claude/settings.json` in the project; PreToolUse denial becomes an
/// error tool_result with the reason; PostToolUse additionalContext reaches the next
/// request.
#[test]
fn real_claude_code_runs_the_hooks() {
    let Some(claude) = cli("claude") else { return };
    let scene = Scene::new("claude", &[], |path, text| Reply::Tool {
        name: "Write".into(),
        input: json!({"file_path": path, "content": text}),
    });
    let mut cmd = scene.command(&claude);
    cmd.args(["-p", PROMPT, "--permission-mode", "acceptEdits"])
        .env("ANTHROPIC_BASE_URL", scene.model.url())
        .env("ANTHROPIC_API_KEY", "sk-ant-fake")
        .env("CLAUDE_CODE_MAX_RETRIES", "0")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("DISABLE_TELEMETRY", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
    let (ok, log) = run_with_timeout(cmd, LIMIT);
    scene.check("claude", ok, &log);
}

/// Gemini CLI: hooks in the project's `.gemini/settings.json` (timeouts in
/// milliseconds); BeforeTool `decision: deny` blocks write_file and the reason is the
/// tool's error; AfterTool additionalContext is appended to the tool's result.
#[test]
fn real_gemini_cli_runs_the_hooks() {
    let Some(gemini) = cli("gemini") else { return };
    let scene = Scene::new("gemini", &[], |path, text| Reply::Tool {
        name: "write_file".into(),
        input: json!({"file_path": path, "content": text}),
    });
    let settings = scene.home.path().join(".gemini/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(
        &settings,
        r#"{"security":{"auth":{"selectedType":"gemini-api-key"}},"general":{"disableAutoUpdate":true},"privacy":{"usageStatisticsEnabled":false}}"#,
    )
    .unwrap();
    let mut cmd = scene.command(&gemini);
    cmd.args(["-p", PROMPT, "--approval-mode", "yolo"])
        .env("GEMINI_API_KEY", "fake")
        .env("GEMINI_CLI_TRUST_WORKSPACE", "true")
        .env("GOOGLE_GEMINI_BASE_URL", scene.model.url());
    let (ok, log) = run_with_timeout(cmd, LIMIT);
    scene.check("gemini", ok, &log);
}

/// Codex: hooks in the project's `.codex/hooks.json`. Codex loads a project's `.codex/`
/// layer only when the project is trusted (`[projects."<path>"] trust_level = "trusted"`
/// in the user's config.toml) and runs a hook only once its hash is approved;
/// `--dangerously-bypass-hook-trust` stands in for that approval. The model is
/// `gpt-5.5` so that Codex offers its real `apply_patch` tool (a freeform
/// `custom_tool_call`; an unknown model only gets `exec_command`). Seen with 0.169:
/// apply_patch sent through `exec_command` runs PreToolUse (as `Bash`, so the denial
/// works) but no PostToolUse, so mid-turn delivery needs the apply_patch tool itself
/// or any other tool call.
#[test]
fn real_codex_runs_the_hooks() {
    codex_turn(&[]);
}

/// The same with our hooks in `[hooks]` of the project's `.codex/config.toml`
/// (`hooks install codex --toml`), which Codex reads like hooks.json.
#[test]
fn real_codex_runs_the_hooks_from_config_toml() {
    codex_turn(&["--toml"]);
}

fn codex_turn(install: &[&str]) {
    let Some(codex) = cli("codex") else { return };
    let scene = Scene::new("codex", install, |path, text| Reply::Freeform {
        name: "apply_patch".into(),
        input: format!(
            "*** Begin Patch\n*** Add File: {}\n+{}*** End Patch\n",
            path.display(),
            text
        ),
    });
    let project = std::fs::canonicalize(&scene.project).unwrap();
    let config = format!(
        "model = \"gpt-5.5\"\nmodel_provider = \"fake\"\n\n[model_providers.fake]\nname = \"fake\"\nbase_url = \"{}/v1\"\nenv_key = \"FAKE_API_KEY\"\nwire_api = \"responses\"\nrequest_max_retries = 0\nstream_max_retries = 0\n\n[projects.\"{}\"]\ntrust_level = \"trusted\"\n",
        scene.model.url(),
        project.display()
    );
    let codex_home = scene.home.path().join(".codex");
    std::fs::create_dir_all(&codex_home).unwrap();
    std::fs::write(codex_home.join("config.toml"), config).unwrap();
    let mut cmd = scene.command(&codex);
    cmd.args([
        "exec",
        "--dangerously-bypass-hook-trust",
        "--dangerously-bypass-approvals-and-sandbox",
        PROMPT,
    ])
    .env("FAKE_API_KEY", "fake")
    .env("CODEX_HOME", &codex_home);
    let (ok, log) = run_with_timeout(cmd, LIMIT);
    scene.check("codex", ok, &log);
}
