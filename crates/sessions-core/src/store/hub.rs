//! Finding a hub, its layout, and the guarded ways to reach files inside it.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::store::config::Config;
use crate::store::error::{Error, Result};
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
    pub const PRIVATE: &str = ".sessions";
    pub const LOCKS: &str = ".sessions/locks";
}

/// The folder name searched for when walking up from the current directory.
pub const HUB_DIR_NAME: &str = "SESSIONS";

#[derive(Debug, Clone)]
pub struct Hub {
    root: PathBuf,
    canonical_root: PathBuf,
    pub config: Config,
    /// Set by `--allow-secrets`: skip the secret check for this command.
    pub allow_secrets: bool,
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
        let canonical_root = fs::canonicalize(root).map_err(|e| Error::io(root, e))?;
        let config = Config::load(root)?;
        Ok(Hub {
            root: root.to_path_buf(),
            canonical_root,
            config,
            allow_secrets: false,
        })
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
        &self.root
    }

    /// A path inside the hub. `rel` must be a fixed layout name or already validated.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// A file of the hub, refusing one reached through a symlink that leads outside the
    /// hub. Use this (not [`Hub::path`]) for every path that is read or written.
    pub fn file(&self, rel: &str) -> Result<PathBuf> {
        let path = self.root.join(rel);
        self.ensure_inside(&path)?;
        Ok(path)
    }

    /// A folder of the hub, refusing one that is a symlink leading outside the hub.
    /// Missing folders are fine (they read as empty).
    pub fn dir(&self, rel: &str) -> Result<PathBuf> {
        let dir = self.root.join(rel);
        self.ensure_inside(&dir)?;
        Ok(dir)
    }

    /// Refuse `path` when it (or a folder on the way to it) is a symlink out of the hub.
    pub fn ensure_inside(&self, path: &Path) -> Result<()> {
        ensure_within(&self.root, &self.canonical_root, path)
    }

    /// The sidecar lock guarding the hub file at `rel` (DESIGN §3.2).
    pub fn lock(&self, rel: &str) -> Result<FileLock> {
        let name = rel.replace(['/', '\\'], "%");
        let path = self.root.join(layout::LOCKS).join(format!("{name}.lock"));
        self.ensure_inside(&path)?;
        let lock = FileLock::acquire(&path, storage::DEFAULT_LOCK_TIMEOUT)?;
        self.ignore_private_dir();
        Ok(lock)
    }

    /// `.sessions/` holds machine-local state (locks, counters, cursors). A `.gitignore`
    /// inside it keeps it out of git even in hubs made by the old scripts, whose own
    /// `.gitignore` does not know it. Best effort: a read-only hub simply has none.
    fn ignore_private_dir(&self) {
        let ignore = self.root.join(layout::PRIVATE).join(".gitignore");
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
        let path = self.path(rel);
        self.ensure_inside(&path)?;
        if let Some(dir) = path.parent() {
            storage::ensure_dir(dir)?;
        }
        let _lock = self.lock(rel)?;
        let current = storage::read_json_object(&path)?;
        let (next, out) = f(current)?;
        storage::write_atomic(&path, &storage::json_bytes(&next))?;
        Ok(out)
    }

    /// List the data files of a hub folder with the given extension, skipping temp and
    /// hidden files and refusing symlinks that lead outside the hub. Sorted by name.
    pub fn list(&self, rel_dir: &str, ext: &str) -> Result<Vec<PathBuf>> {
        let dir = self.dir(rel_dir)?;
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if storage::is_temp_or_hidden(&name) || !name.ends_with(ext) {
                continue;
            }
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_symlink()) {
                self.ensure_inside(&path)?;
            }
            out.push(path);
        }
        out.sort();
        Ok(out)
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

/// Refuse `path` when it, or a folder between `root` and it, is a symlink that leads
/// outside `root` (whose canonical form is `canonical_root`). The one rule behind
/// `Hub::file`/`Hub::dir` and the status folder's checks.
pub fn ensure_within(root: &Path, canonical_root: &Path, path: &Path) -> Result<()> {
    // Only paths with a symlink between the root and them need resolving; the common
    // case costs one lstat per component.
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut current = root.to_path_buf();
    let mut deepest_existing = None;
    let mut any_link = false;
    for part in rel.components() {
        current.push(part);
        match fs::symlink_metadata(&current) {
            Ok(meta) => {
                any_link |= meta.file_type().is_symlink();
                deepest_existing = Some(current.clone());
            }
            Err(_) => break,
        }
    }
    if !any_link {
        return Ok(());
    }
    let existing = deepest_existing.unwrap_or_else(|| root.to_path_buf());
    let target = match fs::canonicalize(&existing) {
        Ok(target) if target.starts_with(canonical_root) => return Ok(()),
        Ok(target) => target,
        // A dangling link: where it points is all there is to report.
        Err(_) => fs::read_link(&existing).unwrap_or(existing),
    };
    Err(Error::OutsideHub {
        path: path.to_path_buf(),
        target,
    })
}
