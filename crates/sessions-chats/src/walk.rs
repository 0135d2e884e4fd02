//! The folder walk that finds session files. Each provider describes its tree as a rule
//! (what to enter, what to take, by depth and name); the walk reads the folders on all
//! cores and stamps every file it takes (size, mtime and change time, asked relative to the open
//! folder), telling the files whose cached entry is still current from those to read.
//!
//! A warm listing is mostly this walk. One `stat` per transcript is what validating the
//! cache costs (an append changes the file, not its folder); the folder listings are
//! kept with the cache and reused while a folder's own stamp (inode, mtime, ctime) is
//! unchanged, so an unchanged folder is opened and stamped but not read. As git does
//! for its index, a listing taken less than [`RACY`] after the folder last changed is
//! not reused: a file added within the same timestamp tick would not change the stamp.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};

use crate::cache_file::{Reader, Writer};
use crate::providers::{Kind, Source, Stamp, Stamps};
use crate::{Provider, Warning};

/// How long after a folder's last change its listing may be reused (ns): more than the
/// coarsest timestamp tick of the file systems sessions live on (FAT's two seconds).
pub const RACY: i128 = 3_000_000_000;

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

/// A folder's own stamp: any entry added, removed or renamed changes its mtime and ctime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderStamp {
    pub ino: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
}

impl FolderStamp {
    fn of(fd: BorrowedFd) -> Option<FolderStamp> {
        let st = rustix::fs::fstat(fd).ok()?;
        let ns = |s: i64, n: u64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Some(FolderStamp {
            ino: st.st_ino,
            mtime_ns: ns(st.st_mtime, st.st_mtime_nsec),
            ctime_ns: ns(st.st_ctime, st.st_ctime_nsec),
        })
    }
}

/// A file a folder listing picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken<N> {
    pub name: N,
    pub kind: Kind,
    /// A link (stamped by what it points to).
    pub link: bool,
    /// Its companion was beside it.
    pub companion: bool,
    /// Where its entry is in the cache the listing was read from.
    pub entry: Option<u64>,
}

/// What one folder held, as a tree's rule picked it: kept with the cache (names owned
/// when just listed, borrowed from the cache's bytes when read back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing<N> {
    pub stamp: FolderStamp,
    /// When it was listed (ns since the epoch).
    pub listed_at: i128,
    pub enter: Vec<N>,
    pub take: Vec<Taken<N>>,
}

impl<N: AsRef<CStr>> Listing<N> {
    /// Whether this listing still says what the folder holds: the folder's stamp is the
    /// same, and the listing was taken long enough after the folder's mtime that any
    /// later change moved it (a change sets the mtime to the time of the change).
    pub fn reusable(&self, now: &FolderStamp) -> bool {
        self.stamp == *now && self.stamp.mtime_ns + RACY < self.listed_at
    }

    /// Write this folder's record; `entry` says where each taken file's entry is (by
    /// the file's path) in the cache being written.
    pub fn encode(&self, w: &mut Writer, path: &Path, entry: impl Fn(&[u8]) -> Option<u64>) {
        let len_at = w.len();
        w.u32(0);
        w.path(path);
        w.u64(self.stamp.ino);
        w.i128(self.stamp.mtime_ns);
        w.i128(self.stamp.ctime_ns);
        w.i128(self.listed_at);
        w.u32(self.enter.len() as u32);
        for name in &self.enter {
            w.cstr(name.as_ref());
        }
        w.u32(self.take.len() as u32);
        let mut file = path.as_os_str().as_bytes().to_vec();
        let folder_len = file.len();
        for t in &self.take {
            let name = t.name.as_ref();
            w.cstr(name);
            w.u8(t.kind.code());
            w.u8(u8::from(t.link) | u8::from(t.companion) << 1);
            file.truncate(folder_len);
            file.push(b'/');
            file.extend_from_slice(name.to_bytes());
            w.u64(entry(&file).unwrap_or(u64::MAX));
        }
        let len = w.len() - len_at - 4;
        w.patch_u32(len_at, len as u32);
    }
}

impl<'a> Listing<&'a CStr> {
    /// A folder record of the cache: its path, its listing, and its bytes (length
    /// included) from `start`.
    pub fn decode(r: &mut Reader<'a>) -> Option<(&'a Path, Listing<&'a CStr>)> {
        let start = r.position();
        let end = (r.u32()? as usize).checked_add(start + 4)?;
        let path = r.path_ref()?;
        let stamp = FolderStamp {
            ino: r.u64()?,
            mtime_ns: r.i128()?,
            ctime_ns: r.i128()?,
        };
        let listed_at = r.i128()?;
        let enter = (0..r.u32()?).map(|_| r.cstr()).collect::<Option<_>>()?;
        let take = (0..r.u32()?)
            .map(|_| {
                let name = r.cstr()?;
                let kind = *Kind::ALL.get(usize::from(r.u8()?))?;
                let flags = r.u8()?;
                let entry = Some(r.u64()?).filter(|&at| at != u64::MAX);
                Some(Taken {
                    name,
                    kind,
                    link: flags & 1 != 0,
                    companion: flags & 2 != 0,
                    entry,
                })
            })
            .collect::<Option<_>>()?;
        (r.position() == end).then_some((
            path,
            Listing {
                stamp,
                listed_at,
                enter,
                take,
            },
        ))
    }
}

/// What the previous cache knew, for the walk to compare with, and what the walk
/// gathers of the entries it finds current (each thread its own, merged at the end).
pub trait Prior: Sync {
    type Found: Default + Send;
    /// The listing kept for this folder, and its record's number.
    fn folder(&self, path: &[u8]) -> Option<(usize, &Listing<&CStr>)>;
    /// Where the entry of the file at `path` is.
    fn find(&self, path: &[u8]) -> Option<u64>;
    /// Whether the entry at `at` is the file at `path` as `stamps` say it is now; when it
    /// is, it is taken in.
    fn current(&self, at: u64, path: &[u8], stamps: &Stamps, into: &mut Self::Found) -> Match;
    fn merge(into: &mut Self::Found, other: Self::Found);
}

/// How a cache entry compares with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    Current,
    /// The file's entry, from before it changed.
    Changed,
    /// Not this file's entry.
    Other,
}

/// A folder the walk met, for the next cache.
pub enum Folder {
    /// Its record in the previous cache still holds (by index).
    Kept(usize),
    /// Listed this time.
    Listed(PathBuf, Listing<CString>),
}

/// What the walk found.
pub struct Walked<F> {
    /// What [`Prior::found`] gathered of the entries that are current.
    pub current: F,
    /// How many entries are current.
    pub current_count: usize,
    /// Files to read: new, or changed since the previous cache.
    pub changed: Vec<Source>,
    pub folders: Vec<Folder>,
    /// Folders there that could not be read (their sessions are not listed).
    pub unreadable: Vec<Warning>,
}

impl<F: Default> Default for Walked<F> {
    fn default() -> Self {
        Walked {
            current: F::default(),
            current_count: 0,
            changed: Vec::new(),
            folders: Vec::new(),
            unreadable: Vec::new(),
        }
    }
}

impl<F> Walked<F> {
    fn extend<P: Prior<Found = F>>(&mut self, other: Walked<F>) {
        P::merge(&mut self.current, other.current);
        self.current_count += other.current_count;
        self.changed.extend(other.changed);
        self.folders.extend(other.folders);
        self.unreadable.extend(other.unreadable);
    }

    fn unreadable(&mut self, job: &Job, e: rustix::io::Errno) {
        self.unreadable.push(Warning {
            path: job.dir.clone(),
            message: format!(
                "cannot read this folder ({}): its sessions are not listed",
                std::io::Error::from(e)
            ),
        });
    }

    /// How many folders were kept as the previous cache had them.
    pub fn kept(&self) -> usize {
        self.folders
            .iter()
            .filter(|f| matches!(f, Folder::Kept(_)))
            .count()
    }
}

struct Job {
    tree: usize,
    dir: PathBuf,
    /// The open parent folder and this folder's name in it (the root is opened by path).
    parent: Option<(Arc<OwnedFd>, CString)>,
    depth: usize,
}

impl Job {
    /// The folder `name` in this one, opened relative to it.
    fn child(&self, parent: &Arc<OwnedFd>, name: &impl AsRef<CStr>) -> Job {
        let name = name.as_ref();
        Job {
            tree: self.tree,
            dir: self.dir.join(OsStr::from_bytes(name.to_bytes())),
            parent: Some((parent.clone(), name.to_owned())),
            depth: self.depth + 1,
        }
    }

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

/// Folders waiting to be read. Each thread keeps the folders it finds and shares them
/// only while another thread waits for work: a lock and a wake-up per folder would cost
/// more than stamping a small folder's files.
struct Queue {
    /// Shared folders, and how many threads wait for one.
    state: Mutex<(Vec<Job>, usize)>,
    /// The number of waiting threads, for a look without the lock.
    idle: AtomicUsize,
    changed: Condvar,
    threads: usize,
}

impl Queue {
    /// A shared folder, or `None` when every thread waits and none is left: the end.
    fn wait(&self) -> Option<Job> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.1 += 1;
        loop {
            if let Some(job) = state.0.pop() {
                state.1 -= 1;
                self.idle.store(state.1, Ordering::Relaxed);
                return Some(job);
            }
            if state.1 == self.threads {
                self.changed.notify_all();
                return None;
            }
            self.idle.store(state.1, Ordering::Relaxed);
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Give half of `own` to the threads waiting, if any.
    fn share(&self, own: &mut Vec<Job>) {
        if self.idle.load(Ordering::Relaxed) == 0 || own.len() < 2 {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0.extend(own.drain(..own.len() / 2));
        drop(state);
        self.changed.notify_all();
    }
}

/// Every file the trees pick, stamped and compared with `prior`, in no particular order.
pub fn walk<P: Prior>(trees: &[Tree], prior: &P) -> Walked<P::Found> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let queue = Queue {
        threads,
        idle: AtomicUsize::new(0),
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
    let work = || {
        let mut out = Walked::default();
        let mut own = Vec::new();
        while let Some(job) = own.pop().or_else(|| queue.wait()) {
            own.extend(read_folder(&trees[job.tree], &job, prior, &mut out));
            queue.share(&mut own);
        }
        out
    };
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        let mut all = work();
        for h in helpers {
            all.extend::<P>(h.join().unwrap_or_default());
        }
        all
    })
}

/// Read one folder, from its kept listing when that still holds: its files go to `out`,
/// the folders to enter are returned.
fn read_folder<P: Prior>(
    tree: &Tree,
    job: &Job,
    prior: &P,
    out: &mut Walked<P::Found>,
) -> Vec<Job> {
    let fd = match job.open() {
        Ok(fd) => fd,
        // A provider not installed, or a folder removed while the walk ran.
        Err(rustix::io::Errno::NOENT) => return Vec::new(),
        Err(e) => {
            out.unreadable(job, e);
            return Vec::new();
        }
    };
    let Some(stamp) = FolderStamp::of(fd.as_fd()) else {
        return Vec::new();
    };
    let mut folder = OpenFolder::new(fd, &job.dir);
    let dir = job.dir.as_os_str().as_bytes();
    if let Some((index, kept)) = prior.folder(dir)
        && kept.reusable(&stamp)
    {
        let mut found = Walked::default();
        // A file that cannot be stamped went away after all: read the folder instead.
        if kept
            .take
            .iter()
            .all(|t| take(tree, &mut folder, t, prior, &mut found))
        {
            out.extend::<P>(found);
            out.folders.push(Folder::Kept(index));
            let shared = Arc::new(folder.fd);
            return kept
                .enter
                .iter()
                .map(|name| job.child(&shared, name))
                .collect();
        }
    }
    let listed_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128);
    let listing = match list(tree, job, folder.fd.as_fd(), stamp, listed_at) {
        Ok(listing) => listing,
        Err(e) => {
            out.unreadable(job, e);
            return Vec::new();
        }
    };
    for t in &listing.take {
        take(tree, &mut folder, t, prior, out);
    }
    let shared = Arc::new(folder.fd);
    let enter = listing
        .enter
        .iter()
        .map(|name| job.child(&shared, name))
        .collect();
    out.folders.push(Folder::Listed(job.dir.clone(), listing));
    enter
}

/// Read a folder's entries and pick from them by the tree's rule.
fn list(
    tree: &Tree,
    job: &Job,
    fd: BorrowedFd,
    stamp: FolderStamp,
    listed_at: i128,
) -> rustix::io::Result<Listing<CString>> {
    let mut dir = Dir::new(rustix::io::fcntl_dupfd_cloexec(fd, 0)?)?;
    let mut entries = Vec::new();
    while let Some(e) = dir.read() {
        let e = e?;
        if !matches!(e.file_name().to_bytes(), b"." | b"..") {
            entries.push(e);
        }
    }
    let mut listing = Listing {
        stamp,
        listed_at,
        enter: Vec::new(),
        take: Vec::new(),
    };
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
            Pick::Enter if is_dir => listing.enter.push(name.to_owned()),
            Pick::Enter => {}
            Pick::Take(kind) => {
                let companion = kind.companion().is_some_and(|suffix| {
                    let mut beside = name.to_bytes().to_vec();
                    beside.extend_from_slice(suffix.as_bytes());
                    entries.iter().any(|c| c.file_name().to_bytes() == beside)
                });
                listing.take.push(Taken {
                    name: name.to_owned(),
                    kind,
                    link: file_type == FileType::Symlink,
                    companion,
                    entry: None,
                });
            }
        }
    }
    Ok(listing)
}

/// Stamp one picked file and sort it: current in the previous cache, or to read.
/// `false` when it cannot be stamped (gone).
fn take<N: AsRef<CStr>, P: Prior>(
    tree: &Tree,
    folder: &mut OpenFolder,
    t: &Taken<N>,
    prior: &P,
    out: &mut Walked<P::Found>,
) -> bool {
    let fd = folder.fd.as_fd();
    let name = t.name.as_ref();
    let Some(stamp) = stamp_at(fd, name, t.link) else {
        return false;
    };
    let companion = t
        .kind
        .companion()
        .filter(|_| t.companion)
        .and_then(|suffix| {
            let mut beside = name.to_bytes().to_vec();
            beside.extend_from_slice(suffix.as_bytes());
            stamp_at(fd, &CString::new(beside).ok()?, false)
        })
        // Opening a database whose log is there gives the log the database's owner again
        // (SQLite does, run as root), which moves the log's change time with nothing
        // changed: a log is compared by size and mtime.
        .map(|log| Stamp { ctime_ns: 0, ..log });
    let stamps = (Some(stamp), companion);
    let path = folder.file(name);
    // The entry the listing points at, else (a folder listed anew) the one found by path.
    let mut matched = t.entry.map_or(Match::Other, |at| {
        prior.current(at, path, &stamps, &mut out.current)
    });
    if matched == Match::Other
        && let Some(at) = prior.find(path)
    {
        matched = prior.current(at, path, &stamps, &mut out.current);
    }
    if matched == Match::Current {
        out.current_count += 1;
    } else {
        out.changed.push(Source {
            provider: tree.provider,
            kind: t.kind,
            path: PathBuf::from(OsString::from_vec(path.to_vec())),
            stamps,
        });
    }
    true
}

/// A folder being read: its handle, and its path with room for a file's name.
struct OpenFolder {
    fd: OwnedFd,
    path: Vec<u8>,
    prefix: usize,
}

impl OpenFolder {
    fn new(fd: OwnedFd, dir: &Path) -> OpenFolder {
        let mut path = dir.as_os_str().as_bytes().to_vec();
        path.push(b'/');
        let prefix = path.len();
        OpenFolder { fd, path, prefix }
    }

    /// The path of the file `name` in it.
    fn file(&mut self, name: &CStr) -> &[u8] {
        self.path.truncate(self.prefix);
        self.path.extend_from_slice(name.to_bytes());
        &self.path
    }
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
