//! The folder walk that finds session files. Each provider describes its tree as a rule
//! (what to enter, what to take, by depth and name); the walk reads the folders on a few
//! threads and stamps every file it takes (size and mtime, asked relative to the open
//! folder). A warm listing is mostly this walk: one `stat` per transcript is what
//! validating the cache costs (an append changes the file, not its folder), so the
//! folders are shared out over the cores.

use std::ffi::{CStr, CString, OsStr};
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};

use crate::Provider;
use crate::providers::{Kind, Source, Stamp};

/// What the walk does with one folder entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    Skip,
    /// Read this folder too.
    Enter,
    /// A session file of this kind.
    Take(Kind),
}

/// A provider's tree: where it starts and what to pick at each depth (0: the root's
/// own entries). `is_dir` comes from the folder listing; a link is neither followed
/// nor entered.
#[derive(Clone)]
pub struct Tree {
    pub provider: Provider,
    pub root: PathBuf,
    pub pick: fn(depth: usize, name: &str, is_dir: bool) -> Pick,
}

struct Job {
    tree: usize,
    dir: PathBuf,
    /// The open parent folder and this folder's name in it (the root is opened by path).
    parent: Option<(Arc<OwnedFd>, CString)>,
    depth: usize,
}

impl Job {
    fn open(&self) -> rustix::io::Result<OwnedFd> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        match &self.parent {
            // Entered because the listing said folder, not link: never followed.
            Some((fd, name)) => {
                rustix::fs::openat(fd, name.as_c_str(), flags | OFlags::NOFOLLOW, Mode::empty())
            }
            // A provider's root may be a link (a config folder kept with dotfiles).
            None => rustix::fs::open(&self.dir, flags, Mode::empty()),
        }
    }
}

/// Folders waiting to be read, and how many are being read (the walk ends when both
/// are none).
struct Queue {
    state: Mutex<(Vec<Job>, usize)>,
    changed: Condvar,
}

impl Queue {
    /// The next folder, or `None` when every folder has been read.
    fn next(&self) -> Option<Job> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(job) = state.0.pop() {
                state.1 += 1;
                return Some(job);
            }
            if state.1 == 0 {
                return None;
            }
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// One folder read, and the folders it led to.
    fn done(&self, found: Vec<Job>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // Waiters wait for work or for the end: wake them only for one of those.
        let wake = !found.is_empty() || state.1 == 1;
        state.0.extend(found);
        state.1 -= 1;
        drop(state);
        if wake {
            self.changed.notify_all();
        }
    }
}

/// Every file the trees pick, stamped, in no particular order.
pub fn walk(trees: &[Tree]) -> Vec<Source> {
    let queue = Queue {
        state: Mutex::new((
            trees
                .iter()
                .enumerate()
                .map(|(tree, t)| Job {
                    tree,
                    dir: t.root.clone(),
                    parent: None,
                    depth: 0,
                })
                .collect(),
            0,
        )),
        changed: Condvar::new(),
    };
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let work = || {
        let mut out = Vec::new();
        while let Some(job) = queue.next() {
            let found = read_folder(&trees[job.tree], &job, &mut out);
            queue.done(found);
        }
        out
    };
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        let mut all = work();
        for h in helpers {
            all.extend(h.join().unwrap_or_default());
        }
        all
    })
}

/// Read one folder: the files it takes go to `out`, the folders to enter are returned.
fn read_folder(tree: &Tree, job: &Job, out: &mut Vec<Source>) -> Vec<Job> {
    let mut enter = Vec::new();
    let Ok(mut dir) = job.open().and_then(Dir::new) else {
        return enter;
    };
    let mut entries = Vec::new();
    while let Some(Ok(e)) = dir.read() {
        if !matches!(e.file_name().to_bytes(), b"." | b"..") {
            entries.push(e);
        }
    }
    let Ok(fd) = dir.fd() else { return enter };
    // Shared by the folders entered from here, opened relative to it.
    let mut shared: Option<Arc<OwnedFd>> = None;
    for e in &entries {
        let name = e.file_name();
        let mut file_type = e.file_type();
        if file_type == FileType::Unknown {
            // A file system that does not say in the listing.
            match rustix::fs::statat(fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => file_type = FileType::from_raw_mode(st.st_mode),
                Err(_) => continue,
            }
        }
        let is_dir = file_type == FileType::Directory;
        match (tree.pick)(job.depth, &name.to_string_lossy(), is_dir) {
            Pick::Skip => {}
            Pick::Enter if is_dir => {
                let parent = match &shared {
                    Some(p) => p.clone(),
                    None => match rustix::io::fcntl_dupfd_cloexec(fd, 0) {
                        Ok(dup) => shared.insert(Arc::new(dup)).clone(),
                        Err(_) => continue,
                    },
                };
                enter.push(Job {
                    tree: job.tree,
                    dir: job.dir.join(OsStr::from_bytes(name.to_bytes())),
                    parent: Some((parent, name.to_owned())),
                    depth: job.depth + 1,
                })
            }
            Pick::Enter => {}
            Pick::Take(kind) => {
                let link = file_type == FileType::Symlink;
                let companion = kind.companion().and_then(|suffix| {
                    let mut beside = name.to_bytes().to_vec();
                    beside.extend_from_slice(suffix.as_bytes());
                    entries
                        .iter()
                        .find(|c| c.file_name().to_bytes() == beside)
                        .and_then(|c| stamp_at(fd, c.file_name(), false))
                });
                out.push(Source {
                    provider: tree.provider,
                    kind,
                    path: job.dir.join(OsStr::from_bytes(name.to_bytes())),
                    stamp: stamp_at(fd, name, link),
                    companion,
                })
            }
        }
    }
    enter
}

/// Size and mtime of `name` in the open folder `dir` (asked relative to it, not by
/// walking the whole path again); a link is stamped by what it points to, as it is read.
fn stamp_at(dir: BorrowedFd, name: &CStr, follow: bool) -> Option<Stamp> {
    let flags = if follow {
        AtFlags::empty()
    } else {
        AtFlags::SYMLINK_NOFOLLOW
    };
    rustix::fs::statat(dir, name, flags)
        .ok()
        .and_then(|st| Stamp::of_stat(&st))
}

/// A tree rooted at `root`.
pub fn tree(
    provider: Provider,
    root: &Path,
    pick: fn(depth: usize, name: &str, is_dir: bool) -> Pick,
) -> Tree {
    Tree {
        provider,
        root: root.to_path_buf(),
        pick,
    }
}
