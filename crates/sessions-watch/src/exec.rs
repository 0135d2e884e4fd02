//! Handling events: taking signals, running `--exec` commands with a timeout (killing
//! their whole process group), finishing or restoring what they consumed.

use super::*;

/// Put back the signals a killed consumer was holding (see `signals::recover`) and
/// return them as they are now pending.
pub(crate) fn recover_taken(
    files: &sessions_core::status::report::StatusFiles,
    sink: &mut dyn Sink,
) -> Vec<signals::Signal> {
    let names = match signals::recover(files) {
        Ok(names) => names,
        Err(e) => {
            sink.note(&format!("cannot recover taken signals: {e}"));
            return Vec::new();
        }
    };
    if names.is_empty() {
        return Vec::new();
    }
    sink.note(&format!(
        "put back signal(s) left taken by a stopped consumer: {}",
        names.join(", ")
    ));
    signals::list(files)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| names.contains(&s.name))
        .collect()
}

/// Report events (and handle signals: take, run, finish or restore). Returns
/// `Some(reason)` when the watcher should stop.
pub(crate) async fn dispatch(
    w: &mut Watch,
    events: Vec<Event>,
    new_signals: Vec<signals::Signal>,
    sink: &mut dyn Sink,
    sigint: &mut tokio::signal::unix::Signal,
    sigterm: &mut tokio::signal::unix::Signal,
) -> Option<Stopped> {
    let signal_wanted = w.wants("signal");
    for s in new_signals {
        if !signal_wanted {
            continue;
        }
        let taken = if w.opts.consume {
            match signals::take(&w.opts.files, &s.name) {
                Ok(Some(t)) => Some(t),
                // Another consumer took it first: not ours to report.
                Ok(None) => continue,
                Err(e) => {
                    sink.note(&format!("cannot take signal {}: {e}", s.name));
                    continue;
                }
            }
        } else {
            None
        };
        let event = signal_event(&s);
        if !sink.event(&event) {
            if let Some(t) = taken {
                let _ = t.restore();
            }
            return Some(Stopped::Closed);
        }
        let ok = match run_exec(w, &event, sink, sigint, sigterm).await {
            Ok(ok) => ok,
            Err(stop) => {
                if let Some(t) = taken {
                    let _ = t.restore();
                }
                return Some(stop);
            }
        };
        if let Some(t) = taken {
            let r = if ok { t.finish() } else { t.restore() };
            if let Err(e) = r {
                sink.note(&format!("signal {}: {e}", s.name));
            }
        }
        if ok
            && w.opts.follow
            && let Some(me) = &w.opts.me
            && let Err(e) = signals::mark_seen(&w.opts.files, me, &s)
        {
            sink.note(&format!("cannot record signal {} as seen: {e}", s.name));
        }
        if w.opts.once {
            return Some(Stopped::Once(ok));
        }
    }
    for event in events {
        if !w.wants(event.kind()) {
            continue;
        }
        if !sink.event(&event) {
            return Some(Stopped::Closed);
        }
        let ok = match run_exec(w, &event, sink, sigint, sigterm).await {
            Ok(ok) => ok,
            Err(stop) => return Some(stop),
        };
        if w.opts.once {
            return Some(Stopped::Once(ok));
        }
    }
    None
}

/// Run `--exec` for one event. `Ok(success)`, or `Err` when a signal asked us to stop
/// meanwhile (the command is killed).
async fn run_exec(
    w: &Watch,
    event: &Event,
    sink: &mut dyn Sink,
    sigint: &mut tokio::signal::unix::Signal,
    sigterm: &mut tokio::signal::unix::Signal,
) -> std::result::Result<bool, Stopped> {
    let Some(cmd) = &w.opts.exec else {
        return Ok(true);
    };
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg(cmd)
        .envs(event.env())
        .env("SESSIONS_HUB", w.opts.hub.root())
        .stdin(Stdio::null())
        // Its own process group, so a timeout or a stop kills what it started too.
        .process_group(0)
        .kill_on_drop(true);
    // The command's output goes to stderr: stdout is the event stream.
    if let Ok(fd) = std::os::fd::AsFd::as_fd(&std::io::stderr()).try_clone_to_owned() {
        command.stdout(Stdio::from(fd));
    }
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            sink.note(&format!("cannot run {cmd:?}: {e}"));
            return Ok(false);
        }
    };
    tokio::select! {
        status = tokio::time::timeout(w.opts.exec_timeout, child.wait()) => match status {
            Ok(Ok(s)) if s.success() => Ok(true),
            Ok(Ok(s)) => {
                sink.note(&format!("command for {} event failed ({s})", event.kind()));
                Ok(false)
            }
            Ok(Err(e)) => {
                sink.note(&format!("command for {} event: {e}", event.kind()));
                Ok(false)
            }
            Err(_) => {
                kill_group(&mut child).await;
                sink.note(&format!(
                    "command for {} event timed out after {:?}; killed",
                    event.kind(), w.opts.exec_timeout
                ));
                Ok(false)
            }
        },
        _ = sigint.recv() => { kill_group(&mut child).await; Err(Stopped::Signal) }
        _ = sigterm.recv() => { kill_group(&mut child).await; Err(Stopped::Signal) }
    }
}

/// SIGKILL a command's whole process group (its `sh` and whatever that started), then
/// reap the `sh`. `sh`'s own `kill` reaches a group without any unsafe code here.
async fn kill_group(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(format!("kill -9 -{pid}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
    let _ = child.kill().await;
}
