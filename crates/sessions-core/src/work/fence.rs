//! The fencing counter, `.sessions/fence.json`: one token per grant, only growing, never
//! given twice even across crashes (DESIGN §3.3). Claims take their tokens from here;
//! guarded writes compare them (`claims::check_fence`).

use serde_json::{Value, json};

use crate::store::error::{Error, Result};
use crate::store::hub::{Hub, layout};
use crate::store::storage;
use crate::store::time;

/// The per-hub fencing counter (private, git-ignored state).
pub const FENCE: &str = ".sessions/fence.json";

/// The next fencing token: the per-hub counter, bumped under its lock and replaced
/// atomically (rename), so no token is ever given twice, even across crashes. Tokens
/// are handed out only below a ceiling that was written with fsync; within it, a
/// process crash loses nothing (the page cache survives it) and an OS crash is detected
/// by the boot ID, after which counting resumes above the ceiling. A missing counter is
/// seeded from the highest token still on disk.
pub fn next_token(hub: &Hub) -> Result<u64> {
    next_token_unless(hub, || false).map(|t| t.expect("no condition"))
}

/// [`next_token`], unless `taken()` turns true once we hold the counter's lock (then
/// `None`). Racing claimers queue on that lock; checking that the key is still free
/// after the wait spares the losers a counter write (and its two fsyncs).
pub(crate) fn next_token_unless(hub: &Hub, taken: impl FnOnce() -> bool) -> Result<Option<u64>> {
    let _guard = hub.lock(FENCE)?;
    if taken() {
        return Ok(None);
    }
    let path = hub.file(FENCE)?;
    let boot = boot_id();
    let mut clone_tag = None;
    let damaged = |e| {
        Error::with_hint(
            e,
            "a damaged fencing counter; remove the file: counting restarts above the highest token on disk",
        )
    };
    let (mut last, ceiling, same_boot) = match storage::read_json_object(&path).map_err(damaged)? {
        Some(r) => {
            let number = |field: &str| match r.get(field) {
                None => Ok(None),
                Some(v) => v.as_u64().map(Some).ok_or_else(|| Error::Parse {
                    path: path.clone(),
                    line: 1,
                    column: 1,
                    message: format!(
                        "\"{field}\" must be a non-negative integer; the counter was left unchanged"
                    ),
                }),
            };
            let last = number("last_token")
                .map_err(damaged)?
                .ok_or_else(|| Error::Parse {
                    path: path.clone(),
                    line: 1,
                    column: 1,
                    message: "\"last_token\" is missing; the counter was left unchanged".into(),
                })
                .map_err(damaged)?;
            let ceiling = number("ceiling").map_err(damaged)?.unwrap_or(last);
            let same_boot =
                boot.is_some() && r.get("boot_id").and_then(Value::as_str) == boot.as_deref();
            clone_tag = r.get("clone_tag").and_then(Value::as_u64);
            (last, ceiling, same_boot)
        }
        None => {
            let floor = highest_token_on_disk(hub);
            (floor, floor, false)
        }
    };
    if !same_boot {
        // The machine may have crashed since the last write: tokens up to the durable
        // ceiling may have been handed out without reaching the disk. Skip them all.
        last = last.max(ceiling);
    }
    let next = last.checked_add(1).ok_or_else(|| {
        damaged(Error::Parse {
            path: path.clone(),
            line: 1,
            column: 1,
            message: format!("no token is left above {last}; the counter was left unchanged"),
        })
    })?;
    if same_boot && next <= ceiling {
        // Within the durable reservation: a rename without fsync is enough, because
        // only an OS crash loses it, and that changes the boot ID.
        let mut doc = json!({
            "last_token": next,
            "ceiling": ceiling,
            "boot_id": boot,
            "updated_at": time::format(time::now()),
        });
        if let Some(tag) = clone_tag {
            doc["clone_tag"] = json!(tag);
        }
        storage::write_replace_unsynced(&path, &storage::json_bytes(&doc))?;
    } else {
        // Reserve a batch durably (fsync) before handing out its first token. Without a
        // boot ID to detect crashes, every token is made durable on its own.
        let ceiling = if boot.is_some() {
            next.saturating_add(TOKEN_BATCH)
        } else {
            next
        };
        let mut doc = json!({
            "last_token": next,
            "ceiling": ceiling,
            "boot_id": boot,
            "updated_at": time::format(time::now()),
        });
        if let Some(tag) = clone_tag {
            doc["clone_tag"] = json!(tag);
        }
        storage::write_atomic(&path, &storage::json_bytes(&doc))?;
    }
    Ok(Some(match clone_tag {
        Some(tag) => (next << CLONE_TAG_BITS) | (tag & CLONE_TAG_MASK),
        None => next,
    }))
}

/// A git clone of a shared hub has its own counter (`.sessions/` is not committed). Its
/// tokens carry the clone's tag in their low bits, so a token handed out on one clone
/// is never handed out for any key on another (tags are random: two clones share one
/// with odds of 1 in 65,535), and the counter in the high bits keeps them ordered.
pub const CLONE_TAG_BITS: u32 = 16;
const CLONE_TAG_MASK: u64 = (1 << CLONE_TAG_BITS) - 1;

/// Give this hub's counter a clone tag (kept when it has one). Returns the tag.
pub fn ensure_clone_tag(hub: &Hub, fresh_tag: impl FnOnce() -> u64) -> Result<u64> {
    let _guard = hub.lock(FENCE)?;
    let path = hub.file(FENCE)?;
    let mut doc = storage::read_json_object(&path)?.unwrap_or_default();
    if let Some(tag) = doc.get("clone_tag").and_then(Value::as_u64) {
        return Ok(tag);
    }
    let tag = (fresh_tag() & CLONE_TAG_MASK).max(1);
    if !doc.contains_key("last_token") {
        doc.insert(
            "last_token".into(),
            json!(highest_token_on_disk(hub) >> CLONE_TAG_BITS),
        );
    }
    doc.insert("clone_tag".into(), json!(tag));
    storage::write_atomic(&path, &storage::json_bytes(&doc))?;
    Ok(tag)
}

/// Raise the counter so that every later token is above `token` (one seen in a merge
/// from another clone): fencing checks stay meaningful across clones.
pub fn raise_token_floor(hub: &Hub, token: u64) -> Result<()> {
    let _guard = hub.lock(FENCE)?;
    let path = hub.file(FENCE)?;
    let mut doc = storage::read_json_object(&path)?.unwrap_or_default();
    let tagged = doc.get("clone_tag").and_then(Value::as_u64).is_some();
    let floor = if tagged {
        token >> CLONE_TAG_BITS
    } else {
        token
    };
    let last = doc.get("last_token").and_then(Value::as_u64).unwrap_or(0);
    if last >= floor && doc.contains_key("last_token") {
        return Ok(());
    }
    let ceiling = doc.get("ceiling").and_then(Value::as_u64).unwrap_or(0);
    doc.insert("last_token".into(), json!(floor.max(last)));
    doc.insert("ceiling".into(), json!(ceiling.max(floor)));
    storage::write_atomic(&path, &storage::json_bytes(&doc))?;
    Ok(())
}

/// The highest token in any lock file or milestone of the hub.
pub fn highest_token(hub: &Hub) -> u64 {
    highest_token_on_disk(hub)
}

/// How many tokens one durable write of the counter reserves.
const TOKEN_BATCH: u64 = 1024;

/// The kernel's boot ID: it changes on every boot, so a counter written in the same
/// boot cannot have lost a write that was not fsynced.
fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The highest token in any lock file or milestone (`fence_token`): the floor for a
/// counter that was lost (`.sessions/` is not committed).
fn highest_token_on_disk(hub: &Hub) -> u64 {
    let mut max = 0;
    for (dir, ext, field) in [
        (layout::PRIORITIES, ".lock", "token"),
        (layout::MILESTONES, ".json", "fence_token"),
    ] {
        for path in hub.list(dir, ext).unwrap_or_default() {
            if let Ok(Some(r)) = storage::read_json_object(&path) {
                max = max.max(r.get(field).and_then(Value::as_u64).unwrap_or(0));
            }
        }
    }
    max
}
