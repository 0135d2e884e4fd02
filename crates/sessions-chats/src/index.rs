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
use std::io::IsTerminal;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use foldhash::HashMap;
use serde::Serialize;

use crate::cache::{self, Cache, EntryRef, NextCache, Record};
use crate::cache_file::Reader;
pub use crate::cache_file::SessionView;
use crate::providers::{self, Shared, Source, Stamps};
use crate::walk::{self, Match};
use crate::{ChatSession, Filter, Homes, Lifetimes, Listing, Provider, Sort, Warning};

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
    /// Folders read again (new or changed since the cache was written, or changed
    /// too recently to trust their kept listing).
    pub folders_listed: usize,
    /// Folders whose kept listing still held (opened and stamped, not read).
    pub folders_kept: usize,
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
        let trees = providers::trees(homes, &providers);
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        let cache_path = opts.cache_dir.as_ref().map(|d| d.join(FILE_NAME));
        let old_bytes = cache_path.as_deref().and_then(|p| std::fs::read(p).ok());
        let old = old_bytes.as_deref().and_then(Cache::open);
        let mut stats = IndexStats {
            rebuilt: old_bytes.is_some() && old.is_none(),
            cache: cache_path.clone(),
            ..Default::default()
        };
        let shared = Shared::load(homes);
        let empty = Cache::empty();
        let mut walked = walk::walk(&trees, old.as_ref().unwrap_or(&empty));
        let unreadable = std::mem::take(&mut walked.unreadable);
        stats.files = walked.current_count + walked.changed.len();
        stats.cached = walked.current_count;
        stats.folders_listed = walked.folders.len() - walked.kept();
        stats.folders_kept = walked.kept();
        // A file gone changes its folder; a folder gone changes its parent, or is a
        // root no longer there.
        let covered = |p: &Path| sources_cover(&providers, homes, p);
        let unchanged = walked.changed.is_empty()
            && walked.kept() == walked.folders.len()
            && old.as_ref().is_some_and(|c| {
                c.folders.iter().filter(|f| covered(f.path)).count() == walked.kept()
            });
        if unchanged && !walked.current.broken {
            // Nothing changed: list straight from the cache's bytes.
            drop(old);
            return Index {
                bytes: old_bytes.unwrap_or_default(),
                slots: walked.current.slots,
                warnings: [walked.current.warnings, unreadable].concat(),
                stats,
                shared,
            }
            .deduped();
        }

        // The new cache: this listing's files (unchanged entries copied as they are),
        // the other providers' entries, then every folder's record.
        let fresh = read_all(&walked.changed, opts.progress);
        stats.read = fresh.len();
        let old_entries = old.as_ref().and_then(Cache::entries).unwrap_or_default();
        let from = old_bytes.as_deref().unwrap_or_default();
        let mut next = NextCache::new();
        for &at in &walked.current.entries {
            if let Some(e) = old.as_ref().and_then(|c| c.entry(at)) {
                next.copy(&e, from);
            }
        }
        for (source, entry) in &fresh {
            next.entry(
                &source.path,
                settled_stamps(source.stamps, started),
                &entry.sessions,
                entry.warning.as_deref(),
            );
        }
        let listed_now = walked.current.entries.len() + fresh.len();
        for e in old_entries.iter().filter(|e| !covered(e.path)) {
            next.copy(e, from);
        }
        let folders = walked.folders.iter().filter_map(|f| match f {
            walk::Folder::Kept(i) => old.as_ref().map(|c| {
                let f = &c.folders[*i];
                (f.path, Record::Kept(&f.listing))
            }),
            walk::Folder::Listed(path, listing) => Some((path.as_path(), Record::New(listing))),
        });
        let others = old
            .iter()
            .flat_map(|c| &c.folders)
            .filter(|f| !covered(f.path))
            .map(|f| (f.path, Record::Kept(&f.listing)));
        let bytes = next.finish(folders.chain(others));
        drop(old_entries);
        drop(old);
        if let Some(p) = &cache_path {
            // A cache that cannot be written only costs speed next time.
            let _ = cache::save(p, &bytes, OLD_FILE_NAME);
        }
        let new = Cache::open(&bytes).expect("a cache just written opens");
        let entries = new.entries().expect("a cache just written decodes");
        let mut listed = Gathered::default();
        for e in entries.into_iter().take(listed_now) {
            listed.add(&new, e.raw.start as u64, e);
        }
        drop(new);
        Index {
            bytes,
            slots: listed.slots,
            warnings: [listed.warnings, unreadable].concat(),
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
        let order = |a: &&Slot, b: &&Slot| key(b).cmp(&key(a)).then_with(|| id(a).cmp(id(b)));
        let total = rows.len();
        let limit = if query.limit == 0 {
            total.max(1)
        } else {
            query.limit
        };
        let page = query.page.max(1);
        let skip = (page - 1).saturating_mul(limit).min(total);
        let end = skip.saturating_add(limit).min(total);
        // Only the rows up to the page's end need their order: find them, sort those.
        if end < total {
            rows.select_nth_unstable_by(end, order);
            rows.truncate(end);
        }
        rows.sort_unstable_by(order);
        let sessions = rows[skip..]
            .iter()
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

/// What a listing gathers of the current entries of a cache.
#[derive(Default)]
pub struct Gathered {
    /// Where they are.
    entries: Vec<u64>,
    slots: Vec<Slot>,
    warnings: Vec<Warning>,
    /// One did not decode (a cache whose checksum holds but that this code did not write).
    broken: bool,
}

impl Gathered {
    /// Take in the entry `e`, at `at` in `cache`.
    fn add<'a>(&mut self, cache: &Cache<'a>, at: u64, e: EntryRef<'a>) {
        let base = cache.bytes().as_ptr() as usize;
        let range = |b: &[u8]| {
            let at = b.as_ptr() as usize - base;
            (at, at + b.len())
        };
        let file = range(e.path.as_os_str().as_bytes());
        let slots = &mut self.slots;
        let decoded = cache.sessions(&e, |at, k| {
            slots.push(Slot {
                at,
                id: range(k.id),
                file,
                provider: k.provider,
                created: k.created,
                activity: k.updated.or(k.created),
            })
        });
        self.broken |= decoded.is_none();
        if let Some(w) = e.warning {
            self.warnings.push(Warning {
                path: e.path.to_path_buf(),
                message: w.to_string(),
            });
        }
        self.entries.push(at);
    }
}

impl walk::Prior for Cache<'_> {
    type Found = Gathered;

    fn folder(&self, path: &[u8]) -> Option<(usize, &walk::Listing<&CStr>)> {
        let i = Cache::folder(self, path)?;
        Some((i, &self.folders[i].listing))
    }

    fn find(&self, path: &[u8]) -> Option<u64> {
        Cache::find(self, path)
    }

    fn current(&self, at: u64, path: &[u8], stamps: &Stamps, into: &mut Gathered) -> Match {
        match self.entry(at) {
            Some(e) if e.path.as_os_str().as_bytes() == path => {
                if e.stamps != *stamps {
                    return Match::Changed;
                }
                into.add(self, at, e);
                Match::Current
            }
            _ => Match::Other,
        }
    }

    fn merge(into: &mut Gathered, other: Gathered) {
        into.entries.extend(other.entries);
        into.slots.extend(other.slots);
        into.warnings.extend(other.warnings);
        into.broken |= other.broken;
    }
}

/// The stamps a file's entry is kept with. A file changed less than [`walk::RACY`]
/// before this listing began may be written again after it was read, within the same
/// tick of the file system's clock (same size, same mtime and change time: a database's
/// page rewritten in place): as git does for its index, its entry is kept without
/// stamps, so the next listing reads it again, until it has been quiet long enough to be
/// trusted. (A write sets the mtime to its own time, so an mtime older than that cannot
/// come back after a later write: the mtime alone says whether the race is possible.)
fn settled_stamps(stamps: Stamps, started: i128) -> Stamps {
    let settled = [stamps.0, stamps.1]
        .into_iter()
        .flatten()
        .all(|s| i128::from(s.mtime_ns).saturating_add(walk::RACY) < started);
    if settled { stamps } else { (None, None) }
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
                    sessions_core::store::test_hooks::pause_point("chats-read");
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

/// Forget cached entries of these sessions' files (`chats clean`).
pub fn forget(cache_dir: &Path, paths: &[PathBuf]) -> std::io::Result<usize> {
    let path = cache_dir.join(FILE_NAME);
    let Ok(bytes) = std::fs::read(&path) else {
        return Ok(0);
    };
    let Some(cache) = Cache::open(&bytes) else {
        return Ok(0);
    };
    let entries = cache.entries().unwrap_or_default();
    let mut next = NextCache::new();
    let mut removed = 0;
    for e in &entries {
        if paths.iter().any(|p| p == e.path) {
            removed += 1;
        } else {
            next.copy(e, &bytes);
        }
    }
    if removed > 0 {
        let folders = cache
            .folders
            .iter()
            .map(|f| (f.path, Record::Kept(&f.listing)));
        cache::save(&path, &next.finish(folders), OLD_FILE_NAME)?;
    }
    Ok(removed)
}
