//! Committing the hub folder with git (`save-progress full`): only the hub's own files,
//! never its private state or the temp files of killed writers.

use crate::store::error::{Error, Result};
use crate::store::hub::{Hub, layout};

/// Commit the hub folder, and only it, when it is inside a git work tree. Returns the
/// new commit's ID, or `None` when there is no repository or nothing changed.
pub fn commit_hub(hub: &Hub, message: &str) -> Result<Option<String>> {
    let root = hub.root();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
    };
    match git(&["rev-parse", "--is-inside-work-tree"]) {
        Ok(o) if o.status.success() => {}
        _ => return Ok(None),
    }
    let fail = |what: &str, o: &std::process::Output| {
        Error::Failed(format!(
            "git {what} in {} failed: {}",
            root.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        ))
    };
    // The hub folder, less the private state and the temp files of killed writers,
    // also in a hub without the `.gitignore` of `sessions init` (one the old scripts made).
    // (git refuses an exclude that names a folder it already ignores, so ask first.)
    let ignored = git(&["check-ignore", "-q", layout::PRIVATE]).is_ok_and(|o| o.status.success());
    let private = format!(":(exclude){}", layout::PRIVATE);
    let mut hub_only = vec!["--", ".", ":(exclude,glob)**/.*.tmp"];
    if !ignored {
        hub_only.push(&private);
    }
    let add = git(&[&["add", "--all"][..], &hub_only].concat()).map_err(|e| Error::io(root, e))?;
    if !add.status.success() {
        return Err(fail("add", &add));
    }
    let staged = git(&[&["diff", "--cached", "--quiet"][..], &hub_only].concat())
        .map_err(|e| Error::io(root, e))?;
    if staged.status.success() {
        return Ok(None);
    }
    let commit = git(&[&["commit", "--quiet", "-m", message][..], &hub_only].concat())
        .map_err(|e| Error::io(root, e))?;
    if !commit.status.success() {
        return Err(fail("commit", &commit));
    }
    let head = git(&["rev-parse", "--short", "HEAD"]).map_err(|e| Error::io(root, e))?;
    Ok(Some(
        String::from_utf8_lossy(&head.stdout).trim().to_string(),
    ))
}
