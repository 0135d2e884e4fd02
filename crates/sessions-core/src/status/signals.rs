//! Touch signals, `.<name>-updated` beside the status files.
//!
//! - [`touch`]: create the file or set its time to now (the original `touch`).
//! - [`list`]: the pending signals with their age.
//! - [`take`] / [`consume`]: destructive consumption. The signal is first renamed to a
//!   unique hidden name; rename is atomic, so of two consumers racing for the same
//!   signal exactly one gets it, and the other sees it gone.
//! - [`unseen`]: non-destructive following. Each session keeps a seen-record in
//!   `.sessions/signals-seen/<session>.json` (signal name -> the touch time it has
//!   handled), so several sessions each react once to the same touch.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;
use serde_json::{Map, Value};

pub use crate::status::folder::SIGNAL_SUFFIX;
use crate::status::folder::{STATUS_SUFFIX, StatusFiles};
use crate::store::error::{Error, Result};
use crate::store::time::{self, Timestamp};
use crate::{store::ids, store::storage};

/// A pending signal.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Signal {
    pub name: String,
    pub path: PathBuf,
    pub touched_at: String,
    pub age_secs: i64,
    /// The touch time in nanoseconds since the epoch: what tells one touch from the next.
    pub touched_ns: i128,
    /// The status file the signal belongs to (`<name>-status.md`), when it exists.
    pub status_file: Option<PathBuf>,
}

/// The signal name of a file name `.<name>-updated`.
pub fn name_of(file_name: &str) -> Option<&str> {
    let name = file_name.strip_prefix('.')?.strip_suffix(SIGNAL_SUFFIX)?;
    ids::validate("signal name", name).ok()
}

fn nanos(t: SystemTime) -> i128 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

fn timestamp_of(t: SystemTime) -> Timestamp {
    chrono::DateTime::<chrono::Utc>::from(t)
}

/// Touch `.<name>-updated`.
pub fn touch(files: &StatusFiles, name: &str) -> Result<PathBuf> {
    files.touch_signal(name)
}

/// A warning when no `<name>-status.md` exists for a signal (a probable typo), with the
/// near match among the projects that have one. The signal is still touched: a name
/// without a status file is allowed, just rarely meant.
pub fn unknown_name_warning(files: &StatusFiles, name: &str) -> Result<Option<String>> {
    // The common case, a known project, costs one stat; only a miss lists the folder.
    if files.path(name)?.is_file() {
        return Ok(None);
    }
    let projects = files.list()?;
    if projects.iter().any(|(p, _)| p == name) {
        return Ok(None);
    }
    let hint = ids::near_match(name, projects.iter().map(|(p, _)| p.as_str()))
        .map(|near| format!("; did you mean {near}?"))
        .unwrap_or_else(|| "; `sessions report show` lists the projects".into());
    Ok(Some(format!(
        "no status file {name}{}{hint}",
        crate::status::folder::STATUS_SUFFIX
    )))
}

/// Read one signal file's state; `None` when it is gone.
pub fn read(files: &StatusFiles, path: &Path) -> Result<Option<Signal>> {
    let Some(name) = path.file_name().and_then(|n| n.to_str()).and_then(name_of) else {
        return Ok(None);
    };
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    if !meta.is_file() {
        return Ok(None);
    }
    let modified = meta.modified().map_err(|e| Error::io(path, e))?;
    let at = timestamp_of(modified);
    let status = files.dir().join(format!("{name}{STATUS_SUFFIX}"));
    Ok(Some(Signal {
        name: name.to_string(),
        path: path.to_path_buf(),
        touched_at: time::format(at),
        age_secs: (time::now() - at).num_seconds(),
        touched_ns: nanos(modified),
        status_file: status.is_file().then_some(status),
    }))
}

/// Every pending signal, sorted by name.
pub fn list(files: &StatusFiles) -> Result<Vec<Signal>> {
    let mut out = Vec::new();
    for (file_name, path) in files.folder().entries("")? {
        if name_of(&file_name).is_none() {
            continue;
        }
        if let Some(signal) = read(files, &path)? {
            out.push(signal);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// A signal taken by one consumer: renamed to a unique hidden name. [`Taken::finish`]
/// deletes it (handled); [`Taken::restore`] puts it back (handling failed), unless the
/// signal was touched again meanwhile, in which case the new touch stands.
///
/// While taken, the held file is locked (flock) by its taker, so [`recover`] can tell a
/// signal held by a live consumer from one left behind by a consumer that was killed.
#[derive(Debug)]
pub struct Taken {
    pub signal: Signal,
    held: PathBuf,
    _lock: Option<fs::File>,
}

/// Held files are named `.<name>-updated.<unique>.taken`.
const TAKEN_SUFFIX: &str = ".taken";

/// How long a taker has, after its rename, to lock the held file before [`recover`]
/// may consider it abandoned.
const TAKE_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Put back the signals whose consumer died while holding them (SIGKILL during its
/// command): a held file nobody has locked for [`TAKE_GRACE`] is linked back to its
/// signal name (unless the signal was touched again meanwhile) and removed. The signal
/// is then pending again, to be handled again: at least once, never lost.
pub fn recover(files: &StatusFiles) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (file_name, held) in files.folder().entries("")? {
        // `.<name>-updated` + `.c-<time>-<random>` (the time has a `.` of its own).
        let Some(base) = file_name
            .strip_suffix(TAKEN_SUFFIX)
            .and_then(|n| n.rfind(".c-").map(|at| n[..at].to_string()))
        else {
            continue;
        };
        let Some(name) = name_of(&base) else { continue };
        let Ok(file) = storage::open_read(&held) else {
            continue;
        };
        if file.try_lock().is_err() {
            continue; // its consumer is alive
        }
        // ctime is the rename: a taker that has not locked it yet gets its grace.
        let renamed = fs::symlink_metadata(&held).ok().map(|m| {
            use std::os::unix::fs::MetadataExt;
            i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec())
        });
        let grace = TAKE_GRACE.as_nanos() as i128;
        if renamed.is_none_or(|c| nanos(SystemTime::now()) - c < grace) {
            continue;
        }
        let Ok(path) = files.signal_path(name) else {
            continue;
        };
        let _ = storage::link_back(&held, &path);
        let _ = storage::remove(&held);
        out.push(name.to_string());
    }
    Ok(out)
}

impl Taken {
    pub fn finish(self) -> Result<()> {
        storage::remove(&self.held).map(|_| ())
    }

    pub fn restore(self) -> Result<()> {
        // The link is not made when the name exists again: a newer touch wins, ours is
        // dropped.
        let _ = storage::link_back(&self.held, &self.signal.path);
        self.finish()
    }
}

/// Take `.<name>-updated` atomically. `Ok(None)` when no such signal is pending (or
/// another consumer took it first).
pub fn take(files: &StatusFiles, name: &str) -> Result<Option<Taken>> {
    let path = files.signal_path(name)?;
    let Some(signal) = read(files, &path)? else {
        return Ok(None);
    };
    let held = files.folder().resolve(&format!(
        ".{name}{SIGNAL_SUFFIX}.{}{TAKEN_SUFFIX}",
        ids::unique("c")
    ))?;
    if !storage::take(&path, &held)? {
        return Ok(None);
    }
    let lock = storage::open_read(&held).ok().filter(|f| f.lock().is_ok());
    Ok(Some(Taken {
        signal,
        held,
        _lock: lock,
    }))
}

/// Take and delete a signal in one go (`sessions consume`).
pub fn consume(files: &StatusFiles, name: &str) -> Result<Option<Signal>> {
    match take(files, name)? {
        Some(taken) => {
            let signal = taken.signal.clone();
            taken.finish()?;
            Ok(Some(signal))
        }
        None => Ok(None),
    }
}

fn seen_path(files: &StatusFiles, session: &str) -> Result<PathBuf> {
    ids::validate("session ID", session)?;
    files.private(&format!("signals-seen/{session}.json"))
}

/// The signals `session` has not handled yet (touched since it last saw them). With
/// `mark`, they are recorded as seen, under a lock, so a session that runs this twice
/// at once still reacts once.
pub fn unseen(files: &StatusFiles, session: &str, mark: bool) -> Result<Vec<Signal>> {
    let path = seen_path(files, session)?;
    let _lock = files.lock(&format!("signals-seen%{session}.json"))?;
    let mut seen = storage::read_json_object(&path)?.unwrap_or_default();
    let pending: Vec<Signal> = list(files)?
        .into_iter()
        .filter(|s| {
            seen.get(&s.name)
                .and_then(Value::as_str)
                .and_then(|v| v.parse::<i128>().ok())
                .is_none_or(|ns| ns < s.touched_ns)
        })
        .collect();
    if mark && !pending.is_empty() {
        for s in &pending {
            seen.insert(s.name.clone(), Value::String(s.touched_ns.to_string()));
        }
        if let Some(dir) = path.parent() {
            storage::ensure_dir(dir)?;
        }
        storage::write_atomic(&path, &storage::json_bytes(&seen))?;
    }
    Ok(pending)
}

/// Record one signal touch as seen by `session` (used by `sessions watch --follow`).
pub fn mark_seen(files: &StatusFiles, session: &str, signal: &Signal) -> Result<()> {
    let path = seen_path(files, session)?;
    let _lock = files.lock(&format!("signals-seen%{session}.json"))?;
    let mut seen: Map<String, Value> = storage::read_json_object(&path)?.unwrap_or_default();
    let newer = seen
        .get(&signal.name)
        .and_then(Value::as_str)
        .and_then(|v| v.parse::<i128>().ok())
        .is_some_and(|ns| ns >= signal.touched_ns);
    if !newer {
        seen.insert(
            signal.name.clone(),
            Value::String(signal.touched_ns.to_string()),
        );
        if let Some(dir) = path.parent() {
            storage::ensure_dir(dir)?;
        }
        storage::write_atomic(&path, &storage::json_bytes(&seen))?;
    }
    Ok(())
}
