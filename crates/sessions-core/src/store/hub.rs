//! Finding a hub, its layout, and the guarded ways to reach files inside it.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::store::config::Config;
use crate::store::error::{Error, Result};
use crate::store::folder::Folder;
use crate::store::storage::{self, FileLock};

/// Names of the hub's files and folders (DESIGN §2), in one place.
pub mod layout {
    pub const REGISTRY: &str = "REGISTRY.json";
    pub const MESSAGES: &str = "MESSAGES.md";
    pub const CURRENT_STATE: &str = "CURRENT_STATE.md";
    pub const HEARTBEATS: &str = "HEARTBEATS";
    pub const PRIORITIES: &str = "PRIORITIES";
    pub const MILESTONES: &str = "MILESTONES";
    pub const DISCOVERY: &str = "DISCOVERY";
    pub const HANDSHAKES: &str = "HANDSHAKES";
    pub const COLLABORATIONS: &str = "ACTIVE/COLLABORATIONS";
    /// The toolkit's private, git-ignored state.
    pub use crate::store::folder::{LOCKS, PRIVATE};
}

/// The folder name searched for when walking up from the current directory.
pub const HUB_DIR_NAME: &str = "SESSIONS";

#[derive(Debug, Clone)]
pub struct Hub {
    folder: Folder,
    pub config: Config,
}

impl Hub {
    /// Open the hub at `root`, which must be an existing folder.
    pub fn open(root: &Path) -> Result<Hub> {
        let meta = fs::metadata(root).map_err(|_| Error::NoHub {
            start: root.to_path_buf(),
        })?;
        if !meta.is_dir() {
            return Err(Error::NoHub {
                start: root.to_path_buf(),
            });
        }
        let folder = Folder::open(root)?;
        let config = Config::load(root)?;
        Ok(Hub { folder, config })
    }

    /// Find the hub: `explicit` (from `--hub` or `$SESSIONS_HUB`; a project folder with a
    /// `SESSIONS/` inside counts as its hub), else the nearest
    /// `SESSIONS/` from `cwd` upwards, preferring the main worktree's hub when `cwd` is
    /// inside a linked git worktree (all worktrees share one hub).
    pub fn discover(explicit: Option<&Path>, cwd: &Path) -> Result<Hub> {
        if let Some(dir) = explicit {
            // `--hub ~/project` means the project's hub when the folder is not one itself.
            let nested = dir.join(HUB_DIR_NAME);
            if !dir.join(layout::REGISTRY).exists() && nested.is_dir() {
                return Hub::open(&nested);
            }
            // A folder that is neither named SESSIONS nor holds any hub file is no hub:
            // writing one into it (a project's root, say) would scatter hub files there.
            let hub_like = dir.file_name().is_some_and(|n| n == HUB_DIR_NAME)
                || [
                    layout::REGISTRY,
                    layout::HEARTBEATS,
                    layout::CURRENT_STATE,
                    layout::MESSAGES,
                    layout::PRIVATE,
                ]
                .iter()
                .any(|name| dir.join(name).exists());
            if !hub_like {
                return Err(Error::NoHub {
                    start: dir.to_path_buf(),
                });
            }
            return Hub::open(dir);
        }
        match find_hub_from(cwd) {
            Some(dir) => Hub::open(&dir),
            None => Err(Error::NoHub {
                start: cwd.to_path_buf(),
            }),
        }
    }

    pub fn root(&self) -> &Path {
        self.folder.root()
    }

    /// The guarded folder every hub file is reached through.
    pub fn folder(&self) -> &Folder {
        &self.folder
    }

    /// `--allow-secrets`: skip the secret check for this command.
    pub fn set_allow_secrets(&mut self, allow: bool) {
        self.folder.allow_secrets = allow;
    }

    pub fn allow_secrets(&self) -> bool {
        self.folder.allow_secrets
    }

    /// A file of the hub, refusing one reached through a symlink that leads outside the
    /// hub. Every path that is read or written comes from here (or [`Hub::dir`]).
    pub fn file(&self, rel: &str) -> Result<PathBuf> {
        self.folder.resolve(rel)
    }

    /// A folder of the hub, refusing one that is a symlink leading outside the hub.
    /// Missing folders are fine (they read as empty).
    pub fn dir(&self, rel: &str) -> Result<PathBuf> {
        self.folder.resolve(rel)
    }

    /// Where `rel` would be, for naming it in a message; never for reading or writing.
    pub fn display_path(&self, rel: &str) -> PathBuf {
        self.folder.root().join(rel)
    }

    /// Refuse `path` when it (or a folder on the way to it) is a symlink out of the hub.
    pub fn ensure_inside(&self, path: &Path) -> Result<()> {
        self.folder.ensure_inside(path)
    }

    /// Refuse `text` when it looks like it holds a secret (unless `--allow-secrets`).
    pub fn check_secrets(&self, what: &str, text: &str) -> Result<()> {
        self.folder.check_secrets(what, text)
    }

    /// The sidecar lock guarding the hub file at `rel` (DESIGN §3.2).
    pub fn lock(&self, rel: &str) -> Result<FileLock> {
        let lock = self.folder.lock(rel)?;
        self.ignore_private_dir();
        Ok(lock)
    }

    /// `.sessions/` holds machine-local state (locks, counters, cursors). A `.gitignore`
    /// inside it keeps it out of git even in hubs made by the old scripts, whose own
    /// `.gitignore` does not know it. Best effort: a read-only hub simply has none.
    fn ignore_private_dir(&self) {
        let Ok(ignore) = self.folder.private(".gitignore") else {
            return;
        };
        if !ignore.exists() {
            let _ = storage::create_exclusive(
                &ignore,
                b"# The toolkit's private state; never committed.\n*\n",
            );
        }
    }

    /// Read-modify-write of a JSON object file under its sidecar lock. The file is
    /// re-read inside the lock; a file that does not parse aborts before anything is
    /// written. `f` gets `None` when the file does not exist yet.
    pub fn update_json<T>(
        &self,
        rel: &str,
        f: impl FnOnce(Option<Map<String, Value>>) -> Result<(Map<String, Value>, T)>,
    ) -> Result<T> {
        let out = self.folder.update_json(rel, f);
        self.ignore_private_dir();
        out
    }

    /// List the data files of a hub folder with the given extension, skipping temp and
    /// hidden files and refusing symlinks that lead outside the hub. Sorted by name.
    pub fn list(&self, rel_dir: &str, ext: &str) -> Result<Vec<PathBuf>> {
        self.folder.list(rel_dir, ext)
    }
}

/// Walk up from `start` looking for a hub.
fn find_hub_from(start: &Path) -> Option<PathBuf> {
    for dir in start.ancestors() {
        if let Some(main) = main_worktree_of(dir) {
            let hub = main.join(HUB_DIR_NAME);
            if hub.is_dir() {
                return Some(hub);
            }
        }
        let hub = dir.join(HUB_DIR_NAME);
        if hub.is_dir() {
            return Some(hub);
        }
        if dir.file_name().is_some_and(|n| n == HUB_DIR_NAME)
            && dir.join(layout::REGISTRY).is_file()
        {
            // A linked worktree's own checkout of the hub: the main worktree's is the one.
            if let Some(main) = dir.parent().and_then(main_worktree_of) {
                let hub = main.join(HUB_DIR_NAME);
                if hub.is_dir() {
                    return Some(hub);
                }
            }
            return Some(dir.to_path_buf());
        }
    }
    None
}

/// When `dir` is the top of a linked git worktree (its `.git` is a file pointing into
/// `<main>/.git/worktrees/<name>`), return the main worktree's folder.
fn main_worktree_of(dir: &Path) -> Option<PathBuf> {
    let dot_git = dir.join(".git");
    if !dot_git.is_file() {
        return None;
    }
    let text = fs::read_to_string(&dot_git).ok()?;
    let gitdir = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?.trim();
    let gitdir = dir.join(gitdir);
    let common = fs::read_to_string(gitdir.join("commondir")).ok()?;
    let common = fs::canonicalize(gitdir.join(common.trim())).ok()?;
    common.parent().map(Path::to_path_buf)
}
