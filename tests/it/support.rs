//! The tiny temp-hub builder every integration test uses: real binaries, real folders.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The fixture hub written by the original scripts (read-only: tests copy it).
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/fpai-hub")
}

/// Path of the `sessions` binary, or for a drop-in name (`update-milestone`), a link
/// of that name to it (the one binary dispatches on the name it is started as), made
/// once in a folder beside it, like `sessions install-dropins` does.
pub fn bin(name: &str) -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_sessions"));
    if name == "sessions" {
        return exe.to_path_buf();
    }
    let dir = exe.with_file_name("it-dropin-links");
    let link = dir.join(name);
    if !link.exists() {
        let _ = std::fs::create_dir_all(&dir);
        // Several tests may make it at once: whoever loses finds it made.
        let _ = std::os::unix::fs::symlink(exe, &link);
    }
    link
}

pub struct TestHub {
    _dir: tempfile::TempDir,
    /// The hub folder (`<tmp>/SESSIONS`).
    pub root: PathBuf,
}

impl TestHub {
    /// A fresh hub made by `sessions init`.
    pub fn new() -> TestHub {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("SESSIONS");
        let out = Command::new(bin("sessions"))
            .arg("init")
            .arg(&root)
            .env_remove("SESSIONS_HUB")
            .env_remove("SESSIONS_ID")
            .output()
            .expect("run sessions init");
        assert!(
            out.status.success(),
            "init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        TestHub { _dir: dir, root }
    }

    /// A copy of the original scripts' hub.
    pub fn fixture() -> TestHub {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("SESSIONS");
        copy_tree(&fixture_dir(), &root);
        TestHub { _dir: dir, root }
    }

    /// A `sessions` (or drop-in) command aimed at this hub, with no inherited identity.
    pub fn command(&self, binary: &str) -> Command {
        let mut cmd = Command::new(bin(binary));
        cmd.env("SESSIONS_HUB", &self.root)
            .env_remove("SESSIONS_ID")
            .env_remove("SESSIONS_NOW")
            .env("NO_COLOR", "1");
        cmd
    }

    /// A `sh -c <script>` with this hub's environment, for child processes that run
    /// several commands in a row.
    pub fn sh(&self, script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script])
            .env("SESSIONS_HUB", &self.root)
            .env_remove("SESSIONS_ID")
            .env_remove("SESSIONS_NOW")
            .env("NO_COLOR", "1");
        cmd
    }

    /// Run one of the package's binaries (a drop-in) on this hub.
    pub fn run_bin(&self, binary: &str, args: &[&str]) -> Output {
        self.command(binary)
            .args(args)
            .output()
            .expect("run the binary")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command("sessions")
            .args(args)
            .output()
            .expect("run sessions")
    }

    /// Run and require success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "sessions {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Run with `--json`, require success, parse stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let text = self.ok(&all);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("bad JSON from {args:?}: {e}\n{text}"))
    }

    /// Run with `--json`, require exit code `code`, parse stdout.
    pub fn json_status(&self, args: &[&str], code: i32) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert_eq!(
            out.status.code(),
            Some(code),
            "sessions {args:?}: {}",
            stderr(&out)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("bad JSON from {args:?}: {e}"))
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    pub fn read_json(&self, rel: &str) -> Value {
        serde_json::from_str(&self.read(rel)).unwrap_or_else(|e| panic!("parse {rel}: {e}"))
    }

    /// The data files of a hub folder (temp and hidden files left out), by name.
    pub fn data_files(&self, rel: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path(rel))
            .unwrap_or_else(|e| panic!("list {rel}: {e}"))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        names
    }

    pub fn write(&self, rel: &str, contents: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Start every command at once (stdout discarded), then require that each succeeded:
/// the shape of every "N processes at the same time" test.
pub fn run_all_at_once(commands: impl IntoIterator<Item = Command>) {
    let children: Vec<_> = commands
        .into_iter()
        .map(|mut cmd| {
            cmd.stdout(std::process::Stdio::null())
                .spawn()
                .expect("spawn a child process")
        })
        .collect();
    for mut child in children {
        let status = child.wait().expect("wait for a child process");
        assert!(status.success(), "a concurrent process failed: {status}");
    }
}
