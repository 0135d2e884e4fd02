//! File reservations: claims on paths and globs of the repository (issue 11).
//!
//! A reservation is a claim (`PRIORITIES/files-<hash>.lock`) with three more fields:
//! `pattern` (a path or glob relative to the repository root), `mode` (exclusive or
//! shared) and `reason`. Leases, fencing tokens, renewals by heartbeats, takeovers and
//! their board posts are the claims' own ([`claims::claim_with`]).
//!
//! Two sessions reserving different but overlapping globs at the same instant would
//! each take a different lock file, so the claim files alone cannot keep them apart.
//! Every reservation is therefore made under one lock around the reservation set
//! (`PRIORITIES/files`): the check for overlapping reservations of others and the
//! creation of the lock files happen inside it, one reserving session at a time.
//! Releases need no set lock: removing a reservation can never create a conflict.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::board::messages::fnv1a;
use crate::sessions::registry::Liveness;
use crate::store::error::{Error, Result};
use crate::store::hub::{Hub, layout};
use crate::store::record::Record;
use crate::store::time::{self, Timestamp};
use crate::store::{ids, storage};
use crate::work::claims::{self, Claim, Grant};

/// Every reservation's claim key starts with this.
pub const KEY_PREFIX: &str = "files-";
/// The lock that serializes reservations (a sidecar lock name, not a file).
const SET_LOCK: &str = "PRIORITIES/files";
/// Which tokens each session was granted: private state for the fencing check.
const TOKENS: &str = ".sessions/reservations";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Nobody else may hold an overlapping reservation.
    Exclusive,
    /// Others may hold overlapping shared reservations, but no exclusive one.
    Shared,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Exclusive => "exclusive",
            Mode::Shared => "shared",
        }
    }

    fn conflicts_with(self, other: Mode) -> bool {
        self == Mode::Exclusive || other == Mode::Exclusive
    }
}

/// One reservation as `sessions reservations` shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Reservation {
    pub key: String,
    pub pattern: String,
    pub mode: Mode,
    pub reason: Option<String>,
    pub holder: String,
    pub token: Option<u64>,
    pub expires_at: Option<String>,
    pub holder_liveness: Liveness,
    /// Negative once the lease has ended.
    pub secs_left: Option<i64>,
    /// True while it keeps others out: its lease runs or its holder is live.
    pub active: bool,
}

impl Reservation {
    fn of(hub: &Hub, claim: &Claim, now: Timestamp) -> Option<Reservation> {
        let pattern = claim.record.get("pattern").and_then(Value::as_str)?;
        let mode = match claim.record.get("mode").and_then(Value::as_str) {
            Some("shared") => Mode::Shared,
            _ => Mode::Exclusive,
        };
        Some(Reservation {
            key: claim.key.clone(),
            pattern: pattern.to_string(),
            mode,
            reason: claim
                .record
                .get("reason")
                .and_then(Value::as_str)
                .map(str::to_string),
            holder: claim.holder.clone(),
            token: claim.token,
            expires_at: claim.expires_at.clone(),
            holder_liveness: claims::holder_liveness(hub, &claim.holder, now),
            secs_left: claims::lease_end(hub, claim).map(|e| (e - now).num_seconds()),
            active: claims::takeover_blocker(hub, claim, now).is_some(),
        })
    }

    /// "`src/api/**` (exclusive, files-1a2b…, 29m left, reason: …)"
    pub fn describe(&self) -> String {
        let left = match self.secs_left {
            Some(s) if s >= 0 => format!("{} left", time::human_age(s)),
            Some(_) => "lease ended, holder still live".to_string(),
            None => "no lease end".to_string(),
        };
        let reason = self
            .reason
            .as_deref()
            .map(|r| format!(", reason: {r}"))
            .unwrap_or_default();
        format!(
            "`{}` ({}, {}, token {}, {left}{reason})",
            self.pattern,
            self.mode.as_str(),
            self.key,
            self.token.map_or("none".into(), |t| t.to_string())
        )
    }
}

/// The repository a hub belongs to: the folder that holds it.
pub fn repo_root(hub: &Hub) -> PathBuf {
    let root = std::fs::canonicalize(hub.root()).unwrap_or_else(|_| hub.root().to_path_buf());
    root.parent().map(Path::to_path_buf).unwrap_or(root)
}

/// The top of the git checkout holding `dir` (a linked worktree's own folder), if any.
fn checkout_of(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// `a/./b/../c` → `a/c`, without touching the disk (the path may not exist yet).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The canonical form of the longest existing ancestor of `path`, with the rest kept:
/// so `/tmp/x` and `/private/tmp/x` (symlinked) compare equal.
fn resolve(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(c) = std::fs::canonicalize(&existing) {
            let mut out = c;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (
            existing.file_name().map(|n| n.to_os_string()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// A path or glob as given on the command line (relative to `cwd`, or absolute),
/// as a pattern relative to the repository root: the hub's parent, or the git
/// checkout `cwd` is in (a linked worktree shares the main worktree's hub). A folder
/// (existing, or written with a trailing `/`) means everything inside it. A path
/// outside the repository is refused.
pub fn normalize(hub: &Hub, cwd: &Path, input: &str) -> Result<String> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(Error::Usage("an empty path cannot be reserved".into()));
    }
    let joined = lexical(&cwd.join(trimmed));
    let glob_free: PathBuf = joined
        .components()
        .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
        .collect();
    let tail = joined.strip_prefix(&glob_free).unwrap_or(Path::new(""));
    let resolved = resolve(&glob_free);
    let mut roots = vec![repo_root(hub)];
    if let Some(checkout) = checkout_of(&resolve(cwd)) {
        roots.push(checkout);
    }
    let rel = roots
        .iter()
        .find_map(|root| resolved.strip_prefix(root).ok())
        .ok_or_else(|| {
            Error::Refused(format!(
                "{input}: outside the repository ({}); only paths inside it can be reserved",
                roots[0].display()
            ))
        })?;
    let rel = if tail.as_os_str().is_empty() {
        rel.to_path_buf()
    } else {
        rel.join(tail)
    };
    let mut rel = rel.to_string_lossy().replace('\\', "/");
    let is_dir = tail.as_os_str().is_empty() && resolved.is_dir();
    if rel.is_empty() {
        rel = "**".into();
    } else if is_dir || trimmed.ends_with('/') {
        rel = format!("{}/**", rel.trim_end_matches('/'));
    }
    Ok(rel)
}

/// Whether some path matches both globs. `*` and `?` stay within one path segment,
/// `**` spans any number of segments (zero included), so `src/**` overlaps
/// `src/api/x.rs` and `src/*.rs` overlaps `src/**` whichever side asks. A pattern also
/// covers everything under what it names (`src/api` covers `src/api/x.rs`).
pub fn overlaps(a: &str, b: &str) -> bool {
    let split = |p: &str| -> Vec<String> {
        let mut v: Vec<String> = p
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        v.push("**".into());
        v
    };
    let (a, b) = (split(a), split(b));
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let b: Vec<&str> = b.iter().map(String::as_str).collect();
    intersect(&a, &b, |x: &&str| *x == "**", |x, y| segments_overlap(x, y))
}

/// Whether a plain path (no glob characters) is covered by `pattern`.
pub fn covers(pattern: &str, path: &str) -> bool {
    overlaps(pattern, path)
}

/// Whether two single-segment globs (`*`, `?`, literals) can match one same string.
fn segments_overlap(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    intersect(
        &a,
        &b,
        |c| *c == '*',
        |x, y| *x == '?' || *y == '?' || x == y,
    )
}

/// The intersection test of two sequences where `star` elements match any run of
/// elements of the other side (zero included) and others must `pair`. A dynamic
/// program over the two positions, so it stays quadratic.
fn intersect<T>(
    a: &[T],
    b: &[T],
    star: impl Fn(&T) -> bool,
    pair: impl Fn(&T, &T) -> bool,
) -> bool {
    let (n, m) = (a.len(), b.len());
    // ok[i][j]: a[i..] and b[j..] can match a common string.
    let mut ok = vec![vec![false; m + 1]; n + 1];
    ok[n][m] = true;
    for i in (0..=n).rev() {
        for j in (0..=m).rev() {
            if i == n && j == m {
                continue;
            }
            let sa = i < n && star(&a[i]);
            let sb = j < m && star(&b[j]);
            ok[i][j] = if sa && sb {
                ok[i + 1][j] || ok[i][j + 1]
            } else if sa {
                ok[i + 1][j] || (j < m && ok[i][j + 1])
            } else if sb {
                ok[i][j + 1] || (i < n && ok[i + 1][j])
            } else {
                i < n && j < m && pair(&a[i], &b[j]) && ok[i + 1][j + 1]
            };
        }
    }
    ok[0][0]
}

/// The claim key of a reservation: exclusive ones by pattern (so a stale holder's is
/// taken over like any claim), shared ones by pattern and holder.
pub fn key_for(pattern: &str, mode: Mode, holder: &str) -> String {
    match mode {
        Mode::Exclusive => format!("{KEY_PREFIX}{:016x}", fnv1a(pattern.as_bytes())),
        Mode::Shared => format!(
            "{KEY_PREFIX}s-{:016x}",
            fnv1a(format!("{pattern}\0{holder}").as_bytes())
        ),
    }
}

/// Every reservation, by key.
pub fn list(hub: &Hub, now: Timestamp) -> Result<Vec<Reservation>> {
    Ok(of_claims(hub, &claims::list(hub)?, now))
}

/// The reservations among `claims`, for a caller that has loaded them already (the
/// session-start brief needs both, and each scan opens every lock file).
pub fn of_claims(hub: &Hub, claims: &[claims::Claim], now: Timestamp) -> Vec<Reservation> {
    claims
        .iter()
        .filter(|c| c.key.starts_with(KEY_PREFIX))
        .filter_map(|c| Reservation::of(hub, c, now))
        .collect()
}

/// What asking for `pattern` in `mode` would run into: active reservations of others
/// that overlap it in a conflicting mode.
fn conflicts<'a>(
    all: &'a [Reservation],
    holder: &str,
    pattern: &str,
    mode: Mode,
) -> Vec<&'a Reservation> {
    all.iter()
        .filter(|r| r.active && r.holder != holder)
        .filter(|r| mode.conflicts_with(r.mode) && overlaps(&r.pattern, pattern))
        .collect()
}

fn conflict_error(pattern: &str, with: &Reservation) -> Error {
    Error::Failed(format!(
        "{pattern}: reserved by {}: {}; ask {} (sessions msg send --to {} ...) or wait",
        with.holder,
        with.describe(),
        with.holder,
        with.holder
    ))
}

/// Reserve `patterns` (already [`normalize`]d) for `holder`: all of them or none.
/// Fails naming the holder when any overlaps an active reservation of someone else
/// in a conflicting mode.
pub fn reserve(
    hub: &Hub,
    holder: &str,
    patterns: &[String],
    mode: Mode,
    ttl: Option<Duration>,
    reason: Option<&str>,
) -> Result<Vec<Grant>> {
    ids::validate("session ID", holder)?;
    if patterns.is_empty() {
        return Err(Error::Usage(
            "name at least one path or glob to reserve".into(),
        ));
    }
    if let Some(reason) = reason {
        hub.check_secrets("the reason", reason)?;
    }
    storage::ensure_dir(&hub.dir(layout::PRIORITIES)?)?;
    let _set = hub.lock(SET_LOCK)?;
    let now = time::now();
    let all = list(hub, now)?;
    for pattern in patterns {
        if let Some(with) = conflicts(&all, holder, pattern, mode).first() {
            return Err(conflict_error(pattern, with));
        }
    }
    let mut grants = Vec::new();
    for pattern in patterns {
        let mut extra = Record::new();
        extra.insert("type".into(), json!("files"));
        extra.insert("pattern".into(), json!(pattern));
        extra.insert("mode".into(), json!(mode.as_str()));
        if let Some(reason) = reason {
            extra.insert("reason".into(), json!(reason));
        }
        let key = key_for(pattern, mode, holder);
        grants.push(claims::claim_with(hub, &key, holder, ttl, &extra)?);
    }
    remember_tokens(hub, holder, &grants)?;
    Ok(grants)
}

fn tokens_rel(holder: &str) -> String {
    format!("{TOKENS}/{holder}.json")
}

/// Record the tokens granted to `holder`, for [`check_edit`]'s fencing check.
fn remember_tokens(hub: &Hub, holder: &str, grants: &[Grant]) -> Result<()> {
    hub.update_json(&tokens_rel(holder), |current| {
        let mut map = current.unwrap_or_default();
        for g in grants {
            map.insert(g.key.clone(), json!(g.token));
        }
        Ok((map, ()))
    })
}

fn forget_tokens(hub: &Hub, holder: &str, keys: &[String]) -> Result<()> {
    hub.update_json(&tokens_rel(holder), |current| {
        let mut map = current.unwrap_or_default();
        for k in keys {
            map.remove(k);
        }
        Ok((map, ()))
    })
}

fn known_tokens(hub: &Hub, holder: &str) -> Result<Record> {
    Ok(storage::read_json_object(&hub.file(&tokens_rel(holder))?)
        .ok()
        .flatten()
        .unwrap_or_default())
}

/// Release `holder`'s reservations of `patterns` (normalized), or all of them.
pub fn unreserve(
    hub: &Hub,
    holder: &str,
    patterns: &[String],
    force: Option<&str>,
) -> Result<Vec<claims::Released>> {
    ids::validate("session ID", holder)?;
    let all = list(hub, time::now())?;
    let chosen: Vec<&Reservation> = if patterns.is_empty() {
        all.iter().filter(|r| r.holder == holder).collect()
    } else {
        let mut chosen = Vec::new();
        for p in patterns {
            let mine: Vec<&Reservation> = all
                .iter()
                .filter(|r| &r.pattern == p && (r.holder == holder || force.is_some()))
                .collect();
            if mine.is_empty() {
                return Err(Error::NotFound {
                    what: "reservation",
                    name: format!("{p} (see `sessions reservations`)"),
                });
            }
            chosen.extend(mine);
        }
        chosen
    };
    let mut out = Vec::new();
    for r in chosen {
        match claims::release(hub, &r.key, holder, force) {
            Ok(released) => out.push(released),
            Err(Error::NotFound { .. }) => {} // released meanwhile
            Err(e) => return Err(e),
        }
    }
    let keys: Vec<String> = out.iter().map(|r| r.key.clone()).collect();
    forget_tokens(hub, holder, &keys)?;
    Ok(out)
}

/// The answer to "may `me` edit `path` now?".
#[derive(Debug, Clone, Serialize)]
pub struct EditCheck {
    pub path: String,
    pub allowed: bool,
    /// Why not, naming the holder, the reservation and its time left.
    pub reason: Option<String>,
    /// The reservations of others that cover the path and hold.
    pub blocking: Vec<Reservation>,
}

/// May `me` edit `path` (a [`normalize`]d plain path)? Not when an active reservation
/// of another session covers it in exclusive mode, nor when a reservation I was
/// granted and that covers it has been taken over (my fencing token is stale).
/// `me` may be unknown (`None`): then every active exclusive reservation blocks.
pub fn check_edit(hub: &Hub, me: Option<&str>, path: &str) -> Result<EditCheck> {
    let now = time::now();
    let all = list(hub, now)?;
    let blocking: Vec<Reservation> = all
        .iter()
        .filter(|r| r.active && Some(r.holder.as_str()) != me && r.mode == Mode::Exclusive)
        .filter(|r| covers(&r.pattern, path))
        .cloned()
        .collect();
    let mut reason = blocking.first().map(|r| {
        format!(
            "{path} is reserved by {} ({}): {}. Edit something else, or ask {} to release it \
             (sessions msg send --to {} ...)",
            r.holder,
            r.holder_liveness.as_str(),
            r.describe(),
            r.holder,
            r.holder
        )
    });
    if reason.is_none()
        && let Some(me) = me
    {
        for (key, token) in known_tokens(hub, me)? {
            let Some(token) = token.as_u64() else {
                continue;
            };
            let Some(current) = all.iter().find(|r| r.key == key) else {
                continue; // released: nothing to fence
            };
            if !covers(&current.pattern, path) {
                continue;
            }
            if let Err(e) = claims::check_fence(hub, &key, me, Some(token)) {
                reason = Some(format!(
                    "{path}: your reservation `{}` is no longer yours: {e}",
                    current.pattern
                ));
                break;
            }
        }
    }
    Ok(EditCheck {
        path: path.to_string(),
        allowed: reason.is_none(),
        reason,
        blocking,
    })
}

/// The reservations `holder` holds.
pub fn held(hub: &Hub, holder: &str) -> Result<Vec<Reservation>> {
    Ok(list(hub, time::now())?
        .into_iter()
        .filter(|r| r.holder == holder)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_overlap_both_ways() {
        for (a, b) in [
            ("src/**", "src/api/x.rs"),
            ("src/*.rs", "src/**"),
            ("src/api/**", "src/api/x.rs"),
            ("**", "README.md"),
            ("src/*/x.rs", "src/api/*.rs"),
            ("src/a?.rs", "src/*b.rs"),
            ("src/**/mod.rs", "src/a/b/c/**"),
            ("src/**", "src"),
            ("src/api", "src/api/x.rs"),
        ] {
            assert!(overlaps(a, b), "{a} vs {b}");
            assert!(overlaps(b, a), "{b} vs {a}");
        }
        for (a, b) in [
            ("src/web/**", "src/api/x.rs"),
            ("src/*.rs", "src/api/x.rs"),
            ("src/*.rs", "src/x.md"),
            ("docs/**", "src/**"),
            ("src/a?.rs", "src/abc.rs"),
        ] {
            assert!(!overlaps(a, b), "{a} vs {b}");
            assert!(!overlaps(b, a), "{b} vs {a}");
        }
    }
}
