//! Which hub session an agent is: a binding from the provider's session id (and the
//! folder it works in) to a hub session ID.
//!
//! Bindings are private state, `.sessions/agents/<provider>-<session>.json`, written
//! atomically. The registry entry of the hub session carries the same two facts in the
//! fields `provider` and `provider_session` (the fields `register --provider` writes),
//! so a session registered by hand is found too. `/clear` starts a new provider session
//! id: a start whose source is `clear`, `resume` or `compact` re-attaches to the most
//! recent binding of the same provider in the same folder.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use sessions_core::sessions::registry::{self, Registration};
use sessions_core::store::{ids, record, storage, time};
use sessions_core::{Error, Hub, Result};

use crate::providers::Provider;

pub const BINDINGS: &str = ".sessions/agents";

/// One binding, with the hook's own throttling state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Binding {
    pub hub_id: String,
    pub provider: String,
    pub provider_session: String,
    pub cwd: String,
    pub bound_at: String,
    pub updated_at: String,
    /// When the hooks last wrote a heartbeat, and with which status.
    #[serde(default)]
    pub last_beat: Option<String>,
    #[serde(default)]
    pub last_status: Option<String>,
    /// When the hooks last looked for new messages.
    #[serde(default)]
    pub last_delivery: Option<String>,
}

/// When a binding changed, to the millisecond: "the latest binding in this folder" must
/// not tie between two sessions started in the same second.
pub fn stamp() -> String {
    time::now_precise().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A provider session id as part of a file name: validated characters only.
fn file_part(session: &str) -> String {
    let clean: String = session
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(96)
        .collect();
    if clean.is_empty() {
        "unknown".into()
    } else {
        clean
    }
}

pub fn binding_rel(provider: Provider, session: &str) -> String {
    format!("{BINDINGS}/{}-{}.json", provider.name(), file_part(session))
}

pub fn load(hub: &Hub, provider: Provider, session: &str) -> Result<Option<Binding>> {
    let path = hub.file(&binding_rel(provider, session))?;
    Ok(storage::read_text(&path)?.and_then(|t| serde_json::from_str(&t).ok()))
}

pub fn save(hub: &Hub, provider: Provider, binding: &Binding) -> Result<()> {
    let path = hub.file(&binding_rel(provider, &binding.provider_session))?;
    storage::ensure_dir(&hub.dir(BINDINGS)?)?;
    storage::write_replace_unsynced(&path, &storage::json_bytes(binding))
}

/// Every binding, most recently updated first.
pub fn all(hub: &Hub) -> Result<Vec<Binding>> {
    let mut out: Vec<Binding> = hub
        .list(BINDINGS, ".json")?
        .into_iter()
        .filter_map(|p| storage::read_text(&p).ok().flatten())
        .filter_map(|t| serde_json::from_str(&t).ok())
        .collect();
    out.sort_by(|a: &Binding, b: &Binding| b.updated_at.cmp(&a.updated_at));
    Ok(out)
}

/// The hub session in the registry bound to this provider session, if any.
fn registered_for(hub: &Hub, provider: Provider, session: &str) -> Result<Option<String>> {
    let reg = registry::Registry::load(hub)?;
    Ok(reg
        .sessions()
        .find(|(_, e)| {
            record::text(e, &["provider"]) == Some(provider.name())
                && record::text(e, &["provider_session"]) == Some(session)
        })
        .map(|(id, _)| id.to_string()))
}

/// A new hub ID for a provider session: `<provider>-<first 8 of its id>`, made unique.
fn new_id(hub: &Hub, provider: Provider, session: &str) -> Result<String> {
    let short: String = session
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    let base = if short.is_empty() {
        provider.name().to_string()
    } else {
        format!("{}-{short}", provider.name())
    };
    let reg = registry::Registry::load(hub)?;
    let mut id = base.clone();
    let mut n = 2;
    while reg.get(&id).is_some() {
        id = format!("{base}-{n}");
        n += 1;
    }
    ids::validate("session ID", &id)?;
    Ok(id)
}

/// Register `id` (idempotent) and write the provider fields into its registry entry.
fn register(hub: &Hub, id: &str, provider: Provider, session: &str, cwd: &str) -> Result<()> {
    let folder = Path::new(cwd)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    registry::register(
        hub,
        &Registration {
            id: id.to_string(),
            name: Some(format!("{} agent in {folder}", provider.name())),
            role: Some("agent".into()),
            ..Registration::default()
        },
    )?;
    registry::update_registry(hub, |doc| {
        if let Some(entry) = registry::registry_sessions(doc)
            .get_mut(id)
            .and_then(Value::as_object_mut)
        {
            entry.insert("provider".into(), json!(provider.name()));
            entry.insert("provider_session".into(), json!(session));
            entry.insert("cwd".into(), json!(cwd));
        }
        Ok(())
    })
}

/// The hub session of this provider session, binding (and registering) one when there
/// is none: `SESSIONS_ID` first, then the existing binding, the registry, a re-attach
/// after clear/resume/compact, else a new session.
pub fn resolve(
    hub: &Hub,
    provider: Provider,
    session: &str,
    cwd: &str,
    source: Option<&str>,
    override_id: Option<&str>,
) -> Result<(Binding, bool)> {
    let existing = load(hub, provider, session)?;
    if let Some(b) = &existing
        && override_id.is_none_or(|o| o == b.hub_id)
    {
        return Ok((b.clone(), false));
    }
    let now = stamp();
    let reattach = || -> Result<Option<String>> {
        if !matches!(source, Some("clear" | "resume" | "compact")) {
            return Ok(None);
        }
        Ok(all(hub)?
            .into_iter()
            .find(|b| b.provider == provider.name() && b.cwd == cwd)
            .map(|b| b.hub_id))
    };
    let id = match override_id {
        Some(id) => ids::validate("session ID", id)?.to_string(),
        None => match registered_for(hub, provider, session)? {
            Some(id) => id,
            None => match reattach()? {
                Some(id) => id,
                None => new_id(hub, provider, session)?,
            },
        },
    };
    register(hub, &id, provider, session, cwd)?;
    let binding = Binding {
        hub_id: id,
        provider: provider.name().into(),
        provider_session: session.into(),
        cwd: cwd.into(),
        bound_at: now.clone(),
        updated_at: now,
        ..Binding::default()
    };
    save(hub, provider, &binding)?;
    Ok((binding, true))
}

/// Who am I, outside a hook: `SESSIONS_ID` (passed in), else the binding of a provider
/// session named in the environment, else the most recent binding made in `cwd` or a
/// folder above it.
pub fn whoami(hub: &Hub, cwd: &Path, env: &[(Provider, String)]) -> Result<Option<Binding>> {
    for (provider, session) in env {
        if let Some(b) = load(hub, *provider, session)? {
            return Ok(Some(b));
        }
    }
    let cwd = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    Ok(all(hub)?.into_iter().find(|b| {
        let bound = std::fs::canonicalize(&b.cwd).unwrap_or_else(|_| PathBuf::from(&b.cwd));
        cwd.starts_with(&bound)
    }))
}

/// The provider sessions the environment names (set by the agent CLIs for their tools).
pub fn env_sessions() -> Vec<(Provider, String)> {
    [
        (Provider::Claude, "CLAUDE_CODE_SESSION_ID"),
        (Provider::Codex, "CODEX_SESSION_ID"),
        (Provider::Gemini, "GEMINI_SESSION_ID"),
        (Provider::Cursor, "CURSOR_CONVERSATION_ID"),
    ]
    .into_iter()
    .filter_map(|(p, var)| {
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .map(|v| (p, v))
    })
    .collect()
}

/// A usage error for "no identity".
pub fn unknown() -> Error {
    Error::Usage(
        "no session is bound here: pass --as ID, set SESSIONS_ID, or install the hooks \
         (sessions hooks install claude)"
            .into(),
    )
}
