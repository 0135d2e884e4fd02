//! Where each provider keeps its sessions, and the reader for each file shape.

pub mod claude;
pub mod codex;
pub mod cursor;
pub mod gemini;
pub mod opencode;

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::cache_file::SessionView;
use crate::walk::Tree;
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

/// Size and mtime of a source and of its companion (see [`Kind::companion`]): what a
/// cached entry is valid for.
pub type Stamps = (Option<Stamp>, Option<Stamp>);

/// One file to read: the unit the index caches.
#[derive(Debug, Clone)]
pub struct Source {
    pub provider: Provider,
    pub kind: Kind,
    pub path: PathBuf,
    /// The file's and its companion's, as the walk found them.
    pub stamps: Stamps,
}

/// Size, modification time and change time (ns since the epoch) of a file: the key of a
/// cached entry. The change time is set by the kernel on every write, rename and
/// metadata change and cannot be set back, so a file replaced by another of the same size
/// with its mtime copied (`touch -r`, `cp -p`, a backup restored) is read again too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub size: u64,
    pub mtime_ns: u64,
    pub ctime_ns: u64,
}

impl Stamp {
    /// From a `stat` (before the epoch: none).
    pub fn of_stat(st: &rustix::fs::Stat) -> Option<Stamp> {
        let ns = |secs: i64, nanos: u64| {
            u64::try_from(secs)
                .ok()?
                .checked_mul(1_000_000_000)?
                .checked_add(nanos)
        };
        Some(Stamp {
            size: u64::try_from(st.st_size).ok()?,
            mtime_ns: ns(st.st_mtime, st.st_mtime_nsec)?,
            ctime_ns: ns(st.st_ctime, st.st_ctime_nsec)?,
        })
    }
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::ClaudeJsonl,
        Kind::CodexRollout,
        Kind::CodexArchived,
        Kind::GeminiJson,
        Kind::GeminiJsonl,
        Kind::CursorStore,
        Kind::OpencodeDb,
        Kind::OpencodeJson,
    ];

    /// Its number in the cache.
    pub fn code(self) -> u8 {
        Kind::ALL.iter().position(|k| *k == self).unwrap_or(0) as u8
    }

    /// The suffix of a file beside this one whose changes also change what it holds
    /// (SQLite's write-ahead log).
    pub fn companion(self) -> Option<&'static str> {
        match self {
            Kind::CursorStore | Kind::OpencodeDb => Some("-wal"),
            _ => None,
        }
    }
}

/// Where the chosen providers keep their session files.
pub fn trees(homes: &Homes, providers: &[Provider]) -> Vec<Tree> {
    providers
        .iter()
        .flat_map(|&p| match p {
            Provider::Claude => claude::trees(&homes.claude),
            Provider::Codex => codex::trees(&homes.codex),
            Provider::Gemini => gemini::trees(&homes.gemini),
            Provider::Cursor => cursor::trees(&homes.cursor),
            Provider::Opencode => opencode::trees(&homes.opencode),
        })
        .collect()
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
/// project registry): applied to a session as it is listed, after the per-file index,
/// so it is always current.
pub struct Shared {
    titles: HashMap<String, String>,
    roots: gemini::ProjectRoots,
    /// Many sessions share a project folder: each is looked up once.
    root_of: RefCell<HashMap<PathBuf, Option<String>>>,
}

impl Shared {
    pub fn load(homes: &Homes) -> Shared {
        Shared {
            titles: codex::titles(&homes.codex),
            roots: gemini::ProjectRoots::load(&homes.gemini),
            root_of: RefCell::default(),
        }
    }

    /// The session's cwd: its own, else (Gemini) its project folder's root.
    pub fn cwd<'a>(&self, s: &SessionView<'a>) -> Option<Cow<'a, str>> {
        if let Some(cwd) = s.cwd {
            return Some(Cow::Borrowed(cwd));
        }
        let dir = s.project_dir.filter(|_| s.provider == Provider::Gemini)?;
        self.project_root(dir).map(Cow::Owned)
    }

    fn project_root(&self, dir: &Path) -> Option<String> {
        self.root_of
            .borrow_mut()
            .entry(dir.to_path_buf())
            .or_insert_with(|| self.roots.root_of(dir))
            .clone()
    }

    pub fn complete(&self, s: &mut ChatSession) {
        match s.provider {
            Provider::Codex => {
                if let Some(title) = self.titles.get(&s.id) {
                    s.title = Some(title.clone());
                }
            }
            Provider::Gemini if s.cwd.is_none() => {
                s.cwd = s.project_dir.as_deref().and_then(|d| self.project_root(d));
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
