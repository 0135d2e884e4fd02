//! One error type for the whole hub, and the one place where errors become exit codes.

use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit codes, documented in the README. Every binary maps errors through [`Error::exit_code`].
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// A failure, or a "no" answer such as "already claimed".
    pub const FAILURE: u8 = 1;
    /// Bad usage: unknown flag, invalid ID or argument.
    pub const USAGE: u8 = 2;
    /// No hub was found (run `sessions init`).
    pub const NO_HUB: u8 = 3;
    /// A hub file could not be parsed; nothing was written.
    pub const DATA: u8 = 4;
    /// A lock could not be taken in time.
    pub const LOCK_TIMEOUT: u8 = 5;
    /// Refused: secret-looking text, a stale fencing token, a forbidden transition, not the holder.
    pub const REFUSED: u8 = 6;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}:{line}:{column}: {message}\n  the file was left unchanged; fix it by hand (or restore it from git) and run the command again", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    #[error("invalid {what} {value:?}: {reason}")]
    InvalidId {
        what: &'static str,
        value: String,
        reason: &'static str,
    },

    #[error("{0}")]
    Usage(String),

    #[error(
        "no SESSIONS/ hub found from {}\n  create one with `sessions init`, or point to one with --hub DIR or $SESSIONS_HUB",
        start.display()
    )]
    NoHub { start: PathBuf },

    #[error("{} already holds a hub; refusing to overwrite it", path.display())]
    HubExists { path: PathBuf },

    #[error("{} leads outside the hub, or through a symbolic link, to {}; refusing to follow it (links in the hub are never followed: put the file or folder itself there)", path.display(), target.display())]
    OutsideHub { path: PathBuf, target: PathBuf },

    #[error("{} is larger than {limit} bytes; refusing to read it", path.display())]
    TooLarge { path: PathBuf, limit: u64 },

    #[error("timed out after {waited_ms} ms waiting for the lock {}", path.display())]
    LockTimeout { path: PathBuf, waited_ms: u128 },

    #[error("{what} not found: {name}")]
    NotFound { what: &'static str, name: String },

    #[error("already claimed: {key} is held by {holder}{}", expires.as_deref().map(|e| format!(" until {e}")).unwrap_or_default())]
    AlreadyClaimed {
        key: String,
        holder: String,
        expires: Option<String>,
    },

    #[error("{0}")]
    Refused(String),

    #[error("{0}")]
    Failed(String),
}

/// Where the link at (or above) `path` points, for the message only: the refusal
/// itself was decided by the kernel when the file was opened.
fn link_target(path: &Path) -> PathBuf {
    let mut current = path;
    loop {
        if let Ok(target) = std::fs::read_link(current) {
            return match current.parent() {
                Some(parent) => parent.join(target),
                None => target,
            };
        }
        match current.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => current = parent,
            _ => return path.to_path_buf(),
        }
    }
}

impl Error {
    /// Add what to do to the message of a parse error (other errors are unchanged).
    pub fn with_hint(self, hint: &str) -> Error {
        match self {
            Error::Parse {
                path,
                line,
                column,
                message,
            } => Error::Parse {
                path,
                line,
                column,
                message: format!("{message} ({hint})"),
            },
            other => other,
        }
    }

    /// An I/O error on `path`. A link met beneath a guarded folder (see
    /// `store::beneath`) becomes [`Error::OutsideHub`], whichever primitive met it.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        if let Some(refused) = crate::store::beneath::link_refused(&source) {
            let target = link_target(&refused.path);
            return Error::OutsideHub { path, target };
        }
        Error::Io { path, source }
    }

    pub fn json(path: &Path, err: &serde_json::Error) -> Self {
        Error::Parse {
            path: path.to_path_buf(),
            line: err.line(),
            column: err.column(),
            message: format!("invalid JSON: {err}"),
        }
    }

    /// The exit code for this error: the one place where that mapping lives.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Io { .. } | Error::Failed(_) | Error::NotFound { .. } => exit::FAILURE,
            Error::AlreadyClaimed { .. } => exit::FAILURE,
            Error::InvalidId { .. } | Error::Usage(_) => exit::USAGE,
            Error::NoHub { .. } => exit::NO_HUB,
            Error::HubExists { .. } => exit::FAILURE,
            Error::Parse { .. } | Error::TooLarge { .. } => exit::DATA,
            Error::LockTimeout { .. } => exit::LOCK_TIMEOUT,
            Error::OutsideHub { .. } | Error::Refused(_) => exit::REFUSED,
        }
    }

    /// Structured facts about the error for `--json` output, so agents need not parse
    /// the message (e.g. who holds a claim, which file and line failed to parse).
    pub fn details(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Error::Io { path, .. } | Error::TooLarge { path, .. } | Error::HubExists { path } => {
                json!({ "path": path })
            }
            Error::Parse {
                path, line, column, ..
            } => {
                json!({ "path": path, "line": line, "column": column })
            }
            Error::OutsideHub { path, target } => json!({ "path": path, "target": target }),
            Error::LockTimeout { path, waited_ms } => {
                json!({ "path": path, "waited_ms": waited_ms })
            }
            Error::AlreadyClaimed {
                key,
                holder,
                expires,
            } => {
                json!({ "key": key, "holder": holder, "expires_at": expires })
            }
            Error::InvalidId { what, value, .. } => json!({ "what": what, "value": value }),
            Error::NotFound { what, name } => json!({ "what": what, "name": name }),
            Error::NoHub { start } => json!({ "start": start }),
            Error::Usage(_) | Error::Refused(_) | Error::Failed(_) => json!({}),
        }
    }

    /// A short stable name for `--json` error output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io",
            Error::Parse { .. } => "parse",
            Error::InvalidId { .. } => "invalid_id",
            Error::Usage(_) => "usage",
            Error::NoHub { .. } => "no_hub",
            Error::HubExists { .. } => "hub_exists",
            Error::OutsideHub { .. } => "outside_hub",
            Error::TooLarge { .. } => "too_large",
            Error::LockTimeout { .. } => "lock_timeout",
            Error::NotFound { .. } => "not_found",
            Error::AlreadyClaimed { .. } => "already_claimed",
            Error::Refused(_) => "refused",
            Error::Failed(_) => "failed",
        }
    }
}
