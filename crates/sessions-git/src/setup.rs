//! `sessions git setup`: make a repository merge hub files by meaning.
//!
//! - Committed: `<hub>/.gitattributes` names git's built-in `union` driver for the
//!   append-only board, so a fresh clone that never ran setup still merges the board
//!   without a conflict (blocks may then interleave, but none is lost).
//! - Local (this clone only, never committed): `merge.sessions-<kind>.driver` entries in
//!   `.git/config` and a block in `.git/info/attributes`, which takes precedence over
//!   every `.gitattributes`, naming `sessions merge-driver <kind>` for each file kind.
//!
//! Running it again changes nothing; [`check`] reports what is missing.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sessions_core::store::error::{Error, Result};
use sessions_core::store::hub::Hub;
use sessions_core::store::storage;

use crate::commit::Repo;
use crate::drivers::Kind;

/// The committed attributes file, relative to the hub.
pub const HUB_ATTRIBUTES: &str = ".gitattributes";

const BEGIN: &str = "# >>> sessions git setup (merge drivers for the hub; `sessions git setup` rewrites this block)";
const END: &str = "# <<< sessions git setup";

/// What the committed `.gitattributes` of the hub says.
pub fn hub_attributes() -> String {
    "# Written by `sessions git setup`. The board is append-only: git's built-in union\n\
     # driver merges it even in a clone that never ran setup. Each clone's own setup\n\
     # (`sessions git setup`, in .git/info/attributes) adds exact drivers for every file.\n\
     MESSAGES.md merge=union\n"
        .to_string()
}

/// The block for `.git/info/attributes`.
fn info_block(repo: &Repo) -> String {
    let mut out = format!("{BEGIN}\n");
    for kind in Kind::ALL {
        for pattern in kind.patterns() {
            out.push_str(&format!(
                "/{} merge={}\n",
                repo.in_hub(pattern),
                kind.driver()
            ));
        }
    }
    out.push_str(END);
    out.push('\n');
    out
}

/// The driver command line for `kind`, running `exe`.
fn driver_command(exe: &Path, kind: Kind) -> String {
    let exe = exe.to_string_lossy().replace('\'', r"'\''");
    format!("'{exe}' merge-driver {} %O %A %B %P", kind.name())
}

/// What setup did or would do.
#[derive(Debug, Clone, Serialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Setup {
    pub repo: PathBuf,
    pub hub: String,
    /// What was missing (for `--check`) or what was written (for setup).
    pub changes: Vec<String>,
}

/// Write what is missing. `exe` is the `sessions` binary the drivers run.
pub fn setup(hub: &Hub, exe: &Path) -> Result<Setup> {
    let repo = Repo::require(hub)?;
    let mut out = Setup {
        repo: repo.top.clone(),
        hub: repo.hub_rel.clone(),
        changes: Vec::new(),
    };
    let attrs = hub.file(HUB_ATTRIBUTES)?;
    let current = storage::read_text(&attrs)?.unwrap_or_default();
    if !current
        .lines()
        .any(|l| l.trim() == "MESSAGES.md merge=union")
    {
        let mut text = current.clone();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&hub_attributes());
        storage::write_atomic(&attrs, text.as_bytes())?;
        out.changes
            .push(format!("wrote {} (commit it)", repo.in_hub(HUB_ATTRIBUTES)));
    }
    for kind in Kind::ALL {
        let key = format!("merge.{}.driver", kind.driver());
        let want = driver_command(exe, kind);
        let have = repo.git(&["config", "--local", "--get", &key])?;
        if String::from_utf8_lossy(&have.stdout).trim() != want {
            repo.git_ok(&["config", "--local", &key, &want])?;
            repo.git_ok(&[
                "config",
                "--local",
                &format!("merge.{}.name", kind.driver()),
                &format!("sessions: merge the hub's {} files by meaning", kind.name()),
            ])?;
            out.changes.push(format!("set {key}"));
        }
    }
    let info = repo.common_dir.join("info").join("attributes");
    let text = storage::read_text(&info)?.unwrap_or_default();
    let block = info_block(&repo);
    let updated = replace_block(&text, &block);
    if updated != text {
        storage::ensure_dir(info.parent().expect("info has a folder"))?;
        storage::write_atomic(&info, updated.as_bytes())?;
        out.changes
            .push(format!("wrote the driver block in {}", info.display()));
    }
    crate::sync::ensure_clone_tag(hub)?;
    Ok(out)
}

/// `text` with our block replaced by `block` (or appended).
fn replace_block(text: &str, block: &str) -> String {
    match (text.find(BEGIN), text.find(END)) {
        (Some(start), Some(end)) if end > start => {
            let after = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
            format!("{}{block}{}", &text[..start], &text[after..])
        }
        _ => {
            let sep = if text.is_empty() || text.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            format!("{text}{sep}{block}")
        }
    }
}

/// What setup would change in this clone (empty: all set). A hub outside any git
/// repository has nothing to check.
pub fn check(hub: &Hub) -> Result<Option<Setup>> {
    let Some(repo) = Repo::of(hub)? else {
        return Ok(None);
    };
    let mut out = Setup {
        repo: repo.top.clone(),
        hub: repo.hub_rel.clone(),
        changes: Vec::new(),
    };
    let attrs = storage::read_text(&hub.file(HUB_ATTRIBUTES)?)?.unwrap_or_default();
    if !attrs.lines().any(|l| l.trim() == "MESSAGES.md merge=union") {
        out.changes.push(format!(
            "{} does not name the union driver for the board",
            repo.in_hub(HUB_ATTRIBUTES)
        ));
    }
    for kind in Kind::ALL {
        let key = format!("merge.{}.driver", kind.driver());
        let have = repo.git(&["config", "--get", &key])?;
        let have = String::from_utf8_lossy(&have.stdout).trim().to_string();
        if !have.contains(&format!("merge-driver {} ", kind.name())) {
            out.changes
                .push(format!("{key} is not configured in this clone"));
        }
    }
    let info = repo.common_dir.join("info").join("attributes");
    let text = storage::read_text(&info)?.unwrap_or_default();
    if !text.contains(&info_block(&repo)) {
        out.changes
            .push(format!("{} lacks the hub's driver block", info.display()));
    }
    Ok(Some(out))
}

/// The message `doctor` and `init` print when a clone lacks its drivers.
pub fn advice(missing: &Setup) -> String {
    format!(
        "this clone merges hub files as plain text ({} missing): run `sessions git setup`",
        missing.changes.len()
    )
}

/// An error for callers that need the drivers.
pub fn require(hub: &Hub) -> Result<()> {
    match check(hub)? {
        Some(s) if !s.changes.is_empty() => Err(Error::Usage(advice(&s))),
        _ => Ok(()),
    }
}
