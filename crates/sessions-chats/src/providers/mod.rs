//! Where each provider keeps its sessions, and the reader for each file shape.

pub mod claude;
pub mod codex;
pub mod cursor;
pub mod gemini;
pub mod opencode;

use std::path::{Path, PathBuf};

use crate::{ChatSession, Homes, Provider};

/// The shape of one session file (or database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ClaudeJsonl,
    CodexRollout,
    CodexArchived,
    GeminiJson,
    GeminiJsonl,
    CursorStore,
    OpencodeDb,
    OpencodeJson,
}

/// One file to read: the unit the index caches.
#[derive(Debug, Clone)]
pub struct Source {
    pub provider: Provider,
    pub kind: Kind,
    pub path: PathBuf,
    /// Size and mtime, when the folder walk already had them (`None`: stat the path).
    pub stamp: Option<Stamp>,
}

/// Size and modification time (ns) of a file: the key of a cached entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub size: u64,
    pub mtime_ns: u128,
}

impl Stamp {
    pub fn of(m: &std::fs::Metadata) -> Option<Stamp> {
        let mtime_ns = m
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_nanos();
        Some(Stamp {
            size: m.len(),
            mtime_ns,
        })
    }
}

/// The stamp of a file met in a folder walk (stat relative to the open folder, without
/// resolving its whole path again).
pub(crate) fn stamp_of(e: &std::fs::DirEntry) -> Option<Stamp> {
    Stamp::of(&e.metadata().ok()?)
}

impl Source {
    /// Files whose changes also change what this source holds (SQLite's write-ahead log).
    pub fn companions(&self) -> Vec<PathBuf> {
        match self.kind {
            Kind::CursorStore | Kind::OpencodeDb => {
                let mut wal = self.path.clone().into_os_string();
                wal.push("-wal");
                vec![PathBuf::from(wal)]
            }
            _ => Vec::new(),
        }
    }
}

/// Every session file of the chosen providers.
pub fn sources(homes: &Homes, providers: &[Provider]) -> Vec<Source> {
    let mut out = Vec::new();
    for &p in providers {
        match p {
            Provider::Claude => claude::sources(&homes.claude, &mut out),
            Provider::Codex => codex::sources(&homes.codex, &mut out),
            Provider::Gemini => gemini::sources(&homes.gemini, &mut out),
            Provider::Cursor => cursor::sources(&homes.cursor, &mut out),
            Provider::Opencode => opencode::sources(&homes.opencode, &mut out),
        }
    }
    out
}

/// Read one source. An `Err` is the one warning for that file.
pub fn read(source: &Source) -> Result<Vec<ChatSession>, String> {
    match source.kind {
        Kind::ClaudeJsonl => claude::read(&source.path).map(|s| vec![s]),
        Kind::CodexRollout | Kind::CodexArchived => {
            codex::read(&source.path, source.kind == Kind::CodexArchived).map(|s| vec![s])
        }
        Kind::GeminiJson => gemini::read_json(&source.path).map(|s| vec![s]),
        Kind::GeminiJsonl => gemini::read_jsonl(&source.path).map(|s| vec![s]),
        Kind::CursorStore => cursor::read(&source.path).map(|s| vec![s]),
        Kind::OpencodeDb => opencode::read_db(&source.path),
        Kind::OpencodeJson => opencode::read_json(&source.path).map(|s| vec![s]),
    }
}

/// What comes from files shared by many sessions (Codex's title index, Gemini's
/// project registry): applied after the per-file index, so it is always current.
pub fn complete(sessions: &mut [ChatSession], homes: &Homes) {
    let titles = codex::titles(&homes.codex);
    let roots = gemini::ProjectRoots::load(&homes.gemini);
    // Many sessions share a project folder: look each one up once.
    let mut root_of: std::collections::HashMap<PathBuf, Option<String>> = Default::default();
    for s in sessions.iter_mut() {
        match s.provider {
            Provider::Codex => {
                if let Some(title) = titles.get(&s.id) {
                    s.title = Some(title.clone());
                }
            }
            Provider::Gemini if s.cwd.is_none() => {
                if let Some(dir) = &s.project_dir {
                    s.cwd = root_of
                        .entry(dir.clone())
                        .or_insert_with(|| roots.root_of(dir))
                        .clone();
                }
            }
            _ => {}
        }
    }
}

/// Entries of a folder, sorted by name; a missing folder has none.
pub(crate) fn entries(dir: &Path) -> Vec<std::fs::DirEntry> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<_> = rd.filter_map(Result::ok).collect();
    v.sort_by_key(|e| e.file_name());
    v
}

pub(crate) fn is_dir(e: &std::fs::DirEntry) -> bool {
    e.file_type().map(|t| t.is_dir()).unwrap_or(false)
}

pub(crate) fn name(e: &std::fs::DirEntry) -> String {
    e.file_name().to_string_lossy().into_owned()
}
