//! A guarded folder: the one way to reach files beneath the hub or a status folder.
//!
//! Every file the toolkit reads or writes inside a shared folder is named relative to a
//! [`Folder`] and named by [`Folder::resolve`], which refuses early, with a message
//! saying where it leads, a name that leads outside the folder through a symlink.
//! Opening a folder guards it ([`beneath::guard`]): every file effect beneath it is
//! then resolved relative to the folder's handle without following any link, at the
//! moment of the effect, so a link swapped in after the check is refused too.
//! Callers never join paths onto the root themselves.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::store::beneath;
use crate::store::error::{Error, Result};
use crate::store::secrets;
use crate::store::storage::{self, FileLock};

/// The toolkit's private, git-ignored state inside a folder.
pub const PRIVATE: &str = ".sessions";
/// Sidecar locks, inside [`PRIVATE`].
pub const LOCKS: &str = ".sessions/locks";

/// An entry of a listed folder: its name and whether it is a link.
type Named = (String, bool);

#[derive(Debug, Clone)]
pub struct Folder {
    root: PathBuf,
    /// Known when the folder existed when opened; else worked out at each check (a
    /// status folder may be created later).
    canonical_root: Option<PathBuf>,
    /// Set by `--allow-secrets`: skip the secret check for this command.
    pub allow_secrets: bool,
}

impl Folder {
    /// A folder that exists: its canonical form is taken once, now.
    pub fn open(root: &Path) -> Result<Folder> {
        let canonical_root = fs::canonicalize(root).map_err(|e| Error::io(root, e))?;
        beneath::guard(root).map_err(|e| Error::io(root, e))?;
        Ok(Folder {
            root: root.to_path_buf(),
            canonical_root: Some(canonical_root),
            allow_secrets: false,
        })
    }

    /// A folder that may not exist yet. It is guarded all the same: its handle is
    /// taken at its first use (beneath the hub's when it lies inside the hub).
    pub fn at(root: &Path) -> Folder {
        // An error here (a link where the folder should be) recurs, and is reported,
        // at the folder's first use.
        let _ = beneath::guard(root);
        Folder {
            root: root.to_path_buf(),
            canonical_root: None,
            allow_secrets: false,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file or folder `rel` beneath this folder, refusing one reached through a
    /// symlink that leads outside it. `rel` is a fixed layout name or built from
    /// validated IDs. The one place names are resolved (see the module doc).
    pub fn resolve(&self, rel: &str) -> Result<PathBuf> {
        let path = self.root.join(rel);
        self.ensure_inside(&path)?;
        Ok(path)
    }

    /// Refuse `path` (beneath the root) when it, or a folder on the way to it, is a
    /// symlink out of the folder. For paths found by listing this folder.
    pub fn ensure_inside(&self, path: &Path) -> Result<()> {
        match &self.canonical_root {
            Some(canonical) => ensure_within(&self.root, canonical, path),
            None => {
                let canonical = fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone());
                ensure_within(&self.root, &canonical, path)
            }
        }
    }

    /// The private state folder (`.sessions/`), or a file inside it.
    pub fn private(&self, rel: &str) -> Result<PathBuf> {
        if rel.is_empty() {
            self.resolve(PRIVATE)
        } else {
            self.resolve(&format!("{PRIVATE}/{rel}"))
        }
    }

    /// The sidecar lock guarding the file at `rel` (DESIGN §3.2), in `.sessions/locks/`.
    pub fn lock(&self, rel: &str) -> Result<FileLock> {
        let name = rel.replace(['/', '\\'], "%");
        let path = self.resolve(&format!("{LOCKS}/{name}.lock"))?;
        FileLock::acquire(&path, storage::DEFAULT_LOCK_TIMEOUT)
    }

    /// Refuse `text` when it holds something that looks like a secret, unless the
    /// person passed `--allow-secrets`.
    pub fn check_secrets(&self, what: &str, text: &str) -> Result<()> {
        if self.allow_secrets {
            Ok(())
        } else {
            secrets::check(what, text)
        }
    }

    /// The data files of the folder `rel_dir` (`""` for the root) whose names end with
    /// `suffix`, skipping temp and hidden files and refusing symlinks that lead outside.
    /// Sorted by name. A missing folder lists as empty.
    pub fn list(&self, rel_dir: &str, suffix: &str) -> Result<Vec<PathBuf>> {
        let Some((dir, entries)) = self.read_dir(rel_dir)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (name, is_link) in entries {
            if storage::is_temp_or_hidden(&name) || !name.ends_with(suffix) {
                continue;
            }
            let path = dir.join(&name);
            if is_link {
                self.ensure_inside(&path)?;
            }
            out.push(path);
        }
        out.sort();
        Ok(out)
    }

    /// Every entry name of the folder `rel_dir`, hidden ones included, unsorted: for
    /// scanners with their own naming rules (signals, held files). Missing: empty.
    pub fn entries(&self, rel_dir: &str) -> Result<Vec<(String, PathBuf)>> {
        let Some((dir, entries)) = self.read_dir(rel_dir)? else {
            return Ok(Vec::new());
        };
        Ok(entries
            .into_iter()
            .map(|(name, _)| {
                let path = dir.join(&name);
                (name, path)
            })
            .collect())
    }

    /// The names in the folder `rel_dir` (`""` for the root), opened beneath this
    /// folder's handle, each with whether it is a link, and the folder's path;
    /// `None` when it does not exist (it lists as empty). Names that are not UTF-8
    /// are no toolkit file and are left out.
    fn read_dir(&self, rel_dir: &str) -> Result<Option<(PathBuf, Vec<Named>)>> {
        let dir = if rel_dir.is_empty() {
            self.root.clone()
        } else {
            self.resolve(rel_dir)?
        };
        match beneath::list_dir(&dir) {
            Ok(entries) => Ok(Some((
                dir,
                entries
                    .into_iter()
                    .filter_map(|(name, link)| name.into_string().ok().map(|n| (n, link)))
                    .collect(),
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&dir, e)),
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
        let path = self.resolve(rel)?;
        let _lock = self.lock(rel)?;
        let current = storage::read_json_object(&path)?;
        let (next, out) = f(current)?;
        if let Some(dir) = path.parent() {
            storage::ensure_dir(dir)?;
        }
        storage::write_atomic(&path, &storage::json_bytes(&next))?;
        Ok(out)
    }
}

/// Refuse `path` when it, or a folder between `root` and it, is a symlink that leads
/// outside `root` (whose canonical form is `canonical_root`).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_refuses_a_symlink_out_and_allows_one_within() {
        let base = std::env::temp_dir().join(format!(
            "sessions-folder-{}-{}",
            std::process::id(),
            crate::store::ids::unique("t")
        ));
        let root = base.join("hub");
        let outside = base.join("outside");
        storage::ensure_dir(&root.join("inner")).unwrap();
        storage::ensure_dir(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("out")).unwrap();
        std::os::unix::fs::symlink(root.join("inner"), root.join("in")).unwrap();
        let folder = Folder::open(&root).unwrap();
        assert!(matches!(
            folder.resolve("out/x.json"),
            Err(Error::OutsideHub { .. })
        ));
        assert_eq!(folder.resolve("in/x.json").unwrap(), root.join("in/x.json"));
        // The check above only names the target; the write itself never follows a
        // link, not even one that stays inside.
        assert!(matches!(
            storage::write_atomic(&root.join("in/x.json"), b"{}"),
            Err(Error::OutsideHub { .. })
        ));
        assert!(!root.join("inner/x.json").exists());
        assert!(
            folder.lock("out/x.json").is_ok(),
            "lock names are flattened"
        );
        let later = Folder::at(&base.join("later"));
        assert!(later.list("", ".md").unwrap().is_empty());
        storage::remove_tree(&base).unwrap();
    }
}
