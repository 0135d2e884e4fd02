//! Operations that write several hub files, finished exactly once even across a crash.
//!
//! A command that must write more than one file (a milestone completion: the milestone,
//! the claim, CURRENT_STATE.md, the board) first writes a small *intent*,
//! `.sessions/pending/<op>.json`, naming every step still to do. It then does the steps
//! and removes the intent last. Each step is idempotent (a board post carries an ID
//! chosen up front and is appended only when the board lacks it; the CURRENT_STATE line
//! is fixed up front and added only when missing; a claim is released only while it is
//! still the same grant), so running the steps again — by the next command that touches
//! the hub's work ([`finish_all`]) or `doctor --fix` — completes what a SIGKILL
//! interrupted, and never does anything twice.
//!
//! An intent written before the operation's first write (inside that write's lock)
//! carries a [`Guard`]: the fact that proves that first write happened. When a crash
//! came between the intent and that write, the guard does not hold, the operation never
//! happened, and the intent is dropped.
//!
//! Rule for callers: call [`finish`] holding no other lock (recovery takes the intent's
//! lock, then the guard's file lock; the reverse order would deadlock).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::board::messages::{self, Post};
use crate::store::error::{Error, Result};
use crate::store::hub::Hub;
use crate::store::time;
use crate::store::{ids, record, storage};

/// Where intents live (machine-local state, never committed).
pub const PENDING: &str = ".sessions/pending";

/// How many operation IDs a milestone keeps in its `op_log` (the guard of its intents).
const OP_LOG_KEEP: usize = 8;

/// One multi-file operation still to finish.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Intent {
    /// `op-<unique>`: the file name, and what the guard looks for.
    pub op: String,
    /// `milestone-complete`, `milestone-handoff`, `collab-<action>`, `claim-force-release`,
    /// `claim-takeover`.
    pub kind: String,
    /// The milestone, request or claim key it is about.
    pub target: String,
    pub by: String,
    pub created_at: String,
    pub guard: Guard,
    pub steps: Vec<Step>,
}

/// What proves the operation's first write happened.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Guard {
    /// The intent was written after the decision was taken (under the lock the first
    /// write is made under): the steps are to be done whatever happened since.
    Always,
    /// `MILESTONES/<id>.json` lists the operation in its `op_log`.
    MilestoneLogged { id: String },
    /// A history entry of `COLLABORATIONS/<id>.json` carries the operation's ID.
    CollabLogged { id: String },
    /// The claim's lock file names this holder and token.
    ClaimHeld {
        key: String,
        holder: String,
        token: Option<u64>,
    },
}

/// One idempotent step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Release `key` if it is still this grant (same holder and token).
    ReleaseClaim {
        key: String,
        holder: String,
        token: Option<u64>,
    },
    /// Add this exact line to CURRENT_STATE.md's "Recently completed" unless it is there.
    RecordCompleted {
        by: String,
        item: String,
        at: String,
    },
    /// Post this message with this ID unless the board holds the ID.
    Post {
        id: String,
        from: String,
        to: Vec<String>,
        subject: Option<String>,
        priority: Option<String>,
        reply_to: Option<String>,
        body: String,
    },
}

impl Step {
    /// A board post step with a fresh message ID.
    pub fn post(post: Post) -> Step {
        Step::Post {
            id: ids::unique("m"),
            from: post.from,
            to: post.to,
            subject: post.subject,
            priority: post.priority,
            reply_to: post.reply_to,
            body: post.body,
        }
    }

    fn describe(&self) -> String {
        match self {
            Step::ReleaseClaim { key, .. } => format!("the claim {key} was not released"),
            Step::RecordCompleted { .. } => "CURRENT_STATE.md was not updated".into(),
            Step::Post { id, .. } => format!("the board message {id} was not posted"),
        }
    }

    /// The message ID of a post step.
    pub fn message_id(&self) -> Option<&str> {
        match self {
            Step::Post { id, .. } => Some(id),
            _ => None,
        }
    }
}

impl Intent {
    pub fn new(kind: &str, target: &str, by: &str, guard: Guard, steps: Vec<Step>) -> Intent {
        Intent {
            op: ids::unique("op"),
            kind: kind.to_string(),
            target: target.to_string(),
            by: by.to_string(),
            created_at: time::format(time::now()),
            guard,
            steps,
        }
    }

    fn rel(&self) -> String {
        rel_of(&self.op)
    }

    /// The pause point of write `k` of this operation (`<kind>-<k>`, test builds; see
    /// [`crate::store::test_hooks::pause_point`]). Write 0 is the intent itself; the
    /// operation's own first write is 1; the steps follow.
    pub fn pause(&self, k: usize) {
        crate::store::test_hooks::pause_point(&format!("{}-{k}", self.kind));
    }
}

fn rel_of(op: &str) -> String {
    format!("{PENDING}/{op}.json")
}

/// Write the intent durably. Call it before the operation's first write, inside the
/// lock that write is made under when the intent has a guard.
pub fn begin(hub: &Hub, intent: &Intent) -> Result<()> {
    ids::validate("operation ID", &intent.op)?;
    storage::ensure_dir(&hub.dir(PENDING)?)?;
    storage::write_atomic(&hub.file(&intent.rel())?, &storage::json_bytes(intent))?;
    intent.pause(1);
    Ok(())
}

/// Drop an intent whose operation was refused or failed before its first write.
pub fn abandon(hub: &Hub, intent: &Intent) {
    if let Ok(path) = hub.file(&intent.rel()) {
        let _ = storage::remove(&path);
    }
}

/// What finishing one intent did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Finished {
    pub op: String,
    pub kind: String,
    pub target: String,
    pub by: String,
    pub steps: Vec<Step>,
    /// False when the guard showed the operation never made its first write (dropped).
    pub happened: bool,
    /// False when a step failed in a way worth another try: the intent stays.
    pub done: bool,
    /// The steps that failed, each with why.
    pub warnings: Vec<String>,
}

impl Finished {
    /// Whether this is a `kind` operation on `target` by `by` that had happened: what a
    /// re-run of the interrupted command recognises as its own, now finished.
    pub fn is(&self, kind: &str, target: &str, by: &str) -> bool {
        self.happened && self.kind == kind && self.target == target && self.by == by
    }
}

/// Do the steps of an intent this process just began (after the operation's first
/// write), then remove it. Returns a warning for each step that failed; when one may
/// succeed later, the intent stays for the next command or `doctor --fix`.
pub fn finish(hub: &Hub, intent: &Intent) -> Vec<String> {
    match finish_one(hub, &intent.op, false) {
        Ok(done) => done.map(|d| d.warnings).unwrap_or_default(),
        Err(e) => vec![format!(
            "{} of {} is not finished ({e}); the next command or `sessions doctor --fix` finishes it",
            intent.kind, intent.target
        )],
    }
}

/// Finish every intent left by an interrupted command. Failures leave the intent for
/// later (and `doctor` reports it); what was finished is returned.
pub fn finish_all(hub: &Hub) -> Vec<Finished> {
    let Ok(paths) = hub.list(PENDING, ".json") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for path in paths {
        let op = crate::store::scan::stem(&path);
        if let Ok(Some(done)) = finish_one(hub, &op, true)
            && done.done
        {
            out.push(done);
        }
    }
    out
}

/// Under the intent's lock: re-read it (another process may have finished it), check
/// its guard, do its steps, remove it. `Ok(None)` when there was nothing to do.
fn finish_one(hub: &Hub, op: &str, check_guard: bool) -> Result<Option<Finished>> {
    ids::validate("operation ID", op)?;
    let rel = rel_of(op);
    let path = hub.file(&rel)?;
    let _lock = hub.lock(&rel)?;
    let Some(text) = storage::read_text(&path)? else {
        return Ok(None);
    };
    let intent: Intent = serde_json::from_str(&text).map_err(|e| Error::Parse {
        path: path.clone(),
        line: e.line(),
        column: e.column(),
        message: format!("not an operation intent ({e}); look at it, then remove it"),
    })?;
    let happened = !check_guard || guard_holds(hub, &intent)?;
    let mut warnings = Vec::new();
    let mut retry = false;
    if happened {
        // Every step is tried, even after one failed: they do not depend on each other.
        for (i, step) in intent.steps.iter().enumerate() {
            intent.pause(i + 2);
            if let Err(e) = run(hub, step) {
                // An I/O error or a busy lock is worth another try later: the intent
                // stays. Anything else would fail the same way every time: skipped.
                let again = matches!(e, Error::Io { .. } | Error::LockTimeout { .. });
                retry |= again;
                warnings.push(format!(
                    "{}: {e}{}",
                    step.describe(),
                    if again {
                        " (the next command, or `sessions doctor --fix`, tries again)"
                    } else {
                        ""
                    }
                ));
            }
        }
        intent.pause(intent.steps.len() + 2);
    }
    if retry {
        return Ok(Some(Finished {
            op: intent.op,
            kind: intent.kind,
            target: intent.target,
            by: intent.by,
            steps: intent.steps,
            happened,
            done: false,
            warnings,
        }));
    }
    storage::remove(&path)?;
    Ok(Some(Finished {
        op: intent.op,
        kind: intent.kind,
        target: intent.target,
        by: intent.by,
        steps: intent.steps,
        happened,
        done: true,
        warnings,
    }))
}

fn guard_holds(hub: &Hub, intent: &Intent) -> Result<bool> {
    match &intent.guard {
        Guard::Always => Ok(true),
        Guard::MilestoneLogged { id } => {
            let rel = format!("{}/{id}.json", crate::store::hub::layout::MILESTONES);
            let _lock = hub.lock(&rel)?;
            let rec = storage::read_json_object(&hub.file(&rel)?)?;
            Ok(rec.is_some_and(|r| record::list(&r, &["op_log"]).contains(&intent.op)))
        }
        Guard::CollabLogged { id } => {
            let rel = format!("{}/{id}.json", crate::store::hub::layout::COLLABORATIONS);
            let _lock = hub.lock(&rel)?;
            let rec = storage::read_json_object(&hub.file(&rel)?)?;
            Ok(rec
                .and_then(|r| r.get("history").and_then(Value::as_array).cloned())
                .is_some_and(|h| {
                    h.iter()
                        .any(|e| e.get("op").and_then(Value::as_str) == Some(intent.op.as_str()))
                }))
        }
        Guard::ClaimHeld { key, holder, token } => {
            let _lock = hub.lock(&crate::work::claims::lock_rel(key))?;
            Ok(crate::work::claims::read(hub, key)?
                .is_some_and(|c| &c.holder == holder && c.token == *token))
        }
    }
}

fn run(hub: &Hub, step: &Step) -> Result<()> {
    match step {
        Step::ReleaseClaim { key, holder, token } => {
            crate::work::claims::release_grant(hub, key, holder, *token).map(|_| ())
        }
        Step::RecordCompleted { by, item, at } => {
            crate::work::current_state::record_completed_once(
                hub,
                by,
                item,
                at,
                hub.config.current_state.keep_completed,
            )
            .map(|_| ())
        }
        Step::Post {
            id,
            from,
            to,
            subject,
            priority,
            reply_to,
            body,
        } => messages::post_once(
            hub,
            &Post {
                from: from.clone(),
                to: to.clone(),
                subject: subject.clone(),
                priority: priority.clone(),
                reply_to: reply_to.clone(),
                body: body.clone(),
            },
            id,
        )
        .map(|_| ()),
    }
}

/// Record operation `op` in a milestone record's `op_log` (the guard of its intent).
pub fn log_in_milestone(r: &mut record::Record, op: &str) {
    let mut log = record::list(r, &["op_log"]);
    log.push(op.to_string());
    let skip = log.len().saturating_sub(OP_LOG_KEEP);
    record::set_list(r, "op_log", &log[skip..]);
}

/// An intent file and what it holds (or why it does not parse), for `doctor`.
pub struct Unfinished {
    pub path: PathBuf,
    pub intent: Result<Intent>,
}

/// Every intent in `.sessions/pending/`.
pub fn unfinished(hub: &Hub) -> Result<Vec<Unfinished>> {
    let mut out = Vec::new();
    for path in hub.list(PENDING, ".json")? {
        let intent = storage::read_text(&path).and_then(|t| {
            let text = t.unwrap_or_default();
            serde_json::from_str::<Intent>(&text).map_err(|e| Error::Parse {
                path: path.clone(),
                line: e.line(),
                column: e.column(),
                message: format!("not an operation intent ({e})"),
            })
        });
        out.push(Unfinished { path, intent });
    }
    Ok(out)
}
