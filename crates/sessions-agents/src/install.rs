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

fn timeout_for(provider: Provider, event: &str) -> Value {
    match (provider, event) {
        (Provider::Gemini, _) => json!(10_000),
        // Codex caps SessionEnd hooks at 3 s (and warns about a longer timeout).
        (Provider::Codex, "SessionEnd") => json!(3),
        _ => json!(10),
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
                    json!([{ "type": "command", "command": command, "timeout": timeout_for(provider, event) }]),
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
        notes = codex_notes();
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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

// ---------------------------------------------------------------------------------
// Codex hooks in config.toml: Codex reads, for each config layer (the user's
// ~/.codex and a trusted project's .codex), both `hooks.json` and the `[hooks]` table
// of `config.toml`, with the same events and matcher groups. `--toml` puts ours in
// the table, edited with toml_edit so that every other byte of the file stays.
// ---------------------------------------------------------------------------------

/// Codex's `config.toml` for a scope.
pub fn codex_config_path(scope: Scope, project: &Path, home: &Path) -> PathBuf {
    match scope {
        Scope::Project => project.join(".codex/config.toml"),
        Scope::User => home.join(".codex/config.toml"),
    }
}

fn toml_error(path: &Path, text: &str, e: &toml_edit::TomlError) -> Error {
    let (line, column) = e
        .span()
        .map(|span| sessions_core::store::config::line_col(text, span.start))
        .unwrap_or((1, 1));
    Error::Parse {
        path: path.to_path_buf(),
        line,
        column,
        message: format!(
            "{}; fix it by hand (the file was left unchanged)",
            e.message()
        ),
    }
}

fn read_toml(path: &Path) -> Result<Option<(String, toml_edit::DocumentMut)>> {
    let Some(text) = storage::read_text(path)? else {
        return Ok(None);
    };
    let doc = text
        .parse::<toml_edit::DocumentMut>()
        .map_err(|e| toml_error(path, &text, &e))?;
    Ok(Some((text, doc)))
}

fn refused(path: &Path, message: String) -> Error {
    Error::Parse {
        path: path.to_path_buf(),
        line: 1,
        column: 1,
        message,
    }
}

/// The matcher groups of one event, whether written `[[hooks.Event]]` or inline.
fn toml_groups(item: &toml_edit::Item) -> Vec<&dyn toml_edit::TableLike> {
    if let Some(aot) = item.as_array_of_tables() {
        return aot.iter().map(|t| t as &dyn toml_edit::TableLike).collect();
    }
    item.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_inline_table())
                .map(|t| t as &dyn toml_edit::TableLike)
                .collect()
        })
        .unwrap_or_default()
}

/// The commands of a group's handlers.
fn toml_commands(group: &dyn toml_edit::TableLike) -> Vec<String> {
    let Some(hooks) = group.get("hooks") else {
        return Vec::new();
    };
    let command = |t: &dyn toml_edit::TableLike| {
        t.get("command")
            .and_then(|c| c.as_str())
            .map(str::to_string)
    };
    if let Some(aot) = hooks.as_array_of_tables() {
        return aot.iter().filter_map(|t| command(t)).collect();
    }
    hooks
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_inline_table())
                .filter_map(|t| command(t))
                .collect()
        })
        .unwrap_or_default()
}

fn toml_has_ours(item: &toml_edit::Item) -> bool {
    toml_groups(item)
        .into_iter()
        .any(|g| toml_commands(g).iter().any(|c| is_ours(c, Provider::Codex)))
}

fn hooks_table<'a>(
    doc: &'a mut toml_edit::DocumentMut,
    path: &Path,
) -> Result<&'a mut toml_edit::Table> {
    if !doc.contains_key("hooks") {
        let mut table = toml_edit::Table::new();
        table.set_implicit(true);
        doc.insert("hooks", toml_edit::Item::Table(table));
    }
    doc["hooks"].as_table_mut().ok_or_else(|| {
        refused(
            path,
            "`hooks` is not a [hooks] table (an inline table cannot take more hooks); \
             fix it by hand or install into hooks.json"
                .into(),
        )
    })
}

/// Merge our handlers into `[hooks]` of Codex's config.toml at `path`.
pub fn install_codex_toml(path: &Path, exe: &str, dry_run: bool) -> Result<Change> {
    use toml_edit::{ArrayOfTables, InlineTable, Item, Table, value};
    let existing = read_toml(path)?;
    let existed = existing.is_some();
    let (original, mut doc) = existing.unwrap_or_default();
    let (mut changed, mut unchanged) = (Vec::new(), Vec::new());
    {
        let hooks = hooks_table(&mut doc, path)?;
        for (event, _, matcher) in Provider::Codex.events() {
            if hooks.get(event).is_some_and(toml_has_ours) {
                unchanged.push(event.to_string());
                continue;
            }
            let command = command_for(exe, Provider::Codex, event);
            let seconds = timeout_for(Provider::Codex, event).as_i64().unwrap_or(10);
            // `[[hooks.Event]]` with `[[hooks.Event.hooks]]`: hooks.json's shape as tables.
            let group_table = |command: &str| {
                let mut handler = Table::new();
                handler["type"] = value("command");
                handler["command"] = value(command);
                handler["timeout"] = value(seconds);
                let mut handlers = ArrayOfTables::new();
                handlers.push(handler);
                let mut group = Table::new();
                if let Some(m) = matcher {
                    group["matcher"] = value(*m);
                }
                group.insert("hooks", Item::ArrayOfTables(handlers));
                group
            };
            match hooks.get_mut(event) {
                None => {
                    let mut groups = ArrayOfTables::new();
                    groups.push(group_table(&command));
                    hooks.insert(event, Item::ArrayOfTables(groups));
                }
                Some(Item::ArrayOfTables(groups)) => groups.push(group_table(&command)),
                Some(Item::Value(toml_edit::Value::Array(groups))) => {
                    let mut handler = InlineTable::new();
                    handler.insert("type", "command".into());
                    handler.insert("command", command.into());
                    handler.insert("timeout", seconds.into());
                    let mut handlers = toml_edit::Array::new();
                    handlers.push(handler);
                    let mut group = InlineTable::new();
                    if let Some(m) = matcher {
                        group.insert("matcher", (*m).into());
                    }
                    group.insert("hooks", handlers.into());
                    groups.push(group);
                }
                Some(_) => {
                    return Err(refused(
                        path,
                        format!("`hooks.{event}` is not a list of matcher groups; fix it by hand"),
                    ));
                }
            }
            changed.push(event.to_string());
        }
    }
    let contents = if changed.is_empty() && existed {
        original.clone()
    } else {
        doc.to_string()
    };
    if !dry_run && !changed.is_empty() {
        let backup = backup_path(path);
        if !backup.exists() {
            if let Some(dir) = path.parent() {
                storage::ensure_dir(dir)?;
            }
            let bytes: &[u8] = if existed {
                original.as_bytes()
            } else {
                NO_FILE
            };
            storage::write_atomic(&backup, bytes)?;
        }
        write(path, Some(&contents))?;
    }
    Ok(Change {
        provider: Provider::Codex,
        path: path.to_path_buf(),
        changed,
        unchanged,
        dry_run,
        contents: Some(contents),
        notes: codex_notes(),
    })
}

/// What a person must still do for Codex to run the hooks.
fn codex_notes() -> Vec<String> {
    vec![
        "Codex runs new hooks only once you trust them: start `codex` in this project and \
         approve the hooks it lists (or, for a one-off scripted run, pass \
         --dangerously-bypass-hook-trust). A project's .codex/ folder is read only when \
         the project itself is trusted (Codex asks on first start; or add \
         [projects.\"/path/to/project\"] trust_level = \"trusted\" to ~/.codex/config.toml)."
            .to_string(),
    ]
}

/// Remove exactly our handlers from `[hooks]` of Codex's config.toml at `path`.
pub fn uninstall_codex_toml(path: &Path, dry_run: bool) -> Result<Change> {
    let mut change = Change {
        provider: Provider::Codex,
        path: path.to_path_buf(),
        changed: Vec::new(),
        unchanged: Vec::new(),
        dry_run,
        contents: None,
        notes: Vec::new(),
    };
    let Some((original, mut doc)) = read_toml(path)? else {
        return Ok(change);
    };
    let ours = |t: &dyn toml_edit::TableLike| {
        t.get("command")
            .and_then(|c| c.as_str())
            .is_some_and(|c| is_ours(c, Provider::Codex))
    };
    let mut hooks_emptied = false;
    if let Some(hooks) = doc.get_mut("hooks").and_then(|h| h.as_table_mut()) {
        let events: Vec<String> = hooks.iter().map(|(k, _)| k.to_string()).collect();
        for event in events {
            let item = hooks.get_mut(&event).expect("listed above");
            if !toml_has_ours(item) {
                change.unchanged.push(event);
                continue;
            }
            if let Some(groups) = item.as_array_of_tables_mut() {
                for group in groups.iter_mut() {
                    match group.get_mut("hooks") {
                        Some(toml_edit::Item::ArrayOfTables(hs)) => hs.retain(|h| !ours(h)),
                        Some(toml_edit::Item::Value(toml_edit::Value::Array(hs))) => {
                            hs.retain(|h| !h.as_inline_table().is_some_and(|t| ours(t)))
                        }
                        _ => {}
                    }
                }
                groups.retain(|g| !toml_commands(g).is_empty() || g.get("hooks").is_none());
            } else if let Some(groups) = item.as_array_mut() {
                for group in groups.iter_mut() {
                    if let Some(hs) = group
                        .as_inline_table_mut()
                        .and_then(|t| t.get_mut("hooks"))
                        .and_then(|h| h.as_array_mut())
                    {
                        hs.retain(|h| !h.as_inline_table().is_some_and(|t| ours(t)));
                    }
                }
                groups.retain(|g| {
                    g.as_inline_table()
                        .is_none_or(|t| !toml_commands(t).is_empty() || t.get("hooks").is_none())
                });
            }
            let empty = toml_groups(item).is_empty();
            if empty {
                hooks.remove(&event);
            }
            change.changed.push(event);
        }
        hooks_emptied = hooks.is_empty();
    }
    if hooks_emptied && !change.changed.is_empty() {
        doc.remove("hooks");
    }
    let backup = backup_path(path);
    let before = std::fs::read(&backup).ok();
    let semantic = |text: &str| toml_edit::de::from_str::<serde_json::Value>(text).ok();
    let now = doc.to_string();
    change.contents = match &before {
        Some(bytes) if bytes == NO_FILE => {
            if now.trim().is_empty() {
                None
            } else {
                Some(now)
            }
        }
        // When nothing else changed since the install, give back the very bytes.
        Some(bytes)
            if std::str::from_utf8(bytes)
                .ok()
                .is_some_and(|old| semantic(old).is_some() && semantic(old) == semantic(&now)) =>
        {
            Some(String::from_utf8_lossy(bytes).into_owned())
        }
        _ if change.changed.is_empty() => Some(original),
        _ => Some(now),
    };
    if !dry_run && !change.changed.is_empty() {
        write(path, change.contents.as_deref())?;
        let _ = storage::remove(&backup);
    }
    Ok(change)
}

/// Which Codex events have our handler in `[hooks]` of config.toml at `path`.
pub fn status_codex_toml(path: &Path) -> Result<Status> {
    let doc = read_toml(path)?;
    let exists = doc.is_some();
    let (mut installed, mut missing) = (Vec::new(), Vec::new());
    for (event, _, _) in Provider::Codex.events() {
        let has = doc
            .as_ref()
            .and_then(|(_, d)| d.get("hooks"))
            .and_then(|h| h.as_table_like())
            .and_then(|h| h.get(event))
            .is_some_and(toml_has_ours);
        if has {
            installed.push(event.to_string());
        } else {
            missing.push(event.to_string());
        }
    }
    Ok(Status {
        provider: Provider::Codex,
        path: path.to_path_buf(),
        exists,
        installed,
        missing,
    })
}
