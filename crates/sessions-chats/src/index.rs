//! The per-file index that makes listing instant: what each session file held, keyed by
//! (path, size, mtime) and kept in one compact binary file under the user's cache folder
//! (see `cache_file`). A file whose size or mtime changed is read again; the cache is
//! replaced atomically (a killed indexer leaves the old one), and a cache that fails its
//! checksum or does not decode is rebuilt, not trusted.
//!
//! A listing works on the cache's bytes in place: unchanged entries are neither decoded
//! into owned sessions nor re-encoded (they are copied as they are when the cache is
//! rewritten), sorting and filtering read borrowed [`SessionView`]s, and only the rows a
//! page prints become [`ChatSession`]s.

use std::ffi::{CStr, OsStr};
use std::io::{IsTerminal, Write};
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use foldhash::HashMap;
use serde::Serialize;

pub use crate::cache_file::SessionView;
use crate::cache_file::{Reader, Writer};
use crate::providers::{self, Shared, Source, Stamps};
use crate::walk::{self, Prior};
use crate::{ChatSession, Filter, Homes, Lifetimes, Listing, Provider, Sort, Warning};

const VERSION: u32 = 4;
/// The cache file, in the cache folder.
pub const FILE_NAME: &str = "chats-index.bin";
/// The JSON cache of version 1, removed when the binary one is written.
const OLD_FILE_NAME: &str = "chats-index.json";

/// `$XDG_CACHE_HOME/sessions`, else `~/.cache/sessions`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let var = |n: &str| {
        std::env::var_os(n)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("XDG_CACHE_HOME")
        .or_else(|| var("HOME").map(|h| h.join(".cache")))
        .map(|d| d.join("sessions"))
}


/// What a file held when it was read: its sessions, or the one warning about it.
#[derive(Debug)]
struct Entry {
    sessions: Vec<ChatSession>,
    warning: Option<String>,
}

/// What an index run did, for `--json` and benchmarks.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct IndexStats {
    pub files: usize,
    pub read: usize,
    pub cached: usize,
    /// The cache file existed but could not be used (it is rebuilt).
    pub rebuilt: bool,
    pub cache: Option<PathBuf>,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub providers: Vec<Provider>,
    /// Where the cache lives; `None` reads every file and writes nothing.
    pub cache_dir: Option<PathBuf>,
    /// Show progress on stderr (when it is a terminal) if indexing takes over a second.
    pub progress: bool,
}

/// One session of the listing: where its record is in the cache's bytes, and the keys a
/// listing sorts and deduplicates by (read once, when the cache is opened).
#[derive(Debug, Clone, Copy)]
struct Slot {
    at: usize,
    id: (usize, usize),
    /// The path of the entry the record is in.
    file: (usize, usize),
    provider: Provider,
    created: Option<DateTime<Utc>>,
    activity: Option<DateTime<Utc>>,
}

/// One entry of a cache's bytes, read in place.
struct EntryRef<'a> {
    path: &'a Path,
    stamps: Stamps,
    /// The whole entry, its length included: copied as it is into the next cache.
    raw: Range<usize>,
    warning: Option<&'a str>,
    /// Its sessions, in [`Parsed::slots`].
    slots: Range<usize>,
}

/// One folder record of a cache's bytes, read in place.
struct FolderRef<'a> {
    path: &'a Path,
    listing: walk::Listing<&'a CStr>,
    raw: Range<usize>,
}

/// A cache's bytes, checked and walked once: the entry of each session file, then the
/// listing of each folder the walk read.
#[derive(Default)]
struct Parsed<'a> {
    entries: Vec<EntryRef<'a>>,
    slots: Vec<Slot>,
    folders: Vec<FolderRef<'a>>,
}

impl<'a> Parsed<'a> {
    /// What the walk compares the files and folders it meets with.
    fn prior(&self) -> Prior<'_> {
        let mut prior = Prior::default();
        prior.files.reserve(self.entries.len());
        for (i, e) in self.entries.iter().enumerate() {
            prior.files.insert(e.path.as_os_str().as_bytes(), (i, e.stamps));
        }
        prior.folders.reserve(self.folders.len());
        for (i, f) in self.folders.iter().enumerate() {
            prior.folders.insert(f.path.as_os_str().as_bytes(), (i, f.listing.clone()));
        }
        prior
    }
}

/// Every session of the chosen providers, read through the cache.
pub struct Index {
    /// A whole cache file's bytes (also when nothing is saved).
    bytes: Vec<u8>,
    slots: Vec<Slot>,
    pub warnings: Vec<Warning>,
    pub stats: IndexStats,
    shared: Shared,
}

/// List every session of the chosen providers, through the cache.
pub fn list(homes: &Homes, opts: &Options) -> (Listing, IndexStats) {
    let index = Index::build(homes, opts);
    let stats = index.stats.clone();
    (index.into_listing(), stats)
}

impl Index {
    pub fn build(homes: &Homes, opts: &Options) -> Index {
        let providers = if opts.providers.is_empty() {
            Provider::ALL.to_vec()
        } else {
            opts.providers.clone()
        };
        let cache_path = opts.cache_dir.as_ref().map(|d| d.join(FILE_NAME));
        let old_bytes = cache_path.as_deref().and_then(|p| std::fs::read(p).ok());
        let exists = old_bytes.is_some();
        let old_bytes = old_bytes.unwrap_or_default();
        let old = Parsed::of(&old_bytes);
        let rebuilt = exists && old.is_none();
        let old = old.unwrap_or_default();
        let walked = walk::walk(&providers::trees(homes, &providers), &old.prior());
        let mut stats = IndexStats {
            files: walked.current.len() + walked.changed.len(),
            read: walked.changed.len(),
            cached: walked.current.len(),
            rebuilt,
            cache: cache_path.clone(),
        };
        // What of the previous cache belongs to the providers listed now: files and
        // folders that are gone change the cache; other providers' are kept as they are.
        let covered = |p: &Path| sources_cover(&providers, homes, p);
        let gone = old.entries.iter().filter(|e| covered(e.path)).count() > walked.known;
        let kept_folders = walked
            .folders
            .iter()
            .filter(|f| matches!(f, walk::Folder::Kept(_)))
            .count();
        let folders_changed =
            old.folders.iter().filter(|f| covered(f.path)).count() > kept_folders
                || kept_folders < walked.folders.len();

        let shared = Shared::load(homes);
        if walked.changed.is_empty() && !gone && !folders_changed && !rebuilt {
            // Nothing changed: list straight from the cache's bytes.
            let entries: Vec<&EntryRef> = walked.current.iter().map(|&i| &old.entries[i]).collect();
            let (slots, warnings) = listed(&entries, &old.slots);
            drop(entries);
            drop(old);
            return Index {
                bytes: old_bytes,
                slots,
                warnings,
                stats,
                shared,
            }
            .deduped();
        }

        let fresh = read_all(&walked.changed, opts.progress);
        stats.read = fresh.len();
        // The new cache: this listing's files first (unchanged entries copied as they
        // are), then the other providers' entries; then the folders likewise.
        let mut w = Writer::new(VERSION);
        let other_entries: Vec<&EntryRef> =
            old.entries.iter().filter(|e| !covered(e.path)).collect();
        let listed_now = walked.current.len() + fresh.len();
        w.u32((listed_now + other_entries.len()) as u32);
        for &i in &walked.current {
            w.raw(&old_bytes[old.entries[i].raw.clone()]);
        }
        for (source, entry) in &fresh {
            encode_entry(&mut w, &source.path, source.stamps, entry);
        }
        for e in other_entries {
            w.raw(&old_bytes[e.raw.clone()]);
        }
        let other_folders: Vec<&FolderRef> =
            old.folders.iter().filter(|f| !covered(f.path)).collect();
        w.u32((walked.folders.len() + other_folders.len()) as u32);
        for f in &walked.folders {
            match f {
                walk::Folder::Kept(i) => w.raw(&old_bytes[old.folders[*i].raw.clone()]),
                walk::Folder::Listed(path, listing) => listing.encode(&mut w, path),
            }
        }
        for f in other_folders {
            w.raw(&old_bytes[f.raw.clone()]);
        }
        let bytes = w.finish();
        drop(old);
        if let Some(p) = &cache_path {
            // A cache that cannot be written only costs speed next time.
            let _ = save(p, &bytes);
        }
        let parsed = Parsed::of(&bytes).expect("a cache just encoded decodes");
        let entries: Vec<&EntryRef> = parsed.entries[..listed_now].iter().collect();
        let (slots, warnings) = listed(&entries, &parsed.slots);
        drop(entries);
        drop(parsed);
        Index {
            bytes,
            slots,
            warnings,
            stats,
            shared,
        }
        .deduped()
    }

    /// One session per (provider, id): Gemini's old JSON and its JSONL successor, or a
    /// Codex rollout both live and archived, keep the most recently active (on a tie,
    /// the one whose file sorts first, as the walk once met them).
    fn deduped(mut self) -> Index {
        let mut best: HashMap<(Provider, &[u8]), usize> = HashMap::default();
        best.reserve(self.slots.len());
        let mut keep = vec![true; self.slots.len()];
        for (i, s) in self.slots.iter().enumerate() {
            let key = (s.provider, &self.bytes[s.id.0..s.id.1]);
            match best.entry(key) {
                std::collections::hash_map::Entry::Occupied(mut o) => {
                    let j = *o.get();
                    let (a, b) = (&self.slots[i], &self.slots[j]);
                    let newer = a.activity.cmp(&b.activity).then_with(|| {
                        let file = |s: &Slot| &self.bytes[s.file.0..s.file.1];
                        file(b).cmp(file(a))
                    });
                    let loser = if newer.is_gt() { o.insert(i) } else { i };
                    keep[loser] = false;
                }
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(i);
                }
            }
        }
        drop(best);
        let mut i = 0;
        self.slots.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        self
    }

    /// The whole record of a session; `None` only for a cache whose checksum holds but
    /// whose records do not decode (written by something else than this code).
    fn view(&self, slot: &Slot) -> Option<SessionView<'_>> {
        let file = Path::new(OsStr::from_bytes(&self.bytes[slot.file.0..slot.file.1]));
        Reader::reopen(&self.bytes, slot.at).session(file)
    }

    /// The session as the commands print it: the cache's record with what comes from
    /// files shared by many sessions (Codex's titles, Gemini's project roots).
    fn session(&self, slot: &Slot) -> Option<ChatSession> {
        let mut s = self.view(slot)?.to_session();
        self.shared.complete(&mut s);
        Some(s)
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Every session, owned, newest activity first (then by id).
    pub fn into_listing(self) -> Listing {
        let mut sessions: Vec<ChatSession> =
            self.slots.iter().filter_map(|s| self.session(s)).collect();
        sessions.sort_by(|a, b| {
            b.activity()
                .cmp(&a.activity())
                .then_with(|| a.id.cmp(&b.id))
        });
        let mut warnings = self.warnings;
        warnings.sort_by(|a, b| a.path.cmp(&b.path));
        Listing { sessions, warnings }
    }

    /// The sessions that pass `query`'s filter, sorted, and the one page of them asked
    /// for (only those rows are made into owned sessions).
    pub fn page(&self, query: &Query) -> Page {
        let f = &query.filter;
        let mut rows: Vec<&Slot> = self
            .slots
            .iter()
            .filter(|s| {
                let status = query.lifetimes.status_at(s.activity, query.now);
                f.keeps_facts(s.provider, s.activity, status)
                    && (!f.needs_record()
                        || self
                            .view(s)
                            .is_some_and(|v| f.keeps_record(v.id, self.shared.cwd(&v).as_deref())))
            })
            .collect();
        let key = |s: &Slot| match query.sort {
            Sort::Activity => s.activity,
            Sort::Created => s.created,
        };
        let id = |s: &Slot| &self.bytes[s.id.0..s.id.1];
        rows.sort_unstable_by(|a, b| key(b).cmp(&key(a)).then_with(|| id(a).cmp(id(b))));
        let total = rows.len();
        let limit = if query.limit == 0 {
            total.max(1)
        } else {
            query.limit
        };
        let page = query.page.max(1);
        let sessions = rows
            .iter()
            .skip((page - 1).saturating_mul(limit))
            .take(limit)
            .filter_map(|s| self.session(s))
            .collect();
        let mut warnings = self.warnings.clone();
        warnings.sort_by(|a, b| a.path.cmp(&b.path));
        Page {
            sessions,
            total,
            page,
            pages: total.div_ceil(limit).max(1),
            limit,
            warnings,
        }
    }
}

/// What a listing asks for: which sessions, in what order, which page of them.
#[derive(Debug, Clone)]
pub struct Query {
    pub filter: Filter,
    pub sort: Sort,
    /// From 1.
    pub page: usize,
    /// Sessions per page; 0: all on one page.
    pub limit: usize,
    pub lifetimes: Lifetimes,
    pub now: DateTime<Utc>,
}

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Page {
    pub sessions: Vec<ChatSession>,
    /// Sessions that pass the filter, on all pages.
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    pub limit: usize,
    /// Every file that could not be read as a session, by path.
    pub warnings: Vec<Warning>,
}

/// The sessions and warnings of the entries listed now.
fn listed(entries: &[&EntryRef], slots: &[Slot]) -> (Vec<Slot>, Vec<Warning>) {
    let mut out = Vec::with_capacity(entries.len());
    let mut warnings = Vec::new();
    for e in entries {
        out.extend_from_slice(&slots[e.slots.clone()]);
        if let Some(w) = e.warning {
            warnings.push(Warning {
                path: e.path.to_path_buf(),
                message: w.to_string(),
            });
        }
    }
    (out, warnings)
}

/// Whether `path` belongs to one of the providers listed this time.
fn sources_cover(providers: &[Provider], homes: &Homes, path: &Path) -> bool {
    providers.iter().any(|p| {
        let root = match p {
            Provider::Claude => &homes.claude,
            Provider::Codex => &homes.codex,
            Provider::Gemini => &homes.gemini,
            Provider::Cursor => &homes.cursor,
            Provider::Opencode => &homes.opencode,
        };
        within(path, root)
    })
}

/// `path.starts_with(root)` on the bytes: `Path::starts_with` splits both into
/// components, and this is asked of every entry of the cache.
fn within(path: &Path, root: &Path) -> bool {
    let (path, root) = (path.as_os_str().as_bytes(), root.as_os_str().as_bytes());
    let root = root.strip_suffix(b"/").unwrap_or(root);
    path.strip_prefix(root)
        .is_some_and(|rest| rest.is_empty() || rest[0] == b'/')
}

/// Read these sources on a few threads.
fn read_all(sources: &[Source], progress: bool) -> Vec<(&Source, Entry)> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let out = Mutex::new(Vec::with_capacity(sources.len()));
    let started = Instant::now();
    let show = progress && std::io::stderr().is_terminal();
    let shown = AtomicBool::new(false);
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    std::thread::scope(|scope| {
        for worker in 0..threads {
            let (next, done, out, shown) = (&next, &done, &out, &shown);
            scope.spawn(move || {
                let mut last = Instant::now();
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(source) = sources.get(k) else { break };
                    let entry = match providers::read(source) {
                        Ok(sessions) => Entry {
                            sessions,
                            warning: None,
                        },
                        Err(w) => Entry {
                            sessions: Vec::new(),
                            warning: Some(w),
                        },
                    };
                    out.lock().expect("no reader panics").push((source, entry));
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if show
                        && worker == 0
                        && started.elapsed() > Duration::from_secs(1)
                        && last.elapsed() > Duration::from_millis(100)
                    {
                        last = Instant::now();
                        shown.store(true, Ordering::Relaxed);
                        eprint!("\rindexing provider sessions: {n}/{}", sources.len());
                    }
                }
            });
        }
    });
    if shown.load(Ordering::Relaxed) {
        eprintln!(
            "\rindexing provider sessions: {}/{} done",
            sources.len(),
            sources.len()
        );
    }
    out.into_inner().expect("no reader panics")
}

/// The reader of a cache file's body, if its magic, version and checksum hold.
fn body_reader(bytes: &[u8]) -> Option<Reader<'_>> {
    Reader::open(bytes, VERSION)
}

impl<'a> Parsed<'a> {
    /// Every entry of a cache file, or `None` for a file that is damaged, of another
    /// version, or does not decode to the end.
    fn of(bytes: &'a [u8]) -> Option<Parsed<'a>> {
        let mut r = body_reader(bytes)?;
        let count = r.u32()? as usize;
        let mut parsed = Parsed {
            entries: Vec::with_capacity(count.min(bytes.len() / 64)),
            slots: Vec::with_capacity(count.min(bytes.len() / 64)),
            folders: Vec::new(),
        };
        for _ in 0..count {
            let start = r.position();
            let len = r.u32()? as usize;
            let end = start.checked_add(4)?.checked_add(len)?;
            let path = r.path_ref()?;
            let stamps = (r.opt_stamp()?, r.opt_stamp()?);
            let warning = r.opt_str()?;
            let first = parsed.slots.len();
            let range = |b: &[u8]| {
                let at = b.as_ptr() as usize - bytes.as_ptr() as usize;
                (at, at + b.len())
            };
            for _ in 0..r.u32()? {
                let at = r.position();
                let k = r.session_keys()?;
                parsed.slots.push(Slot {
                    at,
                    id: range(k.id),
                    file: range(path.as_os_str().as_bytes()),
                    provider: k.provider,
                    created: k.created,
                    activity: k.updated.or(k.created),
                });
            }
            if r.position() != end {
                return None;
            }
            parsed.entries.push(EntryRef {
                path,
                stamps,
                raw: start..end,
                warning,
                slots: first..parsed.slots.len(),
            });
        }
        let folders = r.u32()? as usize;
        parsed.folders.reserve(folders.min(bytes.len() / 64));
        for _ in 0..folders {
            let start = r.position();
            let (path, listing) = walk::Listing::decode(&mut r)?;
            parsed.folders.push(FolderRef {
                path,
                listing,
                raw: start..r.position(),
            });
        }
        r.at_end().then_some(parsed)
    }
}

fn encode_entry(w: &mut Writer, path: &Path, stamps: Stamps, e: &Entry) {
    let len_at = w.len();
    w.u32(0);
    w.path(path);
    w.opt_stamp(stamps.0);
    w.opt_stamp(stamps.1);
    w.opt_str(e.warning.as_deref());
    w.u32(e.sessions.len() as u32);
    for s in &e.sessions {
        w.session(s, path);
    }
    let len = w.len() - len_at - 4;
    w.patch_u32(len_at, len as u32);
}

/// Write to a temporary file in the same folder, flush it to disk, rename over.
fn save(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("the cache file has a folder");
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    } else {
        let _ = std::fs::remove_file(dir.join(OLD_FILE_NAME));
    }
    result
}

/// Forget cached entries of these sessions' files (`chats clean`).
pub fn forget(cache_dir: &Path, paths: &[PathBuf]) -> std::io::Result<usize> {
    let path = cache_dir.join(FILE_NAME);
    let Ok(bytes) = std::fs::read(&path) else {
        return Ok(0);
    };
    let Some(cache) = Parsed::of(&bytes) else {
        return Ok(0);
    };
    let left: Vec<&EntryRef> = cache
        .entries
        .iter()
        .filter(|e| !paths.iter().any(|p| p == e.path))
        .collect();
    let removed = cache.entries.len() - left.len();
    if removed > 0 {
        let mut w = Writer::new(VERSION);
        w.u32(left.len() as u32);
        for e in left {
            w.raw(&bytes[e.raw.clone()]);
        }
        w.u32(cache.folders.len() as u32);
        for f in &cache.folders {
            w.raw(&bytes[f.raw.clone()]);
        }
        save(&path, &w.finish())?;
    }
    Ok(removed)
}
