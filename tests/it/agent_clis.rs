//! Running the real agent CLIs (pinned in `.ci/run`, installed into
//! `target/agent-clis`) offline: finding them, a clean environment with a fake HOME,
//! and a deadline that kills the whole process group.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The installed CLI, or None (outside CI) when `.ci/run` has not installed it.
pub fn cli(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/agent-clis/node_modules/.bin")
        .join(name);
    if path.exists() {
        return Some(path);
    }
    // CI installs them (.ci/run); elsewhere the test says so and checks nothing.
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing: .ci/run installs the agent CLIs",
        path.display()
    );
    eprintln!(
        "skipped: {} is not installed (run .ci/run's install step)",
        path.display()
    );
    None
}

/// Run with a deadline; the process group is killed past it.
pub fn run_with_timeout(mut cmd: Command, limit: Duration) -> (bool, String) {
    use std::os::unix::process::CommandExt;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().expect("start the CLI");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let text = format!(
                "{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            return (status.success(), text);
        }
        if started.elapsed() > limit {
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{}", child.id())])
                .status();
            let out = child.wait_with_output().unwrap();
            return (
                false,
                format!(
                    "timed out after {limit:?}\n{}\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Nothing inherited but a plain PATH: the CLI sees only the fake HOME and `cwd`.
pub fn base_env(cmd: &mut Command, home: &Path, cwd: &Path) {
    cmd.env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("TERM", "dumb")
        .env("NO_COLOR", "1")
        .env("CI", "1")
        .current_dir(cwd);
}
