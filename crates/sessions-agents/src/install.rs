//! `sessions hooks install|uninstall|status <provider>`: our handlers in the provider's
//! own settings file, merged with every other hook and setting, in the file's key order.
//!
//! - Claude Code `.claude/settings.json`, Codex `.codex/hooks.json`, Gemini CLI
//!   `.gemini/settings.json`: `hooks.<Event>` is a list of matcher groups
//!   `{matcher?, hooks: [{type: "command", command, timeout}]}` (Gemini's timeout in
//!   milliseconds, the others' in seconds).
//! - Cursor `.cursor/hooks.json`: `{version: 1, hooks: {<event>: [{command}]}}`.
//!
//! Our entries are recognised by their command (`… hook <provider> <Event>`), so
//! installing twice changes nothing and uninstalling removes exactly them. The bytes of
//! the file before the first install are kept beside it; when nothing else changed
//! since, uninstall gives them back exactly (and removes a file install created).

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value, json};

use sessions_core::store::storage;
use sessions_core::{Error, Result};

use crate::providers::Provider;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Project,
    User,
}

/// The provider's settings file for a scope.
pub fn settings_path(provider: Provider, scope: Scope, project: &Path, home: &Path) -> PathBuf {
    let base = match scope {
        Scope::Project => project,
        Scope::User => home,
    };
    match provider {
        Provider::Claude => base.join(".claude/settings.json"),
        Provider::Codex => base.join(".codex/hooks.json"),
        Provider::Gemini => base.join(".gemini/settings.json"),
        Provider::Cursor => base.join(".cursor/hooks.json"),
    }
}

/// Where the bytes from before the first install are kept.
fn backup_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.before-sessions-hooks"))
}

/// The backup of a file that did not exist before the install.
const NO_FILE: &[u8] = b"(no file)\n";

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The command line a provider runs for one event.
pub fn command_for(exe: &str, provider: Provider, event: &str) -> String {
    format!("{} hook {} {event}", shell_quote(exe), provider.name())
}

/// Whether a hook command is ours (for this provider), whatever path it runs us from.
fn is_ours(command: &str, provider: Provider) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    words.len() >= 4
        && words[words.len() - 3] == "hook"
        && words[words.len() - 2] == provider.name()
        && words[0]
            .trim_matches('\'')
            .rsplit('/')
            .next()
            .is_some_and(|n| n.starts_with("sessions"))
}

fn timeout_for(provider: Provider) -> Value {
    match provider {
        Provider::Gemini => json!(10_000),
        _ => json!(10),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub provider: Provider,
    pub path: PathBuf,
    /// Events whose entry was added (install) or removed (uninstall).
    pub changed: Vec<String>,
    /// Events that already had our entry (install) or had none (uninstall).
    pub unchanged: Vec<String>,
    pub dry_run: bool,
    /// The file's new contents (None: the file is removed).
    pub contents: Option<String>,
    /// What the person must still do (e.g. trust Codex hooks).
    pub notes: Vec<String>,
}

/// Read a settings file as a JSON object; `None` when it does not exist. A file that
/// does not parse is refused with file:line:col and left unchanged.
type Settings = (Vec<u8>, Map<String, Value>);

fn read(path: &Path) -> Result<Option<Settings>> {
    let Some(text) = storage::read_text(path)? else {
        return Ok(None);
    };
    let doc = if text.trim().is_empty() {
        Map::new()
    } else {
        storage::parse_json_object(path, &text)?
    };
    Ok(Some((text.into_bytes(), doc)))
}

fn hooks_of<'a>(
    doc: &'a mut Map<String, Value>,
    path: &Path,
) -> Result<&'a mut Map<String, Value>> {
    doc.entry("hooks").or_insert_with(|| json!({}));
    doc.get_mut("hooks")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| Error::Parse {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: "\"hooks\" is not an object; fix it by hand".into(),
        })
}

fn pretty(doc: &Map<String, Value>) -> String {
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_default();
    text.push('\n');
    text
}

fn write(path: &Path, contents: Option<&str>) -> Result<()> {
    match contents {
        Some(text) => {
            if let Some(dir) = path.parent() {
                storage::ensure_dir(dir)?;
            }
            storage::write_atomic(path, text.as_bytes())
        }
        None => storage::remove(path).map(|_| ()),
    }
}

/// Whether `list` (one event's entries) holds our handler.
fn has_ours(provider: Provider, list: &[Value]) -> bool {
    let command_ours = |h: &Value| {
        h.get("command")
            .and_then(Value::as_str)
            .is_some_and(|c| is_ours(c, provider))
    };
    list.iter().any(|entry| {
        command_ours(entry)
            || entry
                .get("hooks")
                .and_then(Value::as_array)
                .is_some_and(|hs| hs.iter().any(command_ours))
    })
}

/// Merge our handlers into the provider's settings file at `path`.
pub fn install(provider: Provider, path: &Path, exe: &str, dry_run: bool) -> Result<Change> {
    let existing = read(path)?;
    let existed = existing.is_some();
    let (original, mut doc) = existing.unwrap_or_default();
    if provider == Provider::Cursor && !doc.contains_key("version") {
        doc.insert("version".into(), json!(1));
    }
    let mut changed = Vec::new();
    let mut unchanged = Vec::new();
    {
        let hooks = hooks_of(&mut doc, path)?;
        for (event, _, matcher) in provider.events() {
            let entry = hooks.entry(event.to_string()).or_insert_with(|| json!([]));
            let Some(list) = entry.as_array_mut() else {
                return Err(Error::Parse {
                    path: path.to_path_buf(),
                    line: 1,
                    column: 1,
                    message: format!("\"hooks.{event}\" is not a list; fix it by hand"),
                });
            };
            if has_ours(provider, list) {
                unchanged.push(event.to_string());
                continue;
            }
            let command = command_for(exe, provider, event);
            let item = if provider == Provider::Cursor {
                json!({ "command": command })
            } else {
                let mut group = Map::new();
                if let Some(m) = matcher {
                    group.insert("matcher".into(), json!(m));
                }
                group.insert(
                    "hooks".into(),
                    json!([{ "type": "command", "command": command, "timeout": timeout_for(provider) }]),
                );
                Value::Object(group)
            };
            list.push(item);
            changed.push(event.to_string());
        }
    }
    let contents = if changed.is_empty() && existed {
        String::from_utf8_lossy(&original).into_owned()
    } else {
        pretty(&doc)
    };
    if !dry_run && !changed.is_empty() {
        let backup = backup_path(path);
        if !backup.exists() {
            if let Some(dir) = path.parent() {
                storage::ensure_dir(dir)?;
            }
            let bytes: &[u8] = if existed { &original } else { NO_FILE };
            storage::write_atomic(&backup, bytes)?;
        }
        write(path, Some(&contents))?;
    }
    let mut notes = Vec::new();
    if provider == Provider::Codex {
        notes.push(
            "Codex runs new hooks only once you trust them: start `codex` in this project and \
             approve the hooks it lists (or, for a one-off scripted run, pass \
             --dangerously-bypass-hook-trust). A project's .codex/ folder is read only when \
             the project itself is trusted (Codex asks on first start; or add \
             [projects.\"/path/to/project\"] trust_level = \"trusted\" to ~/.codex/config.toml)."
                .to_string(),
        );
    }
    if provider == Provider::Gemini {
        notes.push("Gemini CLI reads hooks at start-up: restart running sessions.".to_string());
    }
    Ok(Change {
        provider,
        path: path.to_path_buf(),
        changed,
        unchanged,
        dry_run,
        contents: Some(contents),
        notes,
    })
}

/// Remove exactly our handlers from the provider's settings file at `path`.
pub fn uninstall(provider: Provider, path: &Path, dry_run: bool) -> Result<Change> {
    let Some((original, mut doc)) = read(path)? else {
        return Ok(Change {
            provider,
            path: path.to_path_buf(),
            changed: Vec::new(),
            unchanged: Vec::new(),
            dry_run,
            contents: None,
            notes: Vec::new(),
        });
    };
    let mut changed = Vec::new();
    let mut unchanged = Vec::new();
    if let Some(hooks) = doc.get_mut("hooks").and_then(Value::as_object_mut) {
        let mut emptied = Vec::new();
        for (event, entry) in hooks.iter_mut() {
            let Some(list) = entry.as_array_mut() else {
                continue;
            };
            if !has_ours(provider, list) {
                unchanged.push(event.clone());
                continue;
            }
            let ours = |h: &Value| {
                h.get("command")
                    .and_then(Value::as_str)
                    .is_some_and(|c| is_ours(c, provider))
            };
            list.retain(|e| !ours(e));
            for group in list.iter_mut() {
                if let Some(hs) = group.get_mut("hooks").and_then(Value::as_array_mut) {
                    hs.retain(|h| !ours(h));
                }
            }
            list.retain(|g| {
                g.get("hooks")
                    .and_then(Value::as_array)
                    .is_none_or(|hs| !hs.is_empty())
            });
            if list.is_empty() {
                emptied.push(event.clone());
            }
            changed.push(event.clone());
        }
        for event in emptied {
            hooks.remove(&event);
        }
    }
    let backup = backup_path(path);
    let before = std::fs::read(&backup).ok();
    // When nothing else changed since the install, give back the very bytes from before.
    let contents = match &before {
        Some(bytes) if bytes == NO_FILE => {
            let mut skeleton = doc.clone();
            if skeleton
                .get("hooks")
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty)
            {
                skeleton.remove("hooks");
            }
            if provider == Provider::Cursor && skeleton.get("version") == Some(&json!(1)) {
                skeleton.remove("version");
            }
            if skeleton.is_empty() {
                None
            } else {
                Some(pretty(&doc))
            }
        }
        Some(bytes) => {
            let same = std::str::from_utf8(bytes)
                .ok()
                .and_then(|t| {
                    if t.trim().is_empty() {
                        Some(Map::new())
                    } else {
                        serde_json::from_str::<Map<String, Value>>(t).ok()
                    }
                })
                .is_some_and(|old| {
                    strip_empty_hooks(old.clone()) == strip_empty_hooks(doc.clone())
                });
            if same {
                Some(String::from_utf8_lossy(bytes).into_owned())
            } else {
                Some(pretty(&doc))
            }
        }
        None if changed.is_empty() => Some(String::from_utf8_lossy(&original).into_owned()),
        None => Some(pretty(&doc)),
    };
    if !dry_run && !changed.is_empty() {
        write(path, contents.as_deref())?;
        let _ = storage::remove(&backup);
    }
    Ok(Change {
        provider,
        path: path.to_path_buf(),
        changed,
        unchanged,
        dry_run,
        contents,
        notes: Vec::new(),
    })
}

/// A document with an empty `hooks` object (and Cursor's bare version) compared as
/// one without it.
fn strip_empty_hooks(mut doc: Map<String, Value>) -> Map<String, Value> {
    if doc
        .get("hooks")
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
    {
        doc.remove("hooks");
    }
    doc
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub provider: Provider,
    pub path: PathBuf,
    pub exists: bool,
    /// Events with our handler.
    pub installed: Vec<String>,
    /// Events without it.
    pub missing: Vec<String>,
}

pub fn status(provider: Provider, path: &Path) -> Result<Status> {
    let doc = read(path)?;
    let exists = doc.is_some();
    let hooks = doc
        .and_then(|(_, d)| d.get("hooks").cloned())
        .unwrap_or(json!({}));
    let (mut installed, mut missing) = (Vec::new(), Vec::new());
    for (event, _, _) in provider.events() {
        let list = hooks
            .get(*event)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if has_ours(provider, &list) {
            installed.push(event.to_string());
        } else {
            missing.push(event.to_string());
        }
    }
    Ok(Status {
        provider,
        path: path.to_path_buf(),
        exists,
        installed,
        missing,
    })
}
