//! `sessions git sync`: commit the hub's changes only, fetch, merge with the drivers,
//! push, retry when the push is rejected.
//!
//! The merge never runs in the work tree: the hub's changes are committed through a
//! temporary index (what the user staged stays staged and uncommitted), the merge is
//! computed by `git merge-tree` (which runs the drivers), and only a clean result moves
//! the branch and updates the files that changed. So the repository is never left
//! mid-merge: a conflict the drivers could not resolve stops the sync with everything as
//! it was, naming the files.
//!
//! Heartbeats change every few minutes; committing each would drown the history. A
//! heartbeat whose only change is its time and count is committed when the committed
//! copy is older than `heartbeat_every` (default: half the hub's liveness window, so
//! other machines still see the session live when clones sync at least that often);
//! any other change to it is committed at once.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use sessions_core::board::messages::{self, Post};
use sessions_core::store::error::{Error, Result};
use sessions_core::store::hub::{Hub, layout};
use sessions_core::store::time;
use sessions_core::work::claims;

use crate::commit::{Repo, failed};

/// Options of one sync.
#[derive(Debug, Clone)]
pub struct Options {
    /// Show what would be committed and do nothing.
    pub dry_run: bool,
    /// Commit a time-only heartbeat change once the committed copy is this old.
    pub heartbeat_every: Duration,
    /// How many times to fetch and merge again when the push is rejected.
    pub attempts: u32,
    pub message: String,
}

impl Options {
    pub fn for_hub(hub: &Hub) -> Options {
        Options {
            dry_run: false,
            heartbeat_every: hub.config.liveness.live / 2,
            attempts: 20,
            message: "sessions: hub changes".into(),
        }
    }
}

/// A claim this clone granted that the merge gave to another session.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LostClaim {
    pub key: String,
    /// The session of this clone that held it.
    pub holder: String,
    pub token: Option<u64>,
    /// Who holds it now.
    pub winner: String,
    pub winner_token: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Report {
    pub repo: PathBuf,
    pub branch: String,
    pub remote: Option<String>,
    /// Hub files committed (or, in a dry run, that would be), relative to the repository.
    pub committed: Vec<String>,
    /// Heartbeats whose time-only change was not committed yet (the policy above).
    pub held_back: Vec<String>,
    /// New commits made: the hub commit(s) and merge commit(s).
    pub commits: Vec<String>,
    pub merged: bool,
    pub pushed: bool,
    /// Push attempts (more than one: another clone pushed first).
    pub attempts: u32,
    pub lost_claims: Vec<LostClaim>,
    pub head: String,
    pub dry_run: bool,
}

/// A random tag for this clone's fencing tokens.
fn random_tag() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// Tag this clone's fencing tokens (see [`claims::CLONE_TAG_BITS`]).
pub fn ensure_clone_tag(hub: &Hub) -> Result<u64> {
    claims::ensure_clone_tag(hub, random_tag)
}

struct Branch {
    name: String,
    remote: Option<String>,
    /// `refs/heads/<name>` on the remote.
    merge: String,
}

fn branch_of(repo: &Repo) -> Result<Branch> {
    let name = repo.git(&["symbolic-ref", "--short", "-q", "HEAD"])?;
    if !name.status.success() {
        return Err(Error::Usage(
            "HEAD is detached: check out a branch before `sessions git sync`".into(),
        ));
    }
    let name = String::from_utf8_lossy(&name.stdout).trim().to_string();
    let config = |key: String| {
        repo.git(&["config", "--get", &key])
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let remote = config(format!("branch.{name}.remote")).or_else(|| {
        let remotes = repo.git_ok(&["remote"]).unwrap_or_default();
        remotes
            .lines()
            .any(|r| r == "origin")
            .then(|| "origin".to_string())
    });
    let merge =
        config(format!("branch.{name}.merge")).unwrap_or_else(|| format!("refs/heads/{name}"));
    Ok(Branch {
        name,
        remote,
        merge,
    })
}

fn rev(repo: &Repo, spec: &str) -> Result<Option<String>> {
    let out = repo.git(&["rev-parse", "-q", "--verify", spec])?;
    Ok(out
        .status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()))
}

fn is_ancestor(repo: &Repo, a: &str, b: &str) -> Result<bool> {
    Ok(repo
        .git(&["merge-base", "--is-ancestor", a, b])?
        .status
        .success())
}

/// A blob's text at `commit:path` (`None` when absent).
fn show(repo: &Repo, commit: &str, path: &str) -> Result<Option<String>> {
    let out = repo.git(&["cat-file", "blob", &format!("{commit}:{path}")])?;
    Ok(out
        .status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned()))
}

/// Heartbeats whose only change since HEAD is their time and count, and whose
/// committed copy is younger than `every`: held back (relative to the top).
fn held_back_heartbeats(repo: &Repo, head: Option<&str>, every: Duration) -> Result<Vec<String>> {
    let Some(head) = head else {
        return Ok(Vec::new());
    };
    let dir = repo.in_hub(layout::HEARTBEATS);
    let changed = repo.git_ok(&["diff", "--name-only", head, "--", &format!(":(top){dir}")])?;
    let mut out = Vec::new();
    for path in changed.lines().filter(|p| p.ends_with(".json")) {
        let Some(committed) = show(repo, head, path)? else {
            continue;
        };
        let Ok(now) = std::fs::read_to_string(repo.top.join(path)) else {
            continue;
        };
        let parse = |t: &str| serde_json::from_str::<serde_json::Map<String, Value>>(t).ok();
        let (Some(mut old), Some(mut new)) = (parse(&committed), parse(&now)) else {
            continue;
        };
        let beat = |m: &serde_json::Map<String, Value>| {
            ["last_heartbeat", "timestamp"]
                .iter()
                .find_map(|k| m.get(*k).and_then(Value::as_str).and_then(time::parse_str))
        };
        let (Some(t_old), Some(t_new)) = (beat(&old), beat(&new)) else {
            continue;
        };
        for m in [&mut old, &mut new] {
            for k in ["last_heartbeat", "timestamp", "heartbeat_count"] {
                m.remove(k);
            }
        }
        let young = (t_new - t_old).to_std().unwrap_or_default() < every;
        if old == new && young {
            out.push(path.to_string());
        }
    }
    Ok(out)
}

/// The hub's work-tree state as a commit on top of HEAD, built in a temporary index so
/// the real index (what the user staged) is not touched. `None`: nothing to commit.
fn hub_commit(
    repo: &Repo,
    head: Option<&str>,
    held_back: &[String],
    message: &str,
) -> Result<(Option<String>, Vec<String>)> {
    let index = repo
        .common_dir
        .join(format!("sessions-sync-{}.index", std::process::id()));
    let _cleanup = RemoveOnDrop(index.clone());
    let env = [("GIT_INDEX_FILE", index.as_path())];
    let run = |args: &[&str]| -> Result<String> {
        let out = repo.git_env(args, &env)?;
        if !out.status.success() {
            return Err(failed(&repo.top, args, &out));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    match head {
        Some(h) => run(&["read-tree", h])?,
        None => run(&["read-tree", "--empty"])?,
    };
    let mut specs = repo.hub_pathspecs();
    specs.extend(
        held_back
            .iter()
            .map(|p| format!(":(top,exclude,literal){p}")),
    );
    let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
    run(&[&["add", "--all", "--"][..], &specs].concat())?;
    let tree = run(&["write-tree"])?;
    let head_tree = match head {
        Some(h) => rev(repo, &format!("{h}^{{tree}}"))?,
        None => None,
    };
    if head_tree.as_deref() == Some(tree.as_str()) {
        return Ok((None, Vec::new()));
    }
    let files = match head {
        Some(h) => run(&["diff-tree", "-r", "--name-only", "--no-commit-id", h, &tree])?,
        None => run(&["ls-tree", "-r", "--name-only", &tree])?,
    };
    let mut args = vec!["commit-tree", tree.as_str(), "-m", message];
    if let Some(h) = head {
        args.extend(["-p", h]);
    }
    let commit = repo.git_ok(&args)?;
    Ok((Some(commit), files.lines().map(str::to_string).collect()))
}

struct RemoveOnDrop(PathBuf);
impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Merge `theirs` into `ours` without touching the work tree: the merged commit, or an
/// error naming the files the drivers could not resolve.
fn merge_commits(repo: &Repo, ours: &str, theirs: &str, label: &str) -> Result<String> {
    let out = repo.git(&["merge-tree", "--write-tree", "--name-only", ours, theirs])?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    match out.status.code() {
        Some(0) => {
            let tree = text.lines().next().unwrap_or_default();
            repo.git_ok(&[
                "commit-tree",
                tree,
                "-p",
                ours,
                "-p",
                theirs,
                "-m",
                &format!("sessions: merge {label}"),
            ])
        }
        Some(1) => {
            let files: Vec<&str> = text.lines().skip(1).take_while(|l| !l.is_empty()).collect();
            let messages: Vec<&str> = text
                .lines()
                .skip(1)
                .skip_while(|l| !l.is_empty())
                .filter(|l| l.starts_with("CONFLICT"))
                .collect();
            // Deleted on one side (a released claim, a pruned heartbeat), changed on the
            // other: git runs no driver for that. For hub files the changed version is
            // kept (it is what merge-tree left in the tree): nothing is lost, and a kept
            // lease still expires.
            let only_hub_modify_delete = !messages.is_empty()
                && messages
                    .iter()
                    .all(|m| m.starts_with("CONFLICT (modify/delete)"))
                && files.iter().all(|f| repo.hub_path_of(f).is_some());
            if only_hub_modify_delete {
                let tree = text.lines().next().unwrap_or_default();
                return repo.git_ok(&["commit-tree", tree, "-p", ours, "-p", theirs, "-m", &format!("sessions: merge {label} (kept hub files changed on one side, deleted on the other: {})", files.join(", "))]);
            }
            Err(Error::Failed(format!(
                "the merge with {label} has conflicts the drivers could not resolve in: {}\n  {}\n  nothing was changed: the repository is as it was before the sync; resolve these files by hand (or run `sessions git setup` if drivers are missing) and sync again",
                files.join(", "),
                messages.join("\n  ")
            )))
        }
        _ => Err(failed(&repo.top, &["merge-tree"], &out)),
    }
}

/// Move HEAD from `old` to `new` and update the index and work tree for the paths that
/// changed, refusing (before changing anything) when that would overwrite the user's
/// uncommitted change to a file outside the hub. `hub_commit` is the commit the hub's
/// files were taken from: a hub file that changed since (a session wrote meanwhile)
/// returns `Ok(false)` so the caller starts over.
fn advance(
    repo: &Repo,
    old: &str,
    new: &str,
    hub_commit: &str,
    held_back: &[String],
) -> Result<bool> {
    let changed = repo.git_ok(&["diff", "--name-only", "--no-renames", old, new])?;
    let changed: Vec<&str> = changed.lines().filter(|l| !l.is_empty()).collect();
    for path in &changed {
        if held_back.iter().any(|h| h == path) {
            continue;
        }
        if repo.hub_path_of(path).is_some() {
            // The work tree must still be what the hub commit took.
            let in_commit = rev(repo, &format!("{hub_commit}:{path}"))?;
            let full = repo.top.join(path);
            let on_disk = if full.exists() {
                Some(repo.git_ok(&["hash-object", "--", path])?)
            } else {
                None
            };
            if in_commit != on_disk {
                return Ok(false);
            }
        } else {
            let untracked =
                rev(repo, &format!("{old}:{path}"))?.is_none() && repo.top.join(path).exists();
            let dirty = untracked
                || !repo
                    .git(&["diff", "--quiet", old, "--", path])?
                    .status
                    .success()
                || !repo
                    .git(&["diff", "--cached", "--quiet", old, "--", path])?
                    .status
                    .success();
            if dirty {
                return Err(Error::Refused(format!(
                    "the merge changes {path}, which has uncommitted changes here: commit or stash them and sync again (nothing was changed)"
                )));
            }
        }
    }
    repo.git_ok(&["update-ref", "-m", "sessions git sync", "HEAD", new, old])?;
    let (staged_only, full): (Vec<&str>, Vec<&str>) = changed
        .iter()
        .partition(|p| held_back.iter().any(|h| h == *p));
    for (paths, flags) in [
        (full, &["--staged", "--worktree"][..]),
        (staged_only, &["--staged"][..]),
    ] {
        for chunk in paths.chunks(200) {
            if chunk.is_empty() {
                continue;
            }
            let mut args = vec!["restore", "--source", new];
            args.extend_from_slice(flags);
            args.push("--");
            let literal: Vec<String> = chunk.iter().map(|p| format!(":(top,literal){p}")).collect();
            args.extend(literal.iter().map(String::as_str));
            repo.git_ok(&args)?;
        }
    }
    Ok(true)
}

/// Claims granted on this clone (their token carries its tag) that `new` gives to
/// another session.
fn lost_claims(repo: &Repo, before: &str, after: &str, tag: u64) -> Result<Vec<LostClaim>> {
    let dir = repo.in_hub(layout::PRIORITIES);
    let changed = repo.git_ok(&[
        "diff",
        "--name-only",
        before,
        after,
        "--",
        &format!(":(top){dir}"),
    ])?;
    let mut out = Vec::new();
    let mask = (1u64 << claims::CLONE_TAG_BITS) - 1;
    for path in changed.lines().filter(|p| p.ends_with(".lock")) {
        let read = |commit: &str| -> Result<Option<serde_json::Map<String, Value>>> {
            Ok(show(repo, commit, path)?.and_then(|t| serde_json::from_str(&t).ok()))
        };
        let (Some(mine), Some(now)) = (read(before)?, read(after)?) else {
            continue;
        };
        let holder = |m: &serde_json::Map<String, Value>| {
            m.get("session_id")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string()
        };
        let token = |m: &serde_json::Map<String, Value>| m.get("token").and_then(Value::as_u64);
        let ours = token(&mine).is_some_and(|t| t & mask == tag);
        if ours && (holder(&mine) != holder(&now) || token(&mine) != token(&now)) {
            let key = path
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .trim_end_matches(".lock")
                .to_string();
            out.push(LostClaim {
                key,
                holder: holder(&mine),
                token: token(&mine),
                winner: holder(&now),
                winner_token: token(&now),
            });
        }
    }
    Ok(out)
}

/// Sync the hub with its remote (see the module documentation).
pub fn sync(hub: &Hub, opts: &Options) -> Result<Report> {
    let repo = Repo::require(hub)?;
    if rev(&repo, "MERGE_HEAD")?.is_some() {
        return Err(Error::Refused(format!(
            "{} is in the middle of a merge: finish it (`git commit`) or abort it (`git merge --abort`) first",
            repo.top.display()
        )));
    }
    let branch = branch_of(&repo)?;
    let tag = if opts.dry_run {
        0
    } else {
        ensure_clone_tag(hub)?
    };
    let mut report = Report {
        repo: repo.top.clone(),
        branch: branch.name.clone(),
        remote: branch.remote.clone(),
        dry_run: opts.dry_run,
        ..Report::default()
    };
    let upstream = branch.remote.as_ref().map(|r| {
        let short = branch.merge.trim_start_matches("refs/heads/");
        (
            r.clone(),
            short.to_string(),
            format!("refs/remotes/{r}/{short}"),
        )
    });
    let mut committed: HashSet<String> = HashSet::new();
    let mut announced: HashSet<(String, String)> = HashSet::new();
    let mut stale_tree_retries = 0;
    loop {
        let head = rev(&repo, "HEAD")?;
        let held = held_back_heartbeats(&repo, head.as_deref(), opts.heartbeat_every)?;
        let (local, files) = hub_commit(&repo, head.as_deref(), &held, &opts.message)?;
        report.held_back = held.clone();
        if opts.dry_run {
            report.committed = files;
            report.head = head.unwrap_or_default();
            return Ok(report);
        }
        for f in files {
            if committed.insert(f.clone()) {
                report.committed.push(f);
            }
        }
        let ours = local.clone().or(head.clone());
        let mut target = ours.clone();
        if let Some((remote, short, tracking)) = &upstream {
            let fetch = repo.git(&[
                "fetch",
                "--quiet",
                remote,
                &format!("+refs/heads/{short}:{tracking}"),
            ])?;
            if !fetch.status.success() {
                let err = String::from_utf8_lossy(&fetch.stderr);
                // A remote without the branch yet is fine: the push creates it.
                if !err.contains("couldn't find remote ref") {
                    return Err(failed(&repo.top, &["fetch"], &fetch));
                }
            }
            if let (Some(theirs), Some(mine)) = (rev(&repo, tracking)?, ours.clone()) {
                if is_ancestor(&repo, &theirs, &mine)? {
                } else if is_ancestor(&repo, &mine, &theirs)? {
                    target = Some(theirs);
                } else {
                    let merged =
                        merge_commits(&repo, &mine, &theirs, &format!("{remote}/{short}"))?;
                    report.merged = true;
                    report.commits.push(merged.clone());
                    target = Some(merged);
                }
            } else if ours.is_none() {
                target = rev(&repo, tracking)?;
            }
        }
        // Move the branch (and the files that changed) to the result.
        let mut lost = Vec::new();
        if let (Some(target), true) = (&target, target != head) {
            match &head {
                Some(old) => {
                    let from = ours.as_deref().unwrap_or(old);
                    if !advance(&repo, old, target, from, &held)? {
                        stale_tree_retries += 1;
                        if stale_tree_retries > 50 {
                            return Err(Error::Failed(
                                "hub files kept changing during the sync; try again".into(),
                            ));
                        }
                        continue; // a session wrote meanwhile: take its change too
                    }
                    lost = lost_claims(&repo, from, target, tag)?;
                }
                None => {
                    repo.git_ok(&["update-ref", "HEAD", target])?;
                    repo.git_ok(&["read-tree", "-m", "-u", target])?;
                }
            }
            if let Some(l) = &local
                && !report.commits.contains(l)
            {
                report.commits.insert(0, l.clone());
            }
        }
        let mut posted = false;
        for loss in lost {
            if announced.insert((loss.key.clone(), loss.holder.clone())) {
                messages::post(
                    hub,
                    &Post {
                        from: loss.holder.clone(),
                        to: vec![loss.holder.clone()],
                        subject: Some(format!("⚠️ lost claim {} to {}", loss.key, loss.winner)),
                        priority: Some("high".into()),
                        body: format!(
                            "lost claim {} to {}: both took it on different clones before they synced; the merge kept {}'s (token {}). {}'s writes under token {} are refused from now on.",
                            loss.key,
                            loss.winner,
                            loss.winner,
                            loss.winner_token.map_or("none".into(), |t| t.to_string()),
                            loss.holder,
                            loss.token.map_or("none".into(), |t| t.to_string()),
                        ),
                        ..Post::default()
                    },
                )?;
                report.lost_claims.push(loss);
                posted = true;
            }
        }
        if report.merged || posted {
            claims::raise_token_floor(hub, claims::highest_token(hub))?;
        }
        if posted {
            continue; // commit the notices too
        }
        let Some((remote, _, tracking)) = &upstream else {
            break;
        };
        let Some(target) = target else { break };
        if rev(&repo, tracking)?.as_deref() == Some(target.as_str()) {
            break;
        }
        report.attempts += 1;
        let push = repo.git(&[
            "push",
            "--quiet",
            "--no-verify",
            remote,
            &format!("HEAD:{}", branch.merge),
        ])?;
        if push.status.success() {
            report.pushed = true;
            let _ = repo.git(&["update-ref", tracking, &target]);
            break;
        }
        let err = String::from_utf8_lossy(&push.stderr);
        let rejected = [
            "rejected",
            "fetch first",
            "non-fast-forward",
            "failed to update ref",
            "cannot lock ref",
        ]
        .iter()
        .any(|s| err.contains(s));
        if !rejected || report.attempts >= opts.attempts {
            return Err(failed(&repo.top, &["push"], &push));
        }
        // Another clone pushed first: fetch, merge and push again, after a short pause
        // that grows, so clones pushing at once do not keep colliding.
        std::thread::sleep(Duration::from_millis(
            20 * u64::from(report.attempts) + random_tag() % 50,
        ));
    }
    report.head = rev(&repo, "HEAD")?.unwrap_or_default();
    Ok(report)
}
