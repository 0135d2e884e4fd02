//! The per-file index that makes listing instant: what each session file held, keyed by
//! (path, size, mtime) and kept in one compact binary file under the user's cache folder
//! (see `cache_file`). A file whose size or mtime changed is read again; the cache is
//! replaced atomically (a killed indexer leaves the old one), and a cache that fails its
//! checksum or does not decode is rebuilt, not trusted.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cache_file::{Reader, Writer};

use crate::providers::{self, Source};
use crate::{ChatSession, Homes, Listing, Provider, Warning};

const VERSION: u32 = 2;
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

pub use crate::providers::Stamp;

fn stamp(path: &Path) -> Option<Stamp> {
    Stamp::of(&std::fs::metadata(path).ok()?)
}

#[derive(Debug, Clone)]
struct Entry {
    stamps: Vec<Option<Stamp>>,
    sessions: Vec<ChatSession>,
    warning: Option<String>,
}

#[derive(Debug, Default)]
struct CacheFile {
    entries: HashMap<PathBuf, Entry>,
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

/// List every session of the chosen providers, through the cache.
pub fn list(homes: &Homes, opts: &Options) -> (Listing, IndexStats) {
    let providers = if opts.providers.is_empty() {
        Provider::ALL.to_vec()
    } else {
        opts.providers.clone()
    };
    let sources = providers::sources(homes, &providers);
    let cache_path = opts.cache_dir.as_ref().map(|d| d.join(FILE_NAME));
    let mut stats = IndexStats {
        files: sources.len(),
        cache: cache_path.clone(),
        ..Default::default()
    };
    let mut old = match &cache_path {
        Some(p) => match load(p) {
            Ok(c) => c,
            Err(exists) => {
                stats.rebuilt = exists;
                CacheFile::default()
            }
        },
        None => CacheFile::default(),
    };

    let old_covered = old
        .entries
        .keys()
        .filter(|p| sources_cover(&providers, homes, p))
        .count();
    let mut known = 0;
    // Which sources are current in the cache, which must be read.
    let mut entries: Vec<Option<Entry>> = Vec::with_capacity(sources.len());
    let mut stamps_of: Vec<Vec<Option<Stamp>>> = Vec::with_capacity(sources.len());
    for s in &sources {
        let stamps: Vec<Option<Stamp>> = std::iter::once(s.stamp.or_else(|| stamp(&s.path)))
            .chain(s.companions().iter().map(|p| stamp(p)))
            .collect();
        let hit = old.entries.remove(&s.path);
        known += usize::from(hit.is_some());
        let hit = hit.filter(|e| e.stamps == stamps);
        entries.push(hit);
        stamps_of.push(stamps);
    }
    let todo: Vec<usize> = (0..sources.len())
        .filter(|&i| entries[i].is_none())
        .collect();
    stats.read = todo.len();
    stats.cached = sources.len() - todo.len();
    let fresh = read_all(&sources, &todo, &stamps_of, opts.progress);
    for (i, e) in fresh {
        entries[i] = Some(e);
    }
    // What is left of the old cache: other providers' files (kept), and files of the
    // providers listed now that are gone (dropped, which changes the cache).
    old.entries
        .retain(|path, _| !sources_cover(&providers, homes, path));
    let gone = old_covered > known;
    let write = cache_path.is_some() && (stats.read > 0 || stats.rebuilt || gone);

    let mut listing = Listing::default();
    let current: Vec<(&Path, &Entry)> = sources
        .iter()
        .zip(&entries)
        .filter_map(|(s, e)| Some((s.path.as_path(), e.as_ref()?)))
        .collect();
    if let (true, Some(p)) = (write, &cache_path) {
        // A cache that cannot be written only costs speed next time.
        let kept = old.entries.iter().map(|(p, e)| (p.as_path(), e));
        let _ = save(p, kept.chain(current.iter().copied()));
    }
    drop(current);
    for (s, e) in sources.iter().zip(entries) {
        let Some(e) = e else { continue };
        if let Some(w) = e.warning {
            listing.warnings.push(Warning {
                path: s.path.clone(),
                message: w,
            });
        }
        listing.sessions.extend(e.sessions);
    }
    providers::complete(&mut listing.sessions, homes);
    dedupe(&mut listing.sessions);
    (listing, stats)
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
        path.starts_with(root)
    })
}

/// One session per (provider, id): Gemini's old JSON and its JSONL successor, or a
/// Codex rollout both live and archived, keep the most recently active.
fn dedupe(sessions: &mut Vec<ChatSession>) {
    let mut best: HashMap<(Provider, &str), usize> = HashMap::with_capacity(sessions.len());
    let mut keep = vec![true; sessions.len()];
    for (i, s) in sessions.iter().enumerate() {
        match best.entry((s.provider, s.id.as_str())) {
            std::collections::hash_map::Entry::Occupied(mut o) => {
                let j = *o.get();
                if s.activity() > sessions[j].activity() {
                    keep[j] = false;
                    o.insert(i);
                } else {
                    keep[i] = false;
                }
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(i);
            }
        }
    }
    drop(best);
    let mut i = 0;
    sessions.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

/// Read the sources at `todo` on a few threads.
fn read_all(
    sources: &[Source],
    todo: &[usize],
    stamps: &[Vec<Option<Stamp>>],
    progress: bool,
) -> Vec<(usize, Entry)> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let out = Mutex::new(Vec::with_capacity(todo.len()));
    let started = Instant::now();
    let show = progress && std::io::stderr().is_terminal();
    let shown = std::sync::atomic::AtomicBool::new(false);
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
                    let Some(&i) = todo.get(k) else { break };
                    let entry = match providers::read(&sources[i]) {
                        Ok(sessions) => Entry {
                            stamps: stamps[i].clone(),
                            sessions,
                            warning: None,
                        },
                        Err(w) => Entry {
                            stamps: stamps[i].clone(),
                            sessions: Vec::new(),
                            warning: Some(w),
                        },
                    };
                    out.lock().expect("no reader panics").push((i, entry));
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if show
                        && worker == 0
                        && started.elapsed() > Duration::from_secs(1)
                        && last.elapsed() > Duration::from_millis(100)
                    {
                        last = Instant::now();
                        shown.store(true, Ordering::Relaxed);
                        eprint!("\rindexing provider sessions: {n}/{}", todo.len());
                    }
                }
            });
        }
    });
    if shown.load(Ordering::Relaxed) {
        eprintln!(
            "\rindexing provider sessions: {}/{} done",
            todo.len(),
            todo.len()
        );
    }
    out.into_inner().expect("no reader panics")
}

/// `Err(true)`: a cache exists but is unusable; `Err(false)`: there is none.
fn load(path: &Path) -> Result<CacheFile, bool> {
    let bytes = std::fs::read(path).map_err(|_| false)?;
    decode(&bytes).ok_or(true)
}

fn decode(bytes: &[u8]) -> Option<CacheFile> {
    let mut r = Reader::open(bytes, VERSION)?;
    let count = r.u32()? as usize;
    let mut entries = HashMap::with_capacity(count.min(bytes.len()));
    for _ in 0..count {
        let path = r.path()?;
        let stamps = (0..r.u8()?)
            .map(|_| match r.u8()? {
                0 => Some(None),
                1 => Some(Some(Stamp {
                    size: r.u64()?,
                    mtime_ns: r.u128()?,
                })),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        let warning = r.opt_string()?;
        let sessions = (0..r.u32()?)
            .map(|_| r.session())
            .collect::<Option<Vec<_>>>()?;
        entries.insert(
            path,
            Entry {
                stamps,
                sessions,
                warning,
            },
        );
    }
    r.at_end().then_some(CacheFile { entries })
}

fn encode<'a>(entries: impl Iterator<Item = (&'a Path, &'a Entry)>) -> Vec<u8> {
    let entries: Vec<_> = entries.collect();
    let mut w = Writer::new(VERSION);
    w.u32(entries.len() as u32);
    for (path, e) in entries {
        w.path(path);
        w.u8(e.stamps.len() as u8);
        for st in &e.stamps {
            match st {
                Some(st) => {
                    w.u8(1);
                    w.u64(st.size);
                    w.u128(st.mtime_ns);
                }
                None => w.u8(0),
            }
        }
        w.opt_str(e.warning.as_deref());
        w.u32(e.sessions.len() as u32);
        for s in &e.sessions {
            w.session(s);
        }
    }
    w.finish()
}

/// Write to a temporary file in the same folder, flush it to disk, rename over.
fn save<'a>(
    path: &Path,
    entries: impl Iterator<Item = (&'a Path, &'a Entry)>,
) -> std::io::Result<()> {
    let dir = path.parent().expect("the cache file has a folder");
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&encode(entries))?;
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
    let Ok(mut cache) = load(&path) else {
        return Ok(0);
    };
    let before = cache.entries.len();
    for p in paths {
        cache.entries.remove(p);
    }
    let removed = before - cache.entries.len();
    if removed > 0 {
        save(&path, cache.entries.iter().map(|(p, e)| (p.as_path(), e)))?;
    }
    Ok(removed)
}
