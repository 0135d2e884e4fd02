//! The AI coding agents' own sessions, read from where each CLI keeps them: Claude Code,
//! Codex, Gemini CLI, Cursor agent and opencode. Everything here reads provider files and
//! never writes them; the only file written is this crate's own index cache.
//!
//! Readers are plain blocking code: a listing reads only the head and tail of each
//! transcript (see [`read`]), and the [`index`] caches what it found per file.

mod cache;
mod cache_file;
pub mod index;
pub mod providers;
pub mod read;
pub mod run;
pub mod stats;
pub mod transcript;
mod walk;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One of the five agent CLIs whose sessions are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Claude,
    Codex,
    Gemini,
    Cursor,
    Opencode,
}

impl Provider {
    pub const ALL: [Provider; 5] = [
        Provider::Claude,
        Provider::Codex,
        Provider::Gemini,
        Provider::Cursor,
        Provider::Opencode,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Provider::Claude => "claude",
            Provider::Codex => "codex",
            Provider::Gemini => "gemini",
            Provider::Cursor => "cursor",
            Provider::Opencode => "opencode",
        }
    }

    /// Accepts the names people use: `claude-code`, `cursor-agent`, `gemini-cli`.
    pub fn parse(text: &str) -> Option<Provider> {
        match text.to_ascii_lowercase().as_str() {
            "claude" | "claude-code" | "claudecode" => Some(Provider::Claude),
            "codex" => Some(Provider::Codex),
            "gemini" | "gemini-cli" => Some(Provider::Gemini),
            "cursor" | "cursor-agent" => Some(Provider::Cursor),
            "opencode" => Some(Provider::Opencode),
            _ => None,
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One provider session as found on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChatSession {
    pub provider: Provider,
    pub id: String,
    /// The working directory the session ran in (from the provider's own records).
    pub cwd: Option<String>,
    pub title: Option<String>,
    /// RFC 3339.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub created: Option<DateTime<Utc>>,
    /// Last activity: the newest record's time.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub updated: Option<DateTime<Utc>>,
    /// Bytes of the transcript (0 for sessions inside a database).
    pub size: u64,
    pub model: Option<String>,
    pub branch: Option<String>,
    /// Version of the CLI that wrote the session, when recorded.
    pub version: Option<String>,
    /// The transcript file (or the database holding it).
    #[serde(serialize_with = "path_lossy")]
    pub path: PathBuf,
    /// The parent session of a subagent session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Exact number of messages, when the whole transcript was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<u64>,
    /// Codex keeps archived sessions apart.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
    /// Where the provider's project folder is when the cwd must be looked up later
    /// (Gemini: the `tmp/<project>` folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_dir: Option<PathBuf>,
}

impl ChatSession {
    pub fn new(provider: Provider, id: impl Into<String>, path: &Path) -> ChatSession {
        ChatSession {
            provider,
            id: id.into(),
            cwd: None,
            title: None,
            created: None,
            updated: None,
            size: 0,
            model: None,
            branch: None,
            version: None,
            path: path.to_path_buf(),
            parent: None,
            messages: None,
            archived: false,
            project_dir: None,
        }
    }

    /// Last activity, falling back to creation.
    pub fn activity(&self) -> Option<DateTime<Utc>> {
        self.updated.or(self.created)
    }
}

/// A path as JSON text: a name that is not UTF-8 (any byte but `/` and NUL is allowed)
/// is shown with U+FFFD for its odd bytes rather than failing the whole listing.
fn path_lossy<S: serde::Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

/// A file that could not be read as a session: listed once, never fatal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Warning {
    #[serde(serialize_with = "path_lossy")]
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

/// Where each provider keeps its files, from the environment the CLIs themselves read.
#[derive(Debug, Clone)]
pub struct Homes {
    pub claude: PathBuf,
    pub codex: PathBuf,
    pub gemini: PathBuf,
    pub cursor: PathBuf,
    pub opencode: PathBuf,
}

impl Homes {
    /// `$CLAUDE_CONFIG_DIR` or `~/.claude`; `$CODEX_HOME` or `~/.codex`; `~/.gemini`;
    /// `~/.cursor`; `$XDG_DATA_HOME/opencode` or `~/.local/share/opencode`.
    pub fn from_env() -> Homes {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let home = var("HOME").unwrap_or_else(|| PathBuf::from("/"));
        Homes {
            claude: var("CLAUDE_CONFIG_DIR").unwrap_or_else(|| home.join(".claude")),
            codex: var("CODEX_HOME").unwrap_or_else(|| home.join(".codex")),
            gemini: home.join(".gemini"),
            cursor: home.join(".cursor"),
            opencode: var("XDG_DATA_HOME")
                .unwrap_or_else(|| home.join(".local/share"))
                .join("opencode"),
        }
    }
}

/// active / idle / expired, from the last activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Idle,
    Expired,
}

impl Status {
    pub fn parse(text: &str) -> Option<Status> {
        match text {
            "active" => Some(Status::Active),
            "idle" => Some(Status::Idle),
            "expired" => Some(Status::Expired),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Idle => "idle",
            Status::Expired => "expired",
        }
    }
}

/// When a session counts as active (recent activity) and when as expired.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub active: chrono::Duration,
    pub retention: chrono::Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            active: chrono::Duration::minutes(15),
            retention: chrono::Duration::days(30),
        }
    }
}

impl Lifetimes {
    pub fn status(&self, session: &ChatSession, now: DateTime<Utc>) -> Status {
        self.status_at(session.activity(), now)
    }

    /// The status of a session last active at `activity`.
    pub fn status_at(&self, activity: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Status {
        match activity {
            Some(t) if now - t <= self.active => Status::Active,
            Some(t) if now - t <= self.retention => Status::Idle,
            Some(_) => Status::Expired,
            None => Status::Idle,
        }
    }
}

/// Everything a listing found: sessions and the files that could not be read.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub sessions: Vec<ChatSession>,
    pub warnings: Vec<Warning>,
}

/// Parse an RFC 3339 time as providers write it.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Milliseconds (or seconds, for small numbers) since the epoch.
pub fn time_from_number(n: i64) -> Option<DateTime<Utc>> {
    if n > 100_000_000_000 {
        DateTime::from_timestamp_millis(n)
    } else {
        DateTime::from_timestamp(n, 0)
    }
}

/// A title is one line, trimmed, at most 200 characters.
pub fn clean_title(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let mut title: String = line.chars().take(200).collect();
    if line.chars().count() > 200 {
        title.push('…');
    }
    Some(title)
}

/// What `chats list` keeps.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub providers: Vec<Provider>,
    /// A substring of the cwd (or the cwd's last folder name).
    pub project: Option<String>,
    pub status: Option<Status>,
    pub since: Option<DateTime<Utc>>,
    /// Only these provider session ids (those linked to one hub session).
    pub ids: Option<Vec<String>>,
}

impl Filter {
    pub fn keeps(&self, s: &ChatSession, status: Status) -> bool {
        self.keeps_facts(s.provider, s.activity(), status)
            && self.keeps_record(&s.id, s.cwd.as_deref())
    }

    /// The part of [`Filter::keeps`] decided by the keys a listing sorts by.
    pub fn keeps_facts(
        &self,
        provider: Provider,
        activity: Option<DateTime<Utc>>,
        status: Status,
    ) -> bool {
        (self.providers.is_empty() || self.providers.contains(&provider))
            && self.status.is_none_or(|want| want == status)
            && self
                .since
                .is_none_or(|since| activity.is_some_and(|t| t >= since))
    }

    /// Whether [`Filter::keeps_record`] must be asked (it needs the whole record).
    pub fn needs_record(&self) -> bool {
        self.project.is_some() || self.ids.is_some()
    }

    /// The part of [`Filter::keeps`] that needs the session's id and cwd.
    pub fn keeps_record(&self, id: &str, cwd: Option<&str>) -> bool {
        self.project
            .as_deref()
            .is_none_or(|p| cwd.is_some_and(|c| c.contains(p)))
            && self
                .ids
                .as_ref()
                .is_none_or(|ids| ids.iter().any(|i| i == id))
    }
}

/// The order of a listing: newest first by last activity or by creation, then by id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    #[default]
    Activity,
    Created,
}

impl Sort {
    pub fn parse(text: &str) -> Option<Sort> {
        match text {
            "activity" => Some(Sort::Activity),
            "created" => Some(Sort::Created),
            _ => None,
        }
    }
}

/// Why `find` found nothing usable.
#[derive(Debug, Clone, PartialEq)]
pub enum FindError {
    NotFound(String),
    Ambiguous(String, Vec<String>),
}

impl std::fmt::Display for FindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FindError::NotFound(key) => write!(
                f,
                "no provider session {key:?}: `sessions chats list` shows the sessions found"
            ),
            FindError::Ambiguous(key, ids) => write!(
                f,
                "{key:?} matches {} sessions ({}); give more of the id",
                ids.len(),
                ids.join(", ")
            ),
        }
    }
}

/// A session by its full id, else by a unique id prefix.
pub fn find<'a>(sessions: &'a [ChatSession], key: &str) -> Result<&'a ChatSession, FindError> {
    if let Some(s) = sessions.iter().find(|s| s.id == key) {
        return Ok(s);
    }
    let matches: Vec<&ChatSession> = sessions.iter().filter(|s| s.id.starts_with(key)).collect();
    match matches.as_slice() {
        [] => Err(FindError::NotFound(key.to_string())),
        [one] => Ok(one),
        many => Err(FindError::Ambiguous(
            key.to_string(),
            many.iter()
                .map(|s| format!("{} {}", s.provider, s.id))
                .collect(),
        )),
    }
}
