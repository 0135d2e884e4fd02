//! The index cache on disk: a compact binary file (length-prefixed fields, times as
//! numbers) that loads without a JSON parse or a date parse per session, ended by a
//! checksum of everything before it, so a truncated or damaged file is detected and
//! rebuilt rather than trusted.

use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::{ChatSession, Provider};

const MAGIC: &[u8; 8] = b"SESCHAT\0";

/// FNV-1a, 64 bits: enough to tell a damaged file from a good one (not a defence
/// against someone forging a cache, which could only lie about their own sessions).
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
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
    pub fn u128(&mut self, v: u128) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn bytes(&mut self, v: &[u8]) {
        self.u32(v.len() as u32);
        self.0.extend_from_slice(v);
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
    pub fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            Some(n) => {
                self.u8(1);
                self.u64(n);
            }
            None => self.u8(0),
        }
    }

    pub fn session(&mut self, s: &ChatSession) {
        self.u8(match s.provider {
            Provider::Claude => 0,
            Provider::Codex => 1,
            Provider::Gemini => 2,
            Provider::Cursor => 3,
            Provider::Opencode => 4,
        });
        self.str(&s.id);
        self.opt_str(s.cwd.as_deref());
        self.opt_str(s.title.as_deref());
        self.opt_time(s.created);
        self.opt_time(s.updated);
        self.u64(s.size);
        self.opt_str(s.model.as_deref());
        self.opt_str(s.branch.as_deref());
        self.opt_str(s.version.as_deref());
        self.path(&s.path);
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
    pub fn u128(&mut self) -> Option<u128> {
        Some(u128::from_le_bytes(self.take(16)?.try_into().ok()?))
    }
    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    pub fn string(&mut self) -> Option<String> {
        Some(std::str::from_utf8(self.bytes()?).ok()?.to_string())
    }
    pub fn path(&mut self) -> Option<PathBuf> {
        Some(PathBuf::from(std::ffi::OsString::from_vec(
            self.bytes()?.to_vec(),
        )))
    }
    /// `Some(None)` for an absent value, `None` for a damaged file.
    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        match self.u8()? {
            0 => Some(None),
            1 => f(self).map(Some),
            _ => None,
        }
    }
    pub fn opt_string(&mut self) -> Option<Option<String>> {
        self.opt(Self::string)
    }
    pub fn opt_time(&mut self) -> Option<Option<DateTime<Utc>>> {
        self.opt(|r| DateTime::from_timestamp(r.u64()? as i64, r.u32()?))
    }

    pub fn session(&mut self) -> Option<ChatSession> {
        let provider = *Provider::ALL.get(usize::from(self.u8()?))?;
        let id = self.string()?;
        let cwd = self.opt_string()?;
        let title = self.opt_string()?;
        let created = self.opt_time()?;
        let updated = self.opt_time()?;
        let size = self.u64()?;
        let model = self.opt_string()?;
        let branch = self.opt_string()?;
        let version = self.opt_string()?;
        let path = self.path()?;
        let parent = self.opt_string()?;
        let messages = self.opt(Self::u64)?;
        let archived = match self.u8()? {
            0 => false,
            1 => true,
            _ => return None,
        };
        let project_dir = self.opt(Self::path)?;
        Some(ChatSession {
            provider,
            id,
            cwd,
            title,
            created,
            updated,
            size,
            model,
            branch,
            version,
            path,
            parent,
            messages,
            archived,
            project_dir,
        })
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
        s.project_dir = Some(PathBuf::from("/x"));
        let mut w = Writer::new(3);
        w.session(&s);
        let file = w.finish();
        let mut r = Reader::open(&file, 3).expect("a good file opens");
        assert_eq!(r.session().as_ref(), Some(&s));
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
