//! Health over a status folder: the roll-up of every project and the healthcheck.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::status::doc::*;
use crate::status::folder::StatusFiles;
use crate::store::error::Result;
use crate::store::storage;
use crate::store::time::{self, Timestamp};

/// Unreadable files of a roll-up, with the error.
pub type Unreadable = Vec<(PathBuf, String)>;

/// One line of the roll-up.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Summary {
    pub project: String,
    pub file: PathBuf,
    pub ok: usize,
    pub fail: usize,
    pub wip: usize,
    pub sync: usize,
    pub open_actions: usize,
    pub done_actions: usize,
    pub updated_at: Option<String>,
    pub age_secs: Option<i64>,
    pub next_session: Option<String>,
    pub blocked: bool,
    pub blocked_by: Vec<String>,
    pub failing: Vec<String>,
}

impl Summary {
    pub fn of(project: &str, file: &Path, doc: &StatusDoc, now: Timestamp) -> Summary {
        let updated = doc.updated();
        Summary {
            project: project.to_string(),
            file: file.to_path_buf(),
            ok: doc.count(Marker::Ok),
            fail: doc.count(Marker::Fail),
            wip: doc.count(Marker::Wip),
            sync: doc.count(Marker::Sync),
            open_actions: doc.actions.iter().filter(|a| !a.done).count(),
            done_actions: doc.actions.iter().filter(|a| a.done).count(),
            updated_at: doc.updated_at.clone(),
            age_secs: updated.map(|u| (now - u).num_seconds()),
            next_session: doc.next().map(str::to_string),
            blocked: !doc.failing_dependencies().is_empty(),
            blocked_by: doc
                .failing_dependencies()
                .iter()
                .map(|i| i.label.clone())
                .collect(),
            failing: doc
                .items
                .iter()
                .filter(|i| i.marker == Some(Marker::Fail))
                .map(|i| i.label.clone())
                .collect(),
        }
    }
}

/// The roll-up of every status file. Files that cannot be read are reported as errors
/// beside the summaries rather than aborting the whole table.
pub fn rollup(files: &StatusFiles) -> Result<(Vec<Summary>, Unreadable)> {
    let now = time::now();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (project, path) in files.list()? {
        match files
            .ensure_inside(&path)
            .and_then(|()| storage::read_text(&path))
        {
            Ok(Some(text)) => out.push(Summary::of(&project, &path, &StatusDoc::parse(&text), now)),
            Ok(None) => {}
            Err(e) => errors.push((path, e.to_string())),
        }
    }
    Ok((out, errors))
}

/// One thing the healthcheck found wrong.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Problem {
    pub project: String,
    pub file: PathBuf,
    /// `stale`, `blocked`, `missing_timestamp`, `missing_next_session`, `unreadable`.
    pub kind: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_session: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_secs: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Health {
    pub ok: bool,
    pub checked: usize,
    pub stale_after_secs: u64,
    pub problems: Vec<Problem>,
}

/// The healthcheck over every status file: stale files, ❌ dependencies (which block
/// the NEXT SESSION), missing timestamps, missing NEXT SESSION lines.
pub fn healthcheck(files: &StatusFiles) -> Result<Health> {
    let now = time::now();
    let mut problems = Vec::new();
    let list = files.list()?;
    for (project, path) in &list {
        match files
            .ensure_inside(path)
            .and_then(|()| storage::read_text(path))
        {
            Ok(Some(text)) => problems.extend(doc_problems(
                files,
                project,
                path,
                &StatusDoc::parse(&text),
                now,
            )),
            Ok(None) => {}
            Err(e) => problems.push(unreadable_problem(project, path, &e.to_string())),
        }
    }
    Ok(Health {
        ok: problems.is_empty(),
        checked: list.len(),
        stale_after_secs: files.stale_after.as_secs(),
        problems,
    })
}

/// The healthcheck's problem for a status file that could not be read.
pub fn unreadable_problem(project: &str, path: &Path, error: &str) -> Problem {
    Problem {
        project: project.to_string(),
        file: path.to_path_buf(),
        kind: "unreadable",
        message: error.to_string(),
        dependency: None,
        blocked_session: None,
        age_secs: None,
    }
}

/// What the healthcheck finds wrong with one parsed status file at `now` (a live view
/// keeps the parsed files and checks them again as time passes, without reading).
pub fn doc_problems(
    files: &StatusFiles,
    project: &str,
    path: &Path,
    doc: &StatusDoc,
    now: Timestamp,
) -> Vec<Problem> {
    let stale_secs = files.stale_after.as_secs() as i64;
    let mut problems = Vec::new();
    let problem = |kind, message: String| Problem {
        project: project.to_string(),
        file: path.to_path_buf(),
        kind,
        message,
        dependency: None,
        blocked_session: None,
        age_secs: None,
    };
    match doc.updated() {
        Some(at) => {
            let age = (now - at).num_seconds();
            if age > stale_secs {
                let mut p = problem(
                    "stale",
                    format!(
                        "not updated for {} (limit {})",
                        time::human_age(age),
                        time::human_age(stale_secs)
                    ),
                );
                p.age_secs = Some(age);
                problems.push(p);
            }
        }
        None => problems.push(problem(
            "missing_timestamp",
            match &doc.timestamp_text {
                Some(t) => format!("the header timestamp {t:?} does not parse"),
                None if doc.header.is_none() => {
                    "no `## <PROJECT> STATUS - <timestamp>` header".to_string()
                }
                None => "the header has no timestamp".to_string(),
            },
        )),
    }
    if doc.next().is_none() {
        problems.push(problem(
            "missing_next_session",
            "no NEXT SESSION line (or only a placeholder)".to_string(),
        ));
    }
    for dep in doc.failing_dependencies() {
        let who = doc.next().unwrap_or("the next session").to_string();
        let mut p = problem(
            "blocked",
            format!(
                "dependency {:?} is ❌{}: {who} is blocked",
                dep.label,
                if dep.note.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", dep.note)
                }
            ),
        );
        p.dependency = Some(dep.label.clone());
        p.blocked_session = doc.next().map(str::to_string);
        problems.push(p);
    }
    problems
}
