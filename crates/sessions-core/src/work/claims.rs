//! Claims (leases) in `PRIORITIES/<key>.lock` (DESIGN §3.3).
//!
//! - A claim is created complete and exclusive ([`storage::create_exclusive`]: temp file
//!   + `link()`), so of any number of racing claimers exactly one wins.
//! - Every grant carries a fencing token from a per-hub counter (`.sessions/fence.json`)
//!   that only grows: it is bumped under a sidecar lock and written atomically (fsync)
//!   before the token is used, so a crash can waste a token but never hand one out twice.
//! - Every change to an existing lock file (renew, release, takeover) happens under the
//!   key's sidecar lock and re-reads the file inside it, so two takeovers of one stale
//!   claim cannot both win and a late release can never delete a successor's claim.
//! - A claim can be taken over only after `expires_at` + grace and only when the
//!   holder's heartbeat is no longer live; the takeover is posted on the board.
//!
//! Lock files keep the original scripts' fields (`milestone_id`/`priority_id`,
//! `session_id`, `claimed_at`, `type`), so the old `quick-status.sh` still lists them.
//! Files the old scripts wrote (no `expires_at`, no `token`) count as claims with the
//! default lease from `claimed_at`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::board::messages::Post;
use crate::sessions::liveness::{self, Liveness};
use crate::store::error::{Error, Result};
use crate::store::hub::{Hub, layout};
use crate::store::record::{self, Record};
use crate::store::scan::{self, Scan};
use crate::store::time::{self, Timestamp};
use crate::{store::ids, store::storage};

use crate::work::fence::next_token_unless;
pub use crate::work::fence::{
    CLONE_TAG_BITS, FENCE, ensure_clone_tag, highest_token, next_token, raise_token_floor,
};
use crate::work::pending::{self, Guard, Intent, Step};

/// One lock file, read tolerantly. Files of the original scripts have only
/// `{milestone_id|priority_id, session_id, claimed_at, type}`: they count as claims
/// with the default lease from `claimed_at`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Claim {
    pub key: String,
    pub holder: String,
    pub claimed_at: Option<String>,
    pub expires_at: Option<String>,
    pub token: Option<u64>,
    pub kind: Option<String>,
    /// Written by the original scripts: no lease and no token in the file.
    pub legacy: bool,
    #[serde(skip)]
    pub path: PathBuf,
    #[serde(skip)]
    pub record: Record,
}

impl Claim {
    pub fn from_record(hub: &Hub, key: &str, path: PathBuf, record: Record) -> Claim {
        // `session`/`time`: the lock files of the original PROTOCOLS guide.
        let claimed = record::timestamp(&record, &["claimed_at", "timestamp", "time"]);
        let written_expiry = record::timestamp(&record, &["expires_at"]);
        let expires =
            written_expiry.or_else(|| claimed.and_then(|c| c.checked_add_signed(chrono_ttl(hub))));
        let token = record.get("token").and_then(Value::as_u64);
        Claim {
            key: key.to_string(),
            holder: record::text(
                &record,
                &["session_id", "holder", "claimed_by", "owner", "session"],
            )
            .unwrap_or("unknown")
            .to_string(),
            claimed_at: claimed.map(time::format),
            expires_at: expires.map(time::format),
            legacy: written_expiry.is_none() && token.is_none(),
            token,
            kind: record::text(&record, &["type"]).map(str::to_string),
            path,
            record,
        }
    }

    pub fn expires(&self) -> Option<Timestamp> {
        self.expires_at.as_deref().and_then(time::parse_str)
    }
}

fn chrono_ttl(hub: &Hub) -> chrono::Duration {
    chrono::Duration::from_std(hub.config.claims.ttl).unwrap_or_default()
}

fn chrono_of(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// When a lease of `ttl` taken at `now` ends; an error when that time cannot be written
/// as an RFC 3339 timestamp (past year 9999), instead of an overflow panic.
fn lease_expiry(now: Timestamp, ttl: Duration) -> Result<Timestamp> {
    use chrono::Datelike;
    now.checked_add_signed(chrono_of(ttl))
        .filter(|t| t.year() <= 9999)
        .ok_or_else(|| {
            Error::Usage(format!(
                "a lease of {}s is too long: it would end after the year 9999",
                ttl.as_secs()
            ))
        })
}

/// `PRIORITIES/<key>.lock`, relative to the hub.
pub fn lock_rel(key: &str) -> String {
    format!("{}/{key}.lock", layout::PRIORITIES)
}

/// The claim key of a milestone.
pub fn milestone_key(id: &str) -> String {
    format!("milestone-{id}")
}

fn key_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Every claim in `PRIORITIES/`, sorted by key. A lock file that does not parse is an
/// error naming it.
pub fn list(hub: &Hub) -> Result<Vec<Claim>> {
    scan(hub)?.strict()
}

/// Every claim that parses, and a problem for each lock file that does not (a view
/// shows the others; the watcher keeps what it knew of a file caught mid-edit).
pub fn scan(hub: &Hub) -> Result<Scan<Claim>> {
    Ok(
        scan::json_records(hub, layout::PRIORITIES, ".lock")?.map(|(path, record)| {
            let key = key_of(&path);
            Claim::from_record(hub, &key, path, record)
        }),
    )
}

/// The claim on `key`, if any.
pub fn read(hub: &Hub, key: &str) -> Result<Option<Claim>> {
    ids::validate("claim key", key)?;
    let path = hub.file(&lock_rel(key))?;
    let Some(text) = storage::read_text(&path)? else {
        return Ok(None);
    };
    let record = storage::parse_json_object(&path, &text).map_err(|e| {
        with_hint(
            e,
            &format!(
                "a damaged lock file; remove it with `sessions release {key} --force --reason \"damaged lock\"`"
            ),
        )
    })?;
    Ok(Some(Claim::from_record(hub, key, path, record)))
}

fn with_hint(e: Error, hint: &str) -> Error {
    e.with_hint(hint)
}

/// When the lease of `claim` ends: `expires_at`, else `claimed_at` + the default TTL,
/// else the file's modification time + the default TTL.
/// Judged by this machine's sightings of the lock ([`liveness::judge_lease`]), so a
/// holder's fast clock cannot stretch it.
pub fn lease_end(hub: &Hub, claim: &Claim) -> Option<Timestamp> {
    let end = claim.expires().or_else(|| {
        let modified = std::fs::metadata(&claim.path).ok()?.modified().ok()?;
        Timestamp::from(modified).checked_add_signed(chrono_ttl(hub))
    })?;
    let ttl = claim
        .record
        .get("ttl_seconds")
        .and_then(Value::as_i64)
        .and_then(chrono::Duration::try_seconds)
        .unwrap_or_else(|| chrono_ttl(hub));
    let now = time::now();
    let seen = liveness::sighting(hub, &lock_rel(&claim.key), &claim.record, None, now);
    let offset = ids::validate("session ID", &claim.holder)
        .ok()
        .and_then(|_| liveness::clock_offset(hub, &claim.holder, now));
    Some(liveness::judge_lease(end, ttl, seen, offset))
}

/// How alive the holder of a claim is, by the one liveness rule. A heartbeat reached
/// through a symlink out of the hub is no heartbeat; a hub whose heartbeat folder
/// cannot be read knows nothing of the holder.
pub fn holder_liveness(hub: &Hub, holder: &str, now: Timestamp) -> Liveness {
    liveness::session_liveness(hub, holder, now).unwrap_or(Liveness::Unknown)
}

/// Why a claim cannot be taken over now, or `None` when it can.
pub fn takeover_blocker(hub: &Hub, claim: &Claim, now: Timestamp) -> Option<String> {
    takeover_blocker_by(hub, claim, now, |holder| holder_liveness(hub, holder, now))
}

/// [`takeover_blocker`] with the holder's liveness from the caller, who checks many
/// claims against one read of the heartbeats (a gone holder costs a scan of the
/// whole folder each time otherwise).
pub fn takeover_blocker_by(
    hub: &Hub,
    claim: &Claim,
    now: Timestamp,
    liveness_of: impl FnOnce(&str) -> Liveness,
) -> Option<String> {
    let grace = chrono_of(hub.config.claims.grace);
    if let Some(end) = lease_end(hub, claim)
        && end
            .checked_add_signed(grace)
            .is_none_or(|until| now <= until)
    {
        return Some(format!(
            "its lease runs until {} (+{}s grace)",
            time::format(end),
            hub.config.claims.grace.as_secs()
        ));
    }
    match liveness_of(&claim.holder) {
        Liveness::Live => Some(format!(
            "its lease expired but {} is still live (heartbeat)",
            claim.holder
        )),
        _ => None,
    }
}

/// A claim granted (new, renewed because it was already ours, or taken over).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Grant {
    pub key: String,
    pub holder: String,
    pub token: u64,
    pub claimed_at: String,
    pub expires_at: String,
    /// True when the caller already held the claim; it was renewed.
    pub already_held: bool,
    /// The stale claim this grant replaced.
    pub took_over_from: Option<Claim>,
    pub path: PathBuf,
    /// Things that went wrong after the grant (e.g. the board post failed).
    pub warnings: Vec<String>,
}

/// The fields of a new lock file: the original ones first, then the lease.
fn new_record(
    key: &str,
    holder: &str,
    token: u64,
    now: Timestamp,
    ttl: Duration,
) -> Result<Record> {
    let mut r = Record::new();
    if let Some(id) = key.strip_prefix("milestone-") {
        r.insert("milestone_id".into(), json!(id));
    } else if let Some(n) = key.strip_prefix("priority-") {
        r.insert("priority_id".into(), json!(n));
    }
    r.insert("session_id".into(), json!(holder));
    r.insert("claimed_at".into(), json!(time::format(now)));
    let kind = if key.starts_with("milestone-") {
        "milestone"
    } else if key.starts_with("priority-") {
        "priority"
    } else {
        "claim"
    };
    r.insert("type".into(), json!(kind));
    r.insert("key".into(), json!(key));
    r.insert("token".into(), json!(token));
    r.insert(
        "expires_at".into(),
        json!(time::format(lease_expiry(now, ttl)?)),
    );
    r.insert("ttl_seconds".into(), json!(ttl.as_secs()));
    r.insert("pid".into(), json!(std::process::id()));
    Ok(r)
}

fn grant_of(claim: Claim, already_held: bool) -> Grant {
    Grant {
        key: claim.key,
        holder: claim.holder,
        token: claim.token.unwrap_or(0),
        claimed_at: claim.claimed_at.unwrap_or_default(),
        expires_at: claim.expires_at.unwrap_or_default(),
        already_held,
        took_over_from: None,
        path: claim.path,
        warnings: Vec::new(),
    }
}

fn already_claimed(claim: &Claim) -> Error {
    Error::AlreadyClaimed {
        key: claim.key.clone(),
        holder: claim.holder.clone(),
        expires: claim.expires_at.clone(),
    }
}

/// Claim `key` for `holder` with a lease of `ttl` (default: `claims.ttl`). Exactly one
/// of any number of racing claimers wins; the others get [`Error::AlreadyClaimed`]
/// naming the holder. Claiming a key you already hold renews it.
pub fn claim(hub: &Hub, key: &str, holder: &str, ttl: Option<Duration>) -> Result<Grant> {
    claim_with(hub, key, holder, ttl, &Record::new())
}

/// [`claim`], writing `extra` fields into a new lock file (a file reservation's pattern
/// and mode); they survive renewals and are replaced on a takeover by the new ones.
pub fn claim_with(
    hub: &Hub,
    key: &str,
    holder: &str,
    ttl: Option<Duration>,
    extra: &Record,
) -> Result<Grant> {
    pending::finish_all(hub); // a takeover or release a crash left half done
    let grant = claim_unrecorded(hub, key, holder, ttl, extra)?;
    record_grant(hub, key, &grant.holder, grant.token)?;
    Ok(grant)
}

fn claim_unrecorded(
    hub: &Hub,
    key: &str,
    holder: &str,
    ttl: Option<Duration>,
    extra: &Record,
) -> Result<Grant> {
    ids::validate("claim key", key)?;
    ids::validate("session ID", holder)?;
    let asked_ttl = ttl;
    let ttl = ttl.unwrap_or(hub.config.claims.ttl);
    lease_expiry(time::now(), ttl)?; // before a token is spent on it
    crate::store::test_hooks::pause_point("claim"); // racing tests start here together
    let path = hub.file(&lock_rel(key))?;
    storage::ensure_dir(&hub.dir(layout::PRIORITIES)?)?;
    let mut last_seen = None;
    // A few rounds: the claim can be released between our look and our link.
    for _ in 0..16 {
        match read(hub, key)? {
            None => {
                let Some(token) = next_token_unless(hub, || path.exists())? else {
                    continue; // someone linked it while we waited for the counter
                };
                let now = time::now();
                let mut rec = new_record(key, holder, token, now, ttl)?;
                rec.extend(extra.clone());
                if storage::create_exclusive(&path, &storage::json_bytes(&rec))? {
                    return Ok(grant_of(
                        Claim::from_record(hub, key, path.clone(), rec),
                        false,
                    ));
                }
            }
            Some(c) if c.holder == holder => match renew(hub, key, holder, asked_ttl) {
                Ok(renewed) => return Ok(grant_of(renewed, true)),
                // Released (by this same session, elsewhere) since we looked: claim anew.
                Err(Error::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            },
            Some(c) => {
                if takeover_blocker(hub, &c, time::now()).is_some() {
                    return Err(already_claimed(&c));
                }
                if let Some(grant) = take_over(hub, key, holder, ttl, extra)? {
                    return Ok(grant);
                }
            }
        }
        last_seen = read(hub, key)?;
        if let Some(c) = &last_seen
            && c.holder != holder
            && takeover_blocker(hub, c, time::now()).is_some()
        {
            return Err(already_claimed(c));
        }
    }
    match last_seen {
        Some(c) => Err(already_claimed(&c)),
        None => Err(Error::Failed(format!(
            "{key}: the claim kept changing hands; try again"
        ))),
    }
}

/// Take over a stale claim: under the key's sidecar lock, re-read it, re-check that it
/// can be taken over, and replace it atomically. `Ok(None)` when the file vanished
/// meanwhile (the caller retries a fresh claim).
fn take_over(
    hub: &Hub,
    key: &str,
    holder: &str,
    ttl: Duration,
    extra: &Record,
) -> Result<Option<Grant>> {
    let rel = lock_rel(key);
    let path = hub.file(&rel)?;
    let guard = hub.lock(&rel)?;
    let Some(old) = read(hub, key)? else {
        return Ok(None);
    };
    let now = time::now();
    if old.holder == holder {
        drop(guard); // renew takes the same lock
        return renew(hub, key, holder, None).map(|c| Some(grant_of(c, true)));
    }
    if takeover_blocker(hub, &old, now).is_some() {
        return Err(already_claimed(&old));
    }
    let token = next_token(hub)?;
    let mut rec = new_record(key, holder, token, now, ttl)?;
    rec.extend(extra.clone());
    rec.insert(
        "taken_over_from".into(),
        json!({
            "session_id": old.holder,
            "token": old.token,
            "expires_at": old.expires_at,
        }),
    );
    let body = format!(
        "{holder} took over the claim `{key}` (new fencing token {token}) from {} \
         (token {}, lease ended {}; heartbeat not live).",
        old.holder,
        old.token.map_or("none".to_string(), |t| t.to_string()),
        old.expires_at.as_deref().unwrap_or("unknown"),
    );
    // The lock and the board post: an intent first, so a crash between them still
    // gets the takeover announced (once) by the next command.
    let intent = Intent::new(
        "claim-takeover",
        key,
        holder,
        Guard::ClaimHeld {
            key: key.to_string(),
            holder: holder.to_string(),
            token: Some(token),
        },
        vec![Step::post(Post {
            from: holder.to_string(),
            subject: Some(format!("🔓 Claim taken over: {key}")),
            priority: Some("high".into()),
            body,
            ..Post::default()
        })],
    );
    pending::begin(hub, &intent)?;
    if let Err(e) = storage::write_atomic(&path, &storage::json_bytes(&rec)) {
        pending::abandon(hub, &intent);
        return Err(e);
    }
    let mut grant = grant_of(Claim::from_record(hub, key, path, rec), false);
    grant.took_over_from = Some(old);
    drop(guard); // finishing takes the intent's lock, then this one: never hold both
    grant.warnings.extend(pending::finish(hub, &intent));
    Ok(Some(grant))
}

/// Like [`claim`], but wait up to `wait` for the key to become free.
pub fn claim_wait(
    hub: &Hub,
    key: &str,
    holder: &str,
    ttl: Option<Duration>,
    wait: Duration,
) -> Result<Grant> {
    let start = std::time::Instant::now();
    let first = claim(hub, key, holder, ttl);
    let Err(Error::AlreadyClaimed { .. }) = first else {
        return first;
    };
    // Waiters queue on a sidecar lock, so only the first in line polls the claim (and
    // can poll it often, which keeps the hand-over fast) while the others sleep.
    let queue_path = hub.file(&format!(
        "{}/{}%{key}.lock.wait",
        layout::LOCKS,
        layout::PRIORITIES
    ))?;
    let queue = storage::FileLock::acquire(&queue_path, wait.saturating_sub(start.elapsed()));
    if queue.is_err() {
        return claim(hub, key, holder, ttl); // waited long enough: answer as of now
    }
    loop {
        match claim(hub, key, holder, ttl) {
            Err(Error::AlreadyClaimed { .. }) if start.elapsed() < wait => {
                std::thread::sleep(
                    Duration::from_millis(1).min(wait.saturating_sub(start.elapsed())),
                );
            }
            other => return other,
        }
    }
}

/// Extend the lease of a claim `holder` holds, by `ttl` from now (default: the lease
/// length the claim was taken with, else `claims.ttl`). A claim written by the original
/// scripts gets a token on its first renewal.
pub fn renew(hub: &Hub, key: &str, holder: &str, ttl: Option<Duration>) -> Result<Claim> {
    ids::validate("claim key", key)?;
    let rel = lock_rel(key);
    let _guard = hub.lock(&rel)?;
    let Some(current) = read(hub, key)? else {
        return Err(Error::NotFound {
            what: "claim",
            name: key.to_string(),
        });
    };
    if current.holder != holder {
        return Err(Error::Refused(format!(
            "{key} is held by {}, not by {holder}; only the holder can renew it",
            current.holder
        )));
    }
    let now = time::now();
    if let Some(asked) = ttl {
        lease_expiry(now, asked)?;
    }
    // A lease length in the file that breaks the duration rule or that no timestamp can
    // hold (hand-edited: 0, 10^15) is ignored.
    let ttl = ttl
        .or_else(|| {
            let secs = current.record.get("ttl_seconds").and_then(Value::as_u64)?;
            Some(Duration::from_secs(secs))
                .filter(|d| time::check_duration(*d).is_ok() && lease_expiry(now, *d).is_ok())
        })
        .unwrap_or(hub.config.claims.ttl);
    let expires = lease_expiry(now, ttl)?;
    let mut rec = current.record.clone();
    if current.token.is_none() {
        rec.insert("token".into(), json!(next_token(hub)?));
    }
    rec.insert("expires_at".into(), json!(time::format(expires)));
    rec.insert("ttl_seconds".into(), json!(ttl.as_secs()));
    rec.insert("renewed_at".into(), json!(time::format(now)));
    storage::write_atomic(&current.path, &storage::json_bytes(&rec))?;
    Ok(Claim::from_record(hub, key, current.path.clone(), rec))
}

/// The claims `holder` holds. Lock files that do not parse are skipped: they cannot be
/// known to be the holder's, and one damaged file of another session must not stop a
/// heartbeat, `save-progress` or `release --all` (`claims` and `doctor` report it).
pub fn held(hub: &Hub, holder: &str) -> Result<Vec<Claim>> {
    let mut out = Vec::new();
    let needle = format!("\"{holder}\"");
    for path in hub.list(layout::PRIORITIES, ".lock")? {
        // Cheap filter first: most lock files belong to others.
        let Ok(Some(text)) = storage::read_text(&path) else {
            continue;
        };
        if !text.contains(&needle) {
            continue;
        }
        let Ok(record) = storage::parse_json_object(&path, &text) else {
            continue;
        };
        let key = key_of(&path);
        let claim = Claim::from_record(hub, &key, path, record);
        if claim.holder == holder {
            out.push(claim);
        }
    }
    Ok(out)
}

/// Renew every claim `holder` holds (called by heartbeats).
pub fn renew_held(hub: &Hub, holder: &str) -> Result<Vec<String>> {
    let mut renewed = Vec::new();
    for claim in held(hub, holder)? {
        let key = claim.key;
        match renew(hub, &key, holder, None) {
            Ok(_) => renewed.push(key),
            Err(Error::NotFound { .. } | Error::Refused(_) | Error::Parse { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(renewed)
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Released {
    pub key: String,
    pub holder: String,
    pub token: Option<u64>,
    pub forced: bool,
    pub reason: Option<String>,
}

/// Release a claim. Only the holder may, unless `force` gives a reason, which is posted
/// on the board. Forcing also removes a lock file that does not parse.
pub fn release(hub: &Hub, key: &str, by: &str, force: Option<&str>) -> Result<Released> {
    ids::validate("claim key", key)?;
    // A forced release a crash interrupted is finished first; re-running it answers.
    let finished = pending::finish_all(hub);
    if let (Some(reason), Some(done)) = (
        force,
        finished
            .iter()
            .find(|f| f.is("claim-force-release", key, by)),
    ) && !path_exists(hub, key)
    {
        let released = done.steps.iter().find_map(|s| match s {
            Step::ReleaseClaim { holder, token, .. } => Some(Released {
                key: key.to_string(),
                holder: holder.clone(),
                token: *token,
                forced: true,
                reason: Some(reason.to_string()),
            }),
            _ => None,
        });
        if let Some(released) = released {
            return Ok(released);
        }
    }
    let rel = lock_rel(key);
    let path = hub.file(&rel)?;
    let guard = hub.lock(&rel)?;
    let current = match read(hub, key) {
        Ok(c) => c,
        Err(Error::Parse { .. }) if force.is_some() => Some(Claim::from_record(
            hub,
            key,
            path.clone(),
            Record::from_iter([("session_id".to_string(), json!(DAMAGED_HOLDER))]),
        )),
        Err(e) => return Err(e),
    };
    let Some(current) = current else {
        return Err(Error::NotFound {
            what: "claim",
            name: key.to_string(),
        });
    };
    if current.holder != by && force.is_none() {
        return Err(Error::Refused(format!(
            "{key} is held by {}, not by {by}; only the holder can release it (or pass --force --reason \"...\")",
            current.holder
        )));
    }
    if let Some(reason) = force {
        hub.check_secrets("the reason", reason)?;
    }
    let released = Released {
        key: key.to_string(),
        holder: current.holder.clone(),
        token: current.token,
        forced: force.is_some() && current.holder != by,
        reason: force.map(str::to_string),
    };
    let (true, Some(reason)) = (released.forced, force) else {
        remove(&path)?;
        forget_grant(hub, key)?;
        return Ok(released);
    };
    // Removing the lock and telling the board: an intent first, so a crash between
    // them still gets the forced release announced, once.
    let intent = Intent::new(
        "claim-force-release",
        key,
        by,
        Guard::Always,
        vec![
            Step::ReleaseClaim {
                key: key.to_string(),
                holder: current.holder.clone(),
                token: current.token,
            },
            Step::post(forced_release_post(key, by, &current, reason)),
        ],
    );
    pending::begin(hub, &intent)?;
    remove(&path)?;
    forget_grant(hub, key)?;
    drop(guard); // finishing takes the intent's lock, then this one: never hold both
    match pending::finish(hub, &intent).into_iter().next() {
        None => Ok(released),
        Some(warning) => Err(Error::Failed(format!("{key} was released, but: {warning}"))),
    }
}

fn path_exists(hub: &Hub, key: &str) -> bool {
    hub.file(&lock_rel(key)).is_ok_and(|p| p.exists())
}

/// Who a forced release names as the holder of a lock file that did not parse.
const DAMAGED_HOLDER: &str = "unknown (damaged lock)";

/// The board message of a forced release.
pub fn forced_release_post(key: &str, by: &str, claim: &Claim, reason: &str) -> Post {
    Post {
        from: by.to_string(),
        subject: Some(format!("⚠️ Claim force-released: {key}")),
        priority: Some("high".into()),
        body: format!(
            "{by} force-released `{key}` held by {} (token {}). Reason: {reason}",
            claim.holder,
            claim.token.map_or("none".to_string(), |t| t.to_string())
        ),
        ..Post::default()
    }
}

/// Release `key` only while it is still the grant named (same holder and token): a
/// step of an operation that may run again after a crash, and must not release a
/// claim granted since. Returns whether it removed the lock.
pub fn release_grant(hub: &Hub, key: &str, holder: &str, token: Option<u64>) -> Result<bool> {
    ids::validate("claim key", key)?;
    let rel = lock_rel(key);
    let path = hub.file(&rel)?;
    let _guard = hub.lock(&rel)?;
    let same = match read(hub, key) {
        Ok(current) => current.is_some_and(|c| c.holder == holder && c.token == token),
        Err(Error::Parse { .. }) if holder == DAMAGED_HOLDER => true,
        Err(e) => return Err(e),
    };
    if same {
        remove(&path)?;
        forget_grant(hub, key)?;
    }
    Ok(same)
}

/// Release every claim `holder` holds (a session that ends).
pub fn release_all(hub: &Hub, holder: &str) -> Result<Vec<Released>> {
    let mut out = Vec::new();
    for claim in held(hub, holder)? {
        match release(hub, &claim.key, holder, None) {
            Ok(r) => out.push(r),
            Err(Error::NotFound { .. } | Error::Refused(_)) => {} // changed meanwhile
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn remove(path: &Path) -> Result<()> {
    storage::remove(path).map(|_| ())
}

/// The fencing check of a guarded write: `holder` must hold `key`, and the token it
/// presents (default: the one in the lock file) must be the current one.
pub fn check_fence(hub: &Hub, key: &str, holder: &str, token: Option<u64>) -> Result<Claim> {
    let Some(current) = read(hub, key)? else {
        return Err(Error::Refused(format!(
            "nobody holds {key}: claim it first (or pass --force){}",
            token.map_or(String::new(), |t| format!("; your token {t} is stale"))
        )));
    };
    let current_token = current.token.map_or("none".to_string(), |t| t.to_string());
    if current.holder != holder {
        return Err(Error::Refused(format!(
            "{key} is held by {} (token {current_token}), not by {holder}{}; claim it first (or pass --force)",
            current.holder,
            token.map_or(String::new(), |t| format!(": your token {t} is stale"))
        )));
    }
    if let Some(t) = token
        && current.token != Some(t)
    {
        return Err(Error::Refused(format!(
            "stale fencing token {t}: {key} now has token {current_token}"
        )));
    }
    Ok(current)
}

/// Where `sessions` remembers the claims it granted (`<key>.json`: holder, token), so a
/// lock an old script wrote over one of them (`cat >` after a check, no lock) is noticed.
const GRANTS: &str = ".sessions/grants";

fn record_grant(hub: &Hub, key: &str, holder: &str, token: u64) -> Result<()> {
    let dir = hub.dir(GRANTS)?;
    storage::ensure_dir(&dir)?;
    let rec = json!({ "key": key, "holder": holder, "token": token });
    storage::write_atomic(&dir.join(format!("{key}.json")), &storage::json_bytes(&rec))
}

fn forget_grant(hub: &Hub, key: &str) -> Result<()> {
    remove(&hub.dir(GRANTS)?.join(format!("{key}.json")))
}

/// A claim `sessions` granted whose lock file now says something else: an old script
/// wrote its own lock over it.
#[derive(Debug, Clone, Serialize)]
pub struct Overwritten {
    pub key: String,
    /// Who `sessions` had granted it to, and with which token.
    pub granted_to: String,
    pub granted_token: u64,
    /// Who the lock file names now.
    pub now_held_by: String,
}

/// Every granted claim whose lock was replaced under its holder. A grant whose lock is
/// gone (removed by hand, as the old guides say) is forgotten: nothing to protect.
pub fn overwritten(hub: &Hub) -> Result<Vec<Overwritten>> {
    let mut out = Vec::new();
    for path in hub.list(GRANTS, ".json")? {
        let Some(grant) = storage::read_json_object(&path).ok().flatten() else {
            continue;
        };
        let (Some(key), Some(holder), Some(token)) = (
            record::text(&grant, &["key"]),
            record::text(&grant, &["holder"]),
            grant.get("token").and_then(Value::as_u64),
        ) else {
            continue;
        };
        match read(hub, key) {
            Ok(None) => remove(&path)?,
            Ok(Some(c)) if c.holder == holder && c.token == Some(token) => {}
            // Renewed or taken over through `sessions` keeps a token: a newer token by
            // `sessions` means the record is just behind (it is rewritten on the grant).
            Ok(Some(c)) if c.token.is_some_and(|t| t >= token) => {}
            Ok(Some(c)) => out.push(Overwritten {
                key: key.to_string(),
                granted_to: holder.to_string(),
                granted_token: token,
                now_held_by: c.holder,
            }),
            Err(_) => {} // a lock that does not parse is doctor's finding already
        }
    }
    Ok(out)
}

/// A claim as `sessions claims` shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ClaimView {
    #[serde(flatten)]
    pub claim: Claim,
    pub holder_liveness: Liveness,
    pub age_secs: Option<i64>,
    /// Negative once the lease has ended.
    pub secs_left: Option<i64>,
    pub expired: bool,
    pub takeover_possible: bool,
    /// The session `sessions` granted this claim to, when an old script's lock has
    /// replaced it since.
    pub overwritten_from: Option<String>,
}

/// Every claim with holder liveness, age and time left.
pub fn views(hub: &Hub, now: Timestamp) -> Result<Vec<ClaimView>> {
    let replaced = overwritten(hub)?;
    Ok(list(hub)?
        .into_iter()
        .map(|claim| {
            let end = lease_end(hub, &claim);
            let age = claim
                .claimed_at
                .as_deref()
                .and_then(time::parse_str)
                .map(|t| (now - t).num_seconds());
            ClaimView {
                holder_liveness: holder_liveness(hub, &claim.holder, now),
                age_secs: age,
                secs_left: end.map(|e| (e - now).num_seconds()),
                expired: end.is_some_and(|e| e < now),
                takeover_possible: takeover_blocker(hub, &claim, now).is_none(),
                overwritten_from: replaced
                    .iter()
                    .find(|o| o.key == claim.key)
                    .map(|o| o.granted_to.clone()),
                claim,
            }
        })
        .collect())
}
