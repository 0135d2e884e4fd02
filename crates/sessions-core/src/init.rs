//! `sessions init`: a new hub from the template embedded in the binary.

use std::path::{Path, PathBuf};

use include_dir::{Dir, DirEntry, include_dir};

use crate::store::error::{Error, Result};
use crate::store::hub::layout;
use crate::{store::storage, store::time};

static TEMPLATE: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../SESSIONS.template");

/// Template files that are shims for the old scripts' paths; copied only when wanted.
const SHIMS_DIR: &str = "shims";

/// Templates for `sessions report new`; never copied into a hub.
const STATUS_TEMPLATES_DIR: &str = "status-templates";

/// The status-file templates shipped in the binary: (name, text).
pub fn status_templates() -> Vec<(&'static str, &'static str)> {
    let Some(dir) = TEMPLATE.get_dir(STATUS_TEMPLATES_DIR) else {
        return Vec::new();
    };
    let mut out: Vec<_> = dir
        .files()
        .filter_map(|f| {
            let name = f.path().file_stem()?.to_str()?;
            Some((name, f.contents_utf8()?))
        })
        .collect();
    out.sort();
    out
}

/// Create a hub at `dir` (which must not exist or be empty). With `shims`, the old
/// script names (`quick-status.sh`, ...) are added as small scripts calling the toolkit.
pub fn create(dir: &Path, shims: bool) -> Result<Vec<PathBuf>> {
    if dir.join(layout::REGISTRY).exists() {
        return Err(Error::HubExists {
            path: dir.to_path_buf(),
        });
    }
    if let Ok(mut entries) = std::fs::read_dir(dir)
        && entries.next().is_some()
    {
        return Err(Error::Failed(format!(
            "{} is not empty; refusing to write into it: pick a new or empty folder",
            dir.display()
        )));
    }
    storage::ensure_dir(dir)?;
    let now = time::now();
    let mut written = Vec::new();
    copy_dir(&TEMPLATE, dir, shims, now, &mut written)?;
    storage::ensure_dir(&dir.join(layout::LOCKS))?;
    Ok(written)
}

fn copy_dir(
    src: &Dir<'_>,
    dest_root: &Path,
    shims: bool,
    now: time::Timestamp,
    written: &mut Vec<PathBuf>,
) -> Result<()> {
    for entry in src.entries() {
        match entry {
            DirEntry::Dir(d) => {
                if d.path() == Path::new(SHIMS_DIR) {
                    if shims {
                        copy_shims(d, dest_root, written)?;
                    }
                    continue;
                }
                if d.path() == Path::new(STATUS_TEMPLATES_DIR) {
                    continue;
                }
                storage::ensure_dir(&dest_root.join(d.path()))?;
                copy_dir(d, dest_root, shims, now, written)?;
            }
            DirEntry::File(f) => {
                let target = dest_root.join(f.path());
                let bytes = match f.contents_utf8() {
                    Some(text) => text
                        .replace("{{NOW}}", &time::format(now))
                        .replace(
                            "{{NOW_HUMAN}}",
                            &now.format("%Y-%m-%d %H:%M UTC").to_string(),
                        )
                        .into_bytes(),
                    None => f.contents().to_vec(),
                };
                if !storage::create_exclusive(&target, &bytes)? {
                    return Err(Error::HubExists { path: target });
                }
                written.push(target);
            }
        }
    }
    Ok(())
}

fn copy_shims(dir: &Dir<'_>, dest_root: &Path, written: &mut Vec<PathBuf>) -> Result<()> {
    // The shims call `sessions` from PATH, else the binary that wrote them (recorded here),
    // so they work right after `cargo run -- init` with nothing installed.
    let binary = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map(|p| p.to_string_lossy().replace('\'', r"'\''"))
        .unwrap_or_default();
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(sub) => {
                // `shims/scripts/` gives `SESSIONS/scripts/`: the hub README's own paths.
                let name = sub.path().file_name().expect("template dirs have names");
                let dest = dest_root.join(name);
                storage::ensure_dir(&dest)?;
                copy_shims(sub, &dest, written)?;
            }
            DirEntry::File(file) => {
                let name = file.path().file_name().expect("template files have names");
                let target = dest_root.join(name);
                let text =
                    String::from_utf8_lossy(file.contents()).replace("{{SESSIONS_BIN}}", &binary);
                if !storage::create_exclusive(&target, text.as_bytes())? {
                    return Err(Error::HubExists { path: target });
                }
                make_executable(&target)?;
                written.push(target);
            }
        }
    }
    Ok(())
}

fn make_executable(path: &Path) -> Result<()> {
    storage::set_mode(path, 0o755)
}
