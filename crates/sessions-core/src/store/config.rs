//! The hub's optional config file, `SESSIONS/sessions.toml`. Every setting has a
//! default, so a hub without the file (like every hub the old scripts made) works.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::store::error::{Error, Result};
use crate::store::storage;

pub const CONFIG_FILE: &str = "sessions.toml";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Config {
    pub liveness: Liveness,
    pub claims: Claims,
    pub consensus: Consensus,
    pub current_state: CurrentState,
    #[serde(rename = "match")]
    pub matching: Matching,
    pub status: Status,
    pub chats: Chats,
    pub board: Board,
}

/// `[board]`: the message board, `MESSAGES.md`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Board {
    /// The most one message may add to the board, in bytes (its whole block): every
    /// reader reads what is posted, so one post must not be able to flood them.
    #[serde(deserialize_with = "positive_bytes")]
    pub max_message_bytes: u64,
}

impl Default for Board {
    fn default() -> Self {
        Board {
            max_message_bytes: 1024 * 1024,
        }
    }
}

/// A size in bytes: a whole number above zero.
fn positive_bytes<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    match u64::deserialize(d)? {
        0 => Err(serde::de::Error::custom(
            "invalid size 0: give a number of bytes above zero",
        )),
        n => Ok(n),
    }
}

/// `[chats]`: the agents' own sessions (`sessions chats …`, `sessions resume`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Chats {
    /// At most this many provider processes at once (`chats send`).
    pub concurrency: usize,
    /// How long a provider may take to answer `--version` before resume gives up.
    #[serde(deserialize_with = "duration")]
    pub check_timeout: Duration,
    /// How long one `chats send` may run before its process group is killed.
    #[serde(deserialize_with = "duration")]
    pub send_timeout: Duration,
    /// A session with activity this recent is active.
    #[serde(deserialize_with = "duration")]
    pub active: Duration,
    /// A session without activity for this long is expired.
    #[serde(deserialize_with = "duration")]
    pub retention: Duration,
}

impl Default for Chats {
    fn default() -> Self {
        Chats {
            concurrency: 3,
            check_timeout: Duration::from_secs(5),
            send_timeout: Duration::from_secs(10 * 60),
            active: Duration::from_secs(15 * 60),
            retention: Duration::from_secs(30 * 86_400),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Liveness {
    /// A session is live while its heartbeat is at most this old.
    #[serde(deserialize_with = "duration")]
    pub live: Duration,
    /// After this long without a heartbeat a session is gone (prunable).
    #[serde(deserialize_with = "duration")]
    pub gone: Duration,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness {
            live: Duration::from_secs(5 * 60),
            gone: Duration::from_secs(24 * 3600),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Claims {
    /// Lease length of a claim.
    #[serde(deserialize_with = "duration")]
    pub ttl: Duration,
    /// How long after expiry a claim must wait before it can be taken over (>= 15 s).
    #[serde(deserialize_with = "duration")]
    pub grace: Duration,
}

impl Default for Claims {
    fn default() -> Self {
        Claims {
            ttl: Duration::from_secs(30 * 60),
            grace: Duration::from_secs(15),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Consensus {
    /// `majority` (more than half of the live registered sessions agree), `all`
    /// (every live registered session agrees), a number of agreeing votes, or
    /// `original` (the default: session-vote.sh's rule, 7 agreeing votes from anyone, so
    /// old scripts and `sessions` call the same proposals agreed).
    #[serde(deserialize_with = "consensus_rule")]
    pub rule: String,
    /// When true (the default), a single objection blocks consensus.
    pub objection_blocks: bool,
}

/// The consensus rule of the original scripts (see [`Consensus::rule`]).
pub const ORIGINAL_RULE: &str = "original";

impl Default for Consensus {
    fn default() -> Self {
        Consensus {
            rule: ORIGINAL_RULE.into(),
            objection_blocks: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CurrentState {
    /// How many items "Recently completed" keeps.
    pub keep_completed: usize,
}

impl Default for CurrentState {
    fn default() -> Self {
        CurrentState { keep_completed: 7 }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Matching {
    /// Extra keyword -> specializations entries, added to the built-in table.
    pub keywords: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Status {
    /// Where the `<project>-status.md` files and `.<project>-updated` signals live,
    /// relative to the hub (default: the hub itself).
    pub dir: Option<std::path::PathBuf>,
    /// The healthcheck calls a status file stale after this long without an update.
    #[serde(deserialize_with = "duration")]
    pub stale_after: Duration,
}

impl Default for Status {
    fn default() -> Self {
        Status {
            dir: None,
            stale_after: Duration::from_secs(30 * 60),
        }
    }
}

impl Status {
    /// The folder `[status] dir` names, inside the hub at `hub_root`; `None` when the
    /// key is not set. A hub's config is written by anyone who can write in the hub, so
    /// it may not send writes elsewhere: a path that is absolute, climbs out with `..`
    /// or passes through a link is refused, naming the file and the key. A folder
    /// outside the hub is for the person to name (`--dir`, `$SESSIONS_STATUS_DIR`).
    pub fn dir_in_hub(&self, hub_root: &Path) -> Result<Option<std::path::PathBuf>> {
        use std::path::Component;
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        let refuse = |why: &str| {
            Error::Refused(format!(
                "{}: [status] dir = {:?} {why}; a hub's config may only name a folder \
                 inside the hub (e.g. \"status\"). To use a folder elsewhere, pass it \
                 yourself with --dir or $SESSIONS_STATUS_DIR",
                hub_root.join(CONFIG_FILE).display(),
                dir.display().to_string()
            ))
        };
        let mut current = hub_root.to_path_buf();
        for part in dir.components() {
            match part {
                Component::Normal(name) => current.push(name),
                Component::CurDir => {}
                Component::ParentDir => return Err(refuse("climbs out of the hub with `..`")),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(refuse("is an absolute path"));
                }
            }
            // An early, friendly refusal; the folder's handle is taken beneath the
            // hub's without following links (store::beneath), which is what holds.
            if std::fs::symlink_metadata(&current).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(refuse("passes through a symbolic link"));
            }
        }
        Ok(Some(current))
    }
}

/// `"majority"`, `"all"` (or `"unanimous"`), or a number of votes, quoted or not.
fn consensus_rule<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Votes(u64),
        Text(String),
    }
    let rule = match Raw::deserialize(d)? {
        Raw::Votes(n) => n.to_string(),
        Raw::Text(t) => t,
    };
    let known = matches!(
        rule.trim().to_ascii_lowercase().as_str(),
        "majority" | "all" | "unanimous" | "original" | ""
    );
    if known || rule.trim().parse::<u64>().is_ok() {
        Ok(rule)
    } else {
        Err(serde::de::Error::custom(format!(
            "invalid consensus rule {rule:?}: use \"original\", \"majority\", \"all\" or a number of votes"
        )))
    }
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Text(String),
    }
    // The one duration rule of the time module: more than zero, at most ten years.
    match Raw::deserialize(d)? {
        Raw::Secs(s) => crate::store::time::check_duration(Duration::from_secs(s))
            .map_err(|why| serde::de::Error::custom(format!("invalid duration {s}: {why}"))),
        Raw::Text(t) => crate::store::time::parse_duration(&t).map_err(serde::de::Error::custom),
    }
}

impl Config {
    /// Load `<hub>/sessions.toml`, or the defaults when it does not exist.
    pub fn load(hub_root: &Path) -> Result<Config> {
        let path = hub_root.join(CONFIG_FILE);
        let Some(text) = storage::read_text(&path)? else {
            return Ok(Config::default());
        };
        let config: Config = toml::from_str(&text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|span| line_col(&text, span.start))
                .unwrap_or((1, 1));
            Error::Parse {
                path: path.clone(),
                line,
                column,
                message: e.message().to_string(),
            }
        })?;
        // Test builds may go lower, so a test can let a lease run out in real time.
        let floor = if super::test_hooks::ENABLED {
            Duration::ZERO
        } else {
            Duration::from_secs(15)
        };
        if config.claims.grace < floor {
            return Err(Error::Parse {
                path,
                line: 1,
                column: 1,
                message: "claims.grace must be at least 15s".into(),
            });
        }
        Ok(config)
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
