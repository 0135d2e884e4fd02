//! What each agent CLI sends its hooks and what it expects back (its hook contract).
//!
//! - Claude Code and Codex: `session_id`, `cwd`, `transcript_path`, `hook_event_name`,
//!   `source` (SessionStart), `tool_name`/`tool_input` (tool events). Context goes in
//!   `hookSpecificOutput.additionalContext`; a PreToolUse denial is
//!   `hookSpecificOutput.permissionDecision = "deny"` with `permissionDecisionReason`.
//! - Gemini CLI: the same input fields (`source` on SessionStart); events SessionStart,
//!   BeforeAgent, BeforeTool, AfterTool, AfterAgent, SessionEnd, PreCompress. A denial is
//!   a top-level `decision: "deny"` with `reason`; context is
//!   `hookSpecificOutput.additionalContext`. Timeouts in settings are milliseconds.
//! - Cursor (cursor.com/docs/hooks): `conversation_id` (and `session_id`, the same) and
//!   `workspace_roots` instead of a cwd; camelCase events; before-events answer
//!   `permission: deny` with `user_message`/`agent_message` (we never answer `allow`: it
//!   would approve what the person is otherwise asked, so an allowed tool gets `{}`);
//!   sessionStart and postToolUse take `additional_context`; beforeSubmitPrompt and
//!   stop document no context. Cursor also runs Claude Code's hooks (from
//!   .claude/settings.json), with `cursor_version` in the payload.

use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Claude,
    Codex,
    Gemini,
    Cursor,
}

pub const ALL: [Provider; 4] = [
    Provider::Claude,
    Provider::Codex,
    Provider::Gemini,
    Provider::Cursor,
];

impl Provider {
    pub fn parse(name: &str) -> Option<Provider> {
        match name.to_ascii_lowercase().as_str() {
            "claude" | "claude-code" => Some(Provider::Claude),
            "codex" => Some(Provider::Codex),
            "gemini" | "gemini-cli" => Some(Provider::Gemini),
            "cursor" => Some(Provider::Cursor),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Provider::Claude => "claude",
            Provider::Codex => "codex",
            Provider::Gemini => "gemini",
            Provider::Cursor => "cursor",
        }
    }

    /// The provider's own name for each of our events, as its settings spell them,
    /// with the tool matcher for the tool events (None: every tool).
    pub fn events(self) -> &'static [(&'static str, Event, Option<&'static str>)] {
        match self {
            Provider::Claude => &[
                ("SessionStart", Event::SessionStart, None),
                ("UserPromptSubmit", Event::PromptSubmit, None),
                (
                    "PreToolUse",
                    Event::PreTool,
                    Some("Edit|Write|MultiEdit|NotebookEdit"),
                ),
                ("PostToolUse", Event::PostTool, None),
                ("Stop", Event::Stop, None),
                ("SessionEnd", Event::SessionEnd, None),
            ],
            Provider::Codex => &[
                ("SessionStart", Event::SessionStart, None),
                ("UserPromptSubmit", Event::PromptSubmit, None),
                ("PreToolUse", Event::PreTool, None),
                ("PostToolUse", Event::PostTool, None),
                ("Stop", Event::Stop, None),
                ("SessionEnd", Event::SessionEnd, None),
            ],
            Provider::Gemini => &[
                ("SessionStart", Event::SessionStart, None),
                ("BeforeAgent", Event::PromptSubmit, None),
                (
                    "BeforeTool",
                    Event::PreTool,
                    Some("write_file|replace|edit"),
                ),
                ("AfterTool", Event::PostTool, None),
                ("AfterAgent", Event::Stop, None),
                ("SessionEnd", Event::SessionEnd, None),
            ],
            Provider::Cursor => &[
                ("sessionStart", Event::SessionStart, None),
                ("beforeSubmitPrompt", Event::PromptSubmit, None),
                ("preToolUse", Event::PreTool, None),
                ("postToolUse", Event::PostTool, None),
                ("stop", Event::Stop, None),
                ("sessionEnd", Event::SessionEnd, None),
            ],
        }
    }

    /// Our event for the provider's event name (any case); compaction counts as a start.
    pub fn event(self, name: &str) -> Event {
        let lower = name.to_ascii_lowercase();
        if let Some((_, e, _)) = self
            .events()
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
        {
            return *e;
        }
        match lower.as_str() {
            "precompact" | "precompress" | "postcompact" => Event::SessionStart,
            "beforeshellexecution" | "beforemcpexecution" | "beforereadfile" => Event::PreTool,
            "aftershellexecution" | "aftermcpexecution" | "afterfileedit" => Event::PostTool,
            _ => Event::Other,
        }
    }

    /// Whether a tool is one that writes files (checked against reservations).
    pub fn is_edit_tool(self, tool: &str) -> bool {
        let t = tool.to_ascii_lowercase();
        match self {
            Provider::Claude => {
                matches!(t.as_str(), "edit" | "write" | "multiedit" | "notebookedit")
            }
            // Codex edits through apply_patch (also inside a shell command): the patch
            // headers name the files, so every tool input is searched for them.
            Provider::Codex => true,
            Provider::Gemini => matches!(t.as_str(), "write_file" | "replace" | "edit"),
            // The agent's tools are Write, StrReplace, Edit, Delete (and older edit_file,
            // search_replace, delete_file); file events carry no tool name.
            Provider::Cursor => {
                matches!(
                    t.as_str(),
                    "write"
                        | "edit"
                        | "multiedit"
                        | "strreplace"
                        | "delete"
                        | "edit_file"
                        | "search_replace"
                        | "delete_file"
                ) || t.is_empty()
            }
        }
    }
}

impl Provider {
    /// Whether the provider shows the model context a hook returns for `event`.
    pub fn carries_context(self, event: Event) -> bool {
        match self {
            Provider::Cursor => matches!(event, Event::SessionStart | Event::PostTool),
            _ => true,
        }
    }
}

/// What a hook call is about, across providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    SessionStart,
    PromptSubmit,
    PreTool,
    PostTool,
    Stop,
    SessionEnd,
    Other,
}

/// The fields of a hook's stdin we use, whatever the provider calls them.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub session_id: Option<String>,
    pub cwd: Option<String>,
    pub source: Option<String>,
    pub tool_name: Option<String>,
    pub tool_input: Value,
    pub raw: Value,
}

impl Input {
    pub fn parse(raw: Value) -> Input {
        let text = |keys: &[&str]| {
            keys.iter()
                .find_map(|k| raw.get(*k).and_then(Value::as_str))
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let cwd = text(&["cwd"]).or_else(|| {
            raw.get("workspace_roots")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        Input {
            session_id: text(&["session_id", "conversation_id", "sessionId"]),
            cwd,
            source: text(&["source", "trigger", "reason"]),
            tool_name: text(&["tool_name", "tool"]),
            tool_input: raw
                .get("tool_input")
                .or_else(|| raw.get("input"))
                .cloned()
                .map(|v| match v {
                    // Cursor's MCP events send the input as a JSON string.
                    Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
                    other => other,
                })
                .unwrap_or(Value::Null),
            raw,
        }
    }

    /// The files a tool call would write: path fields of its input, and the file
    /// headers of an apply_patch patch anywhere in it.
    pub fn edited_paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        for key in [
            "file_path",
            "notebook_path",
            "path",
            "absolute_path",
            "target_file",
        ] {
            if let Some(p) = self.tool_input.get(key).and_then(Value::as_str) {
                out.push(p.to_string());
            }
        }
        // Cursor's file events carry the path at the top level.
        if let Some(p) = self.raw.get("file_path").and_then(Value::as_str) {
            out.push(p.to_string());
        }
        let mut strings = Vec::new();
        collect_strings(&self.tool_input, &mut strings);
        if let Some(cmd) = self.raw.get("command").and_then(Value::as_str) {
            strings.push(cmd);
        }
        for s in strings {
            for line in s.lines() {
                let line = line.trim();
                for marker in [
                    "*** Add File: ",
                    "*** Update File: ",
                    "*** Delete File: ",
                    "*** Move to: ",
                ] {
                    if let Some(p) = line.strip_prefix(marker) {
                        out.push(p.trim().to_string());
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

fn collect_strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// What the handler decided, before it is put in the provider's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to say.
    Nothing,
    /// Add this text to the agent's context.
    Context(String),
    /// Let the tool run.
    Allow,
    /// Stop the tool, telling the agent why.
    Deny(String),
}

/// The provider's answer on stdout (None: print nothing). `event_name` is the
/// provider's own spelling of the event being answered.
pub fn answer(
    provider: Provider,
    event_name: &str,
    event: Event,
    decision: &Decision,
) -> Option<Value> {
    match (provider, decision) {
        (_, Decision::Nothing) => None,
        (Provider::Claude | Provider::Codex, Decision::Context(text)) => Some(json!({
            "hookSpecificOutput": { "hookEventName": event_name, "additionalContext": text }
        })),
        (Provider::Claude | Provider::Codex, Decision::Allow) => None,
        (Provider::Claude | Provider::Codex, Decision::Deny(reason)) => Some(json!({
            "hookSpecificOutput": {
                "hookEventName": event_name,
                "permissionDecision": "deny",
                "permissionDecisionReason": reason
            }
        })),
        (Provider::Gemini, Decision::Context(text)) => Some(json!({
            "hookSpecificOutput": { "hookEventName": event_name, "additionalContext": text }
        })),
        (Provider::Gemini, Decision::Allow) => Some(json!({ "decision": "allow" })),
        (Provider::Gemini, Decision::Deny(reason)) => {
            Some(json!({ "decision": "deny", "reason": reason }))
        }
        (Provider::Cursor, Decision::Context(text)) => provider
            .carries_context(event)
            .then(|| json!({ "additional_context": text })),
        // An empty answer lets Cursor ask the person as it would without us.
        (Provider::Cursor, Decision::Allow) => Some(json!({})),
        (Provider::Cursor, Decision::Deny(reason)) => Some(json!({
            "permission": "deny",
            "user_message": reason,
            "agent_message": reason
        })),
    }
}
