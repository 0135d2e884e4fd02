//! The index cache file: its layout, read in place, and the writing of the next one.
//!
//! ```text
//! magic, version, where the folders start (u64)
//! entries:  one per session file: its length, path, stamps (file, companion),
//!           warning, sessions (each: sort keys first, then the length of the rest)
//! folders:  one per folder the walk read: path, stamp, when listed, the folders
//!           entered, the files taken (name, kind, flags, where the file's entry is)
//! checksum of everything before it
//! ```
//!
//! A warm listing reads the folder records, then only the entries the walk found
//! current, where the records say they are; an entry is copied as its bytes when the
//! cache is rewritten.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::io::Write;
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::OnceLock;

use crate::ChatSession;
use crate::cache_file::{Keys, Reader, Writer};
use crate::providers::Stamps;
use crate::walk::Listing;

const VERSION: u32 = 6;
/// Where "where the folders start" is written, after the magic and the version.
const FOLDERS_AT: usize = 12;

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// One entry, read in place.
pub struct EntryRef<'a> {
    pub path: &'a Path,
    pub stamps: Stamps,
    pub warning: Option<&'a str>,
    sessions: u32,
    /// Where its first session is.
    sessions_at: usize,
    /// The whole entry, its length included.
    pub raw: Range<usize>,
}

/// One folder record, read in place.
pub struct FolderRef<'a> {
    pub path: &'a Path,
    pub listing: Listing<&'a CStr>,
}

/// A cache file whose checksum and version hold, with its folder records read.
pub struct Cache<'a> {
    bytes: &'a [u8],
    entries_at: usize,
    folders_at: usize,
    pub folders: Vec<FolderRef<'a>>,
    by_folder: Map<&'a [u8], usize>,
    /// Entries by path, made when the walk first asks for one by path.
    by_path: OnceLock<Map<&'a [u8], u64>>,
}

impl<'a> Cache<'a> {
    /// A cache with nothing in it (there is no cache file, or it is not used).
    pub fn empty() -> Cache<'a> {
        Cache {
            bytes: &[],
            entries_at: 0,
            folders_at: 0,
            folders: Vec::new(),
            by_folder: Map::default(),
            by_path: OnceLock::new(),
        }
    }

    /// The folder record of `path`, by number.
    pub fn folder(&self, path: &[u8]) -> Option<usize> {
        self.by_folder.get(path).copied()
    }

    /// Where the entry of the file at `path` is (the first time asked, every entry's
    /// path is read).
    pub fn find(&self, path: &[u8]) -> Option<u64> {
        let by_path = self.by_path.get_or_init(|| {
            let mut map = Map::default();
            for e in self.entries().unwrap_or_default() {
                map.insert(e.path.as_os_str().as_bytes(), e.raw.start as u64);
            }
            map
        });
        by_path.get(path).copied()
    }

    pub fn open(bytes: &'a [u8]) -> Option<Cache<'a>> {
        let mut r = Reader::open(bytes, VERSION)?;
        let folders_at = usize::try_from(r.u64()?).ok()?;
        let entries_at = r.position();
        let mut r = Reader::reopen(bytes, folders_at);
        let count = r.u32()? as usize;
        let mut folders = Vec::with_capacity(count.min(bytes.len() / 64));
        for _ in 0..count {
            let (path, listing) = Listing::decode(&mut r)?;
            folders.push(FolderRef { path, listing });
        }
        if !r.at_end() {
            return None;
        }
        let mut by_folder = Map::default();
        by_folder.reserve(folders.len());
        for (i, f) in folders.iter().enumerate() {
            by_folder.insert(f.path.as_os_str().as_bytes(), i);
        }
        Some(Cache {
            bytes,
            entries_at,
            folders_at,
            folders,
            by_folder,
            by_path: OnceLock::new(),
        })
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The entry at `at` (a position a folder record or [`Cache::entries`] gave).
    pub fn entry(&self, at: u64) -> Option<EntryRef<'a>> {
        let start = usize::try_from(at).ok()?;
        if start < self.entries_at || start >= self.folders_at {
            return None;
        }
        let mut r = Reader::reopen(self.bytes, start);
        let end = (r.u32()? as usize)
            .checked_add(start + 4)
            .filter(|&end| end <= self.folders_at)?;
        let path = r.path_ref()?;
        let stamps = (r.opt_stamp()?, r.opt_stamp()?);
        let warning = r.opt_str()?;
        let sessions = r.u32()?;
        Some(EntryRef {
            path,
            stamps,
            warning,
            sessions,
            sessions_at: r.position(),
            raw: start..end,
        })
    }

    /// Every entry, in order; `None` if one does not decode.
    pub fn entries(&self) -> Option<Vec<EntryRef<'a>>> {
        let mut r = Reader::reopen(self.bytes, self.entries_at);
        let count = r.u32()? as usize;
        let mut at = r.position();
        let mut out = Vec::with_capacity(count.min(self.bytes.len() / 64));
        for _ in 0..count {
            let e = self.entry(at as u64)?;
            at = e.raw.end;
            out.push(e);
        }
        (at == self.folders_at).then_some(out)
    }

    /// The sort keys of each of an entry's sessions, with where its record is; `None`
    /// if one does not decode.
    pub fn sessions(&self, e: &EntryRef<'a>, mut each: impl FnMut(usize, Keys<'a>)) -> Option<()> {
        let mut r = Reader::reopen(self.bytes, e.sessions_at);
        for _ in 0..e.sessions {
            let at = r.position();
            each(at, r.session_keys()?);
        }
        (r.position() == e.raw.end).then_some(())
    }
}

/// A folder's listing for the next cache: as the previous one had it, or just taken.
pub enum Record<'f> {
    Kept(&'f Listing<&'f CStr>),
    New(&'f Listing<CString>),
}

/// The next cache file, written entry by entry, then folder by folder.
pub struct NextCache<'p> {
    w: Writer,
    entries: u32,
    count_at: usize,
    /// Where each file's entry went, by path.
    at: Map<&'p [u8], u64>,
}

impl<'p> NextCache<'p> {
    pub fn new() -> NextCache<'p> {
        let mut w = Writer::new(VERSION);
        w.u64(0);
        let count_at = w.len();
        w.u32(0);
        NextCache {
            w,
            entries: 0,
            count_at,
            at: Map::default(),
        }
    }

    /// An entry of the previous cache, as it was.
    pub fn copy(&mut self, e: &EntryRef<'p>, from: &[u8]) {
        self.at
            .insert(e.path.as_os_str().as_bytes(), self.w.len() as u64);
        self.w.raw(&from[e.raw.clone()]);
        self.entries += 1;
    }

    /// A file just read: its sessions, or the one warning about it.
    pub fn entry(
        &mut self,
        path: &'p Path,
        stamps: Stamps,
        sessions: &[ChatSession],
        warning: Option<&str>,
    ) {
        self.at
            .insert(path.as_os_str().as_bytes(), self.w.len() as u64);
        let len_at = self.w.len();
        self.w.u32(0);
        self.w.path(path);
        self.w.opt_stamp(stamps.0);
        self.w.opt_stamp(stamps.1);
        self.w.opt_str(warning);
        self.w.u32(sessions.len() as u32);
        for s in sessions {
            self.w.session(s, path);
        }
        let len = self.w.len() - len_at - 4;
        self.w.patch_u32(len_at, len as u32);
        self.entries += 1;
    }

    /// The folders, after every entry: each taken file points at its entry.
    pub fn finish<'f>(
        mut self,
        folders: impl IntoIterator<Item = (&'f Path, Record<'f>)>,
    ) -> Vec<u8> {
        self.w.patch_u32(self.count_at, self.entries);
        let folders_at = self.w.len() as u64;
        self.w.patch_u64(FOLDERS_AT, folders_at);
        let folders: Vec<_> = folders.into_iter().collect();
        self.w.u32(folders.len() as u32);
        let at = |file: &[u8]| self.at.get(file).copied();
        for (path, record) in folders {
            match record {
                Record::Kept(listing) => listing.encode(&mut self.w, path, at),
                Record::New(listing) => listing.encode(&mut self.w, path, at),
            }
        }
        self.w.finish()
    }
}

/// Write to a temporary file in the same folder, flush it to disk, rename over.
pub fn save(path: &Path, bytes: &[u8], old_name: &str) -> std::io::Result<()> {
    let dir = path.parent().expect("the cache file has a folder");
    let name = path.file_name().expect("the cache file has a name");
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    } else {
        let _ = std::fs::remove_file(dir.join(old_name));
    }
    result
}
