//! Crash-safe file primitives (DESIGN §3.1–3.3).
//!
//! - [`write_atomic`]: readers see the old or the new file, never a torn one.
//! - [`create_exclusive`]: a file appears complete or not at all, and only once.
//! - [`FileLock`]: an exclusive lock on a sidecar file, for read-modify-write cycles.
//! - [`read_text`] / [`read_json_object`]: bounded reads whose errors carry the path
//!   (and line/column for JSON).
//! - [`append`]: one write at the end of a file, fsynced.
//! - [`touch`]: create a file or set its time to now.
//! - [`take`] / [`link_back`]: move a file aside by rename and put it back by link
//!   (never replacing a newer one), so exactly one of several racing takers gets it.
//! - [`remove`]: delete a file and fsync its folder, so the delete survives a crash.
//! - [`set_mode`], [`remove_tree`]: permissions (init) and a whole folder (the demo).
//!
//! These are the only places in the library crates that create, replace, link, append
//! to or delete a file: a rule about file effects (issue 10's no-follow resolution,
//! bounds, torn-write rollback) is added here once.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use rustix::fs::OFlags;

use crate::store::beneath::{self, At};
use crate::store::error::{Error, Result};

/// Hub files larger than this are refused rather than read into memory.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// How long a command waits for a sidecar lock before giving up with `LockTimeout`.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// Names of temp files start with a dot and end in `.tmp`, so every reader that
/// lists a folder (and skips dot files) never mistakes one for data, even one left
/// behind by a process killed mid-write.
pub fn is_temp_or_hidden(name: &str) -> bool {
    name.starts_with('.')
}

fn temp_name_for(target: &At) -> std::ffi::OsString {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = target
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.{}.{n}.{nanos}.tmp", std::process::id()).into()
}

/// The folder holding `path`, opened beneath its guarded folder (see [`beneath`]).
fn at(path: &Path) -> Result<At> {
    beneath::at(path).map_err(|e| Error::io(path, e))
}

/// fsync a folder so a rename or link inside it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    beneath::open_dir(dir)
        .and_then(|d| rustix::fs::fsync(d).map_err(io::Error::from))
        .map_err(|e| Error::io(dir, e))
}

/// Write `bytes` to a fresh temp file beside `target` (in the same open folder) and
/// fsync it. The caller renames or links it into place; on error the temp file is
/// removed.
fn write_temp(target: &At, bytes: &[u8], durable: bool) -> Result<At> {
    survive_file_size_limit();
    let temp = target.sibling(temp_name_for(target));
    let result = (|| {
        let mut file = temp.open(OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL, 0o666)?;
        file.write_all(bytes)?;
        if durable {
            file.sync_all()?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(temp),
        Err(e) => {
            let _ = temp.unlink();
            Err(Error::io(temp.path(), e))
        }
    }
}

/// Replace `target` atomically: temp file in the same folder, fsync, rename, fsync folder.
pub fn write_atomic(target: &Path, bytes: &[u8]) -> Result<()> {
    replace(target, bytes, true)
}

/// Replace `target` by rename without any fsync: readers still never see a torn file,
/// and a killed process loses nothing, but an OS crash may lose the write. Only for data
/// whose loss is detected and recovered (the fencing counter inside its durable
/// reservation, see `fence::next_token`).
pub fn write_replace_unsynced(target: &Path, bytes: &[u8]) -> Result<()> {
    replace(target, bytes, false)
}

fn replace(target: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    let target = at(target)?;
    let temp = write_temp(&target, bytes, durable)?;
    if let Err(e) = temp.rename_to(&target) {
        let _ = temp.unlink();
        return Err(Error::io(target.path(), e));
    }
    if durable {
        target.sync_dir().map_err(|e| Error::io(target.path(), e))?;
    }
    Ok(())
}

/// Create `target` complete and exclusive: the record is written to a temp file first,
/// then hard-linked into place, which fails if the target exists. Returns `false` when
/// another file already holds the name.
pub fn create_exclusive(target: &Path, bytes: &[u8]) -> Result<bool> {
    let target = at(target)?;
    let temp = write_temp(&target, bytes, true)?;
    let linked = temp.link_to(&target);
    let _ = temp.unlink();
    match linked {
        Ok(()) => {
            target.sync_dir().map_err(|e| Error::io(target.path(), e))?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(Error::io(target.path(), e)),
    }
}

/// Append `bytes` to `path` (created if missing), then fsync the data. The caller
/// holds the file's sidecar lock, so appends never interleave. A failed append (disk
/// full, file too large) leaves the file exactly as it was: what part of `bytes` did
/// reach it is cut off again before the lock is released, so no reader is ever handed
/// a torn block.
pub fn append(path: &Path, bytes: &[u8]) -> Result<()> {
    append_with(path, bytes, true)
}

fn append_with(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    survive_file_size_limit();
    let mut file = open_regular(path, Access::Append).map_err(|e| Error::io(path, e))?;
    let before = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let written = file
        .write_all(bytes)
        .and_then(|()| if durable { file.sync_data() } else { Ok(()) });
    if let Err(e) = written {
        // Through the same handle: the file we wrote to, whatever its name is now.
        let _ = file.set_len(before).and_then(|()| file.sync_data());
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// A write past the file-size limit (`ulimit -f`) raises SIGXFSZ, whose default action
/// kills the process after the kernel wrote what fitted: a torn block nobody cuts
/// off. With a handler installed the write fails with EFBIG instead, and the writer
/// puts the file back as it was. Installed once, before the first write.
fn survive_file_size_limit() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let _ = signal_hook::flag::register(libc::SIGXFSZ, seen);
    });
}

/// The bytes of an open `file` (named `path` in errors) from `offset` to its current end:
/// what was appended to a file since it was read up to `offset`.
pub fn read_from(file: &File, path: &Path, offset: u64) -> Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    let mut out = Vec::new();
    f.seek(SeekFrom::Start(offset))
        .and_then(|_| f.read_to_end(&mut out))
        .map_err(|e| Error::io(path, e))?;
    Ok(out)
}

/// Append without fsync: for private, rebuildable records (a read-marks list) where a
/// lost tail after an OS crash only means a message shows as unread again.
pub fn append_unsynced(path: &Path, bytes: &[u8]) -> Result<()> {
    append_with(path, bytes, false)
}

/// Create `path` empty, or set its modification time to now when it exists (the
/// original `touch`). Returns `true` when the file was created. A new file already
/// carries the current time; setting it again would be a second change for watchers.
pub fn touch(path: &Path) -> Result<bool> {
    let target = at(path)?;
    loop {
        match target.open(OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL, 0o666) {
            Ok(_) => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io(path, e)),
        }
        let file = match regular(target.open(OFlags::WRONLY | OFlags::NONBLOCK, 0)) {
            Ok(f) => f,
            // Someone removed it between the two opens: create it again (unless the
            // name is a dangling symlink, which would loop forever).
            Err(e) if e.kind() == io::ErrorKind::NotFound && !target.is_link() => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        let now = std::time::SystemTime::now();
        file.set_times(fs::FileTimes::new().set_modified(now).set_accessed(now))
            .map_err(|e| Error::io(path, e))?;
        return Ok(false);
    }
}

/// Move `from` to the fresh name `to` by rename (atomic: of several racing takers
/// exactly one succeeds). `Ok(false)` when `from` is already gone.
pub fn take(from: &Path, to: &Path) -> Result<bool> {
    let (source, dest) = (at(from)?, at(to)?);
    match source.rename_to(&dest) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(from, e)),
    }
}

/// Link `held` back to `name` unless `name` exists again (a newer file there wins).
/// Returns whether the link was made. `held` itself stays; remove it with [`remove`].
pub fn link_back(held: &Path, name: &Path) -> Result<bool> {
    let (source, dest) = (at(held)?, at(name)?);
    match source.link_to(&dest) {
        Ok(()) => Ok(true),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::AlreadyExists | io::ErrorKind::NotFound
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(Error::io(name, e)),
    }
}

/// Delete `path` and fsync its folder so the delete survives a crash. `Ok(false)`
/// when there was nothing to delete.
pub fn remove(path: &Path) -> Result<bool> {
    let target = match beneath::at(path) {
        Ok(t) => t,
        // The folder is gone, so is the file.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(path, e)),
    };
    match target.unlink() {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(path, e)),
    }
    target.sync_dir().map_err(|e| Error::io(path, e))?;
    Ok(true)
}

/// Set a file's Unix permission bits (a no-op elsewhere).
pub fn set_mode(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        let file = regular(at(path)?.open(OFlags::RDONLY | OFlags::NONBLOCK, 0))
            .map_err(|e| Error::io(path, e))?;
        rustix::fs::fchmod(&file, rustix::fs::Mode::from_raw_mode(mode))
            .map_err(|e| Error::io(path, e.into()))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// Delete a folder and everything in it (a missing folder is fine). Only for folders
/// the toolkit made itself and owns entirely (the demo's).
pub fn remove_tree(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    }
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => sync_dir(p),
        _ => sync_dir(Path::new(".")),
    }
}

/// Delete an empty folder; `Ok(false)` when it is missing or not empty.
pub fn remove_empty_dir(dir: &Path) -> Result<bool> {
    let target = match beneath::at(dir) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(dir, e)),
    };
    match target.remove_dir() {
        Ok(()) => Ok(true),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::DirectoryNotEmpty
            ) || e.raw_os_error() == Some(libc::EEXIST) =>
        {
            Ok(false)
        }
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// Create a folder (and its parents) if missing.
/// Beneath a guarded folder each one is made relative to its parent's handle, never
/// through a link.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    beneath::make_dirs(dir).map_err(|e| Error::io(dir, e))
}

/// Open a hub file with `options`, refusing (never blocking on) anything that is not a
/// regular file. A FIFO where a hub file should be would block `open` until a writer
/// comes, forever (with the board lock held); a device or socket is never data. The open
/// is non-blocking and the type is checked on the opened handle, so no swap between a
/// check and the open can slip one in. Every read, append and lock of a hub file goes
/// through here.
pub fn open_regular(path: &Path, access: Access) -> io::Result<File> {
    let flags = match access {
        Access::Read => OFlags::RDONLY,
        Access::Append => OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE,
        Access::Lock => OFlags::RDWR | OFlags::CREATE,
    };
    regular(beneath::at(path)?.open(flags | OFlags::NONBLOCK, 0o666))
}

/// How [`open_regular`] opens a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    /// Writes go to the end; created if missing.
    Append,
    /// Read and write, created if missing, never truncated (a sidecar lock).
    Lock,
}

/// `opened`, refused unless it is a regular file (see [`open_regular`]).
fn regular(opened: io::Result<File>) -> io::Result<File> {
    use std::os::unix::fs::FileTypeExt;
    let not_regular = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{what} where a hub file should be; the hub holds only regular files and \
                 folders: remove it (`rm`) and run the command again"
            ),
        )
    };
    let file = match opened {
        Ok(f) => f,
        // Opening a FIFO without a reader for writing, or a socket, fails with ENXIO.
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
            return Err(not_regular("a FIFO, socket or device"));
        }
        Err(e) => return Err(e),
    };
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    Err(not_regular(if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_dir() {
        "a folder"
    } else {
        "something other than a file"
    }))
}

/// Open a hub file for reading; see [`open_regular`].
pub fn open_read(path: &Path) -> io::Result<File> {
    open_regular(path, Access::Read)
}

/// Read a whole text file, bounded by [`MAX_FILE_BYTES`]. `Ok(None)` when it does not exist.
pub fn read_text(path: &Path) -> Result<Option<String>> {
    let file = match open_read(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len > MAX_FILE_BYTES {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_FILE_BYTES,
        });
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    String::from_utf8(bytes).map(Some).map_err(|e| {
        let text = String::from_utf8_lossy(&e.as_bytes()[..e.utf8_error().valid_up_to()]);
        let line = text.matches('\n').count() + 1;
        let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Error::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: "the file is not valid UTF-8".into(),
        }
    })
}

/// Parse `text` (read from `path`) as a JSON object, with line/column on error.
pub fn parse_json_object(path: &Path, text: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::Parse {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: "expected a JSON object".into(),
        }),
        Err(e) => Err(Error::json(path, &e)),
    }
}

/// Read a JSON object file. `Ok(None)` when it does not exist.
pub fn read_json_object(path: &Path) -> Result<Option<Map<String, Value>>> {
    match read_text(path)? {
        Some(text) => parse_json_object(path, &text).map(Some),
        None => Ok(None),
    }
}

/// The one canonical form of every JSON file the toolkit writes: 2-space indent,
/// keys in their existing order (unknown ones kept), trailing newline.
pub fn json_bytes(value: &impl serde::Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("JSON values always serialize");
    bytes.push(b'\n');
    bytes
}

/// An exclusive lock on a sidecar file, released on drop. The sidecar is never the data
/// file itself, because the data file is replaced by rename and a lock on the old inode
/// would protect nothing.
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// Take the lock, waiting up to `timeout`. Waits poll with a growing back-off so a
    /// stuck holder turns into a clear `LockTimeout` instead of a hang.
    pub fn acquire(path: &Path, timeout: Duration) -> Result<FileLock> {
        if let Some(dir) = path.parent() {
            ensure_dir(dir)?;
        }
        let file = open_regular(path, Access::Lock).map_err(|e| Error::io(path, e))?;
        let start = Instant::now();
        let mut pause = Duration::from_micros(200);
        loop {
            match file.try_lock() {
                Ok(()) => {
                    return Ok(FileLock {
                        file,
                        path: path.to_path_buf(),
                    });
                }
                Err(fs::TryLockError::WouldBlock) => {
                    if start.elapsed() >= timeout {
                        return Err(Error::LockTimeout {
                            path: path.to_path_buf(),
                            waited_ms: start.elapsed().as_millis(),
                        });
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(10));
                }
                Err(fs::TryLockError::Error(e)) => return Err(Error::io(path, e)),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// A file replaced atomically once written in full, for content too big to hold in
/// memory (an archived board): written piece by piece to a temp file beside `target`,
/// then fsynced and renamed over it by [`AtomicFile::commit`], as [`write_atomic`]
/// does. Dropped without a commit, the temp file is removed and `target` is untouched.
pub struct AtomicFile {
    target: At,
    /// The temp file until it is committed (renamed over `target`).
    temp: Option<At>,
    file: Option<File>,
    /// The last byte written, if any.
    pub last: Option<u8>,
}

impl AtomicFile {
    pub fn create(target: &Path) -> Result<AtomicFile> {
        let target = at(target)?;
        let temp = write_temp(&target, b"", false)?;
        let file =
            match regular(temp.open(OFlags::WRONLY | OFlags::APPEND | OFlags::NONBLOCK, 0o666)) {
                Ok(f) => f,
                Err(e) => {
                    let _ = temp.unlink();
                    return Err(Error::io(temp.path(), e));
                }
            };
        Ok(AtomicFile {
            target,
            temp: Some(temp),
            file: Some(file),
            last: None,
        })
    }

    fn temp_path(&self) -> &Path {
        self.temp.as_ref().map_or(self.target.path(), At::path)
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        if let (Some(file), Some(last)) = (&mut self.file, bytes.last()) {
            if let Err(e) = file.write_all(bytes) {
                return Err(Error::io(self.temp_path(), e));
            }
            self.last = Some(*last);
        }
        Ok(())
    }

    pub fn commit(mut self) -> Result<()> {
        if let Some(file) = self.file.take() {
            file.sync_all()
                .map_err(|e| Error::io(self.temp_path(), e))?;
        }
        if let Some(temp) = self.temp.take()
            && let Err(e) = temp.rename_to(&self.target)
        {
            let _ = temp.unlink();
            return Err(Error::io(self.target.path(), e));
        }
        self.target
            .sync_dir()
            .map_err(|e| Error::io(self.target.path(), e))
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = temp.unlink();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = std::env::temp_dir().join(format!("sessions-fifo-{}", std::process::id()));
        ensure_dir(&dir).unwrap();
        let fifo = dir.join("MESSAGES.md");
        let _ = fs::remove_file(&fifo);
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // Each of these blocked forever on a FIFO without a writer (or reader).
        let err = read_text(&fifo).unwrap_err().to_string();
        assert!(err.contains("FIFO"), "{err}");
        let append = open_regular(&fifo, Access::Append);
        assert!(append.unwrap_err().to_string().contains("FIFO"));
        let lock = FileLock::acquire(&fifo, Duration::from_secs(1)).unwrap_err();
        assert!(lock.to_string().contains("FIFO"), "{lock}");
        assert!(open_read(&dir).unwrap_err().to_string().contains("folder"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn create_exclusive_refuses_second_creator() {
        let dir = std::env::temp_dir().join(format!("sessions-storage-{}", std::process::id()));
        ensure_dir(&dir).unwrap();
        let target = dir.join("k.lock");
        let _ = fs::remove_file(&target);
        assert!(create_exclusive(&target, b"one").unwrap());
        assert!(!create_exclusive(&target, b"two").unwrap());
        assert_eq!(fs::read(&target).unwrap(), b"one");
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temp files left behind");
        fs::remove_dir_all(&dir).unwrap();
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "sessions-storage-{name}-{}-{}",
            std::process::id(),
            crate::store::ids::unique("t")
        ));
        ensure_dir(&dir).unwrap();
        dir
    }

    #[test]
    fn append_adds_at_the_end_and_creates_the_file() {
        let dir = scratch("append");
        let path = dir.join("board.md");
        append(&path, b"one\n").unwrap();
        append(&path, b"two\n").unwrap();
        append_unsynced(&path, b"three\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one\ntwo\nthree\n");
        remove_tree(&dir).unwrap();
        assert!(!dir.exists());
    }

    #[test]
    fn touch_creates_then_moves_the_time_forward() {
        let dir = scratch("touch");
        let path = dir.join(".x-updated");
        assert!(touch(&path).unwrap(), "first touch creates");
        let old = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_times(fs::FileTimes::new().set_modified(old))
            .unwrap();
        assert!(!touch(&path).unwrap(), "second touch only sets the time");
        assert!(fs::metadata(&path).unwrap().modified().unwrap() > old);
        remove_tree(&dir).unwrap();
    }

    #[test]
    fn take_is_won_once_and_link_back_never_replaces_a_newer_file() {
        let dir = scratch("take");
        let name = dir.join("signal");
        fs::write(&name, b"old").unwrap();
        let held = dir.join("held");
        assert!(take(&name, &held).unwrap());
        assert!(!take(&name, &dir.join("held2")).unwrap(), "already taken");
        assert!(link_back(&held, &name).unwrap());
        assert!(remove(&held).unwrap());
        assert_eq!(fs::read(&name).unwrap(), b"old");
        // A newer file under the name wins over the held one.
        assert!(take(&name, &held).unwrap());
        fs::write(&name, b"new").unwrap();
        assert!(!link_back(&held, &name).unwrap());
        assert_eq!(fs::read(&name).unwrap(), b"new");
        assert!(remove(&held).unwrap());
        assert!(!remove(&held).unwrap(), "nothing left to remove");
        remove_tree(&dir).unwrap();
    }

    #[test]
    fn set_mode_and_remove_empty_dir() {
        let dir = scratch("mode");
        let script = dir.join("x.sh");
        fs::write(&script, b"#!/bin/sh\n").unwrap();
        set_mode(&script, 0o755).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&script).unwrap().permissions().mode() & 0o777,
                0o755
            );
        }
        assert!(!remove_empty_dir(&dir).unwrap(), "not empty: kept");
        assert!(remove(&script).unwrap());
        assert!(remove_empty_dir(&dir).unwrap());
        assert!(!remove_empty_dir(&dir).unwrap());
    }
}
