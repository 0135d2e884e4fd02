//! Resolution beneath a folder handle: how every file effect inside a guarded folder
//! (the hub, a status folder, their `.sessions/`) reaches its file without following
//! a link and without naming the folder again.
//!
//! A check of a path followed by an open of the same path by name loses a race against
//! a process that swaps a folder or file for a link between the two (issue 10 §1). So a
//! guarded folder is opened once, as a handle ([`guard`]), and every later open,
//! create, rename, link, append, remove and mkdir inside it is resolved relative to
//! that handle: the folders on the way with `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS)` (Linux ≥ 5.6), or where that call is missing, one
//! `openat(O_NOFOLLOW | O_DIRECTORY)` per component; the last component with
//! `O_NOFOLLOW` or the `*at` call on the folder's handle, which never follows a link
//! in its last component. A link anywhere beneath a guarded folder is refused, whether
//! it leads in or out: the kernel decides, at the moment of the call.
//!
//! The storage primitives take paths, so call sites keep their shape: a path that lies
//! (lexically) beneath a guarded folder is resolved through that folder's handle;
//! any other path (an agent's settings file in `~`, git's `info/`) is used as given.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
#[cfg(any(target_os = "linux", target_os = "android"))]
use std::sync::{
    OnceLock,
    atomic::{AtomicBool, Ordering},
};

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};
use rustix::io::Errno;

/// What an `io::Error` carries when a link (or a `..`) was met beneath a guarded
/// folder. [`crate::store::error::Error::io`] turns it into `OutsideHub`.
#[derive(Debug)]
pub struct LinkRefused {
    pub path: PathBuf,
}

impl std::fmt::Display for LinkRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is, or lies under, a symbolic link; refusing to follow links inside the hub",
            self.path.display()
        )
    }
}

impl std::error::Error for LinkRefused {}

fn refused(path: &Path) -> io::Error {
    io::Error::other(LinkRefused {
        path: path.to_path_buf(),
    })
}

/// The refusal inside `e`, if it is one.
pub fn link_refused(e: &io::Error) -> Option<&LinkRefused> {
    e.get_ref()?.downcast_ref::<LinkRefused>()
}

/// A guarded folder: its path as the toolkit names it, and its handle once it exists.
#[derive(Debug)]
struct Root {
    path: PathBuf,
    handle: Mutex<Option<Arc<OwnedFd>>>,
}

static ROOTS: Mutex<Vec<Arc<Root>>> = Mutex::new(Vec::new());

/// Guard the folder `root`: from now on every path beneath it is resolved through its
/// handle. The handle is opened now when the folder exists, else at its first use (a
/// status folder may be created later); a folder beneath another guarded one is opened
/// through that one's handle, so it cannot be a link either. Guarding twice is a no-op.
pub fn guard(root: &Path) -> io::Result<()> {
    let path = absolute(root)?;
    let entry = {
        let mut roots = ROOTS.lock().unwrap_or_else(|p| p.into_inner());
        match roots.iter().find(|r| r.path == path) {
            Some(r) => r.clone(),
            None => {
                let r = Arc::new(Root {
                    path,
                    handle: Mutex::new(None),
                });
                roots.push(r.clone());
                r
            }
        }
    };
    match handle_of(&entry) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// `path` made absolute with `..` folded lexically, so that a path the toolkit built
/// as `<hub>/../.git/info` is known to lie outside the hub (and is used as given),
/// while one beneath the hub is never resolved through a `..` there. Folding is exact
/// beneath a guarded folder, where no link is followed.
fn absolute(path: &Path) -> io::Result<PathBuf> {
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::path::absolute(path)?
    };
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Ok(out)
}

fn snapshot() -> Vec<Arc<Root>> {
    ROOTS.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// The handle of `root`, opened on first use, and again when the folder at its path
/// is no longer the one the handle holds (a hub deleted and made again while a
/// long-running `watch` or MCP server keeps it): writes never go to a deleted folder.
fn handle_of(root: &Arc<Root>) -> io::Result<Arc<OwnedFd>> {
    let mut slot = root.handle.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(h) = slot.as_ref() {
        let now = rfs::stat(&root.path)?;
        let held = rfs::fstat(&**h)?;
        if (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino) {
            return Ok(h.clone());
        }
    }
    let fd = match enclosing(&root.path, Some(root))? {
        Some((outer, rel)) => open_dir_beneath(&outer, &rel, &root.path)?,
        // A folder the person named (or the hub found by walking up): its own path is
        // theirs to choose, links included.
        None => rfs::open(
            &root.path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?,
    };
    let fd = Arc::new(fd);
    *slot = Some(fd.clone());
    Ok(fd)
}

/// The handle of the deepest existing guarded folder holding `path` (other than
/// `skip`), and `path` relative to it. `None` when no guarded folder holds it.
fn enclosing(path: &Path, skip: Option<&Arc<Root>>) -> io::Result<Option<(Arc<OwnedFd>, PathBuf)>> {
    let mut holders: Vec<Arc<Root>> = snapshot()
        .into_iter()
        .filter(|r| path.starts_with(&r.path) && skip.is_none_or(|s| r.path != s.path))
        .collect();
    holders.sort_by_key(|r| std::cmp::Reverse(r.path.components().count()));
    for root in holders {
        match handle_of(&root) {
            Ok(handle) => {
                let rel = path.strip_prefix(&root.path).unwrap_or(path).to_path_buf();
                return Ok(Some((handle, rel)));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// Tests force the component walk with `SESSIONS_TEST_NO_OPENAT2`, so the fallback for
/// kernels without `openat2` runs in CI too.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn openat2_missing() -> &'static AtomicBool {
    static MISSING: OnceLock<AtomicBool> = OnceLock::new();
    MISSING.get_or_init(|| {
        let forced =
            super::test_hooks::ENABLED && std::env::var_os("SESSIONS_TEST_NO_OPENAT2").is_some();
        AtomicBool::new(forced)
    })
}

/// The names of `rel`, refusing anything but plain names (`..`, `/`).
fn names<'a>(rel: &'a Path, path: &Path) -> io::Result<Vec<&'a std::ffi::OsStr>> {
    rel.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| match c {
            Component::Normal(n) => Ok(n),
            _ => Err(refused(path)),
        })
        .collect()
}

/// Open the folder `rel` beneath `root` without following any link. `path` names it
/// in errors.
fn open_dir_beneath(root: &OwnedFd, rel: &Path, path: &Path) -> io::Result<OwnedFd> {
    let parts = names(rel, path)?;
    if parts.is_empty() {
        return Ok(rfs::openat(
            root,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?);
    }
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Some(opened) = openat2_beneath(root, rel, flags, path) {
        return opened;
    }
    let mut current: Option<OwnedFd> = None;
    for part in parts {
        let dir = current.as_ref().map_or(root.as_fd(), |d| d.as_fd());
        let next = rfs::openat(dir, part, flags | OFlags::NOFOLLOW, Mode::empty())
            .map_err(|e| classify(e, dir, part, path))?;
        current = Some(next);
    }
    Ok(current.expect("at least one part"))
}

/// `ELOOP` under `O_NOFOLLOW` is a link; so is `ENOTDIR` when the name is one.
fn classify(e: Errno, dir: impl AsFd, name: &std::ffi::OsStr, path: &Path) -> io::Error {
    let is_link = || {
        rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|st| rfs::FileType::from_raw_mode(st.st_mode) == rfs::FileType::Symlink)
    };
    if e == Errno::LOOP || (e == Errno::NOTDIR && is_link()) {
        refused(path)
    } else {
        e.into()
    }
}

/// The whole of `rel` in one `openat2` call, the kernel refusing any link and any way
/// out; `None` where the call is missing (then the caller walks the components).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn openat2_beneath(
    root: &OwnedFd,
    rel: &Path,
    flags: OFlags,
    path: &Path,
) -> Option<io::Result<OwnedFd>> {
    use rustix::fs::ResolveFlags;
    if openat2_missing().load(Ordering::Relaxed) {
        return None;
    }
    let how = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    // EAGAIN: a rename elsewhere raced the lookup; the kernel asks for a retry.
    for _ in 0..16 {
        match rfs::openat2(root, rel, flags, Mode::empty(), how) {
            Ok(fd) => return Some(Ok(fd)),
            Err(Errno::AGAIN) => continue,
            // Missing (older kernel), or filtered out (some container sandboxes).
            Err(Errno::NOSYS | Errno::PERM) => {
                openat2_missing().store(true, Ordering::Relaxed);
                return None;
            }
            Err(Errno::LOOP | Errno::XDEV) => return Some(Err(refused(path))),
            Err(e) => return Some(Err(e.into())),
        }
    }
    Some(Err(io::Error::new(
        io::ErrorKind::WouldBlock,
        "the folder kept changing while it was opened; run the command again",
    )))
}

/// Create the folders of `rel` beneath `root` (the missing ones), never following a
/// link, and return the handle of the last.
fn make_dirs_beneath(root: &OwnedFd, rel: &Path, path: &Path) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
    let mut current = rfs::openat(root, ".", flags, Mode::empty())?;
    for part in names(rel, path)? {
        let next = match rfs::openat(&current, part, flags, Mode::empty()) {
            Err(Errno::NOENT) => {
                match rfs::mkdirat(&current, part, Mode::from_raw_mode(0o777)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
                rfs::openat(&current, part, flags, Mode::empty())
            }
            other => other,
        }
        .map_err(|e| classify(e, &current, part, path))?;
        current = next;
    }
    Ok(current)
}

/// The folder `dir` (and its parents) created if missing: beneath its guarded folder
/// without following links, else by path.
pub fn make_dirs(dir: &Path) -> io::Result<()> {
    let abs = absolute(dir)?;
    match enclosing(&abs, None)? {
        Some((root, rel)) => make_dirs_beneath(&root, &rel, dir).map(drop),
        None => std::fs::create_dir_all(dir),
    }
}

/// A name in an open folder: where every file effect happens.
#[derive(Debug)]
pub struct At {
    dir: Arc<OwnedFd>,
    name: OsString,
    /// Inside a guarded folder: the last component must not be a link either.
    guarded: bool,
    path: PathBuf,
}

/// The folder holding `path`, opened (beneath its guarded folder when there is one),
/// and the last name of `path`.
pub fn at(path: &Path) -> io::Result<At> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a path without a name"))?
        .to_os_string();
    let abs = absolute(path)?;
    if let Some((root, rel)) = enclosing(&abs, None)?
        && rel.components().next().is_some()
    {
        let parent = rel.parent().unwrap_or(Path::new(""));
        let dir = if parent.as_os_str().is_empty() {
            root
        } else {
            Arc::new(open_dir_beneath(&root, parent, path)?)
        };
        names(&rel, path)?;
        return Ok(At {
            dir,
            name,
            guarded: true,
            path: path.to_path_buf(),
        });
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = rfs::open(
        parent,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(At {
        dir: Arc::new(dir),
        name,
        guarded: false,
        path: path.to_path_buf(),
    })
}

impl At {
    /// Another name in the same folder (a temp file beside its target).
    pub fn sibling(&self, name: OsString) -> At {
        At {
            dir: self.dir.clone(),
            path: self.path.with_file_name(&name),
            name,
            guarded: self.guarded,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Open the name with `flags` (`O_NOFOLLOW` added inside a guarded folder).
    pub fn open(&self, flags: OFlags, mode: u32) -> io::Result<File> {
        let mut flags = flags | OFlags::CLOEXEC;
        if self.guarded {
            flags |= OFlags::NOFOLLOW;
        }
        match rfs::openat(&*self.dir, &self.name, flags, Mode::from_raw_mode(mode)) {
            Ok(fd) => Ok(File::from(fd)),
            Err(Errno::LOOP) if self.guarded => Err(refused(&self.path)),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the name is a link (for telling a dangling link from a missing file).
    pub fn is_link(&self) -> bool {
        rfs::statat(&*self.dir, &self.name, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|st| rfs::FileType::from_raw_mode(st.st_mode) == rfs::FileType::Symlink)
    }

    /// Rename this name to `to` (replacing what is there), never following a link.
    pub fn rename_to(&self, to: &At) -> io::Result<()> {
        Ok(rfs::renameat(&*self.dir, &self.name, &*to.dir, &to.name)?)
    }

    /// Hard-link this name as `to`; fails with `AlreadyExists` when `to` exists.
    pub fn link_to(&self, to: &At) -> io::Result<()> {
        Ok(rfs::linkat(
            &*self.dir,
            &self.name,
            &*to.dir,
            &to.name,
            AtFlags::empty(),
        )?)
    }

    pub fn unlink(&self) -> io::Result<()> {
        Ok(rfs::unlinkat(&*self.dir, &self.name, AtFlags::empty())?)
    }

    pub fn remove_dir(&self) -> io::Result<()> {
        Ok(rfs::unlinkat(&*self.dir, &self.name, AtFlags::REMOVEDIR)?)
    }

    /// fsync the folder, so a rename, link or unlink in it survives a crash.
    pub fn sync_dir(&self) -> io::Result<()> {
        Ok(rfs::fsync(&*self.dir)?)
    }
}

/// The open folder `dir`, beneath its guarded folder when there is one.
pub fn open_dir(dir: &Path) -> io::Result<OwnedFd> {
    let abs = absolute(dir)?;
    match enclosing(&abs, None)? {
        Some((root, rel)) => open_dir_beneath(&root, &rel, dir),
        None => Ok(rfs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?),
    }
}

/// The entries of the folder `dir` (opened as [`open_dir`]): name and whether it is a
/// link. `.` and `..` left out.
pub fn list_dir(dir: &Path) -> io::Result<Vec<(OsString, bool)>> {
    use std::os::unix::ffi::OsStrExt;
    let fd = open_dir(dir)?;
    let mut out = Vec::new();
    for entry in rfs::Dir::read_from(&fd)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        out.push((
            std::ffi::OsStr::from_bytes(name).to_os_string(),
            entry.file_type() == rfs::FileType::Symlink,
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "sessions-beneath-{name}-{}-{}",
            std::process::id(),
            crate::store::ids::unique("t")
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_folder_made_again_at_its_path_gets_a_fresh_handle() {
        let root = scratch("again");
        guard(&root).unwrap();
        let file = root.join("a.md");
        let target = at(&file).unwrap();
        target.open(OFlags::WRONLY | OFlags::CREATE, 0o644).unwrap();
        assert!(file.is_file());
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::create_dir(&root).unwrap();
        at(&file)
            .unwrap()
            .open(OFlags::WRONLY | OFlags::CREATE, 0o644)
            .unwrap();
        assert!(file.is_file(), "written into the deleted folder instead");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn dot_dot_and_links_beneath_a_guarded_folder_are_refused() {
        let root = scratch("dots");
        let outside = scratch("dots-out");
        std::fs::create_dir(root.join("sub")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("out")).unwrap();
        guard(&root).unwrap();
        for path in [
            root.join("sub/../out/x"),
            root.join("out/x"),
            root.join("out"),
        ] {
            let err = make_dirs(&path.join("y")).unwrap_err();
            assert!(link_refused(&err).is_some(), "{path:?}: {err}");
        }
        let err = at(&root.join("out"))
            .unwrap()
            .open(OFlags::RDONLY, 0)
            .unwrap_err();
        assert!(link_refused(&err).is_some(), "{err}");
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        make_dirs(&root.join("sub/a/b")).unwrap();
        assert!(root.join("sub/a/b").is_dir());
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::remove_dir_all(&outside).unwrap();
    }
}
