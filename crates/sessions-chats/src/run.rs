//! Running the providers' own CLIs: resume a session in its cwd, or send it a prompt
//! headless, a few at a time, each bounded by a timeout that kills its process group.

use std::collections::VecDeque;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::{ChatSession, Provider};

/// The provider's executable name.
pub fn binary(provider: Provider) -> &'static str {
    match provider {
        Provider::Claude => "claude",
        Provider::Codex => "codex",
        Provider::Gemini => "gemini",
        Provider::Cursor => "cursor-agent",
        Provider::Opencode => "opencode",
    }
}

/// The interactive resume: `claude --resume <id>`, `codex resume <id>`, …
pub fn resume_args(provider: Provider, id: &str) -> Vec<String> {
    let v: Vec<String> = match provider {
        Provider::Claude => vec!["--resume".into(), id.into()],
        Provider::Codex => vec!["resume".into(), id.into()],
        Provider::Gemini => vec!["--resume".into(), id.into()],
        Provider::Cursor => vec![format!("--resume={id}")],
        Provider::Opencode => vec!["--session".into(), id.into()],
    };
    v
}

/// A fresh interactive session (no arguments): `--new-if-expired`.
pub fn new_session_args(_provider: Provider) -> Vec<String> {
    Vec::new()
}

/// The headless send: `claude -p --resume <id> <prompt>`, `codex exec resume <id> <prompt>`, …
pub fn send_args(provider: Provider, id: &str, prompt: &str) -> Vec<String> {
    let s = |x: &str| x.to_string();
    match provider {
        Provider::Claude => vec![s("-p"), s("--resume"), s(id), s(prompt)],
        Provider::Codex => vec![s("exec"), s("resume"), s(id), s(prompt)],
        Provider::Gemini => vec![s("--resume"), s(id), s("-p"), s(prompt)],
        Provider::Cursor => vec![s("-p"), format!("--resume={id}"), s(prompt)],
        Provider::Opencode => vec![s("run"), s("--session"), s(id), s(prompt)],
    }
}

/// `name` on `$PATH`, as the shell would find it.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderCheck {
    Missing,
    TimedOut,
    Failed(String),
}

impl std::fmt::Display for ProviderCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProviderCheck::Missing => f.write_str("is not on PATH"),
            ProviderCheck::TimedOut => f.write_str("did not answer --version in time"),
            ProviderCheck::Failed(e) => write!(f, "failed --version: {e}"),
        }
    }
}

/// The binary is on PATH and answers `--version` within `timeout`.
pub fn check_provider(
    provider: Provider,
    timeout: Duration,
) -> Result<(PathBuf, String), ProviderCheck> {
    let bin = find_on_path(binary(provider)).ok_or(ProviderCheck::Missing)?;
    let mut cmd = Command::new(&bin);
    cmd.arg("--version");
    let r = run_bounded(cmd, timeout).map_err(|e| ProviderCheck::Failed(e.to_string()))?;
    if r.timed_out {
        return Err(ProviderCheck::TimedOut);
    }
    if r.exit != Some(0) {
        return Err(ProviderCheck::Failed(format!(
            "exit {:?}: {}",
            r.exit,
            r.stderr.trim()
        )));
    }
    Ok((bin, r.stdout.trim().to_string()))
}

/// Whether process `pid` still exists (signal 0).
pub fn is_running(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

/// Replace this process with the provider's resume, in the session's cwd.
/// Returns only if the exec failed.
pub fn exec_in(bin: &Path, args: &[String], cwd: &Path) -> std::io::Error {
    Command::new(bin).args(args).current_dir(cwd).exec()
}

/// What one bounded run did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RunResult {
    pub exit: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub duration_ms: u128,
    pub timed_out: bool,
}

/// Run `cmd` in its own process group; past `timeout` the whole group is killed.
pub fn run_bounded(mut cmd: Command, timeout: Duration) -> std::io::Result<RunResult> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() >= timeout {
            timed_out = true;
            kill_group(&child);
            break child.wait()?;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // After a kill, grandchildren may hold the pipes a moment: the group kill ends them.
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    Ok(RunResult {
        exit: status.code(),
        stdout,
        stderr,
        duration_ms: started.elapsed().as_millis(),
        timed_out,
    })
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut text);
        }
        String::from_utf8_lossy(&text).into_owned()
    })
}

fn kill_group(child: &Child) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
}

/// The result of sending to one session.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SendResult {
    pub provider: Provider,
    pub id: String,
    pub cwd: Option<String>,
    pub command: Vec<String>,
    #[serde(flatten)]
    pub run: Option<RunResult>,
    /// Why the provider could not be started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl SendResult {
    pub fn ok(&self) -> bool {
        self.error.is_none()
            && self
                .run
                .as_ref()
                .is_some_and(|r| r.exit == Some(0) && !r.timed_out)
    }
}

/// Send `prompt` to every session, at most `concurrency` providers at once.
/// Results come back in the order of `sessions`.
pub fn send_all(
    sessions: &[ChatSession],
    prompt: &str,
    concurrency: usize,
    timeout: Duration,
) -> Vec<SendResult> {
    let queue: Mutex<VecDeque<usize>> = Mutex::new((0..sessions.len()).collect());
    let results: Mutex<Vec<Option<SendResult>>> = Mutex::new(vec![None; sessions.len()]);
    std::thread::scope(|scope| {
        for _ in 0..concurrency.clamp(1, sessions.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let Some(i) = queue.lock().expect("queue").pop_front() else {
                        break;
                    };
                    let r = send_one(&sessions[i], prompt, timeout);
                    results.lock().expect("results")[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .expect("results")
        .into_iter()
        .flatten()
        .collect()
}

fn send_one(s: &ChatSession, prompt: &str, timeout: Duration) -> SendResult {
    let args = send_args(s.provider, &s.id, prompt);
    let mut command = vec![binary(s.provider).to_string()];
    command.extend(args.iter().cloned());
    let mut result = SendResult {
        provider: s.provider,
        id: s.id.clone(),
        cwd: s.cwd.clone(),
        command,
        run: None,
        error: None,
    };
    let Some(bin) = find_on_path(binary(s.provider)) else {
        result.error = Some(format!(
            "{} is not on PATH: install {} or fix PATH",
            binary(s.provider),
            s.provider
        ));
        return result;
    };
    let mut cmd = Command::new(bin);
    cmd.args(&args);
    match s.cwd.as_deref().map(Path::new) {
        Some(cwd) if cwd.is_dir() => {
            cmd.current_dir(cwd);
        }
        Some(cwd) => {
            result.error = Some(format!(
                "the session's folder {} no longer exists",
                cwd.display()
            ));
            return result;
        }
        None => {}
    }
    match run_bounded(cmd, timeout) {
        Ok(r) => result.run = Some(r),
        Err(e) => result.error = Some(format!("cannot start {}: {e}", binary(s.provider))),
    }
    result
}

/// `cd <cwd> && <bin> <args>` quoted for a POSIX shell: what `--print` shows.
pub fn shell_line(cwd: Option<&str>, bin: &str, args: &[String]) -> String {
    let mut words = vec![quote(bin)];
    words.extend(args.iter().map(|a| quote(a)));
    match cwd {
        Some(c) => format!("cd {} && {}", quote(c), words.join(" ")),
        None => words.join(" "),
    }
}

fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
