//! `sessions doctor`: check every hub file the toolkit reads, report each problem with its
//! path (and line/column), and clean up what is safe to clean (leftover temp files).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::store::config::Config;
use crate::store::error::{Error, Result};
use crate::store::hub::{Hub, layout};
use crate::store::storage;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Finding {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// `parse`, `temp_file`, `unreadable`, `secret`, `overwritten_claim`,
    /// `board_framing`, `board_forged`, `unfinished_operation`, `clock_skew`.
    pub kind: &'static str,
    pub message: String,
    /// True when `--fix` can repair it without losing data.
    pub fixable: bool,
}

/// Temp files younger than this may belong to a write in progress.
const TEMP_GRACE: Duration = Duration::from_secs(60);

/// Folders holding JSON records, with the extension of their data files.
const JSON_FOLDERS: &[(&str, &str)] = &[
    (layout::HEARTBEATS, ".json"),
    (layout::PRIORITIES, ".lock"),
    (layout::MILESTONES, ".json"),
    (layout::COLLABORATIONS, ".json"),
];

pub fn check(hub: &Hub) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    let mut board_findings = Vec::new();
    let mut note = |path: &Path, err: Error| {
        let (line, column) = match &err {
            Error::Parse { line, column, .. } => (Some(*line), Some(*column)),
            _ => (None, None),
        };
        findings.push(Finding {
            path: path.to_path_buf(),
            line,
            column,
            kind: if line.is_some() {
                "parse"
            } else {
                "unreadable"
            },
            // The finding carries the path and position; the message need not repeat them.
            message: match &err {
                Error::Parse { message, .. } => message.clone(),
                other => other
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            },
            fixable: false,
        });
    };
    if let Err(e) = Config::load(hub.root()) {
        note(&hub.display_path(crate::store::config::CONFIG_FILE), e);
    }
    // The commands' own loader: it also checks the shape (`sessions` keyed by ID).
    if let Err(e) = crate::sessions::registry::Registry::load(hub) {
        note(&hub.display_path(layout::REGISTRY), e);
    }
    let mut json_files = Vec::new();
    for (dir, ext) in JSON_FOLDERS {
        match hub.list(dir, ext) {
            Ok(files) => json_files.extend(files),
            Err(e) => note(&hub.display_path(dir), e),
        }
    }
    json_files.extend(nested_json(&hub.display_path(layout::HANDSHAKES)));
    json_files.extend(nested_json(&hub.display_path(crate::board::messages::ACKS)));
    for path in json_files {
        if let Err(e) = storage::read_json_object(&path) {
            note(&path, e);
        }
    }
    let path = hub.display_path(layout::CURRENT_STATE);
    if let Err(e) = storage::read_text(&path) {
        note(&path, e);
    }
    // The board is streamed (any size): its text, and blocks whose frame does not hold.
    let board = hub.display_path(layout::MESSAGES);
    match crate::board::check::check(hub) {
        Ok(problems) => {
            for p in problems {
                board_findings.push(Finding {
                    path: board.clone(),
                    line: Some(p.line),
                    column: Some(1),
                    kind: p.kind,
                    message: p.message,
                    fixable: false,
                });
            }
        }
        Err(e) => note(&board, e),
    }
    findings.extend(board_findings);
    findings.extend(leftover_temp_files(hub.root()));
    findings.extend(secrets_in_files(hub.root()));
    // A claim `sessions` granted that an old script's lock replaced (mixed fleets).
    if let Ok(replaced) = crate::work::claims::overwritten(hub) {
        for o in replaced {
            findings.push(Finding {
                path: hub.display_path(&crate::work::claims::lock_rel(&o.key)),
                line: None,
                column: None,
                kind: "overwritten_claim",
                message: format!(
                    "{} was granted to {} (token {}) but its lock now names {}: an old script wrote over it; agree who keeps it, then `sessions release --force` or re-claim",
                    o.key, o.granted_to, o.granted_token, o.now_held_by
                ),
                fixable: false,
            });
        }
    }
    findings.extend(unfinished_operations(hub));
    // Clocks that disagree with this machine's (the liveness rule copes; say so).
    if let Ok(scan) = crate::sessions::heartbeat::scan_heartbeats(hub) {
        let now = crate::store::time::now();
        for hb in &scan.items {
            for warning in
                crate::sessions::liveness::skew_warnings(hub, std::slice::from_ref(hb), now)
            {
                findings.push(Finding {
                    path: hb.path.clone(),
                    line: None,
                    column: None,
                    kind: "clock_skew",
                    message: format!("{warning}; set the clock of that machine right (NTP)"),
                    fixable: false,
                });
            }
        }
    }
    Ok(findings)
}

/// Multi-file operations a crash interrupted (`.sessions/pending/`): `--fix` finishes
/// them, as the next command touching their milestone, request or claim would.
fn unfinished_operations(hub: &Hub) -> Vec<Finding> {
    let Ok(found) = crate::work::pending::unfinished(hub) else {
        return Vec::new();
    };
    found
        .into_iter()
        .map(|u| match u.intent {
            Ok(intent) => Finding {
                path: u.path,
                line: None,
                column: None,
                kind: "unfinished_operation",
                message: format!(
                    "{} of {} by {} (started {}) was interrupted before all its writes were \
                     done ({} steps to check)",
                    intent.kind,
                    intent.target,
                    intent.by,
                    intent.created_at,
                    intent.steps.len()
                ),
                fixable: true,
            },
            Err(e) => Finding {
                path: u.path,
                line: match &e {
                    Error::Parse { line, .. } => Some(*line),
                    _ => None,
                },
                column: match &e {
                    Error::Parse { column, .. } => Some(*column),
                    _ => None,
                },
                kind: "parse",
                message: format!("{e}; look at it, then remove it"),
                fixable: false,
            },
        })
        .collect()
}

/// Extensions of the hub's text files, scanned for secrets already written.
const TEXT_EXTENSIONS: &[&str] = &["md", "json", "lock", "toml", "txt"];

/// Secrets already in the hub's text files (written before the check existed, by hand,
/// or with `--allow-secrets`): file, line, column and the rule, never the secret itself.
fn secrets_in_files(root: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if storage::is_temp_or_hidden(&name) {
                continue; // .git, .sessions/, temp files
            }
            let path = entry.path();
            if kind.is_dir() {
                dirs.push(path);
                continue;
            }
            let text_file = Path::new(&name)
                .extension()
                .is_some_and(|e| TEXT_EXTENSIONS.contains(&e.to_string_lossy().as_ref()));
            // Unreadable files are reported by the parse checks above.
            let Ok(Some(text)) = (if kind.is_file() && text_file {
                storage::read_text(&path)
            } else {
                Ok(None)
            }) else {
                continue;
            };
            for found in crate::store::secrets::find_all(&text) {
                out.push(Finding {
                    path: path.clone(),
                    line: Some(found.line),
                    column: Some(found.column),
                    kind: "secret",
                    message: format!(
                        "what looks like {} (rule {}): remove it from the file (git history \
                         keeps it: rotate the secret)",
                        found.name, found.rule
                    ),
                    fixable: false,
                });
            }
        }
    }
    out
}

fn nested_json(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if storage::is_temp_or_hidden(&name) {
            continue;
        }
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(nested_json(&path));
        } else if name.ends_with(".json") {
            out.push(path);
        }
    }
    out
}

/// Hidden `*.tmp` files left by a writer that was killed, in the hub and its folders.
fn leftover_temp_files(root: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && name != ".git" && name != layout::PRIVATE {
                dirs.push(entry.path());
            } else if kind.is_file() && name.starts_with('.') && name.ends_with(".tmp") {
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .is_some_and(|age| age > TEMP_GRACE);
                if old {
                    out.push(Finding {
                        path: entry.path(),
                        line: None,
                        column: None,
                        kind: "temp_file",
                        message: "a temp file left by an interrupted write (never read as data)"
                            .into(),
                        fixable: true,
                    });
                }
            }
        }
    }
    out
}

/// Repair what is safe: remove leftover temp files, finish interrupted operations.
/// Returns how many were fixed.
pub fn fix(hub: &Hub, findings: &[Finding]) -> Result<usize> {
    let mut fixed = 0;
    if findings.iter().any(|f| f.kind == "unfinished_operation") {
        let finished = crate::work::pending::finish_all(hub);
        fixed += findings
            .iter()
            .filter(|f| {
                f.kind == "unfinished_operation"
                    && finished
                        .iter()
                        .any(|d| f.path.file_stem().is_some_and(|s| *s == *d.op))
            })
            .count();
    }
    for f in findings
        .iter()
        .filter(|f| f.fixable && f.kind == "temp_file")
    {
        if storage::remove(&f.path)? {
            fixed += 1;
        }
    }
    Ok(fixed)
}
