//! The tiny temp-hub builder every integration test uses: real binaries, real folders.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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
            .env_remove("SESSIONS_TEST_PAUSE")
            .env("NO_COLOR", "1");
        cmd
    }

    /// `sessions <args>` as a fluent check:
    /// `hub.cli(["claim", "x"]).as_("s1").fails(1).stderr_has("held by")`.
    pub fn cli<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.cli_bin("sessions", args)
    }

    /// Like [`TestHub::cli`] for another binary of the package (a drop-in).
    pub fn cli_bin<I, S>(&self, binary: &str, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Run {
            cmd: self.command(binary),
            binary: binary.to_string(),
            prefix: Vec::new(),
            args: args.into_iter().map(Into::into).collect(),
            stdin: None,
        }
    }

    /// Every file of the hub with its bytes, for "nothing changed" checks; see [`tree`].
    pub fn tree(&self) -> Tree {
        tree(&self.root)
    }

    /// A `sh -c <script>` with this hub's environment, for child processes that run
    /// several commands in a row.
    pub fn sh(&self, script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script])
            .env("SESSIONS_HUB", &self.root)
            .env_remove("SESSIONS_ID")
            .env_remove("SESSIONS_NOW")
            .env_remove("SESSIONS_TEST_PAUSE")
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

/// Start every command at once (stdout discarded) behind a [`StartLine`], then
/// require that each succeeded: the shape of every "N processes at the same time"
/// test. Returns when each ran, to show the runs overlapped.
pub fn run_all_at_once(commands: impl IntoIterator<Item = Command>) -> Vec<Span> {
    let mut line = StartLine::new();
    let children: Vec<_> = commands
        .into_iter()
        .map(|cmd| {
            line.gate(&cmd)
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("spawn a child process")
        })
        .collect();
    line.go(children.len());
    for mut child in children {
        let status = child.wait().expect("wait for a child process");
        assert!(status.success(), "a concurrent process failed: {status}");
    }
    line.spans()
}

/// One command about to run, built fluently and ended by what it must do:
/// `.succeeds()`, `.fails(code)`, `.exits(code)`. What it printed is then checked on
/// the returned [`Ran`].
pub struct Run {
    cmd: Command,
    binary: String,
    prefix: Vec<OsString>,
    args: Vec<OsString>,
    stdin: Option<Vec<u8>>,
}

impl Run {
    /// Act as session `id` (`--as id`).
    pub fn as_(mut self, id: &str) -> Run {
        self.prefix.extend(["--as".into(), id.into()]);
        self
    }

    /// Ask for JSON output (`--json`).
    pub fn json_out(mut self) -> Run {
        self.prefix.push("--json".into());
        self
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Run {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Run {
        self.cmd.env(key, value);
        self
    }

    /// Run with the test clock (`SESSIONS_NOW`) at `secs` seconds from now.
    pub fn at(self, secs: i64) -> Run {
        self.env("SESSIONS_NOW", in_future(secs))
    }

    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Run {
        self.stdin = Some(input.into());
        self
    }

    /// The command line, for failure messages.
    fn shown(&self) -> String {
        let words: Vec<String> = self
            .prefix
            .iter()
            .chain(&self.args)
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        format!("{} {}", self.binary, words.join(" "))
    }

    /// The finished command, whatever its exit.
    pub fn output(mut self) -> Ran {
        let shown = self.shown();
        self.cmd.args(&self.prefix).args(&self.args);
        let out = match self.stdin.take() {
            None => self.cmd.stdin(Stdio::null()).output(),
            Some(input) => {
                use std::io::Write;
                let mut child = self
                    .cmd
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap_or_else(|e| panic!("{shown}: {e}"));
                child.stdin.take().unwrap().write_all(&input).unwrap();
                child.wait_with_output()
            }
        }
        .unwrap_or_else(|e| panic!("{shown}: {e}"));
        Ran { shown, out }
    }

    /// Require exit code 0.
    pub fn succeeds(self) -> Ran {
        self.exits(0)
    }

    /// Require the non-zero exit `code`.
    pub fn fails(self, code: i32) -> Ran {
        assert_ne!(code, 0, "use .succeeds() for exit 0");
        self.exits(code)
    }

    /// Require exit `code`.
    pub fn exits(self, code: i32) -> Ran {
        let ran = self.output();
        assert_eq!(
            ran.out.status.code(),
            Some(code),
            "`{}` exited {:?}, expected {code}\nstdout: {}\nstderr: {}",
            ran.shown,
            ran.out.status,
            ran.stdout(),
            ran.stderr()
        );
        ran
    }
}

/// A finished command whose output is checked fluently.
pub struct Ran {
    shown: String,
    pub out: Output,
}

impl Ran {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    pub fn code(&self) -> Option<i32> {
        self.out.status.code()
    }

    pub fn stdout_has(self, needle: &str) -> Ran {
        assert!(
            self.stdout().contains(needle),
            "`{}`: stdout lacks {needle:?}:\n{}",
            self.shown,
            self.stdout()
        );
        self
    }

    pub fn stdout_lacks(self, needle: &str) -> Ran {
        assert!(
            !self.stdout().contains(needle),
            "`{}`: stdout has {needle:?}:\n{}",
            self.shown,
            self.stdout()
        );
        self
    }

    pub fn stderr_has(self, needle: &str) -> Ran {
        assert!(
            self.stderr().contains(needle),
            "`{}`: stderr lacks {needle:?}:\n{}",
            self.shown,
            self.stderr()
        );
        self
    }

    pub fn stderr_lacks(self, needle: &str) -> Ran {
        assert!(
            !self.stderr().contains(needle),
            "`{}`: stderr has {needle:?}:\n{}",
            self.shown,
            self.stderr()
        );
        self
    }

    /// stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.out.stdout)
            .unwrap_or_else(|e| panic!("`{}`: bad JSON: {e}\n{}", self.shown, self.stdout()))
    }
}

/// An RFC 3339 time `secs` seconds from now, for `SESSIONS_NOW` (test builds only).
pub fn in_future(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Every file under a folder with its bytes.
pub type Tree = BTreeMap<String, Vec<u8>>;

/// Every file under `dir` with its bytes, for "nothing changed" checks. The private
/// state in `.sessions/` (fencing counter, read cursors, ...) is included; only the
/// lock files, which any command creates on demand and which hold no data, are not.
pub fn tree(dir: &Path) -> Tree {
    fn walk(base: &Path, dir: &Path, out: &mut Tree) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(base).unwrap().display().to_string();
            if rel == ".sessions/locks" || rel == ".sessions/.gitignore" {
                continue; // created on demand by every lock; not data
            }
            if rel == ".sessions/seen" {
                continue; // this machine's sightings of heartbeats and locks: a cache
            }
            if entry.file_type().unwrap().is_dir() {
                walk(base, &path, out);
            } else {
                out.insert(rel, std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Assert two trees are equal, naming the files that differ (not dumping bytes).
pub fn assert_same_tree(before: &Tree, after: &Tree) {
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), "files changed: {changed:?}");
}

/// The suite's one random generator (xorshift64): always seeded, so a failure
/// reproduces. `SESSIONS_TEST_SEED` replaces every test's seed to explore others.
pub struct Rng(u64);

impl Rng {
    pub fn seeded(seed: u64) -> Rng {
        let seed = std::env::var("SESSIONS_TEST_SEED")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .map_or(seed, |s| s ^ seed);
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Spawn a command with stdout and stderr piped.
pub fn spawn_piped(mut cmd: Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn a child process")
}

/// Wait until `ready()` holds, up to `limit`; panics naming `what` otherwise. The way
/// to wait for an observable event instead of sleeping.
pub fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A start line for racing processes: each one, wrapped by [`StartLine::gate`], marks
/// itself ready and blocks reading a FIFO; [`StartLine::go`] waits until all are ready
/// and releases them with one write. Each records when it started and ended its
/// command, so a test can show the attempts really overlapped.
pub struct StartLine {
    dir: tempfile::TempDir,
    gate: std::fs::File,
}

/// When one gated command ran (seconds since the epoch, microsecond precision).
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub start: f64,
    pub end: f64,
}

impl StartLine {
    pub fn new() -> StartLine {
        let dir = tempfile::tempdir().expect("temp dir");
        let fifo = dir.path().join("gate");
        let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
        assert!(made.success(), "mkfifo failed");
        // Read and write: opening never blocks, and what we write stays in the pipe
        // until every racer has read its byte, however late it gets to its `read`.
        let gate = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo)
            .expect("open the gate FIFO");
        StartLine { dir, gate }
    }

    /// `cmd` wrapped so it waits at this start line (environment kept).
    pub fn gate(&self, cmd: &Command) -> Command {
        const SCRIPT: &str = r#"d=$1; shift
: > "$d/ready.$$"
read -r _ < "$d/gate"
s=$EPOCHREALTIME
"$@"
rc=$?
echo "$s $EPOCHREALTIME" > "$d/span.$$"
exit $rc"#;
        let mut wrapped = Command::new("bash");
        wrapped
            .args(["-c", SCRIPT, "racer"])
            .arg(self.dir.path())
            .arg(cmd.get_program())
            .args(cmd.get_args());
        run_like(cmd, &mut wrapped);
        wrapped
    }

    fn count(&self, prefix: &str) -> usize {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
            .count()
    }

    /// Wait until `n` racers are at the line, then let them all go at once.
    pub fn go(&mut self, n: usize) {
        use std::io::Write;
        wait_for(
            &format!("{n} racers at the start line"),
            Duration::from_secs(60),
            || self.count("ready.") >= n,
        );
        self.gate.write_all(&vec![b'\n'; n]).unwrap();
    }

    /// The spans of every racer that finished, then forget them (for the next round).
    pub fn spans(&self) -> Vec<Span> {
        let mut spans = Vec::new();
        for entry in std::fs::read_dir(self.dir.path()).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("span.") {
                let text = std::fs::read_to_string(entry.path()).unwrap();
                let (a, b) = text.trim().split_once(' ').unwrap();
                // EPOCHREALTIME uses the locale's decimal point; accept both.
                let num = |s: &str| s.replace(',', ".").parse::<f64>().unwrap();
                spans.push(Span {
                    start: num(a),
                    end: num(b),
                });
                std::fs::remove_file(entry.path()).unwrap();
            } else if name.starts_with("ready.") {
                std::fs::remove_file(entry.path()).unwrap();
            }
        }
        spans
    }
}

/// How many of `spans` started before the first of them ended: with a real race, all.
pub fn started_before_first_end(spans: &[Span]) -> usize {
    let first_end = spans.iter().map(|s| s.end).fold(f64::INFINITY, f64::min);
    spans.iter().filter(|s| s.start < first_end).count()
}

/// A test-only pause point of the binaries (`SESSIONS_TEST_PAUSE`, test builds only):
/// each process armed with it stops at the named point until let go. Many processes
/// can wait at one point and be let go together: a start line inside the binary, past
/// process start-up, so racing attempts really coincide.
pub struct PausePoint {
    dir: tempfile::TempDir,
    fifo: PathBuf,
    name: String,
    /// Held open for reading and writing: opening never blocks, and bytes written for
    /// waiters stay in the pipe until each has read its own.
    gate: std::fs::File,
}

impl PausePoint {
    pub fn new(name: &str) -> PausePoint {
        let dir = tempfile::tempdir().expect("temp dir");
        let fifo = dir.path().join("pause");
        let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
        assert!(made.success(), "mkfifo failed");
        let gate = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo)
            .expect("open the pause FIFO");
        PausePoint {
            dir,
            fifo,
            name: name.to_string(),
            gate,
        }
    }

    /// Make `cmd` stop at this point.
    pub fn arm(&self, cmd: &mut Command) {
        cmd.env(
            "SESSIONS_TEST_PAUSE",
            format!("{}:{}", self.name, self.fifo.display()),
        );
    }

    fn markers(&self, kind: &str) -> Vec<PathBuf> {
        let prefix = format!("pause.{kind}.");
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .map(|e| e.path())
            .collect()
    }

    /// How many processes have arrived at the point (waiting, or let go since).
    pub fn arrived(&self) -> usize {
        self.markers("at").len()
    }

    /// Wait until `child` is stopped at the point, failing if it exits first.
    pub fn wait_reached(&mut self, child: &mut Child) {
        let start = Instant::now();
        while self.arrived() == 0 {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "the process exited ({status}) before reaching {}",
                    self.name
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the process never reached {}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Wait until `n` processes have arrived.
    pub fn wait_arrived(&self, n: usize) {
        wait_for(
            &format!("{n} processes at {}", self.name),
            Duration::from_secs(60),
            || self.arrived() >= n,
        );
    }

    /// Let `n` waiting processes go on (all at once: one write).
    pub fn release(&mut self, n: usize) {
        use std::io::Write;
        self.gate.write_all(&vec![b'.'; n]).unwrap();
    }

    /// Let the one paused process go on.
    pub fn resume(&mut self) {
        self.release(1);
    }

    /// When each process arrived at the point and when each left it (microseconds
    /// since the epoch), then forget them (for the next round).
    pub fn take_times(&self) -> (Vec<i64>, Vec<i64>) {
        let read = |kind: &str| -> Vec<i64> {
            let markers = self.markers(kind);
            let times = markers
                .iter()
                .map(|p| std::fs::read_to_string(p).unwrap().trim().parse().unwrap())
                .collect();
            for p in markers {
                std::fs::remove_file(p).unwrap();
            }
            times
        };
        let left = read("left");
        (read("at"), left)
    }
}

/// Wait for every child in its own thread; returns each one's output with the time it
/// was seen to end (microseconds since the epoch), in the order given.
pub fn wait_all_timed(children: Vec<Child>) -> Vec<(Output, i64)> {
    let waiters: Vec<_> = children
        .into_iter()
        .map(|child| {
            std::thread::spawn(move || {
                let out = child.wait_with_output().expect("wait for a child");
                (out, chrono::Utc::now().timestamp_micros())
            })
        })
        .collect();
    waiters.into_iter().map(|w| w.join().unwrap()).collect()
}

/// The `id`s of a `sessions` list in a JSON view.
pub fn ids_of(view: &serde_json::Value) -> Vec<String> {
    view["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

/// Give `wrapper` (a command that runs `cmd` inside it: a shell, `script`) the environment
/// and folder `cmd` was set up with.
pub fn run_like(cmd: &Command, wrapper: &mut Command) {
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => wrapper.env(key, v),
            None => wrapper.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        wrapper.current_dir(dir);
    }
}
