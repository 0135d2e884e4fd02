//! The one commit path for the hub (`git sync`, `save-progress full`, `watch --git-sync`):
//! only the hub's own files, never its private state, the temp files of killed writers,
//! or anything the user staged elsewhere.

use std::path::{Path, PathBuf};
use std::process::Output;

use sessions_core::store::error::{Error, Result};
use sessions_core::store::hub::{Hub, layout};

/// The git repository a hub lives in.
#[derive(Debug, Clone)]
pub struct Repo {
    /// The work tree's top folder.
    pub top: PathBuf,
    /// The hub's path relative to `top`, with `/` separators ("" when the hub is the top).
    pub hub_rel: String,
    /// The shared git folder (`.git`, or the main one of a linked worktree).
    pub common_dir: PathBuf,
}

impl Repo {
    /// The repository holding `hub`, or `None` when it is in none.
    pub fn of(hub: &Hub) -> Result<Option<Repo>> {
        let root = hub.root();
        let out = match run_in(root, &["rev-parse", "--show-toplevel", "--git-common-dir"]) {
            Ok(o) if o.status.success() => o,
            _ => return Ok(None),
        };
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let mut lines = text.lines();
        let top = PathBuf::from(lines.next().unwrap_or_default());
        let common = PathBuf::from(lines.next().unwrap_or_default());
        let common_dir = if common.is_absolute() {
            common
        } else {
            root.join(common)
        };
        let canonical_hub = std::fs::canonicalize(root).map_err(|e| Error::io(root, e))?;
        let canonical_top = std::fs::canonicalize(&top).map_err(|e| Error::io(&top, e))?;
        let hub_rel = canonical_hub
            .strip_prefix(&canonical_top)
            .map_err(|_| {
                Error::Failed(format!(
                    "{} is not inside {}",
                    root.display(),
                    top.display()
                ))
            })?
            .to_string_lossy()
            .replace('\\', "/");
        Ok(Some(Repo {
            top: canonical_top,
            hub_rel,
            common_dir,
        }))
    }

    /// Like [`Repo::of`], but a hub outside any repository is an error that says what to do.
    pub fn require(hub: &Hub) -> Result<Repo> {
        Repo::of(hub)?.ok_or_else(|| {
            Error::Usage(format!(
                "{} is not inside a git repository: run `git init` (and add a remote) in the project first",
                hub.root().display()
            ))
        })
    }

    /// A path inside the hub, relative to the top (`SESSIONS/MESSAGES.md`).
    pub fn in_hub(&self, rel: &str) -> String {
        if self.hub_rel.is_empty() {
            rel.to_string()
        } else if rel.is_empty() {
            self.hub_rel.clone()
        } else {
            format!("{}/{rel}", self.hub_rel)
        }
    }

    /// A path relative to the top, relative to the hub (`None` when outside it).
    pub fn hub_path_of<'a>(&self, top_rel: &'a str) -> Option<&'a str> {
        if self.hub_rel.is_empty() {
            return Some(top_rel);
        }
        top_rel.strip_prefix(&self.hub_rel)?.strip_prefix('/')
    }

    /// The pathspecs of the hub's shared files: the hub less `.sessions/` and temp files.
    pub fn hub_pathspecs(&self) -> Vec<String> {
        let hub = if self.hub_rel.is_empty() {
            ".".to_string()
        } else {
            self.hub_rel.clone()
        };
        let private = self.in_hub(layout::PRIVATE);
        let mut specs = vec![
            format!(":(top){hub}"),
            format!(":(top,exclude,glob){hub}/**/.*.tmp"),
        ];
        // Also in a hub without the `.gitignore` of `sessions init` (one the old scripts
        // made). git refuses an exclude that names a folder it already ignores: ask first.
        let ignored = self
            .git(&["check-ignore", "-q", &private])
            .is_ok_and(|o| o.status.success());
        if !ignored {
            specs.push(format!(":(top,exclude){private}"));
        }
        specs
    }

    /// Run git in the top folder.
    pub fn git(&self, args: &[&str]) -> Result<Output> {
        run_in(&self.top, args).map_err(|e| Error::io(&self.top, e))
    }

    /// Run git with extra environment (a temporary index).
    pub fn git_env(&self, args: &[&str], env: &[(&str, &Path)]) -> Result<Output> {
        let mut cmd = std::process::Command::new("git");
        cmd.arg("-C").arg(&self.top).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().map_err(|e| Error::io(&self.top, e))
    }

    /// Run git and return its trimmed output, or an error naming the command.
    pub fn git_ok(&self, args: &[&str]) -> Result<String> {
        let out = self.git(args)?;
        if !out.status.success() {
            return Err(failed(&self.top, args, &out));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

fn run_in(dir: &Path, args: &[&str]) -> std::io::Result<Output> {
    std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
}

pub(crate) fn failed(dir: &Path, args: &[&str], out: &Output) -> Error {
    Error::Failed(format!(
        "git {} in {} failed: {}",
        args.first().copied().unwrap_or_default(),
        dir.display(),
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

/// Commit the hub folder, and only it, when it is inside a git work tree. Returns the
/// new commit's ID, or `None` when there is no repository or nothing changed. What the
/// user staged outside the hub stays staged and uncommitted (`git commit -- <paths>`
/// commits only those paths).
pub fn commit_hub(hub: &Hub, message: &str) -> Result<Option<String>> {
    let Some(repo) = Repo::of(hub)? else {
        return Ok(None);
    };
    let specs = repo.hub_pathspecs();
    let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
    let add = repo.git(&[&["add", "--all", "--"][..], &specs].concat())?;
    if !add.status.success() {
        return Err(failed(&repo.top, &["add"], &add));
    }
    let staged = repo.git(&[&["diff", "--cached", "--quiet", "--"][..], &specs].concat())?;
    if staged.status.success() {
        return Ok(None);
    }
    let commit = repo.git(
        &[
            &["commit", "--quiet", "--no-verify", "-m", message, "--"][..],
            &specs,
        ]
        .concat(),
    )?;
    if !commit.status.success() {
        return Err(failed(&repo.top, &["commit"], &commit));
    }
    Ok(Some(repo.git_ok(&["rev-parse", "--short", "HEAD"])?))
}
