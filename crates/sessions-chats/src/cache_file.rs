//! The index cache on disk: a compact binary file (length-prefixed fields, times as
//! numbers) that loads without a JSON parse or a date parse per session, ended by a
//! checksum of everything before it, so a truncated or damaged file is detected and
//! rebuilt rather than trusted.

use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::providers::Stamp;
use crate::{ChatSession, Provider};

const MAGIC: &[u8; 8] = b"SESCHAT\0";

/// CRC-32 of everything before it: enough to tell a damaged file from a good one (not a
/// defence against someone forging a cache, which could only lie about their own
/// sessions), and fast enough to check on every listing (the byte-wise FNV-1a it replaced
/// took about 5 ms over a 10,000-session cache; CRC-32 with the CPU's carry-less multiply
/// takes a tenth of that).
fn checksum(bytes: &[u8]) -> u64 {
    u64::from(crc32fast::hash(bytes))
}

/// Appends fields to a buffer.
pub struct Writer(Vec<u8>);

impl Writer {
    pub fn new(version: u32) -> Writer {
        let mut w = Writer(Vec::with_capacity(1 << 20));
        w.0.extend_from_slice(MAGIC);
        w.u32(version);
        w
    }

    pub fn finish(mut self) -> Vec<u8> {
        let sum = checksum(&self.0);
        self.u64(sum);
        self.0
    }

    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn bytes(&mut self, v: &[u8]) {
        self.u32(v.len() as u32);
        self.0.extend_from_slice(v);
    }
    pub fn i128(&mut self, v: i128) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    /// A name as the system takes it: its bytes and the ending NUL.
    pub fn cstr(&mut self, v: &CStr) {
        self.bytes(v.to_bytes_with_nul());
    }
    pub fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
    pub fn path(&mut self, v: &std::path::Path) {
        self.bytes(v.as_os_str().as_bytes());
    }
    pub fn opt_str(&mut self, v: Option<&str>) {
        match v {
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
            None => self.u8(0),
        }
    }
    pub fn opt_time(&mut self, v: Option<DateTime<Utc>>) {
        match v {
            Some(t) => {
                self.u8(1);
                self.u64(t.timestamp() as u64);
                self.u32(t.timestamp_subsec_nanos());
            }
            None => self.u8(0),
        }
    }
    pub fn opt_stamp(&mut self, v: Option<Stamp>) {
        match v {
            Some(st) => {
                self.u8(1);
                self.u64(st.size);
                self.u64(st.mtime_ns);
                self.u64(st.ctime_ns);
            }
            None => self.u8(0),
        }
    }
    pub fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            Some(n) => {
                self.u8(1);
                self.u64(n);
            }
            None => self.u8(0),
        }
    }

    /// Bytes already in this format (an unchanged entry of the previous cache).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    /// Where the next field goes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Write `v` at `at`, over bytes written before (a length known only afterwards).
    pub fn patch_u32(&mut self, at: usize, v: u32) {
        self.0[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    pub fn patch_u64(&mut self, at: usize, v: u64) {
        self.0[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }

    /// A session's record: first the keys a listing sorts and deduplicates by, then
    /// the length of the rest (so a listing can skip it), then the rest. The path is
    /// left empty when it is `file`, the entry's own.
    pub fn session(&mut self, s: &ChatSession, file: &Path) {
        self.u8(match s.provider {
            Provider::Claude => 0,
            Provider::Codex => 1,
            Provider::Gemini => 2,
            Provider::Cursor => 3,
            Provider::Opencode => 4,
        });
        self.str(&s.id);
        self.opt_time(s.created);
        self.opt_time(s.updated);
        let len_at = self.len();
        self.u32(0);
        self.opt_str(s.cwd.as_deref());
        self.opt_str(s.title.as_deref());
        self.u64(s.size);
        self.opt_str(s.model.as_deref());
        self.opt_str(s.branch.as_deref());
        self.opt_str(s.version.as_deref());
        self.path(if s.path == file {
            Path::new("")
        } else {
            &s.path
        });
        self.opt_str(s.parent.as_deref());
        self.opt_u64(s.messages);
        self.u8(u8::from(s.archived));
        match &s.project_dir {
            Some(p) => {
                self.u8(1);
                self.path(p);
            }
            None => self.u8(0),
        }
        self.patch_u32(len_at, (self.len() - len_at - 4) as u32);
    }
}

/// Reads fields back; every read is bounds-checked (`None` past the end).
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// A reader over a file of `version` whose checksum holds, else `None`.
    pub fn open(file: &'a [u8], version: u32) -> Option<Reader<'a>> {
        let body_len = file.len().checked_sub(8)?;
        let (body, sum) = file.split_at(body_len);
        if !body.starts_with(MAGIC) || checksum(body).to_le_bytes() != sum {
            return None;
        }
        let mut r = Reader {
            bytes: body,
            at: MAGIC.len(),
        };
        (r.u32()? == version).then_some(r)
    }

    pub fn at_end(&self) -> bool {
        self.at == self.bytes.len()
    }

    /// Where the next field is read.
    pub fn position(&self) -> usize {
        self.at
    }

    /// A reader at `at` of a file that [`Reader::open`] accepted before (its checksum
    /// is not computed again).
    pub fn reopen(file: &'a [u8], at: usize) -> Reader<'a> {
        Reader {
            bytes: &file[..file.len().saturating_sub(8)],
            at,
        }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let out = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(out)
    }
    pub fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    pub fn i128(&mut self) -> Option<i128> {
        Some(i128::from_le_bytes(self.take(16)?.try_into().ok()?))
    }
    pub fn cstr(&mut self) -> Option<&'a CStr> {
        CStr::from_bytes_with_nul(self.bytes()?).ok()
    }
    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    pub fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }
    pub fn path_ref(&mut self) -> Option<&'a Path> {
        Some(Path::new(OsStr::from_bytes(self.bytes()?)))
    }
    /// `Some(None)` for an absent value, `None` for a damaged file.
    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        match self.u8()? {
            0 => Some(None),
            1 => f(self).map(Some),
            _ => None,
        }
    }
    pub fn opt_str(&mut self) -> Option<Option<&'a str>> {
        self.opt(Self::str)
    }
    pub fn opt_stamp(&mut self) -> Option<Option<Stamp>> {
        self.opt(|r| {
            Some(Stamp {
                size: r.u64()?,
                mtime_ns: r.u64()?,
                ctime_ns: r.u64()?,
            })
        })
    }
    pub fn opt_time(&mut self) -> Option<Option<DateTime<Utc>>> {
        self.opt(|r| DateTime::from_timestamp(r.u64()? as i64, r.u32()?))
    }

    /// The keys of the session record here, the rest skipped (and not checked).
    pub fn session_keys(&mut self) -> Option<Keys<'a>> {
        let keys = Keys {
            provider: *Provider::ALL.get(usize::from(self.u8()?))?,
            id: self.bytes()?,
            created: self.opt_time()?,
            updated: self.opt_time()?,
        };
        let rest = self.u32()? as usize;
        self.take(rest)?;
        Some(keys)
    }

    /// The session record here, borrowed from the cache's bytes; `file` is the path of
    /// the entry it is in.
    pub fn session(&mut self, file: &'a Path) -> Option<SessionView<'a>> {
        let (provider, id, created, updated) =
            (self.u8()?, self.str()?, self.opt_time()?, self.opt_time()?);
        let end = (self.u32()? as usize).checked_add(self.at)?;
        let view = SessionView {
            provider: *Provider::ALL.get(usize::from(provider))?,
            id,
            created,
            updated,
            cwd: self.opt_str()?,
            title: self.opt_str()?,
            size: self.u64()?,
            model: self.opt_str()?,
            branch: self.opt_str()?,
            version: self.opt_str()?,
            path: Some(self.path_ref()?)
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(file),
            parent: self.opt_str()?,
            messages: self.opt(Self::u64)?,
            archived: match self.u8()? {
                0 => false,
                1 => true,
                _ => return None,
            },
            project_dir: self.opt(Self::path_ref)?,
        };
        (self.at == end).then_some(view)
    }
}

/// What a listing sorts and deduplicates sessions by.
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    pub provider: Provider,
    /// Not checked to be UTF-8 (the record is, when it is read whole).
    pub id: &'a [u8],
    pub created: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
}

/// A session as the cache holds it, every field borrowed from the cache's bytes: a
/// listing reads thousands of these and makes a [`ChatSession`] only of those it prints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionView<'a> {
    pub provider: Provider,
    pub id: &'a str,
    pub cwd: Option<&'a str>,
    pub title: Option<&'a str>,
    pub created: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub size: u64,
    pub model: Option<&'a str>,
    pub branch: Option<&'a str>,
    pub version: Option<&'a str>,
    pub path: &'a Path,
    pub parent: Option<&'a str>,
    pub messages: Option<u64>,
    pub archived: bool,
    pub project_dir: Option<&'a Path>,
}

impl SessionView<'_> {
    pub fn activity(&self) -> Option<DateTime<Utc>> {
        self.updated.or(self.created)
    }

    pub fn to_session(&self) -> ChatSession {
        let owned = |v: Option<&str>| v.map(str::to_string);
        ChatSession {
            provider: self.provider,
            id: self.id.to_string(),
            cwd: owned(self.cwd),
            title: owned(self.title),
            created: self.created,
            updated: self.updated,
            size: self.size,
            model: owned(self.model),
            branch: owned(self.branch),
            version: owned(self.version),
            path: self.path.to_path_buf(),
            parent: owned(self.parent),
            messages: self.messages,
            archived: self.archived,
            project_dir: self.project_dir.map(Path::to_path_buf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_round_trips_and_any_damage_is_detected() {
        let mut s = ChatSession::new(Provider::Gemini, "abc", std::path::Path::new("/x/y.jsonl"));
        s.cwd = Some("/home/me/src/ünïcode".into());
        s.created = crate::parse_time("2026-11-20T09:00:00.123456789Z");
        s.messages = Some(7);
        s.project_dir = Some(std::path::PathBuf::from("/x"));
        let mut w = Writer::new(3);
        w.session(&s, Path::new("/elsewhere"));
        w.session(&s, &s.path);
        let file = w.finish();
        let mut r = Reader::open(&file, 3).expect("a good file opens");
        let start = r.position();
        let keys = r.session_keys().expect("the keys read");
        assert_eq!((keys.provider, keys.id), (s.provider, s.id.as_bytes()));
        assert_eq!((keys.created, keys.updated), (s.created, s.updated));
        let mut r = Reader::reopen(&file, start);
        assert_eq!(
            r.session(Path::new("/elsewhere"))
                .map(|v| v.to_session())
                .as_ref(),
            Some(&s)
        );
        assert_eq!(
            r.session(Path::new("/x/y.jsonl"))
                .map(|v| v.to_session())
                .as_ref(),
            Some(&s),
            "its own path left out"
        );
        assert!(r.at_end());
        assert!(Reader::open(&file, 4).is_none(), "another version");
        for cut in [0, 5, file.len() / 2, file.len() - 1] {
            assert!(Reader::open(&file[..cut], 3).is_none(), "cut at {cut}");
        }
        let mut flipped = file.clone();
        flipped[20] ^= 1;
        assert!(Reader::open(&flipped, 3).is_none());
    }
}
