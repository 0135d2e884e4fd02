//! Milestones in `MILESTONES/<id>.json`, in the original format: create, add a step,
//! claim, update a step, block, hand off, and the "ready" view (DESIGN §3.3).
//!
//! Every change is a read-modify-write under the milestone's sidecar lock that re-reads
//! the file inside the lock, so concurrent step updates never lose one. A file that
//! does not parse is never written. Step updates are guarded by the claim
//! `milestone-<id>`: only its holder with the current fencing token may write, unless
//! `force`. The update that completes the last step completes the milestone, and since
//! that decision is taken inside the lock it happens exactly once.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Value, json};

use crate::board::messages::Post;
use crate::sessions::liveness::Liveness;
use crate::store::error::{Error, Result};
use crate::store::hub::{Hub, layout};
use crate::store::record::{self, Record};
use crate::store::scan::{self, Scan};
use crate::store::time::{self, Timestamp};
use crate::work::claims::{self, Grant, Released};
use crate::work::pending::{self, Guard, Intent, Step};
use crate::{store::ids, store::storage, work::current_state};

/// Statuses a step can have.
pub const STEP_STATUSES: &[&str] = &["pending", "in_progress", "completed", "blocked"];
/// Milestone priorities, highest first.
pub const PRIORITIES: &[&str] = &["HIGH", "MEDIUM", "LOW"];

/// A milestone file, read tolerantly; the whole record is kept for rewrites.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Milestone {
    /// The file name without `.json`.
    pub id: String,
    pub title: String,
    pub priority: String,
    pub owner: Option<String>,
    pub status: String,
    pub progress: u8,
    pub steps_total: usize,
    pub steps_done: usize,
    #[serde(skip)]
    pub path: PathBuf,
    #[serde(skip)]
    pub record: Record,
}

impl Milestone {
    pub fn from_record(id: &str, path: PathBuf, record: Record) -> Milestone {
        let steps = record.get("steps").and_then(Value::as_array);
        let steps_total = steps.map_or(0, Vec::len);
        let steps_done = steps.map_or(0, |s| s.iter().filter(|s| step_done(s)).count());
        let progress = record
            .get("progress")
            .and_then(Value::as_f64)
            .map(|p| p.clamp(0.0, 100.0) as u8)
            .unwrap_or(0);
        Milestone {
            // The file name, not `milestone_id`: it is what every command takes, and a
            // file copied from another keeps that one's `milestone_id`.
            id: id.to_string(),
            title: record::text(&record, &["title", "name"])
                .unwrap_or(id)
                .to_string(),
            priority: record::text(&record, &["priority"])
                .unwrap_or("MEDIUM")
                .to_ascii_uppercase(),
            owner: record::text(&record, &["owner"])
                .filter(|o| *o != "available" && *o != "none")
                .map(str::to_string),
            status: record::text(&record, &["status"])
                .unwrap_or("pending")
                .to_string(),
            progress,
            steps_total,
            steps_done,
            path,
            record,
        }
    }

    pub fn is_open(&self) -> bool {
        !matches!(self.status.as_str(), "completed" | "abandoned")
    }

    /// 0 for HIGH, 1 for MEDIUM, 2 for LOW, 3 for anything else.
    pub fn priority_rank(&self) -> usize {
        priority_rank(&self.priority)
    }

    pub fn next_session_should(&self) -> Vec<String> {
        record::list(&self.record, &["next_session_should"])
    }

    pub fn handoff_notes(&self) -> Option<&str> {
        record::text(&self.record, &["handoff_notes"])
    }
}

pub fn priority_rank(priority: &str) -> usize {
    PRIORITIES
        .iter()
        .position(|p| p.eq_ignore_ascii_case(priority))
        .unwrap_or(PRIORITIES.len())
}

fn step_done(step: &Value) -> bool {
    step.get("status").and_then(Value::as_str) == Some("completed")
}

fn rel(id: &str) -> String {
    format!("{}/{id}.json", layout::MILESTONES)
}

fn stem(path: &std::path::Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Every milestone in `MILESTONES/`, sorted by file name. A file that does not parse
/// is an error naming it.
pub fn list(hub: &Hub) -> Result<Vec<Milestone>> {
    scan(hub)?.strict()
}

/// Every milestone that parses, and a problem for each file that does not.
pub fn scan(hub: &Hub) -> Result<Scan<Milestone>> {
    Ok(
        scan::json_records(hub, layout::MILESTONES, ".json")?.map(|(path, record)| {
            let id = stem(&path);
            Milestone::from_record(&id, path, record)
        }),
    )
}

/// One milestone by ID (its file name without `.json`).
pub fn read(hub: &Hub, id: &str) -> Result<Milestone> {
    ids::validate("milestone ID", id)?;
    let path = hub.file(&rel(id))?;
    let record = storage::read_json_object(&path)?.ok_or_else(|| Error::NotFound {
        what: "milestone",
        name: format!("{id} (no {})", path.display()),
    })?;
    Ok(Milestone::from_record(id, path, record))
}

/// Locked read-modify-write of an existing milestone. Nothing is written when the file
/// does not parse or `f` fails.
fn modify<T>(
    hub: &Hub,
    id: &str,
    f: impl FnOnce(&mut Record) -> Result<T>,
) -> Result<(Milestone, T)> {
    ids::validate("milestone ID", id)?;
    let rel = rel(id);
    let path = hub.file(&rel)?;
    let (record, out) = hub.update_json(&rel, |current| {
        let mut record = current.ok_or_else(|| Error::NotFound {
            what: "milestone",
            name: format!("{id} (no {})", path.display()),
        })?;
        steps_of(&path, &mut record)?;
        let out = f(&mut record)?;
        record.insert("updated_at".into(), json!(time::format(time::now())));
        Ok((record.clone(), (record, out)))
    })?;
    Ok((Milestone::from_record(id, path, record), out))
}

/// The `steps` array (created when missing). A step written as a plain string (by
/// hand) becomes a pending step with that description; anything else is a data error.
/// Where step `number` is in `steps`: the step whose `"step"` field is that number, else
/// the `number`-th one (old-script files may carry no numbers). The one rule for naming a
/// step, used by updates and by what checks or restores them.
fn step_index(steps: &[Value], number: u64) -> Option<usize> {
    steps
        .iter()
        .position(|s| s.get("step").and_then(Value::as_u64) == Some(number))
        .or_else(|| {
            let i = usize::try_from(number).ok()?.checked_sub(1)?;
            (i < steps.len()).then_some(i)
        })
}

fn steps_of<'a>(path: &std::path::Path, record: &'a mut Record) -> Result<&'a mut Vec<Value>> {
    let steps = record.entry("steps").or_insert_with(|| json!([]));
    if let Value::Array(a) = steps {
        for (i, step) in a.iter_mut().enumerate() {
            if let Value::String(description) = step {
                *step = json!({"step": i + 1, "description": description, "status": "pending", "notes": ""});
            }
        }
    }
    match steps {
        Value::Array(a) if a.iter().all(Value::is_object) => Ok(a),
        _ => Err(Error::Parse {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: "\"steps\" must be a list of objects such as {\"step\": 1, \"description\": \"...\", \"status\": \"pending\"}; the file was left unchanged".into(),
        }),
    }
}

fn recompute_progress(record: &mut Record) -> (usize, usize) {
    let (done, total) = match record.get("steps").and_then(Value::as_array) {
        Some(s) => (s.iter().filter(|s| step_done(s)).count(), s.len()),
        None => (0, 0),
    };
    let progress = (done * 100).checked_div(total).unwrap_or(0);
    record.insert("progress".into(), json!(progress));
    (done, total)
}

/// What `milestone create` needs.
#[derive(Debug, Clone, Default)]
pub struct NewMilestone {
    pub title: String,
    pub priority: Option<String>,
    pub steps: Vec<String>,
    pub why: Option<String>,
    pub by: Option<String>,
    /// The ID to use instead of the title's slug (create-milestone.sh derived its own).
    pub id: Option<String>,
    /// The owner to record (default `available`; create-milestone.sh's third argument).
    pub owner: Option<String>,
    /// Fill what is not given with create-milestone.sh's placeholders: three TODO steps,
    /// TODO context and next steps, so the old guide's `update-milestone X 1` works.
    pub original_template: bool,
}

/// What create-milestone.sh wrote where nothing was given.
const TODO_STEPS: [&str; 3] = ["TODO: First step", "TODO: Second step", "TODO: Third step"];
const TODO_NEXT: [&str; 3] = [
    "TODO: Fill in the context fields",
    "TODO: Add detailed steps",
    "TODO: Start from step 1",
];

fn check_priority(p: &str) -> Result<String> {
    let upper = p.trim().to_ascii_uppercase();
    if PRIORITIES.contains(&upper.as_str()) {
        Ok(upper)
    } else {
        Err(Error::Usage(format!(
            "invalid priority {p:?}: use HIGH, MEDIUM or LOW"
        )))
    }
}

/// Create `MILESTONES/<slug of title>.json`. An existing milestone with that ID is an
/// error, never overwritten.
pub fn create(hub: &Hub, new: &NewMilestone) -> Result<Milestone> {
    let id = new.id.clone().unwrap_or_else(|| ids::slugify(&new.title));
    if id.is_empty() {
        return Err(Error::Usage(format!(
            "the title {:?} gives an empty milestone ID: use letters or digits",
            new.title
        )));
    }
    ids::validate("milestone ID", &id)?;
    hub.check_secrets("the milestone title", &new.title)?;
    for s in &new.steps {
        hub.check_secrets("a step description", s)?;
    }
    if let Some(why) = &new.why {
        hub.check_secrets("the milestone context", why)?;
    }
    let priority = check_priority(new.priority.as_deref().unwrap_or("MEDIUM"))?;
    let now = time::format(time::now());
    let todo_steps: Vec<String> = TODO_STEPS.map(String::from).to_vec();
    let given_steps = if new.steps.is_empty() && new.original_template {
        &todo_steps
    } else {
        &new.steps
    };
    let steps: Vec<Value> = given_steps
        .iter()
        .enumerate()
        .map(|(i, d)| json!({"step": i + 1, "description": d, "status": "pending", "notes": ""}))
        .collect();
    let mut r = Record::new();
    r.insert("milestone_id".into(), json!(id));
    r.insert("title".into(), json!(new.title.trim()));
    r.insert("priority".into(), json!(priority));
    if let Some(owner) = &new.owner {
        ids::validate("owner session ID", owner)?;
    }
    r.insert(
        "owner".into(),
        json!(new.owner.as_deref().unwrap_or("available")),
    );
    r.insert("status".into(), json!("pending"));
    r.insert("progress".into(), json!(0));
    r.insert("created_at".into(), json!(now));
    r.insert("updated_at".into(), json!(now));
    if let Some(by) = &new.by {
        r.insert("created_by".into(), json!(by));
    }
    let mut context = Record::new();
    if let Some(why) = &new.why {
        context.insert("why".into(), json!(why));
    } else if new.original_template {
        context.insert(
            "why".into(),
            json!("TODO: Explain why this milestone matters"),
        );
    }
    if new.original_template {
        context.insert("timeline".into(), json!("TODO: Estimated time"));
        context.insert("related_files".into(), json!([]));
        context.insert("dependencies".into(), json!([]));
        context.insert(
            "success_criteria".into(),
            json!("TODO: What does success look like?"),
        );
    }
    r.insert("context".into(), Value::Object(context));
    r.insert("steps".into(), Value::Array(steps));
    let next: &[&str] = if new.original_template {
        &TODO_NEXT
    } else {
        &[]
    };
    r.insert("next_session_should".into(), json!(next));
    r.insert("blockers".into(), json!([]));
    r.insert("handoff_notes".into(), json!(""));
    let dir = hub.dir(layout::MILESTONES)?;
    storage::ensure_dir(&dir)?;
    let path = hub.file(&rel(&id))?;
    if !storage::create_exclusive(&path, &storage::json_bytes(&r))? {
        return Err(Error::Failed(format!(
            "milestone {id} already exists ({}); choose another title, or work on it with `sessions milestone claim {id}`",
            path.display()
        )));
    }
    Ok(Milestone::from_record(&id, path, r))
}

/// Append a step.
pub fn add_step(hub: &Hub, id: &str, description: &str) -> Result<(Milestone, u64)> {
    hub.check_secrets("the step description", description)?;
    modify(hub, id, |r| {
        if r.get("status").and_then(Value::as_str) == Some("completed") {
            return Err(Error::Refused(format!(
                "milestone {id} is completed; create a new milestone for more work"
            )));
        }
        let path = PathBuf::from(rel(id));
        let steps = steps_of(&path, r)?;
        let n = steps
            .iter()
            .filter_map(|s| s.get("step").and_then(Value::as_u64))
            .max()
            .unwrap_or(0)
            .max(steps.len() as u64)
            + 1;
        steps
            .push(json!({"step": n, "description": description, "status": "pending", "notes": ""}));
        recompute_progress(r);
        Ok(n)
    })
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Claimed {
    pub milestone: Milestone,
    pub claim: Grant,
    pub next_session_should: Vec<String>,
    pub handoff_notes: Option<String>,
}

/// Claim a milestone: the claim `milestone-<id>`, then owner and `in_progress` in the
/// file, all under the milestone's lock so no guarded update slips in between.
pub fn claim(hub: &Hub, id: &str, me: &str, ttl: Option<std::time::Duration>) -> Result<Claimed> {
    let current = read(hub, id)?; // parse errors and missing files stop here
    if !current.is_open() {
        return Err(Error::Refused(format!(
            "milestone {id} is {}; nothing to claim",
            current.status
        )));
    }
    let key = claims::milestone_key(id);
    let _guard = hub.lock(&rel(id))?;
    let grant = claims::claim(hub, &key, me, ttl)?;
    let token = grant.token;
    let written = (|| {
        let path = hub.file(&rel(id))?;
        let mut r = storage::read_json_object(&path)?.ok_or_else(|| Error::NotFound {
            what: "milestone",
            name: id.to_string(),
        })?;
        // Re-checked inside the lock: it may have been completed since we looked.
        if r.get("status").and_then(Value::as_str) == Some("completed") {
            return Err(Error::Refused(format!(
                "milestone {id} is completed; nothing to claim"
            )));
        }
        record::set_text(&mut r, "owner", me);
        if r.get("status").and_then(Value::as_str) != Some("blocked") {
            record::set_text(&mut r, "status", "in_progress");
        }
        let fence = r.get("fence_token").and_then(Value::as_u64).unwrap_or(0);
        r.insert("fence_token".into(), json!(fence.max(token)));
        r.insert("claimed_at".into(), json!(grant.claimed_at));
        r.insert("updated_at".into(), json!(time::format(time::now())));
        storage::write_atomic(&path, &storage::json_bytes(&r))?;
        Ok(Milestone::from_record(id, path, r))
    })();
    match written {
        Ok(milestone) => Ok(Claimed {
            next_session_should: milestone.next_session_should(),
            handoff_notes: milestone.handoff_notes().map(str::to_string),
            milestone,
            claim: grant,
        }),
        Err(e) => {
            if !grant.already_held {
                let _ = claims::release(hub, &key, me, None);
            }
            Err(e)
        }
    }
}

/// One step update.
#[derive(Debug, Clone)]
pub struct StepUpdate<'a> {
    pub step: u64,
    pub status: &'a str,
    pub notes: Option<&'a str>,
    pub by: &'a str,
    /// The fencing token presented; default: the token of the caller's claim.
    pub token: Option<u64>,
    /// Skip the holder/token check (recorded in the file).
    pub force: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Updated {
    pub milestone: Milestone,
    pub step: u64,
    pub status: String,
    /// True for the one update that completed the milestone.
    pub completed_now: bool,
    pub released: Option<Released>,
    pub warnings: Vec<String>,
}

/// Set a step's status (and notes) under the milestone's lock; progress is recomputed.
/// Only the holder of `milestone-<id>` with the current fencing token may do it, unless
/// `force`. Completing the last step completes the milestone (exactly once), releases
/// the claim, records the item in CURRENT_STATE.md and posts a line on the board.
pub fn update_step(hub: &Hub, id: &str, up: &StepUpdate) -> Result<Updated> {
    if !STEP_STATUSES.contains(&up.status) {
        return Err(Error::Usage(format!(
            "invalid step status {:?}: use one of {}",
            up.status,
            STEP_STATUSES.join(", ")
        )));
    }
    if let Some(notes) = up.notes {
        hub.check_secrets("the step notes", notes)?;
    }
    let key = claims::milestone_key(id);
    let path = hub.display_path(&rel(id));
    // The token this write is made under is fixed before the lock: the one presented,
    // else the one of the caller's claim now. A writer delayed between here and the
    // write (descheduled, stopped, a slow disk) then cannot slip in under a grant it
    // never saw; the checks inside the lock compare it with the file and the claim.
    let token = match up.token {
        Some(t) => Some(t),
        None if up.force => None,
        None => claims::read(hub, &key)?
            .filter(|c| c.holder == up.by)
            .and_then(|c| c.token),
    };
    crate::store::test_hooks::pause_point("milestone-update");
    // A completion a crash interrupted is finished first; re-running the very update
    // that made it is then an answer, not a refusal.
    let finished = pending::finish_all(hub);
    if let Some(done) = rerun_of_completion(hub, id, up, &finished)? {
        return Ok(done);
    }
    let mut before: Option<Value> = None;
    let mut intent: Option<Intent> = None;
    let modified = modify(hub, id, |r| {
        if !up.force {
            let fence = r.get("fence_token").and_then(Value::as_u64).unwrap_or(0);
            // The milestone itself first: once it was written under a newer grant, an
            // older token is refused whoever holds the claim now.
            if let Some(t) = token
                && t < fence
            {
                return Err(Error::Refused(format!(
                    "stale fencing token {t}: milestone {id} was already written with token {fence}"
                )));
            }
            let claim = claims::check_fence(hub, &key, up.by, token)?;
            if let Some(t) = claim.token {
                if t > fence {
                    // The first write under a new grant: its holder is the owner, also
                    // when it took the claim without `milestone claim` (a plain `claim
                    // milestone-<id>`, as the old guides do). Later writes under the same
                    // grant leave the owner alone (a handoff may have just cleared it).
                    record::set_text(r, "owner", up.by);
                    // The grant's time too: a merge across clones decides the milestone's
                    // holder the way it decides the lock's (the earlier claim).
                    if let Some(at) = &claim.claimed_at {
                        r.insert("claimed_at".into(), json!(at));
                    }
                }
                r.insert("fence_token".into(), json!(t));
            }
        }
        let was = record::text(r, &["status"])
            .unwrap_or("pending")
            .to_string();
        if was == "completed" && !up.force {
            return Err(Error::Refused(format!(
                "milestone {id} is already completed; pass --force to change it"
            )));
        }
        let now = time::format(time::now());
        let steps = steps_of(&path, r)?;
        let index = step_index(steps, up.step).ok_or_else(|| Error::NotFound {
            what: "step",
            name: format!("{} in milestone {id} ({} steps)", up.step, steps.len()),
        })?;
        let step = steps[index]
            .as_object_mut()
            .expect("steps_of checked objects");
        before = Some(Value::Object(step.clone()));
        record::set_text(step, "status", up.status);
        if let Some(notes) = up.notes {
            record::set_text(step, "notes", notes);
        }
        match up.status {
            "in_progress" => {
                record::set_text(step, "started_by", up.by);
                record::set_text(step, "started_at", &now);
            }
            "completed" => {
                step.entry("started_by").or_insert_with(|| json!(up.by));
                step.entry("started_at").or_insert_with(|| json!(now));
                record::set_text(step, "completed_by", up.by);
                record::set_text(step, "completed_at", &now);
            }
            _ => {
                step.remove("completed_by");
                step.remove("completed_at");
            }
        }
        if up.force {
            record::set_text(step, "forced_by", up.by);
        }
        let (done, total) = recompute_progress(r);
        let all_done = total > 0 && done == total;
        let completed_now = all_done && was != "completed";
        if all_done {
            record::set_text(r, "status", "completed");
            if completed_now {
                record::set_text(r, "completed_at", &now);
                record::set_text(r, "completed_by", up.by);
                record::set_text(r, "owner", "available");
            }
        } else if was == "completed" || was == "pending" {
            record::set_text(r, "status", "in_progress");
            r.remove("completed_at");
            r.remove("completed_by");
        }
        if completed_now {
            // The rest of the completion (claim, CURRENT_STATE.md, board) is made
            // durable before this file says "completed": a crash cannot lose it.
            let done = Milestone::from_record(id, PathBuf::from(rel(id)), r.clone());
            let new = completion_intent(hub, &done, up.by)?;
            pending::log_in_milestone(r, &new.op);
            pending::begin(hub, &new)?;
            intent = Some(new);
        }
        Ok(completed_now)
    });
    let (milestone, completed_now) = match modified {
        Ok(m) => m,
        Err(e) => {
            if let Some(intent) = &intent {
                pending::abandon(hub, intent);
            }
            return Err(e);
        }
    };
    let mut warnings = Vec::new();
    if let Some(before) = before {
        let write = StepWrite {
            milestone: id.to_string(),
            step: up.step,
            status: up.status.to_string(),
            notes: up.notes.map(str::to_string),
            befores: vec![before],
            by: up.by.to_string(),
            at: time::format(time::now()),
        };
        if let Err(e) = remember_step_write(hub, &write) {
            warnings.push(format!(
                "the step write was not recorded for mixed-fleet checks: {e}"
            ));
        }
    }
    let released = intent.and_then(|intent| {
        warnings.extend(pending::finish(hub, &intent));
        planned_release(hub, &intent)
    });
    Ok(Updated {
        step: up.step,
        status: up.status.to_string(),
        completed_now,
        released,
        warnings,
        milestone,
    })
}

/// The steps after the one update that completed a milestone: release its claim (the
/// grant as it is now), record it in CURRENT_STATE.md, post on the board.
fn completion_intent(hub: &Hub, m: &Milestone, by: &str) -> Result<Intent> {
    let key = claims::milestone_key(&m.id);
    let mut steps = Vec::new();
    if let Some(c) = claims::read(hub, &key)? {
        steps.push(Step::ReleaseClaim {
            key,
            holder: c.holder,
            token: c.token,
        });
    }
    steps.push(Step::RecordCompleted {
        by: by.to_string(),
        item: format!("Milestone completed: {} ({})", m.title, m.id),
        at: current_state::completed_stamp(time::now()),
    });
    steps.push(Step::post(Post {
        from: by.to_string(),
        subject: Some(format!("✅ Milestone completed: {} ({})", m.title, m.id)),
        body: format!(
            "{by} completed the last step of `{}`: all {} steps done.",
            m.id, m.steps_total
        ),
        ..Post::default()
    }));
    Ok(Intent::new(
        "milestone-complete",
        &m.id,
        by,
        Guard::MilestoneLogged { id: m.id.clone() },
        steps,
    ))
}

/// The claim release an intent planned, as a [`Released`], once that grant is gone.
fn planned_release(hub: &Hub, intent: &Intent) -> Option<Released> {
    intent.steps.iter().find_map(|s| match s {
        Step::ReleaseClaim { key, holder, token }
            if !claims::read(hub, key)
                .is_ok_and(|c| c.is_some_and(|c| &c.holder == holder && c.token == *token)) =>
        {
            Some(Released {
                key: key.clone(),
                holder: holder.clone(),
                token: *token,
                forced: false,
                reason: None,
            })
        }
        _ => None,
    })
}

/// The answer to an update that repeats the one whose completion a crash interrupted
/// and that [`pending::finish_all`] just finished: same step, `completed`, same session.
fn rerun_of_completion(
    hub: &Hub,
    id: &str,
    up: &StepUpdate,
    finished: &[pending::Finished],
) -> Result<Option<Updated>> {
    let Some(done) = finished
        .iter()
        .find(|f| f.is("milestone-complete", id, up.by))
    else {
        return Ok(None);
    };
    let m = read(hub, id)?;
    let step_completed = m
        .record
        .get("steps")
        .and_then(Value::as_array)
        .and_then(|steps| step_index(steps, up.step).map(|i| &steps[i]))
        .is_some_and(step_done);
    if up.status != "completed" || !step_completed || m.status != "completed" {
        return Ok(None);
    }
    let mut warnings = done.warnings.clone();
    warnings.insert(
        0,
        format!(
            "step {} was already completed by this update before it was interrupted; its \
             completion (claim, CURRENT_STATE.md, board) is now finished",
            up.step
        ),
    );
    Ok(Some(Updated {
        step: up.step,
        status: up.status.to_string(),
        completed_now: false,
        released: None,
        warnings,
        milestone: m,
    }))
}

/// Mark a milestone blocked, adding `reason` to its blockers.
pub fn block(hub: &Hub, id: &str, reason: &str, by: &str) -> Result<Milestone> {
    hub.check_secrets("the blocker", reason)?;
    modify(hub, id, |r| {
        if r.get("status").and_then(Value::as_str) == Some("completed") {
            return Err(Error::Refused(format!("milestone {id} is completed")));
        }
        record::set_text(r, "status", "blocked");
        // Keep the blockers already there: a list as it is (whatever its items), a
        // comma string as the list it stands for.
        if !matches!(r.get("blockers"), Some(Value::Array(_))) {
            let old = record::list(r, &["blockers"]);
            record::set_list(r, "blockers", &old);
        }
        if let Some(Value::Array(list)) = r.get_mut("blockers") {
            list.push(json!(reason));
        }
        record::set_text(r, "blocked_by", by);
        record::set_text(r, "blocked_at", time::format(time::now()));
        Ok(())
    })
    .map(|(m, ())| m)
}

/// Clear a milestone's blockers; it goes back to `in_progress` (or `pending` when no
/// step has started).
pub fn unblock(hub: &Hub, id: &str) -> Result<Milestone> {
    modify(hub, id, |r| {
        if r.get("status").and_then(Value::as_str) != Some("blocked") {
            return Err(Error::Refused(format!("milestone {id} is not blocked")));
        }
        r.insert("blockers".into(), json!([]));
        r.remove("blocked_by");
        r.remove("blocked_at");
        let started = r.get("steps").and_then(Value::as_array).is_some_and(|s| {
            s.iter()
                .any(|s| s.get("status").and_then(Value::as_str) != Some("pending"))
        });
        let owned = record::text(r, &["owner"]).is_some_and(|o| o != "available");
        let status = if started || owned {
            "in_progress"
        } else {
            "pending"
        };
        record::set_text(r, "status", status);
        Ok(())
    })
    .map(|(m, ())| m)
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HandedOff {
    pub milestone: Milestone,
    pub released: Option<Released>,
}

/// Hand a milestone off: keep the notes (and next steps) for the next session, set the
/// owner to `available`, and release the claim. Only the holder, unless `force`.
pub fn handoff(
    hub: &Hub,
    id: &str,
    notes: &str,
    next: &[String],
    by: &str,
    force: bool,
) -> Result<HandedOff> {
    hub.check_secrets("the handoff notes", notes)?;
    for n in next {
        hub.check_secrets("the next steps", n)?;
    }
    let key = claims::milestone_key(id);
    // A handoff a crash interrupted is finished first; re-running it then answers.
    let finished = pending::finish_all(hub);
    if let Some(done) = finished.iter().find(|f| f.is("milestone-handoff", id, by)) {
        let milestone = read(hub, id)?;
        if milestone.handoff_notes() == Some(notes) {
            return Ok(HandedOff {
                milestone,
                released: released_by(&done.steps, by),
            });
        }
    }
    let mut intent: Option<Intent> = None;
    let modified = modify(hub, id, |r| {
        if !force {
            claims::check_fence(hub, &key, by, None)?;
        }
        record::set_text(r, "handoff_notes", notes);
        if !next.is_empty() {
            record::set_list(r, "next_session_should", next);
        }
        record::set_text(r, "owner", "available");
        record::set_text(r, "handed_off_by", by);
        record::set_text(r, "handed_off_at", time::format(time::now()));
        // The claim release and the board post are made durable before the milestone
        // says it was handed off: a crash cannot lose them.
        let m = Milestone::from_record(id, PathBuf::from(rel(id)), r.clone());
        let mut steps = Vec::new();
        match claims::read(hub, &key)? {
            Some(c) if c.holder == by || force => {
                if c.holder != by {
                    steps.push(Step::post(claims::forced_release_post(
                        &key, by, &c, "handoff",
                    )));
                }
                steps.insert(
                    0,
                    Step::ReleaseClaim {
                        key: key.clone(),
                        holder: c.holder,
                        token: c.token,
                    },
                );
            }
            _ => {}
        }
        steps.push(Step::post(Post {
            from: by.to_string(),
            subject: Some(format!("🤝 Handoff: {} ({})", m.title, m.id)),
            body: format!(
                "{by} handed off `{}` at {}% ({}/{} steps). Notes: {notes}",
                m.id, m.progress, m.steps_done, m.steps_total
            ),
            ..Post::default()
        }));
        let new = Intent::new(
            "milestone-handoff",
            id,
            by,
            Guard::MilestoneLogged { id: id.to_string() },
            steps,
        );
        pending::log_in_milestone(r, &new.op);
        pending::begin(hub, &new)?;
        intent = Some(new);
        Ok(())
    });
    let (milestone, ()) = match modified {
        Ok(m) => m,
        Err(e) => {
            if let Some(intent) = &intent {
                pending::abandon(hub, intent);
            }
            return Err(e);
        }
    };
    let intent = intent.expect("written with the milestone");
    let problems = pending::finish(hub, &intent);
    if let Some(problem) = problems.into_iter().next() {
        return Err(Error::Failed(format!(
            "milestone {id} was handed off, but: {problem}"
        )));
    }
    let released = planned_release(hub, &intent).map(|mut r| {
        r.forced = r.holder != by;
        r.reason = r.forced.then(|| "handoff".to_string());
        r
    });
    fn released_by(steps: &[Step], by: &str) -> Option<Released> {
        steps.iter().find_map(|s| match s {
            Step::ReleaseClaim { key, holder, token } => Some(Released {
                key: key.clone(),
                holder: holder.clone(),
                token: *token,
                forced: holder != by,
                reason: (holder != by).then(|| "handoff".to_string()),
            }),
            _ => None,
        })
    }
    Ok(HandedOff {
        milestone,
        released,
    })
}

/// Record a save on the milestone a session works on (save-progress milestone mode
/// without a step): `last_saved_by`/`last_saved_at`, guarded like a step update.
pub fn touch(hub: &Hub, id: &str, by: &str) -> Result<Milestone> {
    let key = claims::milestone_key(id);
    modify(hub, id, |r| {
        claims::check_fence(hub, &key, by, None)?;
        record::set_text(r, "last_saved_by", by);
        record::set_text(r, "last_saved_at", time::format(time::now()));
        Ok(())
    })
    .map(|(m, ())| m)
}

/// IDs of the open milestones whose claim `holder` holds. A `milestone-<x>` key with no
/// milestone file (claimed as a free key), or whose milestone is completed (its claim
/// outlived a killed completer), is not a milestone to save progress on.
pub fn held_by(hub: &Hub, holder: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for claim in claims::held(hub, holder)? {
        let Some(id) = claim.key.strip_prefix("milestone-") else {
            continue;
        };
        if ids::validate("milestone ID", id).is_err() {
            continue;
        }
        match read(hub, id) {
            Ok(m) if m.is_open() => out.push(id.to_string()),
            Ok(_) | Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// One piece of work nobody holds, for `sessions ready`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReadyItem {
    /// `milestone` or `priority`.
    pub kind: &'static str,
    /// The claim key to take it with.
    pub key: String,
    pub id: String,
    pub title: String,
    pub priority: String,
    pub progress: Option<u8>,
    pub steps_done: Option<usize>,
    pub steps_total: Option<usize>,
    /// A claim whose lease ended and whose holder is not live (it can be taken over).
    pub stale_claim_by: Option<String>,
}

/// The work nobody holds, highest priority first: open milestones that are not blocked
/// and not claimed, then the items of CURRENT_STATE.md's BACKLOG (`priority-<n>`) that
/// are not claimed. A claim that can be taken over counts as free. A milestone or lock
/// file that does not parse is left out with a problem naming it (an item whose lock is
/// damaged is not offered as free).
pub fn ready(hub: &Hub, now: Timestamp) -> Result<Scan<ReadyItem>> {
    let claim_scan = claims::scan(hub)?;
    let damaged: std::collections::HashSet<String> = claim_scan
        .problems
        .iter()
        .map(|p| scan::stem(&p.path))
        .collect();
    let mut problems = claim_scan.problems;
    let held: std::collections::HashMap<String, claims::Claim> = claim_scan
        .items
        .into_iter()
        .map(|c| (c.key.clone(), c))
        .collect();
    // Expired claims ask whether their holder is still live: one read of the
    // heartbeats serves them all.
    let last_seen = std::cell::OnceCell::new();
    let liveness_of = |holder: &str| {
        let last_seen = last_seen.get_or_init(|| {
            crate::sessions::heartbeat::scan_heartbeats(hub)
                .map(|scan| crate::sessions::liveness::last_seen_per_session(&scan.items))
        });
        match last_seen {
            Ok(seen) => Liveness::of(hub, seen.get(holder).copied().flatten(), now),
            Err(_) => Liveness::Unknown,
        }
    };
    let free = |key: &str| -> (bool, Option<String>) {
        if damaged.contains(key) {
            return (false, None);
        }
        match held.get(key) {
            None => (true, None),
            Some(c) if claims::takeover_blocker_by(hub, c, now, liveness_of).is_none() => {
                (true, Some(c.holder.clone()))
            }
            Some(_) => (false, None),
        }
    };
    let mut out = Vec::new();
    let milestones = scan(hub)?;
    problems.extend(milestones.problems);
    for m in milestones.items {
        if !m.is_open() || m.status == "blocked" {
            continue;
        }
        let key = claims::milestone_key(&stem(&m.path));
        let (is_free, stale) = free(&key);
        if !is_free {
            continue;
        }
        out.push(ReadyItem {
            kind: "milestone",
            key,
            id: stem(&m.path),
            progress: Some(m.progress),
            steps_done: Some(m.steps_done),
            steps_total: Some(m.steps_total),
            title: m.title,
            priority: m.priority,
            stale_claim_by: stale,
        });
    }
    if let Some(text) = storage::read_text(&hub.file(layout::CURRENT_STATE)?)? {
        for (n, title, priority) in backlog_items(&text) {
            let key = format!("priority-{n}");
            let (is_free, stale) = free(&key);
            if !is_free {
                continue;
            }
            out.push(ReadyItem {
                kind: "priority",
                key,
                id: n.to_string(),
                title,
                priority,
                progress: None,
                steps_done: None,
                steps_total: None,
                stale_claim_by: stale,
            });
        }
    }
    out.sort_by_key(|i| (priority_rank(&i.priority), i.kind != "milestone"));
    Ok(Scan {
        items: out,
        problems,
    })
}

/// The open items of the BACKLOG section, numbered from 1 in document order: list items
/// at the start of a line (`- x`, `* x`, `1. x`); struck-through or ✅ items are done.
/// The priority is the HIGH/MEDIUM/LOW word in the item or in the `###` heading above.
pub fn backlog_items(text: &str) -> Vec<(usize, String, String)> {
    let Some(section) = current_state::find(text, "backlog") else {
        return Vec::new();
    };
    let body = &text[section.body_start..section.content_end(text)];
    let level_of = |s: &str| {
        let upper = s.to_ascii_uppercase();
        PRIORITIES
            .iter()
            .find(|p| upper.contains(*p))
            .map(|p| p.to_string())
    };
    let mut heading_level = None;
    let mut out = Vec::new();
    let mut n = 0;
    for line in body.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            heading_level = level_of(h);
            continue;
        }
        let digits = line.chars().take_while(char::is_ascii_digit).count();
        let item = line
            .strip_prefix("- ")
            .or_else(|| line.strip_prefix("* "))
            .or_else(|| {
                (digits > 0)
                    .then(|| line[digits..].strip_prefix(". "))
                    .flatten()
            });
        let Some(item) = item.map(str::trim).filter(|i| !i.is_empty()) else {
            continue;
        };
        n += 1;
        // Done items, and the placeholder line of the `sessions init` template.
        if item.contains("~~") || item.contains('✅') || item.starts_with("Add work here") {
            continue;
        }
        let level = level_of(item)
            .or_else(|| heading_level.clone())
            .unwrap_or_else(|| "MEDIUM".into());
        out.push((n, item.to_string(), level));
    }
    out
}

/// Where `sessions` remembers its latest write of each step for a while, so a rewrite by
/// an old script that read the file just before it (update-milestone.sh's `jq ... > tmp;
/// mv`) and so undid it can be noticed and the write applied again.
const STEP_WRITES: &str = ".sessions/step-writes";

/// How long a step write is watched for.
const STEP_WRITE_WATCH: chrono::Duration = chrono::Duration::minutes(10);

/// One step write by `sessions`, with what the step said before it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
struct StepWrite {
    milestone: String,
    step: u64,
    status: String,
    notes: Option<String>,
    /// The whole step, field for field, before each of our recent writes to it: a
    /// rewrite from a stale read puts one of these back exactly (a deliberate change by
    /// update-milestone.sh leaves our `started_by`/`completed_by` and so never matches).
    befores: Vec<Value>,
    by: String,
    at: String,
}

fn remember_step_write(hub: &Hub, w: &StepWrite) -> Result<()> {
    let dir = hub.dir(STEP_WRITES)?;
    storage::ensure_dir(&dir)?;
    let path = dir.join(format!("{}--{}.json", w.milestone, w.step));
    let mut w = w.clone();
    // Earlier writes still watched: their "before" states are still ones a stale
    // rewrite could bring back.
    if let Some(prev) = storage::read_text(&path)?
        .and_then(|t| serde_json::from_str::<StepWrite>(&t).ok())
        .filter(|p| time::parse_str(&p.at).is_some_and(|at| time::now() - at <= STEP_WRITE_WATCH))
    {
        for b in prev.befores {
            if !w.befores.contains(&b) {
                w.befores.push(b);
            }
        }
    }
    storage::write_atomic(&path, &storage::json_bytes(&w))
}

/// A step write of `sessions` that an old script's rewrite undid, applied again.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub milestone: String,
    pub step: u64,
    pub status: String,
    pub by: String,
}

/// Mixed fleets: re-apply every recent step write of `sessions` that a whole-file rewrite
/// by an old script has undone (the step is back to exactly what it said before the
/// write). A step changed to anything else since is someone's later decision: left alone.
pub fn restore_undone_step_writes(hub: &Hub) -> Result<Vec<Restored>> {
    let mut out = Vec::new();
    let now = time::now();
    for path in hub.list(STEP_WRITES, ".json")? {
        let Some(text) = storage::read_text(&path)? else {
            continue;
        };
        let Ok(w) = serde_json::from_str::<StepWrite>(&text) else {
            storage::remove(&path)?;
            continue;
        };
        let old = time::parse_str(&w.at).is_none_or(|at| now - at > STEP_WRITE_WATCH);
        let Ok(m) = read(hub, &w.milestone) else {
            continue; // gone or unreadable: nothing to restore into now
        };
        let step_now = m
            .record
            .get("steps")
            .and_then(Value::as_array)
            .and_then(|steps| step_index(steps, w.step).map(|i| &steps[i]))
            .and_then(Value::as_object)
            .cloned();
        let Some(step_now) = step_now else {
            continue;
        };
        let status = record::text(&step_now, &["status"]).map(str::to_string);
        let notes = record::text(&step_now, &["notes"]).map(str::to_string);
        let ours =
            status.as_deref() == Some(w.status.as_str()) && (w.notes.is_none() || notes == w.notes);
        let undone = w.befores.contains(&Value::Object(step_now));
        if undone && !ours {
            update_step(
                hub,
                &w.milestone,
                &StepUpdate {
                    step: w.step,
                    status: &w.status,
                    notes: w.notes.as_deref(),
                    by: &w.by,
                    token: None,
                    force: true,
                },
            )?;
            out.push(Restored {
                milestone: w.milestone.clone(),
                step: w.step,
                status: w.status.clone(),
                by: w.by.clone(),
            });
        } else if old || !ours {
            storage::remove(&path)?;
        }
    }
    Ok(out)
}

/// The claims an old script's lock replaced (see [`claims::overwritten`]), with each
/// milestone's owner set to whoever its lock names now: the owner follows the lock, as
/// claim-milestone.sh itself did, even when its write raced ours.
pub fn reconcile_overwritten(hub: &Hub) -> Result<Vec<claims::Overwritten>> {
    let replaced = claims::overwritten(hub)?;
    for o in &replaced {
        let Some(id) = o.key.strip_prefix("milestone-") else {
            continue;
        };
        if !hub.file(&rel(id))?.is_file() {
            continue;
        }
        let owner_ok = read(hub, id).is_ok_and(|m| m.owner.as_deref() == Some(&o.now_held_by));
        if !owner_ok {
            modify(hub, id, |r| {
                record::set_text(r, "owner", &o.now_held_by);
                Ok(())
            })?;
        }
    }
    Ok(replaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlog_items_are_numbered_in_order_with_their_level() {
        let text = "# S\n\n## 📋 BACKLOG (Next Up)\n\n### Build Phase 2 Droplets (🟩 MEDIUM)\n- ~~Dashboard~~ ✅ COMPLETE\n- Proxy Manager (#3)\n\n### Infrastructure (🟩 LOW)\n- Backups\n1. Urgent HIGH fix\n\n---\n\n## Other\n- not backlog\n";
        let items = backlog_items(text);
        assert_eq!(
            items,
            vec![
                (2, "Proxy Manager (#3)".to_string(), "MEDIUM".to_string()),
                (3, "Backups".to_string(), "LOW".to_string()),
                (4, "Urgent HIGH fix".to_string(), "HIGH".to_string()),
            ]
        );
    }
}
